"""Join planning: equi-keys out of conditions, join order, and which side is built.

A cluster of inner and cross joins (what ``FROM a, b, c WHERE ...`` binds to) is flattened
into its inputs and predicates, then rebuilt:

1. *Dimension chains fold first.* An input joined to exactly one other input, on a unique
   key of its own (a primary-key index, or a GROUP BY key), and filtered, is joined into
   that neighbour before anything else (region into nation into supplier in TPC-H Q5), so
   the neighbour's hash table is already reduced.
2. *Greedy, left deep.* The largest input (after its filters) is the probe side: its scan
   streams morsel by morsel through every join above it. Each step adds the connected
   input that keeps the estimated intermediate result smallest; an input that is only
   reachable through a cross product comes last.
3. Semi and anti joins sitting on the cluster are moved onto the input their keys come
   from when that input is not the probe side (TPC-H Q18's IN filters orders before
   orders is joined), and otherwise stay above, where the other joins have already reduced
   the rows.

Estimates: a scan's rows times its filter's selectivity (equality on a dictionary column:
1/dictionary size; a range: its share of the column's zone-map bounds; LIKE: 1/10;
otherwise 1/2). A join on a unique key of the added input keeps the probe side's rows
times that input's selectivity; otherwise rows multiply by (added rows / distinct keys),
with distinct keys bounded by the key column's value range.

>>> import pyarrow as pa
>>> from mapdb.query.binder import bind_sql
>>> from mapdb.query.optimizer import optimize
>>> from mapdb.query.source import ArrowSource
>>> a = ArrowSource("a", pa.table({"k": list(range(100))}))
>>> b = ArrowSource("b", pa.table({"bk": [1, 2]}))
>>> q = bind_sql("SELECT count(*) FROM b, a WHERE k = bk", {"a": a, "b": b}.__getitem__)
>>> j = optimize(q.plan).input.input
>>> j.kind, j.left.source.name, j.right.source.name, j.build
('inner', 'a', 'b', 'right')
"""

from __future__ import annotations

from dataclasses import dataclass

from mapdb.query.expr import Call, Col, Expr, conjoin, conjuncts
from mapdb.query.plan import (
    Aggregate,
    CTEScan,
    Distinct,
    Filter,
    Join,
    Limit,
    Plan,
    Project,
    Scan,
    copy_plan,
)
from mapdb.query.ranges import range_of
from mapdb.query.types import BOOL as _BOOL


def names(plan: Plan) -> set[str]:
    return {n for n, _ in plan.schema}


def split_keys(preds: list[Expr], left: set[str], right: set[str]
               ) -> tuple[list[Expr], list[Expr], list[Expr]]:
    """Equalities of a left-only and a right-only expression as key pairs; the rest."""
    lk, rk, rest = [], [], []
    for p in preds:
        if isinstance(p, Call) and p.op == "eq" and len(p.args) == 2 and \
                p.args[0].type.kind != "interval":  # (intervals: equal on their total)
            a, b = p.args
            ca, cb = a.columns(), b.columns()
            if ca and cb and ca <= left and cb <= right:
                lk.append(a)
                rk.append(b)
                continue
            if ca and cb and ca <= right and cb <= left:
                lk.append(b)
                rk.append(a)
                continue
        rest.append(p)
    return lk, rk, rest


# -- estimates ------------------------------------------------------------------------------

def _origin(plan: Plan, name: str) -> tuple[Scan | None, str | None]:
    """The scan column behind output column ``name`` (through renaming projections)."""
    while True:
        if isinstance(plan, Scan):
            return (plan, name) if name in plan.columns or name in plan.source.types() \
                else (None, None)
        if isinstance(plan, Project):
            e = dict(plan.exprs).get(name)
            if not isinstance(e, Col):
                return None, None
            plan, name = plan.input, e.name
        elif isinstance(plan, (Filter, Limit, Distinct)):
            plan = plan.input
        elif isinstance(plan, Join):
            plan = plan.left if name in names(plan.left) else plan.right
        else:
            return None, None


def unique_key(plan: Plan, e: Expr) -> bool:
    """Whether ``e`` (a column of ``plan``) holds each value at most once."""
    if not isinstance(e, Col):
        return False
    node = plan
    while isinstance(node, (Filter, Limit)):
        node = node.input
    if isinstance(node, Project):
        inner = dict(node.exprs).get(e.name)
        return isinstance(inner, Col) and unique_key(node.input, inner)
    if isinstance(node, Aggregate):
        return len(node.keys) == 1 and node.keys[0][0] == e.name
    if isinstance(node, Join) and node.kind in ("semi", "anti"):
        return unique_key(node.left, e)
    scan, col = _origin(node, e.name)
    if scan is None or not hasattr(scan.source, "index_on"):
        return False
    try:
        ix = scan.source.index_on(col, "hash")
    except Exception:
        return False
    return ix is not None and ix.unique


def likely_unique(plan: Plan, e: Expr) -> bool:
    """For estimates: ``e`` is a unique key (unique_key), or a column of a filtered or
    projected scan whose stored values are all different (a dimension's key that no index
    declares: SSB's tables as plainly ingested)."""
    if unique_key(plan, e):
        return True
    node = plan
    while isinstance(node, (Filter, Limit, Project)):
        if isinstance(node, Project):
            e = dict(node.exprs).get(e.name) if isinstance(e, Col) else None
        node = node.input
    if not isinstance(e, Col) or not isinstance(node, Scan) or \
            not hasattr(node.source, "unique_values") or e.name not in node.source.types():
        return False
    return node.source.unique_values(e.name)


def distinct_bound(plan: Plan, e: Expr, rows: float) -> float:
    if isinstance(e, Col):
        scan, col = _origin(plan, e.name)
        if scan is not None and hasattr(scan.source, "bounds"):
            try:
                lo, hi = scan.source.bounds(col)
                return max(min(rows, hi - lo + 1), 1.0)
            except Exception:
                pass
    return max(rows, 1.0)


def selectivity(scan: Scan) -> float:
    """The fraction of the scan's rows its filter keeps (estimated). Ranges on one column
    are intersected first (``d >= x AND d < y`` is one interval, not two halves)."""
    sel = 1.0
    ranges: dict[str, list] = {}
    for p in conjuncts(scan.filter):
        r = range_of(p) if isinstance(p, Call) and p.op in ("lt", "le", "gt", "ge") else None
        if r is not None and r[0] in scan.source.types():
            lo, hi = ranges.get(r[0], [None, None])
            ranges[r[0]] = [r[1] if lo is None else (lo if r[1] is None else max(lo, r[1])),
                            r[2] if hi is None else (hi if r[2] is None else min(hi, r[2]))]
            continue
        sel *= _pred_selectivity(scan, p)
    for col, (lo, hi) in ranges.items():
        sel *= _interval_selectivity(scan, col, lo, hi)
    return max(sel, 1e-6)


def _pred_selectivity(scan: Scan, p: Expr) -> float:
    src = scan.source
    if isinstance(p, Call):
        if p.op == "eq" and len(p.args) == 2:
            cols = [a for a in p.args if isinstance(a, Col)]
            if len(cols) == 1 and hasattr(src, "is_dictionary") and \
                    cols[0].name in src.types() and src.is_dictionary(cols[0].name):
                return 1.0 / max(src.dictionary_size(cols[0].name), 1)
            return 0.05
        if p.op == "in":
            n = len(p.param) if isinstance(p.param, (list, tuple, frozenset, set)) else 4
            c = p.args[0]
            if isinstance(c, Col) and hasattr(src, "is_dictionary") and \
                    c.name in src.types() and src.is_dictionary(c.name):
                return min(1.0, n / max(src.dictionary_size(c.name), 1))
            return min(0.5, 0.05 * n)
        if p.op in ("like", "ilike"):
            return 0.1
        if p.op == "not":
            return 0.9
        if p.op in ("lt", "le", "gt", "ge"):
            return _range_selectivity(scan, p)
        if p.op == "and":
            return _pred_selectivity(scan, p.args[0]) * _pred_selectivity(scan, p.args[1])
        if p.op == "or":
            return min(1.0, _pred_selectivity(scan, p.args[0]) +
                       _pred_selectivity(scan, p.args[1]))
    return 0.5


def _range_selectivity(scan: Scan, p: Expr) -> float:
    r = range_of(p)
    if r is None or r[0] not in scan.source.types():
        return 0.5
    return _interval_selectivity(scan, r[0], r[1], r[2])


def _interval_selectivity(scan: Scan, col: str, lo, hi) -> float:
    """The share of the column's zone-map bounds that [lo, hi] covers."""
    if not hasattr(scan.source, "bounds"):
        return 0.5
    try:
        cmin, cmax = scan.source.bounds(col)
    except Exception:  # no bounds for this column
        return 0.5
    if cmax <= cmin:
        return 0.5
    a = cmin if lo is None else max(cmin, lo)
    b = cmax if hi is None else min(cmax, hi)
    return min(max((b - a) / (cmax - cmin), 0.001), 1.0)


def estimate(plan: Plan) -> float:
    """Estimated output rows."""
    if isinstance(plan, Scan):
        rows = plan.source.row_count
        rows = rows() if callable(rows) else rows
        return rows * selectivity(plan)
    if isinstance(plan, Filter):
        return estimate(plan.input) * 0.5
    if isinstance(plan, Aggregate):
        return 1.0 if not plan.keys else max(estimate(plan.input) / 10, 1.0)
    if isinstance(plan, CTEScan):
        return estimate(plan.cte)
    if isinstance(plan, Limit):
        est = estimate(plan.input)
        return est if plan.limit is None else min(est, plan.limit)
    if isinstance(plan, Join):
        left, right = estimate(plan.left), estimate(plan.right)
        if plan.kind in ("semi", "anti"):
            return left * 0.5
        if plan.kind in ("single", "left", "mark"):
            return left
        if plan.kind in ("cross",) and not plan.left_keys:
            return left * right
        return _join_estimate(plan.left, left, plan.right, right, plan.left_keys,
                              plan.right_keys)
    if plan.inputs:
        return max(estimate(p) for p in plan.inputs)
    return 1000.0


def _join_estimate(lp, left, rp, right, lk, rk) -> float:
    if not lk:
        return left * right
    if any(likely_unique(rp, k) for k in rk):
        return left * min(right / max(base_rows(rp), 1.0), 1.0)
    if any(likely_unique(lp, k) for k in lk):
        return right * min(left / max(base_rows(lp), 1.0), 1.0)
    ndv = max(distinct_bound(rp, rk[0], right), distinct_bound(lp, lk[0], left))
    return left * right / ndv


def base_rows(plan: Plan) -> float:
    """Rows of the input before its filters (what a unique key's values range over)."""
    node = plan
    while isinstance(node, (Filter, Project)):
        node = node.input
    if isinstance(node, Scan):
        rows = node.source.row_count
        return rows() if callable(rows) else rows
    if isinstance(node, Join) and node.kind in ("inner", "semi", "anti"):
        return base_rows(node.left) if node.kind != "inner" else max(base_rows(node.left),
                                                                  base_rows(node.right))
    return estimate(plan)


# -- decorrelated subqueries: only the groups the outer query asks for ----------------------

def reduce_subqueries(plan: Plan) -> Plan:
    """A decorrelated aggregate (the build side of a "single" join, grouped by the join
    keys) is computed only for the keys the outer query can produce: its input is
    semi-joined with a copy of the smallest part of the outer plan that yields those keys
    (TPC-H Q17: lineitem's average quantity per part, for the parts of one brand and
    container, instead of for all 200,000 parts per scale factor)."""
    for attr in ("input", "left", "right"):
        if hasattr(plan, attr):
            setattr(plan, attr, reduce_subqueries(getattr(plan, attr)))
    if not (isinstance(plan, Join) and plan.kind == "single" and plan.left_keys and
            all(isinstance(k, Col) for k in plan.left_keys)):
        return plan
    agg, inner_keys = _grouped_by(plan.right, plan.right_keys)
    if agg is None:
        return plan
    need = {k.name for k in plan.left_keys}
    source = _smallest_with(plan.left, need)
    if source is None or estimate(source) >= estimate(agg.input):
        return plan
    agg.input = Join(agg.input, copy_plan(source), "semi", inner_keys,
                     list(plan.left_keys))
    return plan


def _grouped_by(plan: Plan, keys: list[Expr]) -> tuple[Aggregate | None, list[Expr]]:
    """The Aggregate under ``plan`` whose group keys are exactly ``keys`` (through
    projections), with those keys as expressions over the aggregate's input."""
    if not all(isinstance(k, Col) for k in keys):
        return None, []
    node, cols = plan, [k.name for k in keys]
    while isinstance(node, Project):
        m = dict(node.exprs)
        if not all(isinstance(m.get(c), Col) for c in cols):
            return None, []
        cols = [m[c].name for c in cols]
        node = node.input
    if not isinstance(node, Aggregate) or len(node.keys) != len(cols):
        return None, []
    by_name = dict(node.keys)
    if set(by_name) != set(cols):
        return None, []
    return node, [by_name[c] for c in cols]


def _smallest_with(plan: Plan, need: set[str]) -> Plan | None:
    """The smallest subtree of ``plan`` whose rows include every value of the ``need``
    columns that ``plan``'s rows have (inner joins and filters only remove rows)."""
    if not need <= names(plan):
        return None
    node = plan
    while True:
        if isinstance(node, Join) and node.kind in ("inner", "cross"):
            if need <= names(node.left):
                node = node.left
            elif need <= names(node.right):
                node = node.right
            else:
                return node
        elif isinstance(node, Join) and node.kind in ("single", "left", "mark") and \
                need <= names(node.left):
            node = node.left
        else:  # a scan, a filter, a semi/anti join (which already reduces) ...
            return node


# -- clusters of inner joins --------------------------------------------------------------

@dataclass
class _Rel:
    plan: Plan
    cols: set[str]
    rows: float


def reorder(plan: Plan) -> Plan:
    """Rebuild every cluster of inner/cross joins (bottom up) and choose build sides."""
    if isinstance(plan, Join) and plan.kind in ("inner", "cross"):
        leaves, preds = [], []
        _flatten(plan, leaves, preds)
        leaves = [reorder(p) for p in leaves]
        return _choose_builds(_rebuild(leaves, preds))
    for attr in ("input", "left", "right"):
        if hasattr(plan, attr):
            setattr(plan, attr, reorder(getattr(plan, attr)))
    if isinstance(plan, Join) and plan.kind in ("semi", "anti"):
        plan = _sink_semi(plan)
    return _choose_builds(plan) if isinstance(plan, Join) else plan


def _flatten(plan: Plan, leaves: list[Plan], preds: list[Expr]) -> None:
    if isinstance(plan, Join) and plan.kind in ("inner", "cross"):
        _flatten(plan.left, leaves, preds)
        _flatten(plan.right, leaves, preds)
        preds += [Call("eq", (a, b), _BOOL) for a, b in zip(plan.left_keys, plan.right_keys,
                                                           strict=True)]
        preds += conjuncts(plan.condition)
        return
    leaves.append(plan)


def _rebuild(leaves: list[Plan], preds: list[Expr]) -> Plan:
    rels = [_Rel(p, names(p), estimate(p)) for p in leaves]
    preds = list(preds)
    start = max(rels, key=lambda r: r.rows)
    _fold_dimensions(rels, preds, start)
    current, cols, rows = start.plan, set(start.cols), start.rows
    rest = [r for r in rels if r is not start]
    while rest:
        best = None
        for r in rest:
            lk, rk, _ = split_keys([p for p in preds if p.columns() <= cols | r.cols],
                                   cols, r.cols)
            if not lk:
                continue
            est = _join_estimate(current, rows, r.plan, r.rows, lk, rk)
            if best is None or (est, r.rows) < (best[0], best[1].rows):
                best = (est, r)
        if best is None:  # only a cross product is left: the smallest input first
            r = min(rest, key=lambda r: r.rows)
            best = (rows * r.rows, r)
        est, r = best
        current, preds = _join(current, r.plan, cols, r.cols, preds)
        cols |= r.cols
        rows = est
        rest.remove(r)
    if preds:  # e.g. conditions with no columns
        current = Filter(current, conjoin(preds))
    return current


def _join(left: Plan, right: Plan, lcols: set[str], rcols: set[str], preds: list[Expr]):
    here = [p for p in preds if p.columns() <= lcols | rcols]
    rest = [p for p in preds if p not in here]
    lk, rk, other = split_keys(here, lcols, rcols)
    j = Join(left, right, "inner" if lk else "cross", lk, rk, conjoin(other))
    return j, rest


def _fold_dimensions(rels: list[_Rel], preds: list[Expr], start: _Rel) -> None:
    """Join a filtered input that hangs off exactly one other input by its own unique key
    into that input first (repeatedly: region -> nation -> supplier)."""
    changed = True
    while changed and len(rels) > 2:
        changed = False
        for d in list(rels):
            if d is start or not _filtered(d):
                continue
            nbrs = [r for r in rels if r is not d and _connected(d, r, preds)]
            if len(nbrs) != 1 or nbrs[0] is start:
                continue
            n = nbrs[0]
            _lk, rk, _ = split_keys([p for p in preds if p.columns() <= n.cols | d.cols],
                                   n.cols, d.cols)
            if not any(likely_unique(d.plan, k) for k in rk):
                continue
            plan, rest = _join(n.plan, d.plan, n.cols, d.cols, preds)
            preds[:] = rest
            sel = min(d.rows / max(base_rows(d.plan), 1.0), 1.0)
            merged = _Rel(plan, n.cols | d.cols, n.rows * sel)
            rels[rels.index(n)] = merged
            rels.remove(d)
            changed = True
            break


def _filtered(r: _Rel) -> bool:
    return r.rows < base_rows(r.plan) * 0.99


def _connected(a: _Rel, b: _Rel, preds: list[Expr]) -> bool:
    """Whether an equality joins ``a`` and ``b`` (other conditions do not count: they
    filter pairs after some join has found them)."""
    lk, _, _ = split_keys([p for p in preds if p.columns() <= a.cols | b.cols], a.cols, b.cols)
    return bool(lk)


def _sink_semi(j: Join) -> Plan:
    """A semi/anti join over an inner-join cluster moves onto the input its keys come
    from, unless that input is the cluster's probe side (see the module docstring)."""
    if not isinstance(j.left, Join) or j.left.kind != "inner" or not j.left_keys or \
            j.condition is not None or j.null_aware:
        return j
    need = set().union(*(k.columns() for k in j.left_keys))
    node = j.left
    while isinstance(node, Join) and node.kind == "inner":
        if need <= names(node.right):
            node.right = Join(node.right, j.right, j.kind, j.left_keys, j.right_keys)
            return j.left
        node = node.left
    return j  # the keys are on the probe side (or span inputs): stay above


def _choose_builds(plan: Plan) -> Plan:
    """The smaller input of an inner join is built; semi, anti and left joins build their
    left (preserved) side when it is much smaller than the right, and probe it with the
    right."""
    node = plan
    while isinstance(node, (Filter, Project)):
        node = node.input
    if not isinstance(node, Join):
        return plan
    for child in (node.left, node.right):
        _choose_builds(child)
    if node.kind == "inner":
        node.build = "left" if estimate(node.left) < estimate(node.right) * 0.5 else "right"
    elif node.kind in ("semi", "anti") and not node.null_aware and node.left_keys:
        node.build = "left" if estimate(node.left) * 4 < estimate(node.right) else "right"
    elif node.kind == "left" and node.left_keys:
        # the preserved side built when much smaller: the right side streams past it
        node.build = "left" if estimate(node.left) * 4 < estimate(node.right) else "right"
    return plan



# -- aggregate before attaching dimension columns ------------------------------------------

def aggregate_first(plan: Plan) -> Plan:
    """GROUP BY a dimension's unique key and its other columns, over facts joined to it:
    the facts are aggregated by their join key first and the dimension's columns (and
    those of dimensions joined through it) are attached to the groups, not to every fact
    row (TPC-H Q10: 1.1 million revenue rows become 380,000 groups before customer's
    name, address, phone and comment are looked up, and the strings are not hashed as group
    keys). Only when the dimension joins are inner, on unique keys, filter nothing of
    note (estimated) and the aggregates read only the facts' columns."""
    for attr in ("input", "left", "right"):
        if hasattr(plan, attr):
            setattr(plan, attr, aggregate_first(getattr(plan, attr)))
    if not isinstance(plan, Aggregate) or not plan.keys or \
            any(a.fn == "count_distinct" for _, a in plan.aggs):
        return plan
    agg_cols = set().union(*(a.columns() for _, a in plan.aggs)) if plan.aggs else set()
    key_names = {e.name for _, e in plan.keys if isinstance(e, Col)}
    dims: list[Join] = []
    anchor = None
    node = plan.input
    while anchor is None:
        if isinstance(node, Project) and all(isinstance(e, Col) and e.name == n
                                             for n, e in node.exprs):
            node = node.input
        elif isinstance(node, Join) and node.kind == "inner" and node.build == "right" and \
                node.condition is None and len(node.left_keys) == 1 and \
                not agg_cols & names(node.right) and unique_key(node.right, node.right_keys[0]):
            dims.append(node)
            lk, rk = node.left_keys[0], node.right_keys[0]
            if isinstance(rk, Col) and isinstance(lk, Col) and \
                    (rk.name in key_names or lk.name in key_names):
                anchor = node  # the dimension whose unique key is a group key
            node = node.left
        else:
            return plan
    facts = node
    if not agg_cols <= names(facts):
        return plan
    dim_cols = set().union(*(names(j.right) for j in dims))
    fact_key, dim_key = anchor.left_keys[0], anchor.right_keys[0]
    if not all(isinstance(e, Col) and (e.name in dim_cols or e == fact_key)
               for _, e in plan.keys):
        return plan
    for j in dims:  # a dimension join that drops many facts: aggregate after it, as is
        if estimate(j.right) < base_rows(j.right) * 0.9:
            return plan
    group = Col(f"{dim_key.name}$g", fact_key.type)
    pre = Aggregate(facts, [(group.name, fact_key)], list(plan.aggs))
    current: Plan = pre
    for j in reversed(dims):  # bottom-up, as they were joined
        lk = [group if j is anchor else k for k in j.left_keys]
        current = Join(current, j.right, "inner", lk, list(j.right_keys), build="right")
    out = []
    for name, e in plan.keys:
        out.append((name, group if e == fact_key else e))
    out += [(name, Col(name, a.type)) for name, a in plan.aggs]
    return Project(current, out)
