"""A subquery in FROM written twice in one statement, computed once: a rewrite before
binding turns the repeated derived tables into one CTE read by each (the binder then
computes a CTE read more than once a single time, ``plan.CTEScan``).

TPC-DS q65 writes the same store-by-item revenue aggregate twice, once to average it per
store and once to compare each item with that average; DuckDB's planner finds such
duplicates too. Only derived tables that cost something to compute (an aggregate, a
join, DISTINCT, a window or a set operation) are shared: a filtered scan is cheaper read
again with each reader's filters pushed into it. The texts must match exactly (literals
included), and nothing is shared where the statement has WITH clauses below its top
level (a name could mean another CTE there) or where a copy sits inside an expression's
subquery (it could read the enclosing query's columns).

>>> import sqlglot
>>> sql = ("SELECT * FROM (SELECT k, sum(v) AS s FROM t GROUP BY k) a "
...        "JOIN (SELECT k, sum(v) AS s FROM t GROUP BY k) b ON a.k = b.k + 1")
>>> print(share(sqlglot.parse_one(sql, read="duckdb")).sql(dialect="duckdb", pretty=True))
WITH "__mapdb_common_0" AS MATERIALIZED (
  SELECT
    k,
    SUM(v) AS s
  FROM t
  GROUP BY
    k
)
SELECT
  *
FROM "__mapdb_common_0" AS a
JOIN "__mapdb_common_0" AS b
  ON a.k = b.k + 1
"""

from __future__ import annotations

from sqlglot import exp

from mapdb.query.rewrite import outermost

_COSTLY = (exp.AggFunc, exp.Group, exp.Join, exp.Distinct, exp.Window, exp.Union,
           exp.Intersect, exp.Except)


def share(tree: exp.Expression) -> exp.Expression:
    """``tree`` with each derived table written more than once read from one CTE."""
    if not isinstance(tree, (exp.Select, exp.Union)):
        return tree
    top = tree.args.get("with_")
    if any(w is not top for w in tree.find_all(exp.With)):
        return tree
    groups: dict[str, list[exp.Subquery]] = {}
    for sub in tree.find_all(exp.Subquery):
        if isinstance(sub.parent, (exp.From, exp.Join)) and _costly(sub.this) and \
                outermost(sub.parent) and _self_contained(sub.this):
            groups.setdefault(sub.this.sql(dialect="duckdb"), []).append(sub)
    n = 0
    for text in sorted(groups, key=len, reverse=True):  # the outermost copies first
        subs = [s for s in groups[text] if s.root() is tree]  # (not inside a shared one)
        if len(subs) < 2:
            continue
        name = f"__mapdb_common_{n}"
        n += 1
        # MATERIALIZED: computed once even where the binder would inline a CTE of joins
        # (binder.materialize_cte): sharing it is this rewrite's decision
        cte = exp.CTE(this=subs[0].this.copy(), materialized=True,
                      alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True)))
        # before the first top-level CTE holding a copy (it reads only earlier CTEs)
        ctes = top.expressions if top is not None else []
        holders = [i for i, c in enumerate(ctes) if any(s.find_ancestor(exp.CTE) is c
                                                        for s in subs)]
        for s in subs:
            table = exp.Table(this=exp.to_identifier(name, quoted=True))
            if s.args.get("alias") is not None:
                table.set("alias", s.args["alias"].copy())
            s.replace(table)
        if top is None:
            top = exp.With(expressions=[])
            tree.set("with_", top)
        at = holders[0] if holders else len(top.expressions)
        top.set("expressions", [*top.expressions[:at], cte, *top.expressions[at:]])
    return tree


def _self_contained(q: exp.Expression) -> bool:
    """No column qualified by a name the subquery does not define (DuckDB reads one as
    the FROM items before it, a lateral reference a CTE could not make)."""
    names = {t.alias_or_name.lower() for t in q.find_all(exp.Table)} | \
        {a.name.lower() for a in q.find_all(exp.TableAlias)}
    return all(not c.table or c.table.lower() in names for c in q.find_all(exp.Column))


def _costly(q: exp.Expression) -> bool:
    return any(isinstance(node, _COSTLY) for node in q.walk())
