"""Decomposable SQL aggregates as map-reduce over the parts of a table (mapdb.api.parts).

``plan(query)`` splits one aggregate statement over one table into

- a *partial* statement, run by mapdb over each part's rows: the WHERE clause, the group
  keys, and per aggregate its partial state (``count`` and ``sum`` of the part, ``min``,
  ``max``; ``avg`` as a ``sum`` and a ``count``);
- a *combine* step over the concatenated partial answers (Arrow's hash aggregation: sums
  of the counts and sums, min of the mins, max of the maxes; an average is the summed sum
  over the summed count);
- a *final* statement over the combined rows, one per group, run by mapdb: the select
  list, HAVING (now a WHERE), ORDER BY, LIMIT and OFFSET, with each aggregate and each
  group key replaced by its combined column.

Supported: one SELECT over one stored table with count(*), count(x), sum(x), min(x),
max(x), avg(x) (x any expression of the table's columns), aggregates inside expressions
(``sum(a) / count(*)``), WHERE, GROUP BY (expressions, ordinals, select aliases), HAVING,
ORDER BY, LIMIT/OFFSET. Anything else raises :class:`NotDecomposableError` saying so.

>>> import tempfile, mapdb
>>> from mapdb.api import parts
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> t = db.create_table("t", {"k": ["a", "b", "a", "b", "a"], "v": [1, 2, 3, 4, None]})
>>> q = "SELECT k, sum(v) AS s, avg(v) AS a, count(*) AS n FROM t GROUP BY k ORDER BY k"
>>> mr = plan(q)
>>> mr.partial
'SELECT k AS __k0, SUM(v) AS __p0, COUNT(v) AS __p1, COUNT(*) AS __p2 FROM "t" GROUP BY k'
>>> partials = [parts.sql(p, mr.partial) for p in parts.split(t, max_rows=2)]
>>> mr.reduce(partials, db.sql(q).to_arrow().schema).to_pydict()
{'k': ['a', 'b'], 's': [4, 6], 'a': [2.0, 3.0], 'n': [3, 2]}
>>> db.sql(q).to_arrow().to_pydict()
{'k': ['a', 'b'], 's': [4, 6], 'a': [2.0, 3.0], 'n': [3, 2]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from mapdb.api import parts
from mapdb.errors import MapdbError

SUPPORTED = ("one SELECT over one table with count(*), count(x), sum(x), min(x), max(x), "
             "avg(x); WHERE, GROUP BY, HAVING, ORDER BY, LIMIT")
COMBINED = "__combined"


class NotDecomposableError(MapdbError):
    """A statement that cannot run as partial aggregates combined afterwards."""


def _refuse(what: str) -> NotDecomposableError:
    return NotDecomposableError(f"{what} cannot run as a map-reduce over parts; supported: "
                                f"{SUPPORTED}")


@dataclass
class MapReduce:
    """A statement split into partial, combine and final steps (see the module doc)."""

    table: str                 # the table the statement reads
    partial: str               # SQL run over each part (mapdb.api.parts.sql)
    keys: list[str]            # the partial answers' group key columns
    combine: list[tuple[str, str]] = field(default_factory=list)  # (column, sum|min|max)
    averages: list[tuple[str, str, str]] = field(default_factory=list)  # (out, sum, count)
    aggregates: list[str] = field(default_factory=list)  # combined columns the final reads
    final: str = ""            # SQL over the combined rows (table __combined)

    def reduce(self, partials: Sequence[pa.Table], schema: pa.Schema,
               workers: int | None = 1) -> pa.Table:
        """The statement's answer from the partial answers of every part; ``schema``
        is the answer's (names and types, as the statement over the whole table gives)."""
        if not partials:
            raise ValueError("no partial answers to combine")
        t = pa.concat_tables(partials)
        # a copy: partials that crossed a network arrive in arbitrarily aligned frames,
        # which Arrow's hash aggregation warns about (and copies anyway)
        t = t.take(pa.array(range(t.num_rows), pa.int64()))
        aggs = [(c, fn) for c, fn in self.combine]
        if self.keys:
            g = t.group_by(self.keys, use_threads=False).aggregate(aggs)
            cols = {k: g.column(k) for k in self.keys}
            cols |= {c: g.column(f"{c}_{fn}") for c, fn in aggs}
        else:
            cols = {c: pa.chunked_array([pa.array([getattr(pc, fn)(t.column(c)).as_py()],
                                                  t.schema.field(c).type)])
                    for c, fn in aggs}
        for out, s, n in self.averages:
            count = pc.cast(cols[n], pa.float64())
            cols[out] = pc.if_else(pc.equal(count, 0), None,
                                   pc.divide(pc.cast(cols[s], pa.float64()), count))
        combined = pa.table({c: cols[c] for c in [*self.keys, *self.aggregates]})
        out = parts.sql_arrow(self.final, {COMBINED: combined}, workers=workers)
        return out.rename_columns(schema.names).cast(schema)


def table_of(query: str) -> str:
    """The name of the one table ``query`` reads (NotDecomposableError otherwise)."""
    return _select(query)[1]


def _select(query: str) -> tuple[exp.Select, str]:
    try:
        trees = [t for t in sqlglot.parse(query, read="duckdb") if t is not None]
    except sqlglot.errors.SqlglotError as e:
        raise NotDecomposableError(f"cannot parse the statement: {e}") from None
    if len(trees) != 1:
        raise _refuse(f"{len(trees)} statements")
    sel = trees[0]
    if not isinstance(sel, exp.Select):
        raise _refuse(f"a {sel.key.upper()} statement")
    for node, what in ((exp.Join, "a join"), (exp.Window, "a window function"),
                       (exp.With, "WITH"), (exp.Subquery, "a subquery"),
                       (exp.Distinct, "DISTINCT"), (exp.Lateral, "LATERAL"),
                       (exp.Qualify, "QUALIFY")):
        if sel.find(node) is not None:
            raise _refuse(what)
    if any(isinstance(n, exp.Select) for n in sel.walk() if n is not sel):
        raise _refuse("a subquery")
    frm = sel.args.get("from") or sel.args.get("from_")
    if frm is None or not isinstance(frm.this, exp.Table) or frm.this.args.get("db"):
        raise _refuse("a statement without one stored table in FROM")
    return sel, frm.this.name


_AGGS = {exp.Count: "count", exp.Sum: "sum", exp.Min: "min", exp.Max: "max",
         exp.Avg: "avg"}


def plan(query: str) -> MapReduce:
    """Split ``query`` (one statement, DuckDB dialect) into map-reduce steps; see the
    module doc for what is supported. The statement is assumed valid for mapdb (bind it
    first for good error messages); this only checks its shape."""
    sel, table = _select(query)
    sel = sel.copy()
    for c in sel.find_all(exp.Column):  # one table: qualifiers add nothing
        if c.args.get("table") is not None:
            c.set("table", None)
    items = list(sel.expressions)
    if any(not isinstance(s.parent, exp.Count) for i in items for s in i.find_all(exp.Star)):
        raise _refuse("SELECT *")
    aliases = {i.alias: i.this for i in items if isinstance(i, exp.Alias)}

    group = sel.args.get("group")
    if group is not None and any(group.args.get(k) for k in ("rollup", "cube",
                                                              "grouping_sets", "all")):
        raise _refuse("ROLLUP, CUBE, GROUPING SETS or GROUP BY ALL")
    keys: list[exp.Expression] = []
    for g in group.expressions if group is not None else []:
        if isinstance(g, exp.Literal) and g.is_int:
            g = items[int(g.this) - 1]
            g = g.this if isinstance(g, exp.Alias) else g
        elif isinstance(g, exp.Column) and g.name in aliases:
            g = aliases[g.name]  # mapdb, like DuckDB, prefers a table column (checked first)
        keys.append(g.copy())
    key_sql = {k.sql(dialect="duckdb"): f"__k{i}" for i, k in enumerate(keys)}

    having = sel.args.get("having")
    having_expr = having.this.copy() if having is not None else None
    if having_expr is not None:  # select aliases in HAVING: the final WHERE cannot see them
        having_expr = having_expr.transform(
            lambda n: aliases[n.name].copy() if isinstance(n, exp.Column) and
            n.name in aliases and n.name not in key_sql else n)

    partial_items = [f"{k} AS {name}" for k, name in key_sql.items()]
    mr = MapReduce(table=table, partial="", keys=list(key_sql.values()))
    seen: dict[str, str] = {}  # aggregate SQL -> combined column
    partial_cols: dict[str, str] = {}  # partial aggregate SQL -> its column (shared)

    def partial_col(sql: str, combine: str) -> str:
        if sql not in partial_cols:
            name = partial_cols[sql] = f"__p{len(partial_cols)}"
            partial_items.append(f"{sql} AS {name}")
            mr.combine.append((name, combine))
        return partial_cols[sql]

    def aggregate(node: exp.Expression) -> str:
        text = node.sql(dialect="duckdb")
        if text in seen:
            return seen[text]
        kind = _AGGS.get(type(node))
        if kind is None:
            raise _refuse(f"the aggregate {text}")
        arg = node.this
        if isinstance(arg, exp.Distinct) or node.args.get("distinct"):
            raise _refuse(f"{text} (DISTINCT)")
        if arg is not None and arg.find(exp.AggFunc) is not None:
            raise _refuse(f"the nested aggregate {text}")
        if kind == "avg":
            s = partial_col(f"SUM({arg.sql(dialect='duckdb')})", "sum")
            n = partial_col(f"COUNT({arg.sql(dialect='duckdb')})", "sum")
            out = f"__a{len(seen)}"
            mr.averages.append((out, s, n))
        else:
            out = partial_col(text, "sum" if kind == "count" else kind)
        if out not in mr.aggregates:
            mr.aggregates.append(out)
        seen[text] = out
        return out

    def rewrite(node: exp.Expression) -> exp.Expression:
        def fn(n: exp.Expression):
            if isinstance(n, exp.AggFunc):
                return exp.column(aggregate(n))
            if not isinstance(n, exp.Alias | exp.Ordered) and n.sql(dialect="duckdb") in key_sql:
                return exp.column(key_sql[n.sql(dialect="duckdb")])
            return n
        return node.copy().transform(fn)

    final_items = [rewrite(i) for i in items]
    final_where = rewrite(having_expr) if having_expr is not None else None
    order = sel.args.get("order")
    final_order = rewrite(order) if order is not None else None
    if not mr.aggregates and not keys:
        raise _refuse("a statement without aggregates or GROUP BY (read the rows with "
                      "read_table instead)")

    where = sel.args.get("where")
    mr.partial = (f"SELECT {', '.join(partial_items)} FROM {parts._quote(table)}"
                  + (f" WHERE {where.this.sql(dialect='duckdb')}" if where is not None else "")
                  + (f" GROUP BY {', '.join(k.sql(dialect='duckdb') for k in keys)}"
                     if keys else ""))
    final = exp.select(*final_items).from_(COMBINED)
    if final_where is not None:
        final = final.where(final_where)
    if final_order is not None:
        final.set("order", final_order)
    for k in ("limit", "offset"):
        if sel.args.get(k) is not None:
            final.set(k, sel.args[k].copy())
    mr.final = final.sql(dialect="duckdb")
    return mr
