"""Ranges of comparisons with constants: ``col <op> constant`` as bounds on a column's
stored scale, and their intersection in DuckDB's order of values (NaN above every
number). The optimizer turns them into zone-map ranges, the join orderer into
selectivities and the fused kernels into filters: one definition, below all three.
"""

from __future__ import annotations

from mapdb.query.expr import Call, Col, Expr, Lit

_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq"}


def _constant(e: Expr) -> Expr:
    """A float constant the binder left as a cast of a literal (``x < 10`` on a DOUBLE
    column is ``x < cast(10)``) as that literal; anything else unchanged."""
    if isinstance(e, Call) and e.type.kind == "float" and e.args and \
            all(isinstance(x, Lit) for x in e.args):
        from mapdb.query.evaluate import evaluate
        from mapdb.query.types import QueryError
        try:
            v = evaluate(e, {}, 1)[0].as_py()
        except (QueryError, ValueError, TypeError):
            return e
        return Lit(v, e.type)
    return e


def range_of(p: Expr) -> tuple[str, int | float | None, int | float | None, bool] | None:
    """``col <op> constant`` as (column, lo, hi, is_float) on the stored scale, or None."""
    if not (isinstance(p, Call) and p.op in _FLIP and len(p.args) == 2):
        return None
    a, b = (_constant(x) for x in p.args)
    op = p.op
    if isinstance(a, Lit) and not isinstance(b, Lit):
        a, b, op = b, a, _FLIP[op]
    if not isinstance(b, Lit) or b.value is None:
        return None
    col, factor = _stored(a)
    if col is None or isinstance(b.value, (str, bytes, bool)):
        return None
    is_float = col.type.kind == "float"
    v = b.value
    if is_float:
        return (col.name, *_float_range(op, float(v)), True)
    if factor != 1:  # the column was rescaled up by ``factor`` to meet the constant
        lo_v, hi_v = -(-v // factor), v // factor  # ceil, floor on the stored scale
    else:
        lo_v = hi_v = v
    if op == "eq":
        return col.name, lo_v, hi_v, is_float
    if op in ("gt", "ge"):
        bound = lo_v if op == "ge" or factor != 1 or is_float else v + 1
        return col.name, bound, None, is_float
    bound = hi_v if op == "le" or factor != 1 or is_float else v - 1
    return col.name, None, bound, is_float


_INF = float("inf")
_NAN = float("nan")
EMPTY_FLOAT_RANGE = (_NAN, -_INF)


def _float_range(op: str, v: float) -> tuple:
    """``x <op> v`` on a float column as inclusive bounds in DuckDB's order of doubles
    (-inf < ... < +inf < NaN; NaN = NaN, -0.0 = 0.0); None is unbounded and
    ``EMPTY_FLOAT_RANGE`` (NaN, -inf) holds nothing. Strict bounds step to the next double
    (``x > 1.0`` is ``x >= 1.0000000000000002``), past +inf to NaN.

    >>> _float_range("gt", float("inf")), _float_range("lt", float("nan"))
    ((nan, None), (None, inf))
    """
    import math
    if op == "eq":
        return v, v
    if op == "ge":
        return v, None
    if op == "le":
        return None, v
    if op == "gt":
        if v != v:
            return EMPTY_FLOAT_RANGE
        return (_NAN if v == _INF else math.nextafter(v, _INF)), None
    if v != v:  # lt
        return None, _INF
    return (EMPTY_FLOAT_RANGE if v == -_INF else (None, math.nextafter(v, -_INF)))


def _order_key(v) -> tuple:
    return (v != v, v)  # NaN above every number


def bound_max(a, b):
    """The larger of two lower bounds (None: unbounded), NaN above every number."""
    return b if a is None else a if b is None else max(a, b, key=_order_key)


def bound_min(a, b):
    """The smaller of two upper bounds (None: unbounded), NaN above every number."""
    return b if a is None else a if b is None else min(a, b, key=_order_key)


def _stored(e: Expr) -> tuple[Col | None, int]:
    if isinstance(e, Col) and e.type.kind in ("int", "decimal", "date", "timestamp", "float") \
            and not (e.type.kind == "decimal" and e.type.wide):
        if e.type.kind == "int" and str(e.type.arrow) == "uint64":
            return None, 1
        return e, 1
    if isinstance(e, Call) and e.op == "rescale" and isinstance(e.args[0], Col):
        col, f = _stored(e.args[0])
        return col, f * 10 ** e.param
    if isinstance(e, Call) and e.op == "retype":
        return _stored(e.args[0])
    return None, 1
