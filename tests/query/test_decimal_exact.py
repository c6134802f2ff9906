"""Exact decimal semantics against DuckDB (issue 16's differential causes
decimal-cast-precision, wide-decimal-arith): CAST to DECIMAL(p, s) checks the precision
(DuckDB: Conversion Error; here a QueryError naming the cast and its position), and
arithmetic on DECIMAL(38, s) (sums of decimals, HUGEINT) is exact in decimal128."""

from __future__ import annotations

import decimal

import duckdb
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import QueryError


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    D = decimal.Decimal
    t = pa.table({
        "id": pa.array([1, 2, 3, 4, None], pa.int64()),
        "u8": pa.array([1, 99, 154, 255, None], pa.uint8()),
        "d": pa.array([D("99999999999999.99"), D("-12.50"), D("0.01"), None,
                       D("-99999999999999.99")], pa.decimal128(16, 2)),
        "x": pa.array([D("1.5"), D("2.25"), None, D("-3.75"), D("0.05")], pa.decimal128(9, 2)),
        "u64": pa.array([0, 2**63, 2**64 - 1, 5, None], pa.uint64()),
        "f": pa.array([1.5, 99.999, 1e30, None, -2.0]),
    })
    db = mapdb.connect(tmp_path_factory.mktemp("dec") / "db", durability="none")
    db.create_table("t", t)
    con = duckdb.connect()
    con.register("t_arrow", t)
    con.execute("CREATE TABLE t AS SELECT * FROM t_arrow")
    yield db, con
    con.close()


def _both(dbs, sql):
    db, con = dbs
    try:
        want = con.execute(sql).fetchall()
    except duckdb.Error as err:
        want = err
    try:
        got = db.sql(sql).to_arrow()
    except QueryError as err:
        got = err
    return got, want


@pytest.mark.parametrize("sql", [
    "SELECT CAST(u8 AS DECIMAL(4,2)) FROM t",
    "SELECT CAST(u8 AS DECIMAL(3,1)) FROM t WHERE u8 > 99",
    "SELECT CAST(d AS DECIMAL(5,1)) FROM t",
    "SELECT CAST(f AS DECIMAL(4,2)) FROM t",
    "SELECT CAST(f AS DECIMAL(3,1)) FROM t WHERE f < 1e6",
    "SELECT CAST(154 AS DECIMAL(4,2))",
    "SELECT CAST(99.999 AS DECIMAL(4,2))",
    "SELECT CAST('154' AS DECIMAL(4,2))",
])
def test_cast_out_of_range_is_refused(dbs, sql):
    got, want = _both(dbs, sql)
    assert isinstance(want, duckdb.ConversionException), want
    assert isinstance(got, QueryError), got
    assert "out of range" in str(got) and "line 1, column" in str(got)


@pytest.mark.parametrize("sql", [
    "SELECT CAST(u8 AS DECIMAL(5,2)) FROM t",
    "SELECT CAST(u8 AS DECIMAL(4,2)) FROM t WHERE u8 < 100",
    "SELECT CAST(99.994 AS DECIMAL(4,2))",
    "SELECT CAST(x AS DECIMAL(4,1)) FROM t",
    "SELECT CAST(f AS DECIMAL(5,2)) FROM t WHERE f < 1000",
])
def test_cast_in_range(dbs, sql):
    got, want = _both(dbs, sql)
    assert not isinstance(got, Exception), got
    assert [tuple(r.values()) for r in got.to_pylist()] == want


def _rows(rows) -> list[str]:
    """Rows as sortable text, exact numbers as fractions (HUGEINT: int in DuckDB, Decimal
    here)."""
    import fractions
    if isinstance(rows, pa.Table):
        rows = list(zip(*[c.to_pylist() for c in rows.columns], strict=True))
    conv = lambda v: fractions.Fraction(v) if isinstance(v, int | decimal.Decimal) and \
        not isinstance(v, bool) else v  # noqa: E731
    return sorted(repr(tuple(map(conv, r))) for r in rows)


@pytest.mark.parametrize("sql", [
    "SELECT sum(d) + 1, sum(d) - 0.005, sum(d) * 2, sum(d) * sum(x), sum(d) % 7 FROM t",
    "SELECT -sum(d), abs(sum(x)), round(sum(d), 1), round(sum(d), -3), round(sum(x), 5) "
    "FROM t",
    "SELECT sum(d) + sum(x), sum(d) - sum(d), sum(d) * 1.5 FROM t WHERE id < 3",
    "SELECT sum(d) > 1, sum(d) = 99999999999999987.50, sum(d) < sum(x) FROM t",
    "SELECT coalesce(sum(d), 1), CASE WHEN sum(d) > 0 THEN sum(d) ELSE 0.125 END FROM t",
    "SELECT CAST(sum(x) AS DECIMAL(6,1)), CAST(sum(x) AS BIGINT), CAST(sum(d) AS DOUBLE) "
    "FROM t",
    "SELECT sum(u64) + 1, sum(u64) * 3, -sum(u64) FROM t",
    "SELECT id, CASE WHEN id > 2 THEN u64 ELSE id END + 1, "
    "CASE WHEN id > 2 THEN u64 ELSE -id END * id FROM t",
    "SELECT sum(d) / 3, sum(d) // 3, sum(d) + 0.5e0 FROM t",
    "SELECT round(x, -1), round(u8, -2), round(id, -1) FROM t",
    "SELECT coalesce(sum(d), 0.125), coalesce(sum(x), sum(d), 1), "
    "CASE WHEN id > 3 THEN sum(x) ELSE 2.125 END FROM t GROUP BY id",
    "SELECT sum(x) FROM t UNION ALL SELECT 0.125 FROM t",
])
def test_wide_arithmetic_exact(dbs, sql):
    got, want = _both(dbs, sql)
    assert not isinstance(want, Exception), want
    assert not isinstance(got, Exception), got
    assert _rows(got) == _rows(want)


@pytest.mark.parametrize("sql", [
    "SELECT sum(u64) * sum(u64) * sum(u64) FROM t",  # past 38 digits
    "SELECT sum(d) % 0 FROM t",
])
def test_wide_overflow_is_an_error(dbs, sql):
    got, want = _both(dbs, sql)
    assert isinstance(want, duckdb.Error), want
    assert isinstance(got, QueryError), got


@pytest.mark.parametrize("sql", [
    "SELECT CAST('1234567890123.4567' AS DECIMAL(18,4)), CAST(' 1.005 ' AS DECIMAL(4,2)), "
    "CAST('-1.005' AS DECIMAL(4,2)), CAST('1e2' AS DECIMAL(5,1)), CAST('0.125' AS DECIMAL(3,2))",
    "SELECT CAST(CAST(x AS VARCHAR) AS DECIMAL(9,1)) FROM t",
])
def test_string_to_decimal_exact(dbs, sql):
    """Parsed digit by digit, extra digits rounded half away from zero (was: through a
    double, which loses digits past 15)."""
    got, want = _both(dbs, sql)
    assert not isinstance(got, Exception), got
    assert _rows(got) == _rows(want)
