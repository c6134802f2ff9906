"""The 22 TPC-H queries: mapdb against DuckDB and Polars, warm.

    python -m benchmarks.run tpch22 --scale 10 --runs 3
    python -m benchmarks.run tpch22 --scale 1 --queries q01,q03 --engines duckdb,polars

Queries are benchmarks/queries/tpch/q01.sql .. q22.sql, the same text for every engine.
Data: the eight tables as Parquet in benchmarks/data/tpch-sf{N}/ (tpchgen-cli; generated
when missing or incomplete; lineitem is shared with the tpch benchmark), loaded into a
mapdb database by datasets.tpch (tpch22.mapdb there, primary-key indexes) and into a
DuckDB database file (tpch22.duckdb); both loads are cached and rebuilt when missing or
stale. Polars reads the Parquet into memory and runs the text through ``pl.SQLContext``;
a query its SQL cannot run is recorded as an error (n/a), like any engine's.

Warm: one untimed run, then --runs timed runs (median). Each engine runs in its own
process, DuckDB's first: its answers are the reference the others' are checked against as
they come. One execution longer than --timeout seconds (default 300) kills the engine's
process, the query is recorded as timed out and a new process carries on with the next
query; a crash likewise costs only the query it happened in. Writes
benchmarks/results/tpch22-sf{N}.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks import tpch as lineitem_bench
from benchmarks import workers
from benchmarks.common import DATA, HERE, RESULTS, geomean
from benchmarks.tpch import _median, _ms, _ratio, check, machine
from datasets import tpch as tpch_data

QUERY_DIR = HERE / "queries" / "tpch"
QUERIES = [f"q{i:02d}" for i in range(1, 23)]
ENGINES = ["mapdb", "duckdb", "polars"]
SLOW = 2.0  # the summary counts the queries slower than this many times DuckDB


# -- data ---------------------------------------------------------------------------------

def _complete(path: Path, table: str, scale: float) -> bool:
    """``path`` is a whole Parquet file with about the rows ``table`` has at ``scale``."""
    try:
        rows = pq.read_metadata(path).num_rows
    except (OSError, pa.ArrowException):
        return False
    if table in ("region", "nation"):
        return rows == tpch_data.ROWS_SF1[table]
    want = tpch_data.ROWS_SF1[table] * scale
    return abs(rows - want) <= want * (0.01 if table == "lineitem" else 0) + 0.5


def tpch_tables(scale: float) -> dict[str, Path]:
    """{table: Parquet file} of the eight TPC-H tables at ``scale`` in
    benchmarks/data/tpch-sf{N}/. Missing or incomplete files are generated into a scratch
    directory and moved in, so a killed generation never leaves a file that looks whole."""
    out = DATA / f"tpch-sf{scale:g}"
    paths = {t: out / f"{t}.parquet" for t in tpch_data.TABLES}
    todo = [t for t, p in paths.items() if not _complete(p, t, scale)]
    if todo:
        out.mkdir(parents=True, exist_ok=True)
        print(f"generating TPC-H SF{scale:g} {','.join(todo)} with tpchgen-cli ...", flush=True)
        with tempfile.TemporaryDirectory(prefix=".generating-", dir=out) as tmp:
            for t, p in tpch_data.generate(scale, tmp, todo).items():
                os.replace(p, paths[t])
    return paths


# -- engines: tpch.py's, over all eight tables ----------------------------------------------

class AllTables(lineitem_bench.AllTables):
    main, schema = "lineitem", staticmethod(tpch_tables)


class Mapdb(AllTables, lineitem_bench.Mapdb):
    def target(self) -> Path:
        return self.dir / "tpch22.mapdb"

    def load(self) -> None:  # datasets.tpch in a child process, reusing the Parquet here
        subprocess.run([sys.executable, "-m", "datasets.tpch", "--scale", f"{self.scale:g}",
                        str(self.target()), "--parquet-dir", str(self.dir)],
                       cwd=HERE.parent, check=True)


class DuckDB(AllTables, lineitem_bench.DuckDB):
    def target(self) -> Path:
        return self.dir / "tpch22.duckdb"


class Polars(AllTables, lineitem_bench.Polars):
    def load(self) -> None:
        import polars as pl
        self.frames = {t: pl.read_parquet(p) for t, p in self.files.items()}

    def query(self, sql: str) -> pa.Table:
        import polars as pl
        ctx = pl.SQLContext({t: df.lazy() for t, df in self.frames.items()})
        return ctx.execute(sql).collect().to_arrow()


ENGINE_CLASSES = {"mapdb": Mapdb, "duckdb": DuckDB, "polars": Polars}


# -- one engine, in a worker process ------------------------------------------------------

class Worker(workers.Worker):
    engines, query_dir = ENGINE_CLASSES, QUERY_DIR

    def judge(self, q: str, sql: str, answer: pa.Table, rec: dict) -> None:
        want = self.reference(q)
        rec["check"] = "-" if self.name == "duckdb" or want is None else check(answer, want)

    def line(self, rec: dict) -> str:
        if "error" in rec:
            return f"error: {rec['error']}"
        loud = "  <<<<<<<< WRONG ANSWER" if rec["check"].startswith("MISMATCH") else ""
        return f"warm {_ms(_median(rec['warm']))} ms  {rec['check']}{loud}"


# -- report -------------------------------------------------------------------------------

def results(queries: list[str], engines: list[str], reports: dict[str, dict]) -> list[dict]:
    rows = []
    for q in queries:
        duck = reports.get("duckdb", {}).get("queries", {}).get(q, {})
        for e in engines:
            rec = reports[e]["queries"].get(q)
            err = rec.get("error") if rec else reports[e].get("error", "not run")
            warm = None if err else _median(rec["warm"])
            ref = None if duck.get("error") else _median(duck.get("warm", []))
            rows.append({"query": q, "engine": e, "warm_s": warm,
                         "warm_runs": rec.get("warm", []) if rec else [],
                         "vs_duckdb": warm / ref if warm and ref and e != "duckdb" else None,
                         "check": None if err else rec.get("check", "-"), "error": err})
    return rows


def summary(rows: list[dict], engines: list[str]) -> dict:
    """Per engine: the geometric mean of its time over DuckDB's, on the queries both ran
    (and where the answer matched: a wrong answer's time does not count), how many were
    slower than SLOW x DuckDB, and the failures (errors, timeouts, wrong answers)."""
    out = {}
    for e in engines:
        mine = [r for r in rows if r["engine"] == e]
        good = [r for r in mine if r["vs_duckdb"] and not r["check"].startswith("MISMATCH")]
        out[e] = {"ran": sum(r["error"] is None for r in mine), "of": len(mine),
                  "geomean_vs_duckdb": None if e == "duckdb" else
                  geomean([r["vs_duckdb"] for r in good]),
                  "compared": len(good),
                  "slower_than_2x": [r["query"] for r in good if r["vs_duckdb"] > SLOW],
                  "errors": {r["query"]: r["error"] for r in mine if r["error"]},
                  "mismatches": {r["query"]: r["check"] for r in mine
                                 if r["check"] and r["check"].startswith("MISMATCH")}}
    return out


def table(rows: list[dict], engines: list[str]) -> tuple[list[str], list[list[str]]]:
    """One line a query: each engine's warm ms, the ratios to DuckDB, the checks."""
    others = [e for e in engines if e != "duckdb"]
    header = ["query", *(f"{e} ms" for e in engines),
              *(f"{e}/duckdb" for e in others if "duckdb" in engines),
              *(f"{e} check" for e in others)]
    by = {(r["query"], r["engine"]): r for r in rows}
    lines = []
    for q in dict.fromkeys(r["query"] for r in rows):
        cells = [q]
        for e in engines:
            r = by[q, e]
            cells.append("timeout" if (r["error"] or "").startswith("timeout") else
                         _ms(r["warm_s"]))
        if "duckdb" in engines:
            cells += [_ratio(by[q, e]["warm_s"], by[q, "duckdb"]["warm_s"]) for e in others]
        for e in others:
            c = by[q, e]["check"]
            cells.append("error" if c is None else
                         f"**{c}**" if c.startswith("MISMATCH") else c)
        lines.append(cells)
    return header, lines


def summary_lines(summ: dict) -> list[str]:
    out = []
    for e, s in summ.items():
        line = f"{e}: ran {s['ran']}/{s['of']}"
        if s["geomean_vs_duckdb"] is not None:
            line += (f"; geometric mean of {e}/DuckDB {s['geomean_vs_duckdb']:.2f} over "
                     f"{s['compared']} queries; slower than {SLOW:g}x DuckDB: "
                     f"{len(s['slower_than_2x'])} ({','.join(s['slower_than_2x']) or '-'})")
        elif e != "duckdb":
            line += "; no query with a right answer to compare with DuckDB's time"
        line += f"; failures: {len(s['errors']) + len(s['mismatches'])}"
        if s["mismatches"]:
            line += f"; WRONG ANSWERS: {','.join(s['mismatches'])}"
        out.append(line)
    return out


def error_lines(summ: dict) -> list[str]:
    return [f"{q} {e}: {err}" for e, s in summ.items() for q, err in s["errors"].items()]


def render(header: list[str], lines: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        fmt = [header, ["---"] * len(header), *lines]
        return ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in fmt]
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [header, *lines]]


def write_report(args: argparse.Namespace, reports: dict[str, dict],
                 files: dict[str, Path], info: dict, final: bool) -> None:
    """benchmarks/results/tpch22-sf{N}.json and .md over the engines run so far (rewritten
    after each: a run cut short keeps what it measured); printed too when ``final``."""
    shown = [e for e in ENGINES if e in reports]
    rows = results(args.queries, shown, reports)
    summ = summary(rows, shown)
    engines = {e: {k: v for k, v in r.items() if k != "queries"} for e, r in reports.items()}
    size = sum(p.stat().st_size for p in files.values()) / 2**30
    which = "22 queries" if len(args.queries) == 22 else f"{len(args.queries)} of 22 queries"
    title = (f"TPC-H SF{args.scale:g}, {which} ({size:.2f} GiB Parquet), warm, median of "
             f"{args.runs}; {info['cpu_count']} CPUs, {info['cpu']}, Linux {info['kernel']}; "
             f"mapdb {info['mapdb_rev']}, DuckDB {info['duckdb']}, Polars {info['polars']}")
    notes = ("Warm: after one untimed run. Ratios: warm time over DuckDB's. mapdb: its "
             "database built by datasets.tpch; DuckDB: its own database file; Polars: "
             "pl.SQLContext over frames read from the Parquet into memory. Checks: the answer "
             f"against DuckDB's, row for row. Per-execution timeout {args.timeout:g} s. "
             "Threads: " + ", ".join(f"{e} {r.get('threads', '?')}"
                                     for e, r in engines.items()) + ".")
    header, lines = table(rows, shown)
    summ_text, errs = summary_lines(summ), error_lines(summ)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"tpch22-sf{args.scale:g}"
    stem.with_suffix(".json").write_text(json.dumps(
        {"scale": args.scale, "runs": args.runs, "timeout_s": args.timeout, "machine": info,
         "engines": engines, "summary": summ, "results": rows}, indent=2) + "\n")
    md = [f"{title}.", "", *render(header, lines, markdown=True), "",
          *(f"- {s}" for s in summ_text), "",
          *(["Errors:", "", *(f"- {x}" for x in errs), ""] if errs else []), notes, ""]
    stem.with_suffix(".md").write_text("\n".join(md))
    if final:
        print(f"\n{title}")
        print("\n".join(render(header, lines, markdown=False)))
        print("\n".join(["", *summ_text, *(["", "errors:", *errs] if errs else []), "",
                         notes]))
        print(f"wrote {stem}.json and {stem}.md")


def _engine_names(s: str) -> list[str]:
    if unknown := [e for e in s.split(",") if e not in ENGINE_CLASSES]:
        raise argparse.ArgumentTypeError(f"unknown {','.join(unknown)}; "
                                         f"known: {','.join(ENGINES)}")
    return s.split(",")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    workers.add_options(ap, QUERIES, scale=10, timeout=300)
    ap.add_argument("--engines", type=_engine_names, default=ENGINES)
    args = ap.parse_args(argv)
    if args.worker:
        return Worker(args).run()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the workers go with it
    files = tpch_tables(args.scale)  # once, before the workers
    args.engines = sorted(args.engines, key=lambda e: e != "duckdb")  # the reference first
    info = machine()
    reports = {}
    for e, report in workers.run_engines("benchmarks.tpch22", args.engines, args, "error"):
        reports[e] = report
        write_report(args, reports, files, info, final=e == args.engines[-1])


if __name__ == "__main__":
    main()
