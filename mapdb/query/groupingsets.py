"""GROUP BY ROLLUP / CUBE / GROUPING SETS, as a rewrite of the statement before binding.

A query grouped by several grouping sets is the UNION ALL of one grouped query per set
(DuckDB's definition): in the branch of a set, the keys outside the set are NULL in the
select list and in HAVING (not inside aggregate arguments: ``sum(b)`` still sums b), and
``GROUPING(k, ...)`` is the constant bit mask DuckDB gives (1 for a key not in the set,
the first argument the highest bit). ORDER BY, LIMIT and OFFSET move to a query over the
union, naming its columns; every branch keeps the original items' output names, so the
result has the names and order of columns of the query written.

Where every aggregate combines (count, sum, min, max, avg) the branches share one partial
aggregation: a CTE grouped by all the keys of all the sets, computed once, which each
branch groups again by its own keys (``_shared_partial``), so a ROLLUP of n keys over a
join runs the join once, not n + 1 times. Otherwise (DISTINCT, median, string_agg...)
each branch scans the input again. Window functions in the select list, and ORDER BY items that
are no output column (``ORDER BY grouping(a)``), are evaluated in the query over the
union: the aggregates, GROUPING(...) calls and keys inside them become hidden columns of
every branch (``rank() OVER (PARTITION BY grouping(a) ORDER BY sum(x))``: TPC-DS q70,
q86; ``ORDER BY grouping(a)``: q18). Refused here, with their positions: window functions
in HAVING, SELECT DISTINCT and ``*`` beside grouping sets, and hidden columns beside two
output columns of one name (the query over the union names its columns).

>>> import sqlglot
>>> sql = "SELECT a, median(x) FROM t GROUP BY ROLLUP (a) ORDER BY 1"
>>> tree = expand(sqlglot.parse_one(sql, read="duckdb"), sql)
>>> text = " ".join(tree.sql(dialect="duckdb", pretty=True).split())
>>> print(text)  # doctest: +NORMALIZE_WHITESPACE
SELECT * FROM ( SELECT a AS "a", MEDIAN(x) AS "median(x)" FROM t GROUP BY a UNION ALL SELECT
NULL AS "a", MEDIAN(x) AS "median(x)" FROM t ) AS __mapdb_grouping_sets ORDER BY 1
"""

from __future__ import annotations

import itertools

from sqlglot import exp

from mapdb.query import catalog
from mapdb.query.rewrite import (
    arguments_replaced,
    innermost_first,
    order_item,
    outermost,
    output_name,
    replaced,
)
from mapdb.query.syntax import locate
from mapdb.query.types import QueryError

_SETS = (exp.Rollup, exp.Cube, exp.GroupingSets)
MAX_SETS = 4096  # a CUBE of 12 keys; more is refused (each set is a scan)


def expand(tree: exp.Expression, sql: str) -> exp.Expression:
    """``tree`` with every SELECT grouped by grouping sets rewritten as the union of its
    sets (innermost first); ``sql``: the text, for positions and output names."""
    return innermost_first(tree, [s for s in tree.find_all(exp.Select) if _has_sets(s)],
                           lambda sel: _expand(sel, sql))


def _has_sets(sel: exp.Select) -> bool:
    group = sel.args.get("group")
    return group is not None and any(isinstance(e, _SETS) for e in group.expressions)


def _error(message: str, node, sql: str) -> QueryError:
    return QueryError(message, locate(node), sql)


def _sets_of(node: exp.Expression, sql: str) -> list[list[exp.Expression]]:
    """The grouping sets one element of GROUP BY stands for."""
    if isinstance(node, exp.Rollup | exp.Cube) and not node.expressions:
        raise _error(f"the column list of {node.key.upper()} cannot be empty", node, sql)
    if isinstance(node, exp.Rollup):
        keys = list(node.expressions)
        return [keys[:i] for i in range(len(keys), -1, -1)]
    if isinstance(node, exp.Cube):
        keys = list(node.expressions)
        if len(keys) > 12:
            raise _error(f"CUBE of {len(keys)} keys: the limit is 12", node, sql)
        return [[k for k, bit in zip(keys, mask, strict=True) if bit]
                for mask in itertools.product((1, 0), repeat=len(keys))]
    if isinstance(node, exp.GroupingSets):
        out = []
        for e in node.expressions:
            out += _sets_of(e, sql)
        return out
    if isinstance(node, exp.Tuple):
        return [_flat(list(node.expressions), sql)]
    if isinstance(node, exp.Paren):
        return _sets_of(node.this, sql) if isinstance(node.this, _SETS) else [[node.this]]
    return [[node]]


def _flat(keys: list[exp.Expression], sql: str) -> list[exp.Expression]:
    for k in keys:
        if isinstance(k, (*_SETS, exp.Tuple)):
            raise _error("a grouping set nested inside a grouping set's list", k, sql)
    return keys


def _grouping_sets(group: exp.Group, sql: str) -> list[list[exp.Expression]]:
    sets: list[list[exp.Expression]] = [[]]
    for element in group.expressions:
        sets = [a + b for a in sets for b in _sets_of(element, sql)]
        if len(sets) > MAX_SETS:
            raise _error(f"GROUP BY makes over {MAX_SETS} grouping sets", group, sql)
    return sets


def _key(e: exp.Expression) -> str:
    return e.sql(dialect="duckdb").lower()


def _matcher(every: dict[str, exp.Expression]):
    """``match(node)``: the key (of ``every``) that ``node`` is, or None. A column matches
    a column key written with or without its table (``g`` is the key ``t.g``), unless two
    keys have its name."""
    by_name: dict[str, str | None] = {}
    for k, e in every.items():
        if isinstance(e, exp.Column):
            name = e.name.lower()
            by_name[name] = None if name in by_name else k

    def match(node: exp.Expression) -> str | None:
        k = _key(node)
        if k in every or not isinstance(node, exp.Column):
            return k if k in every else None
        k = by_name.get(node.name.lower())
        if k is None or (node.table and every[k].table and
                         node.table.lower() != every[k].table.lower()):
            return None
        return k
    return match


def _position(k: exp.Expression, sel: exp.Select, sql: str) -> exp.Expression:
    """A key that is an integer is a select item's position (as DuckDB's GROUP BY reads
    it: ``GROUPING SETS ((a, 2))`` groups by the second item); another constant is
    refused (made NULL in the other sets, it would null the same constant everywhere)."""
    bare = k
    while isinstance(bare, exp.Paren):
        bare = bare.this
    if isinstance(bare, exp.Literal) and not bare.is_string and bare.this.isdigit():
        i = int(bare.this)
        if not 1 <= i <= len(sel.expressions):
            raise _error(f"GROUP BY position {i} is not in the select list "
                         f"(1..{len(sel.expressions)})", k, sql)
        item = sel.expressions[i - 1]
        return (item.this if isinstance(item, exp.Alias) else item).copy()
    if isinstance(bare, (exp.Literal, exp.Null, exp.Boolean)):
        raise _error("a constant key in ROLLUP / CUBE / GROUPING SETS", k, sql)
    return k


def _windowed(e: exp.Expression) -> bool:
    return any(isinstance(n, exp.Window) for n in e.walk())


def _lift(e: exp.Expression, every: dict, hidden: list, outputs: set[str]) -> exp.Expression:
    """``e`` for the query over the union: each aggregate, GROUPING(...) and key in it
    (the grouped query's values) becomes a hidden column the branches compute (appended to
    ``hidden`` as (name, expression)); a window function's own call and OVER stay, their
    insides lifted. Columns named in ``outputs`` name the union's output columns."""
    def ref(node):
        name = f"__mapdb_gs_{len(hidden)}"
        hidden.append((name, node.copy()))
        return exp.column(name, quoted=True)

    def inside(node):
        arguments_replaced(node, swap)

    def swap(node):
        if isinstance(node, exp.Window):
            inside(node.this)  # rank() / avg(sum(x)): the call stays, its arguments lift
            for key in ("partition_by", "order"):
                v = node.args.get(key)
                if isinstance(v, exp.Expression):
                    node.set(key, replaced(v, swap))
                elif isinstance(v, list):
                    node.set(key, [replaced(x, swap) for x in v])
            return node
        if isinstance(node, exp.Ordered):
            return None  # ``a NULLS LAST`` renders as ``a``: only its inside is a key
        if isinstance(node, exp.Column) and not node.table and node.name in outputs:
            return exp.column(node.name, quoted=True)
        if isinstance(node, (exp.Grouping, exp.Column)) or is_aggregate(node) or \
                _filtered_aggregate(node) or _key(node) in every:
            return ref(node)
        return None
    return replaced(e.copy(), swap)


def _expand(sel: exp.Select, sql: str) -> exp.Expression:
    for node in _walk(sel.args.get("having")):
        if isinstance(node, exp.Window):
            raise _error("window functions in HAVING", node, sql)
    if sel.args.get("distinct"):
        raise _error("SELECT DISTINCT with ROLLUP / CUBE / GROUPING SETS",
                     sel.args["distinct"], sql)
    for item in sel.expressions:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and
                                          isinstance(item.this, exp.Star)):
            raise _error("* with ROLLUP / CUBE / GROUPING SETS", item, sql)
    sets = [[_position(k, sel, sql) for k in s]
            for s in _grouping_sets(sel.args["group"], sql)]
    every = {}
    for s in sets:
        for k in s:
            every.setdefault(_key(k), k)
    names = [output_name(item, sql) for item in sel.expressions]
    # Window functions, and ORDER BY items that are no output column, are evaluated in
    # the query over the union, on hidden columns the branches compute (_lift).
    hidden: list[tuple[str, exp.Expression]] = []
    windowed = [_windowed(item) for item in sel.expressions]
    outer_items = [exp.alias_(_lift(item.this if isinstance(item, exp.Alias) else item,
                                    every, hidden, set()), name, quoted=True) if w
                   else exp.column(name, quoted=True)
                   for item, name, w in zip(sel.expressions, names, windowed, strict=True)]
    order = sel.args.get("order")
    order_items = []
    for o in order.expressions if order is not None else []:
        if not _windowed(o.this):
            try:
                order_items.append(order_item(o, sel, names, sql,
                                              "ROLLUP / CUBE / GROUPING SETS"))
                continue
            except QueryError:
                if len({n.lower() for n in names}) < len(names):
                    raise  # the query over the union names its columns: they must differ
        lifted = o.copy()
        lifted.set("this", _lift(o.this, every, hidden, set(names)))
        order_items.append(lifted)
    if (hidden or any(windowed)) and len({n.lower() for n in names}) < len(names):
        raise _error("window functions beside ROLLUP / CUBE / GROUPING SETS with two "
                     "output columns of one name", sel, sql)
    match = _matcher(every)
    branches = []
    for s in sets:
        have = {_key(k) for k in s}
        nulls = {k for k in every if k not in have}
        b = sel.copy()
        for clause in ("order", "limit", "offset", "with_"):
            b.set(clause, None)
        unique = list({_key(k): k for k in s}.values())
        b.set("group", exp.Group(expressions=[k.copy() for k in unique]) if unique else None)
        items = []
        for item, name, w in zip(b.expressions, names, windowed, strict=True):
            if w:
                continue  # evaluated over the union, on hidden columns
            inner = item.this if isinstance(item, exp.Alias) else item
            inner = _nulled(inner, nulls, have, match)
            items.append(exp.alias_(inner, name, quoted=True))
        items += [exp.alias_(_nulled(e, nulls, have, match), name, quoted=True)
                  for name, e in hidden]
        b.set("expressions", items)
        if b.args.get("having") is not None:
            b.set("having", exp.Having(this=_nulled(b.args["having"].this, nulls, have,
                                                     match)))
        elif not unique and not _aggregates(b.expressions):
            # the empty set is one group without aggregates too (HAVING makes the query an
            # aggregate's: one row)
            b.set("having", exp.Having(this=exp.true()))
        branches.append(b)
    partial = _shared_partial(sel, branches, every)
    if partial is not None:
        branches, cte = partial
        with_ = sel.args.get("with_")
        with_ = with_.copy() if with_ is not None else exp.With(expressions=[])
        with_.append("expressions", cte)
        sel.set("with_", with_)
    union = branches[0]
    for b in branches[1:]:
        union = exp.Union(this=union, expression=b, distinct=False)
    outer = exp.select(*(outer_items if hidden or any(windowed) else [exp.Star()])).from_(
        exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(
            "__mapdb_grouping_sets"))))
    if sel.args.get("with_") is not None:
        outer.set("with_", sel.args["with_"])
    if order is not None:
        outer.set("order", exp.Order(expressions=order_items))
    for clause in ("limit", "offset"):
        if sel.args.get(clause) is not None:
            outer.set(clause, sel.args[clause])
    return outer


class _Unshared(Exception):
    """The grouping sets cannot share one partial aggregation (the per-set branches stay)."""


_COMBINE = (exp.Count, exp.Sum, exp.Min, exp.Max, exp.Avg)
_names = itertools.count()


def _shared_partial(sel: exp.Select, branches: list[exp.Select], every: dict
                    ) -> tuple[list[exp.Select], exp.CTE] | None:
    """The branches rewritten to read one partial aggregation instead of the input: a CTE
    grouped by every key of every set (its aggregates partial: count, sum, min, max, and
    avg as a sum and a count), which each branch aggregates again by its own keys. The
    input (scans, joins, filters) then runs once, not once per set (TPC-DS q22: a ROLLUP
    of four keys over a 12M-row join). None where that is not sure to mean the same: an
    aggregate that does not combine (DISTINCT, median, string_agg...), a subquery in an
    item, a column that is no key outside an aggregate, a key naming a select alias, a
    clause beyond FROM/WHERE/GROUP BY/HAVING, or a query inside an expression (it may
    read the enclosing query's columns, which a CTE cannot)."""
    if len(branches) < 2 or not outermost(sel):
        return None
    used = {k for k, v in sel.args.items() if v not in (None, [], False)}
    if used - {"expressions", "from_", "joins", "where", "group", "having", "order",
               "limit", "offset", "with_"}:
        return None
    aliases = {item.alias.lower() for item in sel.expressions
               if isinstance(item, exp.Alias) and not (isinstance(item.this, exp.Column)
                                                       and item.this.name == item.alias)}
    if any(isinstance(k, exp.Column) and not k.table and k.name.lower() in aliases
           for k in every.values()):
        return None  # GROUP BY ROLLUP (alias): the partial's select list has no alias
    cte = f"__mapdb_gs_partial_{next(_names)}"
    keys = {k: f"__mapdb_gk_{i}" for i, k in enumerate(every)}
    match = _matcher(every)
    partials: dict[str, tuple[str, exp.Expression]] = {}

    def column(name: str) -> exp.Column:
        return exp.column(name, quoted=True)

    def part(agg: exp.Expression, cond) -> exp.Column:
        e = agg if cond is None else exp.Filter(this=agg, expression=cond.copy())
        name = partials.setdefault(_key(e), (f"__mapdb_gp_{len(partials)}", e))[0]
        return column(name)

    def combine(node: exp.Expression) -> exp.Expression:
        agg, cond = (node.this, node.expression) if isinstance(node, exp.Filter) else \
            (node, None)
        if not isinstance(agg, _COMBINE) or isinstance(agg.this, exp.Distinct) or \
                any(v not in (None, []) for k, v in agg.args.items()
                    if k not in ("this", "big_int")):
            raise _Unshared
        if isinstance(agg, exp.Count):  # counts add up; no rows at all is 0, not NULL
            return exp.cast(exp.Coalesce(this=exp.Sum(this=part(agg.copy(), cond)),
                                         expressions=[exp.Literal.number(0)]), "BIGINT")
        if isinstance(agg, exp.Avg):  # DOUBLE, as DuckDB's avg of any number
            total = exp.Sum(this=part(exp.Sum(this=agg.this.copy()), cond))
            count = exp.Sum(this=part(exp.Count(this=agg.this.copy()), cond))
            return exp.Div(this=exp.cast(total, "DOUBLE"), expression=count)
        return type(agg)(this=part(agg.copy(), cond))

    def swap(node: exp.Expression) -> exp.Expression | None:
        if is_aggregate(node) or _filtered_aggregate(node):
            return combine(node)
        if isinstance(node, (exp.Subquery, exp.Select, exp.Star, exp.Window)):
            raise _Unshared
        k = match(node)
        if k is None and isinstance(node, exp.Column):
            raise _Unshared  # a column that no key matches: leave it to the binder
        return column(keys[k]) if k in keys else None

    out = []
    try:
        for b in branches:
            items = [exp.alias_(replaced(item.this.copy(), swap), item.alias, quoted=True)
                     for item in b.expressions]
            r = exp.select(*items).from_(exp.Table(this=exp.to_identifier(cte, quoted=True)))
            group = b.args.get("group")
            if group is not None:
                r.set("group", exp.Group(expressions=[replaced(k.copy(), swap)
                                                      for k in group.expressions]))
            having = b.args.get("having")
            if having is not None:
                r.set("having", exp.Having(this=replaced(having.this.copy(), swap)))
            out.append(r)
    except _Unshared:
        return None
    body = sel.copy()
    for clause in ("group", "having", "order", "limit", "offset", "with_"):
        body.set(clause, None)
    body.set("expressions", [exp.alias_(e.copy(), keys[k], quoted=True)
                             for k, e in every.items()] +
             [exp.alias_(e, name, quoted=True) for name, e in partials.values()] or
             [exp.alias_(exp.Literal.number(1), "__mapdb_gp", quoted=True)])
    if every:
        body.set("group", exp.Group(expressions=[e.copy() for e in every.values()]))
    return out, exp.CTE(this=body, alias=exp.TableAlias(this=exp.to_identifier(
        cte, quoted=True)))


def _walk(node):
    if node is None:
        return []
    return node.walk() if isinstance(node, exp.Expression) else \
        [n for x in node for n in x.walk()]


# aggregates sqlglot parses as plain calls (exp.Anonymous) that the binder knows itself
_ANONYMOUS_AGGREGATES = frozenset({"mean", "stddev_pop", "stddev_samp", "var_pop",
                                   "var_samp"})


def is_aggregate(node: exp.Expression) -> bool:
    """Whether ``node`` calls an aggregate: one sqlglot knows (exp.AggFunc), or a plain
    call whose name the catalog's aggregate family or the binder holds (``mean(x)``,
    ``arg_max(x, y)``): a rolled-up key inside its arguments is still the rows' values."""
    if isinstance(node, exp.AggFunc):
        return True
    if not isinstance(node, exp.Anonymous):
        return False
    name = node.name.lower()
    f = catalog.lookup(name)
    return name in _ANONYMOUS_AGGREGATES or (f is not None and f.family == "aggregate")


def _filtered_aggregate(node: exp.Expression) -> bool:
    """``agg(...) FILTER (WHERE ...)``: sqlglot wraps the call; the condition is on rows."""
    return isinstance(node, exp.Filter) and is_aggregate(node.this)


def _aggregates(items: list) -> bool:
    """Whether select items call an aggregate of their own query (not of a subquery)."""
    return any(is_aggregate(n)
               for item in items
               for n in item.walk(prune=lambda n: isinstance(n, (exp.Subquery, exp.Select))))


def _nulled(e: exp.Expression, nulls: set[str], have: set[str], match) -> exp.Expression:
    """``e`` with the keys outside this set as NULL (not inside aggregate arguments) and
    GROUPING(...) as its constant."""
    def swap(node):
        if isinstance(node, exp.Grouping):
            bits = 0
            for a in node.expressions:
                bits = bits * 2 + (0 if _key(a) in have else 1)
            return exp.Literal.number(bits)
        if is_aggregate(node) or _filtered_aggregate(node):
            return node  # its arguments and FILTER are the rows' values, grouped or not
        k = match(node)
        if k in have:
            return node  # a key of this set whole: w + 1 keeps its w when w is rolled up
        if k in nulls:
            return exp.Null()
        return None
    return replaced(e.copy(), swap)
