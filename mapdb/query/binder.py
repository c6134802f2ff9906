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
mapdb.errors.QueryError: column "nope" not found; columns are: x (line 1, column 8)
"""

from __future__ import annotations

import decimal
import fractions
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import sqlglot
from sqlglot import exp
from sqlglot.expressions.builders import apply_index_offset

from mapdb.query import (
    anyall,
    asofjoin,
    columnsexpr,
    commonsub,
    distincton,
    files,
    groupingsets,
    intervals,
    memory,
    pivot,
    qualify,
    recursive,
    rows,
    values,
)
from mapdb.query import catalog as functions_catalog
from mapdb.query import functions as fn
from mapdb.query.catalog import aggregate as aggregate_functions
from mapdb.query.catalog import nested as nested_functions
from mapdb.query.colname import duckdb_name
from mapdb.query.decorrelate import (
    Domain,
    empty_value,
    is_null,
    null_rejecting,
    preaggregate,
    resolve,
    sentinel,
)
from mapdb.query.expr import (
    IGNORE_NULLS,
    Agg,
    Call,
    Col,
    Expr,
    IntLit,
    Lit,
    SortSpec,
    WindowFn,
    conjoin,
)
from mapdb.query.expr import replace as substitute
from mapdb.query.optimizer import factor_or, fold
from mapdb.query.params import bind_values, placeholder_key
from mapdb.query.plan import (
    Aggregate,
    CTEScan,
    Distinct,
    Filter,
    Join,
    Limit,
    Plan,
    Project,
    Query,
    RecursiveCTE,
    Scan,
    SetOp,
    Sort,
    SortKey,
    Unnest,
    Window,
    copy_plan,
)
from mapdb.query.recursive import WorkSource
from mapdb.query.rewrite import null_safe
from mapdb.query.syntax import check, locate
from mapdb.query.types import (
    BOOL,
    DATE,
    DECIMAL,
    FLOAT64,
    INT64,
    INTERVAL,
    LIST,
    MAP,
    NULL,
    STRING,
    STRUCT,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UINT64,
    QueryError,
    SqlType,
    is_uint64,
)
from mapdb.query.views import MAX_VIEW_DEPTH, ViewDef

# sqlglot logs a warning when it parses an unknown statement (LOAD x, VACUUM) as a generic
# Command; mapdb refuses those with its own error, so the warning is only noise on stderr
logging.getLogger("sqlglot").addFilter(
    lambda r: "Falling back to parsing as a 'Command'" not in r.getMessage())

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
    return _interval_texts(stmts[0], sql)


def _interval_texts(tree: exp.Expression, sql: str) -> exp.Expression:
    """sqlglot reads INTERVAL 'text' with one count and unit in it as that count and unit
    and drops the rest: '2 days ago' and '1 day 10:00:00' would be 2 and 1 days. The
    statement's tokens still have the whole text: such an interval gets it back (and
    when two texts split alike, one whole, one not, the statement is refused)."""
    if "'" not in sql or not any(i.args.get("unit") is not None and
                                 isinstance(i.this, exp.Literal)
                                 for i in tree.find_all(exp.Interval)):
        return tree
    from sqlglot.expressions.builders import INTERVAL_STRING_RE
    from sqlglot.tokens import TokenType
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    split: dict[tuple[str, str], set[str]] = {}
    for prev, tok in itertools.pairwise(tokens):
        if prev.token_type == TokenType.INTERVAL and tok.token_type == TokenType.STRING:
            parts = INTERVAL_STRING_RE.findall(tok.text)
            if len(parts) == 1:
                split.setdefault((parts[0][0], parts[0][1].upper()), set()).add(tok.text)
    for node in list(tree.find_all(exp.Interval)):
        unit = node.args.get("unit")
        if unit is None or not isinstance(node.this, exp.Literal):
            continue
        texts = split.get((node.this.name, unit.name.upper()), set())
        lossy = [t for t in texts if not INTERVAL_STRING_RE.fullmatch(t)]
        if lossy and len(texts) > 1:
            raise QueryError(f"INTERVAL {lossy[0]!r} beside another interval of the same "
                             f"count and unit is not supported; write it as INTERVAL "
                             f"(...) + INTERVAL (...)")
        if lossy:
            node.set("this", exp.Literal.string(lossy[0]))
            node.set("unit", None)
            node.set("fraction_in_string", None)
    return tree


MAX_SERIES = 100_000_000  # rows of range() / generate_series(), held in memory


def _rewrite(tree: exp.Expression, sql: str) -> exp.Expression:
    """The statement with the constructs defined by other SQL written as that SQL: a
    derived table written twice as one CTE, VALUES lists, DISTINCT ON, grouping sets,
    QUALIFY, ANY/ALL comparisons, IS [NOT] DISTINCT FROM (each module says how)."""
    tree = distincton.expand(values.expand(commonsub.share(tree), sql), sql)
    tree = qualify.expand(groupingsets.expand(tree, sql), sql)
    return null_safe(rows.expand(anyall.expand(tree, sql), sql), sql)


def bind_sql(sql: str, catalog: Callable[[str], object], cache=None,
             params=None) -> Query:
    """Bind one SQL statement; ``catalog(name)`` returns the Source of a table. With a
    ``cache`` (parsecache.ParseCache), a statement that differs from an earlier one only
    in its literals reuses that one's parse. ``params``: the values of its ``?``, ``$1``
    or ``$name`` placeholders, a sequence or a dict (query.params)."""
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
        try:  # the cache holds only trees that pass check()
            binder = Binder(catalog, sql, bind_values(tree, params, sql))
            binder.spelling = tree.meta.get("template", sql)
            plan, names = binder.query(tree, {})
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
        raise QueryError("DESCRIBE is not supported; use `mapdb describe`", 0, sql)
    tree = _rewrite(tree, sql)
    check(tree, sql)
    b = Binder(catalog, sql, bind_values(tree, params, sql))
    try:
        plan, names = b.query(tree, {})
    except RecursionError:  # e.g. hundreds of CTEs, each reading the one before
        raise QueryError("statement is nested too deeply") from None
    return Query(plan, names, explain)


@dataclass
class Scope:
    """Names visible to expressions: display name -> column, and per table alias (folded
    to lower case: DuckDB matches aliases, like all identifiers, case-insensitively, quoted
    or not). Two tables may share an alias (``FROM t, t``); a name qualified by it must then
    be in only one of them. ``using``: the columns a USING join merged (their unqualified
    name is the merged column, listed once by ``*``). A subquery's scope falls back to the
    enclosing query's (``outer``): a column found there is a correlated reference."""
    columns: list[tuple[str, Col]]
    aliases: dict[str, list[tuple[str, Col]]] = field(default_factory=dict)
    outer: Scope | None = None
    ctes: dict = field(default_factory=dict)
    pending: list = field(default_factory=list)  # subquery joins its expressions need
    corr: Correlation | None = None  # when a subquery's: its correlation with ``outer``
    # the aliases that are a stored table's or view's own name (FROM t, not FROM t AS a):
    # only those may be qualified by schema (main.t.c)
    named: frozenset = frozenset()

    @staticmethod
    def of(cols: list[tuple[str, Col]], alias: str | None) -> Scope:
        return Scope(cols, {alias.lower(): list(cols)} if alias else {})

    def lookup(self, name: str, table: str | None) -> Col | None:
        if table is not None and table.lower() not in self.aliases:
            return self.outer.lookup(name, table) if self.outer is not None else None
        cols = self.columns if table is None else self.aliases[table.lower()]
        hits = [c for n, c in cols if n == name] or [c for n, c in cols
                                                     if n.lower() == name.lower()]
        if len({h.name for h in hits}) > 1:
            raise QueryError(f'column reference "{name}" is ambiguous')
        if not hits and self.outer is not None:
            return self.outer.lookup(name, table)
        return hits[0] if hits else None

    def table(self, name: str) -> list[tuple[str, Col]] | None:
        """The columns of the table(s) under alias ``name``, in this scope only."""
        return self.aliases.get(name.lower())

    def names_table(self, table: str) -> bool:
        """Whether ``table`` is a stored table's own name here or further out."""
        return table.lower() in self.named or (self.outer is not None and
                                               self.outer.names_table(table))

    def knows_table(self, table: str) -> bool:
        return table.lower() in self.aliases or (self.outer is not None and
                                                 self.outer.knows_table(table))

    def merged(self, other: Scope) -> Scope:
        aliases = dict(self.aliases)
        for a, cols in other.aliases.items():
            aliases[a] = aliases.get(a, []) + cols
        return Scope(self.columns + other.columns, aliases, self.outer,
                     named=self.named | other.named)

    def outer_names(self) -> set[str]:
        """Internal names of the enclosing queries' columns."""
        out, s = set(), self.outer
        while s is not None:
            out |= {c.name for _, c in s.columns}
            s = s.outer
        return out


@dataclass
class LambdaScope(Scope):
    """A lambda body's scope: its parameters (and those of the lambdas around it) shadow
    the columns, as in DuckDB; everything else is the enclosing scope's."""
    params: dict = field(default_factory=dict)  # lower-case name -> Col
    depth: int = 0  # lambdas around this one

    def lookup(self, name: str, table: str | None) -> Col | None:
        if table is None and name.lower() in self.params:
            return self.params[name.lower()]
        return super().lookup(name, table)


@dataclass
class Correlation:
    """A subquery's references to the enclosing query, pulled out of its WHERE: equalities
    ``outer = inner`` become join keys (``keys``: outer expression, inner output column);
    anything else is the join's ``residual`` condition (over both sides)."""
    keys: list[tuple[Expr, Col]] = field(default_factory=list)
    residual: list[Expr] = field(default_factory=list)
    # an aggregate without GROUP BY: one row per outer row, even where no inner row matches
    # (so the keys' join would miss those rows: EXISTS is TRUE, IN compares with the value)
    one_row: bool = False
    scalar: bool = False  # used as a value: decorrelated over a domain (see decorrelate)
    domain: Domain | None = None  # the outer keys' values it is computed for
    marker: str | None = None  # a column TRUE on its rows (NULL: no row matched)
    lateral: bool = False  # a LATERAL subquery's (decorrelated by Binder.lateral)
    empty: Expr | None = None  # its first column's value over no rows (with ``marker``)
    empties: dict = field(default_factory=dict)  # each column's
    # after domain_join: an outer column -> what stands for it inside (its domain column)
    stands: dict = field(default_factory=dict)


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


def _reads_earlier(node: exp.Expression, scope: Scope) -> bool:
    """Whether the FROM subquery ``node`` names an earlier FROM item by its alias (t.x)
    that the subquery does not define itself: DuckDB's implicit LATERAL."""
    if not isinstance(node, exp.Subquery) or node.args.get("pivots"):
        return False
    own = {t.alias_or_name.lower() for t in node.find_all(exp.Table, exp.Subquery)}
    own |= {c.alias_or_name.lower() for c in node.find_all(exp.CTE)}
    named = {c.table.lower() for c in node.find_all(exp.Column) if c.table}
    return any(scope.table(a) is not None for a in named - own)


def _fold_tree(e: Expr) -> Expr:
    """``fold`` bottom-up (a cast of a constant is a few calls deep)."""
    if isinstance(e, Call):
        import dataclasses
        e = dataclasses.replace(e, args=tuple(_fold_tree(a) for a in e.args))
    return fold(e)


class Binder:
    def __init__(self, catalog: Callable[[str], object], sql: str,
                 params: dict | None = None):
        self.catalog = catalog
        self.sql = sql
        self.spelling = sql  # the text the tree's positions are in (a cached tree's template)
        self.params = params or {}  # placeholder key -> params.Param
        # binding a window aggregate's argument, which may hold the query's aggregates
        # (sum(sum(x)) OVER (): the inner sum is the GROUP BY's, the outer the window's)
        self._window_arg = False
        # the WINDOW clause of the SELECT whose select list is being bound (named windows:
        # DuckDB sees them there and in QUALIFY only, not in ORDER BY or a subquery)
        self._windows: list[exp.Window] = []
        self._ids = itertools.count()
        self._scanned: set[str] = set()  # column names earlier scans produce
        self.subquery_cols: set[str] = set()  # columns scalar subquery joins add
        self._cte_plans: dict[int, tuple] = {}  # CTEs read more than once: bound once
        self._lateral_items = False  # the next select is a LATERAL subquery's (lateral())
        # names in WHERE and HAVING that may stand for a select alias: id -> (the Column
        # node, the aliased expression) (see alias_refs)
        self._alias_refs: dict[int, tuple[exp.Column, exp.Expression]] = {}
        self._tree: exp.Expression | None = None  # the statement (to count CTE references)
        self._views: list[str] = []  # the stored views being bound, outermost first
        self._domains: dict[int, tuple] = {}  # subquery plan id -> (plan, its Domain)

    def _references(self, name: str) -> int:
        """How many times the statement names table ``name`` (a CTE's readers)."""
        if self._tree is None:
            return 1
        return sum(1 for t in self._tree.find_all(exp.Table) if t.name.lower() == name.lower())

    def error(self, message: str, node: exp.Expression | None = None) -> QueryError:
        return QueryError(message, locate(node) if node is not None else None, self.sql)

    def fresh(self, hint: str = "") -> str:
        return f"${next(self._ids)}{('_' + hint) if hint else ''}"

    # -- statements ------------------------------------------------------------------
    def query(self, node: exp.Expression, ctes: dict, outer: Scope | None = None,
              corr: Correlation | None = None) -> tuple[Plan, list[str]]:
        if self._tree is None:  # the statement: its subqueries' domains put in place
            self._tree = node
            plan, names = self.query(node, ctes, outer, corr)
            return resolve(plan), names
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes, outer, corr)
        if isinstance(node, exp.Select):
            return self.select(node, ctes, outer, corr)
        if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            return self.set_op(node, ctes, outer)
        if isinstance(node, exp.Pivot):  # PIVOT t ON ...: the query it stands for
            try:
                rewritten = pivot.statement(node, self, ctes)
            except pivot.PivotError as e:
                raise self.error(str(e), e.node) from None
            return self.query(rewritten, ctes, outer, corr)
        raise self.error(f"{node.key.upper()} statements are not supported; only SELECT is",
                         node)

    def set_op(self, node, ctes: dict, outer: Scope | None) -> tuple[Plan, list[str]]:
        ctes = self.with_(node, ctes)
        left, names = self.query(node.this, ctes, outer)
        right, rnames = self.query(node.expression, ctes, outer)
        if len(names) != len(rnames):
            raise self.error(f"{type(node).__name__.upper()}: the sides have {len(names)} "
                             f"and {len(rnames)} columns", node)
        lcols, rcols = [], []
        for (ln, lt), (rn, rt) in zip(left.schema, right.schema, strict=True):
            t = fn.common_type([lt, rt], type(node).__name__.upper())
            lcols.append((self.fresh("set"), fn.convert(Col(ln, lt), t)))
            rcols.append((self.fresh("set"), fn.convert(Col(rn, rt), t)))
        op = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(node)]
        distinct = node.args.get("distinct")
        intervals = any(e.type.kind == "interval" for _, e in lcols)
        if op != "union" and intervals:
            # (DuckDB makes '30 days' and '1 month' one value)
            raise self.error(f"{op.upper()} of INTERVAL columns is not supported (UNION "
                             f"is)", node)
        if op != "union" or distinct is not False:  # (nested values by their order keys)
            for _, e in lcols:
                if e.type.nested:
                    try:
                        nested_functions.order_key(e)
                    except QueryError as err:
                        raise self.error(str(err), node) from None
        plan: Plan = SetOp(Project(left, lcols), Project(right, rcols), op,
                           all=distinct is False or intervals)
        if intervals and distinct is not False:  # UNION: as SELECT DISTINCT's intervals
            plan = self.interval_groups(plan)
        order = node.args.get("order")
        if order:
            scope = Scope([(n, Col(c, t)) for n, (c, t) in zip(names, plan.schema,
                                                                  strict=True)])
            items = [(n, c) for n, c in scope.columns]
            keys = self.order_keys(order, scope, items)
            if any(not e.columns() <= {c for c, _ in plan.schema} for e in
                   (k.expr for k in keys)):
                raise self.error("ORDER BY of a set operation must name its columns", order)
        else:
            keys = []
        limit, offset, percent = self.limit(node)
        out = plan.schema
        hidden = []
        for i, k in enumerate(keys):  # LIST/STRUCT/MAP keys: by their order keys
            if k.expr.type.nested:
                try:
                    key = nested_functions.order_key(k.expr)
                except QueryError as err:
                    raise self.error(str(err), order) from None
                hidden.append((self.fresh("sort"), key))
                keys[i] = SortKey(Col(hidden[-1][0], key.type), k.desc, k.nulls_first)
        if hidden:
            plan = Project(plan, [(c, Col(c, t)) for c, t in out] + hidden)
        plan = self.sort_limit(plan, keys, limit, offset, percent)
        if percent is not None or hidden:
            plan = Project(plan, [(c, Col(c, t)) for c, t in out])
        return plan, names

    def with_(self, node, ctes: dict) -> dict:
        with_ = node.args.get("with_") or node.args.get("with")
        if not with_:
            return ctes
        ctes = dict(ctes)
        for cte in with_.expressions:
            ctes[cte.alias_or_name.lower()] = cte
        return ctes

    def select(self, sel: exp.Select, ctes: dict, outer: Scope | None = None,
               corr: Correlation | None = None) -> tuple[Plan, list[str]]:
        ctes = self.with_(sel, ctes)  # clauses not bound here were refused by check()
        # this select is a LATERAL subquery's (its subqueries are not): see lateral()
        lateral_items, self._lateral_items = self._lateral_items, False
        plan, scope = self.from_clause(sel, ctes, outer)
        scope.ctes, scope.corr = ctes, corr
        self.alias_refs(sel)
        if corr is not None:
            corr.lateral = lateral_items
        if sel.args.get("where"):
            plan = self.where(plan, sel.args["where"].this, scope, corr)

        outer_windows, self._windows = self._windows, self.window_clause(sel)
        try:
            items, aliases = self.select_items(sel, scope)
        finally:
            self._windows = outer_windows
        names = [n for n, _ in items]
        group = sel.args.get("group")
        having = sel.args.get("having")
        order = sel.args.get("order")
        bound_items = [(n, e) for n, e in items]
        order_keys = self.order_keys(order, scope, bound_items, aliases) if order else []
        pending = self.take_pending(scope)  # scalar subqueries of the items
        having_e = self.expr(having.this, scope) if having else None
        if having_e is not None and any(isinstance(x, WindowFn) for x in having_e.walk()):
            raise self.error("window functions are not allowed in HAVING (DuckDB refuses "
                             "them too; QUALIFY filters on them)", having)
        pending_having = self.take_pending(scope)
        has_aggs = any(isinstance(x, Agg) for _, e in bound_items for x in e.walk()) or (
            having_e is not None) or any(isinstance(x, Agg) for k in order_keys
                                        for x in k.expr.walk()) or any(
            isinstance(x, Agg) for j in pending for k in j.left_keys for x in k.walk())
        if outer is not None:  # correlation is bound from WHERE only (see where())
            # (a LATERAL subquery's plain select items may: lateral() moves them above
            # its join)
            plain = lateral_items and not (has_aggs or group or order or sel.args.get(
                "distinct") or any(isinstance(x, WindowFn) for _, e in bound_items
                                   for x in e.walk()))
            self.local_only(([] if plain else [e for _, e in bound_items]) +
                            [k.expr for k in order_keys] +
                            ([having_e] if having_e is not None else []), scope, sel)
        limit, offset, percent = self.limit(sel)
        limited = (limit, offset, percent) != (None, 0, None)
        windowed = any(isinstance(x, WindowFn) for e in [*(e for _, e in bound_items), *(
            k.expr for k in order_keys)] for x in e.walk())
        if corr is not None and (corr.keys or corr.residual) and (
                (lateral_items and (group or having_e is not None or limited)) or
                (having_e is not None and not group) or percent is not None or
                (limited and not group and has_aggs and (offset or limit == 0))):
            raise self.error("a correlated subquery with GROUP BY, HAVING or LIMIT is not "
                             "supported" if lateral_items else "a correlated subquery with "
                             "LIMIT PERCENT, OFFSET or LIMIT 0 over one aggregate row, or "
                             "HAVING without GROUP BY, is not supported", sel)
        if corr is not None and limited and not group and has_aggs:
            limit = None  # LIMIT n >= 1 of the one aggregate row keeps it
        if group and group.args.get("all") and not has_aggs and \
                not self.group_all(bound_items, sel):
            group = None  # DuckDB: GROUP BY ALL of constants alone groups nothing
        if group or has_aggs:
            keys = self.group_keys(group, scope, bound_items) if group else []
            if group and group.args.get("all"):
                keys = self.group_all(bound_items, sel)
            for k in keys:  # (a MAP has no order key: refused here, with a position)
                if k.type.nested:
                    try:
                        nested_functions.order_key(k)
                    except QueryError as err:
                        raise self.error(str(err), group or sel) from None
            if outer is not None:
                self.local_only(keys, scope, group)
            if corr is not None:  # correlated aggregate: one group per outer key
                if corr.residual and not (group and lateral_items):  # per domain value
                    plan = self.domain_join(plan, scope, corr, sel)
                keys += [inner for _, inner in corr.keys if inner not in keys]
                corr.one_row = not group
            # the subqueries a group key or an aggregate reads join before the aggregate
            # (GROUP BY EXISTS (...), sum(x) FILTER (WHERE x IN (...)))
            before = self.take_pending(scope)
            read = set().union(*(k.columns() for k in keys), *(
                x.columns() for e in [*(e for _, e in bound_items), *(
                    k.expr for k in order_keys), *([having_e] if having_e else [])]
                for x in e.walk() if isinstance(x, Agg)))
            before += [j for j in pending + pending_having if _joined(j) & read]
            pending = [j for j in pending if all(j is not b for b in before)]
            pending_having = [j for j in pending_having if all(j is not b for b in before)]
            plan = self.apply(plan, before)
            for j in before:  # read through the group keys only
                self.subquery_cols -= _joined(j)
            shown = {c.name: n for n, c in scope.columns}
            plan, lift = self.aggregate(plan, keys, bound_items, having_e, order_keys, shown)
            bound_items = [(n, lift(e, sel)) for n, e in bound_items]
            order_keys = [SortKey(lift(k.expr, order), k.desc, k.nulls_first)
                          for k in order_keys]
            if corr is not None:
                corr.keys = [(o, lift(i, sel)) for o, i in corr.keys]
            plan = self.apply(plan, [self.lift_join(j, lift, sel)
                                     for j in pending + pending_having])
            if having_e is not None:
                plan = Filter(plan, self.boolean(lift(having_e, having), having))
        else:
            if corr is not None and corr.residual and (corr.scalar or limited or windowed) \
                    and not lateral_items:  # (LIMIT, windows: per outer row, per domain value)
                plan = self.domain_join(plan, scope, corr, sel)
            plan = self.apply(plan, pending)
        if windowed and corr is not None and (corr.keys or corr.residual) and \
                not lateral_items:
            if corr.one_row or corr.residual:
                raise self.error("a window function over a correlated subquery's one "
                                 "aggregate row is not supported", sel)
            # the rows one outer row sees are one correlation key's (or domain value's)
            part = tuple(i for _, i in corr.keys)
            bound_items = [(n, _partitioned(e, part)) for n, e in bound_items]
            order_keys = [SortKey(_partitioned(k.expr, part), k.desc, k.nulls_first)
                          for k in order_keys]
        plan, bound_items, order_keys = self.windows(plan, bound_items, order_keys)
        plan, bound_items, order_keys = self.unnest_rows(plan, bound_items, order_keys, sel)
        distinct = sel.args.get("distinct")
        if distinct is not None and distinct.args.get("on"):
            raise self.error("DISTINCT ON is not supported", distinct)
        for _, e in bound_items if distinct is not None else []:
            if e.type.nested:  # (by their order keys: refused here where there is none)
                try:
                    nested_functions.order_key(e)
                except QueryError as err:
                    raise self.error(str(err), distinct) from None
        out_cols = [(self.fresh(n), e) for n, e in bound_items]
        visible = {e: Col(c, e.type) for c, e in out_cols}
        if distinct is not None:
            out_cols = [(c, fn.canonical_zero(e)) for c, e in out_cols]
        hidden = []
        if corr is not None:  # the keys and residual's columns leave the subquery too
            keys = []
            for o, inner in corr.keys:
                c = self.fresh("corr")
                hidden.append((c, inner))
                keys.append((o, Col(c, inner.type)))
            corr.keys = keys
            if corr.one_row and keys and (corr.domain is not None or not lateral_items):
                # (see single_value; LATERAL's fast path has its own COUNT fix)
                corr.marker = self.fresh("matched")
                hidden.append((corr.marker, Lit(True, BOOL)))
            inner_cols = {n for n, _ in plan.schema}
            for r in corr.residual:
                for c in sorted(r.columns() & inner_cols):
                    if all(h != c for h, _ in hidden):
                        hidden.append((c, Col(c, plan.types()[c])))
        final_keys = []
        for k in order_keys:
            if k.expr.type.nested:  # by its order key (catalog/nested.py), a column of its own
                if k.expr not in visible and distinct is not None:
                    raise self.error("for SELECT DISTINCT, ORDER BY expressions must appear "
                                     "in the select list", order)
                try:
                    key = nested_functions.order_key(k.expr)
                except QueryError as err:
                    raise self.error(str(err), order) from None
                h = self.fresh("sort")
                hidden.append((h, key))
                final_keys.append(SortKey(Col(h, key.type), k.desc, k.nulls_first))
                continue
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
            plan = self.interval_groups(plan) if any(
                t.kind == "interval" for _, t in plan.schema) else Distinct(plan)
        if corr is not None and corr.keys and (limit, offset) != (None, 0):
            # each outer row's first rows: numbered per correlation key (as LATERAL)
            rn = self.fresh("rn")
            plan = Window(plan, [(rn, WindowFn(
                "row_number", (), tuple(i for _, i in corr.keys),
                tuple(SortSpec(k.expr, k.desc, k.nulls_first) for k in final_keys),
                None, INT64))])
            kept = [fn.compare("gt", Col(rn, INT64), Lit(offset, INT64))]
            if limit is not None:
                kept.append(fn.compare("le", Col(rn, INT64), Lit(offset + limit, INT64)))
            plan = Filter(plan, fold_and(kept))
        else:
            plan = self.sort_limit(plan, final_keys, limit, offset, percent)
        if (hidden or percent is not None) and corr is None:
            plan = Project(plan, [(c, Col(c, e.type)) for c, e in out_cols])
        if corr is not None and corr.marker is not None and out_cols:
            # (before preaggregate)
            corr.empties = {c: empty_value(plan, c) for c, _ in out_cols}
            corr.empty = corr.empties[out_cols[0][0]]
        if corr is not None and corr.domain is not None:  # filled by fill_domain
            preaggregate(plan)
            self._domains[id(plan)] = (plan, corr.domain)
        return plan, names

    def alias_refs(self, sel: exp.Select) -> None:
        """Note the bare names in ``sel``'s WHERE and HAVING that a select alias may
        stand for, as in DuckDB: where the FROM clause has no column of that name
        (checked when bound), before the enclosing query's columns; of equal aliases the
        last. Not inside a subquery, nor in HAVING inside an aggregate or window (DuckDB:
        not found there); an alias of an aggregate in WHERE is DuckDB's error (the
        binder's "WHERE cannot contain aggregates")."""
        aliases = {i.alias.lower(): i.this for i in sel.expressions
                   if isinstance(i, exp.Alias) and not columnsexpr.found(i)}
        if not aliases:
            return
        for clause in ("where", "having"):
            root = sel.args.get(clause)
            if root is None:
                continue
            for c in root.find_all(exp.Column):
                if c.table or not isinstance(c.this, exp.Identifier) or \
                        c.name.lower() not in aliases:
                    continue
                up, inside = c.parent, False
                while up is not None and up is not root:
                    inside |= isinstance(up, (exp.Select, exp.Subquery)) or (
                        clause == "having" and isinstance(up, (exp.AggFunc, exp.Window)))
                    up = up.parent
                if not inside:
                    self._alias_refs[id(c)] = (c, aliases[c.name.lower()])

    def domain_join(self, plan: Plan, scope: Scope, corr: Correlation, node,
                    also: list[Col] = ()) -> Plan:
        """A subquery whose correlation is more than equalities, joined with the domain of
        the outer values it reads (query.decorrelate), so that the correlation becomes
        equalities on the domain's columns: ``corr`` is rewritten to them."""
        if corr.domain is not None:
            raise self.error("a correlated subquery whose correlation is read both before "
                             "and after its nested subqueries is not supported", node)
        outer = scope.outer_names()
        types = {x.name: x.type for r in corr.residual for x in r.walk()
                 if isinstance(x, Col) and x.name in outer}
        types.update({c.name: c.type for c in also})  # (read by nested subqueries)
        columns, keys, lk, rk, subst = [], [], [], [], {}
        for o, i in corr.keys:
            d = self.fresh("dom")
            columns.append((d, o.type))
            keys.append((o, Col(d, o.type)))
            lk.append(i)
            rk.append(Col(d, o.type))
        for c in sorted(types):
            t = types[c]
            if null_rejecting(corr.residual, c):
                d = self.fresh("dom")
                columns.append((d, t))
                keys.append((Col(c, t), Col(d, t)))
                subst[Col(c, t)] = Col(d, t)
                continue
            s = sentinel(t)
            if s is None:
                raise self.error(f"a correlated subquery whose correlation may match a NULL "
                                 f"of the enclosing query's {t} column is not supported", node)
            dv, dn = self.fresh("dom"), self.fresh("domnull")
            columns += [(dv, t), (dn, BOOL)]
            keys += [(fn.coalesce([Col(c, t), s]), Col(dv, t)),
                     (is_null(Col(c, t)), Col(dn, BOOL))]
            subst[Col(c, t)] = fn.case([(Col(dn, BOOL), Lit(None, t))], Col(dv, t))
        corr.stands = dict(subst)
        corr.domain = Domain(columns)
        cond = fold_and([substitute(r, subst) for r in corr.residual])
        corr.keys, corr.residual = keys, []
        return Join(plan, corr.domain, "inner" if lk or cond is not None else "cross",
                    lk, rk, condition=cond)

    def fill_domain(self, plan: Plan, j: Join) -> Plan:
        """``j``'s subquery with its domain (if it has one) computed from ``plan``, the
        query it joins: the distinct values of the join's last keys."""
        entry = self._domains.pop(id(j.right), None)
        if entry is None or entry[0] is not j.right:
            return j.right
        dom = entry[1]
        keys = j.left_keys[len(j.left_keys) - len(dom.columns):]
        dom.cell.plan = Distinct(Project(copy_plan(plan), [
            (c, k) for (c, _), k in zip(dom.columns, keys, strict=True)]))
        return j.right

    def local_only(self, exprs: list[Expr], scope: Scope, node) -> None:
        """A subquery may use the enclosing query's columns in its WHERE (the correlation
        becomes join keys or a join condition); anywhere else they would be read from
        rows that do not have them."""
        outer = scope.outer_names()
        for e in exprs:
            used = e.columns() & outer
            if used:
                shown = {c.name: n for s in _scopes(scope.outer) for n, c in s.columns}
                raise self.error(f'column "{shown.get(min(used), min(used))}" of the '
                                 "enclosing query: a subquery may use it only in its "
                                 "WHERE (not in a set operation's branches)", node)

    # -- FROM and joins ----------------------------------------------------------------
    def from_clause(self, sel: exp.Select, ctes: dict, outer: Scope | None
                    ) -> tuple[Plan, Scope]:
        frm = sel.args.get("from_") or sel.args.get("from")
        if frm is None:  # SELECT 1: one row without columns, as in DuckDB
            import pyarrow as pa

            from mapdb.query.source import ArrowSource
            one = self.fresh("one")
            self._scanned.add(one)
            return Scan(ArrowSource("(no FROM)", pa.table({one: pa.array([0], pa.int8())})),
                        [one]), Scope([], outer=outer)
        plan, scope = self.table_ref(frm.this, ctes)
        before_comma: set[str] = set()  # a comma binds looser than JOIN: a, (b ASOF JOIN c)
        for j in sel.args.get("joins") or []:
            lateral = None
            if isinstance(j.this, exp.Lateral) or _reads_earlier(j.this, scope):
                scope.ctes, scope.outer = ctes, outer
                rplan, rscope, lateral = self.lateral(j.this, scope)
            else:
                rplan, rscope = self.table_ref(j.this, ctes)
            if not any(j.args.get(a) for a in ("kind", "side", "method", "on", "using")):
                before_comma = {n for n, _ in plan.schema}
            both = scope.merged(rscope)
            both.outer = outer
            side = (j.args.get("side") or "").lower()
            kind = (j.args.get("kind") or "").lower()
            method = (j.args.get("method") or "").lower()
            if kind in ("semi", "anti") or (kind == "" and side in ("semi", "anti")):
                raise self.error("SEMI/ANTI JOIN syntax is not supported; use EXISTS",
                                 j)
            if method not in ("", "natural", "asof") or kind in ("asof", "positional"):
                raise self.error(f"{(method or kind).upper()} JOIN is not supported", j)
            if method == "asof" and side not in ("", "left"):
                raise self.error(f"ASOF {side.upper()} JOIN is not supported (ASOF JOIN and "
                                 f"ASOF LEFT JOIN are)", j)
            jkind = {"left": "left", "right": "right", "full": "full"}.get(side, "inner")
            if kind == "cross":
                jkind = "cross"
            on = j.args.get("on")
            using = [(u.name, u) for u in j.args.get("using") or []]

            if method == "natural":  # USING the columns both sides have
                right = {n.lower() for n, _ in rscope.columns}
                using = [(n, j) for n, _ in scope.columns if n.lower() in right]
                if not using:  # DuckDB refuses it too (not a cross join)
                    raise self.error("NATURAL JOIN: the two sides have no column name in "
                                     "common", j)
            cond = None
            merged = []
            if using:
                parts = []
                for i, (name, u) in enumerate(using):
                    lc, rc = scope.lookup(name, None), rscope.lookup(name, None)
                    if lc is None or rc is None:
                        raise self.error(f'USING column "{name}" is not on both sides', u)
                    # ASOF: the last USING column is the time, a.t >= b.t (DuckDB)
                    last = method == "asof" and i == len(using) - 1
                    parts.append(fn.compare("ge" if last else "eq", lc, rc))
                    merged.append((lc, rc))
                cond = fold_and(parts)
            elif on is not None:
                cond = self.boolean(self.expr(on, both), on)
                if outer is not None:
                    self.local_only([cond], both, on)
                self.no_aggs(cond, "JOIN conditions", on)
                if self.take_pending(both):
                    raise self.error("subqueries in ON are not supported", on)
            elif jkind not in ("cross", "inner") and method != "natural":
                raise self.error(f"{side.upper()} JOIN needs ON or USING", j)
            if jkind == "inner" and cond is None:
                jkind = "cross"
            if lateral is not None:
                plan = self.lateral_join(plan, rplan, lateral, jkind, cond, j)
            elif method == "asof":
                try:
                    plan = asofjoin.plan(plan, rplan, cond, jkind == "left", before_comma)
                except QueryError as e:
                    raise self.error(str(e), on if on is not None else j) from None
            else:
                plan = Join(plan, rplan, jkind, condition=cond)
            scope = both
            if merged:
                plan, scope = self.merge_using(plan, scope, merged, jkind)
        scope.outer = outer
        return plan, scope

    def lateral(self, node, left: Scope) -> tuple[Plan, Scope, tuple]:
        """``LATERAL (subquery)`` (or a FROM subquery naming an earlier FROM item, DuckDB's
        implicit lateral), decorrelated as a correlated subquery in WHERE is: bound with
        the earlier items as its enclosing scope, its ``inner = outer`` equalities become
        join keys. Returns the subquery's plan, its scope and (correlation, count columns:
        an aggregate without GROUP BY counts 0 where no inner row matches)."""
        sub = node.this if isinstance(node, exp.Lateral) else node
        if not isinstance(sub, exp.Subquery):
            raise self.error("LATERAL of anything but a subquery (a table function) is not "
                             "supported", node)
        alias_node = node.args.get("alias") or sub.args.get("alias")
        alias = alias_node.name if alias_node is not None and alias_node.name else None
        columns = [c.name for c in alias_node.columns] if alias_node is not None and \
            alias_node.columns else None
        mine = {c.name for _, c in left.columns} | {  # the FROM items before it
            c.name for cols in left.aliases.values() for _, c in cols}

        def further_out():
            return self.error("LATERAL: a subquery naming a column of a query further out "
                              "than the FROM items before it is not supported", sub)
        if isinstance(sub.this, exp.Select) and not (sub.this.args.get("from_") or
                                                     sub.this.args.get("from")):
            # LATERAL (SELECT t.x + 1 AS y): values of each left row, no table
            if any(sub.this.args.get(a) for a in ("where", "group", "having", "order",
                                                  "limit", "offset", "distinct")):
                raise self.error("LATERAL (SELECT ... ) without FROM takes only a select "
                                 "list here", sub)
            items, _ = self.select_items(sub.this, Scope([], outer=left))
            if any(isinstance(x, (Agg, WindowFn)) for _, e in items for x in e.walk()) \
                    or left.pending:
                raise self.error("LATERAL (SELECT ...) without FROM: aggregates, window "
                                 "functions and subqueries are not supported", sub)
            if any(not e.columns() <= mine for _, e in items):
                raise further_out()
            cols = [(self.fresh(n), e) for n, e in items]
            names = self.rename([n for n, _ in items], columns, node)
            return None, Scope.of([(n, Col(c, e.type)) for n, (c, e) in
                                   zip(unique_names(names), cols, strict=True)], alias), \
                ("values", cols)
        written, sub, topn = sub, *self.lateral_topn(sub)
        self._lateral_items = isinstance(sub.this, exp.Select)
        try:
            right, names, corr = self.subquery(sub, left)
        finally:
            self._lateral_items = False
        if topn is not None:
            names = names[:len(names) - len(topn[2])]  # not the ORDER BY keys after them
            if corr.residual or corr.one_row:
                raise self.error("LATERAL: LIMIT/OFFSET needs a correlation by inner = outer "
                                 "equalities only, and no aggregate", written)
        if corr.residual and corr.one_row:  # the aggregate would depend on the left row
            raise self.error("LATERAL: an aggregate over a correlation other than inner = "
                             "outer equalities is not supported", sub)
        inner_cols = {c for c, _ in right.schema}
        if any(not o.columns() <= mine for o, _ in corr.keys) or any(
                not e.columns() - inner_cols <= mine for e in corr.residual):
            raise further_out()
        if corr.residual and isinstance(sub.this, exp.Select) and sub.this.args.get(
                "distinct"):  # DISTINCT would see the residual's inner columns too
            raise self.error("LATERAL: DISTINCT over a correlation other than inner = "
                             "outer equalities is not supported", sub.this.expressions[0].unalias())
        if (corr.keys or corr.residual) and isinstance(sub.this, exp.Select) and any(
                w.find_ancestor(exp.Subquery) is sub for w in sub.this.find_all(exp.Window)):
            # a window would run over every left row's inner rows at once
            raise self.error("LATERAL: window functions in a correlated subquery are not "
                             "supported", next(sub.this.find_all(exp.Window)))
        inner = first_project(right)
        exprs = dict(inner.exprs) if inner is not None else {}
        counts = [c for c, _ in right.schema[:len(names)] if corr.keys and corr.one_row and
                  isinstance(exprs.get(c), Col) and self._is_count(right, exprs[c].name)]
        names = unique_names(self.rename(names, columns, node))
        # the named columns only, not the correlation keys after them
        scope = Scope.of([(n, Col(c, t)) for n, (c, t) in
                          zip(names, right.schema[:len(names)], strict=True)], alias)
        # the ORDER BY keys' columns (topn), before lifting moves columns about
        keys = [c for c, _ in right.schema[len(names):len(names) + len(topn[2])]] \
            if topn is not None else []
        right, after = self.lift_lateral_items(right, mine, corr, sub)
        if topn is not None:  # each left row's first rows: numbered per correlation key
            limit, offset, order = topn
            cols = dict(right.schema)
            if any(c not in cols for c in keys) or {n for n, _ in after} & set(keys):
                raise self.error("LATERAL: ORDER BY over the left side's columns with LIMIT "
                                 "is not supported", written)
            rn = self.fresh("rn")
            right = Window(right, [(rn, WindowFn(
                "row_number", (), tuple(i for _, i in corr.keys),
                tuple(SortSpec(Col(c, cols[c]), d, nf) for c, (d, nf) in
                      zip(keys, order, strict=True)), None, INT64))])
            kept = [fn.compare("gt", Col(rn, INT64), Lit(offset, INT64))]
            if limit is not None:
                kept.append(fn.compare("le", Col(rn, INT64), Lit(offset + limit, INT64)))
            right = Filter(right, fold_and(kept))
        return right, scope, ("join", corr, counts, after)

    def lateral_topn(self, sub: exp.Subquery) -> tuple[exp.Subquery, tuple | None]:
        """``LATERAL (SELECT ... ORDER BY o LIMIT n OFFSET m)``: the subquery without ORDER
        BY/LIMIT/OFFSET, its ORDER BY keys as extra select items at the end; ``lateral``
        then keeps rows m+1..m+n of each correlation key by ``row_number() OVER
        (PARTITION BY the keys ORDER BY o)``. Returns (subquery, (limit, offset,
        [(desc, nulls_first)] per key)) or (sub, None) when there is no LIMIT/OFFSET."""
        sel = sub.this
        if not isinstance(sel, exp.Select) or not (sel.args.get("limit") or
                                                   sel.args.get("offset")):
            return sub, None
        limit, offset, percent = self.limit(sel)
        if percent is not None or sel.args.get("distinct") or sel.args.get("group") or \
                sel.args.get("having"):
            return sub, None  # refused as before (a correlated LIMIT, GROUP BY, ...)
        sel = sel.copy()
        aliases = {e.alias.lower(): e.unalias() for e in sel.expressions if e.alias}
        order = []
        for i, o in enumerate((sel.args.get("order") or exp.Order()).expressions):
            e = o.this
            if isinstance(e, exp.Literal) and not e.is_string:  # ORDER BY 2
                k = int(e.this)
                if not 1 <= k <= len(sel.expressions) or isinstance(
                        sel.expressions[k - 1], exp.Star):
                    return sub, None
                e = sel.expressions[k - 1].unalias()
            elif isinstance(e, exp.Column) and not e.table and e.name.lower() in aliases:
                e = aliases[e.name.lower()]
            sel.select(exp.alias_(e.copy(), f"__mapdb_lateral_order{i}"), copy=False)
            order.append((bool(o.args.get("desc")), bool(o.args.get("nulls_first"))))
        for arg in ("order", "limit", "offset"):
            sel.set(arg, None)
        return exp.Subquery(this=sel, alias=sub.args.get("alias")), (limit, offset, order)

    def lift_lateral_items(self, right: Plan, mine: set[str], corr: Correlation,
                           sub) -> tuple[Plan, list]:
        """A LATERAL subquery's select items that read the left side's columns (``SELECT
        t.a, y FROM u WHERE u.k = t.k``) are computed above the join, where the left row
        is: the subquery passes up the inner columns they read instead. (``select`` lets
        them through only in a plain select list: no aggregate, DISTINCT, ORDER BY or
        window, so the subquery's plan ends with its items' projection.)"""
        if not isinstance(right, Project) or not any(e.columns() & mine
                                                      for _, e in right.exprs):
            return right, []
        types = right.input.types()
        after = [(n, e) for n, e in right.exprs if e.columns() & mine]
        keep = [(n, e) for n, e in right.exprs if not e.columns() & mine]
        have = {n for n, _ in keep}
        for _, e in after:
            for c in sorted(e.columns() - mine):
                if c not in have:
                    keep.append((c, Col(c, types[c])))
                    have.add(c)
        return Project(right.input, keep), after

    def lateral_join(self, plan: Plan, right: Plan | None, lateral: tuple, jkind: str,
                     cond: Expr | None, node) -> Plan:
        """``plan`` joined with a LATERAL subquery (see ``lateral``)."""
        if lateral[0] == "values":
            if jkind not in ("cross", "inner", "left") or (
                    cond is not None and not (isinstance(cond, Lit) and cond.value is True)):
                raise self.error("LATERAL (SELECT ...) without FROM: only with ON true",
                                 node)
            return Project(plan, [(c, Col(c, t)) for c, t in plan.schema] + lateral[1])
        _, corr, counts, after = lateral
        if jkind in ("right", "full"):
            raise self.error(f"{jkind.upper()} JOIN LATERAL is not supported (DuckDB "
                             "refuses it too)", node)
        asked, after_cond = jkind, None
        if corr.one_row and corr.keys:  # one row per left row, matched or not
            jkind = "left"
        keys = [o for o, _ in corr.keys], [i for _, i in corr.keys]
        if cond is not None and isinstance(cond, Lit) and cond.value is True:
            cond = None
        if corr.one_row and corr.keys:
            # ON reads the row the aggregate gives (COUNT 0 where nothing matched): it is
            # tested above the join, not as its condition
            after_cond, cond = cond, None
        if corr.residual:  # other correlated conditions (u.k < t.k): the join's condition
            cond = fold_and(list(corr.residual) + ([cond] if cond is not None else []))
        kind = jkind if jkind == "left" else ("inner" if keys[0] or cond is not None
                                              else "cross")
        right = self.fill_domain(plan, Join(None, right, kind, keys[0], keys[1]))
        out: Plan = Join(plan, right, kind, keys[0], keys[1], condition=cond)
        if after:  # select items over the left row, on the joined rows
            if kind == "left" and not keys[1]:
                raise self.error("LEFT JOIN LATERAL with the left side's columns in the "
                                 "select list needs an inner = outer correlation", node)
            # a left row without a match has no subquery row: its items are NULL
            matched = Call("is_not_null", (keys[1][0],), BOOL) if kind == "left" else None
            out = Project(out, [(c, Col(c, t)) for c, t in out.schema] + [
                (n, e if matched is None else fn.case([(matched, e)], Lit(None, e.type)))
                for n, e in after])
        if corr.domain is not None and corr.marker is not None:  # over no inner rows
            empties = {c: _fold_tree(e) for c, e in corr.empties.items() if e is not None}
            unmatched = is_null(Col(corr.marker, BOOL))
            out = Project(out, [(c, fn.case([(unmatched, fn.convert(empties[c], t))],
                                             Col(c, t))
                                 if c in empties and not (isinstance(empties[c], Lit) and
                                                          empties[c].value is None)
                                 else Col(c, t)) for c, t in out.schema])
        elif counts:  # COUNT over no inner rows is 0, not the padding NULL
            fix = set(counts)
            out = Project(out, [(c, fn.coalesce([Col(c, t), Lit(0, INT64)]) if c in fix
                                 else Col(c, t)) for c, t in out.schema])
        if after_cond is not None and asked == "left":  # no match: the subquery's NULLs
            mine = {c for c, _ in right.schema}
            out = Project(out, [(c, fn.case([(after_cond, Col(c, t))], Lit(None, t))
                                 if c in mine else Col(c, t)) for c, t in out.schema])
        elif after_cond is not None:
            out = Filter(out, after_cond)
        return out

    def merge_using(self, plan: Plan, scope: Scope, merged: list[tuple[Col, Col]],
                    kind: str) -> tuple[Plan, Scope]:
        """A USING (or NATURAL) join's columns, as DuckDB merges them: the unqualified
        name (and ``*``) gives one column, at the left side's place: the left value for
        inner and left joins, the right one for right joins, the first non-NULL of the two
        for full joins. Qualified names still reach each side's own column."""
        replace: dict[str, Col] = {}
        drop = set()
        extra = []
        for lc, rc in merged:
            if kind == "full":
                value = fn.coalesce([lc, rc])
                c = Col(self.fresh("using"), value.type)
                extra.append((c.name, value))
            else:
                c = rc if kind == "right" else lc
            replace[lc.name] = c
            drop.add(rc.name)
        if extra:
            plan = Project(plan, [(n, Col(n, t)) for n, t in plan.schema] + extra)
        cols = [(n, replace.get(c.name, c)) for n, c in scope.columns if c.name not in drop]
        return plan, Scope(cols, scope.aliases, scope.outer, named=scope.named)

    def table_ref(self, src, ctes: dict) -> tuple[Plan, Scope]:
        if isinstance(src, (exp.Table, exp.Subquery)) and src.args.get("pivots"):
            try:  # t PIVOT (...): the subquery it stands for
                src = pivot.in_from(src, self, ctes)
            except pivot.PivotError as e:
                raise self.error(str(e), e.node) from None
        alias = src.alias_or_name if src.alias else None
        columns = [c.name for c in src.args["alias"].columns] if src.args.get("alias") \
            and src.args["alias"].columns else None
        if isinstance(src, exp.Table) and isinstance(src.this, exp.GenerateSeries):
            source = self.series(src.this)
            return self.scan_of(source, src, columns, alias or source.name)
        if isinstance(src, exp.Table) and not isinstance(src.this, exp.Identifier):
            f = src.this  # read_csv('f.csv'), t('x'): a table function
            what = (f.name if isinstance(f, exp.Anonymous) else f.key).lower()
            if what in ("readparquet", "readcsv"):  # sqlglot's nodes of read_parquet/csv
                what = f"read_{what[4:]}"
            if what not in files.FUNCTIONS:
                raise self.error(f"table function {what}() is not supported", src)
            ref = files.FileRef(files.FUNCTIONS[what], self.file_args(f, what))
            return self.scan_of(self.open_file(ref, src), src, columns, alias or what)
        if isinstance(src, exp.Table):
            name = src.name
            schema = self.schema_of(src)  # main.t, information_schema.tables (query.resolve)
            if not src.args.get("db") and isinstance(ctes.get(name.lower()), WorkSource):
                work = ctes[name.lower()]  # a recursive CTE's step reading its own rows
                return self.scan_of(work, src, columns or work.names, alias or name)
            if not src.args.get("db") and name.lower() in ctes:
                cte = ctes[name.lower()]
                shared = self._cte_plans.get(id(cte))
                if shared is None and recursive.is_recursive(cte):
                    inner, names = self.recursive_cte(cte, name, ctes)
                    shared = self._cte_plans[id(cte)] = (inner, names)
                if shared is None:
                    inner, names = self.query(cte.this, {k: v for k, v in ctes.items()
                                                         if k != name.lower()})
                    cte_cols = cte.args["alias"].columns if cte.args.get("alias") else None
                    if cte_cols:
                        names = self.rename(names, [c.name for c in cte_cols], cte)
                    if self._references(name) < 2:  # read once: inlined, optimized in place
                        return self.subplan(inner, self.rename(names, columns, src),
                                            alias or name)
                    shared = self._cte_plans[id(cte)] = (inner, names)
                inner, names = shared
                ref = CTEScan(inner, name, [(self.fresh(n), c) for n, (c, _) in
                                            zip(names, inner.schema, strict=True)])
                return self.subplan(ref, self.rename(names, columns, src), alias or name)
            try:
                source = self.catalog(f"{schema.name}.{name}" if schema else name)
            except KeyError:
                if schema:
                    raise self.error(f'table "{schema.name}.{name}" not found (schemas: '
                                     f'main, information_schema)', src) from None
                fmt = files.format_of(name) if src.this.quoted else None
                if fmt is None:
                    raise self.error(f'table "{name}" not found', src) from None
                # FROM 'x.parquet': no such table, so the file (DuckDB's replacement scan)
                source = self.open_file(files.FileRef(fmt, (name,)), src)
                return self.scan_of(source, src, columns, alias or files.alias_of(name))
            if isinstance(source, ViewDef):
                inner, names = self.view(source, src)
                plan, scope = self.subplan(inner, self.rename(names, columns, src),
                                           alias or name)
            else:
                plan, scope = self.scan_of(source, src, columns, alias or name)
            if alias is None:
                scope.named = frozenset({name.lower()})
            return plan, scope
        if isinstance(src, exp.Subquery):
            inner, names = self.query(src.this, ctes)
            return self.subplan(inner, self.rename(names, columns, src), alias)
        if isinstance(src, exp.Unnest):  # FROM unnest(l): SELECT unnest(l) AS unnest
            if len(src.expressions) != 1:
                raise self.error("FROM unnest() takes one list", src)
            name = columns[0] if columns else alias or "unnest"
            inner, names = self.query(exp.select(exp.alias_(
                exp.Explode(this=src.expressions[0].copy()), name, quoted=True)), ctes)
            return self.subplan(inner, self.rename(names, columns, src), alias or "unnest")
        raise self.error(f"FROM {src.key.upper()} is not supported", src)

    def database(self) -> str | None:
        """The database's name, as DuckDB names a database opened from its path (query.
        resolve.database_name); None where the catalog is not a database's."""
        return getattr(self.catalog, "database", None)

    def schema_of(self, src: exp.Table) -> exp.Identifier | None:
        """The schema a table name is qualified by: ``<database>.main.t`` and
        ``<database>.t`` are ``main.t`` and ``t`` (DuckDB reads ``x.t`` as schema x,
        else catalog x); another catalog is DuckDB's error."""
        cat, schema = src.args.get("catalog"), src.args.get("db")
        db = self.database()
        if cat is not None:
            if db is None or cat.name.lower() != db.lower() or schema.name.lower() != "main":
                raise self.error(f'table "{cat.name}.{schema.name}.{src.name}" not found: '
                                 f'no catalog "{cat.name}" with schema "{schema.name}" (the '
                                 f'database is "{db}", its schema main)', src)
            return schema
        if schema is not None and db is not None and schema.name.lower() == db.lower() \
                and schema.name.lower() not in ("main", "information_schema"):
            return None
        return schema

    def qualified(self, node: exp.Column, scope: Scope) -> None:
        """``main.t.c``, ``<database>.t.c`` and ``<database>.main.t.c``: t must be a
        stored table or view named in FROM without an alias (DuckDB: ``FROM t AS a``
        hides main.t); ``s.a.b`` (a struct's field qualified by table) stays refused."""
        cat, schema = node.args.get("catalog"), node.args.get("db")
        db = (self.database() or "").lower()
        ok = schema.name.lower() == "main" or (cat is None and schema.name.lower() == db)
        if cat is not None:
            ok = ok and cat.name.lower() == db and schema.name.lower() == "main"
        if not ok:
            raise self.error("a column qualified by schema and table is not supported "
                             "(other than main.t.c, or with the database's name)", node)
        if not scope.names_table(node.table):
            parts = [p.name for p in (cat, schema) if p is not None]
            raise self.error(f'table "{".".join([*parts, node.table])}" not found (a '
                             f'table given an alias is named by it)', node)

    def recursive_cte(self, cte: exp.CTE, name: str, ctes: dict) -> tuple[Plan, list[str]]:
        """WITH RECURSIVE's ``name AS (anchor UNION [ALL] step)`` as a RecursiveCTE: the
        anchor bound without the name, the step with the name reading the working table
        (``recursive.py``); the step's columns cast to the anchor's types, as DuckDB."""
        union = cte.this
        others = {k: v for k, v in ctes.items() if k != name.lower()}
        if recursive.reads(union.this, name):
            raise self.error(f'WITH RECURSIVE: the first branch of "{name}" may not read '
                             f'"{name}" (DuckDB: circular reference)', union.this)
        for arg in ("order", "limit", "offset"):
            if union.args.get(arg):
                raise self.error(f"{arg.upper().replace('ORDER', 'ORDER BY')} in a recursive "
                                 "query is not allowed "
                                 "(as in DuckDB)", union.args[arg])
        anchor, names = self.query(union.this, others)
        cte_cols = cte.args["alias"].columns if cte.args.get("alias") else None
        if cte_cols:
            names = self.rename(names, [c.name for c in cte_cols], cte)
        names = unique_names(names)
        for i, (n, (_, t)) in enumerate(zip(names, anchor.schema, strict=True)):
            if t.kind == "null":  # DuckDB errs too (no cast to NULL)
                where = cte_cols[i] if cte_cols and i < len(cte_cols) else union.this
                raise self.error(f'WITH RECURSIVE: column "{n}" of "{name}" is NULL in the '
                                 "first branch; cast it to a type", where)
        cols = [(self.fresh(n), t) for n, (_, t) in zip(names, anchor.schema, strict=True)]
        work = WorkSource(name, dict(cols), names)
        step, snames = self.query(union.expression, {**others, name.lower(): work})
        if len(snames) != len(names):
            raise self.error(f'WITH RECURSIVE: the branches of "{name}" have {len(names)} '
                             f"and {len(snames)} columns", union.expression)
        if recursive.under_cte(step, work):
            raise self.error(f'WITH RECURSIVE: "{name}" read through another CTE in its '
                             "own step is not supported", union.expression)
        anchor = Project(anchor, [(c, Col(a, t)) for (c, t), (a, _) in
                                  zip(cols, anchor.schema, strict=True)])
        step = Project(step, [(c, Col(a, at) if at == t else fn.cast(Col(a, at), t))
                              for (c, t), (a, at) in zip(cols, step.schema, strict=True)])
        return RecursiveCTE(anchor, step, work, union.args.get("distinct") is not False), \
            names

    def scan_of(self, source, src, columns: list[str] | None, label: str
                ) -> tuple[Plan, Scope]:
        """A scan of ``source`` read by the FROM item ``src`` (``columns``: its alias's
        column names), visible as ``label``."""
        types = source.types()
        plan: Plan = Scan(source, list(types))
        cols = [(n, Col(n, t)) for n, t in types.items()]
        if any(n in self._scanned for n, _ in cols):
            # a name another scan of this query already has (a table read twice, or
            # two tables' "k"): renamed, since internal names are unique per query
            plan = Project(plan, [(self.fresh(n) if n in self._scanned else n, c)
                                  for n, c in cols])
            cols = [(n, Col(c, t)) for (n, _), (c, t) in zip(cols, plan.schema,
                                                             strict=True)]
        self._scanned.update(c.name for _, c in cols)
        if columns:
            names = self.rename([n for n, _ in cols], columns, src)
            cols = [(n, c) for n, (_, c) in zip(names, cols, strict=True)]
        return plan, Scope.of(cols, label)

    def file_args(self, f: exp.Func, what: str) -> tuple[str, ...]:
        """The path or paths (a list literal) a read_parquet/read_csv/read_json call
        names: constant strings; DuckDB's named options are not supported."""
        args = [f.this] if isinstance(f.this, exp.Expression) and \
            not isinstance(f, exp.Anonymous) else []
        args += list(f.expressions)
        if len(args) != 1:
            raise self.error(f"{what}() takes one path, glob or list of paths here (named "
                             "options are not supported)", f)
        items = args[0].expressions if isinstance(args[0], exp.Array) else [args[0]]
        if not items:
            raise self.error(f'"{what}" needs at least one file to read', f)
        out = []
        for node in items:
            v = _fold_tree(self.expr(node, Scope([])))
            if not isinstance(v, Lit) or v.type.kind != "string" or v.value is None:
                raise self.error(f"{what}() takes a constant string (a path or glob)", node)
            out.append(v.value)
        return tuple(out)

    def open_file(self, ref, node) -> object:
        """The Source of the files ``ref`` names: through the catalog when it opens files
        (the session: such plans are not cached), else query.files."""
        opener = getattr(self.catalog, "open_file", None) or files.open_file
        try:
            return opener(ref)
        except QueryError as e:
            raise self.error(str(e), node) from None

    def series(self, f: exp.GenerateSeries):
        """range(stop) / range(start, stop[, step]) (stop excluded) and generate_series
        (stop included) of integers, as DuckDB: one BIGINT column named after the
        function."""
        import numpy as np
        import pyarrow as pa

        from mapdb.query.source import ArrowSource
        name = "range" if f.args.get("is_end_exclusive") else "generate_series"
        values = []
        for key in ("start", "end", "step"):
            node = f.args.get(key)
            if node is None:
                values.append(1 if key == "step" else 0)
                continue
            v = _fold_tree(self.expr(node, Scope([])))
            if not isinstance(v, Lit) or v.type.kind != "int" or v.value is None:
                raise self.error(f"{name}() takes constant integers here (dates, "
                                 "timestamps and expressions are not supported)", node)
            values.append(int(v.value))
        start, stop, step = values
        if step == 0:
            raise self.error(f"{name}(): the step cannot be 0", f)
        if name == "generate_series":
            stop += 1 if step > 0 else -1
        n = max(0, -(-(stop - start) // step))
        if n > MAX_SERIES:
            raise self.error(f"{name}() of {n:,} rows: the limit is {MAX_SERIES:,}", f)
        return ArrowSource(name, pa.table({name: pa.array(
            np.arange(start, start + n * step, step, dtype=np.int64)[:n])}))

    def view(self, v: ViewDef, node) -> tuple[Plan, list[str]]:
        """A stored view read by ``node``: its SQL bound here as a subquery (query.views);
        an error inside it names the view."""
        if len(self._views) >= MAX_VIEW_DEPTH or v.name.lower() in self._views:
            raise self.error(f'view "{v.name}" reads itself (through '
                             f'{" -> ".join(self._views)})', node)
        outer_sql, outer_tree = self.sql, self._tree
        try:
            tree = _rewrite(parse(v.sql), v.sql)
            check(tree, v.sql)
            self.sql, self._tree = v.sql, None
            self._views.append(v.name.lower())
            return self.query(tree, {})
        except QueryError as e:  # its position is in the view's text: said so
            inner = str(e).replace(" (line ", " (view's SQL: line ")
            raise QueryError(f'view "{v.name}" cannot be read: {inner}', locate(node),
                             outer_sql) from None
        finally:
            self.sql, self._tree = outer_sql, outer_tree
            if self._views and self._views[-1] == v.name.lower():
                self._views.pop()

    def rename(self, names: list[str], columns: list[str] | None, node) -> list[str]:
        if not columns:
            return names
        if len(columns) > len(names):
            raise self.error(f"{len(columns)} column names given for {len(names)} columns",
                             node)
        return columns + names[len(columns):]

    def subplan(self, inner: Plan, names: list[str], alias: str | None) -> tuple[Plan, Scope]:
        names = unique_names(names)
        cols = [(n, Col(c, t)) for n, (c, t) in zip(names, inner.schema, strict=True)]
        return inner, Scope.of(cols, alias)

    # -- WHERE and subqueries --------------------------------------------------------------
    def where(self, plan: Plan, node, scope: Scope, corr: Correlation | None) -> Plan:
        """WHERE: [NOT] EXISTS and [NOT] IN (subquery) conjuncts become semi/anti joins
        where they can (else mark joins, as elsewhere in expressions); scalar subqueries
        become joins their comparison filters; in a correlated subquery, conjuncts over the
        enclosing query's columns go to ``corr``."""
        outer = scope.outer_names() if corr is not None else set()
        local = []
        # conjuncts with subqueries last: theirs may stand on this one's correlation keys
        # (see enclosing_only)
        for part in sorted(and_parts(node), key=lambda p: p.find(exp.Select) is not None):
            further = self.further_out(part, scope, corr)
            if further:
                # a nested subquery reads the enclosing query's columns: over the domain
                # they are this query's own (enclosing_only reads them through it)
                plan = self.apply(plan, self.take_pending(scope))
                if local:
                    plan, local = Filter(plan, fold_and(local)), []
                plan = self.domain_join(plan, scope, corr, part, further)
            joined = self.subquery_conjunct(plan, part, scope)
            if isinstance(joined, Plan):
                plan = joined
                continue
            e = joined if joined is not None else self.expr(part, scope)
            self.no_aggs(e, "WHERE", part)
            for j in scope.pending:  # x of x IN (subquery) is a join key, not in e
                for k in j.left_keys:
                    self.no_aggs(k, "WHERE", part)
            e = self.boolean(e, part)
            if outer and e.columns() & outer:
                # (o = i AND x) OR (o = i AND y): the correlation key repeated in every
                # branch is a key (TPC-DS q41), the rest a filter or residual
                for f in factor_or(e):
                    if f.columns() & outer:
                        self.correlate(f, outer, corr, part)
                    else:
                        local.append(f)
            else:
                if corr is None and scope.outer is not None:  # e.g. a UNION's branch
                    self.local_only([e], scope, part)
                local.append(e)
        plan = self.apply(plan, self.take_pending(scope))
        return Filter(plan, fold_and(local)) if local else plan

    @staticmethod
    def further_out(part, scope: Scope, corr: Correlation | None) -> list[Col]:
        """The columns of the enclosing queries that a subquery in WHERE conjunct ``part``
        names (qualified) and this (correlated) subquery does not equate with its own:
        they are read through its domain (none where it is not to have one)."""
        if corr is None or corr.lateral or corr.domain is not None or scope.outer is None:
            return []
        equated = {o.name for o, _ in corr.keys if isinstance(o, Col)}
        out = {}
        for sel in part.find_all(exp.Select):
            own = {t.alias_or_name.lower() for t in sel.find_all(exp.Table)}
            for c in sel.find_all(exp.Column):
                if c.table and c.table.lower() not in own and scope.table(c.table) is None:
                    try:
                        col = scope.outer.lookup(c.name, c.table)
                    except QueryError:
                        col = None
                    if col is not None and col.name not in equated:
                        out[col.name] = col
        return list(out.values())

    def correlate(self, e: Expr, outer: set[str], corr: Correlation, node) -> None:
        if isinstance(e, Call) and e.op == "eq":
            a, b = e.args
            for o, i in ((a, b), (b, a)):
                if o.columns() and o.columns() <= outer and i.columns() and \
                        not i.columns() & outer:
                    corr.keys.append((o, i))
                    return
        corr.residual.append(e)

    def subquery_conjunct(self, plan: Plan, node, scope: Scope) -> Plan | Expr | None:
        """A WHERE conjunct [NOT] EXISTS or [NOT] IN (subquery) as a semi or anti join of
        ``plan`` (the mark join's fast path: rows whose mark would be TRUE, or FALSE), or
        as the condition to filter by where it cannot be (a correlated NOT IN, whose NULLs
        are per row); None for other conjuncts."""
        negate = False
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Not):
            inner = node.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.Exists) or (isinstance(inner, exp.In) and
                                                 inner.args.get("query")):
                negate, node = True, inner
        if not (isinstance(node, exp.Exists) or (isinstance(node, exp.In) and
                                                 node.args.get("query"))):
            return None
        x = self.in_operand(node, scope) if isinstance(node, exp.In) else None
        plan = self.apply(plan, self.take_pending(scope))  # x's own subqueries first
        test = self.membership(node, x, scope)
        if isinstance(test, Join) and not (negate and test.null_aware and (
                len(test.left_keys) > 1 or test.condition is not None)):
            return Join(plan, self.fill_domain(plan, test), "anti" if negate else "semi",
                        test.left_keys,
                        test.right_keys, condition=test.condition,
                        null_aware=negate and test.null_aware)
        e = self.mark_column(test, scope)
        return fn.logic_not(e) if negate else e

    def in_operand(self, node: exp.In, scope: Scope) -> list[Expr]:
        """x of x IN (subquery): one value, or a row value's fields ((a, b) IN ...)."""
        this = node.this
        while isinstance(this, exp.Paren):
            this = this.this
        fields = this.expressions if isinstance(this, exp.Tuple) else [this]
        return [self.expr(f, scope) for f in fields]

    def membership(self, node, x: list[Expr] | None, scope: Scope) -> Join | Expr:
        """EXISTS (``x`` None) or x IN (subquery) bound and decorrelated (``x``: one
        value, or a row value's fields): the mark join that answers it (its left input to
        come; x's fields its first keys, the correlation's equalities its keys after them,
        the rest its condition), or, for a correlated aggregate without GROUP BY (one row
        per outer row), the answer as an expression."""
        query = node.this if x is None else node.args["query"]
        right, names, corr = self.subquery(query, scope)
        if x is not None and len(names) != len(x):
            raise self.error(f"IN (subquery): the subquery returns {len(names)} columns, "
                             f"not {len(x)}", node)
        if x is not None and len(x) > 1 and (corr.keys or corr.residual):
            raise self.error("a row value IN a correlated subquery is not supported "
                             "(DuckDB: not implemented)", node)
        if corr.one_row and (corr.keys or corr.residual):
            if x is None:
                return Lit(True, BOOL)
            return fn.compare("eq", x[0], self.single_value(right, names, corr, query,
                                                            scope))
        lk, rk = [o for o, _ in corr.keys], [i for _, i in corr.keys]
        if x is not None:
            if any(isinstance(e, WindowFn) for f in x for e in f.walk()):
                raise self.error("a window function before IN (subquery) is not supported",
                                 node)
            fields = []
            for f, (col, t) in zip(x, right.schema, strict=False):
                if f.type.kind == "null":
                    f = Lit(None, t)
                eq = fn.compare("eq", f, Col(col, t))
                fields.append(eq.args if isinstance(eq, Call) and eq.op == "eq" else
                              (f, Col(col, t)))
            lk, rk = [a for a, _ in fields] + lk, [b for _, b in fields] + rk
        j = Join(None, right, "mark", lk, rk, condition=fold_and(corr.residual),
                 null_aware=len(x) if x is not None else 0, mark=self.fresh("mark"))
        self.enclosing_only(j, scope, node)
        return j

    def mark_column(self, test: Join | Expr, scope: Scope) -> Expr:
        """The boolean a membership test gives: a mark join's column (the join waits in
        ``scope.pending`` for the plan it marks)."""
        if not isinstance(test, Join):
            return test
        scope.pending.append(test)
        self.subquery_cols.add(test.mark)
        return Col(test.mark, BOOL)

    def enclosing_only(self, j: Join, scope: Scope, node) -> None:
        """A subquery's join reads the query it is in. A column of a query further out (a
        subquery in a subquery naming the outermost query's columns) is read through
        this query's correlation: where it has ``outer.c = inner``, only rows with
        inner = c meet the outer row, so inner stands for c; others are refused."""
        outer = scope.outer_names()
        inner = {c for c, _ in j.right.schema}

        def used() -> set[str]:
            cols = set().union(*(k.columns() for k in j.left_keys))
            if j.condition is not None:
                cols |= j.condition.columns() - inner
            return cols & outer

        if not used():
            return
        same = {o: i for o, i in (scope.corr.keys if scope.corr is not None else [])
                if isinstance(o, Col)}
        if scope.corr is not None:
            same.update(scope.corr.stands)
        j.left_keys = [substitute(k, same) for k in j.left_keys]
        if j.condition is not None:
            j.condition = substitute(j.condition, same)
        if used():
            raise self.error("a subquery inside a subquery may use the outermost query's "
                             "columns only where the middle one equates them with its own "
                             "(outer.c = inner.c in its WHERE)", node)

    def subquery(self, node, scope: Scope, scalar: bool = False
                 ) -> tuple[Plan, list[str], Correlation]:
        corr = Correlation(scalar=scalar)
        while isinstance(node, exp.Subquery):
            node = node.this
        plan, names = self.query(node, scope.ctes, scope, corr)
        return plan, names, corr

    def scalar_subquery(self, node, scope: Scope) -> Expr:
        right, names, corr = self.subquery(node, scope, scalar=True)
        return self.single_value(right, names, corr, node, scope)

    def single_value(self, right: Plan, names: list[str], corr: Correlation, node,
                     scope: Scope) -> Expr:
        n_out = len(names)
        if n_out != 1:
            raise self.error(f"a subquery used as a value must return one column, not "
                             f"{n_out}", node)
        if corr.residual:
            raise self.error("a correlated scalar subquery may only compare the enclosing "
                             "query's columns with = ", node)
        col, t = right.schema[0]
        j = Join(None, right, "single", [o for o, _ in corr.keys], [i for _, i in corr.keys])
        self.enclosing_only(j, scope, node)
        scope.pending.append(j)
        value: Expr = Col(col, t)
        empty = corr.empty if corr.marker is not None else None
        if empty is not None:
            # no row matched (the marker NULL): the value over no rows (COUNT's 0)
            empty = _fold_tree(empty)
            if not (isinstance(empty, Lit) and empty.value is None):
                if empty.type != t:
                    empty = fn.convert(empty, t)
                value = fn.case([(is_null(Col(corr.marker, BOOL)), empty)], value)
                self.subquery_cols.add(corr.marker)
        self.subquery_cols.add(col)
        return value

    def _is_count(self, plan: Plan, name: str) -> bool:
        while plan is not None:
            if isinstance(plan, Aggregate):
                return any(n == name and a.fn in ("count", "count_star", "count_distinct")
                           for n, a in plan.aggs)
            plan = plan.inputs[0] if plan.inputs else None
        return False

    def take_pending(self, scope: Scope) -> list:
        out = scope.pending[:]
        scope.pending.clear()
        return out

    def apply(self, plan: Plan, pending: list[Join]) -> Plan:
        """``plan`` joined with the subquery joins its expressions read (their left input
        left open until now)."""
        for j in pending:
            plan = Join(plan, self.fill_domain(plan, j), j.kind, j.left_keys, j.right_keys,
                        j.condition,
                        j.null_aware, mark=j.mark)
        return plan

    def lift_join(self, j: Join, lift, node) -> Join:
        """A pending subquery join over the groups: its keys and the outer parts of its
        condition in terms of the aggregate's output."""
        inner = {c for c, _ in j.right.schema}

        def outer_parts(e: Expr) -> Expr:
            if not e.columns() & inner:
                return lift(e, node)
            if isinstance(e, Call):
                return Call(e.op, tuple(outer_parts(a) for a in e.args), e.type, e.param)
            return e

        cond = outer_parts(j.condition) if j.condition is not None else None
        return Join(None, j.right, j.kind, [lift(k, node) for k in j.left_keys],
                    j.right_keys, cond, j.null_aware, mark=j.mark)

    def windows(self, plan, items, order_keys):
        found: dict[WindowFn, Col] = {}
        funcs = []

        def lift(e: Expr) -> Expr:
            if isinstance(e, WindowFn):
                if e not in found:
                    c = self.fresh("win")
                    funcs.append((c, e))
                    found[e] = Col(c, e.type)
                return found[e]
            if isinstance(e, Call):
                return Call(e.op, tuple(lift(a) for a in e.args), e.type, e.param)
            return e

        items = [(n, lift(e)) for n, e in items]
        order_keys = [SortKey(lift(k.expr), k.desc, k.nulls_first) for k in order_keys]
        if funcs:
            plan = Window(plan, funcs)
        return plan, items, order_keys

    def select_items(self, sel: exp.Select, scope: Scope
                     ) -> tuple[list[tuple[str, Expr]], dict[str, Expr]]:
        """The select list (``*`` expanded) and its explicit aliases (lower case -> item;
        the last of equal aliases wins, as in DuckDB). A ``*`` item REPLACEd or RENAMEd is
        an alias too: DuckDB's ORDER BY binds its name to the new value, not the input
        column."""
        items, aliases = [], {}
        for node in sel.expressions:
            if isinstance(node, exp.Star):
                items += self.star(node, scope.columns, scope, aliases)
                continue
            if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
                cols = scope.table(node.table)
                if cols is None:
                    raise self.error(f'table "{node.table}" not found', node)
                items += self.star(node.this, cols, scope, aliases)
                continue
            if columnsexpr.found(node):  # COLUMNS('regex'), max(COLUMNS(*)): one per column
                items += columnsexpr.expand(self, node, scope, aliases)
                continue
            bare = node
            while isinstance(bare, exp.Paren):  # (x) is named x, as in DuckDB
                bare = bare.this
            name = bare.alias_or_name if isinstance(bare, (exp.Alias, exp.Column)) else \
                duckdb_name(node, self.spelling)
            inner = node.this if isinstance(node, exp.Alias) else node
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.Explode):  # unnest(l): the rows multiply (select())
                items.append((name, self.unnest_item(inner, scope)))
                continue
            items.append((name, self.expr(inner, scope)))
            if isinstance(bare, exp.Column) and isinstance(items[-1][1], Col) and \
                    items[-1][1].name.lower() == name.lower():
                items[-1] = (items[-1][1].name, items[-1][1])  # named as the table spells it
            if isinstance(node, exp.Alias):
                aliases[name.lower()] = items[-1][1]
        if not items:
            raise self.error("the select list is empty (every column excluded)", sel)
        return items, aliases

    def not_nested(self, exprs: list[Expr], what: str, node) -> None:
        """Grouping, ordering and DISTINCT on LIST and STRUCT values are not implemented
        (DuckDB compares them element by element): refused, naming the clause."""
        for e in exprs:
            if e.type.nested:
                raise self.error(f"{what} on a {e.type.kind.upper()} value ({e.type}) is "
                                 "not supported", node)

    def unnest_item(self, node: exp.Explode, scope: Scope) -> Expr:
        """``unnest(l)`` as a select item: a marker call, made an Unnest operator by
        ``unnest_rows`` once the select list's aggregates and windows are computed."""
        if node.expressions:
            raise self.error("unnest() takes one argument (no options)", node)
        x = self.expr(node.this, scope)
        if x.type.kind not in ("list", "null"):
            raise self.error(f"unnest() needs a list, got {x.type}", node)
        return Call("unnest", (x,), x.type.element if x.type.kind == "list" else NULL)

    def unnest_rows(self, plan: Plan, items: list, order_keys: list, node):
        """The select list's unnest(l) items: each l computed into a column, then each row
        once per element (plan.Unnest; several are zipped, as DuckDB)."""
        at = [i for i, (_, e) in enumerate(items) if isinstance(e, Call) and e.op == "unnest"]
        if not at:
            return plan, items, order_keys
        made: dict[Expr, Col] = {}  # (the same unnest(l) twice is one column)
        for i in at:
            e = items[i][1]
            if e not in made:
                made[e] = Col(self.fresh("unnest"), e.type)
        plan = Project(plan, [(n, Col(n, t)) for n, t in plan.schema] +
                       [(c.name, e.args[0]) for e, c in made.items()])
        plan = Unnest(plan, tuple(c.name for c in made.values()),
                      tuple(e.type for e in made))
        items = [(n, made.get(x, x)) for n, x in items]
        order_keys = [SortKey(made.get(k.expr, k.expr), k.desc, k.nulls_first)
                      for k in order_keys]
        return plan, items, order_keys

    def star(self, star: exp.Star, cols: list[tuple[str, Col]], scope: Scope,
             aliases: dict[str, Expr]) -> list[tuple[str, Expr]]:
        """``*`` or ``t.*`` over ``cols``, with DuckDB's EXCLUDE (names, or ``t.name``),
        REPLACE (expr AS name: the first column of the name keeps its place, the others
        go) and RENAME (old AS new; a name not there is ignored, as DuckDB does). The
        REPLACEd and RENAMEd items go into ``aliases`` (ORDER BY binds them before an
        input column)."""
        items: list[tuple[str, Expr]] = list(cols)
        for e in star.args.get("except_") or []:
            if e.table:
                target = scope.table(e.table)
                if target is None:
                    raise self.error(f'table "{e.table}" not found', e)
                drop = {c.name for n, c in target if n.lower() == e.name.lower()}
                keep = [(n, c) for n, c in items if not (isinstance(c, Col) and
                                                         c.name in drop)]
            else:
                keep = [(n, c) for n, c in items if n.lower() != e.name.lower()]
            if len(keep) == len(items):
                raise self.error(f'column "{e.sql(dialect="duckdb")}" in EXCLUDE is not '
                                 "in the columns * stands for", e)
            items = keep
        for a in star.args.get("replace") or []:
            hits = [i for i, (n, _) in enumerate(items) if n.lower() == a.alias.lower()]
            if not hits:
                raise self.error(f'column "{a.alias}" in REPLACE is not in the columns * '
                                 "stands for", a)
            # DuckDB: the first column of the name takes the value, the others go (a
            # join's second "k")
            items[hits[0]] = (a.alias, self.expr(a.this, scope))
            items = [it for i, it in enumerate(items) if i not in hits[1:]]
        for a in star.args.get("rename") or []:
            items = [(a.alias if n.lower() == a.this.name.lower() else n, c)
                     for n, c in items]
        named = {a.alias.lower() for a in star.args.get("replace") or []} | \
            {a.alias.lower() for a in star.args.get("rename") or []}
        for n, c in items:
            if n.lower() in named:
                aliases[n.lower()] = c
        return items

    def resolve_item(self, node: exp.Expression, scope: Scope,
                     items: list[tuple[str, Expr]], what: str,
                     aliases: dict[str, Expr] | None = None) -> Expr:
        """GROUP BY / ORDER BY items: an ordinal, a select alias, or an expression. As in
        DuckDB, a bare name in ORDER BY is a select alias before it is an input column
        (``aliases``); in GROUP BY it is an input column first. An integer constant,
        in parentheses or negative too, is a position; another constant is refused in
        ORDER BY (DuckDB: it "has no effect") and a constant key in GROUP BY."""
        bare = node
        while isinstance(bare, exp.Paren):
            bare = bare.this
        lit = bare.this if isinstance(bare, exp.Neg) else bare
        if isinstance(lit, exp.Literal) and not lit.is_string and lit.this.isdigit():
            i = int(lit.this) if lit is bare else -int(lit.this)
            if not 1 <= i <= len(items):
                raise self.error(f"{what} position {i} is not in the select list "
                                 f"(1..{len(items)})", node)
            return items[i - 1][1]
        if what == "ORDER BY" and isinstance(bare, (exp.Literal, exp.Null, exp.Boolean)):
            raise self.error(f"ORDER BY {bare.sql(dialect='duckdb')}: a constant that is "
                             "not a position orders nothing (DuckDB refuses it)", node)
        if isinstance(node, exp.Column) and not node.table and \
                isinstance(node.this, exp.Identifier):
            if aliases and node.name.lower() in aliases:
                return aliases[node.name.lower()]
            if scope.lookup(node.name, None) is None:
                hits = [e for n, e in items if n.lower() == node.name.lower()]
                if hits:
                    return hits[0]
        return self.expr(node, scope)

    def group_keys(self, group, scope, items) -> list[Expr]:
        keys = []
        for node in group.expressions:
            e = self.resolve_item(node, scope, items, "GROUP BY")
            self.no_aggs(e, "GROUP BY", node)
            if e not in keys:
                keys.append(e)
        return keys

    def order_keys(self, order, scope, items, aliases=None) -> list[SortKey]:
        out = []
        for o in order.expressions:
            desc = bool(o.args.get("desc"))
            nulls_first = bool(o.args.get("nulls_first"))
            if isinstance(o.this, exp.Var) and o.this.name.upper() == "ALL" and items:
                if len(order.expressions) > 1:
                    raise self.error("ORDER BY ALL cannot be combined with other keys", o)
                return [SortKey(e, desc, nulls_first) for _, e in items]
            e = self.resolve_item(o.this, scope, items, "ORDER BY", aliases)
            out.append(SortKey(e, desc, nulls_first))
        return out

    def limit(self, node) -> tuple[int | None, int, float | None]:
        """(LIMIT n or None, OFFSET m, the percentage of LIMIT p% or None)."""
        def value(clause, what):
            if clause is None:
                return None
            b = self.expr(clause.expression, Scope([]))
            if not isinstance(b, Lit) or b.type.kind != "int" or b.value is None or \
                    b.value < 0:
                raise self.error(f"{what} must be a non-negative integer constant", clause)
            return b.value

        lim = node.args.get("limit")
        if lim is not None and (isinstance(lim.expression, exp.Null) or (
                isinstance(lim.expression, exp.Var) and lim.expression.name.upper() == "ALL")):
            lim = None  # LIMIT NULL, LIMIT ALL: no limit
        options = lim.args.get("limit_options") if lim is not None else None
        if options is not None and options.args.get("percent"):
            b = self.expr(lim.expression, Scope([]))
            if not isinstance(b, Lit) or not b.type.numeric or b.value is None:
                raise self.error("LIMIT ...% must be a constant number", lim)
            p = b.value / 10 ** b.type.scale if b.type.kind == "decimal" else float(b.value)
            if not 0 <= p <= 100:
                raise self.error("a LIMIT percentage must be between 0% and 100%", lim)
            return None, value(node.args.get("offset"), "OFFSET") or 0, p
        return value(lim, "LIMIT"), value(node.args.get("offset"), "OFFSET") or 0, None

    def sort_limit(self, plan: Plan, keys: list[SortKey], limit: int | None, offset: int,
                   percent: float | None) -> Plan:
        """ORDER BY and LIMIT/OFFSET over ``plan`` (``keys`` over its columns). LIMIT p%
        keeps, after the offset, the first int(p / 100 * count) rows as DuckDB does: the
        rows are numbered in the ORDER BY's order and counted (two window functions)
        and filtered on that; the output has the two extra columns."""
        if percent is not None:
            rn, n = Col(self.fresh("row"), INT64), Col(self.fresh("rows"), INT64)
            order = tuple(SortSpec(k.expr, k.desc, k.nulls_first) for k in keys)
            plan = Window(plan, [(rn.name, WindowFn("row_number", (), (), order, None, INT64)),
                                 (n.name, WindowFn("count_star", (), (), (), None, INT64))])
            pos = fn.arith("sub", rn, Lit(offset, INT64))
            plan = Filter(plan, fn.logic("and", fn.compare("gt", pos, Lit(0, INT64)),
                                         fn.compare("le", pos, fn.arith(
                                             "mul", Lit(percent / 100, FLOAT64), n))))
        if keys:
            plan = Sort(plan, keys)
        if percent is None and (limit is not None or offset):
            plan = Limit(plan, limit, offset)
        return plan

    def group_all(self, items: list[tuple[str, Expr]], node) -> list[Expr]:
        """GROUP BY ALL: the select items without an aggregate and not constant. As in
        DuckDB, an item may not mix aggregates with columns outside them, nor be a window
        function."""
        keys = []
        for _, e in items:
            if any(isinstance(x, WindowFn) for x in e.walk()):
                raise self.error("GROUP BY ALL cannot group on a window function", node)
            if not any(isinstance(x, Agg) for x in e.walk()):
                if any(isinstance(x, Col) for x in e.walk()) and e not in keys:
                    keys.append(e)
            elif _bare_columns(e) - self.subquery_cols:
                raise self.error("GROUP BY ALL: a select item mixes aggregates with columns "
                                 "outside them", node)
        return keys

    def aggregate(self, plan, keys, items, having, order_keys, shown=None):
        key_cols, key_map = [], {}
        aggs: list[tuple[str, Agg]] = []
        agg_map: dict[Agg, Col] = {}
        for k in keys:
            if k.type.nested:  # grouped on its order key; shown as the group's first value
                key_cols.append((self.fresh("key"), nested_functions.order_key(k)))
                a = aggregate_functions.first_of(k)
                aggs.append((self.fresh("agg"), a))
                key_map[k] = agg_map[a] = Col(aggs[-1][0], a.type)
            elif k.type.kind == "interval":  # intervals: see interval_groups
                key_cols.append((self.fresh("key"), fn.interval_total(k)))
                aggs.append((self.fresh("agg"), Agg("first", k, k.type)))
                key_map[k] = Col(aggs[-1][0], k.type)
            else:
                key_cols.append((self.fresh("key"), fn.canonical_zero(k)))
                key_map[k] = Col(key_cols[-1][0], k.type)

        def lift(e: Expr, node) -> Expr:
            if e in key_map:
                return key_map[e]
            if isinstance(e, Col) and e.name in self.subquery_cols:
                return e
            if isinstance(e, WindowFn):
                return WindowFn(e.fn, tuple(lift(a, node) for a in e.args),
                                tuple(lift(p, node) for p in e.partition),
                                tuple(SortSpec(lift(k.expr, node), k.desc, k.nulls_first)
                                      for k in e.order), e.frame, e.type)
            if isinstance(e, Agg):
                if e not in agg_map:
                    c = self.fresh("agg")
                    aggs.append((c, e))
                    agg_map[e] = Col(c, e.type)
                return agg_map[e]
            if isinstance(e, Col):
                name = (shown or {}).get(e.name, e.name)
                raise self.error(f'column "{name}" must appear in the GROUP BY clause or '
                                 "be used in an aggregate function", node)
            if isinstance(e, Call):
                return fold(Call(e.op, tuple(lift(a, node) for a in e.args), e.type, e.param))
            return e

        # lift() registers aggregates as it meets them; the node shares the list
        return Aggregate(plan, key_cols, aggs), lift

    def interval_groups(self, plan: Plan) -> Plan:
        """SELECT DISTINCT with INTERVAL columns, as DuckDB: intervals of one 30-day total
        are one value ('1 month', '30 days', '720 hours'), shown as the first of them in
        input order (GROUP BY keys likewise, aggregate()): an aggregate on the totals
        with ``first`` of each interval, its columns put back in order."""
        keys, aggs, out = [], [], []
        for c, t in plan.schema:
            k = self.fresh("key")
            if t.kind == "interval":
                keys.append((k, fn.interval_total(Col(c, t))))
                aggs.append((c, Agg("first", Col(c, t), t)))
                out.append((c, Col(c, t)))
            else:
                keys.append((k, fn.canonical_zero(Col(c, t))))
                out.append((c, Col(k, t)))
        return Project(Aggregate(plan, keys, aggs), out)

    # -- expressions -------------------------------------------------------------------
    def no_aggs(self, e: Expr, where: str, node) -> None:
        if any(isinstance(x, Agg) for x in e.walk()):
            raise self.error(f"aggregate functions are not allowed in {where}", node)
        if any(isinstance(x, WindowFn) for x in e.walk()):  # (DuckDB's error too)
            raise self.error(f"window functions are not allowed in {where}", node)

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
            if e.position is None:
                raise QueryError(str(e), locate(node), self.sql) from None
            raise

    def _expr(self, node, scope, depth):
        sub = lambda n: self.expr(n, scope, depth)  # noqa: E731
        if isinstance(scope, LambdaScope) and (
                isinstance(node, (exp.Subquery, exp.Exists)) or
                (isinstance(node, exp.In) and node.args.get("query"))):
            raise self.error("a subquery inside a lambda is not supported", node)
        if isinstance(node, exp.Paren):
            return sub(node.this)
        if isinstance(node, exp.Columns):
            raise self.error("COLUMNS(...) is supported only in the select list (not in "
                             "WHERE, GROUP BY, ORDER BY or FILTER)", node)
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                raise self.error("* is only allowed in the select list and COUNT(*)", node)
            if node.args.get("db") is not None:
                self.qualified(node, scope)  # main.t.c: t.c
            alias = self._alias_refs.get(id(node))
            if alias is not None and alias[0] is node and not any(
                    n.lower() == node.name.lower() for n, _ in scope.columns):
                return sub(alias[1])  # a select alias (alias_refs)
            c = scope.lookup(node.name, node.table or None)
            if c is None and node.table and not scope.knows_table(node.table):
                s = scope.lookup(node.table, None)  # s.a: field a of struct column s
                if s is not None and s.type.kind == "struct":
                    return nested_functions.struct_extract(s, node.name)
            if c is None:
                if node.table and not scope.knows_table(node.table):
                    raise self.error(f'table "{node.table}" not found', node)
                names = ", ".join(n for n, _ in scope.columns)
                raise self.error(f'column "{node.name}" not found; columns are: {names}', node)
            return c
        if isinstance(node, exp.Literal):
            return literal(node)
        if isinstance(node, exp.Identifier):  # sqlglot's reading of a lambda's parameter
            c = scope.params.get(node.name.lower()) if isinstance(scope, LambdaScope) \
                else None
            if c is None:
                raise self.error(f'column "{node.name}" not found', node)
            return c
        if isinstance(node, exp.Lambda):
            raise self.error("a lambda (x -> ...) is only allowed as an argument of a "
                             "function that takes one (list_transform, list_filter, "
                             "list_reduce)", node)
        if isinstance(node, exp.Placeholder):
            return self.params[placeholder_key(node)]
        if isinstance(node, exp.Boolean):
            return Lit(bool(node.this), BOOL)
        if isinstance(node, exp.Null):
            return Lit(None, NULL)
        if isinstance(node, exp.Interval):
            return Lit(interval(node, self), INTERVAL)
        if type(node) in _ARITH:
            op, a, b = _ARITH[type(node)], sub(node.this), sub(node.expression)
            # (overloads such as date + 1 are the catalog's)
            return functions_catalog.arith(op, a, b) or fn.arith(op, a, b)
        if isinstance(node, exp.Neg):
            if isinstance(node.this, exp.Literal) and not node.this.is_string and \
                    node.this.this.isdigit():  # -9223372036854775808 is a BIGINT
                return literal(exp.Literal(this="-" + node.this.this, is_string=False))
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
            if isinstance(node.expression, exp.Boolean):  # x IS TRUE: never NULL
                x = sub(node.this)
                if x.type.kind not in ("bool", "null"):
                    raise self.error(f"IS TRUE / IS FALSE needs a BOOLEAN, got {x.type}",
                                     node)
                if not node.expression.this:
                    x = fn.logic_not(x)
                return fn.coalesce([x, Lit(False, BOOL)])
            if not isinstance(node.expression, exp.Null):
                raise self.error("IS only supports NULL, TRUE and FALSE here", node)
            return Call("is_null", (sub(node.this),), BOOL)
        if isinstance(node, exp.Between):
            x = sub(node.this)
            return fn.logic("and", fn.compare("ge", x, sub(node.args["low"])),
                            fn.compare("le", x, sub(node.args["high"])))
        if isinstance(node, exp.In):
            if node.args.get("query"):  # a mark join's column
                x = self.in_operand(node, scope)  # first: x's subqueries join before
                return self.mark_column(self.membership(node, x, scope), scope)
            if node.args.get("unnest"):
                raise self.error("IN UNNEST is not supported", node)
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
            err = self.error("", node)
            return functions_catalog.core.try_cast(
                sub(node.this), sql_type(node.to, self), (err.position, str(err)))
        if isinstance(node, exp.Cast):
            err = self.error("", node)  # where a runtime error points
            return fn.cast(sub(node.this), sql_type(node.to, self), (err.position, str(err)))
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
            a, b = sub(node.this), sub(node.expression)
            if "list" in (a.type.kind, b.type.kind):  # [1] || [2] (catalog/nested.py)
                return nested_functions.list_concat("||", [a, b])
            return fn.concat([a, b], "concat_op")
        if isinstance(node, (exp.Array, exp.Struct, exp.Bracket, exp.Dot)):
            return self.nested_value(node, scope, depth)
        if isinstance(node, exp.Explode):
            raise self.error("UNNEST is supported only as a select item of its own or in "
                             "FROM", node)
        if isinstance(node, exp.ConcatWs):  # (a subclass of Concat)
            return fn.concat_ws([sub(x) for x in node.expressions])
        if isinstance(node, exp.Concat):
            return fn.concat([sub(x) for x in node.expressions], "concat")
        if isinstance(node, exp.Filter):
            return self.agg_filter(node, scope, depth)
        if isinstance(node, exp.LogicalAnd | exp.LogicalOr | exp.CountIf):
            return self.bool_agg(node, scope, depth)
        if isinstance(node, exp.Count):
            arg = node.this
            if isinstance(arg, exp.Star) and any(arg.args.values()):
                raise self.error("* with EXCLUDE, REPLACE or RENAME is only allowed in the "
                                 "select list", arg)
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
            name = _AGGS[type(node)]
            if isinstance(arg, exp.Distinct):
                if name not in ("sum", "avg", "min", "max") or len(arg.expressions) != 1:
                    raise self.error(f"{name.upper()}(DISTINCT ...) is not supported", node)
                x = self.agg_arg(arg.expressions[0], scope, depth)
                if name in ("min", "max"):  # DISTINCT changes nothing
                    return fn.aggregate(name, x)
                return aggregate_functions.distinct(name, x)  # (catalog/aggregate.py)
            return fn.aggregate(name, self.agg_arg(arg, scope, depth))
        if isinstance(node, exp.Anonymous):
            return self.anonymous(node, scope, depth)
        if isinstance(node, exp.Subquery):
            return self.scalar_subquery(node, scope)
        if isinstance(node, exp.Exists):
            return self.mark_column(self.membership(node, None, scope), scope)
        if isinstance(node, exp.Select):
            raise self.error("a SELECT inside an expression must be in parentheses", node)
        if isinstance(node, exp.Window):
            return self.window_fn(node, scope, depth)
        # a function sqlglot parses to a node of its own (sqrt: exp.Sqrt)
        called = functions_catalog.from_node(node)
        if called is not None:
            return functions_catalog.bind(called[0], [self.call_arg(a, scope, depth)
                                                      for a in called[1]])
        raise self.error(f"{node.key.upper()} ({node.sql(dialect='duckdb')[:40]}) is not "
                         "supported", node)

    def nested_value(self, node, scope, depth) -> Expr:
        """``[a, b]``, ``{'k': v}``, ``l[i]``, ``l[a:b]``, ``s['k']``, ``(s).k``
        (catalog/nested.py)."""
        sub = lambda n: self.expr(n, scope, depth)  # noqa: E731
        if isinstance(node, exp.Array):
            return functions_catalog.bind("list_value", [sub(x) for x in node.expressions])
        if isinstance(node, exp.Struct):
            items = []
            for x in node.expressions:
                if not isinstance(x, exp.PropertyEQ) or self.numeric_key(x):
                    raise self.error("a struct's fields must be named ({'a': 1} or "
                                     "struct_pack(a := 1))", x)
                items.append((x.this.name, sub(x.expression)))
            return nested_functions.struct_pack(items)
        if isinstance(node, exp.Dot):
            return nested_functions.struct_extract(sub(node.this), node.expression.name)
        x = sub(node.this)
        if len(node.expressions) != 1:
            raise self.error("a subscript takes one index", node)
        idx = node.expressions[0]
        if isinstance(idx, exp.Slice):
            if isinstance(idx.this, exp.Slice) or isinstance(idx.expression, exp.Slice):
                raise self.error("a slice with a step is not supported", idx)
            return nested_functions.list_slice(
                x, sub(idx.this) if idx.this is not None else None,
                sub(idx.expression) if idx.expression is not None else None)
        if x.type.kind == "struct":
            return functions_catalog.bind("struct_extract", [x, sub(idx)])
        # sqlglot made an integer index 0-based (DuckDB's offset is 1): undone as its
        # generator does, so the index is the one written
        written = apply_index_offset(node.this, [idx.copy()], 1, dialect="duckdb")[0]
        if x.type.kind == "map":  # m[k]: the value (catalog/maps.py)
            return functions_catalog.bind("map_extract_value", [x, sub(written)])
        return functions_catalog.bind("list_extract", [x, sub(written)])

    def numeric_key(self, x: exp.PropertyEQ) -> bool:
        """``{1: 2}``: sqlglot reads the number as a quoted name; DuckDB's parser refuses
        it (the text before the value is ``1:``, not a name or a string)."""
        from mapdb.query.syntax import position
        at = position(x.expression)
        if at is None or not isinstance(x.this, exp.Identifier) or not x.this.quoted:
            return False
        before = self.spelling[:at].rstrip()
        return before.endswith(":") and before[:-1].rstrip()[-1:].isdigit()

    def window_clause(self, sel: exp.Select) -> list[exp.Window]:
        """``WINDOW w AS (...), ...``: the definitions, bound where a window function names
        them (as DuckDB, a definition no function uses is not bound at all)."""
        defs = list(sel.args.get("windows") or [])
        seen = set()
        for d in defs:
            name = d.name.lower()
            if name in seen:
                raise self.error(f'window "{d.name}" is already defined', d)
            seen.add(name)
        return defs

    def named_window(self, node: exp.Window, defs: list[exp.Window], copied: bool
                     ) -> tuple[list, exp.Order | None, exp.WindowSpec | None]:
        """(PARTITION BY, ORDER BY, frame) of ``OVER (w ...)`` / ``OVER w`` (``copied``:
        written in parentheses) or of a definition ``w2 AS (w ...)``: DuckDB's rules, the
        named window's clauses refined by the ones written here; a clause may be added, not
        overridden, and a window with a frame is only used as it is (``OVER w``). Names
        match case-insensitively, and only windows defined earlier in the clause."""
        part = list(node.args.get("partition_by") or [])
        order, spec = node.args.get("order"), node.args.get("spec")
        ident = node.args.get("alias")
        if ident is None:
            return part, order, spec
        name = ident.name
        at = next((i for i, d in enumerate(defs) if d.name.lower() == name.lower()), None)
        if at is None:
            raise self.error(f'window "{name}" does not exist', ident)
        b_part, b_order, b_spec = self.named_window(defs[at], defs[:at], True)
        if b_spec is not None and (copied or part or order is not None or spec is not None):
            raise self.error(f'cannot copy window "{name}" because it has a frame clause',
                             ident)
        if part and b_part:
            raise self.error(f'Cannot override PARTITION BY clause of window "{name}"', ident)
        if order is not None and b_order is not None:
            raise self.error(f'Cannot override ORDER BY clause of window "{name}"', ident)
        return (part or b_part, order if order is not None else b_order,
                spec if spec is not None else b_spec)

    def _in_parentheses(self, ident: exp.Identifier) -> bool:
        """``OVER (w)`` rather than ``OVER w`` (the tree is the same; the text tells)."""
        meta = ident.meta or {}
        start, end = meta.get("start"), meta.get("end")
        word = self.sql[start:end + 1] if start is not None and end is not None else ""
        if word.strip('"').lower() != ident.name.lower():
            # positions of another text (a cached parse of a statement with other literals):
            # refused here, which binds this statement afresh
            raise self.error("cannot place the named window in the statement's text", ident)
        return self.sql[:start].rstrip().endswith("(")

    def window_fn(self, node: exp.Window, scope: Scope, depth: int) -> Expr:
        """``f(...) OVER (PARTITION BY ... ORDER BY ... ROWS ...)``, or ``OVER w`` /
        ``OVER (w ...)`` of a WINDOW clause."""
        sub = lambda n: self.expr(n, scope, depth)  # noqa: E731
        f = node.this
        if isinstance(node.args.get("partition_by"), str):
            raise self.error("named windows are not supported", node)
        ident = node.args.get("alias")
        copied = ident is not None and not node.args.get("partition_by") and \
            node.args.get("order") is None and node.args.get("spec") is None and \
            self._needs_parentheses_check(ident) and self._in_parentheses(ident)
        part_nodes, order, spec = self.named_window(node, self._windows, copied)
        partition = tuple(sub(p) for p in part_nodes)
        keys = tuple(SortSpec(k.expr, k.desc, k.nulls_first)
                     for k in (self.order_keys(order, scope, []) if order else []))
        if any(e.type.kind == "interval" for e in (*partition, *(k.expr for k in keys))):
            # (DuckDB orders and partitions intervals on their 30-day total)
            raise self.error("a window PARTITION BY or ORDER BY an INTERVAL is not "
                             "supported", node)
        try:  # LIST and STRUCT values by their order keys (catalog/nested.py)
            partition = tuple(nested_functions.order_key(p) if p.type.nested else p
                              for p in partition)
            keys = tuple(SortSpec(nested_functions.order_key(k.expr), k.desc, k.nulls_first)
                         if k.expr.type.nested else k for k in keys)
        except QueryError as err:
            raise self.error(str(err), node) from None
        frame = self.range_frame(self.frame(spec, node), keys, node)
        ignore_nulls = False
        if isinstance(f, (exp.IgnoreNulls, exp.RespectNulls)):
            ignore_nulls = isinstance(f, exp.IgnoreNulls)
            what = "IGNORE NULLS" if ignore_nulls else "RESPECT NULLS"
            if not isinstance(f.this, (exp.FirstValue, exp.LastValue, exp.NthValue)):
                raise self.error(f"{what} is supported in first_value, last_value and "
                                 "nth_value only", node)
            f = f.this
        name = f.name.lower() if isinstance(f, exp.Anonymous) else f.key.lower()
        name = {"rownumber": "row_number", "denserank": "dense_rank",
                "percentrank": "percent_rank", "cumedist": "cume_dist",
                "firstvalue": "first_value", "lastvalue": "last_value",
                "nthvalue": "nth_value"}.get(name, name)
        if isinstance(node.this, (exp.IgnoreNulls, exp.RespectNulls)):
            self._nulls_inside(f, name, what)
        if name in ("row_number", "rank", "dense_rank"):
            if name != "row_number" and not keys:
                raise self.error(f"{name.upper()} needs ORDER BY", node)
            return WindowFn(name, (), partition, keys, None, INT64)
        # the frame does not apply to these (DuckDB accepts one and ignores it)
        if name in ("percent_rank", "cume_dist"):
            return WindowFn(name, (), partition, keys, None, FLOAT64)
        if name == "ntile":
            return WindowFn(name, (self.window_int(f.this, scope, depth, "ntile"),),
                            partition, keys, None, INT64)
        if name in ("first_value", "last_value", "nth_value"):
            value = sub(f.this)
            args = (value,)
            if name == "nth_value":
                args += (self.window_int(f.args.get("offset"), scope, depth, "nth_value"),)
            if value.type.kind == "interval":
                raise self.error(f"{name} of an interval is not supported", node)
            fn_name = name + (IGNORE_NULLS if ignore_nulls else "")
            return WindowFn(fn_name, args, partition, keys, frame, value.type)
        if isinstance(f, (exp.Lag, exp.Lead)):
            value = sub(f.this)
            off = sub(f.args["offset"]) if f.args.get("offset") else Lit(1, INT64)
            if not isinstance(off, Lit) or off.type.kind != "int" or off.value is None or \
                    off.value < 0:
                raise self.error("LAG/LEAD offset must be a non-negative integer constant",
                                 node)
            default = sub(f.args["default"]) if f.args.get("default") else Lit(None, NULL)
            if default.type.kind != "null":  # DuckDB: the default cast to the value's type
                value, default = fn.unify(value, default, "LAG/LEAD default") if \
                    value.type.kind == "null" else (value, fn.cast(default, value.type))
                default = _fold_tree(default)
                if not isinstance(default, Lit):
                    raise self.error("LAG/LEAD default must be a constant", node)
            if not keys:
                raise self.error(f"{type(f).__name__.upper()} needs ORDER BY", node)
            return WindowFn(type(f).__name__.lower(), (value, off, default), partition, keys,
                            None, value.type)
        if not isinstance(f, (exp.Count, *_AGGS)):
            raise self.error(f"{f.sql(dialect='duckdb')[:40]} is not supported as a window "
                             "function", node)
        self._window_arg = True
        try:
            agg = self.expr(f, scope, depth)
        finally:
            self._window_arg = False
        if not isinstance(agg, Agg) or agg.fn not in ("count_star", "count", "sum", "avg",
                                                      "min", "max"):
            raise self.error(f"{f.sql(dialect='duckdb')[:40]} is not supported as a window "
                             "function", node)
        return WindowFn(agg.fn, (agg.arg,) if agg.arg is not None else (), partition, keys,
                        frame, agg.type)

    def _needs_parentheses_check(self, ident: exp.Identifier) -> bool:
        """Whether ``OVER (w)`` and ``OVER w`` can differ: only when w (as defined) has a
        frame, which DuckDB lets ``OVER w`` use but not ``OVER (w)`` copy."""
        defs = self._windows
        at = next((i for i, d in enumerate(defs) if d.name.lower() == ident.name.lower()),
                  None)
        return at is not None and self.named_window(defs[at], defs[:at], True)[2] is not None

    def window_int(self, node, scope: Scope, depth: int, name: str) -> Expr:
        """The integer argument of ntile / nth_value (per row; DuckDB takes BIGINT, so
        UBIGINT and wider are refused, as there)."""
        if node is None:
            raise self.error(f"{name}() needs an integer argument", node)
        e = self.expr(node, scope, depth)
        t = e.type
        if t.kind == "null":
            return e
        if t.kind != "int" or is_uint64(t):
            raise self.error(f"{name}() takes an integer (BIGINT), got {t}", node)
        if any(isinstance(x, (WindowFn, Agg)) for x in e.walk()):
            raise self.error(f"the argument of {name}() cannot hold an aggregate or a "
                             "window function", node)
        return e

    def _nulls_inside(self, f: exp.Func, name: str, what: str) -> None:
        """DuckDB reads IGNORE / RESPECT NULLS inside the call only (``first_value(x IGNORE
        NULLS)``); sqlglot also takes it after the call, which DuckDB rejects."""
        meta = f.meta or {}
        start, end = meta.get("start"), meta.get("end")
        if start is None or end is None or self.sql[start:end + 1].lower() != name:
            # (a cached parse of a statement with other literals has other positions:
            # refused here, which binds this statement afresh)
            raise self.error(f"cannot place {what} in the statement's text", f)
        depth, word = 0, what.split()[0]
        for tok in sqlglot.tokens.Tokenizer(dialect="duckdb").tokenize(self.sql[start:]):
            if tok.token_type == sqlglot.tokens.TokenType.L_PAREN:
                depth += 1
            elif tok.token_type == sqlglot.tokens.TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    break
            elif tok.text.upper() == word and depth == 1:
                return
        raise self.error(f"{what} goes inside the call in DuckDB: {name}(x {what})", f)

    def frame(self, spec, node) -> tuple | None:
        """("rows" | "range", start, end): None for UNBOUNDED, 0 for CURRENT ROW, else the
        offset, negative PRECEDING (rows: an int; range: an int, float or Fraction, checked
        against the ORDER BY key by ``range_frame``)."""
        if spec is None:
            return None
        kind = (spec.args.get("kind") or "").upper()
        if kind not in ("ROWS", "RANGE"):
            raise self.error(f"{kind} frames are not supported", node)

        def bound(value, side) -> int | None:
            side = (side or "").upper()
            if isinstance(value, str) and value.upper() == "UNBOUNDED":
                return None
            if isinstance(value, str) and value.upper() == "CURRENT ROW":
                return 0
            v = self.expr(value, Scope([]))
            if kind == "RANGE" and isinstance(v, Lit) and v.value is not None and \
                    v.type.kind in ("int", "float", "decimal") and v.value >= 0:
                off = fractions.Fraction(v.value, 10 ** v.type.scale) if \
                    v.type.kind == "decimal" else v.value
                return -off if side == "PRECEDING" else off
            if not isinstance(v, Lit) or v.type.kind != "int" or v.value is None or \
                    v.value < 0:
                what = "numeric" if kind == "RANGE" else "integer"
                raise self.error(f"a frame offset must be a non-negative {what} constant",
                                 node)
            return -v.value if side == "PRECEDING" else v.value

        start_side = (spec.args.get("start_side") or "").upper()
        end_side = (spec.args.get("end_side") or "").upper()
        start = bound(spec.args.get("start"), start_side)
        end = bound(spec.args.get("end"), end_side) if \
            spec.args.get("end") is not None else 0
        if start is None and start_side == "FOLLOWING":
            raise self.error("a frame cannot start at UNBOUNDED FOLLOWING", node)
        if end is None and end_side == "PRECEDING":
            raise self.error("a frame cannot end at UNBOUNDED PRECEDING", node)
        # DuckDB's parser: a frame cannot end on an earlier kind of bound than it starts
        rank = {"PRECEDING": 0, "": 1, "FOLLOWING": 2}  # "" is CURRENT ROW
        s_rank = rank.get(start_side, 1)
        e_rank = 1 if spec.args.get("end") is None else rank.get(end_side, 1)
        if start is not None and end is not None and e_rank < s_rank:
            which = "following row" if s_rank == 2 else "current row"
            tail = "end with current row" if e_rank == 1 else "have preceding rows"
            raise self.error(f"Frame starting from {which} cannot {tail}", node)
        return (kind.lower(), start, end)

    def range_frame(self, frame: tuple | None, keys: tuple, node) -> tuple | None:
        """A RANGE frame with offsets (``RANGE BETWEEN 2 PRECEDING AND CURRENT ROW``): as
        DuckDB, over exactly one ORDER BY key; here an integer key (offsets whole numbers,
        UBIGINT refused) or a DOUBLE one. Where key -/+ offset overflows DuckDB's type for
        it, DuckDB errs and window.compute refuses."""
        if frame is None or frame[0] != "range" or frame[1:] in ((None, 0), (None, None),
                                                               (0, 0), (0, None)):
            return frame
        if len(keys) != 1:
            raise self.error("RANGE frames must have only one ORDER BY expression", node)
        t = keys[0].expr.type
        offsets = [v for v in frame[1:] if v not in (None, 0)]
        if t.kind == "int" and not is_uint64(t):
            if any(not isinstance(v, int) for v in offsets):
                raise self.error("a RANGE offset that is not a whole number over an integer "
                                 "key is not supported", node)
        elif t.kind != "float" or t.arrow != FLOAT64.arrow:
            raise self.error(f"RANGE frames with offsets over a {t} key are not supported "
                             "(integer and DOUBLE keys are)", node)
        else:
            frame = (frame[0], *(None if v is None else float(v) for v in frame[1:]))
        return frame
    def bool_agg(self, node, scope, depth) -> Expr:
        """bool_and / bool_or as min / max of booleans (false < true, NULLs skipped: NULL
        over no value, as DuckDB); count_if(c) as sum(CAST(c AS BIGINT)) (DuckDB: NULL over no
        non-NULL value, 0 over only false ones)."""
        arg = self.agg_arg(node.this, scope, depth)
        name = {exp.LogicalAnd: "bool_and", exp.LogicalOr: "bool_or",
                exp.CountIf: "count_if"}[type(node)]
        if arg.type.kind not in ("bool", "null"):
            raise self.error(f"{name}() needs a boolean, got {arg.type}", node)
        if isinstance(node, exp.CountIf):  # DuckDB: a sum, NULL over no non-NULL value
            return Agg("sum", fn.cast(arg, INT64), INT64)
        return Agg("min" if isinstance(node, exp.LogicalAnd) else "max", arg, BOOL)

    def agg_filter(self, node: exp.Filter, scope, depth) -> Expr:
        """``agg(x) FILTER (WHERE c)`` as ``agg(CASE WHEN c THEN x END)``: every aggregate
        here skips NULLs, so it sees exactly the rows where c is true (count(*) counts
        CASE WHEN c THEN 1 END)."""
        where = node.expression
        cond = self.agg_arg(where.this if isinstance(where, exp.Where) else where, scope,
                            depth)
        agg = self.expr(node.this, scope, depth)
        if not isinstance(agg, Agg):
            raise self.error("FILTER (WHERE ...) applies to an aggregate function", node)
        if cond.type.kind not in ("bool", "null"):
            raise self.error(f"FILTER (WHERE ...) needs a boolean condition, got "
                             f"{cond.type}", where)
        if agg.fn in ("first", "last"):  # they keep NULLs: the CASE's NULLs would count
            raise self.error(f"{agg.fn}() with FILTER (WHERE ...) is not supported", node)
        if agg.fn == "count_star":
            return Agg("count", fn.case([(cond, Lit(1, INT64))], Lit(None, NULL)), INT64)
        if agg.fn in aggregate_functions.KEEPS_NULLS:
            return aggregate_functions.filtered(agg, cond)
        arg = fn.case([(cond, agg.arg)], Lit(None, NULL))
        return Agg(agg.fn, arg, agg.type, agg.param)

    def call_arg(self, node, scope, depth):
        """An argument of a catalog function; an aggregate's ORDER BY key (an exp.Ordered)
        comes as a SortSpec, its DISTINCT (a ``catalog.Marker``) as it is
        (catalog/aggregate.py reads both)."""
        if isinstance(node, functions_catalog.Marker):
            return node
        if isinstance(node, exp.Ordered):
            return SortSpec(self.expr(node.this, scope, depth), bool(node.args.get("desc")),
                            bool(node.args.get("nulls_first")))
        if isinstance(node, exp.Lambda):
            return self.lambda_arg(node, scope, depth)
        return self.expr(node, scope, depth)

    def lambda_arg(self, node: exp.Lambda, scope: Scope, depth: int):
        """``(x, i) -> body`` as a ``catalog.Lambda``: the function binds the body once it
        knows the parameters' types (columns of names of their own per nesting level, so
        nested lambdas and the query's columns cannot meet)."""
        names = [p.name for p in node.expressions]
        if len({n.lower() for n in names}) != len(names):
            raise self.error("a lambda's parameters must have different names", node)

        def bind(types: list) -> tuple[list[Col], Expr]:
            # named by nesting depth, not by a counter: the same lambda written twice
            # (a select item and its GROUP BY key) binds to equal expressions
            outer = scope.params if isinstance(scope, LambdaScope) else {}
            n = scope.depth + 1 if isinstance(scope, LambdaScope) else 0
            params = [Col(f"__lambda{n}_{name}", t) for name, t in
                      zip(names, types, strict=True)]
            shared = {f.name: getattr(scope, f.name) for f in fields(Scope)}
            inner = LambdaScope(**shared, params={**outer, **{
                k.lower(): c for k, c in zip(names, params, strict=True)}}, depth=n)
            return params, self.expr(node.this, inner, depth)
        return functions_catalog.Lambda(names, bind)

    def agg_arg(self, node, scope, depth) -> Expr:
        window, self._window_arg = self._window_arg, False
        try:
            e = self.expr(node, scope, depth)
        finally:
            self._window_arg = window
        if not window and any(isinstance(x, Agg) for x in e.walk()):
            raise self.error("aggregate function calls cannot be nested", node)
        return e

    def current_setting(self, node: exp.Anonymous, args: list[Expr]) -> Expr:
        """``current_setting('memory_limit')``: the limit in force while binding (the
        connection's, see query.memory.scope) as DuckDB shows it; a constant, so a plan
        with it is never cached (session.prepare)."""
        if len(args) != 1 or not isinstance(args[0], Lit):
            raise self.error("current_setting takes one constant setting name", node)
        if args[0].value is None:
            raise self.error('the "setting_name" argument in function "current_setting" '
                             "must not be NULL", node)
        setting = str(args[0].value).lower()
        if setting not in memory.SETTINGS:
            raise self.error(f"current_setting({args[0].value!r}) is not supported (mapdb's "
                             f"settings: {', '.join(memory.SETTINGS)})", node)
        return Lit(memory.format_size(memory.current_limit()), STRING)

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
        if name == "current_setting":
            return self.current_setting(node, [sub(a) for a in args])
        if functions_catalog.lookup(name) is not None:  # query/catalog/
            return functions_catalog.bind(name, [
                self.lambda_arg(a, scope, depth) if isinstance(a, exp.Lambda) else sub(a)
                for a in args])
        raise self.error(f"function {name}() is not supported", node)


def and_parts(node) -> list:
    """The conjuncts of an AST condition (through parentheses)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return and_parts(node.this) + and_parts(node.expression)
    return [node]


def unique_names(names: list[str]) -> list[str]:
    """A subquery's or CTE's column names as DuckDB makes them unique: a name met before
    (ignoring case) gets the first free ``_1``, ``_2``... (``x, x, x_1`` is ``x, x_1,
    x_1_1``)."""
    seen: set[str] = set()
    out = []
    for n in names:
        m, i = n, 0
        while m.lower() in seen:
            i += 1
            m = f"{n}_{i}"
        seen.add(m.lower())
        out.append(m)
    return out


def _scopes(scope: Scope | None):
    while scope is not None:
        yield scope
        scope = scope.outer


def _bare_columns(e: Expr) -> set[str]:
    """The columns ``e`` reads outside its aggregate calls."""
    if isinstance(e, Agg):
        return set()
    if isinstance(e, Col):
        return {e.name}
    return set().union(*(_bare_columns(c) for c in e.children()))


def _joined(j: Join) -> set[str]:
    """The columns a subquery join adds to its left input."""
    return {j.mark} if j.kind == "mark" else {c for c, _ in j.right.schema}


def fold_and(parts: list[Expr]) -> Expr | None:
    return fold(conjoin(parts)) if parts else None


def _partitioned(e: Expr, part: tuple) -> Expr:
    """``e`` with ``part`` added to each window's PARTITION BY."""
    if isinstance(e, WindowFn):
        import dataclasses
        return dataclasses.replace(e, args=tuple(_partitioned(a, part) for a in e.args),
                                   partition=e.partition + part)
    if isinstance(e, Call):
        return Call(e.op, tuple(_partitioned(a, part) for a in e.args), e.type, e.param)
    return e


def first_project(plan: Plan) -> Project | None:
    while plan is not None and not isinstance(plan, Project):
        plan = plan.inputs[0] if plan.inputs else None
    return plan


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
    v = int(text) if len(text) <= 40 else 10 ** 40  # (past every range below)
    if -(1 << 63) <= v < (1 << 63):
        return IntLit(v, INT64)
    if 0 <= v < (1 << 64):  # DuckDB: a HUGEINT; here a UBIGINT (it compares and sorts alike)
        return IntLit(v, UINT64)
    if abs(v) < 10 ** 38:  # DuckDB: a HUGEINT; here a DECIMAL(38, 0), as HUGEINTs are
        return Lit(v, DECIMAL(38, 0))
    # DuckDB reads it as a HUGEINT; a double would silently lose digits
    shown = text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"
    raise QueryError(f"integer literal {shown} is out of the BIGINT range and past 38 "
                     "digits (DuckDB's BIGNUM is not supported)")


def interval(node: exp.Interval, binder: Binder) -> tuple[int, int, int]:
    text = None
    if node.this is not None and not isinstance(node.this, exp.Literal):
        # INTERVAL (-1) DAY, INTERVAL (2 * 3) HOUR: a count that folds to an integer
        try:
            v = _fold_tree(binder.expr(node.this, Scope([])))
        except QueryError:  # (a column: refused below, by what the count is)
            v = None
        if not isinstance(v, Lit) or v.type.kind != "int" or v.value is None or \
                not node.args.get("unit"):
            raise binder.error("INTERVAL is supported with a constant integer count, not "
                               f"{node.this.sql(dialect='duckdb')}", node)
        text = str(v.value)
    if text is None:
        text = node.this.name if node.this is not None else ""
    unit = node.args.get("unit")
    unit_s = unit.name.lower() if unit is not None else ""
    if not unit_s:  # INTERVAL '1 day 2 hours': DuckDB's interval text
        try:
            return intervals.interval_value(text)
        except QueryError as err:
            raise binder.error(str(err), node) from None
    if unit_s not in intervals.UNITS:
        raise binder.error(f"interval unit {unit_s!r} is not supported", node)
    try:
        k = int(text)
    except ValueError:
        if not (isinstance(node.this, exp.Literal) and node.this.is_string):
            raise binder.error(f"interval count {text!r} is not an integer", node) from None
        if not node.args.get("fraction_in_string") and \
                text.strip().replace(".", "", 1).lstrip("+-").isdigit():
            k = int(text.strip().split(".")[0])  # INTERVAL '1.5' MONTH: DuckDB truncates
        else:  # INTERVAL '1 day -1' MICROSECOND: the text with its unit
            try:
                return intervals.interval_value(f"{text} {unit_s}")
            except QueryError as err:
                raise binder.error(str(err), node) from None
    m, d, us = intervals.UNITS[unit_s]
    try:
        return intervals.check(k * m, k * d, k * us)
    except QueryError as err:
        raise binder.error(str(err), node) from None


def unit_name(node) -> str:
    name = node.name if isinstance(node, exp.Expression) else str(node)
    return name.lower().strip("'")


_TYPES = {"INT": "int32", "INTEGER": "int32", "BIGINT": "int64", "SMALLINT": "int16",
          "TINYINT": "int8", "UINT": "uint32", "UBIGINT": "uint64", "USMALLINT": "uint16",
          "UTINYINT": "uint8", "DOUBLE": "float64", "FLOAT": "float32", "REAL": "float32",
          "BOOLEAN": "bool", "VARCHAR": "string", "TEXT": "string", "CHAR": "string",
          "NCHAR": "string", "NVARCHAR": "string", "DATE": "date", "TIMESTAMP": "timestamp",
          "TIME": "time", "INTERVAL": "interval",
          "TIMESTAMPNTZ": "timestamp", "DATETIME": "timestamp", "TIMESTAMPTZ": "timestamptz",
          "DECIMAL": "decimal",
          "NUMERIC": "decimal"}


def sql_type(dt: exp.DataType, binder: Binder) -> SqlType:
    import pyarrow as pa
    name = dt.this.name if hasattr(dt.this, "name") else str(dt.this)
    if name == "ARRAY" and len(dt.expressions) == 1 and \
            isinstance(dt.expressions[0], exp.DataType):  # INTEGER[]: a LIST
        return LIST(sql_type(dt.expressions[0], binder))
    if name == "MAP" and len(dt.expressions) == 2 and all(
            isinstance(f, exp.DataType) for f in dt.expressions):  # MAP(VARCHAR, INTEGER)
        return MAP(*(sql_type(f, binder) for f in dt.expressions))
    if name == "STRUCT" and dt.expressions and all(
            isinstance(f, exp.ColumnDef) and isinstance(f.args.get("kind"), exp.DataType)
            for f in dt.expressions):  # STRUCT(a INTEGER, b VARCHAR)
        fields = [(f.name, sql_type(f.args["kind"], binder)) for f in dt.expressions]
        if len({n.lower() for n, _ in fields}) != len(fields):
            raise binder.error("a STRUCT type's field names must differ", dt)
        return STRUCT(fields)
    kind = _TYPES.get(name)
    if kind is None:
        raise binder.error(f"CAST to {dt.sql(dialect='duckdb')} is not supported", dt)
    if kind == "decimal":
        params = [int(p.name if hasattr(p, "name") else p.this.name) for p in dt.expressions]
        p, s = (*params, 18, 3)[:2] if params else (18, 3)
        if len(params) == 1:
            s = 0
        if not 1 <= p <= 38 or not 0 <= s <= p:
            raise binder.error(f"DECIMAL({p},{s}): the precision must be 1 to 38 and the "
                               f"scale 0 to the precision (DuckDB's)", dt)
        return DECIMAL(p, s)
    named = {"bool": BOOL, "string": STRING, "date": DATE, "timestamp": TIMESTAMP,
             "timestamptz": TIMESTAMPTZ, "time": TIME, "interval": INTERVAL}
    return named.get(kind) or SqlType("float" if kind.startswith("float") else "int",
                                      arrow=getattr(pa, kind)())



