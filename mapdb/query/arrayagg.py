"""Aggregates without hashing, for one group key of a known shape. Both paths take COUNT(*),
COUNT, SUM and AVG of integer, decimal (up to 18 digits) and float expressions; integer
sums stay exact (int64 while the sum of absolute values is below 2**62), and a path falls
back to the hash aggregate (returns None) when a guarantee it relies on does not hold.

*Sorted key* (``sorted_applies``, ``run_sorted``): GROUP BY a column the table is sorted
by. Each morsel's groups are runs of equal keys, summed with ``np.add.reduceat``, and the
morsels' runs, in order, merge the same way (a group split by a morsel boundary is two
adjacent runs). The key is a stored integer or date column with a sorted attribute
(storage/index.py: non-decreasing over the segments, no NULLs), reached from the scan
through filters, projections and joins that keep the scan's row order. TPC-H Q18's GROUP
BY l_orderkey (60 million rows into 15 million groups at scale factor 10) and Q11's
partsupp, joined with one nation's suppliers and grouped by ps_partkey, take it.

*Dense key range* (``key_range``, ``run_dense``): GROUP BY one integer whose values span a
known, moderate range (its origin's zone-map bounds, through projections, filters and
joins; at most ``MAX_SPAN`` values and 4x the input's estimated rows, else the time goes
to empty slots). Each worker adds its morsels into arrays indexed by ``key - min``
(``np.bincount`` once per span's worth of buffered rows; integer sums as two 26-bit
halves, exact below 2**27 rows), and the workers' arrays are summed at the end. Q13 counts
15 million orders per customer key (1..1,500,000 at scale factor 10); Q15 sums revenue per
supplier key. *Dense keys* (``key_domain``, a ``Domain``): the same over several integer
keys packed into one index (mixed radix, a slot for NULL per key).
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.query import exact
from mapdb.query.evaluate import decode, evaluate, to_decimal128
from mapdb.query.expr import Col, Expr, replace
from mapdb.query.plan import Aggregate, Filter, Join, Project, Scan

_LIMIT = float(1 << 62)  # integer sums: exact while the sum of |values| stays below
MAX_SPAN = 1 << 24


class _Fallback(Exception):
    pass


def _summable(plan: Aggregate) -> bool:
    """Every aggregate is COUNT(*), COUNT, or SUM/AVG of a narrow number."""
    return all(_summable_agg(a) for _, a in plan.aggs)


def _summable_agg(a) -> bool:
    if a.fn == "count_star":
        return True
    if a.fn not in ("count", "sum", "avg"):
        return False
    t = a.arg.type
    return a.fn == "count" or (t.kind in ("int", "decimal", "float", "bool") and not t.wide
                               and str(t.arrow) != "uint64")


def _dense_ok(plan: Aggregate) -> bool:
    """What the dense paths take: ``_summable``'s aggregates, and MIN/MAX of an integer
    (per-group extremes by ``np.minimum.at`` / ``np.maximum.at``)."""
    return all(_summable_agg(a) or (a.fn in _EXTREME and _int_extreme(a.arg.type))
               for _, a in plan.aggs)


def _int_extreme(t) -> bool:
    return t.kind == "int" and not t.wide and str(t.arrow) != "uint64"


_EXTREME = {"min": (np.minimum, np.iinfo(np.int64).max),
            "max": (np.maximum, np.iinfo(np.int64).min)}


def _values(a, batch, n: int) -> tuple[np.ndarray | None, np.ndarray]:
    """An aggregate's argument over a batch: (validity or None, values with NULLs as 0;
    float64 or int64)."""
    v = decode(evaluate(a.arg, batch, n))
    valid = None
    if v.null_count:
        valid = np.asarray(v.is_valid().to_numpy(zero_copy_only=False))
        v = v.fill_null(0)
    vals = np.asarray(v.to_numpy(zero_copy_only=False))
    if vals.dtype.kind != "f":
        vals = vals.astype(np.int64, copy=False)
    return valid, vals


def _bound(vals: np.ndarray) -> float:
    return 0.0 if vals.dtype.kind == "f" else float(np.abs(vals).sum(dtype=np.float64))


def _finish(plan: Aggregate, keys: dict[str, pa.Array], rows: np.ndarray, counts: dict,
            sums: dict) -> pa.Table:
    """The result table from the group keys' columns and per-group arrays: COUNT(*) from
    ``rows``, COUNT from ``counts`` (non-NULL values), SUM/AVG from ``sums`` (NULL where a
    group had none)."""
    out = dict(keys)
    for name, a in plan.aggs:
        if a.fn == "count_star":
            out[name] = pa.array(rows, pa.int64())
            continue
        count = counts[name]
        if a.fn == "count":
            out[name] = pa.array(count, pa.int64())
            continue
        if a.fn in _EXTREME:
            out[name] = pa.array(sums[name], pa.int64(), mask=count == 0).cast(a.arg.type.arrow)
            continue
        total, empty, t = sums[name], count == 0, a.arg.type
        if a.fn == "avg" and t.kind in ("decimal", "int", "bool"):  # (exact, one rounding)
            out[name] = exact.average(total.tolist(), count.tolist(),
                                      t.scale if t.kind == "decimal" else 0)
        elif a.fn == "avg":
            scale = 10.0 ** t.scale if t.kind == "decimal" else 1.0
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = pa.array(total.astype(np.float64) / scale / count, pa.float64(),
                                     mask=empty)
        elif t.kind == "decimal":
            out[name] = to_decimal128(pa.array(total, pa.int64(), mask=empty), t.scale)
        elif t.kind == "float":
            out[name] = pa.array(total, pa.float64(), mask=empty)
        else:
            out[name] = pa.array(total.astype(np.int64), pa.int64(), mask=empty)
    return pa.table(out)


def _key_array(keys: np.ndarray, t) -> pa.Array:
    if t.kind == "date":
        return pa.array(keys.astype(np.int32), pa.int32()).view(pa.date32())
    return pa.array(keys, pa.int64()).cast(t.arrow)


# -- sorted key ------------------------------------------------------------------------------

def _scan_column(chain: list, e: Expr) -> str | None:
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
        return op.kind in ("inner", "semi", "anti", "single", "mark")
    return isinstance(op, (Filter, Project))


def sorted_applies(plan: Aggregate, node, chain: list) -> bool:
    if len(plan.keys) != 1 or not isinstance(node, Scan) or (node.index is not None and
                                                               node.index.kind == "hash") \
            or not all(_keeps_order(op) for op in chain) or not _summable(plan):
        return False
    key = plan.keys[0][1]
    if key.type.kind not in ("int", "date") or str(key.type.arrow) == "uint64":
        return False
    col = _scan_column(chain, key)
    index_on = getattr(node.source, "index_on", None)
    return col is not None and col in node.source.types() and index_on is not None and \
        index_on(col, "sorted") is not None


def _ints(a: pa.Array) -> np.ndarray:
    if pa.types.is_date32(a.type):
        a = a.view(pa.int32())
    return np.asarray(a.to_numpy(zero_copy_only=False)).astype(np.int64, copy=False)


class _Part:
    """One morsel's runs: their keys, and per aggregate its sums and counts."""

    def __init__(self, keys, rows, sums, counts, bound):
        self.keys, self.rows, self.sums, self.counts, self.bound = \
            keys, rows, sums, counts, bound


def run_sorted(plan: Aggregate, stream_input) -> pa.Table | None:
    """The aggregate by runs; None when a sum could leave int64 (the caller falls back).
    ``stream_input(sink)`` yields the sink's result per morsel, in morsel order."""
    key_expr = plan.keys[0][1]

    def sink(batch, n: int) -> _Part | None:
        if not n:
            return None
        k = _ints(decode(evaluate(key_expr, batch, n)))
        if len(k) > 1 and (k[1:] < k[:-1]).any():
            raise _Fallback  # not sorted after all: let the hash aggregate do it
        starts = np.concatenate([[0], np.flatnonzero(k[1:] != k[:-1]) + 1])
        rows = np.append(starts[1:], n) - starts
        sums, counts, bound = {}, {}, 0.0
        for name, a in plan.aggs:
            if a.fn == "count_star":
                continue
            valid, vals = _values(a, batch, n)
            counts[name] = rows if valid is None else \
                np.add.reduceat(valid.astype(np.int64), starts)
            if a.fn != "count":
                bound += _bound(vals)
                sums[name] = np.add.reduceat(vals, starts)
        return _Part(k[starts], rows, sums, counts, bound)

    try:
        parts = [p for p in stream_input(sink) if isinstance(p, _Part)]
    except _Fallback:
        return None
    if not parts or sum(p.bound for p in parts) >= _LIMIT:
        return None  # no rows: the caller's path gives the empty result its types
    keys = np.concatenate([p.keys for p in parts])
    if len(keys) > 1 and (keys[1:] < keys[:-1]).any():
        return None
    starts = np.concatenate([[0], np.flatnonzero(keys[1:] != keys[:-1]) + 1])

    def merged(get) -> np.ndarray:
        return np.add.reduceat(np.concatenate([get(p) for p in parts]), starts)

    names = [n for n, a in plan.aggs if a.fn != "count_star"]
    return _finish(plan, {plan.keys[0][0]: _key_array(keys[starts], key_expr.type)},
                   merged(lambda p: p.rows),
                   {n: merged(lambda p, n=n: p.counts[n]) for n in names},
                   {n: merged(lambda p, n=n: p.sums[n]) for n in names
                    if n in parts[0].sums})


# -- dense key range ---------------------------------------------------------------------

def key_range(plan: Aggregate) -> tuple[int, int] | None:
    """[lo, hi] of the one group key, when the aggregate qualifies (see module doc)."""
    from mapdb.query.joinorder import _origin, estimate
    if len(plan.keys) != 1 or not plan.aggs or not _dense_ok(plan):
        return None
    key = plan.keys[0][1]
    if not isinstance(key, Col) or key.type.kind != "int" or str(key.type.arrow) == "uint64":
        return None
    scan, col = _origin(plan.input, key.name)
    if scan is None or not hasattr(scan.source, "bounds") or col not in scan.source.types():
        return None
    try:
        lo, hi = scan.source.bounds(col)
    except Exception:  # no zone-map bounds for this column
        return None
    span = hi - lo + 1
    if span <= 0 or span > MAX_SPAN or span > 4 * max(estimate(plan.input), 1.0):
        return None
    return lo, hi


class Domain:
    """Several integer group keys as one dense index: mixed radix over ``value - lo``, a
    slot past each key's range for NULL (an outer join's, or a nullable column's)."""

    def __init__(self, keys: list[tuple[str, Expr]], bounds: list[tuple[int, int]]):
        self.keys = keys
        self.lows = [lo for lo, _ in bounds]
        self.radices = [hi - lo + 2 for lo, hi in bounds]  # (+1: the NULL slot)
        self.strides, self.span = [], 1  # (Python ints: a span past int64 is refused)
        for radix in self.radices:
            self.strides.append(self.span)
            self.span *= radix

    def index(self, batch, n: int) -> np.ndarray:
        idx = np.zeros(n, np.int64)
        for (_, e), lo, radix, stride in zip(self.keys, self.lows, self.radices,
                                             self.strides, strict=True):
            k = decode(evaluate(e, batch, n))
            slot = _ints(k.fill_null(lo) if k.null_count else k) - lo
            if slot.min(initial=0) < 0 or slot.max(initial=0) >= radix - 1:
                raise _Fallback  # newer rows than the bounds (not on a pinned version)
            if k.null_count:
                slot[np.asarray(k.is_null().to_numpy(zero_copy_only=False))] = radix - 1
            idx += slot * stride
        return idx

    def columns(self, present: np.ndarray) -> dict[str, pa.Array]:
        out = {}
        for (name, e), lo, radix, stride in zip(self.keys, self.lows, self.radices,
                                                self.strides, strict=True):
            slot = (present // stride) % radix
            null = slot == radix - 1
            out[name] = pa.array(slot + lo, pa.int64(), mask=null if null.any() else None
                                 ).cast(e.type.arrow)
        return out


def key_domain(plan: Aggregate) -> Domain | None:
    """Two or more integer group keys whose zone-map ranges (NULL slots included) multiply
    to a dense index space (at most ``MAX_SPAN``, and 4x the input's estimated rows or
    2**18): TPC-DS
    q65's GROUP BY ss_store_sk, ss_item_sk (13 x 18,001 slots) over 550k joined rows."""
    from mapdb.query.joinorder import _origin, estimate
    if len(plan.keys) < 2 or not plan.aggs or not _dense_ok(plan):
        return None
    bounds = []
    for _, key in plan.keys:
        if not isinstance(key, Col) or key.type.kind != "int" or \
                str(key.type.arrow) == "uint64":
            return None
        scan, col = _origin(plan.input, key.name)
        if scan is None or not hasattr(scan.source, "bounds") or \
                col not in scan.source.types():
            return None
        try:
            lo, hi = scan.source.bounds(col)
        except Exception:  # no zone-map bounds for this column
            return None
        if hi < lo:
            return None
        bounds.append((lo, hi))
    d = Domain(plan.keys, bounds)
    # (a join's estimate can be far low, q65's 13k for 550k rows; a quarter million empty
    # slots cost a few milliseconds at worst)
    if d.span > MAX_SPAN or d.span > max(4 * estimate(plan.input), 1 << 18):
        return None
    return d


def strings_apply(plan: Aggregate) -> bool:
    """GROUP BY one string key with COUNT/SUM/AVG (and MIN/MAX of integers): ``run_dense``
    over the key's codes (``groupkeys.StringCodes``: dense, in order of first appearance,
    the range growing as values appear)."""
    return len(plan.keys) == 1 and plan.keys[0][1].type.kind == "string" and \
        bool(plan.aggs) and _dense_ok(plan)


def run_dense(plan: Aggregate, bounds: tuple[int, int], stream_input,
              codes=None, domain: Domain | None = None) -> pa.Table | None:
    """The aggregate over dense arrays; None when a key falls outside the bounds or is
    NULL, or an integer sum could leave int64 (the caller's hash aggregate runs then).
    With ``codes`` (a StringCodes of the one string key) the index is the key's code and
    the arrays grow with the codes: each worker codes its morsels in a space of its own
    (no lock between them), and the spaces' values are coded into ``codes`` at the end,
    which places each worker's arrays; with ``domain`` (several keys) the index is its."""
    lo, hi = bounds if domain is None else (0, domain.span - 1)
    span = hi - lo + 1
    key_expr = plan.keys[0][1]
    key_name = plan.keys[0][0]
    local = threading.local()
    states: list[dict] = []
    lock = threading.Lock()
    flush_rows = max(span, 1 << 20)  # buffer at least a span's worth: O(rows + span) work
    aggs = {n: a.fn for n, a in plan.aggs}

    def _pad(key: str, arr: np.ndarray, width: int) -> np.ndarray:
        """``arr`` grown to ``width`` with its accumulator's identity (0, or MIN/MAX's)."""
        fn = aggs.get(key.removesuffix("#s"))
        fill = _EXTREME[fn][1] if fn in _EXTREME and key.endswith("#s") else 0
        return np.concatenate([arr, np.full(width - len(arr), fill, arr.dtype)])

    def state() -> dict:
        if not hasattr(local, "st"):
            local.st = {"acc": {"$rows": np.zeros(span, np.int64)}, "bound": 0.0,
                        "buf": [], "rows": 0,
                        "codes": None if codes is None else type(codes)([key_name])}
            with lock:
                states.append(local.st)
        return local.st

    def flush(st: dict) -> None:
        if not st["buf"]:
            return
        idx = np.concatenate([b[0] for b in st["buf"]])
        acc = st["acc"]
        span = max(len(acc["$rows"]), int(idx.max(initial=-1)) + 1)  # (codes grow)
        for name, arr in acc.items():
            if len(arr) < span:
                acc[name] = _pad(name, arr, span)
        acc["$rows"] += np.bincount(idx, minlength=span)
        for j, (name, a) in enumerate(plan.aggs):
            if a.fn == "count_star":
                continue
            valid = np.concatenate([b[1][j][0] for b in st["buf"]])
            vals = np.concatenate([b[1][j][1] for b in st["buf"]])
            cnt = acc.setdefault(name + "#n", np.zeros(span, np.int64))
            cnt += np.bincount(idx, weights=valid, minlength=span).astype(np.int64)
            if a.fn == "count":
                continue
            if a.fn in _EXTREME:  # (NULLs: left out; a group of only NULLs stays empty)
                ufunc, init = _EXTREME[a.fn]
                ext = acc.setdefault(name + "#s", np.full(span, init, np.int64))
                keep = valid.astype(np.bool_)
                ufunc.at(ext, idx[keep], vals[keep])
                continue
            if vals.dtype.kind == "f":
                total = acc.setdefault(name + "#s", np.zeros(span, np.float64))
                total += np.bincount(idx, weights=vals, minlength=span)
            else:  # exact: 26-bit halves summed in float64 (exact below 2**53 each)
                total = acc.setdefault(name + "#s", np.zeros(span, np.int64))
                low = (vals & ((1 << 26) - 1)).astype(np.float64)
                high = (vals >> 26).astype(np.float64)
                total += (np.bincount(idx, weights=high, minlength=span).astype(np.int64)
                          << 26) + np.bincount(idx, weights=low, minlength=span).astype(
                              np.int64)
        st["buf"], st["rows"] = [], 0

    def sink(batch, n: int):
        if not n:
            return None
        if domain is not None:
            idx = domain.index(batch, n)
        elif codes is not None:
            k = state()["codes"].encode(key_name, evaluate(key_expr, batch, n))
            if k.null_count:
                raise _Fallback
            idx = np.asarray(k, np.int64)
        else:
            k = decode(evaluate(key_expr, batch, n))
            if k.null_count:
                raise _Fallback
            idx = _ints(k) - lo
            if idx.min(initial=0) < 0 or idx.max(initial=0) >= span:
                raise _Fallback  # newer rows than the bounds (not on a pinned version)
        st = state()
        cols = []
        for _, a in plan.aggs:
            if a.fn == "count_star":
                cols.append(None)
                continue
            valid, vals = _values(a, batch, n)
            if a.fn not in _EXTREME:
                st["bound"] += _bound(vals)
            cols.append((np.ones(n) if valid is None else valid.astype(np.float64), vals))
        st["buf"].append((idx, cols))
        st["rows"] += n
        if st["rows"] >= flush_rows:
            flush(st)
        return None

    try:
        for _ in stream_input(sink):
            pass
    except _Fallback:
        return None
    if not states or sum(st["bound"] for st in states) >= _LIMIT:
        return None
    for st in states:
        flush(st)
    places = [None] * len(states)  # each worker's codes in ``codes``
    if codes is not None:
        for i, st in enumerate(states):
            places[i] = np.asarray(codes.encode(key_name, st["codes"].values(key_name)),
                                   np.int64)
        width = len(codes.values(key_name))
    else:
        width = max(len(st["acc"]["$rows"]) for st in states)
    total: dict[str, np.ndarray] = {}
    for st, place in zip(states, places, strict=True):
        for key, arr in st["acc"].items():
            if place is not None:  # (a worker's codes are distinct: a plain scatter)
                arr = _pad(key, arr, len(place))
                out = _pad(key, arr[:0], width)
                out[place] = arr[:len(place)]
                arr = out
            arr = _pad(key, arr, width)
            fn = aggs.get(key.removesuffix("#s"))
            merge = _EXTREME[fn][0] if fn in _EXTREME and key.endswith("#s") else np.add
            total[key] = arr if key not in total else merge(total[key], arr)
    if int(total["$rows"].sum()) >= 1 << 27:
        return None  # the 26-bit halves' float sums could round past this many rows
    present = np.flatnonzero(total["$rows"])
    names = [n for n, a in plan.aggs if a.fn != "count_star"]
    if domain is not None:
        keys = domain.columns(present)
    else:
        keys = {key_name: codes.values(key_name).take(pa.array(present))
                if codes is not None else _key_array(present + lo, key_expr.type)}
    return _finish(plan, keys, total["$rows"][present],
                   {n: total[n + "#n"][present] for n in names},
                   {n: total[n + "#s"][present] for n in names if n + "#s" in total})


# -- COUNT(DISTINCT) by sorting packed keys -----------------------------------------------

def _packable(t) -> bool:
    return t.kind in ("int", "date", "string") and str(t.arrow) != "uint64"


def distinct_applies(plan: Aggregate) -> bool:
    """GROUP BY integer, date or string keys with one COUNT(DISTINCT) of an integer or
    date: (keys, value) pack into one int64 when their ranges fit, and one sort of the
    packed rows finds the distinct pairs and the groups, no hashing."""
    if not plan.keys or len(plan.aggs) != 1 or plan.aggs[0][1].fn != "count_distinct":
        return False
    return all(_packable(e.type) for _, e in plan.keys) and \
        plan.aggs[0][1].arg.type.kind in ("int", "date") and \
        str(plan.aggs[0][1].arg.type.arrow) != "uint64"


def _column(v: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """int64 values with NULLs as the masked array's mask."""
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks() if v.num_chunks != 1 else v.chunk(0)
    mask = None
    if v.null_count:
        mask = np.asarray(v.is_null().to_numpy(zero_copy_only=False))
        v = v.fill_null(0)
    return np.ma.MaskedArray(_ints(v), mask=mask if mask is not None else np.ma.nomask)


def run_distinct(plan: Aggregate, encode, stream_input) -> tuple[pa.Table, bool]:
    """COUNT(DISTINCT v) per group (``distinct_applies``); ``encode(name, array)`` turns a
    string key into codes (the result keeps them). The morsels' columns are kept as int64
    until the input ends, when their ranges are known: each column becomes ``value - min +
    1`` (NULL: 0) in its own bits of one int64, and a sort puts each group's distinct
    values together. When the packed row would need more than 62 bits, Arrow's hash
    aggregate groups the same collected columns (the input is not read twice). Returns
    (table, whether it was packed)."""
    names = [n for n, _ in plan.keys] + [plan.aggs[0][0]]
    exprs = [e for _, e in plan.keys] + [plan.aggs[0][1].arg]
    parts: list[list[np.ma.MaskedArray]] = []
    lock = threading.Lock()

    def sink(batch, n: int):
        cols = [_column(encode(name, evaluate(e, batch, n)) if e.type.kind == "string"
                        else decode(evaluate(e, batch, n)))
                for name, e in zip(names, exprs, strict=True)]
        with lock:
            parts.append(cols)
        return None

    for _ in stream_input(sink):
        pass
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return pa.table({n: pa.array([], e.type.arrow) for n, e in plan.keys} |
                        {names[-1]: pa.array([], pa.int64())}), True
    cols = [np.ma.concatenate([p[i] for p in parts]) for i in range(len(names))]
    packed = _packed_distinct(cols)
    if packed is None:
        keys, counts = _hashed_distinct(cols)
    else:
        keys, counts = packed
    result = {}
    for name, e, (vals, null) in zip(names[:-1], exprs[:-1], keys, strict=True):
        if e.type.kind == "string":
            result[name] = pa.array(vals.astype(np.int32), pa.int32(), mask=null)
        else:
            result[name] = _key_array(vals, e.type)
            if null.any():
                result[name] = pc.if_else(pa.array(null), pa.nulls(len(vals),
                                                                   result[name].type),
                                          result[name])
    result[names[-1]] = pa.array(counts, pa.int64())
    return pa.table(result), packed is not None


def _packed_distinct(cols: list[np.ma.MaskedArray]):
    """([(key values, key is NULL)] per key column, distinct counts) by sorting the packed
    rows; None when they need more than 62 bits."""
    widths, lows = [], []  # each column as 0..2**width-1: NULL is 0, a value v - min + 1
    for c in cols:
        lo, hi = (int(c.min()), int(c.max())) if c.count() else (0, 0)
        lows.append(lo)
        widths.append((hi - lo + 1).bit_length())
    if sum(widths) > 62:
        return None
    packed = np.zeros(len(cols[0]), np.int64)
    for c, lo, w in zip(cols, lows, widths, strict=True):
        v = c.data.astype(np.int64) - lo + 1
        if c.mask is not np.ma.nomask:
            v[c.mask] = 0
        packed = (packed << w) | v
    packed.sort()
    if len(packed) > 1:
        packed = packed[np.concatenate(([True], packed[1:] != packed[:-1]))]
    vbits = widths[-1]
    group = packed >> vbits
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    counted = (packed & ((1 << vbits) - 1)) != 0  # a NULL value is not counted
    counts = np.add.reduceat(counted.astype(np.int64), starts)
    keys, g = [], group[starts]
    for lo, w in reversed(list(zip(lows, widths, strict=True))[:-1]):
        v = g & ((1 << w) - 1)
        g = g >> w
        keys.append((v + lo - 1, v == 0))
    return keys[::-1], counts


def _hashed_distinct(cols: list[np.ma.MaskedArray]):
    """The same as _packed_distinct, by Arrow's hash aggregate."""
    names = [f"c{i}" for i in range(len(cols))]
    t = pa.table({n: pa.array(c.data.astype(np.int64), pa.int64(),
                              mask=None if c.mask is np.ma.nomask else c.mask)
                  for n, c in zip(names, cols, strict=True)})
    g = t.group_by(names, use_threads=False).aggregate([]).group_by(
        names[:-1], use_threads=False).aggregate([(names[-1], "count")])
    keys = []
    for n in names[:-1]:
        a = g.column(n)
        keys.append((np.asarray(a.fill_null(0).to_numpy()),
                     np.asarray(a.is_null().to_numpy(zero_copy_only=False))))
    return keys, np.asarray(g.column(f"{names[-1]}_count").to_numpy())
