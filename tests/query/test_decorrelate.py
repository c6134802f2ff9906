"""Correlated subqueries whose correlation is more than ``inner = outer`` equalities,
decorrelated over the domain of the outer values they read (query/decorrelate.py, Neumann
and Kemper's unnesting): answers equal DuckDB's on data with NULLs, duplicates and outer
values no inner row matches (the COUNT bug: 0, not NULL); what is still not decorrelated
is refused by name."""

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import QueryError
from tests.query.compare import check, engines_over


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(17)

    def ints(n, lo, hi, nulls):
        v = rng.integers(lo, hi, n)
        return pa.array(np.where(rng.random(n) < nulls, None, v).tolist(), pa.int64())

    def strs(n, k, nulls):
        return pa.array([None if rng.random() < nulls else f"s{rng.integers(0, k)}"
                         for _ in range(n)])
    t = pa.table({"id": pa.array(range(300), pa.int64()), "k": ints(300, 0, 20, 0.05),
                  "m": ints(300, 1, 13, 0.05), "a": strs(300, 6, 0.05),
                  "x": pa.array(np.round(rng.normal(0, 10, 300), 2))})
    u = pa.table({"k": ints(500, 0, 25, 0.05), "y": ints(500, -50, 50, 0.05),
                  "b": strs(500, 7, 0.05), "m": ints(500, 1, 13, 0.05)})
    e = engines_over(tmp_path_factory.mktemp("decorrelate") / "db", {"t": t, "u": u})
    yield e
    e.con.close()


QUERIES = [
    # scalar aggregates over <, <=, <>, BETWEEN-style correlations (the COUNT bug: 0)
    "SELECT id, (SELECT count(*) FROM u WHERE u.k < t.k) AS c FROM t",
    "SELECT id, (SELECT sum(y) FROM u WHERE u.k <= t.k) AS s FROM t",
    "SELECT id, (SELECT avg(y) FROM u WHERE u.k <> t.k) AS s FROM t",
    "SELECT id, (SELECT count(y) FROM u WHERE u.k BETWEEN t.k - 1 AND t.k + 1) AS c FROM t",
    "SELECT id, (SELECT count(*) FROM u WHERE u.k > t.k + 22) AS c FROM t",  # mostly empty
    "SELECT id, (SELECT count(*) + 1 FROM u WHERE u.k > t.k + 22) AS c, "
    "(SELECT coalesce(sum(y), -1) * 2 FROM u WHERE u.k > t.k + 22) AS s FROM t",
    "SELECT id, (SELECT count(DISTINCT b) FROM u WHERE u.k < t.k) AS c FROM t",
    "SELECT id, (SELECT min(b) FROM u WHERE u.b > t.a) AS c FROM t",
    # two correlated columns; an equality beside other conditions
    "SELECT id, (SELECT count(*) FROM u WHERE u.k < t.k AND u.m >= t.m) AS c FROM t",
    "SELECT id, (SELECT max(y) FROM u WHERE u.m = t.m AND u.k < t.k) AS c FROM t",
    "SELECT id FROM t WHERE x > (SELECT avg(y) / 5 FROM u WHERE u.m = t.m AND u.k < t.k)",
    # correlation in an OR, and not rejecting NULL (a NULL outer value matches rows)
    "SELECT id, (SELECT count(*) FROM u WHERE u.k = t.k OR u.y < t.m) AS c FROM t",
    "SELECT id, (SELECT count(*) FROM u WHERE u.k = t.k OR t.k IS NULL) AS c FROM t",
    "SELECT id, (SELECT count(*) FROM u WHERE u.b = t.a OR (u.b IS NULL AND t.a IS NULL)) "
    "AS c FROM t",
    "SELECT id, (SELECT sum(y) FROM u WHERE coalesce(u.k, 0) < coalesce(t.k, 5)) AS s FROM t",
    # in expressions, in WHERE, in CASE, two in one item
    "SELECT id FROM t WHERE (SELECT count(*) FROM u WHERE u.k < t.k) = 0",
    "SELECT id FROM t WHERE (SELECT count(*) FROM u WHERE u.k < t.k) < 30 OR k IS NULL",
    "SELECT id, CASE WHEN (SELECT count(*) FROM u WHERE u.k < t.k) > 100 THEN 'many' "
    "ELSE 'few' END AS c FROM t",
    "SELECT id, (SELECT sum(y) FROM u WHERE u.k < t.k) - (SELECT count(*) FROM u "
    "WHERE u.k > t.k) AS d FROM t",
    # EXISTS / NOT EXISTS / IN / NOT IN over aggregates and groups, with NULLs
    "SELECT id, k, m FROM t WHERE m IN (SELECT count(*) FROM u WHERE u.k > t.k + 17)",
    "SELECT id, k, m FROM t WHERE m NOT IN (SELECT count(*) FROM u WHERE u.k > t.k + 17)",
    "SELECT id, m, m IN (SELECT max(y) / 4 FROM u WHERE u.k <> t.k GROUP BY u.b) AS i FROM t",
    "SELECT id, m, m NOT IN (SELECT min(m) FROM u WHERE u.k < t.k GROUP BY u.b) AS i FROM t",
    "SELECT id FROM t WHERE EXISTS (SELECT u.b FROM u WHERE u.k <= t.k GROUP BY u.b "
    "HAVING count(*) > 10)",
    "SELECT id FROM t WHERE NOT EXISTS (SELECT u.b FROM u WHERE u.k < t.k GROUP BY u.b "
    "HAVING count(*) > 5)",
    "SELECT id, (SELECT count(*) FROM u WHERE u.k = t.k GROUP BY u.k) AS c FROM t",
    # ORDER BY ... LIMIT / OFFSET per outer row
    "SELECT id, (SELECT y FROM u WHERE u.k < t.k ORDER BY y LIMIT 1) AS y FROM t",
    "SELECT id, (SELECT y FROM u WHERE u.k < t.k ORDER BY y DESC NULLS LAST LIMIT 1) AS y "
    "FROM t",
    "SELECT id, (SELECT y FROM u WHERE u.k = t.k ORDER BY y NULLS FIRST LIMIT 1) AS y FROM t",
    "SELECT id, (SELECT y FROM u WHERE u.k <= t.k ORDER BY y LIMIT 1 OFFSET 2) AS y FROM t",
    "SELECT id, (SELECT max(y) FROM u WHERE u.k <= t.k GROUP BY u.b "
    "ORDER BY 1 DESC NULLS LAST LIMIT 1) AS y FROM t",
    "SELECT id, x FROM t WHERE m * 4 IN (SELECT y FROM u WHERE u.k <> t.k ORDER BY y LIMIT 3)",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k > t.k + 20 ORDER BY y LIMIT 1)",
    # in HAVING and over the groups of the outer query
    "SELECT a, count(*) AS n FROM t GROUP BY a HAVING count(*) <= (SELECT count(*) / 10 "
    "FROM u WHERE u.b < t.a)",
    "SELECT a, (SELECT count(*) FROM u WHERE u.b > t.a) AS c FROM t GROUP BY a",
    # nested two levels deep: the inner one reading the outermost query's columns
    "SELECT id, (SELECT count(*) FROM u WHERE u.k < t.k AND EXISTS (SELECT 1 FROM t t2 "
    "WHERE t2.m > u.m AND t2.k < t.k)) AS c FROM t",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k <> t.k AND u.y > "
    "(SELECT avg(y) FROM u u2 WHERE u2.k <= t.k AND u2.b = u.b))",
    "SELECT id, (SELECT max(y) FROM u WHERE u.k <= t.k AND u.y NOT IN (SELECT y FROM u u2 "
    "WHERE u2.k = t.m AND y IS NOT NULL)) AS c FROM t",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k + 1 AND u.y IN "
    "(SELECT y FROM u u2 WHERE u2.m > t.m))",
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE EXISTS (SELECT 1 FROM u v "
    "WHERE v.y = u.y AND v.k = t.k))",  # the middle one correlated only through the inner
    "SELECT id, (SELECT count(*) FROM u WHERE u.y NOT IN (SELECT y FROM u v "
    "WHERE v.k < t.k AND y IS NOT NULL)) AS c FROM t",
    # aggregated in two steps (by the columns the join reads, then merged): sums, counts,
    # min/max, averages of integers and doubles; DISTINCT is not split
    "SELECT id, (SELECT max(y) - min(y) FROM u WHERE u.k < t.k AND u.m > t.m) AS r FROM t",
    "SELECT id, (SELECT avg(x) FROM t t2 WHERE t2.m < t.m) AS a FROM t",
    "SELECT id, (SELECT avg(y) + count(DISTINCT b) FROM u WHERE u.k < t.k) AS a FROM t",
    "SELECT id, (SELECT sum(y) * 1.0 / count(*) FROM u WHERE u.m <= t.m "
    "AND u.k > t.k) AS a FROM t",
    # LATERAL aggregates over a domain; ON over the aggregate's row tested above the join
    "SELECT * FROM t, LATERAL (SELECT sum(y) AS s, count(*) AS n, count(y) + 1 AS ny "
    "FROM u WHERE u.k < t.k) q",
    "SELECT t.id, q.* FROM t LEFT JOIN LATERAL (SELECT avg(y) AS a, count(*) AS n FROM u "
    "WHERE u.k = t.k OR u.k IS NULL) q ON true",
    "SELECT t.id, q.n FROM t JOIN LATERAL (SELECT count(*) AS n FROM u "
    "WHERE u.k BETWEEN t.k - 1 AND t.k + 1) q ON q.n > 30",
    "SELECT t.id, q.n FROM t LEFT JOIN LATERAL (SELECT count(*) AS n FROM u "
    "WHERE u.k < t.k) q ON q.n > 100",
    "SELECT t.id, q.n FROM t JOIN LATERAL (SELECT count(*) AS n FROM u WHERE u.k = t.k) q "
    "ON q.n > 20",  # (the equality path gave unmatched rows 0 and kept them)
    "SELECT t.id, q.n FROM t LEFT JOIN LATERAL (SELECT count(*) AS n FROM u "
    "WHERE u.k = t.k) q ON q.n > 20",
    # window functions see one outer row's rows: partitioned by the keys or the domain
    "SELECT id, (SELECT max(y) OVER () FROM u WHERE u.k < t.k ORDER BY y LIMIT 1) AS w "
    "FROM t",
    "SELECT id, (SELECT max(y) OVER () FROM u WHERE u.k = t.k ORDER BY y LIMIT 1) AS w "
    "FROM t",
    "SELECT id, m * 10 IN (SELECT y - lag(y, 1, 0) OVER (ORDER BY y) FROM u "
    "WHERE u.k <> t.k) AS i FROM t",
    # the equality fast path's no-match value: the subquery over no rows
    "SELECT id, (SELECT count(*) + 1 FROM u WHERE u.k = t.k) AS c FROM t",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_answers_as_duckdb(engines, sql):
    check(engines, sql)


def test_multiple_rows_is_an_error(engines):
    with pytest.raises(QueryError, match="more than one row"):
        engines.db.sql("SELECT id, (SELECT y FROM u WHERE u.k < t.k) FROM t").to_arrow()


def test_equality_correlation_keeps_the_grouped_join(engines):
    """The fast path has no domain (no DISTINCT over the outer query); the general one
    does, and aggregates the subquery's rows before joining them with it."""
    def plan(sql):
        return "\n".join(r["explain"] for r in engines.db.sql("EXPLAIN " + sql).to_arrow()
                         .to_pylist())
    assert "Distinct" not in plan("SELECT (SELECT count(*) FROM u WHERE u.k = t.k) FROM t")
    general = plan("SELECT (SELECT count(*) FROM u WHERE u.k < t.k) FROM t")
    assert "Distinct" in general
    assert general.count("Aggregate") == 2  # rows aggregated by u.k before the join


@pytest.mark.parametrize("sql,needle", [
    ("SELECT (SELECT count(*) FROM u WHERE u.k < t.k HAVING count(*) > 1) FROM t",
     "HAVING without GROUP BY"),
    ("SELECT (SELECT count(*) FROM u WHERE u.k < t.k LIMIT 0) FROM t", "LIMIT 0"),
    ("SELECT (SELECT sum(count(*)) OVER () FROM u WHERE u.k < t.k) FROM t",
     "window function over a correlated"),
    ("SELECT id, EXISTS (SELECT max(y) FROM u WHERE u.k <> t.k GROUP BY u.b "
     "HAVING max(y) > t.m) FROM t", "only in its WHERE"),
    ("SELECT (SELECT count(*) FROM u WHERE u.k = t.k OR t.k IS NULL AND EXISTS "
     "(SELECT 1 FROM t t2 WHERE t2.k = t.k)) FROM t", "before and after"),
    ("SELECT * FROM t, LATERAL (SELECT max(y) AS m FROM u WHERE u.k < t.k GROUP BY u.b) q",
     "GROUP BY, HAVING or LIMIT"),
])
def test_still_refused(engines, sql, needle):
    with pytest.raises(QueryError, match=needle) as e:
        engines.db.sql(sql).to_arrow()
    assert "line 1" in str(e.value)


@pytest.mark.parametrize("sql", [
    "SELECT x, (SELECT count(*) FROM u WHERE u.x <= t.x) AS c FROM t",
    "SELECT x, (SELECT count(*) FROM u WHERE u.x = t.x OR t.x IS NULL) AS c FROM t",
    "SELECT x, s, (SELECT count(*) FROM u WHERE u.x = t.x AND u.s < t.s) AS c FROM t",
    "SELECT s, (SELECT count(*) FROM u WHERE u.s = t.s OR t.s IS NULL) AS c FROM t",
    "SELECT x, (SELECT max(x) FROM u WHERE u.x < t.x) AS m FROM t",
])
def test_float_and_string_domains(tmp_path, sql):
    """Domain values -0.0 and 0.0, NaN, NULL and '' (the NULL stand-in of a string pair)
    each meet the outer rows DuckDB matches them with, once."""
    t = pa.table({"x": pa.array([0.0, -0.0, float("nan"), None, 1.5, float("nan"), -0.0]),
                  "s": ["a", "b", None, "a", "", "c", "b"]})
    u = pa.table({"x": pa.array([0.0, -0.0, float("nan"), 2.0, -1.0, None]),
                  "s": ["a", "", None, "b", "z", "a"]})
    e = engines_over(tmp_path / "db", {"t": t, "u": u})
    check(e, sql)


@pytest.mark.parametrize("sql", [
    "SELECT d, (SELECT count(*) FROM u WHERE u.d = t.d OR t.d IS NULL) AS c FROM t",
    "SELECT n, (SELECT count(*) FROM u WHERE u.n = t.n OR t.n IS NULL) AS c FROM t",
    "SELECT n, (SELECT sum(n) FROM u WHERE u.n < t.n) AS s FROM t",
    "SELECT b, (SELECT count(*) FROM u WHERE u.b = t.b OR t.b IS NULL) AS c FROM t",
    "SELECT ts, (SELECT min(d) FROM u WHERE u.ts <= t.ts) AS m FROM t",
])
def test_dates_decimals_booleans(tmp_path, sql):
    """NULL-matching correlations over the other key types (their NULL stand-in is 0,
    1970-01-01 or FALSE, values the data also holds)."""
    import datetime
    import decimal
    day, ts, dec = datetime.date, datetime.datetime, decimal.Decimal
    t = pa.table({"d": pa.array([day(2020, 1, 1), None, day(1970, 1, 1), day(2021, 5, 5)]),
                  "n": pa.array([dec("1.50"), None, dec("0.00"), dec("2.25")],
                                pa.decimal128(9, 2)),
                  "b": pa.array([True, None, False, True]),
                  "ts": pa.array([ts(2020, 1, 1, 5), None, ts(1970, 1, 1), ts(2021, 1, 1)])})
    u = pa.table({"d": pa.array([day(2020, 1, 1), day(1970, 1, 1), None, day(2022, 1, 1)]),
                  "n": pa.array([dec("1.50"), dec("0.00"), None, dec("3.00")],
                                pa.decimal128(9, 2)),
                  "b": pa.array([True, False, None, False]),
                  "ts": pa.array([ts(2020, 1, 1, 5), ts(1970, 1, 1), None, ts(2019, 1, 1)])})
    check(engines_over(tmp_path / "db", {"t": t, "u": u}), sql)
