"""UNION, INTERSECT and EXCEPT (with and without ALL) of two materialized inputs.

Rows compare as whole rows, and NULLs compare equal (unlike a join's keys), as do -0.0 and
0.0 and all NaNs (floats are made canonical first, as DuckDB compares them): both sides are
tagged with their side and grouped on every column (Arrow's hash grouping puts NULLs in
one group), and the per-side counts of each distinct row decide how often it comes out.

>>> import pyarrow as pa
>>> from mapdb.query.plan import SetOp
>>> l, r = pa.table({"a": [1, 1, 2, None]}), pa.table({"b": [1, None, 3]})
>>> class _Side:
...     def __init__(self, n): self.schema = [(n, None)]
>>> op = SetOp(_Side("a"), _Side("b"), "intersect")
>>> sorted(set_op(op, l, r).column("a").to_pylist(), key=str)
[1, None]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mapdb.query.evaluate import canonical_float, decode
from mapdb.query.plan import SetOp


def set_op(plan: SetOp, left: pa.Table, right: pa.Table) -> pa.Table:
    names = [n for n, _ in plan.left.schema]
    rnames = [n for n, _ in plan.right.schema]
    left = pa.table([decode(left.column(n)) for n in names], names=names)
    right = pa.table([decode(right.column(n)).cast(left.schema.field(i).type)
                      for i, n in enumerate(rnames)], names=names)
    if plan.op == "union" and plan.all:
        return pa.concat_tables([left, right])
    left, right = _canonical(left), _canonical(right)
    both = pa.concat_tables([left.append_column("$side", pa.repeat(pa.scalar(0, pa.int8()),
                                                                   left.num_rows)),
                             right.append_column("$side",
                                                 pa.repeat(pa.scalar(1, pa.int8()),
                                                           right.num_rows))])
    keyed, rows = _keyed(both, names)
    aggs = [("$side", "sum"), ("$side", "count")] + ([("$row", "min")] if rows else [])
    g = keyed.group_by(names, use_threads=False).aggregate(aggs)
    ones = np.asarray(g.column("$side_sum").to_numpy(zero_copy_only=False), np.int64)
    total = np.asarray(g.column("$side_count").to_numpy(zero_copy_only=False), np.int64)
    n_left, n_right = total - ones, ones
    if plan.op == "union":
        copies = np.ones(len(total), np.int64)
    elif plan.op == "intersect":
        copies = np.minimum(n_left, n_right) if plan.all else \
            ((n_left > 0) & (n_right > 0)).astype(np.int64)
    else:  # except
        copies = np.maximum(n_left - n_right, 0) if plan.all else \
            ((n_left > 0) & (n_right == 0)).astype(np.int64)
    idx = np.repeat(np.arange(len(total)), copies)
    if rows:  # each group's first row, its nested values as they were
        first = np.asarray(g.column("$row_min").to_numpy(zero_copy_only=False), np.int64)
        return both.select(names).take(pa.array(first[idx], pa.int64()))
    return g.select(names).take(pa.array(idx, pa.int64()))


def _keyed(t: pa.Table, names: list[str]) -> tuple[pa.Table, bool]:
    """``t`` with its LIST, STRUCT and MAP columns replaced by their order keys (equal
    values, equal keys: query/nested.py) and a row number, or ``t`` when it has none."""
    nested = [n for n in names if pa.types.is_list(t.schema.field(n).type) or
              pa.types.is_struct(t.schema.field(n).type) or
              pa.types.is_map(t.schema.field(n).type)]
    if not nested:
        return t, False
    from mapdb.query.nested import sort_key
    from mapdb.query.types import from_arrow
    for n in nested:
        i = t.schema.get_field_index(n)
        t = t.set_column(i, n, sort_key(t.column(n), from_arrow(t.schema.field(n).type)))
    return t.append_column("$row", pa.array(np.arange(t.num_rows, dtype=np.int64))), True


def _canonical(t: pa.Table) -> pa.Table:
    """``t`` with its float columns' -0.0 as 0.0 and every NaN one NaN (Arrow's grouping
    hashes the bits)."""
    for i, f in enumerate(t.schema):
        if pa.types.is_floating(f.type):
            t = t.set_column(i, f.name, canonical_float(t.column(i)))
    return t
