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
