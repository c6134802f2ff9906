"""Functions the binder had before the catalog (bound by ``query/functions.py``), registered
here so every spelling reaches them and docs/query.md lists them; and TRY_CAST."""

from __future__ import annotations

import pyarrow as pa

from mapdb.query import functions as fn
from mapdb.query.catalog import arity, constant, kernel, register
from mapdb.query.expr import Call, Col, Expr, Lit
from mapdb.query.types import INT64, QueryError, SqlType


def _one(f):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 1)
        return f(args[0])
    return bind


def _part(field: str):
    return _one(lambda x: fn.extract(field, x))


for _name, _field, _aliases in (("year", "year", ()), ("month", "month", ()),
                                ("day", "day", ()), ("quarter", "quarter", ()),
                                ("dayofweek", "dow", ()), ("dayofyear", "doy", ()),
                                ("week", "week", ())):
    register(_name, _part(_field), "(DATE) -> BIGINT", "(TIMESTAMP) -> BIGINT",
             *(("(INTERVAL) -> BIGINT",) if _field in ("year", "month", "day", "quarter")
               else ()),
             aliases=_aliases, builtin=True, family="datetime")


def _date_part(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    part = constant(name, args, 0, "part")
    if part is None:
        return Lit(None, INT64)
    return fn.extract(str(part).lower(), args[1])


def _date_trunc(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    part = constant(name, args, 0, "part")
    return fn.date_trunc(str(part).lower(), args[1])


register("date_part", _date_part, "(VARCHAR part, DATE) -> BIGINT",
         "(VARCHAR part, TIMESTAMP) -> BIGINT", aliases=("datepart",), builtin=True,
         doc="part constant; 'epoch' is a DOUBLE", family="datetime")
register("date_trunc", _date_trunc, "(VARCHAR part, DATE) -> TIMESTAMP",
         "(VARCHAR part, TIMESTAMP) -> TIMESTAMP", aliases=("datetrunc",), builtin=True,
         doc="part constant", family="datetime")


def _round(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1, 2)
    return fn.round_(args[0], args[1] if len(args) > 1 else Lit(0, INT64))


register("round", _round, "(number[, INTEGER digits]) -> the number's type",
         doc="half away from zero; digits constant, may be negative", builtin=True,
         family="math")
register("abs", _one(fn.abs_), "(number) -> the number's type", builtin=True,
         family="math")


def _coalesce(name: str, args: list[Expr]) -> Expr:
    if name == "ifnull":
        arity(name, args, 2)
    if not args:
        raise QueryError(f"{name}() needs an argument")
    return fn.coalesce(args)


def _nullif(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    return fn.nullif(args[0], args[1])


register("coalesce", _coalesce, "(any, ...) -> their common type", builtin=True,
         family="core")
register("ifnull", _coalesce, "(any, any) -> their common type", builtin=True,
         family="core")
register("nullif", _nullif, "(any, any) -> the first's type", builtin=True,
         family="core")


# -- TRY_CAST -----------------------------------------------------------------------------

_ARG = "__try_cast_arg"


def try_cast(x: Expr, to: SqlType, where: tuple) -> Expr:
    """TRY_CAST(x AS to): the CAST, NULL in the rows where it fails (DuckDB)."""
    inner = fn.cast(Col(_ARG, x.type), to, where)
    if isinstance(x, Lit) and x.value is None:
        return Lit(None, to)
    return Call("try_cast", (x,), to, inner)


@kernel("try_cast")
def _try_cast(e, x):
    from mapdb.query.evaluate import evaluate
    inner = e.param
    try:
        return evaluate(inner, {_ARG: x}, len(x))
    except QueryError:
        pass
    out = []
    for i in range(len(x)):
        try:
            out.append(evaluate(inner, {_ARG: x.slice(i, 1)}, 1))
        except QueryError:
            out.append(pa.nulls(1, e.type.arrow))
    return pa.concat_arrays([o.cast(e.type.arrow) for o in out]) if out else \
        pa.array([], e.type.arrow)
