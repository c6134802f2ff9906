"""benchmarks/capped.py at a tiny size: two TPC-H queries at SF 0.01 under a generous
memlimit cap, each engine in its own capped process, the report's table and summary as the
README shows them (about 10 s on an idle VM). Skipped where memlimit cannot run (not root,
no memory cgroup controller, the tool not found). The page cache is left alone here
(--no-drop-caches): dropping it would slow everyone else's tests on a shared machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
pytest.importorskip("duckdb")


def test_sizes_and_outcomes_parse():
    from benchmarks import capped
    assert capped.size_bytes("600M") == 600 * 2**20
    assert capped.size_bytes("1.5G") == 3 * 2**29
    assert capped.size_bytes("3GiB") == 3 * 2**30
    m = capped.PEAK.search("x\nmemlimit: limit 300M, peak 1.2G, oom kills 1\n")
    assert (capped.size_bytes(m[1]), m[2]) == (int(1.2 * 2**30), "1")
    assert capped.default_caps(1) == ["600M", "300M"]
    assert capped.default_caps(10) == ["3G", "1G"]


def test_tiny_capped_run(tmp_path, monkeypatch):
    from benchmarks import capped, tpch22
    if why := capped.can_cap():
        pytest.skip(why)
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(tpch22, "DATA", tmp_path / "data")
    monkeypatch.setattr(capped, "DATA", tmp_path / "data")
    monkeypatch.setattr(capped, "RESULTS", tmp_path / "results")
    capped.main(["--scale", "0.01", "--queries", "q01,q06", "--caps", "2G",
                 "--no-drop-caches", "--timeout", "120"])
    report = json.loads((tmp_path / "results" / "capped-sf0.01.json").read_text())
    rows = report["results"]
    assert {(r["query"], r["engine"]) for r in rows} == \
        {(q, e) for q in ("q01", "q06") for e in ("mapdb", "duckdb")}
    for r in rows:
        assert r["status"] == "ok", r
        assert r["cap"] == "2G" and not r["cold"]
        assert r["seconds"] > 0 and r["rows"] > 0
        assert 0 < r["peak_bytes"] <= 2 * 2**30
        assert r["read_bytes"] >= 0
        assert r["check"] == ("ok" if r["engine"] == "mapdb" else "-")
    s = report["summary"]["2G"]
    assert s["completed"] == {"mapdb": 2, "duckdb": 2} and s["compared"] == 2
    assert s["geomean_time_vs_duckdb"] > 0
    assert set(report["disk_bytes"]) == {"mapdb", "duckdb"}
    md = (tmp_path / "results" / "capped-sf0.01.md").read_text()
    assert "| " + " | ".join(capped.COLUMNS) + " |" in md
    assert "NOT cold" in md and "mapdb completed 2/2, DuckDB 2/2" in md


def test_outcomes_are_told_apart(tmp_path):
    """An OOM kill, mapdb's MemoryLimitError and a timeout each get their own status (a tiny
    cap kills the child outright; a tiny memory_limit share makes mapdb refuse)."""
    from benchmarks import capped, tpch22
    if why := capped.can_cap():
        pytest.skip(why)
    db = tpch22.DATA / "tpch-sf1" / "tpch22.mapdb"
    if not db.is_dir():
        pytest.skip("no SF1 mapdb database (python -m benchmarks.run capped builds it)")
    ml = capped.find_memlimit()
    oom = capped.run_one(ml, "40M", "mapdb", db, "q18", 0.8, 120, tmp_path, cold=False)
    assert oom["status"] == "OOM-killed", oom
    refused = capped.run_one(ml, "1G", "mapdb", db, "q18", 0.01, 120, tmp_path, cold=False)
    assert refused["status"] == "memory limit" and "MemoryLimitError" in refused["error"]
    slow = capped.run_one(ml, "1G", "mapdb", db, "q18", 0.8, 0.01, tmp_path, cold=False)
    assert slow["status"] == "timeout"
