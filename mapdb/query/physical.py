"""The physical algorithm of an aggregate, chosen before it runs from the plan and the
storage's statistics (zone-map bounds, sorted attributes, index presence, estimated rows).
The executor runs what ``aggregate_algorithm`` picks and EXPLAIN prints it, so the plan
shown is the plan run. A dense or sorted path may still give way to the hash aggregate at
run time when a guarantee it was chosen on does not hold (rows newer than the bounds, an
integer sum past int64): EXPLAIN ANALYZE then says what ran.

In the order tried:

- ``fused``: one compiled kernel scans, filters and aggregates (``fused.py``): a scan of
  a stored table (through one projection) with COUNT/SUM/AVG/MIN/MAX of numbers;
- ``sorted``: runs of a key the table is sorted by (``arrayagg.sorted_applies``);
- ``dense``: arrays indexed by one integer key's value over its zone-map range;
- ``dense_keys``: the same over several integer keys packed into one index;
- ``string_codes``: arrays indexed by a string key's codes;
- ``count_distinct``: COUNT(DISTINCT x) alone, a set of the values;
- ``distinct_sort``: GROUP BY keys with one COUNT(DISTINCT x), keys and value packed and
  sorted;
- ``two_phase``: Arrow's hash aggregate per morsel on each worker, the partial groups
  merged (aggregates that merge: sum, count, min, max, avg);
- ``hash``: every row gathered, then Arrow's hash aggregate (the catalog's aggregates).

>>> import pyarrow as pa
>>> from mapdb.query.binder import bind_sql
>>> from mapdb.query.optimizer import optimize
>>> from mapdb.query.source import ArrowSource
>>> t = ArrowSource("t", pa.table({"k": ["a", "b"], "x": [1, 2]}))
>>> q = bind_sql("SELECT k, median(x) FROM t GROUP BY k", {"t": t}.__getitem__)
>>> print(aggregate_algorithm(optimize(q.plan).inputs[0]).describe())
hash aggregate over all rows (each group's rows gathered)
"""

from __future__ import annotations

from dataclasses import dataclass

from mapdb.query import arrayagg, fused
from mapdb.query.pipelines import pipeline
from mapdb.query.plan import Aggregate
from mapdb.query.types import SqlType

MERGEABLE = ("sum", "avg", "min", "max", "count", "count_star")


@dataclass
class AggregateAlgorithm:
    kind: str
    detail: object = None  # fused: the compiled kernel; dense: (lo, hi); dense_keys: Domain

    def describe(self) -> str:
        if self.kind == "fused":
            return "fused filter+aggregate kernel over the scan"
        if self.kind == "sorted":
            return "runs of the sorted key (no hashing)"
        if self.kind == "dense":
            lo, hi = self.detail
            return f"dense key range {lo}..{hi} (no hashing)"
        if self.kind == "dense_keys":
            return f"dense keys over {self.detail.span:,} slots (no hashing)"
        if self.kind == "string_codes":
            return "dense string codes (no hashing)"
        if self.kind == "count_distinct":
            return "distinct values in one set"
        if self.kind == "distinct_sort":
            return "keys and values packed and sorted where their ranges allow"
        if self.kind == "two_phase":
            return "hash aggregate per morsel, partial groups merged"
        return "hash aggregate over all rows (each group's rows gathered)"


def aggregate_algorithm(plan: Aggregate, fused_paths: bool = True) -> AggregateAlgorithm:
    """The algorithm for ``plan`` (``fused_paths`` False: the general paths only, as
    ``fused=False`` queries run)."""
    keys, aggs = plan.keys, plan.aggs
    if fused_paths:
        compiled = fused.compile_aggregate(plan)
        if compiled is not None:
            return AggregateAlgorithm("fused", compiled)
        node, chain = pipeline(plan.input)
        if arrayagg.sorted_applies(plan, node, chain):
            return AggregateAlgorithm("sorted")
        if (bounds := arrayagg.key_range(plan)) is not None:
            return AggregateAlgorithm("dense", bounds)
        if (domain := arrayagg.key_domain(plan)) is not None:
            return AggregateAlgorithm("dense_keys", domain)
        if arrayagg.strings_apply(plan):
            return AggregateAlgorithm("string_codes")
        if not keys and len(aggs) == 1 and aggs[0][1].fn == "count_distinct" and \
                (_int_like(aggs[0][1].arg.type) or aggs[0][1].arg.type.kind == "string"):
            return AggregateAlgorithm("count_distinct")
        if arrayagg.distinct_applies(plan):
            return AggregateAlgorithm("distinct_sort")
    if aggs and all(a.fn in MERGEABLE for _, a in aggs):
        return AggregateAlgorithm("two_phase")
    return AggregateAlgorithm("hash")


def _int_like(t: SqlType) -> bool:
    return (t.kind in ("int", "date", "timestamp") and str(t.arrow) != "uint64") or (
        t.kind == "decimal" and not t.wide)
