"""RELIABILITY.md item 8: a column file truncated under a reader gives the reader an
exception naming the file (the SIGBUS is contained in the extension), not a dead process
and not an answer built from the zeros it read."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

import mapdb
from mapdb.errors import CorruptionError, TruncatedFileError

ROWS = 400_000


@pytest.fixture
def db(tmp_path):
    d = mapdb.connect(tmp_path / "db")
    rng = np.random.default_rng(0)
    d.create_table("t", {"k": np.arange(ROWS, dtype=np.int64),
                         "v": rng.integers(0, 1000, ROWS)}).create_index("k", unique=True)
    yield d
    d.close()


def _data_file(db, column: str) -> str:
    from mapdb.storage.database import DatabaseStore
    snap = DatabaseStore(db.path).snapshot("t")
    try:
        return next(f.path for f in snap.files() if f.column == column and f.role == "data")
    finally:
        snap.close()


@pytest.mark.parametrize("fused", [True, False])
def test_query_over_a_file_truncated_underneath_raises(db, fused):
    q = "SELECT sum(v) FROM t WHERE k >= 0"
    want = db.sql(q, fused=fused).fetchone()[0]  # the mappings are now open and cached
    path = _data_file(db, "v")
    os.truncate(path, 4096 + 8 * 1000)  # keep the header and the first 1,000 values
    with pytest.raises(TruncatedFileError) as e:
        db.sql(q, fused=fused).fetchall()
    assert path in str(e.value) and e.value.paths == [path]
    # the process lives on; the damaged version is dropped, and opening it again is the
    # ordinary clear error about a short file
    with pytest.raises(CorruptionError, match="truncated"):
        db.sql(q, fused=fused).fetchall()
    assert want > 0


def test_lookup_after_truncation_raises_until_refreshed(db):
    """The probe confirms the key against the indexed column's value: a truncated key
    file is caught inside the lookup. (The rows a lookup returns are zero-copy views of
    the files: read after a truncation, they show zeros; see docs/reliability.md.)"""
    t = db.table("t")
    assert t.lookup(k=ROWS - 1).column("v").to_pylist()
    os.truncate(_data_file(db, "k"), 4096)
    with pytest.raises(TruncatedFileError, match="shrank"):
        t.lookup(k=ROWS - 2)
    with pytest.raises(TruncatedFileError, match="refresh"):
        t.lookup(k=3)  # the handle stays unusable
    t.refresh()
    with pytest.raises(CorruptionError, match="truncated"):
        t.lookup(k=3)  # the current version's file is short: the clear error at open
    t.close()


_SCANNER = r"""
import sys, mapdb
from mapdb.errors import MapdbError
db = mapdb.connect(sys.argv[1])
print("ready", flush=True)
outcome = "no error"
for _ in range(2000):
    try:
        db.sql("SELECT sum(v), count(*) FROM t WHERE v >= 0").fetchall()
    except MapdbError as e:
        outcome = type(e).__name__ + ": " + str(e).splitlines()[0]
        break
print(outcome, flush=True)
"""


def test_reader_survives_another_process_truncating_its_file(db, tmp_path):
    path = _data_file(db, "v")
    p = subprocess.Popen([sys.executable, "-c", _SCANNER, db.path], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # scans are running
    os.truncate(path, 4096)  # "another process": the reader is the child
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, out  # not killed by SIGBUS
    assert out.startswith(("TruncatedFileError", "CorruptionError")), out
    assert path in out


_FOREIGN = r"""
import mmap, os, sys
import mapdb  # installs the handler
p = sys.argv[1]
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # not a mapdb mapping
os.truncate(p, 0)
print(m[100_000])
"""


def test_faults_outside_mapdb_mappings_are_not_swallowed(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(bytes(1 << 20))
    r = subprocess.run([sys.executable, "-c", _FOREIGN, str(p)], capture_output=True)
    assert r.returncode == -7  # SIGBUS, as without mapdb
