"""Run a logical plan: morsel-parallel pipelines, Arrow tables out.

A *pipeline* is a scan followed by filters and projections, ending in a sink (a partial
aggregate, a top-N, or plain collection). Its morsels run on a thread pool, one worker per
core by default; every step of a morsel releases the GIL (Arrow kernels, or the fused
Cython kernels of ``mapdb.query.fused`` for the common filter+aggregate shapes). Pipeline
breakers (aggregate, sort, distinct) merge the partial results; what sits above them works
on the (small) merged table.

>>> import pyarrow as pa
>>> from mapdb.query.binder import bind_sql
>>> from mapdb.query.source import ArrowSource
>>> src = ArrowSource("t", pa.table({"k": ["a", "b", "a"], "v": [1, 2, 3]}))
>>> q = bind_sql("SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k", {"t": src}.__getitem__)
>>> run(q).to_pydict()
{'k': ['a', 'b'], 's': [4, 2]}
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from dataclasses import replace as replace_plan

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.query import (
    arrayagg,
    asofjoin,
    exact,
    fused,
    intervals,
    packedkeys,
    physical,
    spill,
    topn,
    variance,
)
from mapdb.query import catalog as functions_catalog
from mapdb.query.catalog import aggregate as aggregate_functions
from mapdb.query.evaluate import (
    canonical_float,
    combine_dictionary,
    decode,
    evaluate,
    float_key,
    from_float_key,
    to_decimal128,
)
from mapdb.query.expr import Agg, Call, Col, Expr, Lit, conjoin, replace
from mapdb.query.groupkeys import StringCodes, string_keys
from mapdb.query.hashjoin import Builds, MarkSink, full_outer, probe
from mapdb.query.markjoin import mark
from mapdb.query.memory import Reservation, Tracker, format_size
from mapdb.query.morsels import dropping, plan_morsels
from mapdb.query.optimizer import optimize
from mapdb.query.pipelines import pipeline as _pipeline
from mapdb.query.pipelines import streams as _streams
from mapdb.query.plan import (
    Aggregate,
    CTEScan,
    Distinct,
    Filter,
    Join,
    Limit,
    Plan,
    Project,
    Query,
    RecursiveCTE,
    Scan,
    SetOp,
    Sort,
    TopN,
    Unnest,
    Window,
)
from mapdb.query.source import Morsel
from mapdb.query.types import BOOL, QueryError, SqlType

Batch = dict[str, pa.Array]
JOINED_MORSEL_ROWS = 1 << 21  # morsel rows of a scan whose rows flow into joins


def default_workers() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class OpStats:
    """What EXPLAIN ANALYZE reports for one operator."""
    rows: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, rows: int, seconds: float) -> None:
        with self.lock:
            self.rows += rows
            self.seconds += seconds


class Context:
    """One execution: its thread pool, the statistics of every operator, and the memory
    its operators hold against ``memory_limit`` (bytes; None: the default, see
    query.memory), spilling to ``spill_dir`` (None: no spilling)."""

    def __init__(self, workers: int | None = None, fused: bool = True,
                 memory_limit: int | None = None, spill_dir: str | None = None):
        self.workers = workers or default_workers()
        self.fused = fused
        self.stats: dict[int, OpStats] = {}
        self._pool: ThreadPoolExecutor | None = None
        self.memory = Tracker(memory_limit, spill_dir)
        self.builds = Builds(self.memory)  # hash tables of the joins, built once each
        self._ctes: dict[int, pa.Table] = {}  # shared CTE results, computed once each
        self._sorted: dict[tuple, tuple] = {}  # see sorted_rows

    def cte(self, plan: Plan, compute: Callable[[], pa.Table]) -> pa.Table:
        """The result of a CTE read more than once (computed at its first reader, always
        in the thread that runs the plan, so no two threads race for it)."""
        if id(plan) not in self._ctes:  # held until the execution ends
            self._ctes[id(plan)] = compute(self.memory.reservation("CTE materialization"))
        return self._ctes[id(plan)]

    def seed_ctes(self, results: dict[int, pa.Table]) -> None:
        """CTE results computed already (by init plans while planning: query.initplan)."""
        self._ctes.update(results)

    def op(self, plan: Plan) -> OpStats:
        return self.stats.setdefault(id(plan), OpStats())

    def sorted_rows(self, source, column: str, keys: np.ndarray) -> list[np.ndarray]:
        """``source.sorted_key_rows(column, keys)``, once per execution for equal keys (Q2
        looks up the same parts' rows for its query and its subquery)."""
        memo = (id(source), column, len(keys), hash(keys.tobytes()))
        hit = self._sorted.get(memo)
        if hit is None or not np.array_equal(hit[0], keys):
            hit = (keys, source.sorted_key_rows(column, keys))
            self._sorted[memo] = hit
        return hit[1]

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mapdb-query")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def run(query: Query, ctx: Context | None = None) -> pa.Table:
    """Execute ``query``; columns carry the names users asked for."""
    own = ctx is None
    ctx = ctx or Context()
    try:
        plan = optimize(query.plan)
        ctx.seed_ctes(plan.__dict__.pop("cte_results", None) or {})  # (query.initplan)
        table = materialize(plan, ctx)
        return output(table, plan.schema, query.names)
    finally:
        if own:
            ctx.close()


def output(table: pa.Table, schema: list[tuple[str, SqlType]], names: list[str]) -> pa.Table:
    """Internal representation -> the Arrow types users see."""
    cols = []
    large_string = pa.large_string()
    for name, t in schema:
        a = table.column(name)
        if a.num_chunks == 1:  # one array: the per-chunk wrappers cost more than the work
            a = a.chunk(0)
        a = decode(a)
        if t.kind == "decimal" and not t.wide:
            a = to_decimal128(a, t.scale, t.precision)
        elif t.kind == "decimal":  # (decimal128(38, s) inside: DuckDB's precision out)
            a = a.cast(t.output_type)
        elif t.kind == "string" and a.type != large_string:
            a = a.cast(pa.large_string())
        elif t.kind == "null":
            a = pa.nulls(len(a), pa.null())
        cols.append(a)
    return pa.Table.from_arrays(cols, names=list(names)) if cols else pa.table({})


# -- materializing operators ------------------------------------------------------------

def materialize(plan: Plan, ctx: Context, res: Reservation | None = None) -> pa.Table:
    """The whole result of ``plan`` as one Arrow table (internal names). ``res``: the
    consumer's reservation, charged with the rows it will hold (as they arrive when
    ``plan`` is a pipeline; an operator below charges its own state while it runs)."""
    if res is not None and (_breaker(plan) or isinstance(plan, asofjoin.AsofJoin)):
        out = materialize(plan, ctx)
        res.grow(table_bytes(out))
        return out
    if isinstance(plan, TopN):
        return topn.execute(plan, ctx, _TOPN_OPS)
    if isinstance(plan, Aggregate):
        return aggregate(plan, ctx)
    if isinstance(plan, Sort):
        return sort(plan, None, ctx)
    if isinstance(plan, Limit):
        if isinstance(plan.input, Sort):
            n = None if plan.limit is None else plan.offset + plan.limit
            t = sort(plan.input, n, ctx)
        else:
            t = _concat(list(stream(plan.input, ctx, limit=None if plan.limit is None
                                    else plan.offset + plan.limit)), plan.input.schema)
        st = ctx.op(plan)
        out = t.slice(plan.offset, plan.limit)
        st.add(out.num_rows, 0.0)
        return out
    if isinstance(plan, Join) and not _streams(plan):
        return _join_breaker(plan, ctx)
    if isinstance(plan, asofjoin.AsofJoin):  # both sides whole: sorted, binary-searched
        with ctx.memory.reservation("ASOF join") as held:
            left = materialize(plan.left, ctx, held)
            right = materialize(plan.right, ctx, held)
            t0 = time.perf_counter()
            out = asofjoin.execute(plan, left, right)
            held.grow(table_bytes(out))
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
        return out
    if isinstance(plan, CTEScan):
        t = ctx.cte(plan.cte, lambda held: materialize(plan.cte, ctx, held))
        out = pa.table({out: t.column(c) for out, c in plan.columns})
        ctx.op(plan).add(out.num_rows, 0.0)
        return out
    if isinstance(plan, RecursiveCTE):
        from mapdb.query import recursive
        t0 = time.perf_counter()
        out = recursive.execute(plan, ctx, materialize, _decoded)
        ctx.memory.reservation("recursive CTE").grow(table_bytes(out))  # (checked, then
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)          # the caller's)
        return out
    if isinstance(plan, SetOp):
        from mapdb.query.setops import set_op
        t0 = time.perf_counter()
        with ctx.memory.reservation(f"set operation ({plan.op.upper()})") as held:
            left = materialize(plan.left, ctx, held)
            right = materialize(plan.right, ctx, held)
            held.grow(table_bytes(left) + table_bytes(right))  # (its hash table, output)
            out = set_op(plan, left, right)
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
        return out
    if isinstance(plan, Window):
        from mapdb.query.window import compute, top_rows
        t0 = time.perf_counter()
        with ctx.memory.reservation("window") as held:
            t = materialize(plan.input, ctx, held)
            held.grow(table_bytes(t))  # decoded, combined into one chunk: a copy
            t = _decoded(t)
            batch = {c: t.column(c).combine_chunks() for c in t.column_names}
            n = t.num_rows
            if plan.keep is not None and n:  # a Filter above keeps rank <= keep
                rows = top_rows(plan.funcs[0][1], batch, n, plan.keep)
                if rows is not None and len(rows) < n:
                    rows = pa.array(rows)
                    batch = {c: a.take(rows) for c, a in batch.items()}
                    n = len(rows)
            for name, f in plan.funcs:
                held.grow(n * 16)  # its partition and order, then its column
                batch[name] = compute(f, batch, n)
            out = pa.table(batch) if batch else pa.table({})
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
        return out
    if isinstance(plan, Unnest):
        t0 = time.perf_counter()
        out = unnest(_concat(list(stream(plan.input, ctx)), plan.input.schema), plan)
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
        return out
    if isinstance(plan, Distinct):
        t0 = time.perf_counter()
        with ctx.memory.reservation("DISTINCT") as held:
            t = _concat(held_pieces(stream(plan.input, ctx), held), plan.input.schema)
            t = _decoded(t)
            names = t.column_names
            for i, f in enumerate(t.schema):  # -0.0 = 0.0 and NaN = NaN (the binder's
                if pa.types.is_floating(f.type):  # DISTINCT does this; frames' not)
                    t = t.set_column(i, f.name, canonical_float(t.column(i)))
            held.grow(table_bytes(t))  # the hash table of the distinct rows, at most
            out = _distinct_rows(t) if names else t
            out = out.select(names)
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
        return out
    return _concat(held_pieces(stream(plan, ctx), res), plan.schema)


def table_bytes(t) -> int:
    """The bytes an operator holds in ``t`` (a table, or a batch: name -> array):
    dictionary columns count their codes (the dictionary is the table's, shared)."""
    if isinstance(t, pa.Table):
        return sum(_nbytes(c) for col in t.columns for c in col.chunks)
    if isinstance(t, dict):
        return sum(table_bytes(v) if isinstance(v, dict) else
                   sum(_nbytes(c) for c in v.chunks) if isinstance(v, pa.ChunkedArray) else
                   _nbytes(v) if isinstance(v, pa.Array) else
                   getattr(v, "nbytes", 0) for v in t.values())
    return 0


def held_pieces(pieces, res: Reservation | None) -> list:
    """``list(pieces)``, each piece charged to ``res`` as it arrives: an operator over
    its limit stops while collecting, not after."""
    out = []
    for p in pieces:
        if res is not None:
            res.grow(table_bytes(p))
        out.append(p)
    return out


def produce(plan: Plan, ctx: Context, release: bool = False) -> Iterator[pa.Table]:
    """The rows of ``plan`` in order (internal names), in pieces as they are computed: a
    pipeline over a scan (filters, projections, streaming joins, and a LIMIT over one)
    yields each morsel's rows as its turn comes, at most a window of morsels ahead of the
    reader (the rest is not computed until asked for, nor at all if the reader stops);
    any other plan (aggregates, sorts, ...) is materialized and yielded whole.
    ``release``: each piece is read before the next is asked for (see run_pipeline)."""
    names = [n for n, _ in plan.schema]
    if isinstance(plan, Limit) and not _breaker(plan.input):
        skip, left = plan.offset, plan.limit
        st = ctx.op(plan)
        if left == 0:
            yield _concat([], plan.schema)
            return
        for piece in stream(plan.input, ctx, limit=None if left is None else skip + left,
                            release=release):
            if piece.num_columns == 0 and names:
                continue
            if skip >= piece.num_rows:
                skip -= piece.num_rows
                continue
            piece = piece.slice(skip, left)
            skip = 0
            if left is not None:
                left -= piece.num_rows
            st.add(piece.num_rows, 0.0)
            yield piece.select(names)
            if left == 0:
                return
        return
    if _breaker(plan):
        yield materialize(plan, ctx)
        return
    produced = False
    for piece in stream(plan, ctx, release=release):
        if piece.num_columns == 0 and names:
            continue
        produced = True
        yield piece.select(names)
    if not produced:
        yield _concat([], plan.schema)


def streamed(plan: Plan) -> bool:
    """Whether ``produce`` computes ``plan`` piece by piece as it is read (a pipeline of
    filters, projections and streaming joins over a scan, under at most a LIMIT); if not,
    the result is materialized whole first."""
    node = plan.input if isinstance(plan, Limit) else plan
    return not _breaker(node) and isinstance(_pipeline(node)[0], Scan)


def unnest(t: pa.Table, plan: Unnest) -> pa.Table:
    """Each row of ``t`` once per element of its list columns, zipped (query/nested.py)."""
    from mapdb.query.nested import ListParts, from_output, gather
    parts = [ListParts(t.column(c).combine_chunks() if t.num_rows else
                       pa.array([], t.schema.field(c).type)) for c in plan.columns]
    length = np.max([p.length for p in parts], axis=0) if t.num_rows else \
        np.zeros(0, np.int64)
    rows = np.repeat(np.arange(t.num_rows, dtype=np.int64), length)
    at = gather(np.zeros(t.num_rows, np.int64), length)  # each element's place in its row
    out = {}
    for c, el, p in zip(plan.columns, plan.elements, parts, strict=True):
        if len(parts) == 1:  # (one list: its elements as they lie)
            out[c] = from_output(p.elements(), el)
            continue
        has = at < p.length[rows]
        pos = np.where(has, p.start[rows] + at, 0)
        values = p.values.take(pa.array(pos)) if len(p.values) else \
            pa.nulls(len(pos), p.values.type)
        if not has.all():
            values = pc.if_else(pa.array(has), values, pa.scalar(None, values.type))
        out[c] = from_output(values, el)
    take = pa.array(rows)
    cols = {n: out[n] if n in out else t.column(n).take(take) for n in t.column_names}
    return pa.table(cols) if cols else t


def _breaker(plan: Plan) -> bool:
    """Whether ``materialize`` runs ``plan`` as a whole (not a pipeline to stream)."""
    return isinstance(plan, Aggregate | Sort | Limit | TopN | CTEScan | SetOp | Window |
                      Distinct | RecursiveCTE | Unnest) \
        or (isinstance(plan, Join) and not _streams(plan))


def _concat(batches: list, schema: list[tuple[str, SqlType]]) -> pa.Table:
    tables = [b if isinstance(b, pa.Table) else pa.table(b) for b in batches]
    tables = [t for t in tables if t.num_columns]
    names = [n for n, _ in schema]
    if not tables:
        return pa.table({n: pa.array([], _empty_type(t)) for n, t in schema})
    if len(tables) == 1:
        return tables[0].select(names)
    tables = [t.select(names) for t in tables]
    coded = [n for n in names if any(pa.types.is_dictionary(t.schema.field(n).type)
                                     for t in tables)]
    if coded:  # each morsel may carry its own dictionary: keep one shared by all
        columns = {n: combine_dictionary([c for t in tables for c in t.column(n).chunks])
                   if n in coded else None for n in names}
        if any(columns[n] is None for n in coded):
            tables = [_decoded(t) for t in tables]
        else:
            rest = pa.concat_tables([t.drop_columns(coded) for t in tables],
                                    promote_options="permissive") \
                if len(coded) < len(names) else None
            return pa.table({n: columns[n] if n in coded else rest.column(n)
                             for n in names})
    return pa.concat_tables(tables, promote_options="permissive")


def _decoded(t: pa.Table) -> pa.Table:
    return pa.table({n: decode(t.column(n)) for n in t.column_names})


def _empty_type(t: SqlType) -> pa.DataType:
    return pa.null() if t.kind == "null" else t.arrow


def _prepare_joins(chain: list[Plan], ctx: Context) -> None:
    """Build the hash tables of the chain's joins (before any morsel runs: a build runs
    pipelines of its own on the same pool)."""
    for op in chain:
        if isinstance(op, Join):
            t0 = time.perf_counter()
            b = ctx.builds.ensure(op, lambda p, held: materialize(p, ctx, held))
            st = ctx.op(op)
            with st.lock:
                st.extra.setdefault("build_rows", b.rows)
                st.extra.setdefault("build_seconds", time.perf_counter() - t0)


def _empty_join(chain: list[Plan], ctx: Context) -> bool:
    """Whether an inner or semi join of the chain built an empty hash table."""
    return any(isinstance(op, Join) and op.kind in ("inner", "semi") and
               ctx.builds.get(op).rows == 0 for op in chain)


def _join_breaker(j: Join, ctx: Context) -> pa.Table:
    """FULL joins, and semi/anti joins that build their (small) left side and stream the
    right side past it."""
    t0 = time.perf_counter()
    if j.kind == "full":
        with ctx.memory.reservation("hash join build (FULL JOIN)") as held:
            left = materialize(j.left, ctx, held)
            right = materialize(j.right, ctx, held)
            held.grow(24 * (left.num_rows + right.num_rows))  # hash table, marks, row ids
            out = full_outer(j, left, right)
    elif j.kind in ("semi", "anti") and j.build == "left":
        b = ctx.builds.ensure(j, lambda p, held: materialize(p, ctx, held))
        sink = MarkSink(j, b)
        # a right row whose keys are not in the built side cannot mark anything
        for _ in stream(j.right, ctx, sink=sink, key_tests=((j, j.right_keys),)):
            pass
        out = sink.result()
    else:
        raise QueryError(f"cannot run a {j.kind} join with build side {j.build}")
    ctx.op(j).add(out.num_rows, time.perf_counter() - t0)
    return out


def stream(plan: Plan, ctx: Context, limit: int | None = None,
           sink: Callable[[Batch, int], object] | None = None,
           key_tests: tuple = (), release: bool = False) -> Iterator:
    """Batches of ``plan``'s rows in order (or what ``sink`` makes of each); pipelines
    over a scan run morsel-parallel, anything else runs once over the breaker's table.
    ``release``: the reader is done with each batch when it asks for the next (a streamed
    result), so the scan unmaps the morsel's pages then (see run_pipeline)."""
    node, chain = _pipeline(plan)
    if isinstance(node, Scan):
        yield from run_pipeline(node, chain, ctx, sink=sink, limit=limit,
                                key_tests=key_tests, release=release)
        return
    base = materialize(node, ctx)
    _prepare_joins(chain, ctx)
    batch = {n: base.column(n).combine_chunks() if base.num_rows else
             pa.array([], base.column(n).type) for n in base.column_names}
    out, n = _apply(chain, batch, base.num_rows, ctx)
    first = sink(out, n) if sink is not None else (pa.table(out) if out else pa.table({}))
    yield from _with_tails(iter([first]), chain, ctx, sink)


def _filter_batch(predicate: Expr, batch: Batch, n: int) -> tuple[Batch, int]:
    """The rows of ``batch`` where ``predicate`` is TRUE (NULL counts as false)."""
    mask = evaluate(predicate, batch, n)
    if mask.null_count:
        mask = pc.fill_null(mask, False)
    if mask.true_count != n:
        batch = {k: v.filter(mask) for k, v in batch.items()}
        n = mask.true_count
    return batch, n


def _apply(chain: list[Plan], batch: Batch, n: int, ctx: Context,
           found: dict | None = None) -> tuple[Batch, int]:
    """Run ``chain`` over one batch. ``found``: what the scan's join filter already probed
    (join id -> matching build row per row of ``batch``), valid while the rows keep their
    order: a join it covers only attaches the build side's columns (inner) or passes the
    rows on (semi, anti)."""
    for op in chain:
        t0 = time.perf_counter()
        if isinstance(op, Filter):
            batch, n2 = _filter_batch(op.predicate, batch, n)
            if found and n2 != n:
                found = None
            n = n2
        elif isinstance(op, Join):
            b = ctx.builds.get(op)
            pre = found.get(id(op)) if found else None
            if pre is not None and op.kind in ("semi", "anti"):
                pass  # every row passed the scan's test for this join
            elif pre is not None and op.kind in ("inner", "left") and op.condition is None \
                    and b.unique and (op.kind == "inner" or b.marks is not None):
                out = dict(batch)
                out.update(b.take(pa.array(pre)))
                batch = out
                if b.marks is not None:
                    b.marks[pre] = 1
            elif op.kind == "mark":  # the rows stay as they are: probes still line up
                batch = mark(op, b, batch, n)[0]
            else:
                batch, n2 = probe(op, b, batch, n)
                if found and (n2 != n or not (op.kind == "single" or
                                              (op.kind == "inner" and b.unique))):
                    found = None  # rows dropped, repeated or moved: probes no longer line up
                n = n2
        else:
            batch = {name: evaluate(e, batch, n) for name, e in op.exprs}
        ctx.op(op).add(n, time.perf_counter() - t0)
    return batch, n


class KernelFilter:
    """The scan filter as a kernel program (when every conjunct has a kernel form): it
    picks the passing rows of a morsel from the mapped columns, and only those rows of the
    scan's columns are gathered for the Arrow operators above."""

    def __init__(self, program, residual: Expr | None = None):
        self.program = program
        self.residual = residual  # conjuncts without a kernel form: Arrow, after gathering
        self._local = threading.local()

    def select(self, m: Morsel) -> np.ndarray:
        """Offsets in the morsel of the rows that pass."""
        loc = self._local
        if not hasattr(loc, "state"):
            loc.state = self.program.new_state()
            loc.out = np.empty(max(m.rows, 1 << 17), np.int32)
        if len(loc.out) < m.rows:
            loc.out = np.empty(m.rows, np.int32)
        k = self.program.select(loc.state, m.segment, m.start, m.stop, loc.out)
        return loc.out[:k].copy()


def _key_ranges(scan: Scan, chain: list[Plan], ctx: Context) -> tuple[Scan, list[str]]:
    """The scan with ``lo <= k AND k <= hi`` added to its filter for each inner join above
    it on one integer column k whose built keys span [lo, hi], a small part of k's stored
    range: rows outside cannot match, and the kernel filter drops them before any column
    is gathered or probed (SSB Q1.3: a week of dates, 953 of 6M rows kept in the kernel;
    before, 360,000 rows' dates were gathered to be probed). Also the descriptions, for
    EXPLAIN. The scan itself when no join qualifies."""
    src = scan.source
    if not hasattr(src, "bounds"):
        return scan, []
    same = set(scan.columns)  # names in the chain that are still the scan's columns
    added, notes = [], []
    for op in chain:
        if isinstance(op, Project):
            same = {n for n, e in op.exprs if isinstance(e, Col) and e.name == n and n in same}
            continue
        if not isinstance(op, Join):
            continue
        keys = op.left_keys if op.build == "right" else op.right_keys
        built = op.right if op.build == "right" else op.left
        b = ctx.builds.get(op)
        k = keys[0] if len(keys) == 1 else None
        if (op.kind == "inner" or (op.kind == "semi" and op.build == "right")) and \
                isinstance(k, Col) and k.name in same and k.type.kind == "int" and \
                b.table is not None and b.coder.kinds == ["int"]:
            codes = b.coder.codes if b.coder.valid is None else \
                b.coder.codes[b.coder.valid.astype(bool)]
            cmin, cmax = src.bounds(k.name)
            if len(codes) and cmax > cmin:
                lo, hi = max(int(codes.min()), cmin), min(int(codes.max()), cmax)
                if lo <= hi and (hi - lo) * 2 < cmax - cmin:
                    added += [Call("ge", (k, Lit(lo, k.type)), BOOL),
                              Call("le", (k, Lit(hi, k.type)), BOOL)]
                    notes.append(f"{k.name} in [{lo}, {hi}]")
        if op.kind not in ("semi", "anti"):
            same -= {n for n, _ in built.schema}
    if not added:
        return scan, []
    return replace_plan(scan, filter=conjoin([scan.filter, *added] if scan.filter is not None
                                             else added)), notes


def _estimated_share(op: Join, ctx: Context, keep: bool) -> float | None:
    """The share of probe rows a join's key test is expected to keep, when its built side
    is one table's scan (filtered, projected) on a unique key: a foreign key into a
    dimension matches as often as the dimension's filter keeps rows (built rows over the
    table's). None when it cannot tell (a join or an aggregate built, duplicate keys)."""
    build = ctx.builds.get(op)
    side = op.right if op.build == "right" else op.left
    while isinstance(side, Filter | Project):
        side = side.input
    total = getattr(side.source, "row_count", None) if isinstance(side, Scan) else None
    if build is None or not build.unique or not total:
        return None
    share = min(build.rows / total, 1.0)
    return share if keep else 1.0 - share


class JoinFilter:
    """The hash tables of the joins above a scan, applied at the scan: a morsel's key
    columns are read and probed first, and the scan's other columns are gathered only for
    the rows every inner or semi join can match (and no anti join does). The joins still
    run above (they add the build side's columns); what this saves is reading and carrying
    the rows they would drop."""

    def __init__(self, scan: Scan, chain: list[Plan], ctx: Context,
                 extra: tuple = (), kernel_filter: bool = False):
        self.joins = []  # (join, key expressions over the scan's columns, keep matches)
        have = set(scan.columns)
        mapping: dict[Expr, Expr] = {}  # the chain's columns so far, over the scan's

        def down(e: Expr) -> Expr:
            return replace(e, mapping) if mapping else e

        for op in chain:
            if isinstance(op, Join):
                keys = op.left_keys if op.build == "right" else op.right_keys
                exprs = [down(k) for k in keys]
                if keys and set().union(*(e.columns() for e in exprs)) <= have and (
                        op.kind == "inner" or (op.kind == "left" and op.build == "left") or
                        (op.kind in ("semi", "anti") and op.condition is None and
                         not op.null_aware)):
                    self.joins.append((op, exprs, op.kind != "anti"))
                # the build side's columns above this join are not the scan's, even where
                # a name is the same (a self-join: t AS a RIGHT JOIN t AS b ... JOIN x)
                built = op.right if op.build == "right" else op.left
                if op.kind not in ("semi", "anti"):
                    mapping = {**mapping, **{Col(n, t): Col(f"$built.{n}", t)
                                             for n, t in built.schema}}
                if op.kind == "inner":
                    # an inner join's output rows have build key = streaming key: a join
                    # above on the build side's key tests the scan's (TPC-DS q95: IN
                    # (SELECT wr_order_number FROM web_returns, ws_wh WHERE wr_order_number
                    # = ws_order_number) reaches web_sales' scan under the self-join)
                    other = op.right_keys if op.build == "right" else op.left_keys
                    mapping.update({Col(b.name, b.type): e for b, e in
                                    zip(other, exprs, strict=True)
                                    if isinstance(b, Col) and b.type == e.type})
            elif isinstance(op, Project):
                mapping = {Col(n, e.type): down(e) for n, e in op.exprs}
        for op, keys in extra:  # a join the chain's output streams into (MarkSink)
            exprs = [down(k) for k in keys]
            if set().union(*(e.columns() for e in exprs)) <= have:
                self.joins.append((op, exprs, True))
        self.ctx = ctx
        # latest share kept; before the first probe, the share estimated from the built
        # side (star schemas: the most selective dimension first), else plan order
        self.passed = [_estimated_share(op, ctx, keep) for op, _, keep in self.joins]
        self.passed = [i / 1e6 if s is None else s for i, s in enumerate(self.passed)]
        self.pre: dict[tuple[int, int], np.ndarray] = {}  # see preselect
        self.chain_joins = {id(op) for op in chain if isinstance(op, Join)}
        # matches can be handed to the joins only if no filter runs between
        self.keeps_rows = scan.filter is None or kernel_filter
        self.columns = sorted(set().union(*(k.columns() for _, ks, _ in self.joins
                                            for k in ks))) if self.joins else []

    def __bool__(self) -> bool:
        return bool(self.joins)

    def preselect(self, scan: Scan, morsels: list[Morsel]) -> list[Morsel]:
        """When a join keeps only rows whose key, a column the table is sorted by, is one
        of few build keys (at most 1/256 of the scanned rows), binary searches find those
        rows and only they are read: TPC-H Q2 and Q20 read partsupp's rows of 8,000 and
        20,000 parts instead of all 8 million. The morsels shrink to the rows found, which
        ``self.pre`` holds (offsets into each narrowed morsel)."""
        src = scan.source
        if not hasattr(src, "sorted_key_rows") or not morsels:
            return morsels
        total = sum(m.rows for m in morsels)
        for op, exprs, keep in self.joins:
            build = self.ctx.builds.get(op)
            if not keep or len(exprs) != 1 or not isinstance(exprs[0], Col) or \
                    build.table is None or build.coder.kinds != ["int"] or \
                    build.rows * 256 > total or exprs[0].type.kind != "int" or \
                    src.index_on(exprs[0].name, "sorted") is None:
                continue
            codes, valid = build.coder.codes, build.coder.valid
            keys = np.sort(codes if valid is None else codes[valid.astype(bool)])
            keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys
            found = self.ctx.sorted_rows(src, exprs[0].name, keys)
            out = []
            for m in morsels:
                r = found[m.segment]
                r = r[np.searchsorted(r, m.start):np.searchsorted(r, m.stop)]
                if len(r):
                    nm = Morsel(m.segment, int(r[0]), int(r[-1]) + 1)
                    self.pre[(nm.segment, nm.start)] = r - nm.start
                    out.append(nm)
            st = self.ctx.op(scan)
            st.extra["kernel"] += (f"; rows of {len(keys):,} {exprs[0].name} values found by "
                                   "binary search in the sorted column")
            return out
        return morsels

    def rows(self, keys: Batch, n: int, found: dict | None = None) -> np.ndarray:
        """Offsets (into ``keys``' rows) that pass every join's key test; ``found`` gets
        each join's first matching build row per offset (when the scan's filter does not
        run after this: it would drop rows)."""
        from mapdb.query.hashjoin import matching_rows
        idx = None  # survivors so far (None: all), each join probing only those
        firsts: dict[int, np.ndarray] = {}
        # the join that has passed the smallest share of its probes goes first (the first
        # morsel probes in plan order): Q2's 0.4% part keys before its 20% supplier keys
        for i in sorted(range(len(self.joins)), key=self.passed.__getitem__):
            op, exprs, keep = self.joins[i]
            hit, first = matching_rows(self.ctx.builds.get(op), exprs, keys, n, idx, keep)
            self.passed[i] = len(hit) / max(1, n if idx is None else len(idx))
            idx = hit if idx is None else idx[hit]
            firsts = {k: v[hit] for k, v in firsts.items()}
            if id(op) in self.chain_joins:
                firsts[id(op)] = first
        if found is not None and self.keeps_rows:
            found.update(firsts)
        return idx


def scan_batch(scan: Scan, m: Morsel, ctx: Context,
               kfilter: KernelFilter | None = None,
               jfilter: JoinFilter | None = None,
               found: dict | None = None) -> tuple[Batch, int]:
    """The scan's columns for one morsel, its pushed-down filter applied (and the join
    filter's matches put in ``found``, see _apply)."""
    st = ctx.op(scan)
    t0 = time.perf_counter()
    faults0 = resource.getrusage(resource.RUSAGE_THREAD).ru_majflt
    scanned = n = m.rows
    if jfilter:
        # rows the kernel filter keeps, then the joins' key test, then the other columns
        # (a filter without a kernel form runs after the probe, on the rows it kept)
        rows = kfilter.select(m) if kfilter is not None else None
        pre = jfilter.pre.get((m.segment, m.start)) if jfilter.pre else None
        if pre is not None:  # only these rows are read (see JoinFilter.preselect)
            rows = pre if rows is None else np.intersect1d(rows, pre, assume_unique=True)
            scanned = n = len(pre)
        keys = scan.source.gather(m, jfilter.columns, rows) if rows is not None else \
            scan.source.arrays(m, jfilter.columns)
        hit = jfilter.rows(keys, n if rows is None else len(rows), found)
        rows = hit if rows is None else rows[hit]
        batch = scan.source.gather(m, _gathered(scan, kfilter), rows)
        touched = sum(int(n * scan.source.row_width(c)) for c in scan.columns)
        n = len(rows)
    elif kfilter is not None:  # the kernel picks rows; only those are gathered
        rows = kfilter.select(m)
        batch = scan.source.gather(m, _gathered(scan, kfilter), rows)
        touched = sum(int(n * scan.source.row_width(c)) for c in scan.columns)
        n = len(rows)
    else:
        batch = scan.source.arrays(m, scan.columns)
        touched = sum(_nbytes(a) for a in batch.values())
    residual = scan.filter if kfilter is None else kfilter.residual
    if residual is not None:
        batch, n = _filter_batch(residual, batch, n)
    with st.lock:
        st.extra["rows_scanned"] = st.extra.get("rows_scanned", 0) + scanned
        st.extra["bytes_touched"] = st.extra.get("bytes_touched", 0) + touched
        st.extra["major_faults"] = st.extra.get("major_faults", 0) + (
            resource.getrusage(resource.RUSAGE_THREAD).ru_majflt - faults0)
    st.add(n, time.perf_counter() - t0)
    return batch, n


def _gathered(scan: Scan, kfilter: KernelFilter | None) -> list[str]:
    """The columns a scan reads for its selected rows: all of them when Arrow runs the
    filter; else its output and what the kernel filter left to Arrow."""
    if kfilter is None:
        return scan.columns
    need = set(scan.output) | (kfilter.residual.columns() if kfilter.residual is not None
                               else set())
    return [c for c in scan.columns if c in need]


def _nbytes(a: pa.Array) -> int:
    if isinstance(a, pa.DictionaryArray):
        return a.indices.nbytes
    return a.nbytes


def _joined_rows(scan: Scan, ctx: Context) -> int:
    """Morsel rows for a scan flowing into joins: JOINED_MORSEL_ROWS, but at least four
    morsels per worker (Q14's 2M-row part scan would otherwise be one morsel)."""
    total = getattr(scan.source, "row_count", JOINED_MORSEL_ROWS)
    return max(min(JOINED_MORSEL_ROWS, total // (4 * ctx.workers)), 1 << 17)


def run_pipeline(scan: Scan, chain: list[Plan], ctx: Context,
                 sink: Callable[[Batch, int], object] | None,
                 limit: int | None = None, morsels: list[Morsel] | None = None,
                 key_tests: tuple = (), release: bool = False) -> Iterator:
    """Run scan -> chain -> sink over every morsel (or the given ones, already planned);
    yields sink results in morsel order. ``key_tests``: (join, keys over the chain's
    output) whose built side a row must match to matter (see JoinFilter). ``release``:
    when the reader asks for the next result, the previous morsel's pages are unmapped
    from the process (they stay in the page cache; a zero-copy array the reader kept
    faults them back in): a streamed scan's RSS stays within its window of morsels."""
    _prepare_joins(chain, ctx)
    if _empty_join(chain, ctx):
        morsels = []  # an inner or semi join's hash table is empty: no row the scan reads
        #              could come out (a dimension filtered to nothing), so nothing is read
    if scan.index is not None and scan.index.kind == "hash" and morsels != []:
        yield from _with_tails(_index_pipeline(scan, chain, ctx, sink), chain, ctx, sink)
        return
    prefetch = getattr(scan.source, "prefetch", None)
    ranged, key_ranges = _key_ranges(scan, chain, ctx) if ctx.fused else (scan, [])
    compiled = fused.compile_filter(ranged) if ctx.fused else None
    kfilter = KernelFilter(*compiled) if compiled is not None else None
    if kfilter is not None:
        ctx.op(scan).extra["kernel"] = "kernel filter" + (
            f" (then {kfilter.residual})" if kfilter.residual is not None else "") + (
            f"; with the join keys' ranges {', '.join(key_ranges)}" if key_ranges else "")
    jfilter = JoinFilter(scan, chain, ctx, key_tests,
                         kfilter is not None and kfilter.residual is None) \
        if hasattr(scan.source, "gather") else None
    if jfilter:
        ctx.op(scan).extra["kernel"] = (ctx.op(scan).extra.get("kernel", "") +
                                        f"; join keys {', '.join(jfilter.columns)} probed "
                                        "before the other columns are read").lstrip("; ")
    narrow = jfilter.preselect if jfilter else None
    if morsels is None:
        # a pipeline through joins drops most rows at the scan's join filter: bigger
        # morsels, so the Arrow calls above run over fewer, fuller batches
        joined = bool(key_tests) or any(isinstance(op, Join) for op in chain)
        morsels = plan_morsels(scan, ctx, _joined_rows(scan, ctx) if joined else None, narrow)
    elif narrow is not None:
        morsels = narrow(scan, morsels)
    if jfilter and jfilter.pre:
        prefetch = None  # preselected rows: read where they are, nothing ahead
    # a cold scan drops its pages behind itself (morsels.cold_scan): after a sink took
    # what it keeps, or once a streamed result's reader is done with a morsel; rows
    # collected whole may still be zero-copy views of the pages, so those are left cached
    drop = dropping(scan, ctx) if sink is not None or release else None

    def work(i: int, m: Morsel):
        if prefetch is not None:
            prefetch(scan.columns, morsels, i)
        found: dict = {}
        batch, n = scan_batch(scan, m, ctx, kfilter, jfilter, found)
        batch, n = _apply(chain, batch, n, ctx, found)
        if sink is not None:
            out = sink(batch, n)
            if drop is not None:
                drop(m)
            return out
        return pa.table(batch) if batch else pa.table({})

    results = _morsel_results(ctx, sink, limit, morsels, work)
    if release and hasattr(scan.source, "release"):
        results = _released(results, scan, morsels, drop if sink is None else None)
    yield from _with_tails(results, chain, ctx, sink)


def _released(results: Iterator, scan: Scan, morsels: list[Morsel], drop=None) -> Iterator:
    """``results`` (one per morsel, in order), releasing each morsel's pages once the
    reader comes back for the next (``drop``: from the page cache too)."""
    for m, out in zip(morsels, results, strict=False):
        yield out
        if drop is not None:
            drop(m)
        else:
            scan.source.release(scan.columns, m)


def _with_tails(results: Iterator, chain: list[Plan], ctx: Context, sink) -> Iterator:
    """``results``, then for each LEFT join of the chain built on its left side, its left
    rows no streaming row matched (NULL-padded), through the rest of the chain."""
    yield from results
    for i, op in enumerate(chain):
        if isinstance(op, Join) and op.kind == "left" and op.build == "left":
            b = ctx.builds.get(op)
            batch, n = b.tail(op.right.schema)
            ctx.op(op).add(n, 0.0)
            batch, n = _apply(chain[i + 1:], batch, n, ctx)
            yield sink(batch, n) if sink is not None else (pa.table(batch) if batch
                                                           else pa.table({}))


def _morsel_results(ctx: Context, sink, limit, morsels, work) -> Iterator:
    """``work`` over the morsels on the pool, a bounded window ahead, results in order."""
    if isinstance(morsels, list | tuple) and len(morsels) <= 1:
        # a small table's one morsel: run it here (starting pool threads costs more)
        for i, m in enumerate(morsels):
            yield work(i, m)
        return
    rows = 0
    window = max(ctx.workers * 2, 2)
    futures = []
    it = iter(enumerate(morsels))
    try:
        for i, m in it:
            futures.append(ctx.pool.submit(work, i, m))
            if len(futures) >= window:
                out = futures.pop(0).result()
                yield out
                rows += out.num_rows if isinstance(out, pa.Table) else 0
                if limit is not None and sink is None and rows >= limit:
                    return
        while futures:
            out = futures.pop(0).result()
            yield out
            rows += out.num_rows if isinstance(out, pa.Table) else 0
            if limit is not None and sink is None and rows >= limit:
                return
    finally:
        for f in futures:
            f.cancel()
        for f in futures:
            if not f.cancelled():
                try:
                    f.result()
                except Exception:
                    pass


def _index_pipeline(scan: Scan, chain: list[Plan], ctx: Context,
                    sink: Callable[[Batch, int], object] | None) -> Iterator:
    """Scan -> chain over the rows a hash-index probe finds (one batch per segment that
    has any): only the pages holding those rows are read; the scan filter still runs."""
    st = ctx.op(scan)
    t0 = time.perf_counter()
    faults0 = resource.getrusage(resource.RUSAGE_THREAD).ru_majflt
    found = scan.source.lookup_rows(scan.index.column, scan.index.keys)
    st.extra["kernel"] = f"hash index {scan.index.index}: {len(scan.index.keys)} key(s)"
    st.extra["rows_scanned"] = sum(len(r) for r in found.values())
    batches = []
    for seg in sorted(found):
        rows = found[seg]
        batch, n = scan.source.take(seg, scan.columns, rows), len(rows)
        if scan.index.residual is not None:
            batch, n = _filter_batch(scan.index.residual, batch, n)
        batches.append((batch, n))
    st.extra["major_faults"] = resource.getrusage(resource.RUSAGE_THREAD).ru_majflt - faults0
    st.add(sum(n for _, n in batches), time.perf_counter() - t0)
    for batch, n in batches:
        batch, n = _apply(chain, batch, n, ctx)
        yield sink(batch, n) if sink is not None else (pa.table(batch) if batch else pa.table({}))


# -- sort ---------------------------------------------------------------------------------

def sort(plan: Sort, top: int | None, ctx: Context) -> pa.Table:
    """Full sort, or top-N when ``top`` is given (each morsel keeps its own N first). A
    full sort over more than its memory_limit allows spills sorted runs (``_spilling``)."""
    t0 = time.perf_counter()

    def sort_keys(t: pa.Table, every: bool = False) -> tuple[dict, list]:
        """The key columns of decoded ``t`` and their sort order. ``every``: each key's
        NULL flag and value even when there is no NULL or it is all NULL (runs spilled
        apart must have the same key columns)."""
        keys, extra = [], {}
        n_rows = t.num_rows
        batch = {c: t.column(c).combine_chunks() for c in t.column_names}
        for i, k in enumerate(plan.keys):
            v = evaluate(k.expr, batch, n_rows)
            v = decode(v)
            if v.type == pa.null() and not every:
                continue
            if pa.types.is_floating(v.type):  # Arrow puts NaN last both ways; DuckDB
                v = float_key(v)              # orders it above +inf
            elif pa.types.is_interval(v.type):  # (Arrow does not sort intervals)
                v = intervals.key(v)
            val = f"$key{i}"
            if v.null_count or every:  # NULLS FIRST/LAST per key: a key before the value
                nul = f"$null{i}"
                extra[nul] = pc.is_null(v)
                keys.append((nul, "descending" if k.nulls_first else "ascending"))
            extra[val] = v
            keys.append((val, "descending" if k.desc else "ascending"))
        return extra, keys

    def order(t: pa.Table, n: int | None) -> pa.Table:
        if t.num_rows == 0:
            return t
        t = _decoded(t)
        extra, keys = sort_keys(t)
        if not keys:
            return t if n is None else t.slice(0, n)
        kt = pa.table(extra)
        if n is not None and n < kt.num_rows // 4:
            # top-N: select the N first in linear time, then sort just those (stably)
            cand = pc.select_k_unstable(kt, k=n, sort_keys=keys)
            order_ = pc.sort_indices(kt.take(cand), sort_keys=keys)
            return t.take(cand.take(order_))
        idx = pc.sort_indices(kt, sort_keys=keys)
        if n is not None:
            idx = idx.slice(0, n)
        return t.take(idx)

    node, chain = _pipeline(plan.input)
    sink = lambda b, n: order(pa.table(b) if b else pa.table({}), top)  # noqa: E731
    bounded = _topn_column(plan, node, chain) if top is not None else None
    with ctx.memory.reservation("sort" if top is None else "top-N sort") as held:
        if bounded is not None:
            t = _bounded_top(plan, node, chain, ctx, top, bounded, sink, order)
        elif top is not None and isinstance(node, Scan):
            t = _concat(held_pieces(run_pipeline(node, chain, ctx, sink=sink), held),
                        plan.input.schema)
        elif top is None and ctx.memory.spill_dir is not None:
            pieces, merged = _spilling(plan, ctx, held, sort_keys)
            if merged is not None:  # from spilled runs
                ctx.op(plan).add(merged.num_rows, time.perf_counter() - t0)
                return merged
            t = _concat(pieces, plan.input.schema)  # (reserved three times over)
        else:
            t = _concat(held_pieces(stream(plan.input, ctx), held), plan.input.schema)
            # decoded and combined, the keys, and the sorted copy: about twice the input
            held.grow(2 * table_bytes(t) if top is None else 0)
        out = order(t, top)
    ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
    return out


def _spilling(plan: Sort, ctx: Context, held: Reservation, sort_keys
              ) -> tuple[list[pa.Table], pa.Table | None]:
    """A full sort's input, reserved piece by piece for itself, its keys and its sorted
    copy (three times its bytes, what the in-memory sort reserves). When a piece does not
    fit, what is held is sorted and written out as a run (query/spill.py) and released;
    a piece too large for the limit alone is cut into slices that fit. (pieces, None)
    when nothing was written (the input, for the in-memory sort: the same work as without
    spilling); else ([], the merged, sorted rows)."""
    names = [n for n, _ in plan.input.schema]
    pieces: list[pa.Table] = []
    runs = spill.Runs(ctx.memory.spill_dir, "sort")
    t = ctx.memory

    def run_of(tables: list[pa.Table]) -> pa.Table:
        """``tables`` sorted, with their key columns (renamed apart from the data's)."""
        data = _decoded(_concat(tables, plan.input.schema))
        extra, keys = sort_keys(data, every=True)
        kt = pa.table(extra)
        live = [k for k in keys if kt.schema.field(k[0]).type != pa.null()]
        idx = pc.sort_indices(kt, sort_keys=live) if live else None
        both = pa.Table.from_arrays([*data.columns, *kt.columns],
                                    names=[*names, *("$spill" + k for k in kt.column_names)])
        return both if idx is None else both.take(idx)

    try:
        for piece in stream(plan.input, ctx):
            todo = [piece if isinstance(piece, pa.Table) else pa.table(piece)]
            while todo:
                p = todo.pop()
                b = 3 * table_bytes(p)
                if held.try_grow(b):
                    pieces.append(p)
                    continue
                if pieces:  # write out what is held, then try again
                    runs.write(run_of(pieces))
                    pieces = []
                    held.release()
                    todo.append(p)
                    continue
                room = t.limit - t.used
                rows = p.num_rows * max(room, 0) // max(b, 1)
                if rows < spill.MIN_RUN_ROWS or p.num_columns == 0:
                    held.grow(b)  # runs this short would not do: MemoryLimitError
                    pieces.append(p)
                    continue
                todo.extend(p.slice(i, rows) for i in
                            reversed(range(0, p.num_rows, rows)))
        if not runs.count:
            return pieces, None
        if pieces:  # written too: the merge holds blocks of the runs, not whole runs
            runs.write(run_of(pieces))
            pieces = []
        held.release()
        mapped = runs.read()
        keys = [k for i, key in enumerate(plan.keys) for k in (
            (f"$spill$null{i}", "descending" if key.nulls_first else "ascending"),
            (f"$spill$key{i}", "descending" if key.desc else "ascending"))]
        ctx.op(plan).extra["kernel"] = (f"external sort: {runs.count} sorted run(s) "
                                        f"spilled, {format_size(runs.bytes)}")
        return [], spill.merge(mapped, names, keys, held)
    finally:
        runs.close()


def _topn_column(plan: Sort, node: Plan, chain: list[Plan]) -> str | None:
    """The scan column behind the first sort key of a top-N, when its zone maps can bound
    morsels (integers, decimals, dates, timestamps; NULLs last), else None."""
    k = plan.keys[0]
    if not isinstance(node, Scan) or k.nulls_first or not isinstance(k.expr, Col) or \
            not hasattr(node.source, "zones") or node.index is not None:
        return None
    name = k.expr.name
    for op in reversed(chain):
        if isinstance(op, Project):
            e = dict(op.exprs).get(name)
            if not isinstance(e, Col):
                return None
            name = e.name
    t = node.source.types().get(name)
    # floats are left out: zone maps ignore NaN, which sorts above every number
    if t is None or t.kind not in ("int", "decimal", "date", "timestamp") or \
            t.wide or str(t.arrow) == "uint64" or node.source.is_dictionary(name):
        return None
    return name


def _bounded_top(plan: Sort, scan: Scan, chain: list[Plan], ctx: Context, top: int,
                 column: str, sink, order) -> pa.Table:
    """Top-N guided by zone maps: morsels run best-bound first (their max for DESC, min for
    ASC), and stop once the N-th row found beats every remaining morsel's bound."""
    from mapdb.storage.zonemap import ZONE_ROWS
    desc = plan.keys[0].desc
    morsels = plan_morsels(scan, ctx)
    zones = scan.source.zones(column)
    rows = scan.source.segment_rows()

    def bound(m: Morsel):
        z = zones[m.segment][m.start // ZONE_ROWS:(m.stop + ZONE_ROWS - 1) // ZONE_ROWS]
        first = m.start // ZONE_ROWS
        counts = np.minimum(ZONE_ROWS, rows[m.segment] - (first + np.arange(len(z))) * ZONE_ROWS)
        real = z[:, 2] < counts
        if not real.any():
            return None
        vals = z[real, 1 if desc else 0]
        return float(vals.max() if desc else vals.min())

    bounds = [(bound(m), m) for m in morsels]
    known = sorted((b for b in bounds if b[0] is not None), key=lambda b: b[0], reverse=desc)
    ordered = known + [b for b in bounds if b[0] is None]
    best = None
    step = max(ctx.workers * 4, 4)
    done = 0
    while done < len(ordered):
        batch = [m for _, m in ordered[done:done + step]]
        done += len(batch)
        parts = list(run_pipeline(scan, chain, ctx, sink=sink, morsels=batch))
        best = order(_concat(([best] if best is not None else []) + parts,
                             plan.input.schema), top)
        if best.num_rows >= top and done < len(ordered) and ordered[done][0] is not None:
            kth = _number(best.column(plan.keys[0].expr.name)[top - 1])
            nxt = ordered[done][0]
            if kth is not None and (nxt < kth if desc else nxt > kth):
                break
    ctx.op(scan).extra["kernel"] = (ctx.op(scan).extra.get("kernel", "") +
                                    f"; top-N read {done} of {len(ordered)} morsels").lstrip("; ")
    return best if best is not None else _concat([], plan.input.schema)


def _number(v: pa.Scalar) -> float | None:
    if not v.is_valid:
        return None
    if pa.types.is_date32(v.type):
        return float(v.cast(pa.int32()).as_py())
    if pa.types.is_timestamp(v.type):
        return float(v.cast(pa.int64()).as_py())
    return float(v.as_py())


# -- aggregate ----------------------------------------------------------------------------

def _agg_input(a: Agg, batch: Batch, n: int) -> pa.Array | None:
    if a.arg is None:
        return None
    v = decode(evaluate(a.arg, batch, n))
    t = a.arg.type
    if a.fn in ("sum", "avg"):
        if t.kind == "decimal" and not t.wide:
            return to_decimal128(v, t.scale)
        if t.kind in ("int", "bool"):  # (uint64 straight: it may not fit an int64)
            return pc.cast(v if v.type == pa.uint64() else pc.cast(v, pa.int64()),
                           pa.decimal128(38, 0))
    if a.fn.startswith(("var", "stddev")):
        if t.kind == "decimal" and not t.wide:
            return pc.divide(pc.cast(v, pa.float64(), safe=False), float(10 ** t.scale))
        return pc.cast(v, pa.float64(), safe=False)  # (BIGINTs past 2**53 round)
    if a.fn in ("min", "max") and t.kind == "float":
        # Arrow's min/max skip NaN; DuckDB's NaN is above every number (max is NaN)
        return float_key(v, zero=False)
    return v


def _empty_input_type(a: Agg) -> pa.DataType:
    """The type of an aggregate's input column when there are no rows (min/max keep their
    argument's: DuckDB's max of no BIGINT is a BIGINT NULL)."""
    t = a.arg.type
    if a.fn in ("min", "max") and t.kind not in ("null", "interval"):
        return pa.int64() if t.kind == "float" else t.arrow
    if a.fn in functions_catalog.AGGREGATES:
        return t.arrow
    return pa.float64()


def _min_max_out(a: Agg, v):
    """The min/max column of the aggregate's type (floats come back from their keys)."""
    if a.arg.type.kind == "float":
        return from_float_key(v, a.type.arrow)
    return decode(v) if pa.types.is_dictionary(v.type) else v


_ARROW_AGG = {"sum": "sum", "avg": "sum", "min": "min", "max": "max", "count": "count",
              "count_distinct": "count_distinct", "var_samp": "variance",
              "var_pop": "variance", "stddev_samp": "stddev", "stddev_pop": "stddev"}


def aggregate(plan: Aggregate, ctx: Context) -> pa.Table:
    """The grouped (or whole-input) aggregate, its state charged to a "hash aggregate"
    reservation while it runs (the caller charges the result it keeps)."""
    what = "hash aggregate" + (" (COUNT DISTINCT)" if any(
        a.fn == "count_distinct" for _, a in plan.aggs) else "")
    with ctx.memory.reservation(what) as held:
        out = _aggregate(plan, ctx, held)
        held.grow(table_bytes(out))  # the result, while the state it came from is alive
        return out


def _charged(sink, held: Reservation, per_row: int = 0, factor: int = 1):
    """``sink``, charging ``held`` with what each morsel's result keeps (its Arrow or
    numpy buffers; ``factor`` times: the merge's copies of it), plus ``per_row`` bytes per
    input row for state a sink keeps aside."""
    def run(batch: Batch, n: int):
        out = sink(batch, n)
        held.grow(per_row * n + factor * _kept_bytes(out))
        return out
    return run


def _kept_bytes(out) -> int:
    if isinstance(out, pa.Table | dict):
        return table_bytes(out)
    if hasattr(out, "__dict__"):  # arrayagg's parts: numpy arrays, dicts of them
        return sum(v.nbytes if isinstance(v, np.ndarray) else
                   sum(a.nbytes for a in v.values() if isinstance(a, np.ndarray))
                   if isinstance(v, dict) else 0 for v in vars(out).values())
    return 0


def _aggregate(plan: Aggregate, ctx: Context, held: Reservation) -> pa.Table:
    """Run the algorithm ``physical.aggregate_algorithm`` picks (the one EXPLAIN shows); a
    dense or sorted path that finds its guarantee broken gives way to the hash paths."""
    alg = physical.aggregate_algorithm(plan, ctx.fused)
    if alg.kind == "fused":
        out = fused.run_aggregate(plan, ctx, alg.detail)
        held.grow(table_bytes(out))  # (per-worker kernel state, checked once it is merged)
        return out
    t0 = time.perf_counter()
    keys, aggs = plan.keys, plan.aggs
    # dense arrays: a span of accumulators per worker, and each morsel's keys and values
    # buffered until they are added
    dense = 8 * (1 + 2 * len(aggs))

    def stream_input(sink, per_row: int = 0, factor: int = 1):
        return stream(plan.input, ctx, sink=_charged(sink, held, per_row, factor))
    out = None
    if alg.kind == "sorted":
        # (the runs, their concatenation, and the merged groups' arrays)
        out = arrayagg.run_sorted(plan, lambda sink: stream_input(sink, factor=3))
    elif alg.kind in ("dense", "dense_keys"):
        lo, hi = alg.detail if alg.kind == "dense" else (0, alg.detail.span - 1)
        held.grow(min(ctx.workers, 64) * dense * (hi - lo + 1))
        out = arrayagg.run_dense(plan, (lo, hi) if alg.kind == "dense" else (0, 0),
                                 lambda sink: stream_input(sink, dense),
                                 domain=alg.detail if alg.kind == "dense_keys" else None)
    elif alg.kind == "string_codes":
        out = arrayagg.run_dense(plan, (0, 0), lambda sink: stream_input(sink, dense),
                                 StringCodes([keys[0][0]]))
    elif alg.kind == "count_distinct":
        out = _count_distinct(plan, ctx, held) if aggs[0][1].arg.type.kind != "string" \
            else _count_distinct_strings(plan, ctx, held)
    if out is not None:
        if alg.kind != "count_distinct":
            ctx.op(plan).extra["kernel"] = alg.describe()
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
        return out

    codes = StringCodes(string_keys(keys))

    def partial(batch: Batch, n: int) -> pa.Table:
        cols = {}
        for name, e in keys:
            cols[name] = codes.encode(name, evaluate(e, batch, n)) if name in codes.spaces \
                else decode(evaluate(e, batch, n))
            if e.type.kind == "float" and not (isinstance(e, Call) and e.op == "canonical"):
                cols[name] = canonical_float(cols[name])  # frames' keys: -0.0 = 0.0, NaN
        for name, a in aggs:
            v = _agg_input(a, batch, n)
            if v is not None:
                cols[name] = v
        if not cols:
            cols["$n"] = pa.nulls(n, pa.bool_())
        t = pa.table(cols) if n or cols else pa.table({})
        if distinct_only and t.num_rows:
            # COUNT(DISTINCT x) alone: each morsel keeps its distinct (keys, x) once, so
            # the final hash aggregate sees far fewer rows (often sorted/clustered data)
            t = t.group_by(t.column_names, use_threads=False).aggregate([])
        return t

    distinct_only = bool(aggs) and all(a.fn == "count_distinct" for _, a in aggs) and \
        len({a.arg for _, a in aggs}) == 1 and len(aggs) == 1
    if alg.kind == "distinct_sort":
        # each morsel's packed columns (int64 and a mask), then their concatenation
        per_row = 2 * 9 * (len(keys) + 1)
        out, packed = arrayagg.run_distinct(plan, codes.encode, lambda sink: stream(
            plan.input, ctx, sink=_charged(sink, held, per_row)))
        out = codes.decode(out)
        ctx.op(plan).extra["kernel"] = "sorted packed keys (no hashing)" if packed else \
            "keys too wide to pack: hashed"
        ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
        return out
    if alg.kind == "two_phase" or (alg.kind != "hash" and aggs and
                                   all(a.fn in physical.MERGEABLE for _, a in aggs)):
        out = _two_phase(plan, ctx, partial, held)
        if out is not None:
            out = codes.decode(out)
            ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
            return out
    parts = list(stream(plan.input, ctx, sink=_charged(partial, held)))
    schema = [(n, SqlType("x", arrow=e.type.arrow)) for n, e in keys]
    table = _concat_any(parts)
    if table is not None:  # the hash table and the groups' lists/results: about its size
        held.grow(table_bytes(table))
    out = codes.decode(_group(table, keys, aggs, schema))
    ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
    return out


_PROBE_MORSELS = 4  # grouped morsels before deciding whether grouping them pays
_UNGROUPED = 0.9  # more groups than this fraction of their rows: pass the rest ungrouped
# (at 0.5, GROUP BY id6 of the h2o q5, 100,000 groups of 10M rows, 56% per morsel, lost the
# parallel partial grouping and took 3x as long)
_SUM_OPTS = pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)
_COUNT_OPTS = pc.CountOptions(mode="only_valid")


def _two_phase(plan: Aggregate, ctx: Context, rows_of, held: Reservation
               ) -> pa.Table | None:
    """Aggregates that merge (sum, count, min, max, avg as sum and count): each morsel is
    grouped on its worker (Arrow's hash aggregate, no GIL), and the merge groups the
    partial rows, not the input rows. None when there were no rows (the caller's one-pass
    path gives the empty result its types)."""
    keys, aggs = plan.keys, plan.aggs
    key_names = [n for n, _ in keys]
    specs = []  # (input column or [], Arrow function, options, partial column name)
    for name, a in aggs:
        if a.fn == "count_star":
            specs.append(([], "count_all", None, f"{name}#n"))
        elif a.fn == "count":
            specs.append((name, "count", _COUNT_OPTS, f"{name}#n"))
        elif a.fn in ("sum", "avg"):
            specs.append((name, "sum", _SUM_OPTS, f"{name}#s"))
            if a.fn == "avg":
                specs.append((name, "count", _COUNT_OPTS, f"{name}#n"))
        else:
            specs.append((name, a.fn, _SUM_OPTS, f"{name}#m"))

    # Morsels whose rows are nearly all distinct groups gain nothing from grouping twice:
    # once the first morsels show that, the rest pass their rows on as partials of one
    # row each (the partial columns' types as the grouped morsels gave them)
    seen = {"rows": 0, "groups": 0, "morsels": 0, "types": None}
    lock = threading.Lock()

    def ungrouped(t: pa.Table, types: dict) -> pa.Table:
        cols = {k: t.column(k) for k in key_names}
        for c, f, _, out in specs:
            if f == "count_all":
                v = pa.array(np.ones(t.num_rows, np.int64))
            elif f == "count":
                v = pc.cast(pc.is_valid(t.column(c)), pa.int64())
            else:
                v = t.column(c)
            cols[out] = v if v.type == types[out] else pc.cast(v, types[out])
        return pa.table(cols)

    def partial(batch: Batch, n: int) -> pa.Table:
        t = rows_of(batch, n)
        if not n or not t.num_columns:
            return pa.table({})
        with lock:
            types = seen["types"] if seen["morsels"] >= _PROBE_MORSELS and \
                seen["groups"] > _UNGROUPED * seen["rows"] else None
        if types is not None and key_names:
            return ungrouped(t, types)
        g = packedkeys.group_by(
            t, key_names, [(c, f, o) if o is not None else (c, f) for c, f, o, _ in specs])
        cols = {k: g.column(k) for k in key_names}
        for c, f, _, out in specs:
            cols[out] = g.column("count_all" if f == "count_all" else f"{c}_{f}")
        out = pa.table(cols)
        with lock:
            seen["rows"] += t.num_rows
            seen["groups"] += out.num_rows
            seen["morsels"] += 1
            seen["types"] = seen["types"] or {c: out.column(c).type for c in out.column_names}
        return out

    parts = [p for p in stream(plan.input, ctx, sink=_charged(partial, held))
             if p.num_columns]
    if not parts:
        return None
    table = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 \
        else parts[0]
    held.grow(table_bytes(table))  # the merge's hash table and groups: at most as many
    merge = []
    for _, f, _, out in specs:
        fn = "sum" if out.endswith(("#n", "#s")) else f
        merge.append((out, fn, pc.ScalarAggregateOptions(skip_nulls=True, min_count=0
                                                         if out.endswith("#n") else 1)))
    g = packedkeys.group_by(table, key_names, merge)
    col = {out: g.column(f"{out}_{'sum' if out.endswith(('#n', '#s')) else f}")
           for _, f, _, out in specs}
    result = {k: g.column(k) for k in key_names}
    for name, a in aggs:
        if a.fn in ("count", "count_star"):
            result[name] = pc.cast(col[f"{name}#n"], pa.int64())
        elif a.fn == "avg" and pa.types.is_decimal(col[f"{name}#s"].type):
            result[name] = exact.average_of(col[f"{name}#s"], col[f"{name}#n"], a.arg.type)
        elif a.fn == "avg":
            s, c = pc.cast(col[f"{name}#s"], pa.float64()), pc.cast(col[f"{name}#n"],
                                                                     pa.float64())
            result[name] = pc.if_else(pc.equal(c, 0), pa.scalar(None, pa.float64()),
                                      pc.divide(s, c))
        elif a.fn == "sum":
            v = col[f"{name}#s"]
            if a.type.kind == "int":
                try:
                    v = pc.cast(v, pa.int64())
                except pa.ArrowInvalid:
                    raise QueryError(f"{a} overflows a 64-bit integer") from None
            elif a.type.kind == "float":
                v = pc.cast(v, pa.float64())
            result[name] = v
        else:
            result[name] = _min_max_out(a, col[f"{name}#m"])
    return pa.table(result)


def _distinct_rows(t: pa.Table) -> pa.Table:
    """Each distinct row once; LIST, STRUCT and MAP columns compared by their order keys
    (query/nested.py), the first row of each set of equal rows kept."""
    from mapdb.query.types import from_arrow
    nested = [f.name for f in t.schema if pa.types.is_list(f.type) or
              pa.types.is_struct(f.type) or pa.types.is_map(f.type)]
    if not nested:
        return t.group_by(t.column_names, use_threads=False).aggregate([])
    from mapdb.query.nested import sort_key
    keys = {f"k{i}": sort_key(t.column(f.name), from_arrow(f.type)) if f.name in nested
            else t.column(f.name) for i, f in enumerate(t.schema)}
    keys["$row"] = pa.array(np.arange(t.num_rows, dtype=np.int64))
    g = pa.table(keys).group_by([k for k in keys if k != "$row"], use_threads=False
                                ).aggregate([("$row", "min")])
    return t.take(pa.array(np.sort(np.asarray(g.column("$row_min")))))


def _count_distinct(plan: Aggregate, ctx: Context, held: Reservation) -> pa.Table:
    """COUNT(DISTINCT x) of an integer-like x: each worker adds its morsels' values to its
    own hash set (ext DistinctSet, no GIL); the sets merge at the end."""
    from mapdb._ext import DistinctSet
    name, agg = plan.aggs[0]
    local = threading.local()
    sets: list = []
    lock = threading.Lock()

    def sink(batch: Batch, n: int) -> pa.Table:
        v = decode(evaluate(agg.arg, batch, n))
        if v.null_count:
            v = v.drop_null()
        if pa.types.is_date32(v.type):
            v = v.cast(pa.int32())
        v = v.cast(pa.int64())
        if not hasattr(local, "set"):
            local.set = DistinctSet()
            with lock:
                sets.append(local.set)
        before = len(local.set)
        local.set.add(v.to_numpy(zero_copy_only=False))
        held.grow(_SET_BYTES * (len(local.set) - before))
        return pa.table({})

    for _ in stream(plan.input, ctx, sink=sink):
        pass
    held.grow(_SET_BYTES * sum(len(s) for s in sets))  # the merged set, at most
    total = DistinctSet()
    for s in sets:
        total.merge(s)
    return pa.table({name: pa.array([len(total)], pa.int64())})


_SET_BYTES = 16  # per value of an ext DistinctSet (int64 slots, kept at most half full)


def _count_distinct_strings(plan: Aggregate, ctx: Context, held: Reservation) -> pa.Table:
    """COUNT(DISTINCT s) of strings: every morsel's values join one string hash table in
    the extension (storage.dictionary.DictionaryEncoder: hashing without the GIL), whose
    size is the answer (a dictionary morsel adds only the entries its rows use)."""
    from mapdb.storage.dictionary import DictionaryEncoder
    name, agg = plan.aggs[0]
    seen = DictionaryEncoder(pa.array([], pa.large_string()))
    used: dict[tuple, tuple[pa.Array, np.ndarray]] = {}  # a dictionary -> its codes met
    lock = threading.Lock()

    def sink(batch: Batch, n: int) -> pa.Table:
        v = evaluate(agg.arg, batch, n)
        for c in (v.chunks if isinstance(v, pa.ChunkedArray) else [v]):
            if isinstance(c, pa.DictionaryArray):  # mark the codes; their strings at the end
                d = c.dictionary
                key = (len(d), *(b.address if b is not None else 0 for b in d.buffers()))
                codes = np.asarray(c.indices.drop_null(), np.int64)
                hit = np.bincount(codes, minlength=len(d)) > 0
                with lock:
                    if key in used:
                        used[key][1][:] |= hit
                    else:
                        used[key] = (d, hit)
                continue
            with lock:
                before = len(seen)
                c = c.drop_null()
                seen.encode(c)
                new = len(seen) - before
            if new:  # its slot and offset, and the string's bytes (the morsel's average)
                held.grow(new * (24 + (c.nbytes // max(len(c), 1))))
        return pa.table({})

    for _ in stream(plan.input, ctx, sink=sink):
        pass
    for d, hit in used.values():
        seen.encode(d.filter(pa.array(hit)))
    return pa.table({name: pa.array([len(seen)], pa.int64())})


def _concat_any(parts: list[pa.Table]) -> pa.Table | None:
    parts = [p for p in parts if p.num_columns]
    if not parts:
        return None
    return pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]


def _group(table: pa.Table | None, keys, aggs, schema) -> pa.Table:
    key_names = [n for n, _ in keys]
    specs, finals = [], []
    # integer keys pack: each row's group is found for catalog aggregates that take rows
    # in any order, instead of gathering every group's rows together
    numbered = bool(key_names) and table is not None and \
        all(packedkeys.int_key(table.column(k).type) for k in key_names)
    for name, a in aggs:
        if a.fn == "count_star":
            specs.append(([], "count_all"))
            finals.append((name, a, "count_all"))
            continue
        if a.fn.startswith(("var", "stddev")):  # DuckDB's (Welford), see query/variance.py
            if key_names:
                specs.append((name, "list"))
            finals.append((name, a, f"{name}_list" if key_names else None))
            continue
        if a.fn in functions_catalog.AGGREGATES:  # a group's values together: row numbers
            if key_names and not (numbered and aggregate_functions.order_free(a)) and \
                    ("$row", "list") not in specs:
                specs.append(("$row", "list"))
            finals.append((name, a, "$row_list" if key_names else None))
            continue
        fn = _ARROW_AGG[a.fn]
        opts = None
        if a.fn in ("count", "count_distinct"):
            opts = pc.CountOptions(mode="only_valid")
        elif a.fn in ("var_samp", "stddev_samp"):
            opts = pc.VarianceOptions(ddof=1)
        elif a.fn in ("var_pop", "stddev_pop"):
            opts = pc.VarianceOptions(ddof=0)
        elif a.fn in ("sum", "avg", "min", "max"):
            opts = pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)
        specs.append((name, fn, opts) if opts is not None else (name, fn))
        finals.append((name, a, f"{name}_{fn}"))
        if a.fn == "avg":
            specs.append((name, "count", pc.CountOptions(mode="only_valid")))
            finals[-1] = (name, a, (f"{name}_{fn}", f"{name}_count"))
    if table is None:  # no rows at all: the aggregates' inputs still need their types
        table = pa.table({n: pa.array([], t.arrow) for n, t in schema} | {
            name: pa.array([], _empty_input_type(a)) for name, a in aggs if a.arg is not None})
    if key_names and any(a.fn in functions_catalog.AGGREGATES for _, a, _ in finals):
        table = table.append_column("$row", pa.array(np.arange(table.num_rows)))
    catalog_aggs = [a for _, a, _ in finals if a.fn in functions_catalog.AGGREGATES]
    g, gid = packedkeys.grouped_rows(table, key_names, specs, numbered and any(
        aggregate_functions.order_free(a) for a in catalog_aggs))
    if key_names and ("$row", "list") not in specs and any(
            gid is None or not aggregate_functions.order_free(a) for a in catalog_aggs):
        # ranges past 63 bits did not pack: every group's rows gathered after all
        specs.append(("$row", "list"))
        g = packedkeys.group_by(table, key_names, specs)
    cols = {n: g.column(n) for n in key_names}
    for name, a, col in finals:
        if a.fn.startswith(("var", "stddev")):
            cols[name] = variance.finish(a.fn, g.column(col) if col else table.column(name))
            continue
        if a.fn in functions_catalog.AGGREGATES:
            if col is None:  # no GROUP BY: one group of every row
                cols[name] = aggregate_functions.finish(
                    a, table.column(name), np.zeros(table.num_rows, np.int64), 1)
                continue
            if gid is not None and aggregate_functions.order_free(a):
                cols[name] = aggregate_functions.finish(a, table.column(name), gid,
                                                        g.num_rows)
                continue
            rows = g.column(col).combine_chunks()
            group = np.repeat(np.arange(len(rows)), np.diff(np.asarray(rows.offsets)))
            cols[name] = aggregate_functions.finish(a, table.column(name).take(rows.flatten()),
                                                    group, len(rows))
            continue
        if a.fn == "avg" and pa.types.is_decimal(g.column(col[0]).type):  # ints too
            cols[name] = exact.average_of(g.column(col[0]), g.column(col[1]), a.arg.type)
            continue
        if a.fn == "avg":
            s, c = g.column(col[0]), g.column(col[1])
            s = pc.cast(s, pa.float64())
            cols[name] = pc.divide(s, pc.cast(c, pa.float64()))
            cols[name] = pc.if_else(pc.equal(c, 0), pa.scalar(None, pa.float64()), cols[name])
            continue
        v = g.column(col)
        if a.fn == "sum" and a.type.kind == "int":
            try:
                v = pc.cast(v, pa.int64())
            except pa.ArrowInvalid:
                raise QueryError(f"{a} overflows a 64-bit integer") from None
        if a.fn == "sum" and a.type.kind == "float":
            v = pc.cast(v, pa.float64())
        if a.fn == "sum" and a.type.kind == "decimal" and not pa.types.is_decimal(v.type) \
                and v.null_count == len(v):  # no rows (a double input): NULLs of its type
            v = pa.nulls(len(v), a.type.arrow)
        if a.fn in ("min", "max"):
            v = _min_max_out(a, v)
        cols[name] = v
    if not cols:
        return pa.table({"$n": pa.array([None] * g.num_rows, pa.null())})
    return pa.table(cols)


# what the TopN operator runs with (query/topn.py never imports the executor)
_TOPN_OPS = topn.Ops(sort=sort, concat=_concat, apply=_apply, kernel_filter=KernelFilter)
