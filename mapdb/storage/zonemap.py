"""Zone maps: min, max and null count per block of ZONE_ROWS rows, for every column.

Stored per column per segment as an int64 array of shape (blocks, 3). Min and max are the
values themselves for integer-like types (ints, dates, timestamps, scaled decimals, bools,
dictionary codes; uint64 as its bit pattern, so read it back with ``view(np.uint64)``),
the IEEE bits of a float64 for floats (in DuckDB's order: a block holding a NaN has NaN as
its max; its min is NaN only if every value is), and the first 8 bytes (big-endian,
zero-padded) for strings and binaries, so prefix order equals byte order. A block whose
null count equals its row count has no meaningful min/max.

>>> import pyarrow as pa
>>> from mapdb.storage.types import ColumnType
>>> z = build(pa.array([3, None, 1, 7], pa.int64()), ColumnType("int64"), block_rows=2)
>>> z.tolist()
[[3, 3, 1], [1, 7, 0]]
>>> build(pa.array([5, 6, 4], pa.int64()), ColumnType("int64")).tolist()
[[4, 6, 0]]

Segments written before mapdb recorded ``"zonemap": 2`` in the manifest have unreliable
zone maps (null counts of blocks without nulls said "all null", decimal min/max were
read from the wrong words); readers rebuild those from the data (segment.open_zones).
Version 2 float maxima leave NaN out: a range that admits NaN cannot prune on them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.storage.types import ColumnType

ZONE_ROWS = 16384


def _valid_mask(arr: pa.Array) -> np.ndarray | None:
    if arr.null_count == 0:
        return None
    return arr.is_valid().to_numpy(zero_copy_only=False)


def _prefix(value: bytes | str | None) -> int:
    if value is None:
        return 0
    b = value.encode() if isinstance(value, str) else value
    return int.from_bytes(b[:8].ljust(8, b"\0"), "big") - (1 << 63)  # signed, order kept


def build(arr: pa.Array, ctype: ColumnType, block_rows: int = ZONE_ROWS) -> np.ndarray:
    """Zone map of ``arr`` (already in storage form: dict columns as int32 codes)."""
    n = len(arr)
    starts = np.arange(0, n, block_rows)
    out = np.zeros((len(starts), 3), dtype=np.int64)
    if n == 0:
        return out
    valid = _valid_mask(arr)
    counts = np.diff(np.append(starts, n))
    if valid is not None:  # else no nulls: the column stays 0
        out[:, 2] = counts - np.add.reduceat(valid, starts)
    if ctype.is_nested:  # a LIST or STRUCT: only the null counts (no order to bound)
        return out
    if ctype.is_variable:
        for i, s in enumerate(starts):
            mm = pc.min_max(arr.slice(s, block_rows))
            out[i, 0] = _prefix(mm["min"].as_py())
            out[i, 1] = _prefix(mm["max"].as_py())
        return out
    if ctype.kind in ("interval", "decimal128"):  # null counts only (intervals have no
        # order of their own; 128-bit decimals do not fit the int64 zone values)
        return out
    if ctype.kind == "bool":
        values = np.unpackbits(np.frombuffer(arr.buffers()[1], np.uint8), count=n + arr.offset,
                               bitorder="little")[arr.offset:]
    elif pa.types.is_decimal(arr.type):
        # decimal128 little-endian: the low 8 bytes of each 16-byte value are the scaled
        # int64 (p <= 18); reading the buffer as plain int64 would interleave high words
        values = np.frombuffer(arr.buffers()[1], np.int64, count=2 * n,
                               offset=arr.offset * 16)[0::2]
    else:
        values = np.frombuffer(arr.buffers()[1], dtype=ctype.storage_numpy_dtype,
                               count=n, offset=arr.offset * ctype.byte_width)
    if values.dtype.kind == "f":
        v = values.astype(np.float64)
        if valid is not None:
            v = np.where(valid, v, np.nan)
        lo = np.fmin.reduceat(v, starts)
        hi = np.fmax.reduceat(v, starts)
        # DuckDB orders NaN above every number: a block holding one has NaN as its max
        # (valid values only: null slots were set to NaN just above, so count them out)
        nan = np.isnan(values.astype(np.float64))
        if valid is not None:
            nan &= valid
        hi[np.logical_or.reduceat(nan, starts)] = np.nan
        out[:, 0], out[:, 1] = lo.view(np.int64), hi.view(np.int64)
        return out
    v = values.astype(np.int64, copy=False) if values.dtype != np.uint64 else values
    if valid is not None:
        info = np.iinfo(v.dtype)
        out[:, 0] = np.minimum.reduceat(np.where(valid, v, info.max), starts)
        out[:, 1] = np.maximum.reduceat(np.where(valid, v, info.min), starts)
    else:
        out[:, 0] = np.minimum.reduceat(v, starts)
        out[:, 1] = np.maximum.reduceat(v, starts)
    return out


SORTABLE = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "date32",
            "timestamp", "decimal")


def sorted_range(chunks: list[pa.Array], zones: list[np.ndarray],
                 ctype: ColumnType) -> tuple[int, int] | None:
    """(min, max) on the zone-map scale when the chunks, in order, hold a non-decreasing
    column without nulls (a sorted attribute can then binary-search it); else None. The
    zone maps reject almost every unsorted column before any value is read.

    >>> t = ColumnType("int64")
    >>> a, b = pa.array([1, 2, 2], pa.int64()), pa.array([3, 9], pa.int64())
    >>> sorted_range([a, b], [build(a, t), build(b, t)], t)
    (1, 9)
    >>> c = pa.array([2, 1], pa.int64())
    >>> print(sorted_range([a, c], [build(a, t), build(c, t)], t))
    None
    """
    if ctype.kind not in SORTABLE or not chunks or any(c.null_count for c in chunks):
        return None
    z = np.concatenate(zones)
    if len(z) == 0:
        return None
    if (z[1:, 0] < z[:-1, 1]).any():  # a block starts below where the previous one ended
        return None
    for c in chunks:
        if len(c) < 2:
            continue
        if pa.types.is_decimal(c.type):
            v = np.frombuffer(c.buffers()[1], np.int64, count=2 * len(c),
                              offset=c.offset * 16)[0::2]
        else:
            v = np.frombuffer(c.buffers()[1], ctype.storage_numpy_dtype, count=len(c),
                              offset=c.offset * ctype.byte_width)
        if (v[1:] < v[:-1]).any():
            return None
    return int(z[0, 0]), int(z[-1, 1])
