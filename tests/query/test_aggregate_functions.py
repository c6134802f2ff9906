"""The aggregate family of the function catalog (query/catalog/aggregate.py) against DuckDB:
median and quantiles, mode, arg_max/arg_min, any_value/first/last, product and the
two-argument statistics, grouped and not, over NULLs, NaN, infinities, -0.0, decimals,
dates and strings; their result types and column names; what is refused."""

from __future__ import annotations

import decimal

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

D = decimal.Decimal
EDGE = pa.table({
    "g": pa.array([1, 1, 1, 2, 2, 3, None, 1, 2, 4], pa.int32()),
    "i": pa.array([5, 1, None, 3, 3, None, 7, 2, -4, None], pa.int64()),
    "i8": pa.array([5, 1, None, 3, -3, None, 7, 2, -4, None], pa.int8()),
    "f": pa.array([1.5, float("nan"), -0.0, 0.0, None, 2.0, 1.0, float("inf"), -7.25, None]),
    "d": pa.array([None if x is None else D(x) / 100 for x in
                   [150, 225, None, -151, -226, None, 5, 7, 1, None]], pa.decimal128(9, 2)),
    "s": pa.array(["b", "a", "c", None, "ab", "z", "q", "é", "", None]),
    "dt": pa.array([1, 5, None, 3, 4, None, 2, 9, -400, None], pa.int32()).cast(pa.date32()),
    "ts": pa.array([10**12, 5 * 10**12, None, 3, 4, None, 2, 9, -(10**15), None],
                   pa.timestamp("us")),
    "b": pa.array([True, False, None, True, True, None, False, False, True, None]),
    # a mode without ties in every group and overall (DuckDB breaks ties in hash order)
    "m": pa.array([2, 2, 2, 5, 5, None, 1, None, 6, None], pa.int64()),
    "ms": pa.array(["x", "x", None, "é", "é", "q", "", "y", "z", None]),
})
rng = np.random.default_rng(17)
N = 3000
BIG = pa.table({
    "g": pa.array(rng.integers(0, 25, N), pa.int32()),
    "x": pa.array(np.where(rng.random(N) < 0.1, np.nan, rng.normal(0, 100, N))),
    "y": pa.array(rng.permutation(N).astype(np.int64)),  # unique: arg_max has no ties
    "k": pa.array(rng.integers(-50, 50, N), pa.int64()),
    "s": pa.array([f"v{v}" for v in rng.integers(0, 40, N)]),
})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    return engines_over(tmp_path_factory.mktemp("aggs"), {"t": EDGE, "big": BIG})


ONE_ARG = ["median(i)", "median(f)", "median(d)", "median(s)", "median(dt)", "median(ts)",
           "median(i8)", "median(b)", "quantile_cont(i, 0.3)", "quantile_cont(f, 0.75)",
           "quantile_cont(d, 0.1)", "quantile_cont(dt, 0.9)", "quantile_cont(i, 0)",
           "quantile_cont(i, 1)", "quantile_disc(i, 0.3)", "quantile_disc(s, 0.9)",
           "quantile_disc(f, 1.0)", "quantile_disc(d, 0.5)", "quantile(f, 0.5)",
           "quantile_disc(dt, 0.25)", "quantile_cont(i, 1e-1)", "any_value(s)",
           "any_value(f)", "first(s)", "last(i)", "first(d)", "product(i)", "product(d)",
           "product(f)", "approx_count_distinct(s)", "mode(m)", "mode(ms)", "string_agg(s)",
           "string_agg(s, ', ')", "string_agg(d, '')", "kurtosis(i)", "kurtosis_pop(d)",
           "skewness(d)", "sem(i)", "entropy(s)", "entropy(f)", "mad(i)", "mad(d)", "mad(f)",
           "kurtosis(i8)", "skewness(i)", "fsum(i)", "kahan_sum(d)", "sumkahan(f)",
           "favg(i8)",
           "bit_and(i8)", "bit_or(i)", "bit_xor(i8)", "median(DISTINCT i)"]
TWO_ARG = ["arg_max(s, i)", "arg_min(s, i)", "max_by(i, f)", "min_by(dt, s)",
           "arg_max(d, dt)", "arg_min(f, d)", "corr(i, f)", "covar_pop(i, d)",
           "covar_samp(i, d)", "regr_slope(i, d)", "regr_intercept(i, d)", "regr_r2(i, d)",
           "regr_count(i, f)", "regr_avgx(i, d)", "regr_avgy(i, d)", "regr_sxx(i, d)",
           "regr_syy(i, d)", "regr_sxy(i, d)", "corr(i, i8)", "covar_pop(i8, i8)"]


@pytest.mark.parametrize("agg", ONE_ARG + TWO_ARG)
def test_grouped_and_global(engines, agg):
    check(engines, f"SELECT g, {agg} FROM t GROUP BY g ORDER BY g")
    check(engines, f"SELECT {agg} FROM t")
    check(engines, f"SELECT {agg} FROM t WHERE i > 100")  # no rows: NULL (regr_count 0)
    check(engines, f"SELECT {agg} FROM t WHERE g = 3")  # only NULLs in some arguments
    check(engines, f"SELECT g, {agg} FROM t WHERE i > 100 GROUP BY g")  # no groups


@pytest.mark.parametrize("sql", [
    "SELECT median(i) FILTER (WHERE g = 1), quantile_disc(s, 0.5) FILTER (WHERE i > 1) FROM t",
    "SELECT g, median(i) + 1, median(i) * count(*), quantile_cont(i, 0.5) FROM t GROUP BY g",
    "SELECT g FROM t GROUP BY g HAVING median(i) > 2",
    "SELECT g, median(i) FROM t GROUP BY g ORDER BY median(i) NULLS FIRST, g",
    "SELECT sum(median(i)) OVER () FROM t GROUP BY g",
    "SELECT g, arg_max(s, i), max(i), arg_min(s, i), min(i) FROM t GROUP BY ROLLUP (g)",
    "SELECT g, median(x), quantile_cont(x, 0.9), quantile_disc(x, 0.1), arg_max(s, y), "
    "arg_min(k, y), any_value(s), corr(x, k), regr_slope(k, y) FROM big GROUP BY g",
    "SELECT median(x), quantile_disc(s, 0.5), product(k % 3 + 1) FROM big WHERE g < 3",
    # SUM/AVG(DISTINCT x) (exact for integers and decimals), MIN/MAX(DISTINCT x)
    "SELECT g, sum(DISTINCT i), avg(DISTINCT i), sum(DISTINCT d), avg(DISTINCT d), "
    "sum(DISTINCT f), avg(DISTINCT i8), min(DISTINCT s), max(DISTINCT d) FROM t GROUP BY g",
    "SELECT sum(DISTINCT i), avg(DISTINCT d), sum(DISTINCT k) FROM t, big WHERE big.g = t.g",
    "SELECT g, sum(DISTINCT i) FROM t WHERE i > 100 GROUP BY g",
    # infinities: an interpolation between -inf and inf is NaN, a product past 1e308 inf
    "SELECT g, quantile_cont(CAST('-inf' AS DOUBLE), 0.5), median(f), product(f * 1e200), "
    "product(-100 * i) FROM t GROUP BY g",
    # WITHIN GROUP (DESC: the quantile of the values in descending order)
    "SELECT g, percentile_cont(0.25) WITHIN GROUP (ORDER BY i), percentile_disc(0.3) WITHIN "
    "GROUP (ORDER BY i DESC), percentile_cont(0.3) WITHIN GROUP (ORDER BY d DESC), mode() "
    "WITHIN GROUP (ORDER BY m), percentile_disc(0.5) WITHIN GROUP (ORDER BY s) FROM t "
    "GROUP BY g",
    "SELECT percentile_disc(0.3) WITHIN GROUP (ORDER BY x DESC), percentile_cont(0.9) WITHIN "
    "GROUP (ORDER BY y) FROM big",
    # ORDER BY and DISTINCT inside the call
    "SELECT g, string_agg(s, ',' ORDER BY s), string_agg(s ORDER BY i DESC NULLS FIRST, s), "
    "string_agg(DISTINCT s, '|' ORDER BY s DESC), group_concat(s, ';'), listagg(s) "
    "FROM t GROUP BY g",
    "SELECT string_agg(s, ', ' ORDER BY s DESC NULLS FIRST), string_agg(i, '-' ORDER BY f), "
    "string_agg(s, NULL), string_agg(DISTINCT s ORDER BY s) FROM t",
    "SELECT g, first(s ORDER BY s DESC NULLS FIRST), first(s ORDER BY s), last(i ORDER BY f), "
    "arg_max(s, i ORDER BY s), median(DISTINCT i), quantile_disc(s, 0.5 ORDER BY i), "
    "count(DISTINCT i) FROM t GROUP BY g",  # (mode(DISTINCT x): all ties, arbitrary)
    "SELECT g, string_agg(s, ',' ORDER BY y), first(x ORDER BY y DESC), median(DISTINCT k), "
    "entropy(k), kurtosis(k), skewness(k), sem(x), mad(k), bit_and(k), bit_or(k), bit_xor(k) "
    "FROM big GROUP BY g",
    # statistics number each row's group where the keys pack (integers, string codes), and
    # gather each group's rows where not (dates): beside gathered and Arrow aggregates
    "SELECT g, k % 3 AS m, corr(x, y), covar_samp(y, k), skewness(y), median(x), sum(k), "
    "kurtosis(k) FILTER (WHERE k > 0), string_agg(s, ',' ORDER BY y) FROM big GROUP BY g, m",
    "SELECT s, regr_r2(x, k), sem(k), count(*) FROM big GROUP BY s",
    "SELECT dt, covar_pop(i, f), corr(i, i8), sem(d) FROM t GROUP BY dt",
])
def test_in_queries(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("agg", ["median(i)", "median(d)", "median(dt)", "median(s)",
                                 "quantile_cont(i, 0.5)", "quantile_disc(i8, 0.5)",
                                 "mode(m)", "arg_max(s, i)", "corr(i, f)", "product(i)",
                                 "regr_count(i, f)", "approx_count_distinct(s)"])
def test_types(engines, agg):
    sql = f"SELECT {agg} FROM t"
    want = engines.con.sql(sql).to_arrow_table().schema.types
    got = engines.db.sql(sql).to_arrow().schema.types
    # (mapdb's strings are large_string; a decimal's precision may be 18 where DuckDB's
    # follows the column's: docs/query.md)
    norm = lambda ts: [str(t).replace("large_", "").split("(")[0] for t in ts]  # noqa: E731
    assert norm(got) == norm(want), sql


@pytest.mark.parametrize("sql", [
    "SELECT median(i), quantile_cont(i, 0.25), quantile_disc(s, 0.5), mode(s), "
    "arg_max(s, i), any_value(s), first(s), last(s), corr(i, f), "
    "regr_slope(i, f), product(i), approx_count_distinct(s) FROM t",
    "SELECT quantile(f, 0.5), arg_min(s, i), covar_pop(i, f) FROM t",
    "SELECT string_agg(s), group_concat(s, ';'), listagg(s), first(s ORDER BY s), "
    "median(DISTINCT i), string_agg(DISTINCT s, '|'), quantile_disc(i, 0.5 ORDER BY i), "
    "string_agg(upper(s) ORDER BY i NULLS FIRST), arg_max(s, i ORDER BY s), kurtosis(i), "
    "entropy(s), bit_and(i), mad(i), sem(i) FROM t",
    "SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY i), mode() WITHIN GROUP (ORDER BY m), "
    "percentile_disc(0.3) WITHIN GROUP (ORDER BY f DESC) FROM t",
])
def test_column_names(engines, sql):
    check_names(engines, sql)


@pytest.mark.parametrize("sql,words", [
    ("SELECT quantile_cont(s, 0.5) FROM t", "does not take"),
    ("SELECT quantile_disc(i, 1.5) FROM t", "between 0 and 1"),
    ("SELECT quantile_disc(i, i) FROM t", "constant"),
    ("SELECT quantile_cont(i, [0.25, 0.5]) FROM t", "quantile must be a constant"),
    ("SELECT median(median(i)) FROM t", "nested"),
    ("SELECT median(i) OVER () FROM t", "window"),
    ("SELECT first(s) IGNORE NULLS FROM t", "IGNORE NULLS"),
    ("SELECT corr(s, i) FROM t", "does not take"),
    ("SELECT kurtosis(f) FROM t", "out of range"),  # DuckDB: an error too
    ("SELECT sum(i ORDER BY f) FROM t", "ORDER"),
    ("SELECT stddev(DISTINCT i) FROM t", "DISTINCT"),
    ("SELECT percentile_cont(i, 0.5) FROM t", "does not exist"),
    # DuckDB has no avg/var/stddev of BOOLEAN (it sums them)
    ("SELECT avg(i > 1) FROM t", "AVG needs a number, got bool"),
    ("SELECT stddev_pop(i > 1) FROM t", "needs a number"),
])
def test_refused(engines, sql, words):
    with pytest.raises(QueryError, match=words):
        engines.db.sql(sql).to_arrow()


def test_statistics_beside_keys_too_wide_to_pack(tmp_path):
    """Integer keys whose ranges pass 63 bits do not pack: corr and skewness then gather
    each group's rows like median, with DuckDB's answers."""
    rng = np.random.default_rng(2)
    a, b = rng.integers(-2**62, 2**62, 300), rng.integers(0, 3, 300)
    t = pa.table({"a": np.tile(a, 3), "b": np.tile(b, 3), "x": rng.normal(size=900),
                  "y": rng.normal(size=900)})
    e = engines_over(tmp_path / "db", {"w": t})
    check(e, "SELECT a, b, corr(x, y), sum(y), skewness(x) FROM w GROUP BY a, b")
    check(e, "SELECT a, b, corr(x, y), median(x) FROM w GROUP BY a, b")
