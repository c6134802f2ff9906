"""DB-API 2.0 (PEP 249, issue 18 item 3): mapdb's cursors next to DuckDB's over one
DDL/DML script, a consumer that knows only the PEP, and pandas.read_sql."""

from __future__ import annotations

import sqlite3
import warnings

import duckdb
import pytest

import mapdb
from mapdb.errors import MapdbError
from tests.test_statements import SCRIPT, _rows, statements


def _state(cur) -> dict:
    """Every table's column names and rows, read through a DB-API cursor only."""
    out = {}
    cur.execute("SELECT table_name FROM information_schema.tables ORDER BY table_name")
    for (name,) in cur.fetchall():
        cur.execute(f'SELECT * FROM "{name}"')
        out[name] = ([d[0] for d in cur.description], _rows(cur.fetchall()))
    return out


def test_a_script_through_both_cursors_matches_after_every_statement(tmp_path):
    con = mapdb.connect(tmp_path / "db", durability="none")
    ddb = duckdb.connect()
    cur, dcur = con.cursor(), ddb.cursor()
    for i, stmt in enumerate(statements(SCRIPT)):
        assert cur.execute(stmt) is cur
        dcur.execute(stmt)
        got = ([d[0] for d in cur.description], _rows(cur.fetchall()))
        want = ([d[0] for d in dcur.description], _rows(dcur.fetchall()))
        assert got == want, f"statement {i}: {stmt}"
        if want[0] == ["Count"] and want[1]:  # DML: rowcount is DuckDB's Count
            assert cur.rowcount == want[1][0][0], f"statement {i}: {stmt}"
        else:
            assert cur.rowcount == -1, f"statement {i}: {stmt}"
        con.commit()
        ddb.commit()
        assert _state(con.cursor()) == _state(ddb.cursor()), f"after statement {i}: {stmt}"
    cur.close()


def pep249_report(module, con) -> dict:
    """A consumer that uses nothing but PEP 249 (module globals, cursor, execute with qmark
    parameters, executemany, description, rowcount, arraysize, fetchmany loops)."""
    assert module.apilevel == "2.0" and module.paramstyle == "qmark"
    assert module.threadsafety in (0, 1, 2, 3)
    assert issubclass(module.ProgrammingError, module.DatabaseError)
    assert issubclass(module.DatabaseError, module.Error)
    cur = con.cursor()
    cur.execute("CREATE TABLE pep (id INTEGER, name VARCHAR, score DOUBLE)")
    cur.executemany("INSERT INTO pep VALUES (?, ?, ?)",
                    [(i, f"n{i % 7}", i / 4) for i in range(1000)])
    cur.execute("UPDATE pep SET score = score * 2 WHERE id % ? = 0", (10,))
    updated = cur.rowcount
    cur.execute("SELECT name, count(*) AS n, sum(score) AS total FROM pep WHERE id > ? "
                "GROUP BY name ORDER BY name", (5,))
    names = [d[0] for d in cur.description]
    assert all(len(d) == 7 for d in cur.description)
    cur.arraysize = 3
    rows = []
    while True:
        chunk = cur.fetchmany()
        if not chunk:
            break
        assert len(chunk) <= 3
        rows.extend(tuple(r) for r in chunk)
    cur.execute("SELECT id FROM pep WHERE id < 5 ORDER BY id")
    first = cur.fetchone()
    rest = cur.fetchall()
    try:
        cur.execute("SELECT nope FROM pep")
        error = None
    except module.Error as e:
        error = type(e).__name__
    cur.close()
    return {"updated": updated, "names": names, "rows": rows, "first": tuple(first),
            "rest": [tuple(r) for r in rest], "error": error is not None}


def test_a_pep249_consumer_sees_the_same_from_both(tmp_path):
    """sqlite3 as the reference: a complete PEP 249 module (DuckDB's cursors have no
    arraysize and a rowcount of -1)."""
    got = pep249_report(mapdb, mapdb.connect(tmp_path / "db"))
    want = pep249_report(sqlite3, sqlite3.connect(":memory:"))
    assert got == want
    assert got["updated"] == 100 and got["first"] == (0,) and got["error"]


def test_pandas_read_sql_over_the_connection(tmp_path):
    pd = pytest.importorskip("pandas")
    con = mapdb.connect(tmp_path / "db")
    con.execute("CREATE TABLE t (k VARCHAR, v DOUBLE, d DATE)")
    con.cursor().executemany("INSERT INTO t VALUES (?, ?, ?)",
                             [("a", 1.5, "2024-01-02"), ("b", None, None), ("c", 3.0,
                                                                            "2024-03-04")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas: "not tested" for non-sqlite
        df = pd.read_sql("SELECT k, v FROM t WHERE v > ? ORDER BY k", con, params=[1.0])
        chunks = list(pd.read_sql("SELECT k FROM t ORDER BY k", con, chunksize=2))
    assert df.to_dict("list") == {"k": ["a", "c"], "v": [1.5, 3.0]}
    assert [c["k"].tolist() for c in chunks] == [["a", "b"], ["c"]]


def test_connection_and_cursor_errors_are_mapdb_errors(tmp_path):
    con = mapdb.connect(tmp_path / "db")
    cur = con.cursor()
    with pytest.raises(mapdb.ProgrammingError, match="no result"):
        cur.fetchone()
    con.execute("CREATE TABLE t (x INTEGER)")
    cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    assert cur.rowcount == 2 and cur.description is None
    with pytest.raises(mapdb.ProgrammingError):
        cur.fetchall()  # executemany leaves no result set
    with pytest.raises(mapdb.NotSupportedError, match="autocommit"):
        con.rollback()
    assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)  # nothing undone
    with pytest.raises(mapdb.ProgrammingError, match="not found"):
        cur.execute("SELECT y FROM t")
    cur.execute("SELECT x FROM t ORDER BY x")
    assert list(cur) == [(1,), (2,)]  # iteration
    assert cur.description[0][:2] == ("x", "INTEGER") and cur.description[0][1] == \
        mapdb.NUMBER and cur.description[0][1] != mapdb.STRING
    other = con.cursor()
    other.execute("SELECT x FROM t")
    con.close()  # closes its cursors; the database stays usable
    for c in (cur, other):
        with pytest.raises(mapdb.InterfaceError, match="closed"):
            c.execute("SELECT 1")
        with pytest.raises(MapdbError):
            c.fetchone()
    assert con.cursor().execute("SELECT x FROM t WHERE x > ?", [1]).fetchall() == [(2,)]
    for name in ("Error", "DatabaseError", "InterfaceError", "OperationalError",
                 "ProgrammingError", "DataError", "IntegrityError", "InternalError",
                 "NotSupportedError"):
        assert issubclass(getattr(mapdb, name), MapdbError)
