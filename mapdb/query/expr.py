"""Bound expressions: what the binder makes of SQL (or of API expressions) and what the
optimizer and executor work on. Frozen dataclasses, so equal expressions compare equal
(GROUP BY matching, common subexpressions).

Literals hold their *representation* value: decimals as scaled ints, dates as days since
the epoch, timestamps as microseconds, intervals as (months, days, microseconds).

>>> from mapdb.query.types import INT64, BOOL
>>> e = Call("gt", (Col("x", INT64), Lit(1, INT64)), BOOL)
>>> sorted(e.columns())
['x']
>>> str(e)
'(x > 1)'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from mapdb.query.types import SqlType

_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "intdiv": "//", "mod": "%",
          "eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
          "and": "AND", "or": "OR", "concat": "||"}


@dataclass(frozen=True)
class Expr:
    def children(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Expr]:
        yield self
        for c in self.children():
            yield from c.walk()

    def columns(self) -> set[str]:
        return {e.name for e in self.walk() if isinstance(e, Col)}


@dataclass(frozen=True)
class Col(Expr):
    name: str
    type: SqlType = field(compare=False)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Lit(Expr):
    value: object
    type: SqlType

    def __str__(self) -> str:
        if self.value is None:
            return "NULL"
        if self.type.kind == "decimal":
            v = self.value
            s = self.type.scale
            sign = "-" if v < 0 else ""
            digits = str(abs(v)).rjust(s + 1, "0")
            return f"{sign}{digits[:-s]}.{digits[-s:]}" if s else f"{v}"
        if self.type.kind == "date":
            import datetime
            return f"DATE '{datetime.date(1970, 1, 1) + datetime.timedelta(days=self.value)}'"
        if self.type.kind == "string":
            return "'" + str(self.value).replace("'", "''") + "'"
        return str(self.value)


@dataclass(frozen=True)
class IntLit(Lit):
    """An integer literal as written in SQL. DuckDB types it by the other operand of its
    arithmetic when the value fits (``i8 + 1`` is a TINYINT), else by its value (INTEGER
    to 32 bits, BIGINT, HUGEINT); a constant computed or cast is typed as any expression
    (``CAST(1 AS BIGINT) + i8`` is a BIGINT). ``type`` is BIGINT (UBIGINT from 2**63)."""


@dataclass(frozen=True)
class InitRef(Expr):
    """The value of an uncorrelated scalar subquery (``x > (SELECT avg(x) FROM t)``): its
    plan runs once, before the statement's (``query.initplan``), and the value replaces
    this node as a typed constant, so the comparison pushes down like a literal's.
    ``key`` tells a statement's subqueries apart; ``plan`` is the subquery's bound plan."""
    key: str
    type: SqlType
    plan: object = field(compare=False, repr=False)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Call(Expr):
    op: str
    args: tuple[Expr, ...]
    type: SqlType
    param: object = None

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def __str__(self) -> str:
        if self.op in _INFIX and len(self.args) == 2:
            return f"({self.args[0]} {_INFIX[self.op]} {self.args[1]})"
        inner = ", ".join(str(a) for a in self.args)
        if self.param is not None:
            inner += f"; {self.param}"
        return f"{self.op}({inner})"


@dataclass(frozen=True)
class Agg(Expr):
    fn: str  # count_star count sum avg min max count_distinct var_samp var_pop stddev_samp ...
    arg: Expr | None
    type: SqlType
    param: object = None  # a constant option (quantile_cont's fraction, as exact text)

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,) if self.arg is not None else ()

    def __str__(self) -> str:
        if self.fn == "count_star":
            return "count(*)"
        if self.fn == "count_distinct":
            return f"count(DISTINCT {self.arg})"
        if self.param is not None:
            return f"{self.fn}({self.arg}, {self.param})"
        return f"{self.fn}({self.arg})"


@dataclass(frozen=True)
class SortSpec:
    """One ORDER BY key of a window (plan.SortKey is the same shape for Sort nodes)."""
    expr: Expr
    desc: bool = False
    nulls_first: bool = False


IGNORE_NULLS = "_ignore_nulls"  # WindowFn.fn of first_value(x IGNORE NULLS) and the like


@dataclass(frozen=True)
class WindowFn(Expr):
    """``fn(args) OVER (PARTITION BY partition ORDER BY order frame)``.

    fn: row_number rank dense_rank ntile percent_rank cume_dist count_star count sum avg
    min max lag lead first_value last_value nth_value; the last three with the suffix
    ``_ignore_nulls`` for IGNORE NULLS (in the name, so every rewrite of the node keeps it).
    lag/lead args: (value, offset Lit, default Lit or Lit(None)); ntile: (buckets,);
    first_value/last_value: (value,); nth_value: (value, n).
    frame: None is SQL's default (with ORDER BY: RANGE UNBOUNDED PRECEDING to CURRENT ROW,
    so peers of the current row are included; without: the whole partition);
    ("rows", start, end): row offsets, None for UNBOUNDED, negative PRECEDING, 0 CURRENT
    ROW, positive FOLLOWING. Computed by ``window.compute`` on the internal
    representation; the result has ``type.arrow``.
    """
    fn: str
    args: tuple[Expr, ...]
    partition: tuple[Expr, ...]
    order: tuple[SortSpec, ...]
    frame: tuple | None
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return self.args + self.partition + tuple(k.expr for k in self.order)

    def __str__(self) -> str:
        over = []
        if self.partition:
            over.append("PARTITION BY " + ", ".join(str(p) for p in self.partition))
        if self.order:
            over.append("ORDER BY " + ", ".join(
                f"{k.expr}{' DESC' if k.desc else ''}" for k in self.order))
        if self.frame is not None:
            over.append(f"{self.frame[0].upper()} {self.frame[1]}..{self.frame[2]}")
        inner = ", ".join(str(a) for a in self.args) if self.fn != "count_star" else "*"
        return f"{self.fn}({inner}) OVER ({' '.join(over)})"


def conjuncts(e: Expr | None) -> list[Expr]:
    """``a AND b AND c`` as [a, b, c]."""
    if e is None:
        return []
    if isinstance(e, Call) and e.op == "and":
        return [x for a in e.args for x in conjuncts(a)]
    return [e]


def conjoin(parts: list[Expr]) -> Expr | None:
    from mapdb.query.types import BOOL
    out = None
    for p in parts:
        out = p if out is None else Call("and", (out, p), BOOL)
    return out


def replace(e: Expr, mapping: dict[Expr, Expr]) -> Expr:
    """``e`` with every subexpression found in ``mapping`` replaced."""
    if e in mapping:
        return mapping[e]
    if isinstance(e, Call):
        return Call(e.op, tuple(replace(a, mapping) for a in e.args), e.type, e.param)
    if isinstance(e, Agg) and e.arg is not None:
        return Agg(e.fn, replace(e.arg, mapping), e.type, e.param)
    return e
