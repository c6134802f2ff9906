"""Table and Column: a pinned, zero-copy view of one table version."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mapdb.ingest.job import ingest_object
from mapdb.storage.table import Snapshot

if TYPE_CHECKING:
    from mapdb.api.database import Database
    from mapdb.api.frame import GroupBy, LazyFrame


class Column:
    """One column of a table version.

    ``to_numpy()`` is a zero-copy view of the mapped file when the table has one segment
    and the column is fixed-width without nulls; otherwise the chunks are concatenated
    (a copy) and nulls become NaN/None as in pyarrow's ``to_numpy``.
    """

    def __init__(self, table: Table, name: str):
        self._table = table
        self.name = name
        self.type = table._snap.manifest.column(name).type

    def to_arrow(self) -> pa.ChunkedArray:
        """A chunked array, one chunk per segment, each over the mapped files."""
        return self._table._snap.column(self.name)

    def to_numpy(self) -> np.ndarray:
        chunks = self._table._snap.column_chunks(self.name)
        dtype = self.type.storage_numpy_dtype
        if (len(chunks) == 1 and chunks[0].null_count == 0 and dtype is not None
                and self.type.kind not in ("decimal", "dict")):
            return chunks[0].to_numpy(zero_copy_only=True)
        return self.to_arrow().to_numpy()

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"<mapdb Column {self._table.name}.{self.name} {self.type.name}>"


class Table:
    """A table pinned at the version it was opened at; ``refresh()`` moves to the newest."""

    def __init__(self, db: Database, name: str):
        self._db = db
        self.name = name
        self._snap: Snapshot = db._store.snapshot(name)
        self._source = None  # query TableSource over _snap: lookups keep indexes mapped

    @property
    def version(self) -> int:
        return self._snap.version

    @property
    def schema(self) -> pa.Schema:
        return self._snap.schema

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self._snap.manifest.schema]

    def __len__(self) -> int:
        return self._snap.manifest.rows

    def column(self, name: str) -> Column:
        return Column(self, name)

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        return self._snap.to_arrow(columns)

    def to_pandas(self, columns: list[str] | None = None):
        """This version as a pandas DataFrame (a copy; dictionary columns categorical)."""
        return self.to_arrow(columns).to_pandas()

    def to_polars(self, columns: list[str] | None = None):
        """This version as a polars DataFrame (zero-copy where Arrow allows)."""
        import polars as pl
        return pl.from_arrow(self.to_arrow(columns))

    def __arrow_c_stream__(self, requested_schema=None):
        """Arrow PyCapsule stream: pyarrow, polars and duckdb read the mapped buffers."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def append(self, data, job_id: str | None = None, durability: str | None = None,
               lock_timeout: float = 0.0) -> Table:
        """Append Arrow-capable ``data`` as one commit; this Table moves to the new version.
        ``durability``: "full", "os" or "none" for this commit (default: the Database's);
        ``lock_timeout``: seconds to wait for another writer of the table (LockedError
        naming its pid after that)."""
        self._db._writable()
        ingest_object(self._db._store, self.name, data, mode="append", job_id=job_id,
                      durability=durability, table_id=self._snap.manifest.table_id,
                      lock_timeout=lock_timeout)
        return self.refresh()

    def refresh(self) -> Table:
        old, src = self._snap, self._source
        self._snap = self._db._store.snapshot(self.name)
        self._source = None
        if src is not None:
            src.close()  # closes ``old`` too
        old.close()
        return self

    def compact(self, lock_timeout: float = 0.0) -> Table:
        """Merge small segments into larger ones (one commit); ``lock_timeout``: seconds to
        wait for another writer of the table."""
        self._db._writable()
        w = self._db._store.writer(self.name, timeout=lock_timeout,
                                   table_id=self._snap.manifest.table_id)
        try:
            w.compact()
        finally:
            w.close()
        return self.refresh()

    def verify(self) -> list[str]:
        """Problems in this version's files (empty list: intact)."""
        return self._snap.verify()

    def describe(self) -> dict:
        """Rows, segments, ``bytes_on_disk`` (every file of this version, index files
        included), per column its type, nulls and ``bytes`` (its buffers, zone maps and
        dictionary; headers included), and the indexes (see :meth:`indexes`)."""
        m = self._snap.manifest
        files = self._snap.files()
        col_bytes: dict[str, int] = {}
        for f in files:
            if f.role != "index":
                col_bytes[f.column] = col_bytes.get(f.column, 0) + f.size
        return {
            "table": self.name, "version": m.version, "rows": m.rows,
            "segments": len(m.segments), "bytes_on_disk": sum(f.size for f in files),
            "columns": [{"name": c.name, "type": c.type.name,
                         "nulls": sum(s.columns[c.id].null_count for s in m.segments),
                         "bytes": col_bytes.get(c.name, 0),
                         **({"dictionary_values": m.dictionary_length(c.id)}
                            if c.type.is_dictionary else {})}
                        for c in m.schema],
            "indexes": self.indexes(),
        }

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
        self._snap.close()

    # -- indexes and point lookups --------------------------------------------------------
    def _change(self, fn, lock_timeout: float) -> Table:
        self._db._writable()
        w = self._db._store.writer(self.name, timeout=lock_timeout,
                                   table_id=self._snap.manifest.table_id)
        try:
            fn(w)
        finally:
            w.close()
        return self.refresh()

    def create_index(self, column: str, kind: str = "hash", unique: bool = False,
                     name: str | None = None, lock_timeout: float = 0.0) -> Table:
        """Index ``column`` (one commit). ``kind="hash"``: equality and IN probe it, and
        ``lookup`` uses it; ``unique=True`` refuses repeated values now and in later
        appends (ConstraintError). ``kind="sorted"``: declares the column sorted (it must
        be); ranges on it binary-search. Default name: ``<column>_<kind>``.
        ``lock_timeout``: seconds to wait for another writer of the table.

        >>> import tempfile, mapdb
        >>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
        >>> t = db.create_table("t", {"k": [10, 20, 30], "v": ["a", "b", "c"]})
        >>> [i["name"] for i in t.create_index("k", unique=True).indexes()]
        ['k_sorted', 'k_hash']
        >>> t.lookup(k=20).to_pylist()
        [{'k': 20, 'v': 'b'}]
        >>> t.lookup(k=[30, 10, 99]).column("v").to_pylist()
        ['a', 'c']
        """
        return self._change(lambda w: w.create_index(column, kind, unique, name), lock_timeout)

    def drop_index(self, name: str, lock_timeout: float = 0.0) -> Table:
        """Drop an index by name, or the hash/declared-sorted index of a column name
        (``lock_timeout``: seconds to wait for another writer of the table)."""
        m = self._snap.manifest
        if name not in {ix.name for ix in m.indexes} and name in self.columns:
            cid = m.column(name).id
            named = [ix.name for ix in m.indexes if ix.column == cid and ix.declared]
            if len(named) == 1:
                name = named[0]
        return self._change(lambda w: w.drop_index(name), lock_timeout)

    def indexes(self) -> list[dict]:
        """This version's indexes: name, column, kind, unique, declared (False: a sorted
        attribute mapdb detected) and bytes (index files, headers included)."""
        from mapdb.storage.header import HEADER_SIZE
        m = self._snap.manifest
        names = {c.id: c.name for c in m.schema}
        return [{"name": ix.name, "column": names[ix.column], "kind": ix.kind,
                 "unique": ix.unique, "declared": ix.declared,
                 "bytes": sum(HEADER_SIZE + f.length for f in ix.files.values())}
                for ix in m.indexes]

    def lookup(self, columns: list[str] | None = None, **where) -> pa.Table:
        """Rows whose columns equal the given values (a list, tuple or set means IN),
        as an Arrow table in the table's own types; no SQL. ``t.lookup(k=5)``,
        ``t.lookup(k=[1, 2], s="x")``. A hash-indexed column is probed (only the
        matching rows' pages are read); without one it is a filtered scan."""
        from mapdb.query.lookup import lookup
        if self._source is None:
            from mapdb.query.source import TableSource
            self._source = TableSource(self.name, self._snap)
            self._db.cache.ensure_pinned(self.name)  # once per version: lookups are ~us
        return lookup(self._source, where, columns)

    # -- the dataframe front end (mapdb.api.frame) ----------------------------------------
    def lazy(self) -> LazyFrame:
        """A LazyFrame over this table version (what filter/select/... start from)."""
        from mapdb.api.frame import LazyFrame
        from mapdb.query.frame import Frame
        from mapdb.query.source import TableSource
        store, name, version = self._db._store, self.name, self.version

        def open_(src):  # each run pins this version for itself
            return TableSource(src.name, store.snapshot(name, version))
        return LazyFrame(Frame.scan(TableSource(name, self._snap)), open_, name)

    def filter(self, *predicates) -> LazyFrame:
        """Rows where the predicates hold: ``t.filter(mapdb.col("x") > 1)``."""
        return self.lazy().filter(*predicates)

    def select(self, *exprs, **named) -> LazyFrame:
        return self.lazy().select(*exprs, **named)

    def with_columns(self, *exprs, **named) -> LazyFrame:
        return self.lazy().with_columns(*exprs, **named)

    def group_by(self, *keys) -> GroupBy:
        return self.lazy().group_by(*keys)

    def agg(self, *aggs, **named) -> LazyFrame:
        return self.lazy().agg(*aggs, **named)

    def sort(self, by, *more_by, descending=False, nulls_last=True) -> LazyFrame:
        return self.lazy().sort(by, *more_by, descending=descending, nulls_last=nulls_last)

    def limit(self, n: int = 5) -> LazyFrame:
        return self.lazy().limit(n)

    def head(self, n: int = 5) -> LazyFrame:
        return self.lazy().head(n)

    def distinct(self) -> LazyFrame:
        return self.lazy().distinct()

    def collect(self) -> pa.Table:
        return self.lazy().collect()

    def __getitem__(self, key):
        """``t["x"]`` a column expression (``t["x"].to_arrow()`` its values),
        ``t[["a", "b"]]`` a selection, ``t[t.x > 1]`` a filter, ``t[:10]`` rows."""
        return self.lazy()[key]

    def __getattr__(self, name: str):
        # only called when normal lookup fails: t.x is column x unless x is an attribute
        snap = self.__dict__.get("_snap")
        if name.startswith("_") or snap is None or \
                name not in {c.name for c in snap.manifest.schema}:
            raise AttributeError(f"'Table' object has no attribute {name!r}")
        return self.lazy()[name]

    def __repr__(self) -> str:
        cols = ", ".join(f"{c.name}: {c.type.name}" for c in self._snap.manifest.schema)
        return f"<mapdb Table {self.name!r} v{self.version}, {len(self)} rows ({cols})>"
