"""String functions and casts to VARCHAR against DuckDB (issue 16), on values with NULLs,
empty strings, unicode and edge numbers, through both paths, and frames where they apply.

- ``CAST(x AS VARCHAR)`` (and the implicit casts of ``||``, ``concat``, ``concat_ws``)
  writes every type as DuckDB does: doubles keep '.0' and DuckDB's exponent form ('1.0',
  '1e+20', '1.5e-07'; Arrow gave '1', '1e+20', '1.5e-7'), floats their float digits
  ('0.33333334', and where DuckDB's Grisu gives up the double's: '1234567.75'), decimals
  every digit of the scale and no E notation (Arrow: '1E-18'), timestamps no trailing
  fractional zeros ('2024-01-31 10:30:00', '... 10:30:00.5'; Arrow: '.000000'), time zones
  as '+00', dates before year 1 as 'YYYY-MM-DD (BC)'.

- ``concat_ws(sep, ...)`` skips NULL values with their separator (empty strings are kept),
  is NULL when the separator is, and casts other types as CAST does. It was bound as
  ``concat`` with the separator as the first value: ``concat_ws(',', 'a', 'Hello')`` gave
  ``',aHello'``.
- ``concat`` reads NULL as ''; ``||`` is NULL when either side is.
"""

from __future__ import annotations

import datetime
import decimal

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import mapdb

from .compare import same_value

TS = datetime.datetime

T = pa.table({
    "id": pa.array(range(8), pa.int64()),
    "g": pa.array(["a", None, "", "b", "é€", None, "", "c"]),
    "s": pa.array(["Hello", "x", None, "", "y", None, "z", "ü"]),
    "sep": pa.array([",", ",", None, "", " | ", ",", ",", "-"]),
    "i": pa.array([1, None, -3, 0, 2**40, -(2**63), 2**63 - 1, 7], pa.int64()),
    "x": pa.array([1.0, float("nan"), None, -0.0, 1e20, 1.5e-7, float("inf"), 2.5]),
    "b": pa.array([True, False, None, True, False, True, None, False]),
    "d": pa.array([datetime.date(2024, 1, 31), None, datetime.date(1969, 12, 31),
                   datetime.date(1, 1, 1), datetime.date(9999, 12, 31),
                   datetime.date(2000, 2, 29), datetime.date(1970, 1, 1),
                   datetime.date(99, 3, 4)]),
    "m": pa.array([decimal.Decimal(v) if v is not None else None for v in
                   ("1.50", "-2.00", None, "0.00", "99999999.99", "-0.01", "3.14", "10.00")],
                  pa.decimal128(10, 2)),
    "h": pa.array([1.0, float("nan"), None, -0.0, 1e20, 1234567.75, 1 / 3, 89471584.0],
                  pa.float32()),
    "u": pa.array([0, 2**64 - 1, None, 2**63, 1, 5, 7, 9], pa.uint64()),
    "i8": pa.array([0, -128, None, 127, 1, 5, 7, 9], pa.int8()),
    "m0": pa.array([decimal.Decimal(v) if v is not None else None for v in
                    ("1", "-2", None, "0", "123456789012345678", "-5", "3", "10")],
                   pa.decimal128(18, 0)),
    "m18": pa.array([decimal.Decimal(v) if v is not None else None for v in
                     ("0.000000000000000001", "-0.5", None, "0", "0.1",
                      "-0.000000000000000005", "0.3", "0.999999999999999999")],
                    pa.decimal128(18, 18)),
    "ts": pa.array([TS(2024, 1, 31, 10, 30), TS(2024, 1, 31, 10, 30, 0, 500000), None,
                    TS(1969, 12, 31, 23, 59, 59, 123456), TS(1, 1, 1),
                    TS(9999, 12, 31, 23, 59, 59, 999999), TS(2024, 2, 29, 0, 0, 0, 1),
                    TS(1970, 1, 1, 0, 0, 0, 120000)], pa.timestamp("us")),
})
T = T.append_column("tz", T.column("ts").cast(pa.timestamp("us", "UTC")))
T = T.append_column("tzny", T.column("ts").cast(pa.timestamp("us", "America/New_York")))
# dates before year 1 and after 9999, which Python's date cannot hold
FAR = pa.table({"id": pa.array(range(5), pa.int64()),
                "d": pa.array([-800000, -719162, -719163, 2932897, None],
                              pa.int32()).cast(pa.date32()),
                "ts": pa.array([-800000 * 86_400_000_000 + 1, -719163 * 86_400_000_000, None,
                                2932897 * 86_400_000_000 + 120, 0]).cast(pa.timestamp("us"))})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("strings") / "db")
    db.create_table("t", T)
    db.create_table("td", T, dictionary=["g", "s"])  # the same as dictionary columns
    db.create_table("far", FAR)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", T)
    con.register("td", T)
    con.register("far", FAR)
    yield db, con
    db.close()
    con.close()


def check(engines, sql: str) -> list:
    """mapdb's rows (both paths) equal DuckDB's, in order (every query orders by id)."""
    db, con = engines
    want = con.sql(sql).fetchall()
    for fused in (True, False):
        got = db.sql(sql, fused=fused).fetchall()
        ok = len(got) == len(want) and all(
            len(g) == len(w) and all(same_value(a, b) for a, b in zip(g, w, strict=True))
            for g, w in zip(got, want, strict=True))
        assert ok, f"fused={fused}\n{sql}\nmapdb:  {got}\nDuckDB: {want}"
    return want


CONCAT = [
    "SELECT id, concat_ws(',', g, s) FROM {t} ORDER BY id",
    "SELECT id, concat_ws(sep, g, s), concat_ws(sep, s), concat_ws(sep, g, NULL, s) "
    "FROM {t} ORDER BY id",
    "SELECT id, concat_ws(NULL, g, s), concat_ws('', g, s), concat_ws(',', NULL, NULL) "
    "FROM {t} ORDER BY id",
    "SELECT id, concat_ws(' - ', g, i, b, d, m) FROM {t} ORDER BY id",
    "SELECT id, concat_ws(',', g) FROM {t} ORDER BY id",
    "SELECT id, concat_ws(',', g, 'k') FROM {t} WHERE concat_ws(',', g, s) = ',z' "
    "ORDER BY id",
    "SELECT concat_ws(',', g, s) AS k, count(*) FROM {t} GROUP BY k ORDER BY k",
    "SELECT id, concat(g, s), concat(g, NULL, s), concat(NULL, NULL), concat(g, i, b) "
    "FROM {t} ORDER BY id",
    "SELECT id, g || s, g || NULL, s || i, g || '' FROM {t} ORDER BY id",
    "SELECT id, length(concat_ws('', g, s)), upper(concat_ws('/', s, g)) FROM {t} "
    "ORDER BY id",
]


@pytest.mark.parametrize("table", ["t", "td"])
@pytest.mark.parametrize("sql", CONCAT)
def test_concat(engines, sql, table):
    check(engines, sql.format(t=table))


def test_concat_ws_needs_a_value(engines):
    db, _ = engines
    with pytest.raises(mapdb.errors.MapdbError):
        db.sql("SELECT concat_ws(',') FROM t").fetchall()


CASTS = [
    f"SELECT id, CAST({c} AS VARCHAR) FROM t ORDER BY id"
    for c in ("x", "h", "i", "u", "i8", "b", "d", "m", "m0", "m18", "ts", "tz", "tzny", "g")
] + [
    "SELECT id, CAST(d AS VARCHAR), CAST(ts AS VARCHAR) FROM far ORDER BY id",
    "SELECT id, x::VARCHAR, h::TEXT, CAST(x AS STRING) FROM t ORDER BY id",
    # implicit casts in ||, concat and concat_ws
    "SELECT id, 'a' || x, 'a' || h, 'a' || 1.0, 'a' || 1.0::DOUBLE, g || m, g || d, g || ts "
    "FROM t ORDER BY id",
    "SELECT id, concat(g, ts, tz, b, m18, 0.5, -0.5, 1.0, 123.450) FROM t ORDER BY id",
    "SELECT id, concat_ws('|', x, h, m, ts) FROM t ORDER BY id",
    # derived values: arithmetic, aggregates, windows, intervals
    "SELECT id, CAST(m + 1 AS VARCHAR), CAST(m * 2 AS VARCHAR), CAST(x / 3 AS VARCHAR), "
    "CAST(-m AS VARCHAR) FROM t ORDER BY id",
    "SELECT CAST(sum(m18) AS VARCHAR), CAST(sum(m) AS VARCHAR), CAST(avg(x) AS VARCHAR), "
    "CAST(max(ts) AS VARCHAR), CAST(min(d) AS VARCHAR), CAST(count(*) AS VARCHAR), "
    "CAST(sum(u) AS VARCHAR) FROM t",
    "SELECT id, CAST(sum(m) OVER (ORDER BY id) AS VARCHAR) FROM t ORDER BY id",
    "SELECT id, CAST(d + INTERVAL 1 DAY AS VARCHAR), CAST(date_trunc('month', ts) AS "
    "VARCHAR), CAST(ts + INTERVAL 1 HOUR AS VARCHAR) FROM t ORDER BY id",
    "SELECT CAST(x AS VARCHAR) AS k, count(*) FROM t GROUP BY k ORDER BY k",
    "SELECT id FROM t WHERE CAST(x AS VARCHAR) = '1.0' OR CAST(ts AS VARCHAR) LIKE '%.5' "
    "ORDER BY id",
]


@pytest.mark.parametrize("sql", CASTS)
def test_cast_to_varchar(engines, sql):
    check(engines, sql)


def test_float_text_random(engines):
    """Doubles (bit patterns, every power of two, decimals of every magnitude) and floats
    (bit patterns, subnormals, integers past 2**24 where fmt's Grisu gives up) as text,
    against DuckDB value by value."""
    db, con = engines
    rng = np.random.default_rng(16)
    with np.errstate(all="ignore"):
        doubles = np.concatenate([
            rng.integers(-2**63, 2**63 - 1, 20000).view(np.float64),
            rng.random(5000) * 10.0 ** rng.integers(-300, 300, 5000),
            np.round(rng.random(5000) * 1e6, 3), 2.0 ** np.arange(-1074, 1024)])
        floats = np.concatenate([
            rng.integers(-2**31, 2**31 - 1, 20000).astype(np.int32).view(np.float32),
            rng.random(5000).astype(np.float32) * np.float32(10.0) **
            rng.integers(-40, 38, 5000).astype(np.float32),
            np.float32(rng.integers(0, 2**30, 5000))]).astype(np.float32)
        # (signalling NaN bit patterns make storage's zone map warn: quiet ones here)
        floats[np.isnan(floats)] = np.float32("nan")
    t = pa.table({"id": pa.array(np.arange(len(doubles))), "x": pa.array(doubles),
                  "h": pa.array(np.resize(floats, len(doubles)), pa.float32())})
    db.create_table("rnd", t)
    con.register("rnd", t)
    sql = "SELECT id, CAST(x AS VARCHAR), CAST(h AS VARCHAR) FROM rnd ORDER BY id"
    want = con.sql(sql).fetchall()
    for fused in (True, False):
        got = db.sql(sql, fused=fused).fetchall()
        bad = [(g, w) for g, w in zip(got, want, strict=True) if g != w]
        assert not bad, f"{len(bad)} of {len(want)} differ: {bad[:5]}"


def test_frames_cast(engines):
    db, con = engines
    from mapdb import col
    t = db["t"]
    got = t.select("id", col("x").cast("varchar").alias("xs"), col("ts").cast("varchar")
                   .alias("ts"), col("m").cast("varchar").alias("ms")).sort("id").collect()
    want = con.sql("SELECT CAST(x AS VARCHAR), CAST(ts AS VARCHAR), CAST(m AS VARCHAR) "
                   "FROM t ORDER BY id").fetchall()
    assert list(zip(got.column("xs").to_pylist(), got.column("ts").to_pylist(),
                    got.column("ms").to_pylist(), strict=True)) == want
    t.close()
