"""DB-API 2.0 (PEP 249): cursors over a Database, the module's type objects and
constructors. ``mapdb.connect`` returns the connection (a Database): ``cursor()``,
``commit()``, ``rollback()``, ``close()``; ``mapdb.apilevel``, ``mapdb.threadsafety``,
``mapdb.paramstyle`` and the PEP's exception names (mapdb.errors) are module globals.

>>> import tempfile, mapdb
>>> con = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> cur = con.cursor()
>>> cur.execute("CREATE TABLE t (k VARCHAR, v BIGINT)").rowcount
-1
>>> cur.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2), ("a", 3)]).rowcount
3
>>> cur.execute("SELECT k, sum(v) AS s FROM t WHERE v > ? GROUP BY k ORDER BY k", [0])
<mapdb Cursor>
>>> [d[:2] for d in cur.description], cur.fetchone(), cur.fetchall()
([('k', 'VARCHAR'), ('s', 'BIGINT')], ('a', 4), [('b', 2)])
>>> cur.description[1][1] == mapdb.NUMBER
True
>>> cur.execute("UPDATE t SET v = v * 10 WHERE k = $1", ["a"]).rowcount
2
>>> con.commit()  # each statement commits as it runs: nothing left to commit

Transactions: every statement is its own atomic commit (autocommit), so ``commit()`` has
nothing to do and ``rollback()`` raises NotSupportedError (PEP 249: a connection without
transactions raises it), after which nothing has changed.

Cursors read results forward as they are computed (see mapdb.api.result): ``fetchone``
and ``fetchmany`` over a large SELECT hold a few morsels in memory, not the result.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from mapdb.errors import InterfaceError, ProgrammingError

if TYPE_CHECKING:
    import pyarrow as pa

    from mapdb.api.database import Database
    from mapdb.api.result import Result

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections or cursors
paramstyle = "qmark"  # ? placeholders; $1 and $name are accepted too (see docs/query.md)


class Cursor:
    """A PEP 249 cursor: ``execute`` a statement (returns the cursor), then ``fetchone``,
    ``fetchmany`` or ``fetchall`` its rows; ``description`` names them, ``rowcount`` is
    the rows an INSERT, UPDATE, DELETE, COPY or CREATE TABLE AS changed (-1 for queries
    and other statements). DDL and DML also leave DuckDB's one-row ``Count`` result to
    fetch, as DuckDB's cursors do."""

    def __init__(self, db: Database):
        self.connection = db  # (PEP 249 optional extension)
        self.arraysize = 1
        self.rowcount = -1
        self._result: Result | None = None
        self._closed = False

    # -- running ---------------------------------------------------------------------------
    def execute(self, operation: str, parameters=None) -> Cursor:
        """Run one statement (or a script of several: the last one's result) with
        ``parameters`` for its ``?`` / ``$1`` / ``$name`` placeholders."""
        self._open()
        self._drop()
        r = self.connection.sql(operation, parameters)
        self._result = r
        if r is not None and r.statement and r.columns == ["Count"]:
            t = r.to_arrow()  # (one row; the cursor does not move)
            self.rowcount = t.column(0)[0].as_py() if t.num_rows else -1
        return self

    def executemany(self, operation: str, seq_of_parameters) -> Cursor:
        """Run one statement once per parameter row (an INSERT ... VALUES runs once with
        all the rows: one commit). ``rowcount``: the rows changed in total. No result
        set is left (PEP 249)."""
        from mapdb.api.statements import run_many
        self._open()
        self._drop()
        out = run_many(self.connection, operation, seq_of_parameters)
        self.rowcount = out.column(0)[0].as_py() if out.num_rows else -1
        return self

    # -- reading ---------------------------------------------------------------------------
    @property
    def description(self) -> list[tuple] | None:
        """(name, type_code, None, None, precision, scale, None) per column of the last
        result (None before one): type codes are DuckDB's type names, equal to the
        module's STRING, BINARY, NUMBER, DATETIME objects as PEP 249 asks."""
        return None if self._result is None else self._result.description

    def fetchone(self) -> tuple | None:
        return self._rows().fetchone()

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        return self._rows().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple]:
        return self._rows().fetchall()

    def fetch_record_batch(self, rows_per_batch: int = 1_000_000) -> pa.RecordBatchReader:
        """The rest of the result as a pyarrow.RecordBatchReader (see Result)."""
        return self._rows().fetch_record_batch(rows_per_batch)

    def fetch_arrow_table(self) -> pa.Table:
        """The rest of the result as one Arrow table."""
        return self._rows().fetch_record_batch().read_all()

    def __iter__(self) -> Iterator[tuple]:
        return self

    def __next__(self) -> tuple:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def _rows(self) -> Result:
        self._open()
        if self._result is None:
            raise ProgrammingError("no result to fetch: execute a statement that returns "
                                   "rows first (executemany leaves none)")
        return self._result

    # -- the rest of the PEP ---------------------------------------------------------------
    def setinputsizes(self, sizes) -> None:
        """Does nothing (PEP 249 allows it)."""

    def setoutputsize(self, size, column=None) -> None:
        """Does nothing (PEP 249 allows it)."""

    def close(self) -> None:
        """Stop the running result (the rest is never computed); the cursor is unusable
        afterwards. Closing twice is fine."""
        self._drop()
        self._closed = True

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<mapdb Cursor (closed)>" if self._closed else "<mapdb Cursor>"

    def _drop(self) -> None:
        if self._result is not None:
            self._result.close()
        self._result = None
        self.rowcount = -1

    def _open(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")


# -- type objects and constructors (PEP 249) ---------------------------------------------------
class _TypeObject:
    """Equal to the type codes (DuckDB type names) of one group of types."""

    def __init__(self, name: str, *prefixes: str):
        self.name = name
        self._prefixes = prefixes

    def __eq__(self, other) -> bool:
        if isinstance(other, _TypeObject):
            return other is self
        return isinstance(other, str) and other.upper().startswith(self._prefixes)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"mapdb.{self.name}"


STRING = _TypeObject("STRING", "VARCHAR")
BINARY = _TypeObject("BINARY", "BLOB")
NUMBER = _TypeObject("NUMBER", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                     "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE",
                     "DECIMAL", "BOOLEAN")
DATETIME = _TypeObject("DATETIME", "DATE", "TIMESTAMP", "TIME", "INTERVAL")
ROWID = _TypeObject("ROWID")  # no row ids are exposed: equal to no type code

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> datetime.date:
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:
    return Timestamp(*time.localtime(ticks)[:6])


__all__: Sequence[str] = (
    "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Cursor", "Date",
    "DateFromTicks", "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks", "apilevel",
    "paramstyle", "threadsafety")
