"""The dataframe front end: unbound expressions (``col("x") > 1``) and the frames that turn
them into the same logical plans the SQL binder builds.

One engine, two front ends: an :class:`Expression` is a recipe; binding it against a frame's
columns goes through the typing rules of :mod:`mapdb.query.functions`, so types, coercions,
NULL handling and errors are exactly those of the equivalent SQL. A :class:`Frame` is an
immutable (plan, visible columns) pair; each operation returns a new one on top. No SQL text
is generated anywhere.

>>> import pyarrow as pa
>>> from mapdb.query.source import ArrowSource
>>> f = Frame.scan(ArrowSource("t", pa.table({"k": ["a", "b", "a"], "v": [1, 2, None]})))
>>> e = (col("v") * 2).alias("w")
>>> e
(col("v") * 2).alias("w")
>>> g = f.filter(col("v").is_not_null()).group_by(["k"], [col("v").sum()])
>>> g.names
['k', 'v']
>>> collect(g.sort([col("k")], [False], [True])).to_pydict()
{'k': ['a', 'b'], 'v': [1, 2]}
>>> f.select([col("k") + 1])
Traceback (most recent call last):
...
mapdb.errors.QueryError: cannot apply add to string (in (col("k") + 1))
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import itertools
from collections.abc import Callable, Iterable

import pyarrow as pa

from mapdb.query import catalog as functions_catalog
from mapdb.query import functions as fn
from mapdb.query.expr import Agg, Call, Col, Expr, Lit, SortSpec, WindowFn, conjoin
from mapdb.query.optimizer import fold, optimize
from mapdb.query.plan import (
    Aggregate,
    Distinct,
    Filter,
    Join,
    Limit,
    Plan,
    Project,
    Query,
    Scan,
    Sort,
    SortKey,
    Window,
    copy_plan,
)
from mapdb.query.types import (
    BOOL,
    DATE,
    DECIMAL,
    FLOAT64,
    INT64,
    INTERVAL,
    NULL,
    STRING,
    TIMESTAMP,
    UINT64,
    QueryError,
    SqlType,
    from_arrow,
)

MAX_IN_LIST = 100_000
_ids = itertools.count()


def _fresh(hint: str) -> str:
    return f"${next(_ids)}_{hint}"


# -- unbound expressions --------------------------------------------------------------------

_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "intdiv": "//", "mod": "%",
           "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
           "and": "&", "or": "|"}
_RANKING = ("row_number", "rank", "dense_rank")
_WINDOWABLE = {"agg", "count_star", "shift", *_RANKING}
_WINDOW_AGGS = ("count_star", "count", "sum", "avg", "min", "max")
_AGG_FNS = {"sum": "sum", "mean": "avg", "min": "min", "max": "max", "count": "count",
            "n_unique": "count_distinct", "std": "stddev_samp", "var": "var_samp"}


class Expression:
    """An expression not yet bound to a frame: ``col("x")``, ``lit(3)``, ``col("x") + 1``...

    Operators: ``+ - * / // % -x``, comparisons, ``& | ~`` (AND, OR, NOT). Python's
    ``and``/``or``/``not`` and ``if expr`` cannot be overloaded, so they raise. Semantics are
    SQL's (DuckDB's): ``/`` is floating division, ``//`` and ``%`` truncate toward zero,
    comparisons with NULL are NULL, aggregates skip NULLs.

    >>> (col("x") + 1 > 2) & ~col("s").is_null()
    (((col("x") + 1) > 2) & ~col("s").is_null())
    >>> col("x").sum().alias("total").output_name
    'total'
    """

    __slots__ = ("_frame", "args", "op", "param")
    __hash__ = None  # == builds an expression

    def __init__(self, op: str, args: tuple = (), param: object = None, frame=None):
        self.op = op
        self.args = args
        self.param = param
        self._frame = frame if frame is not None else next(
            (a._frame for a in args if a._frame is not None), None)

    # -- naming and display ------------------------------------------------------------
    @property
    def output_name(self) -> str:
        """The column name a select gives it: its alias, else its first column's name."""
        if self.op in ("col", "alias"):
            return self.param
        if self.op == "lit":
            return "literal"
        if self.op == "count_star":
            return "count"
        if self.op in _RANKING:
            return self.op
        for a in self.args:
            n = a.output_name
            if n != "literal":
                return n
        return "literal"

    def __repr__(self) -> str:
        if self.op == "col":
            return f'col("{self.param}")'
        if self.op == "lit":
            return _show(self.param)
        if self.op == "count_star":
            return "count()"
        if self.op in _RANKING:
            return f"{self.op}()"
        if self.op == "over":
            return f"{self.args[0]!r}.over({_over_repr(self)})"
        if self.op == "shift":
            fill = "" if self.args[1].op == "lit" and self.args[1].param is None else \
                f", fill_value={self.args[1]!r}"
            return f"{self.args[0]!r}.shift({self.param}{fill})"
        if self.op in _BINARY:
            return f"({self.args[0]!r} {_BINARY[self.op]} {self.args[1]!r})"
        if self.op == "neg":
            return f"-{self.args[0]!r}"
        if self.op == "not":
            return f"~{self.args[0]!r}"
        rest = [repr(a) for a in self.args[1:]]
        if self.op == "call":
            return f"{self.args[0]!r}.call({', '.join([_show(self.param), *rest])})"
        if self.op == "is_in":
            rest = ["[" + ", ".join(rest) + "]"]
        if self.param is not None and self.op != "agg":
            rest.append(_show(self.param))
        name = {"agg": self.param, "length": "str.len", "lower": "str.lower",
                "upper": "str.upper", "slice": "str.slice", "extract": f"dt.{self.param}",
                "date_trunc": "dt.truncate"}.get(self.op, self.op)
        if self.op == "extract":
            rest = []
        return f"{self.args[0]!r}.{name}({', '.join(rest)})"

    def __bool__(self):
        raise TypeError("an expression has no truth value: use & | ~ instead of and, or, not "
                        "(and parentheses: (a > 1) & (b < 2))")

    # -- operators ---------------------------------------------------------------------
    def _bin(self, op: str, other, reflected: bool = False) -> Expression:
        other = _wrap(other)
        return Expression(op, (other, self) if reflected else (self, other))

    def __add__(self, o): return self._bin("add", o)
    def __radd__(self, o): return self._bin("add", o, True)
    def __sub__(self, o): return self._bin("sub", o)
    def __rsub__(self, o): return self._bin("sub", o, True)
    def __mul__(self, o): return self._bin("mul", o)
    def __rmul__(self, o): return self._bin("mul", o, True)
    def __truediv__(self, o): return self._bin("div", o)
    def __rtruediv__(self, o): return self._bin("div", o, True)
    def __floordiv__(self, o): return self._bin("intdiv", o)
    def __rfloordiv__(self, o): return self._bin("intdiv", o, True)
    def __mod__(self, o): return self._bin("mod", o)
    def __rmod__(self, o): return self._bin("mod", o, True)
    def __eq__(self, o): return self._bin("eq", o)  # type: ignore[override]
    def __ne__(self, o): return self._bin("ne", o)  # type: ignore[override]
    def __lt__(self, o): return self._bin("lt", o)
    def __le__(self, o): return self._bin("le", o)
    def __gt__(self, o): return self._bin("gt", o)
    def __ge__(self, o): return self._bin("ge", o)
    def __and__(self, o): return self._bin("and", o)
    def __rand__(self, o): return self._bin("and", o, True)
    def __or__(self, o): return self._bin("or", o)
    def __ror__(self, o): return self._bin("or", o, True)
    def __neg__(self): return Expression("neg", (self,))
    def __pos__(self): return self
    def __invert__(self): return Expression("not", (self,))

    # -- methods -----------------------------------------------------------------------
    def _m(self, op: str, *args, param=None) -> Expression:
        return Expression(op, (self, *(_wrap(a) for a in args)), param)

    def alias(self, name: str) -> Expression:
        return self._m("alias", param=str(name))

    def is_null(self) -> Expression:
        return self._m("is_null")

    def is_not_null(self) -> Expression:
        return self._m("is_not_null")

    def is_in(self, values: Iterable) -> Expression:
        """``x IN (values)``; ``values`` are constants."""
        vals = list(values)
        if len(vals) > MAX_IN_LIST:
            raise QueryError(f"is_in list has {len(vals)} items; the limit is {MAX_IN_LIST}")
        return self._m("is_in", *vals)

    def between(self, low, high) -> Expression:
        """``low <= x AND x <= high`` (both ends included, as SQL's BETWEEN)."""
        return self._m("between", low, high)

    def like(self, pattern: str) -> Expression:
        return self._m("like", param=pattern)

    def ilike(self, pattern: str) -> Expression:
        return self._m("ilike", param=pattern)

    def cast(self, type) -> Expression:
        """To ``"int64"``, ``"float64"``, ``"decimal(10,2)"``, ``"string"``, ``"date"``,
        ``"timestamp"``, ``"bool"`` ... (or a pyarrow DataType); SQL CAST semantics."""
        return self._m("cast", param=type if isinstance(type, str) else str(type))

    def round(self, decimals: int = 0) -> Expression:
        return self._m("round", param=int(decimals))

    def abs(self) -> Expression:
        return self._m("abs")

    def fill_null(self, value) -> Expression:
        """``COALESCE(x, value)``."""
        return self._m("fill_null", value)

    def call(self, name: str, *args) -> Expression:
        """``name(x, *args)``: a scalar function of the function catalog
        (mapdb/query/catalog/, docs/query.md) by DuckDB's name, with DuckDB's semantics:
        ``col("s").call("split_part", ",", 2)``, ``col("d").call("strftime", "%Y")``."""
        return self._m("call", *args, param=str(name))

    # aggregates
    def sum(self) -> Expression: return self._m("agg", param="sum")
    def mean(self) -> Expression: return self._m("agg", param="mean")
    def min(self) -> Expression: return self._m("agg", param="min")
    def max(self) -> Expression: return self._m("agg", param="max")
    def count(self) -> Expression:
        """Non-NULL values (``count(x)``); ``mapdb.count()`` counts rows."""
        return self._m("agg", param="count")
    def n_unique(self) -> Expression:
        """Distinct non-NULL values (``count(DISTINCT x)``: NULL is not counted)."""
        return self._m("agg", param="n_unique")
    def std(self) -> Expression: return self._m("agg", param="std")
    def var(self) -> Expression: return self._m("agg", param="var")

    # window functions
    def over(self, partition_by=None, order_by=None, *, descending=False, nulls_last=True,
             rows: tuple | None = None) -> Expression:
        """This expression as a window expression: SQL's ``OVER (PARTITION BY partition_by
        ORDER BY order_by ROWS BETWEEN ...)``. Every aggregate (sum, mean, min, max, count,
        ``count()``), ``row_number()``, ``rank()``, ``dense_rank()`` and ``shift()`` in it
        is computed over the row's window; the rest is per row, so
        ``(col("x") - col("x").mean()).over("g")`` is x minus its group's mean.

        ``partition_by`` and ``order_by``: a name, an expression or a list of them;
        ``descending`` and ``nulls_last``: a bool or one per ``order_by`` key. ``rows``:
        a ``(start, end)`` frame of row offsets for the aggregates, negative preceding,
        0 the current row, positive following, None unbounded (``(None, 0)``: a running
        total; ``(-2, 2)``: five rows centred on the row). Without ``rows`` the frame is
        SQL's: the whole partition without ``order_by``; with it, the partition's rows up
        to the current row *and its peers* (equal ``order_by`` values), so a running
        total (unlike polars, where ``order_by`` does not change an aggregate).

        >>> col("x").sum().over("g", order_by="t", rows=(-1, 0))
        col("x").sum().over(partition_by=col("g"), order_by=col("t"), rows=(-1, 0))
        """
        part = _expr_list(partition_by, "partition_by")
        order = _expr_list(order_by, "order_by")
        desc = _per_key(descending, len(order), "descending")
        nl = _per_key(nulls_last, len(order), "nulls_last")
        if rows is not None:
            if not isinstance(rows, (tuple, list)) or len(rows) != 2 or any(
                    v is not None and (isinstance(v, bool) or not isinstance(v, int))
                    for v in rows):
                raise QueryError(f"rows must be (start, end) with integers or None, got "
                                 f"{rows!r}")
            rows = (rows[0], rows[1])
        if not any(x.op in _WINDOWABLE for x in _walk(self)):
            raise QueryError(f"over() needs an aggregate (sum, mean, min, max, count, "
                             f"count()), row_number(), rank(), dense_rank() or shift() in "
                             f"the expression; got {self!r}")
        return Expression("over", (self, *part, *order), (len(part), desc, nl, rows))

    def shift(self, n: int = 1, fill_value=None) -> Expression:
        """The value ``n`` rows earlier in the window's order (``n`` < 0: later), or
        ``fill_value`` where there is none: SQL's ``LAG(x, n, fill_value)`` (``LEAD`` for
        ``n`` < 0). Needs ``.over(order_by=...)``, e.g.
        ``col("x").shift(1).over("g", order_by="t")``."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise QueryError(f"shift takes an integer n, got {n!r}")
        if isinstance(fill_value, Expression) and fill_value.op != "lit":
            raise QueryError(f"shift's fill_value must be a constant, got {fill_value!r}")
        return Expression("shift", (self, _wrap(fill_value)), n)

    @property
    def str(self) -> StringMethods:
        return StringMethods(self)

    @property
    def dt(self) -> DateMethods:
        return DateMethods(self)

    # -- values, when the expression came from a frame (``t["x"]``, ``t.x + 1``) --------
    def to_arrow(self) -> pa.ChunkedArray:
        """The expression's values over the frame it came from (``t["x"].to_arrow()``)."""
        if self._frame is None:
            raise QueryError(f"{self!r} does not come from a table or frame; use "
                             "frame.select(...) to compute it")
        return self._frame.select(self).collect().column(0)

    def to_pylist(self) -> list:
        return self.to_arrow().to_pylist()

    def to_numpy(self):
        return self.to_arrow().to_numpy()


class StringMethods:
    """``col("s").str.lower()`` ... (SQL's string functions)."""

    def __init__(self, e: Expression):
        self._e = e

    def lower(self) -> Expression:
        return self._e._m("lower")

    def upper(self) -> Expression:
        return self._e._m("upper")

    def len(self) -> Expression:
        """Length in characters (``length(s)``)."""
        return self._e._m("length")

    def slice(self, offset: int, length: int | None = None) -> Expression:
        """Characters from ``offset`` (0-based), ``length`` of them (``substring``)."""
        return self._e._m("slice", param=(int(offset), None if length is None
                                          else int(length)))

    def starts_with(self, prefix: str) -> Expression:
        return self._e._m("like", param=_literal_pattern(prefix) + "%")

    def ends_with(self, suffix: str) -> Expression:
        return self._e._m("like", param="%" + _literal_pattern(suffix))

    def contains(self, text: str) -> Expression:
        """Contains ``text`` literally (not a regular expression)."""
        return self._e._m("like", param="%" + _literal_pattern(text) + "%")


def _literal_pattern(s: str) -> str:
    s = str(s)
    if "%" in s or "_" in s:
        raise QueryError(f"{s!r} contains % or _, which LIKE would read as wildcards; use "
                         ".like() with a pattern")
    return s


class DateMethods:
    """``col("d").dt.year()`` ... (SQL's EXTRACT)."""

    def __init__(self, e: Expression):
        self._e = e

    def _x(self, field: str) -> Expression:
        return self._e._m("extract", param=field)

    def year(self): return self._x("year")
    def quarter(self): return self._x("quarter")
    def month(self): return self._x("month")
    def day(self): return self._x("day")
    def weekday(self):
        """ISO day of the week, Monday 1 .. Sunday 7 (as polars)."""
        return self._x("isodow")
    def ordinal_day(self): return self._x("doy")
    def hour(self): return self._x("hour")
    def minute(self): return self._x("minute")
    def second(self): return self._x("second")

    def truncate(self, unit: str) -> Expression:
        """``date_trunc(unit, x)``: unit is year, quarter, month, week, day, hour ..."""
        return self._e._m("date_trunc", param=str(unit))


def col(name: str) -> Expression:
    """A column of the frame the expression is used in."""
    if not isinstance(name, str):
        raise TypeError(f"col() takes a column name, got {type(name).__name__}")
    return Expression("col", (), name)


def lit(value) -> Expression:
    """A constant: None, bool, int, float, str, Decimal, date, datetime, timedelta."""
    if isinstance(value, Expression):
        return value
    _literal(value)  # type errors now, not when bound
    return Expression("lit", (), value)


def count() -> Expression:
    """The number of rows (``count(*)``)."""
    return Expression("count_star")


def row_number() -> Expression:
    """1, 2, 3 ... in the window's order: ``row_number().over("g", order_by="t")``."""
    return Expression("row_number")


def rank() -> Expression:
    """The row's rank in the window's order, peers (equal ``order_by`` values) sharing one
    and leaving gaps (1, 1, 3): ``rank().over(order_by="x")``."""
    return Expression("rank")


def dense_rank() -> Expression:
    """As :func:`rank` without gaps (1, 1, 2)."""
    return Expression("dense_rank")


def _walk(e: Expression):
    yield e
    for a in e.args:
        yield from _walk(a)


def _expr_list(items, what: str) -> list[Expression]:
    if items is None:
        return []
    if isinstance(items, (list, tuple)):
        return [as_expression(i) for i in items]
    return [as_expression(items)]


def _per_key(value, n: int, what: str) -> tuple[bool, ...]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise QueryError(f"{what} has {len(value)} values for {n} order_by keys")
        return tuple(bool(v) for v in value)
    return (bool(value),) * n


def _over_repr(e: Expression) -> str:
    n, desc, nl, rows = e.param
    part, order = e.args[1:1 + n], e.args[1 + n:]
    show = lambda xs: repr(xs[0]) if len(xs) == 1 else \
        "[" + ", ".join(repr(x) for x in xs) + "]"  # noqa: E731
    bits = []
    if part:
        bits.append(f"partition_by={show(part)}")
    if order:
        bits.append(f"order_by={show(order)}")
        if any(desc):
            bits.append(f"descending={list(desc) if len(desc) > 1 else desc[0]}")
        if not all(nl):
            bits.append(f"nulls_last={list(nl) if len(nl) > 1 else nl[0]}")
    if rows is not None:
        bits.append(f"rows={rows!r}")
    return ", ".join(bits)


def _show(v) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, tuple):
        return ", ".join(_show(x) for x in v if x is not None)
    return repr(v)


def _wrap(v) -> Expression:
    return v if isinstance(v, Expression) else lit(v)


def _literal(v) -> Lit:
    if v is None:
        return Lit(None, NULL)
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        v = v.item()
    if isinstance(v, bool):
        return Lit(v, BOOL)
    if isinstance(v, int):
        if -(1 << 63) <= v < (1 << 63):
            return Lit(v, INT64)
        if 0 <= v < (1 << 64):  # compares with uint64 columns exactly
            return Lit(v, UINT64)
        return Lit(float(v), FLOAT64)
    if isinstance(v, float):
        return Lit(v, FLOAT64)
    if isinstance(v, str):
        return Lit(v, STRING)
    if isinstance(v, decimal.Decimal):
        _, digits, exponent = v.as_tuple()
        if not isinstance(exponent, int):
            return Lit(float(v), FLOAT64)
        scale = max(-exponent, 0)
        if len(digits) > 18 or scale > 18:
            return Lit(float(v), FLOAT64)
        return Lit(int(v.scaleb(scale)), DECIMAL(max(len(digits), scale + 1), scale))
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.UTC).replace(tzinfo=None)
        return Lit((v - datetime.datetime(1970, 1, 1)) // datetime.timedelta(microseconds=1),
                   TIMESTAMP)
    if isinstance(v, datetime.date):
        return Lit((v - datetime.date(1970, 1, 1)).days, DATE)
    if isinstance(v, datetime.timedelta):
        return Lit((0, v.days, v.seconds * 1_000_000 + v.microseconds), INTERVAL)
    raise QueryError(f"cannot use {type(v).__name__} value {v!r} as a constant")


def parse_type(spec) -> SqlType:
    """A type name as :meth:`Expression.cast` takes it: the grammar of every type a user
    writes (storage.types.ColumnType.parse: DuckDB's names, INT is int32), or an Arrow type.

    >>> str(parse_type("decimal(10, 2)")), str(parse_type("int64")), str(parse_type("str"))
    ('decimal(10,2)', 'int64', 'string')
    >>> str(parse_type("INT")), str(parse_type("FLOAT").arrow), str(parse_type("decimal"))
    ('int32', 'float', 'decimal(18,3)')
    """
    if isinstance(spec, pa.DataType):
        return from_arrow(spec)
    from mapdb.errors import SchemaError
    from mapdb.storage.types import ColumnType
    try:
        t = ColumnType.parse(str(spec))
    except SchemaError as e:
        raise QueryError(str(e)) from None
    return from_arrow(pa.large_string() if t.is_dictionary else t.arrow_type)


# -- binding -------------------------------------------------------------------------------

_ARITH = {"add", "sub", "mul", "div", "intdiv", "mod"}
_CMP = {"eq", "ne", "lt", "le", "gt", "ge"}


def bind(e: Expression, columns: list[tuple[str, Col]]) -> Expr:
    """``e`` as a bound expression over ``columns`` (display name, column)."""
    try:
        return _bind(e, columns, 0)
    except QueryError as err:
        if "(in " in str(err):
            raise
        raise QueryError(f"{err} (in {e!r})") from None
    except RecursionError:
        raise QueryError("expression nested too deeply") from None


def _bind(e: Expression, columns, depth: int, win: tuple | None = None) -> Expr:
    """``win``: (partition, order, rows) inside ``.over()``: aggregates, ranking functions
    and shifts become window functions of that window."""
    if not isinstance(e, Expression):
        raise QueryError(f"expected an expression, got {type(e).__name__}")
    if depth > 200:
        raise QueryError("expression nested deeper than 200 levels")
    sub = lambda x, w=win: _bind(x, columns, depth + 1, w)  # noqa: E731
    op = e.op
    if op == "col":
        return _lookup(e.param, columns)
    if op == "lit":
        return _literal(e.param)
    if op == "count_star":
        agg = Agg("count_star", None, INT64)
        return agg if win is None else _window_agg(agg, win, "count()")
    if op == "alias":
        return sub(e.args[0])
    if op == "over":
        if win is not None:
            raise QueryError("window expressions cannot be nested (an over() inside an "
                             "over())")
        return _bind_over(e, sub)
    if op in _RANKING:
        if win is None:
            raise QueryError(f"{op}() needs .over(...): {op}().over(order_by=...)")
        part, order, rows = win
        if rows is not None:
            raise QueryError(f"rows= frames apply to aggregates, not to {op}()")
        if op != "row_number" and not order:
            raise QueryError(f"{op}() needs order_by in .over()")
        return WindowFn(op, (), part, order, None, INT64)
    # the argument of an aggregate or a shift is per row, whatever the window around it
    a = [sub(x, None if op in ("agg", "shift") else win) for x in e.args]
    if op == "shift":
        return _bind_shift(e, a, win)
    if op in _ARITH:
        out = fn.arith(op, a[0], a[1])
    elif op in _CMP:
        out = fn.compare(op, a[0], a[1])
    elif op in ("and", "or"):
        out = fn.logic(op, a[0], a[1])
    elif op == "not":
        out = fn.logic_not(a[0])
    elif op == "neg":
        out = fn.negate(a[0])
    elif op == "is_null":
        out = Call("is_null", (a[0],), BOOL)
    elif op == "is_not_null":
        out = Call("is_not_null", (a[0],), BOOL)
    elif op == "is_in":
        if not a[1:]:
            return Lit(False, BOOL) if a[0].type.kind != "null" else Lit(None, BOOL)
        out = fn.in_list(a[0], a[1:])
    elif op == "between":
        out = fn.logic("and", fn.compare("ge", a[0], a[1]), fn.compare("le", a[0], a[2]))
    elif op in ("like", "ilike"):
        out = fn.like(op, a[0], _literal(e.param))
    elif op == "cast":
        out = fn.cast(a[0], parse_type(e.param))
    elif op == "round":
        out = fn.round_(a[0], Lit(e.param, INT64))
    elif op == "abs":
        out = fn.abs_(a[0])
    elif op == "fill_null":
        out = fn.coalesce(a)
    elif op in ("lower", "upper"):
        out = fn.string_fn(op, a[0])
    elif op == "length":
        out = fn.length(a[0])
    elif op == "slice":
        offset, length = e.param
        out = fn.substring(a[0], Lit(offset + 1, INT64),
                           None if length is None else Lit(length, INT64))
    elif op == "extract":
        out = fn.extract(e.param, a[0])
    elif op == "date_trunc":
        out = fn.date_trunc(e.param, a[0])
    elif op == "call":  # the function catalog (query/catalog/), as SQL resolves it
        out = functions_catalog.bind(e.param, a)
    elif op == "agg":
        if any(isinstance(x, Agg) for x in a[0].walk()):
            raise QueryError("aggregate function calls cannot be nested")
        _no_window(a[0], "the argument of an aggregate")
        out = fn.aggregate(_AGG_FNS[e.param], a[0])
        if win is not None:
            return _window_agg(out, win, f"{e.param}()")
    else:
        raise QueryError(f"internal: unknown expression {op!r}")
    return fold(out)


def _bind_over(e: Expression, sub) -> Expr:
    n, desc, nl, rows = e.param
    part = []
    for p in e.args[1:1 + n]:
        b = sub(p)
        _plain(b, "partition_by")
        part.append(b)
    order = []
    for o, d, last in zip(e.args[1 + n:], desc, nl, strict=True):
        b = sub(o)
        _plain(b, "order_by")
        order.append(SortSpec(b, d, not last))
    out = sub(e.args[0], (tuple(part), tuple(order), rows))
    if not _has_window(out):
        raise QueryError("over() needs an aggregate (sum, mean, min, max, count, count()), "
                         "row_number(), rank(), dense_rank() or shift() in the expression")
    return out


def _bind_shift(e: Expression, a: list[Expr], win) -> Expr:
    if win is None or not win[1]:
        raise QueryError("shift() needs .over(order_by=...): the order rows are shifted in")
    part, order, rows = win
    if rows is not None:
        raise QueryError("rows= frames apply to aggregates, not to shift()")
    value, default = a
    for x in (value, default):
        if _has_agg(x):
            raise QueryError("shift() of an aggregate is not supported")
        _no_window(x, "shift()")
    if default.type.kind != "null":
        value, default = fn.unify(value, default, "shift fill_value")
        default = fold(default)
        if not isinstance(default, Lit):
            raise QueryError("shift's fill_value must be a constant")
    else:
        default = Lit(None, NULL)
    kind = "lag" if e.param >= 0 else "lead"
    return WindowFn(kind, (value, Lit(abs(e.param), INT64), default), part, order, None,
                    value.type)


def _window_agg(agg: Agg, win: tuple, what: str) -> WindowFn:
    if agg.fn not in _WINDOW_AGGS:
        raise QueryError(f"{what} is not supported as a window function; window aggregates "
                         "are sum, mean, min, max, count and count()")
    part, order, rows = win
    frame = None if rows is None else ("rows", rows[0], rows[1])
    return WindowFn(agg.fn, (agg.arg,) if agg.arg is not None else (), part, order, frame,
                    agg.type)


def _has_window(e: Expr) -> bool:
    return any(isinstance(x, WindowFn) for x in e.walk())


def _no_window(e: Expr, where: str) -> None:
    if _has_window(e):
        raise QueryError(f"window expressions are not allowed in {where}")


def _plain(e: Expr, where: str) -> None:
    if _has_agg(e):
        raise QueryError(f"aggregate functions are not allowed in {where}")
    _no_window(e, where)


def _lookup(name: str, columns: list[tuple[str, Col]]) -> Col:
    hits = [c for n, c in columns if n == name] or \
        [c for n, c in columns if n.lower() == name.lower()]
    if len({h.name for h in hits}) > 1:
        raise QueryError(f'column reference "{name}" is ambiguous')
    if not hits:
        names = ", ".join(n for n, _ in columns)
        raise QueryError(f'column "{name}" not found; columns are: {names}')
    return hits[0]


def _has_agg(e: Expr) -> bool:
    return any(isinstance(x, Agg) for x in e.walk())


def as_expression(item) -> Expression:
    """A column name or an expression (what select, group_by and sort take)."""
    if isinstance(item, str):
        return col(item)
    if isinstance(item, Expression):
        return item
    raise QueryError(f"expected a column name or an expression, got {type(item).__name__} "
                     f"{item!r}; wrap constants in lit()")


# -- frames ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Frame:
    """A logical plan and the columns it shows (display name, column of the plan's output).

    Frames are immutable: their plans are never handed to the optimizer (which rewrites
    plans in place); :func:`prepare` copies first.
    """
    plan: Plan
    columns: tuple[tuple[str, Col], ...]

    @staticmethod
    def scan(source) -> Frame:
        types = source.types()
        return Frame(Scan(source, list(types)), tuple((n, Col(n, t)) for n, t in types.items()))

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.columns]

    def types(self) -> dict[str, SqlType]:
        return {n: c.type for n, c in self.columns}

    def bind(self, e) -> Expr:
        return bind(as_expression(e), list(self.columns))

    def filter(self, predicate) -> Frame:
        p = self.bind(predicate)
        _no_window(p, f"filter ({predicate!r}); add the column with with_columns() first")
        if _has_agg(p):
            raise QueryError(f"aggregate functions are not allowed in filter ({predicate!r}); "
                             "filter after group_by().agg()")
        if p.type.kind == "null":
            p = Lit(None, BOOL)
        elif p.type.kind != "bool":
            raise QueryError(f"filter needs a boolean condition, got {p.type} "
                             f"({predicate!r})")
        return Frame(Filter(self.plan, p), self.columns)

    def _project(self, items: list[tuple[str, Expr]]) -> Frame:
        _unique([n for n, _ in items])
        used: set[str] = set()
        exprs, cols = [], []
        for name, e in items:
            internal = e.name if isinstance(e, Col) and e.name not in used else _fresh(name)
            used.add(internal)
            exprs.append((internal, e))
            cols.append((name, Col(internal, e.type)))
        return Frame(Project(self.plan, exprs), tuple(cols))

    def select(self, items: list) -> Frame:
        exprs = [as_expression(i) for i in items]
        if not exprs:
            raise QueryError("select needs at least one column or expression")
        bound = [(e.output_name, self.bind(e)) for e in exprs]
        if any(_has_agg(b) for _, b in bound):
            for (_, b), e in zip(bound, exprs, strict=True):
                _no_window(b, f"a select that aggregates ({e!r}); aggregate first, then "
                              "add window columns")
            return self._aggregate([], bound, exprs)
        return self._windows(bound)

    def with_columns(self, items: list) -> Frame:
        exprs = [as_expression(i) for i in items]
        bound = [(e.output_name, self.bind(e)) for e in exprs]
        _unique([n for n, _ in bound])
        for (_, b), e in zip(bound, exprs, strict=True):
            if _has_agg(b):
                raise QueryError(f"with_columns cannot hold aggregates ({e!r}); use "
                                 "group_by().agg() or select()")
        new = dict(bound)
        out = [(n, new.pop(n, c)) for n, c in self.columns] + list(new.items())
        return self._windows(out)

    def _windows(self, items: list[tuple[str, Expr]]) -> Frame:
        """The projection of ``items``; their window functions are computed by a Window
        node under it (as the SQL binder does)."""
        found: dict[WindowFn, Col] = {}
        funcs: list[tuple[str, WindowFn]] = []

        def lift(e: Expr, name: str) -> Expr:
            if isinstance(e, WindowFn):
                if e not in found:
                    c = _fresh(name)
                    funcs.append((c, e))
                    found[e] = Col(c, e.type)
                return found[e]
            if isinstance(e, Call):
                return Call(e.op, tuple(lift(a, name) for a in e.args), e.type, e.param)
            return e

        items = [(n, lift(e, n)) for n, e in items]
        if not funcs:
            return self._project(items)
        return Frame(Window(self.plan, funcs), self.columns)._project(items)

    def group_by(self, keys: list, aggs: list) -> Frame:
        kexprs = [as_expression(k) for k in keys]
        if not kexprs:
            raise QueryError("group_by needs at least one key")
        bound_keys = []
        for k in kexprs:
            b = self.bind(k)
            if _has_agg(b):
                raise QueryError(f"aggregate functions are not allowed in group_by ({k!r})")
            _no_window(b, f"group_by ({k!r}); add the column with with_columns() first")
            _not_nested(b, f"group_by ({k!r})")
            bound_keys.append((k.output_name, b))
        aexprs = [as_expression(a) for a in aggs]
        bound = [(a.output_name, self.bind(a)) for a in aexprs]
        for (_, b), a in zip(bound, aexprs, strict=True):
            _no_window(b, f"group_by().agg() ({a!r}); aggregate first, then add window "
                          "columns with with_columns()")
        return self._aggregate(bound_keys, bound, aexprs)

    def _aggregate(self, keys: list[tuple[str, Expr]], items: list[tuple[str, Expr]],
                   exprs: list[Expression]) -> Frame:
        _unique([n for n, _ in keys] + [n for n, _ in items])
        key_cols = []
        key_map: dict[Expr, Col] = {}
        for n, k in keys:
            if k not in key_map:
                c = _fresh(n)
                key_cols.append((c, k))
                key_map[k] = Col(c, k.type)
        aggs: list[tuple[str, Agg]] = []
        agg_map: dict[Agg, Col] = {}
        display = {c.name: n for n, c in self.columns}

        def lift(e: Expr, src: Expression) -> Expr:
            if e in key_map:
                return key_map[e]
            if isinstance(e, Agg):
                if e not in agg_map:
                    c = _fresh(src.output_name)
                    aggs.append((c, e))
                    agg_map[e] = Col(c, e.type)
                return agg_map[e]
            if isinstance(e, Col):
                name = display.get(e.name, e.name)
                if keys:
                    raise QueryError(f'column "{name}" must be a group_by key or inside an '
                                     f"aggregate such as .sum() ({src!r})")
                raise QueryError(f'column "{name}" must be inside an aggregate such as .sum():'
                                 f" the other expressions aggregate all rows ({src!r})")
            if isinstance(e, Call):
                return fold(Call(e.op, tuple(lift(a, src) for a in e.args), e.type, e.param))
            return e

        lifted = [(n, lift(e, x)) for (n, e), x in zip(items, exprs, strict=True)]
        agg = Aggregate(self.plan, key_cols, aggs)
        inner = Frame(agg, ())
        return inner._project([(n, key_map[k]) for n, k in keys] + lifted)

    def sort(self, by: list, descending: list[bool], nulls_last: list[bool]) -> Frame:
        keys = []
        for e, d, nl in zip(by, descending, nulls_last, strict=True):
            b = self.bind(e)
            if _has_agg(b):
                raise QueryError(f"aggregate functions are not allowed in sort ({e!r})")
            _no_window(b, f"sort ({e!r}); add the column with with_columns() first")
            _not_nested(b, f"sort ({e!r})")
            keys.append(SortKey(b, bool(d), not nl))
        if not keys:
            raise QueryError("sort needs at least one column or expression")
        return Frame(Sort(self.plan, keys), self.columns)

    def limit(self, n: int | None, offset: int = 0) -> Frame:
        for v, what in ((n, "limit"), (offset, "offset")):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise QueryError(f"{what} must be a non-negative integer, got {v!r}")
        return Frame(Limit(self.plan, n, offset), self.columns)

    def distinct(self) -> Frame:
        return Frame(Distinct(self.plan), self.columns)

    def count(self) -> Frame:
        """One row, one column ``count``: the number of rows."""
        c = _fresh("count")
        return Frame(Aggregate(self.plan, [], [(c, Agg("count_star", None, INT64))]),
                     (("count", Col(c, INT64)),))

    def join(self, other: Frame, on=None, left_on=None, right_on=None, how: str = "inner",
             suffix: str = "_right") -> Frame:
        """This frame joined with ``other`` (see :meth:`mapdb.LazyFrame.join`).

        The keys become ``left_key = right_key`` equalities in the join's condition (the
        optimizer turns them into hash keys). Internal names ``other`` shares with this
        frame's plan (both scan a column ``k``, or one table twice) are renamed on the
        right by a projection, as the SQL binder renames a scan."""
        if not isinstance(other, Frame):
            raise QueryError(f"join takes a frame, got {type(other).__name__}")
        kind = _HOWS.get(how) if isinstance(how, str) else None
        if kind is None:
            raise QueryError(f"unknown join how={how!r}; use one of: "
                             f"{', '.join(_HOWS)}")
        if not isinstance(suffix, str) or not suffix:
            raise QueryError(f"suffix must be a non-empty string, got {suffix!r}")
        ron = _key_list(on, "on")
        lkeys, rkeys = _key_list(left_on, "left_on"), _key_list(right_on, "right_on")
        if kind == "cross":
            if ron is not None or lkeys is not None or rkeys is not None:
                raise QueryError("a cross join takes no keys (on, left_on, right_on)")
        elif ron is not None:
            if lkeys is not None or rkeys is not None:
                raise QueryError("give either on= or left_on= and right_on=, not both")
            for k in ron:
                if not isinstance(k, str) and not (isinstance(k, Expression) and
                                                   k.op == "col"):
                    raise QueryError(f"on= takes column names, got {k!r}; use left_on= and "
                                     "right_on= for expressions")
            lkeys = rkeys = [k if isinstance(k, str) else k.param for k in ron]
        elif lkeys is None or rkeys is None:
            if lkeys is None and rkeys is None:
                raise QueryError(f"a {how} join needs on= or left_on= and right_on= "
                                 "(how=\"cross\" for a cross join)")
            raise QueryError("left_on= and right_on= go together")
        elif len(lkeys) != len(rkeys):
            raise QueryError(f"left_on has {len(lkeys)} keys and right_on {len(rkeys)}; "
                             "they pair up one to one")

        right_plan, right_cols = _renamed(other, {n for n, _ in self.plan.schema})
        conds, lbound, rbound = [], [], []
        for lk, rk in zip(lkeys or [], rkeys or [], strict=True):
            lb = _join_key(lk, self.columns, "left")
            rb = _join_key(rk, right_cols, "right")
            try:
                conds.append(fn.compare("eq", lb, rb))
            except QueryError:
                raise QueryError(f"join keys {as_expression(lk)!r} ({lb.type}) and "
                                 f"{as_expression(rk)!r} ({rb.type}) cannot be compared"
                                 ) from None
            lbound.append(lb)
            rbound.append(rb)
        plan = Join(self.plan, right_plan, kind, condition=conjoin(conds))
        if kind in ("semi", "anti"):
            return Frame(plan, self.columns)

        # the output: left's columns, then right's; `on` columns once
        merged = {}
        if ron is not None:
            for lb, rb in zip(lbound, rbound, strict=True):
                if kind == "full":
                    merged[lb] = fold(fn.coalesce([lb, rb]))
                elif kind == "right":
                    merged[lb] = rb
            right_cols = tuple((n, c) for n, c in right_cols if c not in rbound)
        items: list[tuple[str, Expr]] = [(n, merged.get(c, c)) for n, c in self.columns]
        taken = {n for n, _ in items}
        for n, c in right_cols:
            items.append((n + suffix if n in taken else n, c))
        names = [n for n, _ in items]
        for n in names:
            if names.count(n) > 1:
                raise QueryError(f'the join gives two columns "{n}"; choose another suffix '
                                 "or rename a column first")
        if [e.name if isinstance(e, Col) else None for _, e in items] == \
                [n for n, _ in plan.schema]:
            return Frame(plan, tuple(items))  # a frame's plan outputs its columns in order
        return Frame(plan, ())._project(items)


_HOWS = {"inner": "inner", "left": "left", "right": "right", "full": "full",
         "outer": "full", "cross": "cross", "semi": "semi", "anti": "anti"}


def _key_list(keys, what: str) -> list | None:
    if keys is None:
        return None
    out = list(keys) if isinstance(keys, (list, tuple)) else [keys]
    if not out:
        raise QueryError(f"{what} is empty")
    for k in out:
        if not isinstance(k, (str, Expression)):
            raise QueryError(f"{what} takes column names or expressions, got "
                             f"{type(k).__name__} {k!r}")
    return out


def _join_key(key, columns, side: str) -> Expr:
    e = as_expression(key)
    try:
        b = bind(e, list(columns))
    except QueryError as err:
        raise QueryError(f"join key on the {side} side: {err}") from None
    if _has_agg(b) or _has_window(b):
        raise QueryError(f"join key {e!r}: aggregates and window expressions are not "
                         "allowed in join keys")
    if not b.columns():
        raise QueryError(f"join key {e!r} uses no column of the {side} frame")
    return b


def _renamed(frame: Frame, taken: set[str]) -> tuple[Plan, tuple[tuple[str, Col], ...]]:
    """``frame``'s plan and columns with the internal names in ``taken`` renamed (a
    projection on top), so they stay unique next to another plan's."""
    schema = frame.plan.schema
    if not any(n in taken for n, _ in schema):
        return frame.plan, frame.columns
    shown = {c.name: n for n, c in frame.columns}
    new = {n: _fresh(shown.get(n, n.lstrip("$"))) for n, _ in schema if n in taken}
    plan = Project(frame.plan, [(new.get(n, n), Col(n, t)) for n, t in schema])
    return plan, tuple((n, Col(new.get(c.name, c.name), c.type)) for n, c in frame.columns)


def plan_sources(plan: Plan) -> list:
    """The sources ``plan``'s scans read (once each, by identity)."""
    out, todo = [], [plan]
    while todo:
        node = todo.pop()
        if isinstance(node, Scan) and not any(s is node.source for s in out):
            out.append(node.source)
        todo.extend(node.inputs)
    return out


def _unique(names: list[str]) -> None:
    seen = set()
    for n in names:
        if n in seen:
            raise QueryError(f'duplicate output column "{n}"; rename one with .alias()')
        seen.add(n)


# -- running ---------------------------------------------------------------------------------

def prepare(frame: Frame, sources: Callable[[object], object] | None = None
            ) -> tuple[Query, Plan]:
    """The query (as the binder would return it) and its optimized plan."""
    plan = copy_plan(frame.plan, sources)
    if not isinstance(plan, Project) and _has_join(plan):
        # the optimizer may swap a join's inputs (RIGHT becomes LEFT) or reorder a cluster
        # of inner joins, and so the order of its columns; results are read by position
        plan = Project(plan, [(c.name, c) for _, c in frame.columns])
    q = Query(plan, frame.names)
    return q, optimize(copy_plan(q.plan))


def _has_join(plan: Plan) -> bool:
    return isinstance(plan, Join) or any(_has_join(p) for p in plan.inputs)


def collect(frame: Frame, workers: int | None = None, fused: bool = True) -> pa.Table:
    """Run ``frame`` (its sources as they are) and return an Arrow table."""
    from mapdb.query.executor import Context, materialize, output
    q, plan = prepare(frame)
    ctx = Context(workers, fused=fused)
    ctx.seed_ctes(plan.__dict__.pop("cte_results", None) or {})  # (query.initplan)
    try:
        return output(materialize(plan, ctx), plan.schema, q.names)
    finally:
        ctx.close()


__all__ = ["Expression", "Frame", "bind", "col", "collect", "count", "dense_rank", "lit",
           "parse_type", "plan_sources", "prepare", "rank", "row_number"]


def _not_nested(e: Expr, where: str) -> None:
    """Grouping and sorting by a LIST or STRUCT value are not implemented (as in SQL)."""
    if e.type.nested:
        raise QueryError(f"{where}: a {e.type.kind.upper()} value ({e.type}) cannot be "
                         f"grouped or sorted by")
