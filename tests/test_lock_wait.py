"""Waiting for another writer (issue 15 item 7): every write of the API takes
``lock_timeout=`` and every writing CLI verb ``--wait SECONDS``, as ingest did. The lock's
holder is another process; a waiter succeeds when it lets go in time and otherwise gets a
LockedError naming its pid."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main
from mapdb.errors import LockedError


class Holder:
    """Another process holding table ``t``'s writer lock until ``release()`` (or kill)."""

    def __init__(self, path, tmp_path):
        self.ready = tmp_path / f"ready-{time.monotonic_ns()}"
        self.go = tmp_path / f"go-{time.monotonic_ns()}"
        self.proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import os, time
            from mapdb.storage.database import DatabaseStore
            w = DatabaseStore({str(path)!r}).writer("t")
            open({str(self.ready)!r}, "w").close()
            deadline = time.monotonic() + 120
            while not os.path.exists({str(self.go)!r}) and time.monotonic() < deadline:
                time.sleep(0.01)
            w.close()
        """)])
        self.pid = self.proc.pid
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            assert self.proc.poll() is None, "the lock holder died"
            assert time.monotonic() < deadline
            time.sleep(0.01)

    def release(self, after: float) -> None:
        """Let go of the lock ``after`` seconds from now (from a thread)."""
        def go():
            time.sleep(after)
            self.go.touch()
        threading.Thread(target=go, daemon=True).start()

    def close(self) -> None:
        self.go.touch()
        try:
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture()
def db(tmp_path):
    """Table t: 4 rows in two segments (something to compact), a hash index on v."""
    d = mapdb.connect(tmp_path / "db")
    t = d.create_table("t", {"k": [1, 2, 3], "v": ["a", "b", "c"]})
    t.append({"k": [4], "v": ["d"]})
    t.create_index("v")
    t.close()
    return d


# each: (what, call(db, lock_timeout), check(db) after it succeeded)
def _append(db, timeout):
    db["t"].append({"k": [4], "v": ["d"]}, lock_timeout=timeout)


def _compact(db, timeout):
    db["t"].compact(lock_timeout=timeout)


def _create_index(db, timeout):
    db["t"].create_index("k", unique=True, lock_timeout=timeout)


def _drop_index(db, timeout):
    db["t"].drop_index("v", lock_timeout=timeout)


def _drop_table(db, timeout):
    db.drop_table("t", lock_timeout=timeout)


def _create_append(db, timeout):
    db.create_table("t", {"k": [4], "v": ["d"]}, mode="append", lock_timeout=timeout)


def _create_replace(db, timeout):
    db.create_table("t", {"k": [9], "v": ["z"]}, mode="replace", lock_timeout=timeout)


OPS = {
    "append": (_append, lambda db: len(db["t"]) == 5),
    "compact": (_compact, lambda db: db["t"].describe()["segments"] == 1 and len(db["t"]) == 4),
    "create_index": (_create_index, lambda db: "k_hash" in {i["name"]
                                                            for i in db["t"].indexes()}),
    "drop_index": (_drop_index, lambda db: "v_hash" not in {i["name"]
                                                            for i in db["t"].indexes()}),
    "drop_table": (_drop_table, lambda db: "t" not in db),
    "create_table_append": (_create_append, lambda db: len(db["t"]) == 5),
    "create_table_replace": (_create_replace,
                             lambda db: db["t"].to_arrow().column("k").to_pylist() == [9]),
}


@pytest.mark.parametrize("op", OPS)
def test_waits_for_the_holder(db, tmp_path, op):
    call, check = OPS[op]
    holder = Holder(db.path, tmp_path)
    try:
        holder.release(after=0.5)
        t0 = time.monotonic()
        call(db, 30.0)
        assert time.monotonic() - t0 >= 0.4  # it did wait
    finally:
        holder.close()
    assert check(db)


@pytest.mark.parametrize("op", OPS)
def test_gives_up_naming_the_holder(db, tmp_path, op):
    call, _ = OPS[op]
    holder = Holder(db.path, tmp_path)
    try:
        with pytest.raises(LockedError) as info:
            call(db, 0.3)
        assert info.value.pid == holder.pid
        assert f"locked by pid {holder.pid}" in str(info.value)
        assert "(waited 0.3s)" in str(info.value)
        with pytest.raises(LockedError):  # the default is not to wait
            call(db, 0.0)
    finally:
        holder.close()
    t = db["t"]  # nothing was written or dropped
    assert (len(t), t.describe()["segments"], [i["name"] for i in t.indexes()]) == \
        (4, 2, ["k_sorted", "v_hash"])


CLI = {
    "compact": ["compact", "{db}", "t"],
    "index create": ["index", "create", "{db}", "t", "k"],
    "index drop": ["index", "drop", "{db}", "t", "v"],
    "drop": ["drop", "{db}", "t"],
    "ingest": ["ingest", "{db}", "t", "{csv}"],
}


@pytest.mark.parametrize("verb", CLI)
def test_cli_wait(db, tmp_path, verb):
    csv = tmp_path / "more.csv"
    csv.write_text("k,v\n7,x\n")
    args = [a.format(db=db.path, csv=csv) for a in CLI[verb]]
    holder = Holder(db.path, tmp_path)
    try:
        r = CliRunner().invoke(main, [*args, "--wait", "0.3"])
        assert r.exit_code == 1, r.output
        assert r.stderr.splitlines() == [
            f"mapdb: error: table 't' is locked by pid {holder.pid}, which is writing to it "
            "(waited 0.3s)"]
        holder.release(after=0.5)
        r = CliRunner().invoke(main, [*args, "--wait", "30"])
        assert r.exit_code == 0, r.output
    finally:
        holder.close()
    assert "t" not in db if verb == "drop" else len(db["t"]) == (5 if verb == "ingest" else 4)


def test_cli_drop(db):
    r = CliRunner().invoke(main, ["drop", str(db.path), "t"])
    assert (r.exit_code, r.stdout) == (0, "dropped t\n")
    assert "t" not in db
    r = CliRunner().invoke(main, ["drop", str(db.path), "t"])
    assert r.exit_code == 1 and r.stderr == "mapdb: error: no table 't'\n"
