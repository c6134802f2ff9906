"""numpy arrays as Arrow arrays (a module of its own: the evaluator and the interval
arithmetic both build on it)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def from_numpy(values: np.ndarray, nulls: np.ndarray | None = None,
               type: pa.DataType | None = None) -> pa.Array:
    """A numpy array (and a bool mask of NULLs) as Arrow without a copy of the values and
    without ``pa.array(..., mask=)``, which imports pandas (a second, on first use)."""
    values = np.ascontiguousarray(values)
    t = type or pa.from_numpy_dtype(values.dtype)
    n = len(values)
    if values.dtype == np.bool_:  # Arrow booleans are bits
        values = np.packbits(values, bitorder="little")
    if nulls is None or not nulls.any():
        return pa.Array.from_buffers(t, n, [None, pa.py_buffer(values)], 0)
    bits = np.packbits(~nulls, bitorder="little")
    return pa.Array.from_buffers(t, n, [pa.py_buffer(bits), pa.py_buffer(values)],
                                 int(nulls.sum()))
