"""TIMESTAMP WITH TIME ZONE casts and comparisons as DuckDB with its session zone UTC (the
zone mapdb's TIMESTAMPTZ values are in): CAST(x AS TIMESTAMPTZ) of a TIMESTAMP, DATE or
text (an offset in the text moves the instant), CAST back to TIMESTAMP/DATE/VARCHAR, and a
TIMESTAMP or DATE compared with, joined to or mixed with a TIMESTAMPTZ."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, engines_over

UTC = datetime.UTC
TS = [datetime.datetime(2024, 1, 1, 10), datetime.datetime(1969, 12, 31, 23, 59, 59, 500000),
      None, datetime.datetime(2024, 2, 29, 0, 0), datetime.datetime(1900, 1, 1, 12, 30)]
T = pa.table({
    "id": pa.array(range(5), pa.int64()),
    "ts": pa.array(TS, pa.timestamp("us")),
    "tz": pa.array([None if x is None else x.replace(tzinfo=UTC) for x in TS[1:] + TS[:1]],
                   pa.timestamp("us", "UTC")),
    "d": pa.array([datetime.date(2024, 1, 1), None, datetime.date(1969, 12, 31),
                   datetime.date(2024, 2, 29), datetime.date(1900, 1, 1)]),
    "s": pa.array(["2024-01-01 10:00:00+02", "2024-03-01", " 1969-12-31 23:59:59.5-05:30 ",
                   None, "2024-02-29T00:00:00Z"]),
})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    e = engines_over(tmp_path_factory.mktemp("tz"), {"t": T})
    e.con.execute("SET TimeZone = 'UTC'")
    return e


@pytest.mark.parametrize("sql", [
    "SELECT id, CAST(ts AS TIMESTAMPTZ), CAST(d AS TIMESTAMPTZ), CAST(s AS TIMESTAMPTZ) FROM t",
    "SELECT id, CAST(tz AS TIMESTAMP), CAST(tz AS DATE), CAST(tz AS VARCHAR) FROM t",
    "SELECT id, CAST(ts AS TIMESTAMP WITH TIME ZONE) = tz, ts < tz, tz >= d, d = tz FROM t",
    "SELECT CAST('2024-01-01 10:00:00' AS TIMESTAMPTZ), "
    "CAST('2024-01-01 10:00:00-05:30' AS TIMESTAMP WITH TIME ZONE), "
    "CAST('2024-01-01T10:00:00.25Z' AS TIMESTAMPTZ), CAST(NULL AS TIMESTAMPTZ)",
    "SELECT count(*) FROM t WHERE tz BETWEEN ts AND TIMESTAMP '2030-01-01'",
    "SELECT count(*) FROM t WHERE tz = TIMESTAMP '2024-02-29 00:00:00' OR tz < DATE '1970-01-01'",
    "SELECT id, coalesce(ts, tz), CASE WHEN id > 2 THEN ts ELSE tz END, greatest(ts, tz) FROM t",
    "SELECT a.id, b.id FROM t a JOIN t b ON a.ts = b.tz",
    "SELECT id FROM t WHERE ts IN (SELECT tz FROM t)",
    "SELECT id, CAST(CAST(s AS TIMESTAMPTZ) AS TIMESTAMP), "
    "year(CAST(ts AS TIMESTAMPTZ)), date_trunc('month', CAST(d AS TIMESTAMPTZ)) FROM t",
    "SELECT max(CAST(ts AS TIMESTAMPTZ)), min(tz) FROM t",
    "SELECT ts FROM t UNION SELECT tz FROM t",
])
def test_matches_duckdb(engines, sql):
    check(engines, sql)


def test_bad_text_is_an_error(engines):
    with pytest.raises(QueryError):
        engines.db.sql("SELECT CAST('not a time' AS TIMESTAMPTZ)").to_arrow()
