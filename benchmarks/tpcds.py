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
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from benchmarks import tpch as lineitem_bench
from benchmarks import workers
from benchmarks.common import DATA, HERE, RESULTS, error_text, geomean
from benchmarks.tpch import _median, _ms, _same, machine
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


class AllTables(lineitem_bench.AllTables):  # tpch.py's engines over the 24 tables
    main, schema = "store_sales", staticmethod(tpcds_tables)


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


class Worker(workers.Worker):
    engines, query_dir = ENGINE_CLASSES, QUERY_DIR

    def judge(self, q: str, sql: str, answer: pa.Table, rec: dict) -> None:
        rec["rows"] = answer.num_rows
        if self.name == "duckdb":
            return
        want = self.reference(q)
        rec["outcome"] = "different: DuckDB has no answer" if want is None \
            else compare(answer, want)
        if rec["outcome"].startswith("different") and want is not None:
            self.beat(f"{q} without its LIMIT")
            if ties_at_limit(self.eng.query, sql, self.args.scale):
                rec["outcome"] = "equal (LIMIT cuts through ties)"

    def failed(self, rec: dict, e: Exception) -> None:
        rec["outcome"] = f"{_kind(e)}: {error_text(e)}"
        rec["warm"] = []

    def line(self, rec: dict) -> str:
        loud = "  <<<<<<<< WRONG ANSWER" if rec.get("outcome", "").startswith("different") else ""
        return f"warm {_ms(_median(rec['warm']))} ms  {rec.get('outcome', '')}{loud}"


# -- report -------------------------------------------------------------------------------

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
            "geomean_ratio": geomean([r["ratio"] for r in ratios]), "compared": len(ratios),
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    workers.add_options(ap, QUERIES, scale=1, timeout=60)
    args = ap.parse_args(argv)
    if args.worker:
        return Worker(args).run()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the workers go with it
    tpcds_tables(args.scale)  # once, before the workers
    info = machine()
    reports = dict(workers.run_engines("benchmarks.tpcds", ENGINES, args, "outcome"))
    rows = results(args.queries, reports)
    summ = summary(rows)
    print("\n".join(write_report(args, rows, summ, info)))
    print(f"wrote {RESULTS / f'tpcds-sf{args.scale:g}'}.json and .md")


if __name__ == "__main__":
    main()
