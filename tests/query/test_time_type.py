"""TIME (time of day) as DuckDB has it: literals, CAST from and to text, stored time64[us]
columns, comparisons, min/max, ORDER BY, GROUP BY, parts, TIME + INTERVAL (wrapping at
midnight), TIMESTAMP -> TIME, DATE + TIME, make_time; the Arrow types and the text of the
results as DuckDB's (``.arrow()`` and CAST(... AS VARCHAR))."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_arrow, engines_over

T = pa.table({
    "id": pa.array(range(6), pa.int64()),
    "t": pa.array([datetime.time(10, 0), datetime.time(0, 0), None,
                   datetime.time(23, 59, 59, 999999), datetime.time(10, 0),
                   datetime.time(12, 30, 0, 500000)], pa.time64("us")),
    "ts": pa.array([datetime.datetime(2024, 1, 1, 10, 11, 12, 500000), None,
                    datetime.datetime(1969, 12, 31, 23, 59, 59),
                    datetime.datetime(2024, 2, 29), datetime.datetime(1900, 1, 1, 0, 0, 1),
                    datetime.datetime(2000, 6, 1, 12)], pa.timestamp("us")),
    "d": pa.array([datetime.date(2024, 1, 1), None, datetime.date(1969, 12, 31),
                   datetime.date(2024, 2, 29), datetime.date(1900, 1, 1),
                   datetime.date(2000, 6, 1)]),
    "s": pa.array(["10:11", " 1:2:3.5 ", None, "23:59:59.999999", "00:00:00",
                   "2024-01-01 12:00:00"]),
})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    return engines_over(tmp_path_factory.mktemp("time"), {"t": T})


@pytest.mark.parametrize("sql", [
    "SELECT TIME '10:00:00' AS a, TIME '00:00:00' AS b, TIME '23:59:59.999999' AS c",
    "SELECT CAST('1:2:3.5' AS TIME) AS a, CAST(' 10:11' AS TIME) AS b, "
    "CAST('2024-01-01 10:00:00' AS TIME) AS c",
    "SELECT CAST(TIME '10:00:01.5' AS VARCHAR) a, CAST(TIME '00:00:00' AS VARCHAR) b, "
    "CAST(TIME '10:00:01.120' AS VARCHAR) c, CAST(TIME '23:59:59.999999' AS VARCHAR) d",
    "SELECT id, t, CAST(t AS VARCHAR) AS s FROM t ORDER BY id",
    "SELECT id, CAST(s AS TIME) AS x FROM t ORDER BY id",
    "SELECT id, CAST(ts AS TIME) AS x FROM t ORDER BY id",
    "SELECT id, d + t AS x FROM t ORDER BY id",
    "SELECT id, t + INTERVAL 2 HOUR AS a, t - INTERVAL 11 HOUR AS b, "
    "t + INTERVAL 1 DAY AS c, t + INTERVAL 1 MONTH AS e, t + INTERVAL '1 microsecond' f "
    "FROM t ORDER BY id",
    "SELECT min(t) AS lo, max(t) AS hi, count(DISTINCT t) AS n FROM t",
    "SELECT t, count(*) AS n FROM t GROUP BY t ORDER BY t NULLS FIRST",
    "SELECT id FROM t ORDER BY t DESC NULLS LAST, id",
    "SELECT id, extract(hour FROM t) h, extract(minute FROM t) m, extract(second FROM t) s, "
    "extract(microsecond FROM t) us, extract(millisecond FROM t) ms, "
    "extract(epoch FROM t) ep FROM t ORDER BY id",
    "SELECT id, hour(t), minute(t), second(t), microsecond(t), epoch(t), "
    "date_part('hour', t) FROM t ORDER BY id",
    "SELECT make_time(10, 2, 3.5) a, make_time(0, 0, 0) b, make_time(23, 59, 59.999999) c",
    "SELECT id, make_time(id, id * 2, id * 1.5) x FROM t ORDER BY id",
])
def test_as_duckdb(engines, sql):
    check(engines, sql)
    check_arrow(engines, sql)


@pytest.mark.parametrize("sql", [
    "SELECT id FROM t WHERE t > TIME '10:00' ORDER BY id",
    "SELECT id FROM t WHERE t = '10:00:00' ORDER BY id",
    "SELECT id FROM t WHERE t BETWEEN '00:00' AND '12:00' ORDER BY id",
    "SELECT id FROM t WHERE t IN (TIME '10:00', TIME '00:00') ORDER BY id",
    "SELECT id, coalesce(t, TIME '01:00') c FROM t ORDER BY id",
    "SELECT id, CASE WHEN id > 2 THEN t ELSE TIME '12:00' END c FROM t ORDER BY id",
    "SELECT a.id, b.id FROM t a JOIN t b ON a.t = b.t ORDER BY 1, 2",
])
def test_comparisons(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("sql", [
    "SELECT CAST('abc' AS TIME)",
    "SELECT CAST('10:61:00' AS TIME)",
    "SELECT CAST('10:11 ' AS TIME)",
    "SELECT make_time(10, 60, 0)",
    "SELECT year(TIME '10:00')",
    "SELECT strftime(TIME '10:00', '%H')",
    "SELECT TIME '10:00' - TIME '09:00'",
    "SELECT TIME '10:00' = TIMESTAMP '2024-01-01 10:00:00'",
])
def test_refused_as_duckdb_refuses(engines, sql):
    with pytest.raises(Exception):  # noqa: B017 (DuckDB's error classes vary)
        engines.con.sql(sql).fetchall()
    with pytest.raises(QueryError):
        engines.db.sql(sql).fetchall()


def test_python_time_parameters_as_duckdb(engines):
    sql = "SELECT ? AS a, ? + INTERVAL 1 HOUR AS b, CAST(? AS VARCHAR) AS c"
    params = [datetime.time(10, 0, 1, 500000), datetime.time(23, 30), datetime.time(0, 0)]
    assert engines.db.sql(sql, params).fetchall() == engines.con.execute(sql, params).fetchall()
