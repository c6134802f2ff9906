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


def _topn_blocks(text: str) -> tuple[int, int]:
    """(blocks read, blocks) from a TopN's EXPLAIN ANALYZE (query.topn)."""
    note = text.split("sort keys of ")[1].split(")")[0]
    if "(all " in note:
        total = int(note.split("(all ")[1].split(" blocks")[0].replace(",", ""))
        return total, total
    read, total = note.split("(")[1].split(" blocks")[0].split(" of ")
    return int(read.replace(",", "")), int(total.replace(",", ""))


def test_top_n_stops_early_with_zone_maps_and_stays_exact(tmp_path):
    """ORDER BY x DESC LIMIT n reads morsels best zone-map bound first and stops once the
    n-th row beats every remaining bound; ties on x are still ordered by the next key."""
    import numpy as np
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", {"x": np.arange(1000), "id": np.arange(1000)})
    for i in range(1, 24):  # 24 segments = 24 morsels, more than one step of workers
        base = i * 1000
        x = np.arange(base, base + 1000)
        x[:5] = 23_999  # ties with the top of the last segment, in every segment
        t.append({"x": x, "id": np.arange(base, base + 1000)})
    sql = "SELECT x, id FROM t ORDER BY x DESC, id LIMIT 12"
    got = db.sql(sql).fetchall()
    want = sorted(((x, i) for x, i in db.sql("SELECT x, id FROM t").fetchall()),
                  key=lambda r: (-r[0], r[1]))[:12]
    assert got == want
    text = db.sql(sql).explain(analyze=True)
    read, total = _topn_blocks(text)
    # the ties live in segments 1-23: all must be read (id decides among them); segment 0
    # (x < 1000) cannot reach the 12th row's x
    assert total == 24 and read == 23
    sql2 = "SELECT x, id FROM t WHERE id % 2 = 0 ORDER BY x DESC, id LIMIT 3"
    got2 = db.sql(sql2).fetchall()
    assert got2 == [(23_999, 1000), (23_999, 1002), (23_999, 1004)]
    t2 = db.create_table("u", {"x": np.arange(1000), "id": np.arange(1000)})
    for i in range(1, 24):
        t2.append({"x": np.arange(i * 1000, i * 1000 + 1000), "id": np.zeros(1000, int)})
    text = db.sql("SELECT x FROM u ORDER BY x DESC LIMIT 5").explain(analyze=True)
    read, total = _topn_blocks(text)
    assert read < total
    assert db.sql("SELECT x FROM u ORDER BY x DESC LIMIT 3").fetchall() == [
        (23_999,), (23_998,), (23_997,)]


def test_plans_are_reused_only_on_the_same_versions(tmp_path):
    """A statement run again reuses its optimized plan while its tables' versions are the
    ones it was planned for; a commit or a new index plans it afresh, and closing the
    database drops the plans over its sources."""
    import gc
    import weakref

    from mapdb.query.session import PLANS
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("pc", {"k": list(range(100)), "v": [i % 7 for i in range(100)]})
    q = "SELECT count(*), sum(v) FROM pc WHERE k = 42"
    assert db.sql(q).fetchall() == [(1, 0)]
    hits = PLANS.hits
    assert db.sql(q).fetchall() == [(1, 0)]
    assert PLANS.hits == hits + 1
    t.append({"k": [42], "v": [5]})  # a new version
    assert db.sql(q).fetchall() == [(2, 5)]
    assert PLANS.hits == hits + 1
    t.create_index("k")  # the plan now probes the index
    plan = "\n".join(db.sql("EXPLAIN " + q).to_arrow().column(0).to_pylist())
    assert "hash index" in plan, plan
    assert db.sql(q).fetchall() == [(2, 5)]
    source = weakref.ref(next(iter(db._sources._sources.values()))[1])
    db.close()
    gc.collect()
    assert source() is None  # no cached plan keeps the closed version's source
