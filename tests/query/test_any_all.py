"""``x op ANY/SOME/ALL (subquery)`` AND-ed into a WHERE or HAVING (query/anyall.py):
DuckDB's answers with NULLs on both sides, empty subqueries, correlation, and subqueries
that must be read as tables; elsewhere (select list, OR, NOT, CASE, ORDER BY) with SQL's
three-valued answer; with an aggregate on the left still refused by name."""

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import QueryError
from tests.query.compare import check, engines_over


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(4)
    n = 3000
    f = pa.table({"k": rng.integers(0, 30, n), "x": pa.array(np.where(
        rng.random(n) < 0.05, None, rng.integers(-50, 50, n)), pa.int64()),
        "s": [f"s{i % 11}" for i in range(n)]})
    g = pa.table({"gk": rng.integers(0, 40, 500), "y": pa.array(np.where(
        rng.random(500) < 0.05, None, rng.integers(-60, 60, 500)), pa.int64()),
        "t": [f"s{i % 13}" for i in range(500)]})
    return engines_over(tmp_path_factory.mktemp("anyall") / "db", {"f": f, "g": g})


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM f WHERE x > ANY (SELECT y FROM g WHERE gk = 3)",
    "SELECT count(*) FROM f WHERE x > ALL (SELECT y FROM g WHERE gk = 3)",
    "SELECT count(*) FROM f WHERE x <= SOME (SELECT y FROM g WHERE gk = 5 AND y IS NOT NULL)",
    "SELECT count(*) FROM f WHERE x < ALL (SELECT y FROM g WHERE gk = 5 AND y IS NOT NULL)",
    # empty subquery: ANY is false, ALL is true (NULL x included)
    "SELECT count(*) FROM f WHERE x <> ALL (SELECT y FROM g WHERE gk > 100)",
    "SELECT count(*) FROM f WHERE x = ANY (SELECT y FROM g WHERE gk > 100)",
    # correlated
    "SELECT count(*), sum(x) FROM f WHERE x >= ALL (SELECT y FROM g WHERE g.gk = f.k)",
    "SELECT k, count(*) FROM f WHERE s = ANY (SELECT t FROM g WHERE g.gk = f.k AND y > 0) "
    "GROUP BY k",
    # subqueries read as tables (aggregate, DISTINCT, LIMIT)
    "SELECT count(*) FROM f WHERE x > ANY (SELECT avg(y) FROM g GROUP BY gk % 3)",
    "SELECT count(*) FROM f WHERE x < ALL (SELECT DISTINCT y FROM g WHERE gk < 4)",
    "SELECT count(*) FROM f WHERE x >= ALL (SELECT y FROM g ORDER BY y DESC NULLS LAST "
    "LIMIT 3)",
    # HAVING, and beside other conditions
    "SELECT k, sum(x) FROM f GROUP BY k HAVING k > ALL (SELECT y FROM g WHERE gk = 1 "
    "AND y IS NOT NULL)",
    "SELECT count(*) FROM f WHERE k < 10 AND (x > ANY (SELECT y FROM g WHERE gk = 2)) "
    "AND s <> 's3'",
    # the subquery has a column named like x's: x must stay the outer row's (it was the
    # inner one: every x > ALL compared the subquery's rows with themselves)
    "SELECT count(*) FROM f WHERE x > ALL (SELECT x FROM f f2 WHERE f2.k = 3 AND x IS NOT "
    "NULL)",
    "SELECT count(*) FROM f WHERE x < ANY (SELECT x FROM f WHERE k = 3)",
    "SELECT k, count(*) FROM f WHERE x >= ALL (SELECT x - 40 FROM f f2 WHERE f2.k = f.k "
    "AND f2.s = 's1') GROUP BY k",
    # several outer FROM items: the subquery read as a table (uncorrelated: answered)
    "SELECT count(*) FROM f, g WHERE f.k = g.gk AND x > ALL (SELECT y FROM g WHERE gk = 7 "
    "AND y IS NOT NULL)",
])
def test_answers_as_duckdb(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("sql", [
    # three-valued: TRUE, NULL (x NULL, or some y NULL and none decisive), FALSE
    "SELECT k, x, x > ANY (SELECT y FROM g) AS a FROM f",
    "SELECT k, x, x > ALL (SELECT y FROM g WHERE gk < 3) AS a FROM f",
    "SELECT k, x, x = ANY (SELECT y FROM g WHERE gk = f.k) AS a, "
    "x <> ALL (SELECT y FROM g WHERE gk = f.k) AS b FROM f",
    "SELECT k, x, x < ALL (SELECT y FROM g WHERE gk > f.k + 30) AS a FROM f",  # some empty
    "SELECT count(*) FROM f WHERE x > ANY (SELECT y FROM g) OR k = 1",
    "SELECT count(*) FROM f WHERE NOT (x > ALL (SELECT y FROM g))",
    "SELECT count(*) FROM f WHERE NOT (x >= ANY (SELECT y FROM g WHERE gk = f.k))",
    "SELECT k, CASE WHEN x <= ALL (SELECT y FROM g WHERE gk < f.k) THEN 'low' "
    "WHEN x > ANY (SELECT y FROM g WHERE gk < f.k) THEN 'some' ELSE 'unknown' END AS c FROM f",
    "SELECT k, x FROM f ORDER BY x > ANY (SELECT y FROM g WHERE gk = 5), k, x",
])
def test_three_valued_elsewhere(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("sql", [
    "SELECT k FROM f GROUP BY k HAVING sum(x) > ALL (SELECT y FROM g)",
    "SELECT sum(x) > ANY (SELECT y FROM g) FROM f",
])
def test_elsewhere_refused_by_name(engines, sql):
    with pytest.raises(QueryError, match=r"ANY|ALL"):
        engines.db.sql(sql).to_arrow()


@pytest.mark.parametrize("sql", [
    # several outer FROM items and a correlated subquery: x cannot be placed safely
    "SELECT count(*) FROM f, g WHERE f.k = g.gk AND x > ALL (SELECT y FROM g g2 WHERE "
    "g2.gk = f.k)",
])
def test_unplaceable_correlated_refused(engines, sql):
    with pytest.raises(QueryError):
        engines.db.sql(sql).to_arrow()


