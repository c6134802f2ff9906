"""Top-N: ORDER BY ... LIMIT n [OFFSET m] with a small n + m as one operator (plan.TopN).

The optimizer rewrites Limit over Sort into TopN when n + m is at most TOPN_MAX
(``optimizer.top_n``). Over a scan with filters and projections above it (the common case) it
runs keys first (``_KeyScan``):

- only the columns the sort keys and the filters read are scanned; each batch keeps its
  n + m best rows (Arrow's select_k) as (sort keys, segment, row) and the candidates are
  merged into a running best n + m;
- the current (n + m)-th value of the first key is a threshold: a batch's rows that
  cannot reach it are dropped before the other keys are evaluated, and when the first
  key is a column with zone maps (integers, decimals, dates, timestamps, floats, plain
  strings by their 8-byte prefix), blocks run best bound first and a block whose min/max
  cannot reach the threshold is never read;
- the other columns are gathered only for the winning rows (late materialization), and
  the projections above the scan run on those rows alone.

Ties are broken by position (segment, row), so the rows are exactly those the full,
stable sort gives. NULLs go where the key says (NULLS FIRST/LAST), NaN above every number
(evaluate.float_key). Any other input (joins, aggregates, ...) is materialized and the
top-N kept batch by batch (executor.sort).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.query import intervals
from mapdb.query.evaluate import decode, evaluate, float_key, from_float_key
from mapdb.query.expr import Col, Expr, replace
from mapdb.query.pipelines import pipeline
from mapdb.query.plan import Filter, Plan, Project, Scan, Sort, SortKey, TopN

_INT_ZONES = ("int", "decimal", "date", "timestamp")
_SEG_SHIFT = 40  # a row's position as one int64: segment << 40 | row


# -- planning: is the input a scan the keys-first path can run? ---------------------

class _Shape:
    """The keys-first path's view of a TopN over scan -> filters/projections: the sort
    keys and the filters as expressions over the scan's columns."""

    def __init__(self, scan: Scan, chain: list[Plan], keys: list[Expr],
                 filters: list[Expr]):
        self.scan, self.chain, self.keys, self.filters = scan, chain, keys, filters
        self.zone_column = _zone_column(scan, keys[0]) if keys else None


def _shape(plan: TopN) -> _Shape | None:
    node, chain = pipeline(plan.input)
    if not isinstance(node, Scan) or (node.index is not None and node.index.kind == "hash"):
        return None
    mapping: dict[Expr, Expr] = {}
    filters: list[Expr] = []
    for op in chain:
        if isinstance(op, Filter):
            filters.append(replace(op.predicate, mapping) if mapping else op.predicate)
        elif isinstance(op, Project):
            mapping = {Col(n, e.type): (replace(e, mapping) if mapping else e)
                       for n, e in op.exprs}
        else:
            return None  # a join: the general path
    keys = [replace(k.expr, mapping) if mapping else k.expr for k in plan.keys]
    have = set(node.columns)
    if any(not e.columns() <= have for e in keys + filters):
        return None
    return _Shape(node, chain, keys, filters)


def _zone_column(scan: Scan, key: Expr) -> str | None:
    """The scan column that is the first sort key, when its zone maps can bound a block's
    best value on the key's scale; else None."""
    src = scan.source
    if not isinstance(key, Col) or not hasattr(src, "zones") or not hasattr(src, "take"):
        return None
    t = src.types().get(key.name)
    if t is None or src.is_dictionary(key.name) or getattr(t, "wide", False):
        return None
    if t.kind in _INT_ZONES and str(t.arrow) != "uint64":
        return key.name
    if t.kind in ("float", "string"):
        return key.name
    return None


def strategy(plan: TopN) -> str:
    """How the TopN will run (EXPLAIN)."""
    k = plan.limit + plan.offset
    shape = _shape(plan)
    if shape is None:
        return f"bounded selection of {k:,} rows per batch of its input, then merged"
    s = (f"keys first: scan {shape.scan.source.name} for the sort keys only, keep the "
         f"best {k:,} per batch")
    if shape.zone_column is not None:
        s += (f", zone maps of {shape.zone_column} order the blocks and skip those that "
              "cannot enter")
    return s + "; the other columns gathered for the winning rows only"


# -- execution ------------------------------------------------------------------------

@dataclass(frozen=True)
class Ops:
    """The executor's operators TopN runs with, handed in by the executor (which imports
    this module; importing it back would be a cycle)."""
    sort: Callable  # (Sort, top, ctx) -> table: the general (bounded) sort
    concat: Callable  # (tables, schema) -> table
    apply: Callable  # (chain, batch, n, ctx) -> (batch, n): a pipeline's steps on a batch
    kernel_filter: type  # the fused filter over gathered rows


def execute(plan: TopN, ctx, ex: Ops) -> pa.Table:
    """The TopN's rows (internal names), in order."""
    t0 = time.perf_counter()
    k = plan.offset + plan.limit
    shape = _shape(plan) if k else None
    if k == 0:
        out = ex.concat([], plan.schema)
    elif shape is None:
        t = ex.sort(Sort(plan.input, plan.keys), k, ctx)
        out = t.slice(plan.offset, plan.limit)
        ctx.op(plan).extra["kernel"] = f"bounded selection of {k:,} per batch"
    else:
        out = _KeyScan(plan, shape, ctx, ex).run()
    ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
    return out


def _key_array(v: pa.Array) -> pa.Array:
    """A sort key's values in an order Arrow sorts as DuckDB does (floats as
    float_key: NaN above +inf, -0.0 = 0.0)."""
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    v = decode(v)
    if pa.types.is_floating(v.type):
        v = float_key(v)
    elif pa.types.is_interval(v.type):  # (Arrow does not sort intervals)
        v = intervals.key(v)
    elif pa.types.is_string(v.type):
        v = v.cast(pa.large_string())
    elif pa.types.is_binary(v.type):
        v = v.cast(pa.large_binary())
    return v


class _KeyScan:
    def __init__(self, plan: TopN, shape: _Shape, ctx, ex: Ops):
        from mapdb.query import fused
        self.plan, self.shape, self.ctx, self.ex = plan, shape, ctx, ex
        self.k = plan.offset + plan.limit
        scan = shape.scan
        self.src = scan.source
        self.kfilter = None
        residual = scan.filter
        if scan.filter is not None and ctx.fused and hasattr(self.src, "gather"):
            compiled = fused.compile_filter(scan)
            if compiled is not None:
                self.kfilter = ex.kernel_filter(*compiled)
                residual = self.kfilter.residual
        self.filters = ([residual] if residual is not None else []) + shape.filters
        # read first: what the filters and the first key need; the other keys' columns
        # only for the rows that pass those and the threshold on the first key
        cols = set(shape.keys[0].columns()) if shape.keys else set()
        for e in self.filters:
            cols |= e.columns()
        self.cols = [c for c in scan.columns if c in cols]
        later = set().union(*(e.columns() for e in shape.keys[1:])) - cols
        self.later = [c for c in scan.columns if c in later]
        self.ranks: dict[int, tuple] = {}  # key -> (dictionary, rank of each code)
        for i, e in enumerate(shape.keys):
            if isinstance(e, Col) and hasattr(self.src, "is_dictionary") and \
                    self.src.is_dictionary(e.name):
                d = self.src.dictionary(e.name)
                if d.null_count == 0:
                    rank = np.empty(len(d), np.int32)
                    rank[pc.sort_indices(d).to_numpy()] = np.arange(len(d), dtype=np.int32)
                    self.ranks[i] = (d, pa.array(rank))
        self.sort_keys: list[tuple[str, str]] = []
        for i, key in enumerate(plan.keys):
            self.sort_keys.append((f"$n{i}", "descending" if key.nulls_first else "ascending"))
            self.sort_keys.append((f"$k{i}", "descending" if key.desc else "ascending"))
        self.sort_keys += [("$seg", "ascending"), ("$row", "ascending")]
        self.rows_read = 0

    # one batch: its best k rows as a key table, or None
    def batch(self, m, threshold) -> pa.Table | None:
        src = self.src
        if self.kfilter is not None:
            rows = self.kfilter.select(m)
            batch = src.gather(m, self.cols, rows) if len(rows) else {}
            n = len(rows)
        else:
            rows = None
            batch = src.arrays(m, self.cols)
            n = m.rows
        scanned = m.rows
        for f in self.filters:
            if n == 0:
                break
            mask = evaluate(f, batch, n)
            if mask.null_count:
                mask = pc.fill_null(mask, False)
            if mask.true_count != n:
                idx = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
                batch = {c: a.filter(mask) for c, a in batch.items()}
                rows = idx if rows is None else rows[idx]
                n = len(idx)
        if n == 0:
            return self._count(scanned, None)
        keys = self.plan.keys
        first = None
        if keys:
            # the threshold runs on the first key's values (floats: before float_key,
            # which costs more than the comparison), the other keys only on what passes
            raw = evaluate(self.shape.keys[0], batch, n)
            if isinstance(raw, pa.ChunkedArray):
                raw = raw.combine_chunks()
            is_float = pa.types.is_floating(raw.type)
            first = raw if is_float else self.key(0, raw)
            if threshold is not None:
                mask = _reaches(first, keys[0], threshold, is_float)
                if mask is not None and mask.true_count != n:
                    if mask.true_count == 0:
                        return self._count(scanned, None)
                    idx = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
                    first = first.filter(mask)
                    batch = {c: a.filter(mask) for c, a in batch.items()}
                    rows = idx if rows is None else rows[idx]
                    n = len(idx)
            if is_float:
                first = _key_array(first)
        if self.later:
            batch = {**batch, **self.read(m, self.later, rows)}
        cols: dict[str, pa.Array] = {}
        for i in range(len(keys)):
            v = first if i == 0 else self.key(i, evaluate(self.shape.keys[i], batch, n))
            if v.type == pa.null():
                v = pa.nulls(n, pa.int8())
            cols[f"$n{i}"] = pc.is_null(v)
            cols[f"$k{i}"] = v
        pos = np.arange(n, dtype=np.int64) if rows is None else rows.astype(np.int64)
        cols["$seg"] = pa.array(np.full(n, m.segment, np.int32))
        cols["$row"] = pa.array(pos + m.start)
        t = pa.table(cols)
        if n > self.k:
            t = t.take(pc.select_k_unstable(t, k=self.k, sort_keys=self.sort_keys))
        return self._count(scanned, t)

    def read(self, m, cols: list[str], rows: np.ndarray | None) -> dict:
        """Columns of morsel ``m``, only the rows ``rows`` (offsets; None: all)."""
        if rows is None:
            return self.src.arrays(m, cols)
        if hasattr(self.src, "gather"):
            return self.src.gather(m, cols, rows)
        idx = pa.array(rows.astype(np.int64))
        return {c: a.take(idx) for c, a in self.src.arrays(m, cols).items()}

    def key(self, i: int, v: pa.Array) -> pa.Array:
        """Sort key ``i``'s values as _key_array gives them; a dictionary column's as the
        rank of its code in the sorted dictionary (no strings decoded)."""
        if isinstance(v, pa.ChunkedArray):
            v = v.combine_chunks()
        if i not in self.ranks:
            return _key_array(v)
        d, rank = self.ranks[i]
        if isinstance(v, pa.DictionaryArray) and len(v.dictionary) == len(d):
            return rank.take(v.indices)
        return rank.take(pc.index_in(decode(v), value_set=d))  # (not expected: one dict)

    def _count(self, scanned: int, t):
        self.rows_read += scanned  # (a race only costs EXPLAIN ANALYZE a few rows)
        return t

    def merge(self, best, parts: list) -> pa.Table | None:
        parts = ([best] if best is not None else []) + [p for p in parts if p is not None]
        if not parts:
            return None
        t = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 \
            else parts[0]
        if t.num_rows > self.k:
            t = t.take(pc.select_k_unstable(t, k=self.k, sort_keys=self.sort_keys))
        return t.take(pc.sort_indices(t, sort_keys=self.sort_keys))

    def threshold(self, best):
        """The k-th best row so far: its first key's (is NULL, value) and its position
        (see _ZoneBounds.may_enter), or None."""
        if best is None or best.num_rows < self.k or not self.plan.keys:
            return None
        i = self.k - 1
        pos = (best.column("$seg")[i].as_py() << _SEG_SHIFT) + best.column("$row")[i].as_py()
        return bool(best.column("$n0")[i].as_py()), best.column("$k0")[i], pos

    def run(self) -> pa.Table:
        from mapdb.query.morsels import plan_morsels
        from mapdb.query.source import MORSEL_ROWS, PruneStats
        scan, ctx = self.shape.scan, self.ctx
        workers = ctx.workers
        zones = None
        if self.shape.zone_column is not None:
            from mapdb.storage.zonemap import ZONE_ROWS
            prune = PruneStats()
            pending = self.src.morsels(scan.ranges, prune, ZONE_ROWS)
            zones = _ZoneBounds(self.src, self.shape.zone_column, pending,
                                self.plan.keys[0], len(self.plan.keys) == 1)
            order = zones.order()
            pending = [pending[i] for i in order]
            ids = list(order)
            total_blocks = len(pending)
            st = ctx.op(scan)
            st.extra["blocks"] = prune.blocks
        else:
            pending = plan_morsels(scan, ctx)
            ids = list(range(len(pending)))
        best = None
        read_blocks = 0
        # a few of the best blocks give the first threshold; each round after it reads
        # twice as many of those that may still enter (re-checked against the threshold)
        step = max(2 * workers, 4)
        while pending:
            th = self.threshold(best)
            if zones is not None and th is not None:
                keep = zones.may_enter(np.array(ids, np.int64), th)
                pending = [m for m, y in zip(pending, keep, strict=True) if y]
                ids = [i for i, y in zip(ids, keep, strict=True) if y]
                if not pending:
                    break
                if len(pending) > 64 * workers and read_blocks >= 16 * workers:
                    # rounds went by and the bounds still do not cut (a first key of few
                    # values: its ties decide by the next key): the rest in position order,
                    # whole morsels
                    pending = _coalesce(pending, MORSEL_ROWS)
                    read_blocks += sum((m.rows + ZONE_ROWS - 1) // ZONE_ROWS for m in pending)
                    zones = None
                    ids = list(range(len(pending)))
                    step = max(8 * workers, 8)
            take, pending, ids = pending[:step], pending[step:], ids[step:]
            if zones is not None:
                read_blocks += len(take)
            parts = list(ctx.pool.map(lambda m, th=th: self.batch(m, th), take))
            best = self.merge(best, parts)
            step = min(step * 2, 16 * workers)
        st = ctx.op(scan)
        st.extra["rows_scanned"] = st.extra.get("rows_scanned", 0) + self.rows_read
        st.add(self.rows_read, 0.0)
        note = f"top-N: sort keys of {self.rows_read:,} rows read"
        if self.shape.zone_column is not None:
            st.extra["blocks_skipped"] = st.extra.get("blocks", 0) - read_blocks
            note += (f" ({read_blocks:,} of {total_blocks:,} blocks, zone maps ruled out "
                     "the others)" if read_blocks < total_blocks else
                     f" (all {total_blocks:,} blocks: zone maps ruled out none)")
        st.extra["kernel"] = note
        winners = best.slice(self.plan.offset, self.plan.limit) if best is not None else None
        out = self.gather(winners)
        ctx.op(self.plan).extra["kernel"] = (f"{note}; other columns gathered for "
                                             f"{out.num_rows:,} rows")
        return out

    def gather(self, winners) -> pa.Table:
        """The output rows for the winners (late materialization): the scan's output
        columns read at their positions, then the projections above the scan."""
        ex = self.ex
        plan, scan = self.plan, self.shape.scan
        if winners is None or winners.num_rows == 0:
            return ex.concat([], plan.schema)
        segs = winners.column("$seg").to_numpy()
        rows = winners.column("$row").to_numpy()
        cols = scan.output
        pieces: dict[str, list] = {c: [] for c in cols}
        placed = []
        for s in np.unique(segs):
            at = np.flatnonzero(segs == s)
            at = at[np.argsort(rows[at], kind="stable")]
            got = self._fetch(int(s), cols, rows[at])
            for c in cols:
                pieces[c].append(decode(got[c]))
            placed.append(at)
        where = np.concatenate(placed)
        perm = pa.array(np.argsort(where, kind="stable"))  # rank -> place in the pieces
        batch = {c: pa.concat_arrays(p).take(perm) if len(p) > 1 else p[0].take(perm)
                 for c, p in pieces.items()}
        n = len(rows)
        batch, n = ex.apply(self.shape.chain, batch, n, self.ctx)
        names = [c for c, _ in plan.schema]
        return pa.table({c: batch[c] for c in names}) if names else pa.table({})

    def _fetch(self, segment: int, cols: list[str], rows: np.ndarray) -> dict:
        if hasattr(self.src, "take"):
            return self.src.take(segment, cols, rows)
        from mapdb.query.source import Morsel
        whole = self.src.arrays(Morsel(segment, 0, self.src.row_count), cols)
        idx = pa.array(rows)
        return {c: a.take(idx) for c, a in whole.items()}


def _reaches(v: pa.Array, key: SortKey, threshold, is_float: bool = False
             ) -> pa.BooleanArray | None:
    """Rows of the first key ``v`` that can be among the best given the k-th best so far
    (ties can: a later key or the position may still put them ahead); None: all.
    ``is_float``: ``v`` holds the floats themselves (the threshold is their float_key;
    NaN above every number)."""
    null, value = threshold[:2]
    if null:
        return pc.is_null(v) if key.nulls_first else None
    if not value.is_valid:
        return None
    if is_float:
        f = from_float_key(pa.array([value.as_py()], pa.int64()), pa.float64())[0].as_py()
        if math.isnan(f):  # only NaN ties it DESC; ASC everything but a last NULL does
            if not key.desc:
                return None if key.nulls_first else pc.is_valid(v)
            cmp = pc.is_nan(v)
        elif key.desc:
            cmp = pc.or_(pc.greater_equal(v, f), pc.is_nan(v))
        else:
            cmp = pc.less_equal(v, f)
    else:
        cmp = pc.greater_equal(v, value) if key.desc else pc.less_equal(v, value)
    if cmp.null_count:
        cmp = pc.fill_null(cmp, key.nulls_first)
    return cmp


def _coalesce(morsels: list, rows: int) -> list:
    """Zone-sized morsels back in position order, adjacent ones joined up to ``rows``."""
    from mapdb.query.source import Morsel
    out: list = []
    for m in sorted(morsels, key=lambda m: (m.segment, m.start)):
        last = out[-1] if out else None
        if last is not None and last.segment == m.segment and last.stop == m.start and \
                last.rows + m.rows <= rows:
            out[-1] = Morsel(m.segment, last.start, m.stop)
        else:
            out.append(m)
    return out


class _ZoneBounds:
    """Per zone-sized morsel of the first key's column: whether it has NULLs, whether it
    has values, and its best value (max for DESC, min for ASC) on the key's scale."""

    def __init__(self, src, column: str, morsels: list, key: SortKey, single: bool):
        from mapdb.storage.zonemap import ZONE_ROWS
        self.key = key
        self.single = single  # the first key is the only one: ties go by position
        t = src.types()[column]
        self.kind = t.kind
        self.exact_ties = single and t.kind != "string"  # strings: 8-byte prefixes only
        zones = src.zones(column)
        seg_rows = src.segment_rows()
        segs = src.snapshot.manifest.segments
        seg = np.fromiter((m.segment for m in morsels), np.int64, len(morsels))
        start = np.fromiter((m.start for m in morsels), np.int64, len(morsels))
        self.pos = (seg << _SEG_SHIFT) + start
        first_block = np.cumsum([0] + [len(x) for x in zones[:-1]]).astype(np.int64)
        block = start // ZONE_ROWS
        z = np.concatenate(zones)[first_block[seg] + block] if len(seg) else \
            np.empty((0, 3), np.int64)
        counts = np.minimum(ZONE_ROWS, np.asarray(seg_rows, np.int64)[seg] - block * ZONE_ROWS)
        # float maxima that leave NaN out (zone map version 2)
        old_float = np.array([x.zonemap < 3 for x in segs], bool)[seg]
        self.has_nulls = z[:, 2] > 0
        self.has_values = z[:, 2] < counts
        col = z[:, 1] if key.desc else z[:, 0]
        if self.kind == "float":
            fk = float_key(pa.array(col.view(np.float64)))
            bound = fk.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            if key.desc:  # a block's NaN may not show in an old map's max: always read
                bound = np.where(old_float, np.iinfo(np.int64).max, bound)
            self.bound = bound
        else:
            self.bound = col.copy()

    def order(self) -> np.ndarray:
        """Blocks best bound first (NULLs first: blocks with NULLs before the rest; NULLs
        last: blocks of only NULLs at the end), ties in position order."""
        b = -self.bound if self.key.desc else self.bound.copy()
        if self.key.desc:
            b = np.where(self.bound == np.iinfo(np.int64).min, np.iinfo(np.int64).max, b)
        group = np.where(self.has_values, 1, 2)
        if self.key.nulls_first:
            group = np.where(self.has_nulls, 0, group)
        return np.lexsort((np.arange(len(b)), b, group))

    def scale(self, value: pa.Scalar) -> int:
        """A first-key value (as _key_array gives it) on the zone map's scale."""
        if self.kind == "string":
            from mapdb.storage.zonemap import _prefix
            return _prefix(value.as_py())
        t = value.type
        if pa.types.is_date32(t):
            return int(value.cast(pa.int32()).as_py())
        if pa.types.is_timestamp(t) or pa.types.is_date64(t):
            return int(value.cast(pa.int64()).as_py())
        return int(value.as_py())

    def may_enter(self, ids: np.ndarray, threshold) -> np.ndarray:
        """Which of the blocks ``ids`` may hold a row that sorts before the k-th best so
        far. A row equal to it on the first key may (a later key or its position decides),
        unless the first key is the only one and the block starts after the k-th row:
        then every tie loses on position (NULLs and NaN alike: the first NaN rows, say, are
        found in the first blocks that hold one)."""
        null, value, kpos = threshold
        nulls, values = self.has_nulls[ids], self.has_values[ids]
        early = self.pos[ids] < kpos
        if null:
            if not self.single:
                return nulls if self.key.nulls_first else np.ones(len(ids), bool)
            return nulls & early if self.key.nulls_first else values | (nulls & early)
        v = self.scale(value)
        b = self.bound[ids]
        if self.exact_ties:
            beats = (b > v) if self.key.desc else (b < v)
            ok = values & (beats | ((b == v) & early))
        else:
            ok = values & ((b >= v) if self.key.desc else (b <= v))
        if self.key.nulls_first:
            ok |= nulls
        return ok
