"""INTERVAL values grouped, deduplicated, ordered and compared as DuckDB does: by their
30-day total ('1 month' = '30 days' = '720 hours', one group), a group shown as its first
value in input order, min/max the last of equal totals; ``interval * double`` and
``interval / number`` with DuckDB's carrying of fractions (intervals.scale). Results are
compared as text too (``::VARCHAR``), which tells '1 month' from '30 days'."""

from __future__ import annotations

import pytest

from mapdb.errors import QueryError

from .compare import Engines, check

_TEXTS = ["1 month", "30 days", "720 hours", None, "1 day", "-1 month", "24 hours",
          "1 month 1 day", "31 days", "1 month -1 day", "29 days 24 hours", "3 microseconds",
          "-1 day 2 hours", "2 years 3 months 4 days 05:06:07.5"]

QUERIES = [
    "SELECT i::VARCHAR, count(*), min(k) FROM iv GROUP BY i",
    "SELECT g, i::VARCHAR, count(*) FROM iv GROUP BY g, i",
    "SELECT i::VARCHAR AS t, count(*) FROM iv GROUP BY i HAVING count(*) > 1",
    "SELECT (i * 2)::VARCHAR, count(*) FROM iv GROUP BY i * 2",
    "SELECT i::VARCHAR, count(*) FROM iv GROUP BY ROLLUP (i)",
    "SELECT x::VARCHAR FROM (SELECT DISTINCT i AS x FROM iv)",
    "SELECT g, x::VARCHAR FROM (SELECT DISTINCT g, i AS x FROM iv)",
    # (UNION: which of equal intervals shows is not fixed, the branches run side by side)
    "SELECT x FROM (SELECT i AS x FROM iv UNION SELECT INTERVAL '30 days')",
    "SELECT min(i)::VARCHAR, max(i)::VARCHAR, count(DISTINCT i), count(i) FROM iv",
    "SELECT g, min(i)::VARCHAR, max(i)::VARCHAR, count(DISTINCT i) FROM iv GROUP BY g",
    "SELECT min(i) FILTER (WHERE k > 3), max(i) FILTER (WHERE k < 3) FROM iv",
    "SELECT min(i), max(i) FROM iv WHERE k < 0",
    "SELECT i::VARCHAR, k FROM iv ORDER BY i, k",
    "SELECT i::VARCHAR, k FROM iv ORDER BY i DESC NULLS LAST, k",
    "SELECT (i / 2)::VARCHAR, (i * 1.5)::VARCHAR, (i / 2.5)::VARCHAR, (2.5 * i)::VARCHAR, "
    "(i * 0.5::FLOAT)::VARCHAR, (i / 3)::VARCHAR, (i / 7)::VARCHAR, (i * 0.1)::VARCHAR, "
    "(i / -0.7)::VARCHAR FROM iv",
    "SELECT (i * (k - 5.5))::VARCHAR, (i / (k + 0.5))::VARCHAR, i / NULL FROM iv",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    import duckdb

    import mapdb
    con = duckdb.connect()
    values = ", ".join(f"({'NULL' if t is None else repr(t)}::INTERVAL, {k}, '{'ab'[k % 2]}')"
                       for k, t in enumerate(_TEXTS))
    con.execute(f"CREATE TABLE iv AS SELECT * FROM (VALUES {values}) v(i, k, g)")
    r = con.sql("SELECT * FROM iv").arrow()
    table = r.read_all() if hasattr(r, "read_all") else r
    db = mapdb.connect(tmp_path_factory.mktemp("intervals") / "db")
    db.create_table("iv", table.slice(0, 7))
    db.table("iv").append(table.slice(7))  # two segments: input order across them
    yield Engines(db, con)
    db.close()
    con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_intervals_equal_duckdb(engines, sql):
    check(engines, sql)


def test_representatives_over_many_morsels(tmp_path):
    """Over a table of several segments and morsels, the values equal DuckDB's and the
    one shown of equal intervals is still the first of a group, the last for min/max, in
    input order (DuckDB's own choice varies from run to run once its threads split the
    rows, so only the values are compared with it)."""
    import duckdb

    import mapdb
    con = duckdb.connect()
    r = con.sql("SELECT (CASE r % 3 WHEN 0 THEN INTERVAL 1 MONTH WHEN 1 THEN INTERVAL 30 DAY "
                "ELSE INTERVAL 720 HOUR END) AS i, r % 7 AS g FROM range(300000) t(r)").arrow()
    table = r.read_all() if hasattr(r, "read_all") else r
    db = mapdb.connect(tmp_path / "db")
    db.create_table("big", table.slice(0, 100000))
    db.table("big").append(table.slice(100000))
    con.register("big", table)
    e = Engines(db, con)
    check(e, "SELECT g, i, min(i), max(i), count(*) FROM big GROUP BY g, i")
    check(e, "SELECT DISTINCT i FROM big")
    text = ["1 month", "30 days", "720:00:00"]  # of r % 3
    last = {g: max(r for r in range(300000 - 7, 300000) if r % 7 == g) for g in range(7)}
    got = db.sql("SELECT g, i::VARCHAR FROM big GROUP BY g, i ORDER BY g").to_arrow()
    assert got.column(1).to_pylist() == [text[g % 3] for g in range(7)]  # the first rows
    got = db.sql("SELECT g, min(i)::VARCHAR, max(i)::VARCHAR FROM big GROUP BY g "
                 "ORDER BY g").to_arrow()
    want = [text[last[g] % 3] for g in range(7)]
    assert got.column(1).to_pylist() == want and got.column(2).to_pylist() == want
    assert db.sql("SELECT DISTINCT i::VARCHAR FROM (SELECT DISTINCT i FROM big)"
                  ).to_arrow().column(0).to_pylist() == ["1 month"]
    db.close()


@pytest.mark.parametrize("sql, message", [
    ("SELECT i / 0 FROM iv", "division by zero"),
    ("SELECT i * 1e300 FROM iv", "interval out of range"),
    ("SELECT i // 2 FROM iv", "cannot apply intdiv"),
    ("SELECT 2 / i FROM iv", "cannot apply div"),
])
def test_refused_where_duckdb_errs(engines, sql, message):
    with pytest.raises(QueryError, match=message):
        engines.db.sql(sql).to_arrow()
    with pytest.raises(Exception):  # noqa: B017 (DuckDB's error)
        engines.con.execute(sql).fetchall()
