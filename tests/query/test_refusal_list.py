"""docs/query.md's list of refused constructs stays true: one statement per item, each a
QueryError naming it (a construct answered now leaves the list, and this test)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import QueryError

REFUSED = [
    "SELECT * FROM t USING SAMPLE 10%",
    "SELECT * FROM t TABLESAMPLE 10%",
    "SELECT * FROM t ASOF RIGHT JOIN u ON t.k = u.k AND t.d >= u.d",
    "SELECT * FROM t ASOF JOIN u ON t.d >= u.d AND t.k >= u.k",
    "SELECT * FROM t, u ASOF JOIN u u2 ON t.d >= u2.d",
    "SELECT * FROM t POSITIONAL JOIN u",
    "SELECT * FROM t SEMI JOIN u ON t.k = u.k",
    "SELECT * FROM t ANTI JOIN u ON t.k = u.k",
    "PIVOT t ON s IN ('a' AS x) USING sum(x)",
    "PIVOT t ON s USING sum(x) ORDER BY 1",
    "UNPIVOT (SELECT 1 a, 2 b, 3 c, 4 e) ON (a, b), (c, e) INTO NAME n VALUE v1, v2",
    "SELECT * FROM read_text('x.txt')",
    "SELECT * FROM read_csv('x.csv', header = true)",
    "SELECT 1 AS a UNION BY NAME SELECT 2 AS a",
    "SELECT k FROM t WHERE COLUMNS('k') > 1",
    "SELECT COLUMNS(c -> c LIKE 'k') FROM t",
    "SELECT coalesce(*COLUMNS(['k', 'x'])) FROM t",
    "SELECT COLUMNS('k') + COLUMNS('x') FROM t",
    "SELECT COLUMNS(* REPLACE (k + 1 AS k)) + 1 FROM (SELECT k FROM t)",
    "SELECT * LIKE 'k%' FROM t",
    "SELECT k, k, rank() OVER (ORDER BY k) FROM t GROUP BY ROLLUP (k)",
    "SELECT k FROM t GROUP BY ROLLUP (k) HAVING rank() OVER () > 1",
    "SELECT DISTINCT k FROM t GROUP BY ROLLUP (k)",
    "SELECT * FROM t GROUP BY GROUPING SETS ((k, x, s, d))",
    "SELECT DISTINCT ON (2) * FROM t",
    "SELECT sum(x ORDER BY k) FROM t",
    "SELECT sum(x) OVER (ORDER BY k GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t",
    "SELECT sum(x) OVER (ORDER BY d RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT "
    "ROW) FROM t",
    "SELECT sum(x) OVER (ORDER BY k RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM t",
    "SELECT sum(x) OVER (ORDER BY k ROWS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE "
    "CURRENT ROW) FROM t",
    "SELECT lag(x IGNORE NULLS) OVER (ORDER BY k) FROM t",
    "SELECT k FROM t WHERE rank() OVER (ORDER BY k) = 1",
    # (correlated subqueries: the general cases in test_decorrelate.py)
    "SELECT (SELECT count(*) FROM u WHERE u.k < t.k HAVING count(*) > 1) FROM t",
    "SELECT (SELECT t.k + u.k FROM u WHERE u.k = 1) FROM t",
    "SELECT row_number() OVER () IN (SELECT k FROM u) FROM t",
    "SELECT k AS z FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = z)",
    "SELECT (k, s) FROM t",
    "SELECT (k, s) = (SELECT 1, 'a') FROM t",
    "SELECT (k, k) IN (SELECT u.k, u.k FROM u WHERE u.k = t.k) FROM t",
    "SELECT (k, s) = (1, 'a', 2) FROM t",
    "WITH RECURSIVE r(n) AS (SELECT n FROM r UNION ALL SELECT 1) SELECT * FROM r",
    "WITH RECURSIVE r(n) AS (SELECT NULL UNION ALL SELECT 1 FROM r WHERE n IS NULL) "
    "SELECT * FROM r",
    "WITH c AS MATERIALIZED (SELECT 1 AS a) SELECT * FROM c",
    "SELECT * FROM other.t",
    "SELECT * FROM other.main.t",
    "SELECT no_such_function(k) FROM t",
]


@pytest.fixture(scope="module")
def db():
    d = mapdb.connect()
    d.create_table("t", pa.table({"k": pa.array([1, 2, None], pa.int32()),
                                  "x": [1.0, None, 3.0], "s": ["a", None, "c"],
                                  "d": pa.array([0, 1, 2], pa.timestamp("us"))}))
    d.create_table("u", pa.table({"k": pa.array([1, 3], pa.int32()),
                                  "d": pa.array([0, 1], pa.timestamp("us"))}))
    yield d
    d.close()


@pytest.mark.parametrize("sql", REFUSED)
def test_listed_constructs_are_refused(db, sql):
    with pytest.raises(QueryError, match=r"line \d+, column \d+|not supported|not found|"
                                         r"does not exist|DuckDB"):
        db.sql(sql).to_arrow()
