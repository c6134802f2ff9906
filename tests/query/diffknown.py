"""Known causes of differential failures: each a precise test on the failing case, so a
random run tells known differences (expected to fail, xfail in pytest) from new ones.

Two kinds:
- issue 16's list, being fixed now (``new=False``);
- found by this generator and not in that list (``new=True``): reported with a minimal
  statement (MINIMAL in test_differential.py); xfail until fixed, so ``make test`` stays
  usable, and listed by ``python -m tests.query.differential``.

A test may rerun the case: on a variant of the data (diffdata.VARIANTS: no NaN, no -0.0,
only finite floats) or with the statement changed; "passes on the variant" means the
failure needs that value. First match wins, so the specific tests come first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import diffgen
from .diffreduce import case_for_sql


@dataclass(frozen=True)
class Known:
    key: str
    reason: str
    new: bool
    test: Callable  # (Outcome, Probe) -> bool
    fixed: str = ""  # the commit that fixed it: no longer a cause (a failure is a regression)


class Probe:
    """Reruns a failing case on variants of the data or with its statement changed."""

    def __init__(self, engines, outcome):
        from .differential import run_sql
        self._run = run_sql
        self.engines = engines
        self.o = outcome
        case = None
        if outcome.seed:
            case = diffgen.generate(outcome.seed)
            if case.sql != outcome.sql:
                case = None
        self.case = case or case_for_sql(outcome.sql, outcome.seed)
        # tags from the text too (a statement given as SQL, or one the generator did not tag)
        outcome.tags = sorted(set(outcome.tags) | set(self.case.tags) |
                              set(case_for_sql(outcome.sql).tags))
        self._memo: dict = {}

    def passes(self, variant: str) -> bool:
        """The case does not fail over the data variant."""
        if self.engines is None:
            return False
        if variant not in self._memo:
            o = self._run(self.engines.variant(variant), self.case)
            self._memo[variant] = not o.failed
        return self._memo[variant]

    def passes_sql(self, sql: str) -> bool:
        """The case with its statement changed to ``sql`` does not fail (same flags)."""
        if self.engines is None or sql == self.case.sql:
            return False
        if sql not in self._memo:
            c = case_for_sql(sql, self.case.seed)
            c.order_idx, c.ordered, c.limited = (self.case.order_idx, self.case.ordered,
                                                 self.case.limited)
            c.count_only = self.case.count_only
            o = self._run(self.engines, c)
            self._memo[sql] = not o.failed
        return self._memo[sql]


def _diff(o) -> bool:
    return o.status == "DIFFERENT"


def _raw(o, text: str) -> bool:
    return o.status == "RAW_EXCEPTION" and text in o.detail


_TS_LITERAL = re.compile(r"'(\d{4}-\d\d-\d\d) \d\d:\d\d:\d\d(?:\.\d+)?'")
_CAST_VARCHAR = re.compile(r"(?:\bAS|::)\s*(?:VARCHAR|TEXT)\b", re.I)


def _midnight(sql: str) -> str:
    return _TS_LITERAL.sub(lambda m: f"'{m.group(1)} 00:00:00'", sql)


_DATE_TRUNC_SUBDAY = re.compile(r"date_trunc\(\s*'(hour|minute|second|millisecond|"
                                r"microsecond)'", re.I)
_F32 = re.compile(r"\b((?:\w+\.)?f32)\b")
_FAR_YEARS = re.compile(r"INTERVAL\s+'?100000'?\s+YEAR", re.I)


def _drop_doubles(sql: str) -> str:
    """The statement with the DOUBLE literals (1e3) left out of its lists."""
    sql = re.sub(r",\s*-?[\d.]+e-?\d+(?=\s*[,)])", "", sql)
    return re.sub(r"\(\s*-?[\d.]+e-?\d+\s*,\s*", "(", sql)


_FLOAT_TEXT = re.compile(r"-?\d+\.\d+(?:e[+-]?\d+)?")


def _floats_in_text_close(o) -> bool:
    """The rows only in mapdb and only in DuckDB are the same once every decimal number in
    them (also inside strings: a float cast to VARCHAR) is rounded to 12 digits."""
    m = re.search(r"only in mapdb: \[(.*)\]\n\s*only in DuckDB: \[(.*)\]", o.detail) or \
        re.search(r"order key \((.*)\), DuckDB \((.*)\)\n", o.detail)
    if m is None or m.group(1) == m.group(2):
        return False
    rows = [sorted(_FLOAT_TEXT.sub(lambda f: f"{float(f.group()):.12g}", g).split("), ("))
            for g in m.groups()]
    return rows[0] == rows[1]


def _has(sql: str, pattern: str) -> bool:
    return re.search(pattern, sql, re.I) is not None


def _wide_decimal(o) -> bool:
    """DuckDB's column is a decimal with a scale, or the statement sums or mixes uint64."""
    head = o.detail.split(";")[0]
    return _has(head, r"DuckDB decimal128\(\d+, [1-9]") or \
        _has(o.sql, r"\bsum\s*\(|\bu64\b|\buk\b|UBIGINT|9223372036854775808|"
             r"18446744073709551615")


# First match wins: exceptions by their message, then types, then reruns on data
# variants, then what the statement contains.
KNOWN = [
    # -- raw exceptions ----------------------------------------------------------------------
    Known("date-join-keys", "issue 16: an equi-join or IN (SELECT) on DATE keys raises "
          "ArrowNotImplementedError (date32 to int64)", False,
          lambda o, p: _raw(o, "date32 to int64"),
          fixed="1e53c12 (join keys of every type)"),
    Known("cast-decimal-literal", "NEW: CAST(<decimal constant> AS VARCHAR) raises TypeError "
          "(Int64Scalar has no len(), evaluate.to_decimal128 while folding)", True,
          lambda o, p: _raw(o, "has no len()") and "to_decimal128" in o.detail,
          fixed="93cd4fc (CAST(x AS VARCHAR) as DuckDB writes it)"),
    Known("outer-join-dictionary", "NEW: an outer join whose padded side has a dictionary "
          "column raises AttributeError (LargeStringArray has no .dictionary, in "
          "executor._concat)", True,
          lambda o, p: _raw(o, "object has no attribute 'dictionary'"),
          fixed="95193f3 (edge values the differential generator found)"),
    Known("interval-overflow", "NEW: date/timestamp +- INTERVAL n YEAR|MONTH past year 9999 "
          "raises OverflowError (intervals._add_months through Python datetime)", True,
          lambda o, p: _raw(o, "date value out of range") or _raw(o, "year "),
          fixed="95193f3"),
    Known("bigint-vs-decimal-constant", "NEW: comparing a BIGINT constant near 2**63 with a "
          "decimal constant raises OverflowError while folding (pyarrow scalar)", True,
          lambda o, p: _raw(o, "Python int too large to convert to C long"),
          fixed="95193f3"),
    Known("decimal-cast-precision", "NEW: CAST(x AS DECIMAL(p, s)) does not check the "
          "precision: CAST(154 AS DECIMAL(4,2)) is 154.00 in a decimal128(4, 2), which is "
          "not valid Arrow (DuckDB: Conversion Error)", True,
          lambda o, p: _diff(o) and o.reason == "invalid Arrow answer"
          and "does not fit in precision" in o.detail,
          fixed="CAST to DECIMAL(p, s) checks the precision"),
    Known("decimal-output-precision", "NEW: a decimal answer whose values pass its "
          "precision: UNION of a DECIMAL(9,2) and a DECIMAL(18,2) typed decimal128(9, 2); "
          "DECIMAL(18, s) arithmetic holding 19 digits typed decimal128(18, s)", True,
          lambda o, p: _diff(o) and o.reason == "invalid Arrow answer"
          and "does not fit in precision" in o.detail,
          fixed="UNION/CASE convert decimals to the common precision; 19 digits widen"),
    Known("typed-null-cast", "NEW: CAST(CAST(NULL AS VARCHAR) AS FLOAT) raises "
          "AttributeError (float_value of None)", True,
          lambda o, p: _raw(o, "has no attribute 'strip'"),
          fixed="a typed NULL constant casts to NULL"),
    Known("nullif-type", "NEW: NULLIF(a, b) typed as the common type of a and b "
          "(NULLIF(REAL, DOUBLE): DOUBLE; DuckDB: a's type, REAL)", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\bnullif\s*\(")
          and o.reason.startswith("type float vs float32"),
          fixed="NULLIF keeps its first argument's type"),
    Known("lag-default-type", "NEW: LAG/LEAD(x, n, default) typed as the common type of x "
          "and the default (lag(DECIMAL(9,2), 2, 1.005) gave 1.005; DuckDB casts the "
          "default to x's type: 1.01)", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\b(lag|lead)\s*\([^()]*,[^()]*,"),
          fixed="the LAG/LEAD default cast to the value's type"),
    Known("decimal-avg-rounding", "NEW: AVG of decimals (and large integer sums) rounded "
          "twice (sum to double, / 10**scale, / count): -7981836.5200000005 where DuckDB "
          "divides its exact sum once (-7981836.52; seen through CAST AS VARCHAR)", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\bavg\s*\(") and
          _CAST_VARCHAR.search(o.sql) is not None,
          fixed="AVG of integers and decimals: the exact sum divided once (query.exact)"),
    # -- types -------------------------------------------------------------------------------
    Known("coalesce-tz", "NEW: COALESCE/CASE of TIMESTAMP and TIMESTAMPTZ is a TIMESTAMP "
          "(DuckDB: TIMESTAMPTZ)", True,
          lambda o, p: _diff(o) and o.reason.startswith(("type timestamp vs timestamptz",
                                                         "type timestamptz vs timestamp")),
          fixed="TIMESTAMPTZ beside TIMESTAMP/DATE in CASE/COALESCE/UNION"),
    Known("float32-arith", "NEW: REAL (float32) becomes DOUBLE where DuckDB keeps REAL: "
          "arithmetic (f32 / id: DuckDB -4.979166507720947, mapdb -4.979166666666667), "
          "UNION of REAL columns; the case passes with f32 cast to DOUBLE", True,
          lambda o, p: _diff(o) and (o.reason.startswith(("type float vs float32",
                                                          "type float32 vs float"))
                                     or p.passes_sql(_F32.sub(r"CAST(\1 AS DOUBLE)", o.sql))),
          fixed="REAL arithmetic in float32 (DuckDB's REAL beside non-DOUBLE numbers)"),
    Known("wide-decimal-arith", "NEW: arithmetic on a DECIMAL(38, s) (a SUM of decimals, "
          "uint64 beside signed integers in CASE/COALESCE) is done in DOUBLE (DuckDB: exact "
          "DECIMAL/HUGEINT); the values lose digits", True,
          lambda o, p: _diff(o) and ((o.reason.startswith("type float vs exact")
                                      and _wide_decimal(o))
                                     or (_has(o.sql, r"\bsum\s*\(")
                                         and _CAST_VARCHAR.search(o.sql) is not None
                                         and p.passes_sql(_CAST_VARCHAR.sub(" AS DOUBLE",
                                                                            o.sql)))),
          fixed="exact DECIMAL(38, s) / HUGEINT arithmetic (mapdb.query.exact)"),
    Known("empty-agg-type", "NEW: an aggregate over no rows (or of NULL) is typed DOUBLE "
          "(SELECT max(v) FROM e; DuckDB: the argument's type)", True,
          lambda o, p: _diff(o) and o.reason.startswith("type float vs exact")
          and (o.reason.endswith("(all NULL)") or _has(o.sql, r"\bFROM e\b"))
          and not _has(o.detail.split(";")[0], r"DuckDB decimal128\(\d+, [1-9]"),
          fixed="95193f3"),
    Known("folded-aggregate", "NEW: a select item whose only aggregate is folded away "
          "(FALSE AND avg(x) > 1) turns an aggregate query into a projection: one row per "
          "input row, DuckDB one row", True,
          lambda o, p: _diff(o) and re.search(r"^fused=\w+: \d+ rows, DuckDB 1\n", o.detail)
          is not None and not _has(o.sql, r"GROUP\s+BY"),
          fixed="boolean folding keeps a side that holds an aggregate"),
    Known("in-list-double", "NEW: x IN (integers and a DOUBLE): DuckDB compares all as "
          "DOUBLE (2**63-1 matches 9223372036854775808), mapdb each item exactly; passes "
          "with the DOUBLE items dropped", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\bIN\s*\([^()]*\d+(\.\d*)?e-?\d")
          and p.passes_sql(_drop_doubles(o.sql)),
          fixed="x IN (...) with a DOUBLE among them compares all as DOUBLE"),
    Known("correlated-count-distinct", "NEW: a correlated scalar subquery's COUNT(DISTINCT "
          "x) is NULL where no row matches (DuckDB 0; COUNT(x) is right); passes with "
          "COUNT(x)", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\(SELECT[^()]*count\s*\(\s*DISTINCT")
          and p.passes_sql(re.sub(r"(?i)count\s*\(\s*DISTINCT\s+", "count(", o.sql)),
          fixed="correlated COUNT(DISTINCT) is 0 where no row matches"),
    Known("duckdb-null-extract", "DuckDB quirk, not a mapdb bug: DuckDB types extract/"
          "date_part of a NULL constant DOUBLE (of a value: BIGINT), and a UNION or CASE "
          "with it becomes DOUBLE; mapdb keeps BIGINT", True,
          lambda o, p: _diff(o) and o.reason.startswith("type exact vs float") and _has(
              o.sql, r"\b(extract|date_part|year|month|day|quarter|week|dayofweek|isodow)"
                     r"\s*\([^()]*CAST\s*\(\s*NULL\b")),
    # -- reruns on variants of the data -------------------------------------------------------
    Known("nan", "issue 16: NaN semantics (DuckDB: NaN = NaN, NaN sorts above +inf, max() "
          "is NaN); the case passes on the same data without NaN", False,
          lambda o, p: o.failed and p.passes("nan"),
          fixed="31c98bc (NaN, infinities and signed zeros as DuckDB has them)"),
    Known("negzero", "NEW: -0.0 unlike DuckDB: -0.0 and 0.0 are different keys in hash "
          "joins and UNION/INTERSECT/EXCEPT (DuckDB: equal), x / -0.0 takes the sign of x "
          "(DuckDB: IEEE, -0.5 / -0.0 = +inf); passes on the data without -0.0", True,
          lambda o, p: o.failed and p.passes("negzero"),
          fixed="31c98bc, 95193f3"),
    Known("div-negzero", "NEW (as negzero): x / -0.0 where the -0.0 is computed (round("
          "-2.5, -1), -x): mapdb's infinity has the sign of x, DuckDB's -x", True,
          lambda o, p: _diff(o) and "/" in o.sql and _has(o.detail, r"only in mapdb: .*\binf")
          and _has(o.detail, r"only in DuckDB: .*-inf|only in mapdb: .*-inf"),
          fixed="95193f3"),
    Known("nan-negzero", "issue 16 NaN semantics and NEW -0.0 handling together (below); "
          "the case passes on the data without NaN and -0.0", False,
          lambda o, p: o.failed and p.passes("nan-negzero"),
          fixed="31c98bc"),
    Known("window-prefix-sum", "NEW: window SUM/AVG over a partition are differences of "
          "prefix sums in double: wrong (0.0, NaN, lost digits) once the column holds inf, "
          "values near 1e300, denormals beside them or BIGINTs near 2**63; passes on the "
          "data without them", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\b(sum|avg|mean)\s*\([^()]*\)\s+OVER\b")
          and p.passes("small"),
          fixed="exact window sums of doubles far apart in magnitude; exact integer/decimal "
                "window averages"),
    Known("variance-overflow", "NEW: var/stddev of large or infinite doubles unlike DuckDB: "
          "overflow near the maximum (var_pop of two 1.797e308: inf; DuckDB 0.0), "
          "cancellation (stddev_samp of the constant 2**63 / 5 over 192 rows: 256.7; DuckDB "
          "0.0), a group of one inf (NaN; DuckDB 0.0); passes on the data without them", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\b(var|stddev|variance)\w*\s*\(")
          and (p.passes("small") or _has(o.sql, r"\d{16}|\de\+?[1-9]\d")),
          fixed="var/stddev as DuckDB's Welford update (mapdb.query.variance)"),
    Known("round-denormal", "NEW: round(x, -n) of a denormal double returns x (round("
          "5e-324, -1): DuckDB 0.0, mapdb 5e-324); passes on the data without denormals",
          True, lambda o, p: _diff(o) and _has(o.sql, r"\bround\s*\(") and p.passes("normal"),
          fixed="round(DOUBLE, n) as DuckDB: the exact value rounded half away from zero"),
    Known("false-filter-global-agg", "NEW: a constant FALSE filter above an aggregate "
          "without GROUP BY (HAVING FALSE, or WHERE FALSE over a derived aggregate) is "
          "pushed below it: one row comes back, DuckDB none", True,
          lambda o, p: _diff(o) and "1 rows, DuckDB 0" in o.detail,
          fixed="the optimizer keeps constant filters above global aggregates"),
    Known("nan-computed", "issue 16: NaN semantics, NaN computed (inf - inf, 0 * inf, 0/0): "
          "NaN is in the answers and they differ in order or rows", False,
          lambda o, p: _diff(o) and o.reason in ("order", "values", "row count")
          and re.search(r"\bnan\b", o.detail) is not None,
          fixed="31c98bc"),
    Known("self-right-join", "NEW: t AS a RIGHT JOIN t AS b ... JOIN x ON a.col = ...: "
          "with b.col (the same name) selected, the second join keeps the wrong rows "
          "(15 instead of 47; count(*) and other select lists are right)", True,
          lambda o, p: _diff(o) and o.reason in ("row count", "values", "order")
          and _has(o.sql, r"\b(\w+) AS \w+ RIGHT (OUTER )?JOIN \1 AS \w+ ON .* JOIN "),
          fixed="the scan's join prefilter no longer takes a build-side column for the "
                "scan's own of the same name"),
    Known("float-sum-round", "NEW, deliberate: round(sum(double), n) at a decimal tie "
          "(values with 3 decimals summed, rounded to 2): DuckDB adds the rows one by one "
          "in its scan order, mapdb's SUM is Arrow's (pairwise, another order), so the sums "
          "differ in the last bit and round() moves them 0.01 apart", True,
          lambda o, p: _diff(o) and o.reason in ("values", "order")
          and _has(o.sql, r"\bround\s*\(\s*(sum|avg)\s*\(")
          and re.search(r"\d\.\d\d[,)]", o.detail) is not None),
    Known("group-negzero", "NEW, deliberate: a float GROUP BY key holding both -0.0 and 0.0 "
          "(one group, as in DuckDB) comes back as 0.0; DuckDB shows the zero its hash table "
          "met first (here -0.0), seen through CAST AS VARCHAR ('-0.0') or 1 / key (-inf); "
          "passes on the data without -0.0", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\bGROUP BY\b")
          and _has(o.detail, r"(only in DuckDB: |order key .*DuckDB \().*('-0\.0'|-0\.0\b|-inf)")
          and p.passes("negzero")),
    Known("float-text-last-digit", "NEW, deliberate: var/stddev (or a float sum) cast to "
          "VARCHAR differ in the last digit ('733510371.8447813', DuckDB '...814'): DuckDB "
          "runs Welford's update row by row in its scan order, mapdb two passes over the "
          "group (its sums pairwise); equal with every number rounded to 12 digits, or "
          "passes with the cast to DOUBLE (values within 1e-9)",
          True,
          lambda o, p: _diff(o) and o.reason in ("values", "order") and "nan'" not in o.detail
          and _CAST_VARCHAR.search(o.sql)
          is not None and _has(o.sql, r"\b(var|stddev|variance|sum|avg)\w*\s*\(")
          and (_floats_in_text_close(o)
               or p.passes_sql(_CAST_VARCHAR.sub("AS DOUBLE", o.sql)))),
    Known("float-sum-overflow", "NEW, deliberate: sum/avg of doubles near the largest ones "
          "beside an infinity: Arrow's pairwise sum overflows 1e300 + 1.797e308 to +inf, "
          "which with a -inf makes NaN, where DuckDB's row-by-row sum met the -inf first "
          "(-inf); which order overflows is the order's (float-sum-round's cause); passes on "
          "the data without |x| >= 1e300 and infinities", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\b(sum|avg|mean)\s*\(")
          and not _has(o.sql, r"\bOVER\b") and _has(o.detail, r"\b(nan|-?inf)\b")
          and p.passes("small")),
    Known("duckdb-window-avg-nan", "NEW, DuckDB's bug: a windowed avg/sum (ORDER BY: a "
          "running frame) over t, whose f64 holds +inf, -inf and NaN, gives NaN for the first "
          "peer group {NULL, -812, -610, -inf, -172} where DuckDB's own avg of those rows is "
          "-inf (mapdb -inf); passes on the data without infinities", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\b(sum|avg|mean)\s*\([^()]*\)\s+OVER\b")
          and _has(o.detail, r"-inf") and p.passes("small")),
    Known("variance-nan-sign", "NEW, deliberate: var/stddev of a group holding NaN and "
          "infinities: DuckDB's NaN is 'nan' or '-nan' (seen through CAST AS VARCHAR) as its "
          "partial states happen to combine; mapdb's is the group's first NaN ('nan'), -NaN "
          "when only infinities made it (as DuckDB); passes on the data without NaN", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\b(var|stddev|variance)\w*\s*\(")
          and _has(o.detail, r"only in DuckDB: .*'-?nan'") and p.passes("nan")),
    Known("duckdb-date-trunc-range", "NEW, DuckDB's bug: date_trunc(part, DATE column) "
          "compared with a constant, part below a day (hour, minute, second, ...): DuckDB's "
          "optimizer rewrites it to an empty date range (date_trunc('minute', dt) = "
          "TIMESTAMP '2024-02-29 00:00:00' is false for dt 2024-02-29); mapdb compares the "
          "values; passes with the part 'day' (the same value for a DATE)", True,
          lambda o, p: _diff(o) and _DATE_TRUNC_SUBDAY.search(o.sql) is not None
          and p.passes_sql(_DATE_TRUNC_SUBDAY.sub("date_trunc('day'", o.sql))),
    # -- what the statement contains ----------------------------------------------------------
    Known("far-future", "NEW: date_trunc (and others) of timestamps near year 100000 wrap "
          "around (DuckDB: the right timestamp); passes with 1 year instead of 100000", True,
          lambda o, p: _diff(o) and _FAR_YEARS.search(o.sql) is not None
          and p.passes_sql(_FAR_YEARS.sub("INTERVAL 1 YEAR", o.sql)),
          fixed="date_trunc, year, day of year, ISO week/year past year 9999 by numpy's "
                "calendar"),
    Known("date-vs-timestamp", "NEW: date <> TIMESTAMP with a time of day is folded to TRUE "
          "(= to FALSE), also for NULL dates (DuckDB: NULL); passes with the time at "
          "midnight", True,
          lambda o, p: _diff(o) and _TS_LITERAL.search(o.sql) is not None
          and p.passes_sql(_midnight(o.sql)),
          fixed="95193f3"),
    Known("concat_ws", "issue 16: concat_ws(sep, ...) treats the separator as a value and "
          "does not skip NULLs", False,
          lambda o, p: o.failed and "concat_ws" in o.sql.lower(),
          fixed="57d7b91 (concat_ws bound as its own function)"),
    Known("cast-varchar", "issue 16: CAST(timestamp|double AS VARCHAR) is formatted unlike "
          "DuckDB ('... 10:30:00.000000', '1' for 1.0)", False,
          lambda o, p: _diff(o) and _CAST_VARCHAR.search(o.sql) is not None,
          fixed="93cd4fc"),
    Known("tz-year-bc", "NEW: year/date_part of a TIMESTAMPTZ before 0001-01-01: DuckDB "
          "(ICU calendar) says 1 for 1 BC, mapdb 0; passes with the TIMESTAMPTZ cast to "
          "TIMESTAMP", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\b(year|date_part|extract)\b")
          and _has(o.sql, r"\btz\b")
          and p.passes_sql(re.sub(r"\b((?:\w+\.)?tz)\b", r"CAST(\1 AS TIMESTAMP)", o.sql)),
          fixed="year of a TIMESTAMPTZ counts eras (1 BC is 1) as DuckDB's ICU calendar"),
    # -- constructs the generator tagged --------------------------------------------------------
    Known("star-modifier", "issue 16: SELECT * EXCLUDE (...) / * REPLACE (...) is answered "
          "as SELECT * (the modifier is ignored)", False,
          lambda o, p: o.failed and "star-modifier" in o.tags,
          fixed="c06a926 (the binder's allow-list), 5f6e2c4"),
    Known("sample-percent", "issue 16: USING SAMPLE and LIMIT n% are ignored (all rows, or "
          "LIMIT n rows)", False,
          lambda o, p: _diff(o) and "tail-modifier" in o.tags,
          fixed="c06a926, 14fb31b"),
    Known("alias-case", "issue 16: table aliases are case-sensitive (FROM t AS A ... a.x)",
          False, lambda o, p: o.failed and "alias-case" in o.tags,
          fixed="14fb31b (case-insensitive names)"),
    Known("order-by-alias", "issue 16: ORDER BY a name that is a select alias and an input "
          "column binds the column (DuckDB: the alias)", False,
          lambda o, p: o.failed and "alias-clash" in o.tags,
          fixed="14fb31b (ORDER BY aliases first)"),
    Known("order-by-star-replace", "NEW: ORDER BY a name that * REPLACE (expr AS name) or "
          "* RENAME (old AS name) gives a new value binds the input column (DuckDB: the "
          "select list's new value, as an alias)", True,
          lambda o, p: o.failed and "star-modifier" in o.tags and _has(o.sql, r"ORDER BY"),
          fixed="REPLACEd and RENAMEd * items are ORDER BY aliases"),
    Known("star-replace-duplicate", "NEW: * REPLACE (expr AS k) over a join with two "
          "columns k replaced both (DuckDB: the first takes the value, the second goes)",
          True, lambda o, p: _diff(o) and "star-modifier" in o.tags
          and o.reason == "column count",
          fixed="* REPLACE drops the later columns of the name, as DuckDB"),
    Known("widen-constant", "NEW: a constant DECIMAL select item of a derived table "
          "compared with a UBIGINT constant (q.d0 IN (1, 18446744073709551615) for d0 = "
          "99.99) raises TypeError (to_decimal128 handed a scalar)", True,
          lambda o, p: _raw(o, "Int64Scalar' has no len()"),
          fixed="to_decimal128 of a scalar is a scalar"),
    Known("count-if-empty", "NEW: count_if(c) over no row, or only NULL c, gave 0 (DuckDB: "
          "NULL; it is a sum)", True,
          lambda o, p: _diff(o) and _has(o.sql, r"\bcount_?if\s*\("),
          fixed="count_if as sum(CAST(c AS BIGINT))"),
    Known("grouping-set-key-expr", "NEW: GROUP BY CUBE / GROUPING SETS with a key that is an "
          "expression of another key (w + 1 and w): in a set grouping w + 1 but not w, the "
          "w inside w + 1 was made NULL (DuckDB: w + 1 is the set's key, whole)", True,
          lambda o, p: _diff(o) and "group-modifier" in o.tags,
          fixed="groupingsets._nulled keeps a key of the set whole"),
    Known("empty-decimal-sum", "NEW: sum of a DECIMAL constant over no rows came back as a "
          "double NULL inside the plan: -CASE WHEN c THEN sum(0.01) ELSE 0.5 END raised "
          "TypeError in exact.py", True,
          lambda o, p: _raw(o, "for &: 'float' and 'int'"),
          fixed="an empty sum of a decimal is NULLs of its decimal type"),
    Known("group-by-all-constants", "NEW: GROUP BY ALL grouped by constant select items "
          "(DuckDB skips them: SELECT 1 FROM u GROUP BY ALL is ungrouped, one row per row)",
          True, lambda o, p: _diff(o) and _has(o.sql, r"GROUP BY ALL"),
          fixed="GROUP BY ALL skips constant items; none left and no aggregate: no grouping"),
    Known("grouping-set-position", "NEW: an integer key in ROLLUP / CUBE / GROUPING SETS was "
          "a constant (DuckDB: a select item's position), and making it NULL in the other "
          "sets nulled every equal literal", True,
          lambda o, p: o.failed and "group-modifier" in o.tags
          and _has(o.sql, r"(ROLLUP|CUBE|GROUPING SETS)\s*\(.*\b\d+\s*[,)]"),
          fixed="integer keys of grouping sets are positions, other constants refused"),
    Known("interval-null", "NEW: NULL + INTERVAL (an untyped NULL, as a rolled-up key "
          "becomes) raised AttributeError in add_interval (DuckDB refuses the literal form)",
          True, lambda o, p: _raw(o, "has no attribute 'tz'"),
          fixed="add_interval of a NULL column is NULL of the result type"),
]


def classify(outcome, engines=None) -> Known | None:
    """The known cause of a failing outcome, or None (a new failure)."""
    if not outcome.failed:
        return None
    probe = Probe(engines, outcome)
    for k in KNOWN:
        if k.fixed:
            continue
        try:
            if k.test(outcome, probe):
                return k
        except Exception:  # a probe that cannot run decides nothing
            continue
    return None
