"""RELIABILITY.md 4 at the level users see: an ingest job (two CSV files into a table with
a dictionary column and a hash index, or into a new table) while the N-th call of each file
operation fails, N = 1, 2, ... until the job succeeds. tests/storage/test_writer.py does the
same for the storage writer alone."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from storage import _support as sup

import mapdb

from . import faults


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return faults.csv_sources(tmp_path_factory.mktemp("sources"), count=3)


def _indexed_db(db_path, sources):
    db = mapdb.connect(db_path, pin_budget=0)
    db.ingest("t", sources[:1], dictionary=["s"])
    db.table("t").create_index("k", unique=True)
    return db


def test_every_operation_kind_is_exercised():
    assert {"create", "fallocate", "write", "mmap", "rename", "fsync", "fsync_dir", "mkdir",
            "open"} <= set(faults.fault_ops())


@pytest.mark.parametrize("op", faults.fault_ops())
def test_nth_operation_fails_during_an_ingest_job(db_path, sources, op, tmp_path):
    db = _indexed_db(db_path, sources)
    before = db.table("t").version
    job = lambda: db.ingest("t", sources[1:], job_id="job-1")  # noqa: E731
    sites: Counter = Counter()
    n = faults.run_loop(db, op, job, "t", sites)
    t = db.table("t")
    assert t.version == before + 1
    assert sorted(t.to_arrow().column("k").to_pylist()) == list(range(900))
    assert t.verify() == []
    assert t.lookup(k=[899]).num_rows == 1
    db.close()
    _report(tmp_path, "append", n, sites)


@pytest.mark.parametrize("op", faults.fault_ops())
def test_nth_operation_fails_while_creating_a_table(db_path, sources, op, tmp_path):
    db = mapdb.connect(db_path, pin_budget=0)
    db.create_table("other", {"v": [1, 2]})
    job = lambda: db.ingest("n", sources, mode="create")  # noqa: E731
    sites: Counter = Counter()
    n = faults.run_loop(db, op, job, "n", sites)
    assert db.tables() == ["n", "other"] and len(db.table("n")) == 900
    assert db.table("n").verify() == []
    assert sup.db_leftovers(str(db_path)) == []
    db.close()
    _report(tmp_path, "create", n, sites)


def _report(tmp_path, mode: str, n: int, sites: Counter) -> None:
    """Faults injected per file-operation site, printed (pytest -s) and kept in tmp_path."""
    by_site = {f"{o} at {s}": c for (o, s), c in sorted(sites.items())}
    assert sum(by_site.values()) == n
    print(f"\n{mode}: {n} faults: {json.dumps(by_site)}")
    (tmp_path / "sites.json").write_text(json.dumps(by_site, indent=1))
