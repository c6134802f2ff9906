"""Indexes: hash-index files (build, open, probe) and sorted attributes.

A hash index has one immutable file per segment, ``indexes/x<index>-s<segment>.hash``
(layout in ext/hashindex.pxi, 4 KiB header like every data file, buffer kind INDEX).
Keys are hashed on the column's stored representation: the integer value for
integer-like columns (scaled for decimals, days for dates, codes for dict columns), the
IEEE bits of the float64 value for floats (-0.0 as 0.0, one NaN), the bytes for strings
and binaries. NULLs are not indexed (``=`` and ``IN`` never match them).

A sorted attribute has no files: every segment records its (min, max) when its column is
non-decreasing without nulls (``ColumnFiles.sorted``), and the table is sorted on a
column when every segment is and each starts at or above where the previous one ended.

``USE_COUNTS`` counts probes per (table directory, index name) in this process; the pin
manager (storage.cache) pins the most-used hash indexes first when its budget is short.

>>> import os, tempfile
>>> import pyarrow as pa
>>> from mapdb.storage.database import DatabaseStore
>>> db = DatabaseStore(os.path.join(tempfile.mkdtemp(), "db"))
>>> t = pa.table({"k": pa.array([5, 3, None, 3], pa.int64()), "s": ["a", "b", "c", "b"]})
>>> w = db.create_writer("t", t.schema, None, dictionary=None)
>>> w.write(t); _ = w.commit()
>>> _ = w.create_index("k", "hash"); w.close()
>>> snap = db.snapshot("t")
>>> ix = open_hash_index(snap, snap.manifest.index("k_hash"))
>>> [(seg, rows.tolist()) for seg, rows in ix.lookup([3, 7]).items()]
[(0, [1, 3])]
>>> snap.close()
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from mapdb import _ext
from mapdb.errors import ConstraintError, CorruptionError, SchemaError
from mapdb.storage import scan
from mapdb.storage.columnfile import FileRef, Owner, PendingFiles, map_buffer, write_buffer
from mapdb.storage.header import HEADER_SIZE, BufferKind
from mapdb.storage.indexmeta import IndexMeta
from mapdb.storage.segment import ColumnSpec, SegmentMeta
from mapdb.storage.types import ColumnType

USE_COUNTS: Counter[tuple[str, str]] = Counter()


def check_indexable(spec: ColumnSpec, kind: str) -> None:
    t = spec.type
    if kind == "hash" and t.kind in ("interval", "decimal128"):
        raise SchemaError(f"column {spec.name!r} is {t.name}: a hash index needs a column "
                          f"of at most 8 bytes a value or a string column")
    if t.is_nested:
        raise SchemaError(f"column {spec.name!r} is {t.name}: an index needs a column of "
                          f"plain values, not a list or struct")
    if kind == "hash" and t.kind == "bool":
        raise SchemaError(f"column {spec.name!r} is bool: a hash index needs a fixed-width "
                          f"(not bool) or string column")
    if kind == "sorted":
        from mapdb.storage.zonemap import SORTABLE
        if t.kind not in SORTABLE:
            raise SchemaError(f"column {spec.name!r} is {t.name}: a sorted attribute needs "
                              f"an integer, date, timestamp or decimal column")


# -- keys ----------------------------------------------------------------------------------

def _float_bits(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    v = np.where(v == 0, 0.0, v)  # -0.0 == 0.0
    v = np.where(np.isnan(v), np.nan, v)
    return v.view(np.int64)


def segment_hashes(p: scan.PhysicalColumn) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, rows) of the non-null values of one segment's column."""
    t = p.ctype
    if t.is_variable:
        h = _ext.hash_strings(p.offsets, p.data)
    elif p.data.dtype.kind == "f":
        h = _ext.hash_int64(_float_bits(p.data))
    else:
        v = p.data.view(np.int64) if p.data.dtype == np.uint64 else p.data.astype(np.int64)
        h = _ext.hash_int64(np.ascontiguousarray(v))
    rows = np.arange(p.rows, dtype=np.uint32)
    if p.validity is not None:
        valid = np.unpackbits(p.validity, count=p.rows, bitorder="little").astype(bool)
        h, rows = h[valid], rows[valid]
    return np.ascontiguousarray(h), rows


def key_array(ctype: ColumnType, keys: list) -> tuple[np.ndarray | list, np.ndarray]:
    """Lookup keys on the stored scale (ints for integer-like columns and dict codes,
    float64 for floats, bytes for strings) and their hashes. None keys must be dropped
    by the caller."""
    if ctype.is_variable:
        raw = [k.encode() if isinstance(k, str) else bytes(k) for k in keys]
        offsets = np.zeros(len(raw) + 1, np.int64)
        np.cumsum([len(r) for r in raw], out=offsets[1:])
        return raw, _ext.hash_strings(offsets, np.frombuffer(b"".join(raw), np.uint8))
    if ctype.kind in ("float32", "float64"):
        v = np.asarray(keys, np.float64)
        return v, _ext.hash_int64(_float_bits(v))
    v = np.asarray(keys, np.int64) if ctype.kind != "uint64" else \
        np.asarray(keys, np.uint64).view(np.int64)
    return v, _ext.hash_int64(v)


def _values_equal(p: scan.PhysicalColumn, rows: np.ndarray, keys, qidx: np.ndarray
                  ) -> np.ndarray:
    """Which candidate rows hold exactly their query key (reads only those rows)."""
    if p.ctype.is_variable:
        scan.check_rows(p, rows)
        off = p.offsets
        return np.array([p.data[off[r]:off[r + 1]].tobytes() == keys[q]
                         for r, q in zip(rows.tolist(), qidx.tolist(), strict=True)], bool)
    if p.data.dtype.kind == "f":
        a, b = p.data[rows].astype(np.float64), keys[qidx]
        return (a == b) | (np.isnan(a) & np.isnan(b))
    vals = p.data[rows]
    vals = vals.view(np.int64) if vals.dtype == np.uint64 else vals.astype(np.int64)
    return vals == keys[qidx]


# -- files ---------------------------------------------------------------------------------

def write_index_file(indexes_dir: str, ix: IndexMeta, table_id: bytes, seg: SegmentMeta,
                     p: scan.PhysicalColumn, pending: PendingFiles
                     ) -> tuple[FileRef, np.ndarray, np.ndarray]:
    """Build and write the index file of one segment: its ref, and the hashes and rows
    it indexes (for uniqueness checks)."""
    h, rows = segment_hashes(p)
    data = _ext.build_hash_index(h, rows)
    owner = Owner(table_id, seg.id, ix.column, p.ctype.code)
    try:
        ref = write_buffer(indexes_dir, ix.file_name(seg.id), BufferKind.INDEX, owner, seg.rows,
                           [data], pending)
    finally:
        pending.close()
    return ref, h, rows


@dataclass
class SegmentIndex:
    """One segment's hash-index file, mapped (``data`` is a uint8 view of its data)."""

    segment: int  # position in the manifest
    path: str
    data: np.ndarray
    mapping: _ext.Mapping

    def probe(self, hashes: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """(query positions, candidate rows) for ``hashes``; ``rows``: the segment's."""
        try:
            q, r = _ext.probe_hash_index(self.data, hashes)
        except ValueError as e:
            raise CorruptionError(f"{self.path}: {e}") from None
        if len(r) and int(r.max()) >= rows:
            raise self.bad_row(int(r.max()), rows)
        return q, r

    def bad_row(self, row: int, rows: int) -> CorruptionError:
        """A damaged entry names a row past the segment's end. The data checksum is checked
        by verify, not on every open, so a probe can meet it: refuse it here rather than
        index the column with it (an IndexError)."""
        return CorruptionError(f"{self.path}: the index names row {row} of a segment of "
                               f"{rows} rows (the file is damaged; see mapdb verify)")

    def close(self) -> None:
        self.mapping.close()


class HashIndex:
    """A hash index of one table version: probe all segments, confirm against values."""

    def __init__(self, table_dir: str, meta: IndexMeta, spec: ColumnSpec,
                 parts: list[SegmentIndex], columns: list[scan.PhysicalColumn]):
        self.table_dir = table_dir
        self.meta = meta
        self.spec = spec
        self.parts = parts
        self.columns = columns  # the indexed column per segment (to confirm candidates)
        self._key = (table_dir, meta.name)
        t = spec.type
        self._integer = not (t.is_variable or t.kind in ("float32", "float64", "uint64"))

    def lookup_hashed(self, keys, hashes: np.ndarray) -> dict[int, np.ndarray]:
        """Per segment position: the rows (ascending) holding one of ``keys``."""
        USE_COUNTS[self._key] += 1
        out = {}
        for part in self.parts:
            qidx, rows = part.probe(hashes, self.columns[part.segment].rows)
            if len(rows):
                ok = _values_equal(self.columns[part.segment], rows, keys, qidx)
                if ok.any():
                    r = rows[ok]
                    out[part.segment] = np.unique(r) if len(r) > 1 else r
        return out

    def lookup(self, keys: list) -> dict[int, np.ndarray]:
        keys = [v for v in keys if v is not None]
        if len(keys) == 1 and self._integer:
            return self._lookup_one(int(keys[0]))
        k, h = key_array(self.spec.type, keys)
        return self.lookup_hashed(k, h) if len(h) else {}

    def _lookup_one(self, key: int) -> dict[int, np.ndarray]:
        """One integer key: no arrays until a row is found (the point-query path)."""
        USE_COUNTS[self._key] += 1
        if not -(1 << 63) <= key < (1 << 63):
            return {}
        h = _ext.hash_one(key)
        out = {}
        for part in self.parts:
            try:
                cand = _ext.probe_one(part.data, h)
            except ValueError as e:
                raise CorruptionError(f"{part.path}: {e}") from None
            if cand:
                if max(cand) >= self.columns[part.segment].rows:
                    raise part.bad_row(max(cand), self.columns[part.segment].rows)
                data = self.columns[part.segment].data
                rows = [r for r in cand if int(data[r]) == key]
                if rows:
                    out[part.segment] = np.array(rows, np.int64)
        return out

    def paths(self) -> list[str]:
        return [p.path for p in self.parts]

    def close(self) -> None:
        for p in self.parts:
            p.close()


def open_hash_index(snapshot, meta: IndexMeta) -> HashIndex:
    """Map every segment's file of a hash index of ``snapshot`` (a storage Snapshot)."""
    with snapshot.reading():
        return _open_hash_index(snapshot, meta)


def _open_hash_index(snapshot, meta: IndexMeta) -> HashIndex:
    m = snapshot.manifest
    spec = next(c for c in m.schema if c.id == meta.column)
    d = os.path.join(snapshot.table_dir, "indexes")
    parts: list[SegmentIndex] = []
    try:
        for i, seg in enumerate(m.segments):
            ref = meta.files.get(seg.id)
            if ref is None:
                raise CorruptionError(f"index {meta.name!r} has no file for segment {seg.id}")
            mp = map_buffer(d, ref, BufferKind.INDEX, Owner(m.table_id, seg.id, spec.id,
                                                           spec.type.code), seg.rows)
            data = np.frombuffer(mp, np.uint8, count=ref.length, offset=HEADER_SIZE)
            try:
                _check_preamble(data, seg.rows, os.path.join(d, ref.name))
            except BaseException:
                del data
                mp.close()
                raise
            mp.advise(0, None, _ext.Advice.RANDOM)  # probes jump: no read-around
            parts.append(SegmentIndex(i, os.path.join(d, ref.name), data, mp))
    except BaseException:
        for p in parts:
            p.close()
        raise
    # probes confirm single rows' values against the column
    return HashIndex(snapshot.table_dir, meta, spec, parts,
                     snapshot.physical(spec.name, check="rows"))


def _check_preamble(data: np.ndarray, rows: int, path: str) -> None:
    """Refuse a damaged preamble (bits, 0, entries) before any probe reads the file.

    The extension's own check compares the file size with 16 + 4 (2^bits + 1) + 8 m in
    64-bit arithmetic, which a damaged entry count wraps around: a flipped bit 61 of m
    passed it, and the probe then read far outside the mapping (a segmentation fault,
    found by the byte-flip tests of RELIABILITY.md 9). Python integers do not wrap; the
    entries are also at most the segment's rows, and bits is what the writer derives from
    them. The data checksum (verify) covers everything else.
    """
    size = len(data)
    head = data[:16].tobytes() if size >= 16 else b""
    bits = int.from_bytes(head[0:4], "little") if head else -1
    zero = int.from_bytes(head[4:8], "little") if head else -1
    m = int.from_bytes(head[8:16], "little") if head else -1
    if (not head or zero != 0 or not 0 <= m <= rows or not 1 <= bits <= 40
            or bits != _ext.hash_index_bits(m)
            or size != 16 + 4 * ((1 << bits) + 1) + 8 * m):
        raise CorruptionError(f"{path}: damaged hash index (bits {bits}, entries {m}, "
                              f"{size} bytes, for a segment of {rows} rows)")


def verify_index(snapshot, meta: IndexMeta) -> list[str]:
    """Problems with a hash index's files: header, checksum, and that each file indexes
    exactly its segment's non-null values (rebuilt and compared)."""
    from mapdb.errors import MapdbError
    from mapdb.storage.columnfile import verify_buffer
    m = snapshot.manifest
    spec = next((c for c in m.schema if c.id == meta.column), None)
    if spec is None:
        return [f"index {meta.name!r}: column id {meta.column} is not in the schema"]
    d = os.path.join(snapshot.table_dir, "indexes")
    problems = []
    try:
        phys = snapshot.physical(spec.name)  # hashing follows the column's offsets
    except MapdbError as e:
        return [f"index {meta.name!r} cannot be checked: {e}"]
    for seg, p in zip(m.segments, phys, strict=True):
        ref = meta.files.get(seg.id)
        if ref is None:
            problems.append(f"index {meta.name!r}: no file for segment {seg.id}")
            continue
        owner = Owner(m.table_id, seg.id, spec.id, spec.type.code)
        try:
            verify_buffer(d, ref, BufferKind.INDEX, owner, seg.rows)
            mp = map_buffer(d, ref, BufferKind.INDEX, owner, seg.rows)
            with mp:
                have = np.frombuffer(mp, np.uint8, count=ref.length, offset=HEADER_SIZE)
                h, rows = segment_hashes(p)
                if not np.array_equal(have, _ext.build_hash_index(h, rows)):
                    problems.append(f"{os.path.join(d, ref.name)}: index {meta.name!r} does "
                                    f"not match the values of segment {seg.id}")
                del have
        except MapdbError as e:
            problems.append(str(e))
    return problems


# -- uniqueness ------------------------------------------------------------------------------

def _value(p: scan.PhysicalColumn, row: int):
    if p.ctype.is_variable:
        return p.data[p.offsets[row]:p.offsets[row + 1]].tobytes()
    return p.data[row].item()


def check_unique(spec: ColumnSpec,
                 new: list[tuple[scan.PhysicalColumn, np.ndarray, np.ndarray]],
                 old: HashIndex | None) -> None:
    """ConstraintError when a value repeats among the new segments' values (column,
    hashes and rows per segment, as from segment_hashes) or already exists in ``old``."""
    def fail(value) -> None:
        v = value.decode(errors="replace") if isinstance(value, bytes) else value
        raise ConstraintError(f"unique index on {spec.name!r}: value {v!r} occurs more "
                              f"than once")

    if new:
        hashes = np.concatenate([h for _, h, _ in new])
        seg_of = np.repeat(np.arange(len(new)), [len(h) for _, h, _ in new])
        row_of = np.concatenate([r for _, _, r in new])
        order = np.argsort(hashes, kind="stable")
        hs = hashes[order]
        for i in np.flatnonzero(hs[1:] == hs[:-1]).tolist():
            a, b = order[i], order[i + 1]
            va = _value(new[seg_of[a]][0], int(row_of[a]))
            if va == _value(new[seg_of[b]][0], int(row_of[b])):
                fail(va)
    if old is not None:
        for p, h, rows in new:
            for part in old.parts:
                q, r = part.probe(h, old.columns[part.segment].rows)
                for qi, ri in zip(q.tolist(), r.tolist(), strict=True):
                    va = _value(p, int(rows[qi]))
                    if va == _value(old.columns[part.segment], ri):
                        fail(va)


# -- sorted attributes ---------------------------------------------------------------------

def table_sorted(segments: list[SegmentMeta], column_id: int) -> bool:
    """True when the column is non-decreasing over the segments in order, without nulls."""
    prev = None
    for s in segments:
        r = s.columns[column_id].sorted
        if r is None and s.rows:
            return False
        if r is None:
            continue
        if prev is not None and r[0] < prev:
            return False
        prev = r[1]
    return True


def sorted_rows(p: scan.PhysicalColumn, lo, hi) -> tuple[int, int]:
    """Rows [a, b) of a sorted segment column holding values in [lo, hi] (None: open);
    a binary search over the mapped values (touches about log2(rows) pages)."""
    v = p.data
    info = np.iinfo(v.dtype)
    a = 0 if lo is None else (p.rows if lo > info.max else 0 if lo < info.min else
                              int(np.searchsorted(v, lo, "left")))
    b = p.rows if hi is None else (0 if hi < info.min else p.rows if hi > info.max else
                                   int(np.searchsorted(v, hi, "right")))
    return a, max(a, b)
