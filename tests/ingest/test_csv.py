"""CSV/TSV: inference, NULLs, overrides, and errors that carry file:line and column."""

import datetime as dt
import gzip
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from mapdb.ingest import IngestError, Source, open_source

from .conftest import read, read_error

MIXED = (
    "id,price,name,flag,day,ts,t\n"
    "1,1.5,alpha,true,2024-01-02,2024-01-02 10:30:00,10:30:00\n"
    ",,,,,,\n"
    "3,-2.25,\"gamma, with comma\",False,2024-03-04,2024-03-04T11:00:00,23:59:59\n"
    "4,,delta,TRUE,,,\n"
    "NA,NaN,NULL,NA,NA,NA,NA\n"
)


def test_inference_matches_pandas(write):
    path = write("mixed.csv", MIXED)
    table = read(path)
    assert table.schema == pa.schema([
        ("id", pa.int64()), ("price", pa.float64()), ("name", pa.string()),
        ("flag", pa.bool_()), ("day", pa.date32()), ("ts", pa.timestamp("us")),
        ("t", pa.time64("us"))])
    # pandas with Arrow dtypes: the same types for int/float/string/bool columns and NULL
    # for every empty field (including the string column).
    expected = pd.read_csv(path, dtype_backend="pyarrow")
    cols = ["id", "price", "name", "flag"]
    assert table.select(cols).equals(
        pa.Table.from_pandas(expected[cols], preserve_index=False).replace_schema_metadata())
    # pandas' default (numpy) reading: same values, NaN where we have NULL.
    plain = pd.read_csv(path)
    np.testing.assert_array_equal(
        table.column("price").to_numpy(zero_copy_only=False), plain["price"].to_numpy())
    assert table.column("id").to_pylist() == [1, None, 3, 4, None]
    assert table.column("name").to_pylist() == ["alpha", None, "gamma, with comma", "delta",
                                                None]
    assert table.column("day").to_pylist() == [dt.date(2024, 1, 2), None, dt.date(2024, 3, 4),
                                               None, None]
    assert table.column("ts").to_pylist() == [dt.datetime(2024, 1, 2, 10, 30), None,
                                              dt.datetime(2024, 3, 4, 11, 0), None, None]
    # Times are TIME, as DuckDB's sniffer reads them (pandas keeps them as strings; DuckDB
    # too here, for the 'NA' it does not read as NULL: tests/ingest/test_sniff.py)
    assert table.column("t").to_pylist() == [dt.time(10, 30), None, dt.time(23, 59, 59), None,
                                             None]
    assert pa.array(expected["t"]).to_pylist() == [  # (pandas: the same times, as text)
        None if v is None else v.isoformat() for v in table.column("t").to_pylist()]


def test_null_tokens_unless_quoted(write):
    path = write("q.csv", 'a,b,n\n"",NA,1\n,NULL,NA\nx,"NA",3\nnan,None,\n')
    table = read(path)
    assert table.schema.types == [pa.string(), pa.string(), pa.int64()]
    assert table.to_pydict() == {"a": ["", None, "x", None], "b": [None, None, "NA", None],
                                 "n": [1, None, 3, None]}
    # DuckDB's rule: only the empty field is NULL.
    table = read(path, null_values=[""])
    assert table.to_pydict() == {"a": ["", None, "x", "nan"], "b": ["NA", "NULL", "NA", "None"],
                                 "n": ["1", "NA", "3", None]}


def test_column_empty_in_sample_is_text_and_timestamps_get_microseconds(write):
    path = write("late.csv", "a,ts,n\n" + "1,2024-01-01 00:00:00,\n" * 5 +
                 "2,2024-01-01 00:00:00.25,later\n")
    table = read(path, block_size=64)  # the sample is the first ~64 bytes
    assert table.schema.types == [pa.int64(), pa.timestamp("us"), pa.string()]
    assert table.column("ts")[5].as_py() == dt.datetime(2024, 1, 1, 0, 0, 0, 250000)
    assert table.column("n").to_pylist() == [None] * 5 + ["later"]


def test_timezone_aware_timestamps(write):
    table = read(write("tz.csv", "ts\n2024-01-01T10:00:00Z\n2024-01-01T12:00:00+02:00\n"))
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert [v.hour for v in table.column("ts").to_pylist()] == [10, 10]


def test_overrides(write):
    path = write("o.csv", "id,code,score\n1,007,1\n2,042,2\n")
    table = read(path, schema_overrides={"id": pa.int32(), "code": "string",
                                         "score": "float64"})
    assert table.schema.types == [pa.int32(), pa.string(), pa.float64()]
    assert table.to_pydict() == {"id": [1, 2], "code": ["007", "042"], "score": [1.0, 2.0]}


def test_override_of_unknown_column(write):
    path = write("o.csv", "id,code\n1,2\n")
    err = read_error(path, schema_overrides={"cod": pa.string()})
    assert str(err) == (f"{path}: column 'cod': schema override for unknown column; "
                        "the columns are 'id', 'code'")


def test_override_with_bad_type_name(write):
    path = write("o.csv", "id\n1\n")
    err = read_error(path, schema_overrides={"id": "int65"})
    assert err.column == "id"
    assert err.reason == "schema override: unknown type 'int65'"


def test_override_value_that_does_not_parse(write):
    path = write("o.csv", "id,x\n1,a\n2,5 min\n")
    err = read_error(path, schema_overrides={"x": "int64"})
    assert str(err) == (f"{path}:2: column 'x': cannot parse 'a' as int64 "
                        "(type given by the schema override)")


def test_tsv_and_compressed(write):
    raw = "a\tb\n1\thello, world\n2\t\n"
    assert read(write("t.tsv", raw)).to_pydict() == {"a": [1, 2], "b": ["hello, world", None]}
    assert read(write("t.tsv.gz", gzip.compress(raw.encode()))).to_pydict() == \
        {"a": [1, 2], "b": ["hello, world", None]}
    # A gzip file without the .gz suffix is recognised by its magic bytes.
    assert read(write("plain.tsv", gzip.compress(raw.encode()))).num_rows == 2


def test_header_only(write):
    for content in ["a,b\n", "a,b"]:
        table = read(write("h.csv", content))
        assert table.schema == pa.schema([("a", pa.string()), ("b", pa.string())])
        assert table.num_rows == 0


def test_empty_file(write):
    path = write("e.csv", "")
    err = read_error(path)
    assert str(err) == f"{path}: empty file, no header"
    assert read_error(write("blank.csv", "\n\n\n")).reason == "empty file, no header"
    assert read_error(write("e.csv.gz", gzip.compress(b""))).reason == "empty file, no header"


def test_duplicate_and_empty_header_names_are_named_as_duckdb_names_them(write):
    # (tests/ingest/test_sniff.py compares these with duckdb.read_csv)
    path = write("d.csv", "a,b,a,c,B\n1,2,3,4,5\n")
    assert read(path).column_names == ["a", "b", "a_1", "c", "B_1"]
    path = write("e.csv", "\n\na, ,c\n1,2,3\n")
    assert read(path).column_names == ["a", "column1", "c"]


def test_byte_order_marks(write):
    table = read(write("bom.csv", b"\xef\xbb\xbfa,b\n1,2\n"))
    assert table.column_names == ["a", "b"]
    path = write("u16.csv", "a,b\n1,2\n".encode("utf-16"))
    assert str(read_error(path)) == (f"{path}:1: file is UTF-16 encoded (byte-order mark); "
                                     "convert it to UTF-8")


def test_nul_bytes_are_data(write):
    table = read(write("nul.csv", b"a,b\n1,x\x00y\n2,\x00\n"))
    assert table.column("b").to_pylist() == ["x\x00y", "\x00"]


def test_invalid_utf8_is_an_error_with_line(write):
    content = b"a,b\n" + b"1,ok\n" * 10 + b"2,caf\xe9\n" + b"3,ok\n"
    path = write("latin1.csv", content)
    err = read_error(path)
    assert (err.line, err.column) == (12, "b")
    assert err.reason.startswith("invalid UTF-8 in a text value")
    assert "--schema b=binary" in err.reason
    # Deep in the file (a later chunk, where the column is already typed string).
    path = write("late.csv", b"a,b\n" + b"1,ok\n" * 5000 + b"2,caf\xe9\n")
    err = read_error(path, block_size=1024)
    assert (err.line, err.column) == (5002, "b")
    # Overriding the column as binary keeps the bytes.
    table = read(path, schema_overrides={"b": pa.binary()})
    assert table.column("b")[5000].as_py() == b"caf\xe9"


def test_ragged_rows(write):
    rows = ["a,b,c"] + [f"{i},x,{i}.5" for i in range(1, 30)]
    rows[10] = "10,x"  # line 11
    path = write("r.csv", "\n".join(rows) + "\n")
    err = read_error(path)
    assert str(err) == f"{path}:11: expected 3 fields (as in the header), got 2: '10,x'"
    rows[10] = "10,x,1,2"
    err = read_error(write("r.csv", "\n".join(rows) + "\n"))
    assert (err.line, err.column) == (11, None)
    assert err.reason == "expected 3 fields (as in the header), got 4: '10,x,1,2'"


def test_line_counts_blank_lines_quoted_newlines_and_crlf(write):
    text = 'a,b\r\n1,"two\r\nlines"\r\n\r\n2,x\r\n3,"say ""hi"""\r\n4\r\n5,y\r\n'
    err = read_error(write("crlf.csv", text))
    assert err.line == 7  # the quoted newline and the blank line count
    err = read_error(write("cr.csv", text.replace("\r\n", "\r")))
    assert err.line == 7
    table = read(write("ok.csv", text.replace("4\r\n", "4,z\r\n")))
    assert table.column("b").to_pylist() == ["two\r\nlines", "x", 'say "hi"', "z", "y"]


def test_bad_value_deep_in_the_file_beyond_the_first_block(tmp_path):
    # ~23 MB, more than the 16 MiB default block: the value is in the second chunk, which
    # is parsed with the types inferred from the first.
    n = 900_000
    bad_line = 854_321  # 1-based line in a text editor (line 1 is the header)
    ids = np.arange(n)
    dep_time = (ids % 2400).astype(str).astype(object)
    dep_time[bad_line - 2] = "abc"
    table = pa.table({"id": ids, "dep_time": pa.array(dep_time, pa.string()),
                      "carrier": pa.array(np.array(["AA", "UA", "DL"])[ids % 3]),
                      "day": pa.array(ids % 20_000, pa.int32()).cast(pa.date32())})
    path = tmp_path / "flights.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    newlines = np.flatnonzero(np.frombuffer(path.read_bytes(), np.uint8) == ord("\n"))
    assert newlines[bad_line - 2] + 1 > 16 << 20  # the bad line starts after the first block
    with pytest.raises(IngestError) as info, open_source(Source(path, "csv", ",")) as stream:
        assert stream.schema.field("dep_time").type == pa.int64()
        for _ in stream:
            pass
    err = info.value
    assert (err.file, err.line, err.column) == (str(path), bad_line, "dep_time")
    assert str(err) == (f"{path}:{bad_line}: column 'dep_time': cannot parse 'abc' as int64 "
                        "(type inferred from the first 16 MiB; override with "
                        "--schema dep_time=TYPE)")
    assert stream.closed  # a failed stream closes itself


def test_ragged_row_deep_in_the_file_with_small_blocks(write):
    rows = ["a,b"] + [f'{i},"v{i}"' for i in range(1, 20_001)]
    rows[17_000] = "17000"
    path = write("deep.csv", "\n".join(rows) + "\n")
    err = read_error(path, block_size=4096)
    assert (err.line, err.reason) == (17_001, "expected 2 fields (as in the header), got 1: "
                                              "'17000'")


def test_type_drift_suggests_an_override_that_fixes_it(write):
    path = write("drift.csv", "x,y\n" + "1,a\n" * 1000 + "2.5,b\n")
    err = read_error(path, block_size=1024)
    assert str(err) == (f"{path}:1002: column 'x': cannot parse '2.5' as int64 (type inferred "
                        "from the first 1 KiB; override with --schema x=TYPE)")
    table = read(path, block_size=1024, schema_overrides={"x": "float64"})
    assert table.column("x").to_pylist()[-2:] == [1.0, 2.5]


def test_rows_spanning_blocks_and_max_field_bytes(write):
    big = "x" * 200_000
    content = f'a,b\n1,short\n2,"{big}"\n3,"multi\nline"\n'
    path = write("big.csv", content)
    table = read(path, block_size=1 << 16, max_field_bytes=1 << 20)
    assert table.column("b").to_pylist() == ["short", big, "multi\nline"]
    err = read_error(path, block_size=1 << 16, max_field_bytes=100_000)
    assert err.line == 3
    assert err.reason.startswith("record larger than max_field_bytes=100000 bytes")


def test_unbalanced_quote_is_reported_where_it_starts(write):
    rows = ["a,b"] + [f"{i},v" for i in range(1, 5001)]
    rows[4000] = '4000,"oops'
    path = write("q.csv", "\n".join(rows) + "\n")
    # The quoted field would swallow the ~7 KB to the end of the file.
    err = read_error(path, block_size=1024, max_field_bytes=4096)
    assert err.line == 4001
    assert err.reason.startswith("record larger than max_field_bytes=4096 bytes (a huge "
                                 "field, or an unbalanced quote that runs on from here)")
    # Within the limit it reaches the end of the file still open: an error too, rather
    # than a last value made of 1000 lines (which is what pyarrow alone returns).
    err = read_error(path, block_size=1024, max_field_bytes=1 << 20)
    assert str(err) == f"{path}:4001: unterminated quoted field (it runs to the end of the file)"


def test_batches_schema_and_progress(write):
    path = write("n.csv", "a,b\n" + "".join(f"{i},{i}\n" for i in range(10_000)))
    size = path.stat().st_size
    with open_source(Source(path, "csv", ","), batch_rows=3000, block_size=8192) as stream:
        assert stream.total_bytes == size
        assert stream.bytes_read > 0  # the sample is read to know the schema
        sizes = []
        for batch in stream:
            assert batch.schema == stream.schema
            assert 0 < stream.bytes_read <= size
            sizes.append(batch.num_rows)
        assert max(sizes) <= 3000
        assert sum(sizes) == stream.rows_read == 10_000
        assert stream.bytes_read == size


def test_close_early_and_iteration_after_close(write):
    path = write("n.csv", "a\n" + "1\n" * 100_000)
    stream = open_source(Source(path, "csv", ","), block_size=4096)
    next(stream)
    stream.close()
    assert stream.closed
    with pytest.raises(ValueError, match="closed"):
        next(stream)
    stream.close()  # idempotent
    with open_source(Source(path, "csv", ",")) as stream:
        assert len(stream.read_all()) == 100_000
    assert list(stream) == []  # exhausted stays exhausted


def test_round_trip_of_pyarrow_written_csv_with_nulls_and_empty_strings(write):
    table = pa.table({
        "i": pa.array([1, None, -3, 2**62], pa.int64()),
        "f": pa.array([0.1, 1e-300, None, -2.5], pa.float64()),
        "s": pa.array(["a", "", None, 'q"z\nw, x'], pa.string()),
    })
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    path = write("rt.csv", buf.getvalue())
    assert read(path).equals(table)


def test_truncated_compressed_file(write):
    rows = "".join(f"{i},{(i * 7919) % 1000003:x}\n" for i in range(100_000))
    data = gzip.compress(("a,b\n" + rows).encode())
    path = write("cut.csv.gz", data[: len(data) // 2])
    err = read_error(path, block_size=4096)
    assert err.file == str(path)
    assert err.reason.startswith("read error after line ")
    assert "is the file truncated or corrupt?" in err.reason


def test_directory_given_as_a_file(tmp_path):
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(IngestError, match=r"dir\.csv: cannot open: "):
        open_source(Source(d, "csv", ","))
