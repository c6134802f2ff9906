"""The Python API over storage and ingest: connect, tables, append, zero-copy views."""

import os

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import LockedError, NotFoundError, ReadOnlyError, StorageError


@pytest.fixture
def db(tmp_path):
    return mapdb.connect(tmp_path / "db")


def test_create_append_and_read_back(db):
    t = db.create_table("t", {"x": [1, 2, 3], "s": ["a", None, "c"]})
    assert len(t) == 3 and t.columns == ["x", "s"]
    t.append(pa.table({"x": [4], "s": ["d"]}))
    assert len(t) == 4
    assert t.to_arrow().column("x").to_pylist() == [1, 2, 3, 4]
    assert t.to_arrow().column("s").to_pylist() == ["a", None, "c", "d"]
    assert db.tables() == ["t"] and "t" in db and db["t"].version == t.version


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow_reader", "batch", "capsule"])
def test_append_accepts_arrow_capable_objects(db, kind):
    base = pa.table({"a": pa.array([1, 2], pa.int64()), "b": [0.5, None]})
    data = {
        "pandas": lambda: base.to_pandas(),
        "polars": lambda: pl.from_arrow(base),
        "arrow_reader": lambda: pa.RecordBatchReader.from_batches(base.schema,
                                                                  base.to_batches()),
        "batch": lambda: base.to_batches()[0],
        "capsule": lambda: _Capsule(base),
    }[kind]()
    t = db.create_table("t", data)
    assert t.to_arrow().equals(base)


class _Capsule:
    def __init__(self, t):
        self.t = t

    def __arrow_c_stream__(self, requested_schema=None):
        return self.t.__arrow_c_stream__(requested_schema)


def test_column_to_numpy_is_a_view_of_the_mapped_file(db):
    t = db.create_table("t", {"x": np.arange(100_000, dtype=np.int64)})
    arr = t.column("x").to_numpy()
    assert not arr.flags.writeable and arr.sum() == 100_000 * 99_999 // 2
    addr = arr.__array_interface__["data"][0]
    with open("/proc/self/maps") as f:
        maps = [line.split() for line in f]
    hits = [m for m in maps if len(m) >= 6 and m[5].endswith(".data")
            and int(m[0].split("-")[0], 16) <= addr < int(m[0].split("-")[1], 16)]
    assert hits and os.path.realpath(db.path) in hits[0][5]


def test_arrow_c_stream_feeds_polars_and_duckdb(db):
    import duckdb
    t = db.create_table("t", {"k": ["a", "b", "a"], "v": [1, 2, 3]})
    assert pl.from_arrow(pa.table(t)).shape == (3, 2)
    rel = duckdb.sql("SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k")
    assert rel.fetchall() == [("a", 4), ("b", 2)]
    assert pa.RecordBatchReader.from_stream(t).read_all().num_rows == 3


def test_modes_and_errors(db):
    db.create_table("t", {"x": [1]})
    with pytest.raises(StorageError, match="already exists"):
        db.create_table("t", {"x": [2]})
    t = db.create_table("t", {"y": ["new"]}, mode="replace")
    assert t.columns == ["y"] and len(t) == 1
    t = db.create_table("t", {"y": ["more"]}, mode="append")
    assert t.to_arrow().column("y").to_pylist() == ["new", "more"]
    with pytest.raises(mapdb.MapdbError, match="columns do not match"):
        t.append({"z": [1]})
    with pytest.raises(NotFoundError, match="no table 'nope'"):
        db.table("nope")
    with pytest.raises(NotFoundError, match="no column 'q'"):
        t.column("q")
    db.drop_table("t")
    assert db.tables() == []


def test_snapshot_isolation_and_refresh(db):
    t = db.create_table("t", {"x": [1, 2]})
    other = mapdb.connect(db.path, readonly=True).table("t")
    t.append({"x": [3]})
    assert len(other) == 2 and other.to_arrow().column("x").to_pylist() == [1, 2]
    assert len(other.refresh()) == 3


def test_readonly_connection_never_writes(db, tmp_path):
    db.create_table("t", {"x": [1]})
    ro = mapdb.connect(db.path, readonly=True)
    with pytest.raises(ReadOnlyError):
        ro.create_table("u", {"x": [1]})
    with pytest.raises(ReadOnlyError):
        ro.table("t").append({"x": [2]})
    with pytest.raises(NotFoundError):
        mapdb.connect(tmp_path / "missing", readonly=True)
    assert not (tmp_path / "missing").exists()


def test_refuses_a_non_empty_foreign_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("keep")
    with pytest.raises(StorageError, match="not a mapdb database"):
        mapdb.connect(tmp_path)


def test_second_writer_is_told_who_holds_the_lock(db):
    db.create_table("t", {"x": [1]})
    w = db._store.writer("t")
    try:
        with pytest.raises(LockedError, match=f"locked by pid {os.getpid()}"):
            db.table("t").append({"x": [2]})
    finally:
        w.close()
    db.table("t").append({"x": [2]})


def test_job_id_makes_reruns_no_ops(db):
    db.create_table("t", {"x": [1]}, job_id="job-1")
    db.create_table("t", {"x": [1]}, mode="append", job_id="job-1")
    assert len(db.table("t")) == 1


def test_pandas_roundtrip_with_nulls(db):
    df = pd.DataFrame({"i": pd.array([1, None, 3], dtype="Int64"), "f": [0.5, np.nan, 1.5],
                       "s": ["x", None, "z"]})
    t = db.create_table("t", df, dictionary=None)
    back = t.to_arrow().to_pandas()
    assert back["i"].isna().tolist() == [False, True, False]
    assert back["s"].tolist()[0] == "x" and back["s"].isna().tolist() == [False, True, False]


def test_repr_names_the_table(db):
    t = db.create_table("t", {"x": [1]})
    assert "t" in repr(t) and "1 rows" in repr(t) and "x: int64" in repr(t)


def test_table_to_pandas_and_to_polars(db):
    """``Table.to_pandas()`` / ``to_polars()`` as Result and LazyFrame have them: this
    version's rows (or the columns asked for), nulls kept."""
    t = db.create_table("t", {"x": [1, None, 3], "s": ["a", "b", None]}, dictionary=None)
    df = t.to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["x", "s"]
    assert df["x"].isna().tolist() == [False, True, False]
    assert df["s"].tolist()[:2] == ["a", "b"]
    pf = t.to_polars()
    assert isinstance(pf, pl.DataFrame)
    assert pf.to_dict(as_series=False) == {"x": [1, None, 3], "s": ["a", "b", None]}
    assert t.to_polars(["s"]).columns == ["s"] and list(t.to_pandas(["x"]).columns) == ["x"]
    t.append({"x": [4], "s": ["d"]})
    assert len(t.to_pandas()) == len(t.to_polars()) == 4
