"""Functions of a list and a lambda: list_transform, list_filter, list_reduce (DuckDB's
names and aliases), with ``x -> expr``, ``(x, i) -> expr`` (``i`` the element's 1-based
position, a BIGINT) and ``lambda x: expr``; tests/query/test_lambdas.py.

The binder hands a lambda over unbound (``catalog.Lambda``); it is bound here once the
parameters' types are known (the list's element type). Whatever the body reads besides its
parameters (outer columns, aggregates, nested lambdas' lists) becomes an argument of the
call, so the planner sees, renames and lifts it like any argument; the body itself sits
in the call's ``param`` over the parameter columns and those arguments' stand-ins.

Evaluation is vectorised: the body runs once over every row's elements together (the
list's flattened child array), the call's other arguments taken once per element by the
element's row. list_reduce runs the body once per position, over the rows that long.

>>> from mapdb.query.catalog import lookup
>>> lookup("apply").name, lookup("filter").name, lookup("reduce").name
('list_transform', 'list_filter', 'list_reduce')
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query import functions as fn
from mapdb.query.catalog import Lambda, arity, kernel, node, register
from mapdb.query.catalog.nested import _coerce, _typed, element_type
from mapdb.query.expr import Agg, Call, Col, Expr, Lit, WindowFn
from mapdb.query.nested import ListParts, from_output, make_list, to_output
from mapdb.query.types import BOOL, INT64, LIST, NULL, QueryError, SqlType

_FAMILY = "nested"


def _lambda_arg(name: str, args: list, i: int, counts: tuple[int, ...]) -> Lambda:
    a = args[i] if i < len(args) else None
    if not isinstance(a, Lambda):
        raise QueryError(f"{name}(): argument {i + 1} must be a lambda (x -> ...)")
    if len(a.names) not in counts:
        raise QueryError(f"{name}(): the lambda takes {' or '.join(map(str, counts))} "
                         f"parameters, not {len(a.names)}")
    return a


def _list_arg(name: str, args: list) -> Expr:
    x = args[0]
    if isinstance(x, Lambda) or x.type.kind not in ("list", "null"):
        raise QueryError(f"{name}(): argument 1 must be a list, got "
                         f"{'a lambda' if isinstance(x, Lambda) else x.type}")
    return x


def _elem(x: Expr) -> SqlType:
    return x.type.element if x.type.kind == "list" else NULL


def _hoist(body: Expr, params: list[Col]) -> tuple[Expr, list[Expr], tuple[str, ...]]:
    """``body`` with every largest part that reads no parameter but reads the row (a
    column, an aggregate, a window) replaced by a stand-in column; those parts, in order,
    become the call's arguments."""
    names = {p.name for p in params}
    outer: list[Expr] = []

    def reads_row(e: Expr) -> bool:
        return any(isinstance(x, (Col, Agg, WindowFn)) for x in e.walk())

    def go(e: Expr) -> Expr:
        if not (e.columns() & names):
            if isinstance(e, Lit) or not reads_row(e):
                return e
            if e not in outer:
                outer.append(e)
            return Col(f"__outer{outer.index(e)}", e.type)
        if isinstance(e, Col):
            return e
        if isinstance(e, Call):
            return Call(e.op, tuple(go(a) for a in e.args), e.type, e.param)
        raise QueryError(f"{e} over a lambda's parameter is not supported")

    out = go(body)
    return out, outer, tuple(f"__outer{i}" for i in range(len(outer)))


def _batch(e: Call, p: ListParts, rows: np.ndarray, extra: list[pa.Array]) -> dict:
    """The stand-ins of the call's other arguments, one value per element (its row's)."""
    _, _, outer = e.param
    take = pa.array(rows)
    return {n: a.take(take) for n, a in zip(outer, extra, strict=True)}


def _positions(p: ListParts) -> np.ndarray:
    """Each element's 1-based position in its list, in ``p.elements()`` order."""
    total = int(p.length.sum())
    ends = np.cumsum(p.length)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - p.length, p.length) + 1


def _bound(lam: Lambda, types: list[SqlType]) -> tuple[list[Col], Expr]:
    params, body = lam.bind(types[:len(lam.names)])
    return params, _typed(body)


# -- list_transform ---------------------------------------------------------------------

def _transform(name: str, args: list) -> Expr:
    arity(name, args, 2)
    x = _list_arg(name, args)
    lam = _lambda_arg(name, args, 1, (1, 2))
    params, body = _bound(lam, [_elem(x), INT64])
    if x.type.kind == "null" or (isinstance(x, Lit) and x.value is None):
        return Lit(None, NULL if x.type.kind == "null" else LIST(body.type))
    body, outer, names = _hoist(body, params)
    return Call("list_transform", (x, *outer), LIST(body.type),
                (body, tuple(p.name for p in params), names))


@kernel("list_transform")
def _transform_kernel(e: Call, a: pa.Array, *extra: pa.Array) -> pa.Array:
    from mapdb.query.evaluate import evaluate
    body, params, _ = e.param
    p = ListParts(a)
    values = from_output(p.elements(), e.args[0].type.element)
    batch = _batch(e, p, p.parents(), list(extra))
    batch[params[0]] = values
    if len(params) > 1:
        batch[params[1]] = pa.array(_positions(p))
    out = evaluate(body, batch, len(values))
    return make_list(p.length, to_output(out, body.type), p.valid, e.type.arrow)


# -- list_filter ------------------------------------------------------------------------

def _filter(name: str, args: list) -> Expr:
    arity(name, args, 2)
    x = _list_arg(name, args)
    lam = _lambda_arg(name, args, 1, (1, 2))
    params, body = _bound(lam, [_elem(x), INT64])
    if body.type.kind not in ("bool", "null"):
        body = fn.cast(body, BOOL)  # DuckDB casts the condition (2.5 is true)
    if x.type.kind == "null" or (isinstance(x, Lit) and x.value is None):
        return Lit(None, x.type)
    body, outer, names = _hoist(body, params)
    return Call("list_filter", (x, *outer), x.type,
                (body, tuple(p.name for p in params), names))


@kernel("list_filter")
def _filter_kernel(e: Call, a: pa.Array, *extra: pa.Array) -> pa.Array:
    from mapdb.query.evaluate import evaluate
    body, params, _ = e.param
    p = ListParts(a)
    elements = p.elements()
    parents = p.parents()
    batch = _batch(e, p, parents, list(extra))
    batch[params[0]] = from_output(elements, e.args[0].type.element)
    if len(params) > 1:
        batch[params[1]] = pa.array(_positions(p))
    keep = evaluate(body, batch, len(elements))
    keep = np.asarray(keep.fill_null(False), bool) if keep.type == pa.bool_() else \
        np.zeros(len(elements), bool)  # (a NULL condition keeps nothing)
    length = np.bincount(parents[keep], minlength=len(p))
    return make_list(length, elements.filter(pa.array(keep)), p.valid, e.type.arrow)


# -- list_reduce ------------------------------------------------------------------------

def _reduce(name: str, args: list) -> Expr:
    """DuckDB's types: the accumulator is the common type of the elements (and the initial
    value) and the body's result, the body bound again with it when that differs."""
    arity(name, args, 2, 3)
    x = _list_arg(name, args)
    lam = _lambda_arg(name, args, 1, (2, 3))
    e_t = _elem(x)
    init = None
    start = e_t
    if len(args) == 3:
        init = args[2]
        if isinstance(init, Lambda):
            raise QueryError(f"{name}(): the initial value cannot be a lambda")
        init = _typed(init)
        start = element_type([e_t, init.type], name)
    params, body = _bound(lam, [start, e_t, INT64])
    try:
        acc = element_type([start, body.type], name)
    except QueryError:
        raise QueryError(f"{name}(): no common type of the list's elements ({e_t}) and the "
                         f"lambda's result ({body.type})") from None
    if acc != start:
        params, body = _bound(lam, [acc, e_t, INT64])
    if body.type != acc:
        body = _coerce(body, acc)
    if x.type.kind == "null" or (isinstance(x, Lit) and x.value is None):
        return Lit(None, acc)
    body, outer, names = _hoist(body, params)
    args_ = (x, *outer) if init is None else (x, _coerce(init, acc), *outer)
    return Call("list_reduce_lambda", args_, acc,
                (body, tuple(p.name for p in params), names, init is not None))


@kernel("list_reduce_lambda")
def _reduce_kernel(e: Call, a: pa.Array, *rest: pa.Array) -> pa.Array:
    from mapdb.query.evaluate import evaluate
    body, params, outer, has_init = e.param
    init, extra = (rest[0], rest[1:]) if has_init else (None, rest)
    p = ListParts(a)
    elements = p.elements()
    first = np.cumsum(p.length) - p.length  # each row's first element in ``elements``
    elem = e.args[0].type.element
    n = len(p)
    if init is None:
        empty = p.valid & (p.length == 0)
        if empty.any():
            raise QueryError("list_reduce(): cannot reduce an empty list without an initial "
                             "value")
        acc = _cast(from_output(elements.take(pa.array(np.where(p.valid, first, 0)))
                                if len(elements) else pa.nulls(n, elements.type), elem),
                    elem, e.type)
        k = 1
    else:
        acc, k = init, 0
    valid = p.valid.copy()
    while True:
        active = np.flatnonzero(valid & (p.length > k))
        if not len(active):
            break
        batch = {name: x.take(pa.array(active)) for name, x in zip(outer, extra, strict=True)}
        batch[params[0]] = acc.take(pa.array(active))
        batch[params[1]] = from_output(elements.take(pa.array(first[active] + k)), elem)
        if len(params) > 2:
            batch[params[2]] = pa.array(np.full(len(active), k + 1, np.int64))
        out = evaluate(body, batch, len(active))
        at = np.arange(n, dtype=np.int64)
        at[active] = n + np.arange(len(active))
        acc = pa.concat_arrays([acc, out.cast(acc.type)]).take(pa.array(at))
        k += 1
    if not valid.all():
        acc = pc.if_else(pa.array(valid), acc, pa.scalar(None, acc.type))
    return acc


def _cast(v: pa.Array, src: SqlType, t: SqlType) -> pa.Array:
    if src == t:
        return v
    from mapdb.query.catalog.nested import _cast_values
    return _cast_values(v, src, t)


register("list_transform", _transform, "(LIST, LAMBDA x[, i] -> any) -> LIST",
         aliases=("list_apply", "array_transform", "array_apply", "apply"), takes_lambda=True,
         family=_FAMILY, doc="`x -> expr` or `(x, i) -> expr`, i the 1-based position")
register("list_filter", _filter, "(LIST, LAMBDA x[, i] -> BOOLEAN) -> LIST",
         aliases=("array_filter", "filter"), takes_lambda=True, family=_FAMILY,
         doc="keeps the elements the lambda is true for")
register("list_reduce", _reduce, "(LIST, LAMBDA acc, x[, i] -> any[, initial]) -> any",
         aliases=("array_reduce", "reduce"), takes_lambda=True, family=_FAMILY,
         doc="an empty list needs the initial value (DuckDB's error)")

# sqlglot's nodes for them
node(exp.Transform, "this expression", "list_transform list_apply array_transform "
     "array_apply apply")(lambda n: ("list_transform", [n.this, n.expression]))
node(exp.ArrayFilter, "this expression", "list_filter array_filter filter")(
    lambda n: ("list_filter", [n.this, n.expression]))
# (reduce(l, f, v): sqlglot reads the lambda as ``initial`` and the value as ``merge``)
node(exp.Reduce, "this initial merge", "reduce list_reduce array_reduce")(
    lambda n: ("list_reduce", [n.this, n.args["initial"], n.args["merge"]]))
