"""DECIMAL(p, s) with 19 to 38 digits stored as Arrow's decimal128 (16 bytes a value,
read back without a copy), ingested from Parquet; DECIMAL(p <= 18) keeps its scaled int64
(narrowed) layout."""

from __future__ import annotations

import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mapdb.errors import SchemaError
from mapdb.storage.database import DatabaseStore
from mapdb.storage.types import ColumnType

from .test_zero_copy import _data_file, _mappings_of

D = decimal.Decimal
VALUES = pa.array([D("9" * 35 + ".999"), None, D("-" + "9" * 35 + ".999"), D("0"),
                   D("-0.001")], pa.decimal128(38, 3))


def test_types():
    assert ColumnType.decimal(38, 3).name == "decimal128(38,3)"
    assert ColumnType.decimal(18, 3).name == "decimal(18,3)"
    assert ColumnType.parse("DECIMAL(30,2)").arrow_type == pa.decimal128(30, 2)
    assert ColumnType.decimal(19, 0).byte_width == 16
    with pytest.raises(SchemaError):
        ColumnType.decimal(39, 0)


def test_round_trip_without_a_copy(db_path):
    db = DatabaseStore(db_path)
    small = pa.array([D("1234567890123456789012.345"), None, D("-1.5"), D("0"), None],
                     pa.decimal128(25, 3))
    t = pa.table({"w": VALUES, "v": small})
    w = db.create_writer("t", t.schema, None)
    w.write(t)
    w.commit()
    w.close()
    snap = db.snapshot("t")
    got = snap.to_arrow()
    assert got.schema.types == [pa.decimal128(38, 3), pa.decimal128(25, 3)]
    assert got.column("w").to_pylist() == VALUES.to_pylist()
    assert got.column("v").to_pylist() == t.column("v").to_pylist()
    addr = snap.column("w").chunk(0).buffers()[1].address
    maps = _mappings_of(_data_file(db, snap, "w"))
    assert any(lo <= addr < hi for lo, hi, _ in maps), "the column was copied"
    assert snap.verify() == []
    snap.close()


def test_parquet_ingest_and_query_as_duckdb(tmp_path):
    import duckdb

    import mapdb
    path = tmp_path / "d.parquet"
    t = pa.table({"id": pa.array(range(5)), "w": VALUES})
    pq.write_table(t, path)
    db = mapdb.connect(tmp_path / "db")
    db.ingest("t", str(path))
    sql = ("SELECT id, w, w + 1 AS a, w * 2 AS b, CAST(w AS VARCHAR) AS s FROM t "
           "WHERE id <> 0 AND id <> 2 ORDER BY id")
    want = duckdb.sql(sql.replace("FROM t", f"FROM '{path}'")).arrow()
    want = want.read_all() if hasattr(want, "read_all") else want
    for got in (db.sql(sql).to_arrow(),  # the stored table, and the file queried in place
                db.sql(sql.replace("FROM t", f"FROM '{path}'")).to_arrow()):
        assert got.schema.types[:4] == want.schema.types[:4]
        assert got.to_pylist() == want.to_pylist()
    agg = "SELECT sum(w) s, min(w) lo, max(w) hi, count(w) n FROM t"
    want = duckdb.sql(agg.replace("FROM t", f"FROM '{path}'")).fetchall()
    assert db.sql(agg).fetchall() == want
