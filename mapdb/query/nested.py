"""Nested values (LIST, STRUCT): between the engine's scalar representations and Arrow's.

A list or struct value is held as its *output* Arrow type all the way down (a list of
decimals is a ``list<decimal128>``, of strings a ``list<large_string>``), since Arrow's list
and struct kernels work on any child type. The scalar representations the engine computes
with (decimals as scaled int64, strings perhaps dictionary codes) are put in when a value
enters a list or struct (``to_output``) and taken out when an element or field leaves it
(``from_output``), and ``ListParts`` gives a list array's rows as numpy offsets for the
list kernels (catalog/nested.py, the ``list`` aggregate, UNNEST).

>>> import pyarrow as pa
>>> from mapdb.query.types import DECIMAL
>>> a = to_output(pa.array([150, None]), DECIMAL(3, 2))
>>> a.to_pylist(), from_output(a, DECIMAL(3, 2)).to_pylist()
([Decimal('1.50'), None], [150, None])
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.query.arrays import from_numpy
from mapdb.query.types import SqlType


def to_output(a: pa.Array, t: SqlType) -> pa.Array:
    """Values of type ``t`` in the engine's representation -> its output Arrow type."""
    from mapdb.query.evaluate import decode, to_decimal128
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    a = decode(a)
    if t.kind == "decimal" and not t.wide:
        return to_decimal128(a, t.scale, t.precision)
    if t.kind == "null":
        return pa.nulls(len(a), pa.null())
    out = t.output_type
    return a if a.type == out else a.cast(out)


def from_output(a: pa.Array, t: SqlType) -> pa.Array:
    """Values of ``t``'s output Arrow type -> the engine's representation (the inverse of
    ``to_output``: a decimal of up to 18 digits becomes its scaled int64)."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if t.kind == "decimal" and not t.wide:
        if not len(a):
            return pa.array([], pa.int64())
        a = a.cast(pa.decimal128(38, t.scale)) if a.type.scale != t.scale else a
        words = np.frombuffer(a.buffers()[1], dtype=np.int64)  # (low, high) per value
        low = words[2 * a.offset:2 * (a.offset + len(a)):2]  # 18 digits fit the low word
        return from_numpy(low, np.asarray(a.is_null()) if a.null_count else None)
    return a if a.type == t.arrow else a.cast(t.arrow)


class ListParts:
    """A list array's rows as numpy: ``start``/``length`` into ``values`` (the child array,
    unsliced), ``valid`` (NULL lists have length 0 here whatever their offsets say)."""

    def __init__(self, a: pa.Array):
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        if pa.types.is_null(a.type):  # a NULL constant argument
            a = pa.nulls(len(a), pa.list_(pa.null()))
        self.array = a
        offsets = np.asarray(a.offsets, dtype=np.int64)
        self.valid = np.asarray(a.is_valid(), dtype=bool)
        self.start = offsets[:-1]
        self.length = np.where(self.valid, offsets[1:] - offsets[:-1], 0)
        self.values = a.values

    def __len__(self) -> int:
        return len(self.valid)

    def parents(self) -> np.ndarray:
        """The row of each element in ``gather(self.start, self.length)`` order."""
        return np.repeat(np.arange(len(self.valid), dtype=np.int64), self.length)

    def elements(self) -> pa.Array:
        """Every row's elements, in row order (NULL lists contribute none): Arrow's
        list_flatten, a slice of the child where the rows are contiguous."""
        return pc.list_flatten(self.array)


def gather(start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The positions ``start[i] .. start[i] + length[i] - 1`` of every row, concatenated."""
    length = np.maximum(length, 0)
    total = int(length.sum())
    if not total:
        return np.zeros(0, np.int64)
    ends = np.cumsum(length)
    return np.arange(total, dtype=np.int64) + np.repeat(start - (ends - length), length)


def make_list(length: np.ndarray, values: pa.Array, valid: np.ndarray | None,
              t: pa.DataType | None = None) -> pa.Array:
    """A list array of rows of ``length`` consecutive ``values`` (NULL where not
    ``valid``), of Arrow type ``t`` (int32 offsets, as DuckDB exports)."""
    offsets = np.zeros(len(length) + 1, np.int64)
    np.cumsum(length, out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        from mapdb.errors import QueryError
        raise QueryError("a list result has more than 2**31 - 1 elements")
    mask = None if valid is None or valid.all() else pa.array(~valid)
    out = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, mask=mask)
    return out.cast(t) if t is not None and out.type != t else out


# -- order keys ---------------------------------------------------------------------------

_VALUE, _NULL, _END = b"\x01", b"\x02", b"\x00"


def sort_key(a: pa.Array, t: SqlType) -> pa.Array:
    """Binary keys whose byte order is DuckDB's order of the nested values ``a`` (output
    representation) of type ``t``: lists element by element (a list before its
    extensions), structs field by field, maps as the list of their entries, a NULL inside
    after every value, -0.0 = 0.0, NaN after every number; equal values, equal keys
    (GROUP BY, DISTINCT, =). NULL where ``a`` is NULL. Built column-wise: fixed-width
    big-endian bytes for scalars, strings with their 0x00 bytes escaped, Arrow's binary
    joins for the per-row concatenations.

    >>> from mapdb.query.types import INT64, LIST
    >>> k = sort_key(pa.array([[1, None], [1, 2], [], [1]]), LIST(INT64))
    >>> sorted(range(4), key=lambda i: k[i].as_py())
    [2, 3, 1, 0]
    """
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    out = _encode(a, t)
    valid = a.is_valid()
    return out if not a.null_count else pc.if_else(valid, out, pa.scalar(None, out.type))


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, pa.scalar(b"", pa.large_binary()))


def _lit(b: bytes, n: int) -> pa.Array:
    return pa.array([b] * n, pa.large_binary()) if n < 64 else \
        pa.repeat(pa.scalar(b, pa.large_binary()), n)


def _encode(a: pa.Array, t: SqlType) -> pa.Array:
    """One binary key per row of ``a``, a NULL row the NULL marker."""
    n = len(a)
    valid = np.asarray(a.is_valid(), bool) if a.null_count else np.ones(n, bool)
    if t.kind == "map":  # as DuckDB: the list of its entries, in their order
        from mapdb.query.types import LIST, STRUCT
        entries = pa.ListArray.from_arrays(
            a.offsets, a.values, mask=pc.invert(a.is_valid()) if a.null_count else None)
        return _encode(entries, LIST(STRUCT(list(t.fields))))
    if t.kind == "list":
        p = ListParts(a)
        elems = _join(_lit(_VALUE, len(p.elements())), _encode(p.elements(), t.element)) \
            if int(p.length.sum()) else pa.array([], pa.large_binary())
        body = pc.binary_join(make_list(p.length, elems, None,
                                        pa.list_(pa.large_binary())),
                              pa.scalar(b"", pa.large_binary()))
        enc = _join(_lit(_VALUE, n), body, _lit(_END, n))
    elif t.kind == "struct":
        fields = [_encode(pc.struct_field(a, [i]), ft) for i, (_, ft) in enumerate(t.fields)]
        enc = _join(_lit(_VALUE, n), *fields)
    elif t.kind in ("string", "binary"):
        from mapdb.query.evaluate import decode
        s = decode(a).cast(pa.large_binary()).fill_null(b"")
        s = pc.replace_substring(s, b"\x00", b"\x00\xff")  # (so the end marker sorts first)
        enc = _join(_lit(_VALUE, n), s, _lit(b"\x00\x00", n))
    else:
        enc = _fixed(a, t)
    if valid.all():
        return enc
    return pc.if_else(pa.array(valid), enc, pa.scalar(_NULL, pa.large_binary()))


def _fixed(a: pa.Array, t: SqlType) -> pa.Array:
    """Scalars as a marker byte and 8 big-endian bytes that order as the values do."""
    from mapdb.query.evaluate import float_key
    if t.kind == "decimal" and t.wide:
        from mapdb.errors import QueryError
        raise QueryError(f"ordering or comparing nested values of {t} is not supported")
    v = from_output(a, t)
    if t.kind == "float":
        v = float_key(v)
    elif t.kind in ("date", "time", "timestamp", "bool"):
        v = v.cast(pa.int64()) if t.kind != "date" else v.cast(pa.int32()).cast(pa.int64())
    elif t.kind == "null":
        v = pa.nulls(len(a), pa.int64())
    if pa.types.is_unsigned_integer(v.type):
        x = np.asarray(v.cast(pa.uint64()).fill_null(0), np.uint64)
    else:
        x = np.asarray(v.cast(pa.int64()).fill_null(0), np.int64).view(np.uint64) ^ \
            np.uint64(1 << 63)  # (the sign bit flipped: negatives first)
    raw = np.empty((len(x), 9), np.uint8)
    raw[:, 0] = 1
    raw[:, 1:] = x.astype(">u8").view(np.uint8).reshape(-1, 8)
    offsets = np.arange(0, 9 * len(x) + 1, 9, dtype=np.int64)
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(x),
                                            [None, pa.py_buffer(offsets),
                                             pa.py_buffer(raw.tobytes())])
