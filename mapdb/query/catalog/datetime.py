"""Dates and timestamps: differences in calendar units, parts and names, epoch values,
strftime with DuckDB's format codes, and ``DATE + INTEGER`` (a DATE, as DuckDB). Time zone
aware timestamps are read in UTC (DuckDB's session time zone in mapdb's tests)."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query import functions as fn
from mapdb.query.catalog import (
    arity,
    constant,
    fits,
    integers,
    kernel,
    kinds,
    node,
    null_result,
    operator,
    register,
)
from mapdb.query.evaluate import extract, from_numpy
from mapdb.query.expr import Call, Expr, Lit
from mapdb.query.types import DATE, FLOAT64, INT64, STRING, TIMESTAMP, QueryError, SqlType

T = ("date", "timestamp")
DAY_US = 86_400_000_000
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def _micros(x: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Microseconds since the epoch (dates at midnight) and the NULL mask."""
    if pa.types.is_date(x.type):
        v = pc.multiply(pc.cast(pc.cast(x, pa.int32()), pa.int64()), DAY_US)
    else:
        v = pc.cast(x, pa.int64())
    nulls = np.asarray(v.is_null().to_numpy(zero_copy_only=False)) if v.null_count else None
    return np.asarray(pc.fill_null(v, 0).to_numpy(zero_copy_only=False), np.int64), nulls


def _either(*masks):
    out = None
    for m in masks:
        if m is not None:
            out = m if out is None else (out | m)
    return out


def _naive(x: pa.Array) -> pa.Array:
    """A time zone aware timestamp as its UTC wall time."""
    if pa.types.is_timestamp(x.type) and x.type.tz is not None:
        return x.cast(pa.timestamp("us"))
    return x


def _temporal(name: str, args: list[Expr], n: int = 1) -> None:
    arity(name, args, n)
    kinds(name, args, *[T] * n)


# -- date_diff ---------------------------------------------------------------------------

_UNITS = {"year": "year", "years": "year", "y": "year", "yr": "year", "yrs": "year",
          "quarter": "quarter", "quarters": "quarter", "month": "month", "months": "month",
          "mon": "month", "week": "week", "weeks": "week", "w": "week", "day": "day",
          "days": "day", "d": "day", "dayofmonth": "day", "dow": "day", "doy": "day",
          "isodow": "day", "dayofweek": "day", "dayofyear": "day", "hour": "hour",
          "hours": "hour", "h": "hour", "minute": "minute", "minutes": "minute",
          "min": "minute", "second": "second", "seconds": "second", "s": "second",
          "sec": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
          "ms": "millisecond", "microsecond": "microsecond", "microseconds": "microsecond",
          "us": "microsecond", "decade": "decade", "decades": "decade",
          "century": "century", "centuries": "century", "millennium": "millennium",
          "millennia": "millennium", "isoyear": "isoyear"}
_FIXED = {"microsecond": 1, "millisecond": 1000, "second": 1_000_000,
          "minute": 60_000_000, "hour": 3_600_000_000, "day": DAY_US}


def _unit_between(name: str, args: list[Expr], op: str, refused: tuple = ()) -> Expr:
    """name(part, start, end) as ``op`` with the part's unit (date_diff, date_sub)."""
    arity(name, args, 3)
    kinds(name, args, "string", T, T)
    out = null_result(args, INT64)
    if out is not None:
        return out
    unit = str(constant(name, args, 0, "part")).lower()
    if unit not in _UNITS or _UNITS[unit] in refused:
        raise QueryError(f"{name}(): part {unit!r} is not supported")
    return Call(op, (args[1], args[2]), INT64, _UNITS[unit])


def _date_diff(name: str, args: list[Expr]) -> Expr:
    return _unit_between(name, args, "date_diff_part")


register("date_diff", _date_diff, "(VARCHAR part, DATE, DATE) -> BIGINT",
         "(VARCHAR part, TIMESTAMP, TIMESTAMP) -> BIGINT", aliases=("datediff",),
         doc="part boundaries crossed from the 2nd to the 3rd argument; part constant",
         family="datetime")


@node(exp.DateDiff, "this expression unit date_part_boundary", "date_diff datediff",
      as_written=False)
def _date_diff_node(n):
    unit = n.args.get("unit")
    unit = exp.Literal.string(unit.name if unit is not None else "day")
    return "date_diff", [unit, n.expression, n.this]  # (sqlglot holds them end first)


def _ymd(us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Years and months (1-12) of microsecond timestamps."""
    d = np.floor_divide(us, DAY_US).astype("datetime64[D]")
    m = d.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return np.floor_divide(m, 12) + 1970, np.mod(m, 12) + 1


@kernel("date_diff_part")
def _date_diff_kernel(e, a, b):
    unit = e.param
    ua, na = _micros(a)
    ub, nb = _micros(b)
    if unit in _FIXED:
        q = _FIXED[unit]
        out = np.floor_divide(ub, q) - np.floor_divide(ua, q)
    elif unit == "week":
        days = np.floor_divide(ub, DAY_US) - np.floor_divide(ua, DAY_US)
        out = np.sign(days) * (np.abs(days) // 7)
    elif unit == "isoyear":
        ya = np.asarray(pc.fill_null(pc.iso_year(_naive(a)), 0).to_numpy(
            zero_copy_only=False), np.int64)
        yb = np.asarray(pc.fill_null(pc.iso_year(_naive(b)), 0).to_numpy(
            zero_copy_only=False), np.int64)
        out = yb - ya
    else:
        ya, ma = _ymd(ua)
        yb, mb = _ymd(ub)
        if unit == "month":
            out = (yb * 12 + mb) - (ya * 12 + ma)
        elif unit == "quarter":
            out = (yb * 4 + (mb - 1) // 3) - (ya * 4 + (ma - 1) // 3)
        else:
            q = {"year": 1, "decade": 10, "century": 100, "millennium": 1000}[unit]
            if q == 1:
                out = yb - ya
            elif q == 10:
                out = yb // 10 - ya // 10
            else:  # (centuries and millennia start at year 1: 2000 is in the 20th)
                out = (yb - 1) // q - (ya - 1) // q
    return from_numpy(out.astype(np.int64), _either(na, nb))


# -- date arithmetic -------------------------------------------------------------------

@operator
def _date_plus_integer(op: str, a: Expr, b: Expr) -> Expr | None:
    """DATE + INTEGER, INTEGER + DATE, DATE - INTEGER: a DATE (days)."""
    if op == "add" and a.type.kind in ("int", "null") and b.type.kind == "date":
        a, b = b, a
    if op in ("add", "sub") and a.type.kind == "date" and b.type.kind in ("int", "null"):
        if any(isinstance(x, Lit) and x.value is None for x in (a, b)):
            return Lit(None, DATE)
        if not fits(b, 32):
            raise QueryError(f"DATE {'+' if op == 'add' else '-'} BIGINT is not defined "
                             "(DuckDB adds an INTEGER to a DATE); CAST it AS INTEGER")
        return Call("date_add_days", (a, b if b.type.arrow == INT64.arrow else
                                      Call("cast", (b,), INT64)), DATE, op == "sub")
    return None


@kernel("date_add_days")
def _date_add_days(e, d, k):
    days = pc.cast(pc.cast(d, pa.int32()), pa.int64())
    out = pc.subtract_checked(days, k) if e.param else pc.add_checked(days, k)
    return pc.cast(pc.cast(out, pa.int32()), pa.date32())


def _date_add(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    from mapdb.query import catalog
    return catalog.arith("add", args[0], args[1]) or fn.arith("add", args[0], args[1])


@node(exp.DateAdd, "this expression", "date_add")
def _date_add_node(n):
    if n.args.get("unit") is not None:
        raise QueryError("date_add() with a unit is not supported")
    return "date_add", [n.this, n.expression]


register("date_add", _date_add, "(DATE, INTERVAL) -> TIMESTAMP", "(DATE, INTEGER) -> DATE",
         "(TIMESTAMP, INTERVAL) -> TIMESTAMP", doc="as `+`", family="datetime")


def _last_day(name: str, args: list[Expr]) -> Expr:
    _temporal(name, args)
    return null_result(args, DATE) or Call("last_day", (args[0],), DATE)


register("last_day", _last_day, "(DATE) -> DATE", "(TIMESTAMP) -> DATE", family="datetime")
node(exp.LastDay, "this", "last_day")(lambda n: ("last_day", [n.this]))


@kernel("last_day")
def _last_day_kernel(e, x):
    us, nulls = _micros(x)
    m = np.floor_divide(us, DAY_US).astype("datetime64[D]").astype("datetime64[M]")
    last = (m + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64) - 1
    return from_numpy(last.astype(np.int32), nulls).cast(pa.date32())


def _make_date(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 3)
    kinds(name, args, "int", "int", "int")
    integers(name, args, 64, 64, 64)
    out = null_result(args, DATE)
    if out is not None:
        return out
    return Call("make_date", tuple(a if a.type.arrow == INT64.arrow else
                                   Call("cast", (a,), INT64) for a in args), DATE)


register("make_date", _make_date, "(BIGINT year, BIGINT month, BIGINT day) -> DATE",
         doc="an invalid date is an error; years 1 to 9999", family="datetime")
node(exp.DateFromParts, "year month day", "make_date")(
    lambda n: ("make_date", [n.args["year"], n.args["month"],
                                                 n.args["day"]]))


@kernel("make_date")
def _make_date_kernel(e, y, m, d):
    epoch = _dt.date(1970, 1, 1)

    def one(a, b, c):
        try:
            return (_dt.date(a, b, c) - epoch).days
        except (ValueError, OverflowError):
            raise QueryError(f"Date out of range: {a}-{b}-{c} (DuckDB: Conversion "
                             "Error)") from None
    rows = zip(y.to_pylist(), m.to_pylist(), d.to_pylist(), strict=True)
    return pa.array([None if None in r else one(*r) for r in rows],
                    pa.int32()).cast(pa.date32())


# -- parts and names ---------------------------------------------------------------------

def _names(op: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        _temporal(name, args)
        return null_result(args, STRING) or Call(op, (args[0],), STRING)
    register(op, bind, "(DATE) -> VARCHAR", "(TIMESTAMP) -> VARCHAR", doc="in English",
             family="datetime")


_names("dayname")
_names("monthname")
node(exp.Dayname, "this", "dayname")(lambda n: ("dayname", [n.this]))
node(exp.Monthname, "this", "monthname")(lambda n: ("monthname", [n.this]))
kernel("dayname")(lambda e, x: pc.take(pa.array(_DAYS, pa.large_string()),
                                       pc.day_of_week(_naive(x))))
kernel("monthname")(lambda e, x: pc.take(pa.array(_MONTHS, pa.large_string()),
                                         pc.subtract(pc.month(_naive(x)), 1)))


_OF_TIME = ("hour", "minute", "second", "millisecond", "microsecond")


def _part(field: str, name: str, *aliases: str, cls=None):
    more = ("time", "interval") if field in _OF_TIME else ("interval",) if field == "day" \
        else ()

    def bind(n: str, args: list[Expr]) -> Expr:
        arity(n, args, 1)
        kinds(n, args, (*T, *more))
        return fn.extract(field, args[0])
    sigs = [f"({t}) -> BIGINT" for t in ("DATE", "TIMESTAMP", *(m.upper() for m in more))]
    register(name, bind, *sigs, aliases=aliases, family="datetime")
    if cls is not None:
        node(cls, "this", name)(lambda nd: (name, [nd.this]))


_part("day", "dayofmonth", cls=exp.DayOfMonth)
_part("dow", "weekday")
_part("hour", "hour", cls=exp.Hour)
_part("minute", "minute", cls=exp.Minute)
_part("second", "second", cls=exp.Second)
_part("millisecond", "millisecond")
_part("microsecond", "microsecond")
_part("isoyear", "isoyear")
_part("isodow", "isodow", cls=exp.DayOfWeekIso)
_part("week", "weekofyear", cls=exp.WeekOfYear)


def _yearweek(name: str, args: list[Expr]) -> Expr:
    _temporal(name, args)
    return null_result(args, INT64) or Call("yearweek", (args[0],), INT64)


register("yearweek", _yearweek, "(DATE) -> BIGINT", "(TIMESTAMP) -> BIGINT",
         doc="ISO year * 100 + ISO week", family="datetime")


@kernel("yearweek")
def _yearweek_kernel(e, x):
    x = _naive(x)  # the week takes the year's sign, as DuckDB's: 98101 BC's tenth is -9810010
    year = extract(x, "isoyear")
    week = extract(x, "week")
    return pc.add(pc.multiply(year, 100), pc.if_else(pc.less(year, 0), pc.negate(week), week))


def _epoch(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    kinds(name, args, (*T, "time", "interval"))
    if args[0].type.kind in ("time", "interval"):
        return fn.extract("epoch", args[0])
    return null_result(args, FLOAT64) or Call("epoch_seconds", (args[0],), FLOAT64)


@kernel("epoch_seconds")
def _epoch_seconds(e, x):
    us, nulls = _micros(x)
    return from_numpy(us / 1e6, nulls)


register("epoch", _epoch, "(DATE) -> DOUBLE", "(TIMESTAMP) -> DOUBLE", "(TIME) -> DOUBLE",
         "(INTERVAL) -> DOUBLE", doc="seconds (an interval's year 365.25 days, month 30)",
         family="datetime")
node(exp.TimeToUnix, "this", "epoch")(lambda n: ("epoch", [n.this]))


def _epoch_unit(op: str, q: int):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 1)
        kinds(name, args, (*T, "int"))
        integers(name, args, 64)
        x = args[0]
        if x.type.kind == "int":
            if op != "epoch_ms":
                raise QueryError(f"{name}() of an integer is not supported")
            return null_result(args, TIMESTAMP) or Call(
                "epoch_ms_to_timestamp", (x if x.type.arrow == INT64.arrow else
                                          Call("cast", (x,), INT64),), TIMESTAMP)
        return null_result(args, INT64) or Call("epoch_unit", (x,), INT64, q)
    sigs = ["(DATE) -> BIGINT", "(TIMESTAMP) -> BIGINT"]
    if op == "epoch_ms":
        sigs.append("(BIGINT) -> TIMESTAMP")
    register(op, bind, *sigs, doc={1000: "milliseconds", 1: "microseconds"}[q],
             family="datetime")


_epoch_unit("epoch_ms", 1000)
_epoch_unit("epoch_us", 1)


@node(exp.UnixToTime, "this scale", "epoch_ms to_timestamp make_timestamp")
def _unix_node(n):
    scale = n.args.get("scale")
    if scale is not None and scale.name == "3":
        return "epoch_ms", [n.this]
    if scale is not None and scale.name == "6":
        return "make_timestamp", [n.this]
    if scale is not None:
        raise QueryError(f"epoch to timestamp at scale {scale.name} is not supported")
    return "to_timestamp", [n.this]


@kernel("epoch_unit")
def _epoch_unit_kernel(e, x):
    us, nulls = _micros(x)
    q = e.param  # (DuckDB rounds to the unit, half away from zero)
    return from_numpy(np.sign(us) * ((np.abs(us) + q // 2) // q), nulls)


kernel("epoch_ms_to_timestamp")(lambda e, x: pc.multiply_checked(x, 1000).cast(
    pa.timestamp("us")))


# -- strftime ---------------------------------------------------------------------------

def _strftime(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    if args[0].type.kind == "string" and args[1].type.kind in T:
        args = [args[1], args[0]]  # strftime(format, value): DuckDB takes both orders
    kinds(name, args, T, "string")
    out = null_result(args, STRING)
    if out is not None:
        return out
    fmt = constant(name, args, 1, "format")
    if fmt == "":
        raise QueryError(f"{name}(): the format is empty (DuckDB: Invalid Input Error)")
    return Call("strftime", (args[0],), STRING, tuple(_parse_format(fmt)))


register("strftime", _strftime, "(DATE, VARCHAR format) -> VARCHAR",
         "(TIMESTAMP, VARCHAR format) -> VARCHAR",
         doc="DuckDB's codes: %Y %y %G %m %d %H %I %M %S %f %g %n %j %a %A %b %B %w %u %p "
             "%U %W %V %z %Z %c %x %X %% (and %-d, %-m ... unpadded); format constant",
         family="datetime")


@node(exp.TimeToStr, "this format", "strftime")
def _strftime_node(n):
    fmt = n.args["format"]
    if isinstance(fmt, exp.Literal) and fmt.is_string and fmt.this == "None":
        # (sqlglot parses strftime(d, '') with the format 'None': the two are one here)
        raise QueryError("strftime(): the format 'None' (or '') is not supported")
    return "strftime", [n.this, fmt]


_CODES = set("YyGmdHIMSfgnjaAbBwupUWVzZ%")
_PADDED = {"m": 2, "d": 2, "H": 2, "I": 2, "M": 2, "S": 2, "j": 3, "y": 2, "U": 2, "W": 2,
           "V": 2}


def _parse_format(fmt: str) -> list[str]:
    """The format as literal text and codes ('%Y', '%-d')."""
    out, i, text = [], 0, ""
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            text += c
            i += 1
            continue
        code = fmt[i + 1:i + 2]
        if code == "-":
            code = "-" + fmt[i + 2:i + 3]
        if code in ("c", "x", "X"):
            expand = {"c": "%Y-%m-%d %H:%M:%S", "x": "%Y-%m-%d", "X": "%H:%M:%S"}[code]
            if text:
                out.append(text)
                text = ""
            out += _parse_format(expand)
            i += 2
            continue
        if code.lstrip("-") not in _CODES or code in ("-", "-%") or (
                code.startswith("-") and code[1] not in _PADDED):
            raise QueryError(f"strftime(): format code %{code} is not supported")
        if text:
            out.append(text)
            text = ""
        out.append("%" + code)
        i += len(code) + 1
    if text:
        out.append(text)
    return out


def _digits(v: pa.Array, width: int) -> pa.Array:
    """Zero-padded to ``width``; a negative number (a year BC) unpadded, as DuckDB's."""
    s = pc.cast(v, pa.large_string())
    if width <= 1:
        return s
    return pc.if_else(pc.less(v, 0), s, pc.utf8_lpad(s, width=width, padding="0"))


def _mod(a, n: int):
    """a mod n for non-negative integers."""
    return pc.subtract(a, pc.multiply(pc.divide(a, n), n))


@kernel("strftime")
def _strftime_kernel(e, x):
    x = _naive(x)
    ts = pc.cast(x, pa.timestamp("us")) if pa.types.is_date(x.type) else x
    i64 = lambda a: pc.cast(a, pa.int64())  # noqa: E731
    parts: list = []
    cache: dict = {}

    def get(k):
        if k not in cache:
            cache[k] = {
                "Y": lambda: extract(ts, "year"), "m": lambda: i64(pc.month(ts)),
                "d": lambda: i64(pc.day(ts)), "H": lambda: i64(pc.hour(ts)),
                "M": lambda: i64(pc.minute(ts)), "S": lambda: i64(pc.second(ts)),
                "j": lambda: extract(ts, "doy"),  # (past year 9999 Arrow's calendar wraps)
                "G": lambda: extract(ts, "isoyear"), "V": lambda: extract(ts, "week"),
                "w": lambda: i64(pc.day_of_week(ts, count_from_zero=True, week_start=7)),
                "u": lambda: i64(pc.day_of_week(ts, count_from_zero=False, week_start=1)),
                "f": lambda: pc.add(pc.multiply(i64(pc.millisecond(ts)), 1000),
                                    i64(pc.microsecond(ts))),
            }[k]()
        return cache[k]

    for p in e.param:
        if not p.startswith("%"):
            parts.append(pa.scalar(p, pa.large_string()))
            continue
        code = p[1:]
        bare = code.startswith("-")
        c = code.lstrip("-")
        width = 1 if bare else _PADDED.get(c, 1)
        if c in "YmdHMSjGVwu":
            v = get(c)
            parts.append(_digits(v, 4 if c in "YG" and not bare else width))
        elif c == "y":
            parts.append(_digits(_mod(pc.abs(get("Y")), 100), width))  # DuckDB: |year|
        elif c == "I":  # 12, 1, ... 11
            parts.append(_digits(pc.add(_mod(pc.add(get("H"), 11), 12), 1), width))
        elif c == "p":
            parts.append(pc.if_else(pc.less(get("H"), 12), pa.scalar("AM", pa.large_string()),
                                    pa.scalar("PM", pa.large_string())))
        elif c in "fgn":
            us = get("f")
            v = {"f": us, "g": pc.divide(us, 1000), "n": pc.multiply(us, 1000)}[c]
            parts.append(_digits(v, {"f": 6, "g": 3, "n": 9}[c]))
        elif c in "aA":
            names = pa.array([n[:3] if c == "a" else n for n in _DAYS], pa.large_string())
            parts.append(pc.take(names, pc.day_of_week(ts)))
        elif c in "bB":
            names = pa.array([n[:3] if c == "b" else n for n in _MONTHS], pa.large_string())
            parts.append(pc.take(names, pc.subtract(pc.month(ts), 1)))
        elif c in "UW":  # C's week of the year, from Sunday (%U) or Monday (%W)
            wd = get("w") if c == "U" else _mod(pc.add(get("w"), 6), 7)
            doy0 = pc.subtract(get("j"), 1)
            parts.append(_digits(pc.divide(pc.subtract(pc.add(doy0, 7), wd), 7), width))
        elif c == "z":
            parts.append(pa.scalar("+00", pa.large_string()))
        elif c == "Z":
            parts.append(pa.scalar("", pa.large_string()))
        elif c == "%":
            parts.append(pa.scalar("%", pa.large_string()))
    if not parts:
        return pc.if_else(pc.is_valid(ts), pa.scalar("", pa.large_string()),
                          pa.scalar(None, pa.large_string()))
    valid = pc.is_valid(ts)
    out = pc.binary_join_element_wise(*parts, pa.scalar("", pa.large_string()))
    return pc.if_else(valid, out, pa.scalar(None, pa.large_string()))


# -- more parts: century, decade, millennium, era ----------------------------------------

def _year_part(op: str, doc: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        _temporal(name, args)
        return null_result(args, INT64) or Call("year_part", (args[0],), INT64, op)
    register(op, bind, "(DATE) -> BIGINT", "(TIMESTAMP) -> BIGINT", doc=doc,
             family="datetime")


_year_part("century", "2000 is in the 20th, 2001 in the 21st")
_year_part("decade", "year / 10")
_year_part("millennium", "2000 is in the 2nd, 2001 in the 3rd")
_year_part("era", "1 (AD) or 0 (BC)")


@kernel("year_part")
def _year_part_kernel(e, x):
    us, nulls = _micros(x)
    y, _ = _ymd(us)
    out = {"decade": lambda: np.floor_divide(y, 10),
           "century": lambda: np.where(y > 0, (y - 1) // 100 + 1, -((-y) // 100 + 1)),
           "millennium": lambda: np.where(y > 0, (y - 1) // 1000 + 1, -((-y) // 1000 + 1)),
           "era": lambda: (y > 0).astype(np.int64)}[e.param]()
    return from_numpy(out.astype(np.int64), nulls)


# -- date_sub: whole units between -------------------------------------------------------

def _date_sub(name: str, args: list[Expr]) -> Expr:
    return _unit_between(name, args, "date_sub_part", refused=("isoyear",))


register("date_sub", _date_sub, "(VARCHAR part, DATE, DATE) -> BIGINT",
         "(VARCHAR part, TIMESTAMP, TIMESTAMP) -> BIGINT", aliases=("datesub",),
         doc="whole parts from the 2nd to the 3rd argument (a month ending on a month's "
             "last day is whole); part constant", family="datetime")


def _months_between(ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Whole months from ua to ub (microseconds), as DuckDB's date_sub: the later day of
    month (and time) must be reached, or the end be its month's last day."""
    sign = np.where(ub >= ua, 1, -1)
    lo, hi = np.minimum(ua, ub), np.maximum(ua, ub)
    ly, lm = _ymd(lo)
    hy, hm = _ymd(hi)
    lday, hday = np.floor_divide(lo, DAY_US), np.floor_divide(hi, DAY_US)
    ltod, htod = lo - lday * DAY_US, hi - hday * DAY_US
    lmonth0 = lday.astype("datetime64[D]").astype("datetime64[M]")
    hmonth0 = hday.astype("datetime64[D]").astype("datetime64[M]")
    ldom = lday - lmonth0.astype("datetime64[D]").astype(np.int64) + 1
    hdom = hday - hmonth0.astype("datetime64[D]").astype(np.int64) + 1
    hlast = (hmonth0 + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64) - \
        hmonth0.astype("datetime64[D]").astype(np.int64)
    clamp = (hdom == hlast) & ((ldom > hlast) | ((ldom == hlast) & (ltod < htod)))
    ldom = np.where(clamp, hlast, ldom)
    months = (hy - ly) * 12 + (hm - lm)
    short = (hdom < ldom) | ((hdom == ldom) & (htod < ltod))
    return sign * (months - short.astype(np.int64))


@kernel("date_sub_part")
def _date_sub_kernel(e, a, b):
    unit = e.param
    ua, na = _micros(a)
    ub, nb = _micros(b)
    d = ub - ua
    if unit in _FIXED:
        q = _FIXED[unit]
        out = np.sign(d) * (np.abs(d) // q)
    elif unit == "week":
        out = np.sign(d) * (np.abs(d) // (7 * DAY_US))
    else:
        m = _months_between(ua, ub)
        q = {"month": 1, "quarter": 3, "year": 12, "decade": 120, "century": 1200,
             "millennium": 12000}[unit]
        out = np.sign(m) * (np.abs(m) // q)
    return from_numpy(out.astype(np.int64), _either(na, nb))


# -- make_timestamp -------------------------------------------------------------------------

def _make_timestamp(name: str, args: list[Expr]) -> Expr:
    if len(args) == 1:
        kinds(name, args, "int")
        integers(name, args, 64)
        x = args[0]
        return null_result(args, TIMESTAMP) or Call(
            "micros_to_timestamp", (x if x.type.arrow == INT64.arrow else
                                    Call("cast", (x,), INT64),), TIMESTAMP)
    arity(name, args, 6)
    kinds(name, args, "int", "int", "int", "int", "int", ("int", "float", "decimal"))
    integers(name, args, 64, 64, 64, 64, 64, 64)
    out = null_result(args, TIMESTAMP)
    if out is not None:
        return out
    ints = [a if a.type.arrow == INT64.arrow else Call("cast", (a,), INT64)
            for a in args[:5]]
    return Call("make_timestamp", (*ints, fn.to_float(args[5])), TIMESTAMP)


register("make_timestamp", _make_timestamp,
         "(BIGINT year, BIGINT month, BIGINT day, BIGINT hour, BIGINT minute, DOUBLE "
         "seconds) -> TIMESTAMP", "(BIGINT micros) -> TIMESTAMP",
         doc="an invalid date or time is an error", family="datetime")
node(exp.TimestampFromParts, "year month day hour min sec", "make_timestamp")(
    lambda n: ("make_timestamp", [n.args["year"], n.args["month"], n.args["day"],
                                  n.args["hour"], n.args["min"], n.args["sec"]]))
kernel("micros_to_timestamp")(lambda e, x: x.cast(pa.timestamp("us")))


@kernel("make_timestamp")
def _make_timestamp_kernel(e, y, mo, d, h, mi, s):
    epoch = _dt.date(1970, 1, 1)

    def one(yy, mm, dd, hh, mn, ss):
        try:
            day = (_dt.date(yy, mm, dd) - epoch).days
        except (ValueError, OverflowError):
            raise QueryError(f"Date out of range: {yy}-{mm}-{dd} (DuckDB: Conversion "
                             "Error)") from None
        if ss != ss or ss in (float("inf"), float("-inf")):
            raise QueryError("Time out of range: seconds must be a finite number (DuckDB: "
                             "Conversion Error)")
        us = round(ss * 1_000_000)
        if not (0 <= hh < 24 and 0 <= mn < 60 and 0 <= us < 60_000_000):
            raise QueryError(f"Time out of range: {hh}:{mn}:{ss} (DuckDB: Conversion "
                             "Error)")
        return day * DAY_US + (hh * 3600 + mn * 60) * 1_000_000 + us
    cols = [c.to_pylist() for c in (y, mo, d, h, mi, s)]
    return pa.array([None if None in r else one(*r) for r in zip(*cols, strict=True)],
                    pa.int64()).cast(pa.timestamp("us"))


# -- strptime ---------------------------------------------------------------------------

_NUMERIC = {"Y": r"\d{1,4}", "m": r"\d{1,2}", "d": r"\d{1,2}", "H": r"\d{1,2}",
            "M": r"\d{1,2}", "S": r"\d{1,2}", "I": r"\d{1,2}", "y": r"\d{1,2}",
            "j": r"\d{1,3}", "f": r"\d{1,6}", "g": r"\d{1,3}", "n": r"\d{1,9}"}
_NAMES = {"a": [d[:3] for d in _DAYS], "A": _DAYS, "b": [m[:3] for m in _MONTHS],
          "B": _MONTHS}


def _strptime_pattern(fmt: str):
    """DuckDB's strptime format as a Python regex with a group per code."""
    import re
    out, seen = ["^"], set()
    for part in _parse_format(fmt):
        if not part.startswith("%"):
            for ch in part:
                out.append(r"\s+" if ch.isspace() else re.escape(ch))
            continue
        c = part[1:].lstrip("-")
        if c == "%":
            out.append("%")
            continue
        if c in seen:
            raise QueryError(f"strptime(): format code %{c} appears twice")
        seen.add(c)
        if c in _NUMERIC:
            out.append(rf"\s*(?P<{c}>{_NUMERIC[c]})")
        elif c in _NAMES:
            out.append(f"(?P<{c}>{'|'.join(_NAMES[c])})")
        elif c == "p":
            out.append("(?P<p>AM|PM)")
        else:
            raise QueryError(f"strptime(): format code %{c} is not supported")
    return re.compile("".join(out) + "$", re.IGNORECASE)


def _strptime(op: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 2)
        kinds(name, args, "string", "string")
        out = null_result(args, TIMESTAMP)
        if out is not None:
            return out
        fmt = constant(name, args, 1, "format")
        if fmt == "":
            raise QueryError(f"{name}(): the format is empty (DuckDB: Invalid Input Error)")
        _strptime_pattern(fmt)  # (refuses what it cannot read, at bind time)
        return Call("strptime", (args[0],), TIMESTAMP, (fmt, op == "try_strptime"))
    register(op, bind, "(VARCHAR, VARCHAR format) -> TIMESTAMP",
             doc=("text that does not match the format is an error" if op == "strptime"
                  else "NULL where strptime fails") + "; format constant, without %z",
             family="datetime")


_strptime("strptime")
_strptime("try_strptime")


@node(exp.StrToTime, "this format", "strptime")
def _strptime_node(n):
    fmt = n.args["format"]
    if isinstance(fmt, exp.Literal) and fmt.is_string and fmt.this == "None":
        raise QueryError("strptime(): the format 'None' (or '') is not supported")
    return "strptime", [n.this, fmt]


def _parse_one(pattern, fmt: str, text: str) -> int | None:
    m = pattern.match(text)
    if m is None:
        return None
    g = m.groupdict()
    num = lambda k, default: int(g[k]) if g.get(k) is not None else default  # noqa: E731
    year = num("Y", None)
    if year is None and g.get("y") is not None:
        yy = int(g["y"])
        year = 2000 + yy if yy < 69 else 1900 + yy
    year = 1900 if year is None else year
    hour = num("H", None)
    if g.get("I") is not None:
        h12 = int(g["I"])
        if not 1 <= h12 <= 12:
            return None
        hour = h12 % 12 + (12 if (g.get("p") or "").upper() == "PM" else 0)
    hour = 0 if hour is None else hour
    minute, second = num("M", 0), num("S", 0)
    if not (hour < 24 and minute < 60 and second < 60):
        return None
    frac = 0
    for k in ("f", "g", "n"):  # a fraction of a second: '5' is half a second
        if g.get(k) is not None:
            frac = int(g[k].ljust(9, "0")[:6])
    month = num("m", None)
    if month is None and g.get("b") is not None:
        month = [x.lower() for x in _NAMES["b"]].index(g["b"].lower()) + 1
    if month is None and g.get("B") is not None:
        month = [x.lower() for x in _NAMES["B"]].index(g["B"].lower()) + 1
    epoch = _dt.date(1970, 1, 1)
    try:
        if g.get("j") is not None:
            day = (_dt.date(year, 1, 1) - epoch).days + int(g["j"]) - 1
            if not 1 <= int(g["j"]) <= (366 if _dt.date(year, 12, 31).timetuple()
                                        .tm_yday == 366 else 365):
                raise ValueError
        else:
            day = (_dt.date(year, month or 1, num("d", 1)) - epoch).days
    except ValueError:
        raise QueryError(f"Date out of range: {year}-{month}-{num('d', 1)} (DuckDB: "
                         "Conversion Error)") from None
    return day * DAY_US + (hour * 3600 + minute * 60 + second) * 1_000_000 + frac


@kernel("strptime")
def _strptime_kernel(e, s):
    fmt, lenient = e.param
    pattern = _strptime_pattern(fmt)
    out = []
    for text in s.to_pylist():
        if text is None:
            out.append(None)
            continue
        try:
            v = _parse_one(pattern, fmt, text)
        except QueryError:
            if lenient:
                out.append(None)
                continue
            raise
        if v is None and not lenient:
            raise QueryError(f'Could not parse string "{text}" according to format '
                             f'specifier "{fmt}" (DuckDB: Invalid Input Error)')
        out.append(v)
    return pa.array(out, pa.int64()).cast(pa.timestamp("us"))


# -- to_timestamp, time_bucket --------------------------------------------------------------

TIMESTAMPTZ = SqlType("timestamp", arrow=pa.timestamp("us", "UTC"))


def _to_timestamp(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    kinds(name, args, ("int", "float", "decimal"))
    return null_result(args, TIMESTAMPTZ) or Call("to_timestamp", (fn.to_float(args[0]),),
                                                  TIMESTAMPTZ)


register("to_timestamp", _to_timestamp, "(DOUBLE seconds) -> TIMESTAMP WITH TIME ZONE",
         doc="seconds since the epoch, to the microsecond; NaN or out of range an error",
         family="datetime")


@kernel("to_timestamp")
def _to_timestamp_kernel(e, x):
    v = _f64(x)
    with np.errstate(invalid="ignore"):
        us = np.round(v * 1e6)
        bad = ~np.isfinite(us) | (np.abs(us) >= 9.2e18)
    nulls = np.asarray(x.is_null().to_numpy(zero_copy_only=False)) if x.null_count else None
    if (bad & (~nulls if nulls is not None else True)).any():
        raise QueryError("Epoch seconds out of range for TIMESTAMP WITH TIME ZONE (DuckDB: "
                         "Conversion Error)")
    us = np.where(bad, 0, us).astype(np.int64)
    return from_numpy(us, nulls).cast(pa.timestamp("us", "UTC"))


def _f64(x: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(x, 0.0).to_numpy(zero_copy_only=False), np.float64)


_BUCKET_ORIGIN_US = 946857600 * 1_000_000  # 2000-01-03 (a Monday): DuckDB's origin
_BUCKET_ORIGIN_MONTH = 30 * 12  # 2000-01 in months since 1970-01


def _time_bucket(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2, 3)
    kinds(name, args, "interval", T, T)
    width = args[0]
    if not isinstance(width, Lit):
        raise QueryError(f"{name}(): the bucket width must be a constant INTERVAL")
    x = args[1]
    t = x.type if x.type.kind != "null" else TIMESTAMP
    if any(isinstance(a, Lit) and a.value is None for a in args[1:]):
        return Lit(None, t)
    months, days, micros = width.value
    if months and (days or micros):
        raise QueryError(f"{name}(): a width of months and days or time is not supported")
    if months < 0 or days < 0 or micros < 0 or not (months or days or micros):
        raise QueryError(f"{name}(): the bucket width must be positive")
    if months and len(args) > 2:
        raise QueryError(f"{name}(): an origin with a width in months is not supported")
    if x.type.kind == "timestamp" and x.type.arrow.tz is not None:
        raise QueryError(f"{name}() of a TIMESTAMP WITH TIME ZONE is not supported")
    rest = tuple(args[1:])
    if len(rest) > 1 and rest[1].type.kind == "timestamp" and rest[1].type.arrow.tz:
        raise QueryError(f"{name}(): an origin WITH TIME ZONE is not supported")
    return Call("time_bucket", rest, t, (months, days * DAY_US + micros))


register("time_bucket", _time_bucket,
         "(INTERVAL width, DATE[, DATE origin]) -> DATE",
         "(INTERVAL width, TIMESTAMP[, TIMESTAMP origin]) -> TIMESTAMP",
         doc="buckets from 2000-01-03 (days and time) or 2000-01 (months); width constant",
         family="datetime")


@kernel("time_bucket")
def _time_bucket_kernel(e, x, origin=None):
    months, width = e.param
    us, nulls = _micros(x)
    if months:
        d = np.floor_divide(us, DAY_US).astype("datetime64[D]")
        m = d.astype("datetime64[M]").astype(np.int64)
        b = np.floor_divide(m - _BUCKET_ORIGIN_MONTH, months) * months + _BUCKET_ORIGIN_MONTH
        out = b.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) * DAY_US
    else:
        if origin is None:
            o, on = np.int64(_BUCKET_ORIGIN_US), None
        else:
            o, on = _micros(origin)
            nulls = _either(nulls, on)
        out = np.floor_divide(us - o, width) * width + o
    ts = from_numpy(out.astype(np.int64), nulls).cast(pa.timestamp("us"))
    if pa.types.is_date(x.type):
        return pc.cast(pc.floor_temporal(ts, unit="day"), pa.date32())
    return ts


@node(exp.DateBin, "this expression unit origin", "time_bucket")
def _time_bucket_node(n):
    # (sqlglot reads time_bucket's third argument, the origin, as DateBin's unit: a bare
    # column name as a Var)
    third = n.args.get("origin") or n.args.get("unit")
    if isinstance(third, exp.Var):
        third = exp.column(third.name)
    return "time_bucket", [n.this, n.expression] + ([third] if third is not None else [])
