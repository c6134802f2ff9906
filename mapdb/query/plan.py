"""Logical plans: trees of relational operators over bound expressions.

Every node has ``schema``: its output columns as (internal name, type). Internal names are
unique within a query; the user-facing names live on the root (``Query.names``). Batches
are keyed by those names, so a join's output is its inputs' columns side by side, in any
order.

>>> from mapdb.query.types import INT64
>>> from mapdb.query.source import ArrowSource
>>> import pyarrow as pa
>>> s = Scan(ArrowSource("t", pa.table({"x": [1, 2]})), ["x"])
>>> [n for n, _ in Limit(s, 1).schema]
['x']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from mapdb.query.expr import Agg, Expr, WindowFn
from mapdb.query.types import BOOL, SqlType


@dataclass
class Plan:
    @property
    def schema(self) -> list[tuple[str, SqlType]]:
        raise NotImplementedError

    @property
    def inputs(self) -> list[Plan]:
        return []

    def types(self) -> dict[str, SqlType]:
        return dict(self.schema)


@dataclass(frozen=True)
class IndexAccess:
    """How a scan uses an index (chosen by the optimizer, named by EXPLAIN).

    ``kind`` "hash": probe hash index ``index`` on ``column`` with ``keys`` (stored scale;
    strings for string and dictionary columns) and read only the matching rows; the scan's
    filter's other conjuncts (``residual``) are applied to them. "sorted": binary-search
    the sorted ``column`` for the scan's range on it (``lo``/``hi`` inclusive, None:
    open); the whole filter still runs.
    """

    kind: str
    column: str
    index: str
    keys: tuple = ()
    lo: object = None
    hi: object = None
    unique: bool = False
    residual: Expr | None = None


@dataclass
class Scan(Plan):
    source: object  # mapdb.query.source.Source
    columns: list[str]
    filter: Expr | None = None
    ranges: dict = field(default_factory=dict)  # column -> (lo, hi) for zone-map pruning
    index: IndexAccess | None = None
    hidden: frozenset = frozenset()  # columns only the filter reads: not in the output

    @property
    def schema(self) -> list[tuple[str, SqlType]]:
        t = self.source.types()
        return [(c, t[c]) for c in self.columns if c not in self.hidden]

    @property
    def output(self) -> list[str]:
        return [c for c in self.columns if c not in self.hidden]


@dataclass
class Unary(Plan):
    """An operator over one input; by default its rows have the input's columns."""
    input: Plan

    @property
    def schema(self):
        return self.input.schema

    @property
    def inputs(self):
        return [self.input]


@dataclass
class Filter(Unary):
    predicate: Expr


@dataclass
class Project(Unary):
    exprs: list[tuple[str, Expr]]

    @property
    def schema(self):
        return [(n, e.type) for n, e in self.exprs]


@dataclass
class Aggregate(Unary):
    keys: list[tuple[str, Expr]]
    aggs: list[tuple[str, Agg]]

    @property
    def schema(self):
        return [(n, e.type) for n, e in self.keys] + [(n, a.type) for n, a in self.aggs]


@dataclass(frozen=True)
class SortKey:
    expr: Expr
    desc: bool = False
    nulls_first: bool = False


@dataclass
class Sort(Unary):
    keys: list[SortKey]


@dataclass
class Limit(Unary):
    limit: int | None
    offset: int = 0


@dataclass
class TopN(Unary):
    """ORDER BY ``keys`` LIMIT ``limit`` OFFSET ``offset`` with a small limit + offset (the
    optimizer's rewrite of Limit over Sort, query.topn): a bounded selection on the sort
    keys instead of a sort of every row; the rows as the full sort would give them."""
    keys: list[SortKey]
    limit: int
    offset: int = 0


@dataclass
class Distinct(Unary):
    pass


@dataclass
class Unnest(Unary):
    """``SELECT unnest(l), ...``: each input row once per element of its list columns
    ``columns``, each of which becomes its element (of type ``elements``); several are
    zipped, the shorter padded with NULLs, and a row whose lists are all NULL or empty
    gives no row, as DuckDB."""
    columns: tuple[str, ...]
    elements: tuple[SqlType, ...]

    @property
    def schema(self):
        el = dict(zip(self.columns, self.elements, strict=True))
        return [(n, el.get(n, t)) for n, t in self.input.schema]


@dataclass
class Join(Plan):
    """A join of two inputs.

    kind: inner, left/right/full (outer), cross, semi and anti (rows of ``left`` with / with
    no match; the output has only left's columns), single (a left join whose right side may
    match at most one row: a scalar subquery; more is an error), mark (every row of
    ``left`` once, plus a BOOLEAN column named ``mark``: whether it has a match; with
    ``null_aware``, IN's three-valued answer, see query.markjoin).
    Equi-join keys pair ``left_keys[i]`` (over left's columns) with ``right_keys[i]``;
    ``condition`` is the rest of the ON clause, over both sides' columns, and is part of
    what "match" means (it is not a filter on an outer join's output). ``null_aware``: the
    NOT IN semantics, where a NULL key on either side makes the answer unknown; on a mark
    join, how many leading key pairs are IN's values (2 for ``(a, b) IN (SELECT x, y
    ...)``), the rest correlation keys.
    ``build`` names the input the hash table is built on (chosen by the optimizer).
    """
    left: Plan
    right: Plan
    kind: str
    left_keys: list[Expr] = field(default_factory=list)
    right_keys: list[Expr] = field(default_factory=list)
    condition: Expr | None = None
    null_aware: int = 0  # (True reads as 1)
    build: str = "right"
    mark: str | None = None

    @property
    def schema(self):
        if self.kind in ("semi", "anti"):
            return self.left.schema
        if self.kind == "mark":
            return [*self.left.schema, (self.mark, BOOL)]
        return self.left.schema + self.right.schema

    @property
    def inputs(self):
        return [self.left, self.right]


@dataclass
class AsofJoin(Plan):
    """ASOF [LEFT] JOIN (executed by query.asofjoin): each row of ``left`` with the one row
    of ``right`` whose equality keys equal its own and whose time is nearest to its time
    on the side ``op`` allows (``left time op right time``; ge: the latest right time at or
    before). ``left_keys``/``right_keys``: the equality keys, then the times (last).
    ``outer``: unmatched left rows stay, with NULLs. ``condition``: over left's columns
    only; a row where it is not TRUE matches nothing."""
    left: Plan
    right: Plan
    left_keys: list[Expr]
    right_keys: list[Expr]
    op: str  # ge gt le lt
    outer: bool = False
    condition: Expr | None = None

    @property
    def schema(self):
        return self.left.schema + self.right.schema

    @property
    def inputs(self):
        return [self.left, self.right]


@dataclass
class SetOp(Plan):
    """UNION / INTERSECT / EXCEPT (``all``: keep duplicates) of two inputs with the same
    number of columns (right's are matched by position and renamed to left's)."""
    left: Plan
    right: Plan
    op: str  # union intersect except
    all: bool = False

    @property
    def schema(self):
        return self.left.schema

    @property
    def inputs(self):
        return [self.left, self.right]


@dataclass
class Window(Unary):
    """The input's rows with window function columns added. ``keep``: only the rows
    ranked up to ``keep`` in their partition matter (a Filter above keeps
    ``row_number() <= keep``), so the others may be left out before the sort
    (``window.top_rows``)."""
    funcs: list[tuple[str, WindowFn]]
    keep: int | None = None

    @property
    def schema(self):
        return self.input.schema + [(n, f.type) for n, f in self.funcs]


@dataclass(eq=False)
class CTEScan(Plan):
    """A reference to a common table expression read more than once: the CTE's plan
    (shared by every reference) runs once per execution and each reference reads its
    result, under its own column names (``columns``: (output name, CTE column))."""
    cte: Plan
    name: str
    columns: list[tuple[str, str]]

    @property
    def schema(self):
        t = self.cte.types()
        return [(out, t[c]) for out, c in self.columns]


@dataclass(eq=False)
class RecursiveCTE(Plan):
    """WITH RECURSIVE's CTE: ``anchor``'s rows, then ``step`` run again and again over the
    rows the previous round added (its scans of ``work``, a ``recursive.WorkSource``,
    read them) until a round adds none. ``distinct`` (UNION): a round keeps only rows not
    seen before. Both inputs produce the columns of ``work`` (the anchor's types); a leaf
    to the optimizer, which optimizes the two inputs on their own."""
    anchor: Plan
    step: Plan
    work: object
    distinct: bool

    @property
    def schema(self):
        return list(self.work.types().items())


@dataclass
class Query:
    """A bound statement: the plan, the names users see, and whether EXPLAIN was asked."""
    plan: Plan
    names: list[str]
    explain: str | None = None  # None, "plan" or "analyze"


def copy_plan(plan: Plan, sources: Callable[[object], object] | None = None) -> Plan:
    """A copy the optimizer may rewrite (every node and its lists and dicts its own;
    expressions and a CTE's shared plan are not copied); ``sources`` maps each scan's
    source to the one the copy reads (a freshly pinned version, say)."""
    if isinstance(plan, Scan):
        src = sources(plan.source) if sources is not None else plan.source
        return dataclasses.replace(plan, source=src, columns=list(plan.columns),
                                   ranges=dict(plan.ranges))
    if isinstance(plan, CTEScan):
        return dataclasses.replace(plan, columns=list(plan.columns))
    changes = {}
    for f in dataclasses.fields(plan):  # input; a join's or set operation's left, right
        v = getattr(plan, f.name)
        if isinstance(v, Plan):
            changes[f.name] = copy_plan(v, sources)
        elif isinstance(v, (list, dict)):
            changes[f.name] = type(v)(v)
    return dataclasses.replace(plan, **changes)
