"""Database: the Python entry point (``mapdb.connect``)."""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from mapdb.api.cache import DEFAULT_PIN_BUDGET, Cache
from mapdb.api.result import Result
from mapdb.api.table import Table
from mapdb.errors import InvalidOptionError, ReadOnlyError
from mapdb.ingest.job import JobResult, ingest, ingest_object
from mapdb.query.memory import SizeError, default_limit, parse_size, scope
from mapdb.query.session import SourceCache, prepare
from mapdb.query.statement import plain_query
from mapdb.storage.database import DatabaseStore

if TYPE_CHECKING:
    from mapdb.api.dbapi import Cursor


class Database:
    """A mapdb database directory.

    >>> import tempfile, mapdb
    >>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
    >>> t = db.create_table("t", {"x": [1, 2, 3]})
    >>> len(t), t.column("x").to_numpy().sum()
    (3, np.int64(6))
    >>> db.tables()
    ['t']
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False,
                 pin_budget: int | str | None = DEFAULT_PIN_BUDGET,
                 durability: str | None = None, memory_limit: int | str | None = None):
        if isinstance(path, str | bytes) and not path:  # not silently the current directory
            raise InvalidOptionError("the database path is empty; give a directory "
                                     "(\".\" for the current one)")
        self.memory_limit = memory_limit  # checked before anything is opened
        self._store = DatabaseStore(path, readonly=readonly, durability=durability)
        self.path = self._store.path
        self.readonly = readonly
        self._sources = SourceCache()  # open table versions shared by queries
        self._cache = Cache(self, pin_budget)  # page-cache control and pins (db.cache)
        self._cursors: weakref.WeakSet[Cursor] = weakref.WeakSet()  # closed by close()

    @property
    def memory_limit(self) -> int:
        """Bytes the state of one query's operators (hash tables, sorts, aggregates,
        ...) may hold; over it a query fails with MemoryLimitError naming the operator.
        Set it with ``connect(memory_limit=)``, ``SET memory_limit`` or by assigning
        bytes or a size such as "4GB" (None: the default, 80% of the cgroup's limit or
        of physical memory; see query.memory and docs/query.md)."""
        return self._memory_limit

    @memory_limit.setter
    def memory_limit(self, value: int | str | None) -> None:
        if value is None:
            self._memory_limit = default_limit()
            return
        try:
            self._memory_limit = parse_size(value)
        except SizeError as e:
            raise InvalidOptionError(f"memory_limit: {e}") from None

    @property
    def cache(self) -> Cache:
        """Residency, warm/evict and pinning of this database's tables (see api.cache)."""
        return self._cache

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(f"{self.path} was opened read-only")

    @property
    def durability(self) -> str:
        """The durability mode of writes through this object when a call names none:
        ``connect(durability=...)``, else the database's persisted setting, else "full"
        (see docs/durability.md)."""
        return self._store.durability().name

    def set_durability(self, mode: str | None) -> None:
        """Persist ``mode`` ("full", "os", "none"; None removes the setting, i.e. full) as
        the database's default in its mapdb.json. It applies to connections opened from
        now on, and to this one unless ``connect`` named a mode.

        >>> import tempfile, mapdb
        >>> path = tempfile.mkdtemp() + "/db"
        >>> mapdb.connect(path).set_durability("os")
        >>> mapdb.connect(path).durability, mapdb.connect(path, durability="full").durability
        ('os', 'full')
        """
        self._writable()
        self._store.set_durability(mode)

    def tables(self) -> list[str]:
        return self._store.tables()

    def views(self) -> dict[str, str]:
        """The stored views: name -> the SQL text of its query."""
        return self._store.views()

    def table(self, name: str) -> Table:
        return Table(self, name)

    __getitem__ = table

    def __contains__(self, name: str) -> bool:
        return self._store.exists(name)

    def create_table(self, name: str, data, mode: str = "create", dictionary="auto",
                     job_id: str | None = None, durability: str | None = None,
                     lock_timeout: float = 0.0) -> Table:
        """Create (or with mode="append"/"replace", extend or overwrite) a table from
        Arrow-capable ``data``: pyarrow Table/RecordBatch/RecordBatchReader, pandas or
        polars DataFrame, dict of arrays or lists, or any ``__arrow_c_stream__`` object.
        ``dictionary``: "auto", a list of column names to dictionary-encode, or None.
        ``durability``: "full", "os" or "none" for this commit (default: ``db.durability``).
        ``lock_timeout``: seconds to wait for another writer of an existing table (append,
        replace); then LockedError naming its pid."""
        self._writable()
        ingest_object(self._store, name, data, mode=mode, job_id=job_id,
                      dictionary=dictionary, durability=durability,
                      lock_timeout=lock_timeout)
        return self.table(name)

    def drop_table(self, name: str, lock_timeout: float = 0.0) -> None:
        """Remove the table; ``lock_timeout``: seconds to wait for its writer (then
        LockedError naming its pid). Readers keep the version they opened."""
        self._writable()
        self._store.drop_table(name, timeout=lock_timeout)

    def ingest(self, table: str, sources: str | Path | list[str | Path], *,
               format: str | None = None, mode: str = "append", job_id: str | None = None,
               schema: dict[str, pa.DataType | str] | None = None, dictionary="auto",
               progress=None, lock_timeout: float = 0.0,
               durability: str | None = None, delimiter: str | None = None,
               header: bool | None = None, null: str | list[str] | None = None,
               quote: str | None = None, date_format: str | None = None,
               timestamp_format: str | None = None) -> JobResult:
        """Ingest files, globs or directories (CSV, Parquet, Arrow IPC, NDJSON) as one
        atomic job. ``schema`` overrides inferred types, e.g. {"dep_time": "int32"};
        ``lock_timeout`` is how long to wait for another writer of the table;
        ``durability``: "full", "os" or "none" for this job's commit (default:
        ``db.durability``; see docs/durability.md). CSV only, each sniffed as DuckDB's
        read_csv does when None: ``delimiter``, ``header`` (True/False), ``null`` (the
        spellings of NULL), ``quote`` ('' for none), ``date_format`` and
        ``timestamp_format`` (strptime, e.g. "%d/%m/%Y")."""
        self._writable()
        if isinstance(sources, str | Path):
            sources = [sources]
        return ingest(self._store, table, sources, format=format, mode=mode, job_id=job_id,
                      schema=_arrow_types(schema), dictionary=dictionary, progress=progress,
                      lock_timeout=lock_timeout, durability=durability,
                      csv={"delimiter": delimiter, "header": header, "null": null,
                           "quote": quote, "date_format": date_format,
                           "timestamp_format": timestamp_format})

    def sql(self, text: str, params=None, *, workers: int | None = None,
            fused: bool = True) -> Result:
        """Run one SQL statement (DuckDB dialect) over this database's tables; the tables
        are pinned at their current version. ``EXPLAIN [ANALYZE] SELECT ...`` works too.
        ``params``: values for the statement's ``?``, ``$1`` or ``$name`` placeholders, a
        sequence or a dict (bound as typed constants, never pasted into the text; see
        docs/query.md). ``workers`` defaults to one per core; ``fused=False`` forces the
        general path. DDL, DML, COPY, DESCRIBE, SHOW, SUMMARIZE and scripts of several
        statements run at once (mapdb.api.statements; docs/statements.md)."""
        if not plain_query(text):
            from mapdb.api.statements import run
            return run(self, text, params, workers=workers, fused=fused)
        return self._query(text, params, workers=workers, fused=fused)

    def _query(self, text: str, params=None, *, workers: int | None = None,
               fused: bool = True) -> Result:
        """One query (SELECT, EXPLAIN) as a Result."""
        with scope(self._memory_limit):  # (current_setting binds to it)
            p = prepare(text, self._store, self._sources, params)
        for name in p.tables():  # index files stay locked in RAM (within the pin budget)
            self._cache.ensure_pinned(name)
        return Result(p, workers=workers, fused=fused, memory_limit=self._memory_limit,
                      spill_dir=self._store.tmp_dir)

    # -- DB-API 2.0 (PEP 249; mapdb.api.dbapi) -------------------------------------------------
    def cursor(self) -> Cursor:
        """A new PEP 249 cursor over this database (see mapdb.api.dbapi)."""
        from mapdb.api.dbapi import Cursor
        cur = Cursor(self)
        self._cursors.add(cur)
        return cur

    def execute(self, text: str, params=None) -> Cursor:
        """``cursor().execute(text, params)``: a new cursor with the statement run, its
        rows ready to fetch (as sqlite3's and DuckDB's connections do)."""
        return self.cursor().execute(text, params)

    def commit(self) -> None:
        """Nothing to do: every statement is committed as it runs (autocommit)."""

    def rollback(self) -> None:
        """NotSupportedError (PEP 249's answer for a database without transactions):
        every statement was committed as it ran; nothing is pending."""
        from mapdb.errors import NotSupportedError
        raise NotSupportedError("rollback: mapdb has no transactions; every statement is "
                                "committed as it runs (autocommit), nothing is pending")

    def close(self) -> None:
        """Close the cursors made by ``cursor()`` and release the table versions queries
        keep open (their pins and mappings) and every page pinned through ``db.cache``.
        The Database itself stays usable (unlike PEP 249's connections); the next query
        opens the current versions again."""
        for cur in list(self._cursors):
            cur.close()
        self._sources.close()
        self._cache.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = " read-only" if self.readonly else ""
        return f"<mapdb Database {self.path!r}{mode}, {len(self.tables())} tables>"


def _arrow_types(schema: dict | None) -> dict[str, pa.DataType] | None:
    if not schema:
        return None
    from mapdb.storage.types import ColumnType
    return {k: v if isinstance(v, pa.DataType) else ColumnType.parse(v).arrow_type
            for k, v in schema.items()}


MEMORY = ":memory:"


def connect(path: str | os.PathLike = MEMORY, readonly: bool = False,
            pin_budget: int | str | None = DEFAULT_PIN_BUDGET,
            durability: str | None = None, memory_limit: int | str | None = None
            ) -> Database:
    """Open the database at ``path``, creating it unless ``readonly``. ``pin_budget``
    bounds the bytes of index files (zone maps, dictionaries, hash indexes) that
    ``db.cache.ensure_pinned`` locks in RAM: bytes, or "512MB", "1GiB"; 0 or None: no
    automatic pinning. ``durability``: the default mode of writes through this object,
    "full" (survives power loss), "os" (survives a process crash) or "none" (benchmarks);
    None: the database's persisted setting (``set_durability``), else "full". Not
    persisted; see docs/durability.md. ``memory_limit``: bytes, or a size as DuckDB
    writes it ("4GB", "512MiB"), that one query's operators may hold (None: 80% of the
    cgroup's memory limit or of physical memory; ``SET memory_limit`` changes it).

    ``":memory:"`` (the default, as in DuckDB and sqlite3): a new scratch database of its
    own, in a temporary directory (its files are still mapped, so the page cache holds
    them) removed when the Database is garbage-collected or the process exits; its writes
    default to durability "none".

    >>> import mapdb
    >>> db = mapdb.connect()
    >>> db.sql("SELECT 6 * 7 AS answer").to_arrow().to_pydict()
    {'answer': [42]}
    """
    if os.fspath(path) == MEMORY:
        if readonly:
            raise InvalidOptionError("a :memory: database cannot be read-only (it starts "
                                     "empty)")
        scratch = tempfile.mkdtemp(prefix="mapdb-memory-")
        db = Database(os.path.join(scratch, "db"), pin_budget=pin_budget,
                      durability=durability or "none", memory_limit=memory_limit)
        weakref.finalize(db, shutil.rmtree, scratch, True)
        return db
    return Database(path, readonly=readonly, pin_budget=pin_budget, durability=durability,
                    memory_limit=memory_limit)


_default: Database | None = None


def sql(text: str, params=None) -> Result:
    """``text`` run by a scratch database shared by every call in this process (DuckDB's
    ``duckdb.sql``): files in FROM, VALUES, table functions, tables it made.

    >>> import mapdb
    >>> mapdb.sql("SELECT sum(x) AS s FROM range(101) t(x)").fetchall()
    [(5050,)]
    """
    global _default
    if _default is None:
        _default = connect()
    return _default.sql(text, params)
