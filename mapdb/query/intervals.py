"""INTERVAL values as DuckDB has them: (months, days, microseconds), three counts that do
not convert into each other on their own (a month is not 30 days until compared).

A constant is a ``Lit`` holding the tuple; arrays are Arrow's ``month_day_nano_interval``
(fixed width, 16 bytes: int32 months, int32 days, int64 nanoseconds; DuckDB's ``.arrow()``
type for INTERVAL), read and built here through numpy without a Python object per value.
DuckDB's rules, each checked against it in ``tests/query/test_interval_type.py``:

- text in: ``'1 day 2 hours'``, ``'1:02:03'``, ``'1.5 days'`` (fractions carry down: a
  month is 30 days, a day 24 hours), ``'2 weeks ago'``; text out: ``'1 year 2 months 3
  days 04:05:06.5'`` (no part that is zero; ``'00:00:00'`` for nothing);
- comparisons (and so equality) of the total with 30-day months and 24-hour days:
  ``INTERVAL 30 DAY = INTERVAL 1 MONTH``;
- ``epoch``: a year is 365.25 days, a month 30; parts: ``day`` the days count, ``hour``
  and below from the microseconds, ``year``/``month`` from the months;
- ``timestamp - timestamp``: days and microseconds (no months); ``age``: years, months and
  days of the calendar, borrowing a month of the earlier timestamp's month length.

>>> interval_value("1 day 2 hours"), interval_value("-1:30"), interval_value("1.5 months")
((0, 1, 7200000000), (0, 0, -5400000000), (1, 15, 0))
>>> [interval_text(*v) for v in [(14, 3, 3723500000), (0, 0, 0), (-1, 3, -3600500000)]]
['1 year 2 months 3 days 01:02:03.5', '00:00:00', '-1 month 3 days -01:00:00.5']
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.errors import QueryError
from mapdb.query.arrays import from_numpy
from mapdb.query.timeofday import DAY_US
from mapdb.storage.types import INTERVAL_DTYPE

MONTH_US = 30 * DAY_US
TYPE = pa.month_day_nano_interval()
# unit -> (months, days, microseconds) of one
UNITS = {}
for _names, _one in (
        (("millennium", "millennia", "millenniums"), (12000, 0, 0)),
        (("century", "centuries"), (1200, 0, 0)),
        (("decade", "decades"), (120, 0, 0)),
        (("year", "years", "y", "yr", "yrs"), (12, 0, 0)),
        (("quarter", "quarters"), (3, 0, 0)),
        (("month", "months", "mon", "mons"), (1, 0, 0)),
        (("week", "weeks", "w"), (0, 7, 0)),
        (("day", "days", "d"), (0, 1, 0)),
        (("hour", "hours", "h", "hr", "hrs"), (0, 0, 3_600_000_000)),
        (("minute", "minutes", "m", "min", "mins"), (0, 0, 60_000_000)),
        (("second", "seconds", "s", "sec", "secs"), (0, 0, 1_000_000)),
        (("millisecond", "milliseconds", "ms", "msec", "msecs"), (0, 0, 1000)),
        (("microsecond", "microseconds", "us", "usec", "usecs"), (0, 0, 1))):
    for _n in _names:
        UNITS[_n] = _one
_TOKEN = re.compile(r"([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*([a-z]+)|([+-])?(\d+):(\d{1,2})"
                    r"(?::(\d{1,2})(?:\.(\d+))?)?")


def _scaled(count: Fraction, one: tuple[int, int, int]) -> tuple[int, int, int]:
    """``count`` units of ``one``, a fraction carried down (months -> 30-day days ->
    microseconds), each part truncated toward zero as DuckDB does."""
    m, d, us = one
    if m:
        months = count * m
        whole = int(months)
        days = (months - whole) * 30
        return whole, int(days), int((days - int(days)) * DAY_US)
    if d:
        days = count * d
        return 0, int(days), int((days - int(days)) * DAY_US)
    return 0, 0, int(count * us)


def interval_value(text: str) -> tuple[int, int, int]:
    """Text as DuckDB casts it to INTERVAL, or QueryError."""
    low = text.strip().lower()
    ago = low.endswith(" ago")
    if ago:
        low = low[:-4]
    pos, total = 0, [0, 0, 0]
    while pos < len(low):
        if low[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(low, pos)
        if m is None or (m.group(2) is not None and m.group(2) not in UNITS):
            raise QueryError(f"could not convert string {text!r} to INTERVAL")
        if m.group(2) is not None:
            part = _scaled(Fraction(m.group(1)), UNITS[m.group(2)])
        else:  # [-]HH:MM[:SS[.ffffff]]
            sign = -1 if m.group(3) == "-" else 1
            frac = int((m.group(7) or "")[:6].ljust(6, "0"))
            part = (0, 0, sign * (((int(m.group(4)) * 60 + int(m.group(5))) * 60
                                   + int(m.group(6) or 0)) * 1_000_000 + frac))
        total = [a + b for a, b in zip(total, part, strict=True)]
        pos = m.end()
    if pos == 0 or low == "":
        raise QueryError(f"could not convert string {text!r} to INTERVAL")
    out = tuple(-v for v in total) if ago else tuple(total)
    return check(*out)


def check(m: int, d: int, us: int) -> tuple[int, int, int]:
    """(m, d, us) if each part fits DuckDB's (int32, int32, int64), else QueryError."""
    if not (-(1 << 31) <= m < (1 << 31) and -(1 << 31) <= d < (1 << 31)
            and -(1 << 63) <= us < (1 << 63)):
        raise QueryError(f"interval out of range: ({m} months, {d} days, {us} "
                         f"microseconds) (DuckDB: Overflow)")
    return m, d, us


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if abs(n) == 1 else "s")


def interval_text(m: int, d: int, us: int) -> str:
    """DuckDB's text of an interval."""
    parts = []
    years, months = int(m / 12), m - int(m / 12) * 12  # (truncated toward zero)
    if years:
        parts.append(_plural(years, "year"))
    if months:
        parts.append(_plural(months, "month"))
    if d:
        parts.append(_plural(d, "day"))
    if us or not parts:
        sign = "-" if us < 0 else ""
        s, f = divmod(abs(us), 1_000_000)
        text = f"{sign}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
        parts.append(text + (f".{f:06d}".rstrip("0") if f else ""))
    return " ".join(parts)


# -- arrays ---------------------------------------------------------------------------

def parts(x: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(months, days, microseconds, null mask or None) of a month_day_nano array (a
    duration array too: DuckDB reads it as an INTERVAL of microseconds)."""
    if isinstance(x, pa.ChunkedArray):
        x = pa.concat_arrays(x.chunks) if x.num_chunks else pa.array([], x.type)
    nulls = np.asarray(x.is_null().to_numpy(zero_copy_only=False), bool) \
        if x.null_count else None
    if pa.types.is_duration(x.type):
        us = np.asarray(pc.fill_null(x.cast(pa.duration("us")).cast(pa.int64()), 0)
                        .to_numpy(zero_copy_only=False), np.int64)
        z = np.zeros(len(x), np.int32)
        return z, z.copy(), us, nulls
    raw = np.frombuffer(x.buffers()[1], INTERVAL_DTYPE, count=len(x) + x.offset)[x.offset:]
    out = (raw["months"].astype(np.int64), raw["days"].astype(np.int64), raw["nanos"] // 1000)
    if nulls is not None:  # (the bytes under a NULL are anything: an overflow check of
        for p in out:      # a product would trip on them)
            p[nulls] = 0
    return (*out, nulls)


def build(months: np.ndarray, days: np.ndarray, micros: np.ndarray,
          nulls: np.ndarray | None) -> pa.Array:
    """A month_day_nano array of the parts (QueryError where a part overflows)."""
    n = len(months)
    lim32 = 1 << 31
    if n and (np.abs(months).max(initial=0) >= lim32 or np.abs(days).max(initial=0) >= lim32
              or np.abs(micros).max(initial=0) > (1 << 63) // 1000 - 1):
        raise QueryError("interval out of range (DuckDB: Overflow in interval arithmetic)")
    raw = np.empty(n, INTERVAL_DTYPE)
    raw["months"], raw["days"], raw["nanos"] = months, days, np.asarray(micros) * 1000
    validity = None
    if nulls is not None and nulls.any():
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
    return pa.Array.from_buffers(TYPE, n, [validity, pa.py_buffer(raw.tobytes())],
                                 int(nulls.sum()) if validity is not None else 0)


def scalar(v: tuple[int, int, int] | None) -> pa.Scalar:
    if v is None:
        return pa.scalar(None, TYPE)
    return pa.scalar(pa.MonthDayNano([v[0], v[1], v[2] * 1000]), TYPE)


def as_array(v: pa.Array | pa.Scalar) -> tuple[pa.Array, bool]:
    """An array of ``v`` (a scalar as one value) and whether it was a scalar."""
    if isinstance(v, pa.Scalar):
        return pa.array([v.as_py() if v.is_valid else None], TYPE), True
    if isinstance(v, pa.ChunkedArray):
        return (pa.concat_arrays(v.chunks) if v.num_chunks else pa.array([], v.type)), False
    return v, False


def _out(arr: pa.Array, was_scalar: bool):
    return arr[0] if was_scalar else arr


def key(x: pa.Array) -> pa.Array:
    """Order keys: the total in microseconds with 30-day months, as DuckDB compares
    intervals (int64 where it fits, else decimal128(38, 0))."""
    m, d, us, nulls = parts(x)
    if not len(m) or np.abs(m).max() < (1 << 63) // MONTH_US // 2:
        return from_numpy(m * MONTH_US + d * DAY_US + us, nulls)
    vals = [None if nulls is not None and nulls[i] else
            int(m[i]) * MONTH_US + int(d[i]) * DAY_US + int(us[i]) for i in range(len(m))]
    return pa.array(vals, pa.decimal128(38, 0))


def total(x: pa.Array) -> pa.Array:
    """Each interval's ``key`` as DECIMAL(38, 0): one value for intervals DuckDB calls
    equal ('1 month', '30 days', '720 hours'), to group, hash and count them by."""
    return key(x).cast(pa.decimal128(38, 0))


def extreme(v: pa.Array, gid: np.ndarray, groups: int, largest: bool) -> pa.Array:
    """min/max per group as DuckDB's: by the 30-day total, and of equal totals the last
    in input order ('30 days' after '1 month' is the max of the two). ``gid``: each
    value's group; NULLs are skipped, a group of none is NULL."""
    ok = np.asarray(v.is_valid().to_numpy(zero_copy_only=False), bool)
    pos = np.flatnonzero(ok)[::-1]  # latest first: the sort below keeps the first of ties
    rv, rg = v.take(pa.array(pos)), gid[pos]
    order = np.asarray(pc.sort_indices(pa.table({"g": rg, "k": key(rv), "p": np.arange(
        len(rg))}), sort_keys=[("g", "ascending"), ("k", "descending" if largest else
                                                     "ascending"), ("p", "ascending")]))
    sg = rg[order]
    n = np.bincount(sg, minlength=groups)
    start = (np.cumsum(n) - n).astype(np.int64)
    out = rv.take(pa.array(order)).take(pa.array(np.where(n > 0, start, 0))) if len(rv) \
        else pa.nulls(groups, v.type)
    return pc.if_else(pa.array(n > 0), out, pa.scalar(None, v.type)) if len(rv) else out


def compare(fn, a, b):
    """A comparison kernel over the intervals' order keys."""
    (aa, sa), (bb, sb) = as_array(a), as_array(b)
    ka, kb = key(aa), key(bb)
    if ka.type != kb.type:
        ka, kb = ka.cast(pa.decimal128(38, 0)), kb.cast(pa.decimal128(38, 0))
    ra = ka[0] if sa else ka
    rb = kb[0] if sb else kb
    return fn(ra, rb)


def combine(op: str, a, b=None):
    """interval + interval, interval - interval, -interval (part by part, as DuckDB)."""
    (aa, sa) = as_array(a)
    ma, da, ua, na = parts(aa)
    if op == "neg":
        return _out(build(-ma, -da, -ua, na), sa)
    (bb, sb) = as_array(b)
    mb, db, ub, nb = parts(bb)
    n = max(len(ma), len(mb))
    ma, da, ua, na = _spread(n, ma, da, ua, na)
    mb, db, ub, nb = _spread(n, mb, db, ub, nb)
    sign = 1 if op == "add" else -1
    return _out(build(ma + sign * mb, da + sign * db, _checked(ua, sign * ub), _or(na, nb)),
                sa and sb)


def _spread(n: int, *arrays):
    """Arrays of one value (a scalar's) repeated to n (None stays None)."""
    return [a if a is None or len(a) == n else np.repeat(a, n) for a in arrays]


def _checked(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        out = a + b
    if ((a ^ out) & (b ^ out) < 0).any():
        raise QueryError("interval out of range (DuckDB: Overflow in interval arithmetic)")
    return out


def _or(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def multiply(a, k):
    """interval * integer: each part times k (an overflow an error, as DuckDB)."""
    (aa, sa) = as_array(a)
    m, d, us, na = parts(aa)
    if isinstance(k, pa.Scalar):
        kk = np.full(len(m), k.as_py() if k.is_valid else 0, np.int64)
        nk = None if k.is_valid else np.ones(len(m), bool)
    else:
        kk = np.asarray(pc.fill_null(k.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
        nk = np.asarray(k.is_null().to_numpy(zero_copy_only=False)) if k.null_count else None
        if sa:
            m, d, us = (np.repeat(p, len(kk)) for p in (m, d, us))
            na = None if na is None else np.repeat(na, len(kk))
    prods = [_mul_exact(p, kk) for p in (m, d, us)]
    return _out(build(*prods, _or(na, nk)), sa and isinstance(k, pa.Scalar))


def scale(a, k, divide: bool):
    """interval * double and interval / number, as DuckDB computes them in doubles: each
    part times k (or over k), the fraction of the months carried down as 30-day days
    (rounded to a millionth of a day first), the fraction of the days as microseconds,
    whole days out of the carried microseconds, then the microseconds' own product
    (rounding half to even, truncating toward zero). A result past the parts' ranges is an
    error (DuckDB's would wrap), so is division by zero."""
    (aa, sa) = as_array(a)
    m, d, us, na = parts(aa)
    kk = k.cast(pa.float64())  # (the binder cast it to DOUBLE already)
    if isinstance(kk, pa.Scalar):
        f = np.full(len(m), kk.as_py() if kk.is_valid else 1.0, np.float64)
        nk = None if kk.is_valid else np.ones(len(m), bool)
    else:
        f = np.asarray(pc.fill_null(kk, 1.0).to_numpy(zero_copy_only=False), np.float64)
        nk = np.asarray(kk.is_null().to_numpy(zero_copy_only=False)) if kk.null_count \
            else None
        if sa:
            m, d, us = (np.repeat(p, len(f)) for p in (m, d, us))
            na = None if na is None else np.repeat(na, len(f))
    nulls = _or(na, nk)
    live = ~nulls if nulls is not None else np.ones(len(m), bool)
    if divide and (live & (f == 0)).any():
        raise QueryError("division by zero (an INTERVAL divided by 0)")
    op = np.divide if divide else np.multiply
    with np.errstate(all="ignore"):
        mf = op(m.astype(np.float64), f)
        months = np.trunc(mf)
        md = np.rint((mf - months) * 30.0 * 1e6)  # millionths of a day
        d1 = np.trunc(md / 1e6)
        u1 = (md - d1 * 1e6) * 86400.0
        df = op(d.astype(np.float64), f)
        d2 = np.trunc(df)
        uf = u1 + np.rint((df - d2) * DAY_US)
        carry = np.trunc(uf / DAY_US)
        uf -= carry * DAY_US
        u3 = np.rint(op(us.astype(np.float64), f))
        days = d1 + d2 + carry
    i32, i64 = 2.0 ** 31, 2.0 ** 63
    bad = ~(np.isfinite(months) & np.isfinite(days) & np.isfinite(u3)) | (
        np.abs(months) >= i32) | (np.abs(days) >= i32) | (np.abs(u3) >= i64 / 2)
    if (bad & live).any():
        raise QueryError("interval out of range (DuckDB: Overflow in interval arithmetic)")
    fix = lambda x, t: np.where(live, x, 0).astype(t)  # noqa: E731
    micros = fix(uf, np.int64) + fix(u3, np.int64)
    return _out(build(fix(months, np.int64), fix(days, np.int64), micros, nulls),
                sa and isinstance(k, pa.Scalar))


def _mul_exact(p: np.ndarray, k: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        out = p * k
    bad = (k != 0) & (out // np.where(k == 0, 1, k) != p)
    if bad.any():
        raise QueryError("interval out of range (DuckDB: Overflow in interval arithmetic)")
    return out


def part(x, field: str):
    """extract(field FROM interval): DuckDB's parts (``epoch`` a double of seconds)."""
    (xx, sx) = as_array(x)
    m, d, us, nulls = parts(xx)
    if field == "epoch":
        years = np.trunc(m / 12)
        secs = ((years * 365.25 + (m - years * 12) * 30.0 + d) * 86400.0
                + us / 1e6)
        return _out(from_numpy(secs.astype(np.float64), nulls), sx)
    tr = lambda a, q: np.trunc(a / q).astype(np.int64) if q != 1 else a  # noqa: E731
    out = {"year": lambda: tr(m, 12), "month": lambda: m - tr(m, 12) * 12,
           "quarter": lambda: _div(m - tr(m, 12) * 12, 3) + 1, "day": lambda: d,
           "hour": lambda: _div(us, 3_600_000_000),
           "minute": lambda: _div(_rem(us, 3_600_000_000), 60_000_000),
           "second": lambda: _div(_rem(us, 60_000_000), 1_000_000),
           "millisecond": lambda: _div(_rem(us, 60_000_000), 1000),
           "microsecond": lambda: _rem(us, 60_000_000)}[field]()
    return _out(from_numpy(np.asarray(out, np.int64), nulls), sx)


def _div(a: np.ndarray, q: int) -> np.ndarray:
    """Integer division truncated toward zero (C's, DuckDB's)."""
    return np.sign(a) * (np.abs(a) // q)


def _rem(a: np.ndarray, q: int) -> np.ndarray:
    return a - _div(a, q) * q


def timestamp_diff(a, b):
    """timestamp - timestamp: days and microseconds of the difference (truncated toward
    zero: '-60 days -10:00:00')."""
    (aa, sa), (bb, sb) = _ts_array(a), _ts_array(b)
    ua, na = _us(aa)
    ub, nb = _us(bb)
    diff = _checked(ua, -ub)
    return _out(build(np.zeros(len(diff), np.int64), _div(diff, DAY_US),
                      _rem(diff, DAY_US), _or(na, nb)), sa and sb)


def _ts_array(v):
    if isinstance(v, pa.Scalar):
        return pa.array([v.value if v.is_valid else None], pa.int64()), True
    if isinstance(v, pa.ChunkedArray):
        v = pa.concat_arrays(v.chunks) if v.num_chunks else pa.array([], v.type)
    return v, False


def _us(x: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    if pa.types.is_date(x.type):
        x = pc.multiply(x.cast(pa.int32()).cast(pa.int64()), DAY_US)
    ints = pc.fill_null(x.cast(pa.int64()), 0)
    nulls = np.asarray(x.is_null().to_numpy(zero_copy_only=False), bool) \
        if x.null_count else None
    return np.asarray(ints.to_numpy(zero_copy_only=False), np.int64), nulls


def age(a, b):
    """age(a, b): a - b in years, months, days and time of day, as DuckDB (Postgres)
    computes it: field by field, borrowing from the next larger field (a month borrowed
    is as long as the earlier timestamp's month)."""
    (aa, sa), (bb, sb) = _ts_array(a), _ts_array(b)
    ua, na = _us(aa)
    ub, nb = _us(bb)
    n = max(len(ua), len(ub))
    if len(ua) != n:
        ua = np.repeat(ua, n)
    if len(ub) != n:
        ub = np.repeat(ub, n)
    hi, lo = np.maximum(ua, ub), np.minimum(ua, ub)
    sign = np.where(ua < ub, -1, 1)

    def fields(us):
        days = np.floor_divide(us, DAY_US)
        tod = us - days * DAY_US
        dd = days.astype("datetime64[D]")
        mm = dd.astype("datetime64[M]")
        months = mm.astype(np.int64)
        return months, (dd - mm.astype("datetime64[D]")).astype(np.int64), tod, mm

    m1, d1, t1, _ = fields(hi)
    m2, d2, t2, mm2 = fields(lo)
    tod = t1 - t2
    dd = d1 - d2 - (tod < 0)
    tod = np.where(tod < 0, tod + DAY_US, tod)
    month_len = ((mm2 + np.timedelta64(1, "M")).astype("datetime64[D]")
                 - mm2.astype("datetime64[D]")).astype(np.int64)
    mo = m1 - m2 - (dd < 0)
    dd = np.where(dd < 0, dd + month_len, dd)
    nulls = _or(na if na is None or len(na) == n else np.repeat(na, n),
                nb if nb is None or len(nb) == n else np.repeat(nb, n))
    return _out(build(sign * mo, sign * dd, sign * tod, nulls), sa and sb)


def add_to(x, iv, kind: str):
    """date/timestamp/time + an interval per row (a column of intervals)."""
    (ii, si) = as_array(iv)
    m, d, us, ni = parts(ii)
    xs, sx = _ts_array(x) if isinstance(x, pa.Scalar) else (x, False)
    if sx:
        xs = pa.array([x.value if x.is_valid else None], pa.int64()).cast(x.type)
    n = max(len(xs), len(m))
    if len(xs) != n:
        xs = pa.repeat(xs[0], n)
    if len(m) != n:
        m, d, us = (np.repeat(p, n) for p in (m, d, us))
        ni = None if ni is None else np.repeat(ni, n)
    nx = np.asarray(xs.is_null().to_numpy(zero_copy_only=False)) if xs.null_count else None
    if kind == "time":
        t = np.asarray(pc.fill_null(xs.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
        res = from_numpy(np.mod(t + np.mod(us, DAY_US), DAY_US), _or(nx, ni)).cast(
            pa.time64("us"))
        return res[0] if sx and si else res
    tz = xs.type.tz if pa.types.is_timestamp(xs.type) else None
    ts = pc.fill_null(xs.cast(pa.timestamp("us", tz)) if tz is None else
                      xs.cast(pa.timestamp("us", tz)).cast(pa.timestamp("us")),
                      pa.scalar(0, pa.int64()).cast(pa.timestamp("us")))
    out = np.asarray(ts.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64).copy()
    for k in np.unique(m[m != 0]):  # months by the calendar: once per distinct count
        rows = np.nonzero(m == k)[0]
        moved = add_interval(ts.take(pa.array(rows)), (int(k), 0, 0))
        out[rows] = np.asarray(moved.cast(pa.int64()).to_numpy(zero_copy_only=False))
    out = _checked(out, _checked(d * DAY_US, us))
    res = from_numpy(out, _or(nx, ni)).cast(pa.timestamp("us", tz))
    return res[0] if sx and si else res


def add_interval(x: pa.Array | pa.Scalar, interval: tuple[int, int, int]
                 ) -> pa.Array | pa.Scalar:
    """date or timestamp + (months, days, micros) -> timestamp[us] (DuckDB's result type);
    month arithmetic clamps the day to the month's end (Jan 31 + 1 month = Feb 29)."""
    months, days, micros = interval
    ts = pc.cast(x, pa.timestamp("us")) if x.type == pa.date32() else x
    tz = ts.type.tz
    if tz is not None:
        ts = ts.cast(pa.timestamp("us"))
    if months:
        ts = _add_months(ts, months)
    if days or micros:
        ts = pc.add(ts.cast(pa.int64()), days * 86_400_000_000 + micros).cast(
            pa.timestamp("us"))
    return ts if tz is None else ts.cast(pa.timestamp("us", tz))


def _add_months(ts: pa.Array | pa.Scalar, months: int) -> pa.Array | pa.Scalar:
    # (a scalar through its integer: Python's datetime ends at year 9999)
    arr = ts if isinstance(ts, pa.Array) else pa.array(
        [ts.value if ts.is_valid else None], pa.int64()).cast(pa.timestamp("us"))
    # nulls filled first: to_numpy of an int64 array with nulls would give float64
    us = pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None
    day_us = np.int64(86_400_000_000)
    days = np.floor_divide(us, day_us)
    rest = us - days * day_us
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    dom = (d - m.astype("datetime64[D]")).astype(np.int64)
    nm = m + np.timedelta64(months, "M")
    last = ((nm + np.timedelta64(1, "M")).astype("datetime64[D]")
            - nm.astype("datetime64[D]")).astype(np.int64) - 1
    nd = nm.astype("datetime64[D]").astype(np.int64) + np.minimum(dom, last)
    out = from_numpy(nd * day_us + rest, None if valid is None else ~valid).cast(
        pa.timestamp("us"))
    return out if isinstance(ts, pa.Array) else out[0]
