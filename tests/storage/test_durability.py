"""Durability modes (docs/durability.md): full syncs, os and none do not; every mode keeps
the commit order, so a killed process leaves exactly the old or the new version."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest
from click.testing import CliRunner

import mapdb
from mapdb import _ext
from mapdb.cli import main
from mapdb.errors import InvalidOptionError, MapdbError, ReadOnlyError
from mapdb.storage import fileops
from mapdb.storage.database import DatabaseStore

from . import _support as sup
from .test_crash import APPEND_POINTS, CREATE_POINTS

MODES = ("full", "os", "none")


# -- which syscalls each mode makes ------------------------------------------------------------
@pytest.fixture
def syscalls(monkeypatch) -> Counter:
    """Counts of the durability syscalls, however they are reached: the OS layer's
    functions and Python's own os.fsync/os.fdatasync."""
    n: Counter = Counter()

    def counting(name, fn):
        def wrapper(*args, **kwargs):
            n[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    for name in ("fsync", "fdatasync", "fsync_path", "start_writeback"):
        monkeypatch.setattr(_ext, name, counting(name, getattr(_ext, name)))
    monkeypatch.setattr(os, "fsync", counting("os.fsync", os.fsync))
    monkeypatch.setattr(os, "fdatasync", counting("os.fdatasync", os.fdatasync))
    return n


def _new_files(before, after) -> int:
    """Data files ``after`` names that ``before`` does not (what one commit wrote)."""
    def names(m):
        out = {(s.id, r.name) for s in m.segments for c in s.columns.values()
               for _, r in c.refs()}
        out |= {(col, c.id, x) for col, cs in m.dictionaries.items() for c in cs
                for x in ("offsets", "data")}
        out |= {r.name for ix in m.indexes for r in ix.files.values()}
        return out
    return len(names(after) - (names(before) if before is not None else set()))


def _table(db_path, durability="full") -> DatabaseStore:
    return sup.new_crash_table(db_path, durability)


def _append(db, k, durability=None, index=False):
    w = db.writer("t", durability=durability)
    try:
        base = w.base
        w.write(sup.crash_batch(k))
        new = w.commit()
        if index:
            w.create_index("k", name=f"k{k}")
    finally:
        w.close()
    return base, new


@pytest.mark.parametrize("mode", MODES)
def test_syscalls_per_commit(db_path, syscalls, mode):
    """full: one fdatasync and one write-back start per data file of the commit, the
    manifest's fsync, directory fsyncs. os: write-back starts only. none: nothing."""
    db = _table(db_path)  # a full commit: the os/none commits below inherit durable files
    for k in (1, 2):
        syscalls.clear()
        calls0 = fileops.calls.copy()
        base, new = _append(db, k, mode)
        files = _new_files(base, new)
        assert files >= 6  # three columns: data and zone map each (plus dictionary chunks)
        ops = {op: fileops.calls[op] - calls0[op] for op in ("fsync", "fsync_dir",
                                                             "writeback")}
        if mode == "full":
            assert syscalls["fdatasync"] == files
            assert syscalls["fsync"] == 1  # the manifest temp file
            assert syscalls["fsync_path"] >= 3  # segment dir, segments/, manifests/
            assert syscalls["start_writeback"] == files
            assert ops == {"fsync": files + 1, "fsync_dir": syscalls["fsync_path"],
                           "writeback": files}
        else:  # os: the data files' and the manifest's write-back is started
            writeback = files + 1 if mode == "os" else 0
            assert syscalls == Counter({"start_writeback": writeback} if writeback else {})
            assert ops == {"fsync": 0, "fsync_dir": 0, "writeback": writeback}
        assert syscalls["os.fsync"] == syscalls["os.fdatasync"] == 0


@pytest.mark.parametrize("mode", ["os", "none"])
def test_no_sync_in_any_commit_kind(db_path, syscalls, mode):
    """create, append, compaction, index create/drop, drop table: not one sync."""
    db = DatabaseStore(db_path, durability=mode)
    syscalls.clear()
    b = sup.crash_batch(0)
    w = db.create_writer("t", sup.CRASH_SCHEMA, b, dictionary=["s"])
    w.write(b)
    w.commit()
    w.close()
    _append(db, 1, index=True)
    w = db.writer("t")
    w.write(sup.crash_batch(2))
    w.commit()
    assert len(w.compact().segments) == 1
    w.drop_index("k1")
    w.close()
    db.drop_table("t")
    syncs = {k: v for k, v in syscalls.items() if k != "start_writeback"}
    assert syncs == {}
    assert bool(syscalls["start_writeback"]) == (mode == "os")


def test_sync_failures_cannot_happen_without_syncs(db_path):
    """An fsync fault would poison a full writer; an os writer never calls fsync."""
    db = _table(db_path)
    w = db.writer("t", durability="os")
    w.write(sup.crash_batch(1))
    with fileops.inject_fault("fsync", nth=1, persistent=True), \
            fileops.inject_fault("fsync_dir", nth=1, persistent=True):
        w.commit()
    assert w.poisoned is None
    w.close()
    assert _content(db)[1] == 1


def test_full_commit_after_os_commits_syncs_what_it_inherits(db_path, monkeypatch):
    """Files written by os commits may be only in the page cache; a full commit on top
    syncs every file it names (and the database directory, for a table created in os
    mode), so 'full' means durable whatever came before."""
    db = _table(db_path, durability="os")
    _append(db, 1, "os")
    synced: list[str] = []
    dirs: list[str] = []
    real_sync, real_dir = fileops.fdatasync_path, fileops.fsync_dir
    monkeypatch.setattr(fileops, "fdatasync_path",
                        lambda p: (synced.append(p), real_sync(p))[1])
    monkeypatch.setattr(fileops, "fsync_dir", lambda p: (dirs.append(p), real_dir(p))[1])
    base, new = _append(db, 2, "full")
    snap = db.snapshot("t")
    named = {f.path for f in snap.files()}
    snap.close()
    assert named <= set(synced), sorted(named - set(synced))[:5]
    assert str(db_path) in dirs and db.table_dir("t") in dirs
    assert new.durability == "full" and base.durability == "os"
    # and the next full commit is back to syncing only its own files
    synced.clear()
    base, new = _append(db, 3, "full")
    assert len(synced) == _new_files(base, new)


# -- process crashes: os and none are exactly as safe as full ----------------------------------
def _content(db: DatabaseStore, name: str = "t") -> tuple[int, int]:
    snap = db.snapshot(name)
    try:
        t = snap.to_arrow()
        assert snap.verify() == []
        return snap.version, sup.check_crash_table(t)
    finally:
        snap.close()


def _two_commit_table(db_path) -> DatabaseStore:
    db = _table(db_path, durability="os")
    _append(db, 1, "os")
    return db


@pytest.mark.parametrize("mode", ["os", "none"])
@pytest.mark.parametrize("point", list(APPEND_POINTS))
def test_crash_point_during_append(db_path, point, mode):
    db = _two_commit_table(db_path)
    old = _content(db)
    p = sup.start(sup.crash_at, str(db_path), point, "append", mode)
    assert sup.join(p) == -signal.SIGKILL
    db = DatabaseStore(db_path)
    now = _content(db)
    assert now == ((old[0] + 1, 2) if APPEND_POINTS[point] else old)
    db.writer("t").close()  # reclaims
    assert sup.leftovers(db.table_dir("t")) == []
    _append(db, now[1] + 1, mode)
    assert _content(db)[1] == now[1] + 1


@pytest.mark.parametrize("point", [p for p in APPEND_POINTS if p != "after-data-sync"])
def test_crash_point_during_compaction(db_path, point):
    db = _two_commit_table(db_path)
    old = _content(db)
    p = sup.start(sup.crash_at, str(db_path), point, "compact", "os")
    assert sup.join(p) == -signal.SIGKILL
    db = DatabaseStore(db_path)
    assert _content(db)[1] == old[1]
    snap = db.snapshot("t")
    assert len(snap.manifest.segments) == (1 if APPEND_POINTS[point] else 2)
    snap.close()
    db.writer("t").close()
    assert sup.leftovers(db.table_dir("t")) == []


@pytest.mark.parametrize("point", CREATE_POINTS)
def test_crash_point_during_create(db_path, point):
    db = _two_commit_table(db_path)
    p = sup.start(sup.crash_at, str(db_path), point, "create", "os")
    assert sup.join(p) == -signal.SIGKILL
    db = DatabaseStore(db_path)  # removes the dead process's staging directory
    assert db.tables() == ["t"]
    assert sup.db_leftovers(str(db_path)) == []
    assert _content(db)[1] == 1


@pytest.mark.parametrize("mode", MODES)
def test_kill_right_after_commit_returns(db_path, mode):
    """Process-crash durability: what commit acknowledged is there after kill -9."""
    db = _table(db_path)
    for k in (1, 2, 3):
        p = sup.start(sup.commit_then_die, str(db_path), k, mode)
        assert sup.join(p) == -signal.SIGKILL
        assert _content(DatabaseStore(db_path, readonly=True))[1] == k
    snap = db.snapshot("t")
    assert {f"job-{k}" for k in (1, 2, 3)} <= set(snap.manifest.jobs)
    assert snap.manifest.durability == mode
    snap.close()


def test_kill_9_during_os_appends(db_path, tmp_path):
    """Random kills of a writer committing in os mode: every acknowledged batch is there,
    nothing partial is visible, the files verify."""
    import random
    rng = random.Random(6)
    _table(db_path)
    ack_path = tmp_path / "acks"
    ack_path.touch()
    K = 0
    for i in range(10):
        acked = len(ack_path.read_text().splitlines())
        p = sup.start(sup.append_forever, str(db_path), str(ack_path), 6, 10_000, "os")
        deadline = time.monotonic() + 30  # one commit first (a loaded machine starts slowly)
        while len(ack_path.read_text().splitlines()) == acked and p.exitcode is None:
            assert time.monotonic() < deadline, "no commit within 30 s"
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.1))  # then a random moment of the following ones
        os.kill(p.pid, signal.SIGKILL)
        assert sup.join(p) == -signal.SIGKILL, f"child {i} ended before the kill"
        with open(ack_path) as f:
            acks = {int(k): int(r) for _, k, r in (line.split() for line in f)}
        _, newK = _content(DatabaseStore(db_path, readonly=True))
        assert all(k <= newK for k in acks), (sorted(acks)[-3:], newK)
        assert newK >= K
        K = newK
    assert K >= 10


# -- where the mode comes from ------------------------------------------------------------------
def _last_mode(db, name="t") -> str:
    t = db.table(name)
    try:
        return t._snap.manifest.durability
    finally:
        t.close()


def test_precedence_call_over_database_over_mapdb_json(disk_dir):
    path = disk_dir / "db"
    db = mapdb.connect(path)
    assert db.durability == "full"
    db.create_table("t", {"x": [1]})
    assert _last_mode(db) == "full"
    db.set_durability("os")  # persisted; this object named no mode, so it follows
    assert db.durability == "os"
    db.table("t").append({"x": [2]})
    assert _last_mode(db) == "os"
    db.table("t").append({"x": [3]}, durability="none")  # per call wins
    assert _last_mode(db) == "none"
    db2 = mapdb.connect(path, durability="full")  # per Database wins over mapdb.json
    assert db2.durability == "full"
    db2.table("t").append({"x": [4]})
    assert _last_mode(db2) == "full"
    db2.table("t").append({"x": [5]}, durability="os")  # per call wins over Database
    assert _last_mode(db2) == "os"
    db2.create_table("u", {"y": [1]}, durability="none")
    assert _last_mode(db2, "u") == "none"
    csv = disk_dir / "x.csv"
    csv.write_text("x\n6\n")
    db2.ingest("t", csv, durability="none")
    assert _last_mode(db2) == "none"
    db2.ingest("t", csv)
    assert _last_mode(db2) == "full"
    assert mapdb.connect(path).durability == "os"  # a new connection reads mapdb.json
    t = db.table("t")
    assert t.column("x").to_numpy().tolist() == [1, 2, 3, 4, 5, 6, 6]
    assert t.verify() == []
    # compaction and indexes follow the Database's mode
    db2.table("t").compact()
    assert _last_mode(db2) == "full"
    mapdb.connect(path).table("t").create_index("x")
    assert _last_mode(db) == "os"


def test_persisted_setting_round_trip(disk_dir):
    path = disk_dir / "db"
    db = mapdb.connect(path)
    marker = path / "mapdb.json"
    assert json.loads(marker.read_text()) == {"format": "mapdb", "version": 1}
    for mode in ("os", "none", "full"):
        db.set_durability(mode)
        assert json.loads(marker.read_text()) == {"format": "mapdb", "version": 1,
                                                  "durability": mode}
        assert mapdb.connect(path).durability == mode
        assert mapdb.connect(path, readonly=True).durability == mode
    db.set_durability(None)  # back to the default: the key goes
    assert json.loads(marker.read_text()) == {"format": "mapdb", "version": 1}
    assert mapdb.connect(path).durability == "full"
    assert sup.db_leftovers(str(path)) == []
    with pytest.raises(ReadOnlyError):
        mapdb.connect(path, readonly=True).set_durability("os")


def test_bad_names(disk_dir):
    path = disk_dir / "db"
    with pytest.raises(InvalidOptionError, match=r"'fast': expected one of full, os, none"):
        mapdb.connect(path, durability="fast")
    assert not path.exists()  # refused before the directory was created
    db = mapdb.connect(path)
    db.create_table("t", {"x": [1]})
    for call in (lambda: db.create_table("u", {"x": [1]}, durability="FULL"),
                 lambda: db.table("t").append({"x": [2]}, durability="sync"),
                 lambda: db.ingest("t", disk_dir / "missing.csv", durability=""),
                 lambda: db.set_durability("fsync"),
                 lambda: DatabaseStore(path).writer("t", durability=1)):
        with pytest.raises(InvalidOptionError, match="expected one of full, os, none") as e:
            call()
        assert isinstance(e.value, MapdbError) and isinstance(e.value, ValueError)
    assert db.tables() == ["t"] and len(db.table("t")) == 1
    # a bad value in mapdb.json: reads work, writes say where the value came from
    (path / "mapdb.json").write_text('{"format": "mapdb", "version": 1, "durability": "x"}')
    db = mapdb.connect(path)
    assert len(db.table("t")) == 1
    with pytest.raises(InvalidOptionError, match=r"mapdb\.json: durability 'x'"):
        db.table("t").append({"x": [2]})
    db.table("t").append({"x": [2]}, durability="os")  # an explicit mode does not ask it
    db.set_durability("os")  # and the setting can be repaired
    assert mapdb.connect(path).durability == "os"


# -- the command line ---------------------------------------------------------------------------
def test_cli_ingest_durability(disk_dir):
    path = str(disk_dir / "db")
    csv = disk_dir / "x.csv"
    csv.write_text("x\n1\n2\n")
    run = CliRunner().invoke
    r = run(main, ["ingest", path, "t", str(csv), "--durability", "os"])
    assert r.exit_code == 0, r.output
    db = mapdb.connect(path)
    assert _last_mode(db) == "os"
    r = run(main, ["ingest", path, "t", str(csv)])
    assert r.exit_code == 0 and _last_mode(db) == "full"
    r = run(main, ["ingest", str(disk_dir / "new"), "t", str(csv), "--durability", "fast"])
    assert r.exit_code == 1
    assert r.output == ("mapdb: error: --durability 'fast': expected one of full, os, "
                        "none\n")
    assert not (disk_dir / "new").exists()


def test_cli_durability_command(disk_dir):
    path = str(disk_dir / "db")
    mapdb.connect(path)
    run = CliRunner().invoke
    assert run(main, ["durability", path]).output == "full\n"
    r = run(main, ["durability", path, "os"])
    assert r.exit_code == 0 and r.output == f"{path}: durability os\n"
    assert run(main, ["durability", path]).output == "os\n"
    csv = disk_dir / "x.csv"
    csv.write_text("x\n1\n")
    assert run(main, ["ingest", path, "t", str(csv)]).exit_code == 0
    assert _last_mode(mapdb.connect(path)) == "os"
    r = run(main, ["durability", path, "quick"])
    assert r.exit_code == 1
    assert r.output == "mapdb: error: durability 'quick': expected one of full, os, none\n"
    r = run(main, ["durability", str(disk_dir / "nothing"), "os"])
    assert r.exit_code == 1 and "no mapdb database here" in r.output
    assert not (disk_dir / "nothing").exists()
