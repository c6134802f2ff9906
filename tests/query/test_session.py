"""Table versions kept open between queries: reused while current, replaced when not."""

from __future__ import annotations

import mapdb


def test_queries_see_appends_drops_and_recreations(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", {"x": [1, 2, 3]})
    assert db.sql("SELECT sum(x) FROM t").fetchall() == [(6,)]
    first = db._sources.get(db._store, "t")
    assert db._sources.get(db._store, "t") is first  # reused while current
    t.append({"x": [10]})
    assert db.sql("SELECT sum(x) FROM t").fetchall() == [(16,)]
    assert db._sources.get(db._store, "t") is not first
    db.drop_table("t")
    db.create_table("t", {"x": [5]})  # version numbers start again: identity differs
    assert db.sql("SELECT sum(x) FROM t").fetchall() == [(5,)]


def test_other_process_commits_are_seen(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", {"x": [1]})
    assert db.sql("SELECT count(*) FROM t").fetchall() == [(1,)]
    other = mapdb.connect(tmp_path / "db")  # another handle: its own writer
    other["t"].append({"x": [2, 3]})
    assert db.sql("SELECT count(*) FROM t").fetchall() == [(3,)]


def test_close_releases_and_reopens(tmp_path):
    with mapdb.connect(tmp_path / "db") as db:
        db.create_table("t", {"x": [1, 2]})
        assert db.sql("SELECT max(x) FROM t").fetchall() == [(2,)]
    assert db._sources._sources == {}
    assert db.sql("SELECT max(x) FROM t").fetchall() == [(2,)]  # usable after close


def test_count_distinct_kernel_set_matches_python(tmp_path):
    """COUNT(DISTINCT) of an integer-like column: per-worker hash sets, merged."""
    import numpy as np
    rng = np.random.default_rng(7)
    vals = rng.integers(-5000, 5000, 300_000)
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", {"x": vals, "k": vals % 7})
    t.append({"x": [None, -2**63, 2**62], "k": [1, 1, 1]})
    want = len(set(vals.tolist()) | {-2**63, 2**62})
    assert db.sql("SELECT count(DISTINCT x) FROM t").fetchall() == [(want,)]
    want_k = len({v for v, k in zip(vals.tolist(), (vals % 7).tolist(), strict=True)
                  if k == 3})
    assert db.sql("SELECT count(DISTINCT x) FROM t WHERE k = 3").fetchall() == [(want_k,)]
