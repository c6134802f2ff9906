"""The ``mapdb`` command as a process (issue 15 item 7): a reader of stdout that leaves
early, Ctrl-C, ``-o`` over an existing file, and an empty database path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main
from mapdb.errors import InvalidOptionError

MAPDB = [sys.executable, "-m", "mapdb.cli"]


def _shell(command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", "set -o pipefail; " + command],
                          capture_output=True, text=True, timeout=timeout)


def _quote(args) -> str:
    import shlex
    return " ".join(shlex.quote(str(a)) for a in args)


# -- stdout closed early ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """A table whose cache status, describe and rows are each well over a pipe's 64 KiB:
    ``| head -1`` then always leaves before mapdb has written everything."""
    path = tmp_path_factory.mktemp("wide") / "db"
    db = mapdb.connect(path)
    pad = "a_rather_long_column_name_" * 4
    db.create_table("w", pa.table({f"{pad}{i:04d}": pa.array([i]) for i in range(1500)}),
                    durability="none")
    db.close()
    return path


@pytest.mark.parametrize("args", [["cache", "status", "{db}"], ["describe", "{db}", "w"],
                                  ["query", "{db}", "SELECT * FROM w"]])
def test_reader_leaving_early_is_quiet(wide, args):
    """``mapdb ... | head -1``: the first line, status 0 (under pipefail too), nothing on
    stderr. It printed "mapdb: error: [Errno 32] Broken pipe" with status 1."""
    args = [a.format(db=wide) for a in args]
    full = subprocess.run(MAPDB + args, capture_output=True, text=True, timeout=120)
    assert full.returncode == 0, full.stderr
    assert len(full.stdout) > 150_000  # head leaves while mapdb still has lines to write
    p = _shell(f"{_quote(MAPDB + args)} | head -1")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout == full.stdout.splitlines(keepends=True)[0]


def test_stdout_closed_before_the_first_write(wide):
    """A reader that is gone before anything is written (``| true``): the same."""
    p = _shell(f"{_quote([*MAPDB, 'cache', 'status', wide])} | true")
    assert (p.returncode, p.stderr) == (0, "")


# -- Ctrl-C ---------------------------------------------------------------------------------

def _interrupt(proc: subprocess.Popen, ready, timeout: float = 60.0) -> tuple[int, str, float]:
    """SIGINT once ``ready()`` holds; (status, stderr, seconds from the signal to exit)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never got going"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err, time.monotonic() - t0


def test_ctrl_c_during_a_query(tmp_path):
    """A query whose morsels take a while (each scan batch sleeps 0.25 s on one of two
    workers): Ctrl-C ends it with one line and status 130, without waiting for the rest."""
    db = mapdb.connect(tmp_path / "db")
    n = 40 * (1 << 17)  # 40 morsels: 5 s of work for two workers
    db.create_table("t", pa.table({"x": pa.array(range(n), pa.int64())}), durability="none")
    db.close()
    started = tmp_path / "started"
    script = textwrap.dedent(f"""
        import time
        import mapdb.query.executor as ex
        real = ex.scan_batch
        def slow(*a, **k):
            open({str(started)!r}, "w").close()
            time.sleep(0.25)
            return real(*a, **k)
        ex.scan_batch = slow
        ex.default_workers = lambda: 2
        from mapdb.cli import main
        main(prog_name="mapdb")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, "query", str(tmp_path / "db"),
                             "SELECT x FROM t WHERE x % 1000 = 7"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status, err, took = _interrupt(proc, started.exists)
    assert (status, err) == (130, "mapdb: interrupted\n")
    assert took < 3.0, took


def test_ctrl_c_during_an_ingest_waiting_for_the_lock(tmp_path):
    """``mapdb ingest --wait 60`` waiting for another writer: Ctrl-C gives status 130 and
    one line; the table is as it was and the next writer gets the lock at once."""
    path = tmp_path / "db"
    db = mapdb.connect(path)
    db.create_table("t", {"x": [1, 2, 3]})
    csv = tmp_path / "more.csv"
    csv.write_text("x\n" + "\n".join(str(i) for i in range(1000)) + "\n")
    holder, _ = _hold_lock(path, "t", tmp_path)
    try:
        proc = subprocess.Popen([*MAPDB, "ingest", str(path), "t", str(csv), "--wait", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        status, err, took = _interrupt(proc, lambda: time.monotonic() - t0 > 1.5)
    finally:
        holder.kill()
        holder.wait()
    assert (status, err) == (130, "mapdb: interrupted\n")
    assert took < 3.0, took
    assert len(db.table("t")) == 3
    r = CliRunner().invoke(main, ["ingest", str(path), "t", str(csv)])
    assert r.exit_code == 0, r.output
    assert len(db.table("t")) == 1003


def _hold_lock(path, table: str, tmp_path, hold: float = 120.0):
    """Another process holding ``table``'s writer lock; (process, its pid)."""
    ready = tmp_path / f"ready-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from mapdb.storage.database import DatabaseStore
        w = DatabaseStore({str(path)!r}).writer({table!r})
        open({str(ready)!r}, "w").close()
        time.sleep({hold})
        w.close()
    """)])
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, "the lock holder died"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc, proc.pid


# -- -o over an existing file -----------------------------------------------------------------

@pytest.fixture()
def small(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", {"x": [1, 2]})
    db.close()
    return tmp_path / "db"


def test_output_keeps_an_existing_files_mode(small, tmp_path):
    """A 0400 report replaced by ``-o`` stays 0400 (it became 0644)."""
    for mode in (0o400, 0o640, 0o600):
        out = tmp_path / f"report-{mode:o}.csv"
        out.write_text("old\n")
        out.chmod(mode)
        r = CliRunner().invoke(main, ["query", str(small), "SELECT x FROM t ORDER BY x",
                                      "--format", "csv", "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert out.read_text() == '"x"\n1\n2\n'
        assert out.stat().st_mode & 0o7777 == mode
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_output_new_file_follows_the_umask(small, tmp_path):
    out = tmp_path / "new.csv"
    old = os.umask(0o027)
    try:
        r = CliRunner().invoke(main, ["query", str(small), "SELECT x FROM t", "--format",
                                      "csv", "-o", str(out)])
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert out.stat().st_mode & 0o777 == 0o640


def test_output_through_a_symlink_writes_its_target(small, tmp_path):
    """As ``> link`` would: the file the link names gets the result (and keeps its mode);
    the link stays a link."""
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o600)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    r = CliRunner().invoke(main, ["query", str(small), "SELECT x FROM t ORDER BY x",
                                  "--format", "csv", "-o", str(link)])
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and real.read_text() == '"x"\n1\n2\n'
    assert real.stat().st_mode & 0o777 == 0o600


# -- an empty database path -------------------------------------------------------------------

def test_connect_refuses_an_empty_path(tmp_path, monkeypatch):
    """``connect("")`` meant the current directory (a database created there)."""
    monkeypatch.chdir(tmp_path)
    for path in ("", b""):
        with pytest.raises(InvalidOptionError, match="database path is empty"):
            mapdb.connect(path)
        with pytest.raises(InvalidOptionError):
            mapdb.connect(path, readonly=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["tables", ""], ["query", "", "SELECT 1"],
                                  ["ingest", "", "t", "x.csv"], ["cache", "status", ""],
                                  ["describe", "", "t"], ["compact", "", "t"],
                                  ["drop", "", "t"], ["index", "list", "", "t"]])
def test_cli_refuses_an_empty_path(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("a\n1\n")
    mapdb.connect(tmp_path / "db").close()  # a database elsewhere: not this one
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1, r.output
    assert r.stderr.splitlines() == [
        'mapdb: error: the database path is empty; give a directory ("." for the current '
        'one)']
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "x.csv"]
