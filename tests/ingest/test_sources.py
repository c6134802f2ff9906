"""expand_sources: files, globs, directories, formats, and their errors."""

import os
from pathlib import Path

import pytest

from mapdb.errors import MapdbError
from mapdb.ingest import KNOWN_EXTENSIONS, IngestError, Source, expand_sources


@pytest.mark.parametrize(
    ("name", "fmt", "delimiter", "compression"),
    [
        ("a.csv", "csv", None, None),
        ("a.CSV", "csv", None, None),
        ("a.tsv", "csv", None, None),
        ("a.csv.gz", "csv", None, "gzip"),
        ("a.tsv.gz", "csv", None, "gzip"),
        ("a.csv.zst", "csv", None, "zstd"),
        ("a.parquet", "parquet", None, None),
        ("a.pq", "parquet", None, None),
        ("a.arrow", "arrow", None, None),
        ("a.feather", "arrow", None, None),
        ("a.ipc", "arrow", None, None),
        ("a.arrows", "arrow", None, None),
        ("a.json", "ndjson", None, None),
        ("a.jsonl", "ndjson", None, None),
        ("a.ndjson", "ndjson", None, None),
        ("a.ndjson.gz", "ndjson", None, "gzip"),
        ("x.2024.csv", "csv", None, None),
    ],
)
def test_format_from_extension(write, name, fmt, delimiter, compression):
    path = write(name, "x")
    assert expand_sources([path], None) == [Source(path, fmt, delimiter, compression)]


def test_forced_format_overrides_the_extension(write):
    path = write("data.txt", "x")
    assert expand_sources([path], "csv") == [Source(path, "csv")]  # sniffed
    assert expand_sources([path], "tsv") == [Source(path, "csv", "\t")]
    assert expand_sources([path], "jsonl") == [Source(path, "ndjson")]
    # Compression still follows the suffix.
    gz = write("dump.gz", "x")
    assert expand_sources([gz], "csv") == [Source(gz, "csv", None, "gzip")]


def test_unknown_format_name(write):
    path = write("a.csv", "x")
    with pytest.raises(IngestError, match=r"unknown format 'xls'; known: csv, tsv"):
        expand_sources([path], "xls")


def test_unknown_extension_names_file_and_known_extensions(write):
    path = write("notes.txt", "x")
    with pytest.raises(IngestError) as info:
        expand_sources([path], None)
    err = info.value
    assert isinstance(err, MapdbError)
    assert err.file == str(path)
    assert err.line is None
    assert str(err).startswith(f"{path}: unknown file extension '.txt' (known: .csv, .tsv, ")
    assert str(err).endswith("; pass a format explicitly")
    for ext in (".parquet", ".arrows", ".ndjson", ".csv.gz"):
        assert ext in err.reason
    # Parquet is not whole-file compressed: .parquet.gz is not a known extension.
    assert ".parquet.gz" not in KNOWN_EXTENSIONS
    with pytest.raises(IngestError, match=r"unknown file extension '\.parquet\.gz'"):
        expand_sources([write("t.parquet.gz", "x")], None)


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(IngestError) as info:
        expand_sources([missing], None)
    assert str(info.value) == f"{missing}: no such file or directory"
    assert info.value.file == str(missing)


def test_glob_sorted_and_recursive(tmp_path, write):
    for name in ["b.csv", "a.csv", "c.tsv", "sub/d.csv", "sub/deeper/e.csv", "z.parquet"]:
        write(name, "x")
    got = expand_sources([str(tmp_path / "*.csv")], None)
    assert [s.path.name for s in got] == ["a.csv", "b.csv"]
    got = expand_sources([str(tmp_path / "**" / "*.csv")], None)
    assert [s.path.relative_to(tmp_path).as_posix() for s in got] == [
        "a.csv", "b.csv", "sub/d.csv", "sub/deeper/e.csv"]
    got = expand_sources([str(tmp_path / "[ab].csv"), str(tmp_path / "?.tsv")], None)
    assert [s.path.name for s in got] == ["a.csv", "b.csv", "c.tsv"]


def test_glob_without_matches(tmp_path):
    pattern = str(tmp_path / "*.csv")
    with pytest.raises(IngestError) as info:
        expand_sources([pattern], None)
    assert str(info.value) == f"{pattern}: glob pattern matched no files"


def test_literal_name_with_glob_characters(write):
    path = write("data[1].csv", "x")
    assert expand_sources([str(path)], None) == [Source(path, "csv")]


def test_directory_recursive_sorted_hidden_and_unknown_skipped(tmp_path, write):
    for name in ["b/2.csv", "b/10.csv", "a.parquet", "c.jsonl", ".hidden.csv",
                 ".git/x.csv", "b/.cache/y.csv", "README.md", "b/_SUCCESS"]:
        write(name, "x")
    got = expand_sources([tmp_path], None)
    assert [(s.path.relative_to(tmp_path).as_posix(), s.format) for s in got] == [
        ("a.parquet", "parquet"), ("b/10.csv", "csv"), ("b/2.csv", "csv"), ("c.jsonl", "ndjson")]


def test_directory_with_forced_format(tmp_path, write):
    write("a.csv", "x")
    write("b.txt", "x")
    # A directory still selects files by known extension; fmt only sets how they are read.
    assert expand_sources([tmp_path], "tsv") == [Source(tmp_path / "a.csv", "csv", "\t")]


def test_empty_directory(tmp_path, write):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError) as info:
        expand_sources([empty], None)
    assert info.value.file == str(empty)
    assert "directory contains no files with a known extension (.csv, .tsv," in str(info.value)
    write("other/readme.txt", "x")
    with pytest.raises(IngestError, match="no files with a known extension"):
        expand_sources([tmp_path / "other"], None)


def test_order_kept_and_duplicates_dropped(tmp_path, write):
    b = write("b.csv", "x")
    a = write("a.csv", "x")
    got = expand_sources([b, str(tmp_path / "*.csv"), a, Path(os.path.relpath(a))], None)
    assert [s.path for s in got] == [b, a]


def test_single_path_and_empty_list(write):
    path = write("a.csv", "x")
    assert expand_sources(str(path), None) == [Source(path, "csv")]
    with pytest.raises(IngestError, match="no input files given"):
        expand_sources([], None)


def test_source_validates():
    with pytest.raises(ValueError, match="unknown format"):
        Source(Path("a"), "xlsx")
    with pytest.raises(ValueError, match="delimiter"):
        Source(Path("a"), "parquet", ",")
    assert hash(Source(Path("a"), "csv", ",")) == hash(Source(Path("a"), "csv", ","))
