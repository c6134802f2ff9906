"""Joins pushed into the branches of a UNION ALL: ``(A UNION ALL B) JOIN d`` is ``(A JOIN
d) UNION ALL (B JOIN d)`` for an inner or semi join. TPC-DS q05, q77 and q80 union a
channel's sales with its returns, then join the 3.2 million rows to the fortnight of
date_dim they ask about: the union was computed whole, then mostly dropped. Joined in
each branch, the fortnight's keys reach each scan (its join filter skips the morsels and
rows no date matches) and the union is only the 25,000 rows that remain.

Only when the other side is estimated at most a tenth of the union (it is built once per
branch: a copy of its plan each). Column renames between the join and the union are
looked through; the union's right branch gets the keys and condition with its own column
names (a UNION matches columns by position).
"""

from __future__ import annotations

import dataclasses

from mapdb.query.expr import Col, replace
from mapdb.query.joinorder import estimate
from mapdb.query.plan import Join, Plan, Project, SetOp, copy_plan


def join_through_union(plan: Plan) -> Plan:
    """``plan`` with qualifying joins distributed over UNION ALL (see the module doc)."""
    for attr in ("input", "left", "right"):
        if hasattr(plan, attr):
            setattr(plan, attr, join_through_union(getattr(plan, attr)))
    if not isinstance(plan, Join) or plan.kind not in ("inner", "semi") or \
            not plan.left_keys or plan.null_aware:
        return plan
    union, outer = plan.left, {n: Col(n, t) for n, t in plan.left.schema}
    while isinstance(union, Project) and all(isinstance(e, Col) for _, e in union.exprs):
        inner = dict(union.exprs)  # column renames (binder aliases): look through them
        outer = {n: inner[c.name] for n, c in outer.items()}
        union = union.input
    if not (isinstance(union, SetOp) and union.op == "union" and union.all) or \
            estimate(plan.right) * 10 > estimate(union):
        return plan
    down = {Col(n, c.type): c for n, c in outer.items()}  # the join's names -> the union's
    keys = [replace(k, down) for k in plan.left_keys]
    cond = replace(plan.condition, down) if plan.condition is not None else None
    rename = {Col(a, t): Col(b, t) for (a, t), (b, _) in
              zip(union.left.schema, union.right.schema, strict=True)}
    first = dataclasses.replace(plan, left=union.left, left_keys=keys, condition=cond)
    second = dataclasses.replace(
        plan, left=union.right, right=copy_plan(plan.right),
        left_keys=[replace(k, rename) for k in keys],
        condition=replace(cond, rename) if cond is not None else None)
    out: Plan = SetOp(join_through_union(first), join_through_union(second), "union", True)
    if plan.kind == "semi":
        cols = list(outer.items())
    else:
        cols = list(outer.items()) + [(n, Col(n, t)) for n, t in plan.right.schema]
    if [(n, c.name) for n, c in cols] != [(n, n) for n, _ in out.schema]:
        out = Project(out, cols)  # the join's own column names, as above it
    return out
