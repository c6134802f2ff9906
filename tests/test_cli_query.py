"""CLI: ``mapdb query`` formats, SQL sources, -o, explain/analyze and one-line errors."""

import datetime
import decimal
import io
import json
import os
import pty
import subprocess
import sys

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main

SQL = "SELECT k, v, x FROM t ORDER BY v"
EXPECTED = [{"k": "a", "v": 1, "x": 1.5}, {"k": "b", "v": 2, "x": None},
            {"k": None, "v": 3, "x": -0.25}]


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def error_line(r) -> str:
    """The run failed with exit 1 and exactly one line on stderr, no traceback."""
    assert r.exit_code == 1, (r.exit_code, r.output)
    err = r.stderr
    assert "Traceback" not in err and "Traceback" not in r.stdout
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mapdb: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "db"
    d = mapdb.connect(path)
    d.create_table("t", {"k": ["a", "b", None], "v": [1, 2, 3], "x": [1.5, None, -0.25]})
    d.create_table("typed", pa.table({
        "d": pa.array([datetime.date(2024, 1, 2), None]),
        "ts": pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5, 6), None], pa.timestamp("us")),
        "m": pa.array([decimal.Decimal("-4.50"), decimal.Decimal("0.01")],
                      pa.decimal128(10, 2)),
        "s": ["pipe | and\nnewline", "ok"],
    }))
    return path


def test_table_is_aligned_and_shows_40_rows_by_default(db):
    d = mapdb.connect(db)
    d.create_table("many", {"n": list(range(50))})
    r = run("query", db, "SELECT n FROM many ORDER BY n")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == " n"
    assert lines[2] == " 0" and lines[-2] == "39" and lines[-1] == "(50 rows, first 40 shown)"
    r = run("query", db, "SELECT n FROM many WHERE n % 2 = 0", "--max-rows", "100")
    assert r.stdout.splitlines()[-2:] == ["48", "(25 rows)"]
    r = run("query", db, "SELECT n FROM many ORDER BY n", "--max-rows", "3")
    assert r.stdout.splitlines()[-1] == "(50 rows, first 3 shown)"
    assert len(r.stdout.splitlines()) == 2 + 3 + 1


def test_table_right_aligns_numbers_and_shows_null(db):
    r = run("query", db, SQL)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "k    | v |     x",
        "-----+---+------",
        "a    | 1 |   1.5",
        "b    | 2 |  NULL",
        "NULL | 3 | -0.25",
        "(3 rows)",
    ]


def test_csv_parses_back(db):
    r = run("query", db, SQL, "--format", "csv")
    assert r.exit_code == 0, r.output
    # null is an empty field, the empty string a quoted one
    t = pcsv.read_csv(io.BytesIO(r.stdout.encode()), convert_options=pcsv.ConvertOptions(
        strings_can_be_null=True, quoted_strings_can_be_null=False))
    assert t.to_pylist() == EXPECTED


def test_json_and_jsonl_parse_back(db):
    r = run("query", db, SQL, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == EXPECTED
    r = run("query", db, SQL, "--format", "jsonl")
    assert [json.loads(line) for line in r.stdout.splitlines()] == EXPECTED
    r = run("query", db, "SELECT k FROM t WHERE v > 10", "--format", "json")
    assert json.loads(r.stdout) == []


def test_json_serialises_dates_timestamps_decimals_exactly(db):
    r = run("query", db, "SELECT d, ts, m, s FROM typed", "--format", "jsonl")
    assert r.exit_code == 0, r.output
    assert [json.loads(line) for line in r.stdout.splitlines()] == [
        {"d": "2024-01-02", "ts": "2024-01-02T03:04:05.000006", "m": "-4.50",
         "s": "pipe | and\nnewline"},
        {"d": None, "ts": None, "m": "0.01", "s": "ok"}]


def test_markdown(db):
    r = run("query", db, SQL, "--format", "markdown")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "| k | v | x |", "| --- | ---: | ---: |",
        "| a | 1 | 1.5 |", "| b | 2 | NULL |", "| NULL | 3 | -0.25 |"]
    r = run("query", db, "SELECT s FROM typed", "--format", "markdown")
    assert r.stdout.splitlines()[2] == "| pipe \\| and<br>newline |"


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_binary_formats_to_file_and_to_a_pipe(db, tmp_path, fmt):
    out = tmp_path / f"r.{fmt}"
    r = run("query", db, SQL, "--format", fmt, "-o", out)
    assert r.exit_code == 0, r.output
    read = pq.read_table if fmt == "parquet" else (lambda p: pa.ipc.open_file(p).read_all())
    assert read(out).to_pylist() == EXPECTED
    p = subprocess.run([sys.executable, "-m", "mapdb.cli", "query", str(db), SQL,
                        "--format", fmt], capture_output=True, check=True)
    assert read(pa.BufferReader(p.stdout)).to_pylist() == EXPECTED


def test_binary_format_to_a_terminal_is_refused(db):
    leader, follower = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "mapdb.cli", "query", str(db), SQL,
                            "--format", "parquet"], stdout=follower, stderr=subprocess.PIPE,
                           text=True)
    finally:
        os.close(follower)
        os.close(leader)
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        "mapdb: error: refusing to write parquet (binary) to a terminal; "
        "use -o FILE or redirect stdout"]


def test_sql_from_file_and_stdin(db, tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("-- a comment\nSELECT k, v, x\nFROM t\nORDER BY v;\n")
    r = run("query", db, "-f", f, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == EXPECTED
    r = run("query", db, "-f", "-", "--format", "json", input=SQL)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == EXPECTED


def test_sql_argument_and_file_are_exclusive(db, tmp_path):
    f = tmp_path / "q.sql"
    f.write_text(SQL)
    assert "not both" in error_line(run("query", db, SQL, "-f", f))
    assert "no SQL" in error_line(run("query", db))
    assert "empty SQL" in error_line(run("query", db, "-f", "-", input="  \n"))
    assert "No such file" in error_line(run("query", db, "-f", tmp_path / "missing.sql"))


def test_output_file_is_written_atomically(db, tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    out.write_text("old")
    r = run("query", db, SQL, "--format", "json", "-o", out)
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert json.loads(out.read_text()) == EXPECTED
    assert sorted(os.listdir(tmp_path)) == ["r.json"]  # no temporary file left behind
    # a failing query leaves the old file in place and no temporary file
    r = run("query", db, "SELECT nope FROM t", "--format", "json", "-o", out)
    error_line(r)
    assert json.loads(out.read_text()) == EXPECTED
    # so does a failure half-way through writing
    import mapdb.cli.query as q

    def failing_write(table, fmt, out, max_rows):
        out.write("[partial")
        raise mapdb.errors.MapdbError("disk on fire")

    monkeypatch.setattr(q, "_write", failing_write)
    assert error_line(run("query", db, SQL, "--format", "json", "-o", out)) == \
        "mapdb: error: disk on fire"
    assert json.loads(out.read_text()) == EXPECTED
    assert sorted(os.listdir(tmp_path)) == ["r.json"]


def test_output_file_mode_follows_umask(db, tmp_path):
    out = tmp_path / "r.csv"
    old = os.umask(0o022)
    try:
        assert run("query", db, SQL, "--format", "csv", "-o", out).exit_code == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_explain_and_analyze(db):
    r = run("query", db, "SELECT k FROM t WHERE v > 1", "--explain")
    assert r.exit_code == 0, r.output
    assert "Scan t" in r.stdout and "rows" not in r.stdout
    r = run("query", db, "SELECT k FROM t WHERE v > 1", "--analyze")
    assert r.exit_code == 0, r.output
    assert "Scan t" in r.stdout and "rows 2" in r.stdout and "Total:" in r.stdout
    assert r.stdout.splitlines()[-1] == "(2 rows)"


def test_timing_goes_to_stderr(db):
    r = run("query", db, SQL, "--format", "json", "--timing")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == EXPECTED
    assert r.stderr.startswith("Time: ") and " ms" in r.stderr


def test_errors_are_one_line(db, tmp_path):
    assert "syntax error" in error_line(run("query", db, "SELECT FROM WHERE ("))
    assert 'table "nope" not found (line 1, column 15)' in error_line(
        run("query", db, "SELECT * FROM nope"))
    assert 'column "zz" not found' in error_line(run("query", db, "SELECT k,\n  zz FROM t"))
    assert "(line 2, column 3)" in error_line(run("query", db, "SELECT k,\n  zz FROM t"))
    assert "no mapdb database here" in error_line(
        run("query", tmp_path / "missing", "SELECT 1"))
    assert error_line(run("query", db, SQL, "-o", tmp_path / "no" / "r.txt")) == \
        f"mapdb: error: cannot write {tmp_path / 'no' / 'r.txt'}: No such file or directory"
    assert "--max-rows" in error_line(run("query", db, SQL, "--format", "csv",
                                          "--max-rows", "1"))


def test_errors_in_a_real_process_have_no_traceback(db, tmp_path):
    p = subprocess.run([sys.executable, "-m", "mapdb.cli", "query", str(db),
                        "SELECT * FROM t WHERE zz = 1"], capture_output=True, text=True)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [
        'mapdb: error: column "zz" not found; columns are: k, v, x (line 1, column 23)']
    p = subprocess.run([sys.executable, "-m", "mapdb.cli", "query", str(tmp_path / "no"),
                        "SELECT 1"], capture_output=True, text=True)
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1
    assert "Traceback" not in p.stderr


@pytest.fixture(scope="module")
def bigdb(tmp_path_factory):
    from mapdb.query.source import MORSEL_ROWS
    path = tmp_path_factory.mktemp("big") / "db"
    n = 8 * MORSEL_ROWS  # 8 morsels, several output batches
    mapdb.connect(path).create_table("big", pa.table({
        "i": pa.array(range(n), pa.int64()),
        "s": pa.array([f"s{i % 97}" for i in range(n)])}), dictionary=None)
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet", "arrow"])
def test_large_outputs_are_written_batch_by_batch_and_whole(bigdb, tmp_path, fmt):
    sql = "SELECT i, s FROM big WHERE i % 3 <> 1"
    want = mapdb.connect(bigdb, readonly=True).sql(sql).to_arrow()
    out = tmp_path / f"r.{fmt}"
    r = run("query", bigdb, sql, "--format", fmt, "-o", out)
    assert r.exit_code == 0, r.output
    if fmt == "csv":
        got = pcsv.read_csv(out)
    elif fmt == "parquet":
        got = pq.read_table(out)
        assert got.num_rows > 122_880  # several row groups (one per batch)
        assert pq.ParquetFile(out).metadata.num_row_groups > 1
    elif fmt == "arrow":
        got = pa.ipc.open_file(out).read_all()
    else:
        text = out.read_text()
        rows = json.loads(text) if fmt == "json" else [json.loads(x) for x in
                                                       text.splitlines()]
        got = pa.Table.from_pylist(rows)
    assert got.num_rows == want.num_rows
    assert got.column("i").to_pylist() == want.column("i").to_pylist()
    assert got.column("s").to_pylist() == want.column("s").to_pylist()


def test_output_starts_before_the_scan_ends(bigdb, monkeypatch):
    """The writer gets its first batch while most morsels are still unread."""
    import mapdb.cli.query as q
    from mapdb.query.source import TableSource
    reads, at_first_batch = [], []
    orig_arrays = TableSource.arrays

    def arrays(self, m, columns):
        reads.append(m)
        return orig_arrays(self, m, columns)

    def write(batches, fmt, out, max_rows):
        first = batches.read_next_batch()
        at_first_batch.append(len(reads))
        out.write(f"{first.num_rows}\n")
        for _ in batches:
            pass

    monkeypatch.setattr(TableSource, "arrays", arrays)
    monkeypatch.setattr(q, "_write", write)
    r = run("query", bigdb, "SELECT i, s FROM big WHERE i >= 0", "--format", "csv")
    assert r.exit_code == 0, r.output
    assert at_first_batch and at_first_batch[0] < 8 and len(reads) == 8
