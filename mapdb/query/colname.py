"""Result column names as DuckDB gives them to unnamed select items, so code ported from
DuckDB finds its columns: ``count(*)`` is ``count_star()``, ``SUM(x)`` is ``sum(x)``,
``a + 1`` is ``(a + 1)``, ``x LIKE 'a%'`` is ``(x ~~ 'a%')``, ``CASE`` gets DuckDB's
spacing.

DuckDB names such an item by printing its parsed expression (ParsedExpression::ToString):
every operator wrapped in parentheses, function names lowercased as written (and quoted
when they are keywords: ``"substring"(s, 1, 2)``), typed literals as casts. This module
prints sqlglot's tree the same way. sqlglot does not keep everything the text had (an
alias's spelling when it has no position, ``a ^ 2`` against ``a ** 2``, ``TEXT`` against
``VARCHAR``), so an expression with a node not covered here keeps sqlglot's spelling whole
rather than a mix of both.

>>> import sqlglot
>>> def name(sql):
...     node = sqlglot.parse_one(f"SELECT {sql}", read="duckdb").expressions[0]
...     return duckdb_name(node, f"SELECT {sql}")
>>> name("count(*)"), name("SUM(x) / Count(*)"), name("s NOT LIKE 'a%'")
('count_star()', '(sum(x) / count_star())', "(s !~~ 'a%')")
>>> name("CASE WHEN a > 1 THEN 'big' END"), name("substring(s, 1, 2)")
("CASE  WHEN ((a > 1)) THEN ('big') ELSE NULL END", '"substring"(s, 1, 2)')
"""

from __future__ import annotations

import re

from sqlglot import exp

from mapdb.errors import QueryError
from mapdb.query.keywords import KEYWORDS

_BINARY = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.IntDiv: "//",
    exp.Mod: "%", exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<",
    exp.LTE: "<=", exp.DPipe: "||", exp.BitwiseAnd: "&", exp.BitwiseOr: "|",
    exp.BitwiseLeftShift: "<<", exp.BitwiseRightShift: ">>", exp.Pow: "^",
    exp.NullSafeEQ: "IS NOT DISTINCT FROM", exp.NullSafeNEQ: "IS DISTINCT FROM",
    exp.Like: "~~", exp.ILike: "~~*",
}
_NEGATED = {exp.Like: "!~~", exp.ILike: "!~~*"}
# typed sqlglot functions whose arguments are, in order, the ones written
_PLAIN_FUNCS = (
    exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Upper, exp.Lower, exp.Length, exp.Abs,
    exp.Round, exp.Ceil, exp.Floor, exp.Sqrt, exp.Ln, exp.Exp, exp.Substring, exp.Concat,
    exp.Greatest, exp.Least, exp.Stddev, exp.StddevSamp, exp.StddevPop, exp.Variance,
    exp.VariancePop, exp.Median, exp.ArgMax, exp.ArgMin, exp.Sign, exp.Initcap,
    exp.Reverse, exp.Repeat, exp.Ascii, exp.Chr, exp.MD5, exp.Nullif, exp.Left, exp.Right,
    exp.Replace, exp.Year, exp.Month, exp.Day, exp.Quarter, exp.Hour, exp.Minute,
    exp.Second, exp.RowNumber, exp.Rank, exp.DenseRank, exp.Lag, exp.Lead, exp.FirstValue,
    exp.LastValue, exp.NthValue, exp.Ntile, exp.PercentRank, exp.CumeDist,
    exp.LogicalAnd, exp.LogicalOr, exp.CountIf,
)
# flags sqlglot sets on a function for its own translation, not written by the user
_FLAGS = {exp.Concat: ("safe", "coalesce")}
# sqlglot's spelling of a type -> DuckDB's for the ones they spell differently
_TYPES = {"TEXT": "VARCHAR", "INT": "INTEGER", "REAL": "FLOAT", "NUMERIC": "DECIMAL",
          "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


_BEFORE_ARGS = re.compile(r"([A-Za-z_]\w*)\s*\(\s*(?:DISTINCT\s+)?$", re.I)


class _Unknown(Exception):
    """A node this module does not print as DuckDB does."""


def _is_boolean(x: str, value: exp.Boolean, op: str) -> str:
    """x IS [NOT] TRUE/FALSE as DuckDB prints it: a cast and IS [NOT] DISTINCT FROM."""
    return f"(CAST({x} AS BOOLEAN) {op} {'true' if value.this else 'false'})"


def duckdb_name(node: exp.Expression, sql: str | None = None) -> str:
    """DuckDB's name for the unnamed select item ``node`` (``sql``: the text it was parsed
    from, for the spelling of function names); sqlglot's text where it is unsure."""
    try:
        return _Printer(sql).print(node)
    except _Unknown:
        return node.sql(dialect="duckdb")


class _Printer:
    def __init__(self, sql: str | None):
        self.sql = sql

    def print(self, n: exp.Expression) -> str:
        p = self.print
        if isinstance(n, exp.Paren):
            return p(n.this)
        if isinstance(n, exp.Column):
            return ".".join(_ident(part) for part in n.parts)
        if isinstance(n, exp.Literal):
            return "'" + n.this.replace("'", "''") + "'" if n.is_string else n.this
        if isinstance(n, exp.Null):
            return "NULL"
        if isinstance(n, exp.Identifier):  # a lambda's parameter in its body
            return _ident(n)
        if isinstance(n, exp.Lambda):
            return self.lambda_(n)
        if isinstance(n, exp.Boolean):
            return "true" if n.this else "false"
        if isinstance(n, exp.Neg):
            if isinstance(n.this, exp.Literal) and not n.this.is_string:
                return "-" + n.this.this
            return f"(-({p(n.this)}))"
        if isinstance(n, exp.BitwiseNot):
            return f"(~({p(n.this)}))"
        if isinstance(n, exp.And | exp.Or):
            word = "AND" if isinstance(n, exp.And) else "OR"
            return "(" + f" {word} ".join(p(c) for c in _flatten(n, type(n))) + ")"
        if isinstance(n, exp.Not):
            inner = n.this
            if type(inner) in _NEGATED and not inner.args.get("escape"):
                return f"({p(inner.this)} {_NEGATED[type(inner)]} {p(inner.expression)})"
            if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
                return f"({p(inner.this)} IS NOT NULL)"
            if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Boolean):
                return _is_boolean(p(inner.this), inner.expression, "IS DISTINCT FROM")
            return f"(NOT {p(inner)})"
        if type(n) in _BINARY:
            if n.args.get("escape") or (n.args.get("negate") and type(n) not in _NEGATED):
                raise _Unknown
            op = (_NEGATED if n.args.get("negate") else _BINARY)[type(n)]
            return f"({p(n.this)} {op} {p(n.expression)})"
        if isinstance(n, exp.Is):
            if isinstance(n.expression, exp.Boolean):
                return _is_boolean(p(n.this), n.expression, "IS NOT DISTINCT FROM")
            if not isinstance(n.expression, exp.Null):
                raise _Unknown
            return f"({p(n.this)} IS NULL)"
        if isinstance(n, exp.In):
            if n.args.get("query") or n.args.get("unnest") or n.args.get("field"):
                raise _Unknown
            return f"({p(n.this)} IN ({', '.join(p(e) for e in n.expressions)}))"
        if isinstance(n, exp.Tuple):  # a row value (a, b)
            return f'"row"({", ".join(p(e) for e in n.expressions)})'
        if isinstance(n, exp.Between):
            return f"({p(n.this)} BETWEEN {p(n.args['low'])} AND {p(n.args['high'])})"
        if isinstance(n, exp.Case):
            return self.case(n)
        if isinstance(n, exp.Cast):  # TryCast is a Cast
            word = "TRY_CAST" if isinstance(n, exp.TryCast) else "CAST"
            return f"{word}({p(n.this)} AS {_type(n.to)})"
        if isinstance(n, exp.Extract):
            return f"date_part('{n.this.name.upper()}', {p(n.expression)})"
        if isinstance(n, exp.Coalesce):
            return f"COALESCE({', '.join(p(a) for a in _args(n))})"
        if isinstance(n, exp.Filter):
            where = n.expression.this if isinstance(n.expression, exp.Where) else n.expression
            return f"{p(n.this)} FILTER (WHERE {p(where)})"
        if isinstance(n, exp.Window):
            return self.window(n)
        if isinstance(n, exp.Count):
            return self.count(n)
        if isinstance(n, exp.Anonymous):
            return self.call(n.name, n.expressions)
        if isinstance(n, (exp.Array, exp.Struct, exp.Bracket, exp.Dot, exp.Explode,
                          exp.ArraySort, exp.ToMap, exp.Map)):
            return self.nested(n)
        if isinstance(n, exp.WithinGroup):
            return self.within_group(n)
        from mapdb.query import catalog  # functions of query/catalog/ with a node of their own
        if type(n) in catalog.AS_WRITTEN:
            try:
                args = catalog.from_node(n)[1]
            except QueryError:  # (refused: the binder says so, with its position)
                raise _Unknown from None
            order = [a for a in args if isinstance(a, exp.Ordered)]
            plain = [a for a in args if not isinstance(a, exp.Ordered)
                     and a is not catalog.DISTINCT]
            out = self.call(self.written_name(n), plain, catalog.DISTINCT in args)
            if order:  # an aggregate's ORDER BY, inside its call as DuckDB prints it
                out = f"{out[:-1]} ORDER BY {', '.join(self.ordered(o) for o in order)})"
            return out
        if isinstance(n, _PLAIN_FUNCS):
            return self.call(self.written_name(n), _args(n))
        raise _Unknown

    def nested(self, n: exp.Expression) -> str:
        """``[1, 2]`` is ``list_value(1, 2)``, ``{'a': 1}`` ``struct_pack(a := 1)``,
        ``s.a`` on an expression ``(s).a``, subscripts as written."""
        p = self.print
        if isinstance(n, exp.Array):
            return f"list_value({', '.join(p(e) for e in n.expressions)})"
        if isinstance(n, exp.Struct):
            if not all(isinstance(e, exp.PropertyEQ) for e in n.expressions):
                raise _Unknown
            return "struct_pack(" + ", ".join(f"{_ident(e.this)} := {p(e.expression)}"
                                              for e in n.expressions) + ")"
        if isinstance(n, exp.ToMap):  # MAP {k: v}: "map"(list_value(k), list_value(v))
            inner = n.this
            sub = None
            if isinstance(inner, exp.Bracket):  # MAP {...}[k]
                inner, sub = inner.this, inner.expressions
            if not isinstance(inner, exp.Struct) or not all(
                    isinstance(e, exp.PropertyEQ) for e in inner.expressions):
                raise _Unknown
            keys = ", ".join(p(e.this) for e in inner.expressions)
            values = ", ".join(p(e.expression) for e in inner.expressions)
            out = f'"map"(list_value({keys}), list_value({values}))' if \
                inner.expressions else '"map"()'
            if sub is not None:
                if len(sub) != 1:
                    raise _Unknown
                out += f"[{p(sub[0])}]"
            return out
        if isinstance(n, exp.Map):
            return self.call("map", [a for a in (n.args.get("keys"), n.args.get("values"))
                                     if a is not None])
        if isinstance(n, exp.Dot):
            if isinstance(n.this, exp.Identifier):  # s.a of a lambda's parameter s
                return f"{_ident(n.this)}.{_ident(n.expression)}"
            return f"({p(n.this)}).{_ident(n.expression)}"
        if isinstance(n, exp.Explode):
            return self.call("unnest", [n.this, *n.expressions])
        if isinstance(n, exp.ArraySort):  # (the order words are flags: only without them)
            name = self.written_name(n)
            first, asc = n.args.get("nulls_first"), n.args.get("asc")
            plain = "reverse" in name.lower() or asc is None
            if not plain or (isinstance(first, exp.Boolean) and first.this):
                raise _Unknown
            return self.call(name, [n.this])
        if len(n.expressions) != 1:
            raise _Unknown
        idx = n.expressions[0]
        if isinstance(idx, exp.Slice):
            lo = p(idx.this) if idx.this is not None else ""
            hi = p(idx.expression) if idx.expression is not None else ""
            return f"{p(n.this)}[{lo}:{hi}]"
        from sqlglot.expressions.builders import apply_index_offset
        written = apply_index_offset(n.this, [idx.copy()], 1, dialect="duckdb")[0]
        return f"{p(n.this)}[{p(written)}]"

    def lambda_(self, n: exp.Lambda) -> str:
        """``(x -> body)``, ``("row"(x, i) -> body)``, or as written ``(lambda x, i: body)``
        (DuckDB keeps the syntax it read)."""
        params = [_ident(e) for e in n.expressions]
        body = self.print(n.this)
        start = n.expressions[0].meta.get("start") if n.expressions else None
        if self.sql is not None and start is not None and \
                re.search(r"\blambda\s*$", self.sql[:start], re.I):
            return f"(lambda {', '.join(params)}: {body})"
        if len(params) == 1:
            return f"({params[0]} -> {body})"
        return f'("row"({", ".join(params)}) -> {body})'

    def call(self, name: str, args: list, distinct: bool = False) -> str:
        name = name.lower()
        if not _SIMPLE.match(name):
            raise _Unknown
        if name in KEYWORDS:
            name = f'"{name}"'
        if len(args) == 1 and isinstance(args[0], exp.Distinct):
            return self.call(name.strip('"'), args[0].expressions, distinct=True)
        inner = ", ".join(self.print(a) for a in args)
        return f"{name}({'DISTINCT ' if distinct else ''}{inner})"

    def count(self, n: exp.Count) -> str:
        arg = n.this
        if arg is None or isinstance(arg, exp.Star):
            return "count_star()"
        return self.call("count", [arg])

    def written_name(self, n: exp.Func) -> str:
        """The function's name as the text spells it (sqlglot maps aliases such as
        ``ceiling`` to one class and keeps the token's span in ``meta``)."""
        start, end = n.meta.get("start"), n.meta.get("end")
        if self.sql is not None and start is not None and end is not None:
            word = self.sql[start:end + 1]
            if _SIMPLE.match(word) and self.sql[end + 1:].lstrip().startswith("("):
                return word  # (else the node came from another text, e.g. a view's)
        starts = [d.meta["start"] for d in n.walk() if "start" in d.meta]
        if self.sql is not None and start is None and starts:
            # (no span of its own, e.g. string_agg: the word before its first argument)
            m = _BEFORE_ARGS.search(self.sql[:min(starts)])
            if m is not None:
                return m.group(1)
        head = n.sql(dialect="duckdb").split("(", 1)[0]
        if not _SIMPLE.match(head):
            raise _Unknown
        return head

    def case(self, n: exp.Case) -> str:
        subject = n.this
        out = "CASE "
        for w in n.args.get("ifs") or []:
            cond = self.print(w.this)
            if subject is not None:
                cond = f"({self.print(subject)} = {cond})"
            out += f" WHEN ({cond}) THEN ({self.print(w.args['true'])})"
        default = n.args.get("default")
        return out + f" ELSE {self.print(default) if default is not None else 'NULL'} END"

    def window(self, n: exp.Window) -> str:
        if n.args.get("over") not in (None, "OVER"):
            raise _Unknown
        fn = n.this
        ignore = isinstance(fn, exp.IgnoreNulls)
        if isinstance(fn, (exp.IgnoreNulls, exp.RespectNulls)):
            fn = fn.this  # DuckDB prints IGNORE NULLS inside the call, RESPECT NULLS not
        head = "count()" if isinstance(fn, exp.Count) and (
            fn.this is None or isinstance(fn.this, exp.Star)) else self.print(fn)
        if ignore:
            head = head[:-1] + " IGNORE NULLS)"
        part, order, spec = _named_window(n)  # a named window: DuckDB prints its definition
        parts = []
        if part:
            parts.append("PARTITION BY " + ", ".join(self.print(e) for e in part))
        if order is not None:
            parts.append("ORDER BY " + ", ".join(self.ordered(o) for o in order.expressions))
        if spec is not None:
            parts.append(self.frame(spec))
        return f"{head} OVER ({' '.join(parts)})"

    def within_group(self, n: exp.WithinGroup) -> str:
        """``percentile_cont(q) WITHIN GROUP (ORDER BY x)`` as DuckDB names it (its
        quantile_cont with the ORDER BY inside; mode keeps the clause, spaced its way)."""
        order = n.expression.expressions if isinstance(n.expression, exp.Order) else []
        if len(order) != 1:
            raise _Unknown
        key = order[0]
        text = self.print(key.this) + (" DESC" if key.args.get("desc") else "")
        if isinstance(n.this, exp.Mode):
            return f'"mode"() WITHIN GROUP ( ORDER BY {text})'
        name = "quantile_cont" if isinstance(n.this, exp.PercentileCont) else "quantile_disc"
        return f"{name}({self.print(n.this.this)} ORDER BY {text})"

    def ordered(self, o: exp.Ordered) -> str:
        out = self.print(o.this)
        if o.args.get("desc"):
            out += " DESC"
        elif o.args.get("desc") is False:
            out += " ASC"
        if o.args.get("nulls_first") and not o.args.get("desc"):
            out += " NULLS FIRST"
        elif o.args.get("desc") and not o.args.get("nulls_first"):
            raise _Unknown  # DESC NULLS LAST and DESC print differently; sqlglot merges them
        return out

    def frame(self, spec: exp.WindowSpec) -> str:
        kind = (spec.args.get("kind") or "").upper()
        if kind != "ROWS":
            raise _Unknown  # DuckDB drops a default RANGE frame and prints others its way

        def bound(value, side) -> str:
            v = value if isinstance(value, str) else self.print(value)
            if v.upper() == "CURRENT ROW":
                return "CURRENT ROW"
            return f"{v.upper() if v.upper() == 'UNBOUNDED' else v} {side.upper()}"

        start = bound(spec.args["start"], spec.args.get("start_side") or "")
        end = spec.args.get("end")
        end = bound(end, spec.args.get("end_side") or "") if end is not None else "CURRENT ROW"
        return f"ROWS BETWEEN {start.strip()} AND {end.strip()}"


def _named_window(n: exp.Window, defs: list | None = None) -> tuple:
    """(PARTITION BY, ORDER BY, frame) of a window, ``OVER w`` or ``OVER (w ...)`` with the
    clauses of w's definition in the WINDOW clause of the SELECT around it (the binder
    checks the rules; a name it would refuse needs no name)."""
    part, order = n.args.get("partition_by") or [], n.args.get("order")
    spec, ident = n.args.get("spec"), n.args.get("alias")
    if ident is None:
        return part, order, spec
    if defs is None:
        sel = n.parent
        while sel is not None and not isinstance(sel, exp.Select):
            sel = sel.parent
        defs = list(sel.args.get("windows") or []) if sel is not None else []
    at = next((i for i, d in enumerate(defs) if d.name.lower() == ident.name.lower()), None)
    if at is None:
        raise _Unknown
    b_part, b_order, b_spec = _named_window(defs[at], defs[:at])
    return (part or b_part, order if order is not None else b_order,
            spec if spec is not None else b_spec)


def _flatten(n: exp.Expression, kind: type) -> list[exp.Expression]:
    out = []
    for side in (n.this, n.expression):
        bare = side
        while isinstance(bare, exp.Paren):
            bare = bare.this
        out += _flatten(bare, kind) if isinstance(bare, kind) else [side]
    return out


def _args(n: exp.Func) -> list[exp.Expression]:
    out = []
    for key in n.arg_types:
        v = n.args.get(key)
        if v is None or key in _FLAGS.get(type(n), ()):
            continue
        if isinstance(v, list):
            out += v
        elif isinstance(v, exp.Expression):
            out.append(v)
        else:
            raise _Unknown  # a flag (e.g. a function option) sqlglot kept outside the args
    return out


def _ident(part: exp.Expression) -> str:
    """An identifier as DuckDB prints it: quoted when it is not a plain name or is a
    keyword (``sum("year")``)."""
    name = part.name
    if _SIMPLE.match(name) and name.lower() not in KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _type(t: exp.DataType) -> str:
    if t.this == exp.DataType.Type.MAP and len(t.expressions) == 2:
        return f"MAP({_type(t.expressions[0])}, {_type(t.expressions[1])})"
    text = t.sql(dialect="duckdb")
    head, paren, rest = text.partition("(")
    base = head.rstrip("[]")  # INT[] is INTEGER[]
    head = _TYPES.get(base, base) + head[len(base):]
    if paren:
        return f"{head}({', '.join(x.strip() for x in rest.rstrip(')').split(','))})"
    return head
