"""SELECT DISTINCT ON (keys), as a rewrite of the statement before binding: DuckDB keeps
one row per distinct value of the keys (NULLs are one value), the first by the ORDER BY,
and the ORDER BY then orders what is kept. It runs after QUALIFY and before ORDER BY and
LIMIT, so the SELECT without DISTINCT, ORDER BY and LIMIT becomes a subquery that also
carries each key and ORDER BY item as a hidden column; a query over it numbers its rows
``row_number() OVER (PARTITION BY keys ORDER BY items)``, and the outermost keeps row 1,
drops the hidden columns, and applies ORDER BY and LIMIT. Without ``*`` the items travel
under names of their own and the outermost SELECT gives them DuckDB's names (two may
share one: ``SELECT DISTINCT ON (g) g, g``). As in DuckDB's ORDER BY, a key or
ORDER BY item that is an integer is a select item's position and a bare name a select
alias before an input column.

>>> import sqlglot
>>> sql = "SELECT DISTINCT ON (g) g, x AS v FROM t ORDER BY v DESC"
>>> tree = expand(sqlglot.parse_one(sql, read="duckdb"), sql)
>>> print(" ".join(tree.sql(dialect="duckdb", pretty=True).split()))
... # doctest: +NORMALIZE_WHITESPACE
SELECT __mapdb_item0 AS "g", __mapdb_item1 AS "v" FROM ( SELECT *, ROW_NUMBER() OVER
(PARTITION BY __mapdb_on0 ORDER BY __mapdb_by0 DESC) AS __mapdb_first FROM ( SELECT g AS
"__mapdb_item0", x AS "__mapdb_item1", g AS __mapdb_on0, x AS __mapdb_by0 FROM t ) AS
__mapdb_distinct_on ) AS __mapdb_distinct_on WHERE __mapdb_first = 1 ORDER BY
__mapdb_by0 DESC
"""

from __future__ import annotations

from sqlglot import exp

from mapdb.query.rewrite import expands, innermost_first, output_name
from mapdb.query.syntax import locate
from mapdb.query.types import QueryError

FIRST = "__mapdb_first"
ALIAS = "__mapdb_distinct_on"


def expand(tree: exp.Expression, sql: str) -> exp.Expression:
    """``tree`` with every SELECT DISTINCT ON rewritten (innermost first)."""
    def has_on(s: exp.Select) -> bool:
        d = s.args.get("distinct")
        return d is not None and d.args.get("on") is not None
    return innermost_first(tree, [s for s in tree.find_all(exp.Select) if has_on(s)],
                           lambda sel: _expand(sel, sql))


def _expand(sel: exp.Select, sql: str) -> exp.Expression:
    on = sel.args["distinct"].args["on"]
    keys = on.expressions if isinstance(on, exp.Tuple) else [on]
    items = sel.expressions
    names = [output_name(item, sql) for item in items]
    star = any(expands(item) for item in items)
    aliases = {item.alias.lower(): item.this for item in items if isinstance(item, exp.Alias)}

    def resolve(e: exp.Expression) -> exp.Expression:
        bare = e
        while isinstance(bare, exp.Paren):
            bare = bare.this
        if isinstance(bare, exp.Literal) and not bare.is_string and bare.this.isdigit():
            i = int(bare.this)
            if star:  # the position of an item * expands to is only known when bound
                raise QueryError("DISTINCT ON: a position beside * is not supported; name "
                                 "the column", locate(e), sql)
            if not 1 <= i <= len(items):
                raise QueryError(f"DISTINCT ON: position {i} is not in the select list "
                                 f"(1..{len(items)})", locate(e), sql)
            item = items[i - 1]
            return (item.this if isinstance(item, exp.Alias) else item).copy()
        if isinstance(bare, (exp.Literal, exp.Null, exp.Boolean, exp.Neg)) and \
                not any(isinstance(n, exp.Column) for n in bare.walk()):
            raise QueryError(f"DISTINCT ON: the constant {bare.sql(dialect='duckdb')} is "
                             "not a select item's position", locate(e), sql)
        if isinstance(bare, exp.Column) and not bare.table and \
                isinstance(bare.this, exp.Identifier) and bare.name.lower() in aliases:
            return aliases[bare.name.lower()].copy()
        return e.copy()

    order = sel.args.get("order")
    ordered = list(order.expressions) if order is not None else []
    if len(ordered) == 1 and isinstance(ordered[0].this, exp.Var) and \
            ordered[0].this.name.upper() == "ALL":
        if star:
            raise QueryError("DISTINCT ON with ORDER BY ALL beside * is not supported",
                             locate(ordered[0]), sql)
        ordered = [_with_this(ordered[0], exp.Literal.number(i + 1))
                   for i in range(len(items))]
    on_names = [f"__mapdb_on{j}" for j in range(len(keys))]
    by_names = [f"__mapdb_by{i}" for i in range(len(ordered))]

    inner = sel.copy()
    for clause in ("distinct", "order", "limit", "offset", "with_"):
        inner.set(clause, None)
    # without *, the items pass through the subqueries under names of their own
    inner_names = names if star else [f"__mapdb_item{i}" for i in range(len(items))]
    inner.set("expressions", [
        item.copy() if expands(item) else
        exp.alias_((item.this if isinstance(item, exp.Alias) else item).copy(), name,
                   quoted=True)
        for item, name in zip(items, inner_names, strict=True)]
        + [exp.alias_(resolve(k), n) for k, n in zip(keys, on_names, strict=True)]
        + [exp.alias_(resolve(o.this), n) for o, n in zip(ordered, by_names, strict=True)])

    def by(i: int, o: exp.Ordered) -> exp.Ordered:
        return _with_this(o, exp.column(by_names[i]))

    window = exp.Window(this=exp.RowNumber(),
                        partition_by=[exp.column(n) for n in on_names],
                        order=exp.Order(expressions=[by(i, o) for i, o in enumerate(ordered)])
                        if ordered else None, over="OVER")
    mid = exp.select(exp.Star(), exp.alias_(window, FIRST)).from_(_derived(inner))
    shown = [exp.Star(except_=[exp.column(n) for n in on_names + by_names + [FIRST]])] \
        if star else [exp.alias_(exp.column(i), n, quoted=True)
                      for i, n in zip(inner_names, names, strict=True)]
    outer = exp.select(*shown).from_(_derived(mid)).where(exp.EQ(this=exp.column(FIRST),
                                                           expression=exp.Literal.number(1)))
    if ordered:
        outer.set("order", exp.Order(expressions=[by(i, o) for i, o in enumerate(ordered)]))
    for clause in ("with_", "limit", "offset"):
        if sel.args.get(clause) is not None:
            outer.set(clause, sel.args[clause])
    return outer


def _with_this(o: exp.Ordered, this: exp.Expression) -> exp.Ordered:
    out = o.copy()
    out.set("this", this)
    return out


def _derived(q: exp.Select) -> exp.Subquery:
    return exp.Subquery(this=q, alias=exp.TableAlias(this=exp.to_identifier(ALIAS)))
