"""SQL text -> logical plan: names resolved, types checked, errors with their position.

sqlglot parses (DuckDB dialect); everything after that is here. Whatever the binder does not
know is refused with an error naming the construct: never a guess.

>>> import pyarrow as pa
>>> from mapdb.query.source import ArrowSource
>>> src = ArrowSource("t", pa.table({"x": [1, 2, 3]}))
>>> q = bind_sql("SELECT x * 2 AS y FROM t WHERE x > 1", {"t": src}.__getitem__)
>>> q.names
['y']
>>> bind_sql("SELECT nope FROM t", {"t": src}.__getitem__)
Traceback (most recent call last):
...
mapdb.query.types.QueryError: column "nope" not found; columns are: x (line 1, column 8)
"""

from __future__ import annotations

import datetime
import decimal
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from mapdb.query import functions as fn
from mapdb.query.expr import Agg, Call, Col, Expr, Lit
from mapdb.query.optimizer import fold
from mapdb.query.plan import (
    Aggregate,
    Distinct,
    Filter,
    Limit,
    Plan,
    Project,
    Query,
    Scan,
    Sort,
    SortKey,
)
from mapdb.query.types import (
    BOOL,
    DATE,
    DECIMAL,
    FLOAT64,
    INT64,
    INTERVAL,
    NULL,
    STRING,
    TIMESTAMP,
    QueryError,
    SqlType,
)

MAX_SQL_LENGTH = 1 << 20
MAX_DEPTH = 200
MAX_IN_LIST = 100_000


def parse(sql: str) -> exp.Expression:
    if len(sql) > MAX_SQL_LENGTH:
        raise QueryError(f"statement is {len(sql)} characters; the limit is {MAX_SQL_LENGTH}")
    try:
        stmts = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as e:
        err = e.errors[0] if e.errors else {}
        msg = err.get("description") or str(e).splitlines()[0]
        line, col = err.get("line"), err.get("col")
        where = f" (line {line}, column {col})" if line else ""
        raise QueryError(f"syntax error: {msg}{where}") from None
    except sqlglot.errors.TokenError as e:
        # an unterminated string, quoted name or comment: the tokenizer's own message
        # ("Missing ' from 1:7") says where it starts; TokenError itself only quotes text
        cause = e.__cause__
        msg = str(cause) if isinstance(cause, sqlglot.errors.TokenError) else \
            "cannot split the statement into tokens (an unterminated comment?)"
        raise QueryError(f"syntax error: {msg}") from None
    except RecursionError:
        raise QueryError("statement is nested too deeply") from None
    if len(stmts) != 1:
        raise QueryError(f"expected one statement, got {len(stmts)}")
    return stmts[0]


def bind_sql(sql: str, catalog: Callable[[str], object], cache=None) -> Query:
    """Bind one SQL statement; ``catalog(name)`` returns the Source of a table. With a
    ``cache`` (parsecache.ParseCache), a statement that differs from an earlier one only
    in its literals reuses that one's parse."""
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError as e:
        # a lone surrogate (e.g. undecodable bytes of a command-line argument): pyarrow
        # would fail on it with a UnicodeEncodeError when a string literal is evaluated
        raise QueryError("statement is not valid Unicode text (a lone surrogate "
                         f"{sql[e.start]!r})", e.start, sql) from None
    hit = cache.checkout(sql) if cache is not None and len(sql) <= MAX_SQL_LENGTH else None
    if hit is not None:
        tree, release = hit
        try:
            plan, names = Binder(catalog, sql).query(tree, {})
            return Query(plan, names, None)
        except (QueryError, RecursionError):
            pass  # the template's positions are not this text's: bind afresh for the error
        finally:
            release()
    tree = parse(sql)
    explain = None
    if isinstance(tree, exp.Command) and tree.name.upper() == "EXPLAIN":
        text = str(tree.expression.this if hasattr(tree.expression, "this") else
                   tree.expression)
        explain = "plan"
        if text.upper().startswith("ANALYZE"):
            explain, text = "analyze", text[len("ANALYZE"):]
        tree = parse(text)
        sql = text
    elif isinstance(tree, exp.Describe):
        raise QueryError("DESCRIBE is not supported; use `mapdb describe`")
    b = Binder(catalog, sql)
    try:
        plan, names = b.query(tree, {})
    except RecursionError:  # e.g. hundreds of CTEs, each reading the one before
        raise QueryError("statement is nested too deeply") from None
    return Query(plan, names, explain)


@dataclass
class Scope:
    """Names visible to expressions: display name -> column, per table alias too."""
    columns: list[tuple[str, Col]]
    aliases: dict[str, dict[str, Col]] = field(default_factory=dict)

    def lookup(self, name: str, table: str | None) -> Col | None:
        cols = self.columns if table is None else list(self.aliases.get(table, {}).items())
        hits = [c for n, c in cols if n == name] or [c for n, c in cols
                                                     if n.lower() == name.lower()]
        if len({h.name for h in hits}) > 1:
            raise QueryError(f'column reference "{name}" is ambiguous')
        return hits[0] if hits else None


_AGGS = {exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max",
         exp.Stddev: "stddev_samp", exp.StddevSamp: "stddev_samp",
         exp.StddevPop: "stddev_pop", exp.Variance: "var_samp", exp.VariancePop: "var_pop"}
_AGG_NAMES = {"stddev": "stddev_samp", "stddev_samp": "stddev_samp", "stddev_pop":
              "stddev_pop", "variance": "var_samp", "var_samp": "var_samp",
              "var_pop": "var_pop", "sum": "sum", "avg": "avg", "mean": "avg", "min": "min",
              "max": "max", "count": "count"}
_CMP = {exp.EQ: "eq", exp.NEQ: "ne", exp.LT: "lt", exp.LTE: "le", exp.GT: "gt", exp.GTE: "ge"}
_ARITH = {exp.Add: "add", exp.Sub: "sub", exp.Mul: "mul", exp.Div: "div",
          exp.IntDiv: "intdiv", exp.Mod: "mod"}


def position(node: exp.Expression) -> int | None:
    for n in itertools.chain([node], node.walk()):
        meta = getattr(n, "meta", None) or (getattr(n.this, "meta", None)
                                            if isinstance(getattr(n, "this", None),
                                                          exp.Expression) else None)
        if meta and "start" in meta:
            return meta["start"]
    return None


class Binder:
    def __init__(self, catalog: Callable[[str], object], sql: str):
        self.catalog = catalog
        self.sql = sql
        self._ids = itertools.count()

    def error(self, message: str, node: exp.Expression | None = None) -> QueryError:
        return QueryError(message, position(node) if node is not None else None, self.sql)

    def fresh(self, hint: str = "") -> str:
        return f"${next(self._ids)}{('_' + hint) if hint else ''}"

    # -- statements ------------------------------------------------------------------
    def query(self, node: exp.Expression, ctes: dict) -> tuple[Plan, list[str]]:
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes)
        if isinstance(node, exp.Select):
            return self.select(node, ctes)
        if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            raise self.error(f"{type(node).__name__.upper()} is not supported yet", node)
        raise self.error(f"{node.key.upper()} statements are not supported; only SELECT is",
                         node)

    def select(self, sel: exp.Select, ctes: dict) -> tuple[Plan, list[str]]:
        ctes = dict(ctes)
        with_ = sel.args.get("with_") or sel.args.get("with")
        if with_:
            if with_.args.get("recursive"):
                raise self.error("WITH RECURSIVE is not supported", with_)
            for cte in with_.expressions:
                ctes[cte.alias_or_name.lower()] = cte.this
        for unsupported in ("joins", "laterals", "windows", "qualify", "pivots"):
            if sel.args.get(unsupported):
                raise self.error(f"{unsupported.rstrip('s').upper()} is not supported yet "
                                 "(single-table queries only)", sel.args[unsupported][0]
                                 if isinstance(sel.args[unsupported], list)
                                 else sel.args[unsupported])
        if any(isinstance(n, exp.Window) for n in sel.expressions for n in n.walk()):
            raise self.error("window functions are not supported yet", sel)
        plan, scope = self.from_(sel.args.get("from_") or sel.args.get("from"), ctes)
        if sel.args.get("where"):
            pred = self.expr(sel.args["where"].this, scope)
            self.no_aggs(pred, "WHERE", sel.args["where"])
            plan = Filter(plan, self.boolean(pred, sel.args["where"]))

        items = self.select_items(sel, scope)
        names = [n for n, _ in items]
        group = sel.args.get("group")
        having = sel.args.get("having")
        order = sel.args.get("order")
        bound_items = [(n, e) for n, e in items]
        order_keys = self.order_keys(order, scope, bound_items) if order else []
        having_e = self.expr(having.this, scope) if having else None
        has_aggs = any(isinstance(x, Agg) for _, e in bound_items for x in e.walk()) or (
            having_e is not None) or any(isinstance(x, Agg) for k in order_keys
                                        for x in k.expr.walk())
        if group or has_aggs:
            keys = self.group_keys(group, scope, bound_items) if group else []
            plan, lift = self.aggregate(plan, keys, bound_items, having_e, order_keys)
            bound_items = [(n, lift(e, sel)) for n, e in bound_items]
            order_keys = [SortKey(lift(k.expr, order), k.desc, k.nulls_first)
                          for k in order_keys]
            if having_e is not None:
                plan = Filter(plan, self.boolean(lift(having_e, having), having))
        distinct = sel.args.get("distinct")
        if distinct is not None and distinct.args.get("on"):
            raise self.error("DISTINCT ON is not supported", distinct)
        out_cols = [(self.fresh(n), e) for n, e in bound_items]
        visible = {e: Col(c, e.type) for c, e in out_cols}
        if distinct is not None:
            out_cols = [(c, fn.canonical_zero(e)) for c, e in out_cols]
        hidden = []
        final_keys = []
        for k in order_keys:
            if k.expr in visible:
                final_keys.append(SortKey(visible[k.expr], k.desc, k.nulls_first))
            elif distinct is not None:
                raise self.error("for SELECT DISTINCT, ORDER BY expressions must appear in "
                                 "the select list", order)
            else:
                h = self.fresh("sort")
                hidden.append((h, k.expr))
                visible[k.expr] = Col(h, k.expr.type)
                final_keys.append(SortKey(visible[k.expr], k.desc, k.nulls_first))
        plan = Project(plan, out_cols + hidden)
        if distinct is not None:
            plan = Distinct(plan)
        if final_keys:
            plan = Sort(plan, final_keys)
        limit, offset = self.limit(sel)
        if limit is not None or offset:
            plan = Limit(plan, limit, offset)
        if hidden:
            plan = Project(plan, [(c, Col(c, e.type)) for c, e in out_cols])
        return plan, names

    def from_(self, frm, ctes: dict) -> tuple[Plan, Scope]:
        if frm is None:
            raise self.error("SELECT without FROM is not supported")
        src = frm.this
        alias = src.alias_or_name if src.alias else None
        if isinstance(src, exp.Table):
            name = src.name
            if src.args.get("db"):
                raise self.error(f"schema-qualified table {src.sql()} is not supported", src)
            if name.lower() in ctes:
                inner, names = self.query(ctes[name.lower()], {k: v for k, v in ctes.items()
                                                               if k != name.lower()})
                return self.subplan(inner, names, alias or name)
            try:
                source = self.catalog(name)
            except KeyError:
                raise self.error(f'table "{name}" not found', src) from None
            types = source.types()
            plan = Scan(source, list(types))
            cols = [(n, Col(n, t)) for n, t in types.items()]
            return plan, Scope(cols, {(alias or name): dict(cols)})
        if isinstance(src, exp.Subquery):
            inner, names = self.query(src.this, ctes)
            return self.subplan(inner, names, alias)
        raise self.error(f"FROM {src.key.upper()} is not supported", src)

    def subplan(self, inner: Plan, names: list[str], alias: str | None) -> tuple[Plan, Scope]:
        cols = [(n, Col(c, t)) for n, (c, t) in zip(names, inner.schema, strict=True)]
        return inner, Scope(cols, {alias: dict(cols)} if alias else {})

    def select_items(self, sel: exp.Select, scope: Scope) -> list[tuple[str, Expr]]:
        items = []
        for node in sel.expressions:
            if isinstance(node, exp.Star):
                items += [(n, c) for n, c in scope.columns]
                continue
            if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
                t = node.table
                if t not in scope.aliases:
                    raise self.error(f'table "{t}" not found', node)
                items += list(scope.aliases[t].items())
                continue
            name = node.alias_or_name if isinstance(node, (exp.Alias, exp.Column)) else \
                node.sql(dialect="duckdb")
            inner = node.this if isinstance(node, exp.Alias) else node
            items.append((name, self.expr(inner, scope)))
        return items

    def resolve_item(self, node: exp.Expression, scope: Scope,
                     items: list[tuple[str, Expr]], what: str) -> Expr:
        """GROUP BY / ORDER BY items: an ordinal, a select alias, or an expression."""
        if isinstance(node, exp.Literal) and not node.is_string:
            i = int(node.this)
            if not 1 <= i <= len(items):
                raise self.error(f"{what} position {i} is not in the select list "
                                 f"(1..{len(items)})", node)
            return items[i - 1][1]
        if isinstance(node, exp.Column) and not node.table and \
                scope.lookup(node.name, None) is None:
            hits = [e for n, e in items if n.lower() == node.name.lower()]
            if hits:
                return hits[0]
        return self.expr(node, scope)

    def group_keys(self, group, scope, items) -> list[Expr]:
        if group.args.get("rollup") or group.args.get("cube") or \
                group.args.get("grouping_sets"):
            raise self.error("ROLLUP, CUBE and GROUPING SETS are not supported", group)
        keys = []
        for node in group.expressions:
            e = self.resolve_item(node, scope, items, "GROUP BY")
            self.no_aggs(e, "GROUP BY", node)
            if e not in keys:
                keys.append(e)
        return keys

    def order_keys(self, order, scope, items) -> list[SortKey]:
        out = []
        for o in order.expressions:
            e = self.resolve_item(o.this, scope, items, "ORDER BY")
            desc = bool(o.args.get("desc"))
            nulls_first = bool(o.args.get("nulls_first"))
            out.append(SortKey(e, desc, nulls_first))
        return out

    def limit(self, sel) -> tuple[int | None, int]:
        def value(node, what):
            if node is None:
                return None
            e = node.expression if hasattr(node, "expression") and node.expression else \
                node.this
            b = self.expr(e, Scope([]))
            if not isinstance(b, Lit) or b.type.kind != "int" or b.value is None or \
                    b.value < 0:
                raise self.error(f"{what} must be a non-negative integer constant", node)
            return b.value
        return value(sel.args.get("limit"), "LIMIT"), value(sel.args.get("offset"),
                                                           "OFFSET") or 0

    def aggregate(self, plan, keys, items, having, order_keys):
        key_cols = [(self.fresh("key"), fn.canonical_zero(k)) for k in keys]
        key_map = {k: Col(c, e.type) for (c, e), k in zip(key_cols, keys, strict=True)}
        aggs: list[tuple[str, Agg]] = []
        agg_map: dict[Agg, Col] = {}

        def lift(e: Expr, node) -> Expr:
            if e in key_map:
                return key_map[e]
            if isinstance(e, Agg):
                if e not in agg_map:
                    c = self.fresh("agg")
                    aggs.append((c, e))
                    agg_map[e] = Col(c, e.type)
                return agg_map[e]
            if isinstance(e, Col):
                raise self.error(f'column "{e.name}" must appear in the GROUP BY clause or '
                                 "be used in an aggregate function", node)
            if isinstance(e, Call):
                return fold(Call(e.op, tuple(lift(a, node) for a in e.args), e.type, e.param))
            return e

        # lift() registers aggregates as it meets them; the node shares the list
        return Aggregate(plan, key_cols, aggs), lift

    # -- expressions -------------------------------------------------------------------
    def no_aggs(self, e: Expr, where: str, node) -> None:
        if any(isinstance(x, Agg) for x in e.walk()):
            raise self.error(f"aggregate functions are not allowed in {where}", node)

    def boolean(self, e: Expr, node) -> Expr:
        if e.type.kind == "null":
            return Lit(None, BOOL)
        if e.type.kind != "bool":
            raise self.error(f"expected a boolean condition, got {e.type}", node)
        return e

    def expr(self, node: exp.Expression, scope: Scope, depth: int = 0) -> Expr:
        if node is None:  # e.g. max(): sqlglot leaves the argument out
            raise QueryError("an argument is missing")  # the caller adds its position
        if depth > MAX_DEPTH:
            raise self.error(f"expression nested deeper than {MAX_DEPTH} levels", node)
        try:
            return fold(self._expr(node, scope, depth + 1))
        except QueryError as e:
            if e.position is None and position(node) is not None:
                raise QueryError(str(e), position(node), self.sql) from None
            raise

    def _expr(self, node, scope, depth):
        sub = lambda n: self.expr(n, scope, depth)  # noqa: E731
        if isinstance(node, exp.Paren):
            return sub(node.this)
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                raise self.error("* is only allowed in the select list and COUNT(*)", node)
            c = scope.lookup(node.name, node.table or None)
            if c is None:
                if node.table and node.table not in scope.aliases:
                    raise self.error(f'table "{node.table}" not found', node)
                names = ", ".join(n for n, _ in scope.columns)
                raise self.error(f'column "{node.name}" not found; columns are: {names}', node)
            return c
        if isinstance(node, exp.Literal):
            return literal(node)
        if isinstance(node, exp.Boolean):
            return Lit(bool(node.this), BOOL)
        if isinstance(node, exp.Null):
            return Lit(None, NULL)
        if isinstance(node, exp.Interval):
            return Lit(interval(node, self), INTERVAL)
        if type(node) in _ARITH:
            return fn.arith(_ARITH[type(node)], sub(node.this), sub(node.expression))
        if isinstance(node, exp.Neg):
            return fn.negate(sub(node.this))
        if type(node) in _CMP:
            return fn.compare(_CMP[type(node)], sub(node.this), sub(node.expression))
        if isinstance(node, exp.And):
            return fn.logic("and", sub(node.this), sub(node.expression))
        if isinstance(node, exp.Or):
            return fn.logic("or", sub(node.this), sub(node.expression))
        if isinstance(node, exp.Not):
            return fn.logic_not(sub(node.this))
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise self.error("IS only supports NULL here", node)
            return Call("is_null", (sub(node.this),), BOOL)
        if isinstance(node, exp.Between):
            x = sub(node.this)
            return fn.logic("and", fn.compare("ge", x, sub(node.args["low"])),
                            fn.compare("le", x, sub(node.args["high"])))
        if isinstance(node, exp.In):
            if node.args.get("query") or node.args.get("unnest"):
                raise self.error("IN (subquery) is not supported yet", node)
            if len(node.expressions) > MAX_IN_LIST:
                raise self.error(f"IN list has {len(node.expressions)} items; the limit is "
                                 f"{MAX_IN_LIST}", node)
            return fn.in_list(sub(node.this), [sub(v) for v in node.expressions])
        if isinstance(node, (exp.Like, exp.ILike)):
            if node.args.get("escape"):
                raise self.error("LIKE ... ESCAPE is not supported", node)
            out = fn.like("ilike" if isinstance(node, exp.ILike) else "like",
                          sub(node.this), sub(node.expression))
            return fn.logic_not(out) if node.args.get("negate") else out
        if isinstance(node, exp.Escape):
            raise self.error("LIKE ... ESCAPE is not supported", node)
        if isinstance(node, exp.Case):
            operand = sub(node.this) if node.this else None
            branches = []
            for i in node.args.get("ifs") or []:
                cond = sub(i.this)
                if operand is not None:
                    cond = fn.compare("eq", operand, cond)
                branches.append((cond, sub(i.args["true"])))
            default = sub(node.args["default"]) if node.args.get("default") else Lit(None, NULL)
            return fn.case(branches, default)
        if isinstance(node, exp.If):
            return fn.case([(sub(node.this), sub(node.args["true"]))],
                           sub(node.args["false"]) if node.args.get("false") else
                           Lit(None, NULL))
        if isinstance(node, exp.Coalesce):
            return fn.coalesce([sub(node.this)] + [sub(x) for x in node.expressions])
        if isinstance(node, exp.Nullif):
            return fn.nullif(sub(node.this), sub(node.expression))
        if isinstance(node, exp.TryCast):
            raise self.error("TRY_CAST is not supported; use CAST", node)
        if isinstance(node, exp.Cast):
            return fn.cast(sub(node.this), sql_type(node.to, self))
        if isinstance(node, exp.Round):
            digits = sub(node.args["decimals"]) if node.args.get("decimals") else Lit(0, INT64)
            return fn.round_(sub(node.this), digits)
        if isinstance(node, exp.Abs):
            return fn.abs_(sub(node.this))
        if isinstance(node, (exp.Year, exp.Month, exp.Day, exp.Quarter, exp.DayOfWeek,
                             exp.DayOfYear, exp.Week)):
            field_ = {exp.Year: "year", exp.Month: "month", exp.Day: "day",
                      exp.Quarter: "quarter", exp.DayOfWeek: "dow", exp.DayOfYear: "doy",
                      exp.Week: "week"}[type(node)]
            return fn.extract(field_, sub(node.this))
        if isinstance(node, exp.Extract):
            return fn.extract(unit_name(node.this), sub(node.expression))
        if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
            return fn.date_trunc(unit_name(node.args["unit"]), sub(node.this))
        if isinstance(node, exp.Lower):
            return fn.string_fn("lower", sub(node.this))
        if isinstance(node, exp.Upper):
            return fn.string_fn("upper", sub(node.this))
        if isinstance(node, exp.Length):
            return fn.length(sub(node.this))
        if isinstance(node, exp.Substring):
            return fn.substring(sub(node.this), sub(node.args["start"]) if
                                node.args.get("start") else Lit(1, INT64),
                                sub(node.args["length"]) if node.args.get("length") else None)
        if isinstance(node, exp.DPipe):
            return fn.concat([sub(node.this), sub(node.expression)], "concat_op")
        if isinstance(node, exp.Concat):
            return fn.concat([sub(x) for x in node.expressions], "concat")
        if isinstance(node, exp.Count):
            arg = node.this
            if arg is None or isinstance(arg, exp.Star):
                return Agg("count_star", None, INT64)
            if isinstance(arg, exp.Distinct):
                if len(arg.expressions) != 1:
                    raise self.error("COUNT(DISTINCT ...) takes one argument", node)
                return fn.aggregate("count_distinct", self.agg_arg(arg.expressions[0], scope,
                                                                   depth))
            return fn.aggregate("count", self.agg_arg(arg, scope, depth))
        if type(node) in _AGGS:
            arg = node.this
            if isinstance(arg, exp.Distinct):
                raise self.error(f"{_AGGS[type(node)].upper()}(DISTINCT ...) is not supported",
                                 node)
            return fn.aggregate(_AGGS[type(node)], self.agg_arg(arg, scope, depth))
        if isinstance(node, exp.Anonymous):
            return self.anonymous(node, scope, depth)
        if isinstance(node, (exp.Select, exp.Subquery, exp.Exists)):
            raise self.error("subqueries in expressions are not supported yet", node)
        if isinstance(node, exp.Window):
            raise self.error("window functions are not supported yet", node)
        raise self.error(f"{node.key.upper()} ({node.sql(dialect='duckdb')[:40]}) is not "
                         "supported", node)

    def agg_arg(self, node, scope, depth) -> Expr:
        e = self.expr(node, scope, depth)
        if any(isinstance(x, Agg) for x in e.walk()):
            raise self.error("aggregate function calls cannot be nested", node)
        return e

    def anonymous(self, node: exp.Anonymous, scope, depth) -> Expr:
        name = node.name.lower()
        args = node.expressions
        sub = lambda n: self.expr(n, scope, depth)  # noqa: E731
        if name in ("date_part", "datepart") and len(args) == 2:
            part = sub(args[0])
            if not isinstance(part, Lit) or part.type.kind != "string":
                raise self.error("date_part needs a constant part name", node)
            return fn.extract(part.value.lower(), sub(args[1]))
        if name in ("date_trunc", "datetrunc") and len(args) == 2:
            part = sub(args[0])
            return fn.date_trunc(str(part.value).lower(), sub(args[1]))
        if name in ("stddev_pop", "var_pop", "var_samp", "stddev_samp", "mean") and \
                len(args) == 1:
            return fn.aggregate(_AGG_NAMES[name], self.agg_arg(args[0], scope, depth))
        if name in ("ifnull",) and len(args) == 2:
            return fn.coalesce([sub(a) for a in args])
        raise self.error(f"function {name}() is not supported", node)


# -- literals and types -------------------------------------------------------------------

def literal(node: exp.Literal) -> Lit:
    text = node.this
    if node.is_string:
        return Lit(text, STRING)
    t = text.lower()
    if "e" in t or t in ("inf", "nan"):
        return Lit(float(text), FLOAT64)
    if "." in t:
        d = decimal.Decimal(text)
        _, digits, exponent = d.as_tuple()
        scale = max(-exponent, 0)
        if len(digits) > 18 or scale > 18:
            return Lit(float(text), FLOAT64)
        return Lit(int(d.scaleb(scale)), DECIMAL(max(len(digits), scale + 1), scale))
    # Python refuses int() of over 4300 digits (ValueError); no BIGINT needs 20
    v = int(text) if len(text) <= 40 else 1 << 64
    if -(1 << 63) <= v < (1 << 63):
        return Lit(v, INT64)
    # DuckDB reads it as a HUGEINT; a double would silently lose digits
    shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"
    raise QueryError(f"integer literal {shown} is out of the BIGINT range")


_UNITS = {"year": (12, 0, 0), "years": (12, 0, 0), "quarter": (3, 0, 0), "month": (1, 0, 0),
          "months": (1, 0, 0), "week": (0, 7, 0), "weeks": (0, 7, 0), "day": (0, 1, 0),
          "days": (0, 1, 0), "hour": (0, 0, 3_600_000_000), "hours": (0, 0, 3_600_000_000),
          "minute": (0, 0, 60_000_000), "minutes": (0, 0, 60_000_000),
          "second": (0, 0, 1_000_000), "seconds": (0, 0, 1_000_000)}


def interval(node: exp.Interval, binder: Binder) -> tuple[int, int, int]:
    text = node.this.name if node.this is not None else ""
    unit = node.args.get("unit")
    unit_s = unit.name.lower() if unit is not None else ""
    if not unit_s:
        parts = text.split()
        if len(parts) != 2:
            raise binder.error(f"cannot read interval {text!r}", node)
        text, unit_s = parts
    if unit_s not in _UNITS:
        raise binder.error(f"interval unit {unit_s!r} is not supported", node)
    try:
        k = int(text)
    except ValueError:
        raise binder.error(f"interval count {text!r} is not an integer", node) from None
    m, d, us = _UNITS[unit_s]
    return (k * m, k * d, k * us)


def unit_name(node) -> str:
    name = node.name if isinstance(node, exp.Expression) else str(node)
    return name.lower().strip("'")


_TYPES = {"INT": "int32", "INTEGER": "int32", "BIGINT": "int64", "SMALLINT": "int16",
          "TINYINT": "int8", "UINT": "uint32", "UBIGINT": "uint64", "USMALLINT": "uint16",
          "UTINYINT": "uint8", "DOUBLE": "float64", "FLOAT": "float32", "REAL": "float32",
          "BOOLEAN": "bool", "VARCHAR": "string", "TEXT": "string", "CHAR": "string",
          "NCHAR": "string", "NVARCHAR": "string", "DATE": "date", "TIMESTAMP": "timestamp",
          "TIMESTAMPNTZ": "timestamp", "DATETIME": "timestamp", "DECIMAL": "decimal",
          "NUMERIC": "decimal"}


def sql_type(dt: exp.DataType, binder: Binder) -> SqlType:
    import pyarrow as pa
    name = dt.this.name if hasattr(dt.this, "name") else str(dt.this)
    kind = _TYPES.get(name)
    if kind is None:
        raise binder.error(f"CAST to {dt.sql(dialect='duckdb')} is not supported", dt)
    if kind == "decimal":
        params = [int(p.name if hasattr(p, "name") else p.this.name) for p in dt.expressions]
        p, s = (*params, 18, 3)[:2] if params else (18, 3)
        if len(params) == 1:
            s = 0
        if p > 18:
            raise binder.error(f"DECIMAL({p},{s}): precision over 18 is not supported", dt)
        return DECIMAL(p, s)
    return {"bool": BOOL, "string": STRING, "date": DATE, "timestamp": TIMESTAMP}.get(
        kind) or SqlType("float" if kind.startswith("float") else "int",
                         arrow=getattr(pa, kind)())


def date_value(text: str) -> int:
    try:
        d = datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"invalid date {text!r}") from None
    return (d - datetime.date(1970, 1, 1)).days
