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
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks import tpch as lineitem_bench
from benchmarks.common import DATA, HERE, RESULTS
from benchmarks.tpch import _median, _ms, _ratio, _read_arrow, check, machine
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

class AllTables:
    """Mixed into a tpch.py engine: the Parquet of every table (lineitem's is the engine's
    ``parquet``), and a stamp that changes when any of them does."""

    def __init__(self, scale: float):
        self.scale = scale
        self.files = tpch_tables(scale)
        super().__init__(self.files["lineitem"])

    def stamp(self) -> str:
        stats = [p.stat() for t, p in self.files.items() if t != "lineitem"]
        return " ".join([super().stamp(), *(f"{s.st_size}:{s.st_mtime_ns}" for s in stats)])


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

    def load(self) -> None:
        import duckdb
        with duckdb.connect(str(self.target())) as con:
            con.execute("SET enable_progress_bar = false")
            for table, path in self.files.items():
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{path}')")
            con.execute("CHECKPOINT")


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

def _error(e: BaseException) -> str:
    return (f"{type(e).__name__}: {e}".splitlines() or [""])[0][:200]


def _write(path: Path, text: str) -> None:  # whole or not at all: the worker may be killed
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_json(path: Path, obj: dict) -> None:
    _write(path, json.dumps(obj))


def _save_answer(path: Path, answer: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, answer.schema) as w:
        w.write_table(answer)


def _die_with_parent() -> None:
    """Linux: this worker is killed when the runner that started it dies, even by SIGKILL
    (it runs in a session of its own, so the runner can kill it with its children)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the runner died before the prctl
        sys.exit(1)


def worker(name: str, args: argparse.Namespace, out: Path) -> None:
    """Runs the queries out/NAME.json has no record of yet, on one engine. Before each
    execution out/NAME.beat says which (the parent's watchdog times it); after each query
    out/NAME.json is rewritten and its answer saved as out/NAME-QUERY.arrow."""
    _die_with_parent()
    report_path, beat = out / f"{name}.json", out / f"{name}.beat"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"queries": {}}
    _write(beat, "load")
    try:
        eng = ENGINE_CLASSES[name](args.scale)
        load_s = eng.prepare()
        report.setdefault("load_s", load_s)
        eng.open()
        report["threads"] = eng.threads()
    except Exception as e:
        report["error"] = _error(e)
        _write_json(report_path, report)
        print(f"[{name}] cannot start: {report['error']}", flush=True)
        return
    for q in args.queries:
        if q in report["queries"]:
            continue
        sql = (QUERY_DIR / f"{q}.sql").read_text()
        rec: dict = {"warm": []}
        report["queries"][q] = rec
        try:
            _write(beat, f"{q} untimed")
            answer = eng.query(sql)
            _save_answer(out / f"{name}-{q}.arrow", answer)
            want = _read_arrow(out / f"duckdb-{q}.arrow")
            rec["check"] = "-" if name == "duckdb" or want is None else check(answer, want)
            for i in range(args.runs):
                _write(beat, f"{q} run {i + 1}")
                t0 = time.perf_counter()
                eng.query(sql)
                rec["warm"].append(time.perf_counter() - t0)
        except Exception as e:
            rec["error"] = _error(e)
            try:  # the next query starts from a fresh connection
                eng.close()
                eng.open()
            except Exception:
                pass
        _write_json(report_path, report)
        if "error" in rec:
            print(f"[{name}] {q}: error: {rec['error']}", flush=True)
        else:
            loud = "  <<<<<<<< WRONG ANSWER" if rec["check"].startswith("MISMATCH") else ""
            print(f"[{name}] {q}: warm {_ms(_median(rec['warm']))} ms  {rec['check']}{loud}",
                  flush=True)
    _write(beat, "done")


def run_engine(name: str, args: argparse.Namespace, out: Path) -> dict:
    """Runs ``name``'s worker to the end of the queries: a worker that runs one execution
    past the timeout is killed, one that dies is not retried on the same query; in both
    cases the query is recorded as failed and a new worker continues after it."""
    report_path, beat = out / f"{name}.json", out / f"{name}.beat"
    cmd = [sys.executable, "-m", "benchmarks.tpch22", "--worker", name, "--out", str(out),
           "--scale", f"{args.scale:g}", "--runs", str(args.runs),
           "--queries", ",".join(args.queries)]
    while True:
        _write(beat, "start")
        proc = subprocess.Popen(cmd, cwd=HERE.parent, start_new_session=True)
        seen, since, timed_out = "start", time.monotonic(), False
        try:
            while proc.poll() is None:
                time.sleep(0.2)
                now = beat.read_text()
                if now != seen:
                    seen, since = now, time.monotonic()
                elif seen not in ("start", "load", "done") \
                        and time.monotonic() - since > args.timeout:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    timed_out = True
        finally:
            if proc.poll() is None:  # interrupted: take the worker (and its children) along
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        report = json.loads(report_path.read_text()) if report_path.exists() else {"queries": {}}
        if proc.returncode == 0 or seen in ("start", "load", "done"):
            if proc.returncode != 0:
                report.setdefault("error", f"worker exited with code {proc.returncode} "
                                           f"before its first query")
            return report
        q = seen.split()[0]
        if q not in report["queries"]:  # else it died after recording q: just carry on
            why = (f"timeout: one execution took over {args.timeout:g} s" if timed_out else
                   f"crash: the worker died (exit code {proc.returncode})")
            print(f"[{name}] {q}: {why}; carrying on with a new worker", flush=True)
            report["queries"][q] = {"warm": [], "error": why}
            _write_json(report_path, report)


# -- report -------------------------------------------------------------------------------

def _geomean(xs: list[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else None


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
                  _geomean([r["vs_duckdb"] for r in good]),
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


def _query_names(s: str) -> list[str]:  # "q1,3,q06" -> ["q01", "q03", "q06"]
    names = [f"q{int(q.lower().removeprefix('q')):02d}" if q.lower().lstrip("q").isdigit()
             else q for q in s.split(",")]
    if unknown := [q for q in names if q not in QUERIES]:
        raise argparse.ArgumentTypeError(f"unknown {','.join(unknown)}; known: q01..q22")
    return names


def _engine_names(s: str) -> list[str]:
    if unknown := [e for e in s.split(",") if e not in ENGINE_CLASSES]:
        raise argparse.ArgumentTypeError(f"unknown {','.join(unknown)}; "
                                         f"known: {','.join(ENGINES)}")
    return s.split(",")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=_query_names, default=QUERIES)
    ap.add_argument("--engines", type=_engine_names, default=ENGINES)
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds one execution of a query may take (default 300)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker, args, args.out)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the workers go with it
    files = tpch_tables(args.scale)  # once, before the workers
    args.engines = sorted(args.engines, key=lambda e: e != "duckdb")  # the reference first
    info = machine()
    DATA.mkdir(exist_ok=True)
    reports = {}
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        for e in args.engines:
            print(f"== {e}", flush=True)
            reports[e] = run_engine(e, args, Path(tmp))
            write_report(args, reports, files, info, final=e == args.engines[-1])


if __name__ == "__main__":
    main()
