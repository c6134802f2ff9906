"""The drop/re-create race (RELIABILITY.md 19, issue 15): a writer waits for a table's lock,
is paused (SIGSTOP: a loaded machine) while the table is dropped and created again and the
new table's own writer is at work, then resumes.

One round, with this process as the other writers:
1. table ``t`` (incarnation A) exists; this process holds its writer lock;
2. a child starts an ingest job (``db.ingest(..., lock_timeout=...)``, what ``mapdb
   ingest --wait`` runs) and waits for the lock: it has A's LOCK open;
3. the child is stopped; this process releases the lock, drops ``t`` and (unless the round
   only drops) creates it again (incarnation B), opens B's writer and writes a batch;
4. the child is continued while B's writer is uncommitted, then B's writer commits.

The child must never write into B: it fails with TableDroppedError, exits non-zero and its
rows are in no table; B holds exactly its own writer's commits and verifies. Before the
lock checked its inode, the child locked A's inode and wrote beside B's writer.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from storage import _support as sup

from mapdb.storage.database import DatabaseStore

WAITER_ROWS = 777  # the child's rows (a count no other writer produces)


def _batch(n: int, tag: int) -> pa.Table:
    return pa.table({"k": np.arange(n, dtype=np.int64), "tag": np.full(n, tag, np.int64)})


def waiter(db_path: str, csv_path: str, timeout: float, result_path: str) -> None:
    """Child: an ingest job that waits up to ``timeout`` s for the lock; records the outcome
    and exits 0 only if the job committed."""
    import mapdb
    out: dict = {}
    try:
        r = mapdb.connect(db_path).ingest("t", csv_path, lock_timeout=timeout)
        out = {"outcome": "committed", "rows": r.rows, "version": r.version}
    except Exception as e:  # recorded, judged by the parent
        out = {"outcome": type(e).__name__, "message": str(e),
               "mapdb": isinstance(e, mapdb.errors.MapdbError)}
    with open(result_path, "w") as f:
        json.dump(out, f)
    os._exit(0 if out["outcome"] == "committed" else 1)


def _has_lock_open(pid: int, lock_path: str) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == lock_path:
                return True
        except OSError:
            pass
    return False


@dataclass
class Outcome:
    """What one round found; ``problems`` empty when every promise held."""

    waiter: dict = field(default_factory=dict)
    recreated: bool = True
    problems: list[str] = field(default_factory=list)


def one_round(work_dir: str, rng: random.Random, recreate: bool = True) -> Outcome:
    db_path = os.path.join(work_dir, "db")
    csv_path = os.path.join(work_dir, "w.csv")
    result_path = os.path.join(work_dir, "result.json")
    for p in (result_path,):
        if os.path.exists(p):
            os.unlink(p)
    if not os.path.exists(csv_path):
        with open(csv_path, "w") as f:
            f.write("k,tag\n" + "".join(f"{i},-1\n" for i in range(WAITER_ROWS)))
    db = DatabaseStore(db_path)
    if db.exists("t"):
        db.drop_table("t")
    w = db.create_writer("t", _batch(1, 0).schema, None, dictionary=None)
    w.write(_batch(10, 1))
    w.commit()  # incarnation A, 10 rows; this writer holds A's lock
    lock_path = os.path.join(db.table_dir("t"), "LOCK")
    child = sup.start(waiter, db_path, csv_path, 20.0, result_path)
    out = Outcome(recreated=recreate)
    try:
        deadline = time.monotonic() + 20
        while not _has_lock_open(child.pid, lock_path):
            if time.monotonic() > deadline or not child.is_alive():
                alive = child.is_alive()
                if alive:
                    child.kill()
                child.join(5)
                how = "still running after 20 s" if alive else f"exit {child.exitcode}"
                result = "none"
                if os.path.exists(result_path):
                    with open(result_path) as f:
                        result = f.read()
                out.problems.append(f"the waiter never opened the lock file ({how}; its "
                                    f"result: {result})")
                return out
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))  # somewhere in its polling loop
        os.kill(child.pid, signal.SIGSTOP)
        w.close()
        db.drop_table("t")
        expected = 0
        nw = None
        if recreate:
            nw = db.create_writer("t", _batch(1, 0).schema, None, dictionary=None)
            nw.write(_batch(5, 2))
            nw.commit()  # incarnation B, 5 rows; nw holds B's lock
            expected = 5
            nw.write(_batch(7, 3))  # uncommitted while the waiter resumes
        os.kill(child.pid, signal.SIGCONT)
        time.sleep(rng.uniform(0, 0.1))
        if nw is not None:
            nw.commit()
            expected += 7
            nw.close()
        code = sup.join(child, timeout=60)
    finally:
        if child.is_alive():
            os.kill(child.pid, signal.SIGCONT)
            child.kill()
    try:
        with open(result_path) as f:
            out.waiter = json.load(f)
    except (OSError, ValueError):
        out.problems.append(f"the waiter left no result (exit {code})")
        return out
    if out.waiter["outcome"] == "committed":
        out.problems.append(f"the waiter committed into another incarnation: {out.waiter}")
    elif not out.waiter.get("mapdb") or "dropped" not in out.waiter.get("message", ""):
        out.problems.append(f"the waiter failed without a 'dropped' mapdb error: {out.waiter}")
    if code == 0 and out.waiter["outcome"] != "committed":
        out.problems.append("the waiter exited 0 without committing")
    if recreate:
        out.problems += _check_table(db, expected)
    elif db.exists("t"):
        out.problems.append("a dropped table came back")
    return out


def _check_table(db: DatabaseStore, expected: int) -> list[str]:
    problems = []
    snap = db.snapshot("t")
    try:
        problems += [f"verify: {p}" for p in snap.verify()]
        if not problems:
            tags = snap.to_arrow().column("tag").to_pylist()
            if len(tags) != expected or -1 in tags:
                problems.append(f"the new table holds {len(tags)} rows (expected {expected}, "
                                f"{tags.count(-1)} of them the waiter's)")
    finally:
        snap.close()
    return problems


def run(work_dir: str, rounds: int, seed: int = 0) -> dict:
    """``rounds`` rounds (one in four only drops); counts for the soak report."""
    rng = random.Random(seed)
    counts = {"rounds": 0, "waiter refused (table dropped)": 0, "waiter committed": 0,
              "rounds with a broken promise": 0}
    failures = []
    for i in range(rounds):
        out = one_round(work_dir, rng, recreate=i % 4 != 3)
        counts["rounds"] += 1
        if out.waiter.get("outcome") == "committed":
            counts["waiter committed"] += 1
        elif out.waiter.get("outcome") == "TableDroppedError":
            counts["waiter refused (table dropped)"] += 1
        if out.problems:
            counts["rounds with a broken promise"] += 1
            failures.append((i, out.problems))
    return {"counts": counts, "failures": failures}


def churn_reader(db_path: str, seconds: float, result_path: str) -> None:
    """Child: query ``t`` in a loop for ``seconds`` while another process drops and creates
    it again; count the outcomes by exception class."""
    import time as _time
    from collections import Counter

    import mapdb
    db = mapdb.connect(db_path, readonly=True)
    seen: Counter = Counter()
    end = _time.monotonic() + seconds
    while _time.monotonic() < end:
        try:
            db.sql("SELECT count(*), sum(k), min(s), max(p) FROM t WHERE k > 5").fetchall()
            seen["ok"] += 1
        except Exception as e:  # judged by the parent
            seen[type(e).__name__ if isinstance(e, mapdb.errors.MapdbError)
                 else f"raw {type(e).__name__}: {e}"] += 1
    with open(result_path, "w") as f:
        json.dump(seen, f)


def churn_table(db: DatabaseStore, i: int) -> None:
    n = 3000
    t = pa.table({"k": np.arange(n, dtype=np.int64) + i,
                  "s": [f"s{j % 50}" for j in range(n)],
                  "p": [f"plain{j}" for j in range(n)]})
    w = db.create_writer("t", t.schema, None, dictionary=["s"])
    for _ in range(3):
        w.write(t)
        w.commit()
    w.close()


def churn(work_dir: str, seconds: float, readers: int = 2) -> dict:
    """Readers query while this process drops and creates ``t`` again and again: their
    outcome counts (RELIABILITY.md 19: a reader sees its version or TableDroppedError /
    "not found", never CorruptionError)."""
    from collections import Counter
    db_path = os.path.join(work_dir, "churn")
    db = DatabaseStore(db_path)
    churn_table(db, 0)
    results = [os.path.join(work_dir, f"churn{r}.json") for r in range(readers)]
    kids = [sup.start(churn_reader, db_path, seconds, p) for p in results]
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        db.drop_table("t")
        churn_table(db, i)
        i += 1
    for k in kids:
        sup.join(k, timeout=seconds + 60)
    total: Counter = Counter({"recreated": i})
    for p in results:
        with open(p) as f:
            total.update(json.load(f))
    return dict(total)
