"""TIME (time64[us]) and INTERVAL (month_day_nano_interval) columns: stored in Arrow's
fixed-width layout (8 and 16 bytes a value), read back unchanged and without a copy;
time32 and nanosecond times, and durations (DuckDB reads them as INTERVAL), converted on
the way in; CSV text HH:MM[:SS[.f]] sniffed as TIME as DuckDB's sniffer does."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from mapdb.errors import SchemaError
from mapdb.storage.database import DatabaseStore
from mapdb.storage.types import ColumnType

from .test_zero_copy import _data_file, _mappings_of

MDN = pa.MonthDayNano
TIMES = pa.array([datetime.time(0, 0), None, datetime.time(23, 59, 59, 999999),
                  datetime.time(12, 0, 0, 1)], pa.time64("us"))
IVS = pa.array([MDN([1, 2, 3000]), None, MDN([-2147483648, -1, -5000]),
                MDN([2147483647, 2147483647, 9_223_372_036_854_775_000])],
               pa.month_day_nano_interval())


def _store(db_path, table: pa.Table):
    db = DatabaseStore(db_path)
    w = db.create_writer("t", table.schema, None)
    w.write(table)
    w.commit()
    w.close()
    return db, db.snapshot("t")


def test_round_trip_and_types(db_path):
    _db, snap = _store(db_path, pa.table({"t": TIMES, "i": IVS}))
    got = snap.to_arrow()
    assert got.schema.types == [pa.time64("us"), pa.month_day_nano_interval()]
    assert got.column("t").to_pylist() == TIMES.to_pylist()
    assert got.column("i").to_pylist() == IVS.to_pylist()
    assert snap.manifest.column("t").type == ColumnType("time64")
    assert snap.manifest.column("i").type == ColumnType("interval")
    assert snap.verify() == []
    snap.close()


@pytest.mark.parametrize("column", ["t", "i"])
def test_columns_are_views_of_the_mapped_files(db_path, column):
    n = 50_000
    t = pa.table({"t": pa.array(range(n), pa.int64()).cast(pa.time64("us")),
                  "i": pa.array([MDN([k, -k, k * 1000]) for k in range(n)],
                                pa.month_day_nano_interval())})
    db, snap = _store(db_path, t)
    chunk = snap.column(column).chunk(0)
    assert chunk.to_pylist() == t.column(column).to_pylist()
    addr = chunk.buffers()[1].address
    maps = _mappings_of(_data_file(db, snap, column))
    assert any(lo <= addr < hi for lo, hi, _ in maps), "the column was copied"
    snap.close()


def test_inputs_converted_on_the_way_in(db_path):
    t = pa.table({"a": pa.array([3600, None, 86399], pa.time32("s")),
                  "b": pa.array([1_000_000, None, -5], pa.duration("us")),
                  "c": pa.array([1, None, 2_000_000], pa.duration("ms")),
                  "d": pa.array([5_000, None, 0], pa.time64("ns"))})
    _db, snap = _store(db_path, t)
    got = snap.to_arrow()
    assert got.column("a").to_pylist() == [datetime.time(1), None, datetime.time(23, 59, 59)]
    assert got.column("b").to_pylist() == [MDN([0, 0, 1_000_000_000]), None, MDN([0, 0, -5000])]
    assert got.column("c").to_pylist() == [MDN([0, 0, 1_000_000]), None,
                                           MDN([0, 0, 2_000_000_000_000])]
    assert got.column("d").to_pylist() == [datetime.time(0, 0, 0, 5), None, datetime.time(0)]
    snap.close()


def test_nanoseconds_below_a_microsecond_are_refused(db_path):
    db = DatabaseStore(db_path)
    t = pa.table({"d": pa.array([1], pa.time64("ns"))})
    w = db.create_writer("t", t.schema, None)
    with pytest.raises(SchemaError):
        w.write(t)
    w.close()


def test_query_over_stored_columns_as_duckdb(tmp_path):
    """The stored columns answer as DuckDB over the same Arrow table (duration as
    INTERVAL)."""
    import duckdb

    import mapdb
    t = pa.table({"id": pa.array(range(4)), "t": TIMES,
                  "i": pa.array([MDN([1, 2, 3000]), None, MDN([0, -1, -5000]),
                                 MDN([14, 0, 0])], pa.month_day_nano_interval()),
                  "d": pa.array([1_000_000, None, -5, 86_400_000_000], pa.duration("us"))})
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", t)
    con = duckdb.connect()
    con.register("t", t)
    sql = ("SELECT id, t, i, d, CAST(t AS VARCHAR) a, CAST(i AS VARCHAR) b, "
           "CAST(d AS VARCHAR) c FROM t ORDER BY id")
    want = con.sql(sql).arrow()
    want = want.read_all() if hasattr(want, "read_all") else want
    got = db.sql(sql).to_arrow()
    assert got.column("t").type == want.column("t").type == pa.time64("us")
    assert got.column("i").type == want.column("i").type == pa.month_day_nano_interval()
    assert got.column("d").type == want.column("d").type
    for name in ("id", "t", "i", "d", "a", "b", "c"):
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def test_csv_times_are_sniffed_as_time(tmp_path):
    import duckdb

    import mapdb
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,e\n10:11:12,1,10:11,1:00\n23:59:59.5,2,00:00,xx\n,3,,\n")
    db = mapdb.connect(tmp_path / "db")
    db.ingest("t", str(path))
    want = duckdb.sql(f"SELECT * FROM read_csv('{path}')").arrow()
    want = want.read_all() if hasattr(want, "read_all") else want
    got = db.sql("SELECT * FROM t").to_arrow()
    assert [str(x) for x in got.schema.types] == ["time64[us]", "int64", "time64[us]",
                                                  "large_string"]
    assert [str(x) for x in want.schema.types][:3] == ["time64[us]", "int64", "time64[us]"]
    for name in "abc":
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def test_create_insert_select_as_duckdb(tmp_path):
    """CREATE TABLE with TIME, INTERVAL and DECIMAL(30/38) columns, INSERT of literals and
    text, and the values read back: as DuckDB stores and returns them."""
    import duckdb

    import mapdb
    stmts = ["CREATE TABLE t (a TIME, b INTERVAL, c DECIMAL(30,2), d DECIMAL(38,0))",
             "INSERT INTO t VALUES (TIME '10:00:01.5', INTERVAL '1 day 2 hours', 1.25, "
             "12345678901234567890123), ('23:59:59.999999', '-1 month', "
             "'-99999999999999999999999999.99', NULL), (NULL, NULL, NULL, NULL)"]
    db = mapdb.connect(tmp_path / "db")
    con = duckdb.connect()
    for s in stmts:
        db.sql(s)
        con.execute(s)
    sql = "SELECT a, b, c, d, CAST(a AS VARCHAR) x, CAST(b AS VARCHAR) y FROM t ORDER BY c"
    want = con.sql(sql).arrow()
    want = want.read_all() if hasattr(want, "read_all") else want
    got = db.sql(sql).to_arrow()
    assert got.schema.types[:4] == want.schema.types[:4]
    assert got.to_pylist() == want.to_pylist()
    assert [r[:2] for r in db.sql("DESCRIBE t").fetchall()] == \
        [r[:2] for r in con.sql("DESCRIBE t").fetchall()]


def test_parquet_durations_are_bigint_as_duckdb_reads_them(tmp_path):
    """pyarrow writes a duration to Parquet as an int64 (the Arrow type in metadata):
    DuckDB reads the BIGINT, and so do a query over the file and an ingest."""
    import duckdb
    import pyarrow.parquet as pq

    import mapdb
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"du": pa.array([1_000_000, None, -5000], pa.duration("us")),
                             "dms": pa.array([1, None, 2], pa.duration("ms"))}), path)
    db = mapdb.connect(tmp_path / "db")
    sql = f"SELECT * FROM '{path}'"
    want = duckdb.sql(sql).fetchall()
    assert db.sql(sql).fetchall() == want
    db.ingest("p", str(path))
    assert db.sql("SELECT * FROM p").fetchall() == want
    assert db.sql("SELECT * FROM p").to_arrow().schema.types == [pa.int64(), pa.int64()]
