"""QUALIFY answered as DuckDB answers it (issue 17 item 3; query/qualify.py rewrites it as
a filter over the query without it): window results by alias or written out, with
DISTINCT, ORDER BY, LIMIT, GROUP BY, * and in subqueries."""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa
import pytest

import mapdb

QUERIES = [
    "SELECT g, x, row_number() OVER (PARTITION BY g ORDER BY x) AS rn FROM t QUALIFY rn = 1 "
    "ORDER BY g NULLS FIRST",
    "SELECT g, x FROM t QUALIFY row_number() OVER (PARTITION BY g ORDER BY x DESC) <= 2 "
    "ORDER BY g, x",
    "SELECT * FROM t QUALIFY rank() OVER (ORDER BY x) <= 3 ORDER BY x",
    "SELECT g, sum(x) AS s FROM t GROUP BY g QUALIFY rank() OVER (ORDER BY sum(x) DESC) = 1",
    "SELECT DISTINCT g FROM t QUALIFY count(*) OVER (PARTITION BY g) > 1 ORDER BY g",
    "SELECT g, x FROM t WHERE x > 1 QUALIFY x > avg(x) OVER (PARTITION BY g) "
    "ORDER BY 1, 2 LIMIT 2",
    "SELECT count(*) FROM (SELECT x FROM t QUALIFY lag(x) OVER (ORDER BY x) IS NOT NULL)",
    "SELECT g, x, x - lag(x) OVER (ORDER BY x) AS d FROM t QUALIFY d > 1 ORDER BY x",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({
        "g": ["a", "b", "a", "c", None, "b", "a", "c", "a"],
        "x": pa.array([1, 2, 3, 4, 5, 6, 7, 10, 9], pa.int64()),
        "y": [0.5, -1.0, None, 2.5, 3.0, 4.0, 1.5, -2.0, 0.0],
    })
    db = mapdb.connect(tmp_path_factory.mktemp("qualify") / "db")
    db.create_table("t", data)
    con = duckdb.connect()
    con.register("t", data)
    yield db, con
    db.close()
    con.close()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return a == b


@pytest.mark.parametrize("sql", QUERIES)
def test_qualify_equals_duckdb(engines, sql):
    db, con = engines
    want = con.execute(sql)
    want_rows, want_names = want.fetchall(), [d[0] for d in want.description]
    got = db.sql(sql).to_arrow()
    got_rows = [tuple(r.values()) for r in got.to_pylist()]
    if "ORDER BY" not in sql.split("QUALIFY")[-1]:
        got_rows, want_rows = sorted(got_rows, key=repr), sorted(want_rows, key=repr)
    assert len(got_rows) == len(want_rows), (sql, got_rows, want_rows)
    for r, w in zip(got_rows, want_rows, strict=True):
        assert all(_same(a, b) for a, b in zip(r, w, strict=True)), (sql, got_rows, want_rows)
    assert got.column_names == want_names
