"""CLI: ingest, tables, describe, verify, compact, and clean one-line errors."""

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def csv_dir(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "a.csv").write_text("id,name,score\n1,ann,0.5\n2,,1.5\n")
    (d / "b.csv").write_text("id,name,score\n3,cy,\n")
    return d


def test_ingest_directory_then_describe_and_tables(tmp_path, csv_dir):
    db = tmp_path / "db"
    r = run("ingest", db, "people", csv_dir, "--no-progress")
    assert r.exit_code == 0, r.output
    assert "3 rows from 2 source(s)" in r.output
    r = run("describe", db, "people", "--json")
    info = json.loads(r.output)
    assert info["rows"] == 3 and info["segments"] == 1
    assert [(c["name"], c["type"], c["nulls"]) for c in info["columns"]] == [
        ("id", "int64", 0), ("name", "string", 1), ("score", "float64", 1)]
    r = run("tables", db)
    assert "people" in r.output and "3" in r.output


def test_ingest_job_id_and_modes(tmp_path, csv_dir):
    db = tmp_path / "db"
    src = csv_dir / "a.csv"
    assert run("ingest", db, "t", src, "--job-id", "j1").exit_code == 0
    r = run("ingest", db, "t", src, "--job-id", "j1")
    assert "already committed" in r.output
    r = run("ingest", db, "t", src, "--mode", "create")
    assert r.exit_code == 1 and "already exists" in r.output
    assert run("ingest", db, "t", csv_dir / "b.csv", "--mode", "replace").exit_code == 0
    assert json.loads(run("describe", db, "t", "--json").output)["rows"] == 1


def test_schema_override(tmp_path, csv_dir):
    db = tmp_path / "db"
    r = run("ingest", db, "t", csv_dir / "a.csv", "--schema", "id=int32,score=float32")
    assert r.exit_code == 0, r.output
    types = {c["name"]: c["type"]
             for c in json.loads(run("describe", db, "t", "--json").output)["columns"]}
    assert types["id"] == "int32" and types["score"] == "float32"


def test_parquet_and_format_flag(tmp_path):
    src = tmp_path / "data.bin"
    pq.write_table(pa.table({"x": list(range(10))}), src)
    db = tmp_path / "db"
    r = run("ingest", db, "t", src)
    assert r.exit_code == 1 and "data.bin" in r.output
    assert run("ingest", db, "t", src, "--format", "parquet").exit_code == 0


def test_a_bad_row_leaves_the_table_unchanged(tmp_path, csv_dir):
    db = tmp_path / "db"
    assert run("ingest", db, "t", csv_dir / "a.csv").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,score\n4,dee,1.0\nfive,eve,2.0\n")
    good = csv_dir / "b.csv"
    r = run("ingest", db, "t", good, bad)  # one job: all or nothing
    assert r.exit_code == 1
    assert "bad.csv" in r.output
    assert json.loads(run("describe", db, "t", "--json").output)["rows"] == 2


def test_verify_detects_damage_and_compact_merges(tmp_path, csv_dir):
    db = tmp_path / "db"
    for f in ("a.csv", "b.csv"):
        assert run("ingest", db, "t", csv_dir / f).exit_code == 0
    assert run("verify", db).output.strip() == "t: ok"
    r = run("compact", db, "t")
    assert r.exit_code == 0 and "2 segment(s) -> 1" in r.output
    data = next((db / "t_t" / "segments").glob("*/c1.data"))
    with open(data, "r+b") as f:
        f.seek(4096)
        b = f.read(1)
        f.seek(4096)
        f.write(bytes([b[0] ^ 0xFF]))
    r = run("verify", db, "t")
    assert r.exit_code == 1 and "checksum mismatch" in r.output


def test_errors_are_one_line_without_traceback(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.run([sys.executable, "-m", "mapdb.cli", "describe", str(tmp_path / "no"),
                        "t"], capture_output=True, text=True, env=env)
    assert p.returncode == 1
    assert p.stderr.startswith("mapdb: error: ") and len(p.stderr.strip().splitlines()) == 1
    assert "Traceback" not in p.stderr


def test_ingest_waits_for_the_lock_holder(tmp_path, csv_dir):
    import threading

    import mapdb
    db = tmp_path / "db"
    assert run("ingest", db, "t", csv_dir / "a.csv").exit_code == 0
    w = mapdb.connect(db)._store.writer("t")
    r = run("ingest", db, "t", csv_dir / "b.csv")
    assert r.exit_code == 1 and f"locked by pid {os.getpid()}" in r.output
    threading.Timer(0.3, w.close).start()
    r = run("ingest", db, "t", csv_dir / "b.csv", "--wait", "10")
    assert r.exit_code == 0, r.output
    assert json.loads(run("describe", db, "t", "--json").output)["rows"] == 3


def test_describe_shows_bytes_per_column_and_index_files(tmp_path):
    """describe: per column its bytes on disk, the indexes with theirs, and the table's
    "on disk" counts index files too (it counted the columns' files only)."""
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", pa.table({"k": pa.array(range(50_000), pa.int64()),
                                       "s": [f"v{i}" for i in range(50_000)]}),
                        dictionary=None, durability="none")
    t.create_index("s")
    on_disk = sum(os.path.getsize(f.path) for f in t._snap.files())
    info = json.loads(run("describe", tmp_path / "db", "t", "--json").output)
    cols = {c["name"]: c["bytes"] for c in info["columns"]}
    ix = {i["name"]: i for i in info["indexes"]}
    assert cols["k"] >= 50_000 * 8 and cols["s"] > cols["k"]
    assert ix["s_hash"]["bytes"] > 0 and ix["s_hash"]["column"] == "s"
    assert info["bytes_on_disk"] == sum(cols.values()) + sum(i["bytes"] for i in ix.values())
    assert info["bytes_on_disk"] == on_disk
    r = run("describe", tmp_path / "db", "t")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "of it index files" in lines[0]
    assert lines[1].split() == ["column", "type", "nulls", "on", "disk"]
    assert lines[3].split()[:3] == ["k", "int64", "0"] and lines[3].endswith("KiB")
    assert any(line.split()[:3] == ["s_hash", "s", "hash"] for line in lines)
