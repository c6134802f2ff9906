"""What the rewrites of a statement before binding share (values.py, groupingsets.py,
qualify.py: constructs DuckDB defines by other SQL, written as that SQL)."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from mapdb.query import columnsexpr
from mapdb.query.colname import duckdb_name
from mapdb.query.syntax import locate
from mapdb.query.types import QueryError


def innermost_first(tree: exp.Expression, nodes: list[exp.Expression],
                    rewrite: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """``tree`` with each of ``nodes`` replaced by ``rewrite(node)``, the deepest first (so
    a rewrite sees its inner nodes rewritten already)."""
    for node in sorted(nodes, key=lambda n: -n.depth):
        new = rewrite(node)
        if node is tree:
            tree = new
        else:
            node.replace(new)
    return tree


def replaced(node: exp.Expression, fn: Callable[[exp.Expression], exp.Expression | None]
             ) -> exp.Expression:
    """``node`` rewritten top down, in place: where ``fn(n)`` gives a node it stands for
    ``n`` (whose inside is not visited); where it gives None, ``n``'s arguments are
    visited."""
    out = fn(node)
    if out is not None:
        return out
    return arguments_replaced(node, fn)


def arguments_replaced(node: exp.Expression,
                       fn: Callable[[exp.Expression], exp.Expression | None]
                       ) -> exp.Expression:
    """``node`` with each of its arguments ``replaced`` by ``fn`` (``node`` itself is not
    offered to ``fn``), in place."""
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, replaced(value, fn))
        elif isinstance(value, list):
            node.set(key, [replaced(v, fn) if isinstance(v, exp.Expression) else v
                           for v in value])
    return node


def outermost(node: exp.Expression) -> bool:
    """Whether ``node`` is inside no subquery of an expression (nor LATERAL, EXISTS,
    ANY/ALL), so it cannot read an enclosing query's columns."""
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, (exp.Lateral, exp.Exists, exp.Any, exp.All)) or (
                isinstance(node, exp.Subquery) and
                not isinstance(parent, (exp.From, exp.Join))):
            return False
        node = parent
    return True


def same_expression(a: exp.Expression, b: exp.Expression) -> bool:
    """Whether two expressions are written alike (names compared without case)."""
    return a.sql(dialect="duckdb").lower() == b.sql(dialect="duckdb").lower()


def expands(item: exp.Expression) -> bool:
    """Whether a select item stands for as many items as columns match: ``*``, ``t.*``,
    or one holding COLUMNS(...) (named only once bound)."""
    return isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(
        item.this, exp.Star)) or bool(columnsexpr.found(item))


def output_name(item: exp.Expression, sql: str) -> str:
    """The name DuckDB gives a select item (its alias, column name or printed text)."""
    if isinstance(item, exp.Alias):
        return item.alias
    bare = item
    while isinstance(bare, exp.Paren):
        bare = bare.this
    if isinstance(bare, exp.Column):
        return bare.name
    return duckdb_name(item, sql)


def order_item(o: exp.Ordered, sel: exp.Select, names: list[str], sql: str, what: str
               ) -> exp.Ordered:
    """An ORDER BY item of ``sel`` moved to a query over it: an ordinal or an output name
    stays; an expression that is a select item becomes that item's position."""
    e = o.this
    out = o.copy()
    if isinstance(e, exp.Literal) and not e.is_string:
        return out
    star = any(expands(i) for i in sel.expressions)
    if isinstance(e, exp.Column) and not e.table and \
            (star or e.name.lower() in {n.lower() for n in names}):
        return out  # an output column (* stands for the input's columns)
    for i, item in enumerate(sel.expressions):
        inner = item.this if isinstance(item, exp.Alias) else item
        if same_expression(inner, e):
            out.set("this", exp.Literal.number(i + 1))
            return out
    raise QueryError(f"ORDER BY beside {what} must name an output column (by name, position "
                 "or the same expression)", locate(e), sql)


def null_safe(tree: exp.Expression, sql: str) -> exp.Expression:
    """``a IS NOT DISTINCT FROM b`` as ``COALESCE(a = b, a IS NULL AND b IS NULL)`` (equal
    values, or both NULL; ``IS DISTINCT FROM`` its negation), with DuckDB's ``=``
    semantics inside (NaN equals NaN). An unnamed select item holding one keeps the name
    DuckDB gives it."""
    kinds = (exp.NullSafeEQ, exp.NullSafeNEQ)
    for sel in tree.find_all(exp.Select):
        for i, item in enumerate(sel.expressions):
            if not isinstance(item, exp.Alias) and any(isinstance(n, kinds)
                                                       for n in item.walk()):
                sel.expressions[i] = exp.alias_(item, output_name(item, sql), quoted=True)

    def rewrite(node: exp.Expression) -> exp.Expression:
        a, b = node.this, node.expression
        same = exp.Coalesce(this=exp.EQ(this=a.copy(), expression=b.copy()), expressions=[
            exp.And(this=exp.Is(this=a.copy(), expression=exp.Null()),
                    expression=exp.Is(this=b.copy(), expression=exp.Null()))])
        out = exp.Paren(this=same)
        return exp.Not(this=out) if isinstance(node, exp.NullSafeNEQ) else out
    return innermost_first(tree, [n for n in tree.find_all(*kinds)], rewrite)
