"""var_samp / var_pop / stddev_samp / stddev_pop as DuckDB gives them.

Arrow's variance sums squares around a mean computed once: near the largest doubles the
squares overflow (var_pop of 1.797e308 twice: inf; DuckDB 0.0), and values far from zero
with a small spread lose every digit (stddev of a constant 2**63 / 5: 256.7; DuckDB 0.0).
DuckDB runs Welford's update, which has neither problem (its squared deviations still
overflow past 1e154 and vanish below 1e-162). Here, per group: the values are shifted by
the group's minimum (a constant group is exactly 0), the mean is refined once, and the
squared deviations summed. A group of one value: var_pop / stddev_pop 0.0 (also for inf, as DuckDB),
var_samp / stddev_samp NULL; a group holding inf or NaN and more values: NaN (its sign as
DuckDB's: the NaN among the values, else -NaN).

>>> import pyarrow as pa
>>> finish("var_pop", pa.array([1.7976931348623157e308, 1.7976931348623157e308])).to_pylist()
[0.0]
>>> finish("stddev_samp", pa.array([[1.0, 2.0, None, 3.0], [float("inf")], []],
...                                 pa.list_(pa.float64()))).to_pylist()
[1.0, None, None]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mapdb.query.evaluate import from_numpy


def finish(fn: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``fn`` of each group: ``values`` is a list array (one list of doubles per group) or,
    for an aggregate without GROUP BY, the doubles of the one group."""
    if isinstance(values, pa.ChunkedArray):
        values = pa.concat_arrays(values.chunks) if values.num_chunks else \
            pa.array([], values.type)
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        offsets = np.asarray(values.offsets.to_numpy(zero_copy_only=False), np.int64)
        flat = values.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        groups = len(values)
        gid = np.repeat(np.arange(groups), np.diff(offsets))
    else:
        flat, groups = values, 1
        gid = np.zeros(len(values), np.int64)
    if flat.type != pa.float64():
        flat = flat.cast(pa.float64())
    x = np.asarray(flat.fill_null(0.0).to_numpy(zero_copy_only=False), np.float64)
    if flat.null_count:
        valid = np.asarray(flat.is_valid().to_numpy(zero_copy_only=False), bool)
        x, gid = x[valid], gid[valid]
    return _variance(fn, x, gid, groups)


def _variance(fn: str, x: np.ndarray, gid: np.ndarray, groups: int) -> pa.Array:
    ddof = 1 if fn.endswith("_samp") else 0
    n = np.bincount(gid, minlength=groups)
    x0 = x
    finite = np.isfinite(x)
    special = np.bincount(gid[~finite], minlength=groups) > 0
    x = np.where(finite, x, 0.0)
    low = np.full(groups, np.inf)
    np.minimum.at(low, gid, x)
    low[~np.isfinite(low)] = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        y = x - low[gid]  # the group's minimum at 0: a constant group is exactly 0
    count = np.maximum(n, 1)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        mean = np.bincount(gid, y, minlength=groups) / count
        mean += np.bincount(gid, y - mean[gid], minlength=groups) / count
        d = y - mean[gid]
        m2 = np.bincount(gid, d * d, minlength=groups)  # (inf past 1e154, 0 below 1e-162,
                                                         # as DuckDB's Welford update)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        var = m2 / np.maximum(n - ddof, 1)
        out = np.sqrt(var) if fn.startswith("stddev") else var
    out = np.where(special, _special_nan(x0, gid, groups), out)
    out = np.where(n == 1, 0.0, out)  # (a lone inf too: DuckDB)
    nulls = (n == 0) | ((n == 1) & (ddof == 1))
    return from_numpy(out, nulls if nulls.any() else None)


def _special_nan(x: np.ndarray, gid: np.ndarray, groups: int) -> np.ndarray:
    """The NaN of each group holding inf or NaN, signed as DuckDB's Welford update leaves
    it: a NaN among the values comes through (the group's first), else inf - inf made it,
    the processor's default NaN, printed '-nan'."""
    out = np.full(groups, -np.nan)
    nans = np.flatnonzero(np.isnan(x))
    if len(nans):
        g, first = np.unique(gid[nans], return_index=True)
        out[g] = x[nans[first]]
    return out
