"""Readers beside a writer, two writers, and compaction under an old reader, with real
processes (forkserver children: fresh processes, not forks of pytest)."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mapdb.errors import NotFoundError, TableDroppedError
from mapdb.storage.database import DatabaseStore

from . import _support as sup


def _make_counting_table(db_path) -> DatabaseStore:
    db = DatabaseStore(db_path)
    b = sup.counting_batch(1)
    w = db.create_writer("t", b.schema, b, dictionary=["s"])
    w.write(b)
    w.commit()
    w.close()
    return db


def _readers_beside_writer(db_path, tmp, n_readers: int, last: int, compact_every: int):
    _make_counting_table(db_path)
    stop = str(tmp / "stop")
    readers = []
    for r in range(n_readers):
        started, result = str(tmp / f"started{r}"), str(tmp / f"result{r}.json")
        readers.append((sup.start(sup.counting_reader, str(db_path), stop, started, result),
                        started, result))
    for p, started, _ in readers:
        sup.wait_for_file(started, proc=p)
    writer = sup.start(sup.counting_writer, str(db_path), 2, last, compact_every, 0.0)
    assert sup.join(writer, timeout=120) == 0
    open(stop, "w").close()
    pairs: dict[int, int] = {}
    per_reader = []
    for p, _, result in readers:
        assert sup.join(p, timeout=60) == 0
        with open(result) as f:
            res = json.load(f)
        assert res["error"] is None, res["error"]
        seen = [tuple(x) for x in res["pairs"]]
        per_reader.append(seen)
        assert seen == sorted(seen)  # versions and contents never went backwards
        for v, k in seen:
            assert pairs.setdefault(v, k) == k, f"version {v} read as {pairs[v]} and {k} rows"
        assert seen[-1][1] == last  # the last pass (after the writer finished) saw it all
    # The readers really ran beside the writer: they saw intermediate versions.
    assert len({k for s in per_reader for _, k in s}) > 3, per_reader
    snap = DatabaseStore(db_path).snapshot("t")
    assert sup.check_counting_table(snap.column("k").to_numpy(), snap.column("s")) == last
    assert snap.verify() == []
    snap.close()


def test_readers_see_only_whole_commits(db_path, tmp_path):
    _readers_beside_writer(db_path, tmp_path, n_readers=3, last=80, compact_every=16)


@pytest.mark.slow
def test_readers_see_only_whole_commits_long(db_path, tmp_path):
    _readers_beside_writer(db_path, tmp_path, n_readers=6, last=1500, compact_every=50)


# -- two writers ----------------------------------------------------------------------------
def _start_holder(db_path, tmp, hold: float):
    ready = str(tmp / f"ready-{time.monotonic_ns()}")
    p = sup.start(sup.hold_lock, str(db_path), ready, hold)
    sup.wait_for_file(ready, proc=p)
    return p


def test_second_writer_is_refused_with_the_holders_pid(db_path, tmp_path):
    db = _make_counting_table(db_path)
    p = _start_holder(db_path, tmp_path, hold=30.0)
    try:
        msg, pid, _ = sup.refusal(db.writer, "t")
        assert msg == f"table 't' is locked by pid {p.pid}, which is writing to it"
        assert pid == p.pid
        msg, pid, took = sup.refusal(db.writer, "t", timeout=0.3)
        assert msg == f"table 't' is locked by pid {p.pid}, which is writing to it (waited 0.3s)"
        assert took >= 0.3
        msg, pid, _ = sup.refusal(db.drop_table, "t")
        assert pid == p.pid and f"locked by pid {p.pid}" in msg
    finally:
        p.kill()
        sup.join(p)
    assert p.exitcode == -signal.SIGKILL
    # The holder died by SIGKILL: the lock died with it.
    t0 = time.monotonic()
    w = db.writer("t")
    assert time.monotonic() - t0 < 1.0
    w.write(sup.counting_batch(2))
    w.commit()
    w.close()
    snap = db.snapshot("t")
    assert snap.manifest.rows == 3
    snap.close()


def test_writer_with_timeout_waits_for_the_holder(db_path, tmp_path):
    db = _make_counting_table(db_path)
    p = _start_holder(db_path, tmp_path, hold=0.6)
    t0 = time.monotonic()
    w = db.writer("t", timeout=20.0)
    waited = time.monotonic() - t0
    assert 0.2 < waited < 15.0, waited
    assert sup.join(p) == 0
    with open(os.path.join(db.table_dir("t"), "LOCK")) as f:
        assert f.read().split() == [str(os.getpid())]
    w.write(sup.counting_batch(2))
    w.commit()
    w.close()


def test_second_writer_in_the_same_process_is_refused(db_path):
    db = _make_counting_table(db_path)
    w = db.writer("t")
    msg, pid, _ = sup.refusal(db.writer, "t")
    assert pid == os.getpid() and f"locked by pid {os.getpid()}" in msg
    w.close()
    db.writer("t").close()  # released by close


# -- compaction and reclamation under an old reader -----------------------------------------
def _five_segments(db_path) -> tuple[DatabaseStore, list[int]]:
    db = DatabaseStore(db_path)
    schema = pa.schema([("x", pa.int64()), ("y", pa.string())])
    w = db.create_writer("t", schema, None, dictionary=["y"])
    xs = []
    for k in range(5):
        x = list(range(k * 100, k * 100 + 50 + k))
        xs += x
        w.write(pa.table({"x": x, "y": [f"y{v % 3}" for v in x]}, schema=schema))
        w.commit()
    w.close()
    return db, xs


def _segment_dirs(db: DatabaseStore) -> set[str]:
    return set(os.listdir(os.path.join(db.table_dir("t"), "segments")))


def test_old_snapshot_survives_compaction_and_reclaim(db_path):
    db, xs = _five_segments(db_path)
    old = db.snapshot("t")
    old_dirs = {s.dirname for s in old.manifest.segments}
    assert len(old_dirs) == 5
    before = old.column_chunks("x")  # mapped before compaction

    w = db.writer("t")
    new = w.compact()
    assert new.version == old.version + 1 and len(new.segments) == 1
    w.close()
    w = db.writer("t")  # reclamation on open: the old version is still pinned
    w.close()
    assert old_dirs <= _segment_dirs(db)
    assert os.path.exists(old._pin.path)

    # arrays created before and after the compaction read the old version completely
    assert [v for c in before for v in c.to_pylist()] == xs
    t = old.to_arrow()
    assert t.column("x").to_pylist() == xs
    assert t.column("y").to_pylist() == [f"y{v % 3}" for v in xs]
    assert old.verify() == []
    cur = db.snapshot("t")
    assert cur.version == new.version and cur.to_arrow().equals(t)
    cur.close()

    old_manifest = old._pin.path
    old.close()
    w = db.writer("t")  # nothing pins the old version any more: reclaimed now
    w.close()
    assert _segment_dirs(db) == {s.dirname for s in new.segments}
    assert not os.path.exists(old_manifest)
    assert sup.leftovers(db.table_dir("t")) == []
    # arrays handed out earlier still hold their (now unlinked) files' mappings
    assert [v for c in before for v in c.to_pylist()] == xs
    del before, t
    gc.collect()
    assert sup.mappings_under(db.table_dir("t")) == []


def test_old_snapshot_in_another_process(db_path, tmp_path):
    db, xs = _five_segments(db_path)
    pinned, go, result = (str(tmp_path / n) for n in ("pinned", "go", "result"))
    p = sup.start(sup.old_version_reader, str(db_path), pinned, go, result)
    sup.wait_for_file(pinned, proc=p)
    with open(pinned) as f:
        info = json.load(f)
    assert info["segments"] == 5

    w = db.writer("t")
    w.write(pa.table({"x": [10_000], "y": ["new"]}))
    w.commit()
    m = w.compact()
    w.close()
    db.writer("t").close()
    assert len(_segment_dirs(db)) == 5 + 1  # old ones kept for the reader, plus the new one

    open(go, "w").close()
    assert sup.join(p) == 0
    with open(result) as f:
        res = json.load(f)
    assert res["error"] is None, res["error"]
    assert res["x_before"] == res["x"] == sum(xs)
    assert res["rows"] == len(xs)
    assert res["y"] == [f"y{v % 3}" for v in xs]
    assert res["verify"] == []

    db.writer("t").close()  # the reader is gone: reclaim
    assert _segment_dirs(db) == {s.dirname for s in m.segments}
    snap = db.snapshot("t")
    assert snap.column("x").to_pylist() == [*xs, 10_000]
    assert pc.count(snap.column("y")).as_py() == len(xs) + 1
    snap.close()


def test_reader_pinning_a_version_by_number(db_path):
    db, xs = _five_segments(db_path)
    cur = db.snapshot("t")
    v = cur.version
    pinned = db.snapshot("t", version=v)
    cur.close()
    w = db.writer("t")
    w.write(pa.table({"x": [1], "y": ["a"]}))
    w.commit()
    w.close()
    assert np.array_equal(pinned.column("x").to_numpy(), np.array(xs))
    pinned.close()


def test_refused_lock_or_pin_leaves_no_del_error(db_path):
    """A WriterLock refused with LockedError, or a Pin of a missing version, must not leave
    an object whose __del__ raises (it did: AttributeError, no attribute 'fd')."""
    db = _make_counting_table(db_path)
    caught = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: caught.append(f"{u.exc_type.__name__} in {u.object!r}")
    try:
        w = db.writer("t")
        sup.failure(db.writer, "t")  # LockedError
        w.close()
        sup.failure(db.snapshot, "t", version=99)  # CorruptionError: no version 99
        gc.collect()
    finally:
        sys.unraisablehook = old_hook
    assert caught == []


def test_drop_table_under_a_reader(db_path):
    db, xs = _five_segments(db_path)
    snap = db.snapshot("t")
    x = snap.column("x")  # mapped before the drop
    db.drop_table("t")
    assert db.tables() == [] and not db.exists("t")
    assert sup.db_leftovers(str(db_path)) == []  # the trash directory is gone
    assert x.to_pylist() == xs  # mappings outlive the unlinked files
    with pytest.raises(TableDroppedError, match="'t' was dropped"):
        snap.column("y")  # not "corruption": the files went with the table
    snap.close()
    w = db.create_writer("t", pa.schema([("z", pa.int8())]), None)
    w.write(pa.table({"z": pa.array([1], pa.int8())}))
    w.commit()
    w.close()
    snap = db.snapshot("t")
    assert snap.to_arrow().to_pydict() == {"z": [1]}
    snap.close()


def test_snapshot_of_a_table_dropped_and_created_again(db_path):
    """The new table reuses the old one's file names (ids start again at 1): a snapshot of
    the old one must refuse them as another table's, and say the table was dropped."""
    db, _ = _five_segments(db_path)
    old = db.snapshot("t")
    db.drop_table("t")
    w = db.create_writer("t", pa.schema([("x", pa.int64()), ("y", pa.string())]), None,
                         dictionary=["y"])
    w.write(pa.table({"x": [7], "y": ["new"]}))
    w.commit()
    w.close()
    for read in (lambda: old.column("x"), lambda: old.physical("y"),
                 lambda: old.zones("x"), lambda: old.dictionary(old.manifest.column("y"))):
        with pytest.raises(TableDroppedError, match="dropped"):
            read()
    old.close()
    with pytest.raises(NotFoundError, match="version 3 is not available"):
        db.snapshot("t", version=3)  # the old table's version: gone with it
    db.drop_table("t")
    with pytest.raises(NotFoundError):
        db.snapshot("t")
