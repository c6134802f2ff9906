"""Every `mapdb` subcommand with bad input (missing database, unknown table or column, bad
option values, damaged files, a locked table): exactly one line on stderr, starting with
"mapdb: error:", a non-zero exit status and no traceback; `mapdb --debug` shows the
traceback (RELIABILITY.md: "CLI: one line on stderr, non-zero exit, no traceback")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner
from storage import _support as sup

import mapdb
from mapdb.cli import main


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A database (table t with an index; table u, damaged), a CSV, a ragged CSV, a plain
    file and a foreign directory; ``locked``: a copy whose table t a child process holds."""
    root = tmp_path_factory.mktemp("cli")
    csv = root / "in.csv"
    pacsv.write_csv(pa.table({"k": [1, 2, 3], "s": ["a", "b", "c"]}), csv)
    (root / "ragged.csv").write_text("k,s\n1,a\n2\n")
    (root / "file.txt").write_text("not a database")
    (root / "foreign").mkdir()
    (root / "foreign" / "x").write_text("x")
    db = mapdb.connect(root / "db", pin_budget=0)
    db.ingest("t", csv)
    db.table("t").create_index("k")
    db.ingest("u", csv)
    snap = db._store.snapshot("u")
    damaged = next(f.path for f in snap.files() if f.role == "data")
    snap.close()
    db.close()
    os.truncate(damaged, 100)
    shutil.copytree(root / "db", root / "locked")
    ready = root / "ready"
    holder = sup.start(sup.hold_lock, str(root / "locked"), str(ready), 600.0)
    sup.wait_for_file(str(ready), proc=holder)
    yield {"root": root, "db": str(root / "db"), "csv": str(csv), "locked": str(root / "locked"),
           "ragged": str(root / "ragged.csv"), "file": str(root / "file.txt"),
           "foreign": str(root / "foreign"), "missing": str(root / "missing")}
    holder.kill()
    sup.join(holder)


CASES = [
    # ingest
    ("ingest", "{file}/db t {csv}"),
    ("ingest", "{db} t {root}/nosuch.csv"),
    ("ingest", "{db} t {ragged}"),
    ("ingest", "{db} t {csv} --format xml"),
    ("ingest", "{db} t {csv} --mode upsert"),
    ("ingest", "{db} t {csv} --schema k"),
    ("ingest", "{db} t {csv} --schema k=notatype"),
    ("ingest", "{db} t {csv} --schema nosuch=int8"),
    ("ingest", "{db} t {csv} --wait soon"),
    ("ingest", "{db} t {csv} --durability sometimes"),
    ("ingest", "{db} t {csv} --dictionary nosuch --mode replace"),
    ("ingest", "{db} '' {csv}"),
    ("ingest", "{file} t {csv}"),
    ("ingest", "{foreign} t {csv}"),
    ("ingest", "{locked} t {csv}"),
    ("ingest", "{db} t"),
    ("ingest", "{db} t {csv} --nosuch"),
    # tables, describe, verify, compact, durability
    ("tables", "{missing}"),
    ("tables", "{file}"),
    ("describe", "{db} nosuch"),
    ("describe", "{missing} t"),
    ("describe", "{db} u --json --nosuch"),
    ("verify", "{missing}"),
    ("verify", "{db} nosuch"),
    ("compact", "{db} nosuch"),
    ("compact", "{locked} t"),
    ("compact", "{missing} t"),
    ("durability", "{db} sometimes"),
    ("durability", "{missing}"),
    # query
    ("query", "{db} 'SELECT nosuch FROM t'"),
    ("query", "{db} 'SELECT * FROM nosuch'"),
    ("query", "{db} 'SELECT k FROM t WHERE'"),
    ("query", "{db} 'DROP TABLE nosuch'"),
    ("query", "{db} 'SELECT 1 FROM t; VACUUM'"),
    ("query", "{db} 'SELECT * FROM u'"),
    ("query", "{db}"),
    ("query", "{db} -f {root}/nosuch.sql"),
    ("query", "{db} 'SELECT k FROM t' --format xml"),
    ("query", "{db} 'SELECT k FROM t' --max-rows -3"),
    ("query", "{db} 'SELECT k FROM t' -o {missing}/dir/out.csv"),
    ("query", "{missing} 'SELECT 1 FROM t'"),
    # index
    ("index", "create {db} t nosuch"),
    ("index", "create {db} nosuch k"),
    ("index", "create {db} t k --kind btree"),
    ("index", "create {locked} t s"),
    ("index", "drop {db} t nosuch"),
    ("index", "list {db} nosuch"),
    ("index", "list {missing} t"),
    # cache
    ("cache", "status {missing}"),
    ("cache", "status {db} nosuch"),
    ("cache", "warm {db} nosuch"),
    ("cache", "warm {db} t --columns nosuch"),
    ("cache", "evict {db} nosuch"),
    ("cache", "pin {db} nosuch"),
    ("cache", "unpin {db} nosuch"),
    # selfcheck, demo, the group itself
    ("selfcheck", "--nosuch"),
    ("demo", "{file}"),
    ("nosuchcommand", ""),
    ("--nosuch", ""),
]


def _argv(env, command: str, args: str) -> list[str]:
    import shlex
    return [command, *shlex.split(args.format(**{k: str(v) for k, v in env.items()}))] \
        if command else shlex.split(args)


@pytest.mark.parametrize("command,args", CASES, ids=[f"{c} {a}" for c, a in CASES])
def test_bad_input_is_one_line_on_stderr(env, command, args):
    argv = _argv(env, command, args)
    r = CliRunner().invoke(main, argv)
    assert r.exit_code != 0, f"{argv}: exit 0\n{r.stdout}"
    assert r.exception is None or isinstance(r.exception, SystemExit), \
        f"{argv}: {type(r.exception).__name__}: {r.exception}"
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mapdb: error: "), f"{argv}:\n{r.stderr}"
    assert "Traceback" not in r.stdout + r.stderr


def test_verify_reports_damage_on_stdout_and_fails(env):
    r = CliRunner().invoke(main, ["verify", env["db"]])
    assert r.exit_code == 1 and r.stderr == ""
    assert "t: ok" in r.stdout and "u: 1 problem(s)" in r.stdout and "shorter than" in r.stdout


def test_a_real_process_has_no_traceback_and_debug_shows_it(env):
    argv = [sys.executable, "-m", "mapdb.cli", "describe", env["db"], "nosuch"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == ["mapdb: error: no table 'nosuch'"] or (
        len(r.stderr.splitlines()) == 1 and r.stderr.startswith("mapdb: error: "))
    r = subprocess.run([*argv[:3], "--debug", *argv[3:]], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "Traceback (most recent call last)" in r.stderr
    assert "NotFoundError" in r.stderr


def test_debug_shows_the_traceback_of_a_usage_error(env):
    r = subprocess.run([sys.executable, "-m", "mapdb.cli", "--debug", "ingest", env["db"], "t",
                        env["csv"], "--mode", "upsert"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "--mode" in r.stderr
