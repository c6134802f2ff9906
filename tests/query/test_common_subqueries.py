"""A derived table written twice is computed once (query/commonsub.py): answers equal
DuckDB's, and EXPLAIN shows the shared CTE only where sharing is sure to mean the same."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from .compare import check, engines_over

rng = np.random.default_rng(4)
T = pa.table({"k": rng.integers(0, 20, 2000), "g": rng.integers(0, 5, 2000),
              "v": pa.array(np.where(rng.random(2000) < 0.1, None, rng.integers(-50, 50, 2000)),
                            pa.int64())})
U = pa.table({"k": np.arange(20), "name": [f"n{i}" for i in range(20)]})

AGG = "(SELECT g, k, sum(v) AS s FROM t GROUP BY g, k)"
SHARED = [
    # TPC-DS q65's shape: one aggregate averaged per group and compared row by row
    f"SELECT sc.g, sc.k, sc.s FROM (SELECT g, avg(s) AS a FROM {AGG} sa GROUP BY g) sb, "
    f"{AGG} sc WHERE sb.g = sc.g AND sc.s <= 0.5 * sb.a",
    f"SELECT count(*) FROM {AGG} a JOIN {AGG} b ON a.k = b.k AND a.g < b.g",
    # beside the statement's own CTEs: placed after the ones it reads
    "WITH c AS (SELECT * FROM t WHERE v > 0) SELECT x.k, x.n, y.n FROM "
    "(SELECT k, count(*) AS n FROM c GROUP BY k) x JOIN "
    "(SELECT k, count(*) AS n FROM c GROUP BY k) y ON x.k = y.k + 1",
    # a copy inside a CTE body and one in the statement
    f"WITH m AS (SELECT g, max(s) AS top FROM {AGG} q GROUP BY g) "
    f"SELECT r.g, r.k FROM {AGG} r JOIN m ON r.g = m.g AND r.s = m.top",
    f"SELECT * FROM {AGG} a UNION ALL SELECT * FROM {AGG} b",
]
NOT_SHARED = [
    # a filtered scan is read again with each reader's filters pushed in
    "SELECT count(*) FROM (SELECT * FROM t WHERE v > 0) a JOIN (SELECT * FROM t WHERE v > 0) "
    "b ON a.k = b.k",
    # different literals: different tables
    "SELECT count(*) FROM (SELECT k, sum(v) AS s FROM t WHERE g = 1 GROUP BY k) a JOIN "
    "(SELECT k, sum(v) AS s FROM t WHERE g = 2 GROUP BY k) b ON a.k = b.k",
    # inside expressions' subqueries: they might read the enclosing query's columns
    f"SELECT k FROM u WHERE k IN (SELECT k FROM {AGG} a) AND k IN (SELECT k FROM {AGG} b)",
    # a WITH below the top level
    f"SELECT * FROM (WITH w AS (SELECT 1 AS one) SELECT * FROM {AGG} a, w) q, {AGG} b "
    "WHERE q.k = b.k AND q.g = b.g",
]


@pytest.fixture(scope="module")
def e(tmp_path_factory):
    e = engines_over(tmp_path_factory.mktemp("common") / "db", {"t": T, "u": U})
    yield e
    e.db.close()
    e.con.close()


def _shared(e, sql: str) -> bool:
    return any("__mapdb_common" in line for line, in e.db.sql("EXPLAIN " + sql).fetchall())


@pytest.mark.parametrize("sql", SHARED)
def test_shared_once(e, sql):
    assert _shared(e, sql)
    check(e, sql)


@pytest.mark.parametrize("sql", NOT_SHARED)
def test_not_shared(e, sql):
    assert not _shared(e, sql)
    check(e, sql)
