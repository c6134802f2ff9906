"""DECIMAL(p, s) with 19 to 38 digits as DuckDB has it: CAST to it (from integers,
decimals and text, exactly; a value of p digits or more an error), DECIMAL(38) columns
stored as decimal128, arithmetic and comparisons on them exact, sum/min/max/avg, and
DuckDB's result types for + - * / % on decimals (a DECIMAL(18, 2) + DECIMAL(18, 2) is a
DECIMAL(19, 2), computed in 128 bits rather than refused as an int64 overflow)."""

from __future__ import annotations

import decimal

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_arrow, engines_over

D = decimal.Decimal
MAX38 = D("9" * 35 + ".999")  # DECIMAL(38, 3) at its limit
T = pa.table({
    "id": pa.array(range(6), pa.int64()),
    "w": pa.array([MAX38, None, D("-1.5"), D("0"), D(f"-{MAX38}"), D("123.456")],
                  pa.decimal128(38, 3)),
    "v": pa.array([D("12345678901234567890.12"), D("-1"), None, D("3"), D("0.01"),
                   D("-99999999999999999999.99")], pa.decimal128(22, 2)),
    "n": pa.array([D("9999999999999999.99"), D("-9999999999999999.99"), D("1.5"),
                   None, D("0"), D("2.25")], pa.decimal128(18, 2)),
    "s": pa.array([D("1.5"), D("-2.25"), None, D("99.99"), D("0"), D("-0.01")],
                  pa.decimal128(4, 2)),
    "i": pa.array([9223372036854775807, -1, 0, None, 5, -9223372036854775808], pa.int64()),
    "t": pa.array(["1.005", " -12345678901234567890123456789.5 ", None, "0",
                   "99999999999999999999999999.999", "-0.004"]),
})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    return engines_over(tmp_path_factory.mktemp("dec38"), {"t": T})


@pytest.mark.parametrize("sql", [
    "SELECT CAST(1 AS DECIMAL(30,2)) a, CAST(-1.5 AS DECIMAL(20,1)) b, "
    "CAST('12345678901234567890123.456' AS DECIMAL(38,3)) c, "
    "CAST('99999999999999999999999999999999999999' AS DECIMAL(38,0)) d, "
    "CAST(' -1.005 ' AS DECIMAL(30,2)) e, CAST(CAST(1 AS DECIMAL(38,0)) AS VARCHAR) f",
    "SELECT id, w, v, n, CAST(w AS VARCHAR) ws, CAST(v AS VARCHAR) vs FROM t ORDER BY id",
    "SELECT id, CAST(t AS DECIMAL(38,3)) a, CAST(t AS DECIMAL(31,2)) b FROM t ORDER BY id",
    "SELECT id, CAST(n AS DECIMAL(38,4)) a, CAST(s AS DECIMAL(20,0)) b, "
    "CAST(i AS DECIMAL(25,3)) c, CAST(v AS DECIMAL(21,1)) d, CAST(v AS DECIMAL(22,0)) e, "
    "CAST(v AS BIGINT) f FROM t WHERE id NOT IN (0, 5) ORDER BY id",
    # DuckDB's result types: + - one integer digit more, * the sum (18 at most for two
    # int64 decimals), % the larger precision, a BIGINT as DECIMAL(19, 0)
    "SELECT id, n + n a, n - s b, s + 1 c, s * s d, n % 7 f, n + i g, n * i h, "
    "s + 1.123 j, n - 1000000 k FROM t ORDER BY id",
    "SELECT id, s * n e FROM t WHERE id > 1 ORDER BY id",  # (DECIMAL(18, 4): int64)
    "SELECT id, w + v a, v - v b, v * 3 c, w - 1 d, v * s e, -v f, abs(w) g, w % v h, "
    "v + i j, v / 4 k, round(v, 1) m FROM t WHERE id NOT IN (0, 4) ORDER BY id",
    "SELECT sum(v) s, sum(w) sw, min(v) lo, max(v) hi, min(w) wlo, max(w) whi, avg(v) a, "
    "avg(w) aw, count(v) c FROM t",
    "SELECT s, sum(v) sv, max(w) mw, min(n) mn FROM t GROUP BY s ORDER BY s",
    "SELECT v, count(*) c FROM t GROUP BY v ORDER BY v",
    # DuckDB's common type of decimals: the most integer digits and the largest scale
    # (DECIMAL(18, 2) beside DECIMAL(10, 3): DECIMAL(19, 3), past int64)
    "SELECT id, coalesce(n, CAST(s AS DECIMAL(10,3))) c, "
    "CASE WHEN id > 2 THEN n ELSE CAST(s AS DECIMAL(10,3)) END d FROM t ORDER BY id",
    "SELECT n AS x FROM t UNION ALL SELECT CAST(s AS DECIMAL(10,3)) FROM t ORDER BY x",
])
def test_as_duckdb(engines, sql):
    check(engines, sql)
    check_arrow(engines, sql)


def test_hugeint_literals(engines):
    """Integer literals past UBIGINT: DuckDB's HUGEINT, here a DECIMAL(38, 0): the same
    Arrow (decimal128(38, 0)) and values; Python values differ (DuckDB's fetchall gives an
    int, mapdb's a Decimal)."""
    check_arrow(engines, "SELECT 12345678901234567890123 AS a, -12345678901234567890123 + 1 "
                "AS b, 99999999999999999999999999999999999999 AS c, "
                "12345678901234567890123 * 2 AS d")


@pytest.mark.parametrize("sql", [
    "SELECT id FROM t WHERE v > 2 ORDER BY id",
    "SELECT id FROM t WHERE w < 0 ORDER BY id",
    "SELECT id FROM t WHERE v = 3 ORDER BY id",
    "SELECT id FROM t WHERE w >= v ORDER BY id",
    "SELECT id FROM t WHERE v BETWEEN -1 AND 12345678901234567890.12 ORDER BY id",
    "SELECT id FROM t WHERE v IN (3, -1) ORDER BY id",
    "SELECT id FROM t ORDER BY w DESC NULLS LAST, id",
    "SELECT id, coalesce(v, n) c FROM t ORDER BY id",
    "SELECT a.id, b.id FROM t a JOIN t b ON a.v = b.v ORDER BY 1, 2",
    # a wide decimal's common type keeps DuckDB's digits, so a later branch's larger scale
    # still fits (pairwise, a DECIMAL(38, 1) squeezed 0.01 to 0.0)
    "SELECT x FROM (SELECT CAST(id AS DECIMAL(22, 1)) AS x FROM t UNION ALL SELECT 0.5 "
    "UNION ALL SELECT 0.01) ORDER BY x",
    "SELECT x FROM (SELECT CAST(id AS DECIMAL(22, 1)) AS x FROM t UNION SELECT 0.5 "
    "UNION SELECT 0.01) ORDER BY x",
    "SELECT coalesce(coalesce(CAST(NULL AS DECIMAL(22, 1)), 0.5), 0.001) FROM t",
])
def test_comparisons(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("sql", [
    "SELECT CAST('1234567890123456789012345678901' AS DECIMAL(30,0))",
    "SELECT CAST(w AS DECIMAL(20,3)) FROM t",
    "SELECT CAST('99999999999999999999999999999999999999' AS DECIMAL(38,0)) + 1",
    "SELECT w * w FROM t",
    "SELECT w + v FROM t",
    "SELECT s * n FROM t",
    "SELECT CAST(1 AS DECIMAL(39,0))",
])
def test_refused_as_duckdb_refuses(engines, sql):
    with pytest.raises(Exception):  # noqa: B017 (DuckDB's error classes vary)
        engines.con.sql(sql).fetchall()
    with pytest.raises(QueryError):
        engines.db.sql(sql).fetchall()
