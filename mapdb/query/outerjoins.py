"""LEFT joins that are inner joins: when something above rejects every row whose right-side
columns are NULL (a WHERE comparison on them, an inner join keyed on them), the rows the
LEFT join pads with NULLs never survive, so it is an inner join, and the join order is
free again (TPC-DS q93: sales LEFT JOIN returns, then returns' reason joined to the one
reason asked for; as an inner join the reason and its returns are found first, and 3.9
million sales are no longer padded to be dropped).

A predicate rejects NULLs of a column when it cannot be TRUE with that column NULL:
comparisons, IN, LIKE and IS NOT NULL of the column (or of arithmetic on it), a
conjunction when one part does, a disjunction when every branch does. What rejects flows
down through filters, projections (by column renames) and joins (an inner join's keys
and condition to both sides; any join's to its left side, whose rows it passes on
unchanged); it stops at anything else (an aggregate, a LIMIT, a window, a set operation:
those see the rows before the filter does).
"""

from __future__ import annotations

from mapdb.query.expr import Call, Col, Expr, conjuncts
from mapdb.query.plan import Filter, Join, Plan, Project

_COMPARE = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "like", "ilike",
                      "is_not_null"})
_STRICT = frozenset({"add", "sub", "mul", "neg", "not", "lower", "upper", "length",
                     "substring", "concat"})


def inner_outer_joins(plan: Plan, rejected: frozenset[str] = frozenset()) -> bool:
    """Turn the LEFT joins under ``plan`` whose NULL-padded rows ``rejected`` columns (or
    something in between) reject into inner joins, in place; whether any was."""
    changed = False
    if isinstance(plan, Filter):
        return inner_outer_joins(plan.input, rejected | _rejects(plan.predicate))
    if isinstance(plan, Project):
        inner = {e.name for n, e in plan.exprs if n in rejected and isinstance(e, Col)}
        return inner_outer_joins(plan.input, frozenset(inner))
    if isinstance(plan, Join):
        if plan.kind == "left" and rejected & _names(plan.right):
            plan.kind = "inner"
            changed = True
        left = right = frozenset()
        if plan.kind in ("inner", "cross"):
            left = right = rejected | _rejects(plan.condition) | {
                k.name for k in (*plan.left_keys, *plan.right_keys) if isinstance(k, Col)}
        elif plan.kind == "semi":  # a left row with a NULL key matches nothing
            left = rejected | {k.name for k in plan.left_keys if isinstance(k, Col)}
        elif plan.kind != "full":  # left, anti, mark, single: left rows pass unchanged
            left = rejected
        changed |= inner_outer_joins(plan.right, right & _names(plan.right))
        changed |= inner_outer_joins(plan.left, left & _names(plan.left))
        return changed
    for p in plan.inputs:
        changed |= inner_outer_joins(p, frozenset())
    return changed


def _rejects(p: Expr | None) -> frozenset[str]:
    """The columns whose NULL makes ``p`` not TRUE."""
    if p is None:
        return frozenset()
    out: set[str] = set()
    for c in conjuncts(p):
        out |= _rejects_one(c)
    return frozenset(out)


def _rejects_one(p: Expr) -> set[str]:
    if not isinstance(p, Call):
        return set()
    if p.op == "or":
        parts = [_rejects(a) for a in p.args]
        return set(frozenset.intersection(*parts)) if parts else set()
    if p.op == "and":
        return set(_rejects(p))
    if p.op in _COMPARE:
        args = p.args if p.op not in ("in", "like", "ilike") else p.args[:1]
        return set().union(*(_strict_columns(a) for a in args))
    if p.op == "not" and p.args and isinstance(p.args[0], Call) and \
            p.args[0].op in ("eq", "ne", "lt", "le", "gt", "ge"):
        return _rejects_one(p.args[0])
    return set()


def _strict_columns(e: Expr) -> set[str]:
    """Columns whose NULL makes ``e`` NULL."""
    if isinstance(e, Col):
        return {e.name}
    if isinstance(e, Call) and e.op in _STRICT:
        return set().union(*(_strict_columns(a) for a in e.args))
    return set()


def _names(plan: Plan) -> frozenset[str]:
    return frozenset(n for n, _ in plan.schema)
