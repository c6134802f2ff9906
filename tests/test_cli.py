import subprocess
import sys

from click.testing import CliRunner

from mapdb.cli import main


def test_selfcheck_passes_on_this_kernel(tmp_path):
    result = CliRunner().invoke(main, ["selfcheck", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "5/5 checks passed" in result.output
    assert list(tmp_path.iterdir()) == []  # the scratch file is removed


def test_selfcheck_bad_directory_fails_cleanly(tmp_path):
    result = CliRunner().invoke(main, ["selfcheck", "--dir", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "No such file or directory" in result.output


def test_console_script_version():
    out = subprocess.run([sys.executable, "-m", "mapdb.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("mapdb, version ")


def test_demo_runs_as_the_readme_runs_it(tmp_path):
    """`make demo` = the real `mapdb demo` in a fresh process (no shared state with tests)."""
    db = tmp_path / "demo.mapdb"
    out = subprocess.run([sys.executable, "-m", "mapdb.cli", "demo", str(db)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "flights" in text and "336,776" in text
    assert "ingested flights" in text and "indexed  flights.tailnum" in text
    # the queries' real answers, each with its timings
    assert "-- Most delayed carriers" in text and "FL      |    3260 |          20.1" in text
    assert "JFK    | LAX  |   11262" in text  # the busiest route
    assert text.count("cold ") >= 7 and " ms, warm " in text
    assert "via hash index tailnum_hash (unique)" in text
    assert "N14228  | BOEING" in text
    # the cache picture: the queried columns resident, a column no query read not
    picture = {line.split()[0]: line.split()[-1] for line in
               text.split("Page cache after the queries")[1].splitlines()[3:22]}
    assert set(picture["arr_delay"]) <= {"#", "o"} and "#" in picture["arr_delay"]
    assert "verify: all files intact" in text
    # it ends with the exact commands to run next (the venv's path when not on PATH)
    nxt = text.split("Next (README.md has more):\n")[1].splitlines()
    assert " shell " in nxt[0]
    assert " query " in nxt[1]
    q = subprocess.run(["bash", "-c", nxt[1]], capture_output=True, text=True, timeout=120)
    assert q.returncode == 0 and "336776" in q.stdout, (nxt, q.stderr)
    s = subprocess.run(["bash", "-c", nxt[0].split("#")[0]], input="SELECT 6 * 7 AS x;\n",
                       capture_output=True, text=True, timeout=120)
    assert (s.returncode, s.stdout.split()[:3]) == (0, ["x", "--", "42"]), (nxt, s.stderr)

    again = subprocess.run([sys.executable, "-m", "mapdb.cli", "demo", str(db)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "ingested" not in again.stdout and "FL      |    3260" in again.stdout
