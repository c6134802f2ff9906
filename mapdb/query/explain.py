"""EXPLAIN and EXPLAIN ANALYZE text: the optimized plan as a tree, with what each operator
did when it ran (rows, time; for scans also bytes touched, zone-map blocks skipped, the
resident fraction before the scan and major page faults).

>>> import pyarrow as pa
>>> from mapdb.query.binder import bind_sql
>>> from mapdb.query.optimizer import optimize
>>> from mapdb.query.source import ArrowSource
>>> q = bind_sql("SELECT x FROM t WHERE x > 1", {"t": ArrowSource("t", pa.table({"x": [1]}))}
...              .__getitem__)
>>> print(render(optimize(q.plan), q.names))
Project x
  Scan t [x] filter (x > 1) zone ranges x in [2, +inf)
"""

from __future__ import annotations

from mapdb.query.plan import (
    Aggregate,
    AsofJoin,
    CTEScan,
    Distinct,
    Filter,
    Join,
    Limit,
    Plan,
    Project,
    RecursiveCTE,
    Scan,
    SetOp,
    Sort,
    TopN,
    Unnest,
    Window,
)


def _label(p: Plan, names: dict[str, str]) -> str:
    def n(c: str) -> str:
        return names.get(c, c)
    if isinstance(p, Scan):
        s = f"Scan {p.source.name} [{', '.join(p.columns)}]"
        if p.filter is not None:
            s += f" filter {p.filter}"
        if p.ranges:
            s += " zone ranges " + ", ".join(
                f"{c} in [{'-inf' if lo is None else lo}, {'+inf' if hi is None else hi}"
                f"{')' if hi is None else ']'}" for c, (lo, hi, _) in p.ranges.items())
        if p.index is not None:
            s += " via " + _index_label(p.index)
        return s
    if isinstance(p, Project):
        return "Project " + ", ".join(n(c) if str(e) == c or str(e) == n(c) else
                                      f"{n(c)} := {e}" for c, e in p.exprs)
    if isinstance(p, Filter):
        return f"Filter {p.predicate}"
    if isinstance(p, Aggregate):
        keys = ", ".join(str(e) for _, e in p.keys)
        aggs = ", ".join(str(a) for _, a in p.aggs)
        from mapdb.query.physical import aggregate_algorithm
        return f"Aggregate keys [{keys}] aggs [{aggs}] ({aggregate_algorithm(p).describe()})"
    if isinstance(p, Sort):
        return "Sort " + ", ".join(f"{k.expr}{' DESC' if k.desc else ''}"
                                   f"{' NULLS FIRST' if k.nulls_first else ''}"
                                   for k in p.keys)
    if isinstance(p, TopN):
        from mapdb.query.topn import strategy
        return (f"TopN {p.limit}" + (f" offset {p.offset}" if p.offset else "") + " by " +
                ", ".join(f"{k.expr}{' DESC' if k.desc else ''}"
                          f"{' NULLS FIRST' if k.nulls_first else ''}" for k in p.keys) +
                f" ({strategy(p)})")
    if isinstance(p, Limit):
        return f"Limit {p.limit}" + (f" offset {p.offset}" if p.offset else "")
    if isinstance(p, Distinct):
        return "Distinct"
    if isinstance(p, Unnest):
        return f"Unnest {', '.join(p.columns)}"
    if isinstance(p, Join):
        s = f"{p.kind.capitalize()} join"
        if p.left_keys:
            s += " on " + ", ".join(f"{a} = {b}" for a, b in zip(p.left_keys, p.right_keys,
                                                               strict=True))
        if p.condition is not None:
            s += f" where {p.condition}"
        if p.kind == "mark":
            s += f" as {n(p.mark)}" + (" (IN: TRUE, FALSE or NULL)" if p.null_aware else "")
        elif p.null_aware:
            s += " (NOT IN: NULL-aware)"
        if p.kind != "full":
            s += f", hash table on the {p.build} input"
            if p.kind in ("semi", "anti") and p.build == "left":
                s += " (the right input streams past it)"
        return s
    if isinstance(p, AsofJoin):
        op = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[p.op]
        on = [f"{a} = {b}" for a, b in zip(p.left_keys[:-1], p.right_keys[:-1], strict=True)]
        on.append(f"{p.left_keys[-1]} {op} {p.right_keys[-1]}")
        return (f"Asof{' left' if p.outer else ''} join on {', '.join(on)}" +
                (f" where {p.condition}" if p.condition is not None else "") +
                " (right input sorted, binary-searched)")
    if isinstance(p, SetOp):
        return f"{p.op.upper()}{' ALL' if p.all else ''}"
    if isinstance(p, CTEScan):
        return f"CTE {p.name} (computed once, read by each reference)"
    if isinstance(p, RecursiveCTE):
        return (f"Recursive CTE {p.work.name}: anchor UNION{'' if p.distinct else ' ALL'} "
                "step, the step repeated over the last round's rows until it adds none")
    if isinstance(p, Window):
        return "Window " + ", ".join(f"{n(c)} := {f}" for c, f in p.funcs) + (
            f" (top {p.keep} per partition first)" if p.keep is not None else "")
    return type(p).__name__


def _index_label(ix) -> str:
    """Which index a scan uses, and why."""
    if ix.kind == "hash":
        k = len(ix.keys)
        what = f"= {ix.keys[0]!r}" if k == 1 else f"IN ({k} values)"
        return (f"hash index {ix.index}{' (unique)' if ix.unique else ''}: {ix.column} {what} "
                f"probes it and reads only the matching rows")
    lo = "-inf" if ix.lo is None else ix.lo
    hi = "+inf" if ix.hi is None else ix.hi
    return (f"sorted index {ix.index}: {ix.column} in [{lo}, {hi}] by binary search "
            f"(the column is sorted across segments)")


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def render(plan: Plan, names: list[str], stats: dict | None = None) -> str:
    """The plan tree, one operator per line; ``stats`` (from an executed Context) adds
    what each operator did."""
    display = dict(zip((c for c, _ in plan.schema), names, strict=False))
    lines: list[str] = []
    shown: set[int] = set()

    def walk(p: Plan, depth: int, stats=stats) -> None:
        line = "  " * depth + _label(p, display)
        st = stats.get(id(p)) if stats else None
        if st is not None:
            line += f"  (rows {st.rows:,}, {st.seconds * 1000:.1f} ms"
            x = st.extra
            if "rows_scanned" in x:
                line += f", scanned {x['rows_scanned']:,} rows"
            if "bytes_touched" in x:
                line += f", touched {_fmt_bytes(x['bytes_touched'])}"
            if "blocks" in x:
                line += f", blocks {x['blocks']:,} skipped {x['blocks_skipped']:,}"
            if x.get("resident_before") is not None:
                line += f", resident before {x['resident_before'] * 100:.0f}%"
            if x.get("drop_behind"):
                line += ", cold: pages dropped from the cache behind the scan"
            if "major_faults" in x:
                line += f", major faults {x['major_faults']:,}"
            if "kernel" in x:
                line += f", {x['kernel']}"
            if "build_rows" in x:
                line += (f", built {x['build_rows']:,} rows in "
                         f"{x['build_seconds'] * 1000:.1f} ms")
            line += ")"
        lines.append(line)
        if isinstance(p, CTEScan):
            if id(p.cte) in shown:
                lines.append("  " * (depth + 1) + "(shown above)")
                return
            shown.add(id(p.cte))
            walk(p.cte, depth + 1, stats)
        for c in p.inputs:
            walk(c, depth + 1, stats)

    def init_plans(p: Plan, depth: int) -> None:
        """Uncorrelated scalar subqueries run before the plan (query.initplan)."""
        for i in getattr(p, "inits", ()):
            lines.append("  " * depth + f"Init plan {i.key} = {i.value} (run once, while "
                         "planning; the plan below reads the value)" +
                         (f"  ({i.seconds * 1000:.1f} ms)" if stats is not None else ""))
            init_plans(i.plan, depth + 1)
            # (ANALYZE: what it did when it ran, while this plan was made)
            walk(i.plan, depth + 1, i.stats if stats is not None else None)

    init_plans(plan, 0)
    walk(plan, 0)
    return "\n".join(lines)
