"""ASOF joins: each left row with the nearest right row in time among those with its keys.

``a ASOF [LEFT] JOIN b ON a.k = b.k AND a.t >= b.t``: for each row of ``a``, the one row of
``b`` with equal keys (any number, none included) and the greatest ``b.t`` at or before
``a.t`` (``>``: strictly before; ``<=``/``<``: the smallest at or after / after). NULL keys
or times match nothing; ASOF LEFT JOIN keeps unmatched left rows, padded with NULLs.

The ON clause (``plan``): equalities between the sides are keys, exactly one inequality
between them is the time, a condition on the right side alone decides which right rows
take part (DuckDB: the nearest row among those passing it), a condition on the left side
alone which left rows match at all. Anything else across the sides is refused.

Execution (``execute``) is a sort and one binary search, no loop over rows: both sides'
times become dense ranks over their union (any orderable type: numbers, dates,
timestamps, strings), the keys group ids (hashjoin's KeyCoder, built on the right side),
and each row one int64, ``group * ranks + rank``. The right side sorted by it, each left
row's candidate is found by ``np.searchsorted`` (side and step by the operator) and kept
if it has the row's group. Ties in the right time within a group: DuckDB takes one of
them, not documented which; here the last of them in the right input's order for ``>=`` /
``>`` and the first for ``<=`` / ``<``.

>>> import pyarrow as pa
>>> from mapdb.query.expr import Col
>>> from mapdb.query.plan import AsofJoin
>>> from mapdb.query.types import INT64, STRING
>>> k, t, v = Col("k", STRING), Col("t", INT64), Col("v", INT64)
>>> rk, rt = Col("rk", STRING), Col("rt", INT64)
>>> j = AsofJoin(None, None, [k, t], [rk, rt], "ge", outer=True)
>>> left = pa.table({"k": ["x", "x", "y"], "t": [5, 1, 9]})
>>> right = pa.table({"rk": ["x", "x", "y"], "rt": [0, 4, 10], "v": [1, 2, 3]})
>>> execute(j, left, right).column("v").to_pylist()
[2, 1, None]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.query.evaluate import decode, evaluate
from mapdb.query.expr import Call, Expr, conjoin, conjuncts
from mapdb.query.hashjoin import KeyCoder, _keys
from mapdb.query.plan import AsofJoin, Filter, Plan
from mapdb.query.types import QueryError

_MIRROR = {"ge": "le", "gt": "lt", "le": "ge", "lt": "gt"}


def plan(left: Plan, right: Plan, cond: Expr, outer: bool, outside: set[str]) -> Plan:
    """The ASOF join of ``left`` and ``right`` on the bound ON condition ``cond``.
    ``outside``: left's columns from before a comma in FROM (``a, b ASOF JOIN c`` is ``a,
    (b ASOF JOIN c)`` in DuckDB, where ``a``'s columns are outer references): refused."""
    if cond is not None and cond.columns() & outside:
        raise QueryError("ASOF JOIN after a comma: a comma binds looser than JOIN, so the "
                         "condition may name only the tables after the last comma (as "
                         "DuckDB); join in a subquery instead")
    lcols, rcols = {n for n, _ in left.schema}, {n for n, _ in right.schema}
    lk, rk, times, lonly, ronly = [], [], [], [], []
    for p in conjuncts(cond):
        cols = p.columns()
        if cols <= lcols:  # (no column at all: a constant, on the left side too)
            lonly.append(p)
            continue
        if cols <= rcols:
            ronly.append(p)
            continue
        pair = _across(p, lcols, rcols)
        if pair is None:
            raise QueryError("ASOF JOIN: a condition over both sides must be an equality "
                             "or the one inequality (<, <=, >, >=)")
        op, a, b = pair
        if op == "eq":
            lk.append(a)
            rk.append(b)
        else:
            times.append((op, a, b))
    if not times:
        raise QueryError("ASOF JOIN needs an inequality (<, <=, >, >=) between the sides")
    if len(times) > 1:
        raise QueryError("ASOF JOIN takes one inequality between the sides, not several")
    op, a, b = times[0]
    if ronly:  # the nearest row among those passing it: they are the right side
        right = Filter(right, conjoin(ronly))
    if lonly and not outer:
        left, lonly = Filter(left, conjoin(lonly)), []
    return AsofJoin(left, right, [*lk, a], [*rk, b], op, outer, conjoin(lonly))


def _across(p: Expr, lcols: set[str], rcols: set[str]) -> tuple[str, Expr, Expr] | None:
    """``p`` as (op, left expression, right expression) when it compares the two sides."""
    if not (isinstance(p, Call) and p.op in ("eq", *_MIRROR) and len(p.args) == 2):
        return None
    a, b = p.args
    ca, cb = a.columns(), b.columns()
    if ca and cb and ca <= lcols and cb <= rcols:
        return p.op, a, b
    if ca and cb and ca <= rcols and cb <= lcols:
        return _MIRROR.get(p.op, "eq"), b, a
    return None


def execute(j: AsofJoin, left: pa.Table, right: pa.Table) -> pa.Table:
    """The joined rows: left's columns, then right's (the left rows in their order)."""
    nl, nr = left.num_rows, right.num_rows
    match = np.full(nl, -1, np.int64)
    if nl and nr:
        lb = {c: _whole(left.column(c)) for c in left.column_names}
        rb = {c: _whole(right.column(c)) for c in right.column_names}
        match = _match(j, lb, nl, rb, nr)
    if j.outer:
        rows, pick = None, pa.array(match, mask=match < 0)
    else:
        rows = np.flatnonzero(match >= 0)
        pick = pa.array(match[rows])
    out = {c: left.column(c) if rows is None else left.column(c).take(rows)
           for c in left.column_names}
    for c in right.column_names:
        col = right.column(c)
        out[c] = col.take(pick) if nr else pa.nulls(len(pick), col.type)
    return pa.table(out)


def _whole(a) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _match(j: AsofJoin, lb: dict, nl: int, rb: dict, nr: int) -> np.ndarray:
    """For each left row the right row it joins (-1: none)."""
    lt, lvalid, rt, rvalid, ranks = _times(j.left_keys[-1], lb, nl, j.right_keys[-1], rb,
                                           nr)
    lg, lok, rg, rok = _groups(j.left_keys[:-1], lb, nl, j.right_keys[:-1], rb, nr)
    lok &= lvalid
    rok &= rvalid
    if j.condition is not None:
        lok &= np.asarray(evaluate(j.condition, lb, nl).fill_null(False)
                          .to_numpy(zero_copy_only=False), bool)
    rows = np.flatnonzero(rok)
    if not len(rows):
        return np.full(nl, -1, np.int64)
    if (int(rg.max()) + 1) * ranks >= 1 << 62:
        raise QueryError("ASOF JOIN: too many distinct keys and times")
    key = rg[rows] * ranks + rt[rows]
    order = np.argsort(key, kind="stable")
    key, rows = key[order], rows[order]
    want = lg * ranks + lt
    pos = _search(key, want, "right" if j.op in ("ge", "lt") else "left")
    if j.op in ("ge", "gt"):  # the last at or before (before), else the first at or after
        pos -= 1
    inside = (pos >= 0) & (pos < len(key))
    pos = np.clip(pos, 0, len(key) - 1)
    hit = lok & inside & (key[pos] // ranks == lg)
    return np.where(hit, rows[pos], -1)


def _search(hay: np.ndarray, x: np.ndarray, side: str) -> np.ndarray:
    """np.searchsorted, with many needles in a big haystack sorted first: in order, the
    searches read memory in order (1M random needles in 1M values: 2x faster)."""
    if len(x) < 1 << 16 or len(hay) < 1 << 16:
        return np.searchsorted(hay, x, side)
    order = np.argsort(x, kind="stable")
    out = np.empty(len(x), np.int64)
    out[order] = np.searchsorted(hay, x[order], side)
    return out


def _times(le: Expr, lb: dict, nl: int, re: Expr, rb: dict, nr: int):
    """Both sides' times as codes in [0, span) that order as the times do, where they are
    not NULL, and span: integer-like times less their minimum when the span is small
    enough to combine with the groups, else dense ranks over both sides' union."""
    a = _whole(decode(evaluate(le, lb, nl)))
    b = _whole(decode(evaluate(re, rb, nr)))
    try:
        if b.type != a.type:
            b = b.cast(a.type)
        both = pa.concat_arrays([a, b])
        valid = both.is_valid().to_numpy(zero_copy_only=False)
        codes, span = _ints(both, valid, nr + 1)
        if codes is None:
            rank = pc.rank(both, sort_keys="ascending", tiebreaker="dense")
            codes = rank.to_numpy(zero_copy_only=False).astype(np.int64) - 1
            span = len(both)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        raise QueryError(f"ASOF JOIN: cannot order the times ({le.type}): {err}") from None
    return codes[:nl], valid[:nl].copy(), codes[nl:], valid[nl:].copy(), max(span, 1)


def _ints(a: pa.Array, valid: np.ndarray, groups: int) -> tuple[np.ndarray | None, int]:
    """Integer, date and timestamp values less their minimum (no sort), when their range
    times ``groups`` fits in 62 bits; else None."""
    t = a.type
    if pa.types.is_date32(t):
        a = a.view(pa.int32())
    elif pa.types.is_timestamp(t):
        a = a.view(pa.int64())
    elif not pa.types.is_integer(t) or t == pa.uint64():
        return None, 0
    v = np.asarray(a.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    ok = v[valid]
    if not len(ok):
        return np.zeros(len(v), np.int64), 1
    lo, hi = int(ok.min()), int(ok.max())
    if (hi - lo + 1) * groups >= 1 << 62:
        return None, 0
    return np.where(valid, v - lo, 0), hi - lo + 1


def _groups(lk: list[Expr], lb: dict, nl: int, rk: list[Expr], rb: dict, nr: int):
    """Both sides' equality keys as group ids in [0, groups), and where they can match
    (no NULL key; on the left, keys some right row has)."""
    if not lk:
        return np.zeros(nl, np.int64), np.ones(nl, bool), np.zeros(nr, np.int64), \
            np.ones(nr, bool)
    coder = KeyCoder(_keys(rk, rb, nr))
    rcodes, rvalid = coder.codes, coder.valid
    rok = np.ones(nr, bool) if rvalid is None else rvalid.astype(bool)
    groups = np.unique(rcodes[rok])
    rg = np.minimum(_search(groups, rcodes, "left"), max(len(groups) - 1, 0))
    lcodes, lvalid = coder.encode(_keys(lk, lb, nl))
    lg = np.minimum(_search(groups, lcodes, "left"), max(len(groups) - 1, 0))
    lok = groups[lg] == lcodes if len(groups) else np.zeros(nl, bool)
    if lvalid is not None:
        lok &= lvalid.astype(bool)
    return lg, lok, rg, rok
