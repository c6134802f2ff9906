"""``x op ANY (subquery)`` and ``x op ALL (subquery)`` in a WHERE or HAVING, as a rewrite of
the statement before binding. Where the comparison is one of the condition's AND-ed parts
only TRUE keeps a row, so NULL and FALSE need not be told apart:

- ``x op ANY (SELECT e FROM ... WHERE w)`` keeps a row when some ``x op e`` is TRUE:
  ``EXISTS (SELECT 1 FROM ... WHERE w AND x op e)``;
- ``x op ALL (...)`` when none is FALSE or NULL:
  ``NOT EXISTS (SELECT 1 FROM ... WHERE w AND NOT coalesce(x op e, false))`` (TRUE over
  no rows, as DuckDB).

Written inside the subquery, ``x``'s columns are qualified with the outer query's FROM item
so the subquery's own columns cannot capture them. Where that cannot be made sure (several
outer FROM items, a qualifier the subquery defines too), or the subquery has GROUP BY,
aggregates, DISTINCT, LIMIT or a window, the subquery is read as a table instead
(``FROM (subquery) AS __mapdb_any(v)``; correlated, that is refused).

Elsewhere (a select item, under OR or NOT, in CASE, ORDER BY) NULL and FALSE differ, and
the comparison takes SQL's three-valued answer, as DuckDB: ``x op ANY (...)`` is TRUE when
some ``x op e`` is TRUE, else NULL when some is NULL, else FALSE (no rows: FALSE);
``x op ALL (...)`` is FALSE when some is FALSE, else NULL when some is NULL, else TRUE.
That is a CASE over two EXISTS tests of the same subquery (each a mark join). With an
aggregate on the left, ANY and ALL stay refused by name.

>>> import sqlglot
>>> sql = "SELECT a FROM f WHERE a > ALL (SELECT b FROM g WHERE g.k = f.k)"
>>> print(expand(sqlglot.parse_one(sql, read="duckdb"), sql).sql(dialect="duckdb"))
SELECT a FROM f WHERE NOT EXISTS(SELECT 1 FROM g WHERE g.k = f.k AND NOT COALESCE(f.a > b, FALSE))
"""

from __future__ import annotations

from sqlglot import exp

from mapdb.query.rewrite import innermost_first, output_name

_COMPARE = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_TABLE_ONLY = ("group", "having", "distinct", "limit", "offset", "order", "qualify")


def expand(tree: exp.Expression, sql: str) -> exp.Expression:
    """``tree`` with each ANY/ALL comparison AND-ed into a WHERE or HAVING rewritten."""
    def rewrite(select: exp.Select) -> exp.Select:
        for key in ("where", "having"):
            clause = select.args.get(key)
            if clause is not None:
                clause.set("this", _conjuncts_rewritten(clause.this, select))
        for item in list(select.expressions):  # the name DuckDB gives it stays
            if not isinstance(item, exp.Alias) and any(
                    _quantified(n) and n.find_ancestor(exp.Select) is select
                    for n in item.walk()):
                item.replace(exp.alias_(item.copy(), output_name(item, sql), quoted=True))
        for cmp in [n for n in select.find_all(*_COMPARE)
                    if _quantified(n) and n.find_ancestor(exp.Select) is select]:
            found = _three_valued(cmp, select)
            if found is not None:
                cmp.replace(found)
        return select
    if not any(True for _ in tree.find_all(exp.Any, exp.All)):
        return tree
    return innermost_first(tree, list(tree.find_all(exp.Select)), rewrite)


def _quantified(node: exp.Expression) -> bool:
    return isinstance(node, _COMPARE) and isinstance(node.expression, (exp.Any, exp.All))


def _three_valued(cmp: exp.Expression, outer: exp.Select) -> exp.Expression | None:
    """``x op ANY/ALL (subquery)`` where its NULL and FALSE differ: CASE WHEN some ``x op
    e`` decides (TRUE for ANY, FALSE for ALL) ... WHEN some is NULL THEN NULL ELSE the
    answer over no decisive row."""
    is_all = isinstance(cmp.expression, exp.All)
    decisive = _exists(cmp, outer, (lambda t: exp.Not(this=exp.Paren(this=t))) if is_all
                       else (lambda t: t))
    unknown = _exists(cmp, outer, lambda t: exp.Is(this=exp.Paren(this=t),
                                                     expression=exp.Null()))
    if decisive is None or unknown is None:
        return None
    hit, miss = (exp.false(), exp.true()) if is_all else (exp.true(), exp.false())
    return exp.Paren(this=exp.Case(ifs=[exp.If(this=decisive, true=hit),
                                        exp.If(this=unknown, true=exp.Null())],
                                   default=miss))


def _conjuncts_rewritten(cond: exp.Expression, outer: exp.Select) -> exp.Expression:
    if isinstance(cond, exp.And):
        cond.set("this", _conjuncts_rewritten(cond.this, outer))
        cond.set("expression", _conjuncts_rewritten(cond.expression, outer))
        return cond
    if isinstance(cond, exp.Paren):
        cond.set("this", _conjuncts_rewritten(cond.this, outer))
        return cond
    if _quantified(cond):
        if isinstance(cond.expression, exp.All):  # no row FALSE or NULL
            found = _exists(cond, outer, lambda t: exp.Not(this=exp.Coalesce(
                this=t, expressions=[exp.false()])))
            return exp.Not(this=found) if found is not None else cond
        return _exists(cond, outer, lambda t: t) or cond
    return cond


def _visible(select: exp.Select) -> list[str] | None:
    """The names a SELECT's FROM items are seen by (alias, else table name), lower case;
    None when one is neither a table nor aliased."""
    names = []
    for src in [select.args.get("from_") or select.args.get("from"),
                *(select.args.get("joins") or [])]:
        if src is None:
            continue
        item = src.this
        alias = item.alias if hasattr(item, "alias") else ""
        if alias:
            names.append(alias.lower())
        elif isinstance(item, exp.Table):
            names.append(item.name.lower())
        else:
            return None
    return names


def _outer_side(x: exp.Expression, outer: exp.Select, inner: exp.Select
                ) -> exp.Expression | None:
    """``x`` (the outer query's side of the comparison) with each column qualified so
    that the subquery's own columns cannot capture it once ``x`` is written inside it:
    an unqualified column takes the outer query's one FROM item; None when that cannot be
    made sure (several FROM items, or a qualifier the subquery also defines)."""
    inside, mine = _visible(inner), _visible(outer)
    if inside is None:
        return None
    x = x.copy()
    for col in list(x.find_all(exp.Column)):
        if col.table:
            if col.table.lower() in inside:
                return None
        elif mine is not None and len(mine) == 1 and mine[0] not in inside:
            col.set("table", exp.to_identifier(mine[0]))
        else:
            return None
    return x


def _exists(cmp: exp.Expression, outer: exp.Select, test_of) -> exp.Expression | None:
    """EXISTS (the subquery's rows where ``test_of(x op e)``)."""
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
    as_table = any(inner.args.get(k) for k in _TABLE_ONLY) or \
        any(isinstance(n, (exp.AggFunc, exp.Window)) for n in item.walk())
    x = None if as_table else _outer_side(cmp.this, outer, inner)
    if x is None:
        # read the subquery as a table: its rows are what the comparison runs over, and
        # nothing in it can take x's columns (a correlated one is refused there)
        inner = exp.select("__mapdb_v").from_(exp.Subquery(
            this=inner, alias=exp.TableAlias(this=exp.to_identifier("__mapdb_any"),
                                             columns=[exp.to_identifier("__mapdb_v")])))
        value, x = exp.column("__mapdb_v"), cmp.this.copy()
    test = test_of(type(cmp)(this=x, expression=value.copy()))
    where = inner.args.get("where")
    inner.set("where", exp.Where(this=exp.and_(where.this, test) if where else test))
    inner.set("expressions", [exp.Literal.number(1)])
    return exp.Exists(this=inner)
