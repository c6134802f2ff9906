"""Integer arithmetic in DuckDB's types: the result type of ``+ - * // %`` on every pair of
integer types and with literals, and an overflow of that type is an error (as DuckDB's
"Overflow in addition of INT8"), on the general and the fused path. Before, mapdb computed
every integer expression in BIGINT and answered where DuckDB refuses (``i8 * 2`` past
127, ``2147483647 + 1``)."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, engines_over

TYPES = {"TINYINT": pa.int8(), "SMALLINT": pa.int16(), "INTEGER": pa.int32(),
         "BIGINT": pa.int64(), "UTINYINT": pa.uint8(), "USMALLINT": pa.uint16(),
         "UINTEGER": pa.uint32(), "UBIGINT": pa.uint64()}
COLS = {"TINYINT": "i8", "SMALLINT": "i16", "INTEGER": "i32", "BIGINT": "i64",
        "UTINYINT": "u8", "USMALLINT": "u16", "UINTEGER": "u32", "UBIGINT": "u64"}
# small values (0 for the literals, no overflow in any type) in one table, values near
# each type's limits in another
SMALL = pa.table({c: pa.array([1, 2, None, 0, 3], TYPES[t]) for t, c in COLS.items()})
EDGE = pa.table({
    "i8": pa.array([100, -100, 1, None], pa.int8()),
    "i16": pa.array([30000, -30000, 2, None], pa.int16()),
    "i32": pa.array([2_000_000_000, -2_000_000_000, 3, None], pa.int32()),
    "i64": pa.array([2**62, -2**62, 4, None], pa.int64()),
    "u8": pa.array([200, 0, 5, None], pa.uint8()),
    "u16": pa.array([60000, 0, 6, None], pa.uint16()),
    "u32": pa.array([4_000_000_000, 0, 7, None], pa.uint32()),
    "u64": pa.array([2**63 + 5, 0, 8, None], pa.uint64()),
})
rng = np.random.default_rng(16)
N = 50_000
BIG = pa.table({"g": pa.array(rng.integers(0, 5, N), pa.int32()),
                "i8": pa.array(rng.integers(-100, 100, N), pa.int8()),
                "s8": pa.array(rng.integers(0, 50, N), pa.int8()),
                "i16": pa.array(rng.integers(-30000, 30000, N), pa.int16()),
                "i32": pa.array(rng.integers(-2**31, 2**31, N), pa.int32())})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    return engines_over(tmp_path_factory.mktemp("widths"),
                        {"s": SMALL, "w": EDGE, "big": BIG})


def _same(engines, sql):
    """The same Arrow types and rows as DuckDB's (a HUGEINT is a decimal128(38, 0) in
    both), on both paths."""
    want = engines.con.sql(sql).to_arrow_table()
    rows = sorted(map(repr, zip(*(c.to_pylist() for c in want.columns), strict=True)))
    for fused in (False, True):
        got = engines.db.sql(sql, fused=fused).to_arrow()
        assert got.schema.types == want.schema.types, \
            f"fused={fused}: {got.schema.types} vs DuckDB {want.schema.types}\n{sql}"
        assert sorted(map(repr, zip(*(c.to_pylist() for c in got.columns), strict=True))) \
            == rows, f"fused={fused}\n{sql}"


@pytest.mark.parametrize("a,b", list(itertools.product(COLS.values(), repeat=2)))
def test_pair_types(engines, a, b):
    """The type of a <op> b for every pair of integer types (UBIGINT with a signed type:
    HUGEINT, a decimal128(38, 0) in both)."""
    _same(engines, f"SELECT {a} + {b}, {a} - {b}, {a} * {b}, {a} % {b}, {a} // {b} FROM s "
                   f"WHERE {b} > 0 AND {a} >= {b}")


LITERALS = ["1", "-1", "127", "128", "-129", "255", "256", "32767", "70000", "2147483648",
            "-2147483649", "9223372036854775807", "9223372036854775808"]


@pytest.mark.parametrize("lit", LITERALS)
def test_literal_types(engines, lit):
    """A literal takes the other operand's type when its value fits, else its own
    (INTEGER, BIGINT, HUGEINT) combined with the other's."""
    items = ", ".join(f"{c} + {lit}, {lit} * {c}" for c in COLS.values())
    _same(engines, f"SELECT {items} FROM s WHERE i8 = 0 OR i8 IS NULL")


@pytest.mark.parametrize("sql", [
    "SELECT 1 + 1, 2147483647 + 0, 2147483648 + 1, 1 * 9223372036854775807",
    "SELECT CAST(2147483647 AS BIGINT) + 1, 2147483647::BIGINT * 2, (2147483647 + 0) + 0",
    "SELECT CAST(i8 AS INTEGER) + 1, i8 + 1000, (i8 + 1) // 2, i8 % 3 FROM w",
    "SELECT -i8, abs(i8), i8 + NULL, NULL + i16, 1 + NULL FROM w",
    "SELECT i8 + 2e0, i8 / 2, i8 // 2.0 FROM w",
    "SELECT CAST(-128 AS TINYINT) % -1, CAST(-2147483648 AS INTEGER) % -1",
    "SELECT u64 + 1, u64 + i64, u64 + 9223372036854775808 FROM w WHERE u64 < 10",
    "SELECT -u8, -u64, -(u16 - u16) FROM w WHERE u8 = 0",  # -0 of an unsigned is 0
    # NULLIF beside a UBIGINT (Arrow compared it as int64: 'value not in range')
    "SELECT nullif(9223372036854775807, u64), nullif(u64, 8), nullif(u64, i64) FROM w",
])
def test_values_and_types(engines, sql):
    _same(engines, sql)


def test_huge_literal_nullif(engines):
    """(a literal from 2**63 is a UBIGINT here, DuckDB's HUGEINT: the values agree)"""
    check(engines, "SELECT nullif(9223372036854775808, 9223372036854775807), "
                   "nullif(18446744073709551615, u64) FROM w")


OVERFLOWS = ["i8 * 2", "i8 + 100", "i8 + i8", "i16 * i8", "i32 * 2", "i32 + 1 + i32",
             "u8 - 1", "u8 + u8", "u16 * 2", "2147483647 + 1", "-2147483647 - 2",
             "(i8 + 1) * (i8 + 2)", "i8 - 1 - 1 - 127", "u64 * 2",
             "CAST(-128 AS TINYINT) // -1", "-(i8 - 28) - 100", "-u8", "-u64"]


@pytest.mark.parametrize("expr", OVERFLOWS)
def test_overflow_is_an_error(engines, expr):
    """Where DuckDB raises "Overflow in ...", mapdb raises a QueryError naming it."""
    _both_overflow(engines, f"SELECT {expr} FROM w")


def _both_overflow(engines, sql):
    import duckdb
    with pytest.raises(duckdb.Error, match="Overflow"):
        engines.con.execute(sql).fetchall()
    for fused in (False, True):
        with pytest.raises(QueryError, match="Overflow"):
            engines.db.sql(sql, fused=fused).to_arrow()


@pytest.mark.parametrize("agg,fails", [
    ("sum(i8 * 2)", True), ("sum(s8 * 2)", False), ("sum(s8 * 3 + 1)", True),
    ("sum(i16 + 1)", False), ("sum(i32 * 2)", True), ("avg(i8 * i8)", True),
    ("max(s8 * s8)", True), ("sum(s8 * 2 + 10)", False), ("min((s8 + 1) * (s8 + 2))", True),
    ("sum(CAST(i32 AS BIGINT) * 2)", False), ("avg(i16 * 2)", True),
])
def test_fused_aggregates(engines, agg, fails):
    """The fused kernel sums products in 128 bits: it takes an aggregate over narrow
    arithmetic only when the zone maps prove no step overflows its type, else the general
    path raises where a row overflows."""
    sql = f"SELECT g, {agg} FROM big GROUP BY g ORDER BY g"
    if fails:
        _both_overflow(engines, sql)
    else:
        check(engines, sql)
