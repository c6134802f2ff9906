"""Running hostile inputs and checking what they left behind (shared by the quick tests and
the soak command). Each ``run_*`` returns an outcome string; outcomes starting with "BUG"
break a promise of RELIABILITY.md."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
from storage import _support as sup

from mapdb.errors import MapdbError
from mapdb.ingest import IngestError


class Timeout(Exception):
    """A hostile input took longer than its budget (a hang)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Timeout in the main thread after ``seconds`` (SIGALRM; main thread only)."""
    def fire(*_):
        raise Timeout(f"no answer within {seconds}s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# -- tables ---------------------------------------------------------------------------------
def state(db, name: str) -> tuple | None:
    """(version, rows, content) of a table, or None when it does not exist."""
    if name not in db:
        return None
    store = db._store
    snap = store.snapshot(name)
    try:
        t = snap.to_arrow()
        return snap.version, t.num_rows, tuple(tuple(sup.normalize(c)) for c in t.columns)
    finally:
        snap.close()


def table_problems(db, name: str) -> list[str]:
    """verify() problems plus files the current version does not need."""
    store = db._store
    snap = store.snapshot(name)
    try:
        problems = snap.verify()
    finally:
        snap.close()
    return problems + [f"leftover {p}" for p in sup.leftovers(store.table_dir(name))]


BASE = pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": ["x", "y", None]})


def base_db(path):
    """A database with table 't' (columns a int64, b string): hostile files append to it."""
    import mapdb
    db = mapdb.connect(path)
    db.create_table("t", BASE, dictionary=None)
    return db


# -- ingest ---------------------------------------------------------------------------------
def run_ingest(db, path: str, table: str, mode: str, fmt: str | None = None,
               seconds: float = 60.0) -> str:
    """Ingest one hostile file; check the error (if any) and the tables afterwards.

    Outcomes: "imported", "error: file and position" (IngestError with file and a line or
    column), "error: file" (IngestError naming only the file: a whole-file problem such as
    an empty file or a damaged footer), "error: schema" (the table refused the columns or
    their names: a mapdb error without the file name), or "BUG ..."."""
    keep = os.environ.get("MAPDB_TEST_LAST_INPUT")  # for a crash: the input that did it
    if keep:
        import shutil
        shutil.copyfile(path, keep)
    before_t = state(db, "t")
    before_tables = db.tables()
    existed = table in before_tables
    before = state(db, table) if existed else None
    try:
        with time_limit(seconds):
            db.ingest(table, path, mode=mode, format=fmt)
    except IngestError as e:
        if e.file is None or os.path.basename(path) not in e.file:
            outcome = f"BUG IngestError without the file: {e}"
        else:
            outcome = ("error: file and position" if e.line is not None or e.column is not None
                       else "error: file")
    except MapdbError:
        outcome = "error: schema"
    except Timeout:
        return "BUG hang (no answer in time)"
    except BaseException as e:
        return f"BUG {type(e).__name__}: {str(e)[:200]}"
    else:
        outcome = "imported"
    # what the job left behind
    if outcome != "imported":
        if db.tables() != before_tables:
            return f"BUG a failed job changed the table list: {db.tables()}"
        if existed and state(db, table) != before:
            return "BUG a failed job changed the table"
    else:
        after = state(db, table)
        if existed and after[0] != before[0] + 1:
            return f"BUG version {before[0]} -> {after[0]}"
        problems = table_problems(db, table)
        if problems:
            return f"BUG imported table does not verify: {problems[:3]}"
    if table != "t" and state(db, "t") != before_t:
        return "BUG another table changed"
    if sup.db_leftovers(str(db.path)):
        return f"BUG leftovers in the database directory: {sup.db_leftovers(str(db.path))}"
    return outcome


def drop_extra_tables(db) -> None:
    for name in db.tables():
        if name != "t":
            db.drop_table(name)


# -- SQL ------------------------------------------------------------------------------------
def run_sql(engines, sql: str, fused: bool, compare: bool = True,
            seconds: float = 60.0) -> str:
    """Run one statement in mapdb (and DuckDB when mapdb answers and ``compare``).

    Outcomes: "error" (a mapdb error), "answered, equal to DuckDB", "answered, DuckDB
    refuses", "answered" (not compared), "DIFFERS from DuckDB ..." or "BUG ..."."""
    from query.compare import _sort_key, diff
    try:
        with time_limit(seconds):
            got, ncols = engines.mapdb(sql, fused)
    except MapdbError:
        return "error"
    except Timeout:
        return "BUG hang (no answer in time)"
    except BaseException as e:
        return f"BUG {type(e).__name__}: {str(e)[:200]}"
    if not compare:
        return "answered"
    try:
        want, wcols = engines.duckdb(sql)
    except Exception:
        return "answered, DuckDB refuses"
    problem = (f"{ncols} columns, DuckDB has {wcols}" if ncols != wcols else
               diff(sorted(got, key=_sort_key), sorted(want, key=_sort_key)))
    return "answered, equal to DuckDB" if problem is None else f"DIFFERS from DuckDB: {problem}"


def sql_engines(path):
    """mapdb and DuckDB over the generated table 't' of the query tests (and empty 'e')."""
    import duckdb
    from query import data
    from query.compare import Engines

    import mapdb
    db = mapdb.connect(path)
    first, *rest = data.batches()
    db.create_table("t", first, dictionary=["cat"])
    for b in rest:
        db.table("t").append(b)
    db.create_table("e", first.slice(0, 0), dictionary=["cat"])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("t", "e"):
        t = db.table(name).to_arrow()
        con.register(name, pa.table([c.cast(c.type.value_type) if pa.types.is_dictionary(c.type)
                                     else c for c in t.columns], names=t.column_names))
    return Engines(db, con)
