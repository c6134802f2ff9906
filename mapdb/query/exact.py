"""Exact arithmetic on DECIMAL(38, s) and HUGEINT values (sums of decimals, uint64 beside
signed integers), as DuckDB computes it in int128.

Such values are decimal128(38, s) arrays; int64 cannot hold them and Arrow's decimal
kernels widen the precision past 38 (``decimal128(38, 2) + decimal128(38, 2)`` is an
error), so the values are computed as Python integers at their scale. These columns are
short (one value per group of an aggregate) or rare (HUGEINT from uint64 mixed with signed
integers), so exactness costs little. DuckDB's rules (checked with the duckdb module):

- ``+ - %`` at the larger scale, ``*`` at the sum of the scales (over 38: an error),
  ``-x``, ``abs``, ``round(x, n)`` (DECIMAL(38, max(n, 0)), half away from zero);
- a result of 38 digits or more is an error (DuckDB: "Overflow in addition of
  DECIMAL(38)"; its HUGEINT reaches 2**127, which decimal128(38, 0) cannot hold: refused);
- ``x % 0`` is an error.

>>> import pyarrow as pa, decimal
>>> from mapdb.query.types import DECIMAL, INT64
>>> a = pa.array([decimal.Decimal("99999999999999999999999999999999999.99"), None],
...              pa.decimal128(38, 2))
>>> compute("add", [a, pa.scalar(1)], [DECIMAL(38, 2), INT64], DECIMAL(38, 2)).to_pylist()
[Decimal('100000000000000000000000000000000000.99'), None]
"""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa

from mapdb.query.types import QueryError, SqlType

Value = pa.Array | pa.Scalar | pa.ChunkedArray
MAX_DIGITS = 38
_M64 = (1 << 64) - 1
_NAMES = {"add": "addition", "sub": "subtraction", "mul": "multiplication", "mod": "modulo",
          "intdiv": "division",
          "neg": "negation", "abs": "abs", "round": "round", "rescale": "cast"}


def scale_of(t: SqlType) -> int:
    return t.scale if t.kind == "decimal" else 0


def _decimal_int(x: decimal.Decimal, scale: int) -> int:
    """A Decimal as the integer of its value times 10**scale (exact: no context)."""
    sign, digits, exp = x.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    shift = exp + scale
    n = n * 10 ** shift if shift >= 0 else n // 10 ** -shift
    return -n if sign else n


def ints(v: Value, t: SqlType) -> tuple[list, bool]:
    """The values of an integer or decimal array (or scalar) of SQL type ``t`` as Python
    ints at ``t``'s scale (None for NULL), and whether it was a scalar."""
    if isinstance(v, pa.Scalar):
        if not v.is_valid:
            return [None], True
        x = v.as_py()
        if isinstance(x, decimal.Decimal):
            return [_decimal_int(x, scale_of(t))], True
        return [int(x)], True  # an integer, or a scaled int64 decimal
    if isinstance(v, pa.ChunkedArray):
        v = pa.concat_arrays(v.chunks) if v.num_chunks else pa.array([], v.type)
    if pa.types.is_null(v.type):
        return [None] * len(v), False
    if not pa.types.is_decimal(v.type):
        return v.to_pylist(), False
    if v.type.scale != scale_of(t):
        raise QueryError(f"internal: decimal128 scale {v.type.scale} for {t}")
    n = len(v)
    words = np.frombuffer(v.buffers()[1], np.uint64, count=2 * n, offset=v.offset * 16) \
        if n else np.zeros(0, np.uint64)
    lo = words[0::2].tolist()
    hi = words[1::2].view(np.int64).tolist()
    out = [(h << 64) | low for h, low in zip(hi, lo, strict=True)]
    if v.null_count:
        valid = v.is_valid().to_numpy(zero_copy_only=False).tolist()
        out = [x if ok else None for x, ok in zip(out, valid, strict=True)]
    return out, False


def array(values: list, t: SqlType, what: str, digits: int | None = None) -> pa.Array:
    """Python ints at ``t``'s scale as ``t``'s representation: decimal128(38, s) for a wide
    decimal, else (scaled) int64. A value of ``digits`` digits or more is an error."""
    if digits is None and not t.wide:  # int64, or a scaled int64 decimal: its range
        lo, hi = (-(1 << 63), (1 << 63) - 1) if t.kind != "int" else _int_range(t.arrow)
        if any(x is not None and not lo <= x <= hi for x in values):
            raise QueryError(f"{what}: out of range for {t} (DuckDB: Out of Range Error)")
    else:
        limit = 10 ** (MAX_DIGITS if digits is None else digits)
        if any(x is not None and not -limit < x < limit for x in values):
            raise QueryError(f"{what}: out of range for {t} (DuckDB: Out of Range Error)")
    if not t.wide:
        return pa.array(values, t.arrow if t.kind == "int" else pa.int64())
    n = len(values)
    nulls = np.fromiter((x is None for x in values), np.bool_, n)
    filled = [0 if x is None else x for x in values]
    words = np.empty(2 * n, np.uint64)
    words[0::2] = np.array([x & _M64 for x in filled], np.uint64)
    words[1::2] = np.array([x >> 64 for x in filled], np.int64).view(np.uint64)
    validity = None
    if nulls.any():
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
    return pa.Array.from_buffers(pa.decimal128(MAX_DIGITS, t.scale), n,
                                 [validity, pa.py_buffer(words)], int(nulls.sum()))


def _int_range(t: pa.DataType) -> tuple[int, int]:
    info = np.iinfo(t.to_pandas_dtype())
    return int(info.min), int(info.max)


def _round(x: int, drop: int) -> int:
    """x / 10**drop rounded half away from zero."""
    if drop <= 0:
        return x * 10 ** -drop
    q = 10 ** drop
    m = (abs(x) + q // 2) // q
    return -m if x < 0 else m


def _mod(x: int, y: int) -> int:
    r = abs(x) % abs(y)
    return -r if x < 0 else r


def compute(op: str, args: list[Value], types: list[SqlType], t: SqlType,
            param=None, what: str = "") -> Value:
    """``op`` over exact arguments (any integer or decimal representation) giving ``t``."""
    cols = [ints(a, at) for a, at in zip(args, types, strict=True)]
    scalar = all(s for _, s in cols)
    # (a scalar beside an array takes its length, 0 rows included)
    n = 1 if scalar else max(len(c) for c, s in cols if not s)
    vals = [c * n if s else c for c, s in cols]
    s = t.scale if t.kind == "decimal" else 0
    what = what or f"{_NAMES.get(op, op)} of {t}"
    if op in ("add", "sub", "mod"):
        (x, sx), (y, sy) = ((vals[i], scale_of(types[i])) for i in (0, 1))
        fx, fy = 10 ** (s - sx), 10 ** (s - sy)
        out = []
        for a, b in zip(x, y, strict=True):
            if a is None or b is None:
                out.append(None)
            elif op == "add":
                out.append(a * fx + b * fy)
            elif op == "sub":
                out.append(a * fx - b * fy)
            elif b == 0:
                raise QueryError(f"division by zero in {what}")
            else:
                out.append(_mod(a * fx, b * fy))
    elif op == "intdiv":  # HUGEINT // HUGEINT: truncated toward zero
        out = []
        for a, b in zip(vals[0], vals[1], strict=True):
            if a is not None and b == 0:
                raise QueryError(f"division by zero in {what}")
            out.append(None if a is None or b is None else
                       (abs(a) // abs(b)) * (1 if (a < 0) == (b < 0) else -1))
    elif op == "mul":
        out = [None if a is None or b is None else a * b
               for a, b in zip(vals[0], vals[1], strict=True)]
    elif op == "neg":
        out = [None if a is None else -a for a in vals[0]]
    elif op == "abs":
        out = [None if a is None else abs(a) for a in vals[0]]
    elif op == "round":  # param: the digits kept (negative: tens, hundreds ...)
        src, up = scale_of(types[0]), 10 ** max(-param, 0)
        out = [None if a is None else _round(a, src - param) * up for a in vals[0]]
    elif op == "rescale":  # to t's scale (half away from zero), t's range
        src = scale_of(types[0])
        out = [None if a is None else _round(a, src - s) for a in vals[0]]
    else:
        raise QueryError(f"internal: no exact evaluator for {op}")
    arr = array(out, t, what, param if op == "rescale" and param else None)
    return arr[0] if scalar else arr


def average(sums: list, counts: list, scale: int) -> pa.Array:
    """AVG of integers or decimals from their exact sums (Python ints, unscaled) and
    counts: the quotient correctly rounded once (DuckDB divides its 128-bit sum in long
    double; dividing a double sum by 10**scale and then by the count rounds twice:
    -7981836.5200000005 for -7981836.52). NULL where the count is 0."""
    q = 10 ** scale
    out = [None if s is None or not c else s / (int(c) * q)
           for s, c in zip(sums, counts, strict=True)]
    return pa.array(out, pa.float64())


def average_of(total: Value, count: Value, t: SqlType) -> pa.Array:
    """``average`` of a decimal128 sum column (integer sums: decimal128(38, 0)) and an
    integer count column; ``t`` is the argument's type."""
    sums, _ = ints(total, SqlType("decimal", MAX_DIGITS, scale_of(t),
                                  pa.decimal128(MAX_DIGITS, scale_of(t))))
    if isinstance(count, pa.ChunkedArray):
        count = pa.concat_arrays(count.chunks) if count.num_chunks else pa.array([], pa.int64())
    return average(sums, count.to_pylist(), scale_of(t))
