"""benchmarks/h2o.py at a tiny size: every question runs on every engine and mapdb's answers
equal DuckDB's (about 3 s on an idle VM: 20,000 rows generated, ingested, 15 questions
twice); the generators follow the R ones; the row-for-row check itself catches a wrong
answer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
pytest.importorskip("duckdb")


def test_tiny_run_matches_duckdb(tmp_path, monkeypatch):
    from benchmarks import h2o
    monkeypatch.setattr(h2o, "DATA", tmp_path / "data")
    monkeypatch.setattr(h2o, "RESULTS", tmp_path / "results")
    h2o.main(["--rows", "20000", "--runs", "1", "--engines", "duckdb"])
    report = json.loads((tmp_path / "results" / "h2o.json").read_text())
    got = {(r["suite"], r["q"]): r["mapdb"].get("check", r["mapdb"].get("error"))
           for r in report["results"]}
    assert len(got) == 15
    assert set(got.values()) == {"ok"}, got
    assert set(report["summary"]) == {"groupby", "join"}
    assert "| groupby | q10 |" in (tmp_path / "results" / "h2o.md").read_text()


def test_generators_follow_the_r_ones():
    from benchmarks import h2o
    x = h2o.groupby_table(10_000)
    assert pc.count_distinct(x["id1"]).as_py() == 100
    assert x["id3"][0].as_py().startswith("id") and len(x["id3"][0].as_py()) == 12
    assert pc.max(x["id6"]).as_py() <= 100 and pc.max(x["v2"]).as_py() <= 15
    j = h2o.join_tables(100_000)
    assert [j[t].num_rows for t in ("x", "small", "medium", "big")] == \
        [100_000, 10, 100, 100_000]
    assert pc.count_distinct(j["x"]["id3"]).as_py() == 100_000  # x's id3 is unique
    assert j["medium"].column_names == ["id1", "id2", "id4", "id5", "v2"]
    # 90% of medium's id2 keys are in x, 10% are not (and 10% of x's are not in medium)
    shared = pc.is_in(j["medium"]["id2"], j["x"]["id2"]).to_pylist()
    assert sum(shared) == 90


def test_check_catches_a_wrong_answer():
    from benchmarks.h2o import same
    want = pa.table({"k": ["a", "b", "c"], "v": [1.0, 2.0, None]})
    assert same(want.take([2, 0, 1]), want, ["k"]) == "ok"
    assert same(want.set_column(1, "v", pa.array([1.0, 2.0000001, None])), want,
                ["k"]).startswith("MISMATCH v")
    assert same(want.set_column(1, "v", pa.array([1.0, 2.0, 3.0])), want,
                ["k"]) == "MISMATCH nulls in v"
    assert same(want.slice(1), want, ["k"]).startswith("MISMATCH shape")
