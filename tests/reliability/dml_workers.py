"""Child processes of tests/reliability/test_dml.py (run from the storage tests'
forkserver, so pickled by reference: module-level functions only)."""

from __future__ import annotations

import json
import os
import time


def run_statement(db_path: str, sql: str, ready: str, crash_at: str | None = None) -> None:
    """Run ``sql`` (dying at ``crash_at`` if named); ``ready`` appears just before."""
    if crash_at:
        os.environ["MAPDB_CRASH_AT"] = crash_at
    import mapdb
    db = mapdb.connect(db_path)
    db.sql("SELECT count(*) FROM t").fetchall()  # imports and first mappings paid here
    open(ready, "w").close()
    db.sql(sql)
    os._exit(0)


def hold_reader(db_path: str, ready: str, go: str, out: str) -> None:
    """Open table t (its version pinned) and read part of it; when ``go`` appears, read
    all of it again through the same handle and once through a new query; write what it
    saw to ``out``."""
    import mapdb
    db = mapdb.connect(db_path, readonly=True)
    t = db.table("t")
    before = {"k": t.column("k").to_arrow().to_pylist()}  # mapped now; the rest later
    open(ready, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.01)
    after = t.to_arrow().to_pydict()
    lookup = t.lookup(k=[5, 6]).to_pydict()
    fresh = db.sql("SELECT count(*), sum(k) FROM t").fetchall()[0]
    with open(out, "w") as f:
        json.dump({"version": t.version, "before": before, "after": after,
                   "lookup": lookup, "fresh": list(fresh)}, f)
    os._exit(0)
