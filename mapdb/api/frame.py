"""LazyFrame: the dataframe front end. Each operation builds the same logical plan the SQL
front end would (see :mod:`mapdb.query.frame`); nothing runs until ``collect()`` (or
``len()``, ``to_pandas()``, a repr ...), and then through the same optimizer and executor.

>>> import tempfile, mapdb
>>> from mapdb import col
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> t = db.create_table("t", {"k": ["a", "b", "a", None], "v": [1, 2, 3, 4]})
>>> q = (t.filter(col("v") > 1).group_by("k").agg(col("v").sum().alias("s"), mapdb.count())
...       .sort("k", nulls_last=True))
>>> q.collect().to_pydict()
{'k': ['a', 'b', None], 's': [3, 2, 4], 'count': [1, 1, 1]}
>>> len(t[t.v >= 2])
3
>>> t[["k", "v"]].sort("v", descending=True).head(2)
k    | v
-----+--
NULL | 4
a    | 3
(2 rows)
>>> t.select((col("v") * 2).alias("w")).limit(1).fetchall()
[(2,)]
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from mapdb.api.result import Result
from mapdb.api.show import MAX_ROWS, html_table, text_table
from mapdb.query import frame as qf
from mapdb.query import session
from mapdb.query.explain import render
from mapdb.query.frame import Expression, col, count, dense_rank, lit, rank, row_number
from mapdb.query.types import QueryError

__all__ = ["Expression", "GroupBy", "LazyFrame", "col", "count", "dense_rank", "lit", "rank",
           "row_number"]


def _flatten(items) -> list:
    out = []
    for i in items:
        if isinstance(i, (list, tuple)):
            out += _flatten(i)
        else:
            out.append(i)
    return out


def _named(items, named: dict) -> list:
    return _flatten(items) + [qf.as_expression(e).alias(n) for n, e in named.items()]


def _per_key(value, n: int, what: str) -> list[bool]:
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise QueryError(f"{what} has {len(value)} values for {n} sort keys")
        return [bool(v) for v in value]
    return [bool(value)] * n


class LazyFrame:
    """A query being built; immutable (each method returns a new frame).

    ``repr`` (and a notebook's rich display) runs the query for its first rows.
    """

    def __init__(self, frame: qf.Frame, opener: Callable[[object], object] | None = None,
                 label: str = "frame"):
        self._frame = frame
        self._opener = opener  # source -> the source a run reads (a freshly pinned version)
        self._label = label

    def _with(self, frame: qf.Frame) -> LazyFrame:
        return LazyFrame(frame, self._opener, self._label)

    # -- what it holds -----------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return self._frame.names

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema ``collect()`` returns."""
        return pa.schema([pa.field(n, c.type.output_type) for n, c in self._frame.columns])

    # -- building ------------------------------------------------------------------------
    def filter(self, *predicates) -> LazyFrame:
        """Rows where every predicate is TRUE (NULL counts as false, as in SQL WHERE)."""
        preds = _flatten(predicates)
        if not preds:
            raise QueryError("filter needs a predicate")
        f = self._frame
        for p in preds:
            f = f.filter(p)
        return self._with(f)

    where = filter

    def select(self, *exprs, **named) -> LazyFrame:
        """Columns by name or expression (named arguments alias: ``select(w=col("v") * 2)``).
        Aggregates without a group_by give one row: ``select(col("v").sum())``."""
        return self._with(self._frame.select(_named(exprs, named)))

    def with_columns(self, *exprs, **named) -> LazyFrame:
        """All columns, with these added (or replaced, when the name exists)."""
        return self._with(self._frame.with_columns(_named(exprs, named)))

    def group_by(self, *keys) -> GroupBy:
        """``group_by("k").agg(col("v").sum(), ...)``: keys first, then the aggregates."""
        return GroupBy(self, _flatten(keys))

    def agg(self, *aggs, **named) -> LazyFrame:
        """Aggregates over all rows (one row)."""
        return self.select(*aggs, **named)

    def sort(self, by, *more_by, descending=False, nulls_last=True) -> LazyFrame:
        """Sort by columns or expressions; ``descending`` and ``nulls_last`` are a bool or a
        list (one per key). NULLs sort last by default (DuckDB's default)."""
        keys = [qf.as_expression(k) for k in _flatten([by, *more_by])]
        return self._with(self._frame.sort(keys, _per_key(descending, len(keys), "descending"),
                                           _per_key(nulls_last, len(keys), "nulls_last")))

    order_by = sort

    def limit(self, n: int = 5) -> LazyFrame:
        return self._with(self._frame.limit(n))

    def head(self, n: int = 5) -> LazyFrame:
        return self.limit(n)

    def slice(self, offset: int, length: int | None = None) -> LazyFrame:
        return self._with(self._frame.limit(length, offset))

    def distinct(self) -> LazyFrame:
        """Distinct rows (order not kept)."""
        return self._with(self._frame.distinct())

    unique = distinct

    def join(self, other, on=None, *, left_on=None, right_on=None, how: str = "inner",
             suffix: str = "_right") -> LazyFrame:
        """This frame joined with ``other`` (a LazyFrame or a Table; any two tables, or
        one table with itself).

        ``how``: inner, left, right, full (or outer), cross, semi (left's rows that have a
        match), anti (left's rows that have none). Keys: ``on``, column names both sides
        have, or ``left_on`` and ``right_on``, names or expressions paired one to one.
        Keys are compared with SQL's ``=``: NULL keys never match, and types are coerced
        as in SQL (int with float, decimal with int ...; string with int is an error).

        Columns: left's, then right's with ``suffix`` added to names left already has;
        semi and anti give left's columns only. An ``on`` column appears once, where
        left has it: left's values for inner and left joins, right's for right joins,
        and for full joins the first non-NULL of the two (polars' ``coalesce=True``).
        With ``left_on``/``right_on`` both sides' key columns are kept. Rows come in no
        particular order; sort to fix one.

        >>> import tempfile, mapdb
        >>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
        >>> a = db.create_table("a", {"k": [1, 2, 2, None], "x": ["p", "q", "r", "s"]})
        >>> b = db.create_table("b", {"k": [2, 3, None], "x": [20, 30, 40]})
        >>> a.lazy().join(b, on="k", how="left").sort("x").collect().to_pydict()
        {'k': [1, 2, 2, None], 'x': ['p', 'q', 'r', 's'], 'x_right': [None, 20, 20, None]}
        >>> a.lazy().join(b, on="k", how="full").sort("k", "x").collect().to_pydict()
        {'k': [1, 2, 2, 3, None, None], 'x': ['p', 'q', 'r', None, 's', None], \
'x_right': [None, 20, 20, 30, None, 40]}
        >>> a.lazy().join(b, on="k", how="anti").sort("x").fetchall()
        [(1, 'p'), (None, 's')]
        """
        if hasattr(other, "lazy") and not isinstance(other, LazyFrame):
            other = other.lazy()  # a Table
        if not isinstance(other, LazyFrame):
            raise QueryError(f"join takes a LazyFrame or a Table, got {type(other).__name__}")
        frame = self._frame.join(other._frame, on, left_on, right_on, how, suffix)
        return LazyFrame(frame, _both_openers(self, other), self._label)

    # -- pandas-style conveniences -------------------------------------------------------
    def __getitem__(self, key):
        """``f["x"]`` a column expression; ``f[["a", "b"]]`` select; ``f[f.x > 1]`` filter;
        ``f[10:20]`` rows."""
        if isinstance(key, str):
            return self._column(key)
        if isinstance(key, (list, tuple)):
            return self.select(*key)
        if isinstance(key, Expression):
            return self.filter(key)
        if isinstance(key, slice):
            if key.step not in (None, 1) or any(v is not None and v < 0
                                                 for v in (key.start, key.stop)):
                raise QueryError("row slices take non-negative start and stop, no step")
            start = key.start or 0
            stop = key.stop
            return self.slice(start, None if stop is None else max(stop - start, 0))
        raise TypeError(f"cannot index a frame with {type(key).__name__}")

    def _column(self, name: str) -> Expression:
        qf.bind(col(name), list(self._frame.columns))  # unknown names fail here
        return Expression("col", (), name, frame=self)

    def __getattr__(self, name: str) -> Expression:
        frame = self.__dict__.get("_frame")
        if name.startswith("_") or frame is None or name not in frame.names:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return Expression("col", (), name, frame=self)

    # -- running -------------------------------------------------------------------------
    def result(self, workers: int | None = None, fused: bool = True) -> Result:
        """The query as a :class:`Result` (what ``db.sql()`` returns); nothing runs yet."""
        opened = []
        memo: dict[int, object] = {}

        def open_(src):  # a source scanned twice (a self-join) is opened once
            if id(src) not in memo:
                new = self._opener(src) if self._opener is not None else src
                memo[id(src)] = new
                if new is not src:
                    opened.append(new)
            return memo[id(src)]
        try:
            query, plan = qf.prepare(self._frame, open_)
        except BaseException:
            for s in opened:
                s.close()
            raise
        return Result(session.Prepared(query, plan, opened), workers=workers, fused=fused)

    def collect(self, workers: int | None = None, fused: bool = True) -> pa.Table:
        """Run the query: an Arrow table."""
        return self.result(workers, fused).to_arrow()

    to_arrow = collect

    def __arrow_c_stream__(self, requested_schema=None):
        return self.collect().__arrow_c_stream__(requested_schema)

    def to_pandas(self):
        return self.collect().to_pandas()

    def to_polars(self):
        import polars as pl
        return pl.from_arrow(self.collect())

    def fetchall(self) -> list[tuple]:
        return self.result().fetchall()

    def explain(self, analyze: bool = False) -> str:
        """The optimized plan (as SQL's EXPLAIN shows it); ``analyze`` runs the query and
        adds what each operator did."""
        if analyze:
            return self.result().explain(analyze=True)
        query, plan = qf.prepare(self._frame)
        return render(plan, query.names)

    def __len__(self) -> int:
        """The number of rows (a ``count(*)`` query)."""
        return LazyFrame(self._frame.count(), self._opener).collect().column(0)[0].as_py()

    def _preview(self) -> tuple[pa.Table, int]:
        t = self.limit(MAX_ROWS + 1).collect() if not _is_small_limit(self._frame) else \
            self.collect()
        total = t.num_rows if t.num_rows <= MAX_ROWS else len(self)
        return t.slice(0, MAX_ROWS), total

    def __repr__(self) -> str:
        t, total = self._preview()
        text = text_table(t)
        if total > t.num_rows:
            text = text.rsplit("\n", 1)[0] + f"\n({total:,} rows, first {t.num_rows} shown)"
        return text

    def _repr_html_(self) -> str:
        t, total = self._preview()
        out = html_table(t)
        if total > t.num_rows:
            out = out.rsplit("<p>", 1)[0] + f"<p>{total:,} rows, first {t.num_rows} shown</p>"
        return out


def _both_openers(left: LazyFrame, right: LazyFrame) -> Callable[[object], object] | None:
    """The opener of a join of ``left`` and ``right``: each source is opened by the
    opener of the frame it comes from (a table frame's opener pins *its* table)."""
    a, b = left._opener, right._opener
    if (a is None and b is None) or a is b:
        return a
    mine = qf.plan_sources(left._frame.plan)

    def open_(src):
        opener = a if any(s is src for s in mine) else b
        return opener(src) if opener is not None else src
    return open_


def _is_small_limit(frame: qf.Frame) -> bool:
    from mapdb.query.plan import Limit
    return isinstance(frame.plan, Limit) and frame.plan.limit is not None and \
        frame.plan.limit <= MAX_ROWS


class GroupBy:
    """``frame.group_by(keys)``; ``agg(...)`` makes it a frame again."""

    def __init__(self, frame: LazyFrame, keys: list):
        self._frame = frame
        self._keys = keys

    def agg(self, *aggs, **named) -> LazyFrame:
        """One row per distinct key: the keys, then each aggregate (``col("v").sum()``,
        ``mapdb.count()`` ...). Groups come in no particular order; sort to fix one."""
        f = self._frame
        return f._with(f._frame.group_by(self._keys, _named(aggs, named)))

    def count(self) -> LazyFrame:
        """The keys and the number of rows of each group (column ``count``)."""
        return self.agg(count())

    def __repr__(self) -> str:
        return f"<mapdb GroupBy {', '.join(repr(qf.as_expression(k)) for k in self._keys)}>"
