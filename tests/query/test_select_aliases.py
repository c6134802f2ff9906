"""Select-list aliases in WHERE, GROUP BY and HAVING as DuckDB binds them
(Binder.alias_refs): a column of the FROM clause comes first, then an alias (the last of
equal ones), then the enclosing query's columns; an alias of an aggregate or window in
WHERE, or inside an aggregate in HAVING, is DuckDB's error and a QueryError here."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, engines_over

N = pa.table({"a": pa.array([1, 1, None, None, 2, 3], pa.int32()),
              "b": pa.array([2, None, 2, None, 1, 3], pa.int32()),
              "s": ["x", "y", None, "x", "z", "y"]})

QUERIES = [
    "SELECT a AS x FROM n WHERE x = 1",
    "SELECT a + 1 AS x FROM n WHERE x > 2",
    "SELECT a AS b, b AS c FROM n WHERE b = 2",  # b is the column, not the alias
    "SELECT a + b AS t FROM n WHERE t * 2 > 4 OR t IS NULL",
    "SELECT a AS x, b AS x FROM n WHERE x = 1",  # the last of equal aliases
    "SELECT upper(s) AS u FROM n WHERE u LIKE 'X%'",
    "SELECT a AS x FROM n WHERE x IN (SELECT b FROM n)",
    "SELECT (SELECT max(a) FROM n) AS m, a FROM n WHERE m = a",
    "SELECT a AS x, count(*) FROM n GROUP BY x HAVING x > 1",
    "SELECT a AS x, count(*) AS c FROM n GROUP BY a HAVING x > 1 AND c > 0",
    "SELECT a % 2 AS x, count(*) AS c FROM n GROUP BY 1 HAVING c > 1",
    "SELECT s AS k, sum(b) AS t FROM n GROUP BY k HAVING t > 1",
    "SELECT sum(a) AS t FROM n HAVING t > 1",
    "SELECT a AS x, sum(b) AS t FROM n GROUP BY ALL HAVING t >= 2",
    "SELECT (SELECT a AS x FROM n WHERE x = 10 LIMIT 1) AS v FROM (SELECT 10 AS x) o",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    e = engines_over(tmp_path_factory.mktemp("aliases") / "db", {"n": N})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_aliases_equal_duckdb(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("sql, message", [
    ("SELECT count(*) AS c FROM n WHERE c > 1", "aggregate functions are not allowed in "
                                                "WHERE"),
    ("SELECT sum(a) OVER () AS w FROM n WHERE w > 1", "window functions are not allowed in "
                                                       "WHERE"),
    ("SELECT a FROM n WHERE rank() OVER (ORDER BY a) > 1", "window functions are not"),
    ("SELECT a, count(*) FROM n GROUP BY a HAVING sum(a) OVER () > 1",
     "window functions are not allowed in HAVING"),
    # the alias before the enclosing query's column x, so an aggregate in WHERE
    ("SELECT x FROM (SELECT 10 AS x) o WHERE x = (SELECT max(a) AS x FROM n WHERE x = 3)",
     "aggregate functions are not allowed in WHERE"),
    ("SELECT a AS x FROM n GROUP BY a HAVING max(x) > 1", 'column "x" not found'),
    ("SELECT b AS x, count(*) FROM n GROUP BY a HAVING x > 1", "must appear in the GROUP"),
    ("SELECT a AS x, count(*) FROM n GROUP BY x + 1", 'column "x" not found'),
    ("SELECT n.a AS x FROM n WHERE n.x = 1", 'column "x" not found'),
])
def test_refused_where_duckdb_errs(engines, sql, message):
    with pytest.raises(QueryError, match=message):
        engines.db.sql(sql).to_arrow()
    with pytest.raises(Exception):  # noqa: B017 (DuckDB's binder error)
        engines.con.execute(sql).fetchall()
