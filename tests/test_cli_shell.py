"""CLI: ``mapdb shell DB`` driven through stdin (answers compared with DuckDB's), dot
commands, multi-line statements, errors that do not end the session, and (on a pty)
Ctrl-C cancelling a running query and clearing the line at the prompt, and history."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pyarrow as pa
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main
from mapdb.cli.shell import statements

duckdb = pytest.importorskip("duckdb")


def shell(path, text: str):
    return CliRunner().invoke(main, ["shell", str(path)], input=text)


def json_blocks(out: str) -> list:
    """The results of a session in ``.mode json``, in order."""
    dec, i, found = json.JSONDecoder(), 0, []
    while True:
        i = out.find("[", i)
        if i < 0:
            return found
        value, i = dec.raw_decode(out, i)
        found.append(value)


SCRIPT = """\
CREATE TABLE t (k VARCHAR, v INTEGER, x DOUBLE);
INSERT INTO t VALUES ('a', 1, 1.5), ('b', 2, NULL), (NULL, 3, -0.25), ('b', 4, 8);
UPDATE t SET v = v * 10 WHERE k = 'b';
DELETE FROM t WHERE v = 1;
SELECT k, v, x FROM t ORDER BY v;
SELECT k, count(*) AS n, sum(v) AS s
  FROM t
  GROUP BY k
  ORDER BY k NULLS FIRST;
SELECT 'semi;colon' AS s, 1 + 1 AS two; SELECT count(*) AS n FROM t WHERE x IS NULL;
"""


def test_statements_answer_as_duckdb(tmp_path):
    r = shell(tmp_path / "db", ".mode json\n" + SCRIPT)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert r.stderr == ""
    con = duckdb.connect()
    expected = []
    for sql in statements(SCRIPT)[0]:
        cur = con.execute(sql)
        if sql.startswith("SELECT"):
            cols = [d[0] for d in cur.description]
            expected.append([dict(zip(cols, row, strict=True)) for row in cur.fetchall()])
    got = json_blocks(r.stdout)
    # INSERT / UPDATE / DELETE show their Count as DuckDB returns it
    assert got[:3] == [[{"Count": 4}], [{"Count": 2}], [{"Count": 1}]]
    assert got[3:] == expected
    assert len(expected) == 4


def test_a_new_database_is_created(tmp_path):
    r = shell(tmp_path / "new", "CREATE TABLE t (x INT);\n.tables\n")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "t\n", "")
    assert mapdb.connect(tmp_path / "new", readonly=True).tables() == ["t"]


@pytest.fixture
def small(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", pa.table({"x": pa.array(range(100), pa.int64()),
                                   "s": pa.array([f"r{i}" for i in range(100)])}),
                    durability="none")
    db.sql("CREATE VIEW big AS SELECT x FROM t WHERE x > 50")
    db.close()
    return tmp_path / "db"


def test_dot_commands(small):
    r = shell(small, ".tables\n.schema\n.schema big\n.mode\n.mode csv\n.mode\n"
                     "SELECT x, s FROM t WHERE x < 2 ORDER BY x;\n.help\n.quit\n"
                     "SELECT 'not reached';\n")
    assert r.exit_code == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[:8] == [
        "big", "t",
        "CREATE VIEW big AS SELECT x FROM t WHERE x > 50;",
        "CREATE TABLE t(x BIGINT, s VARCHAR);",
        "CREATE VIEW big AS SELECT x FROM t WHERE x > 50;",
        "table", "csv",
        '"x","s"']
    assert out[8:10] == ['0,"r0"', '1,"r1"']
    assert any(line.startswith(".timer on|off") for line in out)
    assert "not reached" not in r.stdout


def test_schema_round_trips_through_duckdb(tmp_path):
    """.schema prints CREATE TABLE text DuckDB accepts, with the same columns."""
    ddl = ("CREATE TABLE \"Odd Name\"(id INTEGER PRIMARY KEY, \"select\" VARCHAR NOT NULL, "
           "d DATE DEFAULT DATE '2024-01-02', n DECIMAL(10,2), u UBIGINT UNIQUE);")
    r = shell(tmp_path / "db", ddl + "\n.schema\n")
    assert r.exit_code == 0, r.stderr
    con = duckdb.connect()
    con.execute(r.stdout)
    con.execute(ddl.replace('"Odd Name"', "ref"))
    assert con.execute('DESCRIBE "Odd Name"').fetchall() == \
        con.execute("DESCRIBE ref").fetchall()


def test_table_mode_shows_40_rows_and_the_count(small):
    r = shell(small, "SELECT x FROM t ORDER BY x;\n.maxrows 3\nSELECT x FROM t LIMIT 5;\n")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == [" x", "--", " 0"]
    assert lines[41] == "39"
    assert lines[42] == "(100 rows, first 40 shown)"
    assert lines[43:] == ["x", "-", "0", "1", "2", "(5 rows, first 3 shown)"]


def test_errors_are_one_line_and_the_session_goes_on(small):
    r = shell(small, "SELEC 1;\nSELECT nope FROM t;\n.nope\n.timer sometimes\n"
                     "SELECT count(*) AS n\nFROM t\n-- a comment; not an end\n"
                     "WHERE x >= 90;\n")
    assert r.exit_code == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        "Error: syntax error: Invalid expression / Unexpected token (line 1, column 7)",
        'Error: column "nope" not found; columns are: x, s (line 1, column 8)',
        "Error: unknown command '.nope'; .help lists the commands",
        "Error: .timer takes on or off"]
    assert r.stdout.splitlines() == [" n", "--", "10", "(1 row)"]  # no prompt on a pipe


def test_a_failed_statement_leaves_the_ones_after_it(small):
    r = shell(small, "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (100, 'r100');\n"
                     ".mode csv\nSELECT count(*) AS n FROM t;")  # the last without ';'
    assert r.exit_code == 1
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("Error: ")
    assert r.stdout.splitlines()[-2:] == ['"n"', "101"]


def test_a_reader_leaving_early_ends_the_run_quietly(small, tmp_path):
    """``mapdb shell DB < script | head -1``: status 0 (under pipefail too), nothing on
    stderr (it printed "Error: [Errno 32] Broken pipe" for every statement left)."""
    script = tmp_path / "script.sql"
    script.write_text("SELECT * FROM t;\n" * 3000)
    cmd = f"{sys.executable} -m mapdb.cli shell {small} < {script} | head -1"
    p = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], capture_output=True,
                       text=True, timeout=300)
    assert (p.returncode, p.stdout.split(), p.stderr) == (0, ["x", "|", "s"], "")


def test_statements_splitting():
    assert statements("SELECT 1;") == (["SELECT 1"], True)
    assert statements("SELECT 1") == (["SELECT 1"], False)
    assert statements("SELECT 'a;b'") == (["SELECT 'a;b'"], False)
    assert statements("SELECT 'a;") == ([], False)  # inside a string
    assert statements("SELECT 1 /* ; */")[1] is False
    assert statements("SELECT 1 /* ; */;") == (["SELECT 1"], True)
    assert statements(";;") == ([], True)
    assert statements("CREATE TABLE a (x INT); INSERT INTO a VALUES (1);") == (
        ["CREATE TABLE a (x INT)", "INSERT INTO a VALUES (1)"], True)


# -- a terminal: Ctrl-C and history -----------------------------------------------------------

class Pty:
    """The shell on a pseudo-terminal: what it writes, read on a thread."""

    def __init__(self, args: list[str], env: dict):
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.master = master
        self.out = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if ready:
                    data = os.read(self.master, 65536)
                    if not data:
                        return
                    with self.lock:
                        self.out += data
            except OSError:  # the child closed the terminal
                return

    def text(self) -> str:
        with self.lock:
            return self.out.decode("utf-8", "replace")

    def wait_for(self, needle: str, start: int = 0, timeout: float = 60.0) -> int:
        """The offset just past ``needle``'s first occurrence after ``start``."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.text().find(needle, start)
            if i >= 0:
                return i + len(needle)
            assert self.proc.poll() is None or self.text().find(needle, start) >= 0, \
                self.text()
            assert time.monotonic() < deadline, (needle, self.text()[start:])
            time.sleep(0.02)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def slow(tmp_path):
    """A database whose scans are slow in the shell started by ``start``: each scan batch
    sleeps 0.25 s on one of two workers (40 morsels: 5 s of work)."""
    db = mapdb.connect(tmp_path / "db")
    n = 40 * (1 << 17)
    db.create_table("t", pa.table({"x": pa.array(range(n), pa.int64())}), durability="none")
    db.close()
    started = tmp_path / "started"
    script = textwrap.dedent(f"""
        import os, time
        import mapdb.query.executor as ex
        real = ex.scan_batch
        def slow(*a, **k):
            if os.environ.get("SLOW"):
                open({str(started)!r}, "w").close()
                time.sleep(0.25)
            return real(*a, **k)
        ex.scan_batch = slow
        ex.default_workers = lambda: 2
        from mapdb.cli import main
        main(["shell", {str(tmp_path / "db")!r}], prog_name="mapdb")
    """)
    env = dict(os.environ, MAPDB_HISTORY=str(tmp_path / "history"), TERM="dumb", SLOW="1")
    yield [sys.executable, "-c", script], env, started


@pytest.fixture
def slow_pty(slow):
    args, env, started = slow
    term = Pty(args, env)
    try:
        yield term, started, env["MAPDB_HISTORY"]
    finally:
        term.close()


def test_ctrl_c_ends_a_piped_run_with_130(slow):
    """Not on a terminal, Ctrl-C ends the whole run as it ends any mapdb command."""
    args, env, started = slow
    proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write("SELECT count(*) FROM t WHERE x % 1000 = 7;\nSELECT 'after';\n")
        proc.stdin.close()
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert (proc.returncode, err) == (130, "mapdb: interrupted\n")
    assert "after" not in out


def test_ctrl_c_cancels_the_running_query_and_clears_the_line(slow_pty):
    term, started, history = slow_pty
    at = term.wait_for("mapdb> ")
    term.type("SELECT count(*) AS n\n")
    at = term.wait_for("...> ", at)
    term.type("FROM t WHERE x % 1000 = 7;\n")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert term.proc.poll() is None, term.text()
        assert time.monotonic() < deadline, term.text()
        time.sleep(0.02)
    t0 = time.monotonic()
    term.proc.send_signal(signal.SIGINT)
    at = term.wait_for("Interrupted", at)
    at = term.wait_for("mapdb> ", at)
    assert time.monotonic() - t0 < 3.0  # not the 5 s the query needs
    assert term.proc.poll() is None  # still running
    # Ctrl-C at the prompt drops a half-typed statement
    term.type("SELECT 'dropped'\n")
    at = term.wait_for("...> ", at)
    term.proc.send_signal(signal.SIGINT)
    at = term.wait_for("mapdb> ", at)
    term.type("SELECT 41 + 1 AS answer;\n")
    at = term.wait_for("(1 row)", at)
    assert "42" in term.text()[at - 60:at]
    assert "Error" not in term.text()
    term.type("\x04")  # Ctrl-D
    assert term.proc.wait(timeout=30) == 0
    with open(history) as f:
        lines = f.read().splitlines()
    assert "SELECT count(*) AS n FROM t WHERE x % 1000 = 7;" in lines
    assert "SELECT 41 + 1 AS answer;" in lines
    assert not any("dropped" in line for line in lines)
