"""The fused path: filter + group + aggregate in one pass of a nogil Cython kernel.

Taken when an Aggregate sits on a scan and every piece has a kernel form:
- the scan filter is a conjunction of ranges on numeric/date columns (``x BETWEEN a AND b``,
  ``x < c``, ...) or equalities on dictionary strings (the constant becomes its code);
- group keys are dictionary columns or integer-like columns whose zone maps span a small
  range (dense group ids: code * stride, NULL in a slot of its own);
- aggregates are COUNT(*), COUNT/SUM/AVG/MIN/MAX of a product of affine factors
  ``a + b * column`` (TPC-H Q1's ``price * (1 - disc) * (1 + tax)`` on scaled decimals),
  exact in 128-bit integers, or in double when a factor is floating point.
Anything else returns None and the general (Arrow) path runs; both are tested against
DuckDB. Morsels run on the executor's pool, each thread with its own accumulators.
"""

from __future__ import annotations

import itertools
import resource
import time
import typing

import numpy as np
import pyarrow as pa

from mapdb._ext import FusedProgram
from mapdb.query import exact
from mapdb.query.evaluate import from_numpy
from mapdb.query.expr import Call, Col, Expr, Lit, conjoin, conjuncts, replace
from mapdb.query.morsels import dropping, plan_morsels
from mapdb.query.optimizer import disjuncts
from mapdb.query.plan import Aggregate, Project, Scan
from mapdb.query.ranges import bound_max, bound_min, range_of
from mapdb.query.source import TableSource
from mapdb.query.types import QueryError

MAX_GROUPS = 1 << 18
SCAN_BLOCK = 2048  # rows per kernel block (ext/scan.pxi)
_KERNEL_KINDS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "float32",
                 "float64"}


class _NoFuse(Exception):
    """This plan has no kernel form (the general path runs instead)."""


class _Compiler:
    def __init__(self, scan: Scan):
        self.scan = scan
        self.source: TableSource = scan.source
        self.cols: list[str] = []
        self.types = self.source.types()

    def col(self, name: str) -> int:
        if name not in self.cols:
            self.cols.append(name)
        return self.cols.index(name)

    def bounds(self, name: str) -> tuple[int, int]:
        """min and max of a column over all segments (zone maps)."""
        return self.source.bounds(name)

    # -- filters -------------------------------------------------------------------
    def filters(self, residual: list | None = None) -> list[tuple]:
        """One range per column (conjuncts on a column intersect), most selective first
        (estimated from the zone maps' overall min and max), so later filters only look at
        the rows earlier ones kept. With ``residual``, a conjunct with no kernel form goes
        there instead of failing the whole filter."""
        ranges: dict[str, list] = {}
        strings = []  # LIKE filters: the most expensive, run last
        sets = []  # IN on dictionary codes: (selectivity, filter)
        for p in conjuncts(self.scan.filter):
            if residual is not None:
                for name, r in self.or_hull(p):
                    if r[0] == "codes":
                        sets.append(self.code_filter(name, r[1]))
                    else:
                        _, lo, hi, is_float = r
                        cur = ranges.setdefault(name, [None, None, is_float])
                        cur[0], cur[1] = bound_max(cur[0], lo), bound_min(cur[1], hi)
            m = self.like(p)
            if m is not None:
                strings.append((self.col(m[0]), 0, None, None, -1, m[1:]))
                continue
            if isinstance(p, Call) and p.op == "is_not_null" and isinstance(p.args[0], Col) \
                    and self.kernel_column(p.args[0].name):
                r = (p.args[0].name, None, None, self.types[p.args[0].name].kind == "float")
            elif (m := self.dict_members(p)) is not None:
                sets.append((m[0], *m[1]))
                continue
            else:
                r = self.dict_equality(p) or range_of(p) or self.column_difference(p)
            if r is None or not all(self.kernel_column(n) for n in
                                    (r[0] if isinstance(r[0], tuple) else (r[0],))):
                if residual is not None:
                    residual.append(p)
                    continue
                raise _NoFuse(f"filter {p}")
            name, lo, hi, is_float = r
            cur = ranges.setdefault(name, [None, None, is_float])
            cur[0], cur[1] = bound_max(cur[0], lo), bound_min(cur[1], hi)
        out = []
        for n, (lo, hi, f) in ranges.items():
            if isinstance(n, tuple):  # a - b in [lo, hi]
                out.append((0.5, self.col(n[0]), 0, lo, hi, self.col(n[1])))
            else:
                out.append((self.selectivity(n, lo, hi, f), self.col(n), int(f), lo, hi))
        return [x[1:] for x in sorted(out + sets, key=lambda x: x[0])] + strings

    def branch_bounds(self, p: Expr) -> tuple[str, tuple] | None:
        """A conjunct as a bound on one kernel column: (name, ("codes", set)) for
        dictionary equality or IN, (name, ("range", lo, hi, is_float)) for a range."""
        if (e := self.dict_equality(p)) is not None:
            return e[0], ("codes", {e[1]} if e[1] <= e[2] else set())
        if isinstance(p, Call) and p.op == "in" and isinstance(p.args[0], Col) and \
                self.source.is_dictionary(p.args[0].name):
            if not p.param or not all(isinstance(v, str) for v in p.param):
                return None
            name = p.args[0].name
            return name, ("codes", {c for v in p.param
                                    if (c := self.source.dictionary_code(name, v)) is not None})
        r = range_of(p)
        if r is None or not self.kernel_column(r[0]):
            return None
        return r[0], ("range", *r[1:])

    def or_hull(self, p: Expr) -> list[tuple[str, tuple]]:
        """Kernel bounds an OR implies: for each column every branch bounds, the union of
        the branches' bounds (TPC-H Q19's part filter implies p_brand IN three brands,
        p_container IN twelve containers and p_size in [1, 15]). They run in the kernel;
        the OR itself still runs after, on the rows they keep."""
        branches = disjuncts(p)
        if len(branches) < 2:
            return []
        per = []
        for d in branches:
            cons: dict[str, tuple] = {}
            for c in conjuncts(d):
                b = self.branch_bounds(c)
                if b is None:
                    continue
                name, r = b
                old = cons.get(name)
                if old is None:
                    cons[name] = r
                elif old[0] != r[0]:
                    continue
                elif r[0] == "codes":
                    cons[name] = ("codes", old[1] & r[1])
                else:
                    cons[name] = ("range", bound_max(old[1], r[1]), bound_min(old[2], r[2]),
                                  r[3])
            per.append(cons)
        out = []
        for name in set(per[0]).intersection(*per[1:]):
            rs = [c[name] for c in per]
            if any(r[0] != rs[0][0] for r in rs):
                continue
            if rs[0][0] == "codes":
                out.append((name, ("codes", set().union(*(r[1] for r in rs)))))
            elif all(r[3] == rs[0][3] for r in rs):
                # the hull of the branches' ranges, NaN above every number
                lo = None if any(r[1] is None for r in rs) else \
                    min((r[1] for r in rs), key=lambda v: (v != v, v))
                hi = None if any(r[2] is None for r in rs) else \
                    max((r[2] for r in rs), key=lambda v: (v != v, v))
                if lo is not None or hi is not None:
                    out.append((name, ("range", lo, hi, rs[0][3])))
        return out

    def code_filter(self, name: str, codes: set) -> tuple:
        """(selectivity, filter tuple) keeping the rows whose code is one of ``codes``."""
        if not codes:
            return (0.0, self.col(name), 0, 1, 0)  # no member is in the table: no row
        lo, hi = min(codes), max(codes)
        flags = bytearray(hi - lo + 1)
        for c in codes:
            flags[c - lo] = 1
        share = len(codes) / max(self.source.dictionary_size(name), 1)
        return (share, self.col(name), 0, lo, hi, -1, None, bytes(flags))

    def dict_members(self, p: Expr):
        """``c IN ('a', 'b')`` on a dictionary column: (selectivity, filter tuple) testing
        the code against a flag per code between the smallest and largest member's."""
        if not (isinstance(p, Call) and p.op == "in"):
            return None
        b = self.branch_bounds(p)
        if b is None or b[1][0] != "codes":
            return None
        t = self.code_filter(b[0], b[1][1])
        return t[0], t[1:]

    def like(self, p: Expr):
        """``s LIKE 'x%'`` forms a kernel matches with memcmp/memmem: (column, kind,
        needle), or None. Dictionary columns are left to the general path (it evaluates
        the pattern once per dictionary entry)."""
        negate = 0
        if isinstance(p, Call) and p.op == "not" and len(p.args) == 1:
            p, negate = p.args[0], 8
        if not (isinstance(p, Call) and p.op == "like" and isinstance(p.args[0], Col)):
            return None
        name, pat = p.args[0].name, p.param
        if self.source.physical_kind(name) != "string" or "_" in pat or "\\" in pat or \
                "\0" in pat:
            return None
        if negate and any(validity is not None for _, validity, _, _ in
                          self.source.physical(name)):
            return None  # NOT LIKE of a NULL is NULL: the kernel would keep the row
        core = pat.strip("%")
        if "%" in core:
            if not (pat.startswith("%") and pat.endswith("%")):
                return None
            return name, 5 | negate, b"\0".join(f.encode() for f in core.split("%") if f)
        starts, ends = pat.startswith("%"), pat.endswith("%") and len(pat) > len(core)
        kind = 1 if starts and ends else 3 if starts else 2 if ends else 4
        return name, kind | negate, core.encode()

    _DIFF: typing.ClassVar[dict] = {"gt": (1, None), "ge": (0, None), "lt": (None, -1),
                                    "le": (None, 0), "eq": (0, 0)}

    def column_difference(self, p: Expr):
        """``a > b`` on two integer-like columns of one type: a - b in [1, +inf)."""
        if not (isinstance(p, Call) and p.op in self._DIFF):
            return None
        a, b = p.args
        if not (isinstance(a, Col) and isinstance(b, Col)) or a.type != b.type or \
                a.type.kind not in ("int", "date", "decimal", "timestamp") or a.type.wide:
            return None
        if any(self.source.is_dictionary(c.name) for c in (a, b)):
            return None
        for c in (a, b):  # the difference must not overflow int64
            lo, hi = self.bounds(c.name)
            if max(abs(lo), abs(hi)) >= 1 << 61:
                return None
        lo, hi = self._DIFF[p.op]
        return (a.name, b.name), lo, hi, False

    def selectivity(self, name: str, lo, hi, is_float: bool) -> float:
        if is_float:
            return 0.5
        zlo, zhi = self.bounds(name)
        lo = zlo if lo is None else max(lo, zlo)
        hi = zhi if hi is None else min(hi, zhi)
        return max(hi - lo + 1, 0) / max(zhi - zlo + 1, 1)

    def dict_equality(self, p: Expr):
        if not (isinstance(p, Call) and p.op == "eq"):
            return None
        a, b = p.args
        if isinstance(a, Lit):
            a, b = b, a
        if not (isinstance(a, Col) and isinstance(b, Lit) and isinstance(b.value, str)
                and self.source.is_dictionary(a.name)):
            return None
        code = self.source.dictionary_code(a.name, b.value)
        lo, hi = (code, code) if code is not None else (1, 0)
        return (a.name, lo, hi, False)

    def kernel_column(self, name: str) -> bool:
        return self.source.physical_kind(name) in _KERNEL_KINDS

    def is_float(self, name: str) -> int:
        return int(self.types[name].kind == "float")

    # -- keys ----------------------------------------------------------------------
    def keys(self, keys: list[tuple[str, Expr]]) -> list[tuple]:
        out = []
        groups = 1
        for _, e in keys:
            if isinstance(e, Call) and e.op == "extract" and e.param in ("year", "month") \
                    and isinstance(e.args[0], Col) and e.args[0].type.kind == "date":
                lo, hi = self.bounds(e.args[0].name)
                lo_y, hi_y = (_civil(lo)[0], _civil(hi)[0]) if e.param == "year" else (1, 12)
                groups *= hi_y - lo_y + 2
                if groups > MAX_GROUPS:
                    raise _NoFuse("too many groups for dense grouping")
                out.append((self.col(e.args[0].name), lo_y, hi_y - lo_y + 2,
                            1 if e.param == "year" else 2, (lo, _civil_table(lo, hi, e.param))))
                continue
            if not isinstance(e, Col):
                raise _NoFuse(f"group key {e}")
            if self.source.is_dictionary(e.name):
                base, card = 0, self.source.dictionary_size(e.name) + 1
            elif self.types[e.name].kind in ("int", "date", "decimal") and \
                    self.kernel_column(e.name):
                lo, hi = self.bounds(e.name)
                base, card = lo, hi - lo + 2
            else:
                raise _NoFuse(f"group key {e}")
            groups *= card
            if groups > MAX_GROUPS:
                raise _NoFuse("too many groups for dense grouping")
            out.append((self.col(e.name), base, card))
        return out

    # -- aggregates ----------------------------------------------------------------
    def factors(self, e: Expr, as_float: bool) -> list[tuple]:
        """``e`` as a product of (column or -1, a, b) factors meaning a + b * column."""
        if isinstance(e, Call) and e.op == "mul":
            return self.factors(e.args[0], as_float) + self.factors(e.args[1], as_float)
        if isinstance(e, Lit):
            if e.value is None:
                raise _NoFuse("NULL constant")
            return [(-1, float(e.value) if as_float else int(e.value), 0)]
        col, scale = self.term(e, as_float)
        if col is not None:
            return [(self.col(col), 0.0 if as_float else 0, scale)]
        if isinstance(e, Call) and e.op in ("add", "sub") and len(e.args) == 2:
            a, b = e.args
            sign = 1 if e.op == "add" else -1
            if isinstance(a, Lit) and a.value is not None:
                col, scale = self.term(b, as_float)
                if col is not None:
                    c = float(a.value) if as_float else a.value
                    return [(self.col(col), c, sign * scale)]
            if isinstance(b, Lit) and b.value is not None:
                col, scale = self.term(a, as_float)
                if col is not None:
                    c = float(b.value) if as_float else b.value
                    return [(self.col(col), sign * c, scale)]
        raise _NoFuse(f"aggregate argument {e}")

    def term(self, e: Expr, as_float: bool):
        """A column times a constant: (column, multiplier) or (None, None)."""
        if isinstance(e, Col) and self.kernel_column(e.name):
            return e.name, 1.0 if as_float else 1
        if isinstance(e, Call) and e.op in ("retype",):
            return self.term(e.args[0], as_float)
        if isinstance(e, Call) and e.op == "rescale" and not as_float:
            col, m = self.term(e.args[0], as_float)
            return (col, m * 10 ** e.param) if col is not None else (None, None)
        if isinstance(e, Call) and e.op == "decimal_to_float" and as_float:
            col, m = self.term(e.args[0], as_float)
            return (col, m / 10 ** e.param) if col is not None else (None, None)
        if isinstance(e, Call) and e.op == "cast" and as_float and \
                e.args[0].type.kind == "int":
            return self.term(e.args[0], as_float)
        if isinstance(e, Call) and e.op == "neg":
            col, m = self.term(e.args[0], as_float)
            return (col, -m) if col is not None else (None, None)
        return None, None

    def check_narrow(self, e: Expr) -> tuple[int, int] | None:
        """The range of integer ``e`` from the zone maps (None: unknown); raises _NoFuse
        when a step typed narrower than BIGINT may overflow its type, an error the general
        path raises where a row does (DuckDB's INTEGER arithmetic: ``i32 * 2``)."""
        if isinstance(e, Lit):
            return None if e.value is None else (e.value, e.value)
        if isinstance(e, Col):
            return self.bounds(e.name) if self.types[e.name].kind == "int" else None
        if not isinstance(e, Call) or e.type.kind != "int":
            return None
        r = [self.check_narrow(a) for a in e.args]
        out = None
        if e.op in ("cast", "retype") and r[0] is not None:
            out = r[0]
        elif e.op == "neg" and r[0] is not None:
            out = (-r[0][1], -r[0][0])
        elif e.op in ("add", "sub", "mul") and None not in r:
            (a0, a1), (b0, b1) = r
            if e.op == "add":
                out = (a0 + b0, a1 + b1)
            elif e.op == "sub":
                out = (a0 - b1, a1 - b0)
            else:
                ps = (a0 * b0, a0 * b1, a1 * b0, a1 * b1)
                out = (min(ps), max(ps))
        t = e.type.arrow
        if t.bit_width < 64 or not pa.types.is_signed_integer(t):
            info = np.iinfo(t.to_pandas_dtype())
            if out is None or out[0] < info.min or out[1] > info.max:
                raise _NoFuse(f"{e} may overflow {t}")
        return out

    def check_overflow(self, factors: list[tuple], kind: str) -> int:
        """1 when products and a block's sums fit in int64 (the fast path), 0 when they
        need int128; raises _NoFuse when even int128 could overflow."""
        bound = 1
        for col, a, b in factors:
            if col < 0:
                bound *= abs(a)
                continue
            lo, hi = self.bounds(self.cols[col])
            bound *= abs(a) + abs(b) * max(abs(lo), abs(hi))
        limit = 1 << 62 if kind in ("min", "max") else 1 << 100
        if bound >= limit:
            raise _NoFuse("products could overflow")
        return int(bound * SCAN_BLOCK < (1 << 62))


def _prefix_base(specs: list, factors: list, fs: list, small: int, as_float: bool) -> int:
    """An earlier aggregate whose factors are a proper prefix of ``fs`` (the kernel then
    starts from its products: Q1's sum_charge reuses sum_disc_price's), or -1."""
    if not small or as_float:
        return -1
    best, best_len = -1, 0
    for i, spec in enumerate(specs):
        kind, is_float, first, count, spec_small = spec[:5]
        if kind == "count_star" or is_float or not spec_small or not best_len < count < len(fs):
            continue
        own = factors[first:first + count]
        direct = count == 1 and own[0][0] >= 0 and own[0][1] == 0 and own[0][2] == 1
        if not direct and own == fs[:count]:
            best, best_len = i, count
    return best


def _civil_table(lo: int, hi: int, part: str) -> np.ndarray:
    """year or month of every day in [lo, hi] (at most a few thousand entries), so the
    kernel looks the key up instead of computing a calendar date per row."""
    days = np.arange(lo, min(hi, lo + (1 << 20)) + 1).astype("datetime64[D]")
    if part == "year":
        return (days.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int32)
    return (days.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int32)


def _civil(days: int) -> tuple[int, int]:
    import datetime
    d = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    return d.year, d.month


def compile_aggregate(plan: Aggregate):
    """(program, compiler, aggregate specs) for ``plan``, or None when it has no kernel form."""
    node = plan.input
    keys, aggs = plan.keys, plan.aggs
    if isinstance(node, Project) and isinstance(node.input, Scan):
        mapping = {Col(n, e.type): e for n, e in node.exprs}
        keys = [(n, replace(e, mapping)) for n, e in keys]
        aggs = [(n, replace(a, mapping)) for n, a in aggs]
        node = node.input
    if not isinstance(node, Scan) or not isinstance(node.source, TableSource) or \
            (node.index is not None and node.index.kind == "hash"):  # probing reads less
        return None
    comp = _Compiler(node)
    try:
        filters = comp.filters()
        key_specs = comp.keys(keys)
        agg_specs, factors, plan_aggs = [], [], []
        shared: dict[tuple, int] = {}
        for name, a in aggs:
            if a.fn == "count_star":
                agg_specs.append(("count_star", 0, 0, 0, 1, -1))
                plan_aggs.append((name, a, len(agg_specs) - 1))
                continue
            if a.fn not in ("count", "sum", "avg", "min", "max"):
                raise _NoFuse(a.fn)
            arg_t = a.arg.type
            if arg_t.kind not in ("int", "decimal", "float", "date") or arg_t.wide:
                raise _NoFuse(f"{a} on {arg_t}")
            as_float = arg_t.kind == "float"
            if arg_t.kind == "int":
                comp.check_narrow(a.arg)
            fs = comp.factors(a.arg, as_float)
            small = 1 if as_float else comp.check_overflow(fs, a.fn)
            kind = {"avg": "sum", "count": "sum"}.get(a.fn, a.fn)
            key = (kind, int(as_float), tuple(fs))
            if key not in shared:  # sum(x), avg(x) and count(x) share one accumulator
                agg_specs.append((kind, int(as_float), len(factors), len(fs), small,
                                  _prefix_base(agg_specs, factors, fs, small, as_float)))
                factors += fs
                shared[key] = len(agg_specs) - 1
            plan_aggs.append((name, a, shared[key]))
    except _NoFuse:
        return None
    program = FusedProgram(len(comp.source.segment_rows()), len(comp.cols), filters,
                           key_specs, agg_specs, factors)
    _bind_columns(program, comp)
    return program, comp, key_specs, plan_aggs, node


def _bind_columns(program, comp: _Compiler) -> None:
    for ci, name in enumerate(comp.cols):
        for si, (data, valid, kind, offsets) in enumerate(comp.source.physical(name)):
            program.set_column(si, ci, data, valid, kind, offsets)


def compile_filter(scan: Scan):
    """(kernel program, residual) for the scan's filter: the program runs the conjuncts
    that have a kernel form (the general path then gathers only the rows it selects), the
    residual (None: nothing left) the others, with Arrow on those rows. None when no
    conjunct has a kernel form."""
    if scan.filter is None or not isinstance(scan.source, TableSource):
        return None
    comp = _Compiler(scan)
    residual: list = []
    try:
        filters = comp.filters(residual)
    except _NoFuse:
        return None
    if not filters:
        return None
    program = FusedProgram(len(comp.source.segment_rows()), len(comp.cols), filters, [], [],
                           [])
    _bind_columns(program, comp)
    return program, conjoin(residual) if residual else None


def run_aggregate(plan: Aggregate, ctx, compiled) -> pa.Table:
    """Run ``plan`` with its fused kernel (``compiled``: ``compile_aggregate(plan)``)."""
    program, comp, key_specs, plan_aggs, scan = compiled
    t0 = time.perf_counter()
    morsels = plan_morsels(scan, ctx)
    prefetch = getattr(scan.source, "prefetch", None)
    st_scan = ctx.op(scan)
    claim = itertools.count()  # next() is atomic: workers take morsels in order

    drop = dropping(scan, ctx)  # a cold scan: pages out of the cache behind it

    def worker():
        """One task per worker thread, looping over morsels: a few Python calls per morsel
        and no future per morsel (each costs GIL hand-offs with the running workers)."""
        state = program.new_state()
        faults0 = resource.getrusage(resource.RUSAGE_THREAD).ru_majflt
        while (i := next(claim)) < len(morsels):
            m = morsels[i]
            if prefetch is not None:
                prefetch(comp.cols, morsels, i)
            program.run(state, m.segment, m.start, m.stop)
            if drop is not None:
                drop(m)
        return state, resource.getrusage(resource.RUSAGE_THREAD).ru_majflt - faults0

    n = min(ctx.workers, len(morsels))
    # one morsel or none (a small table): the caller's thread, no pool threads to start
    done = [worker()] if n <= 1 else \
        [f.result() for f in [ctx.pool.submit(worker) for _ in range(n)]]
    states = [s for s, _ in done]
    merged = states[0]
    for s in states[1:]:
        merged.merge(s)
    res = merged.results()
    scanned = sum(m.rows for m in morsels)
    st_scan.extra["rows_scanned"] = scanned
    st_scan.extra["bytes_touched"] = sum(scanned * comp.source.row_width(c) for c in comp.cols)
    st_scan.extra["major_faults"] = sum(f for _, f in done)
    st_scan.extra["kernel"] = "fused filter+aggregate kernel"
    selected = int(res["rows"].sum())
    st_scan.add(selected, time.perf_counter() - t0)
    out = _table(plan, comp, key_specs, plan_aggs, res, program.naggs)
    ctx.op(plan).add(out.num_rows, time.perf_counter() - t0)
    return out


def _table(plan: Aggregate, comp: _Compiler, key_specs, plan_aggs, res, naggs) -> pa.Table:
    na = max(naggs, 1)
    rows = res["rows"]
    groups = np.nonzero(rows)[0] if plan.keys else np.zeros(1, np.int64)
    cols: dict[str, pa.Array] = {}
    rem = groups.copy()
    for (name, e), (ci, base, card, *transform) in zip(plan.keys, key_specs, strict=True):
        code = rem % card
        rem //= card
        null = code == card - 1
        cname = comp.cols[ci]
        if transform:
            cols[name] = from_numpy(base + code.astype(np.int64), null)
        elif comp.source.is_dictionary(cname):
            d = comp.source.dictionary(cname)
            idx = from_numpy(np.where(null, 0, code).astype(np.int32), null)
            cols[name] = d.take(idx)
        else:
            vals = from_numpy(base + code.astype(np.int64), null)
            cols[name] = vals.cast(pa.int32()).cast(pa.date32()) if e.type.kind == "date" \
                else vals.cast(e.type.arrow) if e.type.kind == "int" else vals
    for name, a, j in plan_aggs:
        cell = groups * na + j
        cnt = res["cnt"][cell]
        empty = cnt == 0
        if a.fn in ("count_star", "count"):
            cols[name] = from_numpy(cnt)
            continue
        is_float = a.arg.type.kind == "float"
        if a.fn in ("sum", "avg"):
            if is_float:
                s = res["dsum"][cell]
                v = s if a.fn == "sum" else s / np.maximum(cnt, 1)
                cols[name] = from_numpy(v.astype(np.float64), empty)
                continue
            hi, lo = res["sum_hi"][cell], res["sum_lo"][cell]
            if a.fn == "avg":
                total = [(int(h) << 64) + int(lo_) for h, lo_ in zip(hi, lo, strict=True)]
                scale = a.arg.type.scale if a.arg.type.kind == "decimal" else 0
                cols[name] = exact.average(total, cnt.tolist(), scale)
                continue  # (the exact sum divided once)
            if a.type.kind == "decimal":
                words = np.empty(2 * len(cell), np.int64)
                words[0::2], words[1::2] = lo.view(np.int64), hi
                arr = pa.Array.from_buffers(a.type.arrow, len(cell), [None, pa.py_buffer(words)])
                cols[name] = _mask(arr, empty)
                continue
            signed_lo = lo.view(np.int64)
            if np.any(hi != (signed_lo >> 63)):
                raise QueryError(f"{a} overflows a 64-bit integer")
            cols[name] = from_numpy(signed_lo, empty)
            continue
        # min / max
        if is_float:
            v = res["dmin" if a.fn == "min" else "dmax"][cell]
            cols[name] = from_numpy(v.astype(np.float64), empty).cast(a.type.arrow)
        else:
            v = from_numpy(res["imin" if a.fn == "min" else "imax"][cell], empty)
            t = a.type
            cols[name] = v.cast(pa.int32()).cast(pa.date32()) if t.kind == "date" else \
                v.cast(t.arrow) if t.kind == "int" else v
    if not cols:
        cols["$n"] = pa.nulls(len(groups), pa.null())
    return pa.table(cols)


def _mask(arr: pa.Array, empty: np.ndarray) -> pa.Array:
    if not empty.any():
        return arr
    import pyarrow.compute as pc
    return pc.if_else(from_numpy(empty), pa.scalar(None, arr.type), arr)
