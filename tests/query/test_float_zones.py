"""Zone maps of float columns in DuckDB's order (NaN above every number): a block holding
a NaN has NaN as its max (zone map version 3), so a range that admits NaN still skips the
blocks that hold none, and never the ones that do."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb.query.source import PruneStats, TableSource
from mapdb.storage.zonemap import ZONE_ROWS


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    x = np.arange(3 * ZONE_ROWS, dtype=np.float64)
    x[ZONE_ROWS + 5] = np.nan  # block 1 holds a NaN
    x[2 * ZONE_ROWS:] += 1e9  # block 2 is all large
    d = mapdb.connect(tmp_path_factory.mktemp("fz") / "db")
    d.create_table("t", pa.table({"x": x}))
    return d


@pytest.mark.parametrize("where,kept", [
    ("x > 1e8", [1, 2]),           # admits NaN: block 1 kept for its NaN, block 0 skipped
    ("x >= 'NaN'::DOUBLE", [1]),   # only NaN
    ("x < 10", [0]),               # excludes NaN (10: a cast of an integer literal)
    ("x BETWEEN 20000 AND 30000", [1]),
])
def test_float_ranges_skip_only_blocks_without_matches(db, where, kept):
    t = db["t"]
    src = TableSource("t", t._snap)
    plan = db.sql(f"SELECT count(*) FROM t WHERE {where}")._p.plan
    scans, todo = [], [plan]
    while todo:
        n = todo.pop()
        todo.extend(n.inputs)
        if type(n).__name__ == "Scan":
            scans.append(n)
    ranges = scans[0].ranges
    blocks = sorted({m.start // ZONE_ROWS for m in src.morsels(ranges, PruneStats(),
                                                              rows=ZONE_ROWS)})
    assert blocks == kept, ranges
    con = duckdb.connect()
    con.register("t", t.to_arrow())
    assert db.sql(f"SELECT count(*) FROM t WHERE {where}").fetchall() == \
        con.sql(f"SELECT count(*) FROM t WHERE {where}").fetchall()
