"""Mark joins: every row of the streaming (left) side once, plus a BOOLEAN column saying
whether the built side (a decorrelated EXISTS or IN subquery) matches it. This is how
EXISTS and IN (subquery) are answered wherever they appear in an expression (OR, CASE, the
select list, HAVING, under NOT): the expression reads the mark column.

EXISTS: TRUE when a built row has the row's correlation keys (and passes the join's
condition), else FALSE; never NULL. IN (``null_aware``: the first key pair is x and the
subquery's column, the others correlate): x's set is the built rows its correlation keys
and condition select; TRUE when one of them equals x; else NULL when the set is not empty
and x is NULL, or the set holds a NULL; else FALSE (an empty set is FALSE even for a NULL
x): SQL's x = ANY (set), as DuckDB answers it. A row value ``(a, b) IN (SELECT x, y ...)``
(``null_aware`` 2: two value pairs before the correlation keys) is the same field by
field: NULL when a row of the set has each field equal or NULL on a side. The NULL part
probes more hash tables, built once per join on the values NULL on neither side and the
correlation keys (no keys: one set for every row): over the built rows grouped by which
values are NULL in them; only the rows without a match probe them.

>>> import pyarrow as pa
>>> from mapdb.query.expr import Col
>>> from mapdb.query.hashjoin import HashBuild
>>> from mapdb.query.plan import Join
>>> from mapdb.query.types import INT64
>>> x, y = Col("x", INT64), Col("y", INT64)
>>> j = Join(None, None, "mark", [x], [y], null_aware=True, mark="m")
>>> b = HashBuild(j, pa.table({"y": pa.array([1, None])}), [y])
>>> out, n = mark(j, b, {"x": pa.array([1, 2, None])}, 3)
>>> out["m"].to_pylist()
[True, None, None]
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb._ext import JoinTable
from mapdb.query.evaluate import evaluate
from mapdb.query.expr import Expr
from mapdb.query.hashjoin import Batch, HashBuild, KeyCoder, _cross, _keys, _pairs
from mapdb.query.plan import Join

_lock = threading.Lock()  # the NULL-part tables are built by the first morsel to need them


def mark(join: Join, build: HashBuild, batch: Batch, n: int) -> tuple[Batch, int]:
    """``batch`` with ``join.mark`` added."""
    found = _matched(join, build, batch, n)
    unknown = _unknown(join, build, batch, n, found) if join.null_aware else None
    out = dict(batch)
    out[join.mark] = pa.array(found, pa.bool_(), mask=unknown)
    return out, n


def _matched(join: Join, build: HashBuild, batch: Batch, n: int) -> np.ndarray:
    if not n or not build.rows:
        return np.zeros(n, bool)
    if build.table is None:  # no equality keys: every built row is a candidate
        if join.condition is None:
            return np.ones(n, bool)
        pi, bi = _cross(n, build.rows)
    else:
        codes, valid = build.coder.encode(_keys(join.left_keys, batch, n))
        if join.condition is None:
            return build.table.probe_first(codes, valid) >= 0
        pi, bi = build.table.probe(codes, valid)
    return _any(join.condition, batch, build, pi, bi, n)


def _any(condition: Expr, batch: Batch, build: HashBuild, pi: np.ndarray, bi: np.ndarray,
         n: int) -> np.ndarray:
    """Which of the ``n`` rows have a candidate pair (pi, bi) that passes ``condition``."""
    found = np.zeros(n, bool)
    if len(pi):
        mask = pc.fill_null(evaluate(condition, _pairs(batch, build, pi, bi), len(pi)), False)
        found[pi[np.asarray(mask.to_numpy(zero_copy_only=False), bool)]] = True
    return found


def _unknown(join: Join, build: HashBuild, batch: Batch, n: int,
             found: np.ndarray) -> np.ndarray | None:
    """Which rows' IN is NULL: no match, but a built row in the row's set whose values
    each equal x's or are NULL on a side (one value: a NULL x with a non-empty set, or a
    NULL in the set). Probe and built rows are grouped by which of their values are NULL;
    for each pair of groups the values NULL on neither side must be equal, so the built
    group is hashed on those and the correlation keys."""
    rest = np.flatnonzero(~found)
    if not len(rest) or not build.rows:
        return None
    k = int(join.null_aware)
    pattern = np.zeros(n, np.int64)
    for i, key in enumerate(join.left_keys[:k]):
        x = evaluate(key, batch, n)
        pattern |= np.asarray(x.is_null().to_numpy(zero_copy_only=False), bool
                              ).astype(np.int64) << i
    unknown = np.zeros(n, bool)
    built = _patterns(join, build)
    for p in np.unique(pattern[rest]):
        rows = rest[pattern[rest] == p]
        for q in built:
            if p | q:  # (no NULL on either side: equal values would have matched)
                todo = rows[~unknown[rows]]
                if len(todo):
                    unknown[todo] = _subset(join, build, int(q), int(p | q)).reach(
                        join, build, batch, todo, _unequal(join.left_keys, k, int(p | q)))
    return unknown


def _unequal(keys: list, k: int, wild: int) -> list:
    """The keys to hash on when the values in ``wild`` (a bit per value) are NULL on a
    side: the other values and the correlation keys."""
    return [e for i, e in enumerate(keys[:k]) if not wild >> i & 1] + keys[k:]


def _patterns(join: Join, build: HashBuild) -> dict[int, np.ndarray]:
    """The built rows by which of IN's values are NULL in them (a bit per value)."""
    with _lock:
        out = getattr(build, "in_patterns", None)
        if out is None:
            pattern = np.zeros(build.rows, np.int64)
            for i, key in enumerate(join.right_keys[:int(join.null_aware)]):
                y = evaluate(key, build.cols, build.rows)
                pattern |= np.asarray(y.is_null().to_numpy(zero_copy_only=False), bool
                                      ).astype(np.int64) << i
            out = {int(q): np.flatnonzero(pattern == q).astype(np.int64)
                   for q in np.unique(pattern)}
            build.in_patterns, build.in_sets = out, {}
    return out


def _subset(join: Join, build: HashBuild, q: int, wild: int) -> _Subset:
    with _lock:
        sets = build.in_sets
        if (q, wild) not in sets:
            keys = _unequal(join.right_keys, int(join.null_aware), wild)
            sets[q, wild] = _Subset(build, build.in_patterns[q], keys)
        return sets[q, wild]


class _Subset:
    """Some built rows (positions), hashed on some of the keys (``keys``: none, when
    every row of the subset is in every probe row's set)."""

    def __init__(self, build: HashBuild, rows: np.ndarray, keys: list):
        self.rows = rows
        self.table = None
        if keys and len(rows):
            cols = {c: a.take(pa.array(rows)) for c, a in build.cols.items()}
            self.coder = KeyCoder(_keys(keys, cols, len(rows)))
            self.table = JoinTable(self.coder.codes, self.coder.valid)

    def reach(self, join: Join, build: HashBuild, batch: Batch, rows: np.ndarray,
              keys: list) -> np.ndarray:
        """For each of the probe ``rows``: whether one of these built rows is in its set
        (``keys``: the probe side's keys paired with the subset's)."""
        k = len(rows)
        if not len(self.rows):
            return np.zeros(k, bool)
        sub = {c: a.take(pa.array(rows)) for c, a in batch.items()}
        if self.table is None:  # no keys: one set for every row
            if join.condition is None:
                return np.ones(k, bool)
            pi, bi = _cross(k, len(self.rows))
        else:
            codes, valid = self.coder.encode(_keys(keys, sub, k))
            if join.condition is None:
                return self.table.probe_first(codes, valid) >= 0
            pi, bi = self.table.probe(codes, valid)
        return _any(join.condition, sub, build, pi, self.rows[bi], k)
