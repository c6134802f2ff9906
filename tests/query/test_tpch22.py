"""The 22 TPC-H queries at scale factor 1: mapdb's answer (general and fused paths) equals
DuckDB's over the same Parquet, row for row.

The Parquet (tpchgen-cli, all eight tables) is cached in benchmarks/data/tpch-sf1/, shared
with the benchmarks, and generated there when missing or incomplete (about 10 s on two
cores); the mapdb database is loaded from it afresh each run by datasets.tpch, primary-key
indexes included (about 9 s). The query texts (benchmarks/queries/tpch/) order every
answer fully, LIMITs included, so the rows are compared in order; decimals exactly,
doubles to compare.py's tolerance.
"""

from __future__ import annotations

import os
import time

import duckdb
import pytest

import mapdb
from benchmarks.tpch22 import QUERIES, QUERY_DIR, tpch_tables
from datasets import tpch

from .compare import Engines, check

SCALE = 1


@pytest.fixture(scope="module")
def tpch_engines(tmp_path_factory) -> Engines:
    try:
        tpch.tpchgen()
    except mapdb.MapdbError as e:
        pytest.skip(str(e))
    t0 = time.perf_counter()
    files = tpch_tables(SCALE)
    t1 = time.perf_counter()
    db = tpch.build(tmp_path_factory.mktemp("tpch22") / "tpch.mapdb", SCALE,
                    parquet_dir=files["lineitem"].parent)
    print(f"TPC-H SF{SCALE}: Parquet ready in {t1 - t0:.1f}s, "
          f"mapdb loaded in {time.perf_counter() - t1:.1f}s")
    con = None
    if not os.environ.get("MAPDB_NO_DUCKDB"):  # sanitizer runs: the general path decides
        con = duckdb.connect()
        for name, path in files.items():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    yield Engines(db, con)
    if con is not None:
        con.close()
    db.close()


@pytest.mark.parametrize("name", QUERIES)
def test_tpch22(tpch_engines, name):
    sql = (QUERY_DIR / f"{name}.sql").read_text()
    refused = rows = None
    try:
        rows = check(tpch_engines, sql, ordered=True)
    except mapdb.MapdbError as e:  # the message says it all; mapdb's traceback does not help
        refused = f"{name}: mapdb refused it: {type(e).__name__}: {e}"
    if refused:
        pytest.fail(refused, pytrace=False)
    assert rows, f"{name}: DuckDB's answer is empty, the harness is wrong"


def test_all_22_queries_are_here():
    assert sorted(p.stem for p in QUERY_DIR.glob("q*.sql")) == QUERIES
