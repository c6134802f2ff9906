"""The H2O.ai db-benchmark's query shapes (benchmarks/h2o.py) against DuckDB, on data built
like its generator's but small, with NULLs added: MIN/MAX in the dense (no hashing) group
paths, the row_number() <= k top-k per partition, many-key GROUP BY."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from .compare import check, engines_over


@pytest.fixture(scope="module")
def h2o(tmp_path_factory):
    rng = np.random.default_rng(5)
    n = 20_000

    def nullable(a, frac=0.05):
        return pa.array(a, mask=rng.random(len(a)) < frac)
    labels = np.array([f"id{i:010d}" for i in range(1, 8001)], dtype=object)
    x = pa.table({
        "id1": pa.array(labels[rng.integers(0, 20, n)], pa.string()),
        "id3": pa.array(labels[rng.integers(0, 8000, n)], pa.string()),  # plain (too many
        # values to dictionary-encode), as the benchmark's; id3n: the same with NULL keys
        "id3n": pa.array(np.where(rng.random(n) < 0.02, None, labels[rng.integers(0, 8000, n)]),
                         pa.string()),
        "id4": rng.integers(1, 21, n, dtype=np.int32),
        "id6": nullable(rng.integers(-50, 250, n, dtype=np.int32)),
        "v1": nullable(rng.integers(1, 6, n, dtype=np.int32)),
        "v2": nullable(rng.integers(-15, 16, n).astype(np.int64)),
        "v3": nullable(np.round(rng.uniform(0, 100, n), 2)),  # (2 decimals: ties)
        "v4": pa.array(rng.integers(1, 6, n, dtype=np.int16), mask=np.arange(n) % 300 < 290),
    })
    return engines_over(tmp_path_factory.mktemp("h2o") / "db", {"x": x})


MIN_MAX = [
    "SELECT id3, max(v1)-min(v2) AS range_v1_v2 FROM x GROUP BY id3",
    "SELECT id1, min(v1), max(v2), count(*), sum(v2), min(v4), max(v4) FROM x GROUP BY id1",
    "SELECT id4, max(v2), min(v1), avg(v3) FROM x GROUP BY id4",
    "SELECT id6, min(v2), max(v2) FROM x GROUP BY id6",
    "SELECT id3, min(v4) FROM x WHERE v1 > 2 GROUP BY id3",
    "SELECT id3, max(v3), min(id6) FROM x GROUP BY id3",  # a double: the hash aggregate
    "SELECT id3n, max(v1)-min(v2) AS r, count(v4) FROM x GROUP BY id3n",  # NULL keys: hash
]


@pytest.mark.parametrize("sql", MIN_MAX)
def test_min_max_dense(h2o, sql):
    check(h2o, sql)


def test_min_max_takes_the_dense_path(h2o):
    sql = "SELECT id3, max(v1)-min(v2) AS r FROM x GROUP BY id3"
    plan = "\n".join(h2o.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert "dense string codes" in plan, plan
