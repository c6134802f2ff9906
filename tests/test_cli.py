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
    assert "flights" in out.stdout and "336,776" in out.stdout
