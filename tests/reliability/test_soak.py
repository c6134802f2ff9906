"""Soak variants (pytest -m slow): the soak command at a few hundred kills, and the quick
tests' generators and sweeps at full size. `make soak` runs the command at 2,000 kills."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import checks, flips, hostile, soak

pytestmark = pytest.mark.slow


def test_soak_command(tmp_path, capsys):
    code = soak.main(["--kills", "300", "--flips", "quick", "--hostile", "1000",
                      "--droprace", "40", "--damage", "200", "--small-sql",
                      "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out[-5000:]
    assert re.search(r"acknowledged batches lost +0\n", out), out[-5000:]
    assert "RESULT: ok" in out


@pytest.fixture(scope="module")
def flip_db(tmp_path_factory):
    return flips.flip_table(tmp_path_factory.mktemp("flips") / "db")


@pytest.mark.parametrize("name", ["k_hash", "s_hash"])
def test_every_bit_of_an_index_header(flip_db, name):
    path = flips.files(flip_db)[f"index {name}"]
    counts, bad = Counter(), []
    flips.sweep(path, range(4096), flips.MASKS_ALL,
                flips.index_probe(flip_db, name, ["str0", "str3", "nope"] if name == "s_hash"
                                  else [0, 3, 6, -1]), counts, bad)
    assert bad == [] and set(counts) == {"detected at open"}


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    return checks.sql_engines(tmp_path_factory.mktemp("sql") / "db")


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(item=hostile.hostile_sql(big=True), fused=st.booleans())
def test_hostile_sql_at_volume(engines, item, fused):
    kind, sql = item
    outcome = checks.run_sql(engines, sql, fused, compare=False, seconds=120)
    assert not outcome.startswith("BUG"), f"{kind}: {outcome}\n{sql[:500]}"
