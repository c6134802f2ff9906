"""Expressions over a dimension's columns computed before its join, not after.

``sum(CASE WHEN d_day_name = 'Sunday' THEN price END)`` over sales joined to date_dim
compared a string per sale, and the join first copied each sale's day name out of the
build side (TPC-DS q02, q43, q59: seven such sums per query). The comparison reads only
date_dim's columns, so it is computed once per date_dim row in a projection of the build
side, and the join carries a boolean instead of the string: 73,000 comparisons instead
of 1.4 million, and no string column to gather.

Lifted: each largest part of an aggregate's or projection's expression that reads only
the build side of an inner join below it (through joins and column-only projections on
the probe side), made of comparisons, boolean logic, IS [NOT] NULL, IN and LIKE over
columns and constants. None of those can fail or depends on row order, so computing
them for build rows that never match changes no answer; an inner join has no
NULL-padded rows where the lifted value and the expression could differ.
"""

from __future__ import annotations

import itertools

from mapdb.query.expr import Agg, Call, Col, Expr, Lit, replace
from mapdb.query.plan import Aggregate, Join, Plan, Project

SAFE = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "is_null",
                  "is_not_null", "in", "like", "ilike"})
_fresh = itertools.count()


def lift_build_exprs(plan: Plan) -> Plan:
    """``plan`` with build-side-only expressions computed on the build side."""
    for attr in ("input", "left", "right"):
        if hasattr(plan, attr):
            setattr(plan, attr, lift_build_exprs(getattr(plan, attr)))
    if isinstance(plan, Aggregate):
        exprs: list[Expr] = [e for _, e in plan.keys] + [a for _, a in plan.aggs]
    elif isinstance(plan, Project):
        exprs = [e for _, e in plan.exprs]
    else:
        return plan
    mapping: dict[Expr, Col] = {}
    passthrough: list[Project] = []  # column-only projections above a lifted value
    node = plan.input
    while True:
        if isinstance(node, Project) and all(isinstance(e, Col) and e.name == n
                                             for n, e in node.exprs):
            passthrough.append(node)
            node = node.input
        elif isinstance(node, Join) and node.kind == "inner" and node.build == "right":
            right = {n for n, _ in node.right.schema}
            lifted: dict[Expr, Col] = {}
            for e in exprs:
                _collect(e, right, lifted, mapping)
            if lifted:
                node.right = Project(node.right, [(n, Col(n, t)) for n, t in
                                                  node.right.schema] +
                                     [(c.name, sub) for sub, c in lifted.items()])
                for p in passthrough:
                    p.exprs = p.exprs + [(c.name, c) for c in lifted.values()]
                mapping.update(lifted)
            node = node.left  # (a join passes every column of both sides on)
        else:
            break
    if not mapping:
        return plan
    if isinstance(plan, Aggregate):
        plan.keys = [(n, replace(e, mapping)) for n, e in plan.keys]
        plan.aggs = [(n, replace(a, mapping)) for n, a in plan.aggs]
    else:
        plan.exprs = [(n, replace(e, mapping)) for n, e in plan.exprs]
    return plan


def _collect(e: Expr, right: set[str], out: dict[Expr, Col], done: dict) -> None:
    """The largest safe subexpressions of ``e`` over ``right``'s columns, into ``out``."""
    if e in done or e in out:
        return
    if isinstance(e, Call) and e.op in SAFE and _safe(e) and e.columns() and \
            e.columns() <= right:
        out[e] = Col(f"$lifted{next(_fresh)}", e.type)
        return
    children = e.args if isinstance(e, Call) else (e.arg,) if isinstance(e, Agg) and \
        e.arg is not None else ()
    for c in children:
        _collect(c, right, out, done)


def _safe(e: Expr) -> bool:
    if isinstance(e, Col | Lit):
        return True
    return isinstance(e, Call) and e.op in SAFE and all(_safe(a) for a in e.args)
