"""The 99 TPC-DS queries over TPC-DS-shaped data: mapdb against DuckDB, warm.

    python -m benchmarks.run tpcds --scale 1 --runs 3
    python -m benchmarks.run tpcds --scale 0.1 --queries q01,q30,q81 --timeout 30

Queries: benchmarks/queries/tpcds/q01.sql .. q99.sql (the texts of DuckDB's tpcds
extension), the same text for both engines. Data: datasets.tpcds's numpy generator (not
dsdgen: same schema and domains, different rows) as Parquet in benchmarks/data/tpcds-sf{N}/,
regenerated when missing or when the generator changed; loaded into a mapdb database
(tpcds.mapdb there: a plain ingest of each file, no keys or indexes) and a DuckDB database
file (tpcds.duckdb), both cached and rebuilt when stale.

Each query on each engine: one untimed run, then --runs timed runs (median). Each engine
runs in a worker process, DuckDB's first (its answers are the reference): an execution
longer than --timeout seconds (default 60) kills the worker and a new one carries on with
the next query; a crash likewise costs only its query. mapdb's outcome per query:

- equal: the same rows as DuckDB's (row for row, or the same rows with ties in another
  order: the queries' ORDER BY does not always decide the order; or, where the LIMIT
  cuts through ties, the same rows as DuckDB's without the LIMIT);
- refused: a MapdbError (its message names the construct);
- different: an answer that is not DuckDB's (a wrong answer);
- exception: any other exception (a bug: mapdb promises MapdbError or the answer);
- crash / timeout: the worker died / took longer than --timeout.

Writes benchmarks/results/tpcds-sf{N}.json and .md: per query both warm medians, the
ratio and mapdb's outcome; the count per outcome, the geometric mean of the ratio over the
equal answers, the refusals grouped by message and the 10 worst ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from benchmarks import tpch as lineitem_bench
from benchmarks.common import DATA, HERE, RESULTS
from benchmarks.tpch import _median, _ms, _read_arrow, _same, machine
from benchmarks.tpch22 import _die_with_parent, _error, _save_answer, _write, _write_json
from datasets import tpcds as tpcds_data

QUERY_DIR = HERE / "queries" / "tpcds"
QUERIES = [f"q{i:02d}" for i in range(1, 100)]
ENGINES = ["duckdb", "mapdb"]
OUTCOMES = ["equal", "refused", "different", "exception", "crash", "timeout"]


# -- data ---------------------------------------------------------------------------------

def _generator_hash() -> str:
    return hashlib.sha1(Path(tpcds_data.__file__).read_bytes()).hexdigest()[:16]


def tpcds_tables(scale: float) -> dict[str, Path]:
    """{table: Parquet file} of the 24 tables at ``scale`` in benchmarks/data/tpcds-sf{N}/,
    generated (into a scratch directory, then moved in) when missing or made by another
    version of the generator."""
    out = DATA / f"tpcds-sf{scale:g}"
    paths = {t: out / f"{t}.parquet" for t in tpcds_data.TABLES}
    stamp = out / "generator.stamp"
    if stamp.exists() and stamp.read_text() == _generator_hash() \
            and all(p.exists() for p in paths.values()):
        return paths
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    print(f"generating TPC-DS-shaped scale {scale:g} with datasets.tpcds ...", flush=True)
    with tempfile.TemporaryDirectory(prefix=".generating-", dir=out) as tmp:
        for t, p in tpcds_data.generate(scale, tmp).items():
            os.replace(p, paths[t])
    stamp.write_text(_generator_hash())
    return paths


class AllTables:
    """Mixed into a tpch.py engine: the 24 Parquet files, and a stamp that changes with
    any of them."""

    def __init__(self, scale: float):
        self.scale = scale
        self.files = tpcds_tables(scale)
        super().__init__(self.files["store_sales"])

    def stamp(self) -> str:
        stats = [p.stat() for p in self.files.values()]
        return " ".join([super().stamp(), *(f"{s.st_size}:{s.st_mtime_ns}" for s in stats)])


class Mapdb(AllTables, lineitem_bench.Mapdb):
    def target(self) -> Path:
        return self.dir / "tpcds.mapdb"

    def load(self) -> None:  # in a child process, so an ingest crash is reported, not fatal
        code = ("import mapdb, sys, json\n"
                "db = mapdb.connect(sys.argv[1])\n"
                "for t, p in json.loads(sys.argv[2]).items():\n"
                "    db.ingest(t, p, mode='create')\n")
        files = json.dumps({t: str(p) for t, p in self.files.items()})
        subprocess.run([sys.executable, "-c", code, str(self.target()), files], check=True)


class DuckDB(AllTables, lineitem_bench.DuckDB):
    def target(self) -> Path:
        return self.dir / "tpcds.duckdb"

    def load(self) -> None:
        import duckdb
        with duckdb.connect(str(self.target())) as con:
            con.execute("SET enable_progress_bar = false")
            for table, path in self.files.items():
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{path}')")
            con.execute("CHECKPOINT")


ENGINE_CLASSES = {"mapdb": Mapdb, "duckdb": DuckDB}


# -- answers ------------------------------------------------------------------------------

def _key(v):
    """A sort key for a cell that orders None, numbers and strings without comparing
    across kinds; floats rounded so values equal within _same's tolerance sort alike."""
    if v is None:
        return (0, 0)
    if isinstance(v, float):
        return (1, float(f"{v:.9g}"))
    if isinstance(v, int | Decimal):
        return (1, float(f"{float(v):.9g}"))
    return (2, str(v))


def compare(got: pa.Table, want: pa.Table) -> str:
    """'equal', 'equal (ties ordered differently)' or 'different: WHY'."""
    if got.num_columns != want.num_columns:
        return f"different: {got.num_columns} columns, DuckDB {want.num_columns}"
    if got.num_rows != want.num_rows:
        return f"different: {got.num_rows} rows, DuckDB {want.num_rows}"
    g_rows = list(zip(*(c.to_pylist() for c in got.columns), strict=True))
    w_rows = list(zip(*(c.to_pylist() for c in want.columns), strict=True))

    def same(a, b):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))

    first_bad = next((i for i, (a, b) in enumerate(zip(g_rows, w_rows, strict=True))
                      if not same(a, b)), None)
    if first_bad is None:
        return "equal"
    g_sorted = sorted(g_rows, key=lambda r: [_key(v) for v in r])
    w_sorted = sorted(w_rows, key=lambda r: [_key(v) for v in r])
    if all(same(a, b) for a, b in zip(g_sorted, w_sorted, strict=True)):
        return "equal (ties ordered differently)"
    return (f"different: row {first_bad}: {g_rows[first_bad]!r} != "
            f"DuckDB {w_rows[first_bad]!r}")[:300]


_LIMIT = re.compile(r"\bLIMIT\s+\d+\s*;?\s*$", re.IGNORECASE)


def ties_at_limit(run, sql: str, scale: float) -> bool:
    """Whether a different answer is a LIMIT cutting through ties (the ORDER BY leaves
    the rows at the cut undecided): the statement without its LIMIT gives the same rows
    on both engines. ``run(sql)`` runs it on the engine checked."""
    m = _LIMIT.search(sql)
    if m is None:
        return False
    import duckdb
    full = sql[:m.start()]
    with duckdb.connect(str(DuckDB(scale).target()), read_only=True) as con:
        want = con.sql(full).to_arrow_table()
    return compare(run(full), want).startswith("equal")


# -- one engine, in a worker process ------------------------------------------------------

def _kind(e: BaseException) -> str:
    from mapdb import MapdbError
    return "refused" if isinstance(e, MapdbError) else "exception"


def worker(name: str, args: argparse.Namespace, out: Path) -> None:
    """Runs the queries out/NAME.json has no record of yet, on one engine; before each
    execution out/NAME.beat says which (the parent times it)."""
    _die_with_parent()
    report_path, beat = out / f"{name}.json", out / f"{name}.beat"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"queries": {}}
    _write(beat, "load")
    try:
        eng = ENGINE_CLASSES[name](args.scale)
        report.setdefault("load_s", eng.prepare())
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
            rec["rows"] = answer.num_rows
            want = _read_arrow(out / f"duckdb-{q}.arrow")
            if name != "duckdb":
                rec["outcome"] = "different: DuckDB has no answer" if want is None \
                    else compare(answer, want)
                if rec["outcome"].startswith("different") and want is not None:
                    _write(beat, f"{q} without its LIMIT")
                    if ties_at_limit(eng.query, sql, args.scale):
                        rec["outcome"] = "equal (LIMIT cuts through ties)"
            for i in range(args.runs):
                _write(beat, f"{q} run {i + 1}")
                t0 = time.perf_counter()
                eng.query(sql)
                rec["warm"].append(time.perf_counter() - t0)
        except Exception as e:
            rec["outcome"] = f"{_kind(e)}: {_error(e)}"
            rec["warm"] = []
            try:  # the next query starts from a fresh connection
                eng.close()
                eng.open()
            except Exception:
                pass
        _write_json(report_path, report)
        loud = "  <<<<<<<< WRONG ANSWER" if rec.get("outcome", "").startswith("different") else ""
        print(f"[{name}] {q}: warm {_ms(_median(rec['warm']))} ms  "
              f"{rec.get('outcome', '')}{loud}", flush=True)
    _write(beat, "done")


def run_engine(name: str, args: argparse.Namespace, out: Path) -> dict:
    """Runs ``name``'s worker to the end of the queries, replacing a worker that is killed
    (timeout) or dies (crash) with a new one that starts after that query."""
    report_path, beat = out / f"{name}.json", out / f"{name}.beat"
    cmd = [sys.executable, "-m", "benchmarks.tpcds", "--worker", name, "--out", str(out),
           "--scale", f"{args.scale:g}", "--runs", str(args.runs),
           "--queries", ",".join(args.queries)]
    while True:
        _write(beat, "start")
        proc = subprocess.Popen(cmd, cwd=HERE.parent, start_new_session=True)
        seen, since, timed_out = "start", time.monotonic(), False
        try:
            while proc.poll() is None:
                time.sleep(0.1)
                now = beat.read_text()
                if now != seen:
                    seen, since = now, time.monotonic()
                elif seen not in ("start", "load", "done") \
                        and time.monotonic() - since > args.timeout:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    timed_out = True
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        report = json.loads(report_path.read_text()) if report_path.exists() else {"queries": {}}
        if proc.returncode == 0 or seen in ("start", "load", "done"):
            if proc.returncode != 0:
                report.setdefault("error", f"worker exited with code {proc.returncode} "
                                           f"before its first query")
            return report
        q = seen.split()[0]
        if q not in report["queries"]:  # else it died after recording q: carry on
            why = (f"timeout: one execution took over {args.timeout:g} s" if timed_out else
                   f"crash: the worker died (exit code {proc.returncode})")
            print(f"[{name}] {q}: {why}; carrying on with a new worker", flush=True)
            report["queries"][q] = {"warm": [], "outcome": why}
            _write_json(report_path, report)


# -- report -------------------------------------------------------------------------------

def _geomean(xs: list[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else None


def _group(msg: str) -> str:
    """A refusal message without its position and quoted specifics, so one construct's
    refusals group together."""
    msg = msg.split(": ", 1)[1] if msg.startswith("MapdbError: ") else msg
    msg = re.sub(r"\b(at|near) (line \d+, )?(column|col|position|char) \d+.*$", "", msg)
    msg = re.sub(r"\(line \d+[^)]*\)", "", msg)
    msg = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "…", msg)
    return re.sub(r"\d+", "N", msg).strip()


def results(queries: list[str], reports: dict[str, dict]) -> list[dict]:
    rows = []
    for q in queries:
        duck = reports.get("duckdb", {}).get("queries", {}).get(q, {})
        mine = reports.get("mapdb", {}).get("queries", {}).get(q)
        ref = _median(duck.get("warm", [])) if "outcome" not in duck else None
        out = (mine or {}).get("outcome") or (reports.get("mapdb", {}).get("error")
                                              or "not run")
        warm = _median(mine["warm"]) if mine and mine.get("warm") else None
        if duck.get("outcome"):
            out = f"not compared: DuckDB {duck['outcome']}"
        kind = out.split(":")[0].split(" (")[0]
        rows.append({"query": q, "duckdb_s": ref, "mapdb_s": warm,
                     "ratio": warm / ref if warm and ref and kind == "equal" else None,
                     "outcome": kind, "detail": out, "rows": (duck or {}).get("rows")})
    return rows


def summary(rows: list[dict]) -> dict:
    by = defaultdict(list)
    for r in rows:
        by[r["outcome"]].append(r["query"])
    refusals = defaultdict(list)
    for r in rows:
        if r["outcome"] == "refused":
            refusals[_group(r["detail"].split(": ", 1)[1])].append(r["query"])
    ratios = [r for r in rows if r["ratio"]]
    worst = sorted(ratios, key=lambda r: -r["ratio"])[:10]
    return {"counts": {k: len(v) for k, v in by.items()}, "queries": dict(by),
            "geomean_ratio": _geomean([r["ratio"] for r in ratios]), "compared": len(ratios),
            "refusals": dict(sorted(refusals.items(), key=lambda kv: -len(kv[1]))),
            "worst": [(r["query"], r["ratio"]) for r in worst],
            "other_failures": {r["query"]: r["detail"] for r in rows
                               if r["outcome"] not in ("equal", "refused")}}


def write_report(args, rows, summ, info) -> list[str]:
    title = (f"TPC-DS-shaped scale {args.scale:g} (datasets.tpcds), 99 queries, warm median "
             f"of {args.runs}; {info['cpu_count']} CPUs, {info['cpu']}; mapdb "
             f"{info['mapdb_rev']}, DuckDB {info['duckdb']}; timeout {args.timeout:g} s")
    counts = ", ".join(f"{k} {summ['counts'][k]}" for k in OUTCOMES if k in summ["counts"])
    extra = [k for k in summ["counts"] if k not in OUTCOMES]
    counts += "".join(f", {k} {summ['counts'][k]}" for k in extra)
    gm = summ["geomean_ratio"]
    lines = [f"{title}.", "", f"- outcomes: {counts}",
             f"- geometric mean of mapdb/DuckDB over the {summ['compared']} equal answers: "
             + (f"{gm:.2f}" if gm else "-"),
             "- 10 worst ratios: " + ", ".join(f"{q} {r:.1f}x" for q, r in summ["worst"]),
             "", "Refusals by message:", ""]
    lines += [f"- {len(qs)}: {msg} ({', '.join(qs)})" for msg, qs in summ["refusals"].items()]
    if summ["other_failures"]:
        lines += ["", "Wrong answers, exceptions, crashes, timeouts:", ""]
        lines += [f"- {q}: {d}" for q, d in summ["other_failures"].items()]
    lines += ["", "| query | rows | duckdb ms | mapdb ms | mapdb/duckdb | outcome |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["query"], "-" if r["rows"] is None else str(r["rows"]), _ms(r["duckdb_s"]),
                 _ms(r["mapdb_s"]), f"{r['ratio']:.2f}" if r["ratio"] else "-",
                 r["detail"][:200]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    RESULTS.mkdir(exist_ok=True)
    stem = f"tpcds-sf{args.scale:g}"  # not Path.with_suffix: "sf0.1" has a dot
    (RESULTS / f"{stem}.json").write_text(json.dumps(
        {"scale": args.scale, "runs": args.runs, "timeout_s": args.timeout, "machine": info,
         "summary": summ, "results": rows}, indent=2, default=str) + "\n")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    return lines


def _query_names(s: str) -> list[str]:  # "q1,3,q06" -> ["q01", "q03", "q06"]
    names = [f"q{int(q.lower().removeprefix('q')):02d}" if q.lower().lstrip("q").isdigit()
             else q for q in s.split(",")]
    if unknown := [q for q in names if q not in QUERIES]:
        raise argparse.ArgumentTypeError(f"unknown {','.join(unknown)}; known: q01..q99")
    return names


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=_query_names, default=QUERIES)
    ap.add_argument("--timeout", type=float, default=60,
                    help="seconds one execution of a query may take (default 60)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker, args, args.out)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the workers go with it
    tpcds_tables(args.scale)  # once, before the workers
    info = machine()
    DATA.mkdir(exist_ok=True)
    reports = {}
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        for e in ENGINES:
            print(f"== {e}", flush=True)
            reports[e] = run_engine(e, args, Path(tmp))
    rows = results(args.queries, reports)
    summ = summary(rows)
    print("\n".join(write_report(args, rows, summ, info)))
    print(f"wrote {RESULTS / f'tpcds-sf{args.scale:g}'}.json and .md")


if __name__ == "__main__":
    main()
