"""Running SQL against a database: tables are pinned for the query's duration.

The API and CLI call ``prepare`` (bind + optimize; no data touched but by the init plans
of uncorrelated scalar subqueries, query.initplan) and ``execute``.
"""

from __future__ import annotations

import atexit
import threading
import time
from dataclasses import dataclass, field

import pyarrow as pa

from mapdb.errors import MapdbError, TruncatedFileError
from mapdb.query.binder import bind_sql
from mapdb.query.executor import Context, materialize, output, produce, streamed
from mapdb.query.explain import render
from mapdb.query.memory import format_size
from mapdb.query.optimizer import optimize
from mapdb.query.params import Binding, Statements, Template, signature, values_for
from mapdb.query.parsecache import ParseCache, normalize
from mapdb.query.plan import CTEScan, Plan, Query, Scan
from mapdb.query.plancache import MAX_TEXT, PlanCache
from mapdb.query.points import PointTemplates
from mapdb.query.resolve import database_name, resolve
from mapdb.query.source import TableSource
from mapdb.query.types import QueryError
from mapdb.storage import guard


@dataclass
class Prepared:
    query: Query
    plan: Plan
    sources: list
    # CTE results an init plan computed while planning (query.initplan), for this
    # statement's first execution: taken off the plan, so a cached plan holds no rows
    handoff: dict | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.handoff is None:
            self.handoff = self.plan.__dict__.pop("cte_results", None)

    def context(self, workers: int | None, fused: bool, memory_limit: int | None = None,
                spill_dir: str | None = None) -> Context:
        """A Context for one execution (the first gets the handoff)."""
        ctx = Context(workers, fused=fused, memory_limit=memory_limit, spill_dir=spill_dir)
        handoff, self.handoff = self.handoff, None
        if handoff:
            ctx.seed_ctes(handoff)
        return ctx

    def close(self) -> None:
        for s in self.sources:
            s.close()
        self.sources = []

    def tables(self) -> list[str]:
        """Names of the stored tables the statement reads."""
        return list(dict.fromkeys(s.name for s in _sources_of(self.plan)))


class SourceCache:
    """The sources of a database's tables, kept open between queries while their version
    is current: a warm query then reuses the mappings (no page-table rebuild, one minor
    fault per page otherwise) and the zone maps, dictionaries and physical views already
    read. A newer committed version replaces the cached one; the old snapshot's pin is
    released when the last query using it lets go of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, tuple[tuple, TableSource]] = {}

    def get(self, store, name: str) -> TableSource:
        ident = store.latest_version(name)
        with self._lock:
            cached = self._sources.get(name)
            if cached is not None and ident is not None and cached[0] == ident and \
                    not cached[1].damaged:  # a file shrank under it: map afresh
                return cached[1]
        source = TableSource(name, store.snapshot(name, ident[0] if ident else None))
        with self._lock:
            old = self._sources.get(name)
            self._sources[name] = (ident, source)
        if old is not None:
            PLANS.forget(old[1])  # plans over the old version must not keep it open
        return source

    def close(self) -> None:
        """Release every cached version (pins and file descriptors; arrays already handed
        out keep their own mappings)."""
        with self._lock:
            sources, self._sources = list(self._sources.values()), {}
        for _, source in sources:
            PLANS.forget(source)
            source.close()


PARSES = ParseCache()  # statement templates shared by every database in the process
POINTS = PointTemplates()  # planned point selects by template (see points.py)
PLANS = PlanCache()  # optimized plans by statement text (see plancache.py); bound plans
#                      of statements with parameters by (text, parameter types)
STATEMENTS = Statements()  # the parameter keys of statements with placeholders
atexit.register(PLANS.clear)  # its plans' sources close before the interpreter tears down


class _Catalog:
    """The tables a statement binds, by name: shared sources from ``cache`` (else opened
    here and ``owned``: closed with the result); views and virtual tables are noted in
    ``dynamic`` (they change without a version: such plans are never cached)."""

    def __init__(self, store, cache: SourceCache | None):
        self.store, self.cache = store, cache
        self.database = database_name(store)  # <database>.main.t (Binder.table_ref)
        self.sources: dict[str, TableSource] = {}
        self.owned: list[TableSource] = []
        self.dynamic: list = []

    def __call__(self, name: str) -> TableSource:
        key = resolve(self.store, name)
        if not isinstance(key, str):  # a view or an information_schema table
            self.dynamic.append(key)
            return key
        if key not in self.sources:
            if self.cache is not None:
                self.sources[key] = self.cache.get(self.store, key)
            else:
                self.sources[key] = TableSource(key, self.store.snapshot(key))
                self.owned.append(self.sources[key])
        return self.sources[key]


    def open_file(self, ref):
        """A file read as a table (query.files): its contents change without a version,
        so the plan is never cached."""
        from mapdb.query.files import open_file
        source = open_file(ref)
        self.dynamic.append(source)
        return source


def prepare(sql: str, store, cache: SourceCache | None = None, params=None) -> Prepared:
    """Bind and optimize ``sql`` against a storage DatabaseStore (tables pinned). With a
    ``cache``, sources are shared with other queries and not closed by this one.
    ``params``: the values of the statement's placeholders (a sequence or a dict, see
    query.params); a statement run again with other values of the same types reuses its
    bound plan when binding kept every parameter a Param."""
    if params is not None:
        return _prepare_params(sql, store, cache, params)
    keep = cache is not None and not _volatile(sql)
    norm = normalize(sql) if keep else None
    if norm is not None:
        fast = _point(norm, store, cache)
        if fast is not None:
            return fast
    if keep:
        hit = PLANS.get(sql, lambda table: cache.get(store, table)
                        if store.latest_version(table) is not None else None)
        if hit is not None:
            return Prepared(hit[0], hit[1], [])
    catalog = _Catalog(store, cache)
    sources, owned, dynamic = catalog.sources, catalog.owned, catalog.dynamic

    try:
        q = bind_sql(sql, catalog, PARSES)
        plan = optimize(q.plan)
    except BaseException:
        for s in owned:
            s.close()
        raise
    if norm is not None and not dynamic:
        POINTS.learn(norm[0], norm[2], q, plan)
    if keep and not dynamic:
        PLANS.put(sql, q, plan, sources)
    return Prepared(q, plan, owned)


def _volatile(sql: str) -> bool:
    """Whether a plan of ``sql`` may hold a constant that is not the text's:
    current_setting() binds to the connection's setting of the moment."""
    return "current_setting" in sql.lower()


def _prepare_params(sql: str, store, cache: SourceCache | None, values) -> Prepared:
    if cache is not None and _volatile(sql):
        cache = None  # (its sources are then the statement's own, closed with it)
    keys = STATEMENTS.keys(sql) if cache is not None else None
    current = (lambda table: cache.get(store, table)  # noqa: E731
               if store.latest_version(table) is not None else None)
    try:
        bound = values_for(keys, values) if keys is not None else None
    except QueryError:
        bound = None  # bound below, for the error with its position
    if bound is not None:
        hit = PLANS.get(("params", sql, signature(bound)), current)
        if hit is not None:
            template = hit[0]
            plan = optimize(template.substitute(bound))
            STATEMENTS.reused += 1
            return Prepared(Query(plan, list(template.names), template.explain), plan, [])
    catalog = _Catalog(store, cache)
    sources, owned, dynamic = catalog.sources, catalog.owned, catalog.dynamic

    binding = Binding(values)
    try:
        q = bind_sql(sql, catalog, PARSES, binding)
        template = None
        if cache is not None and len(sql) <= MAX_TEXT:
            template = Template.of(q.plan, list(q.names), q.explain)
            if template.keys == set(binding.keys):  # no parameter was folded away
                # a copy to keep: the optimizer rewrites q.plan in place
                template = Template.of(template.substitute(binding.bound), template.names,
                                       template.explain)
            else:
                template = None
        plan = optimize(q.plan)
    except BaseException:
        for s in owned:
            s.close()
        raise
    if cache is not None:
        STATEMENTS.learn(sql, binding.keys)
        if template is not None and not dynamic:
            PLANS.put(("params", sql, signature(binding.bound)), template, template.plan,
                      sources)
    return Prepared(q, plan, owned)


def prepare_over(sql: str, sources: dict[str, object]) -> Prepared:
    """Bind and optimize ``sql`` against the given sources (table name -> Source, e.g. a
    RowRangeSource over part of a table version, or an ArrowSource), instead of a
    database's current tables. Names match case-insensitively as in ``prepare``. The
    caller owns the sources: closing the Prepared does not close them."""
    lower = {k.lower(): v for k, v in sources.items()}

    def catalog(name: str):
        if name in sources:
            return sources[name]
        if name.lower() in lower:
            return lower[name.lower()]
        raise KeyError(name)

    q = bind_sql(sql, catalog, PARSES)
    return Prepared(q, optimize(q.plan), [])


def _point(norm, store, cache: SourceCache) -> Prepared | None:
    """A planned point select of this template, for the table's current version."""
    key, _, lits = norm
    t = POINTS.get(key)
    if t is None:
        return None
    source = cache.get(store, t.table) if store.latest_version(t.table) is not None else None
    if source is None or t.source_ref() is not source:
        POINTS.drop(key)  # another version (or the table is gone): plan afresh
        return None
    q, plan = t.plan(source, lits[0][1])
    POINTS.hits += 1
    return Prepared(q, plan, [])


def execute(p: Prepared, workers: int | None = None, fused: bool = True,
            memory_limit: int | None = None, spill_dir: str | None = None
            ) -> tuple[pa.Table, Context, float]:
    ctx = p.context(workers, fused, memory_limit, spill_dir)
    t0 = time.perf_counter()
    faults = guard.events()
    try:
        table = materialize(p.plan, ctx)
        out = output(table, p.plan.schema, p.query.names)
    except (pa.ArrowException, ArithmeticError, LookupError, ValueError, UnicodeError,
            MemoryError) as e:
        if isinstance(e, MapdbError):
            raise
        # nothing but mapdb errors leaves a statement: say what failed, keep the cause
        raise QueryError(f"the query failed while running: {type(e).__name__}: {e}") from e
    finally:
        ctx.close()
        try:
            guard.check(faults, "the query")
        except TruncatedFileError:
            for source in _sources_of(p.plan):
                source.damaged = True  # unusable from now on; the cache maps afresh
            raise
    return out, ctx, time.perf_counter() - t0


def streams(p: Prepared) -> bool:
    """Whether a Stream of ``p`` computes its rows as they are read (see
    executor.streamed); else a Stream would compute the whole result at the first read."""
    return streamed(p.plan)


class Stream:
    """One execution of a prepared statement whose result is read batch by batch
    (``next()`` gives Arrow record batches in the output types, never empty ones). A plan
    that ends in a pipeline over a scan computes its morsels as they are read (see
    executor.produce); others are computed whole at the first read. Each batch is handed
    out only after checking that no mapped file shrank while it was read. ``close()``
    (or reading to the end) ends the execution: its threads, the guard check, and the
    statement's own table versions (``close_prepared``)."""

    def __init__(self, p: Prepared, workers: int | None = None, fused: bool = True,
                 close_prepared: bool = True, memory_limit: int | None = None,
                 spill_dir: str | None = None):
        self.prepared = p
        self.ctx = p.context(workers, fused, memory_limit, spill_dir)
        self.seconds: float | None = None  # set when the execution ends
        self.schema: pa.Schema | None = None  # the output's, known at the first piece
        self.done = False
        self._close_prepared = close_prepared
        self._started = False
        self._gen = self._run()

    def __iter__(self):
        return self

    def __next__(self) -> pa.RecordBatch:
        return next(self._gen)

    def _run(self):
        self._started = True
        p, ctx = self.prepared, self.ctx
        t0 = time.perf_counter()
        faults = guard.events()
        abandoned = False  # closed by the reader before the end: nothing to report to
        try:
            try:
                for piece in produce(p.plan, ctx, release=True):
                    out = output(piece, p.plan.schema, p.query.names)
                    self._check(faults)
                    if self.schema is None:
                        self.schema = out.schema
                    elif out.schema != self.schema:
                        out = out.cast(self.schema)
                    for batch in out.to_batches():
                        if batch.num_rows:
                            yield batch
            except (pa.ArrowException, ArithmeticError, LookupError, ValueError,
                    UnicodeError, MemoryError) as e:
                if isinstance(e, MapdbError):
                    raise
                raise QueryError(f"the query failed while running: {type(e).__name__}: "
                                 f"{e}") from e
        except GeneratorExit:
            abandoned = True
            raise
        finally:
            self.done = True
            ctx.close()
            self.seconds = time.perf_counter() - t0
            try:
                self._check(faults)
            except TruncatedFileError:
                if not abandoned:  # (the sources are marked damaged either way)
                    raise
            finally:
                if self._close_prepared:
                    p.close()

    def _check(self, faults: int) -> None:
        try:
            guard.check(faults, "the query")
        except TruncatedFileError:
            for source in _sources_of(self.prepared.plan):
                source.damaged = True  # unusable from now on; the cache maps afresh
            raise

    def close(self) -> None:
        if self._started:
            self._gen.close()
        elif not self.done:  # never read: nothing ran, only the tables to let go of
            self.done = True
            self._gen.close()
            if self._close_prepared:
                self.prepared.close()


def _sources_of(plan: Plan) -> list[TableSource]:
    out, todo = [], [plan]
    while todo:
        node = todo.pop()
        if isinstance(node, Scan) and isinstance(node.source, TableSource):
            out.append(node.source)
        todo.extend(node.inputs)
        if isinstance(node, CTEScan):
            todo.append(node.cte)
    return out


def explain(p: Prepared, ctx: Context | None = None, seconds: float | None = None) -> str:
    text = render(p.plan, p.query.names, ctx.stats if ctx is not None else None)
    if seconds is not None:
        text += f"\nTotal: {seconds * 1000:.1f} ms, {ctx.workers} worker(s)"
        text += (f", peak memory reserved {format_size(ctx.memory.peak)} of memory_limit "
                 f"{format_size(ctx.memory.limit)}")
    return text
