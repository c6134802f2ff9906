"""VALUES lists as queries and derived tables, answered and named as DuckDB does (issue 17
item 4; query/values.py rewrites them as a UNION ALL of SELECTs)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import QueryError

QUERIES = [
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(x, y) ORDER BY x",
    "VALUES (1, 2), (3, 4)",
    "SELECT * FROM (VALUES (1), (NULL), (2.5)) AS t ORDER BY 1",
    "SELECT count(*), sum(col0) FROM (VALUES (1), (2))",
    "SELECT v.a, w.g FROM (VALUES (1, 2), (4, 0)) AS v(a, b) JOIN w ON w.g = v.a "
    "ORDER BY 1, 2",
    "SELECT x FROM (VALUES (DATE '2020-01-01'), (NULL)) v(x) ORDER BY x",
    "SELECT g FROM w WHERE g IN (SELECT col0 FROM (VALUES (1), (3)))",
    "SELECT * FROM (VALUES ('x', 1.5e0), ('y', NULL)) v(k) ORDER BY k",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({"g": pa.array([1, 1, 2, 3, 4], pa.int32())})
    db = mapdb.connect(tmp_path_factory.mktemp("values") / "db")
    db.create_table("w", data)
    con = duckdb.connect()
    con.register("w", data)
    yield db, con
    db.close()
    con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_values_lists_equal_duckdb(engines, sql):
    db, con = engines
    want = con.execute(sql)
    rows, names = want.fetchall(), [d[0] for d in want.description]
    got = db.sql(sql).to_arrow()
    got_rows = [tuple(r.values()) for r in got.to_pylist()]
    if "ORDER BY" not in sql:
        got_rows, rows = sorted(got_rows, key=repr), sorted(rows, key=repr)
    assert got_rows == rows
    assert got.column_names == names


@pytest.mark.parametrize("sql,needle", [
    ("SELECT * FROM (VALUES (1, 2), (3)) v", "same length"),
    ("SELECT * FROM (VALUES (1)) v(a, b)", "names given"),
])
def test_refusals(engines, sql, needle):
    db, _ = engines
    with pytest.raises(QueryError, match=needle):
        db.sql(sql).fetchall()
