"""The physical scan API: one column of one segment as scan kernels see it.

A :class:`PhysicalColumn` holds numpy views straight over the mapped column files (no
copy; the header page is skipped, so ``data[0]`` is the first value) plus the page-cache
controls a scan needs: ``advise`` (madvise on the byte ranges that hold a run of rows) and
``residency`` (mincore on them). Only the storage layer touches mappings; the executor gets
them from ``Snapshot.physical(name)``, one PhysicalColumn per segment in manifest order.

Each view keeps its mapping alive (it holds a buffer export of the ``_ext.Mapping``), so
arrays stay valid after the snapshot is closed. The PhysicalColumn keeps its mappings open
(one file descriptor each: data, and validity/offsets when present) until ``close()`` or
the snapshot's ``close()``; after that the views still read, but ``advise`` and
``residency`` raise ValueError.

>>> import os, tempfile, decimal
>>> import pyarrow as pa
>>> from mapdb.storage.database import DatabaseStore
>>> db = DatabaseStore(os.path.join(tempfile.mkdtemp(), "db"))
>>> t = pa.table({"x": pa.array([3, None, 5], pa.int32()),
...               "m": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-0.50")],
...                             pa.decimal128(12, 2)),
...               "s": pa.array(["ab", "", "cde"])})
>>> w = db.create_writer("t", t.schema, None, dictionary=None)
>>> w.write(t); _ = w.commit(); w.close()
>>> snap = db.snapshot("t")
>>> snap.segment_rows()
[3]
>>> x = snap.physical("x")[0]
>>> x.data.dtype.name, x.rows, x.null_count, x.validity.tolist()   # LSB first: rows 0, 2
('int32', 3, 1, [5])
>>> x.data[[0, 2]].tolist()
[3, 5]
>>> m = snap.physical("m")[0]                 # decimal(12,2) as scaled int8: 1 byte per row
>>> m.data.dtype.name, m.data.tolist()       # the null slot holds 0
('int8', [125, 0, -50])
>>> s = snap.physical("s")[0]
>>> s.offsets.tolist(), s.data.tobytes()
([0, 2, 2, 5], b'abcde')
>>> s.residency(2, 3)[1]        # bytes holding row 2: offsets[2:4] (16) + data[2:5] (3)
19
>>> s.advise(0, 3, "willneed")
>>> [os.path.basename(p) for p in x.files()]
['c1.data', 'c1.zones', 'c1.valid']
>>> snap.close()
>>> int(x.data[2])                             # views outlive the snapshot
5
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass, field

import numpy as np

from mapdb import _ext
from mapdb.storage import segment
from mapdb.storage.header import HEADER_SIZE, BufferKind
from mapdb.storage.types import ColumnType

_TWO_WORDS = struct.Struct("<qq")  # a decimal128 value: low word, sign-extended high word
ADVICE = {"sequential": _ext.Advice.SEQUENTIAL, "willneed": _ext.Advice.WILLNEED,
          "random": _ext.Advice.RANDOM, "dontneed": _ext.Advice.DONTNEED,
          "normal": _ext.Advice.NORMAL}
_PAGE = _ext.PAGE_SIZE


@dataclass(eq=False)
class PhysicalColumn:
    """One column of one segment as scan kernels see it: views over the mapped files, no copy.

    ``data``: int8/16/32/64 scaled values for decimals (the segment's stored width: see
    ``data.dtype``; scale from ``ctype.decimal_params``), the declared dtype for ints,
    uints and floats, int32 for date32 and dictionary codes (into
    ``Snapshot.dictionary(spec)``), int64 for timestamps, uint8 packed LSB-first bits for
    bool (``ceil(rows / 8)`` bytes), uint8 bytes for string/binary. ``validity``: uint8
    packed LSB-first bitmap (1 = valid), None when the segment has no nulls.
    ``offsets``: ``rows + 1`` int64 offsets into ``data`` for string/binary, else None.
    ``zones``: (blocks, 3) int64 [min, max, nulls] per ZONE_ROWS rows (see zonemap.py).
    A value behind a null slot is unspecified (0 in narrow decimals).

    Opened unchecked: advice, residency and row lookups (``taker``, which checks what it
    takes) read no steering buffer whole. ``check()`` runs storage.validate over the
    buffers before a kernel scans them (``Snapshot.physical`` does, unless asked not to).
    """

    name: str
    ctype: ColumnType
    rows: int
    data: np.ndarray
    validity: np.ndarray | None
    offsets: np.ndarray | None
    null_count: int
    zones: np.ndarray
    _maps: dict[BufferKind, _ext.Mapping] = field(default_factory=dict, repr=False)
    _paths: tuple[str, ...] = field(default=(), repr=False)
    _unchecked: tuple | None = field(default=None, repr=False)  # validate.column's args
    _rows_checked: bool = field(default=False, repr=False)

    def check(self, whole: bool = True) -> PhysicalColumn:
        """Validate the buffers kernels follow (storage.validate; once per file per
        process): CorruptionError naming the file if one is damaged. Not ``whole``: what
        reading single rows needs (offsets and validity; see validate.steering)."""
        args = self._unchecked
        if args is not None and (whole or not self._rows_checked):
            from mapdb.storage import validate
            d, files = args
            validate.column(d, self.ctype, files, self._maps, whole)
            self._rows_checked = True
            if whole:
                self._unchecked = None
        return self

    # -- byte ranges ---------------------------------------------------------------------
    def _ranges(self, start_row: int, end_row: int | None) -> list[tuple[_ext.Mapping, int, int]]:
        """(mapping, lo, hi): the data-relative byte ranges [lo, hi) holding the rows."""
        end = self.rows if end_row is None else end_row
        if not 0 <= start_row <= end <= self.rows:
            raise ValueError(f"rows [{start_row}, {end}) are outside the {self.rows} rows of "
                             f"column {self.name!r} in this segment")
        if any(m.closed for m in self._maps.values()):
            raise ValueError(f"column {self.name!r}: the physical column is closed (its "
                             f"snapshot was closed); its arrays still read, advise and "
                             f"residency do not")
        if start_row == end:
            return []
        bits = (start_row // 8, (end + 7) // 8)
        out = []
        if BufferKind.VALIDITY in self._maps:
            out.append((self._maps[BufferKind.VALIDITY], *bits))
        data = self._maps[BufferKind.DATA]
        if self.offsets is not None:
            offsets = self._maps[BufferKind.OFFSETS]
            out.append((offsets, start_row * 8, (end + 1) * 8))
            out.append((data, self._offset(offsets, start_row), self._offset(offsets, end)))
        elif self.ctype.kind == "bool":
            out.append((data, *bits))
        else:
            w = self.data.dtype.itemsize
            out.append((data, start_row * w, end * w))
        return [r for r in out if r[2] > r[1]]

    @staticmethod
    def _offset(m: _ext.Mapping, i: int) -> int:
        """offsets[i] read with pread, not through the mapping: a fault on a cold page would
        read around it (megabytes with a large read_ahead_kb), so measuring residency or
        dropping pages would bring other pages in."""
        raw = os.pread(m.fileno(), 8, HEADER_SIZE + 8 * i)
        return int.from_bytes(raw, "little", signed=True)

    # -- page cache ----------------------------------------------------------------------
    def advise(self, start_row: int, end_row: int, how: str) -> None:
        """madvise the page-aligned byte ranges of data/validity/offsets (for strings and
        binaries also the data bytes between ``offsets[start_row]`` and
        ``offsets[end_row]``) that hold rows ``[start_row, end_row)``.

        ``how``: "sequential", "willneed", "random", "dontneed" or "normal" (ValueError
        otherwise). "dontneed" also drops the clean pages of those ranges from the page
        cache (``posix_fadvise(DONTNEED)`` after ``madvise(DONTNEED)`` unmapped them here):
        madvise alone only unmaps a file's pages. Pages that another mapping still maps
        (for example an Arrow array from ``Snapshot.column``) stay cached. Advice the kernel
        refuses with EINVAL is ignored; other errors raise OSError.
        """
        try:
            advice = ADVICE[how]
        except KeyError:
            raise ValueError(f"advice {how!r}: expected one of {', '.join(ADVICE)}") from None
        for m, lo, hi in self._ranges(start_row, end_row):
            try:
                m.advise(HEADER_SIZE + lo, hi - lo, advice)
                if advice == _ext.Advice.DONTNEED:
                    first = (HEADER_SIZE + lo) // _PAGE * _PAGE
                    last = -(-(HEADER_SIZE + hi) // _PAGE) * _PAGE
                    _ext.fadvise(m.fileno(), first, last - first, _ext.FileAdvice.DONTNEED)
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise

    def release(self, start_row: int, end_row: int) -> None:
        """Unmap the pages holding rows ``[start_row, end_row)`` from this process
        (``madvise(DONTNEED)`` on the mappings only, not the page cache): they leave its
        RSS and stay cached; a later read faults them back in. For a long read that is
        done with these rows (a streamed result). Locked pages (EINVAL) are left alone."""
        for m, lo, hi in self._ranges(start_row, end_row):
            try:
                m.advise(HEADER_SIZE + lo, hi - lo, _ext.Advice.DONTNEED)
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise

    def residency(self, start_row: int = 0, end_row: int | None = None) -> tuple[int, int]:
        """(resident_bytes, total_bytes) of the byte ranges holding rows
        ``[start_row, end_row)`` (as in ``advise``; total = their exact sizes), measured
        with mincore on the mappings: a byte counts as resident when its page is in the
        page cache."""
        resident = total = 0
        for m, lo, hi in self._ranges(start_row, end_row):
            a, b = HEADER_SIZE + lo, HEADER_SIZE + hi
            cached = m.residency_map(a, b - a)
            first = a // _PAGE * _PAGE
            covered = np.full(len(cached), _PAGE, np.int64)  # bytes of [a, b) in each page
            covered[0] -= a - first
            covered[-1] -= first + len(cached) * _PAGE - b
            resident += int(covered[cached].sum())
            total += b - a
        return resident, total

    def advise_all(self, how: str) -> None:
        """madvise every mapping of this column whole (e.g. "random" for point lookups:
        a fault then reads its own page, not the pages around it)."""
        for m in self._maps.values():
            if not m.closed:
                m.advise(0, None, ADVICE[how])

    def arrow(self, dictionary=None, safe: bool = True):
        """The column as an Arrow array over the same mappings (no copy; not for decimals,
        whose Arrow type is wider than their stored width). Dict columns: a
        DictionaryArray over ``dictionary``, or the int32 codes without one; ``safe``:
        Arrow checks every code against the dictionary (False for an array that is only
        sliced or taken from, its parts checked as they are handed out)."""
        import pyarrow as pa
        t, n = self.ctype, self.rows
        if t.kind == "decimal":
            raise ValueError(f"column {self.name!r}: decimals have no zero-copy Arrow form")
        vbuf = None if self.validity is None else pa.py_buffer(self.validity)
        if self.offsets is not None:
            return pa.Array.from_buffers(t.arrow_type, n, [vbuf, pa.py_buffer(self.offsets),
                                                           pa.py_buffer(self.data)],
                                         self.null_count)
        if t.is_dictionary:
            codes = pa.Array.from_buffers(pa.int32(), n, [vbuf, pa.py_buffer(self.data)],
                                          self.null_count)
            return codes if dictionary is None else pa.DictionaryArray.from_arrays(
                codes, dictionary, safe=safe)
        return pa.Array.from_buffers(t.arrow_type, n, [vbuf, pa.py_buffer(self.data)],
                                     self.null_count)

    def files(self) -> list[str]:
        """Paths of this column's files in this segment: data, zones, then validity and
        offsets when present (dictionary chunks of dict columns are table-wide, not here)."""
        return list(self._paths)

    def close(self) -> None:
        """Close the mappings' descriptors; the arrays stay valid until released."""
        for m in self._maps.values():
            m.close()


def take(p: PhysicalColumn, rows: np.ndarray, dictionary=None,
         decimal_as_int64: bool = False, decode: bool = False):
    """Rows ``rows`` (int64 positions, any order) of a segment's column as an Arrow array,
    reading only the pages that hold them: fixed-width values and validity bits by numpy
    gathers, strings through their offsets. Types as ``Snapshot.column`` gives them
    (decimals as decimal128, or their scaled int64 with ``decimal_as_int64``; dict
    columns as a DictionaryArray over ``dictionary``, their strings with ``decode``, or
    their int32 codes without a dictionary).

    >>> import os, tempfile
    >>> import pyarrow as pa
    >>> from mapdb.storage.database import DatabaseStore
    >>> db = DatabaseStore(os.path.join(tempfile.mkdtemp(), "db"))
    >>> t = pa.table({"s": ["a", None, "ccc"], "x": pa.array([1, None, 3], pa.int16())})
    >>> w = db.create_writer("t", t.schema, None, dictionary=None); w.write(t)
    >>> _ = w.commit(); w.close(); snap = db.snapshot("t")
    >>> rows = np.array([2, 1], np.int64)
    >>> take(snap.physical("s")[0], rows).to_pylist(), take(snap.physical("x")[0], rows).to_pylist()
    (['ccc', None], [3, None])
    >>> snap.close()
    """
    return taker(p, dictionary, decimal_as_int64, decode)(rows)


def taker(p: PhysicalColumn, dictionary=None, decimal_as_int64: bool = False,
          decode: bool = False):
    """``take`` with every per-column decision made once: a function of ``rows`` (point
    lookups call it for each key, where a few microseconds per column count).

    Over an unchecked column (PhysicalColumn.check not run: a lookup reads a few rows, not
    the whole file) what is taken is checked instead: numpy's slicing keeps a damaged
    offset or code from reading outside the mapping, and the few rows' array is validated
    (about a microsecond) before it is handed out."""
    fn = _taker(p, dictionary, decimal_as_int64, decode)
    if p._unchecked is None or not (p.offsets is not None or p.ctype.is_dictionary or (
            p.ctype.kind == "decimal" and not decimal_as_int64)):
        return fn
    import pyarrow as pa

    from mapdb.errors import CorruptionError

    def checked(rows):
        check_rows(p, rows, None if dictionary is None else len(dictionary))
        try:
            out = fn(rows)
            out.validate(full=True)
            return out
        except (IndexError, ValueError, pa.ArrowException) as e:
            raise CorruptionError(
                f"{', '.join(p.files())}: rows of column {p.name!r} cannot be read "
                f"({type(e).__name__}: {e}); the files are damaged") from None
    return checked


OFFSETS_PER_PAGE = _PAGE // 8  # offsets files' data start on a page: 512 entries a page


def check_rows(p: PhysicalColumn, rows: np.ndarray, dictionary_length: int | None = None
               ) -> None:
    """Before ``rows`` (int64, inside the segment) of a column not checked whole (see
    PhysicalColumn.check) are read: CorruptionError unless their offsets lie inside the
    data and do not fall below the last offset of the page before theirs (a page of offsets
    zeroed by a power loss starts below it), and, given ``dictionary_length``, their codes
    lie inside the dictionary. Reads the rows' own pages and one entry before each."""
    if p._unchecked is None or not len(rows) or (
            p.offsets is None and not (p.ctype.is_dictionary and dictionary_length)):
        return
    from mapdb.errors import CorruptionError
    bad = None
    if p.offsets is not None and len(rows) == 1:  # a point lookup: plain ints are faster
        off, r = p.offsets, int(rows[0])
        a, b, first = int(off[r]), int(off[r + 1]), r - r % OFFSETS_PER_PAGE
        if not (0 <= a <= b <= len(p.data)) or (first and off[first] < off[first - 1]):
            bad = "string offsets outside the data or out of order"
    elif p.offsets is not None:
        off = p.offsets
        a, b = off[rows], off[rows + 1]
        first = rows // OFFSETS_PER_PAGE * OFFSETS_PER_PAGE
        first = first[first > 0]
        if (a < 0).any() or (b < a).any() or (b > len(p.data)).any() or (
                off[first] < off[first - 1]).any():
            bad = "string offsets outside the data or out of order"
    else:  # dictionary codes
        bound = max(dictionary_length, 1)
        if len(rows) == 1:
            c = int(p.data[int(rows[0])])
            out = c < 0 or c >= bound
        else:
            c = p.data[rows]
            out = bool((c < 0).any() or (c >= bound).any())
        if out:
            bad = "codes outside the dictionary"
    if bad:
        raise CorruptionError(f"{', '.join(p.files())}: column {p.name!r} has {bad}; "
                              f"the files are damaged")


def _taker(p: PhysicalColumn, dictionary, decimal_as_int64: bool, decode: bool):
    import pyarrow as pa
    t = p.ctype
    validity, data, offsets = p.validity, p.data, p.offsets
    py_buffer, from_buffers = pa.py_buffer, pa.Array.from_buffers

    def valid_buffer(rows):
        if validity is None:
            return None, 0
        if len(rows) == 1:
            r = int(rows[0])
            return (None, 0) if (int(validity[r >> 3]) >> (r & 7)) & 1 else (
                py_buffer(b"\0"), 1)
        valid = ((validity[rows >> 3] >> (rows & 7).astype(np.uint8)) & 1).astype(bool)
        nulls = len(rows) - int(np.count_nonzero(valid))
        return (py_buffer(np.packbits(valid, bitorder="little")) if nulls else None), nulls

    if offsets is not None:
        atype = t.arrow_type

        def strings(rows):
            vbuf, nulls = valid_buffer(rows)
            if len(rows) == 1:  # one row: the bytes are a view of the mapping, no copy
                r = int(rows[0])
                a, b = int(offsets[r]), int(offsets[r + 1])
                return from_buffers(atype, 1, [vbuf, py_buffer(np.array([0, b - a], np.int64)),
                                               py_buffer(data[a:b])], nulls)
            starts, ends = offsets[rows].tolist(), offsets[rows + 1].tolist()
            offs = np.zeros(len(rows) + 1, np.int64)
            np.cumsum(np.subtract(ends, starts), out=offs[1:])
            raw = b"".join([data[a:b].tobytes() for a, b in zip(starts, ends, strict=True)])
            return from_buffers(atype, len(rows), [vbuf, py_buffer(offs), py_buffer(raw)],
                                nulls)
        return strings
    if t.kind == "bool":
        def bools(rows):
            vbuf, nulls = valid_buffer(rows)
            bits = ((data[rows >> 3] >> (rows & 7).astype(np.uint8)) & 1).astype(bool)
            return from_buffers(pa.bool_(), len(rows), [vbuf, py_buffer(
                np.packbits(bits, bitorder="little"))], nulls)
        return bools
    if t.is_dictionary and decode and dictionary is not None:
        d = dictionary
        d_off = np.frombuffer(d.buffers()[1], np.int64, count=len(d) + 1, offset=d.offset * 8)
        d_data = np.frombuffer(d.buffers()[2], np.uint8) if d.buffers()[2] else \
            np.zeros(0, np.uint8)

        def decoded(rows):
            vbuf, nulls = valid_buffer(rows)
            if len(rows) == 1 and not nulls:
                code = int(data[int(rows[0])])
                a, b = int(d_off[code]), int(d_off[code + 1])
                return from_buffers(d.type, 1, [None, py_buffer(np.array([0, b - a], np.int64)),
                                                py_buffer(d_data[a:b])], 0)
            c = data[rows]
            if nulls:
                c = np.where(((validity[rows >> 3] >> (rows & 7).astype(np.uint8)) & 1) != 0,
                             c, 0)
            starts, ends = d_off[c].tolist(), d_off[c + 1].tolist()
            offs = np.zeros(len(rows) + 1, np.int64)
            np.cumsum(np.subtract(ends, starts), out=offs[1:])
            raw = b"".join([d_data[a:b].tobytes() for a, b in zip(starts, ends, strict=True)])
            return from_buffers(d.type, len(rows), [vbuf, py_buffer(offs), py_buffer(raw)],
                                nulls)
        return decoded
    if t.is_dictionary:
        dict_type = None if dictionary is None else pa.dictionary(pa.int32(), dictionary.type)

        def codes(rows):
            vbuf, nulls = valid_buffer(rows)
            vals = data[int(rows[0]):int(rows[0]) + 1] if len(rows) == 1 else data[rows]
            c = from_buffers(pa.int32(), len(rows), [vbuf, py_buffer(vals)], nulls)
            return c if dict_type is None else pa.DictionaryArray.from_arrays(c, dictionary)
        return codes
    if t.kind == "decimal" and not decimal_as_int64:
        atype = t.arrow_type

        def decimals(rows):
            vbuf, nulls = valid_buffer(rows)
            if len(rows) == 1:  # one row: two words packed in Python beat numpy's set-up
                v = int(data[int(rows[0])])
                return from_buffers(atype, 1, [vbuf, py_buffer(_TWO_WORDS.pack(v, v >> 63))],
                                    nulls)
            wide = np.empty(2 * len(rows), np.int64)
            wide[0::2] = data[rows]
            wide[1::2] = wide[0::2] >> 63
            return from_buffers(atype, len(rows), [vbuf, py_buffer(wide)], nulls)
        return decimals
    atype = pa.int64() if t.kind == "decimal" else t.arrow_type
    wide = t.kind == "decimal" and data.dtype != np.int64

    def values(rows):
        vbuf, nulls = valid_buffer(rows)
        v = data[int(rows[0]):int(rows[0]) + 1] if len(rows) == 1 else data[rows]
        return from_buffers(atype, len(rows), [vbuf, py_buffer(v.astype(np.int64) if wide
                                                               else v)], nulls)
    return values


def _data_dtype(ctype: ColumnType, width: int | None) -> np.dtype:
    if ctype.kind == "decimal":
        return np.dtype(f"<i{width}")
    if ctype.kind == "bool" or ctype.is_variable:
        return np.dtype(np.uint8)
    return ctype.storage_numpy_dtype


def open_physical(segments_dir: str, seg: segment.SegmentMeta, spec: segment.ColumnSpec,
                  table_id: bytes) -> PhysicalColumn:
    """Map one column of one segment for a scan, unchecked (see PhysicalColumn)."""
    d = os.path.join(segments_dir, seg.dirname)
    files = seg.columns[spec.id]
    maps = segment.map_column(d, seg, spec, table_id, check=False)
    try:
        zones = segment.open_zones(segments_dir, seg, spec, table_id)
        t, n = spec.type, seg.rows

        def view(kind: BufferKind, dtype, count: int) -> np.ndarray:
            return np.frombuffer(maps[kind], dtype, count=count, offset=HEADER_SIZE)

        dtype = _data_dtype(t, files.data_width(t))
        count = (n + 7) // 8 if t.kind == "bool" else (
            files.data.length if t.is_variable else n)
        return PhysicalColumn(
            name=spec.name, ctype=t, rows=n, data=view(BufferKind.DATA, dtype, count),
            validity=(view(BufferKind.VALIDITY, np.uint8, (n + 7) // 8)
                      if files.validity else None),
            offsets=view(BufferKind.OFFSETS, np.dtype("<i8"), n + 1) if files.offsets else None,
            null_count=files.null_count, zones=zones, _maps=maps,
            _paths=tuple(os.path.join(d, ref.name) for _, ref in files.refs()),
            _unchecked=(d, files))
    except BaseException:
        for m in maps.values():
            m.close()
        raise
