"""String functions and casts to VARCHAR against DuckDB (issue 16), on values with NULLs,
empty strings, unicode and edge numbers, through both paths, and frames where they apply.

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
import pyarrow as pa
import pytest

import mapdb

from .compare import same_value

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
})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("strings") / "db")
    db.create_table("t", T)
    db.create_table("td", T, dictionary=["g", "s"])  # the same as dictionary columns
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", T)
    con.register("td", T)
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
