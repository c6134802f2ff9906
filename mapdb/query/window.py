"""Window functions over one batch: ``fn(args) OVER (PARTITION BY ... ORDER BY ... frame)``.

``compute(w, batch, n)`` gives one value per input row, in the input row order, of
``w.type.arrow``; the semantics are DuckDB's (the reference of the differential tests).

How: every PARTITION BY and ORDER BY key becomes an unsigned integer code that sorts like
the key, with DESC and NULLS FIRST folded in (integers and dates: offset from the minimum;
floats: their bits, -0.0 equal to 0.0 and NaN above everything as in DuckDB; strings and
other types: the rank of their dictionary entry). The codes combine into one uint64 when
their ranges allow (else an Arrow multi-key sort), and one stable sort puts the rows in
window order (ties keep the input order). Partitions and peer groups start where adjacent
codes differ. Each function is then a few numpy passes over the sorted positions:

- row_number / rank / dense_rank: positions relative to partition and peer-group starts;
- frames: ``[fs, fe)`` per row, clipped to the partition;
- count / sum / avg: prefix sums, ``prefix[fe] - prefix[fs]``. Integer and decimal sums are
  exact (two 32-bit limbs when int64 could overflow; decimals give decimal128(38, s));
  float sums carry a compensation term (double-double), and inf / NaN are counted apart;
- min / max: codes again; frames that start at the partition's start take a running
  minimum over partition-offset codes, frames that end at its end the same backwards,
  bounded frames a sparse table (one level per power of two of the frame width);
- lag / lead: index arithmetic and an Arrow ``take``;
- first_value / last_value / nth_value: the frame's first, last or n-th sorted position,
  and an Arrow ``take``; IGNORE NULLS counts only non-NULL rows, through a prefix count
  of them (the k-th non-NULL row of the frame is the ``prefix[fs] + k``-th overall);
- ntile / percent_rank / cume_dist: partition sizes, ranks and peer-group ends (like
  rank, they ignore the frame, as DuckDB).

>>> import pyarrow as pa
>>> from mapdb.query.expr import Col, Lit, SortSpec, WindowFn
>>> from mapdb.query.types import INT64
>>> g, x = Col("g", INT64), Col("x", INT64)
>>> batch = {"g": pa.array([1, 2, 1, 1, 2]), "x": pa.array([10, 5, 30, 20, None])}
>>> running = WindowFn("sum", (x,), (g,), (SortSpec(x),), None, INT64)
>>> compute(running, batch, 5).to_pylist()
[10, 5, 60, 30, 5]
>>> prev = WindowFn("lag", (x, Lit(1, INT64), Lit(0, INT64)), (g,), (SortSpec(x, desc=True),),
...                 None, INT64)
>>> compute(prev, batch, 5).to_pylist()
[20, 0, 0, 30, 5]
>>> moving = WindowFn("max", (x,), (), (SortSpec(x),), ("rows", -1, 0), INT64)
>>> compute(moving, batch, 5).to_pylist()
[10, 5, 30, 20, 30]
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.query.evaluate import decode, evaluate, from_numpy
from mapdb.query.expr import IGNORE_NULLS, Lit, WindowFn
from mapdb.query.types import QueryError, SqlType

_U64 = 1 << 64
_RANKING = ("row_number", "rank", "dense_rank")
_AGGREGATES = ("count_star", "count", "sum", "avg", "min", "max")
_DISTRIBUTION = ("ntile", "percent_rank", "cume_dist")
_VALUES = ("first_value", "last_value", "nth_value")


def compute(w: WindowFn, batch: dict[str, pa.Array], n: int) -> pa.Array:
    """``w`` over the ``n`` rows of ``batch``, one value per row in the input order."""
    out = w.type.arrow
    if w.fn not in _RANKING + _AGGREGATES + _DISTRIBUTION + ("lag", "lead") and \
            w.fn.removesuffix(IGNORE_NULLS) not in _VALUES:
        raise QueryError(f"window function {w.fn} is not supported")
    if n == 0:
        return pa.array([], out)
    lay = _layout(w, batch, n)
    if w.fn in _RANKING:
        if w.fn == "row_number":
            res = lay.pos - lay.pstart + 1
        elif w.fn == "rank":
            res = lay.peer_start - lay.pstart + 1
        else:
            g = np.cumsum(lay.peer_new)
            res = g - g[lay.pstart] + 1
        return _numeric(lay, res, None, out)
    if w.fn in _DISTRIBUTION:
        return _distribution(w, lay, batch, n)
    if w.fn in ("lag", "lead"):
        return _lag_lead(w, lay, batch, n)
    if w.fn.removesuffix(IGNORE_NULLS) in _VALUES:
        return _value(w, lay, batch, n)
    return _aggregate(w, lay, batch, n)


# -- layout: the sort, partitions and peer groups -------------------------------------------

class _Layout:
    """Rows in window order: ``perm[i]`` is the input row at sorted position ``i`` (None:
    already in order); ``part_new`` / ``peer_new`` mark the first row of each partition /
    peer group (equal ORDER BY values within a partition)."""

    def __init__(self, n: int, perm: np.ndarray | None, part_new: np.ndarray,
                 peer_new: np.ndarray):
        self.n, self.perm, self.part_new, self.peer_new = n, perm, part_new, peer_new

    @cached_property
    def pos(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64)

    @cached_property
    def pid(self) -> np.ndarray:
        return np.cumsum(self.part_new, dtype=np.int64) - 1

    @cached_property
    def _part(self) -> tuple[np.ndarray, np.ndarray]:
        return _bounds(self.part_new, self.pid, self.n)

    @property
    def pstart(self) -> np.ndarray:
        return self._part[0]

    @property
    def pend(self) -> np.ndarray:
        return self._part[1]

    @cached_property
    def _peers(self) -> tuple[np.ndarray, np.ndarray]:
        if self.peer_new is self.part_new:
            return self._part
        return _bounds(self.peer_new, np.cumsum(self.peer_new, dtype=np.int64) - 1, self.n)

    @property
    def peer_start(self) -> np.ndarray:
        return self._peers[0]

    @property
    def peer_end(self) -> np.ndarray:
        return self._peers[1]

    def sorted(self, a: np.ndarray) -> np.ndarray:
        """Input order -> window order."""
        return a if self.perm is None else a[self.perm]

    def to_input(self, a: np.ndarray) -> np.ndarray:
        """Window order -> input order."""
        if self.perm is None:
            return a
        out = np.empty_like(a)
        out[self.perm] = a
        return out

    def rows(self, sorted_pos: np.ndarray) -> np.ndarray:
        """Sorted positions -> input row numbers."""
        return sorted_pos if self.perm is None else self.perm[sorted_pos]


def top_rows(w: WindowFn, batch: dict[str, pa.Array], n: int, keep: int
             ) -> np.ndarray | None:
    """The input rows that can rank among the first ``keep`` of their partition in
    ``w``'s order (rows tied with the keep-th included), ascending; None when the keys do
    not allow it cheaply (then every row is sorted). Rows left out all sort after the kept
    rows of their partition, so ranks computed over the kept rows alone are the same.

    How, without sorting: the partition keys become one dense group id and the ORDER BY
    key one uint64 that sorts like it (``_codes``, DESC and NULLS placement folded in);
    then ``keep`` rounds, each taking every group's smallest code above the last round's
    (``np.minimum.at``) and counting its rows, give each group the code of its keep-th
    row: rows up to that code are kept."""
    if len(w.order) != 1 or n == 0:
        return None
    gid, groups = np.zeros(n, np.intp), 1
    for e in w.partition:
        c = _codes(_array(evaluate(e, batch, n)))
        radix = c.rng + 1 + (c.nulls is not None)
        if groups * radix > max(4 * n, 1 << 16):
            return None  # (too sparse for per-group arrays)
        u = c.u.astype(np.intp)
        if c.nulls is not None:
            u[c.nulls] = c.rng + 1
        gid = gid * radix + u
        groups *= radix
    s = w.order[0]
    c = _codes(_array(evaluate(s.expr, batch, n)))
    if c.rng >= 1 << 62:
        return None
    code = np.uint64(c.rng) - c.u if s.desc else c.u.copy()
    if c.nulls is not None:
        code += np.uint64(s.nulls_first)
        code[c.nulls] = 0 if s.nulls_first else c.rng + 1
    top = np.iinfo(np.uint64).max
    thr = np.full(groups, top, np.uint64)  # a group of fewer than keep rows keeps them all
    need = np.full(groups, keep, np.int64)
    active = np.ones(n, np.bool_)
    for _ in range(keep):
        g, k = gid[active], code[active]
        if not len(g):
            break
        m = np.full(groups, top, np.uint64)
        np.minimum.at(m, g, k)
        at = k == m[g]
        need -= np.bincount(g[at], minlength=groups)
        done = need <= 0
        thr = np.where(done & (thr == top), m, thr)
        active[active] = (k > m[g]) & ~done[g]
    return np.flatnonzero(code <= thr[gid])


def _bounds(new: np.ndarray, gid: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(new)
    if len(starts) == 1:
        return np.zeros(n, np.int64), np.full(n, n, np.int64)
    ends = np.append(starts[1:], n)
    return starts[gid], ends[gid]


def _first_only(n: int) -> np.ndarray:
    new = np.zeros(n, np.bool_)
    new[0] = True
    return new


def _changes(a: np.ndarray) -> np.ndarray:
    new = np.empty(len(a), np.bool_)
    new[0] = True
    np.not_equal(a[1:], a[:-1], out=new[1:])
    return new


def _layout(w: WindowFn, batch: dict[str, pa.Array], n: int) -> _Layout:
    keys = [(_codes(_array(evaluate(e, batch, n))), False, False) for e in w.partition]
    keys += [(_codes(_array(evaluate(s.expr, batch, n))), s.desc, s.nulls_first)
             for s in w.order]
    keys = [((c.u, c.nulls, c.rng), desc, nulls_first) for c, desc, nulls_first in keys]
    perm, part_new, peer_new = _sort(keys, len(w.partition), n)
    return _Layout(n, perm, part_new, peer_new if w.order else part_new)


def _sort(keys: list, nparts: int, n: int):
    """One stable sort over all keys: (perm or None, partition starts, peer-group starts)."""
    if not keys:
        new = _first_only(n)
        return None, new, new
    specs = []
    for (u, nulls, rng), desc, nulls_first in keys:
        if desc:
            u = np.uint64(rng) - u
        specs.append((u, nulls, rng, nulls_first))
    radices = [rng + 1 + (nulls is not None) for _, nulls, rng, _ in specs]
    total = 1
    for m in radices:
        total *= m
    if total <= _U64:  # all keys in one uint64: mixed radix
        c = None
        for (u, nulls, rng, nulls_first), m in zip(specs, radices, strict=True):
            if nulls is not None:
                u = u + np.uint64(1) if nulls_first else u.copy()
                u[nulls] = 0 if nulls_first else rng + 1
            # (a radix of 2**64 leaves the keys before it constant: c is all 0 then)
            c = u if c is None or m == _U64 else c * np.uint64(m) + u
        if n > 1 and bool(np.all(c[1:] >= c[:-1])):
            perm, cs = None, c
        else:
            small = c.astype(np.uint16) if total <= 1 << 16 else c  # numpy radix-sorts these
            perm = np.argsort(small, kind="stable")
            cs = c[perm]
        peer_new = _changes(cs)
        order_radix = 1
        for m in radices[nparts:]:
            order_radix *= m
        if nparts == len(keys):
            part_new = peer_new
        elif order_radix >= _U64:  # no partition keys, or only constant ones
            part_new = _first_only(n)
        else:
            part_new = _changes(cs // np.uint64(order_radix))
        return perm, part_new, peer_new
    # too wide for one word: Arrow's multi-key stable sort (a null flag column before a key
    # with nulls; every column ascending)
    cols, owner = [], []
    for i, (u, nulls, _, nulls_first) in enumerate(specs):
        if nulls is not None:
            cols.append((~nulls if nulls_first else nulls).astype(np.uint8))
            owner.append(i)
        cols.append(u)
        owner.append(i)
    table = pa.table({f"k{j}": c for j, c in enumerate(cols)})
    perm = pc.sort_indices(table, sort_keys=[(f"k{j}", "ascending") for j in range(len(cols))])
    perm = perm.to_numpy().astype(np.int64)
    part_new, peer_new = _first_only(n), _first_only(n)
    for c, i in zip(cols, owner, strict=True):
        ch = _changes(c[perm])
        peer_new |= ch
        if i < nparts:
            part_new |= ch
    return perm, part_new, peer_new


# -- codes: integers that sort and compare like the values ---------------------------------

def _array(v) -> pa.Array:
    if isinstance(v, pa.ChunkedArray):
        return v.combine_chunks() if v.num_chunks != 1 else v.chunk(0)
    return v


def _nulls(arr: pa.Array) -> np.ndarray | None:
    """A bool mask of the NULLs (None when there are none); a dictionary array's NULL
    entries count."""
    if isinstance(arr, pa.DictionaryArray):
        nulls = _nulls(arr.indices)
        if arr.dictionary.null_count:
            dn = _nulls(arr.dictionary)
            idx = _ints(arr.indices)
            nulls = dn[idx] if nulls is None else nulls | dn[idx]
        return nulls
    if arr.null_count == 0:
        return None
    return pc.is_null(arr).to_numpy(zero_copy_only=False)


def _ints(arr: pa.Array) -> np.ndarray:
    """An integer-like array's values as numpy (NULLs as 0)."""
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(0, arr.type))
    return arr.to_numpy(zero_copy_only=False)


def _floats(arr: pa.Array) -> np.ndarray:
    if arr.type != pa.float64():
        arr = pc.cast(arr, pa.float64())
    return np.asarray(_ints(arr), np.float64)


_TEMPORAL32 = (pa.types.is_date32, pa.types.is_time32)
_TEMPORAL64 = (pa.types.is_date64, pa.types.is_timestamp, pa.types.is_time64,
               pa.types.is_duration)


class _Codes:
    """A column as uint64 codes from 0 that sort and compare like its values (equal values,
    and only they, share a code; NULL rows hold 0 and are marked in ``nulls``); ``rng`` is
    the largest code. ``values`` turns codes back into the column's values."""

    def __init__(self, u: np.ndarray, nulls: np.ndarray | None, rng: int, values):
        self.u, self.nulls, self.rng, self._values = u, nulls, rng, values

    def values(self, codes: np.ndarray, nulls: np.ndarray | None) -> pa.Array:
        """Codes (uint64; anything where ``nulls``) -> an array of the column's values."""
        if nulls is not None and nulls.any():
            codes = np.where(nulls, np.uint64(0), codes)
        return self._values(codes, nulls)


def _all_null(n: int, t: pa.DataType) -> _Codes:
    return _Codes(np.zeros(n, np.uint64), np.ones(n, np.bool_), 0,
                  lambda c, nulls: pa.nulls(len(c), t))


def _codes(arr: pa.Array) -> _Codes:
    t = arr.type
    n = len(arr)
    if pa.types.is_dictionary(t):
        return _dictionary_codes(arr.indices, arr.dictionary)
    if pa.types.is_null(t) or arr.null_count == n:
        return _all_null(n, t.value_type if pa.types.is_dictionary(t) else t)
    nulls = _nulls(arr)
    if pa.types.is_floating(t):
        x = _floats(arr) + 0.0  # -0.0 is 0.0
        x[np.isnan(x)] = np.nan  # one NaN (above +inf once flipped below)
        bits = x.view(np.uint64)
        u = np.where(bits >> np.uint64(63), ~bits, bits | np.uint64(1 << 63))
        valid = u if nulls is None else u[~nulls]
        lo, hi = int(valid.min()), int(valid.max())
        u -= np.uint64(lo)

        def values(c, nulls):
            b = c + np.uint64(lo)
            b = np.where(b >> np.uint64(63), b ^ np.uint64(1 << 63), ~b)
            out = from_numpy(b.view(np.float64), nulls)
            return out if out.type == t else out.cast(t)
    elif pa.types.is_integer(t) or pa.types.is_boolean(t) or any(
            f(t) for f in _TEMPORAL32 + _TEMPORAL64):
        if pa.types.is_boolean(t):
            arr = pc.cast(arr, pa.uint8())
        elif any(f(t) for f in _TEMPORAL32):
            arr = arr.cast(pa.int32())
        elif any(f(t) for f in _TEMPORAL64):
            arr = arr.cast(pa.int64())
        int_type = arr.type
        mm = pc.min_max(arr)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        x = _ints(arr)
        unsigned = x.dtype == np.uint64
        # the difference always fits in 64 unsigned bits (wrapping subtraction)
        u = (x if unsigned else x.astype(np.int64).view(np.uint64)) - np.uint64(lo % _U64)

        def values(c, nulls):
            v = c + np.uint64(lo % _U64)
            out = from_numpy(v if unsigned else v.view(np.int64), nulls).cast(int_type)
            return out if out.type == t else out.cast(t)
    else:
        enc = pc.dictionary_encode(arr)
        return _dictionary_codes(enc.indices, enc.dictionary)
    if nulls is not None:
        u[nulls] = 0
    return _Codes(u, nulls, hi - lo, values)


def _dictionary_codes(indices: pa.Array, dictionary: pa.Array) -> _Codes:
    n = len(indices)
    if len(dictionary) == 0 or indices.null_count == n:
        return _all_null(n, dictionary.type)
    dict_codes = pc.rank(dictionary, tiebreaker="dense").to_numpy() - np.uint64(1)
    idx = _ints(indices).astype(np.intp, copy=False)
    u = dict_codes[idx]
    nulls = _nulls(indices)
    if dictionary.null_count:
        dn = _nulls(dictionary)[idx]
        nulls = dn if nulls is None else nulls | dn
    if nulls is not None:
        u[nulls] = 0
        if nulls.all():
            return _all_null(n, dictionary.type)
    rng = int(dict_codes.max())
    entry = np.zeros(rng + 1, np.int64)
    entry[dict_codes] = np.arange(len(dictionary))  # an entry for each code

    def values(c, nulls):
        return dictionary.take(from_numpy(entry[c], nulls))
    return _Codes(u, nulls, rng, values)


# -- frames and aggregates ----------------------------------------------------------------

def _frame(w: WindowFn, lay: _Layout, batch: dict[str, pa.Array] | None = None):
    """(fs, fe, starts at the partition start, ends at the partition end): the frame of
    the row at sorted position i is the sorted rows fs[i] <= j < fe[i]."""
    frame = w.frame
    if frame is None:
        frame = ("range", None, 0) if w.order else ("rows", None, None)
    kind, a, b = frame
    if kind == "range":
        fs = lay.pstart if a is None else lay.peer_start
        fe = lay.pend if b is None else lay.peer_end
        if a not in (None, 0) or b not in (None, 0):
            if batch is None:
                raise QueryError("RANGE frames with offsets are not supported here")
            fs, fe = _range_offsets(w, lay, batch, fs, fe)
            fe = np.maximum(fe, fs)
        return fs, fe, a is None, b is None
    if kind != "rows":
        raise QueryError(f"{kind.upper()} frames are not supported")
    pos = lay.pos
    fs = lay.pstart if a is None else np.clip(pos + a, lay.pstart, lay.pend)
    fe = lay.pend if b is None else np.clip(pos + (b + 1), lay.pstart, lay.pend)
    if a is not None and b is not None:
        fe = np.maximum(fe, fs)  # a frame that ends before it starts is empty
    return fs, fe, a is None, b is None


_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _range_offsets(w: WindowFn, lay: _Layout, batch: dict[str, pa.Array], fs: np.ndarray,
                   fe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``RANGE BETWEEN a ... AND b ...`` over one integer or DOUBLE key: the frame of a
    row with key x holds the rows whose key lies between x + a and x + b (in the ORDER BY's
    direction; a, b negative PRECEDING). Rows with a NULL or NaN key keep their peer
    group's bounds (NULL +- a is NULL; NaN +- a is NaN, which only NaN equals), and the
    other rows search only the rows with a number (NaN sorts above every number, so it
    never lies between two). One lexicographic sort of (partition, key) together with
    (partition, target) finds every row's bound at once."""
    _, a, b = w.frame
    spec = w.order[0]
    n = lay.n
    arr = _array(evaluate(spec.expr, batch, n))
    if pa.types.is_null(arr.type) or arr.null_count == n:
        return fs, fe
    if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)) or \
            arr.type == pa.uint64():
        raise QueryError(f"RANGE frames with offsets over a {arr.type} key are not "
                         "supported")
    nulls = _nulls(arr)
    is_float = pa.types.is_floating(arr.type)
    if is_float:
        v = _floats(arr)
        bad = np.isnan(v) if nulls is None else nulls | np.isnan(v)
    else:
        v = _ints(arr).astype(np.int64, copy=False)
        bad = nulls
        _check_overflow(arr.type, v if nulls is None else v[~nulls], a, b, spec.desc)
    v = lay.sorted(v)
    valid = np.ones(n, np.bool_) if bad is None else ~lay.sorted(bad)
    dpos = np.flatnonzero(valid)  # sorted positions of the rows with a number
    m = len(dpos)
    if m == 0:
        return fs, fe
    # the key in the ORDER BY's direction (~x reverses int64 without overflow)
    key = (-v if spec.desc else v) if is_float else (~v if spec.desc else v)
    key = key[dpos]
    pid = lay.pid[dpos]
    # rows with a number in partitions before / up to each row's own
    through = np.searchsorted(pid, pid, side="right")
    before = np.searchsorted(pid, pid, side="left")
    fs, fe = fs.copy(), fe.copy()
    if a not in (None, 0):
        c = _count_below(pid, key, _shift(key, a, is_float), strict=True)
        last = dpos[through - 1] + 1  # past the partition's last row with a number
        fs[dpos] = np.where(c < through, dpos[np.minimum(c, m - 1)], last)
    if b not in (None, 0):
        c = _count_below(pid, key, _shift(key, b, is_float), strict=False)
        first = dpos[before]  # the partition's first row with a number
        fe[dpos] = np.where(c > before, dpos[np.maximum(c - 1, 0)] + 1, first)
    return fs, fe


def _shift(key: np.ndarray, off, is_float: bool) -> np.ndarray:
    """key + off; integers saturate at the int64 range (every key lies inside it, so a
    target beyond it compares the same)."""
    if is_float:
        return key + float(off)
    if off >= 1 << 63:
        return np.full(len(key), _I64_MAX, np.int64)
    if off <= -(1 << 63):
        return np.full(len(key), _I64_MIN, np.int64)
    t = key + np.int64(off)  # wraps on overflow: detected by the sign of the change
    if off > 0:
        return np.where(t < key, np.int64(_I64_MAX), t)
    return np.where(t > key, np.int64(_I64_MIN), t)


def _count_below(pid: np.ndarray, key: np.ndarray, target: np.ndarray, strict: bool
                 ) -> np.ndarray:
    """For each row i: how many (pid, key) pairs are below (pid[i], target[i]), strictly
    or not; the pairs are sorted already."""
    m = len(key)
    flag = np.concatenate([np.full(m, 1 if strict else 0, np.int8),
                           np.full(m, 0 if strict else 1, np.int8)])
    order = np.lexsort((flag, np.concatenate([key, target]), np.concatenate([pid, pid])))
    is_data = order < m
    before = np.cumsum(is_data) - is_data
    out = np.empty(m, np.int64)
    q = ~is_data
    out[order[q] - m] = before[q]
    return out


def _check_overflow(t: pa.DataType, x: np.ndarray, a, b, desc: bool) -> None:
    """DuckDB computes key -/+ offset in the key's integer type when the offset fits it,
    else in the offset literal's type (INTEGER, BIGINT) beside the key's, and errs on an
    overflow; so does this."""
    if not len(x):
        return
    lo_x, hi_x = int(x.min()), int(x.max())
    for off in (a, b):
        if off in (None, 0):
            continue
        mag = abs(off)
        sub = (off < 0) != desc  # asc PRECEDING, desc FOLLOWING: key - |off|
        lo, hi = _int_range(t)
        if not lo <= mag <= hi:  # the literal's own type, then the common type
            lit = pa.int32() if mag < 1 << 31 else pa.int64() if mag < 1 << 63 else None
            if lit is None:
                continue  # HUGEINT: no overflow
            if pa.types.is_unsigned_integer(t):
                common = lit if lit.bit_width > t.bit_width else pa.int64()
            else:
                common = lit if lit.bit_width > t.bit_width else t
            lo, hi = _int_range(common)
        if (sub and lo_x - mag < lo) or (not sub and hi_x + mag > hi):
            op = "subtraction" if sub else "addition"
            raise QueryError(f"Overflow in {op} of a RANGE frame bound ({t} key "
                             f"{'-' if sub else '+'} {mag})")


def _int_range(t: pa.DataType) -> tuple[int, int]:
    bits = t.bit_width
    if pa.types.is_unsigned_integer(t):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.empty(len(x) + 1, x.dtype)
    out[0] = 0
    np.cumsum(x, out=out[1:])
    return out


def _aggregate(w: WindowFn, lay: _Layout, batch: dict[str, pa.Array], n: int) -> pa.Array:
    fs, fe, start_unbounded, end_unbounded = _frame(w, lay, batch)
    out = w.type.arrow
    if w.fn == "count_star":
        return _numeric(lay, fe - fs, None, out)
    arg = w.args[0]
    arr = _array(evaluate(arg, batch, n))
    nulls = _nulls(arr)
    if nulls is None:
        count = fe - fs
    else:
        pv = _prefix(lay.sorted(~nulls).astype(np.int64))
        count = pv[fe] - pv[fs]
    if w.fn == "count":
        return _numeric(lay, count, None, out)
    empty = count == 0
    if w.fn in ("min", "max"):
        return _min_max(w, lay, arr, fs, fe, start_unbounded, end_unbounded, empty)
    return _sum_avg(w, lay, arg.type, arr, nulls, fs, fe, count, empty)


def _sum_avg(w, lay, t: SqlType, arr, nulls, fs, fe, count, empty) -> pa.Array:
    out = w.type.arrow
    if pa.types.is_null(arr.type) or empty.all():
        return pa.nulls(lay.n, out)
    arr = decode(arr)
    scale = t.scale if t.kind == "decimal" else 0
    if pa.types.is_floating(arr.type):
        s = _float_sums(lay.sorted(_floats(arr)), fs, fe)
        if w.fn == "avg":
            s = s / np.maximum(count, 1)
        return _numeric(lay, s, empty, out)
    if pa.types.is_boolean(arr.type):
        arr = pc.cast(arr, pa.int64())
    if pa.types.is_decimal(arr.type):
        low, high = _wide_sums(lay.sorted(_decimal_ints(arr)), fs, fe)
    elif arr.type == pa.uint64() and (pc.max(arr).as_py() or 0) >= 1 << 63:
        low, high = _wide_sums(lay.sorted(_ints(arr).astype(object)), fs, fe)
    else:
        low, high = _int_sums(lay.sorted(_ints(arr).astype(np.int64, copy=False)), fs, fe)
    if w.fn == "avg":
        if high is None and not scale:
            s = low.astype(np.float64)
            return _numeric(lay, s / np.maximum(count, 1), empty, out)
        # the exact sum (128 bits, scaled) over count * 10**scale, correctly rounded: in
        # doubles high * 2**64 + low cancels (-1 is (-1) * 2**64 + (2**64 - 1))
        hi = (low >> 63) if high is None else high
        q = 10 ** scale
        s = np.array([((int(h) << 64) | int(lo)) / (q * max(int(c), 1)) for h, lo, c in
                      zip(hi.tolist(), low.view(np.uint64).tolist(), count.tolist(),
                          strict=True)], np.float64)
        return _numeric(lay, s, empty, out)
    if pa.types.is_decimal(out):
        if high is None:
            high = low >> 63
        return _decimal128(lay.to_input(low), lay.to_input(high), lay.to_input(empty), out)
    if high is not None and not np.array_equal(high, low >> 63):
        raise QueryError(f"{w} overflows a 64-bit integer")
    return _numeric(lay, low, empty, out)


def _int_sums(v: np.ndarray, fs: np.ndarray, fe: np.ndarray):
    """Exact frame sums of int64 values: (low word as int64, high word or None when the
    sums are known to fit in int64)."""
    width = int((fe - fs).max())
    biggest = max(abs(int(v.min())), abs(int(v.max())))
    if biggest * width < 1 << 63:  # every frame sum fits: wrapping prefix sums are exact
        p = _prefix(v)
        return p[fe] - p[fs], None
    # two 32-bit limbs: neither prefix can overflow (fewer than 2**31 rows)
    pl, ph = _prefix(v & 0xFFFFFFFF), _prefix(v >> 32)
    dl, dh = pl[fe] - pl[fs], ph[fe] - ph[fs]  # sum = dh * 2**32 + dl, 0 <= dl < 2**63
    low = (dh << 32).view(np.uint64)
    low2 = low + dl.view(np.uint64)
    high = (dh >> 32) + (low2 < low)
    return low2.view(np.int64), high


def _wide_sums(v: np.ndarray, fs: np.ndarray, fe: np.ndarray):
    """Frame sums of Python ints (object array): exact at any size, slow."""
    p = np.empty(len(v) + 1, object)
    p[0] = 0
    np.cumsum(v, out=p[1:])
    s = p[fe] - p[fs]
    low = (s & (_U64 - 1)).astype(np.uint64).view(np.int64)
    high = s >> 64
    if any(not (-(1 << 63) <= h < 1 << 63) for h in high):
        raise QueryError("a window sum is out of the 128-bit range")
    return low, high.astype(np.int64)


def _decimal_ints(arr: pa.Array) -> np.ndarray:
    """decimal128 values as Python ints (unscaled), NULLs as 0."""
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(0, pa.int64()).cast(arr.type))
    words = np.frombuffer(arr.buffers()[1], np.uint64, count=2 * len(arr),
                          offset=arr.offset * 16)
    low = words[0::2].astype(object)
    high = words[1::2].view(np.int64).astype(object)
    return high * _U64 + low


def _float_sums(x: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> np.ndarray:
    """Frame sums of float64 values (NULLs as 0): prefix sums with the rounding error of
    every step carried along (TwoSum), so a frame's sum does not lose the digits the
    rows before it hold; inf and NaN are counted apart."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _float_sums_unchecked(x, fs, fe)


def _float_sums_unchecked(x: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    special = None
    if not finite.all():
        counts = [_prefix(m.astype(np.int64)) for m in (np.isnan(x), x == np.inf,
                                                           x == -np.inf)]
        special = [c[fe] - c[fs] for c in counts]
        x = np.where(finite, x, 0.0)
    nonzero = np.abs(x[x != 0])
    if nonzero.size and nonzero.max() > nonzero.min() * 2.0 ** 40:
        out = _exact_float_sums(x, fs, fe)  # 1e300 beside 1.5, denormals beside 1.0
    else:
        out = _compensated_sums(x, fs, fe)
    if special is not None:
        nan, pinf, ninf = special
        out = np.where(pinf > 0, np.inf, out)
        out = np.where(ninf > 0, -np.inf, out)
        out = np.where((nan > 0) | ((pinf > 0) & (ninf > 0)), np.nan, out)
    return out


_EXP = 1074  # every double is an integer times 2**-1074


def _exact_float_sums(x: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> np.ndarray:
    """Frame sums of finite doubles exactly (Python integers in units of 2**-1074),
    correctly rounded: for values whose magnitudes are too far apart for the compensated
    prefix sums (a frame's sum is a difference of prefixes that hold the big values)."""
    mant, exp = np.frexp(x)
    m = (mant * 2.0 ** 53).astype(np.int64).tolist()
    shift = (exp.astype(np.int64) - 53 + _EXP).tolist()
    v = np.empty(len(x), object)
    v[:] = [a << b if b >= 0 else a >> -b for a, b in zip(m, shift, strict=True)]
    p = np.empty(len(x) + 1, object)
    p[0] = 0
    np.cumsum(v, out=p[1:])
    d = (p[fe] - p[fs]).tolist()
    scale = 1 << _EXP
    out = np.empty(len(d), np.float64)
    for i, s in enumerate(d):
        try:
            out[i] = s / scale
        except OverflowError:
            out[i] = np.inf if s > 0 else -np.inf
    return out


def _compensated_sums(x: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> np.ndarray:
    factor = 1.0
    p = _prefix(x)
    if not np.isfinite(p).all():  # the running sum overflows: scale by a power of two
        factor = 2.0 ** (int(np.ceil(np.log2(len(x)))) + 2)
        x = x / factor
        p = _prefix(x)
    a, s = p[:-1], p[1:]
    bb = s - a
    err = _prefix((a - (s - bb)) + (x - bb))
    hi, lo = p[fe], p[fs]
    d = hi - lo
    bb = d - hi
    out = d + (((hi - (d - bb)) + (-lo - bb)) + (err[fe] - err[fs]))
    if factor != 1.0:
        out = out * factor
    return out


def _min_max(w, lay: _Layout, arr: pa.Array, fs, fe, start_unbounded, end_unbounded,
             empty) -> pa.Array:
    n = lay.n
    codes = _codes(arr)
    u, nulls, rng = codes.u, codes.nulls, codes.rng
    decode_dense = None
    if rng >= _U64 - 1:  # no room for the NULL code: make the codes dense (0 .. distinct-1)
        valid = slice(None) if nulls is None else ~nulls
        decode_dense, inv = np.unique(u[valid], return_inverse=True)
        u = np.zeros(n, np.uint64)
        u[valid] = inv.reshape(-1)
        rng = len(decode_dense) - 1
    if w.fn == "max":  # the largest value has the smallest code
        u = np.uint64(rng) - u
    code = lay.sorted(u)
    if code is u:
        code = code.copy()
    sentinel = np.uint64(rng + 1)  # NULL: never the minimum of a frame with a value
    if nulls is not None:
        code[lay.sorted(nulls)] = sentinel
    m = rng + 2
    if (start_unbounded or end_unbounded) and (int(lay.pid[-1]) + 1) * m <= _U64:
        if start_unbounded:  # later partitions get lower bases: the running min restarts
            base = (lay.pid[-1] - lay.pid).astype(np.uint64) * np.uint64(m)
            acc = np.minimum.accumulate(base + code) - base
            res = acc[np.maximum(fe - 1, 0)]
        else:
            base = lay.pid.astype(np.uint64) * np.uint64(m)
            acc = np.minimum.accumulate((base + code)[::-1])[::-1] - base
            res = acc[np.minimum(fs, n - 1)]
    else:
        res = _sparse_min(code, fs, fe, sentinel)
    nulls_out = empty | (res == sentinel)
    res[nulls_out] = 0
    if w.fn == "max":
        res = np.uint64(rng) - res
    if decode_dense is not None:
        res = decode_dense[res]
    out = codes.values(lay.to_input(res), lay.to_input(nulls_out))
    return out if out.type == w.type.arrow else out.cast(w.type.arrow)


def _sparse_min(code: np.ndarray, fs: np.ndarray, fe: np.ndarray, sentinel) -> np.ndarray:
    """min(code[fs:fe]) per row: a sparse table built one power of two at a time (up to
    the widest frame), each row answered by two overlapping blocks at its level."""
    length = fe - fs
    res = np.full(len(code), sentinel, code.dtype)
    live = np.flatnonzero(length > 0)
    if not len(live):
        return res
    level = np.frexp(length[live].astype(np.float64))[1] - 1  # floor(log2(length)), exact
    table = code
    top = int(level.max())
    for j in range(top + 1):
        sel = live[level == j]
        if len(sel):
            res[sel] = np.minimum(table[fs[sel]], table[fe[sel] - (1 << j)])
        if j < top:
            table = np.minimum(table[:-(1 << j)], table[1 << j:])
    return res


# -- lag / lead ---------------------------------------------------------------------------

def _lag_lead(w: WindowFn, lay: _Layout, batch: dict[str, pa.Array], n: int) -> pa.Array:
    out = w.type.arrow
    value = w.args[0]
    offset = w.args[1] if len(w.args) > 1 else Lit(1, value.type)
    default = w.args[2] if len(w.args) > 2 else None
    if not isinstance(offset, Lit):
        raise QueryError(f"the offset of {w.fn} must be a constant")
    if offset.value is None:
        return pa.nulls(n, out)
    k = int(offset.value)
    src = lay.pos - k if w.fn == "lag" else lay.pos + k
    ok = (src >= lay.pstart) & (src < lay.pend)
    rows = lay.to_input(lay.rows(np.where(ok, src, 0)))
    ok = lay.to_input(ok)
    arr = _array(evaluate(value, batch, n))
    taken = decode(arr.take(from_numpy(rows, ~ok)))
    if taken.type != out:
        taken = taken.cast(out)
    if default is None or (isinstance(default, Lit) and default.value is None) or ok.all():
        return taken
    d = decode(_array(evaluate(default, batch, n)))
    d = _rescale(d, default.type, w.type)
    return pc.if_else(from_numpy(ok), taken, d)


def _rescale(d: pa.Array, t: SqlType, to: SqlType) -> pa.Array:
    """A default of another (numeric) type in the result's representation."""
    if to.kind == "decimal" and t.kind in ("int", "decimal") and t.scale < to.scale:
        d = pc.multiply_checked(pc.cast(d, pa.int64()), 10 ** (to.scale - t.scale))
    return d if d.type == to.arrow else d.cast(to.arrow)


# -- ntile / percent_rank / cume_dist ------------------------------------------------------

def _int_arg(e, batch: dict[str, pa.Array], n: int, lay: _Layout):
    """An integer argument per row, in window order: (int64 values, NULL mask or None).
    Values beyond int64 do not occur (the binder admits integers up to 32 unsigned / 64
    signed bits)."""
    arr = _array(evaluate(e, batch, n))
    if pa.types.is_null(arr.type):
        return np.zeros(n, np.int64), np.ones(n, np.bool_)
    nulls = _nulls(arr)
    v = _ints(arr).astype(np.int64, copy=False)
    return lay.sorted(v), (None if nulls is None else lay.sorted(nulls))


def _distribution(w: WindowFn, lay: _Layout, batch: dict[str, pa.Array], n: int
                  ) -> pa.Array:
    out = w.type.arrow
    size = lay.pend - lay.pstart
    if w.fn == "percent_rank":  # (rank - 1) / (rows - 1), 0 in a partition of one row
        res = (lay.peer_start - lay.pstart) / np.maximum(size - 1, 1).astype(np.float64)
        return _numeric(lay, res, None, out)
    if w.fn == "cume_dist":  # rows up to the current row's last peer / rows
        return _numeric(lay, (lay.peer_end - lay.pstart) / size.astype(np.float64), None, out)
    # ntile(k): as DuckDB, the first (rows mod k) buckets hold one row more
    k, nulls = _int_arg(w.args[0], batch, n, lay)
    live = k if nulls is None else k[~nulls]
    if live.size and int(live.min()) <= 0:
        raise QueryError("Argument for ntile must be greater than zero")
    if nulls is not None:
        k = np.where(nulls, 1, k)
    k = np.minimum(k, size)
    small = size // k  # rows in a small bucket
    large = size - k * small  # how many buckets hold small + 1 rows
    in_large = large * (small + 1)
    r = lay.pos - lay.pstart
    res = np.where(r < in_large, 1 + r // (small + 1),
                   1 + large + (r - in_large) // np.maximum(small, 1))
    return _numeric(lay, res, nulls, out)


# -- first_value / last_value / nth_value -------------------------------------------------

def _value(w: WindowFn, lay: _Layout, batch: dict[str, pa.Array], n: int) -> pa.Array:
    """The value at the frame's first / last / n-th row (NULL where the frame has no such
    row); with IGNORE NULLS, rows whose value is NULL are skipped."""
    out = w.type.arrow
    fn = w.fn.removesuffix(IGNORE_NULLS)
    fs, fe, _, _ = _frame(w, lay, batch)
    arr = _array(evaluate(w.args[0], batch, n))
    if fn == "nth_value":
        k, k_nulls = _int_arg(w.args[1], batch, n, lay)
        k = np.clip(k, 0, n + 1)  # beyond the partition either way: no overflow below
        ok = k >= 1 if k_nulls is None else (k >= 1) & ~k_nulls
    if w.fn.endswith(IGNORE_NULLS):  # positions among the non-NULL rows
        nulls = _nulls(arr)
        if nulls is not None:
            valid = lay.sorted(~nulls)
            where = np.flatnonzero(valid)  # sorted position of the j-th non-NULL row
            if not len(where):
                return pa.nulls(n, out)
            pv = _prefix(valid.astype(np.int64))
            lo, hi = pv[fs], pv[fe]  # the frame's non-NULL rows are where[lo:hi]
            j = lo if fn == "first_value" else hi - 1 if fn == "last_value" else lo + k - 1
            ok = (j >= lo) & (j < hi) & (ok if fn == "nth_value" else True)
            src = where[np.where(ok, j, 0)]
            return _take(lay, arr, src, ok, out)
    if fn == "first_value":
        src, ok = fs, fs < fe
    elif fn == "last_value":
        src, ok = fe - 1, fs < fe
    else:
        src = fs + k - 1
        ok &= src < fe
    return _take(lay, arr, np.where(ok, src, 0), ok, out)


def _take(lay: _Layout, arr: pa.Array, src: np.ndarray, ok: np.ndarray,
          out: pa.DataType) -> pa.Array:
    """Row ``src[i]`` (a sorted position) of ``arr`` for the row at sorted position i, NULL
    where not ``ok``; in input order."""
    rows = lay.to_input(lay.rows(src))
    ok = lay.to_input(ok)
    taken = decode(arr.take(from_numpy(rows, ~ok)))
    return taken if taken.type == out else taken.cast(out)


# -- results ------------------------------------------------------------------------------

def _numeric(lay: _Layout, values: np.ndarray, nulls: np.ndarray | None,
             out: pa.DataType) -> pa.Array:
    """Sorted-order numpy results (and NULL mask) as an input-order array of ``out``."""
    values = lay.to_input(values)
    if nulls is not None:
        nulls = lay.to_input(nulls)
    arr = from_numpy(values, nulls)
    return arr if arr.type == out else arr.cast(out)


def _decimal128(low: np.ndarray, high: np.ndarray, nulls: np.ndarray,
                out: pa.DataType) -> pa.Array:
    n = len(low)
    words = np.empty(2 * n, np.int64)
    words[0::2], words[1::2] = low, high
    validity = None
    if nulls.any():
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
    return pa.Array.from_buffers(out, n, [validity, pa.py_buffer(words)], int(nulls.sum()))
