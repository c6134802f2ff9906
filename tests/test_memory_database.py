"""``mapdb.connect()`` / ``":memory:"``: a scratch database of its own (as DuckDB's and
sqlite3's), in a temporary directory removed with the Database, never a directory named
":memory:" in the current one."""

import gc
import glob
import os
import subprocess
import sys

import pyarrow as pa
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main


def _scratch_dirs() -> set[str]:
    import tempfile
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "mapdb-memory-*")))


def test_default_and_memory_are_scratch_databases(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = _scratch_dirs()
    a, b = mapdb.connect(), mapdb.connect(":memory:")
    a.create_table("t", {"x": [1, 2, 3]})
    assert a.sql("SELECT sum(x) AS s FROM t").to_arrow().to_pydict() == {"s": [6]}
    assert b.tables() == []  # each its own
    assert a.durability == "none"  # nothing to keep across a crash
    assert len(_scratch_dirs() - before) == 2
    del a, b
    gc.collect()
    assert _scratch_dirs() - before == set()
    assert os.listdir(tmp_path) == []  # no ":memory:" directory here


def test_memory_database_takes_statements_and_durability():
    db = mapdb.connect(":memory:", durability="os")
    assert db.durability == "os"
    db.sql("CREATE TABLE t (k VARCHAR, v INTEGER)")
    db.sql("INSERT INTO t VALUES ('a', 1), ('b', NULL)")
    assert db.sql("SELECT k, v FROM t ORDER BY k").to_arrow().to_pydict() == {
        "k": ["a", "b"], "v": [1, None]}


def test_memory_database_cannot_be_readonly():
    with pytest.raises(mapdb.InvalidOptionError, match=r"memory.*read-only"):
        mapdb.connect(":memory:", readonly=True)


def test_removed_at_exit(tmp_path):
    """(A temporary directory of its own: other processes' scratch databases come and go
    in the shared one while this runs.)"""
    code = ("import mapdb, os; db = mapdb.connect(); db.create_table('t', {'x': [1]}); "
            "print(os.listdir(os.environ['TMPDIR']))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert "mapdb-memory-" in out.stdout  # it was there while the process ran
    assert not glob.glob(str(tmp_path / "mapdb-memory-*"))


def test_cli_query_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "x.parquet"
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"v": [1, 2, 3]}), p)
    r = CliRunner().invoke(main, ["query", ":memory:", f"SELECT sum(v) AS s FROM '{p}'",
                                  "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ['"s"', "6"]
    r = CliRunner().invoke(main, ["tables", ":memory:"])
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(tmp_path)) == ["x.parquet"]


def test_module_sql_shares_one_scratch_database():
    mapdb.sql("CREATE OR REPLACE TABLE shared AS SELECT 7 AS x")
    assert mapdb.sql("SELECT x * 6 AS y FROM shared").fetchall() == [(42,)]


def test_duckdb_result_method_names(capsys):
    import duckdb
    sql = "SELECT x, x * 0.5 AS h, 'k' || x::VARCHAR AS s FROM range(4) t(x) ORDER BY x"
    r, d = mapdb.connect().sql(sql), duckdb.sql(sql)
    want = d.to_arrow_table().to_pydict()
    assert r.arrow().to_pydict() == want  # a Table (DuckDB 1.4+: a RecordBatchReader)
    assert r.fetch_arrow_table().equals(r.to_arrow()) and r.to_arrow_table().equals(r.arrow())
    assert r.df().equals(r.fetchdf())
    assert r.df().astype(str).values.tolist() == d.df().astype(str).values.tolist()
    assert r.pl().equals(r.to_polars())
    got, want = r.fetchnumpy(), d.fetchnumpy()
    assert list(got) == list(want)
    assert all(list(got[k]) == list(want[k]) for k in got)
    r.show(max_rows=2)
    assert capsys.readouterr().out.splitlines()[-1] == "(4 rows, first 2 shown)"
