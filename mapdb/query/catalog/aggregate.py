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
>>> m = bind("median", [Col("i", INT64)])
>>> m.fn, m.param.q, str(m.type)
('quantile_cont', '1/2', 'float')
>>> str(bind("median", [Col("d", DATE)]).type), str(bind("mode", [Col("d", DATE)]).type)
('timestamp', 'date')
"""

from __future__ import annotations

import fractions
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query import exact
from mapdb.query.catalog import (
    AGGREGATES,
    DESCENDING,
    DISTINCT,
    arity,
    constant,
    kernel,
    node,
    register,
)
from mapdb.query.evaluate import float_key, from_numpy
from mapdb.query.expr import Agg, Call, Expr, SortSpec
from mapdb.query.types import FLOAT64, LIST, STRING, TIMESTAMP, QueryError, SqlType

_ORDERABLE = ("int", "float", "decimal", "date", "time", "timestamp", "string", "bool")
_NUMBERS = ("int", "float", "decimal")


@dataclass(frozen=True)
class Options:
    """What an aggregate of this family carries beside its function (``Agg.param``): its
    argument is one column, or a struct (``Call("pair")``) of ``inputs`` arguments then
    the ORDER BY keys of ``order`` ((descending, NULLs first) each)."""
    inputs: int = 1
    q: str | None = None  # a quantile, as exact text ("3/10")
    sep: str | None = ","  # string_agg's separator (None: a NULL one, every answer NULL)
    order: tuple[tuple[bool, bool], ...] = ()
    distinct: bool = False
    desc: bool = False  # a quantile of the values in descending order (WITHIN GROUP)
    filtered: bool = False  # the struct's last field is a FILTER's condition (KEEPS_NULLS)


# aggregates whose answer sees NULL values (list(x) keeps them): their FILTER cannot be
# CASE WHEN c THEN x END, so the condition travels with the arguments (``filtered``)
KEEPS_NULLS = frozenset({"list"})


def filtered(a: Agg, cond: Expr) -> Agg:
    """``a FILTER (WHERE cond)`` for an aggregate of KEEPS_NULLS."""
    import dataclasses
    cols = [*(a.arg.args if a.arg.type.kind == "pair" else (a.arg,)), cond]
    t_arg = SqlType("pair", arrow=pa.struct([(f"a{i}", c.type.arrow)
                                              for i, c in enumerate(cols)]))
    return Agg(a.fn, Call("pair", tuple(cols), t_arg), a.type,
               dataclasses.replace(a.param, filtered=True))


def _agg(fn_name: str, inputs: list[Expr], t: SqlType, parts: tuple, **kw) -> Agg:
    """The ``Agg`` of ``inputs`` (with ``parts``' ORDER BY keys, DISTINCT and DESC)."""
    order, distinct, desc = parts
    if desc:
        kw["desc"] = True
    cols = [*inputs, *(o.expr for o in order)]
    if len(cols) == 1:
        arg = cols[0]
    else:
        t_arg = SqlType("pair", arrow=pa.struct([(f"a{i}", c.type.arrow)
                                                  for i, c in enumerate(cols)]))
        arg = Call("pair", tuple(cols), t_arg)
    return Agg(fn_name, arg, t, Options(len(inputs), order=tuple(
        (o.desc, o.nulls_first) for o in order), distinct=distinct, **kw))


def _split(name: str, args: list, lo: int, hi: int | None = None) -> tuple[list, tuple]:
    """The arguments, and (ORDER BY keys, DISTINCT) the binder passed along with them."""
    order = tuple(a for a in args if isinstance(a, SortSpec))
    distinct, desc = any(a is DISTINCT for a in args), any(a is DESCENDING for a in args)
    if desc and not name.startswith("quantile"):
        raise QueryError(f"{name}(): WITHIN GROUP (ORDER BY ... DESC) is not supported")
    plain = [a for a in args if not isinstance(a, SortSpec) and a not in (DISTINCT, DESCENDING)]
    arity(name, plain, lo, hi)
    for a in (*plain, *(o.expr for o in order)):
        if any(isinstance(x, Agg) for x in a.walk()):
            raise QueryError(f"{name}(): aggregate function calls cannot be nested")
    from mapdb.query.catalog.nested import order_key  # (nested keys: by their order keys)
    order = tuple(SortSpec(order_key(o.expr), o.desc, o.nulls_first) if o.expr.type.nested
                  else o for o in order)
    return plain, (order, distinct, desc)


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


def _median(name: str, args: list) -> Expr:
    (x,), parts = _split(name, args, 1)
    _kind(name, x, _ORDERABLE)
    if x.type.kind in ("string", "bool"):  # DuckDB: the lower middle value
        return _agg("quantile_disc", [x], x.type, parts, q="1/2")
    return _agg("quantile_cont", [x], _continuous_type(x.type), parts, q="1/2")


def _quantile_cont(name: str, args: list) -> Expr:
    (x, q), parts = _split(name, args, 2)
    _kind(name, x, ("int", "float", "decimal", "date", "timestamp"))
    return _agg("quantile_cont", [x], _continuous_type(x.type), parts,
                q=_fraction(name, [x, q]))


def _quantile_disc(name: str, args: list) -> Expr:
    (x, q), parts = _split(name, args, 2)
    _kind(name, x, _ORDERABLE)
    return _agg("quantile_disc", [x], x.type, parts, q=_fraction(name, [x, q]))


def _mad(name: str, args: list) -> Expr:
    (x,), parts = _split(name, args, 1)
    _kind(name, x, _NUMBERS)
    return _agg("mad", [x], x.type if x.type.kind == "decimal" else FLOAT64, parts)


def _same_type(fn_name: str, kinds: tuple[str, ...] = _ORDERABLE):
    def bind(name: str, args: list) -> Expr:
        (x,), parts = _split(name, args, 1)
        _kind(name, x, kinds)
        return _agg(fn_name, [x], x.type, parts)
    return bind


def _double(fn_name: str, kinds: tuple[str, ...] = _NUMBERS):
    def bind(name: str, args: list) -> Expr:
        (x,), parts = _split(name, args, 1)
        _kind(name, x, kinds)
        return _agg(fn_name, [x], FLOAT64, parts)
    return bind


def _bits(name: str, args: list) -> Expr:
    (x,), parts = _split(name, args, 1)
    _kind(name, x, ("int",))
    return _agg(name, [x], x.type, parts)


def _arg_extreme(fn_name: str):
    def bind(name: str, args: list) -> Expr:
        (x, y), parts = _split(name, args, 2)
        _kind(name, x, _ORDERABLE)
        _kind(name, y, _ORDERABLE)
        return _agg(fn_name, [x, y], x.type, parts)
    return bind


def _two_numbers(fn_name: str, t: SqlType = FLOAT64):
    def bind(name: str, args: list) -> Expr:
        plain, parts = _split(name, args, 2)
        for a in plain:
            _kind(name, a, _NUMBERS)
        return _agg(fn_name, plain, t, parts)
    return bind


def _string_agg(name: str, args: list) -> Expr:
    from mapdb.query import functions as fn
    plain, parts = _split(name, args, 1, 2)
    sep = constant(name, plain, 1, "separator") if len(plain) > 1 else ","
    if sep is not None and not isinstance(sep, str):
        raise QueryError(f"{name}(): the separator must be a VARCHAR constant")
    return _agg("string_agg", [fn.cast(plain[0], STRING)], STRING, parts, sep=sep)


def _list_agg(name: str, args: list) -> Expr:
    """list(x) / array_agg(x): each group's values in a list, NULLs included, in input
    order or the call's ORDER BY (a group of no rows, after FILTER: NULL). DISTINCT: each
    value once, NULL too, as DuckDB; in first-seen order (DuckDB's is its hash table's)."""
    from mapdb.query.catalog.nested import _typed
    plain, parts = _split(name, args, 1)
    x = _typed(plain[0])
    return _agg("list", [x], LIST(x.type), parts)


def _float_sum(name: str, args: list) -> Expr:
    """fsum/kahan_sum and favg: the sum or mean of the values as DOUBLEs (DuckDB adds them
    with Kahan's compensation; Arrow's pairwise sum agrees to about 1e-15)."""
    from mapdb.query import functions as fn
    (x,), _ = _split(name, args, 1)
    _kind(name, x, _NUMBERS)
    return fn.aggregate("avg" if name == "favg" else "sum", fn.to_float(x))


def distinct(name: str, x: Expr) -> Agg:
    """SUM(DISTINCT x) / AVG(DISTINCT x) (the binder's sum and avg with DISTINCT): their
    type, over each group's distinct values (the finish dedups, ``Options.distinct``)."""
    from mapdb.query import functions as fn
    base = fn.aggregate(name, x)
    return Agg(f"{name}_distinct", x, base.type, Options(distinct=True))


def first_of(x: Expr) -> Agg:
    """The first row's ``x`` of each group: what a GROUP BY on a LIST or STRUCT shows for
    its key, the groups being formed on the value's order key (binder.aggregate)."""
    return _agg("first", [x], x.type, ((), False, False))


def extreme_of(fn_name: str, x: Expr, key: Expr) -> Agg:
    """min/max of a LIST, STRUCT or MAP ``x``: the value with the least/greatest order key
    ``key`` (equal keys, equal values), as arg_min/arg_max."""
    return _agg("arg_max" if fn_name == "max" else "arg_min", [x, key], x.type,
                ((), False, False))


def _approx_count_distinct(name: str, args: list) -> Expr:
    from mapdb.query import functions as fn
    (x,), _ = _split(name, args, 1)
    return fn.aggregate("count_distinct", x)


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
register("product", _double("product"), "(number) -> DOUBLE", family=_AGG)
register("string_agg", _string_agg, "(any[, VARCHAR separator]) -> VARCHAR",
         aliases=("group_concat", "listagg"), family=_AGG,
         doc="separator ',' unless given (a constant); ORDER BY inside the call")
register("list", _list_agg, "(any) -> LIST", aliases=("array_agg",), family=_AGG,
         doc="NULLs kept; ORDER BY inside the call; DISTINCT (first-seen order)")
register("kurtosis", _double("kurtosis"), "(number) -> DOUBLE", family=_AGG,
         doc="sample excess kurtosis; NULL below 4 values or without spread")
register("kurtosis_pop", _double("kurtosis_pop"), "(number) -> DOUBLE", family=_AGG)
register("skewness", _double("skewness"), "(number) -> DOUBLE", family=_AGG,
         doc="NULL below 3 values or without spread")
register("sem", _double("sem"), "(number) -> DOUBLE", family=_AGG,
         doc="standard error of the mean: stddev_pop / sqrt(n)")
register("entropy", _double("entropy", _ORDERABLE), "(any) -> DOUBLE", family=_AGG,
         doc="in bits, of the non-NULL values' frequencies; 0 over no value")
register("mad", _mad, "(number) -> DOUBLE (DECIMAL: its type)", family=_AGG,
         doc="median absolute deviation from the median")
for _bit in ("bit_and", "bit_or", "bit_xor"):
    register(_bit, _bits, "(integer) -> the argument's type", family=_AGG)
register("fsum", _float_sum, "(number) -> DOUBLE", aliases=("kahan_sum", "sumkahan"),
         family=_AGG, doc="as DOUBLEs (DuckDB: Kahan's sum; Arrow's pairwise sum here)")
register("favg", _float_sum, "(number) -> DOUBLE", family=_AGG, doc="as fsum")
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
def _unwrap(n) -> list:
    """An aggregate's first argument node, with its ORDER BY keys (exp.Ordered nodes) and
    DISTINCT (the marker) after it: ``string_agg(s, ',' ORDER BY k)`` is
    GroupConcat(this=Order(this=s, expressions=[k]), separator=',')."""
    x, extra = n, []
    if isinstance(x, exp.Order):
        extra, x = list(x.expressions), x.this
    if isinstance(x, exp.Distinct):
        if len(x.expressions) != 1:
            raise QueryError("DISTINCT inside an aggregate takes one argument")
        extra, x = [*extra, DISTINCT], x.expressions[0]
    return [x, *extra]


def _reads(name: str, *more: str):
    """The reading of a node: its ``this`` then the arguments ``more``, with an ORDER BY
    or DISTINCT on any of them (sqlglot hangs it on the last one written) at the end."""
    def read(n):
        args, extra = [], []
        for a in (n.this, *(n.args.get(m) for m in more if n.args.get(m) is not None)):
            head, *rest = _unwrap(a)
            args.append(head)
            extra += rest
        return name, [*args, *extra]
    return read


node(exp.Median, "this", "median")(_reads("median"))


@node(exp.WithinGroup, "this expression", "quantile_cont quantile_disc mode")
def _within_group(n):
    """``percentile_cont(q) WITHIN GROUP (ORDER BY x [DESC])`` is quantile_cont(x, q) over
    the values in that order; ``mode() WITHIN GROUP (ORDER BY x)`` is mode(x)."""
    f, order = n.this, n.expression
    keys = order.expressions if isinstance(order, exp.Order) else []
    if len(keys) != 1 or not isinstance(f, (exp.PercentileCont, exp.PercentileDisc,
                                            exp.Mode)):
        raise QueryError("WITHIN GROUP takes percentile_cont, percentile_disc or mode and "
                         "one ORDER BY key")
    key = keys[0]
    desc = [DESCENDING] if key.args.get("desc") else []
    if isinstance(f, exp.Mode):
        return "mode", [key.this]
    name = "quantile_cont" if isinstance(f, exp.PercentileCont) else "quantile_disc"
    return name, [key.this, f.this, *desc]
node(exp.GroupConcat, "this separator", "string_agg group_concat listagg")(
    _reads("string_agg", "separator"))
node(exp.Kurtosis, "this", "kurtosis")(_reads("kurtosis"))
node(exp.ArrayAgg, "this", "list array_agg", fixed={"nulls_excluded": (None, False)})(
    _reads("list"))
node(exp.Skewness, "this", "skewness")(_reads("skewness"))
node(exp.BitwiseAndAgg, "this", "bit_and")(_reads("bit_and"))
node(exp.BitwiseOrAgg, "this", "bit_or")(_reads("bit_or"))
node(exp.BitwiseXorAgg, "this", "bit_xor")(_reads("bit_xor"))
node(exp.PercentileCont, "this expression", "quantile_cont")(
    _reads("quantile_cont", "expression"))
node(exp.PercentileDisc, "this expression", "quantile_disc")(
    _reads("quantile_disc", "expression"))
node(exp.Quantile, "this quantile", "quantile")(_reads("quantile_disc", "quantile"))
node(exp.Mode, "this", "mode")(_reads("mode"))
node(exp.ArgMax, "this expression", "arg_max max_by argmax")(
    lambda n: ("arg_max", [n.this, *_unwrap(n.expression)]))
node(exp.ArgMin, "this expression", "arg_min min_by argmin")(
    lambda n: ("arg_min", [n.this, *_unwrap(n.expression)]))
node(exp.AnyValue, "this", "any_value")(_reads("any_value"))
# (DuckDB's parser wraps any_value in IGNORE NULLS, which it always does; IGNORE NULLS on
# anything else is not read here: refused)
@node(exp.IgnoreNulls, "this", "any_value")
def _ignore_nulls(n):
    if not isinstance(n.this, exp.AnyValue):
        raise QueryError("IGNORE NULLS is not supported here")
    return _reads("any_value")(n.this)
node(exp.First, "this", "first arbitrary")(_reads("first"))
node(exp.Last, "this", "last")(_reads("last"))
node(exp.ApproxDistinct, "this", "approx_count_distinct")(_reads("approx_count_distinct"))
for _cls, _name in ((exp.Corr, "corr"), (exp.CovarPop, "covar_pop"),
                    (exp.CovarSamp, "covar_samp"), (exp.RegrSlope, "regr_slope"),
                    (exp.RegrIntercept, "regr_intercept"), (exp.RegrR2, "regr_r2"),
                    (exp.RegrCount, "regr_count"), (exp.RegrAvgx, "regr_avgx"),
                    (exp.RegrAvgy, "regr_avgy"), (exp.RegrSxx, "regr_sxx"),
                    (exp.RegrSyy, "regr_syy"), (exp.RegrSxy, "regr_sxy")):
    node(_cls, "this expression", _name)(
        lambda n, _name=_name: (_name, [n.this, *_unwrap(n.expression)]))


@kernel("pair")
def _pair_kernel(e: Call, *cols: pa.Array) -> pa.Array:
    return pa.StructArray.from_arrays(cols, names=[f"a{i}" for i in range(len(cols))])


# -- finishing: (aggregate, its argument columns in group order, group ids, groups) ---------

def _key(v: pa.Array) -> pa.Array:
    """What orders ``v`` as DuckDB does (floats: NaN above all, -0.0 equal to 0.0)."""
    return float_key(v) if pa.types.is_floating(v.type) else v


def _sort(gid: np.ndarray, keys: list[tuple[pa.Array, bool, bool]]) -> np.ndarray:
    """Positions ordering by group, then ``keys`` ((values, descending, NULLs first)
    each), then input order."""
    cols, spec = {"g": gid}, [("g", "ascending")]
    for i, (v, desc, nulls_first) in enumerate(keys):
        cols[f"n{i}"] = pc.is_null(v)  # (Arrow places NULLs once for all keys)
        cols[f"k{i}"] = _key(v)
        spec += [(f"n{i}", "descending" if nulls_first else "ascending"),
                 (f"k{i}", "descending" if desc else "ascending")]
    cols["p"] = np.arange(len(gid))
    return np.asarray(pc.sort_indices(pa.table(cols), sort_keys=[*spec, ("p", "ascending")]))


def _sorted(gid: np.ndarray, v: pa.Array, desc: bool = False) -> np.ndarray:
    return _sort(gid, [(v, desc, False)])


def _starts(sorted_gid: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's count and first position in an array sorted by group."""
    n = np.bincount(sorted_gid, minlength=groups)
    return n, (np.cumsum(n) - n).astype(np.int64)  # (no groups: none)


def _pick(v: pa.Array, at: np.ndarray, has: np.ndarray) -> pa.Array:
    """v[at] per group, NULL where a group has nothing."""
    if not len(v):
        return pa.nulls(len(at), v.type)
    out = v.take(pa.array(np.where(has, at, 0)))
    return pc.if_else(pa.array(has), out, pa.scalar(None, v.type)) if not has.all() else out


def _valid(v: pa.Array) -> np.ndarray:
    return np.asarray(v.is_valid().to_numpy(zero_copy_only=False), bool)


def _non_null(v: pa.Array, gid: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    ok = _valid(v)
    return v.filter(pa.array(ok)), gid[ok]


def _runs(v: pa.Array, gid: np.ndarray) -> np.ndarray:
    """Where a run of equal (group, value) starts, in arrays sorted by both."""
    if not len(v):
        return np.zeros(0, bool)
    k = _key(v)
    same = np.asarray(pc.equal(k[1:], k[:-1]).fill_null(False).to_numpy(
        zero_copy_only=False), bool) & (gid[1:] == gid[:-1])
    both_null = np.asarray(pc.and_(pc.is_null(k[1:]), pc.is_null(k[:-1])), bool)
    return np.concatenate([[True], ~(same | (both_null & (gid[1:] == gid[:-1])))])


def _quantile(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    v, gid = _non_null(args[0], gid)
    order = _sorted(gid, v, desc=a.param.desc)
    return _quantile_sorted(a, v.take(pa.array(order)), gid[order], groups,
                            fractions.Fraction(a.param.q), a.fn == "quantile_disc")


def _quantile_sorted(a: Agg, v: pa.Array, gid: np.ndarray, groups: int,
                     q: fractions.Fraction, disc: bool) -> pa.Array:
    n, start = _starts(gid, groups)
    has = n > 0
    if disc:  # DuckDB: the value at ceil(n * q) (1-based)
        pos = np.maximum((n * q.numerator + q.denominator - 1) // q.denominator - 1, 0)
        return _pick(v, start + pos, has)
    rn = (n - 1).astype(np.float64) * float(q)
    lo, hi = np.floor(rn).astype(np.int64), np.ceil(rn).astype(np.int64)
    lo_v, hi_v = (_as_float(_pick(v, start + i, has), a.arg_type) for i in (lo, hi))
    d = rn - lo
    with np.errstate(invalid="ignore", over="ignore"):  # (-inf to inf: NaN, as DuckDB's)
        # DuckDB: doubles as lo * (1 - d) + hi * d (its compiler fuses the last multiply-add,
        # so the last bit can differ), integers, decimals and times as lo + (hi - lo) * d
        x = lo_v * (1 - d) + hi_v * d if a.type.kind == "float" else lo_v + (hi_v - lo_v) * d
        x = np.where(lo == hi, lo_v, x)
    if a.type.kind == "float":
        out = pa.array(x, pa.float64())
    else:  # decimals (scaled ints) and microseconds: truncated, as DuckDB's cast
        with np.errstate(invalid="ignore"):
            out = pa.array(np.trunc(np.nan_to_num(x)).astype(np.int64))
    out = pc.if_else(pa.array(has), out, pa.scalar(None, out.type))
    return out.cast(a.type.arrow) if out.type != a.type.arrow else out


def _as_float(v: pa.Array, t: SqlType) -> np.ndarray:
    if t.kind == "date":  # TIMESTAMP microseconds
        v = pc.multiply(pc.cast(pc.cast(v, pa.int32()), pa.int64()), 86_400_000_000)
    elif t.kind == "timestamp":
        v = pc.cast(v, pa.int64())
    return np.asarray(pc.cast(v, pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False),
                      np.float64)


def _mad(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    """median(|x - median(x)|), each median in the result's type (decimals truncated)."""
    v, gid = _non_null(args[0], gid)
    order = _sorted(gid, v)
    v, gid = v.take(pa.array(order)), gid[order]
    half = fractions.Fraction(1, 2)
    med = _as_float(_quantile_sorted(a, v, gid, groups, half, False), a.type)
    with np.errstate(invalid="ignore"):  # (inf - inf: NaN, as DuckDB's)
        dev = np.abs(_as_float(v, a.arg_type) - med[gid])
    if a.type.kind == "decimal":
        dev = np.trunc(dev)
    devs = pa.array(dev)
    order = _sorted(gid, devs)
    out = _quantile_sorted(a, devs.take(pa.array(order)), gid[order], groups, half, False)
    return out


def _mode(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    v, gid = _non_null(args[0], gid)
    pos = np.arange(len(gid))
    order = _sorted(gid, v)
    v, gid, pos = v.take(pa.array(order)), gid[order], pos[order]
    if not len(v):
        return pa.nulls(groups, v.type)
    first = np.flatnonzero(_runs(v, gid))  # (sorted by position within a run too)
    count = np.diff(np.append(first, len(v)))
    run_g = gid[first]
    best = np.lexsort((pos[first], -count, run_g))  # by group, most rows, first met
    keep = best[np.concatenate([[True], run_g[best][1:] != run_g[best][:-1]])]
    at = np.zeros(groups, np.int64)
    has = np.zeros(groups, bool)
    at[run_g[keep]], has[run_g[keep]] = first[keep], True
    return _pick(v, at, has)


def _entropy(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    v, gid = _non_null(args[0], gid)
    order = _sorted(gid, v)
    v, gid = v.take(pa.array(order)), gid[order]
    first = np.flatnonzero(_runs(v, gid))
    count = np.diff(np.append(first, len(v))).astype(np.float64)
    n = np.bincount(gid, minlength=groups).astype(np.float64)
    p = count / n[gid[first]] if len(first) else count
    return pa.array(np.bincount(gid[first], -p * np.log2(p), groups) + 0.0)


def _arg_extreme_finish(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    x, y = args
    ok = _valid(x) & _valid(y)  # DuckDB skips a row with either NULL
    x, y, gid = x.filter(pa.array(ok)), y.filter(pa.array(ok)), gid[ok]
    order = _sorted(gid, y, desc=a.fn == "arg_max")
    x, gid = x.take(pa.array(order)), gid[order]
    n, start = _starts(gid, groups)
    return _pick(x, start, n > 0)


def _first_last(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    v = args[0]
    if a.fn == "any_value":
        v, gid = _non_null(v, gid)
    n, start = _starts(gid, groups)  # (gid is in group order, rows in input order)
    return _pick(v, start + (n - 1 if a.fn == "last" else 0), n > 0)


def _interval_extreme(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    from mapdb.query.intervals import extreme
    return extreme(args[0], gid, groups, a.fn == "interval_max")


def _string_agg(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    v, gid = _non_null(args[0], gid)
    n, start = _starts(gid, groups)
    if a.param.sep is None:
        return pa.nulls(groups, pa.large_string())
    lists = pa.LargeListArray.from_arrays(np.append(start, len(v)), v.cast(pa.large_string()))
    out = pc.binary_join(lists, pa.scalar(a.param.sep, pa.large_string()))
    return pc.if_else(pa.array(n > 0), out, pa.scalar(None, pa.large_string()))


def _list_finish(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    from mapdb.query.nested import make_list, to_output
    n, _ = _starts(gid, groups)  # (gid in group order: the values are the groups' runs)
    return make_list(n, to_output(args[0], a.arg_type), n > 0, a.type.arrow)


def _bits_finish(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    v, gid = _non_null(args[0], gid)
    n, start = _starts(gid, groups)
    has = n > 0
    x = np.asarray(v.to_numpy(zero_copy_only=False))
    op = {"bit_and": np.bitwise_and, "bit_or": np.bitwise_or, "bit_xor": np.bitwise_xor}
    out = np.zeros(groups, x.dtype)
    if has.any():
        out[has] = op[a.fn].reduceat(x, start[has])
    return from_numpy(out, ~has).cast(a.type.arrow)


def _numbers(v: pa.Array, t: SqlType) -> np.ndarray:
    if not v.null_count and t.kind in ("int", "float") and \
            (pa.types.is_integer(v.type) or pa.types.is_floating(v.type)):
        return np.asarray(v.to_numpy(), np.float64)  # (no NULLs: a view, then one cast)
    if t.kind == "decimal" and not t.wide:  # a scaled int64
        v = pc.divide(pc.cast(v, pa.float64(), safe=False), float(10 ** t.scale))
    return np.asarray(pc.cast(v, pa.float64(), safe=False).fill_null(0.0).to_numpy(
        zero_copy_only=False), np.float64)


def _product(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    v, gid = _non_null(args[0], gid)
    x = _numbers(v, a.arg_type)
    n, start = _starts(gid, groups)
    out = np.ones(groups)
    has = n > 0
    if has.any():
        with np.errstate(over="ignore", invalid="ignore"):  # (past 1e308: inf, as DuckDB's)
            out[has] = np.multiply.reduceat(x, start[has])
    return from_numpy(out, ~has)


def _moments(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    """kurtosis, skewness and sem from central moments (two passes: the mean, then the
    powers of the deviations)."""
    v, gid = _non_null(args[0], gid)
    x = _numbers(v, a.arg_type)
    n = np.bincount(gid, minlength=groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        d = x - (np.bincount(gid, x, groups) / n)[gid]
        m2 = np.bincount(gid, d * d, groups) / n
        if a.fn == "sem":
            return from_numpy(np.sqrt(m2 / n), n == 0)
        if a.fn == "skewness":
            m3 = np.bincount(gid, d * d * d, groups) / n
            out = np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2 ** 1.5
            null = (n <= 2) | (m2 == 0)
        else:
            m4 = np.bincount(gid, (d * d) ** 2, groups) / n
            if a.fn == "kurtosis_pop":
                out, null = m4 / (m2 * m2) - 3, (n < 2) | (m2 == 0)
            else:
                out = (n - 1) * ((n + 1) * m4 / (m2 * m2) - 3 * (n - 1)) / ((n - 2) * (n - 3))
                null = (n <= 3) | (m2 == 0)
    if (~null & ~np.isfinite(out)).any():  # (NaN or an infinity among the values: DuckDB's)
        what = "SKEW" if a.fn == "skewness" else "Kurtosis"
        raise QueryError(f"{what} is out of range (an infinity or NaN among the values)")
    return from_numpy(out, null)


def _exact_moments(ty: SqlType, tx: SqlType, x: np.ndarray, y: np.ndarray,
                   n: np.ndarray) -> bool:
    """Both arguments are integers small enough that every group's n * sum(v*v) and
    sum(v)**2 are exact in a double (below 2**53)."""
    if ty.kind != "int" or tx.kind != "int" or not len(x):
        return False
    big = max(float(np.abs(x).max()), float(np.abs(y).max()))
    return float(n.max()) ** 2 * big * big < 2.0 ** 53


def _statistics(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    """corr, covar and regr_* of (y, x) pairs where both are non-NULL: means first, then
    sums of products of deviations (two passes, as exact as doubles allow)."""
    ty, tx = (e.type for e in a.arg.args[:2])
    ok = _valid(args[0]) & _valid(args[1])
    y, x = _numbers(args[0], ty), _numbers(args[1], tx)
    if not ok.all():
        y, x, gid = y[ok], x[ok], gid[ok]
    n = np.bincount(gid, minlength=groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sx, sy = np.bincount(gid, x, groups), np.bincount(gid, y, groups)
        mx, my = sx / n, sy / n
        if _exact_moments(ty, tx, x, y, n):
            # integers: one pass of exact sums, n * sxx = n * sum(x*x) - sum(x)**2 exactly
            # (no gathers of the means; the h2o benchmark's corr(v1, v2) by 10,000 groups)
            sxx = (n * np.bincount(gid, x * x, groups) - sx * sx) / n
            syy = (n * np.bincount(gid, y * y, groups) - sy * sy) / n
            sxy = (n * np.bincount(gid, x * y, groups) - sx * sy) / n
        else:
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


def _sum_distinct(a: Agg, args: list, gid: np.ndarray, groups: int) -> pa.Array:
    """sum/avg of the (deduplicated) values: exact for integers and decimals (Python ints
    where int64 could overflow), doubles summed in float64."""
    v, gid = _non_null(args[0], gid)
    n, start = _starts(gid, groups)
    t = a.arg_type
    if t.kind == "float":
        x = _numbers(v, t)
        total = np.zeros(groups)
        has = n > 0
        if has.any():
            total[has] = np.add.reduceat(x, start[has])
        if a.fn == "avg_distinct":
            with np.errstate(invalid="ignore", divide="ignore"):
                return from_numpy(total / n, ~has)
        return from_numpy(total, ~has)
    ints, _ = exact.ints(v, t)  # (scaled ints for decimals)
    sums = [None] * groups
    for g in np.flatnonzero(n):  # one Python sum per group (exact; groups are few rows each)
        sums[g] = sum(ints[start[g]:start[g] + n[g]])
    if a.fn == "avg_distinct":
        return exact.average(sums, n.tolist(), exact.scale_of(t))
    return exact.array(sums, a.type, f"sum(DISTINCT) of {t}")


for _fns, _finish in ((("quantile_cont", "quantile_disc"), _quantile), (("mode",), _mode),
                      (("sum_distinct", "avg_distinct"), _sum_distinct),
                      (("mad",), _mad), (("entropy",), _entropy),
                      (("arg_max", "arg_min"), _arg_extreme_finish),
                      (("any_value", "first", "last"), _first_last),
                      (("interval_min", "interval_max"), _interval_extreme),
                      (("string_agg",), _string_agg), (("product",), _product),
                      (("list",), _list_finish),
                      (("bit_and", "bit_or", "bit_xor"), _bits_finish),
                      (("kurtosis", "kurtosis_pop", "skewness", "sem"), _moments),
                      (("corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept",
                        "regr_r2", "regr_count", "regr_avgx", "regr_avgy", "regr_sxx",
                        "regr_syy", "regr_sxy"), _statistics)):
    for _fn in _fns:
        AGGREGATES[_fn] = _finish


class _Bound:
    """The aggregate as a finish sees it: its function, type, options and first
    argument's type (the struct's first field for several)."""

    def __init__(self, a: Agg):
        self.fn, self.type, self.param, self.arg = a.fn, a.type, a.param, a.arg
        self.arg_type = a.arg.args[0].type if a.arg.type.kind == "pair" else a.arg.type


# finishes that add per group with np.bincount: any row order will do
_ORDER_FREE = frozenset({"corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept",
                         "regr_r2", "regr_count", "regr_avgx", "regr_avgy", "regr_sxx",
                         "regr_syy", "regr_sxy", "kurtosis", "kurtosis_pop", "skewness",
                         "sem"})


def order_free(a: Agg) -> bool:
    """Whether ``finish`` takes ``a``'s rows in any order (its group numbers need not be
    sorted): the hash aggregate then numbers each row's group instead of gathering every
    group's rows together."""
    return a.fn in _ORDER_FREE and not a.param.distinct and not a.param.order


def finish(a: Agg, values: pa.Array, gid: np.ndarray, groups: int) -> pa.Array:
    """Aggregate ``a`` of every group: ``values`` (its argument column, a struct of its
    arguments and ORDER BY keys for several) in group order, each group's rows in input
    order (any order where ``order_free(a)``); ``gid`` their group numbers (non-decreasing
    unless order-free); ``groups`` how many."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    opts: Options = a.param or Options()  # (interval_min/max, a GROUP BY interval's first)
    gid = gid.astype(np.int64)
    cols = [values.field(i) for i in range(values.type.num_fields)] \
        if a.arg.type.kind == "pair" else [values]
    if opts.filtered:  # only the rows where the FILTER's condition is true
        keep = cols[-1].fill_null(False) if len(cols[-1]) else pa.array([], pa.bool_())
        cols = [c.filter(keep) for c in cols[:-1]]
        gid = gid[np.asarray(keep, bool)]
    args, keys = cols[:opts.inputs], cols[opts.inputs:]
    if opts.distinct:  # each (group, value) once: its first row
        v = args[0]
        if v.type.num_fields if pa.types.is_struct(v.type) else (
                pa.types.is_list(v.type) or pa.types.is_map(v.type)):
            from mapdb.query.nested import sort_key  # (a nested value: by its order key)
            from mapdb.query.types import from_arrow
            v = sort_key(v, from_arrow(v.type))
        order = _sorted(gid, v)
        keep = np.sort(order[_runs(v.take(pa.array(order)), gid[order])])
        args, keys = [c.take(pa.array(keep)) for c in args], [c.take(pa.array(keep))
                                                              for c in keys]
        gid = gid[keep]
    if keys:  # ORDER BY inside the call: each group's rows in that order
        order = _sort(gid, [(k, desc, nulls_first)
                            for k, (desc, nulls_first) in zip(keys, opts.order, strict=True)])
        args, gid = [c.take(pa.array(order)) for c in args], gid[order]
    out = AGGREGATES[a.fn](_Bound(a), args, gid, groups)
    return out.cast(a.type.arrow) if out.type != a.type.arrow else out
