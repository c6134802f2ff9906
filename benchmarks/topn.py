"""Top-N (ORDER BY ... LIMIT n): mapdb against DuckDB and Polars on one generated table.

    python -m benchmarks.run topn                      # 30M rows, 5 timed runs each
    python -m benchmarks.run topn --rows 3000000 --runs 3

The table (``id`` BIGINT unique, ``x`` DOUBLE, ``v`` BIGINT with 10% NULLs, ``f`` DOUBLE
with 10% NULLs and some NaN, ``k`` INTEGER, ``d`` DATE, ``s`` VARCHAR of 5000 words) is
generated with numpy (seed 0) into benchmarks/data/topn-{rows}/t.parquet once; mapdb
ingests it (db/), DuckDB loads it into memory, Polars reads it. Each engine runs in the
same process, warm: one untimed run, then --runs timed runs; min, median and max are
reported with mapdb's ratio to DuckDB (median over median). mapdb's answers are checked
against DuckDB's (on the sort-key columns: ties may pick different rows).
Results: benchmarks/results/topn.json and topn.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.common import DATA, RESULTS, timed

QUERIES = {
    "nullable desc nulls last": ("SELECT * FROM t ORDER BY v DESC NULLS LAST LIMIT 3",
                                 ["v"]),
    "select * order by double": ("SELECT * FROM t ORDER BY x LIMIT 3", ["x"]),
    "nullable double desc": ("SELECT id, f FROM t ORDER BY f DESC NULLS LAST LIMIT 3",
                             ["f"]),
    "two keys, offset": ("SELECT * FROM t ORDER BY k DESC, id LIMIT 10 OFFSET 100",
                         ["k", "id"]),
    "string key": ("SELECT id, s FROM t ORDER BY s DESC, id LIMIT 5", ["s", "id"]),
    "where + order": ("SELECT * FROM t WHERE k < 100 ORDER BY d DESC, id LIMIT 5",
                      ["d", "id"]),
}


def _build(path: Path, rows: int) -> None:
    """The table as Parquet (1M-row row groups), generated 1M rows at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(0)
    words = np.array([f"w{i:0{rng.integers(4, 11)}d}" for i in range(5000)], dtype=object)
    step = 1_000_000
    ids = rng.permutation(rows).astype(np.int64)
    writer = None
    for start in range(0, rows, step):
        n = min(step, rows - start)
        v = rng.integers(-10**12, 10**12, n)
        vnull = rng.random(n) < 0.1
        f = rng.normal(size=n) * 1000
        f[rng.random(n) < 0.0001] = np.nan
        fnull = rng.random(n) < 0.1
        batch = pa.table({
            "id": pa.array(ids[start:start + n]),
            "x": pa.array(rng.random(n)),
            "v": pa.array(v, mask=vnull),
            "f": pa.array(f, mask=fnull),
            "k": pa.array(rng.integers(0, 1000, n, dtype=np.int32)),
            "d": pa.array(rng.integers(0, 20000, n, dtype=np.int32)).cast(pa.date32()),
            "s": pa.array(words[rng.integers(0, len(words), n)], pa.string()),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch, row_group_size=step)
    writer.close()


def _load(parquet: Path, db_path: Path) -> None:
    import pyarrow.parquet as pq

    import mapdb
    db = mapdb.connect(db_path, durability="none")
    f = pq.ParquetFile(parquet)
    for i in range(f.num_row_groups):
        batch = f.read_row_group(i)
        if i == 0:
            db.create_table("t", batch)
        else:
            db.table("t").append(batch)
    db.table("t").compact()


def prepare(rows: int) -> tuple[Path, Path]:
    out = DATA / f"topn-{rows}"
    out.mkdir(parents=True, exist_ok=True)
    parquet, db = out / "t.parquet", out / "db"
    if not parquet.exists():
        print(f"generating {rows:,} rows in {parquet} ...", flush=True)
        tmp = parquet.with_suffix(".tmp")
        _build(tmp, rows)
        tmp.rename(parquet)
    if not (db / "mapdb.json").exists():
        print(f"loading {db} ...", flush=True)
        subprocess.run([sys.executable, "-c", f"from benchmarks.topn import _load; from "
                        f"pathlib import Path; _load(Path({str(parquet)!r}), "
                        f"Path({str(db)!r}))"], check=True)
    return parquet, db


def _keys(table, cols: list[str]) -> list[tuple]:
    return list(zip(*(table.column(c).to_pylist() for c in cols), strict=True))


def _same(a: list[tuple], b: list[tuple]) -> bool:
    def norm(row):
        return tuple("nan" if isinstance(v, float) and v != v else v for v in row)
    return [norm(r) for r in a] == [norm(r) for r in b]


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks.run topn")
    ap.add_argument("--rows", type=int, default=30_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--engines", default="mapdb,duckdb,polars")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-topn", action="store_true",
                    help="mapdb without the TopN operator (Limit over the general Sort, as "
                         "before it existed): the 'before' figures; results in topn-before.*")
    args = ap.parse_args(argv)
    engines = args.engines.split(",")
    os.environ["POLARS_MAX_THREADS"] = str(args.threads)  # (read when polars is imported)
    parquet, db_path = prepare(args.rows)

    import duckdb

    import mapdb
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{parquet}')")
    if args.no_topn:
        from mapdb.query import topn
        topn.rewrite = lambda plan: plan
    db = mapdb.connect(db_path, readonly=True)
    db.sql("SELECT * FROM t LIMIT 10").fetchall()  # first read of the string column
    pl_ctx = None
    if "polars" in engines:
        try:
            import polars as pl
            pl_ctx = pl.SQLContext(t=pl.read_parquet(parquet))
        except ImportError:
            engines.remove("polars")
    results = []
    for name, (sql, keys) in QUERIES.items():
        res = {"query": name, "sql": sql}
        ref = None
        for eng in engines:
            if eng == "duckdb":
                times, out = timed(lambda sql=sql: con.sql(sql).to_arrow_table(),
                                   args.runs)
                ref = out
            elif eng == "mapdb":
                times, out = timed(lambda sql=sql: db.sql(sql, workers=args.threads).to_arrow(),
                                   args.runs)
                res["mapdb_rows"] = out.num_rows
                mine = out
            else:
                times, out = timed(lambda sql=sql: pl_ctx.execute(sql, eager=True),
                                   args.runs)
            res[eng] = {"min_ms": round(min(times) * 1000, 2),
                        "median_ms": round(statistics.median(times) * 1000, 2),
                        "max_ms": round(max(times) * 1000, 2)}
        if ref is not None and "mapdb" in engines:
            res["matches_duckdb"] = _same(_keys(mine, keys), _keys(ref, keys))
            res["ratio_vs_duckdb"] = round(res["mapdb"]["median_ms"] /
                                           res["duckdb"]["median_ms"], 2)
        results.append(res)
        line = f"{name:<26}"
        for eng in engines:
            r = res[eng]
            line += f" {eng} {r['median_ms']:8.1f} ms [{r['min_ms']:.1f}-{r['max_ms']:.1f}]"
        if "ratio_vs_duckdb" in res:
            line += f"  x{res['ratio_vs_duckdb']}  {'ok' if res['matches_duckdb'] else 'DIFF'}"
        print(line, flush=True)
    RESULTS.mkdir(exist_ok=True)
    meta = {"rows": args.rows, "runs": args.runs, "threads": args.threads,
            "machine": platform.machine(), "cpus": len(os.sched_getaffinity(0))}
    stem = "topn-before" if args.no_topn else "topn"
    meta["topn_operator"] = not args.no_topn
    (RESULTS / f"{stem}.json").write_text(json.dumps({**meta, "results": results}, indent=2)
                                          + "\n")
    md = [f"# Top-N, {args.rows:,} rows, {args.threads} threads, warm, {args.runs} runs "
          f"(median [min-max] ms){' without the TopN operator' if args.no_topn else ''}", "",
          "| query | " + " | ".join(engines) + " | mapdb / DuckDB | same keys |",
          "|---|" + "---|" * (len(engines) + 2)]
    for r in results:
        cells = [f"{r[e]['median_ms']:.1f} [{r[e]['min_ms']:.1f}-{r[e]['max_ms']:.1f}]"
                 for e in engines]
        md.append(f"| `{r['sql']}` | " + " | ".join(cells) +
                  f" | {r.get('ratio_vs_duckdb', '')} | {r.get('matches_duckdb', '')} |")
    (RESULTS / f"{stem}.md").write_text("\n".join(md) + "\n")
    print(f"wrote {RESULTS / stem}.json and .md")


if __name__ == "__main__":
    main(sys.argv[1:])
