"""kill -9 at random moments and at every named crash point of the commit protocol."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from mapdb.storage.database import DatabaseStore

from . import _support as sup

MAPDB_STORAGE = os.path.join(os.path.dirname(__file__), "..", "..", "mapdb", "storage")


def _read_acks(path) -> dict[int, int]:
    acks = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                word, k, rows = line.split()
                assert word == "ack"
                acks[int(k)] = int(rows)
    return acks


def _check(db_path, acks: dict[int, int]) -> int:
    db = DatabaseStore(db_path, readonly=True)
    snap = db.snapshot("t")
    try:
        K = sup.check_crash_table(snap.to_arrow())
        for k, rows in acks.items():
            assert k <= K, f"acknowledged batch {k} is missing (table ends at {K})"
            assert rows == int(sup.crash_rows(k))
        assert snap.verify() == []
        jobs = set(snap.manifest.jobs)
        assert {f"job-{k}" for k in acks} <= jobs
        assert snap.manifest.rows == int(sup.crash_rows(range(K + 1)).sum())
        return K
    finally:
        snap.close()


def _kill_loop(db_path, tmp, kills: int, max_delay: float, seed: int) -> None:
    rng = random.Random(seed)
    sup.new_crash_table(db_path)
    ack_path = str(tmp / "acks")
    K = 0
    mid_commit = 0  # kills that left a half-written commit behind
    for i in range(kills):
        p = sup.start(sup.append_forever, str(db_path), ack_path, 6, 10_000)
        time.sleep(rng.uniform(0.0, max_delay))
        os.kill(p.pid, signal.SIGKILL)
        code = sup.join(p)
        assert code == -signal.SIGKILL, f"child {i} exited with {code} before the kill"
        mid_commit += bool(sup.leftovers(str(db_path / "t_t")))
        acks = _read_acks(ack_path)
        newK = _check(db_path, acks)
        assert newK >= K, f"kill {i}: table went back from batch {K} to {newK}"
        K = newK
    # the kills did land in the middle of the work (not all before the first commit)
    assert K >= 3 and mid_commit >= 1, (K, mid_commit)
    # A writer open reclaims everything the crashed writers left behind.
    db = DatabaseStore(db_path)
    db.writer("t").close()
    assert sup.leftovers(db.table_dir("t")) == []
    assert sup.db_leftovers(str(db_path)) == []
    assert _check(db_path, _read_acks(ack_path)) == K


def test_kill_9_during_appends(db_path, tmp_path):
    _kill_loop(db_path, tmp_path, kills=20, max_delay=0.25, seed=20240601)


@pytest.mark.slow
def test_kill_9_during_appends_many(db_path, tmp_path):
    _kill_loop(db_path, tmp_path, kills=2000, max_delay=0.3, seed=7)


# -- named crash points ---------------------------------------------------------------------
APPEND_POINTS = {  # point -> whether the new version is visible after dying there
    "after-data-sync": False,
    "before-manifest": False,
    "after-temp-manifest": False,
    "after-rename": True,
    "after-dir-fsync": True,
}
CREATE_POINTS = [*APPEND_POINTS, "before-table-rename"]


def test_the_crash_points_are_the_ones_in_the_code():
    out = subprocess.run(["grep", "-rhoE", r"crash_point\(\"[a-z-]+\"\)", MAPDB_STORAGE],
                         capture_output=True, text=True, check=True).stdout
    points = {line.split('"')[1] for line in out.split()}
    # mid-index-build: tests/reliability/test_crash_points.py; after-drop-rename:
    # tests/storage/test_leftovers.py
    assert points == {*CREATE_POINTS, "mid-index-build", "after-drop-rename"}


def _two_commit_table(db_path) -> DatabaseStore:
    db = sup.new_crash_table(db_path)
    w = db.writer("t")
    w.write(sup.crash_batch(1))
    w.commit()
    w.close()
    return db


def _content(db: DatabaseStore, name: str = "t") -> tuple[int, int]:
    snap = db.snapshot(name)
    try:
        t = snap.to_arrow()
        assert snap.verify() == []
        return snap.version, sup.check_crash_table(t)
    finally:
        snap.close()


@pytest.mark.parametrize("point", list(APPEND_POINTS))
def test_crash_point_during_append(db_path, point):
    db = _two_commit_table(db_path)
    old = _content(db)
    assert old[1] == 1
    p = sup.start(sup.crash_at, str(db_path), point, "append")
    assert sup.join(p) == -signal.SIGKILL
    db = DatabaseStore(db_path)
    now = _content(db)
    assert now == ((old[0] + 1, 2) if APPEND_POINTS[point] else old)
    if not APPEND_POINTS[point]:
        assert sup.leftovers(db.table_dir("t")), "the crash should have left files behind"
    w = db.writer("t")  # reclaims
    w.close()
    assert sup.leftovers(db.table_dir("t")) == []
    assert _content(db) == now
    # and the table takes new commits normally afterwards
    w = db.writer("t")
    w.write(sup.crash_batch(now[1] + 1))
    w.commit()
    w.close()
    assert _content(db)[1] == now[1] + 1


@pytest.mark.parametrize("point", [p for p in APPEND_POINTS if p != "after-data-sync"])
def test_crash_point_during_compaction(db_path, point):
    db = _two_commit_table(db_path)
    old = _content(db)
    p = sup.start(sup.crash_at, str(db_path), point, "compact")
    assert sup.join(p) == -signal.SIGKILL
    db = DatabaseStore(db_path)
    now = _content(db)
    assert now[1] == old[1]  # same rows either way
    snap = db.snapshot("t")
    assert len(snap.manifest.segments) == (1 if APPEND_POINTS[point] else 2)
    snap.close()
    db.writer("t").close()
    assert sup.leftovers(db.table_dir("t")) == []


@pytest.mark.parametrize("point", CREATE_POINTS)
def test_crash_point_during_create(db_path, point):
    db = _two_commit_table(db_path)
    p = sup.start(sup.crash_at, str(db_path), point, "create")
    assert sup.join(p) == -signal.SIGKILL
    staged = sup.db_leftovers(str(db_path))
    assert staged and all(n.startswith(".tmp-") for n in staged)  # the table being built
    db = DatabaseStore(db_path)  # a writable open removes a dead process's staging
    assert db.tables() == ["t"]
    assert not db.exists("n")
    assert sup.db_leftovers(str(db_path)) == []
    assert _content(db)[1] == 1
    w = db.create_writer("n", sup.CRASH_SCHEMA, None)
    w.write(sup.crash_batch(0))
    w.commit()
    w.close()
    assert db.tables() == ["n", "t"]
    assert _content(db, "n")[1] == 0


def test_unrelated_crash_point_name_does_nothing(db_path):
    db = _two_commit_table(db_path)
    p = sup.start(sup.crash_at, str(db_path), "no-such-point", "append")
    assert sup.join(p) == 3  # ran to the end
    assert _content(db)[1] == 2
