"""Query parameters (``?``, ``$1``, ``$name``): DuckDB's binding rules and answers, typed
constants (never text), and the bound plan reused for new values."""

from __future__ import annotations

import datetime
import decimal
import random

import duckdb
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import QueryError
from mapdb.query import session

N = 200


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = random.Random(7)
    data = pa.table({
        "k": pa.array(range(N), pa.int64()),
        "x": pa.array([None if i % 17 == 0 else rng.uniform(-50, 50) for i in range(N)]),
        "s": pa.array([rng.choice(["a", "b", "c", "it's", None]) for _ in range(N)]),
        "d": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 60)
                       for i in range(N)]),
        "ts": pa.array([datetime.datetime(2024, 1, 1) + datetime.timedelta(hours=7 * i)
                        for i in range(N)], pa.timestamp("us")),
        "m": pa.array([decimal.Decimal(i * 37 % 1000) / 100 for i in range(N)],
                      pa.decimal128(10, 2)),
    })
    db = mapdb.connect(tmp_path_factory.mktemp("params") / "db")
    db.create_table("t", data)
    db.table("t").create_index("k")
    con = duckdb.connect()
    con.register("t_arrow", data)
    con.execute("CREATE TABLE t AS SELECT * FROM t_arrow")
    yield db, con
    con.close()
    db.close()


def duck(con, sql, params):
    return [tuple(r) for r in con.execute(sql, params).fetchall()]


def ours(db, sql, params):
    return db.sql(sql, params).fetchall()


# (statement, value sets): each is run with every set in turn, compared with DuckDB
CASES = [
    ("SELECT k FROM t WHERE k > ? ORDER BY k", [[150], [190], [-1], [199], [3]]),
    ("SELECT k, s FROM t WHERE k BETWEEN $1 AND $2 ORDER BY k", [[5, 9], [100, 103], [9, 5]]),
    ("SELECT s, count(*) FROM t WHERE s = $name GROUP BY s",
     [{"name": "a"}, {"name": "it's"}, {"NAME": "zz"}, {"name": "b"}]),
    ("SELECT k FROM t WHERE x < ? AND s <> ? ORDER BY k",
     [[-40.0, "a"], [-45, "b"], [decimal.Decimal("-48.5"), "c"]]),
    ("SELECT k FROM t WHERE d >= ? AND d < ? ORDER BY k",
     [[datetime.date(2024, 2, 20), datetime.date(2024, 2, 25)],
      [datetime.date(2024, 1, 1), datetime.date(2024, 1, 2)]]),
    ("SELECT k FROM t WHERE ts > ? ORDER BY k",
     [[datetime.datetime(2024, 1, 30, 12)], [datetime.datetime(2024, 1, 3)]]),
    ("SELECT k FROM t WHERE m > ? ORDER BY k",
     [[decimal.Decimal("9.5")], [9], [9.9], [decimal.Decimal("9.99")]]),
    ("SELECT k + ?, s || ? FROM t WHERE k < 5 ORDER BY k", [[1, "!"], [10, "?"], [-3, ""]]),
    ("SELECT k FROM t WHERE s IN (?, ?) AND k < 40 ORDER BY k", [["a", "b"], ["c", "zz"]]),
    ("SELECT k FROM t ORDER BY k LIMIT ? OFFSET ?", [[3, 0], [2, 5], [0, 0]]),
    ("SELECT coalesce(?, s) FROM t WHERE k < 6 ORDER BY k", [[None], ["z"], [None]]),
    ("SELECT CASE WHEN k > ? THEN ? ELSE s END FROM t WHERE k < 8 ORDER BY k",
     [[3, "big"], [5, "huge"]]),
    ("SELECT k FROM t WHERE ? AND k < 4 ORDER BY k", [[True], [False], [True]]),
    ("SELECT s FROM t WHERE k = ?", [[5], [77], [1000], [0]]),  # a hash-index probe
    ("SELECT count(*), sum(k) FROM t WHERE k % ? = $2", [[7, 3], [5, 0], [3, 1]]),
    ("SELECT k FROM t WHERE s = ? ORDER BY k LIMIT 3", [["it's"], ["x' OR '1'='1"], ["a"]]),
]


@pytest.mark.parametrize("sql,value_sets", CASES, ids=[c[0][:50] for c in CASES])
def test_against_duckdb(engines, sql, value_sets):
    db, con = engines
    for params in value_sets * 2:  # twice: the second round runs on reused plans
        assert ours(db, sql, params) == duck(con, sql, params), (sql, params)


def test_random_value_sequences(engines):
    """One statement, many values in random order: every answer is the one for its own
    values (a reused plan must not keep an earlier run's constants)."""
    db, con = engines
    rng = random.Random(3)
    sql = "SELECT count(*) FROM t WHERE k >= ? AND k < ? AND (s = ? OR x > ?)"
    for _ in range(60):
        lo = rng.randrange(-5, N)
        params = [lo, lo + rng.randrange(0, 80), rng.choice("abc"),
                  rng.choice([rng.uniform(-50, 50), rng.randrange(-50, 50)])]
        assert ours(db, sql, params) == duck(con, sql, params), params


def test_plan_reused_for_new_values(engines, monkeypatch):
    db, con = engines
    sql = "SELECT count(*) FROM t WHERE k > ? AND s <> $2"
    assert db.sql(sql, [10, "a"]).fetchall()
    binds = []
    real = session.bind_sql
    monkeypatch.setattr(session, "bind_sql", lambda *a, **k: binds.append(a) or real(*a, **k))
    before = session.STATEMENTS.reused
    for k in (20, 150, 198):
        assert ours(db, sql, [k, "zz"]) == duck(con, sql, [k, "zz"])
    assert session.STATEMENTS.reused - before == 3
    assert binds == []  # neither parsed nor bound again: only the optimizer ran
    db.sql(sql, [1.5, "zz"]).fetchall()  # another type for $1: bound afresh
    assert len(binds) == 1


def test_plan_not_reused_across_versions(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", {"k": [1, 2, 3]})
    sql = "SELECT count(*) FROM t WHERE k >= ?"
    assert db.sql(sql, [2]).fetchall() == [(2,)]
    t.append({"k": [4]})
    assert db.sql(sql, [2]).fetchall() == [(3,)]


def test_folded_parameters_bound_each_time(engines):
    """``? + 1`` folds to a constant and ``LIMIT ?`` becomes a number of the plan: no
    Param is left, so the statement is bound afresh (never a stale constant)."""
    db, _ = engines
    for v in (1, 5, 9):
        assert db.sql("SELECT ? + 1", [v]).fetchall() == [(v + 1,)]
        assert len(db.sql("SELECT k FROM t LIMIT ?", [v]).fetchall()) == v


def test_types_of_values(engines):
    db, con = engines
    values = [1, 1.5, "x", True, None, decimal.Decimal("1.25"), datetime.date(2024, 1, 2),
              datetime.datetime(2024, 1, 2, 3, 4), b"ab", 2**63]
    sql = "SELECT " + ", ".join("?" for _ in values)
    assert ours(db, sql, values) == duck(con, sql, values)
    r = db.sql(sql, values).to_arrow()
    assert [str(f.type) for f in r.schema][:8] == [
        "int64", "double", "large_string", "bool", "null", "decimal128(3, 2)", "date32[day]",
        "timestamp[us]"]
    assert r.column_names == [f"${i}" for i in range(1, len(values) + 1)]  # as DuckDB
    import numpy as np
    assert ours(db, "SELECT ?, ?", [np.int32(3), np.float64(0.5)]) == [(3, 0.5)]
    interval = db.sql("SELECT d + ? FROM t WHERE k = 0", [datetime.timedelta(days=3)])
    assert interval.fetchall() == [(datetime.datetime(2024, 1, 4),)]


@pytest.mark.parametrize("sql,params,needle", [
    ("SELECT ?, ?", [1], "no value given for parameter $2"),
    ("SELECT ?, ?", [1, 2, 3], "value #3 is not used"),
    ("SELECT $1, $3", [1, 2, 3], "value #2 is not used"),
    ("SELECT $a, $b", {"a": 1}, "no value given for parameter $b"),
    ("SELECT $a", {"a": 1, "b": 2}, "value $b is not used"),
    ("SELECT $a", [1], "value #1 is not used"),
    ("SELECT $1, $a", [1], "mixing named ($a) and numbered ($1)"),
    ("SELECT ?", None, "no values were given"),
    ("SELECT 1", [5], "value #1 is not used"),
    ("SELECT ?", "ab", "a sequence (list, tuple) or a dict, not a str"),
    ("SELECT ?", [2**64], "parameter $1: the integer 18446744073709551616"),
    ("SELECT ?", [object()], "parameter $1: a object value cannot be a SQL constant"),
    ("SELECT ?", [[1, 2]], "parameter $1: a list value cannot"),
])
def test_errors_name_the_parameter(engines, sql, params, needle):
    db, con = engines
    with pytest.raises(QueryError) as info:
        db.sql(sql, params).fetchall()
    assert needle in str(info.value)
    if "value cannot" not in needle and "integer" not in needle:  # DuckDB refuses these too
        with pytest.raises(duckdb.Error):
            con.execute(sql, params)


def test_what_duckdb_accepts(engines):
    db, con = engines
    for sql, params in [("SELECT $1, $2, $1", [1, 2]), ("SELECT ?, $1", [7]),
                        ("SELECT $1, ?", [1, 2]), ("SELECT $a, $A", {"a": 1}),
                        ("SELECT ?, ?", {"1": 1, "2": 2}), ("SELECT ?", (3,)),
                        ("SELECT 1", []), ("SELECT '?', ? -- ?", [4])]:
        assert ours(db, sql, params) == duck(con, sql, params), sql
