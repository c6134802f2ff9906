"""A seeded grammar of random SELECT statements over the tables of diffdata.py.

``generate(seed)`` returns a ``Case``: the statement and what its answer's order means
(the output columns its ORDER BY sorts by, whether a LIMIT may cut inside ties). The same
seed always gives the same statement (only ``random.Random(seed)`` is drawn from), so a
failure is replayed by its seed alone.

Statements are typed as they are built: every expression is made for a wanted kind
(int, uint, float, dec, date, ts, tstz, str, bool), so DuckDB accepts nearly all of them
(what it rejects is counted by the runner). The grammar covers filters (comparisons,
BETWEEN, IN lists, IS NULL, LIKE/ILIKE, AND/OR/NOT, CASE), arithmetic, casts and the
functions mapdb supports, aggregates, GROUP BY/HAVING, ORDER BY with NULLS FIRST/LAST,
LIMIT/OFFSET, DISTINCT, joins (inner, left, right, full, cross, comma, self, 3-way),
subqueries (IN, EXISTS, scalar, correlated, in FROM), CTEs, set operations and window
functions. A small share of each statement's choices are constructs mapdb does not
support (``EXOTIC``): those must be refused, never ignored or answered differently.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

NUMERIC = ("int", "uint", "float", "dec")
ALL_KINDS = ("int", "uint", "float", "dec", "date", "ts", "tstz", "str", "bool")
# the kinds a value of each kind can be compared with (DuckDB casts implicitly)
COMPARABLE = {"int": NUMERIC, "uint": NUMERIC, "float": NUMERIC, "dec": NUMERIC,
              "date": ("date", "ts"), "ts": ("date", "ts", "tstz"), "tstz": ("tstz", "ts"),
              "str": ("str",), "bool": ("bool",)}
# how often a statement's choices are things mapdb is not expected to support
EXOTIC = 0.03

TABLES = {
    "t": [("id", "int"), ("g", "int"), ("i8", "int"), ("i16", "int"), ("i32", "int"),
          ("i64", "int"), ("u8", "int"), ("u32", "int"), ("u64", "uint"), ("f32", "float"),
          ("f64", "float"), ("d182", "dec"), ("d42", "dec"), ("d103", "dec"), ("dt", "date"),
          ("ts", "ts"), ("tz", "tstz"), ("b", "bool"), ("s", "str"), ("c", "str")],
    "u": [("uid", "int"), ("k", "int"), ("ks", "str"), ("kd", "date"), ("v", "int"),
          ("w", "float"), ("nm", "str")],
    "v": [("vid", "int"), ("k", "int"), ("x", "dec"), ("uk", "uint"), ("vs", "str")],
}
TABLES["e"] = TABLES["u"]
_ALL_NAMES = {n for cols in TABLES.values() for n, _ in cols} | \
    {f"{p}{i}" for p in "cd" for i in range(12)}
UNIQUE = {"t": "id", "u": "uid", "v": "vid", "e": "uid"}
# equi-join key pairs between tables (duplicates, NULLs, NaN, dates, mixed types)
JOIN_KEYS = {
    ("t", "u"): [("g", "k"), ("s", "ks"), ("dt", "kd"), ("f64", "w"), ("c", "nm"),
                 ("i8", "v"), ("ts", "kd"), ("s", "nm"), ("g", "v")],
    ("t", "v"): [("i8", "k"), ("i64", "k"), ("d42", "x"), ("u64", "uk"), ("s", "vs"),
                 ("c", "vs"), ("g", "k"), ("d182", "x"), ("u8", "k")],
    ("u", "v"): [("k", "k"), ("ks", "vs"), ("nm", "vs"), ("v", "k")],
    ("t", "t"): [("g", "g"), ("s", "s"), ("f64", "f64"), ("c", "c"), ("dt", "dt"),
                 ("i8", "i8")],
    ("u", "u"): [("k", "k"), ("ks", "ks"), ("w", "w")],
    ("t", "e"): [("g", "k"), ("s", "ks")],
    ("e", "u"): [("k", "k")],
}

LITERALS = {
    "int": ["0", "1", "-1", "2", "3", "5", "10", "100", "-100", "127", "-128", "255",
            "32767", "2147483647", "-2147483648", "9223372036854775807",
            "-9223372036854775808", "4294967295", "1000000"],
    "uint": ["9223372036854775808", "18446744073709551615", "9223372036854775807"],
    "float": ["0.5e0", "-2.5e0", "0e0", "3.25e0", "100e0", "1e-300", "1e300", "-1e300",
              "CAST('NaN' AS DOUBLE)", "CAST('inf' AS DOUBLE)", "CAST('-inf' AS DOUBLE)",
              "CAST(-0.0 AS DOUBLE)", "1.7976931348623157e308"],
    "dec": ["0.5", "-0.5", "0.01", "12.25", "99.99", "-99.99", "9999999999999999.99",
            "1.005", "0.0", "-0.05", "2.50"],
    "date": ["DATE '1970-01-01'", "DATE '1969-12-31'", "DATE '2000-02-29'",
             "DATE '9999-12-31'", "DATE '0001-01-01'", "DATE '1900-03-01'",
             "DATE '2024-02-29'", "DATE '2038-01-19'", "DATE '1990-06-15'"],
    "ts": ["TIMESTAMP '1970-01-01 00:00:00'", "TIMESTAMP '1969-12-31 23:59:59.999999'",
           "TIMESTAMP '2000-02-29 12:00:00'", "TIMESTAMP '2262-04-11 23:47:16.854775'",
           "TIMESTAMP '1900-01-01 12:30:00'", "TIMESTAMP '2024-12-31 23:59:59.5'",
           "TIMESTAMP '1995-06-01 08:00:00'"],
    "tstz": ["TIMESTAMPTZ '2000-01-01 00:00:00+00'", "TIMESTAMPTZ '1969-12-31 23:00:00+00'",
             "TIMESTAMPTZ '2024-02-29 12:00:00+00'"],
    "str": ["''", "'a'", "'A'", "'abc'", "'é'", "'e\u0301'", "'日本'", "'🦆'", "'red'",
            "'it''s'", "'zzz'", "'ß'", "'Hello'", "'hello world'", "' lead'", "'12'",
            "'ümlaut'"],
    "bool": ["TRUE", "FALSE"],
}
CAST_TYPES = {"int": ["INTEGER", "BIGINT", "SMALLINT", "TINYINT", "UTINYINT", "UINTEGER"],
              "uint": ["UBIGINT"], "float": ["DOUBLE", "REAL", "FLOAT"],
              "dec": ["DECIMAL(18,2)", "DECIMAL(4,2)", "DECIMAL(10,3)", "DECIMAL(9,0)",
                      "DECIMAL(18,6)"],
              "date": ["DATE"], "ts": ["TIMESTAMP"], "tstz": ["TIMESTAMPTZ"],
              "str": ["VARCHAR", "TEXT"], "bool": ["BOOLEAN"]}
CAST_FROM = {"int": ("int", "uint", "float", "dec", "str", "bool"), "uint": ("int", "uint"),
             "float": ("int", "float", "dec", "str"), "dec": ("int", "float", "dec"),
             "date": ("ts", "date"), "ts": ("date", "ts"), "tstz": ("ts",),
             "str": ALL_KINDS, "bool": ("int", "bool", "str")}
LIKE_PATTERNS = ["'%'", "'a%'", "'%a'", "'%é%'", "'_'", "'__'", "'A%'", "'%\\_%'", "'h_llo'",
                 "'%o w%'", "'e%'", "'🦆%'", "'_x'", "''", "'%%'", "'R%'", "'%1%'"]
EXTRACT_FIELDS = {"date": ["year", "month", "day", "quarter", "dow", "isodow", "doy", "week"],
                  "ts": ["year", "month", "day", "hour", "minute", "second", "dow", "doy",
                         "quarter"],
                  "tstz": ["year", "month", "day", "hour"]}
TRUNC_UNITS = ["year", "quarter", "month", "week", "day", "hour", "minute"]
INTERVALS = ["INTERVAL 1 DAY", "INTERVAL 3 MONTH", "INTERVAL 1 YEAR", "INTERVAL 2 HOUR",
             "INTERVAL 90 MINUTE", "INTERVAL 30 SECOND", "INTERVAL '1' MONTH",
             "INTERVAL 13 MONTH", "INTERVAL (-1) DAY", "INTERVAL 100000 YEAR"]
EXOTIC_FUNCS = {  # kind -> templates over {a} {b} of the same kind unless noted
    "int": ["sign({a})", "greatest({a}, {b})", "least({a}, {b})", "{a} << 1", "{a} & 3",
            "bit_count({a})", "hash({a})"],
    "float": ["sqrt(abs({a}))", "ln({a})", "exp({a})", "power({a}, 2)", "floor({a})",
              "ceil({a})", "greatest({a}, {b})", "cbrt({a})", "degrees({a})"],
    "dec": ["floor({a})", "ceil({a})", "greatest({a}, {b})", "trunc({a})"],
    "str": ["concat_ws(',', {a}, {b})", "concat_ws('', {a}, {b}, {a})", "trim({a})",
            "ltrim({a})", "replace({a}, 'a', 'b')", "reverse({a})", "left({a}, 2)",
            "right({a}, 1)", "repeat({a}, 2)", "lpad({a}, 4, '*')", "split_part({a}, ' ', 1)",
            "md5({a})", "{a}[1:2]", "regexp_replace({a}, '[a-c]', 'X')",
            "format('{{}}-{{}}', {a}, {b})", "greatest({a}, {b})", "string_split({a}, ' ')[1]"],
    "bool": ["{a} IS DISTINCT FROM {b}", "{a} IS NOT DISTINCT FROM {b}", "{a} IS TRUE",
             "{a} IS NOT FALSE"],
    "date": ["last_day({a})", "greatest({a}, {b})"],
    "ts": ["greatest({a}, {b})"],
}
EXOTIC_STR_BOOL = ["starts_with({s}, 'a')", "contains({s}, 'b')", "regexp_matches({s}, '^a')",
                   "{s} SIMILAR TO 'a.*'", "{s} GLOB 'a*'", "{s} ~~ 'a%'", "{s} ^@ 'a'"]
EXOTIC_AGGS = {"int": ["count_if({p})", "bit_or({i})", "sum(DISTINCT {i})", "product({i})"],
               "float": ["median({n})", "avg(DISTINCT {n})", "quantile_cont({n}, 0.5)",
                         "kurtosis({n})", "sum({n}) FILTER (WHERE {p})", "fsum({n})"],
               "bool": ["bool_and({p})", "bool_or({p})"],
               "str": ["string_agg({s}, ',' ORDER BY {s})", "max({s}) FILTER (WHERE {p})"],
               "dec": ["sum({d}) FILTER (WHERE {p})"]}


@dataclass
class Col:
    table: str | None  # the alias that qualifies it (None: not qualifiable)
    name: str
    kind: str
    ref: str  # how this statement writes it


@dataclass
class Scope:
    cols: list[Col]
    unique: str | None = None  # a reference to a column unique per row, if any

    def of(self, kinds) -> list[Col]:
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        return [c for c in self.cols if c.kind in kinds]


@dataclass
class AggCtx:
    """Expressions above GROUP BY: group keys (as written) and aggregates of ``inner``."""
    keys: list[tuple[str, str]]  # (sql, kind)
    inner: Scope


@dataclass
class Case:
    seed: int
    sql: str
    order_idx: list[int] | None = None  # output columns the outer ORDER BY sorts by
    order_total: bool = False  # ORDER BY keys cover every output column
    ordered: bool = False  # has an outer ORDER BY
    limited: bool = False  # LIMIT/OFFSET under ORDER BY (ties may be cut)
    count_only: bool = False  # LIMIT without ORDER BY: only the row count is determined
    must_refuse: str = ""  # DuckDB's answer is random (a sample): mapdb must refuse it
    shape: str = ""
    tags: list[str] = field(default_factory=list)


class Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.seed = seed
        self.aliases = 0
        self.tags: list[str] = []

    # -- helpers ------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(list(seq))

    def wpick(self, options):
        """options: [(weight, value)]"""
        total = sum(w for w, _ in options)
        x = self.r.random() * total
        for w, v in options:
            x -= w
            if x < 0:
                return v
        return options[-1][1]

    def exotic(self) -> bool:
        return self.chance(EXOTIC)

    def fresh(self, prefix: str = "s") -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    # -- literals -----------------------------------------------------------------------
    def literal(self, kind: str, bare_null: bool = False) -> str:
        if self.chance(0.04):
            if bare_null and self.chance(0.7):
                return "NULL"
            return f"CAST(NULL AS {CAST_TYPES[kind][0]})"
        lits = LITERALS[kind]
        if kind == "tstz" and self.chance(0.85):  # a TIMESTAMP, cast to the zone's type
            lits = LITERALS["ts"]
        if kind in ("int", "dec", "float") and self.chance(0.7):
            lits = lits[:6]  # small ones most of the time; the extremes otherwise
        return self.pick(lits)

    def kind(self, ctx) -> str:
        """A kind, mostly one the scope has columns of."""
        scope = ctx.inner if isinstance(ctx, AggCtx) else ctx
        have = sorted({c.kind for c in scope.cols})
        if have and self.chance(0.85):
            return self.pick(have)
        return self.pick(ALL_KINDS)

    # -- expressions --------------------------------------------------------------------
    def expr(self, kind: str, ctx, depth: int = 0) -> str:
        if depth >= 3 or self.chance(0.4 + 0.15 * depth):
            return self.leaf(kind, ctx)
        builder = getattr(self, f"_x_{kind}")
        return builder(ctx, depth + 1)

    def leaf(self, kind: str, ctx) -> str:
        if isinstance(ctx, AggCtx):
            keys = [k for k, kk in ctx.keys if kk == kind]
            if keys and self.chance(0.45):
                return self.pick(keys)
            if self.chance(0.9):
                return self.aggregate(kind, ctx.inner)
            return self.literal(kind)
        cols = ctx.of(kind)
        if cols and self.chance(0.85):
            return self.pick(cols).ref
        return self.literal(kind)

    def num(self, ctx, depth, kinds=NUMERIC) -> tuple[str, str]:
        k = self.wpick([(4 if x == "int" else 1 if x == "uint" else 2, x) for x in kinds])
        return self.expr(k, ctx, depth), k

    def _generic(self, kind, ctx, depth):
        """CASE / COALESCE / NULLIF / CAST: any kind."""
        c = self.r.randrange(6)
        sub = lambda: self.expr(kind, ctx, depth)  # noqa: E731
        if c == 0:
            els = f" ELSE {sub()}" if self.chance(0.7) else ""
            return f"CASE WHEN {self.expr('bool', ctx, depth)} THEN {sub()}{els} END"
        if c == 1:
            op = self.expr(kind, ctx, depth)
            whens = " ".join(f"WHEN {self.literal(kind)} THEN {sub()}"
                             for _ in range(self.r.randint(1, 2)))
            return f"CASE {op} {whens} ELSE {sub()} END"
        if c == 2:
            return f"coalesce({', '.join(sub() for _ in range(self.r.randint(2, 3)))})"
        if c == 3:
            return f"nullif({sub()}, {sub()})"
        if c == 4:
            src = self.pick(CAST_FROM[kind])
            inner = self.literal(src) if src == "str" and kind != "str" and self.chance(0.5) \
                else self.expr(src, ctx, depth)
            if src == "str" and kind in ("date", "ts") and self.chance(0.7):
                inner = self.pick(["'2024-02-29'", "'1969-12-31 23:00:00'", "'0001-01-01'",
                                   "'not a date'"])
            if self.chance(0.2):
                return f"{self._paren(inner)}::{self.pick(CAST_TYPES[kind])}"
            return f"CAST({inner} AS {self.pick(CAST_TYPES[kind])})"
        if kind in EXOTIC_FUNCS and self.exotic():
            self.tags.append("exotic")
            return self.pick(EXOTIC_FUNCS[kind]).format(a=sub(), b=sub())
        return f"ifnull({sub()}, {sub()})"

    @staticmethod
    def constant(e: str, scope: Scope | None) -> bool:
        """No column and no aggregate in ``e`` (ORDER BY / GROUP BY of a constant is an
        ordinal or an error in DuckDB)."""
        if "count(" in e:
            return False
        names = {c.name for c in scope.cols} if scope is not None else _ALL_NAMES
        return not any(w in names for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", e))

    @staticmethod
    def _paren(s: str) -> str:
        return s if s.replace("_", "").replace(".", "").isalnum() else f"({s})"

    def _x_int(self, ctx, depth):
        c = self.wpick([(4, "arith"), (1, "divmod"), (1, "neg"), (1, "abs"), (1, "length"),
                        (2, "extract"), (1, "datediff"), (2, "generic")])
        sub = lambda: self.expr("int", ctx, depth)  # noqa: E731
        if c == "arith":
            return f"({sub()} {self.pick('+-*')} {sub()})"
        if c == "divmod":
            return f"({sub()} {self.pick(['//', '%'])} {sub()})"
        if c == "neg":
            return f"(- {sub()})"
        if c == "abs":
            return f"abs({sub()})"
        if c == "length":
            return f"length({self.expr('str', ctx, depth)})"
        if c == "extract":
            k = self.pick(["date", "ts", "tstz"])
            f = self.pick(EXTRACT_FIELDS[k])
            x = self.expr(k, ctx, depth)
            form = self.r.randrange(3)
            if form == 0:
                return f"extract({f} FROM {x})"
            if form == 1:
                return f"date_part('{f}', {x})"
            if f in ("year", "month", "day", "quarter", "hour", "minute", "second"):
                return f"{f}({x})"
            return f"extract({f} FROM {x})"
        if c == "datediff":
            return f"({self.expr('date', ctx, depth)} - {self.expr('date', ctx, depth)})"
        return self._generic("int", ctx, depth)

    def _x_uint(self, ctx, depth):
        c = self.r.randrange(3)
        if c == 0:
            return f"coalesce({self.expr('uint', ctx, depth)}, {self.pick(['0', '1'])})"
        if c == 1 and self.chance(0.5):
            return f"({self.expr('uint', ctx, depth)} + {self.pick(['0', '1'])})"
        return self._generic("uint", ctx, depth)

    def _x_float(self, ctx, depth):
        c = self.wpick([(3, "div"), (3, "arith"), (1, "round"), (1, "neg"), (1, "abs"),
                        (2, "generic"), (1, "epoch")])
        if c == "div":
            a, _ = self.num(ctx, depth)
            b, _ = self.num(ctx, depth)
            return f"({a} / {b})"
        if c == "arith":
            a = self.expr("float", ctx, depth)
            b, _ = self.num(ctx, depth)
            return f"({a} {self.pick('+-*')} {b})" if self.chance(0.5) else \
                f"({b} {self.pick('+-*')} {a})"
        if c == "round":
            return f"round({self.expr('float', ctx, depth)}, {self.pick(['0', '1', '2', '-1'])})"
        if c == "neg":
            return f"(- {self.expr('float', ctx, depth)})"
        if c == "abs":
            return f"abs({self.expr('float', ctx, depth)})"
        if c == "epoch":
            return f"extract(epoch FROM {self.expr(self.pick(['ts', 'date']), ctx, depth)})"
        return self._generic("float", ctx, depth)

    def _x_dec(self, ctx, depth):
        c = self.wpick([(4, "arith"), (1, "round"), (1, "neg"), (1, "abs"), (2, "generic")])
        if c == "arith":
            a = self.expr("dec", ctx, depth)
            b = self.expr(self.pick(["dec", "dec", "int"]), ctx, depth)
            return f"({a} {self.pick('+-*')} {b})" if self.chance(0.6) else \
                f"({b} {self.pick('+-*')} {a})"
        if c == "round":
            return f"round({self.expr('dec', ctx, depth)}, {self.pick(['0', '1', '2', '-1'])})"
        if c == "neg":
            return f"(- {self.expr('dec', ctx, depth)})"
        if c == "abs":
            return f"abs({self.expr('dec', ctx, depth)})"
        return self._generic("dec", ctx, depth)

    def _x_date(self, ctx, depth):
        c = self.wpick([(2, "cast_ts"), (2, "plus_int"), (3, "generic")])
        if c == "cast_ts":
            return f"CAST({self.expr('ts', ctx, depth)} AS DATE)"
        if c == "plus_int" and self.chance(0.3):
            return (f"({self.expr('date', ctx, depth)} {self.pick('+-')} "
                    f"{self.pick(['1', '7', '31', '365', '-1'])})")
        return self._generic("date", ctx, depth)

    def _x_ts(self, ctx, depth):
        c = self.wpick([(3, "trunc"), (3, "interval"), (1, "cast"), (2, "generic")])
        if c == "trunc":
            x = self.expr(self.pick(["ts", "date"]), ctx, depth)
            unit = self.pick(TRUNC_UNITS)
            return f"date_trunc('{unit}', {x})"
        if c == "interval":
            x = self.expr(self.pick(["ts", "date"]), ctx, depth)
            return f"({x} {self.pick('+-')} {self.pick(INTERVALS)})"
        if c == "cast":
            return f"CAST({self.expr('date', ctx, depth)} AS TIMESTAMP)"
        return self._generic("ts", ctx, depth)

    def _x_tstz(self, ctx, depth):
        c = self.r.randrange(3)
        if c == 0:
            return f"date_trunc('{self.pick(TRUNC_UNITS)}', {self.expr('tstz', ctx, depth)})"
        if c == 1:
            return f"({self.expr('tstz', ctx, depth)} {self.pick('+-')} {self.pick(INTERVALS)})"
        return self._generic("tstz", ctx, depth)

    def _x_str(self, ctx, depth):
        c = self.wpick([(1, "lower"), (1, "upper"), (2, "substr"), (2, "concat"),
                        (1, "cast"), (3, "generic")])
        sub = lambda: self.expr("str", ctx, depth)  # noqa: E731
        if c in ("lower", "upper"):
            return f"{c}({sub()})"
        if c == "substr":
            start = self.pick(["1", "2", "0", "-1", "3"])
            if self.chance(0.3):
                return f"substring({sub()}, {start})"
            return f"substring({sub()}, {start}, {self.pick(['1', '2', '0', '5'])})"
        if c == "concat":
            if self.chance(0.5):
                other = self.expr(self.pick(["str", "str", "int"]), ctx, depth)
                return f"({sub()} || {other})"
            return f"concat({', '.join(sub() for _ in range(self.r.randint(2, 3)))})"
        if c == "cast":
            src = self.pick(["int", "dec", "float", "date", "ts", "bool"])
            return f"CAST({self.expr(src, ctx, depth)} AS VARCHAR)"
        return self._generic("str", ctx, depth)

    def _x_bool(self, ctx, depth):
        out = self._x_bool_(ctx, depth)
        if depth >= 2 and not out.startswith("("):
            out = f"({out})"
        return out

    def _x_bool_(self, ctx, depth):
        c = self.wpick([(6, "cmp"), (2, "between"), (2, "in"), (2, "isnull"), (2, "like"),
                        (4, "andor"), (1, "not"), (1, "generic"), (1, "col")])
        if c == "cmp":
            k = self.kind(ctx)
            a = self._paren(self.expr(k, ctx, depth))
            b = self._paren(self.expr(self.pick(COMPARABLE[k]), ctx, depth))
            return f"{a} {self.pick(['=', '<>', '<', '<=', '>', '>=', '!='])} {b}"
        if c == "between":
            k = self.pick(["int", "float", "dec", "date", "ts", "str"])
            neg = "NOT " if self.chance(0.25) else ""
            return (f"{self.expr(k, ctx, depth)} {neg}BETWEEN {self.expr(k, ctx, depth + 1)} "
                    f"AND {self.expr(k, ctx, depth + 1)}")
        if c == "in":
            k = self.kind(ctx)
            items = [self.literal(self.pick(COMPARABLE[k]), True) if self.chance(0.8)
                     else self.expr(k, ctx, depth + 1) for _ in range(self.r.randint(1, 4))]
            neg = "NOT " if self.chance(0.3) else ""
            return f"{self.expr(k, ctx, depth)} {neg}IN ({', '.join(items)})"
        if c == "isnull":
            k = self.kind(ctx)
            return f"{self.expr(k, ctx, depth)} IS {'NOT ' if self.chance(0.4) else ''}NULL"
        if c == "like":
            if self.exotic():
                self.tags.append("exotic")
                return self.pick(EXOTIC_STR_BOOL).format(s=self.expr("str", ctx, depth))
            op = self.pick(["LIKE", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"])
            return f"{self.expr('str', ctx, depth)} {op} {self.pick(LIKE_PATTERNS)}"
        if c == "andor":
            return (f"({self.expr('bool', ctx, depth)} {self.pick(['AND', 'OR'])} "
                    f"{self.expr('bool', ctx, depth)})")
        if c == "not":
            return f"(NOT {self.expr('bool', ctx, depth)})"
        if c == "col":
            return self.leaf("bool", ctx)
        return self._generic("bool", ctx, depth)

    # -- aggregates ---------------------------------------------------------------------
    def aggregate(self, kind: str, inner: Scope) -> str:
        e = lambda k: self.expr(k, inner, 1)  # noqa: E731
        if kind in EXOTIC_AGGS and self.exotic():
            self.tags.append("exotic")
            return self.pick(EXOTIC_AGGS[kind]).format(
                i=e("int"), n=self.num(inner, 1)[0], p=e("bool"), s=e("str"), d=e("dec"))
        if kind == "int":
            c = self.wpick([(3, "count*"), (2, "count"), (2, "countd"), (3, "sum"),
                            (2, "minmax")])
            if c == "count*":
                return "count(*)"
            if c == "count":
                return f"count({e(self.kind(inner))})"
            if c == "countd":
                return f"count(DISTINCT {e(self.kind(inner))})"
            if c == "sum":
                return f"sum({e('int')})"
            return f"{self.pick(['min', 'max'])}({e('int')})"
        if kind == "uint":
            return f"{self.pick(['min', 'max'])}({e('uint')})"
        if kind == "float":
            c = self.wpick([(3, "avg"), (2, "sum"), (2, "minmax"), (2, "stat")])
            if c == "avg":
                return f"{self.pick(['avg', 'mean'])}({self.num(inner, 1)[0]})"
            if c == "sum":
                return f"sum({e('float')})"
            if c == "minmax":
                return f"{self.pick(['min', 'max'])}({e('float')})"
            fn = self.pick(["stddev_samp", "stddev_pop", "var_samp", "var_pop", "stddev",
                            "variance"])
            return f"{fn}({self.num(inner, 1)[0]})"
        if kind == "dec":
            if self.chance(0.6):
                return f"sum({e('dec')})"
            return f"{self.pick(['min', 'max'])}({e('dec')})"
        if kind == "bool":  # a comparison of aggregates (min/max of a boolean below)
            if self.chance(0.3):
                return f"{self.pick(['min', 'max'])}({e('bool')})"
            k = self.pick(["int", "float", "dec", "str"])
            return f"({self.aggregate(k, inner)} {self.pick(['<', '>', '=', '<>'])} " \
                   f"{self.literal(self.pick(COMPARABLE[k]))})"
        return f"{self.pick(['min', 'max'])}({e(kind)})"

    # -- FROM ---------------------------------------------------------------------------
    def table_scope(self, name: str, alias: str | None, qualify: float) -> Scope:
        q = alias or name
        cols = [Col(q, n, k, f"{q}.{n}" if self.chance(qualify) else n)
                for n, k in TABLES[name]]
        return Scope(cols, f"{q}.{UNIQUE[name]}")

    def single(self) -> tuple[str, Scope]:
        name = self.wpick([(8, "t"), (2, "u"), (2, "v"), (1, "e")])
        alias = None
        if self.chance(0.25):
            alias = self.fresh("a")
            if self.chance(0.1):  # DuckDB folds identifier case
                self.tags.append("alias-case")
                scope = self.table_scope(name, alias, 1.0)
                return f"{name} AS {alias.upper()}", scope
        return (f"{name} AS {alias}" if alias else name), self.table_scope(name, alias, 0.15)

    def join(self) -> tuple[str, Scope, bool]:
        """2 or 3 tables; returns (from, scope, cross) where cross: rows multiply."""
        pairs = list(JOIN_KEYS)
        left_t, right_t = self.pick(pairs)
        if self.chance(0.5):
            left_t, right_t = right_t, left_t
        la, ra = self.fresh("l"), self.fresh("r")
        ls = self.table_scope(left_t, la, 1.0)
        rs = self.table_scope(right_t, ra, 1.0)
        kind = self.wpick([(5, "JOIN"), (1, "INNER JOIN"), (3, "LEFT JOIN"),
                           (2, "RIGHT JOIN"), (2, "FULL JOIN"), (1, "LEFT OUTER JOIN"),
                           (1, "FULL OUTER JOIN"), (1, "CROSS"), (1, "COMMA")])
        scope = Scope(ls.cols + rs.cols, None)
        frm_l, frm_r = f"{left_t} AS {la}", f"{right_t} AS {ra}"
        if kind in ("CROSS", "COMMA"):
            self.tags.append("cross")
            frm = f"{frm_l} CROSS JOIN {frm_r}" if kind == "CROSS" else f"{frm_l}, {frm_r}"
            return frm, scope, True
        cond = self.join_condition(left_t, la, right_t, ra, scope)
        frm = f"{frm_l} {kind} {frm_r} ON {cond}"
        if self.chance(0.25):  # a third table
            third = self.pick(["u", "v", "e"])
            keys = JOIN_KEYS.get((left_t, third)) or \
                [(b, a) for a, b in JOIN_KEYS.get((third, left_t), [])]
            if keys:
                ta = self.fresh("x")
                ts = self.table_scope(third, ta, 1.0)
                k3 = self.pick(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
                a, b = self.pick(keys)
                frm += f" {k3} {third} AS {ta} ON {la}.{a} = {ta}.{b}"
                scope = Scope(scope.cols + ts.cols, None)
        return frm, scope, False

    def join_condition(self, lt, la, rt, ra, scope) -> str:
        keys = JOIN_KEYS.get((lt, rt)) or [(b, a) for a, b in JOIN_KEYS.get((rt, lt), [])]
        if self.chance(0.08):
            self.tags.append("on-constant")
            return self.pick(["1 = 1", "TRUE"])
        a, b = self.pick(keys)
        cond = f"{la}.{a} = {ra}.{b}"
        if self.chance(0.15) and len(keys) > 1:
            a2, b2 = self.pick(keys)
            cond += f" AND {la}.{a2} = {ra}.{b2}"
        if self.chance(0.3):  # a condition on one side only, or across the sides
            side = self.pick([Scope(self.table_scope(lt, la, 1.0).cols),
                              Scope(self.table_scope(rt, ra, 1.0).cols), scope])
            cond += f" AND {self.expr('bool', side, 1)}"
        if self.chance(0.05):  # no equality at all
            ka, kb = self.pick(keys)
            return f"{la}.{ka} {self.pick(['<', '>=', '<>'])} {ra}.{kb}"
        return cond

    # -- subqueries in WHERE ------------------------------------------------------------
    def correlation(self, outer: Scope, inner: Scope) -> str | None:
        pairs = [(o, i) for o in outer.cols if o.table for i in inner.cols
                 if i.kind == o.kind and o.kind in ("int", "str", "date", "dec")]
        if not pairs:
            return None
        o, i = self.pick(pairs)
        return f"{i.ref} = {o.table}.{o.name}"

    def subquery_predicate(self, outer: Scope) -> str:
        name = self.pick(["t", "u", "v", "u", "v", "e"])
        sa = self.fresh("s")
        inner = self.table_scope(name, sa, 1.0)
        c = self.wpick([(3, "in"), (3, "exists"), (2, "scalar"), (1, "in_corr")])
        where = []
        if self.chance(0.5):
            where.append(self.expr("bool", inner, 1))
        neg = "NOT " if self.chance(0.35) else ""
        if c in ("exists", "scalar", "in_corr"):
            corr = self.correlation(outer, inner)
            if corr and self.chance(0.8):
                where.append(corr)
                self.tags.append("correlated")
        w = f" WHERE {' AND '.join(where)}" if where else ""
        if c in ("in", "in_corr"):
            k = self.pick(["int", "str", "dec", "date", "float"])
            if not inner.of(k) or not outer.of(k):
                k = "int"
            x = self.expr(k, outer, 1)
            y = self.pick(inner.of(k)).ref if self.chance(0.8) else self.expr(k, inner, 1)
            return f"{x} {neg}IN (SELECT {y} FROM {name} AS {sa}{w})"
        if c == "exists":
            return f"{neg}EXISTS (SELECT {self.pick(['*', '1', inner.cols[0].ref])} " \
                   f"FROM {name} AS {sa}{w})"
        k = self.pick(["int", "float", "dec", "str", "date"])
        agg = self.aggregate(k, inner)
        x = self.expr(self.pick(COMPARABLE[k]), outer, 1)
        return f"{x} {self.pick(['=', '<', '>', '<>', '<='])} (SELECT {agg} FROM {name} AS {sa}{w})"

    def scalar_subquery(self, outer: Scope) -> tuple[str, str]:
        name = self.pick(["t", "u", "v", "e"])
        sa = self.fresh("s")
        inner = self.table_scope(name, sa, 1.0)
        k = self.pick(["int", "float", "dec", "str"])
        agg = self.aggregate(k, inner)
        corr = self.correlation(outer, inner) if self.chance(0.6) else None
        w = f" WHERE {corr}" if corr else ""
        if corr:
            self.tags.append("correlated")
        return f"(SELECT {agg} FROM {name} AS {sa}{w})", k

    def where(self, scope: Scope, subqueries: bool = True) -> str:
        parts = [self.expr("bool", scope, 0)]
        if subqueries and self.chance(0.2):
            sp = self.subquery_predicate(scope)
            if self.chance(0.1):  # inside OR: refused by mapdb
                self.tags.append("subquery-in-or")
                return f"({parts[0]} OR {sp})"
            parts.append(sp)
            self.r.shuffle(parts)
        return " AND ".join(parts)

    # -- the statement shapes -----------------------------------------------------------
    def from_clause(self) -> tuple[str, Scope, str, str]:
        """(with-prefix, from, scope, what)"""
        c = self.wpick([(10, "single"), (5, "join"), (2, "derived"), (2, "cte")])
        if c == "single":
            frm, scope = self.single()
            return "", frm, scope, "single"
        if c == "join":
            frm, scope, _ = self.join()
            return "", frm, scope, "join"
        # a derived table or CTE: a grouped or plain select over one table
        sub = Gen(self.r.randrange(1 << 30))
        sub.aliases = self.aliases + 100
        inner, kinds = sub.inner_select("d")
        self.tags += sub.tags
        q = self.fresh("q")
        cols = [Col(q, f"d{i}", k, f"{q}.d{i}" if self.chance(0.5) else f"d{i}")
                for i, k in enumerate(kinds)]
        scope = Scope(cols, None)
        if c == "derived":
            return "", f"({inner}) AS {q}", scope, "derived"
        if self.chance(0.2):  # the CTE read twice
            q2 = self.fresh("q")
            cols2 = [Col(q2, f"d{i}", k, f"{q2}.d{i}") for i, k in enumerate(kinds)]
            for col in cols:
                col.ref = f"{q}.{col.name}"
            key = self.r.randrange(len(kinds))
            frm = f"cte AS {q} JOIN cte AS {q2} ON {q}.d{key} = {q2}.d{key}"
            return f"WITH cte AS ({inner}) ", frm, Scope(cols + cols2, None), "cte2"
        return f"WITH cte AS ({inner}) ", f"cte AS {q}", scope, "cte"

    def inner_select(self, prefix: str = "c") -> tuple[str, list[str]]:
        """A select over one table with columns d0, d1, ...: (sql, kinds)."""
        frm, scope = self.single()
        if self.chance(0.5):
            keys = self.group_keys(scope)
            agg = AggCtx(keys, scope)
            items = [(k, kk) for k, kk in keys]
            for _ in range(self.r.randint(1, 3)):
                kind = self.kind(scope)
                items.append((self.expr(kind, agg, 1), kind))
            sql = f"SELECT {self.items(items, prefix)} FROM {frm}"
            if self.chance(0.5):
                sql += f" WHERE {self.where(scope, False)}"
            if keys:
                sql += f" GROUP BY {', '.join(k for k, _ in keys)}"
            if self.chance(0.2):
                sql += f" HAVING {self.expr('bool', agg, 1)}"
            return sql, [k for _, k in items]
        items = [(self.expr(k, scope, 1), k) for k in
                 (self.kind(scope) for _ in range(self.r.randint(1, 4)))]
        sql = (f"SELECT {'DISTINCT ' if self.chance(0.2) else ''}{self.items(items, prefix)} "
               f"FROM {frm}")
        if self.chance(0.6):
            sql += f" WHERE {self.where(scope, True)}"
        return sql, [k for _, k in items]

    @staticmethod
    def items(items, prefix: str = "c") -> str:
        return ", ".join(f"{e} AS {prefix}{i}" for i, (e, _) in enumerate(items))

    def group_keys(self, scope: Scope) -> list[tuple[str, str]]:
        keys = []
        for _ in range(self.wpick([(1, 0), (4, 1), (3, 2), (1, 3)])):
            if self.chance(0.7):
                col = self.pick(scope.cols)
                keys.append((col.ref, col.kind))
            else:
                kind = self.kind(scope)
                e = self.expr(kind, scope, 1)
                if not self.constant(e, scope):
                    keys.append((e, kind))
        out, seen = [], set()
        for k in keys:
            if k[0] not in seen:
                seen.add(k[0])
                out.append(k)
        return out

    def order_limit(self, items: list[tuple[str, str]], scope: Scope | None,
                    aliases: list[str], case: Case, ordinals_only: bool = False,
                    grouped: bool = False) -> str:
        """ORDER BY over output columns (by ordinal, alias or expression) and maybe LIMIT."""
        n = len(items)
        sql = ""
        if self.chance(0.5):
            idx = self.r.sample(range(n), self.r.randint(1, min(n, 3)))
            if self.chance(0.3):  # every output column: a total order
                rest = [i for i in range(n) if i not in idx]
                self.r.shuffle(rest)
                idx += rest
            keys = []
            for i in idx:
                how = self.r.randrange(3)
                if ordinals_only or how == 0 or (how == 2 and self.constant(items[i][0], scope)):
                    ref = str(i + 1)
                elif how == 1:
                    ref = aliases[i]
                else:
                    ref = items[i][0]
                d = self.pick(["", " ASC", " DESC"])
                nl = self.pick(["", "", " NULLS FIRST", " NULLS LAST"])
                keys.append(f"{ref}{d}{nl}")
            extra = None
            if scope is not None and scope.unique and not grouped and self.chance(0.15):
                extra = scope.unique  # a key not in the output: only the multiset is compared
                keys.append(extra + self.pick(["", " DESC"]))
            sql = f" ORDER BY {', '.join(keys)}"
            case.ordered = True
            if extra is None:
                case.order_idx = idx
                case.order_total = set(idx) == set(range(n))
                if self.chance(0.45):
                    sql += f" LIMIT {self.pick([0, 1, 2, 3, 5, 10, 50])}"
                    if self.chance(0.4):
                        sql += f" OFFSET {self.pick([0, 1, 3, 7, 1000])}"
                    case.limited = True
        elif self.chance(0.05):
            sql = f" LIMIT {self.pick([0, 1, 5, 1000])}"
            case.count_only = True
        return sql

    def maybe_alias_clash(self, items, scope) -> list[str]:
        """Aliases c0, c1 ... or, rarely, the name of an input column (DuckDB's ORDER BY
        then binds the alias)."""
        aliases = [f"c{i}" for i in range(len(items))]
        if self.chance(0.05) and scope.cols:
            i = self.r.randrange(len(items))
            name = self.pick(scope.cols).name
            if name not in aliases:
                aliases[i] = name
                self.tags.append("alias-clash")
        return aliases

    def plain(self) -> Case:
        case = Case(self.seed, "", shape="plain")
        prefix, frm, scope, what = self.from_clause()
        case.shape = f"plain/{what}"
        items = []
        if self.chance(0.08) and what in ("single", "join"):
            kept = list(scope.cols)
            sel = "*"
            if self.exotic():
                self.tags.append("star-modifier")
                ex = self.pick(scope.cols)
                if self.chance(0.5):
                    sel = f"* EXCLUDE ({ex.name})"
                    kept = [c for c in scope.cols if c.name != ex.name]
                else:
                    sel = f"* REPLACE ({ex.ref} IS NULL AS {ex.name})"
                    # DuckDB: the first column of the name takes the value, later ones go
                    first = next(i for i, c in enumerate(scope.cols) if c.name == ex.name)
                    kept = [c for i, c in enumerate(scope.cols)
                            if c.name != ex.name or i == first]
            items = [(c.ref, c.kind) for c in kept]
            names = [c.name for c in kept]
            aliases = [c.name if names.count(c.name) == 1 else c.ref for c in kept]
        else:
            for _ in range(self.r.randint(1, 5)):
                kind = self.kind(scope)
                items.append((self.expr(kind, scope, 0), kind))
            if self.chance(0.08):
                sq, kind = self.scalar_subquery(scope)
                items.append((sq, kind))
            aliases = self.maybe_alias_clash(items, scope)
            sel = ", ".join(f"{e} AS {a}" for (e, _), a in zip(items, aliases, strict=True))
        distinct = self.chance(0.12)
        sql = f"{prefix}SELECT {'DISTINCT ' if distinct else ''}{sel} FROM {frm}"
        if self.chance(0.7):
            sql += f" WHERE {self.where(scope)}"
        sql += self.order_limit(items, None if distinct else scope, aliases, case)
        case.sql = sql + self.tail_modifier(case)
        return case

    def grouped(self, global_agg: bool = False) -> Case:
        case = Case(self.seed, "", shape="group")
        prefix, frm, scope, what = self.from_clause()
        case.shape = f"{'global' if global_agg else 'group'}/{what}"
        keys = [] if global_agg else self.group_keys(scope)
        agg = AggCtx(keys, scope)
        items = []
        shown = [k for k in keys if self.chance(0.8)]
        items += shown
        for _ in range(self.r.randint(1, 4)):
            kind = self.kind(scope)
            items.append((self.expr(kind, agg, 0), kind))
        self.r.shuffle(items)
        aliases = [f"c{i}" for i in range(len(items))]
        sql = f"{prefix}SELECT {self.items(items)} FROM {frm}"
        if self.chance(0.6):
            sql += f" WHERE {self.where(scope)}"
        if keys:
            refs = []
            for k in keys:
                pos = [i for i, it in enumerate(items) if it[0] == k[0]]
                how = self.r.randrange(3)
                if pos and how == 1:
                    refs.append(str(pos[0] + 1))
                elif pos and how == 2:
                    refs.append(aliases[pos[0]])
                else:
                    refs.append(k[0])
            if self.exotic():
                self.tags.append("group-modifier")
                sql += self.pick([" GROUP BY ALL", f" GROUP BY ROLLUP ({', '.join(refs)})",
                                  f" GROUP BY CUBE ({', '.join(refs)})",
                                  f" GROUP BY GROUPING SETS (({', '.join(refs)}), ())"])
            else:
                sql += f" GROUP BY {', '.join(refs)}"
        if self.chance(0.3):
            sql += f" HAVING {self.expr('bool', agg, 0)}"
        sql += self.order_limit(items, scope, aliases, case, grouped=True)
        case.sql = sql + self.tail_modifier(case)
        return case

    def window(self) -> Case:
        case = Case(self.seed, "", shape="window")
        name = self.wpick([(5, "t"), (2, "u"), (1, "v")])
        scope = self.table_scope(name, None, 0.0)
        uniq = UNIQUE[name]
        items = [(uniq, "int")]
        for _ in range(self.r.randint(0, 2)):
            c = self.pick(scope.cols)
            items.append((c.ref, c.kind))
        for _ in range(self.r.randint(1, 3)):
            items.append(self.window_fn(scope, uniq))
        inner = f"SELECT {self.items(items)} FROM {name}"
        if self.chance(0.4):
            inner += f" WHERE {self.expr('bool', scope, 0)}"
        if self.exotic():
            self.tags.append("qualify")
            inner += f" QUALIFY c{len(items) - 1} IS NOT NULL"
        if self.chance(0.3):  # filter on a window result
            k = self.r.randrange(1, len(items))
            outer_scope = Scope([Col("q", f"c{i}", kk, f"c{i}")
                                 for i, (_, kk) in enumerate(items)])
            sql = f"SELECT * FROM ({inner}) AS q WHERE {self.expr('bool', outer_scope, 1)}"
            if self.chance(0.5):
                sql = f"SELECT * FROM ({inner}) AS q WHERE c{k} IS NOT NULL"
            case.sql = sql
            return case
        aliases = [f"c{i}" for i in range(len(items))]
        case.sql = inner + self.order_limit(items, None, aliases, case)
        return case

    def window_fn(self, scope: Scope, uniq: str) -> tuple[str, str]:
        parts = []
        if self.chance(0.7):
            pk = [self.pick([c for c in scope.cols if c.name != uniq]).ref
                  for _ in range(self.r.randint(1, 2))]
            if self.chance(0.2):
                pk = [self.expr(self.pick(["int", "str", "bool"]), scope, 2)]
            parts.append(f"PARTITION BY {', '.join(dict.fromkeys(pk))}")
        fn = self.wpick([(2, "row_number"), (2, "rank"), (1, "dense_rank"), (4, "agg"),
                         (2, "lag"), (1, "lead")])
        okeys = [self.pick(scope.cols).ref for _ in range(self.r.randint(0, 2))]
        okeys = [f"{k}{self.pick(['', ' DESC'])}{self.pick(['', ' NULLS FIRST', ' NULLS LAST'])}"
                 for k in dict.fromkeys(okeys)]
        need_total = fn in ("row_number", "lag", "lead")
        frame = ""
        kind = "int"
        if fn == "agg":
            a = self.pick(["count", "count*", "sum", "avg", "min", "max"])
            if a == "count*":
                call = "count(*)"
            elif a == "count":
                call = f"count({self.pick(scope.cols).ref})"
            elif a in ("sum", "avg"):
                col = self.pick(scope.of(("int", "dec", "float")))
                call = f"{a}({col.ref})"
                kind = "float" if a == "avg" or col.kind == "float" else col.kind
            else:
                col = self.pick(scope.cols)
                call = f"{a}({col.ref})"
                kind = col.kind
            if okeys and self.chance(0.4):
                lo = self.pick(["UNBOUNDED PRECEDING", "1 PRECEDING", "3 PRECEDING",
                                "CURRENT ROW"])
                hi = self.pick(["CURRENT ROW", "1 FOLLOWING", "UNBOUNDED FOLLOWING"])
                if lo == "CURRENT ROW" and hi == "CURRENT ROW":
                    hi = "1 FOLLOWING"
                frame = f" ROWS BETWEEN {lo} AND {hi}"
                need_total = True
            if self.exotic():
                self.tags.append("range-frame")
                frame = " RANGE BETWEEN 1 PRECEDING AND CURRENT ROW"
                okeys = [self.pick(scope.of("int")).ref]
        elif fn in ("lag", "lead"):
            col = self.pick(scope.cols)
            kind = col.kind
            args = [col.ref]
            if self.chance(0.6):
                args.append(self.pick(["1", "2", "3"]))
                if self.chance(0.5) and col.kind in ("int", "str", "dec", "date"):
                    args.append(self.literal(col.kind))
            call = f"{fn}({', '.join(args)})"
        else:
            call = f"{fn}()"
            if fn != "row_number" and not okeys:
                okeys = [self.pick(scope.cols).ref]
        if need_total:
            okeys.append(uniq)
        if okeys:
            parts.append(f"ORDER BY {', '.join(okeys)}")
        return f"{call} OVER ({' '.join(parts)}{frame})", kind

    def setop(self) -> Case:
        case = Case(self.seed, "", shape="setop")
        kinds = [self.pick(["int", "str", "dec", "date", "float", "bool", "ts"])
                 for _ in range(self.r.randint(1, 3))]
        branches = []
        for _ in range(self.wpick([(4, 2), (1, 3)])):
            name = self.pick(["t", "u", "v", "t", "e"])
            scope = self.table_scope(name, None, 0.0)
            items = []
            for k in kinds:
                cols = scope.of(k)
                items.append(self.pick(cols).ref if cols and self.chance(0.7)
                             else self.expr(k, scope, 1))
            b = f"SELECT {', '.join(f'{e} AS c{i}' for i, e in enumerate(items))} FROM {name}"
            if self.chance(0.5):
                b += f" WHERE {self.expr('bool', scope, 1)}"
            branches.append(b)
        sql = branches[0]
        for b in branches[1:]:
            op = self.pick(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL",
                            "EXCEPT ALL", "UNION", "UNION ALL"])
            sql += f" {op} {b}"
        items = [(f"c{i}", k) for i, k in enumerate(kinds)]
        if self.chance(0.3):  # as a derived table, grouped
            case.sql = f"SELECT c0, count(*) AS n FROM ({sql}) AS q GROUP BY c0"
            return case
        case.sql = sql + self.order_limit(items, None, [f"c{i}" for i in range(len(kinds))],
                                          case, ordinals_only=True)
        return case

    def tail_modifier(self, case: Case) -> str:
        if case.ordered or case.count_only or not self.exotic():
            return ""
        self.tags.append("tail-modifier")
        if self.chance(0.5):
            case.must_refuse = "USING SAMPLE"
            return " USING SAMPLE 10%"
        case.count_only = True
        return " LIMIT 50%"

    def statement(self) -> Case:
        shape = self.wpick([(6, "plain"), (5, "group"), (2, "global"), (2, "window"),
                            (2, "setop")])
        if shape == "plain":
            case = self.plain()
        elif shape == "group":
            case = self.grouped()
        elif shape == "global":
            case = self.grouped(global_agg=True)
        elif shape == "window":
            case = self.window()
        else:
            case = self.setop()
        case.tags = sorted(set(self.tags))
        return case


def generate(seed: int) -> Case:
    return Gen(seed).statement()


def case_seed(run_seed: int, i: int) -> int:
    """The seed of case ``i`` of a run: replay it with ``--replay`` alone."""
    return run_seed * 1_000_000 + i
