"""VALUES lists as queries and derived tables, answered and named as DuckDB does (issue 17
item 4; query/values.py rewrites them as a UNION ALL of SELECTs)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

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
    e = engines_over(tmp_path_factory.mktemp("values") / "db", {"w": data})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_values_lists_equal_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


@pytest.mark.parametrize("sql,needle", [
    ("SELECT * FROM (VALUES (1, 2), (3)) v", "same length"),
    ("SELECT * FROM (VALUES (1)) v(a, b)", "names given"),
])
def test_refusals(engines, sql, needle):
    db = engines.db
    with pytest.raises(QueryError, match=needle):
        db.sql(sql).fetchall()
