"""Memory of a streamed result: peak RSS while fetching a large result in small steps.

    python -m benchmarks.run stream_memory                 # 20M rows (about 5 minutes)
    python -m benchmarks.run stream_memory --rows 2000000  # quicker

The table (``id`` BIGINT, ``x`` DOUBLE, ``k`` INTEGER, ``s`` VARCHAR of 5-12 characters)
is built once under benchmarks/data/ in a separate process, appended 1M rows at a time.
Each measurement runs in a fresh process: it connects, runs a query reading every column
("warm": the first read of a string column in a process checksums its files through the
mapping, storage/validate.py, a one-time cost whose pages are unmapped again after the
check; the "first statement" run skips the warm-up, so its peak includes the check), resets
the peak RSS to the current RSS (/proc/self/clear_refs), then fetches the whole result of
the statement with ``fetchmany(10000)`` (Python tuples: every value converted) or
``fetch_record_batch(100000)``, and reports how much the peak grew, with the anonymous
and file-backed (mapped column files) parts of RSS sampled along the way. The issue's bar
(issue 18): under 400 MiB of growth for 20M rows with ``fetchmany(10000)``; measured
(results/stream_memory.json, docs/api.md): +231 MiB as the first statement of a process,
+23 MiB warm. ``--reference`` adds ``to_arrow()`` (the whole result in memory).
Results: benchmarks/results/stream_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from benchmarks.common import DATA, RESULTS

SQL = {"select *": "SELECT * FROM t",
       "filter + project": "SELECT id, s, x * 2 AS x2 FROM t WHERE k % 10 <> 3"}


def _build(path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa

    import mapdb
    db = mapdb.connect(path, durability="none")
    rng = np.random.default_rng(0)
    step = 1_000_000
    words = np.array([f"w{i:0{rng.integers(4, 11)}d}" for i in range(5000)], dtype=object)
    for start in range(0, rows, step):
        n = min(step, rows - start)
        batch = pa.table({
            "id": pa.array(np.arange(start, start + n, dtype=np.int64)),
            "x": pa.array(rng.normal(size=n)),
            "k": pa.array(rng.integers(0, 1000, n, dtype=np.int32)),
            "s": pa.array(words[rng.integers(0, len(words), n)], pa.string()),
        })
        if start == 0:
            db.create_table("t", batch, dictionary=None)
        else:
            db.table("t").append(batch)
    db.table("t").compact()


def _status() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) * 1024
    return out


def _reset_peak() -> int:
    """Reset the peak RSS (VmHWM) to the current RSS (Linux: clear_refs 5); returns it."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status()["VmRSS"]


def _measure(path: str, sql: str, how: str, warm: bool) -> dict:
    """Runs in a child process. ``warm``: a query reading every column ran first (the
    first read of a string column in a process checksums its offsets and data through
    the mapping, storage/validate.py: a one-time cost per file and process)."""
    import mapdb
    db = mapdb.connect(path, readonly=True)
    if warm:
        db.sql("SELECT * FROM t LIMIT 10").fetchall()
    base = _reset_peak()
    peak_anon = peak_file = 0
    rows = 0
    t0 = time.perf_counter()
    r = db.sql(sql)
    if how == "fetchmany(10000)":
        i = 0
        while chunk := r.fetchmany(10000):
            rows += len(chunk)
            i += 1
            if i % 50 == 0:
                st = _status()
                peak_anon, peak_file = max(peak_anon, st["RssAnon"]), max(peak_file,
                                                                            st["RssFile"])
    elif how == "fetch_record_batch":
        for batch in r.fetch_record_batch(100_000):
            rows += batch.num_rows
            st = _status()
            peak_anon, peak_file = max(peak_anon, st["RssAnon"]), max(peak_file,
                                                                        st["RssFile"])
    else:  # to_arrow: the whole result in memory
        t = r.to_arrow()
        rows = t.num_rows
        st = _status()
        peak_anon, peak_file = st["RssAnon"], st["RssFile"]
    seconds = time.perf_counter() - t0
    peak = _status()["VmHWM"]
    return {"rows": rows, "seconds": round(seconds, 2), "base_rss_mib": base >> 20,
            "peak_rss_mib": peak >> 20, "growth_mib": (peak - base) >> 20,
            "sampled_peak_anon_mib": peak_anon >> 20, "sampled_peak_file_mib": peak_file >> 20}


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks.run stream_memory")
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--reference", action="store_true",
                    help="also measure to_arrow() (the whole result in memory)")
    args = ap.parse_args(argv)
    path = DATA / f"stream-{args.rows}" / "db"
    if not (path / "mapdb.json").exists():
        print(f"building {args.rows:,} rows in {path} ...", flush=True)
        subprocess.run([sys.executable, "-c", f"from benchmarks.stream_memory import _build; "
                        f"_build({str(path)!r}, {args.rows})"], check=True)
    runs = []
    plan = [(name, sql, how, True) for name, sql in SQL.items()
            for how in ["fetchmany(10000)", "fetch_record_batch"] +
            (["to_arrow"] if args.reference else [])]
    plan.append(("select *", SQL["select *"], "fetchmany(10000)", False))
    for name, sql, how, warm in plan:
        code = (f"import json; from benchmarks.stream_memory import _measure; "
                f"print(json.dumps(_measure({str(path)!r}, {sql!r}, {how!r}, {warm})))")
        out = subprocess.run([sys.executable, "-c", code], check=True,
                             capture_output=True, text=True).stdout
        res = {"query": name, "sql": sql, "how": how,
               "process": "warm" if warm else "first statement",
               **json.loads(out.splitlines()[-1])}
        runs.append(res)
        print(f"{name:<17} {how:<19} {res['process']:<16} {res['rows']:>11,} rows "
              f"{res['seconds']:>6.1f} s  peak RSS +{res['growth_mib']:>5} MiB (anon <= "
              f"{res['sampled_peak_anon_mib']} MiB, file-backed <= "
              f"{res['sampled_peak_file_mib']} MiB sampled)", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "stream_memory.json"
    out.write_text(json.dumps({"rows": args.rows, "machine": platform.machine(),
                               "cpus": len(os.sched_getaffinity(0)),
                               "runs": runs}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
