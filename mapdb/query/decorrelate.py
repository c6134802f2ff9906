"""General unnesting of correlated subqueries (Neumann and Kemper, "Unnesting Arbitrary
Queries", BTW 2015), the fallback where a correlation is not only ``inner = outer``
equalities (those stay the binder's grouped-join fast path).

A subquery whose correlation has other conditions (``g.month < f.month``, an OR, BETWEEN)
and that aggregates, groups or is used as a value cannot take them as a join condition:
the aggregate would have to be computed per outer row. Instead it is computed per
*domain* value: the distinct values of the outer columns the correlation reads. The
subquery's input is joined with a ``Domain`` (a placeholder, filled by the binder once the
outer plan is known: ``SELECT DISTINCT <outer keys> FROM <outer plan>``) on the
correlation, grouped by the domain columns as well as its own keys, and joined back to
the outer query on them, so the correlation becomes equalities. Where the correlation
lets a NULL outer value match (it is not NULL-rejecting in that column), the column is
carried as a pair (value with NULL replaced, is-NULL flag) so the join back matches NULL
with NULL (IS NOT DISTINCT FROM). An outer row whose domain value no inner row matched
gets the subquery's value over no rows (``empty_value``: COUNT 0, not NULL)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mapdb.errors import QueryError
from mapdb.query.expr import Agg, Call, Col, Expr, Lit
from mapdb.query.expr import replace as substitute
from mapdb.query.plan import Aggregate, Join, Plan, Project, copy_plan
from mapdb.query.types import BOOL, FLOAT64, INT64, SqlType

# calls that are NULL when any argument is (an outer column under them rejects NULL)
_STRICT = {"eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "intdiv", "mod",
           "neg", "cast", "like", "ilike", "not"}
_COUNTS = ("count", "count_star", "count_distinct")


class Cell:
    """What a Domain stands for, shared by the copies ``copy_plan`` makes of it."""
    plan: Plan | None = None


@dataclass(eq=False)
class Domain(Plan):
    """The distinct values of the outer keys a decorrelated subquery is computed for:
    ``SELECT DISTINCT`` over the outer plan, known once the subquery's join is applied
    (``cell``), put in its place when the statement is bound (``resolve``); a nested
    subquery's domain may copy the plan of a query whose own domain is still to come.
    ``columns``: one per key, in the join's key order (its last keys)."""
    columns: list[tuple[str, SqlType]]
    cell: Cell = dataclasses.field(default_factory=Cell)

    @property
    def schema(self):
        return list(self.columns)


def null_rejecting(conds: list[Expr], col: str) -> bool:
    """Whether the conjunction ``conds`` is never TRUE when column ``col`` is NULL."""
    def strict(e: Expr) -> bool:
        if isinstance(e, Col):
            return e.name == col
        return isinstance(e, Call) and e.op in _STRICT and any(strict(a) for a in e.args)
    return any(strict(c) for c in conds)


def sentinel(t: SqlType) -> Lit | None:
    """A value of type ``t`` to stand for NULL beside an is-NULL flag (None: no such)."""
    kind = t.kind
    if kind == "int" or kind == "date" or kind == "timestamp" or kind == "decimal":
        return Lit(0, t)
    if kind == "float":
        return Lit(0.0, t)
    if kind == "string":
        return Lit("", t)
    if kind == "bool":
        return Lit(False, t)
    return None


def empty_value(right: Plan, col: str) -> Expr | None:
    """The value a subquery ending in an aggregate without GROUP BY gives over no rows,
    as a constant expression (``count(*) + 1`` -> 1, ``sum(x)`` -> NULL): its output column
    ``col`` with each aggregate replaced by its value over no rows. None where the value
    reads anything else (it is then left NULL)."""
    node, project = right, None
    while node is not None and not isinstance(node, Aggregate):
        if isinstance(node, Project) and project is None:
            project = node
        node = node.inputs[0] if node.inputs else None
    if node is None or project is None:
        return None
    empty = {Col(n, a.type): Lit(0, a.type) if a.fn in _COUNTS else Lit(None, a.type)
             for n, a in node.aggs}
    e = dict(project.exprs).get(col)
    if e is None:
        return None
    # a Project between the top one and the aggregate would rename: only direct reads
    out = substitute(e, empty)
    if any(isinstance(x, (Col, Agg)) for x in out.walk()):
        return None
    return out


def resolve(plan: Plan, seen: set[int] | None = None) -> Plan:
    """``plan`` (a bound statement) with each Domain replaced, in place, by a copy of the
    plan it stands for."""
    seen = set() if seen is None else seen
    if id(plan) in seen:  # (a CTE's plan, shared by its readers)
        return plan
    seen.add(id(plan))
    for f in dataclasses.fields(plan):
        v = getattr(plan, f.name)
        if isinstance(v, Domain):
            if v.cell.plan is None:
                raise QueryError("a correlated subquery's outer values could not be placed "
                                 "(not supported here)")
            setattr(plan, f.name, resolve(copy_plan(v.cell.plan), seen))
        elif isinstance(v, Plan):
            resolve(v, seen)
    return plan


def is_null(e: Expr) -> Expr:
    return Call("is_null", (e,), BOOL)


# aggregate -> how its partial results merge (as query.eageragg)
_MERGE = {"sum": "sum", "count": "sum", "count_star": "sum", "min": "min", "max": "max"}
MAX_PARTIAL_KEYS = 3  # more: the partial groups are about as many as the rows


def preaggregate(plan: Plan) -> None:
    """``plan`` (a subquery's) with its aggregate over its domain join split in two, in
    place (``split``; the aggregate's list of aggregates is complete only once the
    subquery is bound)."""
    for f in dataclasses.fields(plan):
        v = getattr(plan, f.name)
        if isinstance(v, Aggregate) and isinstance(v.input, Join) and \
                isinstance(v.input.right, Domain):
            setattr(plan, f.name, split(v))
        elif isinstance(v, Plan) and not isinstance(v, Domain):
            preaggregate(v)


def split(agg: Aggregate) -> Aggregate:
    """An aggregate over the join of a subquery's rows with its domain, computed in two
    steps (eager aggregation, Yan and Larson): the rows are first aggregated by the
    columns the join reads, then joined with the domain and merged. A correlation such as
    ``g.day <= f.day`` otherwise joins every row with every domain value it passes (1M rows
    x 365 days); this joins 365 partial groups. ``agg`` itself where the aggregates do not
    merge (DISTINCT, variances) or the join reads more than a few of the rows' columns.
    AVG of numbers merges as the sum of sums over the sum of counts."""
    join = agg.input
    if not isinstance(join, Join) or join.kind not in ("inner", "cross") or \
            not isinstance(join.right, Domain) or \
            any(not (a.fn in _MERGE or _averages(a)) or a.param is not None
                for _, a in agg.aggs):
        return agg
    rows = {n for n, _ in join.left.schema}
    domain = {n for n, _ in join.right.schema}
    needed = set().union(*(k.columns() for k in join.left_keys), *(
        e.columns() - domain for _, e in agg.keys))
    if join.condition is not None:
        needed |= join.condition.columns() & rows
    if not needed <= rows or len(needed) > MAX_PARTIAL_KEYS or any(
            a.columns() - rows for _, a in agg.aggs):
        return agg
    from mapdb.query import functions as fn
    types = join.left.types()
    partial, merged, averages = [], [], {}
    for n, a in agg.aggs:
        if a.fn == "avg":
            total, count = fn.aggregate("sum", a.arg), fn.aggregate("count", a.arg)
            partial += [(f"{n}$sum", total), (f"{n}$count", count)]
            merged += [(f"{n}$sums", Agg("sum", Col(f"{n}$sum", total.type), total.type)),
                       (f"{n}$counts", Agg("sum", Col(f"{n}$count", INT64), INT64))]
            averages[n] = fn.arith("div", fn.to_float(Col(f"{n}$sums", total.type)),
                                   fn.nullif(fn.to_float(Col(f"{n}$counts", INT64)),
                                             Lit(0.0, FLOAT64)))
        else:
            partial.append((f"{n}$partial", a))
            merged.append((n, Agg(_MERGE[a.fn], Col(f"{n}$partial", a.type), a.type)))
    pre = Aggregate(join.left, [(c, Col(c, types[c])) for c in sorted(needed)], partial)
    out = Aggregate(dataclasses.replace(join, left=pre), list(agg.keys), merged)
    if not averages:
        return out
    return Project(out, [(n, Col(n, e.type)) for n, e in agg.keys] + [
        (n, averages.get(n, Col(n, a.type))) for n, a in agg.aggs])


def _averages(a: Agg) -> bool:
    """AVG of integers or doubles (a DOUBLE: the sum's quotient by the count)."""
    return a.fn == "avg" and a.arg is not None and a.type == FLOAT64 and \
        a.arg.type.kind in ("int", "float")
