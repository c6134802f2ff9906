"""NDJSON: chunked reading, inference, overrides, and errors at the right line."""

import datetime as dt
import gzip
import json

import pyarrow as pa
import pytest

from mapdb.ingest import IngestError, Source, open_source

from .conftest import read, read_error


def lines(n: int, start: int = 0) -> str:
    return "".join(json.dumps({"id": i, "name": f"n{i}", "score": i / 2, "ok": i % 2 == 0})
                   + "\n" for i in range(start, start + n))


def test_inference_and_values(write):
    path = write("a.jsonl",
                 '{"i": 1, "f": 1.5, "s": "x", "b": true, "ts": "2024-01-02T10:30:00",'
                 ' "n": null, "st": {"k": 1, "z": null}, "l": [1, 2]}\n'
                 '{"i": null, "f": 2, "s": null, "b": false, "ts": null, "n": null}\n')
    table = read(path)
    assert table.schema == pa.schema([
        ("i", pa.int64()), ("f", pa.float64()), ("s", pa.string()), ("b", pa.bool_()),
        ("ts", pa.timestamp("us")), ("n", pa.string()),
        ("st", pa.struct([("k", pa.int64()), ("z", pa.string())])),
        ("l", pa.list_(pa.int64()))])
    assert table.to_pylist()[1] == {"i": None, "f": 2.0, "s": None, "b": False, "ts": None,
                                    "n": None, "st": None, "l": None}
    assert table.column("ts")[0].as_py() == dt.datetime(2024, 1, 2, 10, 30)


def test_chunked_reading_keeps_every_line(write):
    path = write("big.ndjson", lines(20_000))
    with open_source(Source(path, "ndjson"), block_size=4096, batch_rows=1000) as stream:
        assert stream.total_bytes == path.stat().st_size
        batches = list(stream)
        assert stream.bytes_read == stream.total_bytes
    assert all(b.num_rows <= 1000 and b.schema == stream.schema for b in batches)
    table = pa.Table.from_batches(batches)
    assert table.column("id").to_pylist() == list(range(20_000))
    assert table.column("score").to_pylist()[-1] == 19_999 / 2


def test_no_trailing_newline_and_compression(write):
    text = lines(3).rstrip("\n")
    assert read(write("a.jsonl", text)).num_rows == 3
    assert read(write("a.json.gz", gzip.compress(lines(500).encode())),
                block_size=1024).num_rows == 500


@pytest.mark.parametrize(
    ("bad", "column", "reason"),
    [
        ('{"id": 1, "name": 5, "score": 1.0, "ok": true}', "name",
         "value changed from string to number (type string inferred from lines 1-"),
        ('{"id": 1.5, "name": "x", "score": 1.0, "ok": true}', "id",
         "cannot parse '1.5' as int64 (type int64 inferred from lines 1-"),
        ('{"id": 1, "name": "x", "score": 1.0, "ok": true, "extra": 1}', "extra",
         "field not in the schema inferred from lines 1-"),
        ('{"id": 1, "name": "x", "score": 1.0, "ok": tru}', None, "invalid JSON: "),
        ('{"id": 1, "name": "x", "score": 1.0, "ok": true', None, "invalid JSON: "),
    ],
)
def test_bad_line_deep_in_the_file(write, bad, column, reason):
    # Blank lines before the bad one: editors count them, pyarrow's row numbers do not.
    text = lines(5000) + "\n\n" + lines(3000, 5000) + bad + "\n" + lines(10)
    bad_line = 5000 + 2 + 3000 + 1
    path = write("deep.jsonl", text)
    err = read_error(path, block_size=8192)
    assert (err.file, err.line, err.column) == (str(path), bad_line, column)
    assert err.reason.startswith(reason), err.reason
    if column == "extra":
        assert err.reason.endswith("declare it with --schema extra=TYPE")


def test_invalid_utf8_deep_in_the_file(write):
    path = write("u.jsonl", lines(3000).encode() + b'{"id": 1, "name": "caf\xe9"}\n')
    err = read_error(path, block_size=4096)
    assert (err.line, err.column) == (3001, "name")
    assert err.reason == "invalid UTF-8 in a text value; convert the file to UTF-8"


def test_overrides_fix_drift_and_declare_new_fields(write):
    path = write("o.jsonl", lines(2000) + '{"id": 2.5, "extra": "e"}\n')
    table = read(path, block_size=4096, schema_overrides={"id": "float64", "extra": "string"})
    assert table.schema.field("id").type == pa.float64()
    assert table.column("id").to_pylist()[-1] == 2.5
    assert table.column("extra").to_pylist()[-2:] == [None, "e"]
    err = read_error(path, block_size=4096, schema_overrides={"id": "int8"})
    assert err.column == "id"
    assert err.reason.endswith("(type given by the schema override)")


def test_json_array_empty_and_long_lines(write):
    path = write("arr.json", '\n [{"a": 1}]\n')
    assert str(read_error(path)) == (f"{path}:2: a JSON array; expected one JSON object per "
                                     "line (NDJSON)")
    assert read_error(write("e.jsonl", "")).reason == "empty file, no JSON objects"
    assert read_error(write("b.jsonl", "\n \n")).reason == "empty file, no JSON objects"
    long = '{"id": 99, "name": "' + "x" * 5000 + '"}\n'
    path = write("long.jsonl", lines(10) + long + lines(10))
    assert read(path, block_size=1024, max_field_bytes=8192).num_rows == 21
    err = read_error(path, block_size=1024, max_field_bytes=4096)
    assert err.line == 11
    assert err.reason == "line longer than max_field_bytes=4096 bytes"


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match="no such file or directory"):
        open_source(Source(tmp_path / "x.jsonl", "ndjson"))


def test_truncated_compressed_file(write):
    data = gzip.compress(lines(50_000).encode())
    path = write("cut.jsonl.gz", data[: len(data) // 2])
    err = read_error(path, block_size=4096)
    assert err.reason.startswith("read error after line ")
