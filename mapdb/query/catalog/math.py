"""Numeric functions, with DuckDB's result types: rounding keeps a float's type and takes a
decimal to scale 0 (ceil/floor of an integer is a DOUBLE in DuckDB 2, trunc keeps it);
roots, logarithms and powers are DOUBLE (NaN for a negative root or logarithm, -inf for
ln(0), as DuckDB); sign is a TINYINT; greatest/least take the arguments' common type and
ignore NULLs."""

from __future__ import annotations

import math as _math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query import functions as fn
from mapdb.query.catalog import (
    arity,
    integers,
    kernel,
    kinds,
    node,
    null_result,
    register,
)
from mapdb.query.evaluate import float_key, from_float_key, from_numpy
from mapdb.query.expr import Call, Expr, Lit
from mapdb.query.types import (
    DECIMAL,
    FLOAT64,
    QueryError,
    SqlType,
    common_numeric,
    common_type,
)

INT8 = SqlType("int", arrow=pa.int8())
NUM = ("int", "float", "decimal")


def _number(name: str, args: list[Expr], n: int = 1) -> None:
    arity(name, args, n)
    kinds(name, args, *[NUM] * n)


def _double(name: str, args: list[Expr]) -> list[Expr]:
    return [fn.to_float(a) if a.type.kind != "null" else Lit(None, FLOAT64) for a in args]


# -- rounding ---------------------------------------------------------------------------

def _rounding(op: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        _number(name, args)
        x = args[0]
        t = x.type
        if t.kind == "null":
            return Lit(None, FLOAT64)
        if t.kind == "float":
            return Call(op, (x,), t)
        if t.kind == "decimal":
            if t.wide:
                raise QueryError(f"{name}() of a DECIMAL(38, s) is not supported; CAST it")
            if t.scale == 0:
                return x
            return Call(op + "_decimal", (x,), DECIMAL(t.precision, 0), t.scale)
        if op == "trunc":  # an integer stays itself (its type)
            return x
        return Call(op, (fn.to_float(x),), FLOAT64)  # DuckDB 2: ceil(int) is a DOUBLE
    return bind


for _op, _aliases in (("ceil", ("ceiling",)), ("floor", ()), ("trunc", ())):
    register(_op, _rounding(_op), "(DOUBLE) -> DOUBLE", "(FLOAT) -> FLOAT",
             "(DECIMAL(p, s)) -> DECIMAL(p, 0)",
             "(integer) -> " + ("the same integer" if _op == "trunc" else "DOUBLE"),
             aliases=_aliases, family="math")


@node(exp.Ceil, "this", "ceil ceiling")
def _ceil_node(n):
    return "ceil", [n.this]


@node(exp.Floor, "this", "floor")
def _floor_node(n):
    return "floor", [n.this]


@node(exp.Trunc, "this decimals", "trunc")
def _trunc_node(n):
    if n.args.get("decimals") is not None:
        return "trunc", [n.this, n.args["decimals"]]
    return "trunc", [n.this]


@kernel("ceil")
def _ceil(e, x):
    return pc.ceil(x)


@kernel("floor")
def _floor(e, x):
    return pc.floor(x)


@kernel("trunc")
def _trunc(e, x):
    return pc.trunc(x)


def _scaled(x: pa.Array, how: str, scale: int) -> pa.Array:
    """A scaled-int decimal rounded to scale 0 (ceil, floor or toward zero)."""
    q = np.int64(10 ** scale)
    v = np.asarray(pc.fill_null(x, 0).to_numpy(zero_copy_only=False), np.int64)
    if how == "floor":
        out = np.floor_divide(v, q)
    elif how == "ceil":
        out = -np.floor_divide(-v, q)
    else:
        out = np.sign(v) * (np.abs(v) // q)
    return from_numpy(out, np.asarray(x.is_null().to_numpy(zero_copy_only=False))
                      if x.null_count else None)


@kernel("ceil_decimal", "floor_decimal", "trunc_decimal")
def _round_decimal(e, x):
    return _scaled(x, e.op.split("_")[0], e.param)


# -- roots, logarithms, powers ----------------------------------------------------------

def _unary_double(op: str, doc: str = ""):
    def bind(name: str, args: list[Expr]) -> Expr:
        _number(name, args)
        return null_result(args, FLOAT64) or Call(op, tuple(_double(name, args)), FLOAT64)
    register(op, bind, "(DOUBLE) -> DOUBLE", doc=doc, family="math")
    return bind


_UNARY = {"sqrt": (exp.Sqrt, lambda x: pc.sqrt(x), "NaN for x < 0"),
          "cbrt": (exp.Cbrt, lambda x: from_numpy(np.cbrt(_np(x)), _nulls(x)), ""),
          "ln": (exp.Ln, lambda x: pc.ln(x), "-inf at 0, NaN below"),
          "log2": (None, lambda x: pc.log2(x), ""),
          "log10": (None, lambda x: pc.log10(x), ""),
          "exp": (exp.Exp, lambda x: pc.exp(x), ""),
          "sin": (exp.Sin, lambda x: pc.sin(x), ""),
          "cos": (exp.Cos, lambda x: pc.cos(x), ""),
          "tan": (exp.Tan, lambda x: pc.tan(x), ""),
          "atan": (exp.Atan, lambda x: pc.atan(x), ""),
          "degrees": (exp.Degrees, lambda x: pc.multiply(x, 180.0 / _math.pi), ""),
          "radians": (exp.Radians, lambda x: pc.multiply(x, _math.pi / 180.0), ""),
          "even": (None, lambda x: from_numpy(np.copysign(np.ceil(np.abs(_np(x)) / 2) * 2,
                                                          _np(x)), _nulls(x)),
                   "rounded away from zero to an even integer")}


def _np(x: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(x, 0.0).to_numpy(zero_copy_only=False), np.float64)


def _nulls(x: pa.Array):
    return np.asarray(x.is_null().to_numpy(zero_copy_only=False)) if x.null_count else None


for _name, (_cls, _k, _doc) in _UNARY.items():
    _unary_double(_name, _doc)
    kernel(_name)(lambda e, x, _k=_k: _k(x))
    if _cls is not None:
        node(_cls, "this", _name)(lambda n, _name=_name: (_name, [n.this]))


def _log(name: str, args: list[Expr]) -> Expr:
    """log(x) is log10(x) in DuckDB; log(b, x) the logarithm of x to base b."""
    arity(name, args, 1, 2)
    kinds(name, args, NUM, NUM)
    out = null_result(args, FLOAT64)
    if out is not None:
        return out
    if len(args) == 1:
        return Call("log10", tuple(_double(name, args)), FLOAT64)
    return Call("log_base", tuple(_double(name, args)), FLOAT64)


register("log", _log, "(DOUBLE) -> DOUBLE", "(DOUBLE b, DOUBLE x) -> DOUBLE",
         doc="log(x) is log10(x), as DuckDB", family="math")


@node(exp.Log, "this expression", "log log2 log10", as_written=False)
def _log_node(n):
    if n.expression is None:
        return "log", [n.this]
    return "log", [n.this, n.expression]  # (log2/log10 arrive as log(2, x), log(10, x))


@kernel("log_base")
def _log_base(e, b, x):
    return pc.divide(pc.log10(x), pc.log10(b))  # (DuckDB's formula, to the last bit)


def _power(name: str, args: list[Expr]) -> Expr:
    _number(name, args, 2)
    return null_result(args, FLOAT64) or Call("power", tuple(_double(name, args)), FLOAT64)


register("power", _power, "(DOUBLE, DOUBLE) -> DOUBLE", aliases=("pow",), family="math")
node(exp.Pow, "this expression", "power pow")(lambda n: ("power", [n.this, n.expression]))


@kernel("power")
def _power_kernel(e, x, y):
    return pc.power(x, y)


def _atan2(name: str, args: list[Expr]) -> Expr:
    _number(name, args, 2)
    return null_result(args, FLOAT64) or Call("atan2", tuple(_double(name, args)), FLOAT64)


register("atan2", _atan2, "(DOUBLE y, DOUBLE x) -> DOUBLE", family="math")
node(exp.Atan2, "this expression", "atan2")(lambda n: ("atan2", [n.this, n.expression]))
kernel("atan2")(lambda e, y, x: pc.atan2(y, x))


def _pi(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 0)
    return Lit(_math.pi, FLOAT64)


register("pi", _pi, "() -> DOUBLE", family="math")
node(exp.Pi, "", "pi")(lambda n: ("pi", []))


# -- sign, predicates --------------------------------------------------------------------

def _sign(name: str, args: list[Expr]) -> Expr:
    _number(name, args)
    x = args[0]
    if x.type.kind == "null":
        return Lit(None, INT8)
    if x.type.wide:
        raise QueryError("sign() of a DECIMAL(38, s) is not supported; CAST it")
    return Call("sign", (x,), INT8)


register("sign", _sign, "(number) -> TINYINT", doc="0 for NaN and -0.0", family="math")
node(exp.Sign, "this", "sign")(lambda n: ("sign", [n.this]))


@kernel("sign")
def _sign_kernel(e, x):
    if pa.types.is_floating(x.type):  # NaN: 0, as DuckDB
        s = pc.sign(x)
        return pc.cast(pc.if_else(pc.is_nan(s), 0.0, s), pa.int8())
    if pa.types.is_unsigned_integer(x.type):
        return pc.cast(pc.greater(x, 0), pa.int8())
    return pc.cast(pc.sign(x), pa.int8())


def _float_test(op: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        _number(name, args)
        from mapdb.query.types import BOOL
        x = args[0]
        if x.type.kind == "null":
            return Lit(None, BOOL)
        if x.type.kind != "float":  # integers and decimals are finite
            return fn.case([(Call("is_null", (x,), BOOL), Lit(None, BOOL))],
                           Lit(op == "isfinite", BOOL))
        return Call(op, (x,), BOOL)
    return bind


for _name, _cls in (("isnan", exp.IsNan), ("isinf", exp.IsInf), ("isfinite", None)):
    register(_name, _float_test(_name), "(DOUBLE) -> BOOLEAN", family="math")
    if _cls is not None:
        node(_cls, "this", _name)(lambda n, _name=_name: (_name, [n.this]))
kernel("isnan")(lambda e, x: pc.is_nan(x))
kernel("isinf")(lambda e, x: pc.is_inf(x))
kernel("isfinite")(lambda e, x: pc.is_finite(x))


def _mod(name: str, args: list[Expr]) -> Expr:
    _number(name, args, 2)
    return fn.arith("mod", args[0], args[1])


register("mod", _mod, "(a, b) -> as a % b", doc="as the % operator", family="math")


# -- greatest, least ----------------------------------------------------------------------

def _extreme(op: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        if not args:
            raise QueryError(f"{name}() needs at least one argument")
        t = common_type([a.type for a in args], name.upper())
        if t.kind in ("interval",) or (t.kind == "decimal" and t.wide):
            raise QueryError(f"{name}() of {t} is not supported")
        conv = [fn.convert(a, t) for a in args]
        conv = [a for a in conv if not (isinstance(a, Lit) and a.value is None)]
        if not conv:
            return Lit(None, t)
        if len(conv) == 1:
            return conv[0]
        return Call(op, tuple(conv), t)
    return bind


register("greatest", _extreme("greatest"), "(any, ...) -> their common type",
         doc="NULLs ignored; NaN is the greatest double", family="math")
register("least", _extreme("least"), "(any, ...) -> their common type",
         doc="NULLs ignored", family="math")
node(exp.Greatest, "this expressions", "greatest", {"ignore_nulls": (True,)})(
    lambda n: ("greatest", [n.this, *n.expressions]))
node(exp.Least, "this expressions", "least", {"ignore_nulls": (True,)})(
    lambda n: ("least", [n.this, *n.expressions]))


@kernel("greatest", "least")
def _extreme_kernel(e, *xs):
    big = e.op == "greatest"
    if pa.types.is_floating(xs[0].type):  # DuckDB's order: NaN above +inf; -0.0 < 0.0 kept
        keys = [float_key(x, zero=False) for x in xs]
        k = pc.max_element_wise(*keys) if big else pc.min_element_wise(*keys)
        return from_float_key(k, xs[0].type)
    if pa.types.is_string(xs[0].type) or pa.types.is_large_string(xs[0].type) or \
            pa.types.is_boolean(xs[0].type):
        acc = xs[0]
        for x in xs[1:]:
            better = pc.greater(x, acc) if big else pc.less(x, acc)
            acc = pc.if_else(pc.or_kleene(pc.is_null(acc), pc.fill_null(better, False)),
                             x, acc)
        return acc
    if pa.types.is_timestamp(xs[0].type) and xs[0].type.tz is not None:
        # (Arrow has no element-wise max of zoned timestamps: the same instants as int64)
        k = [pc.cast(x, pa.int64()) for x in xs]
        out = pc.max_element_wise(*k) if big else pc.min_element_wise(*k)
        return pc.cast(out, xs[0].type)
    return pc.max_element_wise(*xs) if big else pc.min_element_wise(*xs)


# -- more of DuckDB's math ----------------------------------------------------------------

_MORE = {"asin": (exp.Asin, lambda x: pc.asin(x)),
         "acos": (exp.Acos, lambda x: pc.acos(x)),
         "cot": (exp.Cot, lambda x: pc.divide(1.0, pc.tan(x)))}
for _name, (_cls, _k) in _MORE.items():
    _unary_double(_name, "NaN outside [-1, 1]" if _name != "cot" else "")
    kernel(_name)(lambda e, x, _k=_k: _k(x))
    node(_cls, "this", _name)(lambda n, _name=_name: (_name, [n.this]))


def _integer_pair(op: str, doc: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 2)
        kinds(name, args, "int", "int")
        integers(name, args, 64, 64)
        from mapdb.query.types import INT64
        return null_result(args, INT64) or Call(op, tuple(
            a if a.type.arrow == INT64.arrow else Call("cast", (a,), INT64) for a in args),
            INT64)
    register(op, bind, "(BIGINT, BIGINT) -> BIGINT", doc=doc, family="math")


def _lcm(a: int, b: int) -> int:
    out = abs(a * b) // _math.gcd(a, b) if a and b else 0
    if out >= 2**63:
        raise QueryError(f"lcm({a}, {b}) is out of range for BIGINT (DuckDB: Out of Range "
                         "Error)")
    return out


def _rows(f, arrays, t):
    cols = [a.to_pylist() for a in arrays]
    return pa.array([None if None in r else f(*r) for r in zip(*cols, strict=True)], t)


_integer_pair("gcd", "greatest common divisor, non-negative")
_integer_pair("lcm", "least common multiple, non-negative; past BIGINT an error")
kernel("gcd")(lambda e, a, b: _rows(_math.gcd, [a, b], pa.int64()))
kernel("lcm")(lambda e, a, b: _rows(_lcm, [a, b], pa.int64()))


def _signbit(name: str, args: list[Expr]) -> Expr:
    _number(name, args)
    from mapdb.query.types import BOOL
    return null_result(args, BOOL) or Call("signbit", tuple(_double(name, args)), BOOL)


register("signbit", _signbit, "(DOUBLE) -> BOOLEAN", doc="true for -0.0 and negative NaN",
         family="math")
kernel("signbit")(lambda e, x: from_numpy(np.signbit(_np(x)), _nulls(x)))


def _nextafter(name: str, args: list[Expr]) -> Expr:
    _number(name, args, 2)
    t = common_numeric(args[0].type, args[1].type)
    if t.kind != "float" or t.arrow != pa.float32():  # (a REAL beside no DOUBLE: REAL)
        t = FLOAT64
    return null_result(args, t) or Call(
        "nextafter", tuple(fn.to_float(a, t) for a in args), t)


register("nextafter", _nextafter, "(DOUBLE x, DOUBLE toward) -> DOUBLE",
         "(FLOAT x, FLOAT toward) -> FLOAT", family="math")


@kernel("nextafter")
def _nextafter_kernel(e, x, y):
    dt = np.float32 if x.type == pa.float32() else np.float64
    return from_numpy(np.nextafter(_np(x).astype(dt), _np(y).astype(dt)),
                      _either(_nulls(x), _nulls(y)))


def _either(a, b):
    if a is None:
        return b
    return a if b is None else (a | b)
