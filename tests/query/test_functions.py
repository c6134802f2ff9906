"""The function catalog (mapdb/query/catalog/, issue 17) against DuckDB: every family's
functions over a table with NULLs and edge values (NaN, +-inf, -0.0, empty and unicode
strings, dates at the ends of the calendar), on plain and dictionary columns, through both
paths; errors where DuckDB errors; and the catalog's own invariants (its syntax entries,
its kernels' op names, the docs table)."""

from __future__ import annotations

import datetime
import decimal
import pathlib

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import mapdb
from mapdb.errors import QueryError
from mapdb.query import catalog

from .compare import same_value

TS = datetime.datetime
D = datetime.date

T = pa.table({
    "id": pa.array(range(10), pa.int64()),
    "x": [1.5, -2.5, None, 0.0, float("nan"), 1e10, float("inf"), -0.0, 0.1, -1e-300],
    "h": pa.array([1.5, -2.5, None, 0.0, float("nan"), 3.25, float("-inf"), -0.0, 0.5, 7.0],
                  pa.float32()),
    "i": pa.array([7, -7, None, 0, 3, 2**40, -(2**62), 1, 100, -1], pa.int64()),
    "k": pa.array([2, -1, 0, None, 5, 1, 3, 10, -3, 4], pa.int32()),
    "m": pa.array([decimal.Decimal(v) if v is not None else None for v in
                   ("1.25", "-1.25", None, "0.00", "99.99", "-0.01", "0.50", "-0.50", "12.34",
                    "-99.99")], pa.decimal128(6, 2)),
    "s": ["  ab  ", "a,b,c", None, "", "héllo wörld", "xxhixx", "Hello", "a\nb", "€uro",
          "a,,b,"],
    "p": ["a", ",", "x", None, "l", "x", "", "\n", "€", ","],
    "d": pa.array([D(2024, 1, 31), D(1969, 12, 31), None, D(2000, 2, 29), D(1, 1, 1),
                   D(9999, 12, 30), D(2024, 12, 30), D(2021, 1, 1), D(1970, 1, 1),
                   D(2023, 3, 31)]),
    "ts": pa.array([TS(2024, 1, 31, 13, 4, 5, 123456), None,
                    TS(1969, 12, 31, 23, 59, 59, 999500), TS(2000, 2, 29),
                    TS(2024, 12, 30, 0, 0, 1), TS(2021, 1, 1, 12), TS(1, 1, 1),
                    TS(2024, 2, 29, 23, 59, 59), TS(1970, 1, 1, 0, 0, 0, 1),
                    TS(2023, 7, 4, 7, 30)], pa.timestamp("us")),
})

MATH = [
    "ceil(x), floor(x), trunc(x), ceiling(x)",
    "ceil(h), floor(h), trunc(h)",
    "ceil(m), floor(m), trunc(m)",
    "ceil(i), floor(i), trunc(i), trunc(k), ceil(k)",
    "sqrt(x), cbrt(x), ln(x), log(x), log2(x), log10(x), exp(x)",
    "sqrt(i), cbrt(m), ln(k), log(h), exp(k)",
    "log(2, x), log(i, 8), log(k, m)",
    "power(x, 2), pow(i, 0.5), power(2, k), power(m, k), power(x, h)",
    "sign(x), sign(h), sign(i), sign(m), sign(k)",
    "mod(i, 3), mod(x, 2), mod(m, 0.3), mod(k, 4)",
    "greatest(x, i), least(x, i), greatest(k, m, 2), least(k, i, NULL)",
    "greatest(x, h), least(x, h, 0), greatest(x, NULL), least(NULL, NULL, x)",
    "greatest(s, p), least(s, p), greatest(d, ts), least(d, DATE '2000-01-01')",
    "pi(), even(x), even(i), even(m), even(k)",
    "isnan(x), isinf(x), isfinite(x), isnan(i), isinf(m), isfinite(k)",
    "degrees(x), radians(x), sin(x), cos(x), tan(x), atan(x), atan2(x, 1), atan2(i, x)",
    "sqrt(NULL), ceil(NULL), sign(NULL), power(NULL, 2), log(NULL, 2), greatest(NULL, 1)",
    "round(sqrt(abs(x)) * 100) / 100, floor(log10(abs(i) + 1)), ceil(x) + floor(m)",
    "asin(x / 1e10), acos(h / 8), cot(x), asin(k), acos(NULL)",
    "gcd(i, 12), lcm(k, 6), gcd(i, 0), lcm(0, k), gcd(NULL, 1), gcd(k, i)",
    "signbit(x), nextafter(x, 0), signbit(k), nextafter(h, 1e300)",
]

STRING = [
    "trim(s), ltrim(s), rtrim(s), trim(s, 'x'), ltrim(s, 'ax '), rtrim(s, p)",
    "trim(s, p), trim(BOTH 'x' FROM s), trim(LEADING 'x' FROM s), trim(TRAILING 'x' FROM s)",
    "replace(s, 'a', 'Z'), replace(s, p, '!'), replace(s, '', 'q'), replace(s, 'l', '')",
    "split_part(s, ',', 2), split_part(s, p, 1), split_part(s, ',', -1), "
    "split_part(s, '', 2), split_part(s, ',', 0), split_part(s, ',', k)",
    "strpos(s, 'l'), instr(s, p), strpos(s, ''), strpos(s, 'ö')",
    "starts_with(s, 'x'), ends_with(s, p), contains(s, 'b'), prefix(s, 'a'), "
    "suffix(s, 'c'), contains(s, p), starts_with(s, p)",
    "left(s, 2), right(s, 2), left(s, -1), right(s, -1), left(s, k), right(s, k)",
    "lpad(s, 8, '*'), rpad(s, 3, 'ab'), lpad(s, k, '-'), rpad(s, 12, 'é!')",
    "reverse(s), repeat(s, 2), repeat(s, k), ascii(s), lcase(s), ucase(s)",
    "chr(k + 65), chr(233), md5(s), strlen(s), length(s), len(s)",
    "trim(NULL), replace(s, NULL, 'a'), left(s, NULL), lpad(NULL, 3, 'x'), md5(NULL)",
    "upper(trim(s)) || lpad(CAST(k AS VARCHAR), 3, '0'), length(replace(s, 'l', ''))",
    "unicode(s), ord(s), bit_length(s), translate(s, 'ab', 'x'), translate(s, p, 'Q')",
    "levenshtein(s, p), editdist3(s, 'hello'), mismatches(s || 'x', s || 'y'), "
    "sha256(s), sha1(s)",
    "to_hex(i), hex(s), to_hex(k), to_hex(0), jaccard(s || 'x', 'abcx'), "
    "jaccard(s || 'x', p || 'y')",
    "url_encode(s), url_decode(url_encode(s)), url_decode('a+b%zz'), strip_accents(s)",
    # constant arguments take Arrow's kernels: unicode, padding and cutting through them
    "lpad(s, 8, 'é'), rpad(s, 2, '€'), lpad(s, 0, 'x'), split_part(s, 'l', 1), "
    "split_part(s, 'ö', 2), split_part(s, ',', 9), strpos(s, 'b'), strpos(s, '€'), "
    "left(s, 0), right(s, 0), right(s, -2), left(s, 100)",
]

REGEXP = [
    "regexp_matches(s, 'a.'), regexp_matches(s, 'A', 'i'), s ~ '^x', "
    "regexp_matches(s, 'a.b'), regexp_matches(s, '^b')",
    "regexp_full_match(s, 'x+hi?x*'), regexp_full_match(s, '.*', 'i'), "
    "regexp_matches(s, '\\d')",
    "regexp_replace(s, 'x', 'Y'), regexp_replace(s, 'x', 'Y', 'g'), "
    "regexp_replace(s, '(h)(i)', '\\2\\1'), regexp_replace(s, 'L', '_', 'gi')",
    "regexp_replace(s, '[aeiou]', '<\\0>', 'g'), regexp_replace(s, '^', '>'), "
    "regexp_replace(s, '$', '<', 'g')",
    "regexp_extract(s, '[a-z]+'), regexp_extract(s, '(\\w),(\\w)', 2), "
    "regexp_extract(s, 'z(\\w)', 1), regexp_extract(s, '(\\w),(\\w)', 3)",
    "regexp_extract(s, 'H(.)', 1, 'i'), regexp_extract(s, '(a)?(b)', 1), "
    "regexp_extract(s, 'l+'), regexp_extract(s, '(.)$', 0)",
    "regexp_matches(NULL, 'a'), regexp_replace(s, NULL, 'x'), regexp_extract(NULL, 'a', 1)",
    "s SIMILAR TO 'a.*', s NOT SIMILAR TO '.*l+.*', s ~ 'a', s !~ 'a', s ^@ 'a'",
    "s GLOB 'a*', s GLOB '*l?o*', s GLOB '[!a]*', s GLOB 'x[xy]*', s GLOB '*\\,*', "
    "s GLOB '[]]', s GLOB 'a[*]', s NOT GLOB '*b*'",
    "s LIKE 'a!%' ESCAPE '!', s NOT LIKE '%!,%' ESCAPE '!', s ILIKE 'H%' ESCAPE '', "
    "s LIKE '%\\_%' ESCAPE '\\', s LIKE '%#%%' ESCAPE '#', like_escape(s, '%!,%', '!'), "
    "not_ilike_escape(s, 'A%', '#')",
]

DATETIME = [
    "date_diff('day', d, DATE '2024-03-01'), datediff('month', d, ts), "
    "date_diff('year', d, ts), date_diff('hour', ts, d)",
    "date_diff('week', d, DATE '2024-02-29'), date_diff('quarter', d, ts), "
    "date_diff('second', ts, TIMESTAMP '2024-01-01'), date_diff('millisecond', ts, d)",
    "date_diff('minute', ts, TIMESTAMP '2024-01-31 13:00:00'), date_diff('DAYS', ts, d), "
    "date_diff('microsecond', ts, d), date_diff('decade', d, ts), "
    "date_diff('century', d, ts), date_diff('isoyear', d, ts)",
    "date_add(d, INTERVAL 1 DAY), d + 1, 1 + d, d + 0, date_add(d, 0)",
    "last_day(d), last_day(ts), make_date(2024, 2, 29), make_date(k + 2000, 2, 28)",
    "dayname(d), monthname(ts), dayname(ts), monthname(d)",
    "dayofweek(d), isodow(d), dayofyear(d), week(d), yearweek(d), weekday(d), "
    "dayofmonth(d), weekofyear(ts), yearweek(ts)",
    "hour(ts), minute(ts), second(ts), millisecond(ts), microsecond(ts), isoyear(d)",
    "epoch(d), epoch(ts), epoch_ms(d), epoch_ms(ts), epoch_us(ts), epoch_ms(k)",
    "epoch_ms(TIMESTAMP '1969-12-31 23:59:59.9995'), epoch_ms(TIMESTAMP "
    "'1969-12-31 23:59:59.9996'), epoch_ms(TIMESTAMP '1970-01-01 00:00:00.0015'), "
    "epoch_ms(TIMESTAMP '1970-01-01 00:00:00.0004')",
    "strftime(d, '%Y-%m-%d'), strftime(ts, '%Y/%m/%d %H:%M:%S.%f'), "
    "strftime(ts, '%a %A %b %B %j %w %u %y %p %I %-d %-m %U %W %V %G')",
    "strftime(ts, '%c | %x | %X | %g | %n | %z | %%'), strftime('%d.%m.%Y', d), "
    "strftime(d, '%-H %-M %-S %-I %-y %-j'), strftime(ts, 'no codes')",
    "date_diff('day', NULL, d), strftime(d, NULL), last_day(NULL), make_date(NULL, 1, 1), "
    "d + NULL",
    "TRY_CAST(s AS INTEGER), TRY_CAST(x AS INTEGER), TRY_CAST(i AS TINYINT), "
    "TRY_CAST(s AS DATE), TRY_CAST(x AS DECIMAL(3, 1)), TRY_CAST(NULL AS INTEGER)",
    "TRY_CAST('12' AS INTEGER), TRY_CAST('x' AS DATE), TRY_CAST(k AS VARCHAR), "
    "TRY_CAST(m AS INTEGER), TRY_CAST(i AS INTEGER)",
    "century(d), decade(d), millennium(d), era(d), century(ts), millennium(ts)",
    "date_sub('month', d, ts), date_sub('year', d, ts), datesub('day', ts, d), "
    "date_sub('hour', ts, d), date_sub('quarter', d, DATE '2024-06-30'), "
    "date_sub('week', d, ts)",
    "date_sub('month', DATE '2024-01-31', d), date_sub('month', d, DATE '2024-02-29'), "
    "date_sub('minute', ts, TIMESTAMP '2024-01-31 00:00:00'), date_sub('decade', d, ts), "
    "date_sub('second', ts, TIMESTAMP '2024-01-31 13:04:05')",
    "make_timestamp(2024, 1, 31, 13, 4, 5.5), make_timestamp(k * 86400000000), "
    "make_timestamp(2000 + k, 2, 28, 23, 59, k + 10.5)",
    "strptime(strftime(ts, '%Y-%m-%d %H:%M:%S.%f'), '%Y-%m-%d %H:%M:%S.%f'), "
    "strptime(strftime(d, '%d/%m/%Y'), '%d/%m/%Y'), try_strptime(s, '%Y')",
    "strptime(strftime(ts, '%b %-d %Y %I:%M %p'), '%b %-d %Y %I:%M %p'), "
    "strptime(strftime(d, '%Y %j'), '%Y %j'), strptime(strftime(d, '%A %B %y'), '%A %B %y')",
    "to_timestamp(k), to_timestamp(1706706245.1234567), to_timestamp(-0.5), "
    "to_timestamp(m), to_timestamp(NULL)",
    "try_strptime('2024-02-30', '%Y-%m-%d'), strptime('20240101', '%Y%m%d'), "
    "strptime(' 2024', '%Y'), strptime('2024 05.5', '%Y %S.%g'), try_strptime(p, '%d')",
]

FAMILIES = {"math": MATH, "string": STRING, "regexp": REGEXP, "datetime": DATETIME}
CASES = [(f, e) for f, exprs in FAMILIES.items() for e in exprs]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("functions") / "db")
    db.create_table("t", T)
    db.create_table("td", T, dictionary=["s", "p"])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", T)
    con.register("td", T)
    yield db, con
    db.close()
    con.close()


def check(engines, sql: str) -> None:
    db, con = engines
    want = con.sql(sql).fetchall()
    for fused in (True, False):
        got = db.sql(sql, fused=fused).fetchall()
        ok = len(got) == len(want) and all(
            len(g) == len(w) and all(same_value(a, b) for a, b in zip(g, w, strict=True))
            for g, w in zip(got, want, strict=True))
        assert ok, f"fused={fused}\n{sql}\nmapdb:  {got}\nDuckDB: {want}"


@pytest.mark.parametrize("table", ["t", "td"])
@pytest.mark.parametrize("family,exprs", CASES,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_functions_as_duckdb(engines, family, exprs, table):
    check(engines, f"SELECT id, {exprs} FROM {table} ORDER BY id")


SHAPES = [
    "SELECT id FROM t WHERE starts_with(s, 'x') OR regexp_matches(s, '^a') ORDER BY id",
    "SELECT date_diff('year', d, DATE '2024-06-01') AS y, count(*) FROM t GROUP BY y "
    "ORDER BY y",
    "SELECT dayname(d) AS n, sum(k) FROM td GROUP BY n ORDER BY n",
    "SELECT sign(x) AS g, count(*), sum(sqrt(abs(x))) FROM t GROUP BY g ORDER BY g",
    "SELECT id, greatest(k, 0) FROM t WHERE d + 1 > DATE '2000-01-01' ORDER BY id",
    "SELECT split_part(s, ',', 1) AS a, count(*) FROM td GROUP BY a ORDER BY a",
    "SELECT id, sum(ceil(x)) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
    "FROM t ORDER BY id",
    "SELECT max(strftime(ts, '%Y-%m')), min(left(s, 1)) FROM t",
    "SELECT id, d + k, k + d, d - k, date_add(d, k), d - 1 FROM t "
    "WHERE year(d) BETWEEN 1000 AND 9000 ORDER BY id",
    "SELECT id, time_bucket(INTERVAL 1 DAY, ts), time_bucket(INTERVAL 7 DAY, d), "
    "time_bucket(INTERVAL 15 MINUTE, ts), time_bucket(INTERVAL 1 MONTH, d), "
    "time_bucket(INTERVAL 3 MONTH, ts), time_bucket(INTERVAL 1 YEAR, d), "
    "time_bucket(INTERVAL 1 WEEK, d), time_bucket(INTERVAL 2 HOUR, ts), "
    "time_bucket(INTERVAL 5 SECOND, ts), time_bucket(INTERVAL 2 HOUR, d) FROM t "
    "WHERE year(d) BETWEEN 1000 AND 9000 AND year(ts) > 1000 ORDER BY id",
    "SELECT id, time_bucket(INTERVAL 1 DAY, ts, TIMESTAMP '2024-01-01 06:00'), "
    "time_bucket(INTERVAL 10 DAY, d, DATE '2024-01-01'), "
    "time_bucket(INTERVAL 90 MINUTE, ts, ts) FROM t WHERE year(d) BETWEEN 1000 AND 9000 "
    "AND year(ts) > 1000 ORDER BY id",
    "SELECT time_bucket(INTERVAL 1 HOUR, ts) AS hb, count(*) FROM t GROUP BY hb ORDER BY hb",
]


@pytest.mark.parametrize("sql", SHAPES)
def test_functions_in_query_shapes(engines, sql):
    check(engines, sql)


ERRORS = [
    "SELECT chr(k * 1000000) FROM t",  # an invalid code point
    "SELECT lpad(s, 10, '') FROM t",  # no padding to pad with
    "SELECT make_date(2024, 2, 30) FROM t",
    "SELECT make_date(2024, k, 1) FROM t",
    "SELECT regexp_matches(s, '(') FROM t",  # an invalid pattern
    "SELECT regexp_matches(s, 'a', 'q') FROM t",  # an unknown option
    "SELECT strftime(d, '') FROM t",
    "SELECT mod(i, 0) FROM t",
    "SELECT left(s, 5000000000) FROM t",
    "SELECT sqrt('a') FROM t",
    "SELECT date_diff('day', s, d) FROM t",
    "SELECT greatest(1, 'a') FROM t",
    "SELECT hamming(s, 'ab') FROM t",
    "SELECT lcm(i, 9223372036854775807) FROM t",
    "SELECT make_timestamp(2024, 1, 31, 25, 0, 0) FROM t",
    "SELECT make_timestamp(2024, 1, 31, 1, 0, h) FROM t",  # NaN seconds
    "SELECT strptime(s, '%Y') FROM t",
    "SELECT strptime('2024-02-30', '%Y-%m-%d') FROM t",
    "SELECT strptime('24:00', '%H:%M') FROM t",
    "SELECT d + i FROM t",  # DATE + BIGINT: DuckDB has DATE + INTEGER only
    "SELECT d + 3000000000 FROM t",
    "SELECT chr(i) FROM t",  # chr and lpad take an INTEGER: a BIGINT column is refused
    "SELECT lpad(s, i, 'x') FROM t",
    "SELECT to_timestamp(x) FROM t",  # inf and NaN seconds
    "SELECT jaccard(s, 'a') FROM t",  # '' is an error
    "SELECT url_decode('%C3') FROM t",
    "SELECT s LIKE 'a!' ESCAPE '!' FROM t",  # the pattern ends with the escape
    "SELECT s LIKE 'a' ESCAPE '!!' FROM t",
]


@pytest.mark.parametrize("sql", ERRORS)
def test_errors_where_duckdb_errors(engines, sql):
    db, con = engines
    with pytest.raises(duckdb.Error):
        con.sql(sql).fetchall()
    with pytest.raises(QueryError):
        db.sql(sql).fetchall()


def test_a_broken_kernel_is_caught(engines, monkeypatch):
    """The comparison sees a kernel off by a little (sqrt one ulp-ish high)."""
    right = catalog.KERNELS["sqrt"]
    monkeypatch.setitem(catalog.KERNELS, "sqrt",
                        lambda e, x: pc.multiply(right(e, x), 1 + 1e-7))
    with pytest.raises(AssertionError):
        check(engines, "SELECT id, sqrt(x) FROM t ORDER BY id")


def test_catalog_syntax_entries_are_real():
    """Every sqlglot node the catalog reads lists arguments sqlglot has, and names that
    DuckDB has."""
    known = {r[0] for r in duckdb.sql("SELECT function_name FROM duckdb_functions()")
             .fetchall()}
    for cls, (args, called, fixed) in catalog.SYNTAX.items():
        assert args <= set(cls.arg_types), (cls.__name__, args - set(cls.arg_types))
        assert set(fixed) <= set(cls.arg_types), cls.__name__
        assert called and called <= known, (cls.__name__, called - known)
    for f in catalog.functions():
        assert f.name in known | {"coalesce", "ifnull"}, f.name  # (special forms)
        assert set(f.aliases) <= known, (f.name, set(f.aliases) - known)


def test_kernel_ops_are_not_the_evaluators():
    """A catalog op never shadows one evaluate._call handles (those run first)."""
    src = (pathlib.Path(__file__).parents[2] / "mapdb/query/evaluate.py").read_text()
    tests = [line for line in src.split("def _call", 1)[1].split("def _in_range")[0]
             .splitlines() if "if op" in line]
    assert len(tests) > 20
    for op in catalog.KERNELS:
        assert not any(f'"{op}"' in line for line in tests), op


def test_docs_table_is_the_catalog():
    """docs/query.md holds the table ``catalog.docs_table()`` makes (regenerate it with
    ``python -m mapdb.query.catalog``)."""
    docs = (pathlib.Path(__file__).parents[2] / "docs/query.md").read_text()
    start = docs.index("<!-- catalog table: begin -->\n") + len(
        "<!-- catalog table: begin -->\n")
    end = docs.index("<!-- catalog table: end -->")
    assert docs[start:end] == catalog.docs_table()


def test_docs_coverage_count_is_the_catalogs():
    """docs/query.md says how many of DuckDB's scalar function and macro names (operators
    and __internal names left out) the catalog answers: the count is checked here."""
    import re
    rows = duckdb.sql("SELECT DISTINCT function_name, function_type FROM duckdb_functions()"
                      ).fetchall()
    names = {n for n, t in rows if t in ("scalar", "macro") and
             re.fullmatch(r"[a-z_][a-z0-9_]*", n) and not n.startswith("__")}
    covered = len(set(catalog.FUNCTIONS) & names)
    docs = (pathlib.Path(__file__).parents[2] / "docs/query.md").read_text()
    assert f"the catalog answers {covered} of DuckDB's {len(names)} scalar" in \
        " ".join(docs.split()), (covered, len(names))


def test_frames_call_the_catalog(engines):
    """The frame API reaches the same catalog: ``col(x).call(name, *args)`` is SQL's
    ``name(x, args...)``."""
    db, con = engines
    from mapdb import col
    t = db["t"]
    got = t.select(col("id"), col("s").call("split_part", ",", 2).alias("a"),
                   col("d").call("strftime", "%Y/%m").alias("b"),
                   col("x").call("sqrt").alias("c"),
                   col("k").call("greatest", col("i"), 0).alias("e"),
                   col("s").call("regexp_replace", "l+", "L", "g").alias("f")
                   ).sort("id").to_arrow().to_pylist()
    want = con.sql("SELECT id, split_part(s, ',', 2), strftime(d, '%Y/%m'), sqrt(x), "
                   "greatest(k, i, 0), regexp_replace(s, 'l+', 'L', 'g') FROM t ORDER BY id"
                   ).fetchall()
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert all(same_value(a, b) for a, b in zip(g.values(), w, strict=True)), (g, w)
    assert repr(col("s").call("split_part", ",", 2)) == 'col("s").call("split_part", ",", 2)'
    with pytest.raises(QueryError, match="nope"):
        t.select(col("x").call("nope")).to_arrow()


# -- random calls: the catalog's functions composed over the table's columns -----------------

_NUM = ["x", "h", "i", "k", "m", "1.5", "2", "0", "-3"]
_STR = ["s", "p", "'a'", "','", "''", "'x'"]
_TIME = ["d", "ts"]
_PARTS = ["'year'", "'month'", "'day'", "'hour'", "'week'", "'quarter'", "'minute'",
          "'second'", "'millisecond'", "'decade'"]
_CALLS = [
    "ceil({n})", "floor({n})", "trunc({n})", "sqrt({n})", "cbrt({n})", "ln({n})", "log({n})",
    "log2({n})", "log({n}, {n})", "exp({n})", "power({n}, {n})", "sign({n})",
    "greatest({n}, {n}, {n})", "least({n}, {n})", "even({n})", "mod({n}, {n})",
    "atan2({n}, {n})", "isnan({n})", "signbit({n})", "nextafter({n}, {n})",
    "trim({s})", "ltrim({s}, {s})", "rtrim({s}, {s})", "replace({s}, {s}, {s})",
    "split_part({s}, {s}, k)", "strpos({s}, {s})", "starts_with({s}, {s})",
    "ends_with({s}, {s})", "contains({s}, {s})", "left({s}, k)", "right({s}, -1)",
    "reverse({s})", "ascii({s})", "unicode({s})", "md5({s})", "translate({s}, {s}, {s})",
    "levenshtein({s}, {s})", "greatest({s}, {s})", "lpad({s}, k, {s} || '.')",
    "repeat({s}, k)", "regexp_matches({s}, 'a|b')", "regexp_replace({s}, '[aeiou]', '_', 'g')",
    "regexp_extract({s}, '(.)(.)', 2)", "to_hex({s})", "url_encode({s})",
    "date_diff({part}, {t}, {t})", "date_sub({part}, {t}, {t})", "last_day({t})",
    "dayname({t})", "monthname({t})", "yearweek({t})", "epoch({t})", "epoch_ms({t})",
    "century({t})", "strftime({t}, '%Y-%m-%d %a %j')", "greatest({t}, {t})",
    "time_bucket(INTERVAL 7 DAY, {t})", "TRY_CAST({s} AS INTEGER)", "TRY_CAST({n} AS TINYINT)",
    "gcd(k, {n_int})", "to_timestamp(k)", "make_date(2000 + k, 2, 28)",
]


def _random_call(rng) -> str:
    out = rng.choice(_CALLS)
    for key, options in (("{n_int}", ["i", "k", "6"]), ("{n}", _NUM), ("{s}", _STR),
                         ("{t}", _TIME), ("{part}", _PARTS)):
        while key in out:
            out = out.replace(key, rng.choice(options), 1)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_random_calls_as_duckdb(engines, seed):
    """Random calls of the catalog's functions, two to a statement, over NULLs and edge
    values, on rows whose dates Python can hold: each is DuckDB's answer, or mapdb
    refuses (DuckDB erring where mapdb answers fails, as a different answer does)."""
    import random
    db, con = engines
    rng = random.Random(seed)
    for _ in range(40):
        e = f"{_random_call(rng)}, {_random_call(rng)}"
        sql = f"SELECT id, {e} FROM t WHERE year(d) BETWEEN 1000 AND 9000 ORDER BY id"
        try:
            want = con.sql(sql).fetchall()
        except duckdb.Error:
            with pytest.raises(QueryError):
                db.sql(sql).fetchall()
            continue
        try:
            got = db.sql(sql).fetchall()
        except QueryError:
            continue  # refused: allowed (never a wrong answer)
        assert len(got) == len(want), sql
        for g, w in zip(got, want, strict=True):
            assert all(same_value(a, b) for a, b in zip(g, w, strict=True)), \
                f"{sql}\nmapdb:  {g}\nDuckDB: {w}"
