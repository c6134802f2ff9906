"""Hash joins: the build side's hash table and the probe of one batch against it.

The build input is run to completion once (its own pipelines, morsel-parallel) and its
join keys become int64 codes in an ``_ext.JoinTable`` (chained hash table, probed without
the GIL). The probe side is not materialized: each morsel of its pipeline is probed as it
streams, and the operators above the join (more joins, filters, a partial aggregate) run on
the joined morsel. Keys become int64 codes the same way on both sides: integer-like values
(integers, dates, timestamps, booleans, scaled decimals) as themselves; other types
(strings, floats, uint64, wide decimals) as their position in the build side's distinct
values, so a probe value the build side lacks has no code and cannot match. Floats are
made canonical first (-0.0 as 0.0, one NaN): SQL equality, as DuckDB's, says NaN = NaN.
Several keys combine into one code by the ranges of their codes on the build side (wide
ones renumbered by the build side's distinct values first).
NULL keys never match.

Kinds: inner and cross (pairs), left (pairs plus the probe rows without one, NULL-padded),
single (a scalar subquery: at most one match per row, else an error), semi and anti
(membership; ``null_aware`` for NOT IN), each with an optional ``condition`` over both
sides that decides which pairs count as matches. A join whose ``build`` is "left" runs the
other way round: the (small) preserved side is built and the big side streams past it,
marking the rows it matches (``MarkSink`` for semi and anti joins; ``HashBuild.marks`` and
``tail`` for LEFT joins, whose unmatched rows follow the last morsel).
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb._ext import JoinTable
from mapdb.query.evaluate import canonical_float, combine_dictionary, decode, evaluate
from mapdb.query.expr import Expr
from mapdb.query.plan import Join
from mapdb.query.types import QueryError

Batch = dict[str, pa.Array]
MAX_CROSS_ROWS = 200_000_000
PAIR_CHUNK = 4_000_000  # candidate pairs of a conditioned join gathered at a time


class KeyCoder:
    """Join keys -> (int64 codes, valid mask), with the encoding fixed by the build side."""

    def __init__(self, columns: list[pa.Array]):
        self.kinds, self.values, self.steps = [], [], []
        parts = []
        for a in columns:
            if _int_like(a.type):
                self.kinds.append("int")
                self.values.append(None)
            else:
                self.kinds.append("dict")
                self.values.append(pc.unique(a.drop_null()) if len(a) else a)
            parts.append(self._one(len(self.kinds) - 1, a))
        self.codes, self.valid = self._combine(parts, build=True)

    def _one(self, i: int, a: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
        if self.kinds[i] == "int":
            if pa.types.is_date32(a.type):  # Arrow has no date32 -> int64 cast
                ints = a.view(pa.int32()).cast(pa.int64())
            elif pa.types.is_timestamp(a.type):
                ints = a.view(pa.int64())
            else:
                ints = a.cast(pa.int64()) if a.type != pa.int64() else a
        else:
            ints = pc.index_in(a, value_set=self.values[i]).cast(pa.int64())
        valid = None
        if ints.null_count:
            valid = ints.is_valid().to_numpy(zero_copy_only=False).astype(np.uint8)
            ints = ints.fill_null(0)
        return np.ascontiguousarray(ints.to_numpy(zero_copy_only=False), np.int64), valid

    def _combine(self, parts, build: bool):
        """Several keys' codes as one int64: each key's code less its build-side minimum,
        mixed radix by the keys' ranges. A key whose range is 2**31 or wider is first
        numbered by its build side's distinct values, and when the product of the ranges
        would pass 2**62, the codes combined so far are (so three timestamps, or a
        timestamp and a uint64, still make one code; nothing is refused)."""
        if len(parts) == 1:
            return parts[0]
        valid = None
        for _, v in parts:
            if v is not None:
                valid = v.copy() if valid is None else (valid & v)
        if build:
            self.steps = []
            for codes, v in parts:
                ok = codes if v is None else codes[v.astype(bool)]
                lo, hi = (int(ok.min()), int(ok.max())) if len(ok) else (0, 0)
                dense = None
                if hi - lo >= 1 << 31:
                    dense = np.unique(ok)
                    lo, hi = 0, max(len(dense) - 1, 0)
                self.steps.append([dense, lo, hi, None])
        out, width = None, 1
        for (codes, _), step in zip(parts, self.steps, strict=True):
            dense, lo, hi, _ = step
            if dense is not None:
                codes, found = _position(dense, codes)
                valid = found if valid is None else (valid & found)
            inside = (codes >= lo) & (codes <= hi)
            if not inside.all():
                valid = inside.astype(np.uint8) if valid is None else (valid & inside)
            c = np.clip(codes, lo, hi) - lo
            w = hi - lo + 1
            if out is None:
                out, width = c, w
                continue
            if build and width * w >= 1 << 62:  # renumber the codes so far
                step[3] = np.unique(out if valid is None else out[valid.astype(bool)])
            if step[3] is not None:
                out, found = _position(step[3], out)
                valid = found if valid is None else (valid & found)
                width = max(len(step[3]), 1)
            out = out * w + c
            width *= w
        return out, valid

    def encode(self, columns: list[pa.Array]) -> tuple[np.ndarray, np.ndarray | None]:
        parts = [self._one(i, decode(a)) for i, a in enumerate(columns)]
        return self._combine(parts, build=False)


def _position(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each code's position in the sorted ``values`` and whether it is there (uint8)."""
    if not len(values):
        return np.zeros(len(codes), np.int64), np.zeros(len(codes), np.uint8)
    idx = np.minimum(np.searchsorted(values, codes), len(values) - 1)
    return idx.astype(np.int64), (values[idx] == codes).astype(np.uint8)


def _int_like(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) and t != pa.uint64()) or pa.types.is_date32(t) or \
        pa.types.is_timestamp(t) or pa.types.is_boolean(t)


def _keys(exprs: list[Expr], batch: Batch, n: int) -> list[pa.Array]:
    out = []
    for e in exprs:
        a = decode(evaluate(e, batch, n))
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        if pa.types.is_boolean(a.type):
            a = a.cast(pa.int8())
        elif pa.types.is_floating(a.type):  # -0.0 = 0.0 and NaN = NaN, as in DuckDB
            a = canonical_float(a.cast(pa.float64()))
        elif pa.types.is_large_string(a.type):  # one string type on both sides
            a = a.cast(pa.string())
        out.append(a)
    return out


class HashBuild:
    """The built side of one join: its rows (as arrays) and hash table."""

    def __init__(self, join: Join, table: pa.Table, keys: list[Expr]):
        self.rows = table.num_rows
        self.cols = {c: _whole(table.column(c)) for c in table.column_names}
        self.table = None
        self.any_null_key = False
        if keys:
            arrays = _keys(keys, self.cols, self.rows)
            self.any_null_key = any(a.null_count for a in arrays)
            self.coder = KeyCoder(arrays)
            self.table = JoinTable(self.coder.codes, self.coder.valid)
        self.unique = self.table is not None and self.table.unique
        # a LEFT join built on its left side: which built rows found a match (the rest
        # come out NULL-padded once the right side has streamed past, see tail())
        self.marks = np.zeros(self.rows, np.uint8) if (
            join.kind == "left" and join.build == "left") else None

    def tail(self, streaming: list[tuple[str, object]]) -> tuple[Batch, int]:
        """The built rows no streaming row matched, the streaming side's columns NULL."""
        missing = pa.array(np.flatnonzero(self.marks == 0))
        out = {c: _plain(a.take(missing)) for c, a in self.cols.items()}
        out.update({c: pa.nulls(len(missing), t.arrow if t.kind != "null" else pa.null())
                    for c, t in streaming})
        return out, len(missing)

    def take(self, idx: np.ndarray | pa.Array) -> Batch:
        return {c: a.take(idx) for c, a in self.cols.items()}

    def nulls(self, n: int) -> Batch:
        return {c: pa.nulls(n, a.type) for c, a in self.cols.items()}


def _whole(a) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        if a.num_chunks == 1:
            return a.chunk(0)
        if pa.types.is_dictionary(a.type):
            one = combine_dictionary(a.chunks)
            return one if one is not None else decode(a).combine_chunks()
        return a.combine_chunks()
    return a


class Builds:
    """Hash tables of one execution, built once per join (in the thread that starts the
    pipeline, before its morsels run)."""

    def __init__(self, memory=None) -> None:
        self._built: dict[int, HashBuild] = {}
        self._lock = threading.Lock()
        self.memory = memory  # the execution's query.memory.Tracker (None: not tracked)

    def get(self, join: Join) -> HashBuild:
        return self._built[id(join)]

    def ensure(self, join: Join, materialize) -> HashBuild:
        """The join's build, made at the first call: ``materialize(plan, reservation)``
        gives the built side's rows, charged to the build's reservation (held until the
        execution ends, as the build is)."""
        with self._lock:
            b = self._built.get(id(join))
        if b is None:
            side = join.right if join.build == "right" else join.left
            keys = join.right_keys if join.build == "right" else join.left_keys
            held = self.memory.reservation("hash join build") if self.memory else None
            table = materialize(side, held)
            if held is not None:  # its key codes and hash table (ext JoinTable): ~32 B/row
                held.grow(32 * table.num_rows)
            b = HashBuild(join, table, keys)
            with self._lock:
                self._built[id(join)] = b
        return b


def matching_rows(build: HashBuild, exprs: list[Expr], batch: Batch, n: int,
                  rows: np.ndarray | None = None, keep: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose keys (``exprs`` over ``batch``; only ``rows`` when given) have a
    match (``keep``; else those with none), as positions into ``rows`` (or the batch), and
    each one's first matching build row."""
    keys = _keys(exprs, batch, n)
    if rows is not None and len(rows) < n // 2:
        # few rows left by the joins probed before: encode only theirs (a whole morsel's
        # int32 -> int64 copy costs more than the take)
        take = pa.array(rows)
        codes, valid = build.coder.encode([a.take(take) for a in keys])
        return build.table.probe_hits(codes, valid, None, keep)
    codes, valid = build.coder.encode(keys)
    return build.table.probe_hits(codes, valid, rows, keep)


def probe(join: Join, build: HashBuild, batch: Batch, n: int) -> tuple[Batch, int]:
    """One batch of the streaming side through ``join``."""
    streaming_keys = join.left_keys if join.build == "right" else join.right_keys
    kind = join.kind
    if build.table is None and kind == "single":  # an uncorrelated scalar subquery
        if build.rows > 1:
            raise QueryError("more than one row returned by a subquery used as an expression")
        out = dict(batch)
        out.update({c: (pa.repeat(a[0], n) if build.rows else pa.nulls(n, a.type))
                    for c, a in build.cols.items()})
        return out, n
    if build.table is None and kind in ("semi", "anti") and join.condition is None:
        return _membership(join, build, batch, n, np.zeros(n, bool), None)
    if build.table is None:  # no equi-keys: every pair is a candidate
        pi, bi = _cross(n, build.rows)
    elif kind == "single" or (kind in ("semi", "anti") and join.condition is None):
        codes, valid = build.coder.encode(_keys(streaming_keys, batch, n))
        if kind == "single":
            counts = build.table.count(codes, valid)
            if n and counts.max(initial=0) > 1:
                raise QueryError("more than one row returned by a subquery used as an "
                                 "expression")
            first = build.table.probe_first(codes, valid)
            idx = pa.array(first, mask=first < 0)
            out = dict(batch)
            out.update(build.take(idx))
            return out, n
        first = build.table.probe_first(codes, valid)
        found = first >= 0
        return _membership(join, build, batch, n, found, valid)
    else:
        codes, valid = build.coder.encode(_keys(streaming_keys, batch, n))
        if join.condition is not None:
            # every key match is a candidate pair the condition then tests: bounded
            counts = build.table.count(codes, valid)
            total = int(counts.sum())
            if total > MAX_CROSS_ROWS:
                raise QueryError(f"a join whose condition is tested on {total:,} row pairs "
                                 f"of equal keys in one morsel (limit {MAX_CROSS_ROWS:,}) "
                                 f"is not supported: {join.condition}")
            if total > PAIR_CHUNK and n > 1:
                return _in_chunks(join, build, batch, n, np.cumsum(counts))
        pi, bi = build.table.probe(codes, valid)
    pairs = _pairs(batch, build, pi, bi)
    if join.condition is not None and len(pi):
        mask = evaluate(join.condition, pairs, len(pi))
        mask = pc.fill_null(mask, False)
        keep = np.asarray(mask.to_numpy(zero_copy_only=False), bool)
        pi, bi = pi[keep], bi[keep]
        pairs = {c: a.filter(mask) for c, a in pairs.items()}
    if kind in ("inner", "cross"):
        return pairs, len(pi)
    if kind == "left" and build.marks is not None:  # built left side: mark, pass pairs
        build.marks[bi] = 1
        return pairs, len(pi)
    if kind in ("semi", "anti"):
        found = np.zeros(n, bool)
        found[pi] = True
        return _membership(join, build, batch, n, found, None)
    if kind == "left":
        found = np.zeros(n, bool)
        found[pi] = True
        missing = np.flatnonzero(~found)
        if not len(missing):
            return pairs, len(pi)
        rest = {c: a.take(pa.array(missing)) for c, a in batch.items()}
        rest.update(build.nulls(len(missing)))
        return {c: pa.concat_arrays([_plain(pairs[c]), _plain(rest[c])]) for c in pairs}, \
            len(pi) + len(missing)
    raise QueryError(f"{kind} join cannot stream")


def _in_chunks(join: Join, build: HashBuild, batch: Batch, n: int,
               ends: np.ndarray) -> tuple[Batch, int]:
    """``probe`` over slices of the batch of at most about PAIR_CHUNK candidate pairs each
    (``ends``: the running count of each row's pairs), the outputs concatenated: the
    pairs a join condition tests are gathered a slice at a time, not all at once."""
    cuts = np.searchsorted(ends, np.arange(PAIR_CHUNK, int(ends[-1]), PAIR_CHUNK),
                           side="right")
    bounds = [0, *sorted({int(c) for c in cuts if 0 < c < n}), n]
    outs = [probe(join, build, {c: a.slice(lo, hi - lo) for c, a in batch.items()}, hi - lo)
            for lo, hi in itertools.pairwise(bounds)]
    names = list(outs[0][0])
    return {c: pa.concat_arrays([_plain(_whole(o[c])) for o, _ in outs]) for c in names}, \
        sum(m for _, m in outs)


def _plain(a: pa.Array) -> pa.Array:
    return decode(a) if isinstance(a, pa.DictionaryArray) else a


def _membership(join: Join, build: HashBuild, batch: Batch, n: int, found: np.ndarray,
                valid) -> tuple[Batch, int]:
    if build.table is None and join.condition is None:  # EXISTS without correlation
        found = np.full(n, build.rows > 0)
    if join.kind == "semi":
        keep = found
    elif join.null_aware:  # NOT IN: unknown (so not kept) when a NULL is involved
        if build.rows == 0:
            keep = np.ones(n, bool)
        elif build.any_null_key:
            keep = np.zeros(n, bool)
        else:
            # a NULL key is unknown, so not kept (the coder's ``valid`` also says no for
            # values the build side lacks: strings, floats, uint64 keys are coded by the
            # build side's values, so it cannot tell NULL from absent)
            keep = ~found
            for k in join.left_keys:
                v = evaluate(k, batch, n)
                if v.null_count:
                    keep &= np.asarray(v.is_valid().to_numpy(zero_copy_only=False), bool)
    else:
        keep = ~found
    if keep.all():
        return batch, n
    mask = pa.array(keep)
    return {c: a.filter(mask) for c, a in batch.items()}, int(keep.sum())


def _pairs(batch: Batch, build: HashBuild, pi: np.ndarray, bi: np.ndarray) -> Batch:
    pia, bia = pa.array(pi), pa.array(bi)
    out = {c: a.take(pia) for c, a in batch.items()}
    out.update(build.take(bia))
    return out


def _cross(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    if n * m > MAX_CROSS_ROWS:
        raise QueryError(f"a join without equality keys would produce {n * m:,} row pairs "
                         f"in one morsel (limit {MAX_CROSS_ROWS:,})")
    return np.repeat(np.arange(n, dtype=np.int64), m), np.tile(np.arange(m, dtype=np.int64),
                                                               n)


class MarkSink:
    """Semi/anti join with the preserved (left) side built: each batch of the right side
    marks the built rows it matches."""

    def __init__(self, join: Join, build: HashBuild):
        self.join = join
        self.build = build
        self.marks = np.zeros(build.rows, np.uint8)

    def __call__(self, batch: Batch, n: int) -> pa.Table:
        if not self.build.rows or not n:
            return pa.table({})
        codes, valid = self.build.coder.encode(_keys(self.join.right_keys, batch, n))
        if self.join.condition is None:
            self.build.table.mark(codes, self.marks, valid)
        else:
            pi, bi = self.build.table.probe(codes, valid)
            if len(pi):
                pairs = _pairs(batch, self.build, pi, bi)
                mask = pc.fill_null(evaluate(self.join.condition, pairs, len(pi)), False)
                keep = np.asarray(mask.to_numpy(zero_copy_only=False), bool)
                self.marks[bi[keep]] = 1
        return pa.table({})

    def result(self) -> pa.Table:
        keep = self.marks[:self.build.rows].astype(bool)
        if self.join.kind == "anti":
            keep = ~keep
        mask = pa.array(keep)
        return pa.table({c: a.filter(mask) for c, a in self.build.cols.items()})


def full_outer(join: Join, left: pa.Table, right: pa.Table) -> pa.Table:
    """FULL OUTER JOIN of two materialized inputs."""
    build = HashBuild(join, right, join.right_keys)
    lcols = {c: _whole(left.column(c)) for c in left.column_names}
    n = left.num_rows
    if build.table is None:
        pi, bi = _cross(n, build.rows)
    else:
        codes, valid = build.coder.encode(_keys(join.left_keys, lcols, n))
        pi, bi = build.table.probe(codes, valid)
    pairs = _pairs(lcols, build, pi, bi)
    if join.condition is not None and len(pi):
        mask = pc.fill_null(evaluate(join.condition, pairs, len(pi)), False)
        keep = np.asarray(mask.to_numpy(zero_copy_only=False), bool)
        pi, bi = pi[keep], bi[keep]
        pairs = {c: a.filter(mask) for c, a in pairs.items()}
    lmiss = np.flatnonzero(~np.isin(np.arange(n), pi))
    rmiss = np.flatnonzero(~np.isin(np.arange(build.rows), bi))
    parts = [pairs]
    if len(lmiss):
        p = {c: a.take(pa.array(lmiss)) for c, a in lcols.items()}
        p.update(build.nulls(len(lmiss)))
        parts.append(p)
    if len(rmiss):
        p = {c: pa.nulls(len(rmiss), a.type) for c, a in lcols.items()}
        p.update(build.take(pa.array(rmiss)))
        parts.append(p)
    names = list(pairs)
    return pa.table({c: pa.concat_arrays([_plain(p[c]) for p in parts]) for c in names})
