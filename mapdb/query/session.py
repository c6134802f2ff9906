"""Running SQL against a database: tables are pinned for the query's duration.

The API and CLI call ``prepare`` (bind + optimize, no data touched) and ``execute``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa

from mapdb.query.binder import bind_sql
from mapdb.query.executor import Context, materialize, output
from mapdb.query.explain import render
from mapdb.query.optimizer import optimize
from mapdb.query.plan import Plan, Query
from mapdb.query.source import TableSource


@dataclass
class Prepared:
    query: Query
    plan: Plan
    sources: list

    def close(self) -> None:
        for s in self.sources:
            s.close()
        self.sources = []


def prepare(sql: str, store) -> Prepared:
    """Bind and optimize ``sql`` against a storage DatabaseStore (tables pinned)."""
    sources: dict[str, TableSource] = {}

    def catalog(name: str) -> TableSource:
        key = _resolve(store, name)
        if key not in sources:
            sources[key] = TableSource(key, store.snapshot(key))
        return sources[key]

    try:
        q = bind_sql(sql, catalog)
        plan = optimize(q.plan)
    except BaseException:
        for s in sources.values():
            s.close()
        raise
    return Prepared(q, plan, list(sources.values()))


def _resolve(store, name: str) -> str:
    if store.exists(name):
        return name
    for t in store.tables():  # SQL identifiers are case-insensitive
        if t.lower() == name.lower():
            return t
    raise KeyError(name)


def execute(p: Prepared, workers: int | None = None, fused: bool = True
            ) -> tuple[pa.Table, Context, float]:
    ctx = Context(workers, fused=fused)
    t0 = time.perf_counter()
    try:
        table = materialize(p.plan, ctx)
        out = output(table, p.plan.schema, p.query.names)
    finally:
        ctx.close()
    return out, ctx, time.perf_counter() - t0


def explain(p: Prepared, ctx: Context | None = None, seconds: float | None = None) -> str:
    text = render(p.plan, p.query.names, ctx.stats if ctx is not None else None)
    if seconds is not None:
        text += f"\nTotal: {seconds * 1000:.1f} ms, {ctx.workers} worker(s)"
    return text
