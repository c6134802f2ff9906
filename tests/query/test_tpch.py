"""TPC-H Q1 and Q6 on lineitem at SF 0.1 (tpchgen-cli), equal to DuckDB's answers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .compare import check

QUERIES = Path(__file__).parents[2] / "benchmarks" / "queries"  # one copy of the texts


def _tpchgen() -> str | None:
    exe = Path(sys.executable).parent / "tpchgen-cli"
    return str(exe) if exe.exists() else shutil.which("tpchgen-cli")


@pytest.fixture(scope="module")
def lineitem(engines, tmp_path_factory):
    exe = _tpchgen()
    if exe is None:
        pytest.skip("tpchgen-cli is not installed (pip install tpchgen-cli)")
    out = tmp_path_factory.mktemp("tpch")
    subprocess.run([exe, "parquet", "-s", "0.1", "--tables", "lineitem", "-o", str(out)],
                   check=True, capture_output=True)
    path = out / "lineitem.parquet"
    if "lineitem" not in engines.db:
        engines.db.ingest("lineitem", path)
    engines.con.execute(f"CREATE OR REPLACE VIEW lineitem AS "
                        f"SELECT * FROM read_parquet('{path}')")
    return engines


@pytest.mark.parametrize("name", ["q1", "q6"])
def test_tpch(lineitem, name):
    sql = (QUERIES / f"{name}.sql").read_text()
    rows = check(lineitem, sql)
    assert rows  # a non-empty answer
    if name == "q1":
        assert len(rows) == 4
