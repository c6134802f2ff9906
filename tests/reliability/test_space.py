"""RELIABILITY.md 5-6: a full disk (a small tmpfs mounted in a private mount namespace) and
a file-size limit (RLIMIT_FSIZE) during ingest; short writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from storage import _support as sup

import mapdb
from mapdb.storage import fileops

from . import checks, workers


def _csv(path, rows: int, start: int = 0) -> str:
    k = list(range(start, start + rows))
    pacsv.write_csv(pa.table({"k": k, "s": [f"name-{v % 1000}" for v in k],
                              "x": [v * 0.5 for v in k]}), path)
    return str(path)


DISK_FULL_CHILD = textwrap.dedent("""
    import json, os, sys
    import mapdb
    sys.path.insert(0, sys.argv[3])
    from reliability import checks
    from storage import _support as sup
    mnt, big = sys.argv[1], sys.argv[2]
    db = mapdb.connect(os.path.join(mnt, "db"), pin_budget=0)
    db.ingest("t", big.replace("big", "small"))
    db.table("t").create_index("k")
    before = checks.state(db, "t")
    filler = os.path.join(mnt, "filler")
    out = {"attempts": []}

    def free():
        st = os.statvfs(mnt)
        return st.f_bavail * st.f_frsize

    def fill(leave):
        if os.path.exists(filler):
            os.unlink(filler)
        with open(filler, "wb") as f:
            f.write(b"\\0" * max(0, free() - leave))

    def chain(e):
        out = []
        while e is not None:
            out.append(f"{type(e).__name__}: {e}")
            e = e.__cause__ or e.__context__
        return " <- ".join(out)

    imported = False
    for leave in range(0, 8 << 20, 384 << 10):
        fill(leave)
        a = {"free": free()}
        try:
            db.ingest("t", big)
            imported = True
            break
        except Exception as e:
            a["outcome"] = type(e).__name__
            a["mapdb"] = isinstance(e, mapdb.errors.MapdbError)
            a["chain"] = chain(e)
        a["unchanged"] = checks.state(db, "t") == before
        a["problems"] = checks.table_problems(db, "t")
        a["staging"] = sup.db_leftovers(db.path)
        out["attempts"].append(a)
    os.unlink(filler)  # space freed: the same job goes through
    if not imported:
        db.ingest("t", big)
    t = db.table("t")
    out["after"] = {"rows": len(t), "problems": t.verify(), "version": t.version}
    print(json.dumps(out))
""")


def _unshare_prefix() -> list[str] | None:
    """A command prefix that runs its argument in a private mount namespace where a tmpfs
    can be mounted, or None where that is not permitted."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return None
    for prefix in (["unshare", "-m", "--propagation", "private"],
                   ["unshare", "-r", "-m", "--propagation", "private"]):
        r = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=1m none /mnt"],
                           capture_output=True)
        if r.returncode == 0:
            return prefix
    return None


def test_disk_full_during_ingest(tmp_path):
    prefix = _unshare_prefix()
    if prefix is None:
        pytest.skip("cannot mount a tmpfs in a private mount namespace here (needs root "
                    "or user namespaces)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    _csv(tmp_path / "small.csv", 1000)
    big = _csv(tmp_path / "big.csv", 120_000, start=1000)
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = (f"mount -t tmpfs -o size=12m mapdb-full {mnt} && exec {sys.executable} -c "
              f"\"$0\" {mnt} {big} {tests_dir}")
    r = subprocess.run([*prefix, "sh", "-c", script, DISK_FULL_CHILD],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"the child died ({r.returncode}): {r.stderr[-2000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    failed = out["attempts"]
    assert len(failed) >= 5, out  # space ran out at several points of the job
    assert len({a["chain"].split(":")[-1] for a in failed}) >= 3, out  # in several files
    for a in failed:
        assert a["mapdb"] and a["outcome"] == "StorageError", a
        assert "No space left on device" in a["chain"], a
        # the writer reserves each file's space before writing it: a full disk fails in
        # posix_fallocate (or in the small manifest's write), never on a mapped page
        assert "fallocate" in a["chain"] or "manifest" in a["chain"] or "mkdir" in a["chain"], a
        assert a["unchanged"] and a["problems"] == [] and a["staging"] == [], a
    assert out["after"] == {"rows": 121_000, "problems": [], "version": 3}, out


def test_file_size_limit(db_path, tmp_path):
    db = mapdb.connect(db_path, pin_budget=0)
    db.ingest("t", _csv(tmp_path / "small.csv", 1000))
    before = checks.state(db, "t")
    big = _csv(tmp_path / "big.csv", 200_000, start=1000)
    result = tmp_path / "result.json"
    p = sup.start(workers.ingest_with_fsize_limit, str(db_path), big, 256 << 10, str(result))
    assert sup.join(p, timeout=120) == 0, "the child died (SIGXFSZ?)"
    out = json.loads(result.read_text())
    assert out["outcome"] == "StorageError" and out["mapdb"], out
    assert "File too large" in out["message"], out
    assert checks.state(db, "t") == before  # nothing committed
    assert checks.table_problems(db, "t") == []
    assert sup.db_leftovers(str(db_path)) == []
    db.ingest("t", big)  # without the limit the same job goes through
    assert len(db.table("t")) == 201_000
    db.close()


def test_short_writes_are_continued(db_path, tmp_path, monkeypatch):
    """pwrite(2) and write(2) may write less than asked (a signal, a file-size limit): the
    rest is written by the next call."""
    real_pwrite, real_write = os.pwrite, os.write
    calls = {"pwrite": 0, "write": 0}

    def short_pwrite(fd, data, offset):
        calls["pwrite"] += 1
        return real_pwrite(fd, memoryview(data)[:4093], offset)

    def short_write(fd, data):
        calls["write"] += 1
        return real_write(fd, memoryview(data)[:97])

    monkeypatch.setattr(fileops.os, "pwrite", short_pwrite)
    monkeypatch.setattr(fileops.os, "write", short_write)
    db = mapdb.connect(db_path, pin_budget=0)
    db.ingest("t", _csv(tmp_path / "a.csv", 20_000))
    monkeypatch.undo()
    t = db.table("t")
    assert calls["pwrite"] > 100 and calls["write"] > 10
    assert t.verify() == [] and len(t) == 20_000
    assert t.to_arrow().column("k").to_pylist() == list(range(20_000))
    db.close()
