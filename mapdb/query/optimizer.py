"""Rewrites on logical plans: constant folding, predicate and projection pushdown into the
scan, and the zone-map ranges the scan uses to skip blocks without touching their pages.

>>> import pyarrow as pa
>>> from mapdb.query.binder import bind_sql
>>> from mapdb.query.source import ArrowSource
>>> src = ArrowSource("t", pa.table({"x": [1, 2], "y": [3, 4]}))
>>> q = bind_sql("SELECT y FROM (SELECT * FROM t) WHERE x > 1", {"t": src}.__getitem__)
>>> scan = optimize(q.plan)
>>> print(scan_of(scan).columns, scan_of(scan).filter, scan_of(scan).ranges)
['x', 'y'] (x > 1) {'x': (2, None, False)}
"""

from __future__ import annotations

from mapdb.query.buildexprs import lift_build_exprs
from mapdb.query.eageragg import eager_aggregate
from mapdb.query.expr import Agg, Call, Col, Expr, Lit, conjoin, conjuncts, replace
from mapdb.query.joinorder import (
    aggregate_first,
    names,
    reduce_subqueries,
    reorder,
    split_keys,
)
from mapdb.query.outerjoins import inner_outer_joins
from mapdb.query.plan import (
    Aggregate,
    AsofJoin,
    CTEScan,
    Distinct,
    Filter,
    IndexAccess,
    Join,
    Limit,
    Plan,
    Project,
    RecursiveCTE,
    Scan,
    SetOp,
    Sort,
    TopN,
    Unnest,
    Window,
)
from mapdb.query.ranges import bound_max, bound_min, range_of
from mapdb.query.types import QueryError
from mapdb.query.unionjoin import join_through_union


def fold(e: Expr) -> Expr:
    """Evaluate a call whose arguments are all constants (errors surface at bind time)."""
    if not isinstance(e, Call) or not all(isinstance(a, Lit) for a in e.args):
        return _simplify(e)
    if e.type.kind in ("interval", "pair") or e.type.nested:
        return e  # (a pair: two aggregate arguments as one; lists and structs stay calls)
    import pyarrow as pa

    from mapdb.query.evaluate import evaluate
    try:
        out = evaluate(e, {}, 1)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        raise QueryError(f"cannot evaluate {e}: {err}") from None
    return Lit(_rep_value(out[0], e.type), e.type)


def _rep_value(s, t):
    """An Arrow scalar as the representation value a Lit holds."""
    import pyarrow as pa
    if not s.is_valid:
        return None
    if t.kind == "date":
        return s.cast(pa.int32()).as_py()
    if t.kind in ("timestamp", "time"):
        return s.cast(pa.int64()).as_py()
    if t.kind == "interval":
        v = s.as_py()
        return (v.months, v.days, v.nanoseconds // 1000)
    return s.as_py()


def _simplify(e: Expr) -> Expr:
    """Boolean identities with a constant side (TRUE AND x -> x, FALSE AND x -> FALSE),
    except where ``x`` holds an aggregate: dropping it would turn ``SELECT FALSE AND
    avg(x) > 1 FROM t`` from one row into one row per input row."""
    if isinstance(e, Call) and e.op in ("and", "or") and len(e.args) == 2:
        a, b = e.args
        for c, other in ((a, b), (b, a)):
            if any(isinstance(n, Agg) for n in other.walk()):
                continue
            if isinstance(c, Lit) and c.value is not None:
                if e.op == "and":
                    return other if c.value else c
                return c if c.value else other
    return e


# -- plan rewrites -------------------------------------------------------------------------

def resolve_inits(plan: Plan) -> tuple[Plan, list, dict]:
    """``plan`` with the init plans of its uncorrelated scalar subqueries run and their
    values in place, the init plans (for EXPLAIN) and the CTE results they computed.
    ``query.initplan`` sets this at its import (the binder imports it, so it is set
    before an InitRef exists): it runs plans, so the optimizer cannot import it."""
    return plan, [], {}


def optimize(plan: Plan, statement: bool = True) -> Plan:
    """``plan`` optimized; ``statement``: it is a whole statement's (not a part of one
    optimized on its own: a CTE's, a recursive CTE's input, an init plan's), so every
    reference to its CTEs is in it."""
    plan, inits, ctes = resolve_inits(plan)  # scalar subqueries' values, as constants
    plan = _push_filters(plan)
    if inner_outer_joins(plan):  # their filters and keys go down the sides now
        plan = _push_filters(plan)
    if statement:
        _filter_ctes(plan)  # (the references' filters are right above them now)
    _optimize_ctes(plan, set())
    plan = reduce_subqueries(plan)
    plan = reorder(plan)
    plan = join_through_union(plan)
    plan = aggregate_first(plan)
    plan = eager_aggregate(plan)
    plan = lift_build_exprs(plan)
    _prune(plan, None)
    _ranges(plan)
    _indexes(plan)
    _window_keep(plan)
    plan = top_n(plan)
    if inits:
        plan.inits = inits  # for EXPLAIN
    if ctes:
        plan.cte_results = ctes  # for the first execution (session.Prepared takes them)
    return plan


def _optimize_ctes(plan: Plan, done: set[int]) -> None:
    """Each shared CTE plan is optimized once, on its own (its readers are leaves here);
    so are a recursive CTE's anchor and step."""
    if isinstance(plan, RecursiveCTE):
        plan.anchor, plan.step = optimize(plan.anchor, False), optimize(plan.step, False)
        return
    if isinstance(plan, CTEScan):
        if id(plan.cte) not in done and not plan.cte.__dict__.get("optimized_cte"):
            done.add(id(plan.cte))
            optimized = optimize(plan.cte, False)
            _share(plan.cte, optimized)
            # (an init plan reading the CTE optimized it already: once is all it takes)
            plan.cte.optimized_cte = True
        return
    for p in plan.inputs:
        _optimize_ctes(p, done)


def _filter_ctes(plan: Plan) -> None:
    """A CTE computed once for several references computes only the rows some reference
    keeps: where every reference has a filter right above it, the OR of those filters (in
    the CTE's column names) filters the CTE's plan, and its optimization pushes that
    further down (TPC-DS q39: the two months the references compare, d_moy = 1 OR d_moy =
    2, reach date_dim's scan; the CTE aggregated all twelve). Each reference keeps its own
    filter. DuckDB pushes such OR filters into its materialized CTEs too. Not when a
    reference is elsewhere (inside another CTE, whose filters are not pushed yet), or
    when an init plan has optimized and run the CTE already. Only for a whole statement's
    plan: a part of it (another CTE's plan) does not hold every reference."""
    total: dict[int, int] = {}  # references anywhere, by CTE plan
    found: dict[int, list] = {}  # references in ``plan``: (scan, its filter or None)
    ctes: dict[int, Plan] = {}

    def count(p: Plan, seen: set[int]) -> None:
        if isinstance(p, CTEScan):
            total[id(p.cte)] = total.get(id(p.cte), 0) + 1
            ctes[id(p.cte)] = p.cte
            if id(p.cte) not in seen:
                seen.add(id(p.cte))
                count(p.cte, seen)
        if isinstance(p, RecursiveCTE):
            count(p.anchor, seen)
            count(p.step, seen)
        for c in p.inputs:
            count(c, seen)

    def visit(p: Plan, parent: Plan | None) -> None:
        if isinstance(p, CTEScan):
            found.setdefault(id(p.cte), []).append(
                (p, parent.predicate if isinstance(parent, Filter) else None))
            return
        for c in p.inputs:
            visit(c, p)

    count(plan, set())
    visit(plan, None)
    for key, refs in found.items():
        cte = ctes[key]
        if len(refs) != total[key] or len(refs) < 2 or any(f is None for _, f in refs) or \
                cte.__dict__.get("optimized_cte") or isinstance(cte, RecursiveCTE):
            continue
        parts: list[Expr] = []
        for scan, f in refs:
            types = dict(scan.schema)
            e = replace(f, {Col(out, types[out]): Col(c, types[out]) for out, c in scan.columns})
            if str(e) not in {str(x) for x in parts}:
                parts.append(e)
        import copy
        top = Filter(copy.copy(cte), disjoin(parts))  # the CTE's root, in place (CTEScans
        cte.__class__ = Filter  # hold it), becomes this filter over a copy of itself
        cte.__dict__.clear()
        cte.__dict__.update(top.__dict__)


def _share(old: Plan, new: Plan) -> None:
    """``old`` becomes ``new`` in place (every CTEScan holds the same object)."""
    if old is not new:
        old.__class__ = new.__class__
        old.__dict__.update(new.__dict__)


def scan_of(plan: Plan) -> Scan:
    while not isinstance(plan, Scan):
        plan = plan.inputs[0]
    return plan


def _push_filters(plan: Plan) -> Plan:
    for attr in ("input", "left", "right"):
        if hasattr(plan, attr):
            setattr(plan, attr, _push_filters(getattr(plan, attr)))
    if isinstance(plan, Join):
        plan = _normalize_join(plan)
    if isinstance(plan, Filter):
        preds = [q for p in conjuncts(plan.predicate) for q in factor_or(p)]
        return _push(plan.input, preds) or plan
    return plan


def disjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Call) and e.op == "or":
        return [x for a in e.args for x in disjuncts(a)]
    return [e]


def disjoin(parts: list[Expr]) -> Expr:
    out = parts[0]
    for p in parts[1:]:
        out = Call("or", (out, p), out.type)
    return out


def factor_or(p: Expr) -> list[Expr]:
    """``(a AND x) OR (a AND y)`` as [a, x OR y]: a join key repeated in every branch
    (TPC-H Q19) becomes a key instead of a cross product."""
    ds = disjuncts(p)
    if len(ds) < 2:
        return [p]
    sets = [conjuncts(d) for d in ds]
    canon = [[_commuted(c) for c in s] for s in sets]  # a = b and b = a alike
    common = [c for c, k in zip(sets[0], canon[0], strict=True)
              if all(k in s for s in canon[1:])]
    if not common:
        return [p]
    keys = [_commuted(c) for c in common]
    rest = [[c for c, k in zip(s, ks, strict=True) if k not in keys]
            for s, ks in zip(sets, canon, strict=True)]
    if any(not r for r in rest):  # a branch is just the common part: the OR is implied
        return common
    return [*common, disjoin([conjoin(r) for r in rest])]


def _commuted(e: Expr) -> Expr:
    """``e`` with the sides of an equality in one order (by their text)."""
    if isinstance(e, Call) and e.op == "eq" and len(e.args) == 2 \
            and str(e.args[1]) < str(e.args[0]):
        return Call("eq", (e.args[1], e.args[0]), e.type, e.param)
    return e


def implied(p: Expr, cols: set[str]) -> Expr | None:
    """A condition on ``cols`` alone that ``p`` (an OR) implies: the OR of each branch's
    conjuncts over ``cols``; None when a branch has none."""
    ds = disjuncts(p)
    if len(ds) < 2:
        return None
    parts = []
    for d in ds:
        mine = [c for c in conjuncts(d) if c.columns() and c.columns() <= cols]
        if not mine:
            return None
        if str(conjoin(mine)) not in {str(x) for x in parts}:  # (x OR x is x)
            parts.append(conjoin(mine))
    return disjoin(parts)


def _normalize_join(j: Join) -> Plan:
    """RIGHT joins become LEFT joins; the parts of the ON condition over one side go down
    where the join kind allows, equalities across become keys."""
    if j.kind == "right":
        j = Join(j.right, j.left, "left", j.right_keys, j.left_keys, j.condition)
    if j.kind in ("inner", "cross"):
        preds, j.condition = conjuncts(j.condition), None
        out = _push(j, preds) if preds else j
        return out
    lcols, rcols = names(j.left), names(j.right)
    keep = []
    for p in conjuncts(j.condition):
        cols = p.columns()
        if cols and cols <= rcols and j.kind in ("left", "semi", "anti", "single", "mark"):
            j.right = _push(j.right, [p]) or Filter(j.right, p)
        else:
            keep.append(p)
    lk, rk, rest = split_keys(keep, lcols, rcols)
    j.left_keys, j.right_keys = j.left_keys + lk, j.right_keys + rk
    j.condition = conjoin(rest)
    return j


def _push(target: Plan, preds: list[Expr]) -> Plan | None:
    """``target`` with ``preds`` applied as low as they can go."""
    if isinstance(target, Scan):
        target.filter = conjoin(conjuncts(target.filter) + preds)
        return target
    if isinstance(target, Filter):
        return _push(target.input, conjuncts(target.predicate) + preds) or Filter(
            target.input, conjoin(conjuncts(target.predicate) + preds))
    if isinstance(target, Project):
        mapping = {Col(n, e.type): e for n, e in target.exprs}
        inner = [replace(p, mapping) for p in preds]
        target.input = _push(target.input, inner) or Filter(target.input, conjoin(inner))
        return target
    if isinstance(target, Join):
        lcols, rcols = names(target.left), names(target.right)
        left, right, stay = [], [], []
        for p in preds:
            cols = p.columns()
            if cols and cols <= lcols and target.kind in ("inner", "cross", "left", "semi",
                                                          "anti", "single", "mark"):
                left.append(p)
            elif cols and cols <= rcols and target.kind in ("inner", "cross"):
                right.append(p)
            elif target.kind in ("inner", "cross") and cols:
                target.condition = conjoin([*conjuncts(target.condition), p])
                target.kind = "inner"
                for side, side_cols in ((left, lcols), (right, rcols)):
                    q = implied(p, side_cols)  # the OR still runs on the joined rows
                    if q is not None:
                        side.append(q)
            else:
                stay.append(p)
        if left:
            target.left = _push(target.left, left) or Filter(target.left, conjoin(left))
        if right:
            target.right = _push(target.right, right) or Filter(target.right, conjoin(right))
        return Filter(target, conjoin(stay)) if stay else target
    if isinstance(target, SetOp) and target.op == "union" and target.all:
        # each row is one branch's row: a filter goes into both (the right branch's
        # columns are the left's by position). Not through UNION, INTERSECT, EXCEPT: their
        # duplicates test keeps one of equal rows, which a filter might tell apart (-0.0)
        rename = {Col(n, t): Col(r, rt) for (n, t), (r, rt) in
                  zip(target.left.schema, target.right.schema, strict=True)}
        right = [replace(p, rename) for p in preds]
        target.left = _push(target.left, preds) or Filter(target.left, conjoin(preds))
        target.right = _push(target.right, right) or Filter(target.right, conjoin(right))
        return target
    if isinstance(target, AsofJoin):
        # each left row is matched on its own: a filter on left's columns goes below; one
        # on right's stays above (below, it would change which right row is the nearest)
        down = [p for p in preds if p.columns() and p.columns() <= names(target.left)]
        stay = [p for p in preds if p not in down]
        if down:
            target.left = _push(target.left, down) or Filter(target.left, conjoin(down))
        return Filter(target, conjoin(stay)) if stay else target
    if isinstance(target, Aggregate):
        key_names = {n for n, _ in target.keys}
        # a predicate on no column goes below a grouped aggregate (no rows, no groups),
        # never below a global one: over no rows it still gives its one row (HAVING FALSE)
        down = [p for p in preds if p.columns() <= key_names and (p.columns() or key_names)]
        up = [p for p in preds if p not in down]
        # an OR over groups and aggregates (a CTE's references' filters OR-ed, _filter_ctes:
        # q11's sale_type = 's' AND dyear = 2001 AND year_total > 0 OR ...) implies one over
        # the group keys alone (dyear = 2001 OR dyear = 2002), which goes below too
        down += [q for q in (implied(p, key_names) for p in up) if q is not None]
        if down:
            mapping = {Col(n, e.type): e for n, e in target.keys}
            inner = [replace(p, mapping) for p in down]
            target.input = _push(target.input, inner) or Filter(target.input, conjoin(inner))
        return Filter(target, conjoin(up)) if up else target
    return Filter(target, conjoin(preds))


def _prune(plan: Plan, needed: set[str] | None, counted: bool = False) -> None:
    """Scans read only the columns some operator above uses. A scan whose rows matter but
    none of whose columns do (the other side of ``SELECT count(*) FROM a, b``) keeps its
    narrowest column: its batches then carry their row count wherever they are
    materialized (an Arrow table without columns has no rows). ``counted``: the parent
    counts the rows of each batch itself (an aggregate or projection over the scan), so
    no column is needed."""
    if isinstance(plan, Scan):
        use = set(plan.columns) if needed is None else set(needed)
        if plan.filter is not None:
            use |= plan.filter.columns()
        if not use and plan.columns and not counted:
            t = plan.source.types()
            use = {min(plan.columns, key=lambda c: _width(t[c]))}
        plan.columns = [c for c in plan.columns if c in use]
        if needed is not None and plan.filter is not None:
            hidden = frozenset(plan.filter.columns() - set(needed))
            if len(hidden) < len(plan.columns):  # a scan outputs at least one column
                plan.hidden = hidden
        return
    if isinstance(plan, Project):
        if needed is not None:
            plan.exprs = [(n, e) for n, e in plan.exprs if n in needed] or plan.exprs[:1]
        _prune(plan.input, set().union(*(e.columns() for _, e in plan.exprs)), True)
    elif isinstance(plan, Aggregate):
        cols = set()
        for _, e in plan.keys:
            cols |= e.columns()
        for _, a in plan.aggs:
            cols |= a.columns()
        _prune(plan.input, cols, True)
    elif isinstance(plan, Filter):
        _prune(plan.input, (needed if needed is not None else {n for n, _ in plan.schema})
               | plan.predicate.columns())
    elif isinstance(plan, Sort):
        cols = set(needed) if needed is not None else {n for n, _ in plan.schema}
        for k in plan.keys:
            cols |= k.expr.columns()
        _prune(plan.input, cols)
    elif isinstance(plan, Distinct):
        _prune(plan.input, {n for n, _ in plan.input.schema})
    elif isinstance(plan, Unnest):
        _prune(plan.input, (set(needed) if needed is not None else
                            {n for n, _ in plan.schema}) | set(plan.columns))
    elif isinstance(plan, Limit):
        _prune(plan.input, needed)
    elif isinstance(plan, Join | AsofJoin):
        cols = set(needed) if needed is not None else {n for n, _ in plan.schema}
        for k in plan.left_keys + plan.right_keys:
            cols |= k.columns()
        if plan.condition is not None:
            cols |= plan.condition.columns()
        for side in ("left", "right"):
            child = getattr(plan, side)
            want = cols & names(child)
            _prune(child, want)
            extra = [n for n, _ in child.schema if n not in want]
            if extra and want:  # e.g. a column only the scan's filter reads: not carried
                setattr(plan, side, Project(child, [(n, Col(n, t)) for n, t in child.schema
                                                    if n in want]))
    elif isinstance(plan, SetOp):
        keep = list(range(len(plan.left.schema)))
        if needed is not None and plan.op == "union" and plan.all:
            # UNION ALL matches columns by position: both sides drop the same ones (a
            # set operation that compares rows needs them all)
            keep = [i for i, (n, _) in enumerate(plan.left.schema) if n in needed] or [0]
        for side in ("left", "right"):
            child = getattr(plan, side)
            if len(keep) < len(child.schema):
                cols = [child.schema[i] for i in keep]
                child = Project(child, [(n, Col(n, t)) for n, t in cols])
                setattr(plan, side, child)
            _prune(child, None)
    elif isinstance(plan, Window):
        cols = set(needed) if needed is not None else {n for n, _ in plan.schema}
        for _, f in plan.funcs:
            cols |= f.columns()
        _prune(plan.input, cols & names(plan.input))


KEEP_MAX = 64  # row_number() <= k above this: the whole sort (the rounds cost k passes)


def _window_keep(plan: Plan) -> None:
    """Mark a Window of one row_number() under a Filter that keeps ``rn <= k`` (or
    ``rn < k``, a conjunct): only each partition's first k rows matter (``Window.keep``).
    The h2o benchmark's "largest two v3 by id6" is this shape."""
    for p in plan.inputs:
        _window_keep(p)
    if not isinstance(plan, Filter) or not isinstance(plan.input, Window) or \
            len(plan.input.funcs) != 1:
        return
    name, f = plan.input.funcs[0]
    if f.fn != "row_number" or not f.order:
        return
    for c in conjuncts(plan.predicate):
        if isinstance(c, Call) and c.op in ("le", "lt") and len(c.args) == 2:
            a, b = c.args
            while isinstance(b, Call) and b.op == "cast" and len(b.args) == 1:
                b = b.args[0]
            if isinstance(a, Col) and a.name == name and isinstance(b, Lit) and \
                    type(b.value) is int:
                k = b.value - (c.op == "lt")
                if 1 <= k <= KEEP_MAX:
                    plan.input.keep = k
                    return


def _width(t) -> tuple:
    """How costly a column of type ``t`` is to read (for the column a scan keeps)."""
    import pyarrow as pa
    fixed = t.arrow is not None and pa.types.is_primitive(t.arrow)
    return (not fixed, t.arrow.bit_width if fixed else 0)


def _ranges(plan: Plan) -> None:
    for p in plan.inputs:
        _ranges(p)
    if isinstance(plan, Scan) and plan.filter is not None:
        ranges: dict = {}
        for p in conjuncts(plan.filter):
            r = range_of(p)
            if r is None or r[0] not in plan.source.types():
                continue
            name, lo, hi, is_float = r
            plo, phi, _ = ranges.get(name, (None, None, is_float))
            ranges[name] = (bound_max(lo, plo), bound_min(hi, phi), is_float)
        plan.ranges = ranges  # float ranges that admit NaN: see TableSource._prune


MAX_INDEX_KEYS = 4096  # more keys than this: a scan is cheaper than probing


def _indexes(plan: Plan) -> None:
    """Scans whose filter has an equality or IN on a hash-indexed column probe the index
    (fewest keys first); otherwise a range on a sorted column is binary-searched."""
    for p in plan.inputs:
        _indexes(p)
    if not isinstance(plan, Scan) or plan.filter is None:
        return
    index_of = getattr(plan.source, "index_on", None)
    if index_of is None:
        return
    best = None
    preds = conjuncts(plan.filter)
    for i, p in enumerate(preds):
        keyed = _keys_of(p)
        if keyed is None or keyed[0] not in plan.source.types():
            continue
        col, keys = keyed
        ix = index_of(col, "hash")
        if ix is not None and len(keys) <= MAX_INDEX_KEYS and \
                (best is None or len(keys) < len(best.keys)):
            # the probe confirms each row's value: the conjunct it answers is not re-run
            best = IndexAccess("hash", col, ix.name, tuple(keys), unique=ix.unique,
                               residual=conjoin(preds[:i] + preds[i + 1:]))
    if best is None:
        for col, (lo, hi, _) in plan.ranges.items():
            ix = index_of(col, "sorted")
            if ix is not None:
                best = IndexAccess("sorted", col, ix.name, lo=lo, hi=hi)
                break
    plan.index = best


def _keys_of(p: Expr) -> tuple[str, list] | None:
    """``col = constant``, ``col IN (constants)`` or an OR of those on one column as
    (column, keys on the stored scale); NULL keys never match and are left out."""
    if isinstance(p, Call) and p.op == "or" and len(p.args) == 2:
        a, b = _keys_of(p.args[0]), _keys_of(p.args[1])
        if a is None or b is None or a[0] != b[0]:
            return None
        return a[0], a[1] + [k for k in b[1] if k not in a[1]]
    if isinstance(p, Call) and p.op == "in" and isinstance(p.args[0], Col):
        col = p.args[0]
        if col.type.kind in ("int", "decimal", "date", "string"):
            return col.name, [v for v in p.param if v is not None]
        return None
    if not (isinstance(p, Call) and p.op == "eq" and len(p.args) == 2):
        return None
    a, b = p.args
    if isinstance(a, Lit):
        a, b = b, a
    if not isinstance(b, Lit) or b.value is None:
        return None
    if isinstance(a, Col) and a.type.kind in ("string", "binary") and \
            isinstance(b.value, (str, bytes)):
        return a.name, [b.value]
    r = range_of(p)
    # floats (-0.0, NaN) and timestamps (units) are left to the scan
    if r is None or r[3] or r[0] is None or a.type.kind == "timestamp":
        return None
    name, lo, hi, _ = r
    return name, ([lo] if lo == hi else [])


TOPN_MAX = 10_000  # ORDER BY ... LIMIT with limit + offset above this: the general sort


def top_n(plan: Plan) -> Plan:
    """``plan`` with every Limit over a Sort (limit + offset <= TOPN_MAX) as a TopN. A
    CTE's plan is left alone (the optimizer optimizes it on its own)."""
    for attr in ("input", "left", "right"):
        child = getattr(plan, attr, None)
        if isinstance(child, Plan):
            setattr(plan, attr, top_n(child))
    if isinstance(plan, Limit) and isinstance(plan.input, Sort) and plan.limit is not None \
            and plan.offset + plan.limit <= TOPN_MAX:
        return TopN(plan.input.input, list(plan.input.keys), plan.limit, plan.offset)
    return plan
