"""The aggregate's physical algorithm is chosen before it runs (query/physical.py): EXPLAIN,
without running anything, names it; on data that calls for each algorithm the planner
picks it, EXPLAIN ANALYZE shows the same one ran, and the answer is DuckDB's."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from .compare import check, engines_over

N = 40_000
rng = np.random.default_rng(3)
FACTS = pa.table({
    "ok": np.arange(N) // 4,  # sorted (declared below), 4 rows per value
    "k": rng.integers(0, 500, N),  # a small range
    "a": rng.integers(0, 30, N).astype(np.int32),
    "b": rng.integers(100, 160, N),
    "s": pa.array([f"v{i}" for i in rng.integers(0, 3000, N)]),  # plain: many values
    "w": rng.integers(0, 10_000_000_000, N),  # a range too wide to be dense
    "v": rng.normal(0, 10, N),
    "d": pa.array(rng.integers(-500, 500, N), pa.int64()),
})
DIM = pa.table({"id": np.arange(500), "region": pa.array([f"r{i % 7}" for i in range(500)])})


@pytest.fixture(scope="module")
def e(tmp_path_factory):
    e = engines_over(tmp_path_factory.mktemp("physical") / "db", {"f": FACTS, "dim": DIM})
    e.db.table("f").create_index("ok", kind="sorted").close()
    yield e
    e.db.close()
    e.con.close()


# (query, algorithm named by EXPLAIN): a join in the way keeps the fused kernel out
CASES = [
    ("SELECT k, sum(v), count(*) FROM f GROUP BY k", "fused filter+aggregate kernel"),
    ("SELECT ok, sum(d), count(*) FROM f JOIN dim ON f.k = dim.id GROUP BY ok",
     "runs of the sorted key"),
    ("SELECT k, sum(d), avg(v) FROM f JOIN dim ON f.k = dim.id GROUP BY k",
     "dense key range 0..499"),
    ("SELECT a, b, sum(d), max(d) FROM f JOIN dim ON f.k = dim.id GROUP BY a, b",
     "dense keys over 1,891 slots"),
    ("SELECT s, count(*), min(d) FROM f JOIN dim ON f.k = dim.id GROUP BY s",
     "dense string codes"),
    ("SELECT count(DISTINCT w) FROM f JOIN dim ON f.k = dim.id",
     "distinct values in one set"),
    ("SELECT region, count(DISTINCT a) FROM f JOIN dim ON f.k = dim.id GROUP BY region",
     "keys and values packed and sorted"),
    ("SELECT w, sum(v) FROM f JOIN dim ON f.k = dim.id GROUP BY w",
     "hash aggregate per morsel, partial groups merged"),
    ("SELECT region, median(v), string_agg(s, ',' ORDER BY s) FROM f JOIN dim "
     "ON f.k = dim.id GROUP BY region", "hash aggregate over all rows"),
]


@pytest.mark.parametrize("sql, algorithm", CASES)
def test_planner_picks_and_runs_the_algorithm(e, sql, algorithm):
    plan = "\n".join(r for r, in e.db.sql("EXPLAIN " + sql).fetchall())
    line = next(x for x in plan.splitlines() if "Aggregate keys" in x)
    assert algorithm in line, plan
    ran = "\n".join(r for r, in e.db.sql("EXPLAIN ANALYZE " + sql).fetchall())
    assert algorithm in next(x for x in ran.splitlines() if "Aggregate keys" in x), ran
    check(e, sql)
