"""[NOT] EXISTS and x [NOT] IN (subquery) anywhere in an expression (OR, CASE, the select
list, HAVING, ORDER BY, GROUP BY, aggregate FILTERs, under NOT), uncorrelated and
correlated, answered as DuckDB answers them: a mark join adds each row's TRUE / FALSE /
NULL (query.markjoin); plain WHERE conjuncts keep the semi/anti join."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError
from mapdb.query import markjoin

from .compare import check, engines_over

# t: outer rows with NULL x and NULL correlation keys; s: duplicates, a NULL value in
# group k = 10 only, a group (50) no outer row has; e: empty; f: floats with NaN, -0.0
T = pa.table({"a": pa.array([1, 2, None, 4, 2, 3], pa.int64()),
              "k": pa.array([10, None, 30, 10, 40, 30], pa.int64()),
              "v": [1.5, 2.5, None, 4.0, 0.5, float("nan")],
              "name": ["x", "y", None, "w", "y", "z"]})
S = pa.table({"y": pa.array([1, None, 3, 2, 3, 3], pa.int64()),
              "k": pa.array([10, 10, 30, 50, 30, 30], pa.int64()),
              "w": ["x", "b", None, "d", "z", "z"],
              "f": [0.0, float("nan"), 2.5, None, 1.5, 1.5]})
E = pa.table({"z": pa.array([], pa.int64()), "k": pa.array([], pa.int64())})
N = 120_000  # several morsels: the mark join streams, its NULL-part tables are shared
BIG = pa.table({"i": pa.array(range(N), pa.int64()),
                "g": pa.array([i % 97 for i in range(N)], pa.int64()),
                "x": pa.array([None if i % 1000 == 7 else i % 503 for i in range(N)],
                              pa.int64())})
SMALL = pa.table({"g": pa.array([i for i in range(0, 97, 3)], pa.int64()),
                  "y": pa.array([None if i % 4 == 0 else i * 5 for i in range(0, 97, 3)],
                                pa.int64())})

QUERIES = [
    # the select list: a boolean column, NULLs on either side, empty and duplicate sets
    "SELECT a, a IN (SELECT y FROM s), a NOT IN (SELECT y FROM s) FROM t",
    "SELECT a, a IN (SELECT y FROM s WHERE y IS NOT NULL), "
    "a NOT IN (SELECT y FROM s WHERE y IS NOT NULL) FROM t",
    "SELECT a, a IN (SELECT z FROM e), a NOT IN (SELECT z FROM e), "
    "EXISTS (SELECT * FROM e), NOT EXISTS (SELECT * FROM e) FROM t",
    "SELECT NULL IN (SELECT y FROM s), NULL IN (SELECT z FROM e), "
    "NULL NOT IN (SELECT z FROM e), 1 IN (SELECT NULL)",
    "SELECT a, EXISTS (SELECT 1 FROM s WHERE s.k = t.k), "
    "NOT EXISTS (SELECT 1 FROM s WHERE s.k = t.k) FROM t",
    "SELECT a, k, a IN (SELECT y FROM s WHERE s.k = t.k), "
    "a NOT IN (SELECT y FROM s WHERE s.k = t.k) FROM t",
    "SELECT v, v IN (SELECT f FROM s), v NOT IN (SELECT f FROM s WHERE f IS NOT NULL) FROM t",
    "SELECT name, name IN (SELECT w FROM s), name NOT IN (SELECT w FROM s WHERE s.k = t.k) "
    "FROM t",
    "SELECT a, a + 1 IN (SELECT y * 1.0 FROM s) FROM t",
    # correlated with a non-equality part (the join's condition)
    "SELECT a, a IN (SELECT y FROM s WHERE s.k = t.k AND s.y <> t.a + 5), "
    "EXISTS (SELECT 1 FROM s WHERE s.k = t.k AND s.y > t.a) FROM t",
    "SELECT a, a IN (SELECT y FROM s WHERE s.y >= t.a OR s.y IS NULL), "
    "a NOT IN (SELECT y FROM s WHERE s.y > t.a) FROM t",
    # WHERE: inside OR, under NOT, correlated NOT IN (no semi/anti join can answer it)
    "SELECT a FROM t WHERE a IN (SELECT y FROM s) OR v > 2",
    "SELECT a FROM t WHERE NOT (a IN (SELECT y FROM s) OR k > 30)",
    "SELECT a FROM t WHERE a NOT IN (SELECT y FROM s WHERE s.k = t.k)",
    "SELECT a FROM t WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.k = t.k) OR a IS NULL",
    "SELECT a FROM t WHERE (a IN (SELECT y FROM s)) IS NULL",
    # CASE, comparisons of marks
    "SELECT a, CASE WHEN a IN (SELECT y FROM s) THEN 'in' WHEN a NOT IN (SELECT y FROM s) "
    "THEN 'out' ELSE 'unknown' END FROM t",
    "SELECT a, CASE WHEN EXISTS (SELECT 1 FROM s WHERE s.w = t.name) THEN 1 ELSE 0 END "
    "FROM t",
    "SELECT a, (a IN (SELECT y FROM s WHERE s.k = t.k)) = (a NOT IN (SELECT z FROM e)) "
    "FROM t",
    # grouped: HAVING, keys, aggregates' FILTER, GROUP BY the mark
    "SELECT k, sum(a) FROM t GROUP BY k HAVING sum(a) IN (SELECT y FROM s) OR k IS NULL",
    "SELECT k, count(*) FROM t GROUP BY k "
    "HAVING NOT EXISTS (SELECT 1 FROM s WHERE s.k = t.k) OR count(*) > 1",
    "SELECT k, EXISTS (SELECT 1 FROM s WHERE s.k = t.k), max(a) IN (SELECT y FROM s) "
    "FROM t GROUP BY k",
    "SELECT sum(a) IN (SELECT y FROM s), min(a) NOT IN (SELECT y FROM s) FROM t",
    "SELECT a IN (SELECT y FROM s) AS m, count(*) FROM t GROUP BY 1",
    "SELECT EXISTS (SELECT 1 FROM s WHERE s.k = t.k) AS e, count(*) FROM t GROUP BY ALL",
    "SELECT k, count(*) FILTER (WHERE a NOT IN (SELECT y FROM s WHERE s.k = t.k)), "
    "sum(a) FILTER (WHERE EXISTS (SELECT 1 FROM s WHERE s.y = t.a)) FROM t GROUP BY k",
    "SELECT DISTINCT EXISTS (SELECT 1 FROM s WHERE s.k = t.k) FROM t",
    "SELECT a FROM t ORDER BY EXISTS (SELECT 1 FROM s WHERE s.y = t.a), a NULLS FIRST",
    # a correlated aggregate without GROUP BY has a row for every outer row
    "SELECT a, EXISTS (SELECT count(*) FROM s WHERE s.k = t.k), "
    "a IN (SELECT count(*) FROM s WHERE s.k = t.k), "
    "a IN (SELECT max(y) FROM s WHERE s.k = t.k) FROM t",
    "SELECT a FROM t WHERE NOT EXISTS (SELECT count(*) FROM s WHERE s.k = t.k)",
    "SELECT a FROM t WHERE a IN (SELECT count(*) - 1 FROM s WHERE s.k = t.k)",
    # DISTINCT, CTEs, a scalar subquery as x, set operations
    "SELECT a, a IN (SELECT DISTINCT y FROM s WHERE s.k = t.k) FROM t",
    "WITH c AS (SELECT y FROM s WHERE y > 1) SELECT a, a IN (SELECT y FROM c), "
    "EXISTS (SELECT * FROM c WHERE c.y = t.a) FROM t",
    "SELECT a, (SELECT max(y) FROM s) IN (SELECT a FROM t) FROM t",
    "SELECT a FROM t WHERE a IN (SELECT y FROM s) "
    "UNION ALL SELECT a FROM t WHERE NOT (a IN (SELECT y FROM s) OR k > 10)",
    # nested: a subquery's own EXISTS / IN, and one reaching two queries out through the
    # middle query's equality
    "SELECT a, EXISTS (SELECT 1 FROM s WHERE s.k = t.k AND s.y NOT IN "
    "(SELECT a FROM t t3 WHERE t3.k = s.k)) FROM t",
    "SELECT a, (SELECT count(*) FROM s WHERE s.k = t.k AND "
    "(s.y IN (SELECT a FROM t t2 WHERE t2.k = t.k) OR s.w IS NULL)) FROM t",
    "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM s WHERE s.y IN "
    "(SELECT a FROM t t2 WHERE t2.k = t.k) AND s.k = t.k)",
    "SELECT a, EXISTS (SELECT 1 FROM s WHERE s.k = t.k AND s.y NOT IN "
    "(SELECT y FROM s s2 WHERE s2.k = t.k AND s2.w > 'a')) FROM t",
    "SELECT a, a IN (SELECT y FROM s WHERE EXISTS (SELECT 1 FROM e WHERE e.k = s.k) "
    "OR s.y IN (SELECT a FROM t)) FROM t",
    # several morsels
    "SELECT count(*), count(m), sum(m::INT) FROM "
    "(SELECT x IN (SELECT y FROM small WHERE small.g = big.g) AS m FROM big)",
    "SELECT count(*), sum(CASE WHEN x NOT IN (SELECT y FROM small) THEN 1 END), "
    "sum((EXISTS (SELECT 1 FROM small WHERE small.y = big.x))::INT) FROM big",
    "SELECT g, count(*) FROM big WHERE x IN (SELECT y FROM small WHERE small.g = big.g) "
    "OR i < 10 GROUP BY g ORDER BY g LIMIT 5",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    e = engines_over(tmp_path_factory.mktemp("subqexpr") / "db",
                     {"t": T, "s": S, "e": E, "big": BIG, "small": SMALL})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_exists_and_in_anywhere_equal_duckdb(engines, sql):
    check(engines, sql)


REFUSED = [
    ("SELECT a IN (SELECT y, k FROM s) FROM t", "returns 2 columns"),
    ("SELECT a FROM t WHERE EXISTS (SELECT (SELECT max(a) FROM t t2 WHERE t2.v > t.v) "
     "FROM s WHERE s.k = t.k)", "subquery inside a subquery"),
    ("SELECT row_number() OVER () IN (SELECT y FROM s) FROM t", "window function"),
    ("SELECT a FROM t WHERE sum(a) IN (SELECT y FROM s) OR a > 1", "not allowed in WHERE"),
    ("SELECT a FROM t WHERE sum(a) IN (SELECT y FROM s)", "not allowed"),
]


@pytest.mark.parametrize(("sql", "message"), REFUSED)
def test_refused_clearly(engines, sql, message):
    with pytest.raises(QueryError, match=message):
        engines.db.sql(sql).to_arrow()


def test_broken_null_part_is_caught(engines, monkeypatch):
    """The comparison sees IN's NULLs: a mark join that answers FALSE for them fails."""
    monkeypatch.setattr(markjoin, "_unknown", lambda *args: None)
    with pytest.raises(AssertionError):
        check(engines, "SELECT a, a NOT IN (SELECT y FROM s WHERE s.k = t.k) FROM t")


def test_plain_conjuncts_keep_semi_and_anti_joins(engines):
    plan = "\n".join(r["explain"] for r in engines.db.sql(
        "EXPLAIN SELECT a FROM t WHERE EXISTS (SELECT 1 FROM s WHERE s.k = t.k) "
        "AND a NOT IN (SELECT y FROM s)").to_arrow().to_pylist())
    assert "Semi join" in plan and "Anti join" in plan and "Mark join" not in plan
    plan = "\n".join(r["explain"] for r in engines.db.sql(
        "EXPLAIN SELECT a FROM t WHERE a NOT IN (SELECT y FROM s WHERE s.k = t.k)"
    ).to_arrow().to_pylist())
    assert "Mark join" in plan
