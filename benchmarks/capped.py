"""The 22 TPC-H queries for mapdb and DuckDB under a memory cap, cold (issue 20 item 4).

    python -m benchmarks.run capped                       # SF1, caps 600M and 300M
    python -m benchmarks.run capped --scale 10            # caps 3G and 1G (the issue's)
    python -m benchmarks.run capped --scale 1 --caps 1G --queries q01,q18

Each query of each engine runs in a fresh process under ``memlimit CAP --`` (the
shared tool: a memory cgroup holding anonymous memory and page cache, as if the machine
had only CAP of RAM; it prints the cgroup's peak and its OOM kills), after the page cache
was dropped (``echo 3 > /proc/sys/vm/drop_caches``; needs root, else the run is recorded
as not cold). Both engines get a memory_limit of --share (80%) of the cap and 2 threads:
DuckDB ``SET memory_limit``, ``threads=2`` and a temp_directory on disk to spill to;
mapdb ``connect(memory_limit=...)`` with the process's CPUs cut to 2. Per query and
engine: completed, failed with MemoryLimitError (mapdb's refusal over its budget),
OOM-killed (exit 137 / an OOM kill in the cgroup), another error or a timeout; the time
of open + query + Arrow result, measured in the child; the cgroup's peak (memlimit's
figure, rounded by numfmt); the bytes the child read from storage (/proc/self/io
read_bytes after its imports and a warm-up query over VALUES, so loading the
libraries cold is not counted, in time or bytes). mapdb's
answers are checked row for row against DuckDB's. The geometric mean of mapdb/DuckDB
is over the queries both complete with a matching answer.

Data: tpch22's (benchmarks/data/tpch-sf{N}/: the Parquet, tpch22.mapdb, tpch22.duckdb,
built when missing or stale); their bytes on disk are reported too. Writes
benchmarks/results/capped-sf{N}.json and .md (capped-sf{N}{NAME}.* with --name NAME).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import tpch22
from benchmarks.common import DATA, HERE, RESULTS, du, error_text, geomean, read_bytes
from benchmarks.tpch import check, machine

ENGINES = ["mapdb", "duckdb"]
THREADS = 2
STATUSES = ("ok", "memory limit", "OOM-killed", "error", "timeout")
COLUMNS = ["query", "mapdb", "duckdb", "mapdb/duckdb", "mapdb peak", "duckdb peak",
           "mapdb read", "duckdb read", "check"]


def default_caps(scale: float) -> list[str]:
    return ["3G", "1G"] if scale >= 10 else ["600M", "300M"]


def find_memlimit() -> Path | None:
    """The shared memlimit tool: $MEMLIMIT, else shared/tools/memlimit beside the checkout
    or any directory above it (worktrees sit deeper than the main checkout)."""
    if env := os.environ.get("MEMLIMIT"):
        return Path(env) if Path(env).is_file() else None
    for d in HERE.resolve().parents:
        if (p := d / "shared" / "tools" / "memlimit").is_file():
            return p
    return None


def can_cap() -> str | None:
    """Why capped runs cannot happen here (None: they can): memlimit needs root and a
    memory cgroup controller (v1 or v2)."""
    if find_memlimit() is None:
        return "memlimit not found (set MEMLIMIT)"
    if os.geteuid() != 0:
        return "not root (memlimit makes a cgroup)"
    if not (Path("/sys/fs/cgroup/memory").is_dir()
            or Path("/sys/fs/cgroup/cgroup.controllers").is_file()):
        return "no memory cgroup controller"
    return None


def size_bytes(s: str) -> int:
    """'600M', '1.5G', '3GiB', '512K' (binary units, as memlimit and numfmt read them)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(i?B)?\s*", s, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r}")
    return int(float(m[1]) * 1024 ** " KMGT".index(m[2].upper() or " "))


def drop_caches() -> bool:
    """Every clean page of the page cache dropped (dirty ones written first); False when
    not allowed (not root)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


# -- one query in a child process ---------------------------------------------------------

def child(args: argparse.Namespace) -> None:
    """Open the engine's database, run one query, write {seconds, rows, read_bytes} or
    {error, kind} to --out and the answer to --answer."""
    import pyarrow as pa  # noqa: F401 - imported before the read_bytes baseline

    from benchmarks.common import save_answer
    sql = (HERE / "queries" / "tpch" / f"{args.query}.sql").read_text()
    limit = int(args.memory_limit)
    if args.child == "duckdb":
        import duckdb
    else:
        import mapdb
        from mapdb.errors import MemoryLimitError
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > THREADS:  # mapdb runs one worker per CPU it may use
            os.sched_setaffinity(0, cpus[:THREADS])
    # Code loads before the clock and the read_bytes baseline: the page cache was dropped,
    # and mapdb imports its SQL layer (sqlglot, operators) at the first query, which would
    # otherwise be charged to the query's time and bytes while DuckDB's loads at import.
    warm = ("SELECT a.k, count(*) AS n FROM (VALUES (1), (2)) a(k) JOIN (VALUES (1)) b(k) "
            "ON a.k = b.k WHERE a.k > 0 GROUP BY a.k ORDER BY n DESC LIMIT 1")
    if args.child == "duckdb":
        duckdb.sql(warm).to_arrow_table()
    else:
        mapdb.connect().sql(warm).to_arrow()
    rec: dict = {}
    base = read_bytes()
    t0 = time.perf_counter()
    try:
        if args.child == "duckdb":
            con = duckdb.connect(args.db, read_only=True, config={
                "memory_limit": f"{limit}B", "threads": THREADS,
                "temp_directory": args.tmp})
            con.execute("SET enable_progress_bar = false")
            answer = con.sql(sql).to_arrow_table()
            con.close()
        else:
            db = mapdb.connect(args.db, readonly=True, memory_limit=limit)
            answer = db.sql(sql).to_arrow()
        rec = {"seconds": time.perf_counter() - t0, "rows": answer.num_rows}
        save_answer(Path(args.answer), answer)
    except Exception as e:  # any failure is the query's result
        kind = "memory limit" if args.child == "mapdb" and isinstance(e, MemoryLimitError) \
            else "error"
        rec = {"error": error_text(e), "kind": kind}
    rec["read_bytes"] = read_bytes() - base
    Path(args.out).write_text(json.dumps(rec))


PEAK = re.compile(r"memlimit: limit \S+, peak (\S+), oom kills (\d+)")


def run_one(memlimit: Path, cap: str, engine: str, db: Path, query: str, share: float,
            timeout: float, work: Path, cold: bool) -> dict:
    """One query of one engine under the cap, in a fresh process: its record."""
    out, answer = work / f"{engine}-{query}.json", work / f"{engine}-{query}.arrow"
    out.unlink(missing_ok=True)
    answer.unlink(missing_ok=True)
    spill = work / f"spill-{engine}"
    spill.mkdir(exist_ok=True)
    cmd = [str(memlimit), cap, "--", sys.executable, "-m", "benchmarks.capped",
           "--child", engine, "--db", str(db), "--query", query,
           "--memory-limit", str(int(size_bytes(cap) * share)), "--out", str(out),
           "--answer", str(answer), "--tmp", str(spill)]
    dropped = drop_caches() if cold else False
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=HERE.parent, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        # SIGTERM to the group: the child dies, memlimit's EXIT trap still removes its cgroup
        os.killpg(p.pid, signal.SIGTERM)
        _, err = p.communicate()
        timed_out = True
    wall = time.perf_counter() - t0
    shutil.rmtree(spill, ignore_errors=True)
    m = PEAK.search(err or "")
    rec = {"cap": cap, "query": query, "engine": engine, "cold": dropped,
           "peak_bytes": size_bytes(m[1]) if m else None, "wall_s": wall,
           "seconds": None, "read_bytes": None, "rows": None, "error": None}
    child_rec = json.loads(out.read_text()) if out.exists() else None
    if child_rec:
        rec.update({k: child_rec.get(k) for k in ("seconds", "read_bytes", "rows", "error")})
    if timed_out:
        rec.update(status="timeout", error=f"timeout after {timeout:g} s")
    elif child_rec and "error" not in child_rec and p.returncode == 0:
        rec["status"] = "ok"
    elif child_rec and "error" in child_rec:
        rec["status"] = child_rec["kind"]
    elif p.returncode in (137, -9) or (m and int(m[2]) > 0):
        rec.update(status="OOM-killed", error=f"OOM-killed (exit {p.returncode})")
    else:
        tail = [x for x in (err or "").splitlines() if not x.startswith("memlimit:")]
        rec.update(status="error",
                   error=f"exit {p.returncode}: {tail[-1] if tail else ''}"[:200])
    rec["answer"] = str(answer) if rec["status"] == "ok" else None
    return rec


# -- report -------------------------------------------------------------------------------

def _ms(t: float | None) -> str:
    return "-" if t is None else f"{t * 1000:.0f} ms"


def _mib(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**20:.0f} MiB"


def _cell(r: dict) -> str:
    return _ms(r["seconds"]) if r["status"] == "ok" else r["status"]


def summarize(rows: list[dict], caps: list[str]) -> dict:
    """Per cap: completions per engine, mapdb's failures by kind, the geometric mean of
    mapdb/DuckDB time (and bytes read) over the queries both complete with matching
    answers."""
    out = {}
    for cap in caps:
        by = {(r["query"], r["engine"]): r for r in rows if r["cap"] == cap}
        queries = list(dict.fromkeys(q for q, _ in by))
        both = [q for q in queries if by[q, "mapdb"]["status"] == by[q, "duckdb"]["status"]
                == "ok" and by[q, "mapdb"]["check"] == "ok"]
        s = {"queries": len(queries),
             "completed": {e: sum(by[q, e]["status"] == "ok" for q in queries)
                           for e in ENGINES},
             "failed": {e: {q: by[q, e]["status"] for q in queries
                            if by[q, e]["status"] != "ok"} for e in ENGINES},
             "mismatches": [q for q in queries if (by[q, "mapdb"]["check"] or "")
                            .startswith("MISMATCH")],
             "compared": len(both),
             "geomean_time_vs_duckdb": geomean(
                 [by[q, "mapdb"]["seconds"] / by[q, "duckdb"]["seconds"] for q in both]),
             "read_bytes": {e: sum(by[q, e]["read_bytes"] or 0 for q in both)
                            for e in ENGINES}}
        out[cap] = s
    return out


def table(rows: list[dict], cap: str) -> tuple[list[str], list[list[str]]]:
    by = {(r["query"], r["engine"]): r for r in rows if r["cap"] == cap}
    lines = []
    for q in dict.fromkeys(q for q, _ in by):
        m, d = by[q, "mapdb"], by[q, "duckdb"]
        ratio = f"{m['seconds'] / d['seconds']:.2f}" \
            if m["status"] == d["status"] == "ok" else "-"
        lines.append([q, _cell(m), _cell(d), ratio, _mib(m["peak_bytes"]),
                      _mib(d["peak_bytes"]), _mib(m["read_bytes"]), _mib(d["read_bytes"]),
                      m["check"] or "-"])
    return COLUMNS, lines


def summary_line(cap: str, s: dict) -> str:
    c, f = s["completed"], s["failed"]
    line = (f"cap {cap}: mapdb completed {c['mapdb']}/{s['queries']}, DuckDB "
            f"{c['duckdb']}/{s['queries']}")
    g = s["geomean_time_vs_duckdb"]
    if g is not None:
        rb = s["read_bytes"]
        line += (f"; geometric mean mapdb/DuckDB {g:.2f} over the {s['compared']} both "
                 f"complete; bytes read there {rb['mapdb'] / 2**20:.0f} MiB vs "
                 f"{rb['duckdb'] / 2**20:.0f} MiB")
    for e in ENGINES:
        if f[e]:
            line += f"; {e} failed: " + ", ".join(f"{q} {k}" for q, k in f[e].items())
    if s["mismatches"]:
        line += f"; WRONG ANSWERS: {','.join(s['mismatches'])}"
    return line


def write_report(args: argparse.Namespace, rows: list[dict], disk: dict, info: dict,
                 final: bool) -> None:
    from benchmarks.tpch22 import render
    summ = summarize(rows, [c for c in args.caps if any(r["cap"] == c for r in rows)])
    cold = all(r["cold"] for r in rows)
    title = (f"TPC-H SF{args.scale:g}, {len(args.queries)} queries, each in a fresh process "
             f"under memlimit ({', '.join(args.caps)}), "
             f"{'cold (page cache dropped before each)' if cold else 'NOT cold'}; "
             f"{info['cpu_count']} CPUs, {info['cpu']}, Linux {info['kernel']}; "
             f"mapdb {info['mapdb_rev']}, DuckDB {info['duckdb']}")
    disk_line = (f"Bytes on disk: mapdb {disk['mapdb'] / 2**20:.0f} MiB (database directory), "
                 f"DuckDB {disk['duckdb'] / 2**20:.0f} MiB (database file): "
                 f"{disk['mapdb'] / disk['duckdb']:.2f}x.")
    notes = (f"Both engines: memory_limit {args.share:.0%} of the cap, {THREADS} threads. "
             "Time: open + query + Arrow result, in the child, after a warm-up query over VALUES "
             "(the libraries' cold load not counted). Peak: the cgroup's "
             "(anonymous memory and page cache, libraries included), as memlimit prints it. "
             "Read: /proc/self/io read_bytes of the child from then on. 'memory limit': "
             "mapdb's MemoryLimitError (a refusal naming the operator); 'OOM-killed': the "
             "kernel killed the process at the cap. Check: mapdb's answer against DuckDB's. "
             f"Timeout {args.timeout:g} s per query.")
    md = [f"{title}.", "", disk_line, ""]
    for cap, s in summ.items():
        header, lines = table(rows, cap)
        md += [f"Cap {cap}:", "", *render(header, lines, markdown=True), "",
               f"- {summary_line(cap, s)}", ""]
    md += [notes, ""]
    errs = [f"- {r['cap']} {r['query']} {r['engine']}: {r['error']}" for r in rows
            if r["error"]]
    if errs:
        md += ["Errors:", "", *errs, ""]
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"capped-sf{args.scale:g}{args.name}"  # not with_suffix: SF 0.01
    Path(f"{stem}.json").write_text(json.dumps(
        {"scale": args.scale, "caps": args.caps, "share": args.share, "threads": THREADS,
         "timeout_s": args.timeout, "machine": info, "disk_bytes": disk, "summary": summ,
         "results": [{k: v for k, v in r.items() if k != "answer"} for r in rows]},
        indent=2) + "\n")
    Path(f"{stem}.md").write_text("\n".join(md))
    if final:
        print("\n".join(md))
        print(f"wrote {stem}.json and {stem}.md")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1)
    ap.add_argument("--caps", type=lambda s: s.split(","),
                    help="memlimit sizes (default: 600M,300M; 3G,1G from SF10)")
    ap.add_argument("--queries", type=lambda s: tpch22.workers._query_names(s, tpch22.QUERIES),
                    default=tpch22.QUERIES)
    ap.add_argument("--share", type=float, default=0.8,
                    help="the engines' memory_limit as a share of the cap (default 0.8)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per query")
    ap.add_argument("--name", default="",
                    help="appended to the results' names (capped-sf1-tight.md: --name=-tight)")
    ap.add_argument("--no-drop-caches", dest="cold", action="store_false",
                    help="leave the page cache alone (tests: others share the machine)")
    for hidden in ("--child", "--db", "--query", "--memory-limit", "--out", "--answer",
                   "--tmp"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    args.caps = args.caps or default_caps(args.scale)
    for c in args.caps:
        size_bytes(c)
    if why := can_cap():
        sys.exit(f"capped: cannot run: {why}")
    memlimit = find_memlimit()
    engines = {"mapdb": tpch22.Mapdb(args.scale), "duckdb": tpch22.DuckDB(args.scale)}
    for e in engines.values():
        e.prepare()
    dbs = {name: e.target() for name, e in engines.items()}
    disk = {name: du(p) for name, p in dbs.items()}
    info = machine()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="capped-", dir=DATA) as tmp:
        work = Path(tmp)
        for cap in args.caps:
            for q in args.queries:
                got = {}
                for e in ("duckdb", "mapdb"):  # DuckDB's answer is the reference
                    rec = run_one(memlimit, cap, e, dbs[e], q, args.share, args.timeout,
                                  work, args.cold)
                    got[e] = rec
                    print(f"{cap} {q} {e}: {_cell(rec)}  peak {_mib(rec['peak_bytes'])}  "
                          f"read {_mib(rec['read_bytes'])}", flush=True)
                m, d = got["mapdb"], got["duckdb"]
                m["check"], d["check"] = None, "-"  # DuckDB's is the reference
                if m["answer"] and d["answer"]:
                    from benchmarks.common import read_answer
                    m["check"] = check(read_answer(Path(m["answer"])),
                                       read_answer(Path(d["answer"])))
                rows += [m, d]
            write_report(args, rows, disk, info, final=False)
    write_report(args, rows, disk, info, final=True)


if __name__ == "__main__":
    main()
