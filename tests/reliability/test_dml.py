"""DELETE and UPDATE as processes see them (issue 18): a reader that opened the table
before keeps its version (files included, through reclamation); a DELETE or UPDATE killed
at any moment, by SIGKILL after a random delay or at the named crash points, leaves
exactly the old version or exactly the new one, intact (verify), and its leftovers are
reclaimed by the next writer."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pyarrow as pa
import pytest
from storage import _support as sup

import mapdb
from mapdb.storage.database import DatabaseStore

from . import dml_workers

ROWS = 30_000


def _table(db_path, segments: int = 3, rows: int = ROWS) -> None:
    """Table t: k 0..rows-1 in ``segments`` segments, s a dictionary column, x a double,
    a unique hash index on k."""
    db = mapdb.connect(db_path)
    per = rows // segments
    for i in range(segments):
        k = list(range(i * per, (i + 1) * per))
        data = pa.table({"k": k, "s": [f"s{v % 17}" for v in k],
                         "x": [v / 4 for v in k]})
        t = db.create_table("t", data, dictionary=["s"]) if i == 0 else \
            db.table("t").append(data)
        t.close()
    db.table("t").create_index("k", unique=True).close()
    db.close()


def _reclaim(db_path) -> list[str]:
    """Open and close a writer (it reclaims a dead writer's files); what is left over."""
    store = DatabaseStore(db_path)
    store.writer("t").close()
    return sup.leftovers(store.table_dir("t"))


def _rows(db_path) -> dict:
    """The table's rows (and a check that every file of its version is intact)."""
    db = mapdb.connect(db_path, readonly=True)
    t = db.table("t")
    try:
        assert t.verify() == []
        return t.to_arrow().to_pydict()
    finally:
        t.close()
        db.close()


UPDATE = "UPDATE t SET s = s || '!', x = x * 2 WHERE k % 3 = 0"
DELETE = "DELETE FROM t WHERE k % 5 = 1 OR k > (SELECT max(k) - 100 FROM t)"


def _updated(rows: dict) -> dict:
    out = {c: list(v) for c, v in rows.items()}
    for i, k in enumerate(out["k"]):
        if k % 3 == 0:
            out["s"][i] += "!"
            out["x"][i] *= 2
    return out


def _deleted(rows: dict) -> dict:
    top = max(rows["k"]) - 100
    keep = [i for i, k in enumerate(rows["k"]) if not (k % 5 == 1 or k > top)]
    return {c: [v[i] for i in keep] for c, v in rows.items()}


def test_a_reader_keeps_its_version_through_delete_and_update(db_path, tmp_path):
    _table(db_path)
    old = _rows(db_path)
    ready, go, out = (str(tmp_path / n) for n in ("ready", "go", "out.json"))
    p = sup.start(dml_workers.hold_reader, str(db_path), ready, go, out)
    sup.wait_for_file(ready, proc=p)
    db = mapdb.connect(db_path, pin_budget=0)
    assert db.sql(DELETE).fetchall() == [(len(old["k"]) - len(_deleted(old)["k"]),)]
    db.sql(UPDATE)
    db.sql("UPDATE t SET x = 0 WHERE k = 7")  # a third commit: reclaims what it may
    open(go, "w").close()
    assert sup.join(p) == 0
    with open(out) as f:
        seen = json.load(f)
    assert seen["before"]["k"] == old["k"]
    assert seen["after"] == old  # every column, read after the changes were committed
    assert seen["lookup"]["k"] == [5, 6]  # the index files of its version
    new = _rows(db_path)
    want = _updated(_deleted(old))
    want["x"][want["k"].index(7)] = 0.0
    assert new == want
    assert seen["fresh"] == [len(new["k"]), sum(new["k"])]  # a new query: the new version
    db.close()
    assert _reclaim(db_path) == []  # the reader gone, its version is reclaimed


@pytest.mark.parametrize("sql,change", [(UPDATE, _updated), (DELETE, _deleted)])
@pytest.mark.parametrize("point", ["after-data-sync", "before-manifest",
                                   "after-temp-manifest", "after-rename", "after-dir-fsync"])
def test_a_crash_point_leaves_the_old_or_the_new_version(db_path, tmp_path, sql, change,
                                                         point):
    _table(db_path)
    old = _rows(db_path)
    p = sup.start(dml_workers.run_statement, str(db_path), sql, str(tmp_path / "ready"),
                  point)
    assert sup.join(p) == -signal.SIGKILL, "the crash point did not fire"
    now = _rows(db_path)
    visible = point in ("after-rename", "after-dir-fsync")
    assert now == (change(old) if visible else old)
    assert _reclaim(db_path) == []
    assert _rows(db_path) == now


def test_sigkill_at_random_moments_leaves_the_old_or_the_new_version(db_path, tmp_path):
    _table(db_path, segments=4, rows=120_000)
    rng = random.Random(18)
    state = _rows(db_path)
    took = 0.0  # how long a statement takes in a child, from "ready" to its end
    for sql, change in ((UPDATE, _updated), (DELETE, _deleted)):
        ready = str(tmp_path / f"m{len(sql)}")
        p = sup.start(dml_workers.run_statement, str(db_path), sql, ready)
        sup.wait_for_file(ready, proc=p)
        t0 = time.monotonic()
        assert sup.join(p) == 0
        took = max(took, time.monotonic() - t0)
        state = change(state)
    assert _rows(db_path) == state
    # kills from the start to past the end (then the statement has committed)
    delays = [0.0] + [rng.uniform(0, 1.6 * took) for _ in range(6)] + [3 * took]
    outcomes = {"old": 0, "new": 0}
    for i, delay in enumerate(delays):
        sql, change = (UPDATE, _updated) if i % 2 else (DELETE, _deleted)
        ready = str(tmp_path / f"r{i + 1}")
        p = sup.start(dml_workers.run_statement, str(db_path), sql, ready)
        sup.wait_for_file(ready, proc=p)
        time.sleep(delay)
        if p.exitcode is None:
            os.kill(p.pid, signal.SIGKILL)
        sup.join(p)
        now = _rows(db_path)
        new = change(state)
        assert now in (state, new), f"kill {i}: neither the old nor the new version"
        outcomes["new" if now == new and now != state else "old"] += 1
        state = now
        assert _reclaim(db_path) == []
    assert outcomes["old"] and outcomes["new"], outcomes  # both kinds of moment were hit
