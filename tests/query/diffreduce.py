"""Shrink a failing differential case to a small statement that fails the same way.

Greedy and AST-based (sqlglot, DuckDB dialect): drop ORDER BY/LIMIT, WHERE, HAVING, joins,
select items and CTEs, and replace any node by one of its children, keeping a change
whenever the statement still fails with the same status and reason. What comes out is
sqlglot's rendering of the reduced tree (e.g. ``CAST(x AS TEXT)`` for ``x::TEXT``).
``case_for_sql`` derives the comparison flags (ORDER BY keys, LIMIT) of any statement.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from .diffgen import TABLES, Case

MAX_TRIES = 600


def _items(tree) -> list:
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    return list(tree.expressions) if isinstance(tree, exp.Select) else []


def sql_tags(sql: str, tree=None) -> list[str]:
    """The generator's tags (diffgen) a statement would carry, read from its text."""
    tags = set()
    if re.search(r"\*\s*(EXCLUDE|REPLACE)\s*\(", sql, re.I):
        tags.add("star-modifier")
    if re.search(r"USING\s+SAMPLE|TABLESAMPLE|LIMIT\s+\d+(\.\d+)?\s*%", sql, re.I):
        tags.add("tail-modifier")
    if tree is None:
        return sorted(tags)
    for j in tree.find_all(exp.Join):
        on = j.args.get("on")
        if (j.args.get("kind") or "").upper() == "CROSS" or (on is None and not
                                                              j.args.get("using")):
            tags.add("cross")
        elif on is not None and not list(on.find_all(exp.Column)):
            tags.add("on-constant")
    tables = {t.alias_or_name for t in tree.find_all(exp.Table)}
    refs = {c.table for c in tree.find_all(exp.Column) if c.table}
    if any(r not in tables and r.lower() in {t.lower() for t in tables} for r in refs):
        tags.add("alias-case")
    inputs = {n for cols in TABLES.values() for n, _ in cols}
    for item in _items(tree):
        if isinstance(item, exp.Alias) and item.alias.lower() in inputs and not (
                isinstance(item.this, exp.Column) and item.this.name.lower() ==
                item.alias.lower()):
            tags.add("alias-clash")
    return sorted(tags)


def case_for_sql(sql: str, seed: int = 0, shape: str = "sql") -> Case:
    """A Case for any statement: ORDER BY keys naming output columns (by ordinal, alias or
    the same expression) are checked in order; LIMIT without ORDER BY compares counts."""
    case = Case(seed, sql, shape=shape, tags=sql_tags(sql))
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except Exception:  # DuckDB will say what is wrong with it
        return case
    case.tags = sql_tags(sql, tree)
    items = _items(tree)
    order = tree.args.get("order")
    limited = tree.args.get("limit") is not None or tree.args.get("offset") is not None
    if order is None:
        case.count_only = limited
        return case
    case.ordered = True
    star = any(isinstance(i, exp.Star) for i in items)
    names = [i.alias_or_name.lower() for i in items]
    idx = []
    for o in order.expressions:
        key = o.this
        if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
            idx.append(int(key.this) - 1)
            continue
        hit = []
        if not star and isinstance(key, exp.Column) and not key.table and \
                key.name.lower() in names:
            hit = [names.index(key.name.lower())]
        elif not star:
            hit = [i for i, it in enumerate(items)
                   if (it.this if isinstance(it, exp.Alias) else it) == key]
        if not hit:  # a key not in the output (as far as we can tell)
            case.count_only = limited  # a LIMIT cut: only the count is determined
            return case
        idx.append(hit[0])
    case.order_idx = idx
    case.order_total = set(idx) >= set(range(len(items)))
    case.limited = limited
    return case


def _candidates(tree):
    """Smaller trees, most promising first."""
    def variant(f):
        t = tree.copy()
        try:
            if f(t) is False:
                return None
        except Exception:  # a change that does not apply
            return None
        return t

    for key in ("order", "limit", "offset", "where", "having", "qualify"):
        if tree.args.get(key) is not None:
            yield variant(lambda t, key=key: t.set(key, None))
    if isinstance(tree, exp.SetOperation):
        yield tree.this.copy()
        yield tree.expression.copy()
    if isinstance(tree, exp.Select):
        for i in range(len(tree.args.get("joins") or [])):
            def drop_join(t, i=i):
                joins = list(t.args["joins"])
                del joins[i]
                t.set("joins", joins or None)
            yield variant(drop_join)
        if tree.args.get("group"):
            yield variant(lambda t: t.set("group", None))
        n = len(tree.expressions)
        for i in range(n if n > 1 else 0):
            def drop_item(t, i=i):
                items = list(t.expressions)
                del items[i]
                t.set("expressions", items)
            yield variant(drop_item)
        if tree.args.get("distinct"):
            yield variant(lambda t: t.set("distinct", None))
    # replace a node by one of its children (or a column by NULL)
    nodes = list(tree.walk())
    for pos, node in enumerate(nodes):
        if node is tree or isinstance(node, (exp.Identifier, exp.Table, exp.TableAlias)):
            continue
        for ci, child in enumerate(node.iter_expressions()):
            if isinstance(child, (exp.Identifier, exp.DataType, exp.TableAlias, exp.Var,
                                  exp.Order, exp.Group)):
                continue

            def swap(t, pos=pos, ci=ci):
                target = list(t.walk())[pos]
                target.replace(list(target.iter_expressions())[ci].copy())
            yield variant(swap)
        if isinstance(node, exp.Column) and not isinstance(node.parent, exp.Ordered):
            yield variant(lambda t, pos=pos: list(t.walk())[pos].replace(exp.null()))


def minimize(run, case: Case, status: str, reason: str, log=None) -> Case:
    """``run(case) -> Outcome``; returns the smallest case still failing as (status,
    reason). Only flags the statement itself implies are kept (``case_for_sql``)."""
    def same(c: Case) -> bool:
        o = run(c)
        return o.status == status and o.reason == reason

    best = case
    tries = 0
    improved = True
    while improved and tries < MAX_TRIES:
        improved = False
        try:
            tree = sqlglot.parse_one(best.sql, read="duckdb")
        except Exception:
            return best
        for cand in _candidates(tree):
            if cand is None:
                continue
            try:
                sql = cand.sql(dialect="duckdb")
            except Exception:
                continue
            if len(sql) >= len(best.sql):
                continue
            tries += 1
            c = case_for_sql(sql, case.seed, case.shape)
            c.must_refuse = case.must_refuse if "SAMPLE" in sql.upper() else ""
            if same(c):
                best = c
                improved = True
                if log:
                    log(f"  [{tries}] {sql}")
                break
            if tries >= MAX_TRIES:
                break
    return best
