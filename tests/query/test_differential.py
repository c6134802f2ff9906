"""Random differential testing against DuckDB (issue 16, item 2): every generated statement
is answered as DuckDB answers it, or refused with a MapdbError.

- ``test_random_statement``: FAST_CASES statements (run seed FAST_SEED) in ``make test``;
- ``test_random_statements_slow`` (``-m slow``): SLOW_CASES more;
- ``test_minimal``: the smallest statements found for each known cause of failure, each
  checked by hand against DuckDB (the comment says DuckDB's answer);
- the comparator's own rules.

A failure whose cause diffknown.py knows is an xfail naming the cause (issue 16's list,
or NEW: found by this generator, not yet fixed); any other failure fails the test. The
CLI runs many more, in child processes (a crash is a result, not the end of the run):
``python -m tests.query.differential --cases 20000 --seed 1 --jobs 4 [--minimize]``.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from . import diffgen
from .differential import Answer, Engines, compare, run_case, run_sql, summarize
from .diffgen import Case
from .diffknown import KNOWN, classify
from .diffreduce import case_for_sql

FAST_SEED = 0
FAST_CASES = 300
SLOW_SEED = 7
SLOW_CASES = int(os.environ.get("MAPDB_DIFF_SLOW_CASES", "20000"))
KNOWN_BY_KEY = {k.key: k for k in KNOWN}


@pytest.fixture(scope="module")
def diff(tmp_path_factory) -> Engines:
    e = Engines(tmp_path_factory.mktemp("differential"))
    yield e
    e.close()


def _explain(o) -> str:
    return (f"{o.status}: {o.reason}\n  {o.sql}\n  {o.detail[:1500]}\n"
            f"  replay: python -m tests.query.differential --replay {o.seed} --minimize")


@pytest.mark.parametrize("i", range(FAST_CASES))
def test_random_statement(diff, i):
    o = run_case(diff, diffgen.case_seed(FAST_SEED, i))
    if not o.failed:
        return
    known = classify(o, diff)
    if known is None:
        pytest.fail(_explain(o), pytrace=False)
    pytest.xfail(f"{known.key}: {known.reason} (seed {o.seed})")


@pytest.mark.slow
def test_random_statements_slow(diff, capsys):
    outcomes = [run_case(diff, diffgen.case_seed(SLOW_SEED, i)) for i in range(SLOW_CASES)]
    fails = [o for o in outcomes if o.failed]
    for o in fails:
        k = classify(o, diff)
        o.known = None if k is None else k.key
    with capsys.disabled():
        summarize(outcomes, 0.0, SLOW_SEED)
    new = [o for o in fails if o.known is None]
    assert not new, "\n\n".join(_explain(o) for o in new[:20])
    if fails:
        causes = sorted({o.known for o in fails})
        pytest.xfail(f"{len(fails)} known failures: {', '.join(causes)}")


# -- the smallest statements found, one or more per cause ---------------------------------
# (key, statement): DuckDB's answer in the comment, checked by hand. Those of causes fixed
# since (Known.fixed) stay as regression tests: they must pass.
MINIMAL = [
    # issue 16's list
    ("nan", "SELECT f64 FROM t ORDER BY 1 DESC LIMIT 2"),  # DuckDB: NaN, NaN (mapdb inf, inf)
    ("nan", "SELECT count(*) FROM t WHERE f64 >= f32"),  # 80 (NaN >= x is true); mapdb 77
    ("nan", "SELECT max(w), min(w) FROM u"),  # DuckDB NaN, -2.5; mapdb inf, -2.5
    ("cast-varchar", "SELECT CAST(ts AS VARCHAR) FROM t WHERE ts = TIMESTAMP '1970-01-01'"),
    # DuckDB '1970-01-01 00:00:00'; mapdb '1970-01-01 00:00:00.000000'
    ("cast-varchar", "SELECT CAST(f32 AS VARCHAR) FROM t WHERE id = 1"),  # DuckDB '-41.0'
    ("concat_ws", "SELECT concat_ws(',', s, c) FROM t WHERE id = 0"),  # DuckDB '\t'
    ("star-modifier", "SELECT * EXCLUDE (vs) FROM v"),  # DuckDB: 4 columns
    ("sample-percent", "SELECT count(*) FROM (SELECT * FROM t LIMIT 50%) AS q"),  # 96
    ("order-by-alias", "SELECT -id AS id FROM t ORDER BY id LIMIT 2"),  # DuckDB -191, -190
    ("alias-case", "SELECT A.id FROM t AS a WHERE a.id = 1"),  # DuckDB 1
    # found by the generator
    ("negzero", "SELECT count(*) FROM t AS a JOIN u AS b ON a.f64 = b.w WHERE b.w = 0"),
    # DuckDB 42 (-0.0 = 0.0); mapdb 23
    ("negzero", "SELECT count(*) FROM (SELECT f32 AS x FROM t UNION SELECT f64 FROM t) AS q "
                "WHERE x = 0"),  # DuckDB 1; mapdb 2 (0.0 and -0.0)
    ("negzero", "SELECT w, -0.5 / w FROM u WHERE w = 0"),  # -0.0: DuckDB +inf; mapdb -inf
    ("false-filter-global-agg", "SELECT count(*) FROM t HAVING FALSE"),  # DuckDB: no rows
    ("false-filter-global-agg", "SELECT m FROM (SELECT max(i8) AS m FROM t) AS q "
                                "WHERE FALSE"),  # DuckDB: no rows
    ("date-vs-timestamp", "SELECT count(*) FROM u WHERE kd <> TIMESTAMP '1995-06-01 08:00:00'"),
    # DuckDB 28 (NULL dates are not <>); mapdb 32
    ("window-prefix-sum", "SELECT id, sum(f64) OVER (PARTITION BY ts) FROM t ORDER BY id "
                          "LIMIT 8"),  # id 0: DuckDB -276.4, mapdb 0.0
    ("window-prefix-sum", "SELECT id, avg(i64) OVER (PARTITION BY i16, u32) FROM t ORDER BY id "
                          "LIMIT 20"),  # DuckDB exact averages; mapdb loses digits
    ("window-prefix-sum", "SELECT id, avg(d182) OVER (PARTITION BY s) FROM t ORDER BY id "
                          "LIMIT 10"),  # DuckDB -1723027.54; mapdb -1723030.1866666665
    ("variance-overflow", "SELECT var_pop(f64) FROM t WHERE f64 = 1.7976931348623157e308"),
    # DuckDB 0.0; mapdb inf
    ("variance-overflow", "SELECT stddev_samp(9223372036854775808 / 5) FROM t"),
    # DuckDB 0.0 (a constant); mapdb 256.66928218789286
    ("empty-agg-type", "SELECT max(v) FROM e"),  # DuckDB BIGINT NULL; mapdb DOUBLE NULL
    ("wide-decimal-arith", "SELECT sum(d182) + 1 FROM t"),  # DuckDB DECIMAL(38,2); mapdb DOUBLE
    ("wide-decimal-arith", "SELECT CASE WHEN k > 0 THEN uk ELSE k END + 1 FROM v"),
    # DuckDB HUGEINT 18446744073709551616; mapdb DOUBLE 1.8446744073709552e+19
    ("float32-arith", "SELECT f32 / id FROM t WHERE id = 2"),  # DuckDB REAL -0.25 (float32)
    ("float32-arith", "SELECT f32 * 1.1, round(f32, 1), coalesce(f32, i8), -f32 FROM t"),
    # DuckDB: all REAL (float32 arithmetic)
    ("coalesce-tz", "SELECT coalesce(ts, tz) FROM t WHERE id = 0"),  # DuckDB TIMESTAMPTZ
    ("cast-decimal-literal", "SELECT CAST(12.25 AS VARCHAR) FROM v"),  # DuckDB '12.25'
    ("outer-join-dictionary", "SELECT r.c FROM u AS l LEFT JOIN t AS r ON l.nm = r.s"),
    ("interval-overflow", "SELECT TIMESTAMP '1900-01-01 12:30:00' + INTERVAL 100000 YEAR + "
                          "INTERVAL 1 MONTH FROM v"),  # DuckDB 101900-02-01 12:30:00
    ("bigint-vs-decimal-constant", "SELECT count(*) FROM t WHERE 9223372036854775807 < 0.01"),
    # DuckDB 0
    ("far-future", "SELECT date_trunc('year', tz + INTERVAL 100000 YEAR) FROM t WHERE id = 0"),
    # DuckDB 101981-01-01 00:00:00+00
    ("round-denormal", "SELECT round(f64, -1) FROM t WHERE f64 = 5e-324"),  # DuckDB 0.0
    ("round-denormal", "SELECT round(2.675e0, 2), round(0.125e0, 2), round(1e308, -300), "
                       "round(-865.145e0, 2) FROM v"),  # DuckDB 2.67, 0.13, 1e308, -865.14
    ("folded-aggregate", "SELECT FALSE AND avg(d42) > 1 FROM t"),  # DuckDB one row: false
    ("in-list-double", "SELECT count(*) FROM t WHERE u64 IN (1, 9223372036854775808, "
                       "2.5e0)"),  # DuckDB 27 (2**63-1 = 2**63 as DOUBLE); mapdb 16
    ("in-list-double", "SELECT count(*) FROM v WHERE 9223372036854775807 IN (0e0, "
                       "9223372036854775808)"),  # DuckDB 14; mapdb 0
    ("correlated-count-distinct", "SELECT vid, (SELECT count(DISTINCT s.ks) FROM u AS s "
                                  "WHERE s.v = v.k) FROM v"),  # DuckDB 0 for vid 2; mapdb NULL
    ("div-negzero", "SELECT 1 / round(f64, -1) FROM t WHERE f64 = -2.5"),  # DuckDB -inf
    ("duckdb-null-extract", "SELECT vid FROM v UNION SELECT extract(isodow FROM CAST(NULL AS "
                            "DATE)) FROM v"),  # DuckDB: a DOUBLE column; mapdb BIGINT
    ("decimal-cast-precision", "SELECT CAST(u8 AS DECIMAL(4,2)) FROM t WHERE u8 > 99"),
    # DuckDB: Conversion Error (154 does not fit); mapdb: 154.00 in a decimal128(4, 2)
    ("decimal-output-precision", "SELECT x FROM v UNION SELECT d182 FROM t"),
    # DuckDB DECIMAL(18,2); mapdb decimal128(9, 2) holding 18 digits
    ("decimal-output-precision", "SELECT x * 5000000000 FROM v"),
    # DuckDB DECIMAL(28,2) -49999999950000000.00; mapdb that in a decimal128(18, 2)
    ("typed-null-cast", "SELECT CAST(CAST(NULL AS VARCHAR) AS FLOAT) FROM v"),  # NULL
    ("nullif-type", "SELECT nullif(f32, 100e0), nullif(i8, 2.5e0) FROM t"),
    # DuckDB REAL, TINYINT (a's type)
    ("lag-default-type", "SELECT vid, lag(x, 2, 1.005) OVER (ORDER BY vid) FROM v"),
    # DuckDB 1.01 (the default cast to DECIMAL(9,2)); mapdb 1.005
    ("float-sum-round", "SELECT coalesce(coalesce(l1.u64, 0), 1) AS c0, r2.s AS c1, "
                        "round(sum(l1.f64), 2) AS c2 FROM t AS l1 RIGHT JOIN t AS r2 ON 1 = 1 "
                        "GROUP BY 2, c0"),  # DuckDB 10966.07 for (33454, 'A'); mapdb 10966.06
    ("decimal-avg-rounding", "SELECT CAST(avg(d182) AS VARCHAR) FROM t GROUP BY d182"),
    # DuckDB '-7981836.52'; mapdb '-7981836.5200000005'
    ("self-right-join", "SELECT r2.ks FROM u AS l1 RIGHT JOIN u AS r2 ON l1.k = r2.k JOIN v "
                        "ON l1.ks = v.vs"),  # DuckDB 47 rows; mapdb 15
    ("variance-overflow", "SELECT stddev_pop(w) FROM u WHERE w = CAST('inf' AS DOUBLE) GROUP BY "
                          "uid"),  # DuckDB 0.0 per row; mapdb NaN
    ("tz-year-bc", "SELECT year(tz - INTERVAL 2 HOUR) FROM t WHERE tz = TIMESTAMP '0001-01-01'"),
    # DuckDB 1 (ICU: 1 BC); mapdb 0
    ("order-by-star-replace", "SELECT uid FROM (SELECT * REPLACE (-uid AS uid) FROM u "
                              "ORDER BY uid LIMIT 2) AS q"),
    # DuckDB -31, -30 (sorted by the replaced value); mapdb 0, -1 (by the input column)
    ("order-by-star-replace", "SELECT v FROM (SELECT * EXCLUDE (v) RENAME (uid AS v) FROM u "
                              "ORDER BY v LIMIT 2) AS q"),  # DuckDB 0, 1; mapdb by u.v
    ("star-replace-duplicate", "SELECT * REPLACE (l1.nm IS NULL AS nm) FROM u AS l1 JOIN u "
                               "AS r2 ON l1.k = r2.k"),  # DuckDB 13 columns (one nm)
    ("group-negzero", "SELECT CAST(w AS VARCHAR) FROM u WHERE w = 0 GROUP BY w"),
    # DuckDB '-0.0' (the first zero of the group); mapdb '0.0'
    ("duckdb-date-trunc-range", "SELECT count(*) FROM t WHERE date_trunc('minute', dt) = "
                                "TIMESTAMP '2024-02-29 00:00:00'"),  # DuckDB 0; mapdb 5
    ("widen-constant", "SELECT count(*) FROM (SELECT 99.99 AS d0 FROM v) AS q WHERE q.d0 IN "
                       "(2147483647, 18446744073709551615)"),  # DuckDB 0; mapdb TypeError
    ("variance-nan-sign", "SELECT CAST(stddev_samp(f64) AS VARCHAR) FROM t WHERE isnan(f64) "
                          "OR f64 < 1e300"),  # DuckDB '-nan' (inf, -inf, NaN); mapdb 'nan'
    ("variance-nan-sign", "SELECT CAST(variance(CAST('-inf' AS DOUBLE)) AS VARCHAR) FROM t"),
    # DuckDB '-nan' (-inf - -inf, the default NaN): passes since variance.py signs it so
    ("count-if-empty", "SELECT count_if(w > 0), count_if(NULL) FROM e"),  # DuckDB NULL, NULL
    ("grouping-set-key-expr", "SELECT w + 1, w, count(*) FROM u GROUP BY GROUPING SETS "
                              "((w + 1), (w))"),  # DuckDB: w + 1 of each group, w NULL
    ("empty-decimal-sum", "SELECT -CASE WHEN NULL THEN sum(0.01) ELSE 0.5 END FROM e"),
    # DuckDB -0.50; mapdb TypeError
    ("float-text-last-digit", "SELECT c, CAST(stddev_samp(i32) AS VARCHAR) FROM t GROUP BY c"),
    # DuckDB '733510371.8447814' for 'RED'; mapdb '733510371.8447813'
    ("group-by-all-constants", "SELECT 1 FROM u GROUP BY ALL"),  # DuckDB 32 rows; mapdb 1
    ("grouping-set-position", "SELECT substring(vs, 2, 2), k, count(*) FROM v GROUP BY "
                              "GROUPING SETS ((substring(vs, 2, 2), 2), ())"),
    # DuckDB: 2 is k's position; mapdb grouped by the constant 2, then nulled every 2 (raw)
    ("interval-null", "SELECT d0 + INTERVAL 1 YEAR, count(*) FROM (SELECT tz AS d0 FROM t) "
                      "AS q GROUP BY GROUPING SETS ((d0), ())"),  # mapdb AttributeError
    ("float-sum-overflow", "SELECT avg(f64) FROM t WHERE g = 1"),
    # DuckDB -inf (the -inf added first); mapdb NaN (1e300 + 1.797e308 overflowed to +inf)
    ("duckdb-window-avg-nan", "SELECT id, avg(f64) OVER (ORDER BY b DESC NULLS FIRST, i8 "
                              "DESC) FROM t"),  # DuckDB NaN for id 24, 32, 149; mapdb -inf
]


@pytest.mark.parametrize("key,sql", MINIMAL, ids=[f"{k}-{i}" for i, (k, _) in
                                                   enumerate(MINIMAL)])
def test_minimal(diff, key, sql):
    """Each statement fails as its cause says until that cause is fixed; then it passes
    and stays as a regression test."""
    o = run_sql(diff, case_for_sql(sql))
    if not o.failed:
        return
    if KNOWN_BY_KEY[key].fixed:
        pytest.fail(f"regression: {key} was fixed in {KNOWN_BY_KEY[key].fixed}\n"
                    + _explain(o), pytrace=False)
    known = classify(o, diff)
    assert known is not None and known.key == key, \
        f"expected cause {key}, classified {known and known.key}\n" + _explain(o)
    pytest.xfail(f"{key}: {known.reason}")


def test_known_causes_have_a_minimal_statement():
    covered = {k for k, _ in MINIMAL}
    # fixed before they had a statement here: date-join-keys (date keys are refused, then
    # joined), nan-computed and nan-negzero (combinations of causes with their own)
    missing = [k.key for k in KNOWN if k.key not in covered and k.key not in (
        "date-join-keys", "nan-computed", "nan-negzero")]
    assert not missing


# -- the generator and the comparator ------------------------------------------------------

def test_generator_is_deterministic():
    for i in range(50):
        s = diffgen.case_seed(123, i)
        assert diffgen.generate(s).sql == diffgen.generate(s).sql


def _ans(*cols, types=None) -> Answer:
    arrays = [pa.array(c, t) for c, t in zip(cols, types or [None] * len(cols), strict=True)]
    return Answer.of(pa.table(arrays, names=[f"c{i}" for i in range(len(cols))]))


def test_comparator_values():
    nan = math.nan
    c = Case(0, "")
    assert compare(c, _ans([nan, 1.0, -0.0]), _ans([0.0, nan, 1.0 + 1e-12])) is None
    assert compare(c, _ans([1.0]), _ans([1.0001])) is not None
    assert compare(c, _ans([1, 2]), _ans([2, 1])) is None  # a multiset
    assert compare(c, _ans([1, 1, 2]), _ans([1, 2, 2])) is not None
    assert compare(c, _ans([float("inf")]), _ans([1e308])) is not None
    assert compare(c, _ans(["a"]), _ans(["a "])) is not None
    # exact numbers whatever their type (HUGEINT arrives as decimal128(38, 0))
    import decimal
    assert compare(c, _ans([5], types=[pa.int64()]),
                   _ans([decimal.Decimal(5)], types=[pa.decimal128(38, 0)])) is None
    # families: float is not decimal, float32 is not float64, timestamp is not timestamptz
    assert compare(c, _ans([1.5]), _ans([decimal.Decimal("1.5")])) is not None
    assert compare(c, _ans([1.5], types=[pa.float32()]), _ans([1.5])) is not None
    assert compare(c, _ans([None], types=[pa.null()]), _ans([None], types=[pa.int32()])) \
        is None


def test_comparator_order_and_limit():
    ordered = Case(0, "", ordered=True, order_idx=[0])
    assert compare(ordered, _ans([1, 2, 2], ["a", "b", "c"]),
                   _ans([1, 2, 2], ["a", "c", "b"])) is None  # ties in any order
    assert compare(ordered, _ans([2, 1]), _ans([1, 2]))[0] == "order"
    limited = Case(0, "", ordered=True, order_idx=[0], limited=True)
    # LIMIT cutting inside the tie group of 2: the rows of that group may differ
    assert compare(limited, _ans([1, 2], ["a", "b"]), _ans([1, 2], ["a", "c"])) is None
    assert compare(limited, _ans([1, 2], ["x", "b"]), _ans([1, 2], ["a", "b"])) is None
    assert compare(limited, _ans([1, 2, 3], ["x", "b", "c"]),
                   _ans([1, 2, 3], ["a", "b", "c"])) is None  # the first group is cut too
    assert compare(limited, _ans([1, 2, 3], ["a", "x", "c"]),
                   _ans([1, 2, 3], ["a", "b", "c"]))[0] == "values"
    count = Case(0, "", count_only=True)
    assert compare(count, _ans([1, 2]), _ans([3, 4])) is None


def test_case_flags_from_sql():
    c = case_for_sql("SELECT a AS x, b FROM t ORDER BY x DESC, 2 LIMIT 3")
    assert c.ordered and c.order_idx == [0, 1] and c.limited and c.order_total
    c = case_for_sql("SELECT a FROM t ORDER BY b")
    assert c.ordered and c.order_idx is None
    assert case_for_sql("SELECT a FROM t LIMIT 3").count_only


def test_outcomes(diff):
    assert run_sql(diff, case_for_sql("SELECT id FROM t WHERE i8 > 0")).status == "EQUAL"
    o = run_sql(diff, case_for_sql("SELECT nosuchfunc(id) FROM t"))
    assert o.status == "DUCKDB_REFUSES" and o.reason.startswith("both:")
    o = run_sql(diff, case_for_sql("SELECT histogram(i8) FROM t"))
    assert o.status == "REFUSED" and "not supported" in o.reason


def test_cli_runs_and_reports():
    """The counts of every outcome; a case whose process dies is a CRASH with its replay
    seed, and a new process goes on with the next case."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "MAPDB_DIFF_CRASH_AT": "3"}
    r = subprocess.run([sys.executable, "-m", "tests.query.differential", "--cases", "8",
                        "--seed", "5", "--jobs", "2"], cwd=root, capture_output=True,
                       text=True, timeout=300, env=env)
    assert "8 cases (run seed 5)" in r.stdout, r.stdout + r.stderr
    counts = dict(re.findall(r"^  (\w+) +(\d+)$", r.stdout, re.M))
    assert set(counts) >= {"EQUAL", "REFUSED", "DUCKDB_REFUSES", "DIFFERENT",
                           "RAW_EXCEPTION", "CRASH"}
    assert sum(int(n) for n in counts.values()) == 8 and counts["CRASH"] == "1"
    assert f"replay: python -m tests.query.differential --replay {5_000_003}" in r.stdout
