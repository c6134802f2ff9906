"""Helpers shared by the storage tests, and the functions child processes run.

Child processes come from a multiprocessing *forkserver* that has mapdb.storage already
imported: each child is a fork of that small server process (not of the pytest process),
and starts in milliseconds instead of the half second a new interpreter takes.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.forkserver
import os
import sys
import time
import traceback

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.storage import manifest as manifest_mod
from mapdb.storage.database import DatabaseStore

# The package directory's parent must be importable in the forkserver (it gets sys.path).
_TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)



def _warm_up() -> None:
    """Pay pyarrow's lazy start-up of its compute functions (~0.4 s on the first cast) once,
    here, so that it is paid in the forkserver and not again in every child."""
    a = pa.array(["a", "b", None])
    a.cast(pa.large_string())
    pc.dictionary_encode(a)
    pc.index_in(a, value_set=a)
    pc.unique(a)
    pc.min_max(a)
    pc.max(pa.array([1]).cast(pa.int32()))


_warm_up()


# -- processes ------------------------------------------------------------------------------
_ctx = None


def mp_context():
    """The forkserver context (mapdb.storage and this module preloaded in the server)."""
    global _ctx
    if _ctx is None:
        _ctx = multiprocessing.get_context("forkserver")
        _ctx.set_forkserver_preload(["mapdb.storage.database", "storage._support"])
        # Python 3.11's forkserver ignores the sys.path it is given: let it find this
        # package through PYTHONPATH, or every child would import it (and pyarrow) anew.
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join([_TESTS_DIR, *([old] if old else [])])
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if old is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = old
    return _ctx


def start(target, *args):
    p = mp_context().Process(target=target, args=args, daemon=True)
    p.start()
    return p


def join(p, timeout: float = 60.0) -> int:
    p.join(timeout)
    if p.exitcode is None:
        p.kill()
        p.join(5)
        raise AssertionError(f"child {p.pid} ({p.name}) did not finish within {timeout}s")
    return p.exitcode


def wait_for_file(path: str, timeout: float = 30.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc is not None and proc.exitcode is not None:
            raise AssertionError(f"child exited with {proc.exitcode} before creating {path}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout}s")
        time.sleep(0.005)


# -- process state ------------------------------------------------------------------------
def open_fds() -> set[str]:
    """Targets of this process's open descriptors, as 'fd -> target' strings."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except FileNotFoundError:  # the descriptor of the listing itself
            pass
    return out


def maps_lines() -> list[str]:
    with open("/proc/self/maps") as f:
        return [line.rstrip("\n") for line in f]


def mappings_under(directory) -> list[str]:
    """/proc/self/maps lines of files inside ``directory``."""
    d = os.path.realpath(directory) + os.sep
    out = []
    for line in maps_lines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith(d):
            out.append(line)
    return out


def files_outside(root, allowed) -> list[str]:
    """Every path under ``root`` that is not ``allowed`` or inside it."""
    allowed = os.path.realpath(allowed)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.realpath(os.path.join(dirpath, n))
            if p != allowed and not p.startswith(allowed + os.sep):
                out.append(p)
    return out


# -- table files ----------------------------------------------------------------------------
def current_manifest(table_dir: str):
    mdir = os.path.join(table_dir, "manifests")
    v = manifest_mod.versions(mdir)[-1]
    path = manifest_mod.manifest_path(mdir, v)
    with open(path, "rb") as f:
        return manifest_mod.Manifest.from_bytes(f.read(), path)


def leftovers(table_dir: str) -> list[str]:
    """Files and directories of the table that its current manifest does not need."""
    m = current_manifest(table_dir)
    out = []
    mdir = os.path.join(table_dir, "manifests")
    for n in os.listdir(mdir):
        if n != os.path.basename(manifest_mod.manifest_path(mdir, m.version)):
            out.append(f"manifests/{n}")
    live = {s.dirname for s in m.segments}
    for n in os.listdir(os.path.join(table_dir, "segments")):
        if n not in live:
            out.append(f"segments/{n}")
    for s in m.segments:
        want = {r.name for c in s.columns.values() for _, r, _ in c.all_refs()}
        have = set(os.listdir(os.path.join(table_dir, "segments", s.dirname)))
        out += [f"segments/{s.dirname}/{n}" for n in sorted(have - want)]
    chunks = {f"c{col}-{c.id:06d}.{ext}" for col, cs in m.dictionaries.items() for c in cs
              for ext in ("offsets", "data")}
    for n in os.listdir(os.path.join(table_dir, "dicts")):
        if n not in chunks:
            out.append(f"dicts/{n}")
    return sorted(out)


def db_leftovers(db_path: str) -> list[str]:
    """Staging and trash directories and temp files at the top of the database."""
    return sorted(n for n in os.listdir(db_path) if n.startswith(".") or ".tmp-" in n)


# -- comparing arrays -----------------------------------------------------------------------
_UINT = {8: pa.uint8(), 16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}


def normalize(arr) -> list:
    """Values of ``arr`` as Python objects with nulls as None, comparable with ==: floats and
    temporal values as their bit patterns (so NaN == NaN, -0.0 != 0.0, no overflow in
    datetime conversion), dictionaries decoded."""
    if isinstance(arr, pa.ChunkedArray):
        arr = (arr.combine_chunks() if arr.num_chunks
               else pa.array([], arr.type))
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_floating(t) or pa.types.is_temporal(t):
        arr = arr.view(_UINT[t.bit_width])
    valid = arr.is_valid().to_pylist()
    return [v if ok else None for v, ok in zip(arr.to_pylist(), valid, strict=True)]


# -- crash test data ------------------------------------------------------------------------
CRASH_SCHEMA = pa.schema([("k", pa.int64()), ("i", pa.int64()), ("s", pa.string())])
LABELS = [f"v{j}" for j in range(13)]


def crash_rows(k):
    return 1 + (np.asarray(k, dtype=np.int64) * 7919) % 500


def crash_batch(k: int) -> pa.RecordBatch:
    n = int(crash_rows(k))
    return pa.record_batch([pa.array(np.full(n, k, np.int64)),
                            pa.array(np.arange(n, dtype=np.int64)),
                            pa.array([LABELS[k % 13]] * n, pa.string())], schema=CRASH_SCHEMA)


def new_crash_table(db_path, durability: str | None = None) -> DatabaseStore:
    """The crash tests' table "t" with batch 0 committed (job "job-0")."""
    db = DatabaseStore(db_path)
    b = crash_batch(0)
    w = db.create_writer("t", CRASH_SCHEMA, b, dictionary=["s"],
                         **({"durability": durability} if durability else {}))
    w.write(b)
    w.commit(job_id="job-0")
    w.close()
    return db


def check_crash_table(t: pa.Table) -> int:
    """Assert the table holds batches 0..K complete and in order; return K."""
    k = t.column("k").to_numpy()
    i = t.column("i").to_numpy()
    assert len(k) > 0, "batch 0 (committed by the test before any kill) is missing"
    assert np.all(np.diff(k) >= 0), "batches out of order"
    counts = np.bincount(k)
    K = len(counts) - 1
    expected = crash_rows(np.arange(K + 1))
    bad = np.nonzero(counts != expected)[0]
    assert len(bad) == 0, (f"batches {bad[:10].tolist()} have "
                           f"{counts[bad[:10]].tolist()} rows, expected "
                           f"{expected[bad[:10]].tolist()}")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    assert np.array_equal(i, np.arange(len(k)) - np.repeat(starts, counts)), "column i damaged"
    s = t.column("s")
    s = s.combine_chunks() if s.num_chunks else pa.array([], s.type)
    if pa.types.is_dictionary(s.type):
        s = s.dictionary_decode()
    codes = pc.index_in(s, value_set=pa.array(LABELS)).to_numpy(
        zero_copy_only=False)
    assert np.array_equal(codes, k % 13), "column s damaged"
    return K


def append_forever(db_path: str, ack_path: str, max_segments: int, max_commits: int,
                   durability: str | None = None) -> None:
    """Append crash batches K+1, K+2, ... each in its own commit; after each commit returns,
    append 'ack <k> <rows>' to ``ack_path``. Compact when there are over ``max_segments``."""
    db = DatabaseStore(db_path, durability=durability)
    w = db.writer("t", timeout=10.0)
    snap = db.snapshot("t")
    K = int(pc.max(snap.column_chunks("k")[-1]).as_py())  # batches are in order
    snap.close()
    fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for k in range(K + 1, K + 1 + max_commits):
        b = crash_batch(k)
        h = b.num_rows // 2
        w.write(b.slice(0, h))
        w.write(b.slice(h))
        w.commit(job_id=f"job-{k}")
        os.write(fd, f"ack {k} {b.num_rows}\n".encode())
        if len(w.base.segments) > max_segments:
            w.compact(target_rows=50_000)
    w.close()
    os.close(fd)


def crash_at(db_path: str, point: str, mode: str, durability: str | None = None) -> None:
    """Turn on crash point ``point`` and run one operation that should reach it."""
    os.environ["MAPDB_CRASH_AT"] = point
    db = DatabaseStore(db_path, durability=durability)
    if mode == "append":
        w = db.writer("t")
        w.write(crash_batch(2))
        w.commit()
    elif mode == "create":
        w = db.create_writer("n", CRASH_SCHEMA, crash_batch(0), dictionary=["s"])
        w.write(crash_batch(0))
        w.commit()
    elif mode == "compact":
        w = db.writer("t")
        w.compact()
    else:
        raise ValueError(mode)
    os._exit(3)  # the crash point did not fire


def commit_then_die(db_path: str, k: int, durability: str) -> None:
    """Append crash batch ``k`` in one commit of mode ``durability``, then SIGKILL this
    process the moment commit returns (no close, no cleanup)."""
    import signal
    db = DatabaseStore(db_path)
    w = db.writer("t", durability=durability)
    w.write(crash_batch(k))
    w.commit(job_id=f"job-{k}")
    os.kill(os.getpid(), signal.SIGKILL)


# -- concurrency ----------------------------------------------------------------------------
def counting_batch(k: int) -> pa.RecordBatch:
    """Commit k of the concurrency test: k rows, all equal to k."""
    return pa.record_batch([pa.array(np.full(k, k, np.int64)),
                            pa.array([f"s{k % 7}"] * k, pa.string())], names=["k", "s"])


def counting_writer(db_path: str, first: int, last: int, compact_every: int,
                    pause: float) -> None:
    db = DatabaseStore(db_path)
    w = db.writer("t", timeout=10.0)
    for k in range(first, last + 1):
        b = counting_batch(k)
        w.write(b.slice(0, k // 2))
        w.write(b.slice(k // 2))
        w.commit()
        if compact_every and k % compact_every == 0:
            w.compact()
        if pause:
            time.sleep(pause)
    w.close()


def check_counting_table(k: np.ndarray, s: pa.ChunkedArray) -> int:
    """Assert the table holds commits 1..K exactly (commit j: j rows equal to j); return K."""
    counts = np.bincount(k) if len(k) else np.zeros(1, np.int64)
    K = len(counts) - 1
    want = np.arange(K + 1)
    assert np.array_equal(counts, want), (
        f"partial or missing commits: counts {counts.tolist()[:20]}... for K={K}")
    assert len(k) == K * (K + 1) // 2
    assert int(k.sum()) == K * (K + 1) * (2 * K + 1) // 6
    assert np.all(np.diff(k) >= 0)
    dec = pc.cast(s, pa.large_string()) if not pa.types.is_dictionary(s.type) else (
        pa.chunked_array([c.dictionary_decode() for c in s.chunks], pa.large_string()))
    labels = [f"s{j}" for j in range(7)]
    codes = pc.index_in(dec, value_set=pa.array(labels)).to_numpy()
    assert np.array_equal(codes, k % 7)
    return K


def counting_reader(db_path: str, stop_path: str, started_path: str,
                    result_path: str) -> None:
    """Open fresh snapshots until ``stop_path`` exists (then once more); check each one."""
    result = {"pairs": [], "error": None}
    try:
        db = DatabaseStore(db_path, readonly=True)
        last = (0, 0)
        first = True
        while True:
            stop = os.path.exists(stop_path)
            snap = db.snapshot("t")
            try:
                k = snap.column("k").to_numpy()
                K = check_counting_table(k, snap.column("s"))
                assert snap.manifest.rows == len(k)
                pair = (snap.version, K)
            finally:
                snap.close()
            assert pair[0] >= last[0], f"version went backwards: {last} then {pair}"
            assert pair[1] >= last[1], f"content went backwards: {last} then {pair}"
            if pair != last:
                result["pairs"].append(pair)
            last = pair
            if first:
                open(started_path, "w").close()
                first = False
            if stop:
                break
    except BaseException:
        result["error"] = traceback.format_exc()
    with open(result_path, "w") as f:
        json.dump(result, f)


# -- locks ----------------------------------------------------------------------------------
def hold_lock(db_path: str, ready_path: str, hold_seconds: float) -> None:
    db = DatabaseStore(db_path)
    w = db.writer("t")
    open(ready_path, "w").close()
    time.sleep(hold_seconds)
    w.close()


# -- compaction with an old reader ----------------------------------------------------------
def old_version_reader(db_path: str, pinned_path: str, go_path: str, result_path: str) -> None:
    result: dict = {"error": None}
    try:
        db = DatabaseStore(db_path, readonly=True)
        snap = db.snapshot("t")
        before = snap.column_chunks("x")  # mapped before the compaction
        result["version"] = snap.version
        result["segments"] = len(snap.manifest.segments)
        with open(pinned_path + ".tmp", "w") as f:
            json.dump(result, f)
        os.rename(pinned_path + ".tmp", pinned_path)
        wait_for_file(go_path, timeout=60)
        # after compaction (and a reclaim attempt) in the parent
        result["x_before"] = int(sum(pc.sum(c).as_py() or 0 for c in before))
        t = snap.to_arrow()
        result["x"] = int(pc.sum(t.column("x")).as_py())
        result["rows"] = t.num_rows
        result["y"] = t.column("y").to_pylist()
        result["verify"] = snap.verify()
        snap.close()
    except BaseException:
        result["error"] = traceback.format_exc()
    with open(result_path, "w") as f:
        json.dump(result, f)


def failure(fn, *args, **kwargs) -> tuple[type, str]:
    """Call ``fn``, which must raise; return (exception type, message). Objects of the failed
    call are released here, inside the calling test, not by some later gc."""
    import gc
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        result = (type(exc), str(exc))
    else:
        raise AssertionError(f"{fn.__name__} did not raise")
    gc.collect()
    return result


def refusal(fn, *args, **kwargs) -> tuple[str, int | None, float]:
    """Call ``fn``, which must raise LockedError; return (message, pid, seconds taken).

    The refused WriterLock is released here, inside the calling test, with no reference
    cycle keeping it for a later gc."""
    import gc

    from mapdb.errors import LockedError
    t0 = time.monotonic()
    try:
        fn(*args, **kwargs)
    except LockedError as exc:
        msg, pid = str(exc), exc.pid
    else:
        raise AssertionError(f"{fn.__name__} was not refused the lock")
    took = time.monotonic() - t0
    gc.collect()
    return msg, pid, took
