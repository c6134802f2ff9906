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
