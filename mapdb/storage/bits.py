"""Validity and boolean bitmaps (Arrow bit order: least significant bit first)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def bitmap(buf: pa.Buffer | None, offset: int, n: int) -> pa.Buffer | None:
    """A bitmap buffer re-based to bit 0 (copies only when ``offset`` is not a multiple of 8).

    >>> b = bitmap(pa.py_buffer(bytes([0b10110])), 1, 4)
    >>> bin(b.to_pybytes()[0])
    '0b1011'
    """
    if buf is None:
        return None
    if offset % 8 == 0:
        return buf.slice(offset // 8, (n + 7) // 8)
    bits = np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")[offset:offset + n]
    return pa.py_buffer(np.packbits(bits, bitorder="little"))
