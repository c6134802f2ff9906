"""Functions that child processes run for the reliability tests and the soak command.

They run in the storage tests' forkserver (tests/storage/_support.py), which has this
directory's parent on its path, so they are importable as ``reliability.workers``.
"""

from __future__ import annotations

import json
import os
import resource
import signal

from storage import _support as sup

from mapdb.storage.database import DatabaseStore


def crash_mid_index(db_path: str, mode: str) -> None:
    """Die at the crash point 'mid-index-build' during an append, a compaction or a
    create_index (exit 3 if it did not fire)."""
    os.environ["MAPDB_CRASH_AT"] = "mid-index-build"
    db = DatabaseStore(db_path)
    w = db.writer("t")
    if mode == "append":
        w.write(sup.crash_batch(3))
        w.commit()
    elif mode == "compact":
        w.compact()
    elif mode == "create_index":
        w.create_index("i", "hash")
    else:
        raise ValueError(mode)
    os._exit(3)


def ingest_with_fsize_limit(db_path: str, csv_path: str, limit: int, result_path: str) -> None:
    """Ingest ``csv_path`` under RLIMIT_FSIZE = ``limit`` bytes (SIGXFSZ ignored, so the
    kernel's EFBIG reaches mapdb); record what happened."""
    import mapdb
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    out: dict = {}
    try:
        mapdb.connect(db_path).ingest("t", csv_path)
        out["outcome"] = "imported"
    except Exception as e:
        out["outcome"] = type(e).__name__
        out["mapdb"] = isinstance(e, mapdb.errors.MapdbError)
        out["message"] = str(e)
    with open(result_path, "w") as f:
        json.dump(out, f)


def query_until_out_of_descriptors(db_path: str, tables: int, headroom: int,
                                   result_path: str) -> None:
    """Lower RLIMIT_NOFILE to (descriptors open now + ``headroom``), then query tables
    t0, t1, ... (each kept open by the database's source cache) until something fails."""
    import mapdb
    db = mapdb.connect(db_path, readonly=True, pin_budget=0)
    db.sql("SELECT count(*) FROM t0").to_arrow()  # imports and first-use files done
    n_open = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (n_open + headroom, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    out: dict = {"queried": 0}
    try:
        for i in range(tables):
            db.sql(f"SELECT sum(x), max(s) FROM t{i}").to_arrow()
            out["queried"] = i + 1
        out["outcome"] = "all answered"
    except Exception as e:
        out["outcome"] = type(e).__name__
        out["mapdb"] = isinstance(e, mapdb.errors.MapdbError)
        out["message"] = str(e)
    db.close()
    with open(result_path, "w") as f:
        json.dump(out, f)


# -- soak: byte-flip sweeps and hostile inputs in children (a crash kills only the child) --
def flip_sweep(db_path: str, key: str, region: str, masks: list[int], step: int,
               result_path: str, progress_path: str) -> None:
    """Sweep single-byte flips over one file of the flip table (see reliability.flips):
    ``key`` a file kind of flips.files (or "manifest"), ``region`` "header", "preamble and
    directory start", "entries" or "all"; write the outcome counts and the bugs to
    ``result_path``. Before each probe, 'position mask' goes to ``progress_path``, so a
    crash names the flip that caused it."""
    from collections import Counter

    from reliability import flips
    db = DatabaseStore(db_path)
    path = flips.files(db)[key]
    if key == "manifest":
        probe, positions = flips.manifest_probe(db), range(os.path.getsize(path))
    elif key.startswith("index "):
        name = key.split(" ", 1)[1]
        snap = db.snapshot("t")
        col = next(c for c in snap.manifest.schema
                   if c.id == snap.manifest.index(name).column)
        keys = snap.column(col.name).drop_null().to_pylist()
        snap.close()
        extra = "nope" if isinstance(keys[0], str) else -1
        probe = flips.index_probe(db, name, [*keys[::3], extra])
        positions = flips.index_regions(path)[region]
    else:
        column, role = key.rsplit(".", 1)
        probe = flips.column_probe(db, column, zones=role == "zones")
        positions = range(4096)
    counts: Counter = Counter()
    bad: list = []
    progress = os.open(progress_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for pos in list(positions)[::step]:
        os.pwrite(progress, f"byte {pos}, masks {list(masks)}".encode().ljust(80), 0)
        flips.sweep(path, [pos], masks, probe, counts, bad)
    os.close(progress)
    with open(result_path, "w") as f:
        json.dump({"counts": counts, "bad": bad[:50], "flips": sum(counts.values())}, f)


def hostile_batch(kind: str, n: int, work_dir: str, out_path: str, current_path: str,
                  big: bool) -> None:
    """Run ``n`` hypothesis-generated hostile inputs of ``kind`` ("csv", "ndjson",
    "binary", "sql", "valid sql") and append one JSON line per input to ``out_path``; the
    input about to run is saved in ``current_path`` first (a crash leaves it there)."""
    import itertools
    import logging

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from reliability import checks, hostile
    counter = itertools.count()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its parser's warnings: noise
    out = open(out_path, "a")  # noqa: SIM115 - closed at the end
    cfg = settings(max_examples=n, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))

    def record(outcome: str, detail: str = "") -> None:
        out.write(json.dumps({"kind": kind, "outcome": outcome, "detail": detail[:300]}) + "\n")
        out.flush()

    if kind == "sql" or kind == "valid sql":
        engines = checks.sql_engines(os.path.join(work_dir, "sqldb"))
        strategy = hostile.hostile_sql(big) if kind == "sql" else hostile.valid_hostile_sql()

        @cfg
        @given(item=strategy, fused=st.booleans())
        def run_sql(item, fused):
            sub, sql = item
            with open(current_path, "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(sql)
            outcome = checks.run_sql(engines, sql, fused, seconds=120)
            if outcome.startswith("DIFFERS") or outcome.startswith("BUG"):
                record(f"{sub}: {outcome.split(':')[0]}", f"{outcome} | {sql[:200]}")
            else:
                record(f"{sub}: {outcome}")
        run_sql()
        out.close()
        return

    db = checks.base_db(os.path.join(work_dir, "db"))
    files = hostile.binary_files()
    strategy = {"csv": hostile.csv_document().map(lambda d: ("csv", d)),
                "ndjson": hostile.ndjson_document().map(lambda d: ("ndjson", d)),
                "binary": hostile.broken_binary(files)}[kind]

    @cfg
    @given(item=strategy, new=st.booleans())
    def run_file(item, new):
        ext, data = item
        path = os.path.join(work_dir, f"in{next(counter)}.{ext}")
        with open(path, "wb") as f:
            f.write(data)
        with open(current_path, "wb") as f:
            f.write(data)
        fmt = "arrow" if ext == "arrows" else None
        if new:
            outcome = checks.run_ingest(db, path, f"n{next(counter)}", "create", fmt,
                                        seconds=120)
            checks.drop_extra_tables(db)
        else:
            outcome = checks.run_ingest(db, path, "t", "append", fmt, seconds=120)
        os.unlink(path)
        record(outcome.split(":")[0] if outcome.startswith("BUG") else outcome,
               outcome if outcome.startswith("BUG") else "")
    run_file()
    out.close()
