"""Aggregates that need a group's values together: median and quantiles, mode, arg_max and
arg_min, any_value/first/last, product, and the two-argument statistics (corr, covar,
regr_*), with DuckDB's result types and edge cases (checked in
tests/query/test_aggregate_functions.py).

Their state is not a running sum, so the hash aggregate (``executor._group``) gathers each
group's row numbers in input order (Arrow's ``hash_list`` of a row index, one list for all
of them) and ``finish`` computes every group of one aggregate at once, vectorized: the
values are taken in group order, sorted within their group where the function needs an
order (``pc.sort_indices`` by group, value and input position: NaN above every number and
-0.0 equal to 0.0 as DuckDB orders them), and each group's answer is picked or reduced by
index arithmetic (``np.bincount``, ``np.add.reduceat``). No Python loop runs per group or
per row.

Ties follow the input order: ``arg_max`` and ``mode`` keep the first row met (DuckDB's
``mode`` picks among equal counts in its hash table's order, so a tie can differ; see
docs/query.md). ``approx_count_distinct`` is the exact count (HyperLogLog's estimate is
DuckDB's own; an exact answer is within any estimate's error).

>>> from mapdb.query.catalog import bind
>>> from mapdb.query.expr import Col
>>> from mapdb.query.types import DATE, INT64
>>> [str(bind("median", [Col(c, t)])) for c, t in (("i", INT64), ("d", DATE))]
['quantile_cont(i, 1/2)', 'quantile_cont(d, 1/2)']
>>> str(bind("median", [Col("d", DATE)]).type), str(bind("mode", [Col("d", DATE)]).type)
('timestamp', 'date')
"""

from __future__ import annotations

import fractions
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query.catalog import AGGREGATES, arity, constant, kernel, node, register
from mapdb.query.evaluate import float_key, from_numpy
from mapdb.query.expr import Agg, Call, Expr
from mapdb.query.types import FLOAT64, TIMESTAMP, QueryError, SqlType

_ORDERABLE = ("int", "float", "decimal", "date", "timestamp", "string", "bool")
_NUMBERS = ("int", "float", "decimal")


def _plain(name: str, args: list[Expr]) -> Expr:
    for a in args:
        if any(isinstance(x, Agg) for x in a.walk()):
            raise QueryError(f"{name}(): aggregate function calls cannot be nested")
    return args[0]


def _kind(name: str, x: Expr, kinds: tuple[str, ...]) -> None:
    if x.type.kind not in (*kinds, "null"):
        raise QueryError(f"{name}() does not take {x.type}")


def _fraction(name: str, args: list[Expr]) -> str:
    """The quantile, a constant in [0, 1], as its exact decimal text."""
    q, t = constant(name, args, 1, "quantile"), args[1].type
    if t.kind not in ("int", "decimal", "float") or q is None or \
            (t.kind == "float" and not math.isfinite(q)):
        raise QueryError(f"{name}(): the quantile must be a number constant between 0 and 1"
                         " (lists of quantiles are not supported)")
    # (a decimal constant is a scaled int: 0.25 is 25 at scale 2)
    f = fractions.Fraction(q, 10 ** t.scale) if t.kind == "decimal" else fractions.Fraction(q)
    if not 0 <= f <= 1:
        raise QueryError(f"{name}(): the quantile must be between 0 and 1, got {float(f)}")
    return str(f)


def _continuous_type(t: SqlType) -> SqlType:
    """DuckDB's quantile_cont/median type: integers DOUBLE, dates TIMESTAMP, else the
    argument's own (decimals interpolate in their type)."""
    if t.kind == "int" or t.kind == "null":
        return FLOAT64
    if t.kind == "date":
        return TIMESTAMP
    return t


def _median(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    x = _plain(name, args)
    _kind(name, x, _ORDERABLE)
    if x.type.kind in ("string", "bool"):  # DuckDB: the lower middle value
        return Agg("quantile_disc", x, x.type, "1/2")
    return Agg("quantile_cont", x, _continuous_type(x.type), "1/2")


def _quantile_cont(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    x = _plain(name, args)
    _kind(name, x, ("int", "float", "decimal", "date", "timestamp"))
    return Agg("quantile_cont", x, _continuous_type(x.type), _fraction(name, args))


def _quantile_disc(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    x = _plain(name, args)
    _kind(name, x, _ORDERABLE)
    return Agg("quantile_disc", x, x.type, _fraction(name, args))


def _same_type(fn_name: str, kinds: tuple[str, ...] = _ORDERABLE):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 1)
        x = _plain(name, args)
        _kind(name, x, kinds)
        return Agg(fn_name, x, x.type)
    return bind


def _pair(x: Expr, y: Expr) -> Expr:
    """Two arguments as one (a struct array of x and y, evaluated together)."""
    t = SqlType("pair", arrow=pa.struct([("a", x.type.arrow), ("b", y.type.arrow)]))
    return Call("pair", (x, y), t)


def _arg_extreme(fn_name: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 2)
        _plain(name, args)
        x, y = args
        _kind(name, x, _ORDERABLE)
        _kind(name, y, _ORDERABLE)
        return Agg(fn_name, _pair(x, y), x.type)
    return bind


def _two_numbers(fn_name: str, t: SqlType = FLOAT64):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 2)
        _plain(name, args)
        for a in args:
            _kind(name, a, _NUMBERS)
        return Agg(fn_name, _pair(*args), t)
    return bind


def _product(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    x = _plain(name, args)
    _kind(name, x, _NUMBERS)
    return Agg("product", x, FLOAT64)


def _approx_count_distinct(name: str, args: list[Expr]) -> Expr:
    from mapdb.query import functions as fn
    arity(name, args, 1)
    return fn.aggregate("count_distinct", _plain(name, args))


_AGG = "aggregate"
register("median", _median, "(number) -> DOUBLE (DECIMAL: its type)", "(DATE) -> TIMESTAMP",
         "(TIMESTAMP) -> TIMESTAMP", "(VARCHAR) -> VARCHAR", family=_AGG,
         doc="the middle value, interpolated (VARCHAR, BOOLEAN: the lower one)")
register("quantile_cont", _quantile_cont, "(number, q) -> DOUBLE (DECIMAL: its type)",
         "(DATE, q) -> TIMESTAMP", "(TIMESTAMP, q) -> TIMESTAMP", family=_AGG,
         doc="interpolated; q a constant in [0, 1] (not a list)")
register("quantile_disc", _quantile_disc, "(any, q) -> the argument's type",
         aliases=("quantile",), family=_AGG, doc="the value at ceil(n * q); q a constant")
register("mode", _same_type("mode"), "(any) -> the argument's type", family=_AGG,
         doc="the most frequent value; a tie: the first met (DuckDB: its hash order)")
register("arg_max", _arg_extreme("arg_max"), "(any x, any y) -> x's type",
         aliases=("max_by", "argmax"), family=_AGG,
         doc="x of the row with the largest y (rows with a NULL skipped; a tie: the first)")
register("arg_min", _arg_extreme("arg_min"), "(any x, any y) -> x's type",
         aliases=("min_by", "argmin"), family=_AGG, doc="x of the row with the smallest y")
register("any_value", _same_type("any_value"), "(any) -> the argument's type", family=_AGG,
         doc="the first non-NULL value met")
register("first", _same_type("first"), "(any) -> the argument's type", family=_AGG,
         aliases=("arbitrary",), doc="the first row's value (NULL included)")
register("last", _same_type("last"), "(any) -> the argument's type", family=_AGG,
         doc="the last row's value (NULL included)")
register("product", _product, "(number) -> DOUBLE", family=_AGG)
register("approx_count_distinct", _approx_count_distinct, "(any) -> BIGINT", family=_AGG,
         doc="exact (DuckDB: a HyperLogLog estimate)")
register("corr", _two_numbers("corr"), "(number y, number x) -> DOUBLE", family=_AGG,
         doc="NaN where a variance is 0")
register("covar_pop", _two_numbers("covar_pop"), "(number y, number x) -> DOUBLE",
         family=_AGG)
register("covar_samp", _two_numbers("covar_samp"), "(number y, number x) -> DOUBLE",
         family=_AGG)
register("regr_slope", _two_numbers("regr_slope"), "(number y, number x) -> DOUBLE",
         family=_AGG)
register("regr_intercept", _two_numbers("regr_intercept"), "(number y, number x) -> DOUBLE",
         family=_AGG)
register("regr_r2", _two_numbers("regr_r2"), "(number y, number x) -> DOUBLE", family=_AGG)
register("regr_count", _two_numbers("regr_count", SqlType("int", arrow=pa.uint32())),
         "(number y, number x) -> UINTEGER", family=_AGG)
register("regr_avgx", _two_numbers("regr_avgx"), "(number y, number x) -> DOUBLE",
         family=_AGG)
register("regr_avgy", _two_numbers("regr_avgy"), "(number y, number x) -> DOUBLE",
         family=_AGG)
register("regr_sxx", _two_numbers("regr_sxx"), "(number y, number x) -> DOUBLE", family=_AGG)
register("regr_syy", _two_numbers("regr_syy"), "(number y, number x) -> DOUBLE", family=_AGG)
register("regr_sxy", _two_numbers("regr_sxy"), "(number y, number x) -> DOUBLE", family=_AGG)

# sqlglot's nodes for them (the rest are exp.Anonymous, bound by name)
node(exp.Median, "this", "median")(lambda n: ("median", [n.this]))
node(exp.PercentileCont, "this expression", "quantile_cont")(
    lambda n: ("quantile_cont", [n.this, n.expression]))
node(exp.PercentileDisc, "this expression", "quantile_disc")(
    lambda n: ("quantile_disc", [n.this, n.expression]))
node(exp.Quantile, "this quantile", "quantile")(
    lambda n: ("quantile_disc", [n.this, n.args["quantile"]]))
node(exp.Mode, "this", "mode")(lambda n: ("mode", [n.this]))
node(exp.ArgMax, "this expression", "arg_max max_by argmax")(
    lambda n: ("arg_max", [n.this, n.expression]))
node(exp.ArgMin, "this expression", "arg_min min_by argmin")(
    lambda n: ("arg_min", [n.this, n.expression]))
node(exp.AnyValue, "this", "any_value")(lambda n: ("any_value", [n.this]))
# (DuckDB's parser wraps any_value in IGNORE NULLS, which it always does; IGNORE NULLS on
# anything else is not read here: refused)
@node(exp.IgnoreNulls, "this", "any_value")
def _ignore_nulls(n):
    if not isinstance(n.this, exp.AnyValue):
        raise QueryError("IGNORE NULLS is not supported here")
    return "any_value", [n.this.this]
node(exp.First, "this", "first arbitrary")(lambda n: ("first", [n.this]))
node(exp.Last, "this", "last")(lambda n: ("last", [n.this]))
node(exp.ApproxDistinct, "this", "approx_count_distinct")(
    lambda n: ("approx_count_distinct", [n.this]))
for _cls, _name in ((exp.Corr, "corr"), (exp.CovarPop, "covar_pop"),
                    (exp.CovarSamp, "covar_samp"), (exp.RegrSlope, "regr_slope"),
                    (exp.RegrIntercept, "regr_intercept"), (exp.RegrR2, "regr_r2"),
                    (exp.RegrCount, "regr_count"), (exp.RegrAvgx, "regr_avgx"),
                    (exp.RegrAvgy, "regr_avgy"), (exp.RegrSxx, "regr_sxx"),
                    (exp.RegrSyy, "regr_syy"), (exp.RegrSxy, "regr_sxy")):
    node(_cls, "this expression", _name)(
        lambda n, _name=_name: (_name, [n.this, n.expression]))


@kernel("pair")
def _pair_kernel(e: Call, x: pa.Array, y: pa.Array) -> pa.Array:
    return pa.StructArray.from_arrays([x, y], names=["a", "b"])


# -- finishing: (aggregate, the group's values in group order, group ids, groups) ----------

def _key(v: pa.Array) -> pa.Array:
    """What orders ``v`` as DuckDB does (floats: NaN above all, -0.0 equal to 0.0)."""
    return float_key(v) if pa.types.is_floating(v.type) else v


def _sorted(gid: np.ndarray, v: pa.Array, desc: bool = False) -> np.ndarray:
    """Positions ordering by group, then value (``desc``: descending), then input order."""
    t = pa.table({"g": gid, "k": _key(v), "p": np.arange(len(gid))})
    return np.asarray(pc.sort_indices(t, sort_keys=[
        ("g", "ascending"), ("k", "descending" if desc else "ascending"),
        ("p", "ascending")]))


def _starts(sorted_gid: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's count and first position in an array sorted by group."""
    n = np.bincount(sorted_gid, minlength=groups)
    return n, np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)


def _pick(v: pa.Array, at: np.ndarray, has: np.ndarray) -> pa.Array:
    """v[at] per group, NULL where a group has nothing."""
    out = v.take(pa.array(np.where(has, at, 0) if len(v) else np.zeros(len(at), np.int64)))\
        if len(v) else pa.nulls(len(at), v.type)
    return pc.if_else(pa.array(has), out, pa.scalar(None, v.type)) if not has.all() else out


def _valid(v: pa.Array) -> np.ndarray:
    return np.asarray(v.is_valid().to_numpy(zero_copy_only=False), bool)


def _quantile(a: Agg, v: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    ok = _valid(v)
    v, gid = v.filter(pa.array(ok)), gid[ok]
    order = _sorted(gid, v)
    v, gid = v.take(pa.array(order)), gid[order]
    n, start = _starts(gid, groups)
    has = n > 0
    q = fractions.Fraction(a.param)
    if a.fn == "quantile_disc":  # DuckDB: the value at ceil(n * q) (1-based)
        pos = np.maximum((n * q.numerator + q.denominator - 1) // q.denominator - 1, 0)
        return _pick(v, start + pos, has)
    rn = (n - 1).astype(np.float64) * float(q)
    lo, hi = np.floor(rn).astype(np.int64), np.ceil(rn).astype(np.int64)
    d = rn - lo
    lo_v, hi_v = (_as_float(_pick(v, start + i, has), a) for i in (lo, hi))
    x = lo_v + (hi_v - lo_v) * d
    t = a.type
    if t.kind == "float":
        out = pa.array(x, pa.float64())
    else:  # decimals (scaled ints) and microseconds: truncated, as DuckDB's cast
        with np.errstate(invalid="ignore"):
            out = pa.array(np.trunc(np.nan_to_num(x)).astype(np.int64))
    out = pc.if_else(pa.array(has), out, pa.scalar(None, out.type))
    return out.cast(t.arrow) if out.type != t.arrow else out


def _as_float(v: pa.Array, a: Agg) -> np.ndarray:
    t = a.arg.type
    if t.kind == "date":  # TIMESTAMP microseconds
        v = pc.multiply(pc.cast(pc.cast(v, pa.int32()), pa.int64()), 86_400_000_000)
    elif t.kind == "timestamp":
        v = pc.cast(v, pa.int64())
    return np.asarray(pc.cast(v, pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False),
                      np.float64)


def _mode(a: Agg, v: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    ok = _valid(v)
    v, gid = v.filter(pa.array(ok)), gid[ok]
    pos = np.arange(len(gid))
    order = _sorted(gid, v)
    v, gid, pos = v.take(pa.array(order)), gid[order], pos[order]
    if not len(v):
        return pa.nulls(groups, v.type)
    k = _key(v)
    same = np.asarray(pc.equal(k[1:], k[:-1]).fill_null(False).to_numpy(
        zero_copy_only=False), bool) & (gid[1:] == gid[:-1])
    run = np.concatenate([[0], np.cumsum(~same)])
    count = np.bincount(run)
    first = np.flatnonzero(np.concatenate([[True], ~same]))  # (sorted by position too)
    run_g = gid[first]
    best = np.lexsort((pos[first], -count, run_g))  # by group, most rows, first met
    keep = best[np.concatenate([[True], run_g[best][1:] != run_g[best][:-1]])]
    at = np.zeros(groups, np.int64)
    has = np.zeros(groups, bool)
    at[run_g[keep]], has[run_g[keep]] = first[keep], True
    return _pick(v, at, has)


def _arg_extreme(a: Agg, v: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    x, y = v.field("a"), v.field("b")
    ok = _valid(x) & _valid(y)  # DuckDB skips a row with either NULL
    x, y, gid = x.filter(pa.array(ok)), y.filter(pa.array(ok)), gid[ok]
    order = _sorted(gid, y, desc=a.fn == "arg_max")
    x, gid = x.take(pa.array(order)), gid[order]
    n, start = _starts(gid, groups)
    return _pick(x, start, n > 0)


def _first_last(a: Agg, v: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    if a.fn == "any_value":
        ok = _valid(v)
        v, gid = v.filter(pa.array(ok)), gid[ok]
    n, start = _starts(gid, groups)  # (gid is in group order, rows in input order)
    return _pick(v, start + (n - 1 if a.fn == "last" else 0), n > 0)


def _numbers(v: pa.Array, t: SqlType) -> np.ndarray:
    if t.kind == "decimal" and not t.wide:  # a scaled int64
        v = pc.divide(pc.cast(v, pa.float64(), safe=False), float(10 ** t.scale))
    return np.asarray(pc.cast(v, pa.float64(), safe=False).fill_null(0.0).to_numpy(
        zero_copy_only=False), np.float64)


def _product_finish(a: Agg, v: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    ok = _valid(v)
    x, gid = _numbers(v, a.arg.type)[ok], gid[ok]
    n, start = _starts(gid, groups)
    out = np.ones(groups)
    has = n > 0
    if has.any():
        out[has] = np.multiply.reduceat(x, start[has]) if len(x) else 1.0
    return from_numpy(out, ~has)


def _statistics(a: Agg, v: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    """corr, covar and regr_* of (y, x) pairs where both are non-NULL: means first, then
    sums of products of deviations (two passes, as exact as doubles allow)."""
    ty, tx = a.arg.args[0].type, a.arg.args[1].type
    y, x = v.field("a"), v.field("b")
    ok = _valid(y) & _valid(x)
    y, x, gid = _numbers(y, ty)[ok], _numbers(x, tx)[ok], gid[ok]
    n = np.bincount(gid, minlength=groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.bincount(gid, x, groups) / n
        my = np.bincount(gid, y, groups) / n
        dx, dy = x - mx[gid], y - my[gid]
        sxx = np.bincount(gid, dx * dx, groups)
        syy = np.bincount(gid, dy * dy, groups)
        sxy = np.bincount(gid, dx * dy, groups)
        null = n == 0
        fn = a.fn
        if fn == "regr_count":
            return pa.array(n.astype(np.uint32))
        if fn == "covar_pop":
            out = sxy / n
        elif fn == "covar_samp":
            out, null = sxy / (n - 1), n < 2
        elif fn == "corr":
            out = sxy / np.sqrt(sxx * syy)
            out = np.where((sxx == 0) | (syy == 0), np.nan, out)
        elif fn == "regr_slope":
            out = np.where(sxx == 0, np.nan, sxy / sxx)
        elif fn == "regr_intercept":
            out, null = my - (sxy / sxx) * mx, null | (sxx == 0)
        elif fn == "regr_r2":
            out = np.where(syy == 0, 1.0, sxy * sxy / (sxx * syy))
            null = null | (sxx == 0)
        else:
            out = {"regr_avgx": mx, "regr_avgy": my, "regr_sxx": sxx, "regr_syy": syy,
                   "regr_sxy": sxy}[fn]
    return from_numpy(np.asarray(out, np.float64), null)


for _fns, _finish in ((("quantile_cont", "quantile_disc"), _quantile), (("mode",), _mode),
                      (("arg_max", "arg_min"), _arg_extreme),
                      (("any_value", "first", "last"), _first_last),
                      (("product",), _product_finish),
                      (("corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept",
                        "regr_r2", "regr_count", "regr_avgx", "regr_avgy", "regr_sxx",
                        "regr_syy", "regr_sxy"), _statistics)):
    for _fn in _fns:
        AGGREGATES[_fn] = _finish


def finish(a: Agg, values: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    """Aggregate ``a`` of every group: ``values`` in group order (each group's rows in
    input order), ``gid`` their group numbers (non-decreasing), ``groups`` how many."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    out = AGGREGATES[a.fn](a, values, gid.astype(np.int64), groups)
    return out.cast(a.type.arrow) if out.type != a.type.arrow else out

