"""INTERVAL and TIME functions: ``to_days(n)`` and the other ``to_*`` constructors,
``age``, ``make_time`` (DuckDB's signatures and result types; values in
``query/intervals.py`` and ``query/timeofday.py``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query import functions as fn
from mapdb.query import intervals
from mapdb.query.catalog import arity, integers, kernel, kinds, node, null_result, register
from mapdb.query.evaluate import from_numpy
from mapdb.query.expr import Call, Expr
from mapdb.query.types import INT64, INTERVAL, TIME, TIMESTAMP, QueryError

# name -> (part 0 months / 1 days / 2 microseconds, units of it in one, DuckDB's argument)
_TO = {"to_millennia": (0, 12000, "INTEGER"), "to_centuries": (0, 1200, "INTEGER"),
       "to_decades": (0, 120, "INTEGER"), "to_years": (0, 12, "INTEGER"),
       "to_quarters": (0, 3, "INTEGER"), "to_months": (0, 1, "INTEGER"),
       "to_weeks": (1, 7, "INTEGER"), "to_days": (1, 1, "INTEGER"),
       "to_hours": (2, 3_600_000_000, "BIGINT"), "to_minutes": (2, 60_000_000, "BIGINT"),
       "to_seconds": (2, 1_000_000, "DOUBLE"), "to_milliseconds": (2, 1000, "DOUBLE"),
       "to_microseconds": (2, 1, "BIGINT")}


def _to(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    part, q, arg = _TO[name]
    if arg == "DOUBLE":
        kinds(name, args, ("int", "float", "decimal"))
        x = fn.to_float(args[0])
    else:
        kinds(name, args, "int")
        integers(name, args, 64)  # (DuckDB takes a BIGINT column for an INTEGER: the
        # count's range is checked as it converts)
        x = args[0] if args[0].type.arrow == INT64.arrow else Call("cast", (args[0],), INT64)
    return null_result(args, INTERVAL) or Call("to_interval", (x,), INTERVAL, (part, q))


for _name, (_p, _q, _arg) in _TO.items():
    register(_name, _to, f"({_arg}) -> INTERVAL", family="datetime",
             doc="an out-of-range count is an error" if _arg != "DOUBLE" else
             "rounded to microseconds")

node(exp.ToDays, "this", "to_days")(lambda n: ("to_days", [n.this]))


@kernel("to_interval")
def _to_interval_kernel(e, x):
    part, q = e.param
    arr = x
    nulls = np.asarray(arr.is_null().to_numpy(zero_copy_only=False)) if arr.null_count \
        else None
    if pa.types.is_floating(arr.type):
        v = np.asarray(pc.fill_null(arr, 0.0).to_numpy(zero_copy_only=False)) * q
        if not np.isfinite(v).all() or (np.abs(v) >= 2.0 ** 63).any():
            raise QueryError(f"{e}: interval value out of range (DuckDB: Out of Range)")
        counts = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)
    else:
        k = np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), np.int64)
        limit = (1 << 31) if part < 2 else (1 << 63)
        bound = -(-limit // q)  # |k * q| >= limit exactly when |k| >= bound (no overflow)
        if bound < (1 << 63) and len(k) and ((k >= bound) | (k <= -bound)).any():
            raise QueryError(f"{e}: interval value out of range (DuckDB: Out of Range)")
        counts = k * q
    zero = np.zeros(len(counts), np.int64)
    p = [zero, zero, zero]
    p[part] = counts
    return intervals.build(*p, nulls)


def _age(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1, 2)
    kinds(name, args, ("date", "timestamp"), ("date", "timestamp"))
    if len(args) == 1:  # DuckDB: since today's midnight; a clock mapdb does not read
        raise QueryError("age() with one argument (since the current date) is not "
                         "supported; give both timestamps")
    a, b = (x if x.type.kind == "timestamp" else Call("date_to_timestamp", (x,), TIMESTAMP)
            for x in args)
    if a.type.arrow != b.type.arrow:
        raise QueryError("age() of a TIMESTAMP and a TIMESTAMPTZ is not supported")
    return null_result(args, INTERVAL) or Call("interval_age", (a, b), INTERVAL)


register("age", _age, "(TIMESTAMP, TIMESTAMP) -> INTERVAL", family="datetime",
         doc="years, months, days and time of the calendar")


def _make_time(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 3)
    kinds(name, args, "int", "int", ("int", "float", "decimal"))
    integers(name, args, 64, 64)
    out = null_result(args, TIME)
    if out is not None:
        return out
    ints = [a if a.type.arrow == INT64.arrow else Call("cast", (a,), INT64) for a in args[:2]]
    return Call("make_time", (*ints, fn.to_float(args[2])), TIME)


register("make_time", _make_time, "(BIGINT hour, BIGINT minute, DOUBLE seconds) -> TIME",
         doc="an invalid time is an error", family="datetime")

node(exp.TimeFromParts, "hour min sec", "make_time")(
    lambda n: ("make_time", [n.args["hour"], n.args["min"], n.args["sec"]]))


@kernel("make_time")
def _make_time_kernel(e, h, mi, s):
    def col(a, dtype):
        return (np.asarray(pc.fill_null(a, 0).to_numpy(zero_copy_only=False), dtype),
                np.asarray(a.is_null().to_numpy(zero_copy_only=False), bool))

    (hh, nh), (mm, nm), (ss, ns) = col(h, np.int64), col(mi, np.int64), col(s, np.float64)
    nulls = nh | nm | ns
    bad = ~nulls & ((hh < 0) | (hh > 23) | (mm < 0) | (mm > 59) | ~(ss >= 0) | (ss >= 60))
    if bad.any():
        i = int(np.argmax(bad))
        raise QueryError(f"make_time: time out of range: {hh[i]}:{mm[i]}:{ss[i]} (DuckDB: "
                         f"Conversion Error)")
    us = (hh * 60 + mm) * 60_000_000 + np.round(ss * 1e6).astype(np.int64)
    return from_numpy(np.where(nulls, 0, us), nulls if nulls.any() else None).cast(
        pa.time64("us"))
