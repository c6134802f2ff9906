"""Ingest benchmark: TPC-H lineitem Parquet into mapdb (``mapdb ingest``) and into DuckDB
(``CREATE TABLE ... AS SELECT * FROM read_parquet(...)``), same file, same run.

Each engine writes a fresh database per run; the Parquet file is warm in the page cache
for both (it is read once before timing). Prints median times, the mapdb/DuckDB ratio and
bytes on disk, and writes benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import HERE, du, tpch_parquet


def run_mapdb(src: Path, work: Path) -> tuple[float, int]:
    db = work / "mapdb"
    shutil.rmtree(db, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "mapdb"), "ingest", str(db), "lineitem",
                    str(src), "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, du(db)


def run_duckdb(src: Path, work: Path) -> tuple[float, int]:
    db = work / "duck.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    code = ("import duckdb,sys; c=duckdb.connect(sys.argv[1]); "
            "c.execute(\"SET enable_progress_bar=false\"); c.execute(\"CREATE TABLE "
            "lineitem AS SELECT * FROM read_parquet('\" + sys.argv[2] + \"')\"); "
            "c.execute('CHECKPOINT'); c.close()")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(db), str(src)], check=True)
    return time.perf_counter() - t0, du(db)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    src = tpch_parquet(args.scale)
    work = HERE / "data" / "ingest-work"
    work.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f:  # warm the source for both engines
        while f.read(64 << 20):
            pass
    times: dict[str, list[float]] = {"mapdb": [], "duckdb": []}
    sizes = {}
    for i in range(args.runs):
        for name, fn in (("mapdb", run_mapdb), ("duckdb", run_duckdb)):
            dt, size = fn(src, work)
            times[name].append(dt)
            sizes[name] = size
            print(f"run {i + 1}: {name:<6} {dt:7.2f}s  {size / 2**30:6.2f} GiB on disk",
                  flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["mapdb"] / med["duckdb"]
    print(f"\nTPC-H SF{args.scale:g} lineitem parquet ({src.stat().st_size / 2**30:.2f} GiB), "
          f"median of {args.runs}: mapdb {med['mapdb']:.2f}s, DuckDB {med['duckdb']:.2f}s, "
          f"mapdb/DuckDB = {ratio:.2f}")
    print(f"bytes on disk: mapdb {sizes['mapdb'] / 2**30:.2f} GiB, "
          f"DuckDB {sizes['duckdb'] / 2**30:.2f} GiB")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "ingest.json").write_text(json.dumps({
        "scale": args.scale, "runs": args.runs, "cpus": os.cpu_count(), "times": times,
        "median": med, "ratio": ratio, "bytes_on_disk": sizes}, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
