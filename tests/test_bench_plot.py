"""benchmarks/plot.py draws the committed results (the README embeds its PNGs)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
pytest.importorskip("matplotlib")


@pytest.mark.parametrize("name", ["tpch-sf10", "lookup-sf1"])
def test_charts_from_the_results_json(tmp_path, name):
    from benchmarks.plot import plot
    src = tmp_path / f"{name}.json"
    shutil.copy(ROOT / "benchmarks" / "results" / f"{name}.json", src)
    out = plot(src)
    assert out == tmp_path / f"{name}.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
