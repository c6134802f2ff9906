"""A cold scan drops its pages from the page cache behind itself (issue 20 item 3,
query/morsels.cold_scan): only when what it reads from disk is large against the memory
available (forced here with COLD_SHARE), answers unchanged. No root needed: the page
cache is measured with mincore and emptied with posix_fadvise."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mapdb.query import morsels

from .compare import check, engines_over

N = 1_500_000
QUERIES = [
    "SELECT sum(a), max(b), count(*) FROM big",  # the fused kernel's loop
    "SELECT g, sum(a), count(DISTINCT b) FROM big WHERE a % 3 = 0 GROUP BY g",  # a sink
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(5)
    big = pa.table({"a": rng.integers(0, 10**6, N), "b": rng.integers(0, 10**9, N),
                    "g": rng.integers(0, 9, N)})
    e = engines_over(tmp_path_factory.mktemp("cold") / "db", {"big": big})
    e.db.cache.evict("big")
    if _resident(e.db) > 0:
        pytest.skip("the page cache cannot be emptied here (tmpfs?)")
    return e


def _resident(db) -> int:
    cols = db.cache.status("big")["tables"]["big"]["columns"]
    return sum(cols[c]["roles"]["data"]["resident"] for c in ("a", "b", "g"))


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("cold", [True, False])
def test_cold_scan_drops_its_pages(engines, monkeypatch, sql, cold):
    db = engines.db
    monkeypatch.setattr(morsels, "COLD_SHARE", 0.0 if cold else 1e9)
    db.close()  # no mapping kept from an earlier query
    db.cache.evict("big")
    text = db.sql("EXPLAIN ANALYZE " + sql).fetchall()
    scan = next(line for (line,) in text if "Scan big" in line)
    assert ("cold: pages dropped" in scan) == cold, scan
    data = sum(db.cache.status("big")["tables"]["big"]["columns"][c]["roles"]["data"]["bytes"]
               for c in ("a", "b", "g"))
    if cold:  # (a few pages read ahead past the last morsel may stay)
        assert _resident(db) < data * 0.05, (_resident(db), data)
    else:
        assert _resident(db) > data * 0.5, (_resident(db), data)
    check(engines, sql)


def test_streamed_result_drops_behind(engines, monkeypatch):
    db = engines.db
    monkeypatch.setattr(morsels, "COLD_SHARE", 0.0)
    db.close()
    db.cache.evict("big")
    r = db.sql("SELECT a, b FROM big WHERE g = 3")
    rows = sum(len(b) for b in iter(lambda: r.fetchmany(100_000), []))
    assert rows == engines.con.execute("SELECT count(*) FROM big WHERE g = 3").fetchone()[0]
    cols = db.cache.status("big")["tables"]["big"]["columns"]
    assert cols["a"]["roles"]["data"]["resident"] < cols["a"]["roles"]["data"]["bytes"] * 0.05
