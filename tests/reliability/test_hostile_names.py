"""RELIABILITY.md 18 through the API, SQL and the command line (tests/storage/test_names.py
covers the storage layer): hostile table and column names are refused or stored safely
encoded; nothing is ever created outside the database directory."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import InvalidNameError, MapdbError

from . import hostile


def _listing(root) -> set[str]:
    """Every path under ``root`` except the database directory ``root/db`` and what it
    holds."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d != "db"]
        out |= {os.path.join(dirpath, n) for n in dirnames + filenames}
    return out


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_hostile_table_names_through_the_api_and_sql(tmp_path):
    db = mapdb.connect(tmp_path / "db", pin_budget=0)
    before = _listing(tmp_path)
    parent_before = set(os.listdir(tmp_path.parent))
    stored, refused = [], []
    for i, name in enumerate(hostile.HOSTILE_NAMES):
        try:
            db.create_table(name, {"v": [i]})
        except InvalidNameError:
            refused.append(name)
            continue
        stored.append(name)
        assert db.table(name).to_arrow().column("v").to_pylist() == [i]
        if "\x00" not in name:
            try:
                got = db.sql(f"SELECT v FROM {_quoted(name)}").to_arrow()
                assert got.column(0).to_pylist() == [i], repr(name)
            except MapdbError:
                pass  # an identifier SQL cannot spell: refused with a mapdb error
    assert {"../x", "/abs", "a/b", ".", "..", "con", "nul", "%", "%2e%2e"} <= set(stored)
    # refused: empty, control characters, over 128 characters, or encoded over NAME_MAX
    assert set(refused) == {"", "a\x00b", "\x00", "x" * 129, "\n", "t\tx", "." * 128,
                            "🙂" * 64}, refused
    assert sorted(db.tables()) == sorted(stored)
    for name in stored:
        assert os.path.dirname(db._store.table_dir(name)) == str(tmp_path / "db")
    assert _listing(tmp_path) == before
    assert set(os.listdir(tmp_path.parent)) == parent_before
    for name in stored:
        db.drop_table(name)
    assert db.tables() == [] and _listing(tmp_path) == before


def test_hostile_column_names_from_a_csv_header(tmp_path):
    names = ["../x", "/abs", "a/b", ".", "..", "con", "%", "LOCK", "c1.data", "v"]
    header = ",".join('"' + n.replace('"', '""') + '"' for n in names)
    src = tmp_path / "in.csv"
    src.write_text(header + "\n" + ",".join(str(i) for i in range(len(names))) + "\n")
    db = mapdb.connect(tmp_path / "db", pin_budget=0)
    before = _listing(tmp_path)
    db.ingest("t", src)
    t = db.table("t").to_arrow()
    assert t.column_names == names
    assert [t.column(n)[0].as_py() for n in names] == list(range(len(names)))
    got = db.sql(f"SELECT {_quoted('../x')}, {_quoted('%')} FROM t").to_arrow()
    assert got.to_pylist() == [{"../x": 0, "%": 6}]
    assert _listing(tmp_path) == before
    with pytest.raises(MapdbError):  # a NUL in a column name is refused, not stored
        db.create_table("u", pa.table({"a\x00b": [1]}))
    assert db.tables() == ["t"] and _listing(tmp_path) == before


@pytest.mark.parametrize("name", ["../x", "/abs", "a/b", "..", "", "a\x01b", "x" * 129, "con",
                                  "%2F"], ids=repr)
def test_hostile_table_names_on_the_command_line(tmp_path, name):
    src = tmp_path / "in.csv"
    src.write_text("v\n1\n")
    before = _listing(tmp_path)
    r = subprocess.run([sys.executable, "-m", "mapdb.cli", "ingest", str(tmp_path / "db"),
                        name, str(src)], capture_output=True, text=True, timeout=120)
    if r.returncode == 0:
        assert mapdb.connect(tmp_path / "db", readonly=True).tables() == [name]
    else:
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mapdb: error: "), r.stderr
        assert "Traceback" not in r.stderr + r.stdout
    assert _listing(tmp_path) == before
