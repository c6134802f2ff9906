"""Where scans read from: a committed table version (mapped files) or an Arrow table.

A scan is cut into *morsels*: row ranges inside one segment, aligned to zone-map blocks, so
that a morsel whose blocks all fail the zone-map test is never touched, and so that threads
can take them one at a time.

>>> import pyarrow as pa
>>> s = ArrowSource("t", pa.table({"x": [1, 2, 3]}))
>>> [(m.start, m.stop) for m in s.morsels({}, rows=2)]
[(0, 2), (2, 3)]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mapdb import _ext
from mapdb.query.types import SqlType, from_arrow
from mapdb.storage.types import ColumnType, convert_array

MORSEL_ROWS = 1 << 17  # 8 zone-map blocks: a few MB per column, enough to amortize a call
PREFETCH_MORSELS = 8   # how far ahead of the scan WILLNEED runs (a few MB per column)


@dataclass(frozen=True)
class Morsel:
    segment: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass
class PruneStats:
    blocks: int = 0
    skipped: int = 0


def scaled_ints(arr: pa.Array) -> pa.Array:
    """A decimal128 array of up to 18 digits as its scaled int64 values."""
    n = len(arr)
    words = np.frombuffer(arr.buffers()[1], np.int64, count=2 * n, offset=arr.offset * 16)
    validity = arr.buffers()[0]
    if validity is not None and arr.offset % 8:
        return pa.array(np.ascontiguousarray(words[0::2]), mask=~np.asarray(
            arr.is_valid().to_numpy(zero_copy_only=False)))
    if validity is not None and arr.offset:
        validity = validity.slice(arr.offset // 8)
    return pa.Array.from_buffers(pa.int64(), n, [validity, pa.py_buffer(
        np.ascontiguousarray(words[0::2]))], arr.null_count)


def _float_blocks(z: np.ndarray, lo, hi, nan_max: bool) -> np.ndarray:
    """Blocks of a float column's zone map that may hold values in [lo, hi] (None:
    unbounded) in DuckDB's order, NaN above every number. ``nan_max``: the zone map gives
    a block holding NaN NaN as its max (zone map version 3); older maxima leave NaN out,
    so a range that admits NaN keeps every block there."""
    zmin, zmax = z[:, 0].view(np.float64), z[:, 1].view(np.float64)
    ok = np.ones(len(z), bool)
    admits_nan = hi is None or hi != hi
    if lo is not None and (nan_max or not admits_nan):
        ok &= np.isnan(zmax) | (zmax >= lo) if lo == lo else np.isnan(zmax)
    if hi is not None and hi == hi:
        ok &= zmin <= hi  # a min is NaN only when the whole block is
    return ok


def _validity(a: pa.Array) -> pa.Buffer:
    """The validity bitmap of ``a`` starting at bit 0 (a slice's may start mid-byte)."""
    if a.offset % 8 == 0:
        return a.buffers()[0].slice(a.offset // 8, (len(a) + 7) // 8)
    return pa.py_buffer(np.packbits(a.is_valid().to_numpy(zero_copy_only=False),
                                    bitorder="little"))


class Source:
    name: str

    def types(self) -> dict[str, SqlType]:
        raise NotImplementedError

    def arrays(self, m: Morsel, columns: list[str]) -> dict[str, pa.Array]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def engine_array(arr: pa.Array) -> pa.Array:
    """``arr`` in the type an ArrowSource reads as its SQL type: dictionaries decoded,
    strings and binaries large, timestamps in microseconds, date64 as date32, float16 as
    float32 (values handed to the API, files read as tables).

    >>> engine_array(pa.array(["a"], pa.string())).type
    DataType(large_string)
    """
    t = arr.type
    if pa.types.is_dictionary(t):
        return engine_array(arr.dictionary_decode())
    if pa.types.is_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.large_string())
    if pa.types.is_binary(t) or pa.types.is_binary_view(t) or \
            pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.large_binary())
    if pa.types.is_timestamp(t) and t.unit != "us":
        return arr.cast(pa.timestamp("us", t.tz), safe=False)
    if pa.types.is_date64(t):
        return arr.cast(pa.date32())
    if pa.types.is_float16(t):
        return arr.cast(pa.float32())
    if pa.types.is_time(t) and t != pa.time64("us"):
        return arr.cast(pa.time64("us"))  # (a fraction of a microsecond: an error)
    if pa.types.is_duration(t):  # DuckDB reads a duration as an INTERVAL
        return convert_array(arr, ColumnType("interval"))
    return arr


def engine_values(a: pa.Array, t: SqlType) -> pa.Array:
    """A column's values in the engine's representation of SQL type ``t``: a decimal of
    up to 18 digits as its scaled int64, a wider one as decimal128(38, s) (the same bytes:
    no copy)."""
    if t.kind != "decimal":
        return a
    if not t.wide:
        return scaled_ints(a)
    if a.type == t.arrow:
        return a
    return pa.Array.from_buffers(t.arrow, len(a), a.buffers(), a.null_count, a.offset)


class ArrowSource(Source):
    """An in-memory Arrow table (used for tests and for results fed back into a query)."""

    def __init__(self, name: str, table: pa.Table):
        self.name = name
        self.table = table.combine_chunks()
        self._types = {f.name: from_arrow(f.type) for f in table.schema}

    def types(self) -> dict[str, SqlType]:
        return self._types

    @property
    def row_count(self) -> int:
        return self.table.num_rows

    def morsels(self, ranges: dict, stats: PruneStats | None = None,
                rows: int = MORSEL_ROWS) -> list[Morsel]:
        n = self.table.num_rows
        return [Morsel(0, s, min(s + rows, n)) for s in range(0, n, rows)]

    def arrays(self, m: Morsel, columns: list[str]) -> dict[str, pa.Array]:
        out = {}
        for c in columns:
            a = self.table.column(c).chunk(0) if self.table.column(c).num_chunks else \
                pa.array([], self.table.column(c).type)
            a = a.slice(m.start, m.rows)
            t = self._types[c]
            if t.nested and a.type != t.arrow:  # (list<string>, large_list: as the engine's)
                a = a.cast(t.arrow)
            out[c] = engine_values(a, t)
        return out


UNIQUE_CHECK_ROWS = 1 << 21  # TableSource.unique_values sorts unsorted columns up to this,
UNIQUE_SORTED_ROWS = 1 << 25  # and compares neighbours of sorted ones up to this (~30 ms)


class TableSource(Source):
    """One committed version of a stored table (a storage Snapshot, pinned while open)."""

    def __init__(self, name: str, snapshot):
        self.name = name
        self.snapshot = snapshot
        self._types = {c.name: from_arrow(c.type.arrow_type) for c in snapshot.manifest.schema}
        self._variable = {c.name for c in snapshot.manifest.schema if c.type.is_variable}
        self._zones: dict[str, list[np.ndarray]] = {}
        self._codes: dict[str, dict] = {}
        self._phys: dict[tuple[str, str], list] = {}  # (column, check) -> see _physical
        self._kinds: dict[str, str | None] = {}
        self._morsels: dict[tuple, tuple[list[Morsel], PruneStats]] = {}
        self._bounds: dict[str, tuple[int, int]] = {}
        self._unique: dict[str, bool] = {}
        self._all_resident = False  # set by residency(): the last scan found every page cached
        self._hash: dict[str, object] = {}  # column -> opened storage HashIndex
        self._index_lock = threading.Lock()
        self._takers: dict[tuple[str, int], object] = {}  # (column, segment) -> rows -> array
        self.damaged = False  # a file shrank under its mappings (storage.guard): unusable

    def types(self) -> dict[str, SqlType]:
        return self._types

    @property
    def row_count(self) -> int:
        return sum(s.rows for s in self.snapshot.manifest.segments)

    def segment_rows(self) -> list[int]:
        return [s.rows for s in self.snapshot.manifest.segments]

    def zones(self, column: str) -> list[np.ndarray]:
        if column not in self._zones:
            self._zones[column] = self.snapshot.zones(column)
        return self._zones[column]

    def morsels(self, ranges: dict, stats: PruneStats | None = None,
                rows: int = MORSEL_ROWS) -> list[Morsel]:
        """Morsels whose zone-map blocks may hold rows inside every range in ``ranges``
        (column -> (lo, hi) on the zone map's int64 scale, None for unbounded). Cached:
        this version's zone maps never change."""
        key = (tuple(sorted(ranges.items())), rows)
        if key not in self._morsels:
            st = PruneStats()
            self._morsels[key] = (self._prune(ranges, st, rows), st)
        out, st = self._morsels[key]
        if stats is not None:
            stats.blocks += st.blocks
            stats.skipped += st.skipped
        return out

    def bounds(self, column: str) -> tuple[int, int]:
        """The column's min and max over every segment (zone maps; (0, 0) if all NULL)."""
        if column not in self._bounds:
            from mapdb.storage.zonemap import ZONE_ROWS
            lo = hi = None
            for z, n in zip(self.zones(column), self.segment_rows(), strict=True):
                real = z[:, 2] < np.minimum(ZONE_ROWS, n - np.arange(len(z)) * ZONE_ROWS)
                if real.any():
                    zlo, zhi = int(z[real, 0].min()), int(z[real, 1].max())
                    lo = zlo if lo is None else min(lo, zlo)
                    hi = zhi if hi is None else max(hi, zhi)
            self._bounds[column] = (0, 0) if lo is None else (lo, hi)
        return self._bounds[column]

    def unique_values(self, column: str) -> bool:
        """Whether the integer ``column`` holds each value once, found from the data (for
        estimates: a dimension's key without a declared index, see joinorder): no when its
        bounds span fewer values than rows; a sorted column has no equal neighbours; an
        unsorted one up to UNIQUE_CHECK_ROWS rows is counted; larger ones (and sorted ones
        over UNIQUE_SORTED_ROWS) are not assumed unique. Cached (a snapshot does not
        change)."""
        if column not in self._unique:
            self._unique[column] = self._check_unique(column)
        return self._unique[column]

    def _check_unique(self, column: str) -> bool:
        t = self.snapshot.manifest.column(column).type
        rows = self.row_count
        if t.is_dictionary or t.is_variable or self._types[column].kind != "int" or not rows:
            return False
        lo, hi = self.bounds(column)
        if hi - lo + 1 < rows:
            return False
        parts = [p.data for p in self._physical(column, "none")]
        if self.index_on(column, "sorted") is not None and rows <= UNIQUE_SORTED_ROWS:
            last = None
            for d in parts:
                if len(d) and ((last is not None and d[0] <= last) or
                               not bool(np.all(d[1:] > d[:-1]))):
                    return False
                last = d[-1] if len(d) else last
            return True
        if rows > UNIQUE_CHECK_ROWS:
            return False
        return len(np.unique(np.concatenate(parts))) == rows

    def _sorted_spans(self, ranges: dict) -> list[tuple[int, int]] | None:
        """Per segment, rows [a, b) that a range on a sorted column allows (binary search
        on the mapped values); None when no ranged column is sorted."""
        from mapdb.storage.index import sorted_rows
        spans = None
        for col, (lo, hi, is_float) in ranges.items():
            if is_float or self.index_on(col, "sorted") is None:
                continue
            parts = self._physical(col, "none")
            segs = self.snapshot.manifest.segments
            cur = []
            for p, seg in zip(parts, segs, strict=True):
                r = seg.columns[self.snapshot.manifest.column(col).id].sorted
                if r is None or (lo is not None and r[1] < lo) or (hi is not None and r[0] > hi):
                    cur.append((0, 0))
                else:
                    cur.append(sorted_rows(p, lo, hi))
            spans = cur if spans is None else [(max(a, c), min(b, d)) for (a, b), (c, d)
                                               in zip(spans, cur, strict=True)]
        return spans

    def _prune(self, ranges: dict, stats: PruneStats, rows: int) -> list[Morsel]:
        from mapdb.storage.zonemap import ZONE_ROWS
        out = []
        spans = self._sorted_spans(ranges)
        segs = self.snapshot.manifest.segments
        for i, n in enumerate(self.segment_rows()):
            blocks = (n + ZONE_ROWS - 1) // ZONE_ROWS
            keep = np.ones(blocks, bool)
            for col, (lo, hi, is_float) in ranges.items():
                z = self.zones(col)[i]
                ok = z[:, 2] < np.minimum(ZONE_ROWS, n - np.arange(blocks) * ZONE_ROWS)
                if is_float:
                    ok &= _float_blocks(z, lo, hi, segs[i].zonemap >= 3)
                else:
                    if lo is not None:
                        ok &= z[:, 1] >= lo
                    if hi is not None:
                        ok &= z[:, 0] <= hi
                keep &= ok
            stats.blocks += blocks
            stats.skipped += int(blocks - keep.sum())
            per = max(rows // ZONE_ROWS, 1)
            b = 0
            while b < blocks:
                if not keep[b]:
                    b += 1
                    continue
                e = b
                while e < blocks and keep[e] and e - b < per:
                    e += 1
                lo, hi = b * ZONE_ROWS, min(e * ZONE_ROWS, n)
                if spans is not None:
                    lo, hi = max(lo, spans[i][0]), min(hi, spans[i][1])
                if hi > lo:
                    out.append(Morsel(i, lo, hi))
                b = e
        return out

    def arrays(self, m: Morsel, columns: list[str]) -> dict[str, pa.Array]:
        """Arrow views of the morsel's rows (decimals: their stored narrow ints, widened to
        int64 for this morsel only; strings and binaries: their offsets copied, see
        _variable_morsel)."""
        out = {}
        for c in columns:
            t = self._types[c]
            if t.nested:
                out[c] = self._nested_morsel(c, m)
            elif t.kind == "decimal" and t.wide:  # 16-byte values: read as decimal128(38, s)
                a = self._fixed_morsel(c, m)   # without a copy (the same layout)
                out[c] = pa.Array.from_buffers(t.arrow, len(a), a.buffers(), a.null_count,
                                               a.offset)
            elif t.kind == "decimal":
                out[c] = self._decimal_morsel(c, m)
            elif c in self._variable:
                out[c] = self._variable_morsel(c, m)
            else:
                out[c] = self._fixed_morsel(c, m)
        return out

    def _nested_morsel(self, column: str, m: Morsel) -> pa.Array:
        """A LIST or STRUCT column's rows: a slice of the segment's array over the mapped
        files (storage.segment.open_column: the children's buffers mapped, a list's offsets
        copied and checked when the segment's column was opened)."""
        a = self.snapshot.column_chunks(column)[m.segment].slice(m.start, m.rows)
        t = self._types[column]
        return a if a.type == t.arrow else a.cast(t.arrow)

    def _fixed_morsel(self, column: str, m: Morsel) -> pa.Array:
        """The morsel's rows of a fixed-width column as views over the mappings the kernels
        read (PhysicalColumn), so ``release`` unmaps what a streamed scan read. Booleans,
        and a morsel whose validity bits do not start on a byte: a slice of the Arrow
        column (mapped separately)."""
        ctype = self.snapshot.manifest.column(column).type
        p = self._physical(column)[m.segment]
        if ctype.kind == "bool" or (p.validity is not None and m.start % 8):
            return self.snapshot.column_chunks(column)[m.segment].slice(m.start, m.rows)
        bits = None if p.validity is None else \
            pa.py_buffer(p.validity[m.start // 8:(m.stop + 7) // 8])
        values = pa.py_buffer(p.data[m.start:m.stop])
        if ctype.is_dictionary:  # (the codes file's checksum was checked)
            codes = pa.Array.from_buffers(pa.int32(), m.rows, [bits, values])
            return pa.DictionaryArray.from_arrays(codes, self.dictionary(column), safe=False)
        return pa.Array.from_buffers(ctype.arrow_type, m.rows, [bits, values])

    def _variable_morsel(self, column: str, m: Morsel) -> pa.Array:
        """The morsel's strings with their offsets copied out of the mapping and checked
        (non-decreasing, inside the data); the bytes stay mapped. A file truncated by
        another process under the scan reads as zeros past its new end (the SIGBUS guard's
        patch pages, or the kernel's own zero-filled tail of the last page), and Arrow,
        which trusts offsets, would read outside the data on the first decreasing pair:
        the copy is checked once and stays as checked. About 1 MB per morsel."""
        a = self.snapshot.column_chunks(column)[m.segment]
        p = self._physical(column)[m.segment]  # the kernels' mappings: see _fixed_morsel
        offs = p.offsets[m.start:m.stop + 1].copy()
        lo, hi, size = int(offs[0]), int(offs[-1]), len(p.data)
        offs -= lo
        if not (0 <= lo <= hi <= size) or _ext.offsets_error(offs, hi - lo) >= 0:
            from mapdb.errors import CorruptionError
            raise CorruptionError(f"table {self.name!r}, column {column!r}: string offsets "
                                  f"of rows {m.start}..{m.stop} point outside the data (a "
                                  f"file shrank or was damaged under the scan)")
        part = a.slice(m.start, m.rows)
        bits = None if part.null_count == 0 else _validity(part)
        return pa.Array.from_buffers(a.type, m.rows, [bits, pa.py_buffer(offs),
                                                      pa.py_buffer(p.data[lo:hi])])

    def gather(self, m: Morsel, columns: list[str], rows: np.ndarray) -> dict[str, pa.Array]:
        """Only the given rows (offsets in the morsel) of each column: numpy gathers from
        the mapped buffers for fixed-width columns without NULLs, Arrow's take otherwise."""
        out = {}
        for c in columns:
            t = self._types[c]
            if t.nested:
                out[c] = self._nested_morsel(c, m).take(pa.array(rows))
                continue
            p = self._physical(c)[m.segment]
            kind = self.physical_kind(c)
            if p.validity is None and kind not in (None, "string") and t.kind != "bool":
                vals = p.data[m.start:m.stop][rows]
                if self.is_dictionary(c):
                    out[c] = pa.DictionaryArray.from_arrays(
                        pa.Array.from_buffers(pa.int32(), len(vals), [None, pa.py_buffer(
                            vals)]), self.dictionary(c))
                    continue
                if t.kind == "decimal" and not t.wide:
                    vals = vals.astype(np.int64)
                out[c] = pa.Array.from_buffers(t.arrow, len(vals), [None, pa.py_buffer(vals)])
                continue
            a = self.arrays(m, [c])[c]
            out[c] = a.take(pa.Array.from_buffers(pa.int32(), len(rows), [
                None, pa.py_buffer(np.ascontiguousarray(rows, np.int32))]))
        return out

    def _decimal_morsel(self, column: str, m: Morsel) -> pa.Array:
        p = self._physical(column)[m.segment]
        values = p.data[m.start:m.stop].astype(np.int64)
        validity = None
        if p.validity is not None:
            if m.start % 8:  # morsels start on zone-map blocks; keep the general case right
                bits = np.unpackbits(p.validity, bitorder="little")[m.start:m.stop]
                validity = np.packbits(bits, bitorder="little")
            else:
                validity = p.validity[m.start // 8:(m.stop + 7) // 8]
        return pa.Array.from_buffers(pa.int64(), m.rows, [
            None if validity is None else pa.py_buffer(validity), pa.py_buffer(values)])

    # -- indexes -----------------------------------------------------------------------
    def index_on(self, column: str, kind: str):
        """The IndexMeta of a ``kind`` index ("hash", "sorted") on ``column``, or None."""
        m = self.snapshot.manifest
        spec = m.column(column)
        found = m.indexes_on(spec.id, kind)
        return min(found, key=lambda ix: not ix.unique) if found else None

    def sorted_key_rows(self, column: str, keys: np.ndarray) -> list[np.ndarray]:
        """Per segment, the rows (ascending) whose value of ``column``, a sorted integer
        column, is one of ``keys`` (sorted, unique int64): a galloping search per key in
        the mapped values (``_ext.sorted_key_runs``), no scan."""
        col_id = self.snapshot.manifest.column(column).id
        out = []
        for p, seg in zip(self._physical(column, "none"),
                          self.snapshot.manifest.segments, strict=True):
            r = seg.columns[col_id].sorted
            if r is None or not len(keys):
                out.append(np.zeros(0, np.int64))
                continue
            k = keys[(keys >= r[0]) & (keys <= r[1])]
            if p.data.dtype == np.int64 and p.data.flags.c_contiguous:
                lo, hi = _ext.sorted_key_runs(p.data, k)
            else:
                lo, hi = np.searchsorted(p.data, k, "left"), np.searchsorted(p.data, k,
                                                                             "right")
            count = hi - lo
            total = int(count.sum())
            starts = np.cumsum(count) - count
            out.append(np.repeat(lo - starts, count) + np.arange(total, dtype=np.int64))
        return out

    def hash_index(self, column: str):
        """The storage HashIndex on ``column`` (mapped on first use, kept with the source)."""
        with self._index_lock:
            if column not in self._hash:
                from mapdb.storage.index import open_hash_index
                meta = self.index_on(column, "hash")
                self._hash[column] = open_hash_index(self.snapshot, meta)
            return self._hash[column]

    def lookup_rows(self, column: str, keys) -> dict[int, np.ndarray]:
        """Per segment position, the rows (ascending) whose ``column`` equals one of
        ``keys`` (stored scale; strings for dictionary columns), through its hash index."""
        ix = self.hash_index(column)
        if self.is_dictionary(column):
            keys = [c for c in (self.dictionary_code(column, k) for k in keys) if c is not None]
        return ix.lookup(list(keys))

    def take(self, segment: int, columns: list[str], rows: np.ndarray) -> dict[str, pa.Array]:
        """Rows of one segment by position, reading only the pages that hold them (point
        lookups; storage.scan.take). Internal representation, as ``arrays``, except that
        dictionary columns come decoded (a few rows: cheaper than decoding at output)."""
        out = {}
        for c in columns:
            if self._types[c].nested:  # (the segment's array over the mapped files)
                a = self.snapshot.column_chunks(c)[segment].take(pa.array(rows))
                out[c] = a if a.type == self._types[c].arrow else a.cast(self._types[c].arrow)
                continue
            fn = self._takers.get((c, segment))
            if fn is None:
                from mapdb.storage.scan import taker
                fn = self._takers[(c, segment)] = taker(
                    self._physical(c, "rows")[segment],
                    self.dictionary(c) if self.is_dictionary(c) else None,
                    decimal_as_int64=True, decode=True)
            out[c] = fn(rows)
        return out

    # -- page cache: what the executor advises before and during a scan ----------------
    def _spans(self, columns: list[str], morsels: list[Morsel]):
        """Per (column, segment): the row span the morsels cover."""
        spans: dict[int, list[int]] = {}
        for m in morsels:
            lo_hi = spans.setdefault(m.segment, [m.start, m.stop])
            lo_hi[0], lo_hi[1] = min(lo_hi[0], m.start), max(lo_hi[1], m.stop)
        for c in self._flat(columns):
            parts = self._physical(c, "none")
            for seg, (lo, hi) in spans.items():
                yield parts[seg], lo, hi

    def residency(self, columns: list[str], morsels: list[Morsel]) -> float | None:
        """Fraction of the bytes the scan will read that are in the page cache now."""
        resident, total = self.residency_bytes(columns, morsels)
        return resident / total if total else None

    def residency_bytes(self, columns: list[str], morsels: list[Morsel]) -> tuple[int, int]:
        """(bytes in the page cache now, bytes) of what the scan will read."""
        resident = total = 0
        for p, lo, hi in self._spans(columns, morsels):
            r, t = p.residency(lo, hi)
            resident += r
            total += t
        self._all_resident = total > 0 and resident == total
        return resident, total

    def drop_behind(self, columns: list[str], m: Morsel) -> None:
        """A cold scan is done with morsel ``m``: its pages leave the page cache
        (madvise + fadvise DONTNEED; pages another mapping still maps stay), so reading
        a table larger than the cache does not push out another table's working set. A
        later read of these rows reads the disk again (a zero-copy array of them too)."""
        for c in self._flat(columns):
            self._physical(c, "none")[m.segment].advise(m.start, m.stop, "dontneed")

    def prepare(self, columns: list[str], morsels: list[Morsel]) -> None:
        """Before a scan: SEQUENTIAL on the ranges it covers (aggressive read-ahead, pages
        behind the cursor freed first), WILLNEED on its first morsels."""
        for p, lo, hi in self._spans(columns, morsels):
            p.advise(lo, hi, "sequential")
        if self._all_resident:  # nothing to read: WILLNEED would only walk the page cache
            return
        for i in range(min(PREFETCH_MORSELS, len(morsels))):
            self._willneed(columns, morsels[i])

    def prefetch(self, columns: list[str], morsels: list[Morsel], i: int) -> None:
        """While morsel ``i`` runs: WILLNEED on the morsel PREFETCH_MORSELS ahead, so its
        pages are read asynchronously before a worker faults on them."""
        j = i + PREFETCH_MORSELS
        if j < len(morsels) and not self._all_resident:
            self._willneed(columns, morsels[j])

    def release(self, columns: list[str], m: Morsel) -> None:
        """A streamed result is done with morsel ``m``: its pages leave this process's
        RSS (they stay in the page cache; see PhysicalColumn.release), so reading a
        result of any size keeps about a window of morsels mapped in."""
        for c in self._flat(columns):
            self._physical(c, "none")[m.segment].release(m.start, m.stop)

    def _willneed(self, columns: list[str], m: Morsel) -> None:
        for c in self._flat(columns):
            self._physical(c, "none")[m.segment].advise(m.start, m.stop, "willneed")

    def _flat(self, columns: list[str]) -> list[str]:
        """The columns page-cache advice covers: LIST and STRUCT columns (files per child,
        row spans that are not element spans) are left to the kernel's read-ahead."""
        return [c for c in columns if not self._types[c].nested]

    # -- what the fused kernels need: raw buffers and dictionaries --------------------
    def is_dictionary(self, column: str) -> bool:
        return self.snapshot.manifest.column(column).type.is_dictionary

    def dictionary(self, column: str) -> pa.Array:
        return self.snapshot.dictionary(self.snapshot.manifest.column(column))

    def dictionary_size(self, column: str) -> int:
        return len(self.dictionary(column))

    def dictionary_code(self, column: str, value: str) -> int | None:
        if column not in self._codes:
            d = self.dictionary(column)
            self._codes[column] = {v: i for i, v in enumerate(d.to_pylist())}
        return self._codes[column].get(value)

    def physical_kind(self, column: str) -> str | None:
        """The dtype name kernels read the column as (None: no kernel form)."""
        if column not in self._kinds:
            self._kinds[column] = self._physical_kind(column)
        return self._kinds[column]

    def _physical_kind(self, column: str) -> str | None:
        t = self.snapshot.manifest.column(column).type
        if t.is_dictionary:
            return "int32"
        if t.kind == "string":
            return "string"
        if t.is_variable or t.kind == "bool" or t.is_nested:
            return None
        if t.kind == "decimal":
            kinds = {p.data.dtype.name for p in self._physical(column, "none")}
            return kinds.pop() if len(kinds) == 1 else "int64"  # per segment, all kernel kinds
        return t.storage_numpy_dtype.name

    def row_width(self, column: str) -> float:
        """Average bytes per row a kernel reads from the column's data."""
        if self._types[column].nested:  # (no kernel reads one: a nominal width)
            return 16.0
        parts = self._physical(column, "none")
        rows = sum(p.rows for p in parts)
        return sum(p.data.nbytes for p in parts) / rows if rows else 0.0

    def _physical(self, column: str, check: str = "whole") -> list:
        """The column's PhysicalColumns, validated for ``check`` (Snapshot.physical):
        "whole" for kernels, "rows" for row lookups, "none" for advice, residency,
        dtypes and binary searches on sorted numbers."""
        key = (column, check)
        got = self._phys.get(key)
        if got is None:
            got = self._phys[key] = self.snapshot.physical(column, check)
        return got

    def physical(self, column: str) -> list[tuple]:
        """Per segment: (values, validity bitmap or None, kind, offsets or None), views of
        the files; kind is the dtype name, or "string" (values are then the bytes)."""
        kind = self.physical_kind(column)
        return [(p.data, p.validity, kind if kind == "string" else p.data.dtype.name,
                 p.offsets) for p in self._physical(column)]

    def close(self) -> None:
        with self._index_lock:
            for ix in self._hash.values():
                ix.close()
            self._hash.clear()
        self.snapshot.close()


class RowRangeSource(TableSource):
    """A TableSource that reads only some rows of its version: ``spans`` maps a segment's
    position in the manifest to the rows ``(start, stop)`` of it to read; segments not
    named are not read. A query over it sees exactly those rows, whatever path it takes
    (morsels for the general path, the fused kernel and zone-map top-N, hash-index probes),
    so a table version can be cut into parts that are queried independently and whose
    partial answers are combined (mapdb.api.parts, mapdb.dask).

    Only ``morsels`` and ``lookup_rows`` narrow; everything else (zone maps, bounds,
    dictionaries, physical columns) stays the whole version's: bounds over more rows are
    a superset of the part's, which is all the planner and the kernels rely on.

    >>> import tempfile, mapdb
    >>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
    >>> t = db.create_table("t", {"x": list(range(10))})
    >>> src = RowRangeSource("t", db._store.snapshot("t"), {0: (3, 7)})
    >>> [(m.segment, m.start, m.stop) for m in src.morsels({})], src.row_count
    ([(0, 3, 7)], 4)
    >>> src.close()
    """

    def __init__(self, name: str, snapshot, spans: dict[int, tuple[int, int]]):
        super().__init__(name, snapshot)
        rows = self.segment_rows()
        self.spans: dict[int, tuple[int, int]] = {}
        for seg, (start, stop) in sorted(spans.items()):
            if not (0 <= seg < len(rows) and 0 <= start <= stop <= rows[seg]):
                snapshot.close()
                raise ValueError(f"table {name!r} version {snapshot.version}: no rows "
                                 f"[{start}, {stop}) in segment {seg} (segments: "
                                 f"{len(rows)}, rows {rows[seg] if 0 <= seg < len(rows) else '-'})")
            if stop > start:
                self.spans[seg] = (start, stop)

    @property
    def row_count(self) -> int:
        return sum(stop - start for start, stop in self.spans.values())

    def morsels(self, ranges: dict, stats: PruneStats | None = None,
                rows: int = MORSEL_ROWS) -> list[Morsel]:
        """The whole version's morsels (zone-map pruned) cut to the spans. ``stats``
        counts the zone-map blocks inside the spans and those of them no morsel reads."""
        from mapdb.storage.zonemap import ZONE_ROWS
        out = []
        for m in super().morsels(ranges, None, rows):
            span = self.spans.get(m.segment)
            if span is not None and min(m.stop, span[1]) > max(m.start, span[0]):
                out.append(Morsel(m.segment, max(m.start, span[0]), min(m.stop, span[1])))
        if stats is not None:
            def blocks(a: int, b: int) -> int:
                return (b + ZONE_ROWS - 1) // ZONE_ROWS - a // ZONE_ROWS
            total = sum(blocks(a, b) for a, b in self.spans.values())
            stats.blocks += total
            stats.skipped += total - sum(blocks(m.start, m.stop) for m in out)
        return out

    def lookup_rows(self, column: str, keys) -> dict[int, np.ndarray]:
        """The index probe's rows that fall inside the spans."""
        out = {}
        for seg, rows in super().lookup_rows(column, keys).items():
            span = self.spans.get(seg)
            if span is not None:
                rows = rows[(rows >= span[0]) & (rows < span[1])]
                if len(rows):
                    out[seg] = rows
        return out
