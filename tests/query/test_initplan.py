"""Uncorrelated scalar subqueries as init plans (query.initplan): run once while planning,
their value a typed constant the optimizer pushes down like a literal. Answers, types and
errors as DuckDB's: no row is NULL, more than one row an error (also over an empty outer
query), a subquery the binder drops (FALSE AND ...) never runs."""

from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_arrow, engines_over

N = 50_000  # several blocks: the substituted constant prunes by zone maps
T = pa.table({"x": pa.array(range(N), pa.int64()),
              "g": pa.array([i % 7 for i in range(N)], pa.int64()),
              "s": pa.array([f"s{i % 100:03d}" for i in range(N)]),
              "d": pa.array([datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 400)
                             for i in range(N)]),
              "p": pa.array([decimal.Decimal(i % 1000) / 100 for i in range(N)],
                            pa.decimal128(9, 2))})
U = pa.table({"k": pa.array([1, 2, 3, None], pa.int64()),
              "name": ["a", "b", None, "d"],
              "f": pa.array([1.5, None, 2.25, 3.0], pa.float32()),
              "ts": pa.array([datetime.datetime(2021, 5, 1, 12), None,
                              datetime.datetime(2021, 5, 2), None], pa.timestamp("us"))})
E = pa.table({"z": pa.array([], pa.int64())})


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    return engines_over(tmp_path_factory.mktemp("initplan") / "db",
                        {"t": T, "u": U, "e": E})


QUERIES = [
    # WHERE: the comparison with the value, each type
    "SELECT count(*) FROM t WHERE x > (SELECT avg(x) FROM t)",
    "SELECT count(*) FROM t WHERE x >= (SELECT max(x) - 10 FROM t)",
    "SELECT count(*) FROM t WHERE s = (SELECT max(name) FROM u)",
    "SELECT count(*), min(x) FROM t WHERE d = (SELECT max(d) FROM t WHERE x < 100)",
    "SELECT count(*) FROM t WHERE p > (SELECT max(p) - 1 FROM t)",
    "SELECT count(*) FROM t WHERE p > (SELECT avg(p) FROM t)",
    "SELECT count(*) FROM t WHERE x < (SELECT max(f) FROM u)",
    "SELECT count(*) FROM t WHERE d < (SELECT CAST(max(ts) AS DATE) FROM u)",
    # no row: NULL (a comparison with it keeps nothing); a NULL value likewise
    "SELECT count(*) FROM t WHERE x = (SELECT k FROM u WHERE k > 9)",
    "SELECT count(*) FROM t WHERE x <> (SELECT k FROM u WHERE k IS NULL)",
    "SELECT (SELECT k FROM u WHERE k > 9), (SELECT name FROM u WHERE k = 3), (SELECT NULL)",
    "SELECT (SELECT f FROM u WHERE k = 2) IS NULL, (SELECT ts FROM u WHERE k > 9)",
    # the select list, with other columns, aggregates and windows
    "SELECT x, (SELECT sum(k) FROM u) AS s, x - (SELECT min(x) FROM t WHERE g = 3) "
    "FROM t WHERE x < 20",
    "SELECT g, count(*), sum(x) / (SELECT count(*) FROM t) FROM t GROUP BY g",
    "SELECT x, sum(x) OVER () / (SELECT count(*) FROM u) FROM t WHERE x < 10",
    "SELECT (SELECT max(p) FROM t), (SELECT min(d) FROM t), (SELECT max(name) FROM u), "
    "(SELECT max(f) FROM u), (SELECT max(ts) FROM u), (SELECT INTERVAL 3 DAY), "
    "(SELECT x > 5 FROM t WHERE x = 6), (SELECT sum(p) FROM t)",
    # HAVING, ORDER BY, an aggregate's FILTER
    "SELECT g, sum(x) FROM t GROUP BY g HAVING sum(x) > (SELECT avg(x) * 7000 FROM t)",
    "SELECT g, count(*) FILTER (WHERE x > (SELECT avg(x) FROM t)) FROM t GROUP BY g",
    "SELECT x FROM t WHERE x < 30 ORDER BY abs(x - (SELECT avg(k) FROM u)), x LIMIT 5",
    # nested: a scalar subquery inside one, and inside IN (subquery) and EXISTS
    "SELECT count(*) FROM t WHERE x > (SELECT avg(x) FROM t WHERE x < (SELECT max(k) * 100 "
    "FROM u))",
    "SELECT count(*) FROM t WHERE g IN (SELECT k FROM u WHERE k < (SELECT max(k) FROM u))",
    "SELECT count(*) FROM t WHERE EXISTS (SELECT 1 FROM u WHERE k = (SELECT min(k) FROM u) "
    "AND u.k = t.g)",
    # inside CASE and OR (the value is a constant there too)
    "SELECT g, sum(CASE WHEN x > (SELECT avg(x) FROM t) THEN 1 ELSE 0 END) FROM t GROUP BY g",
    "SELECT count(*) FROM t WHERE x < 10 OR x = (SELECT max(x) FROM t)",
    "SELECT count(*) FROM t WHERE CASE WHEN g = 1 THEN x < (SELECT min(x) + 5 FROM t) "
    "ELSE x > (SELECT max(x) - 5 FROM t) END",
    # in a correlated subquery (the init plan is the inner one's), a CTE, a FROM subquery
    "SELECT g, (SELECT count(*) FROM u WHERE u.k = t.g AND u.k < (SELECT max(k) FROM u)) "
    "FROM t WHERE x < 10",
    "WITH c AS (SELECT x, g FROM t WHERE x > (SELECT avg(x) FROM t)) "
    "SELECT (SELECT count(*) FROM c), (SELECT sum(g) FROM c)",
    "SELECT * FROM u, (SELECT (SELECT max(k) FROM u) AS m) q WHERE k = m",
    "SELECT x FROM t WHERE x > (SELECT max(x) - 3 FROM t) UNION ALL "
    "SELECT (SELECT min(x) FROM t)",
    # a dropped subquery never runs (it would give more than one row)
    "SELECT count(*) FROM t WHERE false AND x = (SELECT x FROM t)",
    # a list stays a single join (no list constants)
    "SELECT (SELECT [1, 2]), (SELECT list(k ORDER BY k) FROM u)",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_answers(eng, sql):
    check(eng, sql)


@pytest.mark.parametrize("sql", [
    "SELECT (SELECT max(p) FROM t) a, (SELECT min(d) FROM t) b, (SELECT max(name) FROM u) c, "
    "(SELECT max(f) FROM u) d, (SELECT max(ts) FROM u) e, (SELECT NULL) f, "
    "(SELECT count(*) FROM u) g, (SELECT avg(p) FROM t) h, (SELECT sum(p) FROM t) i, "
    "(SELECT k FROM u WHERE k > 9) j",
    "SELECT x + (SELECT max(f) FROM u) a, p * (SELECT max(p) FROM t) b FROM t WHERE x < 3",
])
def test_types(eng, sql):
    check_arrow(eng, sql)


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM t WHERE x > (SELECT k FROM u)",
    "SELECT count(*) FROM e WHERE z > (SELECT k FROM u)",  # an empty outer query too
    "SELECT (SELECT k FROM u) FROM e",
    "SELECT x, (SELECT name FROM u WHERE k < 3) FROM t",
])
def test_more_than_one_row(eng, sql):
    with pytest.raises(Exception, match="More than one row"):
        eng.con.execute(sql).fetchall()
    with pytest.raises(QueryError, match="more than one row returned by a subquery"):
        eng.db.sql(sql).fetchall()


def _explain(db, sql: str) -> str:
    return "\n".join(r[0] for r in db.sql("EXPLAIN " + sql).fetchall())


def test_pushed_into_the_scan(eng):
    """The value reaches the scan's filter and zone-map ranges; no join is left."""
    sql = "SELECT count(*) FROM t WHERE x >= (SELECT max(x) - 100 FROM t)"
    text = _explain(eng.db, sql)
    assert "Init plan $" in text and f"= {N - 101}" in text, text
    assert "Single join" not in text, text
    assert f"zone ranges x in [{N - 101}, +inf)" in text, text
    got = eng.db.sql("EXPLAIN ANALYZE " + sql).fetchall()
    scan = next(r[0] for r in got if r[0].lstrip().startswith("Scan t [x] filter"))
    assert "skipped 3" in scan, scan  # 4 blocks of 16384 rows, only the last read


def test_nested_init_plans_shown(eng):
    sql = "SELECT count(*) FROM t WHERE x > (SELECT avg(x) FROM t WHERE x < (SELECT max(k) FROM u))"
    text = _explain(eng.db, sql)
    assert text.count("Init plan") == 2, text
    # ANALYZE: what the init plans did when they ran
    got = [r[0] for r in eng.db.sql("EXPLAIN ANALYZE " + sql).fetchall()]
    assert sum(x.lstrip().startswith("Scan ") and "(rows " in x for x in got) == 3, got


def test_correlated_stays_a_join(eng):
    text = _explain(eng.db, "SELECT g FROM t WHERE x = (SELECT max(k) FROM u WHERE u.k = t.g)")
    assert "Init plan" not in text and "Single join" in text, text


def test_new_data_new_value(tmp_path):
    """A cached plan holds the value: a commit to the subquery's table plans afresh."""
    import mapdb
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", {"x": [1, 2, 3]})
    u = db.create_table("u", {"y": [2]})
    q = "SELECT count(*) FROM t WHERE x > (SELECT max(y) FROM u)"
    assert db.sql(q).fetchall() == [(1,)]
    assert db.sql(q).fetchall() == [(1,)]
    u.append({"y": [0]})
    assert db.sql(q).fetchall() == [(1,)]
    u.append({"y": [-5]})
    t.append({"x": [10]})
    assert db.sql(q).fetchall() == [(2,)]
    db.create_table("v", {"y": [0]})
    db.sql("CREATE VIEW w AS SELECT max(y) AS m FROM v")
    q = "SELECT count(*) FROM t WHERE x > (SELECT m FROM w)"
    assert db.sql(q).fetchall() == [(4,)]
    db.table("v").append({"y": [2]})
    assert db.sql(q).fetchall() == [(2,)]


def test_parameters(tmp_path):
    """A statement with parameters in its subquery runs the subquery per execution."""
    import mapdb
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", {"x": list(range(10))})
    q = "SELECT count(*) FROM t WHERE x > (SELECT max(x) FROM t WHERE x < ?)"
    assert [db.sql(q, [v]).fetchall() for v in (3, 5, 0, 100)] == \
        [[(7,)], [(5,)], [(0,)], [(0,)]]


def test_not_a_point_template(tmp_path):
    """``k = (SELECT 7 FROM u)`` plans like a point select, but the value comes from u:
    the next statement of its shape must not reuse the plan with only its literal changed
    (u has no rows now: no row, not k = 9's)."""
    import mapdb
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", {"k": [5, 7, 9], "v": ["a", "b", "c"]}).create_index("k")
    db.create_table("u", {"x": pa.array([1], pa.int64())})
    assert db.sql("SELECT v FROM t WHERE k = (SELECT 7 FROM u)").fetchall() == [("b",)]
    db.drop_table("u")
    db.create_table("u", {"x": pa.array([], pa.int64())})
    assert db.sql("SELECT v FROM t WHERE k = (SELECT 9 FROM u)").fetchall() == []
