"""TPC-H lineitem queries: mapdb against DuckDB, Polars in memory and Polars over Arrow IPC.

    python -m benchmarks.run tpch --scale 10 --runs 5
    python -m benchmarks.run tpch --scale 1 --queries q1,q6 --engines duckdb,polars --no-cold

Queries are TPC-H Q1 and Q6 (benchmarks/queries/tpch/) plus single-table lineitem queries
for other paths (benchmarks/queries/*.sql), the same text for every engine (Polars through
``pl.SQLContext``).
Engines: mapdb (``mapdb.connect(db).sql(text).to_arrow()``), DuckDB (its own database
file), polars (``read_parquet`` into memory) and polars-ipc (``scan_ipc`` of an
uncompressed Arrow file). Loaded data is cached in benchmarks/data/tpch-sf{N}/ and rebuilt
when missing or stale. Every engine keeps its default thread count.

Warm: one untimed run, then --runs timed runs (median). Cold: before each run the engine's
files are evicted from the page cache (fsync + fadvise DONTNEED) and the engine is opened
afresh; the time includes the open. "read" is /proc/self/io read_bytes over a cold run.
Each engine runs in its own process, so a crash or an error costs only its own results.
Answers are checked against DuckDB's. Writes benchmarks/results/tpch-sf{N}.json, .md and
.png (the chart: ``python -m benchmarks.plot`` redraws it from the JSON).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from benchmarks.common import (
    DATA,
    HERE,
    RESULTS,
    error_text,
    evict,
    query_path,
    read_answer,
    read_bytes,
    save_answer,
    tpch_parquet,
)
from benchmarks.plot import chart

QUERIES = ["q1", "q6", "late_shipmode", "top_price", "distinct_orders", "comment_like",
           "revenue_year"]
ENGINES = ["mapdb", "duckdb", "polars", "polars-ipc"]


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True)
    return out.stdout.strip()


# -- engines ------------------------------------------------------------------------------

class Engine:
    """Loads lineitem once (cached on disk by stamp), then opens, queries and closes."""

    cold = True

    def __init__(self, parquet: Path):
        self.parquet = parquet
        self.dir = parquet.parent

    def target(self) -> Path | None:  # the cached load, None if held only in memory
        return None

    def tables(self) -> dict[str, Path]:  # {table: Parquet file} to load
        return {"lineitem": self.parquet}

    def stamp(self) -> str:  # changes when the cached load must be rebuilt
        st = self.parquet.stat()
        return f"{st.st_size} {st.st_mtime_ns}"

    def prepare(self) -> float | None:
        """Load if needed; returns the load time, None when the cache was reused."""
        target = self.target()
        stamp_file = Path(f"{target}.stamp") if target else None
        if stamp_file and target.exists() and stamp_file.exists() \
                and stamp_file.read_text() == self.stamp():
            return None
        if stamp_file:
            stamp_file.unlink(missing_ok=True)
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        t0 = time.perf_counter()
        self.load()
        dt = time.perf_counter() - t0
        if stamp_file:
            stamp_file.write_text(self.stamp())
        return dt

    def load(self) -> None: ...
    def open(self) -> None: ...
    def close(self) -> None: ...
    def threads(self) -> int | str: ...
    def query(self, sql: str) -> pa.Table: ...


class Mapdb(Engine):
    def target(self) -> Path:
        return self.dir / "mapdb"

    def stamp(self) -> str:  # the on-disk format is whatever this storage/ingest code writes
        h = hashlib.sha1()
        for d in ("mapdb/storage", "mapdb/ingest"):  # ext: kernels, not the format
            for p in sorted((HERE.parent / d).rglob("*")):
                if p.is_file() and p.suffix in {".py", ".pyx", ".pxi", ".pxd", ".h", ".c"}:
                    h.update(p.read_bytes())
        return f"{super().stamp()} {h.hexdigest()}"

    def load(self) -> None:  # in a child process, so an ingest crash is reported, not fatal
        code = "import mapdb, sys; mapdb.connect(sys.argv[1]).ingest('lineitem', sys.argv[2])"
        subprocess.run([sys.executable, "-c", code, str(self.target()), str(self.parquet)],
                       check=True)

    def open(self) -> None:
        import mapdb
        self.db = mapdb.connect(self.target(), readonly=True)

    def close(self) -> None:
        if hasattr(self.db, "close"):
            self.db.close()
        self.db = None

    def threads(self) -> int | str:
        return getattr(self.db, "threads", "default")

    def query(self, sql: str) -> pa.Table:
        return self.db.sql(sql).to_arrow()


class DuckDB(Engine):
    def target(self) -> Path:
        return self.dir / "lineitem.duckdb"

    def stamp(self) -> str:
        import duckdb
        return f"{super().stamp()} duckdb {duckdb.__version__}"

    def load(self) -> None:
        import duckdb
        with duckdb.connect(str(self.target())) as con:
            con.execute("SET enable_progress_bar = false")
            for table, path in self.tables().items():
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{path}')")
            con.execute("CHECKPOINT")

    def open(self) -> None:
        import duckdb
        self.con = duckdb.connect(str(self.target()), read_only=True)
        self.con.execute("SET enable_progress_bar = false")

    def close(self) -> None:
        self.con.close()

    def threads(self) -> int:
        return int(self.con.execute("SELECT current_setting('threads')").fetchall()[0][0])

    def query(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()


class AllTables:
    """Mixed into an engine above (by tpch22, tpcds): every table of a schema, not lineitem
    alone. ``schema(scale)`` gives {table: Parquet file}; the engine's ``parquet`` is
    ``main``'s, and its stamp changes when any of the files does."""

    main: str

    def __init__(self, scale: float):
        self.scale = scale
        self.files = self.schema(scale)
        super().__init__(self.files[self.main])

    def schema(self, scale: float) -> dict[str, Path]:
        raise NotImplementedError

    def tables(self) -> dict[str, Path]:
        return self.files

    def stamp(self) -> str:  # the engine's own covers main's file
        stats = [p.stat() for t, p in self.files.items() if t != self.main]
        return " ".join([super().stamp(), *(f"{s.st_size}:{s.st_mtime_ns}" for s in stats)])


class Polars(Engine):
    cold = False

    def load(self) -> None:
        import polars as pl
        self.df = pl.read_parquet(self.parquet)

    def threads(self) -> int:
        import polars as pl
        return pl.thread_pool_size()

    def frame(self):
        return self.df.lazy()

    def query(self, sql: str) -> pa.Table:
        import polars as pl
        return pl.SQLContext(lineitem=self.frame()).execute(sql).collect().to_arrow()


class PolarsIPC(Polars):
    cold = True

    def target(self) -> Path:
        return self.dir / "lineitem.arrow"

    def load(self) -> None:
        import polars as pl
        pl.read_parquet(self.parquet).write_ipc(self.target(), compression="uncompressed")

    def frame(self):
        import polars as pl
        return pl.scan_ipc(self.target())


ENGINE_CLASSES = {"mapdb": Mapdb, "duckdb": DuckDB, "polars": Polars, "polars-ipc": PolarsIPC}


# -- one engine, in a worker process ------------------------------------------------------

def worker(engine_name: str, args: argparse.Namespace, out: Path) -> None:
    """Runs every query on one engine; rewrites out/ENGINE.json after each query and saves
    each answer as out/ENGINE-QUERY.arrow."""
    eng = ENGINE_CLASSES[engine_name](tpch_parquet(args.scale))
    report: dict = {"queries": {}}

    def save() -> None:
        (out / f"{engine_name}.json").write_text(json.dumps(report))

    try:
        print(f"[{engine_name}] loading ...", flush=True)
        report["load_s"] = eng.prepare()
        eng.open()
        report["threads"] = eng.threads()
    except Exception as e:
        report["error"] = f"{type(e).__name__}: {e}"
        save()
        return
    files = [eng.target()] if eng.target() else []
    for name in args.queries:
        sql = query_path(name).read_text()
        rec: dict = {"warm": [], "cold": [], "read": []}
        report["queries"][name] = rec
        try:
            answer = eng.query(sql)
            save_answer(out / f"{engine_name}-{name}.arrow", answer)
            for _ in range(args.runs):
                t0 = time.perf_counter()
                eng.query(sql)
                rec["warm"].append(time.perf_counter() - t0)
            for _ in range(args.runs if eng.cold and args.cold else 0):
                eng.close()
                gc.collect()  # drop mappings, so eviction can drop their pages
                evict(files)
                b0, t0 = read_bytes(), time.perf_counter()
                eng.open()
                eng.query(sql)
                rec["cold"].append(time.perf_counter() - t0)
                rec["read"].append(read_bytes() - b0)
        except Exception as e:
            rec["error"] = error_text(e)
            try:  # start the next query from a fresh connection
                eng.close()
                eng.open()
            except Exception:
                pass
        save()
        print(f"[{engine_name}] {name}: " + (rec.get("error") or
              f"warm {_ms(_median(rec['warm']))} cold {_ms(_median(rec['cold']))}"), flush=True)
    save()


# -- answers ------------------------------------------------------------------------------

def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, Decimal | int) and isinstance(b, Decimal | int):
        return Decimal(a) == Decimal(b)
    return a == b


def check(got: pa.Table, want: pa.Table) -> str:
    if got.num_rows != want.num_rows or got.num_columns != want.num_columns:
        return f"MISMATCH shape {got.num_rows}x{got.num_columns}"
    for i, (g, w) in enumerate(zip(got.columns, want.columns, strict=True)):
        for row, (x, y) in enumerate(zip(g.to_pylist(), w.to_pylist(), strict=True)):
            if not _same(x, y):
                return f"MISMATCH col {i} row {row}: {x!r} != {y!r}"
    return "ok"


# -- report -------------------------------------------------------------------------------

def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _ms(t: float | None) -> str:
    return "n/a" if t is None else f"{t * 1000:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def machine() -> dict:
    import duckdb
    import polars as pl
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) * 1024
               for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    dirty = " (dirty)" if _git("status", "--porcelain", "mapdb", "ext") else ""
    return {"cpu_count": os.cpu_count(), "cpu": cpu, "mem_bytes": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "polars": pl.__version__, "pyarrow": pa.__version__,
            "mapdb_rev": _git("rev-parse", "--short", "HEAD") + dirty}


def table_rows(rows: list[dict]) -> list[list[str]]:
    by = {(r["query"], r["engine"]): r for r in rows}
    out = []
    for r in rows:
        cells = [r["query"], r["engine"], _ms(r["warm_s"]),
                 "n/a" if not r["cold_runs"] else _ms(r["cold_s"]),
                 "n/a" if r["cold_read_bytes"] is None else f"{r['cold_read_bytes'] / 2**20:.0f}",
                 (r["error"] or r["check"])[:60]]
        if r["engine"] == "mapdb":
            duck = by.get((r["query"], "duckdb"), {})
            pol = by.get((r["query"], "polars"), {})
            ipc = by.get((r["query"], "polars-ipc"), {})
            cells += [f"{_ratio(r['warm_s'], duck.get('warm_s'))} / "
                      f"{_ratio(r['cold_s'], duck.get('cold_s'))}",
                      f"{_ratio(r['warm_s'], pol.get('warm_s'))} / "
                      f"{_ratio(r['cold_s'], ipc.get('cold_s'))}"]
        else:
            cells += ["", ""]
        out.append(cells)
    return out


HEADER = ["query", "engine", "warm ms", "cold ms", "cold read MiB", "check",
          "mapdb/duckdb w/c", "mapdb/polars w/c"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queries", type=lambda s: s.split(","), default=QUERIES)
    ap.add_argument("--engines", type=lambda s: s.split(","), default=ENGINES)
    ap.add_argument("--no-cold", dest="cold", action="store_false")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    for q in args.queries:
        if not (HERE / "queries" / f"{q}.sql").exists():
            ap.error(f"unknown query {q!r}; known: {','.join(QUERIES)}")
    for e in args.engines:
        if e not in ENGINE_CLASSES:
            ap.error(f"unknown engine {e!r}; known: {','.join(ENGINES)}")
    if args.worker:
        return worker(args.worker, args, args.out)

    parquet = tpch_parquet(args.scale)
    reports = {}
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        out = Path(tmp)
        for e in args.engines:
            cmd = [sys.executable, "-m", "benchmarks.tpch", "--worker", e, "--out", tmp,
                   "--scale", f"{args.scale:g}", "--runs", str(args.runs),
                   "--queries", ",".join(args.queries)] + ([] if args.cold else ["--no-cold"])
            rc = subprocess.run(cmd, cwd=HERE.parent).returncode
            path = out / f"{e}.json"
            reports[e] = json.loads(path.read_text()) if path.exists() else {"queries": {}}
            if rc:
                reports[e].setdefault("error", f"worker exited with code {rc}")
        answers = {(e, q): read_answer(out / f"{e}-{q}.arrow")
                   for e in args.engines for q in args.queries}

    rows = []
    for q in args.queries:
        for e in args.engines:
            rec = reports[e]["queries"].get(q, {})
            err = rec.get("error") or (reports[e].get("error") if "warm" not in rec else None)
            got, want = answers[e, q], answers.get(("duckdb", q))
            ok = "-" if got is None or want is None or e == "duckdb" else check(got, want)
            reads = rec.get("read") or []
            rows.append({"query": q, "engine": e,
                         "warm_s": None if err else _median(rec.get("warm", [])),
                         "cold_s": None if err else _median(rec.get("cold", [])),
                         "warm_runs": rec.get("warm", []), "cold_runs": rec.get("cold", []),
                         "cold_read_bytes": int(statistics.median(reads)) if reads else None,
                         "check": ok, "error": f"error: {err}" if err else None})

    info = machine()
    engines = {e: {k: v for k, v in r.items() if k != "queries"} for e, r in reports.items()}
    title = (f"TPC-H SF{args.scale:g} lineitem ({parquet.stat().st_size / 2**30:.2f} GiB "
             f"Parquet), median of {args.runs}; {info['cpu_count']} CPUs, {info['cpu']}, "
             f"Linux {info['kernel']}; mapdb {info['mapdb_rev']}, DuckDB {info['duckdb']}, "
             f"Polars {info['polars']}")
    notes = ("Warm: after one untimed run. Cold: engine files evicted from the page cache "
             "and the engine reopened before each run (time includes the open); read = bytes "
             "read from disk by the process. mapdb/polars: warm against Polars in memory, "
             "cold against Polars over Arrow IPC. Threads: "
             + ", ".join(f"{e} {r.get('threads', '?')}" for e, r in engines.items()) + ".")
    table = table_rows(rows)
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(HEADER)]
    print(f"\n{title}")
    for r in [HEADER, *table]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(notes)

    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"tpch-sf{args.scale:g}"
    stem.with_suffix(".json").write_text(json.dumps(
        {"scale": args.scale, "runs": args.runs, "cold": args.cold, "machine": info,
         "engines": engines, "results": rows}, indent=2) + "\n")
    md = [f"{title}.", "", "| " + " | ".join(HEADER) + " |",
          "|" + "|".join("---" for _ in HEADER) + "|",
          *("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table),
          "", notes, ""]
    stem.with_suffix(".md").write_text("\n".join(md))
    print(f"wrote {stem}.json and {stem}.md")
    chart(stem.with_suffix(".json"))


if __name__ == "__main__":
    main()
