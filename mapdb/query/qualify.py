"""QUALIFY, as a rewrite of the statement before binding: DuckDB filters the rows after
the window functions with it (WHERE, GROUP BY, HAVING, windows, QUALIFY, DISTINCT, ORDER
BY, LIMIT). The SELECT without QUALIFY, DISTINCT, ORDER BY and LIMIT becomes a subquery
with the condition as one more column; the query over it keeps the rows where that is
true, drops the column, and applies DISTINCT, ORDER BY and LIMIT. A name in the
condition that is a select item's alias stands for that item's expression (``QUALIFY
rn = 1`` with ``row_number() OVER (...) AS rn``), as in DuckDB.

>>> import sqlglot
>>> sql = "SELECT k, row_number() OVER (ORDER BY v) AS rn FROM t QUALIFY rn = 1"
>>> tree = expand(sqlglot.parse_one(sql, read="duckdb"), sql)
>>> text = " ".join(tree.sql(dialect="duckdb", pretty=True).split())
>>> print(text)  # doctest: +NORMALIZE_WHITESPACE
SELECT * EXCLUDE (__mapdb_qualify) FROM ( SELECT k AS "k", ROW_NUMBER() OVER (ORDER BY
v) AS "rn", ROW_NUMBER() OVER (ORDER BY v) = 1 AS __mapdb_qualify FROM t ) AS
__mapdb_qualified WHERE __mapdb_qualify
"""

from __future__ import annotations

from sqlglot import exp

from mapdb.query.rewrite import expands, innermost_first, order_item, output_name, replaced
from mapdb.query.syntax import locate
from mapdb.query.types import QueryError

FLAG = "__mapdb_qualify"


def expand(tree: exp.Expression, sql: str) -> exp.Expression:
    """``tree`` with every SELECT that has QUALIFY rewritten (innermost first)."""
    return innermost_first(tree, [s for s in tree.find_all(exp.Select)
                                  if s.args.get("qualify") is not None],
                           lambda sel: _expand(sel, sql))


def _expand(sel: exp.Select, sql: str) -> exp.Expression:
    cond = sel.args["qualify"].this
    if not any(isinstance(n, exp.Window) for e in (*sel.expressions, cond)
               for n in e.walk()):
        raise QueryError("QUALIFY needs a window function in the select list or in "
                         "QUALIFY (as DuckDB)", locate(sel.args["qualify"]), sql)
    names = [output_name(item, sql) for item in sel.expressions]
    aliases = {item.alias.lower(): item.this for item in sel.expressions
               if isinstance(item, exp.Alias)}
    cond = _with_aliases(cond.copy(), aliases)
    inner = sel.copy()
    for clause in ("qualify", "distinct", "order", "limit", "offset", "with_"):
        inner.set(clause, None)
    inner.set("expressions", [
        exp.alias_(item.this if isinstance(item, exp.Alias) else item, name, quoted=True)
        if not expands(item) else item
        for item, name in zip(inner.expressions, names, strict=True)]
        + [exp.alias_(cond, FLAG)])
    outer = exp.select(exp.Star(except_=[exp.column(FLAG)])).from_(
        exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(
            "__mapdb_qualified")))).where(exp.column(FLAG))
    for clause in ("with_", "distinct", "limit", "offset"):
        if sel.args.get(clause) is not None:
            outer.set(clause, sel.args[clause])
    order = sel.args.get("order")
    if order is not None:
        outer.set("order", exp.Order(expressions=[order_item(o, sel, names, sql, "QUALIFY")
                                                  for o in order.expressions]))
    return outer


def _with_aliases(e: exp.Expression, aliases: dict[str, exp.Expression]) -> exp.Expression:
    def swap(n):
        if isinstance(n, exp.Column) and not n.table and n.name.lower() in aliases:
            return aliases[n.name.lower()].copy()
        if isinstance(n, exp.Subquery | exp.Select):
            return n  # names inside a subquery are its own
        return None
    return replaced(e, swap)
