"""RELIABILITY.md 15: many tables and segments. Descriptors and mappings grow with the
table versions open (the database's source cache keeps each queried table's current
version open), within a per-file budget, not with the number of queries or versions;
closing the database gives them all back. Running out of descriptors (RLIMIT_NOFILE) or of
mappings (vm.max_map_count, simulated: mmap fails with ENOMEM) is a mapdb error naming the
setting."""

from __future__ import annotations

import errno
import gc
import json

import numpy as np
import pyarrow as pa
import pytest
from storage import _support as sup

import mapdb
from mapdb.errors import MapdbError
from mapdb.storage import fileops

from . import workers

TABLES, SEGMENTS = 30, 3


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    path = tmp_path_factory.mktemp("many") / "db"
    db = mapdb.connect(path, pin_budget=0)
    for i in range(TABLES):
        for s in range(SEGMENTS):
            t = pa.table({"x": np.arange(s * 100, s * 100 + 100),
                          "s": [f"v{j % 10}" for j in range(100)], "f": np.arange(100) / 3})
            if s == 0:
                db.create_table(f"t{i}", t, dictionary=None)
            else:
                db.table(f"t{i}").append(t)
    db.close()
    return path


def _usage(path, fds0) -> tuple[int, int]:
    gc.collect()
    return len(sup.open_fds() - fds0), len(sup.mappings_under(path))


def _query_all(db) -> None:
    for i in range(TABLES):
        assert db.sql(f"SELECT sum(x), max(s), count(f) FROM t{i}").to_arrow().num_rows == 1


def test_descriptors_and_mappings_stay_within_a_budget(many):
    db = mapdb.connect(many, pin_budget=0)
    gc.collect()
    fds0 = sup.open_fds()
    snap = db._store.snapshot("t0")
    files = len(snap.files())  # files of one table version (all columns, zone maps)
    snap.close()
    _query_all(db)
    first = _usage(many, fds0)
    # one descriptor per mapped file plus the version's pin; a file may be mapped twice
    # (Arrow arrays and the scan's views), each mapping one or two lines of /proc/self/maps
    assert 0 < first[0] <= TABLES * (1 + files), first
    assert 0 < first[1] <= TABLES * files * 4, first
    for _ in range(2):  # repeated queries reuse what is open
        _query_all(db)
        assert _usage(many, fds0) == first
    w = mapdb.connect(many, pin_budget=0)
    for i in range(TABLES):  # a new version of every table
        w.table(f"t{i}").append(pa.table({"x": [1], "s": ["z"], "f": [0.5]}))
    w.close()
    _query_all(db)  # the new versions replace the old ones
    grown = _usage(many, fds0)
    assert grown[0] <= first[0] * (SEGMENTS + 1) / SEGMENTS + TABLES, (first, grown)
    db.close()
    assert _usage(many, fds0) == (0, 0)


def test_open_file_limit_is_a_clear_error(many, tmp_path):
    result = tmp_path / "result.json"
    p = sup.start(workers.query_until_out_of_descriptors, str(many), TABLES, 40, str(result))
    assert sup.join(p, timeout=120) == 0
    out = json.loads(result.read_text())
    assert 0 < out["queried"] < TABLES, out
    assert out["mapdb"], out
    assert "RLIMIT_NOFILE" in out["message"] and "ulimit -n" in out["message"], out


def test_map_count_limit_is_a_clear_error(many):
    """mmap(2) fails with ENOMEM when a process reaches vm.max_map_count (simulated: the
    real limit is 65530 mappings, slow to reach in a test)."""
    db = mapdb.connect(many, readonly=True, pin_budget=0)
    with fileops.inject_fault("mmap", nth=3, err=errno.ENOMEM), \
            pytest.raises(MapdbError) as e:
        db.sql("SELECT sum(x), max(s) FROM t5").to_arrow()
    assert "vm.max_map_count" in str(e.value) and "sysctl" in str(e.value), str(e.value)
    assert db.sql("SELECT count(*) FROM t5").to_arrow().column(0)[0].as_py() >= 300
    db.close()
