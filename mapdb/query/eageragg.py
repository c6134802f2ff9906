"""Eager aggregation: a GROUP BY whose keys are a joined dimension's strings is computed in
two steps. The facts are aggregated first by the join keys they hold and by their own
group keys (integers and dates: cheap to hash), the dimensions are joined to those
groups, and the final GROUP BY merges them (Yan and Larson, "Eager Aggregation and Lazy
Aggregation", VLDB 1995). TPC-DS q04, q11 and q74 group 2.7 million sales joined to
customer by seven of customer's strings and the year: hashing those strings per sale was
the query; now they are hashed per (customer, year), 15 times fewer rows.

Exact for any inner equi-join, unique key or not: a fact row meets the same dimension
rows alone or inside its group, so merging partial aggregates that are decomposable
(sum of sums, sum of counts, min of mins, max of maxes) gives the same groups and values.
Inner joins commute, so of the dimensions joined to the facts only those that bring
string group keys are joined after the partial aggregate; the others (a date filtered to
a year, a store) still join, and drop facts, before it. Not when a partial group key is
unique among the facts (nothing would merge), when a string dimension is filtered (it
drops facts before they are aggregated: TPC-DS q03, q21, q89), or with more than two
partial keys (their groups are about as many as the rows: q67's item, store, year,
quarter and month took 3x as long split). ``joinorder.aggregate_first`` handles the
case that needs no second step (the dimension's unique key is itself a group key); this
one runs after it.
"""

from __future__ import annotations

import dataclasses

from mapdb.query.expr import Agg, Col
from mapdb.query.joinorder import base_rows, estimate, likely_unique
from mapdb.query.plan import Aggregate, Join, Plan, Project

# aggregate -> how its partial results merge
MERGE = {"sum": "sum", "count": "sum", "count_star": "sum", "min": "min", "max": "max"}
_CHEAP = ("int", "date", "timestamp", "bool")  # key kinds hashed as fixed-width integers
MAX_PARTIAL_KEYS = 2  # a fact's join key and one key of its own (q04's customer, year)


def eager_aggregate(plan: Plan) -> Plan:
    """``plan`` with each qualifying Aggregate split in two (see the module docstring)."""
    for attr in ("input", "left", "right"):
        if hasattr(plan, attr):
            setattr(plan, attr, eager_aggregate(getattr(plan, attr)))
    if not isinstance(plan, Aggregate) or not plan.keys or not plan.aggs or \
            any(a.fn not in MERGE for _, a in plan.aggs) or \
            not all(isinstance(e, Col) for _, e in plan.keys):
        return plan
    agg_cols = set().union(*(a.columns() for _, a in plan.aggs))
    keys = {e.name: e for _, e in plan.keys}
    joins: list[Join] = []  # the inner joins down the probe side, top first
    node = plan.input
    while True:
        if isinstance(node, Project) and all(isinstance(e, Col) and e.name == n
                                             for n, e in node.exprs):
            node = node.input
        elif isinstance(node, Join) and node.kind == "inner" and node.condition is None \
                and node.build == "right" and node.left_keys and \
                all(isinstance(k, Col) for k in node.left_keys) and \
                not agg_cols & _names(node.right):
            joins.append(node)
            node = node.left
        else:
            break
    base = node
    # the dimensions that bring string group keys join after the partial aggregate; the
    # others (a filtered date, a key grouped as is) before it, in their order
    after = [j for j in joins if any(keys[n].type.kind == "string"
                                     for n in _names(j.right) & set(keys))]
    before = [j for j in joins if j not in after]
    if not after or not agg_cols <= _names(base) or \
            any(estimate(j.right) < base_rows(j.right) * 0.9 for j in after):
        return plan  # (a filtered dimension drops facts: it joins before aggregating)
    facts_cols = _names(base).union(*(_names(j.right) for j in before))
    for j in reversed(before):  # each joins on columns the facts side has by then
        if not {k.name for k in j.left_keys} <= _names(base).union(
                *(_names(b.right) for b in before[before.index(j) + 1:])):
            return plan
    attached = set().union(*(_names(j.right) for j in after))
    pre: dict[str, Col] = {}
    for j in after:
        for k in j.left_keys:
            if k.name in facts_cols:
                pre[k.name] = k
            elif k.name not in attached:
                return plan
    for name, e in keys.items():
        if name in facts_cols:
            pre[name] = e
        elif name not in attached:
            return plan
    if not all(e.type.kind in _CHEAP for e in pre.values()) or len(pre) > MAX_PARTIAL_KEYS:
        return plan  # (with more keys the partial groups are about as many as the rows)
    facts: Plan = base
    for j in reversed(before):
        facts = dataclasses.replace(j, left=facts)
    if any(likely_unique(facts, e) for e in pre.values()):
        return plan  # one fact row per group: nothing to merge (TPC-H Q12: orders probed)
    partial = [(f"{n}$partial", a) for n, a in plan.aggs]
    current: Plan = Aggregate(facts, [(n, e) for n, e in pre.items()], partial)
    for j in reversed(after):
        current = dataclasses.replace(j, left=current)
    final = [(n, Agg(MERGE[a.fn], Col(p, a.type), a.type))
             for (n, a), (p, _) in zip(plan.aggs, partial, strict=True)]
    return Aggregate(current, list(plan.keys), final)


def _names(plan: Plan) -> set[str]:
    return {n for n, _ in plan.schema}
