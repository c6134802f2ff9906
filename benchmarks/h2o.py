"""The H2O.ai db-benchmark (groupby and join): mapdb against DuckDB and Polars, warm.

    python -m benchmarks.run h2o                         # 10M rows, 3 timed runs
    python -m benchmarks.run h2o --rows 1000000 --runs 5 --suite groupby
    python -m benchmarks.run h2o --engines duckdb,polars  # mapdb always runs

Data: generated with numpy the way the benchmark's R generators build it
(``_data/groupby-datagen.R`` G1_{N}_1e2_0_0 and ``_data/join-datagen.R`` J1_{N}_NA_0_0, no
NAs, random order), written once as Parquet under benchmarks/data/h2o-{rows}/. mapdb
ingests each file with ``db.ingest`` and no hints (so it decides alone which strings to
dictionary-encode; id3, 1% distinct, stays plain); DuckDB loads the Parquet into memory
tables; Polars reads it into memory and runs lazy frames.

Questions: the benchmark's 10 groupby and 5 join questions, the SQL text of its DuckDB
solution (which wraps each in CREATE TABLE ans AS); here every engine's timed unit is the
SELECT producing the answer as an Arrow table (mapdb ``db.sql(q).to_arrow()``, DuckDB
``con.sql(q).to_arrow_table()``, Polars ``lazy.collect().to_arrow()``). Each engine runs
in this process with --threads threads (2), warm: one untimed run, then --runs timed runs;
median, min and max are reported, with mapdb's ratios (median over median) and their
geometric mean per suite. Every engine's answer is compared with DuckDB's, row for row
after sorting on the group (or x's unique id3) keys. Results:
benchmarks/results/h2o.json and h2o.md.
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

import numpy as np

from benchmarks.common import DATA, RESULTS, geomean, timed

K = 100  # the groupby data's G1_{N}_1e2 cardinality

GROUPBY = {  # name: (question, SQL, sort keys of the answer)
    "q1": ("sum v1 by id1",
           "SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1", ["id1"]),
    "q2": ("sum v1 by id1:id2",
           "SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2", ["id1", "id2"]),
    "q3": ("sum v1 mean v3 by id3",
           "SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3", ["id3"]),
    "q4": ("mean v1:v3 by id4",
           "SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4",
           ["id4"]),
    "q5": ("sum v1:v3 by id6",
           "SELECT id6, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM x GROUP BY id6",
           ["id6"]),
    "q6": ("median v3 sd v3 by id4 id5",
           "SELECT id4, id5, quantile_cont(v3, 0.5) AS median_v3, stddev(v3) AS sd_v3 "
           "FROM x GROUP BY id4, id5", ["id4", "id5"]),
    "q7": ("max v1 - min v2 by id3",
           "SELECT id3, max(v1)-min(v2) AS range_v1_v2 FROM x GROUP BY id3", ["id3"]),
    "q8": ("largest two v3 by id6",
           "SELECT id6, v3 AS largest2_v3 FROM (SELECT id6, v3, row_number() OVER "
           "(PARTITION BY id6 ORDER BY v3 DESC) AS order_v3 FROM x WHERE v3 IS NOT NULL) "
           "sub_query WHERE order_v3 <= 2", ["id6", "largest2_v3"]),
    "q9": ("regression v1 v2 by id2 id4",
           "SELECT id2, id4, pow(corr(v1, v2), 2) AS r2 FROM x GROUP BY id2, id4",
           ["id2", "id4"]),
    "q10": ("sum v3 count by id1:id6",
            "SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS count FROM x "
            "GROUP BY id1, id2, id3, id4, id5, id6",
            ["id1", "id2", "id3", "id4", "id5", "id6"]),
}

JOIN = {
    "q1": ("small inner on int",
           "SELECT x.*, small.id4 AS small_id4, v2 FROM x JOIN small USING (id1)", ["id3"]),
    "q2": ("medium inner on int",
           "SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, "
           "medium.id5 AS medium_id5, v2 FROM x JOIN medium USING (id2)", ["id3"]),
    "q3": ("medium outer on int",
           "SELECT x.*, medium.id1 AS medium_id1, medium.id4 AS medium_id4, "
           "medium.id5 AS medium_id5, v2 FROM x LEFT JOIN medium USING (id2)", ["id3"]),
    "q4": ("medium inner on factor",
           "SELECT x.*, medium.id1 AS medium_id1, medium.id2 AS medium_id2, "
           "medium.id4 AS medium_id4, v2 FROM x JOIN medium USING (id5)", ["id3"]),
    "q5": ("big inner on int",
           "SELECT x.*, big.id1 AS big_id1, big.id2 AS big_id2, big.id4 AS big_id4, "
           "big.id5 AS big_id5, big.id6 AS big_id6, v2 FROM x JOIN big USING (id3)",
           ["id3"]),
}

SUITES = {"groupby": GROUPBY, "join": JOIN}
TABLES = {"groupby": ["x"], "join": ["x", "small", "medium", "big"]}


# -- data ---------------------------------------------------------------------------------

def _labels(ints, width: int = 0):
    """``sprintf("id%0{width}d", ints)`` as an Arrow string array, vectorised."""
    import pyarrow as pa
    import pyarrow.compute as pc
    s = pc.cast(pa.array(ints), pa.string())
    if width:
        s = pc.utf8_lpad(s, width, "0")
    return pc.binary_join_element_wise("id", s, "")


def _factor(rng, levels, n: int):
    """``sample(levels, n, TRUE)`` of string levels: drawn codes, decoded to plain strings."""
    import pyarrow as pa
    codes = pa.array(rng.integers(0, len(levels), n, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(codes, levels).dictionary_decode()


def groupby_table(n: int, seed: int = 108):
    """groupby-datagen.R's G1_{n}_1e2_0_0: id1/id2 of K strings, id3 of n/K strings,
    id4/id5 of K ints, id6 of n/K ints, v1 in 1..5, v2 in 1..15, v3 = round(U(0,100), 6)."""
    import pyarrow as pa
    rng = np.random.default_rng(seed)
    nk = max(n // K, 1)
    small, large = _labels(np.arange(1, K + 1), 3), _labels(np.arange(1, nk + 1), 10)
    return pa.table({
        "id1": _factor(rng, small, n),
        "id2": _factor(rng, small, n),
        "id3": _factor(rng, large, n),
        "id4": rng.integers(1, K + 1, n, dtype=np.int32),
        "id5": rng.integers(1, K + 1, n, dtype=np.int32),
        "id6": rng.integers(1, nk + 1, n, dtype=np.int32),
        "v1": rng.integers(1, 6, n, dtype=np.int32),
        "v2": rng.integers(1, 16, n, dtype=np.int32),
        "v3": np.round(rng.uniform(0, 100, n), 6),
    })


def _split_xlr(rng, n: int) -> dict:
    """join-datagen.R's split_xlr: n*1.1 shuffled keys, 90% common to both sides (x), 10%
    only on the left (l), 10% only on the right (r)."""
    key = rng.permutation(np.arange(1, n + n // 10 + 1, dtype=np.int64))
    return {"x": key[:n * 9 // 10], "l": key[n * 9 // 10:n], "r": key[n:]}


def _sample_all(rng, keys, size: int):
    """join-datagen.R's sample_all: every key at least once, the rest drawn, shuffled."""
    extra = rng.choice(keys, max(size - len(keys), 0), replace=True)
    return rng.permutation(np.concatenate([keys, extra]))


def join_tables(n: int, seed: int = 108) -> dict:
    """join-datagen.R's J1_{n}_NA_0_0: x (n rows: id1..id3 ints, id4..id6 their "id%d"
    factors, v1) and small (n/1e6 rows), medium (n/1e3), big (n) with v2; id1 keys n/1e6,
    id2 n/1e3, id3 n. Below 10M rows small keeps 10 rows (the generator needs whole 10%
    slices)."""
    import pyarrow as pa
    rng = np.random.default_rng(seed)
    sizes = [max(n // 10**6 // 10 * 10, 10), max(n // 1000 // 10 * 10, 10), n // 10 * 10]
    keys = [_split_xlr(rng, s) for s in sizes]

    def side(parts: str, count: int, nkeys: int, v: str) -> pa.Table:
        cols = {f"id{i + 1}": _sample_all(rng, np.concatenate([k[p] for p in parts]), count)
                for i, k in enumerate(keys[:nkeys])}
        for i in range(nkeys):
            cols[f"id{i + 4}"] = _labels(cols[f"id{i + 1}"])
        cols[v] = np.round(rng.uniform(0, 100, count), 6)
        return pa.table(cols)

    out = {"x": side("xl", sizes[2], 3, "v1")}
    for i, (name, size) in enumerate(zip(["small", "medium", "big"], sizes, strict=True)):
        out[name] = side("xr", size, i + 1, "v2")
    return out


def prepare(rows: int, suites: list[str]) -> Path:
    """benchmarks/data/h2o-{rows}/: the Parquet files of ``suites`` and the mapdb database
    they were ingested into (db/), each made once."""
    import pyarrow.parquet as pq
    out = DATA / f"h2o-{rows}"
    out.mkdir(parents=True, exist_ok=True)
    for suite in suites:
        paths = {t: out / f"{suite}-{t}.parquet" for t in TABLES[suite]}
        if not all(p.exists() for p in paths.values()):
            print(f"generating {suite} data, {rows:,} rows ...", flush=True)
            tables = ({"x": groupby_table(rows)} if suite == "groupby"
                      else join_tables(rows))
            for t, p in paths.items():
                tmp = p.with_suffix(".tmp")
                pq.write_table(tables[t], tmp, row_group_size=1_000_000)
                tmp.rename(p)
        db = out / f"{suite}.mapdb"
        if not (db / "mapdb.json").exists():
            print(f"ingesting into {db} ...", flush=True)
            code = ("import mapdb, sys; db = mapdb.connect(sys.argv[1], durability='none')\n"
                    "for a in sys.argv[2:]:\n"
                    "    t, p = a.split('=', 1); db.ingest(t, p)\n")
            subprocess.run([sys.executable, "-c", code, str(db),
                            *(f"{t}={p}" for t, p in paths.items())], check=True)
    return out


# -- engines ------------------------------------------------------------------------------

def polars_queries(pl, f: dict) -> dict:
    """The questions in Polars' lazy API (as the benchmark's Polars solution writes them)."""
    x = f["x"]
    if "small" not in f:
        c = pl.col
        return {
            "q1": x.group_by("id1").agg(c("v1").sum()),
            "q2": x.group_by("id1", "id2").agg(c("v1").sum()),
            "q3": x.group_by("id3").agg(c("v1").sum(), c("v3").mean()),
            "q4": x.group_by("id4").agg(c("v1").mean(), c("v2").mean(), c("v3").mean()),
            "q5": x.group_by("id6").agg(c("v1").sum(), c("v2").sum(), c("v3").sum()),
            "q6": x.group_by("id4", "id5").agg(c("v3").median().alias("median_v3"),
                                               c("v3").std().alias("sd_v3")),
            "q7": x.group_by("id3").agg((c("v1").max() - c("v2").min()).alias("range_v1_v2")),
            "q8": x.drop_nulls("v3").sort("v3", descending=True).group_by("id6").head(2)
                   .select("id6", c("v3").alias("largest2_v3")),
            "q9": x.group_by("id2", "id4").agg((pl.corr("v1", "v2") ** 2).alias("r2")),
            "q10": x.group_by("id1", "id2", "id3", "id4", "id5", "id6")
                    .agg(c("v3").sum(), pl.len().alias("count")),
        }

    def join(y, on: str, how: str, right: list[str]):
        return (x.join(y, on=on, how=how, suffix="_right")
                .rename({f"{r}_right": f"{name}_{r}" for name, r in right}))
    s, m, b = f["small"], f["medium"], f["big"]
    return {
        "q1": join(s, "id1", "inner", [("small", "id4")]),
        "q2": join(m, "id2", "inner", [("medium", r) for r in ("id1", "id4", "id5")]),
        "q3": join(m, "id2", "left", [("medium", r) for r in ("id1", "id4", "id5")]),
        "q4": join(m, "id5", "inner", [("medium", r) for r in ("id1", "id2", "id4")]),
        "q5": join(b, "id3", "inner", [("big", r) for r in ("id1", "id2", "id4", "id5",
                                                            "id6")]),
    }


def _numeric(col):
    import pyarrow as pa
    import pyarrow.compute as pc
    t = col.type
    if pa.types.is_decimal(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
        return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    return None


def same(got, want, keys: list[str]) -> str:
    """"ok" or what differs: ``got`` and ``want`` sorted on ``keys``, then column by
    column (numbers within 1e-9 relative, NaN equal to NaN, strings exactly)."""
    import pyarrow as pa
    if got.num_rows != want.num_rows or got.num_columns != want.num_columns:
        return f"MISMATCH shape {got.num_rows}x{got.num_columns}"
    if got.column_names != want.column_names:
        return f"MISMATCH names {got.column_names}"
    got, want = (t.combine_chunks().sort_by([(k, "ascending") for k in keys])
                 for t in (got, want))
    for name in want.column_names:
        g, w = got.column(name), want.column(name)
        if pa.types.is_dictionary(g.type):
            g = g.cast(pa.string())
        if pa.types.is_dictionary(w.type):
            w = w.cast(pa.string())
        if g.null_count != w.null_count or g.is_null().to_numpy(False).tolist() != \
                w.is_null().to_numpy(False).tolist():
            return f"MISMATCH nulls in {name}"
        gn, wn = _numeric(g), _numeric(w)
        if gn is not None and wn is not None:
            ok = np.isclose(gn, wn, rtol=1e-9, atol=1e-12, equal_nan=True)
            ok |= np.isnan(gn) & np.isnan(wn)
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                return f"MISMATCH {name} row {i}: {gn[i]!r} != {wn[i]!r}"
        elif not g.equals(w.cast(g.type)):
            return f"MISMATCH {name}"
    return "ok"


def run_suite(suite: str, data: Path, engines: list[str], runs: int, threads: int,
              questions: list[str] | None = None) -> list[dict]:
    import duckdb

    import mapdb
    paths = {t: data / f"{suite}-{t}.parquet" for t in TABLES[suite]}
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    for t, p in paths.items():
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_parquet('{p}')")
    db = mapdb.connect(data / f"{suite}.mapdb", readonly=True)
    pl_q = {}
    if "polars" in engines:
        import polars as pl
        pl_q = polars_queries(pl, {t: pl.read_parquet(p).lazy() for t, p in paths.items()})
    results = []
    for q, (question, sql, keys) in SUITES[suite].items():
        if questions and q not in questions:
            continue
        res = {"suite": suite, "q": q, "question": question, "sql": sql}
        ref = None
        for eng in ["duckdb", "mapdb", "polars"]:
            if eng not in engines:
                continue
            if eng == "duckdb":
                fn = lambda sql=sql: con.sql(sql).to_arrow_table()  # noqa: E731
            elif eng == "mapdb":
                fn = lambda sql=sql: db.sql(sql, workers=threads).to_arrow()  # noqa: E731
            else:
                fn = lambda q=q: pl_q[q].collect().to_arrow()  # noqa: E731
            try:
                times, out = timed(fn, runs)
            except Exception as e:  # an engine refusing a question is a result, not a crash
                res[eng] = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
                continue
            res[eng] = {"min_ms": round(min(times) * 1000, 1),
                        "median_ms": round(statistics.median(times) * 1000, 1),
                        "max_ms": round(max(times) * 1000, 1), "rows": out.num_rows}
            if eng == "duckdb":
                ref = out
            elif ref is not None:
                res[eng]["check"] = same(out, ref, keys)
            del out
        for other in ("duckdb", "polars"):
            a, b = res.get("mapdb", {}), res.get(other, {})
            if "median_ms" in a and "median_ms" in b:
                res[f"mapdb/{other}"] = round(a["median_ms"] / b["median_ms"], 2)
        results.append(res)
        print(_line(res, engines), flush=True)
    db.close()
    con.close()
    return results


def _cell(r: dict) -> str:
    if "median_ms" not in r:
        return r.get("error", "n/a")[:40]
    return f"{r['median_ms']:.0f} [{r['min_ms']:.0f}-{r['max_ms']:.0f}]"


def _line(res: dict, engines: list[str]) -> str:
    line = f"{res['suite']:<7} {res['q']:<4} {res['question']:<28}"
    for eng in engines:
        line += f" {eng} {_cell(res.get(eng, {})):>22}"
    for other in ("duckdb", "polars"):
        if f"mapdb/{other}" in res:
            line += f"  /{other[:2]} {res[f'mapdb/{other}']:.2f}"
    checks = {e: res[e].get("check") for e in engines if res.get(e, {}).get("check")}
    bad = {e: c for e, c in checks.items() if c != "ok"}
    return line + ("  " + "; ".join(f"{e}: {c}" for e, c in bad.items()) if bad else
                   "  ok" if checks else "")


def summary(results: list[dict]) -> dict:
    out = {}
    for suite in SUITES:
        rs = [r for r in results if r["suite"] == suite]
        if rs:
            out[suite] = {}
            for o in ("duckdb", "polars"):
                g = geomean([x for x in (r.get(f"mapdb/{o}") for r in rs) if x])
                out[suite][f"geomean mapdb/{o}"] = round(g, 2) if g else None
            out[suite]["over 2x DuckDB"] = [r["q"] for r in rs
                                            if (r.get("mapdb/duckdb") or 0) > 2]
    return out


def markdown(meta: dict, results: list[dict], engines: list[str]) -> list[str]:
    md = [f"# H2O.ai db-benchmark, {meta['rows']:,} rows, {meta['threads']} threads, warm, "
          f"{meta['runs']} runs (median [min-max] ms)", "",
          f"mapdb {meta['mapdb_rev']}, DuckDB {meta['duckdb']}, Polars {meta['polars']}; "
          f"{meta['cpus']} CPUs {meta['machine']}. Timed: the SELECT producing the answer as "
          "an Arrow table. check: mapdb's (and Polars') answer against DuckDB's, row for row.",
          "", "| suite | q | question | " + " | ".join(engines) +
          " | mapdb / DuckDB | mapdb / Polars | check |",
          "|---|---|---|" + "---|" * (len(engines) + 3)]
    for r in results:
        checks = [f"{e} {r[e]['check']}" for e in engines if r.get(e, {}).get("check")]
        md.append(f"| {r['suite']} | {r['q']} | {r['question']} | " +
                  " | ".join(_cell(r.get(e, {})) for e in engines) +
                  f" | {r.get('mapdb/duckdb', '')} | {r.get('mapdb/polars', '')} | "
                  f"{', '.join(checks)} |")
    md.append("")
    for suite, s in summary(results).items():
        md.append(f"- {suite}: geometric mean mapdb/DuckDB {s['geomean mapdb/duckdb']}, "
                  f"mapdb/Polars {s['geomean mapdb/polars']}; over 2x DuckDB: "
                  f"{', '.join(s['over 2x DuckDB']) or 'none'}")
    return md


def _rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks.run h2o")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engines", default="duckdb,polars",
                    help="besides mapdb (DuckDB always runs: it is the reference)")
    ap.add_argument("--suite", choices=["groupby", "join", "all"], default="all")
    ap.add_argument("--questions", default="", help="e.g. q7,q10 (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="h2o", help="results file stem in benchmarks/results/")
    args = ap.parse_args(argv)
    engines = ["mapdb"] + [e for e in args.engines.split(",") if e and e != "mapdb"]
    if "duckdb" not in engines:
        engines.insert(1, "duckdb")
    os.environ["POLARS_MAX_THREADS"] = str(args.threads)  # read when polars is imported
    if "polars" in engines:
        try:
            import polars
        except ImportError:
            engines.remove("polars")
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    rev = _rev()  # (now: the code this process runs, whatever is committed meanwhile)
    data = prepare(args.rows, suites)
    questions = [q for q in args.questions.split(",") if q]
    results = []
    for suite in suites:
        results += run_suite(suite, data, engines, args.runs, args.threads, questions)
    import duckdb
    meta = {"rows": args.rows, "runs": args.runs, "threads": args.threads,
            "machine": platform.machine(), "cpus": len(os.sched_getaffinity(0)),
            "mapdb_rev": rev, "duckdb": duckdb.__version__, "polars": "n/a"}
    if "polars" in engines:
        import polars
        meta["polars"] = polars.__version__
    summ = summary(results)
    for suite, s in summ.items():
        print(f"{suite}: {s}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(
        json.dumps({**meta, "summary": summ, "results": results}, indent=2) + "\n")
    (RESULTS / f"{args.out}.md").write_text("\n".join(markdown(meta, results, engines)) + "\n")
    print(f"wrote {RESULTS / args.out}.json and .md")


if __name__ == "__main__":
    main(sys.argv[1:])
