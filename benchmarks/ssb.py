"""The Star Schema Benchmark (O'Neil et al., rev 3): mapdb against DuckDB and Polars, warm.

    python -m benchmarks.run ssb --scale 1 --runs 3
    python -m benchmarks.run ssb --scale 1 --engines duckdb --queries q2.1,q4.3

Data: SSB's five tables derived from TPC-H's (benchmarks/data/tpch-sf{N}/, generated with
tpchgen-cli when missing) by DuckDB SQL (``SSB_SQL``), written as Parquet to
benchmarks/data/ssb-sf{N}/: lineorder is lineitem joined to orders (and partsupp for
lo_supplycost), dates as yyyymmdd integer keys, discount and tax as whole percents;
customer and supplier carry SSB's city/nation/region strings (a city is the nation's first
9 characters, space padded, and a digit); part SSB's MFGR#m / MFGR#mc / MFGR#mcb
hierarchy; date is generated, 1992-01-01..1998-12-31. mapdb ingests the Parquet as it is
(no primary keys, no indexes: the planner gets no hints), cached as ssb.mapdb there;
DuckDB (in memory) and Polars (frames in memory, ``pl.SQLContext``) read the same files.

Queries: benchmarks/queries/ssb/q1.1.sql .. q4.3.sql, the spec's text, the same for every
engine. Every engine runs in this process with --threads (default 2) threads; mapdb always
runs, --engines names the others. Warm: one untimed run each, then --runs rounds in which
every engine runs the query once, in turn (so a noisy moment on this shared machine hits
all of them); median and min-max. Every answer is checked against DuckDB's row for row.
Writes benchmarks/results/ssb-sf{N}.json and .md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import DATA, HERE, RESULTS, error_text, geomean
from benchmarks.tpch import check, machine

QUERY_DIR = HERE / "queries" / "ssb"
QUERIES = [f"q{f}.{i}" for f, n in ((1, 3), (2, 3), (3, 4), (4, 3)) for i in range(1, n + 1)]
TABLES = ["date", "customer", "supplier", "part", "lineorder"]
ENGINES = ["mapdb", "duckdb", "polars"]
SLOW = 2.0  # the goal: no query slower than this many times DuckDB

_DATEKEY = "CAST(year({d}) * 10000 + month({d}) * 100 + day({d}) AS INTEGER)"

# DuckDB SQL over the TPC-H tables (views of their Parquet): {SSB table: SELECT}.
SSB_SQL = {
    "date": f"""
        SELECT {_DATEKEY.format(d='d')} AS d_datekey,
               strftime(d, '%B %-d, %Y') AS d_date,
               dayname(d) AS d_dayofweek,
               monthname(d) AS d_month,
               CAST(year(d) AS INTEGER) AS d_year,
               CAST(year(d) * 100 + month(d) AS INTEGER) AS d_yearmonthnum,
               strftime(d, '%b%Y') AS d_yearmonth,
               CAST(dayofweek(d) + 1 AS INTEGER) AS d_daynuminweek,
               CAST(day(d) AS INTEGER) AS d_daynuminmonth,
               CAST(dayofyear(d) AS INTEGER) AS d_daynuminyear,
               CAST(month(d) AS INTEGER) AS d_monthnuminyear,
               CAST((dayofyear(d) - 1) // 7 + 1 AS INTEGER) AS d_weeknuminyear,
               CASE WHEN month(d) = 12 THEN 'Christmas'
                    WHEN month(d) IN (1, 2) THEN 'Winter'
                    WHEN month(d) IN (3, 4, 5) THEN 'Spring'
                    WHEN month(d) IN (6, 7, 8) THEN 'Summer'
                    ELSE 'Fall' END AS d_sellingseason,
               CAST(dayofweek(d) = 6 AS INTEGER) AS d_lastdayinweekfl,
               CAST(d = last_day(d) AS INTEGER) AS d_lastdayinmonthfl,
               CAST((month(d), day(d)) IN ((1, 1), (7, 4), (12, 25), (12, 31))
                    AS INTEGER) AS d_holidayfl,
               CAST(dayofweek(d) BETWEEN 1 AND 5 AS INTEGER) AS d_weekdayfl
        FROM (SELECT CAST(range AS DATE) AS d
              FROM range(DATE '1992-01-01', DATE '1999-01-01', INTERVAL 1 DAY))
        ORDER BY d_datekey""",
    "customer": """
        SELECT c_custkey, c_name, c_address,
               rpad(left(n_name, 9), 9, ' ') || CAST(c_custkey % 10 AS VARCHAR) AS c_city,
               n_name AS c_nation, r_name AS c_region, c_phone, c_mktsegment
        FROM customer JOIN nation ON c_nationkey = n_nationkey
             JOIN region ON n_regionkey = r_regionkey
        ORDER BY c_custkey""",
    "supplier": """
        SELECT s_suppkey, s_name, s_address,
               rpad(left(n_name, 9), 9, ' ') || CAST(s_suppkey % 10 AS VARCHAR) AS s_city,
               n_name AS s_nation, r_name AS s_region, s_phone
        FROM supplier JOIN nation ON s_nationkey = n_nationkey
             JOIN region ON n_regionkey = r_regionkey
        ORDER BY s_suppkey""",
    # TPC-H's Manufacturer#m and Brand#mc give SSB's manufacturer and category; the brand
    # within a category (1..40) comes from the part key
    "part": """
        SELECT p_partkey, p_name,
               'MFGR#' || right(p_mfgr, 1) AS p_mfgr,
               'MFGR#' || right(p_mfgr, 1) || right(p_brand, 1) AS p_category,
               'MFGR#' || right(p_mfgr, 1) || right(p_brand, 1)
                   || CAST(p_partkey % 40 + 1 AS VARCHAR) AS p_brand1,
               split_part(p_name, ' ', 1) AS p_color, p_type, p_size, p_container
        FROM part
        ORDER BY p_partkey""",
    "lineorder": f"""
        SELECT l_orderkey AS lo_orderkey, l_linenumber AS lo_linenumber,
               o_custkey AS lo_custkey, l_partkey AS lo_partkey, l_suppkey AS lo_suppkey,
               {_DATEKEY.format(d='o_orderdate')} AS lo_orderdate,
               o_orderpriority AS lo_orderpriority, o_shippriority AS lo_shippriority,
               CAST(l_quantity AS INTEGER) AS lo_quantity,
               l_extendedprice AS lo_extendedprice, o_totalprice AS lo_ordtotalprice,
               CAST(round(l_discount * 100) AS INTEGER) AS lo_discount,
               CAST(l_extendedprice * (1 - l_discount) AS DECIMAL(15, 2)) AS lo_revenue,
               ps_supplycost AS lo_supplycost,
               CAST(round(l_tax * 100) AS INTEGER) AS lo_tax,
               {_DATEKEY.format(d='l_commitdate')} AS lo_commitdate,
               l_shipmode AS lo_shipmode
        FROM lineitem JOIN orders ON l_orderkey = o_orderkey
             JOIN partsupp ON l_partkey = ps_partkey AND l_suppkey = ps_suppkey
        ORDER BY lo_orderkey, lo_linenumber""",
}
TPCH_USED = ["lineitem", "orders", "partsupp", "customer", "supplier", "part", "nation",
             "region"]


# -- data ---------------------------------------------------------------------------------

def build(tpch: dict[str, Path], out_dir: Path, threads: int | None = None) -> dict[str, Path]:
    """SSB's five tables as Parquet in ``out_dir`` from the TPC-H Parquet ``tpch``
    ({table: file}); each written under a scratch name and renamed when whole."""
    import duckdb
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {t: out_dir / f"{t}.parquet" for t in TABLES}
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        if threads:
            con.execute(f"SET threads = {threads}")
        for t in TPCH_USED:
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{tpch[t]}')")
        for t, path in paths.items():
            tmp = path.with_name(f".{path.name}.tmp")
            con.execute(f"COPY ({SSB_SQL[t]}) TO '{tmp}' (FORMAT parquet)")
            os.replace(tmp, path)
    return paths


def _source_stamp(tpch: dict[str, Path]) -> str:
    """Changes when the TPC-H files or this derivation do."""
    h = hashlib.sha1(json.dumps(SSB_SQL, sort_keys=True).encode())
    for t in TPCH_USED:
        st = tpch[t].stat()
        h.update(f"{t} {st.st_size} {st.st_mtime_ns}".encode())
    return h.hexdigest()


def ssb_tables(scale: float) -> dict[str, Path]:
    """{table: Parquet file} of SSB at ``scale`` in benchmarks/data/ssb-sf{N}/, built from
    TPC-H's (generated first when missing) unless already there for the same sources."""
    from benchmarks.tpch22 import tpch_tables
    tpch = tpch_tables(scale)
    out = DATA / f"ssb-sf{scale:g}"
    stamp_file, stamp = out / "parquet.stamp", _source_stamp(tpch)
    paths = {t: out / f"{t}.parquet" for t in TABLES}
    if not (stamp_file.exists() and stamp_file.read_text() == stamp
            and all(p.exists() for p in paths.values())):
        print(f"building SSB SF{scale:g} from TPC-H ...", flush=True)
        stamp_file.unlink(missing_ok=True)
        build(tpch, out)
        stamp_file.write_text(stamp)
    return paths


def _mapdb_stamp(files: dict[str, Path]) -> str:
    """The Parquet and the code that writes mapdb's format (storage, ingest)."""
    h = hashlib.sha1()
    for t, p in files.items():
        st = p.stat()
        h.update(f"{t} {st.st_size} {st.st_mtime_ns}".encode())
    for d in ("mapdb/storage", "mapdb/ingest"):
        for p in sorted((HERE.parent / d).rglob("*")):
            if p.is_file() and p.suffix in {".py", ".pyx", ".pxi", ".pxd", ".h", ".c"}:
                h.update(p.read_bytes())
    return h.hexdigest()


def load_mapdb(db: Path, files: dict[str, Path]) -> None:
    """Plain ingest of each table's Parquet into ``db``: no keys, no indexes."""
    import mapdb
    with mapdb.connect(db) as con:
        for t, p in files.items():
            con.ingest(t, p)


def mapdb_database(files: dict[str, Path]) -> Path:
    """ssb.mapdb next to the Parquet, (re)loaded in a child process when stale."""
    import shutil
    db = next(iter(files.values())).parent / "ssb.mapdb"
    stamp_file, stamp = Path(f"{db}.stamp"), _mapdb_stamp(files)
    if db.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return db
    stamp_file.unlink(missing_ok=True)
    shutil.rmtree(db, ignore_errors=True)
    print(f"loading {db} ...", flush=True)
    code = ("import sys, json; from pathlib import Path; from benchmarks.ssb import load_mapdb;"
            " load_mapdb(Path(sys.argv[1]), {t: Path(p) for t, p in "
            "json.loads(sys.argv[2]).items()})")
    subprocess.run([sys.executable, "-c", code, str(db),
                    json.dumps({t: str(p) for t, p in files.items()})],
                   cwd=HERE.parent, check=True)
    stamp_file.write_text(stamp)
    return db


# -- engines ------------------------------------------------------------------------------

def engines(names: list[str], files: dict[str, Path], db: Path, threads: int) -> dict:
    """{engine: function(sql) -> pyarrow.Table}, each over the same data with ``threads``."""
    import mapdb
    out = {}
    con = mapdb.connect(db, readonly=True)
    out["mapdb"] = lambda sql: con.sql(sql, workers=threads).to_arrow()
    if "duckdb" in names:
        import duckdb
        duck = duckdb.connect()
        duck.execute(f"SET threads = {threads}")
        duck.execute("SET enable_progress_bar = false")
        for t, p in files.items():
            duck.execute(f'CREATE TABLE "{t}" AS SELECT * FROM read_parquet(\'{p}\')')
        out["duckdb"] = lambda sql: duck.sql(sql).to_arrow_table()
    if "polars" in names:
        import polars as pl
        frames = {t: pl.read_parquet(p) for t, p in files.items()}
        out["polars"] = lambda sql: pl.SQLContext(
            {t: f.lazy() for t, f in frames.items()}).execute(sql).collect().to_arrow()
    return out


# -- run ----------------------------------------------------------------------------------

def run_query(sql: str, fns: dict, runs: int) -> dict:
    """{engine: {"times": [...], "answer": table} or {"error": text}}: one untimed run
    each, then ``runs`` rounds of one timed run per engine."""
    out = {}
    for e, fn in fns.items():
        try:
            out[e] = {"answer": fn(sql), "times": []}
        except Exception as exc:  # recorded, like a refusal: the others carry on
            out[e] = {"error": error_text(exc)}
    for _ in range(runs):
        for e, fn in fns.items():
            if "error" in out[e]:
                continue
            t0 = time.perf_counter()
            fn(sql)
            out[e]["times"].append(time.perf_counter() - t0)
    return out


def summarize(raw: dict[str, dict], names: list[str]) -> tuple[list[dict], dict]:
    """Rows of {query, engine: {median/min/max ms, check | error}, ratios} and the
    geometric means of mapdb over each other engine (queries with a right answer)."""
    rows = []
    for q, res in raw.items():
        want = res.get("duckdb", {}).get("answer")
        row = {"query": q}
        for e in names:
            r = res[e]
            if "error" in r:
                row[e] = {"error": r["error"]}
                continue
            ts = r["times"]
            row[e] = {"median_ms": statistics.median(ts) * 1000, "min_ms": min(ts) * 1000,
                      "max_ms": max(ts) * 1000, "runs_ms": [t * 1000 for t in ts],
                      "rows": r["answer"].num_rows,
                      "check": "-" if e == "duckdb" or want is None
                      else check(r["answer"], want)}
        for e in names[1:]:
            a, b = row["mapdb"], row[e]
            good = "median_ms" in a and "median_ms" in b and a["check"] in ("ok", "-") \
                and b.get("check") in ("ok", "-")
            row[f"mapdb/{e}"] = a["median_ms"] / b["median_ms"] if good else None
        rows.append(row)
    summ = {}
    for e in names[1:]:
        ratios = [r[f"mapdb/{e}"] for r in rows if r[f"mapdb/{e}"]]
        summ[f"mapdb/{e}"] = {"geomean": geomean(ratios), "compared": len(ratios),
                              "over_2x": [r["query"] for r in rows
                                          if (r[f"mapdb/{e}"] or 0) > SLOW]}
    summ["mismatches"] = {f"{r['query']} {e}": r[e]["check"] for r in rows for e in names
                          if r[e].get("check", "").startswith("MISMATCH")}
    summ["errors"] = {f"{r['query']} {e}": r[e]["error"] for r in rows for e in names
                      if "error" in r[e]}
    return rows, summ


def markdown(rows: list[dict], summ: dict, names: list[str], title: str) -> list[str]:
    def cell(r):
        if "error" in r:
            return "error"
        return f"{r['median_ms']:.1f} [{r['min_ms']:.1f}-{r['max_ms']:.1f}]"
    header = ["query", *(f"{e} ms" for e in names), *(f"mapdb / {e}" for e in names[1:]),
              "checks"]
    lines = [f"{title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        ratios = [f"{r[f'mapdb/{e}']:.2f}" if r[f"mapdb/{e}"] else "-" for e in names[1:]]
        checks = ", ".join(f"{e} {r[e].get('check', 'error')}" for e in names
                           if e != "duckdb")
        lines.append("| " + " | ".join([r["query"], *(cell(r[e]) for e in names), *ratios,
                                        checks]) + " |")
    lines.append("")
    for e in names[1:]:
        s = summ[f"mapdb/{e}"]
        g = "n/a" if s["geomean"] is None else f"{s['geomean']:.2f}"
        lines.append(f"- geometric mean of mapdb / {e}: **{g}** over {s['compared']} "
                     f"queries; over {SLOW:g}x: {', '.join(s['over_2x']) or 'none'}")
    for k, v in {**summ["mismatches"], **summ["errors"]}.items():
        lines.append(f"- {k}: {v}")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="benchmarks.run ssb", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", default="duckdb,polars",
                    help="engines besides mapdb (default duckdb,polars)")
    ap.add_argument("--queries", default=",".join(QUERIES))
    args = ap.parse_args(argv)
    queries = [q if q.startswith("q") else f"q{q}" for q in args.queries.split(",")]
    if unknown := [q for q in queries if q not in QUERIES]:
        ap.error(f"unknown {','.join(unknown)}; known: {','.join(QUERIES)}")
    others = [e for e in args.engines.split(",") if e and e != "mapdb"]
    if unknown := [e for e in others if e not in ENGINES]:
        ap.error(f"unknown engine {','.join(unknown)}; known: {','.join(ENGINES)}")
    names = ["mapdb", *sorted(others, key=lambda e: e != "duckdb")]
    os.environ["POLARS_MAX_THREADS"] = str(args.threads)  # read when polars is imported

    files = ssb_tables(args.scale)
    db = mapdb_database(files)
    fns = engines(names, files, db, args.threads)
    raw = {}
    for q in queries:
        raw[q] = run_query((QUERY_DIR / f"{q}.sql").read_text(), fns, args.runs)
        line = f"{q:<5}"
        for e in names:
            r = raw[q][e]
            line += (f"  {e} error: {r['error']}" if "error" in r else
                     f"  {e} {statistics.median(r['times']) * 1000:8.1f} ms "
                     f"[{min(r['times']) * 1000:.1f}-{max(r['times']) * 1000:.1f}]")
        print(line, flush=True)
    rows, summ = summarize(raw, names)
    info = machine()
    size = sum(p.stat().st_size for p in files.values()) / 2**30
    title = (f"SSB SF{args.scale:g} ({size:.2f} GiB Parquet), warm, {args.threads} threads "
             f"each, median [min-max] of {args.runs} interleaved runs; "
             f"{info['cpu_count']} CPUs, {info['cpu']}; mapdb {info['mapdb_rev']}, "
             f"DuckDB {info['duckdb']}, Polars {info['polars']}")
    md = markdown(rows, summ, names, title)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"ssb-sf{args.scale:g}"
    stem.with_suffix(".json").write_text(json.dumps(
        {"scale": args.scale, "runs": args.runs, "threads": args.threads, "machine": info,
         "summary": summ, "results": rows}, indent=2) + "\n")
    stem.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    print(f"wrote {stem}.json and {stem}.md")


if __name__ == "__main__":
    main(sys.argv[1:])
