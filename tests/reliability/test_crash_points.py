"""RELIABILITY.md 2-3 beyond tests/storage/test_crash.py and test_writer.py: the crash
point in the middle of an index build, and a real fdatasync failure from the kernel
(strace's fault injection) rather than from the file-operation layer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from storage import _support as sup

from mapdb.storage.database import DatabaseStore

from . import workers


def _indexed_table(db_path) -> DatabaseStore:
    """The crash test table (batches 0..2, three segments) with hash indexes on k and s:
    an index build writes two files per segment."""
    db = DatabaseStore(db_path)
    w = db.create_writer("t", sup.CRASH_SCHEMA, sup.crash_batch(0), dictionary=["s"])
    w.write(sup.crash_batch(0))
    w.commit()
    w.create_index("k", "hash")
    w.create_index("s", "hash")
    for k in (1, 2):
        w.write(sup.crash_batch(k))
        w.commit()
    w.close()
    return db


def _state(db: DatabaseStore) -> tuple:
    snap = db.snapshot("t")
    try:
        assert snap.verify() == []
        m = snap.manifest
        return (snap.version, sup.check_crash_table(snap.to_arrow()), len(m.segments),
                sorted((ix.name, sorted(ix.files)) for ix in m.indexes))
    finally:
        snap.close()


@pytest.mark.parametrize("mode", ["append", "compact", "create_index"])
def test_crash_in_the_middle_of_an_index_build(db_path, mode):
    db = _indexed_table(db_path)
    before = _state(db)
    p = sup.start(workers.crash_mid_index, str(db_path), mode)
    assert sup.join(p) == -signal.SIGKILL, "the crash point did not fire"
    db = DatabaseStore(db_path)
    assert _state(db) == before  # exactly the old version
    left = sup.leftovers(db.table_dir("t"))
    index_dir = os.path.join(db.table_dir("t"), "indexes")
    named = {ref.name for ix in sup.current_manifest(db.table_dir("t")).indexes
             for ref in ix.files.values()}
    orphans = set(os.listdir(index_dir)) - named
    assert orphans, "the half-built index left no file behind (did it crash mid-build?)"
    if mode != "create_index":
        assert left, "the segment being written should be left behind"
    db.writer("t").close()  # a writer reclaims what the dead one left
    assert sup.leftovers(db.table_dir("t")) == []
    assert set(os.listdir(index_dir)) == named
    assert _state(db) == before
    with db.writer("t") as w:  # and the table takes commits again, indexes and all
        w.write(sup.crash_batch(3))
    after = _state(db)
    assert after[1] == 3
    snap = db.snapshot("t")
    from mapdb.storage.index import open_hash_index
    ix = open_hash_index(snap, snap.manifest.index("k_hash"))
    assert {seg: rows.tolist() for seg, rows in ix.lookup([3]).items()} != {}
    ix.close()
    snap.close()


STRACE_CHILD = textwrap.dedent("""
    import json, sys
    from mapdb.errors import PoisonedWriterError, StorageError
    from mapdb.storage.database import DatabaseStore
    import pyarrow as pa
    db = DatabaseStore(sys.argv[1])
    w = db.writer("t")
    w.write(pa.table({"x": list(range(1000))}))
    out = {}
    try:
        w.commit()
        out["outcome"] = "committed"
    except StorageError as e:
        out["outcome"] = "StorageError"
        out["message"] = str(e)
        out["poisoned"] = w.poisoned is not None
        try:
            w.write(pa.table({"x": [1]}))
        except PoisonedWriterError as e2:
            out["refused"] = str(e2)
    w.close()
    print(json.dumps(out))
""")


def test_real_fdatasync_failure_from_the_kernel(db_path):
    """strace makes the first fdatasync(2) of the child fail with EIO (the syscall is not
    made): the commit fails, the writer is poisoned, nothing is published."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    import pyarrow as pa
    db = DatabaseStore(db_path)
    w = db.create_writer("t", pa.schema([("x", pa.int64())]), None)
    w.write(pa.table({"x": [1, 2, 3]}))
    w.commit()
    w.close()
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync",
                        "-e", "inject=fdatasync:error=EIO:when=1", sys.executable, "-c",
                        STRACE_CHILD, str(db_path)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0 and "ptrace" in r.stderr:
        pytest.skip(f"strace cannot trace here: {r.stderr.strip()[:200]}")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["outcome"] == "StorageError", out
    assert "Input/output error" in out["message"] and "fdatasync" in out["message"], out
    assert out["poisoned"] and "reopen" in out["refused"], out
    snap = db.snapshot("t")
    assert snap.version == 1 and snap.column("x").to_pylist() == [1, 2, 3]
    assert snap.verify() == []
    snap.close()
    db.writer("t").close()
    assert sup.leftovers(db.table_dir("t")) == []
