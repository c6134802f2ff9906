"""Row values, written as comparisons of their fields before binding.

DuckDB reads ``(a, b)`` as an unnamed STRUCT, and compares structs as it sorts them: field
by field, a NULL field equal to a NULL and above every value, so ``(a, b) = (1, NULL)`` is
TRUE for a = 1 and b NULL, and a row comparison is never NULL. ``=``, ``<>``, ``<``,
``<=``, ``>``, ``>=``, IS [NOT] DISTINCT FROM and IN (list of rows) follow that
(``(1, NULL) IN ((1, NULL))`` is TRUE). ``(a, b) IN (SELECT x, y ...)`` is SQL's three-valued
``= ANY``: TRUE when a subquery row equals it field by field, else NULL when one might
(its fields equal or NULL on a side), else FALSE; the binder answers it with a mark join
whose first keys are the fields (markjoin.py), so it is left as it is here.

>>> import sqlglot
>>> sql = "SELECT * FROM t WHERE (a, b) < (1, 2)"
>>> expand(sqlglot.parse_one(sql, read="duckdb"), sql).args["where"].sql()
'WHERE ((COALESCE(a < 1, NOT a IS NULL AND 1 IS NULL)) OR ((a IS NOT DISTINCT FROM 1) AND \
(COALESCE(b < 2, NOT b IS NULL AND 2 IS NULL))))'
"""

from __future__ import annotations

from sqlglot import exp

from mapdb.query.rewrite import innermost_first, output_name
from mapdb.query.syntax import locate
from mapdb.query.types import QueryError

_CMP = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.NullSafeEQ, exp.NullSafeNEQ)


def _row(node: exp.Expression) -> exp.Tuple | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node if isinstance(node, exp.Tuple) else None


def _rows_in(node: exp.Expression) -> bool:
    if isinstance(node, _CMP):
        return _row(node.this) is not None or _row(node.expression) is not None
    return isinstance(node, exp.In) and _row(node.this) is not None and \
        not node.args.get("query")


def expand(tree: exp.Expression, sql: str) -> exp.Expression:
    """``tree`` with its row comparisons and row IN lists written field by field; an
    unnamed select item holding one keeps the name DuckDB gives it."""
    if not any(_rows_in(n) for n in tree.find_all(*_CMP, exp.In)):
        return tree
    for sel in tree.find_all(exp.Select):
        for i, item in enumerate(sel.expressions):
            if not isinstance(item, exp.Alias) and any(_rows_in(n) for n in item.walk()):
                sel.expressions[i] = exp.alias_(item, output_name(item, sql), quoted=True)

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In):
            return exp.Paren(this=_or([_equal(node.this, v, sql) for v in node.expressions]))
        a, b = node.this, node.expression
        if isinstance(node, (exp.EQ, exp.NullSafeEQ)):
            return exp.Paren(this=_equal(a, b, sql))
        if isinstance(node, (exp.NEQ, exp.NullSafeNEQ)):
            return exp.Not(this=exp.Paren(this=_equal(a, b, sql)))
        if isinstance(node, (exp.GT, exp.GTE)):
            a, b = b, a
        return exp.Paren(this=_less(a, b, isinstance(node, (exp.LTE, exp.GTE)), sql))
    return innermost_first(tree, [n for n in tree.find_all(*_CMP, exp.In) if _rows_in(n)],
                           rewrite)


def _fields(a: exp.Expression, b: exp.Expression, sql: str) -> list[tuple]:
    ra, rb = _row(a), _row(b)
    if ra is None or rb is None:
        other = a if ra is None else b
        raise QueryError("a row value compared with something other than a row value "
                         f"({other.sql(dialect='duckdb')[:60]}) is not supported",
                         locate(other), sql)
    if len(ra.expressions) != len(rb.expressions):
        raise QueryError(f"cannot compare a row of {len(ra.expressions)} values with one "
                         f"of {len(rb.expressions)} (DuckDB: structs of different size)",
                         locate(ra), sql)
    return list(zip(ra.expressions, rb.expressions, strict=True))


def _equal(a: exp.Expression, b: exp.Expression, sql: str) -> exp.Expression:
    """Rows equal as DuckDB's structs: each field IS NOT DISTINCT FROM its pair (nested
    rows field by field too)."""
    return _and([_equal(x, y, sql) if _row(x) is not None or _row(y) is not None else
                 _same(x, y) for x, y in _fields(a, b, sql)])


def _same(x: exp.Expression, y: exp.Expression) -> exp.Expression:
    return exp.Paren(this=exp.NullSafeEQ(this=x.copy(), expression=y.copy()))


def _less(a: exp.Expression, b: exp.Expression, or_equal: bool, sql: str
          ) -> exp.Expression:
    """a < b (a <= b) in DuckDB's order of structs: the first field that differs decides,
    a NULL above every value."""
    pairs = _fields(a, b, sql)
    x, y = pairs[0]
    nested = _row(x) is not None or _row(y) is not None
    if len(pairs) == 1:
        return _less(x, y, or_equal, sql) if nested else _field_less(x, y, or_equal)
    first = _less(x, y, False, sql) if nested else _field_less(x, y, False)
    eq = _equal(x, y, sql) if nested else _same(x, y)
    rest = _less(exp.Tuple(expressions=[p[0] for p in pairs[1:]]),
                 exp.Tuple(expressions=[p[1] for p in pairs[1:]]), or_equal, sql)
    return exp.or_(exp.Paren(this=first), exp.and_(eq, exp.Paren(this=rest), copy=False),
                   copy=False)


def _field_less(x: exp.Expression, y: exp.Expression, or_equal: bool) -> exp.Expression:
    """x < y with NULL the largest value: ``COALESCE(x < y, x IS NOT NULL AND y IS
    NULL)``; x <= y is NOT (y < x)."""
    if or_equal:
        return exp.Not(this=exp.Paren(this=_field_less(y, x, False)))
    known = exp.LT(this=x.copy(), expression=y.copy())
    return exp.Coalesce(this=known, expressions=[exp.and_(
        exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null())),
        exp.Is(this=y.copy(), expression=exp.Null()), copy=False)])


def _and(parts: list[exp.Expression]) -> exp.Expression:
    return exp.and_(*parts, copy=False) if len(parts) > 1 else parts[0]


def _or(parts: list[exp.Expression]) -> exp.Expression:
    return exp.or_(*[exp.Paren(this=p) for p in parts], copy=False) if len(parts) > 1 \
        else parts[0]
