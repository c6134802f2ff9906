"""LATERAL answered as DuckDB answers it (issue 17 item 4; Binder.lateral): `FROM t,
LATERAL (...)`, `[LEFT] JOIN LATERAL ... ON`, DuckDB's implicit lateral (a FROM subquery
naming an earlier item), decorrelated into joins on the correlation's equalities (other
correlated conditions: the join's condition; an aggregate without GROUP BY: one row per
left row, COUNT 0); what cannot be decorrelated is refused with its position."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

QUERIES = [
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k) q",
    "SELECT * FROM t JOIN LATERAL (SELECT y FROM u WHERE u.k = t.k) q ON true",
    "SELECT * FROM t LEFT JOIN LATERAL (SELECT y FROM u WHERE u.k = t.k) AS q(z) ON true",
    "SELECT * FROM t, (SELECT y FROM u WHERE u.k = t.k) q",  # implicit lateral
    "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.k = t.k) q",
    "SELECT * FROM t, LATERAL (SELECT k FROM u WHERE u.y = t.k * 10) q",
    "SELECT * FROM t, LATERAL (SELECT DISTINCT k FROM u WHERE u.k = t.k) q",
    # aggregates: one row per left row, matched or not
    "SELECT * FROM t, LATERAL (SELECT sum(y) AS s, count(*) AS n, count(y) AS ny "
    "FROM u WHERE u.k = t.k) q",
    "SELECT count(*), sum(c) FROM t a, LATERAL (SELECT count(*) AS c FROM t b "
    "WHERE b.k = a.k) q",
    # values of the left row, without FROM
    "SELECT * FROM t, LATERAL (SELECT t.k + 1 AS k1, a || '!' AS b) q",
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k) q, "
    "LATERAL (SELECT y * 2 AS y2) r",
    # correlated conditions other than =: the join's condition
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k < t.k) q",
    "SELECT * FROM t LEFT JOIN LATERAL (SELECT y FROM u WHERE u.k < t.k AND y > 10) q "
    "ON true",
    "SELECT * FROM t LEFT JOIN LATERAL (SELECT y FROM u WHERE u.k = t.k AND u.y <> t.k) q "
    "ON true",
    "SELECT * FROM t JOIN LATERAL (SELECT y FROM u WHERE u.k = t.k) q ON q.y > 10",
    "SELECT * FROM t LEFT JOIN LATERAL (SELECT y FROM u WHERE u.k = t.k) q ON q.y > 10",
    "SELECT * FROM t, LATERAL (SELECT y FROM u) q",  # uncorrelated: a cross join
    "SELECT t.a, q.y FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k) q "
    "WHERE q.y IS NOT NULL ORDER BY 1, 2",
    "SELECT * FROM t, LATERAL (SELECT u.k, (SELECT max(y) FROM u u2 WHERE u2.k = u.k) AS m "
    "FROM u WHERE u.k = t.k) q",
    "SELECT * FROM t, LATERAL (SELECT y, row_number() OVER (ORDER BY y) AS rn FROM u) q",
    # ORDER BY ... LIMIT/OFFSET per left row: row_number() per correlation key
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k ORDER BY y LIMIT 1) q",
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k ORDER BY y DESC LIMIT 1) q",
    "SELECT * FROM t LEFT JOIN LATERAL (SELECT y AS yy FROM u WHERE u.k = t.k "
    "ORDER BY yy DESC NULLS LAST LIMIT 1) q ON true",
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k ORDER BY 1 LIMIT 1 OFFSET 1) q",
    "SELECT * FROM t, LATERAL (SELECT u.k AS kk FROM u WHERE u.k = t.k "
    "ORDER BY y NULLS FIRST LIMIT 1) q",
    "SELECT * FROM t, LATERAL (SELECT t.a, y FROM u WHERE u.k = t.k ORDER BY y DESC LIMIT 1) q",
    "SELECT * FROM t, LATERAL (SELECT y, u.k * 2 AS k2 FROM u WHERE u.k = t.k "
    "ORDER BY k2 DESC, y LIMIT 1) q",
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k LIMIT 0) q",
    "SELECT * FROM t, LATERAL (SELECT y FROM u ORDER BY y LIMIT 2) q",
    "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.k = t.k ORDER BY y LIMIT 5) q",
    # the left row's columns in the select list: computed above the join
    "SELECT * FROM t, LATERAL (SELECT t.a, y FROM u WHERE u.k = t.k) q",
    "SELECT * FROM t, LATERAL (SELECT a FROM u WHERE u.k = t.k) q",
    "SELECT * FROM t LEFT JOIN LATERAL (SELECT t.a AS ta, y, t.k * 10 + y AS z FROM u "
    "WHERE u.k = t.k) q ON true",  # no match: NULL, not the left value
    "SELECT * FROM t, LATERAL (SELECT t.k + u.y AS s FROM u WHERE u.k < t.k) q",
    "SELECT * FROM t, (SELECT t.a AS ta, y FROM u WHERE u.k = t.k) q",
    "SELECT * FROM t, LATERAL (SELECT t.a, y FROM u) q",
    "SELECT count(*) FROM t, LATERAL (SELECT t.a AS ta FROM u WHERE u.k = t.k) q "
    "WHERE q.ta IS NULL",
    "SELECT * FROM t, LATERAL (SELECT t.a, y FROM u WHERE u.k = t.k AND y IN "
    "(SELECT y FROM u WHERE y > 10)) q",
    "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u, LATERAL (SELECT y FROM u u2 "
    "WHERE u2.k = u.k) q WHERE u.k = t.k)",
    "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u, LATERAL (SELECT u.y + 1 AS z) q "
    "WHERE u.k = t.k AND z > 0)",
    "SELECT * FROM (SELECT * FROM t) a, LATERAL (SELECT y FROM u WHERE u.k = a.k) q",
    "SELECT * FROM t JOIN u ON t.k = u.k, LATERAL (SELECT t.k * u.y AS p) q",
    "SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k) q JOIN u u3 ON u3.y = q.y",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    t = pa.table({"k": pa.array([1, 2, 3, None, 2], pa.int64()),
                  "a": ["p", "q", "r", "s", None]})
    u = pa.table({"k": pa.array([1, 1, 2, None, 4], pa.int64()),
                  "y": pa.array([10, 20, None, 40, 50], pa.int64())})
    e = engines_over(tmp_path_factory.mktemp("lateral") / "db", {"t": t, "u": u})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_lateral_equals_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


@pytest.mark.parametrize(("sql", "needle", "col"), [
    ("SELECT * FROM t, LATERAL (SELECT DISTINCT u.k > 0 AS pos FROM u WHERE u.k < t.k) q",
     "LATERAL: DISTINCT", 45),
    ("SELECT * FROM t, LATERAL (SELECT y, row_number() OVER (ORDER BY y) AS rn FROM u "
     "WHERE u.k = t.k) q", "LATERAL: window functions", 37),
    ("SELECT * FROM t, LATERAL (SELECT max(y) AS m FROM u WHERE u.k = t.k GROUP BY u.k) q",
     "GROUP BY, HAVING or LIMIT", 44),
    ("SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k < t.k ORDER BY y LIMIT 1) q",
     "LIMIT/OFFSET needs a correlation by inner = outer", 34),
    ("SELECT * FROM t, LATERAL (SELECT y FROM u WHERE u.k = t.k ORDER BY t.a LIMIT 1) q",
     "ORDER BY over the left side's columns", 34),
    ("SELECT * FROM t, LATERAL (SELECT DISTINCT y FROM u WHERE u.k = t.k ORDER BY y "
     "LIMIT 1) q", "GROUP BY, HAVING or LIMIT", 43),
    ("SELECT * FROM t, LATERAL (SELECT t.a, sum(y) AS s FROM u WHERE u.k = t.k) q",
     "enclosing query", 36),
    ("SELECT * FROM t, LATERAL (SELECT DISTINCT t.a FROM u WHERE u.k = t.k) q",
     "enclosing query", 45),
    ("SELECT * FROM t LEFT JOIN LATERAL (SELECT t.k + u.y AS s FROM u WHERE u.k < t.k) q "
     "ON true", "needs an inner = outer correlation", 82),
    ("SELECT * FROM t, LATERAL (SELECT (SELECT t.a) AS m FROM u WHERE u.k = t.k) q",
     "enclosing query", 44),
    # a LATERAL inside a subquery naming the outermost query (not the items before it)
    ("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u, LATERAL (SELECT y FROM u u2 "
     "WHERE u2.k = t.k) q)", "further out", 64),
    ("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u, LATERAL (SELECT t.k + 1 AS z) q "
     "WHERE u.k = t.k AND z > 0)", "further out", 75),
])
def test_what_is_not_decorrelated_is_refused(engines, sql, needle, col):
    """DuckDB answers these; mapdb refuses them, naming the construct and its place."""
    with pytest.raises(QueryError, match=needle) as e:
        engines.db.sql(sql).fetchall()
    assert f"column {col})" in str(e.value), str(e.value)


def test_right_join_lateral_is_refused_as_duckdb_refuses_it(engines):
    sql = "SELECT * FROM t RIGHT JOIN LATERAL (SELECT y FROM u WHERE u.k = t.k) q ON true"
    with pytest.raises(QueryError, match="RIGHT JOIN LATERAL"):
        engines.db.sql(sql).fetchall()
    with pytest.raises(Exception):  # noqa: B017
        engines.con.execute(sql).fetchall()
