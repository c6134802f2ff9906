"""Parquet and Arrow IPC (file and stream): round trips, overrides, broken files."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from mapdb.ingest import IngestError, Source, open_source

from .conftest import read, read_error


@pytest.fixture
def table():
    n = 1000
    rng = np.random.default_rng(7)
    return pa.table({
        "id": pa.array(np.arange(n), pa.int64()),
        "x": pa.array(rng.random(n)),
        "s": pa.array([None if i % 7 == 0 else f"s{i}" for i in range(n)]),
        "d": pa.array(np.arange(n, dtype=np.int32), pa.int32()).cast(pa.date32()),
        "l": pa.array([[i, i + 1] for i in range(n)], pa.list_(pa.int16())),
    })


def test_parquet_round_trip_in_bounded_batches(tmp_path, table):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=300)
    with open_source(Source(path, "parquet"), batch_rows=128) as stream:
        assert stream.schema == table.schema
        assert stream.total_bytes == path.stat().st_size
        batches = list(stream)
        assert stream.bytes_read == stream.total_bytes
    assert all(b.num_rows <= 128 for b in batches)
    assert all(b.schema == stream.schema for b in batches)
    assert pa.Table.from_batches(batches).equals(table)


def test_parquet_from_pandas_keeps_one_schema(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"]}).to_parquet(path, index=False)
    with open_source(Source(path, "parquet")) as stream:
        assert stream.schema.metadata is not None  # pandas' metadata is kept
        batches = list(stream)
    assert all(b.schema.equals(stream.schema, check_metadata=True) for b in batches)
    assert pa.Table.from_batches(batches).to_pydict() == {"a": [1, 2, 3], "b": ["x", None, "z"]}


def test_parquet_overrides_cast_safely(tmp_path):
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({"a": [1, 2, 300], "b": ["1", "2", "x"]}), path)
    got = read(path, schema_overrides={"a": pa.int16(), "b": "string"})
    assert got.schema.types == [pa.int16(), pa.string()]
    assert got.column("a").to_pylist() == [1, 2, 300]
    err = read_error(path, schema_overrides={"a": "int8"})
    assert (err.file, err.line, err.column) == (str(path), None, "a")
    assert err.reason.startswith("row 2: cannot cast 300 from int64 to int8 (")
    err = read_error(path, schema_overrides={"b": "int64"})
    assert err.column == "b"
    assert err.reason.startswith("row 2: cannot cast 'x' from string to int64")
    err = read_error(path, schema_overrides={"c": "int64"})
    assert str(err) == (f"{path}: column 'c': schema override for unknown column; "
                        "the columns are 'a', 'b'")
    # A cast that does not exist is refused before reading any data.
    err = read_error(path, schema_overrides={"a": pa.list_(pa.int8())})
    assert err.column == "a"
    assert err.reason.startswith("schema override: cannot cast int64 to list<item: int8>")


def test_parquet_truncated_footer(tmp_path, table):
    good = tmp_path / "good.parquet"
    pq.write_table(table, good)
    bad = tmp_path / "truncated.parquet"
    bad.write_bytes(good.read_bytes()[:-100])
    err = read_error(bad)
    assert err.file == str(bad)
    assert str(err).startswith(f"{bad}: not a readable Parquet file (")


def test_parquet_bad_magic_and_not_parquet(tmp_path, table, write):
    good = tmp_path / "good.parquet"
    pq.write_table(table, good)
    data = good.read_bytes()
    bad = tmp_path / "magic.parquet"
    bad.write_bytes(data[:-4] + b"XXXX")
    assert read_error(bad).reason.startswith("not a readable Parquet file (Parquet magic")
    assert read_error(write("csv.parquet", "a,b\n1,2\n")).reason.startswith(
        "not a readable Parquet file")
    assert read_error(write("empty.parquet", b"")).reason.startswith(
        "not a readable Parquet file")


def test_parquet_corrupt_pages(tmp_path, table):
    good = tmp_path / "good.parquet"
    pq.write_table(table, good, compression="zstd", row_group_size=500)
    data = bytearray(good.read_bytes())
    # Scribble over the first page header (right after the leading magic); the footer,
    # which describes the file, stays intact.
    data[4:104] = b"\xff" * 100
    bad = tmp_path / "pages.parquet"
    bad.write_bytes(bytes(data))
    err = read_error(bad)
    assert err.file == str(bad)
    assert err.reason.startswith("corrupt Parquet data after row ")


@pytest.mark.parametrize("name", ["t.arrow", "t.feather", "t.ipc"])
def test_arrow_file_round_trip(tmp_path, table, name):
    path = tmp_path / name
    with pa.ipc.new_file(path, table.schema) as writer:
        writer.write_table(table, max_chunksize=300)
    with open_source(Source(path, "arrow"), batch_rows=256) as stream:
        assert stream.schema == table.schema
        batches = list(stream)
        assert stream.bytes_read == stream.total_bytes == path.stat().st_size
    assert [b.num_rows for b in batches] == [256, 44, 256, 44, 256, 44, 100]
    assert pa.Table.from_batches(batches).equals(table)


def test_feather_v2_with_compression(tmp_path, table):
    path = tmp_path / "c.feather"
    feather.write_feather(table, path, compression="zstd")
    assert read(path).equals(table)


@pytest.mark.parametrize("name", ["t.arrows", "stream-named.arrow"])
def test_arrow_stream_round_trip(tmp_path, table, name):
    path = tmp_path / name
    with pa.ipc.new_stream(path, table.schema) as writer:
        writer.write_table(table, max_chunksize=300)
    with open_source(Source(path, "arrow")) as stream:
        assert stream.schema == table.schema
        got = stream.read_all()
        assert stream.bytes_read == stream.total_bytes
    assert got.equals(table)


def test_arrow_overrides(tmp_path):
    path = tmp_path / "o.arrow"
    feather.write_feather(pa.table({"a": [1, 2], "b": [1.5, 2.0]}), path)
    got = read(path, schema_overrides={"a": "int32", "b": "float32"})
    assert got.schema.types == [pa.int32(), pa.float32()]
    err = read_error(path, schema_overrides={"b": "int64"})
    assert (err.column, err.reason.split(" (")[0]) == (
        "b", "row 0: cannot cast 1.5 from double to int64")


def test_arrow_bad_magic(tmp_path, table):
    good = tmp_path / "good.arrow"
    feather.write_feather(table, good, compression="uncompressed")
    data = good.read_bytes()
    bad = tmp_path / "bad.arrow"
    bad.write_bytes(b"XXXXXX" + data[6:])
    err = read_error(bad)
    assert str(err) == (f"{bad}: bad magic: an Arrow IPC file must start with 'ARROW1' "
                        "(the file is damaged)")
    garbage = tmp_path / "garbage.arrow"
    garbage.write_bytes(b"definitely not arrow" * 10)
    err = read_error(garbage)
    assert err.reason.startswith("not an Arrow IPC file or stream (as file: ")


def test_arrow_truncated_file_and_stream(tmp_path, table, write):
    good = tmp_path / "good.arrow"
    feather.write_feather(table, good, compression="uncompressed")
    data = good.read_bytes()
    bad = write("cut.arrow", data[: len(data) // 2])
    assert read_error(bad).reason.startswith(
        "truncated or corrupt Arrow IPC file (no valid footer) (as file: ")
    stream_path = tmp_path / "s.arrows"
    with pa.ipc.new_stream(stream_path, table.schema) as writer:
        writer.write_table(table, max_chunksize=100)
    data = stream_path.read_bytes()
    cut = write("cut.arrows", data[: len(data) * 3 // 4])
    with pytest.raises(IngestError) as info, open_source(Source(cut, "arrow")) as stream:
        for _ in stream:
            pass
    err = info.value
    assert err.file == str(cut)
    assert err.reason.startswith("truncated or corrupt Arrow IPC stream after row ")
    assert int(err.reason.split("after row ")[1].split()[0]) % 100 == 0
    assert stream.rows_read == int(err.reason.split("after row ")[1].split()[0])


def test_arrow_empty_file(write):
    path = write("e.arrow", b"")
    assert str(read_error(path)) == f"{path}: empty file, not an Arrow IPC file or stream"


def test_mapped_batches_outlive_the_stream(tmp_path, table):
    path = tmp_path / "m.arrow"
    feather.write_feather(table, path, compression="uncompressed")
    with open_source(Source(path, "arrow")) as stream:
        batches = list(stream)
    assert stream.closed
    assert pa.Table.from_batches(batches).equals(table)


def test_missing_binary_file(tmp_path):
    for fmt in ("parquet", "arrow"):
        path = tmp_path / f"nope.{fmt}"
        with pytest.raises(IngestError) as info:
            open_source(Source(path, fmt))
        assert str(info.value) == f"{path}: no such file or directory"
