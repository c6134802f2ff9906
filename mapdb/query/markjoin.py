"""Mark joins: every row of the streaming (left) side once, plus a BOOLEAN column saying
whether the built side (a decorrelated EXISTS or IN subquery) matches it. This is how
EXISTS and IN (subquery) are answered wherever they appear in an expression (OR, CASE, the
select list, HAVING, under NOT): the expression reads the mark column.

EXISTS: TRUE when a built row has the row's correlation keys (and passes the join's
condition), else FALSE; never NULL. IN (``null_aware``: the first key pair is x and the
subquery's column, the others correlate): x's set is the built rows its correlation keys
and condition select; TRUE when one of them equals x; else NULL when the set is not empty
and x is NULL, or the set holds a NULL; else FALSE (an empty set is FALSE even for a NULL
x): SQL's x = ANY (set), as DuckDB answers it. The NULL part probes two more hash tables,
on the correlation keys alone (no table: one set for every row), built once per join:
over every built row (for a NULL x) and over the rows whose value is NULL; only the rows
without a match probe them.

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
    """Which rows' IN is NULL: no match, and a NULL x with a non-empty set or a NULL in
    the set."""
    rest = np.flatnonzero(~found)
    if not len(rest) or not build.rows:
        return None
    x = evaluate(join.left_keys[0], batch, n)
    x_null = np.asarray(x.is_null().to_numpy(zero_copy_only=False), bool)
    every, nulls = _sets(join, build)
    unknown = np.zeros(n, bool)
    for rows, candidates in ((rest[x_null[rest]], every), (rest[~x_null[rest]], nulls)):
        if len(rows):
            unknown[rows] = candidates.reach(join, build, batch, rows)
    return unknown


def _sets(join: Join, build: HashBuild) -> tuple[_Subset, _Subset]:
    with _lock:
        sets = getattr(build, "in_sets", None)
        if sets is None:
            y = evaluate(join.right_keys[0], build.cols, build.rows)
            y_null = np.asarray(y.is_null().to_numpy(zero_copy_only=False), bool)
            sets = (_Subset(join, build, np.arange(build.rows, dtype=np.int64)),
                    _Subset(join, build, np.flatnonzero(y_null).astype(np.int64)))
            build.in_sets = sets
    return sets


class _Subset:
    """Some built rows (positions), hashed on the correlation keys alone."""

    def __init__(self, join: Join, build: HashBuild, rows: np.ndarray):
        self.rows = rows
        self.table = None
        corr = join.right_keys[1:]
        if corr and len(rows):
            cols = {c: a.take(pa.array(rows)) for c, a in build.cols.items()}
            self.coder = KeyCoder(_keys(corr, cols, len(rows)))
            self.table = JoinTable(self.coder.codes, self.coder.valid)

    def reach(self, join: Join, build: HashBuild, batch: Batch, rows: np.ndarray
              ) -> np.ndarray:
        """For each of the probe ``rows``: whether one of these built rows is in its set."""
        k = len(rows)
        if not len(self.rows):
            return np.zeros(k, bool)
        sub = {c: a.take(pa.array(rows)) for c, a in batch.items()}
        if self.table is None:  # uncorrelated: one set for every row
            if join.condition is None:
                return np.ones(k, bool)
            pi, bi = _cross(k, len(self.rows))
        else:
            codes, valid = self.coder.encode(_keys(join.left_keys[1:], sub, k))
            if join.condition is None:
                return self.table.probe_first(codes, valid) >= 0
            pi, bi = self.table.probe(codes, valid)
        return _any(join.condition, sub, build, pi, self.rows[bi], k)
