"""PIVOT and UNPIVOT, rewritten into the SQL they stand for before binding (as DuckDB
rewrites them): a pivot is a GROUP BY with one filtered aggregate per value and
aggregate, an unpivot a UNION ALL with one branch per column.

Simplified syntax: ``PIVOT t ON c [IN (v, ...)] [USING agg(x) [AS a], ...] [GROUP BY g]``,
``UNPIVOT t ON c1, c2 | COLUMNS(* EXCLUDE (...)) [INTO NAME k VALUE v]``; the SQL-standard
form in FROM: ``t PIVOT (agg(x) [AS a], ... FOR c IN (v [AS name], ...))`` and ``t UNPIVOT
(v FOR k IN (c1, c2))``. As DuckDB:

* ``ON c`` without IN pivots on c's distinct non-NULL values as VARCHAR (-0.0 and 0.0 are
  two; '' is named ``''``), in the values' order: a query finds them
  while binding (the plan then holds them; a new table version plans afresh). Several ON
  items give every combination of their values, named ``a_x``. Rows whose ON value is
  NULL, or matches no value, still make their group's row.
* Without GROUP BY the groups are the source's columns that neither ON nor USING names.
* Pivot columns are named by the value (its VARCHAR text, or the IN item's alias); with
  several aggregates or an aliased one, ``value_alias`` or ``value_sum(x)``, value-major.
  No USING: ``count(*)``.
* UNPIVOT keeps the other columns, adds the name column (default ``name``) and the value
  column (default ``value``, the columns' common type; strings beside other types are
  refused, as DuckDB asks for a cast) and drops NULL values.
"""

from __future__ import annotations

import itertools
import re

from sqlglot import exp

from mapdb.query.colname import duckdb_name


class PivotError(Exception):
    """A PIVOT / UNPIVOT the rewrite refuses: (message, node to point at)."""

    def __init__(self, message: str, node: exp.Expression):
        super().__init__(message)
        self.node = node


def _q(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def _source(node: exp.Expression) -> exp.Expression:
    """``node`` as a FROM item (a table as it is, anything else a subquery)."""
    if isinstance(node, (exp.Table, exp.Subquery)):
        return node.copy()
    return exp.Subquery(this=node.copy())


def statement(node: exp.Pivot, binder, ctes: dict) -> exp.Expression:
    """The query a simplified ``PIVOT``/``UNPIVOT`` statement stands for."""
    src = _source(node.this)
    if node.args.get("unpivot"):
        into = node.args.get("into")
        name, value = "name", "value"
        if into is not None:
            if len(into.expressions) != 1:
                raise PivotError("UNPIVOT into several value columns is not supported",
                                 into)
            name, value = into.this.name, into.expressions[0].name
        return _unpivot(src, node.expressions, name, value, binder, ctes, node)
    using = node.args.get("using") or [exp.Count(this=exp.Star())]
    group = node.args.get("group")
    query = _pivot(src, node.expressions, using, group.expressions if group else None,
                   binder, ctes, node)
    # read as a subquery, so that a pivot column named like a group column is renamed
    # (c_1), as DuckDB's
    return exp.select("*").from_(exp.Subquery(
        this=query, alias=exp.TableAlias(this=exp.to_identifier("pivot"))))


def from_data(tree: exp.Expression) -> exp.Pivot | None:
    """The first PIVOT statement in ``tree`` whose values come from the data (an ON item
    without IN), if any (views may not hold one, as in DuckDB)."""
    for p in tree.find_all(exp.Pivot):
        if not p.args.get("unpivot") and p.this is not None and any(
                not isinstance(o, exp.In) for o in p.expressions):
            return p
    return None


def in_from(src: exp.Expression, binder, ctes: dict) -> exp.Subquery:
    """A FROM item with the standard ``PIVOT (...)`` / ``UNPIVOT (...)`` after it, as the
    subquery it stands for."""
    pivots = src.args.get("pivots") or []
    if len(pivots) != 1:
        raise PivotError("several PIVOT/UNPIVOT clauses on one table are not supported",
                         pivots[1])
    p = pivots[0]
    base = src.copy()
    base.set("pivots", None)
    fields = p.args.get("fields") or []
    if len(fields) != 1 or not isinstance(fields[0], exp.In):
        raise PivotError("PIVOT/UNPIVOT takes one FOR column IN (...) here", p)
    field = fields[0]
    if p.args.get("unpivot"):
        if len(p.expressions) != 1:
            raise PivotError("UNPIVOT into several value columns is not supported", p)
        query = _unpivot(base, field.expressions, field.this.name, p.expressions[0].name,
                         binder, ctes, p)
    else:
        group = p.args.get("group")
        query = _pivot(base, [field], p.expressions, group.expressions if group else None,
                       binder, ctes, p)
    alias = p.args.get("alias")
    if alias is None:
        alias = exp.TableAlias(this=exp.to_identifier(src.alias_or_name or "pivot"))
    return exp.Subquery(this=query, alias=alias.copy())


def _names(src: exp.Expression, binder, ctes: dict) -> list[tuple[str, object]]:
    """The source's columns: (name, SqlType)."""
    plan, names = binder.query(exp.select("*").from_(src.copy()), ctes)
    return [(n, t) for n, (_, t) in zip(names, plan.schema, strict=True)]


def _pivot(src, on: list, using: list, group: list | None, binder, ctes: dict,
           node: exp.Expression) -> exp.Select:
    aggs = []
    for u in using:
        agg, alias = (u.this, u.alias) if isinstance(u, exp.Alias) else (u, None)
        inner = agg.this if isinstance(agg, exp.Filter) else agg  # its FILTER is kept
        if not isinstance(inner, (exp.AggFunc, exp.Anonymous)):
            raise PivotError("PIVOT ... USING takes aggregate functions", u)
        if isinstance(inner, (exp.First, exp.Last)) or (
                isinstance(inner, exp.Anonymous) and inner.name.lower() == "arbitrary"):
            # each value's column is a FILTERed aggregate, and these keep NULLs
            raise PivotError("PIVOT ... USING first()/last() is not supported", u)
        aggs.append((agg, alias))
    # each ON item: [(condition over a row, name)] for its values
    items, texts = [], []
    for o in on:
        if isinstance(o, exp.In):
            expr = o.this
            vals = []
            for v in o.expressions:
                lit, alias = (v.this, v.alias) if isinstance(v, exp.PivotAlias) else (v, None)
                if isinstance(lit, exp.Column) and not lit.table:  # IN (a): the value 'a'
                    lit = exp.Literal.string(lit.name)
                if alias is None:
                    alias = lit.this if isinstance(lit, exp.Literal) else \
                        lit.sql(dialect="duckdb")
                # a NULL value takes the rows whose value is NULL, as DuckDB's
                match = exp.Is(this=expr.copy(), expression=exp.Null()) \
                    if isinstance(lit, exp.Null) else \
                    exp.EQ(this=expr.copy(), expression=lit.copy())
                vals.append((match, str(alias)))
        else:
            expr = o
            # the value as text once per row, in a column of its own (compared with each
            # value's text: a CAST per value and row took minutes for 50 DOUBLE values)
            text = f"__mapdb_pivot{len(texts)}"
            texts.append(exp.alias_(exp.Cast(this=expr.copy(), to=exp.DataType.build(
                "VARCHAR")), text))
            vals = [(exp.EQ(this=exp.column(text), expression=exp.Literal.string(v)),
                     _value_name(v)) for v in _distinct_values(src, expr, binder, ctes)]
        items.append(vals)
    if group is None:
        used = {c.name.lower() for o in on for c in o.find_all(exp.Column)}
        used |= {c.name.lower() for agg, _ in aggs for c in agg.find_all(exp.Column)}
        group = [_q(n) for n, _ in _names(src, binder, ctes) if n.lower() not in used]
    named = len(aggs) > 1 or any(a for _, a in aggs)
    select = [g.copy() for g in group]
    for combo in itertools.product(*items):
        cond = exp.and_(*[c.copy() for c, _ in combo]) if len(combo) > 1 else \
            combo[0][0].copy()
        value = "_".join(n for _, n in combo)
        for agg, alias in aggs:
            col = value if not named else \
                f"{value}_{alias or duckdb_name(agg, binder.sql)}"
            if isinstance(agg, exp.Filter):  # sum(x) FILTER (WHERE f): f AND the value's
                filtered = exp.Filter(this=agg.this.copy(), expression=exp.Where(
                    this=exp.and_(agg.expression.this.copy(), cond.copy())))
            else:
                filtered = exp.Filter(this=agg.copy(), expression=exp.Where(this=cond.copy()))
            select.append(exp.alias_(filtered, exp.to_identifier(col, quoted=True)))
    if len(select) == len(group):
        raise PivotError("PIVOT: the ON column has no values to pivot on", node)
    q = exp.select(*select).from_(_with_columns(src, texts))
    if group:
        q = q.group_by(*[g.copy() for g in group])
    return q


def _with_columns(src, extra: list) -> exp.Expression:
    """``src`` (a FROM item) with ``extra`` select items added to its columns, under the
    name the query reads it by (its alias, else its table name)."""
    if not extra:
        return src.copy()
    name = src.alias_or_name
    inner = exp.select(exp.Star(), *[e.copy() for e in extra]).from_(src.copy())
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _distinct_values(src, expr: exp.Expression, binder, ctes: dict) -> list[str]:
    """``expr``'s distinct non-NULL values over ``src`` as VARCHAR, in ``expr``'s order
    (DuckDB runs this query too, while binding)."""
    from mapdb.query.executor import run
    from mapdb.query.plan import Query

    # distinct as text (DuckDB's values are VARCHAR: -0.0 and 0.0 are two), in the
    # order of the values, then of the text
    inner = exp.select(exp.alias_(expr.copy(), "v")).from_(src.copy()).where(
        exp.Not(this=exp.Is(this=expr.copy(), expression=exp.Null())))
    text = exp.Cast(this=exp.column("v"), to=exp.DataType.build("VARCHAR"))
    q = exp.select(exp.alias_(text, "n"), exp.alias_(exp.Min(this=exp.column("v")), "o")
                   ).from_(exp.Subquery(this=inner, alias=exp.TableAlias(
                       this=exp.to_identifier("d")))).group_by(text.copy())
    q = exp.select("n").from_(exp.Subquery(this=q, alias=exp.TableAlias(
        this=exp.to_identifier("g")))).order_by("o", "n")
    plan, names = binder.query(q, ctes)
    return run(Query(plan, names)).column(0).to_pylist()


def _value_name(text: str) -> str:
    """A pivot column's name for a value's text: DuckDB writes the empty string ''."""
    return text if text else "''"


def _unpivot(src, columns: list, name: str, value: str, binder, ctes: dict,
             node: exp.Expression) -> exp.Expression:
    cols = _names(src, binder, ctes)
    types = {n.lower(): t for n, t in cols}
    chosen: list[str] = []
    for c in columns:
        if isinstance(c, exp.Column) and not c.table:
            if c.name.lower() not in types:
                raise PivotError(f'UNPIVOT: column "{c.name}" not found', c)
            chosen.append(next(n for n, _ in cols if n.lower() == c.name.lower()))
        elif isinstance(c, exp.Columns) and isinstance(c.this, exp.Star) and not any(
                c.this.args.get(a) for a in ("replace", "rename")):
            out = {e.name.lower() for e in c.this.args.get("except_") or
                   c.this.args.get("except") or []}
            chosen += [n for n, _ in cols if n.lower() not in out]
        elif isinstance(c, exp.Columns) and isinstance(c.this, exp.Literal) and \
                c.this.is_string:  # COLUMNS('regex'): a match anywhere, as columnsexpr
            chosen += [n for n, _ in cols if re.search(c.this.this, n)]
        else:
            raise PivotError("UNPIVOT ON takes column names, COLUMNS('regex') or "
                             "COLUMNS(* EXCLUDE (...))", c)
    if not chosen:
        raise PivotError("UNPIVOT: no columns to unpivot", node)
    kinds = {types[c.lower()].kind for c in chosen}
    if "string" in kinds and len(kinds) > 1:
        raise PivotError("UNPIVOT: columns of a string type beside others need an explicit "
                         "cast (as in DuckDB)", node)
    keep = [n for n, _ in cols if n not in chosen]
    query: exp.Expression | None = None
    for c in chosen:
        branch = exp.select(*[_q(k) for k in keep],
                            exp.alias_(exp.Literal.string(c),
                                       exp.to_identifier(name, quoted=True)),
                            exp.alias_(_q(c), exp.to_identifier(value, quoted=True))
                            ).from_(src.copy()).where(
            exp.Not(this=exp.Is(this=_q(c), expression=exp.Null())))
        query = branch if query is None else exp.union(query, branch, distinct=False)
    return query
