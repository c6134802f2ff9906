"""Values as text, exactly as DuckDB's ``CAST(x AS VARCHAR)`` writes them.

Arrow's casts to string differ from DuckDB's in several places: doubles lose their '.0'
(``1.0`` is '1'), exponents are not padded ('1.5e-7' for DuckDB's '1.5e-07'), timestamps
always carry six fractional digits and a 'Z', small decimals of a large scale come out in
E notation ('1E-18'). Here:

- doubles: Python's ``repr`` (shortest round-trip digits; fixed notation from 1e-4 to 1e16,
  else ``d.ddde+XX``), which is what DuckDB's ``fmt::format("{}", x)`` gives (checked on
  200,000 values, bit patterns included); a NaN with its sign bit set is '-nan';
- floats (float32): the digits of fmt 6's Grisu shortest mode with float boundaries, or,
  where Grisu gives up, the shortest digits of the value as a double (fmt's fallback does
  not handle floats), laid out as a double; ``grisu_float32`` below is that algorithm;
- decimals: every digit of the scale; below 1 a '0.' only when the type has an integer
  digit (DuckDB: DECIMAL(2,2) 0.05 is '.05');
- timestamps: 'YYYY-MM-DD HH:MM:SS' and the fraction without trailing zeros; with a time
  zone in UTC and '+00' (DuckDB prints its session time zone; mapdb has none); years
  before 1 as DuckDB's 'YYYY-MM-DD (BC)'.

>>> import pyarrow as pa
>>> float_text(pa.array([1.0, 1e16, 1.5e-7, None])).to_pylist()
['1.0', '1e+16', '1.5e-07', None]
>>> float_text(pa.array([1234567.75, 1 / 3], pa.float32())).to_pylist()
['1234567.75', '0.33333334']
>>> decimal_text(pa.array([5, -150, None]), 2, 2).to_pylist()
['.05', '-1.50', None]
"""

from __future__ import annotations

import decimal
import math
import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_M64 = (1 << 64) - 1
_IMPLICIT = 1 << 52


def float_text(arr: pa.Array) -> pa.Array:
    """A float32 or float64 array as DuckDB's text."""
    fmt = _float32_repr if pa.types.is_float32(arr.type) else _double_repr
    return pa.array([None if v is None else fmt(v) for v in arr.to_pylist()],
                    pa.large_string())


def _double_repr(v: float) -> str:
    if v != v:  # DuckDB keeps a NaN's sign: 0.0 / 0.0 is '-nan' on x86
        return "-nan" if math.copysign(1.0, v) < 0 else "nan"
    return repr(v)


def decimal_text(scaled: pa.Array, precision: int, scale: int) -> pa.Array:
    """Scaled integers (int64) of a DECIMAL(precision, scale) as DuckDB's text."""
    ints = scaled.to_pylist()
    return pa.array([None if v is None else _decimal(v, precision, scale) for v in ints],
                    pa.large_string())


def wide_decimal_text(arr: pa.Array) -> pa.Array:
    """A decimal128 array as DuckDB's text."""
    t = arr.type
    out = []
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
            continue
        with decimal.localcontext() as ctx:  # (38 digits: past the default 28)
            ctx.prec = 80
            out.append(_decimal(int(v.scaleb(t.scale).to_integral_value(
                decimal.ROUND_HALF_EVEN)), t.precision, t.scale))
    return pa.array(out, pa.large_string())


def _decimal(v: int, precision: int, scale: int) -> str:
    sign = "-" if v < 0 else ""
    digits = str(abs(v))
    if not scale:
        return sign + digits
    whole, frac = digits[:-scale], digits[-scale:].rjust(scale, "0")
    if not whole:
        whole = "0" if precision > scale else ""
    return f"{sign}{whole}.{frac}"


def timestamp_text(arr: pa.Array) -> pa.Array:
    """A timestamp array as DuckDB's text (a time zone: in UTC, with '+00'). Formatted by
    numpy: Arrow's cast writes '<value out of range: ...>' past year 32767."""
    unit = arr.type.unit
    ints = arr.cast(pa.int64())
    if unit != "us":
        ints = pc.multiply(ints, {"s": 1_000_000, "ms": 1000}[unit]) if unit in ("s", "ms") \
            else pc.divide(ints, 1000)  # ns: DuckDB's TIMESTAMP keeps microseconds
    s = _iso(ints, "datetime64[us]", "us")
    s = pc.replace_substring(s, "T", " ")
    s = pc.replace_substring_regex(s, r"(\.\d*?)0+$", r"\1")
    s = pc.replace_substring_regex(s, r"\.$", "")
    s = _before_christ(s)
    if arr.type.tz is not None:
        s = pc.binary_join_element_wise(s, pa.scalar("+00", pa.large_string()),
                                        pa.scalar("", pa.large_string()))
    return s


def date_text(arr: pa.Array) -> pa.Array:
    """A date array as DuckDB's text."""
    return _before_christ(_iso(arr.cast(pa.int32()).cast(pa.int64()), "datetime64[D]", "D"))


def _iso(ints: pa.Array, dtype: str, unit: str) -> pa.Array:
    """int64 counts since the epoch as ISO text (numpy; NULLs kept)."""
    nulls = None
    if ints.null_count:
        nulls = ints.is_null().to_numpy(zero_copy_only=False)
        ints = ints.fill_null(0)
    values = ints.to_numpy(zero_copy_only=False).astype(np.int64).view(dtype)
    return pa.array(np.datetime_as_string(values, unit=unit), pa.large_string(), mask=nulls)


def _before_christ(s: pa.Array) -> pa.Array:
    """Years before 1 (numpy: '-221-09-04', '0000-12-31') as DuckDB writes them: the
    year counted back from 1 BC and ' (BC)' after the date ('0222-09-04 (BC)')."""
    bc = pc.or_(pc.starts_with(s, "-"), pc.starts_with(s, "0000-"))
    if not pc.any(bc).as_py():
        return s
    out = []
    for v in s.to_pylist():
        if v is None or not (v.startswith("-") or v.startswith("0000-")):
            out.append(v)
            continue
        negative = v.startswith("-")
        body = v[1:] if negative else v
        year, rest = body.split("-", 1)
        date_rest, _, time = rest.partition(" ")
        y = 1 - (-int(year) if negative else int(year))
        text = f"{y:04d}-{date_rest} (BC)"
        out.append(f"{text} {time}" if time else text)
    return pa.array(out, pa.large_string())


# -- float32: fmt 6's Grisu shortest mode (what DuckDB's fmt::format("{}", float) runs) --

def _powers() -> list[tuple[int, int]]:
    """(significand, binary exponent) of 10**k for k = -348, -340, ..., 340: 64-bit
    significands, normalized and rounded to nearest (fmt's cached powers)."""
    out = []
    for k in range(-348, 341, 8):
        num, den = (10 ** k, 1) if k >= 0 else (1, 10 ** -k)
        e = num.bit_length() - den.bit_length() - 64
        while True:
            n2, d2 = (num << -e, den) if e < 0 else (num, den << e)
            q, r = divmod(n2, d2)
            if q >= 1 << 64:
                e += 1
            elif q < 1 << 63:
                e -= 1
            else:
                break
        if 2 * r >= d2:
            q += 1
        if q == 1 << 64:
            q, e = q >> 1, e + 1
        out.append((q, e))
    return out


_POWERS = _powers()


def _normalize(f: int, e: int) -> tuple[int, int]:
    while not f & _IMPLICIT:
        f, e = f << 1, e - 1
    return (f << 11) & _M64, e - 11


def _mul(a: int, b: int) -> int:
    """a * b / 2**64 rounded half up (fmt's multiply)."""
    p = a * b
    return (p >> 64) + ((p >> 63) & 1)


def grisu_float32(v: float) -> tuple[str, int] | None:
    """The shortest digits fmt 6 finds for a positive float32 value ``v`` (given as a
    double) with Grisu and float boundaries, as (digits, decimal exponent of the last
    digit); None where Grisu gives up (fmt then falls back to the double's digits).

    >>> grisu_float32(0.3333333432674408), grisu_float32(1234567.75)
    (('33333334', -8), None)
    """
    u = struct.unpack("<Q", struct.pack("<d", v))[0]
    f, biased = u & (_IMPLICIT - 1), (u >> 52) & 0x7FF
    if biased:
        f += _IMPLICIT
    else:
        biased = 1
    e = biased - 1075
    min_normal_e = -125 - 53  # float's smallest normal exponent, on the double's scale
    half = 1 << 28  # half a float ulp in double significand units
    if min_normal_e > e:
        half <<= min_normal_e - e
    upper, ue = _normalize(f + half, e)
    lower = f - (half >> (1 if f == _IMPLICIT and e > min_normal_e else 0))
    lower = (lower << (e - ue)) & _M64
    vf, ve = _normalize(f, e)
    index = ((-60 - (ve + 64) + 63) * 0x4D104D42 + (1 << 32) - 1) >> 32
    index = int((index + 347) / 8) + 1  # C division: toward zero
    k = -348 + index * 8
    cf, ce = _POWERS[index]
    vf, ve = _mul(vf, cf), ve + ce + 64
    lower = (_mul(lower, cf) - 1) & _M64
    upper = (_mul(upper, cf) + 1) & _M64
    diff = (upper - vf) & _M64
    error = (upper - lower) & _M64
    shift = -ve
    one = 1 << shift
    integral, fractional = upper >> shift, upper & (one - 1)
    exp = len(str(integral))
    buf: list[int] = []

    def on_digit(digit: int, divisor: int, rem: int, err: int, exp: int,
                 in_integral: bool) -> str:
        buf.append(digit)
        if rem >= err:
            return "more"
        unit = 1 if in_integral else 10 ** -exp
        up = ((diff - 1) * unit) & _M64
        while rem < up and ((err - rem) & _M64) >= divisor and (
                ((rem + divisor) & _M64) < up or
                ((up - rem) & _M64) >= ((rem + divisor - up) & _M64)):
            buf[-1] -= 1
            rem = (rem + divisor) & _M64
        down = ((diff + 1) * unit) & _M64
        if rem < down and ((err - rem) & _M64) >= divisor and (
                ((rem + divisor) & _M64) < down or
                ((down - rem) & _M64) > ((rem + divisor - down) & _M64)):
            return "error"
        return "done" if 2 * unit <= rem <= ((err - 4 * unit) & _M64) else "error"

    result = "more"
    while result == "more" and exp > 0:
        digit, integral = divmod(integral, 10 ** (exp - 1))
        exp -= 1
        result = on_digit(digit, ((10 ** exp) << shift) & _M64,
                          ((integral << shift) + fractional) & _M64, error, exp, True)
    while result == "more":
        fractional = (fractional * 10) & _M64
        error = (error * 10) & _M64
        digit, fractional = fractional >> shift, fractional & (one - 1)
        exp -= 1
        result = on_digit(digit, one, fractional, error, exp, False)
    if result == "error":
        return None
    return "".join(map(str, buf)), exp - k


def _float32_repr(v: float) -> str:
    if v != v or v in (float("inf"), float("-inf")) or v == 0:
        return _double_repr(v)
    g = grisu_float32(abs(v))
    if g is None:
        return repr(v)
    digits, e = g
    text = repr(float(f"{digits}e{e}"))  # <= 9 digits: a double's repr keeps them
    return "-" + text if v < 0 else text
