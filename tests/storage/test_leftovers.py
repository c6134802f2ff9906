"""Leftovers and hostile entries inside a database (RELIABILITY.md 21, issue 15 items 5-6):
every interrupted operation is cleaned up by the next writable open, a stray entry at a
name the writer needs next is removed, writes never go through a symlink, and bad paths
are mapdb errors."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from mapdb.errors import InvalidOptionError, StorageError
from mapdb.storage.database import DatabaseStore

from . import _support as sup


def _table(db_path) -> DatabaseStore:
    db = DatabaseStore(db_path)
    w = db.create_writer("t", pa.schema([("x", pa.int64())]), None)
    w.write(pa.table({"x": [1, 2, 3]}))
    w.commit()
    w.close()
    return db


def _drop_and_die(db_path: str) -> None:
    os.environ["MAPDB_CRASH_AT"] = "after-drop-rename"
    DatabaseStore(db_path).drop_table("t")
    os._exit(3)  # the crash point did not fire


def test_a_drop_killed_midway_leaves_trash_that_the_next_writable_open_removes(db_path):
    _table(db_path)
    p = sup.start(_drop_and_die, str(db_path))
    assert sup.join(p) == -9
    trash = [n for n in os.listdir(db_path) if n.startswith(".trash-")]
    assert len(trash) == 1 and str(p.pid) in trash[0]
    DatabaseStore(db_path, readonly=True)  # a reader removes nothing
    assert os.path.isdir(os.path.join(db_path, trash[0]))
    db = DatabaseStore(db_path)
    assert not [n for n in os.listdir(db_path) if n.startswith(".trash-")]
    assert db.tables() == []


def test_trash_of_a_live_process_is_left_alone(db_path):
    _table(db_path)
    mine = os.path.join(db_path, f".trash-{os.getpid()}-0123456789ab")
    old = os.path.join(db_path, ".trash-" + "ab" * 16)  # before the pid was in the name
    os.mkdir(mine)
    os.mkdir(old)
    DatabaseStore(db_path)
    assert os.path.isdir(mine) and not os.path.exists(old)


@pytest.mark.parametrize("what", ["file", "symlink", "dir"])
def test_an_entry_at_the_next_segments_name_is_reclaimed(db_path, tmp_path, what):
    db = _table(db_path)
    snap = db.snapshot("t")
    nxt = os.path.join(db.table_dir("t"), "segments", f"s{snap.manifest.next_id:012d}")
    snap.close()
    outside = tmp_path / "outside"
    outside.mkdir()
    if what == "file":
        open(nxt, "w").close()
    elif what == "symlink":
        os.symlink(outside, nxt)
    else:
        os.mkdir(nxt)
    w = db.writer("t")
    w.write(pa.table({"x": [4]}))
    w.commit()
    w.close()
    snap = db.snapshot("t")
    assert snap.to_arrow().column("x").to_pylist() == [1, 2, 3, 4]
    assert snap.verify() == []
    snap.close()
    assert list(outside.iterdir()) == []  # nothing written through the link


@pytest.mark.parametrize("sub", ["", "segments", "manifests", "dicts"])
def test_writes_never_follow_a_symlinked_directory(db_path, tmp_path, sub):
    db = _table(db_path)
    target = tmp_path / "elsewhere"
    d = os.path.join(db.table_dir("t"), sub) if sub else db.table_dir("t")
    os.rename(d, target)
    os.symlink(target, d)
    before = sorted(p.name for p in target.rglob("*"))
    with pytest.raises(StorageError, match="symlink"):
        w = db.writer("t")
        w.write(pa.table({"x": [4]}))
        w.commit()
    assert sorted(p.name for p in target.rglob("*")) == before


def test_bad_database_paths_are_mapdb_errors(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StorageError, match="is a file"):
        DatabaseStore(f)
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    with pytest.raises(StorageError, match="symlink"):
        DatabaseStore(loop)
    with pytest.raises(StorageError, match="cannot open or create"):
        DatabaseStore(f / "below")  # a file where a directory should be
    with pytest.raises(InvalidOptionError, match="empty"):
        DatabaseStore("")


def test_a_lock_that_cannot_be_opened_is_a_mapdb_error(db_path):
    db = _table(db_path)
    lock = os.path.join(db.table_dir("t"), "LOCK")
    os.unlink(lock)
    os.mkdir(lock)
    with pytest.raises(StorageError, match="writer lock"):
        db.writer("t")
    os.rmdir(lock)
    os.symlink("/nonexistent", lock)
    with pytest.raises(StorageError, match="symlink"):
        db.writer("t")
