"""The SQL the binder consumes, as an allow-list over sqlglot's parse tree.

sqlglot parses all of DuckDB's grammar; the binder implements part of it. Anything the
parser understood but the binder skipped would be silently dropped (a USING SAMPLE clause,
a QUALIFY, a ``* EXCLUDE``, a FILTER on an aggregate) and the answer would be wrong
without a word. So before a statement is bound, ``check`` walks every node of its tree:

- a node whose exact type (not a subclass: ``concat_ws`` is a subclass of ``concat``)
  is not in ``CONSUMED`` is refused;
- an argument of a node that is set (not None, False or empty) and is not one the binder
  reads for that type is refused: a modifier, a sample clause, a hint, a qualifier;
- a few arguments the DuckDB parser always sets to record DuckDB's own semantics (``count``
  returns BIGINT, ``concat`` skips NULLs) are accepted with exactly those values only
  (``FIXED``);
- a function must be called by a name DuckDB has (``CALLED``): sqlglot also maps other
  dialects' names onto the same nodes (``iif`` is ``if``, ``nvl`` is ``coalesce``), reads
  MySQL's ``LIMIT offset, count`` and drops the table of ``USING (a.x)``, all of which
  DuckDB rejects, and drops the plus of ``ORDER BY +1`` (a constant to DuckDB, a
  position without the plus).

Each refusal is a QueryError naming the construct, with the line and column of the
nearest node the parser gave a position. A node type or argument enters the table only
together with the binder code that consumes it, in every place that type can appear (the
binder still refuses an allowed node where it does not belong: ``*`` outside the select
list, EXISTS inside an expression).

>>> import sqlglot
>>> sql = "SELECT x FROM t USING SAMPLE 10%"
>>> check(sqlglot.parse_one(sql, read="duckdb"), sql)
Traceback (most recent call last):
...
mapdb.errors.QueryError: USING SAMPLE (a random sample) is not supported (line 1, column 30)
"""

from __future__ import annotations

import itertools

from sqlglot import exp

from mapdb.query.types import QueryError

# exact node type -> the arguments the binder reads (binder.py, by method)
CONSUMED: dict[type, frozenset[str]] = {t: frozenset(keys.split()) for t, keys in {
    # statements: Binder.query, select, set_op, with_
    exp.Select: "with_ expressions distinct from_ joins where group having order limit "
                "offset windows",  # windows: WINDOW w AS (...), Binder.window_clause
    exp.Union: "with_ this expression distinct order limit offset",
    exp.Intersect: "with_ this expression distinct order limit offset",
    exp.Except: "with_ this expression distinct order limit offset",
    exp.Subquery: "this alias pivots",  # pivots: t PIVOT (...), pivot.in_from
    # PIVOT / UNPIVOT: pivot.py rewrites them before binding
    exp.Pivot: "this expressions using group unpivot into fields alias columns "
               "default_on_null identify_pivot_strings prefixed_pivot_columns "
               "pivot_column_naming value_columns_first",
    exp.PivotAlias: "this alias",
    exp.UnpivotColumns: "this expressions",
    exp.Lateral: "this alias view outer",  # Binder.lateral (view, outer: False in DuckDB)
    exp.With: "expressions recursive",  # recursive: recursive.py
    exp.CTE: "this alias",
    # FROM: from_clause, table_ref
    exp.From: "this",
    exp.Join: "this on side kind using method",  # method: NATURAL, ASOF (others refused)
    exp.Table: "this alias db catalog pivots",  # main.t, <database>.main.t (Binder.table_ref)
    exp.TableAlias: "this columns",
    # clauses: where, group_keys, order_keys, limit, select_items
    exp.Where: "this",
    exp.Filter: "this expression",  # agg(x) FILTER (WHERE c): Binder.agg_filter
    exp.GenerateSeries: "start end step is_end_exclusive",  # FROM range(n): Binder.series
    # FROM read_parquet('x' or ['a', 'b']) / read_csv('x'): Binder.file_args (query.files)
    exp.ReadParquet: "expressions",
    exp.ReadCSV: "this expressions",
    exp.Array: "expressions",  # [a, b]: list_value; read_parquet's list of paths
    # nested values (catalog/nested.py): {'a': 1}, l[i], l[a:b], s['a'], s.a, unnest(l)
    exp.Struct: "expressions",
    exp.PropertyEQ: "this expression",  # {'a': 1}'s and struct_pack(a := 1)'s fields
    exp.Bracket: "this expressions",
    exp.Slice: "this expression",
    exp.Dot: "this expression",
    exp.Explode: "this",  # unnest(l) in the select list: Binder.unnest_items
    exp.Unnest: "expressions alias",  # FROM unnest(l): Binder.table_ref
    exp.LogicalAnd: "this",  # bool_and, bool_or, count_if: Binder.bool_agg
    exp.LogicalOr: "this",
    exp.CountIf: "this",
    exp.Having: "this",
    exp.Group: "expressions all",
    exp.Order: "this expressions",  # this: agg(x ORDER BY k) (catalog/aggregate.py)
    exp.Ordered: "this desc nulls_first",
    exp.Limit: "expression limit_options",
    exp.LimitOptions: "percent",
    exp.Offset: "expression",
    exp.Distinct: "expressions",  # SELECT DISTINCT; COUNT(DISTINCT x)
    exp.Star: "except_ replace rename",
    exp.Columns: "this",  # COLUMNS('regex' | * | [names]) in the select list: columnsexpr
    exp.Column: "this table db catalog",  # main.t.c, <database>.main.t.c: Binder.qualified
    exp.Identifier: "this quoted",  # quoted or not, names match case-insensitively
    exp.Lambda: "this expressions",  # (x, i) -> body: Binder.lambda_arg (catalog/lambdas.py)
    exp.Alias: "this alias",
    exp.Paren: "this",
    # expressions: Binder._expr
    exp.Literal: "this is_string",
    exp.Boolean: "this",
    exp.Null: "",
    exp.Placeholder: "this",  # ?, $1, $name: query parameters (query.params)
    exp.Interval: "this unit fraction_in_string",
    exp.Var: "this",  # interval, EXTRACT and date_trunc units
    exp.Add: "this expression",
    exp.Sub: "this expression",
    exp.Mul: "this expression",
    exp.Div: "this expression",
    exp.IntDiv: "this expression",
    exp.Mod: "this expression",
    exp.Neg: "this",
    exp.EQ: "this expression",
    exp.NEQ: "this expression",
    exp.LT: "this expression",
    exp.LTE: "this expression",
    exp.GT: "this expression",
    exp.GTE: "this expression",
    exp.And: "this expression",
    exp.Or: "this expression",
    exp.Not: "this",
    exp.Is: "this expression",
    exp.Between: "this low high",
    exp.In: "this expressions query",
    exp.Like: "this expression negate",
    exp.ILike: "this expression negate",
    exp.Case: "this ifs default",
    exp.If: "this true false",
    exp.Coalesce: "this expressions",
    exp.Nullif: "this expression",
    exp.Cast: "this to",
    exp.TryCast: "this to",  # (catalog/core.py: NULL where the CAST fails)
    exp.DataType: "this expressions nested",  # nested: INTEGER[] (binder.sql_type)
    exp.DataTypeParam: "this",
    exp.ColumnDef: "this kind",  # STRUCT(a INTEGER)'s fields (binder.sql_type)
    exp.Round: "this decimals",
    exp.Abs: "this",
    exp.Year: "this",
    exp.Month: "this",
    exp.Day: "this",
    exp.Quarter: "this",
    exp.DayOfWeek: "this",
    exp.DayOfYear: "this",
    exp.Week: "this",
    exp.Extract: "this expression",
    exp.DateTrunc: "this unit",
    exp.TimestampTrunc: "this unit",
    exp.Lower: "this",
    exp.Upper: "this",
    exp.Length: "this",
    exp.Substring: "this start length",
    exp.DPipe: "this expression",
    exp.Concat: "expressions",
    exp.ConcatWs: "expressions",
    exp.Count: "this",
    exp.Sum: "this",
    exp.Avg: "this",
    exp.Min: "this",
    exp.Max: "this",
    exp.Stddev: "this",
    exp.StddevSamp: "this",
    exp.StddevPop: "this",
    exp.Variance: "this",
    exp.VariancePop: "this",
    exp.Anonymous: "this expressions",  # Binder.anonymous: by name, or refused
    exp.Exists: "this",
    # window functions: window_fn, frame
    exp.Window: "this partition_by order spec alias",  # alias: OVER w, OVER (w ...)
    exp.WindowSpec: "kind start start_side end end_side",
    exp.RowNumber: "",
    exp.Rank: "",
    exp.DenseRank: "",
    exp.PercentRank: "",
    exp.CumeDist: "",
    exp.Ntile: "this",
    exp.FirstValue: "this",
    exp.LastValue: "this",
    exp.NthValue: "this offset",
    exp.IgnoreNulls: "this",  # first_value(x IGNORE NULLS) and the like only
    exp.RespectNulls: "this",
    exp.Lag: "this offset default",
    exp.Lead: "this offset default",
}.items()}

# arguments the DuckDB parser sets on every such node, recording DuckDB's semantics (which
# the binder implements): accepted with these values only
FIXED: dict[tuple[type, str], tuple] = {
    (exp.Count, "big_int"): (True,),  # count(...) is a BIGINT
    (exp.Concat, "safe"): (True,),  # concat(...) skips NULLs
    (exp.Concat, "coalesce"): (True,),
    (exp.ConcatWs, "safe"): (True,),  # concat_ws(...) skips NULLs
    (exp.ConcatWs, "coalesce"): (True,),
    (exp.DPipe, "safe"): (True,),  # || on a NULL is NULL
    (exp.Window, "over"): ("OVER",),
    (exp.TryCast, "safe"): (True,),  # TRY_CAST: NULL where CAST fails
}

# the names DuckDB calls these functions by: sqlglot also maps other dialects' names to
# them (iif, nvl, stdev, timestamp_trunc), which DuckDB does not have
CALLED: dict[type, frozenset[str]] = {t: frozenset(names.split()) for t, names in {
    exp.If: "if",
    exp.LogicalAnd: "bool_and",
    exp.GenerateSeries: "range generate_series",
    exp.ReadParquet: "read_parquet",
    exp.ReadCSV: "read_csv",
    exp.Array: "list_value",  # (or [...], which has no name)
    exp.Struct: "struct_pack",  # (or {...})
    exp.Explode: "unnest",
    exp.Unnest: "unnest",
    exp.LogicalOr: "bool_or",
    exp.CountIf: "count_if countif",
    exp.Coalesce: "coalesce ifnull",
    exp.Nullif: "nullif",
    exp.Round: "round",
    exp.Abs: "abs",
    exp.Year: "year",
    exp.Month: "month",
    exp.Day: "day",
    exp.Quarter: "quarter",
    exp.DayOfWeek: "dayofweek",
    exp.DayOfYear: "dayofyear",
    exp.Week: "week",
    exp.Extract: "extract",
    exp.DateTrunc: "date_trunc datetrunc",
    exp.TimestampTrunc: "date_trunc datetrunc",
    exp.Lower: "lower lcase",
    exp.Upper: "upper ucase",
    exp.Length: "length len char_length character_length",
    exp.Substring: "substring substr",
    exp.Concat: "concat",
    exp.ConcatWs: "concat_ws",
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Avg: "avg",
    exp.Min: "min",
    exp.Max: "max",
    exp.Stddev: "stddev",
    exp.StddevSamp: "stddev_samp",
    exp.StddevPop: "stddev_pop",
    exp.Variance: "variance var_samp",
    exp.VariancePop: "var_pop",
    exp.RowNumber: "row_number",
    exp.Rank: "rank",
    exp.DenseRank: "dense_rank",
    exp.PercentRank: "percent_rank",
    exp.CumeDist: "cume_dist",
    exp.Ntile: "ntile",
    exp.FirstValue: "first_value",
    exp.LastValue: "last_value",
    exp.NthValue: "nth_value",
    exp.Lag: "lag",
    exp.Lead: "lead",
}.items()}

# how a refused argument is named (else "<ARGUMENT> of <NODE>")
ARGUMENTS: dict[tuple[type, str], str] = {
    (exp.Select, "sample"): "USING SAMPLE (a random sample)",
    (exp.Table, "sample"): "TABLESAMPLE (a random sample)",
    (exp.Select, "qualify"): "QUALIFY",
    (exp.Select, "laterals"): "LATERAL",
    (exp.Select, "pivots"): "PIVOT",
    (exp.Select, "kind"): "SELECT AS STRUCT",
    (exp.Select, "into"): "SELECT INTO",
    (exp.Select, "hint"): "a query hint",
    (exp.Table, "hints"): "a table hint",
    (exp.Table, "db"): "schema-qualified table",
    (exp.Table, "catalog"): "catalog-qualified table",
    (exp.Table, "version"): "a table version (AT / FOR SYSTEM_TIME)",
    (exp.Table, "ordinality"): "WITH ORDINALITY",
    (exp.Column, "db"): "a column qualified by schema and table",
    (exp.Column, "catalog"): "a column qualified by catalog, schema and table",
    (exp.Join, "match_condition"): "MATCH_CONDITION",
    (exp.Group, "rollup"): "ROLLUP",
    (exp.Group, "cube"): "CUBE",
    (exp.Group, "grouping_sets"): "GROUPING SETS",
    (exp.Group, "totals"): "WITH TOTALS",
    (exp.Distinct, "on"): "DISTINCT ON",
    (exp.Union, "by_name"): "UNION BY NAME",
    (exp.Union, "side"): "an outer UNION",
    (exp.CTE, "materialized"): "a MATERIALIZED hint on a CTE",
    (exp.LimitOptions, "rows"): "FETCH FIRST ... ROWS",
    (exp.LimitOptions, "with_ties"): "WITH TIES",
    (exp.Ordered, "with_fill"): "WITH FILL",
    (exp.Order, "this"): "ORDER BY inside a function call",
    (exp.Between, "symmetric"): "BETWEEN SYMMETRIC",
    (exp.In, "unnest"): "IN UNNEST",
    (exp.Window, "first"): "FIRST / LAST in a window",
    (exp.WindowSpec, "exclude"): "EXCLUDE in a window frame",
    (exp.Cast, "format"): "CAST ... FORMAT",
    (exp.DataType, "nested"): "a nested type",
    (exp.Star, "ilike"): "* ILIKE",
    (exp.Count, "expressions"): "COUNT of several arguments",
    (exp.Max, "count"): "max(x, n) (the n largest)",
    (exp.Min, "count"): "min(x, n) (the n smallest)",
    (exp.Columns, "unpack"): "*COLUMNS(...) (unpacked into a call's arguments)",
}

# how a refused node type is named, when its SQL text would not say it well
NODES: dict[type, str] = {
    exp.Lateral: "LATERAL",
    exp.Pivot: "PIVOT / UNPIVOT",
    exp.Values: "VALUES",
    exp.Fetch: "FETCH FIRST ... ROWS",
    exp.IgnoreNulls: "IGNORE NULLS",
    exp.RespectNulls: "RESPECT NULLS",
    exp.Rollup: "ROLLUP",
    exp.Cube: "CUBE",
    exp.GroupingSets: "GROUPING SETS",
    exp.Lambda: "a lambda (x -> ...)",
    exp.Parameter: "a query parameter",
    exp.Qualify: "QUALIFY",
    exp.TableSample: "a random sample",
}


QUERIES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery,
           exp.Pivot)  # PIVOT t ON ...: pivot.py


def empty(value) -> bool:
    return value is None or value is False or (isinstance(value, (list, str)) and
                                               not value)


_WITHIN_GROUP = ("percentile_cont", "percentile_disc")


def check(tree: exp.Expression, sql: str) -> None:
    """Refuse the first node or argument of ``tree`` (in reading order) the binder does
    not consume; ``sql`` is the text the positions refer to."""
    if not isinstance(tree, QUERIES):
        raise QueryError(f"{tree.key.upper()} statements are not supported; only SELECT is",
                         locate(tree), sql)
    if not _CATALOG:
        _with_catalog()
    for node in _nodes(tree):
        allowed = CONSUMED.get(type(node))
        if allowed is None and _in_row(node):
            allowed = frozenset({"expressions"})
        if allowed is None:
            raise QueryError(f"{_node_name(node, sql)} is not supported", locate(node), sql)
        called = _called(node, sql)
        if called in _WITHIN_GROUP and isinstance(node.parent, exp.WithinGroup):
            called = None  # percentile_cont(q) WITHIN GROUP (...): SQL's spelling, DuckDB's
        if called is not None and type(node) in CALLED and called not in CALLED[type(node)]:
            raise QueryError(f"function {called}() does not exist in DuckDB", locate(node),
                             sql)
        if isinstance(node, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
            _limit_comma(node, sql)
        if isinstance(node, exp.Join):
            _qualified_using(node, sql)
        if isinstance(node, (exp.Ordered, exp.Group)):
            _unary_plus(node, sql)
        for key, value in node.args.items():
            if key in allowed or empty(value):
                continue
            fixed = FIXED.get((type(node), key))
            if fixed is not None and value in fixed:
                continue
            name = ARGUMENTS.get((type(node), key)) or \
                f"{key.strip('_').upper().replace('_', ' ')} of {node.key.upper()}"
            shown = value if isinstance(value, exp.Expression) else \
                value[0] if isinstance(value, list) and value and \
                isinstance(value[0], exp.Expression) else None
            raise QueryError(f"{name} is not supported", locate(shown, node), sql)


_CATALOG: list[bool] = []


def _in_row(node: exp.Expression) -> bool:
    """Whether ``node`` is the row value of ``(a, b) IN (subquery)`` (Binder.in_operand;
    other row values are rewritten by rows.py before this check)."""
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    return isinstance(node, exp.Tuple) and isinstance(parent, exp.In) and \
        bool(parent.args.get("query")) and _operand(parent) is node


def _operand(node: exp.In) -> exp.Expression:
    x = node.this
    while isinstance(x, exp.Paren):
        x = x.this
    return x


def _with_catalog() -> None:
    """The nodes the function catalog reads (query/catalog/: sqrt(x) is exp.Sqrt) join
    the tables, with the arguments, names and fixed values each registers."""
    from mapdb.query import catalog
    for cls, (args, called, fixed) in catalog.SYNTAX.items():
        CONSUMED.setdefault(cls, args)
        CALLED.setdefault(cls, called)
        for key, values in fixed.items():
            FIXED.setdefault((cls, key), values)
    _CATALOG.append(True)


def _nodes(tree: exp.Expression):
    """Every node, parents before children, children in argument order (depth-first)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        children = [c for v in node.args.values()
                    for c in (v if isinstance(v, list) else [v])
                    if isinstance(c, exp.Expression)]
        stack.extend(reversed(children))


def _called(node: exp.Expression, sql: str) -> str | None:
    """The name a function was called by in the text (sqlglot records where it is)."""
    meta = node.meta if isinstance(node, exp.Func) else None
    if not meta or "start" not in meta or "end" not in meta:
        return None
    name = sql[meta["start"]:meta["end"] + 1]
    return name.lower() if name.replace("_", "a").isalnum() else None


def _limit_comma(node: exp.Expression, sql: str) -> None:
    """``LIMIT 5, 10`` (MySQL's offset, count): sqlglot reads it as OFFSET 5 LIMIT 10;
    DuckDB rejects it."""
    lim, off = node.args.get("limit"), node.args.get("offset")
    if lim is None or off is None or not isinstance(lim, exp.Limit):
        return
    a, b = position(off), position(lim)
    if a is not None and b is not None and a < b and "," in sql[a:b] and \
            "limit" not in sql[a:b].lower():
        raise QueryError("LIMIT offset, count is not DuckDB syntax (write LIMIT count "
                         "OFFSET offset)", a, sql)


def _qualified_using(node: exp.Join, sql: str) -> None:
    """``USING (a.x)``: sqlglot keeps only ``x``; DuckDB rejects it."""
    for u in node.args.get("using") or []:
        p = position(u)
        if not isinstance(u, exp.Identifier) or (p is not None and
                                                  sql[:p].rstrip().endswith(".")):
            raise QueryError("USING takes column names without a table", p, sql)


def _unary_plus(node: exp.Expression, sql: str) -> None:
    """``ORDER BY +1``: DuckDB reads a constant expression (it orders nothing), sqlglot
    drops the plus and leaves a position."""
    for e in [node.this] if isinstance(node, exp.Ordered) else node.expressions:
        while isinstance(e, exp.Paren):
            e = e.this
        p = position(e) if isinstance(e, exp.Literal) else None
        if p is not None and sql[:p].rstrip().endswith("+"):
            what = "ORDER BY" if isinstance(node, exp.Ordered) else "GROUP BY"
            raise QueryError(f"{what} +{e.this}: a unary plus on a position is not "
                             "supported", p, sql)


def _node_name(node: exp.Expression, sql: str) -> str:
    if type(node) in NODES:
        return NODES[type(node)]
    if isinstance(node, exp.Func):
        name = _called(node, sql) or node.sql_name().lower()
        if isinstance(node.parent, exp.Window) and node.arg_key == "this":
            return f"{name}() as a window function"
        return f"function {name}()"
    text = node.sql(dialect="duckdb")
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{node.key.upper()} ({text})"


def position(node: exp.Expression) -> int | None:
    """The offset of ``node`` in the text: its own, or its first descendant's the parser
    recorded (identifiers, literals and function names carry one)."""
    for n in itertools.chain([node], node.walk()):
        meta = getattr(n, "meta", None) or (getattr(n.this, "meta", None)
                                            if isinstance(getattr(n, "this", None),
                                                          exp.Expression) else None)
        if meta and "start" in meta:
            return meta["start"]
    return None


def locate(*nodes) -> int:
    """Where to point an error about the first of ``nodes``: the position of the first
    that has one (its own or a descendant's), else of the nearest ancestor of the last
    that has one, else the start of the statement."""
    last = None
    for n in nodes:
        if n is None:
            continue
        last = n
        p = position(n)
        if p is not None:
            return p
    while last is not None and last.parent is not None:
        last = last.parent
        p = position(last)
        if p is not None:
            return p
    return 0
