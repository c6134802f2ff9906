"""A table on disk: snapshots for readers, a transactional writer, compaction, reclamation.

Layout of a table directory::

    LOCK                     writer lock (flock; holder's pid inside)
    manifests/v<N>.json      one per committed version; the highest is current
    segments/s<id>/c<k>.*    immutable column files
    dicts/c<k>-<chunk>.*     dictionary chunks of dict columns
    indexes/x<i>-s<id>.hash  hash-index files, one per index and segment
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import uuid
import warnings
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.errors import (
    ConstraintError,
    CorruptionError,
    IndexWarning,
    NotFoundError,
    PoisonedWriterError,
    SchemaError,
    StorageError,
    TableDroppedError,
    TruncatedFileError,
)
from mapdb.storage import dictionary, fileops, index, manifest, scan, segment, zonemap
from mapdb.storage.columnfile import FileRef, PendingFiles
from mapdb.storage.dictionary import DictionaryEncoder
from mapdb.storage.durability import FULL, Durability
from mapdb.storage.indexmeta import IndexMeta
from mapdb.storage.lock import WriterLock
from mapdb.storage.manifest import Manifest, Pin
from mapdb.storage.segment import ColumnSpec, SegmentMeta
from mapdb.storage.types import ColumnType, convert_array

SEGMENT_BYTES = 256 << 20  # buffered input that triggers writing a segment
DICT_AUTO_SAMPLE = 1 << 16  # rows of the first batch that decide "auto" dictionary encoding
DICT_AUTO_MAX_RATIO = 0.25  # dictionary-encode when distinct values <= 25% of the sample
log = logging.getLogger("mapdb")


def _dirs(table_dir: str) -> tuple[str, str, str]:
    return (os.path.join(table_dir, "manifests"), os.path.join(table_dir, "segments"),
            os.path.join(table_dir, "dicts"))


def indexes_dir(table_dir: str) -> str:
    return os.path.join(table_dir, "indexes")


@dataclass(frozen=True)
class TableFile:
    """One file of a table version, as cache control sees it.

    ``role``: "data", "validity", "offsets", "zones" (per segment and column),
    "dictionary" (table-wide chunks of a dict column; ``segment`` is None) or "index"
    (``index`` names it; per segment). ``size``: bytes in the file, header included.
    """

    path: str
    column: str
    role: str
    segment: int | None
    size: int
    index: str | None = None


class Snapshot:
    """A reader's view of one committed version; columns are mapped on first use.

    Files are found by path under the table's directory, and a table can be dropped (its
    directory renamed away) and created again under the same name while a snapshot lives.
    Every file's header names the table's incarnation (``table_id``), so a file of the new
    table is never read for the old one; when opening a file fails, ``reading()`` asks
    whether the table was dropped and says so (TableDroppedError) instead of reporting
    corruption.
    """

    def __init__(self, table_dir: str, name: str, version: int | None = None):
        self.table_dir = table_dir
        self.name = name
        self.manifests_dir, self.segments_dir, self.dicts_dir = _dirs(table_dir)
        try:
            self._pin = Pin(self.manifests_dir, version)
        except NotFoundError:
            if os.path.isdir(self.manifests_dir):
                raise  # a version that is not there (reclaimed, or never committed)
            raise TableDroppedError(f"table {name!r} was dropped") from None
        except OSError as e:  # out of descriptors (many tables open): name the limit
            err = fileops.limit_error(e)
            if err is e:
                raise StorageError(f"{self.manifests_dir}: cannot open the table's version "
                                   f"({e.strerror})") from e
            raise err from e
        self.manifest: Manifest = self._pin.manifest
        self._chunks: dict[int, list[pa.Array]] = {}
        self._dicts: dict[int, pa.Array] = {}
        self._physical: dict[int, list[scan.PhysicalColumn]] = {}
        self._physical_lock = threading.Lock()  # scan threads may ask at once

    def dropped(self) -> bool:
        """The table at this snapshot's path is gone or is another incarnation (its newest
        manifest names another table id). Reads no pin: it only explains a failure."""
        for _ in range(3):
            vs = manifest.versions(self.manifests_dir)
            if not vs:
                return True
            path = manifest.manifest_path(self.manifests_dir, vs[-1])
            try:
                with open(path, "rb") as f:
                    newest = Manifest.from_bytes(f.read(), path)
            except FileNotFoundError:
                continue  # reclaimed meanwhile: list again
            except (OSError, CorruptionError):
                return False  # cannot tell: the original error stands
            return newest.table_id != self.manifest.table_id
        return False

    @contextlib.contextmanager
    def reading(self):
        """Around opening this version's files: a CorruptionError (a file missing, or one
        whose header names another table) becomes TableDroppedError when the table was
        dropped meanwhile."""
        try:
            yield
        except CorruptionError as e:
            if not isinstance(e, TruncatedFileError) and self.dropped():
                raise TableDroppedError(
                    f"table {self.name!r} was dropped (or dropped and created again) while "
                    f"version {self.version} was being read; open it again") from None
            raise

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type.arrow_type) for c in self.manifest.schema])

    def dictionary(self, spec: ColumnSpec) -> pa.Array:
        if spec.id not in self._dicts:
            with self.reading():
                self._dicts[spec.id] = dictionary.open_dictionary(
                    self.dicts_dir, self.manifest.table_id, spec.id,
                    self.manifest.dictionaries.get(spec.id, []))
        return self._dicts[spec.id]

    def column_chunks(self, name: str) -> list[pa.Array]:
        """One Arrow array per segment, each over the mapped files (see segment.open_column)."""
        spec = self.manifest.column(name)
        if spec.id not in self._chunks:
            d = self.dictionary(spec) if spec.type.is_dictionary else None
            with self.reading():
                self._chunks[spec.id] = [
                    segment.open_column(self.segments_dir, s, spec, self.manifest.table_id, d)
                    for s in self.manifest.segments]
        return self._chunks[spec.id]

    def physical(self, name: str, check: str = "whole") -> list[scan.PhysicalColumn]:
        """One PhysicalColumn per segment, in manifest order: numpy views over the mapped
        files plus advise/residency for scans (see storage.scan). Cached; the mappings stay
        open (one descriptor per file) until ``close()``, the views valid as long as they
        live. Mapped separately from ``column_chunks``. ``check``: "whole" (for kernels:
        every buffer that steers reads checksummed, storage.validate), "rows" (for reading
        single rows: offsets and validity) or "none" (advice, residency, dtypes)."""
        spec = self.manifest.column(name)
        with self._physical_lock:
            if spec.id not in self._physical:
                cols: list[scan.PhysicalColumn] = []
                try:
                    with self.reading():
                        for s in self.manifest.segments:
                            cols.append(scan.open_physical(self.segments_dir, s, spec,
                                                           self.manifest.table_id))
                except BaseException:
                    for c in cols:
                        c.close()
                    raise
                self._physical[spec.id] = cols
            cols = self._physical[spec.id]
            if check != "none":
                with self.reading():
                    for c in cols:
                        c.check(whole=check == "whole")
            return cols

    def segment_rows(self) -> list[int]:
        """Rows of each segment, in manifest order (the order of column_chunks/physical)."""
        return [s.rows for s in self.manifest.segments]

    def column(self, name: str) -> pa.ChunkedArray:
        spec = self.manifest.column(name)
        return pa.chunked_array(self.column_chunks(name), spec.type.arrow_type)

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        names = columns if columns is not None else [c.name for c in self.manifest.schema]
        fields = [pa.field(n, self.manifest.column(n).type.arrow_type) for n in names]
        return pa.Table.from_arrays([self.column(n) for n in names], schema=pa.schema(fields))

    def zones(self, name: str) -> list:
        spec = self.manifest.column(name)
        with self.reading():
            return [segment.open_zones(self.segments_dir, s, spec, self.manifest.table_id)
                    for s in self.manifest.segments]

    def verify(self) -> list[str]:
        """Every problem in this version's files (headers, lengths, full checksums)."""
        problems = []
        for seg in self.manifest.segments:
            problems += segment.verify_segment(self.segments_dir, seg, self.manifest.schema,
                                               self.manifest.table_id)
        for col_id, chunks in self.manifest.dictionaries.items():
            problems += dictionary.verify_dictionary(self.dicts_dir, self.manifest.table_id,
                                                     col_id, chunks)
        for ix in self.manifest.indexes:
            if ix.kind == "hash":
                problems += index.verify_index(self, ix)
            elif not index.table_sorted(self.manifest.segments, ix.column):
                problems.append(f"table {self.name!r}: index {ix.name!r} says the column is "
                                f"sorted; the segments' ranges say it is not")
        return problems

    def files(self) -> list[TableFile]:
        """Every file this version names: per column its segments' buffers and zone maps,
        its dictionary chunks, then the index files (see TableFile)."""
        from mapdb.storage.header import HEADER_SIZE
        m = self.manifest
        out: list[TableFile] = []
        roles = {"DATA": "data", "VALIDITY": "validity", "OFFSETS": "offsets", "ZONES": "zones"}
        for spec in m.schema:
            for seg in m.segments:
                d = os.path.join(self.segments_dir, seg.dirname)
                for kind, ref, _ in seg.columns[spec.id].all_refs():
                    out.append(TableFile(os.path.join(d, ref.name), spec.name,
                                         roles[kind.name], seg.id, HEADER_SIZE + ref.length))
            for c in m.dictionaries.get(spec.id, []):
                for suffix, ref in (("offsets", c.offsets), ("data", c.data)):
                    out.append(TableFile(
                        os.path.join(self.dicts_dir, f"c{spec.id}-{c.id:06d}.{suffix}"),
                        spec.name, "dictionary", None, HEADER_SIZE + ref.length))
        names = {c.id: c.name for c in m.schema}
        for ix in m.indexes:
            for seg_id, ref in ix.files.items():
                out.append(TableFile(os.path.join(indexes_dir(self.table_dir), ref.name),
                                     names[ix.column], "index", seg_id,
                                     HEADER_SIZE + ref.length, ix.name))
        return out

    def bytes_on_disk(self) -> int:
        """Bytes in every file of this version: column buffers, zone maps, dictionaries
        and index files."""
        return sum(f.size for f in self.files())

    def close(self) -> None:
        """Release the pin; arrays already handed out stay valid (they hold their mappings)."""
        self._chunks.clear()
        self._dicts.clear()
        with self._physical_lock:
            for cols in self._physical.values():
                for c in cols:
                    c.close()
            self._physical.clear()
        self._pin.release()


def _is_view(t: pa.DataType) -> bool:
    return pa.types.is_string_view(t) or pa.types.is_binary_view(t)


def _deferrable(t: pa.DataType, target: ColumnType) -> bool:
    """Conversions that cannot fail (string_view is UTF-8 by type, any view is bytes) may
    run later, on the writer thread, where they balance the decoding thread's load."""
    if pa.types.is_string_view(t):
        return target.kind in ("string", "dict", "binary")
    return pa.types.is_binary_view(t) and target.kind == "binary"


def choose_schema(arrow_schema: pa.Schema, first: pa.RecordBatch | None,
                  dictionary: str | list[str] | None, first_id: int) -> list[ColumnSpec]:
    """The stored schema for a new table. ``dictionary``: "auto" (low-cardinality string
    columns of the first batch), a list of column names, or None."""
    from mapdb.storage.names import check_name
    names = [f.name for f in arrow_schema]
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
    if dupes:
        raise SchemaError(f"duplicate column names: {', '.join(map(repr, dupes))}")
    wanted = set(dictionary) if isinstance(dictionary, list | tuple | set) else set()
    unknown = wanted - set(names)
    if unknown:
        raise SchemaError(f"dictionary encoding asked for unknown column(s) "
                          f"{', '.join(sorted(unknown))}")
    specs = []
    for i, f in enumerate(arrow_schema):
        check_name(f.name, "column")
        try:
            t = ColumnType.from_arrow(f.type, dictionary=f.name in wanted)
        except SchemaError as e:
            raise SchemaError(f"column {f.name!r}: {e}") from None
        if (dictionary == "auto" and t.kind == "string" and first is not None
                and first.num_rows):
            sample = first.column(i).slice(0, DICT_AUTO_SAMPLE).cast(pa.large_string())
            if pc.count_distinct(sample).as_py() <= len(sample) * DICT_AUTO_MAX_RATIO:
                t = ColumnType("dict")
        specs.append(ColumnSpec(first_id + i, f.name, t))
    return specs


class Writer:
    """The one writer of a table: buffers batches, writes segments, commits atomically.

    Nothing is visible to readers until ``commit``; ``abort`` (or an exception inside a
    ``with`` block) leaves the table exactly as it was. After a failed sync the writer is
    poisoned: every later call raises PoisonedWriterError until the table is reopened.
    """

    def __init__(self, table_dir: str, name: str, base: Manifest, lock: WriterLock | None,
                 new_table_dir: str | None = None, durability: Durability = FULL):
        self.table_dir = table_dir
        self.durability = durability  # storage.durability: what commit does to be durable
        self.name = name
        self._work_dir = new_table_dir or table_dir  # a new table is built aside, then renamed
        self.manifests_dir, self.segments_dir, self.dicts_dir = _dirs(self._work_dir)
        self.base = base
        self.lock = lock
        self.schema = base.schema
        self._segments: list[SegmentMeta] = []
        self._unsynced = PendingFiles(durability)  # this transaction's, synced at commit
        self._next_id = base.next_id
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0
        self._encoders: dict[int, DictionaryEncoder] = {}
        self._replace = False
        self._rewritten: dict[int, int] | None = None  # rewrite(): old segment -> new count
        self._removed: set[int] = set()  # rewrite(): the segments being replaced
        self._indexes = list(base.indexes)  # the hash indexes new segments get files for
        self._index_files: dict[int, dict[int, FileRef]] = {}  # index id -> segment -> file
        self._txn_index: dict[int, index.HashIndex] = {}  # unique indexes: this txn's files
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        self.poisoned: BaseException | None = None
        self.failed: BaseException | None = None  # a write of this transaction failed
        self.closed = False

    # -- writing ----------------------------------------------------------------------
    def _check(self) -> None:
        if self.poisoned is not None:
            raise PoisonedWriterError(f"table {self.name!r}: an earlier sync failed "
                                      f"({self.poisoned}); reopen the table to write again")
        if self.closed:
            raise StorageError(f"the writer of table {self.name!r} is closed")
        if self.failed is not None:
            raise StorageError(f"table {self.name!r}: a write of this transaction failed "
                               f"({self.failed}); abort() it before writing again")

    def replace_schema(self, schema: list[ColumnSpec]) -> None:
        """Make the commit replace the table's contents (and schema) instead of appending."""
        self._check()
        self._replace = True
        self.schema = schema
        self._next_id = max(self._next_id, max((c.id for c in schema), default=0) + 1)
        # indexes follow their column by name when it keeps an indexable type
        old = {c.id: c.name for c in self.base.schema}
        new = {c.name: c for c in schema}
        self._indexes = []
        for ix in self.base.indexes:
            spec = new.get(old.get(ix.column, ""))
            if spec is None or (ix.kind == "sorted" and not ix.declared):
                continue
            try:
                index.check_indexable(spec, ix.kind)
            except SchemaError:
                continue
            self._indexes.append(IndexMeta(ix.id, ix.name, spec.id, ix.kind, ix.unique,
                                           ix.declared))

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        self._check()
        batches = data.to_batches() if isinstance(data, pa.Table) else [data]
        for b in batches:
            b = self._conform(b)
            if b.num_rows == 0:
                continue
            self._buffer.append(b)
            self._buffered += b.nbytes
            if self._buffered >= SEGMENT_BYTES:
                self.flush()

    def _conform(self, b: pa.RecordBatch) -> pa.RecordBatch:
        names = [c.name for c in self.schema]
        have = b.schema.names
        if sorted(have) != sorted(names):
            missing = [n for n in names if n not in have]
            extra = [n for n in have if n not in names]
            raise SchemaError(f"table {self.name!r}: columns do not match"
                              + (f"; missing {missing}" if missing else "")
                              + (f"; unexpected {extra}" if extra else ""))
        arrays = []
        for spec in self.schema:
            arr = b.column(have.index(spec.name))
            if spec.not_null and arr.null_count:
                raise ConstraintError(f"NOT NULL constraint failed: {self.name}.{spec.name}")
            if _deferrable(arr.type, spec.type):
                arrays.append(arr)  # cannot fail: converted by the writer thread (_finish)
                continue
            try:
                arrays.append(convert_array(arr, spec.type))
            except SchemaError as e:
                raise SchemaError(f"column {spec.name!r}: {e}") from None
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def _finish(self, b: pa.RecordBatch) -> pa.RecordBatch:
        """The conversions _conform left to the writer thread (string_view to offsets)."""
        if not any(_is_view(t) for t in b.schema.types):
            return b
        return pa.RecordBatch.from_arrays(
            [convert_array(b.column(i), spec.type) for i, spec in enumerate(self.schema)],
            names=b.schema.names)

    def _encoder(self, spec: ColumnSpec) -> DictionaryEncoder:
        if spec.id not in self._encoders:
            committed = (dictionary.empty_strings() if self._replace else
                         dictionary.open_dictionary(_dirs(self.table_dir)[2],
                                                    self.base.table_id, spec.id,
                                                    self.base.dictionaries.get(spec.id, [])))
            self._encoders[spec.id] = DictionaryEncoder(committed)
        return self._encoders[spec.id]

    def flush(self) -> None:
        """Start writing the buffered batches as one segment (not yet visible).

        The segment is written by a background thread while the caller goes on producing
        batches (decoding Parquet, parsing CSV); at most one segment is in flight, so
        memory stays bounded by about two segments' worth of batches.
        """
        self._check()
        self._wait()
        if not self._buffer:
            return
        batches, self._buffer, self._buffered = self._buffer, [], 0
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="mapdb-writer")
        self._pending = self._pool.submit(self._write_segment, batches)

    def _wait(self) -> None:
        """Wait for the segment in flight; re-raise its failure here. A failed segment
        fails the whole transaction: its rows are gone, so nothing may be committed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            try:
                pending.result()
            except BaseException as e:
                self.failed = e
                raise

    def _write_segment(self, batches: list[pa.RecordBatch]) -> None:
        batches = [self._finish(b) for b in batches]
        if any(b.num_rows % zonemap.ZONE_ROWS for b in batches[:-1]):
            # chunks must meet at zone-map block boundaries: merge them first (a copy)
            batches = pa.Table.from_batches(batches).combine_chunks().to_batches()
        cols = []
        for i, spec in enumerate(self.schema):
            chunks = [b.column(i) for b in batches]
            if spec.type.is_dictionary:
                enc = self._encoder(spec)
                chunks = [enc.encode(c) for c in chunks]
            cols.append((spec, chunks))
        del batches
        seg_id = self._next_id
        self._next_id += 1
        self._guard(lambda: self._segments.append(segment.write_segment(
            self.segments_dir, seg_id, self.base.table_id, cols, self._unsynced)))
        self._guard(lambda: self._index_segment(self._segments[-1], check=True))

    def _index_segment(self, seg: SegmentMeta, check: bool) -> None:
        """Write the hash-index files of a new segment; with ``check``, enforce unique
        indexes against the committed rows and this transaction's earlier segments."""
        hashed = [ix for ix in self._indexes if ix.kind == "hash"]
        if not hashed:
            return
        d = indexes_dir(self._work_dir)
        if not os.path.isdir(d):  # tables made before indexes existed lack it
            fileops.mkdir(d)
            self._unsynced.add_dir(self._work_dir)
        self._unsynced.add_dir(d)
        by_id = {c.id: c for c in self.schema}
        for ix in hashed:
            spec = by_id[ix.column]
            p = scan.open_physical(self.segments_dir, seg, spec, self.base.table_id)
            try:
                ref, h, rows = index.write_index_file(d, ix, self.base.table_id, seg, p,
                                                      self._unsynced)
                self._index_files.setdefault(ix.id, {})[seg.id] = ref
                fileops.crash_point("mid-index-build")  # an index file written, not all
                if check and ix.unique:
                    index.check_unique(spec, [(p, h, rows)], self._unique_index(ix, spec))
                    self._txn_part(ix, spec, seg, ref, p)
                    p = None
            finally:
                if p is not None:
                    p.close()

    def _unique_index(self, ix: IndexMeta, spec: ColumnSpec) -> index.HashIndex:
        """The committed segments' part of a unique index plus this transaction's files."""
        if ix.id not in self._txn_index:
            parts: list = []
            cols: list = []
            base_ix = next((b for b in self.base.indexes if b.id == ix.id), None)
            if base_ix is not None and not self._replace and self.base.segments:
                snap = Snapshot(self.table_dir, self.name, self.base.version)
                try:
                    h = index.open_hash_index(snap, base_ix)
                    parts, cols = h.parts, list(h.columns)
                    gone = self._removed
                    if gone:  # rewrite(): the rows of replaced segments are not kept
                        ids = [s.id for s in self.base.segments]
                        parts = [p for p in parts if ids[p.segment] not in gone]
                finally:
                    snap.close()  # the views in ``cols`` keep their mappings alive
            self._txn_index[ix.id] = index.HashIndex(self.table_dir, ix, spec, parts, cols)
        return self._txn_index[ix.id]

    def _txn_part(self, ix: IndexMeta, spec: ColumnSpec, seg: SegmentMeta, ref: FileRef,
                  p: scan.PhysicalColumn) -> None:
        from mapdb.storage.columnfile import Owner, map_buffer
        from mapdb.storage.header import HEADER_SIZE, BufferKind
        h = self._txn_index[ix.id]
        d = indexes_dir(self._work_dir)
        mp = map_buffer(d, ref, BufferKind.INDEX,
                        Owner(self.base.table_id, seg.id, spec.id, spec.type.code), seg.rows)
        data = np.frombuffer(mp, np.uint8, count=ref.length, offset=HEADER_SIZE)
        h.parts.append(index.SegmentIndex(len(h.columns), os.path.join(d, ref.name), data, mp))
        h.columns.append(p)

    def _drop_txn_indexes(self) -> None:
        for h in self._txn_index.values():
            h.close()
            for c in h.columns:
                c.close()
        self._txn_index.clear()

    def _new_indexes(self, segments: list[SegmentMeta]) -> list[IndexMeta]:
        """The indexes of the version being committed over ``segments``: hash indexes with
        a file per segment; sorted attributes kept while the column stays sorted (a
        declared one that an out-of-order append breaks is dropped with a warning) and
        detected for columns that are sorted now."""
        live = {s.id for s in segments}
        out = []
        for ix in self._indexes:
            if ix.kind == "hash":
                files = {k: v for k, v in ix.files.items() if k in live}
                files.update(self._index_files.get(ix.id, {}))
                out.append(IndexMeta(ix.id, ix.name, ix.column, "hash", ix.unique,
                                     ix.declared, files))
            elif index.table_sorted(segments, ix.column):
                out.append(ix)
            else:
                col = next(c.name for c in self.schema if c.id == ix.column)
                note = (f"table {self.name!r}: rows out of order in column {col!r}; its "
                        f"sorted attribute is dropped (range scans use zone maps only)")
                if ix.declared:
                    warnings.warn(note, IndexWarning, stacklevel=4)
                else:
                    log.info(note)
        have = {ix.column for ix in out if ix.kind == "sorted"}
        for spec in self.schema:
            if (spec.id not in have and spec.type.kind in zonemap.SORTABLE and segments
                    and index.table_sorted(segments, spec.id)):
                out.append(IndexMeta(self._next_id, f"{spec.name}_sorted", spec.id, "sorted",
                                     declared=False))
                self._next_id += 1
        return out

    def _guard(self, fn):
        """Run a write step (its value returned); a failed sync poisons the writer (no
        retry-then-success)."""
        try:
            return fn()
        except fileops.SyncError as e:  # the page cache may have dropped our data
            self.poisoned = e
            raise StorageError(f"table {self.name!r}: {e}") from e
        except OSError as e:
            raise StorageError(f"table {self.name!r}: {e}") from e

    # -- committing -------------------------------------------------------------------
    def commit(self, job_id: str | None = None) -> Manifest:
        """Publish everything written so far as one new version; return its manifest."""
        self._check()
        self.flush()
        self._wait()
        dicts = {} if self._replace else {k: list(v) for k, v in self.base.dictionaries.items()}
        for col_id, enc in self._encoders.items():
            fresh = enc.pending()
            if len(fresh):
                chunk_id = self._next_id
                self._next_id += 1
                self._guard(lambda c=col_id, i=chunk_id, f=fresh: dicts.setdefault(c, []).append(
                    dictionary.write_chunk(self.dicts_dir, self.base.table_id, c, i, f,
                                           self._unsynced)))
        if self._encoders:
            self._unsynced.add_dir(self.dicts_dir)
        self._unsynced.add_dir(self.segments_dir)
        self._guard(self._unsynced.sync)  # every file, then the directories
        fileops.crash_point("after-data-sync")
        segments = self._segments if self._replace else self.base.segments + self._segments
        if self._rewritten is not None:
            segments = self._in_place(self._segments)
        jobs = self.base.jobs + ([job_id] if job_id else [])
        indexes = self._new_indexes(segments)
        new = self.base.successor(schema=self.schema, segments=segments, dictionaries=dicts,
                                  next_id=self._next_id, jobs=jobs, indexes=indexes)
        new = self._publish(new)
        if self._work_dir != self.table_dir:
            self._guard(self._publish_new_table)
        self.base = new
        self._segments, self._encoders, self._replace = [], {}, False
        self._rewritten = None
        self._indexes, self._index_files = list(new.indexes), {}
        self._drop_txn_indexes()
        self._reclaim()
        return new

    # -- rewriting segments: DELETE and UPDATE ----------------------------------------------
    def rewrite(self, changes: dict[int, pa.Table | None], job_id: str | None = None
                ) -> Manifest:
        """Replace whole segments in one commit (its own, like ``compact``): ``changes``
        maps a segment id of the current version to its new rows (a table in this table's
        schema) or None to remove it. Each new segment takes the old one's place; the
        others, their files and their index files are kept as they are. DELETE and UPDATE
        are this: copy-on-write of the segments they touch (a crash leaves the old version
        or the new one; readers of the old version keep it).

        Unique indexes are checked against the rows kept and the new ones.
        """
        self._check()
        if self._buffer or self._segments or self._pending or self._encoders:
            raise StorageError(f"table {self.name!r}: commit or abort the pending writes "
                               f"before rewriting segments")
        live = {s.id for s in self.base.segments}
        unknown = sorted(set(changes) - live)
        if unknown:
            raise StorageError(f"table {self.name!r}: no segment {unknown[0]} in version "
                               f"{self.base.version}")
        self._rewritten = {}
        self._removed = set(changes)
        try:
            for seg in self.base.segments:
                if seg.id not in changes:
                    continue
                t = changes[seg.id]
                before = len(self._segments)
                if t is not None and t.num_rows:
                    batches = [self._conform(b) for b in t.to_batches() if b.num_rows]
                    self._write_segment(batches)
                self._rewritten[seg.id] = len(self._segments) - before
            return self.commit(job_id)
        except BaseException:
            self._rewritten = None
            raise
        finally:
            self._removed = set()

    def _in_place(self, new: list[SegmentMeta]) -> list[SegmentMeta]:
        """The base segments with each rewritten one replaced by its new segments (in the
        order ``rewrite`` wrote them), so rows keep their rough order."""
        out, i = [], 0
        for seg in self.base.segments:
            k = self._rewritten.get(seg.id)
            if k is None:
                out.append(seg)
            else:
                out.extend(new[i:i + k])
                i += k
        return out

    # -- schema changes: ALTER TABLE -----------------------------------------------------
    def add_column(self, name: str, ctype: ColumnType, default=None,
                   default_sql: str | None = None) -> Manifest:
        """Add a column (its own commit) holding ``default`` (a Python value, or None for
        NULL) in every existing row: its files are written into each segment's directory
        beside the others, whose files are not touched. ``default_sql``: the DEFAULT the
        schema records for later INSERTs (SQL text; see ColumnSpec)."""
        from mapdb.storage.names import check_name
        self._check()
        if self._buffer or self._segments or self._pending or self._encoders:
            raise StorageError(f"table {self.name!r}: commit or abort the pending writes "
                               f"before changing columns")
        check_name(name, "column")
        if any(c.name.lower() == name.lower() for c in self.base.schema):
            raise SchemaError(f"table {self.name!r} already has a column {name!r}")
        spec = ColumnSpec(self._next_id, name, ctype, default=default_sql)
        text = ColumnType("string") if ctype.is_dictionary else ctype
        try:
            value = convert_array(pa.array([default]), text)
        except (pa.ArrowException, SchemaError) as e:
            raise SchemaError(f"default {default!r} for column {name!r} of type "
                              f"{ctype.name}: {e}") from None
        enc = DictionaryEncoder(dictionary.empty_strings()) if ctype.is_dictionary else None
        old = self.base
        try:
            self._next_id += 1
            segments = []
            for seg in old.segments:
                arr = pa.repeat(value[0], seg.rows).cast(text.arrow_type)
                arr = enc.encode(arr) if enc is not None else arr
                d = os.path.join(self.segments_dir, seg.dirname)
                files = self._guard(lambda d=d, s=seg, a=arr: segment.write_column(
                    d, s.id, old.table_id, spec, [a], s.rows, self._unsynced))
                self._unsynced.add_dir(d)
                segments.append(replace(seg, columns={**seg.columns, spec.id: files}))
            if enc is not None:
                self._encoders[spec.id] = enc
            # committed as a rewrite of nothing over the widened segments
            self.base, self.schema, self._rewritten = replace(old, segments=segments), \
                [*old.schema, spec], {}
            return self.commit()
        except BaseException:
            self.base, self.schema, self._rewritten = old, old.schema, None
            self._encoders.pop(spec.id, None)
            self._next_id = old.next_id
            self._unsynced.discard()
            raise

    def drop_column(self, name: str) -> Manifest:
        """Remove a column (its own commit); its files go with reclamation, and its
        indexes with it. The last column cannot be dropped."""
        self._check()
        spec = self.base.column(name)
        if len(self.base.schema) == 1:
            raise SchemaError(f"table {self.name!r}: cannot drop its only column {name!r}")
        segments = [replace(s, columns={k: v for k, v in s.columns.items() if k != spec.id})
                    for s in self.base.segments]
        dicts = {k: v for k, v in self.base.dictionaries.items() if k != spec.id}
        indexes = [ix for ix in self.base.indexes if ix.column != spec.id]
        new = self._publish(self.base.successor(
            schema=[c for c in self.base.schema if c.id != spec.id], segments=segments,
            dictionaries=dicts, indexes=indexes))
        self.base, self.schema = new, new.schema
        self._indexes = list(new.indexes)
        self._reclaim()
        return new

    def rename_column(self, old: str, new_name: str) -> Manifest:
        """Rename a column (its own commit; files are named by column id, none change)."""
        from mapdb.storage.names import check_name
        self._check()
        spec = self.base.column(old)
        check_name(new_name, "column")
        if new_name.lower() != old.lower() and any(
                c.name.lower() == new_name.lower() for c in self.base.schema):
            raise SchemaError(f"table {self.name!r} already has a column {new_name!r}")
        schema = [replace(c, name=new_name) if c.id == spec.id else c
                  for c in self.base.schema]
        new = self._publish(self.base.successor(schema=schema))
        self.base, self.schema = new, new.schema
        return new

    def _publish(self, new: Manifest) -> Manifest:
        """Commit ``new`` as a version of this writer's durability mode. A full commit on
        top of an os/none one first syncs everything ``new`` inherits from it (those files
        may still be only in the page cache), so a full commit is durable whatever came
        before it."""
        new = replace(new, durability=self.durability.name)
        if self.lock is not None:
            self.lock.check()  # the table under our path is still the one we locked
        if self.durability.sync and self.base.durability != "full" and self.base.version:
            self._guard(lambda: self._sync_inherited(new))
        self._guard(lambda: manifest.commit(self.manifests_dir, new, self.durability.sync,
                                            self.durability.writeback))
        return new

    def _sync_inherited(self, m: Manifest) -> None:
        """fdatasync every file ``m`` names and fsync their directories, the table
        directory and the database directory (a table created in mode os or none may not
        have its directory entry on disk yet)."""
        for seg in m.segments:
            d = os.path.join(self.segments_dir, seg.dirname)
            for files in seg.columns.values():
                for _kind, ref, _ in files.all_refs():
                    fileops.fdatasync_path(os.path.join(d, ref.name))
            fileops.fsync_dir(d)
        for col, chunks in m.dictionaries.items():
            for c in chunks:
                for suffix in ("offsets", "data"):
                    fileops.fdatasync_path(os.path.join(self.dicts_dir,
                                                        f"c{col}-{c.id:06d}.{suffix}"))
        ixd = indexes_dir(self._work_dir)
        for ix in m.indexes:
            for ref in ix.files.values():
                fileops.fdatasync_path(os.path.join(ixd, ref.name))
        dirs = [self.segments_dir, self.dicts_dir, self._work_dir,
                os.path.dirname(self.table_dir)]
        for d in ([ixd] if os.path.isdir(ixd) else []) + dirs:
            fileops.fsync_dir(d)

    def _publish_new_table(self) -> None:
        """Rename the staging directory to the table's name: the new table's commit point.
        Its LOCK, taken when the staging directory was made, moves with it."""
        db_dir = os.path.dirname(self.table_dir)
        try:
            fileops.crash_point("before-table-rename")
            fileops.rename(self._work_dir, self.table_dir)
        except OSError as e:
            if e.errno in (17, 39):  # EEXIST, ENOTEMPTY
                raise StorageError(f"table {self.name!r} was created by another writer "
                                   f"meanwhile") from None
            raise
        try:
            if self.durability.sync:
                fileops.fsync_dir(db_dir)
        except OSError:
            # not known to be durable: unpublish it (readers must not start on it)
            with contextlib.suppress(OSError):
                os.rename(self.table_dir, self._work_dir)
            raise
        if self.lock is not None:
            self.lock.moved(os.path.join(self.table_dir, "LOCK"))
        self._work_dir = self.table_dir
        self.manifests_dir, self.segments_dir, self.dicts_dir = _dirs(self.table_dir)

    def abort(self) -> None:
        """Drop everything written since the last commit (files are reclaimed)."""
        with contextlib.suppress(Exception):  # the segment is being discarded anyway
            self._wait()
        self._buffer, self._buffered = [], 0
        self._segments, self._encoders = [], {}
        self._replace, self.schema, self._next_id = False, self.base.schema, self.base.next_id
        self._indexes, self._index_files = list(self.base.indexes), {}
        self._drop_txn_indexes()
        self._unsynced.discard()
        self.failed = None
        if self._work_dir != self.table_dir:
            shutil.rmtree(self._work_dir, ignore_errors=True)
        else:
            self._reclaim()

    def close(self) -> None:
        if not self.closed:
            self.abort()
            self.closed = True
            if self._pool is not None:
                self._pool.shutdown()
            if self.lock:
                self.lock.release()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and not self.poisoned:
            self.commit()
        self.close()

    # -- compaction and reclamation -----------------------------------------------------
    def compact(self, target_rows: int = 1 << 24) -> Manifest:
        """Merge runs of small segments into segments of up to ``target_rows`` rows (its own
        commit; refused while this writer has uncommitted writes)."""
        self._check()
        if self._buffer or self._segments or self._pending or self._encoders:
            raise StorageError(f"table {self.name!r}: commit or abort the pending writes "
                               f"before compacting")
        snap = Snapshot(self.table_dir, self.name, self.base.version)
        try:
            groups, cur = [], []
            for s in self.base.segments:
                if cur and sum(x.rows for x in cur) + s.rows > target_rows:
                    groups.append(cur)
                    cur = []
                cur.append(s)
            if cur:
                groups.append(cur)
            if all(len(g) == 1 for g in groups):
                return self.base
            out: list[SegmentMeta] = []
            index = {s.id: i for i, s in enumerate(self.base.segments)}
            for g in groups:
                if len(g) == 1:
                    out.append(g[0])
                    continue
                cols = []
                for spec in self.base.schema:
                    chunks = snap.column_chunks(spec.name)
                    parts = [chunks[index[s.id]] for s in g]
                    if spec.type.is_dictionary:
                        parts = [p.indices for p in parts]
                    # one chunk: segments need not end on zone-map block boundaries
                    cols.append((spec, [pa.concat_arrays(parts)]))
                seg_id = self._next_id
                self._next_id += 1
                self._guard(lambda c=cols, i=seg_id: out.append(segment.write_segment(
                    self.segments_dir, i, self.base.table_id, c, self._unsynced)))
                self._guard(lambda: self._index_segment(out[-1], check=False))
            self._unsynced.add_dir(self.segments_dir)
            self._guard(self._unsynced.sync)
            indexes = self._new_indexes(out)
            new = self.base.successor(segments=out, next_id=self._next_id, indexes=indexes)
            new = self._publish(new)
            self.base = new
        except BaseException:
            self._index_files = {}
            raise
        finally:
            snap.close()
        self._indexes, self._index_files = list(self.base.indexes), {}
        self._reclaim()
        return new

    # -- indexes ----------------------------------------------------------------------
    def create_index(self, column: str, kind: str = "hash", unique: bool = False,
                     name: str | None = None) -> Manifest:
        """Add an index on ``column`` (its own commit): ``kind`` "hash" (files for every
        segment; ``unique`` refuses repeated values, now and in later appends) or "sorted"
        (declares the column sorted; SchemaError unless it is)."""
        from mapdb.storage.indexmeta import KINDS
        from mapdb.storage.names import check_name
        self._check()
        if self._buffer or self._segments or self._pending or self._encoders:
            raise StorageError(f"table {self.name!r}: commit or abort the pending writes "
                               f"before changing indexes")
        if kind not in KINDS:
            raise SchemaError(f"index kind {kind!r}: expected one of {', '.join(KINDS)}")
        spec = self.base.column(column)
        index.check_indexable(spec, kind)
        name = name or f"{column}_{kind}"
        check_name(name, "index")
        for ix in self.base.indexes:
            if ix.name == name and not (kind == "sorted" and not ix.declared):
                raise SchemaError(f"table {self.name!r} already has an index {name!r}")
            if ix.column == spec.id and ix.kind == kind and ix.declared and \
                    (kind == "sorted" or ix.unique == unique):
                raise SchemaError(f"table {self.name!r} already has a {kind} index on "
                                  f"{column!r} ({ix.name!r})")
        keep = [ix for ix in self.base.indexes
                if not (kind == "sorted" and ix.kind == "sorted" and ix.column == spec.id)]
        if kind == "sorted":
            if not index.table_sorted(self.base.segments, spec.id):
                raise SchemaError(f"column {column!r} of table {self.name!r} is not sorted "
                                  f"(non-decreasing, without NULLs) across its segments")
            meta = IndexMeta(self._next_id, name, spec.id, "sorted", declared=True)
            self._next_id += 1
        else:
            meta = IndexMeta(self._next_id, name, spec.id, "hash", unique, True)
            self._next_id += 1
            self._indexes = [meta]
            try:
                for seg in self.base.segments:
                    self._guard(lambda s=seg: self._index_segment(s, check=unique))
                meta = IndexMeta(meta.id, name, spec.id, "hash", unique, True,
                                 self._index_files.get(meta.id, {}))
                self._guard(self._unsynced.sync)
            except BaseException:
                self._drop_txn_indexes()
                self._indexes, self._index_files = list(self.base.indexes), {}
                self._next_id = self.base.next_id
                self._unsynced.discard()
                self._reclaim()
                raise
            self._drop_txn_indexes()
        new = self._publish(self.base.successor(indexes=[*keep, meta], next_id=self._next_id))
        self.base = new
        self._indexes, self._index_files = list(new.indexes), {}
        return new

    def drop_index(self, name: str) -> Manifest:
        """Remove the index ``name`` (its own commit; its files go with reclamation)."""
        self._check()
        self.base.index(name)  # NotFoundError naming the indexes there are
        new = self._publish(self.base.successor(
            indexes=[ix for ix in self.base.indexes if ix.name != name]))
        self.base = new
        self._indexes = list(new.indexes)
        self._reclaim()
        return new

    def _reclaim(self) -> None:
        """Delete old versions no reader pins, then files no remaining version names."""
        if self._work_dir != self.table_dir or (self.lock is not None and
                                                 not self.lock.valid()):
            return  # never clean up a directory this writer does not hold the lock of
        reclaim(self.table_dir)


def reclaim(table_dir: str) -> int:
    """Remove unpinned old manifests, temp files and unreferenced segments/chunks.

    Must be called with the writer lock held. Returns the number of paths removed.
    """
    _check_dirs(table_dir)
    manifests_dir, segments_dir, dicts_dir = _dirs(table_dir)
    removed = 0
    vs = manifest.versions(manifests_dir)
    for v in vs[:-1]:
        if manifest.try_reclaim(manifests_dir, v):
            removed += 1
    live_segments: dict[str, set[str]] = {}  # segment directory -> the files named in it
    live_chunks, live_index = set(), set()
    for v in manifest.versions(manifests_dir):
        path = manifest.manifest_path(manifests_dir, v)
        try:
            with open(path, "rb") as f:
                m = Manifest.from_bytes(f.read(), path)
        except FileNotFoundError:
            continue
        except CorruptionError:
            return removed  # never delete data on the word of a damaged manifest
        for seg in m.segments:
            live_segments.setdefault(seg.dirname, set()).update(
                ref.name for files in seg.columns.values() for _, ref, _ in files.all_refs())
        for col, chunks in m.dictionaries.items():
            live_chunks |= {f"c{col}-{c.id:06d}" for c in chunks}
        live_index |= {ref.name for ix in m.indexes for ref in ix.files.values()}
    for name in os.listdir(manifests_dir):
        if ".tmp-" in name:
            _remove(os.path.join(manifests_dir, name))
            removed += 1
    for name in os.listdir(segments_dir):
        if name not in live_segments:
            _remove(os.path.join(segments_dir, name))
            removed += 1
            continue
        d = os.path.join(segments_dir, name)
        if os.path.isdir(d) and not os.path.islink(d):
            # files of dropped columns, or of an ALTER TABLE ADD COLUMN that died
            for f in os.listdir(d):
                if f not in live_segments[name]:
                    _remove(os.path.join(d, f))
                    removed += 1
    for name in os.listdir(dicts_dir):
        if name.rsplit(".", 1)[0] not in live_chunks:
            _remove(os.path.join(dicts_dir, name))
            removed += 1
    ixd = indexes_dir(table_dir)
    for name in os.listdir(ixd) if os.path.isdir(ixd) else []:
        if name not in live_index:
            _remove(os.path.join(ixd, name))
            removed += 1
    return removed


def _check_dirs(table_dir: str) -> None:
    """StorageError if a directory a writer writes into is a symlink (or not a directory):
    writes never leave the database through a link."""
    for d in (table_dir, *_dirs(table_dir), indexes_dir(table_dir)):
        if os.path.islink(d) or (os.path.exists(d) and not os.path.isdir(d)):
            raise StorageError(f"{d}: is a symlink or a file where the table keeps a "
                               f"directory; mapdb never writes through it (remove it)")


def _remove(path: str) -> None:
    """Delete what no version names: a directory tree (a symlink is not followed), a file,
    a symlink; whatever stands at a name the writer will use next."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def make_table_dirs(work_dir: str) -> None:
    try:
        fileops.mkdir(work_dir)
        for d in _dirs(work_dir):
            fileops.mkdir(d)
    except OSError as e:  # a StorageError like every other failed write of a new table
        raise StorageError(f"cannot create the directories of a new table: {e}") from e


def staging_dir(db_dir: str) -> str:
    return os.path.join(db_dir, f".tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}")

