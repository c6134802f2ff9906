"""Logical plans: trees of relational operators over bound expressions.

Every node has ``schema``: its output columns as (internal name, type). Internal names are
unique within a query; the user-facing names live on the root (``Query.names``). Joins will
add a two-input node; everything else here is already shaped for them (sources are leaves,
operators name their inputs).

>>> from mapdb.query.types import INT64
>>> from mapdb.query.source import ArrowSource
>>> import pyarrow as pa
>>> s = Scan(ArrowSource("t", pa.table({"x": [1, 2]})), ["x"])
>>> [n for n, _ in Limit(s, 1).schema]
['x']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mapdb.query.expr import Agg, Expr
from mapdb.query.types import SqlType


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

    @property
    def schema(self) -> list[tuple[str, SqlType]]:
        t = self.source.types()
        return [(c, t[c]) for c in self.columns]


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
class Distinct(Unary):
    pass


@dataclass
class Query:
    """A bound statement: the plan, the names users see, and whether EXPLAIN was asked."""
    plan: Plan
    names: list[str]
    explain: str | None = None  # None, "plan" or "analyze"
