"""VALUES lists, as a rewrite of the statement before binding: ``VALUES (1, 'a'), (2,
'b')`` is the UNION ALL of one SELECT per row, so its column types are the rows' common
types (UNION's rules) and its columns are named as DuckDB names them (the alias's column
names, then ``col0``, ``col1``, ...). In FROM or JOIN it is a derived table, aliased
``valueslist`` unless given an alias.

>>> import sqlglot
>>> sql = "SELECT * FROM (VALUES (1, 'a'), (2, NULL)) v(k)"
>>> print(expand(sqlglot.parse_one(sql, read="duckdb"), sql).sql(dialect="duckdb"))
SELECT * FROM (SELECT 1 AS k, 'a' AS col1 UNION ALL SELECT 2 AS k, NULL AS col1) AS v
"""

from __future__ import annotations

from sqlglot import exp

from mapdb.query.rewrite import innermost_first
from mapdb.query.syntax import locate
from mapdb.query.types import QueryError


def expand(tree: exp.Expression, sql: str) -> exp.Expression:
    """``tree`` with every VALUES list as a UNION ALL of SELECTs (innermost first)."""
    def rewrite(v: exp.Values) -> exp.Expression:
        if v is tree:
            return _union(v, sql)
        alias = v.args.get("alias")
        return exp.Subquery(this=_union(v, sql), alias=exp.TableAlias(
            this=alias.this if alias is not None and alias.this is not None
            else exp.to_identifier("valueslist")))
    return innermost_first(tree, list(tree.find_all(exp.Values)), rewrite)


def _union(v: exp.Values, sql: str) -> exp.Expression:
    rows = [r.expressions if isinstance(r, exp.Tuple) else [r] for r in v.expressions]
    width = len(rows[0])
    for r, node in zip(rows, v.expressions, strict=True):
        if len(r) != width:
            raise QueryError("VALUES lists must all be the same length", locate(node), sql)
    alias = v.args.get("alias")
    given = [c.name for c in alias.columns] if alias is not None else []
    if len(given) > width:
        raise QueryError(f"the VALUES list has {width} columns; {len(given)} names given",
                         locate(alias), sql)
    names = given + [f"col{i}" for i in range(len(given), width)]
    selects = [exp.select(*[exp.alias_(e.copy(), n) for e, n in zip(r, names, strict=True)])
               for r in rows]
    out: exp.Expression = selects[0]
    for s in selects[1:]:
        out = exp.Union(this=out, expression=s, distinct=False)
    return out
