"""COLUMNS(...) in the select list, expanded as DuckDB expands it: the item stands for one
item per matching column of the FROM, in the order ``*`` lists them. ``COLUMNS('regex')``
matches the names the regular expression finds a match in (RE2, case-sensitive, as DuckDB:
``'x'`` matches ``dep_x`` and ``x``); ``COLUMNS(*)`` and ``COLUMNS(t.*)`` are ``*`` (with
EXCLUDE, REPLACE, RENAME); ``COLUMNS(['a', 'b'])`` the columns of those names (any case,
each once). Inside an expression (``max(COLUMNS('dep_.*'))``, ``COLUMNS('x|y') + 1``)
the expression is repeated for each column, named as the column (or the item's alias:
then every item has it). Several COLUMNS in one item must be the same (each is the same
column in each copy; DuckDB refuses different ones too). Elsewhere (WHERE, GROUP BY,
ORDER BY, FILTER), with lambdas (``COLUMNS(c -> ...)``), and ``*COLUMNS`` (unpacked
into a call's arguments) it is refused.

>>> import sqlglot
>>> item = sqlglot.parse_one("SELECT max(COLUMNS('x')) + 1 AS m FROM t").expressions[0]
>>> [n.sql() for n in found(item)]
["COLUMNS('x')"]
>>> sub = substituted(item.this, "c0")
>>> sub.sql()
'MAX("c0") + 1'
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query.expr import Col, Expr

COLUMN = "__mapdb_columns"  # the name one copy of the item reads its column by


def found(node: exp.Expression) -> list[exp.Columns]:
    """The COLUMNS(...) nodes of a select item, not those of its subqueries."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, exp.Columns):
            out.append(n)
            continue
        if isinstance(n, (exp.Select, exp.Subquery, exp.Union, exp.Intersect, exp.Except)):
            continue
        stack.extend(reversed(list(n.iter_expressions())))
    return out


def substituted(node: exp.Expression, name: str) -> exp.Expression:
    """A copy of ``node`` with its COLUMNS(...) nodes read as the column ``name``."""
    copy = node.copy()
    for c in found(copy):
        c.replace(exp.column(name, quoted=True))
    return copy


def expand(binder, node: exp.Expression, scope, aliases: dict) -> list[tuple[str, Expr]]:
    """The select items ``node`` (holding COLUMNS(...)) stands for, bound in ``scope``;
    its alias, if any, goes into ``aliases`` (the last item it names, as DuckDB)."""
    nodes = found(node)
    if len({n.sql(dialect="duckdb") for n in nodes}) > 1:
        raise binder.error("several different COLUMNS(...) in one select item are not "
                           "supported (DuckDB refuses them too)", nodes[1])
    first = nodes[0]
    for n in nodes:  # DuckDB ANDs the copies of a condition: not one item per column
        if n.find_ancestor(exp.Where, exp.Filter) is not None:
            raise binder.error("COLUMNS(...) is supported only in the select list (not in "
                               "a FILTER condition)", n)
    matches = _matching(binder, first, scope)
    alias = node.alias if isinstance(node, exp.Alias) else None
    inner = node.this if isinstance(node, exp.Alias) else node
    bare = inner
    while isinstance(bare, exp.Paren):
        bare = bare.this
    if bare is first:
        items = [(alias or n, e) for n, e in matches]
    else:
        items = []
        for n, e in matches:
            if not isinstance(e, Col):
                raise binder.error("COLUMNS(* REPLACE ...) inside an expression is not "
                                   "supported", first)
            one = dataclasses.replace(scope, columns=[(COLUMN, e), *scope.columns])
            items.append((alias or n, binder.expr(substituted(inner, COLUMN), one)))
    if alias is not None:
        aliases[alias.lower()] = items[-1][1]
    return items


def _matching(binder, node: exp.Columns, scope) -> list[tuple[str, Expr]]:
    arg = node.this
    if isinstance(arg, exp.Star):
        return binder.star(arg, scope.columns, scope, {})
    if isinstance(arg, exp.Column) and isinstance(arg.this, exp.Star):
        cols = scope.table(arg.table)
        if cols is None:
            raise binder.error(f'table "{arg.table}" not found', arg)
        return binder.star(arg.this, cols, scope, {})
    if isinstance(arg, exp.Literal) and arg.is_string:
        names = pa.array([n for n, _ in scope.columns], pa.string())
        try:
            hit = pc.match_substring_regex(names, pattern=arg.this).to_pylist()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise binder.error(f'COLUMNS: failed to compile regex "{arg.this}": '
                               f"{str(e).splitlines()[0]}", arg) from None
        out = [c for c, h in zip(scope.columns, hit, strict=True) if h]
        if not out:
            raise binder.error(f'COLUMNS: no columns match regex "{arg.this}"', node)
        return out
    if isinstance(arg, exp.Array) and arg.expressions and all(
            isinstance(e, exp.Literal) and e.is_string for e in arg.expressions):
        wanted = [e.this.lower() for e in arg.expressions]
        have = {n.lower() for n, _ in scope.columns}
        for e in arg.expressions:
            if e.this.lower() not in have:
                raise binder.error(f'COLUMNS: column "{e.this}" is not in the FROM clause', e)
        return [(n, c) for n, c in scope.columns if n.lower() in wanted]
    raise binder.error("COLUMNS(...) takes a regular expression, * or a list of column "
                       "names (not a lambda or an expression)", node)
