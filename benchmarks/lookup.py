"""Point lookups: TPC-H orders stored in random key order, random existing keys.

    python -m benchmarks.run lookup --scale 1 --keys 2000

Engines, same run, same keys:
- mapdb SQL: ``db.sql("SELECT * FROM orders WHERE o_orderkey = k").to_arrow()`` through
  a unique hash index (``t.create_index("o_orderkey", unique=True)``);
- mapdb lookup: ``t.lookup(o_orderkey=k)`` (no SQL);
- DuckDB: the same SQL over its own database file with a UNIQUE index,
  ``con.sql(...).to_arrow_table()``;
- Polars: ``df.filter(pl.col("o_orderkey") == k)`` on the table in memory (no index: a scan).

Warm: every key once untimed, then each timed (p50/p99 over the keys). Cold: the data
files are evicted with ``mapdb cache evict DB orders`` (a separate process, as a user
would) while this process keeps the index pinned (``pin_budget``), then each key is
looked up once more, cold, checking every answer against DuckDB's and counting major page
faults and bytes read. Writes benchmarks/results/lookup-sf{N}.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.common import DATA, RESULTS, read_bytes, tpch_parquet
from benchmarks.plot import chart

SQL = "SELECT * FROM orders WHERE o_orderkey = {}"


def _shuffled_orders(scale: float) -> pa.Table:
    t = pq.read_table(tpch_parquet(scale, "orders"))
    t = t.cast(pa.schema([pa.field(f.name, pa.large_string() if pa.types.is_string_view(
        f.type) or pa.types.is_string(f.type) else f.type) for f in t.schema]))
    return t.take(pa.array(np.random.default_rng(1).permutation(t.num_rows)))


def _load(scale: float) -> tuple[Path, Path, pa.Table]:
    out = DATA / f"lookup-sf{scale:g}"
    db_path, duck_path = out / "mapdb", out / "orders.duckdb"
    stamp = out / "stamp"
    orders = _shuffled_orders(scale)
    if not stamp.exists():
        import duckdb

        import mapdb
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        print(f"loading {orders.num_rows:,} shuffled orders into mapdb and DuckDB ...")
        with mapdb.connect(db_path) as db:
            db.create_table("orders", orders).create_index("o_orderkey", unique=True)
        con = duckdb.connect(str(duck_path))
        con.register("src", orders)
        con.execute("CREATE TABLE orders AS SELECT * FROM src")
        con.execute("CREATE UNIQUE INDEX orders_pk ON orders(o_orderkey)")
        con.close()
        stamp.write_text("ok")
    return db_path, duck_path, orders


def _percentiles(seconds: list[float]) -> dict:
    us = np.array(seconds) * 1e6
    return {"p50_us": float(np.percentile(us, 50)), "p99_us": float(np.percentile(us, 99)),
            "mean_us": float(us.mean()), "n": len(us)}


def _timed(fn, keys) -> list[float]:
    for k in keys:  # warm-up pass
        fn(k)
    out = []
    for k in keys:
        t0 = time.perf_counter()
        fn(k)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks.run lookup")
    ap.add_argument("--scale", type=float, default=1)
    ap.add_argument("--keys", type=int, default=2000)
    ap.add_argument("--pin-budget", default="512MB")
    args = ap.parse_args(argv)

    import duckdb
    import polars as pl

    import mapdb
    db_path, duck_path, orders = _load(args.scale)
    keys = np.random.default_rng(2).choice(orders.column("o_orderkey").to_numpy(),
                                           args.keys, replace=False).tolist()
    con = duckdb.connect(str(duck_path), read_only=True)
    db = mapdb.connect(db_path, pin_budget=args.pin_budget)
    t = db.table("orders")
    df = pl.from_arrow(orders)
    res: dict = {"scale": args.scale, "rows": orders.num_rows, "keys": len(keys),
                 "machine": platform.machine(), "python": platform.python_version(),
                 "warm": {}}
    engines = {
        "duckdb": lambda k: con.sql(SQL.format(k)).to_arrow_table(),
        "mapdb_sql": lambda k: db.sql(SQL.format(k)).to_arrow(),
        "mapdb_lookup": lambda k: t.lookup(o_orderkey=k),
        "polars": lambda k: df.filter(pl.col("o_orderkey") == k),
    }
    for name, fn in engines.items():
        print(f"warm {name} ...", flush=True)
        res["warm"][name] = _percentiles(_timed(fn, keys if name != "polars" else keys[:200]))
    # answers equal DuckDB's
    for k in keys[:200]:
        a = t.lookup(o_orderkey=k).to_pylist()
        assert a == db.sql(SQL.format(k)).to_arrow().to_pylist() == \
            con.sql(SQL.format(k)).to_arrow_table().to_pylist(), k
    db.close()  # its mappings would keep the data resident through the eviction
    t.close()
    print("cold lookups (separate process) ...", flush=True)
    out = subprocess.run([sys.executable, "-m", "benchmarks.lookup", str(db_path), str(duck_path),
                          args.pin_budget, json.dumps(keys)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"cold run failed:\n{out.stderr}")
    res.update(json.loads(out.stdout))
    w = res["warm"]
    res["ratios"] = {"sql_p50_vs_duckdb": w["mapdb_sql"]["p50_us"] / w["duckdb"]["p50_us"],
                     "sql_p99_vs_duckdb": w["mapdb_sql"]["p99_us"] / w["duckdb"]["p99_us"]}
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"lookup-sf{args.scale:g}"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str))
    md = _markdown(res)
    stem.with_suffix(".md").write_text(md)
    print(md)
    chart(stem.with_suffix(".json"))


def cold(db_path: str, duck_path: str, budget: str, keys: list[int]) -> dict:
    """In a fresh process: pin the index, evict the table with the CLI, look every key up
    once (cold), check against DuckDB, count faults and bytes read."""
    import duckdb

    import mapdb
    con = duckdb.connect(duck_path, read_only=True)
    want = {k: con.sql(SQL.format(k)).to_arrow_table().to_pylist() for k in keys}
    db = mapdb.connect(db_path, pin_budget=budget)
    db.cache.ensure_pinned("orders")
    t = db.table("orders")
    t.lookup(o_orderkey=-1)  # maps the columns and the index; reads no row
    subprocess.run([str(Path(sys.executable).parent / "mapdb"), "cache", "evict", db_path,
                    "orders"], check=True, capture_output=True)
    status = db.cache.status("orders")["tables"]["orders"]
    seconds, wrong = [], 0
    f0, r0 = resource.getrusage(resource.RUSAGE_SELF).ru_majflt, read_bytes()
    for k in keys:
        t0 = time.perf_counter()
        got = t.lookup(o_orderkey=k)
        seconds.append(time.perf_counter() - t0)
        wrong += got.to_pylist() != want[k]
    f1, r1 = resource.getrusage(resource.RUSAGE_SELF).ru_majflt, read_bytes()
    return {"pinned": db.cache.pinned("orders"),
            "after_evict": {k: status.get(k) for k in ("bytes", "resident", "pinned")},
            "cold_lookup": {**_percentiles(seconds), "wrong": wrong,
                            "major_faults_per_lookup": (f1 - f0) / len(keys),
                            "read_bytes_per_lookup": (r1 - r0) / len(keys)}}


if __name__ == "__main__":
    print(json.dumps(cold(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])),
                     default=str))


def _markdown(r: dict) -> str:
    w, c = r["warm"], r["cold_lookup"]
    lines = [f"Point lookups, TPC-H orders SF{r['scale']:g} ({r['rows']:,} rows in random key "
             f"order), {r['keys']:,} random keys, same run.", "",
             "| engine | p50 | p99 | mean |", "|---|---|---|---|"]
    for name, label in (("duckdb", "DuckDB SQL, UNIQUE index"),
                        ("mapdb_sql", "mapdb SQL, unique hash index"),
                        ("mapdb_lookup", "mapdb `t.lookup(o_orderkey=k)`"),
                        ("polars", "Polars filter, in memory (200 keys)")):
        x = w[name]
        lines.append(f"| {label} | {x['p50_us']:.0f} us | {x['p99_us']:.0f} us | "
                     f"{x['mean_us']:.0f} us |")
    lines.append(f"| mapdb `t.lookup` after `mapdb cache evict` (index pinned) | "
                 f"{c['p50_us']:.0f} us | {c['p99_us']:.0f} us | {c['mean_us']:.0f} us |")
    ra = r["ratios"]
    lines += ["", f"mapdb SQL / DuckDB: p50 {ra['sql_p50_vs_duckdb']:.2f}x, p99 "
                  f"{ra['sql_p99_vs_duckdb']:.2f}x. After eviction: {c['wrong']} wrong answers, "
                  f"{c['major_faults_per_lookup']:.1f} major faults and "
                  f"{c['read_bytes_per_lookup'] / 1024:.0f} KiB read per lookup."]
    return "\n".join(lines) + "\n"
