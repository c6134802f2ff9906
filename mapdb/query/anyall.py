"""``x op ANY (subquery)`` and ``x op ALL (subquery)`` in a WHERE or HAVING, as a rewrite of
the statement before binding. Where the comparison is one of the condition's AND-ed parts
only TRUE keeps a row, so NULL and FALSE need not be told apart:

- ``x op ANY (SELECT e FROM ... WHERE w)`` keeps a row when some ``x op e`` is TRUE:
  ``EXISTS (SELECT 1 FROM ... WHERE w AND x op e)``;
- ``x op ALL (...)`` when none is FALSE or NULL:
  ``NOT EXISTS (SELECT 1 FROM ... WHERE w AND NOT coalesce(x op e, false))`` (TRUE over
  no rows, as DuckDB).

A subquery with GROUP BY, aggregates, DISTINCT, LIMIT, a window or a set operation is read
as a table instead (``FROM (subquery) AS __mapdb_any(v)``). Elsewhere (in a select item,
under OR or NOT, with an aggregate on the left) ANY and ALL stay refused by name.

>>> import sqlglot
>>> sql = "SELECT a FROM f WHERE a > ALL (SELECT b FROM g WHERE g.k = f.k)"
>>> print(expand(sqlglot.parse_one(sql, read="duckdb"), sql).sql(dialect="duckdb"))
SELECT a FROM f WHERE NOT EXISTS(SELECT 1 FROM g WHERE g.k = f.k AND NOT COALESCE(a > b, FALSE))
"""

from __future__ import annotations

from sqlglot import exp

from mapdb.query.rewrite import innermost_first

_COMPARE = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_TABLE_ONLY = ("group", "having", "distinct", "limit", "offset", "order", "qualify")


def expand(tree: exp.Expression, sql: str) -> exp.Expression:
    """``tree`` with each ANY/ALL comparison AND-ed into a WHERE or HAVING rewritten."""
    def rewrite(select: exp.Select) -> exp.Select:
        for key in ("where", "having"):
            clause = select.args.get(key)
            if clause is not None:
                clause.set("this", _conjuncts_rewritten(clause.this))
        return select
    if not any(True for _ in tree.find_all(exp.Any, exp.All)):
        return tree
    return innermost_first(tree, list(tree.find_all(exp.Select)), rewrite)


def _conjuncts_rewritten(cond: exp.Expression) -> exp.Expression:
    if isinstance(cond, exp.And):
        cond.set("this", _conjuncts_rewritten(cond.this))
        cond.set("expression", _conjuncts_rewritten(cond.expression))
        return cond
    if isinstance(cond, exp.Paren):
        cond.set("this", _conjuncts_rewritten(cond.this))
        return cond
    if isinstance(cond, _COMPARE) and isinstance(cond.expression, (exp.Any, exp.All)):
        return _exists(cond) or cond
    return cond


def _exists(cmp: exp.Expression) -> exp.Expression | None:
    quant = cmp.expression
    if any(isinstance(n, (exp.AggFunc, exp.Window)) for n in cmp.this.walk()):
        return None  # (an aggregate of the outer query inside the subquery: not bound)
    inner = quant.this
    while isinstance(inner, (exp.Subquery, exp.Paren)):
        inner = inner.this
    if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
        return None  # (a set operation, several columns: refused as ANY/ALL)
    inner = inner.copy()
    item = inner.expressions[0]
    value = item.this if isinstance(item, exp.Alias) else item
    if any(inner.args.get(k) for k in _TABLE_ONLY) or \
            any(isinstance(n, (exp.AggFunc, exp.Window)) for n in item.walk()):
        # read the subquery as a table: its rows are what the comparison runs over
        inner = exp.select("__mapdb_v").from_(exp.Subquery(
            this=inner, alias=exp.TableAlias(this=exp.to_identifier("__mapdb_any"),
                                             columns=[exp.to_identifier("__mapdb_v")])))
        value = exp.column("__mapdb_v")
    test = type(cmp)(this=cmp.this.copy(), expression=value.copy())
    if isinstance(quant, exp.All):
        test = exp.Not(this=exp.Coalesce(this=test, expressions=[exp.false()]))
    where = inner.args.get("where")
    inner.set("where", exp.Where(this=exp.and_(where.this, test) if where else test))
    inner.set("expressions", [exp.Literal.number(1)])
    found = exp.Exists(this=inner)
    return exp.Not(this=found) if isinstance(quant, exp.All) else found
