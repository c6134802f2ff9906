"""Init plans: an uncorrelated scalar subquery runs once, before the statement's plan is
optimized, and its value replaces it as a typed constant.

``x > (SELECT avg(x) FROM t)`` used to be a "single" join of every row with the
subquery's one row, after the other joins: the comparison could reach neither the scan's
filter nor its zone maps nor a join filter. The binder makes such a subquery an
``InitRef`` (its plan and type) instead; ``resolve`` (``optimizer.resolve_inits``,
which ``optimize`` calls on a bound plan) optimizes and runs each one, checks it gave at
most one row (more is DuckDB's error; none is NULL), and substitutes a ``Lit`` of the
subquery's type, so the rest of the optimizer sees a literal. A subquery inside a
subquery resolves first (its own optimize call). Only the InitRefs still in the plan
run: binding may have dropped one (``FALSE AND x = (SELECT ...)``), as DuckDB's planner
drops it and never runs it.

Running at planning time means EXPLAIN runs the subquery too (it shows its plan and
value), and a cached plan holds the value: the plan cache keys a plan on the versions of
every table the statement reads, the subquery's included, so a commit plans afresh; a
statement reading views or files is never cached (query.plancache, session). Types whose
constants the engine cannot hold as a ``Lit`` (lists, structs, decimals over 18 digits)
stay single joins, as does a subquery over a recursive CTE's working table (it changes
every round).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import pyarrow as pa

from mapdb.errors import MapdbError
from mapdb.query import optimizer
from mapdb.query.expr import Expr, InitRef, Lit
from mapdb.query.plan import CTEScan, IndexAccess, Plan, RecursiveCTE, Scan, SortKey
from mapdb.query.types import QueryError, SqlType

_NODES = (Plan, Expr, SortKey, IndexAccess)


@dataclass
class Init:
    """One resolved init plan, for EXPLAIN: its name, optimized plan, value, and what its
    run did (its operators' stats, for EXPLAIN ANALYZE)."""
    key: str
    plan: Plan
    value: Lit
    stats: dict
    seconds: float


def eligible(plan: Plan, t: SqlType) -> bool:
    """Whether a subquery of this plan and type can run as an init plan."""
    if t.nested or t.wide:
        return False
    todo = [plan]
    while todo:
        p = todo.pop()
        if isinstance(p, Scan) and type(p.source).__name__ == "WorkSource":
            return False
        todo.extend(p.inputs)
        if isinstance(p, CTEScan):
            todo.append(p.cte)
        if isinstance(p, RecursiveCTE):
            todo.extend((p.anchor, p.step))
    return True


def _fields(obj) -> list[str]:
    return [f.name for f in dataclasses.fields(obj) if f.init and f.name != "source"]


def find(plan: Plan) -> dict[str, InitRef]:
    """The InitRefs of ``plan`` by key (not those inside another InitRef's plan: that
    plan's own optimize resolves them)."""
    found: dict[str, InitRef] = {}
    seen: set[int] = set()

    def visit(obj) -> None:
        if isinstance(obj, InitRef):
            found.setdefault(obj.key, obj)
        elif isinstance(obj, _NODES) and dataclasses.is_dataclass(obj):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            for f in _fields(obj):
                visit(getattr(obj, f))
        elif isinstance(obj, list | tuple):
            for x in obj:
                visit(x)
        elif isinstance(obj, dict):
            for x in obj.values():
                visit(x)

    visit(plan)
    return found


def substitute(plan: Plan, values: dict[str, Lit]) -> None:
    """Each InitRef of ``plan`` becomes its value, in place (the bound plan is the
    optimizer's to rewrite; a CTE's plan shared by its readers is rewritten once)."""
    seen: set[int] = set()

    def expr(e):
        if isinstance(e, InitRef):
            return values[e.key]
        if isinstance(e, Expr) and dataclasses.is_dataclass(e):
            changes = {}
            for f in _fields(e):
                v = getattr(e, f)
                nv = value(v)
                if nv is not v:
                    changes[f] = nv
            return dataclasses.replace(e, **changes) if changes else e
        return e

    def value(v):
        if isinstance(v, Plan):
            node(v)
            return v
        if isinstance(v, Expr | SortKey | IndexAccess):
            if isinstance(v, Expr):
                return expr(v)
            changes = {f: value(getattr(v, f)) for f in _fields(v)}
            if all(changes[f] is getattr(v, f) for f in changes):
                return v
            return dataclasses.replace(v, **changes)
        if isinstance(v, list):
            out = [value(x) for x in v]
            return v if all(a is b for a, b in zip(out, v, strict=True)) else out
        if isinstance(v, tuple):
            out = tuple(value(x) for x in v)
            return v if all(a is b for a, b in zip(out, v, strict=True)) else out
        if isinstance(v, dict):
            out = {k: value(x) for k, x in v.items()}
            return v if all(out[k] is v[k] for k in v) else out
        return v

    def node(p: Plan) -> None:
        if id(p) in seen:
            return
        seen.add(id(p))
        for f in _fields(p):
            v = getattr(p, f)
            nv = value(v)
            if nv is not v:
                setattr(p, f, nv)

    node(plan)


def resolve(plan: Plan) -> tuple[Plan, list[Init], dict]:
    """``plan`` with its init plans run and their values in place of their InitRefs;
    with the results of the CTEs they computed (by id of the CTE's plan, which the
    statement's CTEScans share: its execution need not compute them again)."""
    refs = find(plan)
    if not refs:
        return plan, [], {}
    inits, values, ctes = [], {}, {}
    for key, ref in refs.items():
        sub = optimizer.optimize(ref.plan, False)
        ctes.update(sub.__dict__.pop("cte_results", None) or {})
        t0 = time.perf_counter()
        value, stats = run(sub, ref.type, ctes)
        lit = Lit(value, ref.type)
        values[key] = lit
        inits.append(Init(key, sub, lit, stats, time.perf_counter() - t0))
    substitute(plan, values)
    return plan, inits, ctes


optimizer.resolve_inits = resolve


def run(plan: Plan, t: SqlType, ctes: dict) -> tuple[object, dict]:
    """The one value ``plan`` gives (its first column), as a Lit's representation: None
    for no rows; more than one row is DuckDB's error. With the run's operator stats.
    ``ctes``: CTE results known (read, and added to)."""
    from mapdb.query.executor import Context, materialize
    from mapdb.storage import guard
    ctx = Context()
    ctx.seed_ctes(ctes)
    faults = guard.events()
    try:
        table = materialize(plan, ctx)
        guard.check(faults, "a scalar subquery")  # (a file shrank: no value from zeros)
        ctes.update(ctx._ctes)
        if table.num_rows > 1:
            raise QueryError("more than one row returned by a subquery used as an "
                             "expression - scalar subqueries can only return a single row")
        if table.num_rows == 0 or t.kind == "null":
            return None, ctx.stats
        a = table.column(plan.schema[0][0]).combine_chunks()
        if isinstance(a, pa.DictionaryArray):
            a = a.dictionary.take(a.indices)
        return optimizer._rep_value(a[0], t), ctx.stats
    except (pa.ArrowException, ArithmeticError, LookupError, ValueError, UnicodeError,
            MemoryError) as e:
        if isinstance(e, MapdbError):
            raise
        raise QueryError(f"a scalar subquery failed while running: {type(e).__name__}: "
                         f"{e}") from e
    finally:
        ctx.close()
