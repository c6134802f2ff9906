"""GROUP BY a column the table is sorted by: each morsel's groups are runs of equal keys,
summed with ``np.add.reduceat`` (no hashing), and the morsels' runs, in order, merge the
same way (a group split by a morsel boundary is two adjacent runs).

TPC-H lineitem is stored in l_orderkey order, so Q18's ``GROUP BY l_orderkey`` (60 million
rows into 15 million groups at scale factor 10) takes this path instead of a hash
aggregate. Taken when the one key is a stored integer or date column with a sorted
attribute (storage/index.py: non-decreasing over the segments, no NULLs), reached from the
scan through filters, projections and joins that keep the scan's row order (TPC-H Q11's
partsupp joined with one nation's suppliers, grouped by ps_partkey), and every aggregate
is COUNT(*), COUNT, SUM or AVG of an integer, decimal (up to 18 digits) or float
expression. Sums are exact in int64 while a bound on them (the sum of absolute values)
stays below 2**62; past it the caller's hash aggregate runs instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mapdb.query.evaluate import decode, evaluate, to_decimal128
from mapdb.query.expr import Col, Expr, replace
from mapdb.query.plan import Aggregate, Filter, Join, Project, Scan

_LIMIT = float(1 << 62)


class _Overflow(Exception):
    pass


def _scan_column(plan: Aggregate, chain: list, e: Expr) -> str | None:
    """The scan column ``e`` is, through the chain's projections (None: computed)."""
    for op in reversed(chain):
        if isinstance(op, Project):
            e = replace(e, {Col(n, x.type): x for n, x in op.exprs})
    return e.name if isinstance(e, Col) else None


def _keeps_order(op) -> bool:
    """Filters, projections and the joins that pass their streaming rows on in order
    (inner pairs come out by probe row; a LEFT join built on its left adds rows at the
    end)."""
    if isinstance(op, Join):
        return op.kind in ("inner", "semi", "anti", "single")
    return isinstance(op, (Filter, Project))


def applies(plan: Aggregate, node, chain: list) -> bool:
    if len(plan.keys) != 1 or not isinstance(node, Scan) or (node.index is not None and
                                                               node.index.kind == "hash") \
            or not all(_keeps_order(op) for op in chain):
        return False
    key = plan.keys[0][1]
    if key.type.kind not in ("int", "date") or str(key.type.arrow) == "uint64":
        return False
    col = _scan_column(plan, chain, key)
    index_on = getattr(node.source, "index_on", None)
    if col is None or col not in node.source.types() or index_on is None or \
            index_on(col, "sorted") is None:
        return False
    for _, a in plan.aggs:
        if a.fn == "count_star":
            continue
        if a.fn not in ("count", "sum", "avg"):
            return False
        t = a.arg.type
        if a.fn != "count" and (t.kind not in ("int", "decimal", "float", "bool") or t.wide
                                or str(t.arrow) == "uint64"):
            return False
    return True


def _ints(a: pa.Array) -> np.ndarray:
    if pa.types.is_date32(a.type):
        a = a.view(pa.int32())
    return np.asarray(a.to_numpy(zero_copy_only=False)).astype(np.int64, copy=False)


class _Part:
    """One morsel's runs: their keys, and per aggregate its sums and counts."""

    def __init__(self, keys, sums, counts, bound):
        self.keys, self.sums, self.counts, self.bound = keys, sums, counts, bound


def run(plan: Aggregate, stream_input) -> pa.Table | None:
    """The aggregate by runs; None when a sum could leave int64 (the caller falls back).
    ``stream_input(sink)`` yields the sink's result per morsel, in morsel order."""
    key_expr = plan.keys[0][1]

    def sink(batch, n: int) -> _Part | None:
        if not n:
            return None
        k = _ints(decode(evaluate(key_expr, batch, n)))
        if len(k) > 1 and (k[1:] < k[:-1]).any():
            raise _Overflow  # not sorted after all: let the hash aggregate do it
        starts = np.concatenate([[0], np.flatnonzero(k[1:] != k[:-1]) + 1])
        ends = np.append(starts[1:], n)
        sums, counts, bound = {}, {}, 0.0
        for name, a in plan.aggs:
            if a.fn == "count_star":
                counts[name] = ends - starts
                continue
            v = decode(evaluate(a.arg, batch, n))
            valid = None
            if v.null_count:
                valid = np.asarray(v.is_valid().to_numpy(zero_copy_only=False))
                v = v.fill_null(0)
            vals = np.asarray(v.to_numpy(zero_copy_only=False))
            if vals.dtype == np.bool_:
                vals = vals.astype(np.int64)
            counts[name] = (np.add.reduceat(valid.astype(np.int64), starts) if valid is not None
                            else ends - starts)
            if a.fn == "count":
                continue
            if vals.dtype.kind == "f":
                sums[name] = np.add.reduceat(vals.astype(np.float64, copy=False), starts)
            else:
                vals = vals.astype(np.int64, copy=False)
                bound += float(np.abs(vals).sum(dtype=np.float64))
                sums[name] = np.add.reduceat(vals, starts)
        return _Part(k[starts], sums, counts, bound)

    try:
        parts = [p for p in stream_input(sink) if p is not None]
    except _Overflow:
        return None
    if sum(p.bound for p in parts) >= _LIMIT:
        return None
    key_name = plan.keys[0][0]
    if not parts:
        return None  # no rows: the caller's path gives the empty result its types
    keys = np.concatenate([p.keys for p in parts])
    if len(keys) > 1 and (keys[1:] < keys[:-1]).any():
        return None
    starts = np.concatenate([[0], np.flatnonzero(keys[1:] != keys[:-1]) + 1])
    out = {key_name: _key_array(keys[starts], key_expr.type)}
    for name, a in plan.aggs:
        count = np.add.reduceat(np.concatenate([p.counts[name] for p in parts]), starts)
        if a.fn in ("count", "count_star"):
            out[name] = pa.array(count, pa.int64())
            continue
        total = np.add.reduceat(np.concatenate([p.sums[name] for p in parts]), starts)
        empty = count == 0
        t = a.arg.type
        if a.fn == "avg":
            scale = 10.0 ** t.scale if t.kind == "decimal" else 1.0
            with np.errstate(invalid="ignore", divide="ignore"):
                avg = total.astype(np.float64) / scale / count
            out[name] = pa.array(avg, pa.float64(), mask=empty)
        elif t.kind == "decimal":
            out[name] = to_decimal128(pa.array(total, pa.int64(), mask=empty), t.scale)
        elif t.kind == "float":
            out[name] = pa.array(total, pa.float64(), mask=empty)
        else:
            out[name] = pa.array(total, pa.int64(), mask=empty)
    return pa.table(out)


def _key_array(keys: np.ndarray, t) -> pa.Array:
    if t.kind == "date":
        return pa.array(keys.astype(np.int32), pa.int32()).view(pa.date32())
    return pa.array(keys, pa.int64()).cast(t.arrow)
