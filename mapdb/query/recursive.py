"""WITH RECURSIVE: a recursive CTE evaluated by iteration to a fixpoint, as DuckDB does.

``WITH RECURSIVE t(n) AS (anchor UNION [ALL] step)``: the anchor runs once; its rows are
the first *working table*. Each round runs ``step`` with every reference to ``t`` in it
reading the working table (a ``WorkSource``), and the rows the round produces become the
next working table; the CTE's rows are all rounds' rows, and the loop stops at the first
round that produces none. With UNION (not ALL) a round keeps only rows no earlier round
produced (NULLs equal, NaN equal; a set of the rows seen, as Python tuples), which is how
cycles end. The step's rows are cast to the anchor's column types (DuckDB: ``SELECT 1
UNION ALL SELECT n + 0.5`` stays INTEGER, and a value out of the anchor's range is an
error).

Each round runs a fresh copy of the optimized step plan (``copy_plan``, the work scans
pointing at that round's rows); the copies are kept until the CTE is done, since the
execution context keys per-operator state (hash builds, statistics) by ``id``.

There is no limit on the number of rounds (DuckDB has none either): a query that never
stops adding rows runs until it is interrupted (KeyboardInterrupt: each round returns to
Python, so Ctrl-C stops it between or inside rounds) or memory runs out.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from mapdb.query.plan import CTEScan, Plan, RecursiveCTE, Scan, copy_plan
from mapdb.query.source import Morsel, Source
from mapdb.query.types import SqlType


class WorkSource(Source):
    """The working table of a recursive CTE: the rows of one round, in the engine's
    representation (what ``materialize`` returns), under the CTE's internal column
    names. The binder creates one empty; each round gets a filled copy (``round``)."""

    def __init__(self, name: str, types: dict[str, SqlType], names: list[str] | None = None,
                 table: pa.Table | None = None):
        self.name = name
        self._types = types
        self.names = names  # the CTE's column names users see
        self.table = table

    def types(self) -> dict[str, SqlType]:
        return self._types

    @property
    def row_count(self) -> int:
        return 0 if self.table is None else self.table.num_rows

    def round(self, table: pa.Table) -> WorkSource:
        return WorkSource(self.name, self._types, self.names, table.combine_chunks())

    def morsels(self, ranges: dict, stats=None, rows: int = 1 << 17) -> list[Morsel]:
        n = self.row_count
        return [Morsel(0, s, min(s + rows, n)) for s in range(0, n, rows)]

    def arrays(self, m: Morsel, columns: list[str]) -> dict[str, pa.Array]:
        out = {}
        for c in columns:
            col = self.table.column(c)
            a = col.chunk(0) if col.num_chunks else pa.array([], col.type)
            out[c] = a.slice(m.start, m.rows)
        return out


def is_recursive(cte: exp.CTE) -> bool:
    """Whether ``cte`` (under WITH RECURSIVE) is ``anchor UNION [ALL] step`` reading the
    CTE's own name (in the step; the binder refuses it in the anchor, as DuckDB); any
    other CTE there is an ordinary one, as in DuckDB."""
    with_ = cte.parent
    return isinstance(with_, exp.With) and bool(with_.args.get("recursive")) and \
        isinstance(cte.this, exp.Union) and reads(cte.this, cte.alias_or_name)


def reads(node: exp.Expression, name: str) -> bool:
    """Whether ``node`` names table ``name`` anywhere (subqueries included)."""
    return any(t.name.lower() == name.lower() and not t.args.get("db")
               for t in node.find_all(exp.Table))


def under_cte(plan: Plan, work: WorkSource, inside: bool = False) -> bool:
    """Whether a scan of ``work`` sits inside a shared CTE's plan (computed once per
    execution, so it would not see later rounds)."""
    if isinstance(plan, Scan):
        return inside and plan.source is work
    if isinstance(plan, CTEScan):
        return under_cte(plan.cte, work, True)
    if isinstance(plan, RecursiveCTE):
        return under_cte(plan.anchor, work, inside) or under_cte(plan.step, work, inside)
    return any(under_cte(p, work, inside) for p in plan.inputs)


def execute(plan: RecursiveCTE, ctx, materialize, decoded) -> pa.Table:
    """All rows of the recursive CTE ``plan`` (internal names, decoded strings)."""
    names = [n for n, _ in plan.schema]

    def rows(p) -> pa.Table:
        t = decoded(materialize(p, ctx))
        return t.select(names)

    seen: set[tuple] = set()  # UNION: every row so far, NULLs (None) equal

    def unseen(new: pa.Table) -> pa.Table:
        """The rows of ``new`` not seen before (nor earlier in ``new``)."""
        cols = [_canonical(new.column(n).to_pylist()) for n in names]
        keep = []
        for i, row in enumerate(zip(*cols, strict=True)):
            if row not in seen:
                seen.add(row)
                keep.append(i)
        return new if len(keep) == new.num_rows else new.take(pa.array(keep, pa.int64()))

    work = rows(plan.anchor)
    if plan.distinct:
        work = unseen(work)
    pieces = [work]
    kept = []  # each round's plan copy, alive until the end (ids stay unique)
    while work.num_rows:
        source = plan.work.round(work)
        step = copy_plan(plan.step, lambda s, w=source: w if s is plan.work else s)
        kept.append(step)
        work = rows(step)
        if plan.distinct:
            work = unseen(work)
        if work.num_rows:
            work = work.cast(pieces[0].schema)
            pieces.append(work)
    return pa.concat_tables(pieces)


_NAN = object()  # NaN equals NaN here, as in DuckDB's UNION (Python's NaN does not)


def _canonical(values: list) -> list:
    return [_NAN if isinstance(v, float) and v != v else v for v in values]
