"""TIME values (time of day, microseconds since midnight): DuckDB's text in and out.

Arrays of TIME are Arrow ``time64[us]``, whose compute kernels compare, sort, group and
take min/max and hour/minute/second; here is what Arrow does not do as DuckDB does:
reading text (``'10:11'``, ``' 1:2:3'``, ``'2024-01-01 10:00:00'``: DuckDB's
``[YYYY-MM-DD ]HH:MM[:SS[.ffffff]]``) and writing it (the fraction without trailing
zeros), and the wrap-around of ``TIME + INTERVAL``.

>>> time_value("10:11"), time_value(" 1:2:3.5 ")
(36660000000, 3723500000)
>>> time_text(pa.array([3723500000, 0, None], pa.time64("us"))).to_pylist()
['01:02:03.5', '00:00:00', None]
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from mapdb.errors import QueryError

DAY_US = 86_400_000_000
# (DuckDB: spaces after the seconds, not after the minutes)
_TIME = re.compile(r"\s*(?:\d{4,}-\d{1,2}-\d{1,2}[ T])?(\d{1,2}):(\d{1,2})"
                   r"(?::(\d{1,2})(?:\.(\d+))?\s*)?")


def time_value(text: str) -> int:
    """Text as DuckDB casts it to TIME (microseconds since midnight), or QueryError."""
    m = _TIME.fullmatch(text)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59 or \
            int(m.group(3) or 0) > 59:
        # (DuckDB reads '24:00:00' as a TIME Arrow's time64 cannot hold: refused too)
        raise QueryError(f"could not convert string {text!r} to TIME (DuckDB's format: "
                         f"[YYYY-MM-DD ]HH:MM:SS[.ffffff])")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    frac = int((m.group(4) or "")[:6].ljust(6, "0"))  # (DuckDB drops digits past 6)
    return ((h * 60 + mi) * 60 + s) * 1_000_000 + frac


def parse_times(x: pa.Array | pa.Scalar) -> pa.Array | pa.Scalar:
    """CAST(text AS TIME) over an array or scalar."""
    if isinstance(x, pa.Scalar):
        return pa.scalar(None if not x.is_valid else time_value(x.as_py()), pa.int64()).cast(
            pa.time64("us"))
    return pa.array([None if v is None else time_value(v) for v in x.to_pylist()],
                    pa.int64()).cast(pa.time64("us"))


def time_text(arr: pa.Array) -> pa.Array:
    """A time64[us] array as DuckDB's text: HH:MM:SS and the fraction without trailing
    zeros."""
    us = pc.cast(arr, pa.int64())
    out = []
    for v in us.to_pylist():
        if v is None:
            out.append(None)
            continue
        s, f = divmod(v, 1_000_000)
        text = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
        out.append(text + (f".{f:06d}".rstrip("0") if f else ""))
    return pa.array(out, pa.large_string())


def add_micros(x: pa.Array | pa.Scalar, micros: int) -> pa.Array | pa.Scalar:
    """TIME + an interval's microseconds, wrapping around midnight (DuckDB: the months
    and days of the interval do not move a time of day)."""
    k = micros % DAY_US  # (0 <= k < a day, so one wrap at most)
    us = pc.add(pc.cast(x, pa.int64()), k)
    return pc.cast(pc.if_else(pc.greater_equal(us, DAY_US), pc.subtract(us, DAY_US), us),
                   pa.time64("us"))
