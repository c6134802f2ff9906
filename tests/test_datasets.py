"""datasets/: the TPC-H loader (tpchgen-cli -> Parquet -> mapdb) at a tiny scale factor."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import mapdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's datasets/
from datasets import tpch

pytestmark = pytest.mark.skipif(
    not (Path(sys.executable).parent / "tpchgen-cli").exists() and
    not shutil.which("tpchgen-cli"), reason="tpchgen-cli not installed (bench extra)")


def test_tpch_tables_into_mapdb(tmp_path, capsys):
    path = tmp_path / "tpch.mapdb"
    tpch.main(["--scale", "0.01", "--tables", "nation,orders", str(path)])
    out = capsys.readouterr().out
    assert "unique index on o_orderkey" in out
    db = mapdb.connect(path, readonly=True)
    assert db.tables() == ["nation", "orders"]
    assert len(db["nation"]) == 25 and len(db["orders"]) == 15_000
    assert db.sql("SELECT o_orderstatus FROM orders WHERE o_orderkey = 1").fetchall() == [("O",)]
    assert "via hash index o_orderkey_hash (unique)" in \
        db.sql("SELECT * FROM orders WHERE o_orderkey = 1").explain()
    assert [p.name for p in tmp_path.iterdir()] == ["tpch.mapdb"]  # the Parquet is gone

    tpch.main(["--scale", "0.01", "--tables", "nation", str(path)])  # present: left alone
    assert "generated" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tpch.main(["--tables", "nope", str(path)])
    assert "unknown TPC-H table" in capsys.readouterr().err
