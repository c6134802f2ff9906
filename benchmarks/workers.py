"""Each engine of a benchmark in a worker process, watched by the runner (tpch22, tpcds).

Before each execution a worker writes a beat file naming it; the runner kills a worker
whose beat stays on one execution longer than --timeout, records that query as failed and
starts a new worker, which skips the queries already in the engine's report (a JSON file
the worker rewrites after each query). So a hang or a crash costs its query, not the run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from benchmarks.common import DATA, HERE, error_text, read_answer, save_answer

IDLE = ("start", "load", "done")  # beats outside any execution: no timeout applies
POLL_S = 0.1  # how often the runner reads a beat: the timeout's resolution


def add_options(ap: argparse.ArgumentParser, queries: list[str], scale: float,
                timeout: float) -> None:
    """The options run_engine reads and passes on to the workers: --scale, --runs,
    --queries (of ``queries``, q01..qNN), --timeout, and the workers' hidden ones."""
    ap.add_argument("--scale", type=float, default=scale)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=lambda s: _query_names(s, queries), default=queries)
    ap.add_argument("--timeout", type=float, default=timeout,
                    help=f"seconds one execution of a query may take (default {timeout:g})")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)


def _query_names(s: str, known: list[str]) -> list[str]:  # "q1,3,q06" -> [q01, q03, q06]
    names = [f"q{int(q.lower().removeprefix('q')):02d}"
             if q.lower().removeprefix("q").isdecimal() else q for q in s.split(",")]
    if unknown := [q for q in names if q not in known]:
        raise argparse.ArgumentTypeError(f"unknown {','.join(unknown)}; "
                                         f"known: {known[0]}..{known[-1]}")
    return names


def _write(path: Path, text: str) -> None:  # whole or not at all: the worker may be killed
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_json(path: Path, obj: dict) -> None:
    _write(path, json.dumps(obj))


def _read_report(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"queries": {}}


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


class Worker:
    """One engine's worker (``python -m MODULE --worker NAME --out DIR``). A benchmark
    subclasses it with its ``engines`` ({name: class taking the scale}) and ``query_dir``,
    and says in ``judge``, ``failed`` and ``line`` what it records of each query."""

    engines: dict[str, type]
    query_dir: Path

    def __init__(self, args: argparse.Namespace):
        self.name, self.args, self.out = args.worker, args, args.out
        self.report_path = self.out / f"{self.name}.json"
        self.beat_path = self.out / f"{self.name}.beat"

    def beat(self, what: str) -> None:
        """Says what the worker runs now (the runner times each beat but IDLE)."""
        _write(self.beat_path, what)

    def reference(self, q: str) -> pa.Table | None:
        """DuckDB's answer to ``q`` (its worker runs first), None when it has none."""
        return read_answer(self.out / f"duckdb-{q}.arrow")

    def judge(self, q: str, sql: str, answer: pa.Table, rec: dict) -> None:
        """Records in ``rec`` what the untimed run's answer is worth; may run more on
        ``self.eng`` (say the query changed) after a beat saying what, so it is timed too."""
        raise NotImplementedError

    def failed(self, rec: dict, e: Exception) -> None:
        """Records in ``rec`` that the query raised ``e``."""
        rec["error"] = error_text(e)

    def line(self, rec: dict) -> str:
        """The progress line's text on a query, after "[NAME] Q: "."""
        raise NotImplementedError

    def run(self) -> None:
        """Runs the queries out/NAME.json has no record of yet: per query one untimed run
        (its answer saved as out/NAME-QUERY.arrow and judged), then --runs timed ones;
        out/NAME.json is rewritten after each query."""
        _die_with_parent()
        report = _read_report(self.report_path)
        self.beat("load")
        try:
            self.eng = eng = self.engines[self.name](self.args.scale)
            report.setdefault("load_s", eng.prepare())
            eng.open()
            report["threads"] = eng.threads()
        except Exception as e:
            report["error"] = error_text(e)
            _write_json(self.report_path, report)
            print(f"[{self.name}] cannot start: {report['error']}", flush=True)
            return
        for q in self.args.queries:
            if q in report["queries"]:
                continue
            sql = (self.query_dir / f"{q}.sql").read_text()
            rec: dict = {"warm": []}
            report["queries"][q] = rec
            try:
                self.beat(f"{q} untimed")
                answer = eng.query(sql)
                save_answer(self.out / f"{self.name}-{q}.arrow", answer)
                self.judge(q, sql, answer, rec)
                for i in range(self.args.runs):
                    self.beat(f"{q} run {i + 1}")
                    t0 = time.perf_counter()
                    eng.query(sql)
                    rec["warm"].append(time.perf_counter() - t0)
            except Exception as e:
                self.failed(rec, e)
                try:  # the next query starts from a fresh connection
                    eng.close()
                    eng.open()
                except Exception:
                    pass
            _write_json(self.report_path, report)
            print(f"[{self.name}] {q}: {self.line(rec)}", flush=True)
        self.beat("done")


def run_engine(module: str, name: str, args: argparse.Namespace, out: Path,
               key: str) -> dict:
    """Runs ``name``'s worker (``python -m module``) to the end of the queries: a worker
    that runs one execution past the timeout is killed, one that dies is not retried on
    the same query; in both cases the query is recorded as failed ({"warm": [], key: why})
    and a new worker continues after it. Returns the engine's report."""
    report_path, beat = out / f"{name}.json", out / f"{name}.beat"
    cmd = [sys.executable, "-m", module, "--worker", name, "--out", str(out),
           "--scale", f"{args.scale:g}", "--runs", str(args.runs),
           "--queries", ",".join(args.queries)]
    while True:
        _write(beat, "start")
        proc = subprocess.Popen(cmd, cwd=HERE.parent, start_new_session=True)
        seen, since, timed_out = "start", time.monotonic(), False
        try:
            while proc.poll() is None:
                time.sleep(POLL_S)
                now = beat.read_text()
                if now != seen:
                    seen, since = now, time.monotonic()
                elif seen not in IDLE and time.monotonic() - since > args.timeout:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    timed_out = True
        finally:
            if proc.poll() is None:  # interrupted: take the worker (and its children) along
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        report = _read_report(report_path)
        if proc.returncode == 0 or seen in IDLE:
            if proc.returncode != 0:
                report.setdefault("error", f"worker exited with code {proc.returncode} "
                                           f"before its first query")
            return report
        q = seen.split()[0]
        if q not in report["queries"]:  # else it died after recording q: just carry on
            why = (f"timeout: one execution took over {args.timeout:g} s" if timed_out else
                   f"crash: the worker died (exit code {proc.returncode})")
            print(f"[{name}] {q}: {why}; carrying on with a new worker", flush=True)
            report["queries"][q] = {"warm": [], key: why}
            _write_json(report_path, report)


def run_engines(module: str, engines: list[str], args: argparse.Namespace,
                key: str) -> Iterator[tuple[str, dict]]:
    """(engine, its report) for each of ``engines`` in turn, by run_engine; the workers'
    files go in a scratch directory under benchmarks/data/, removed at the end."""
    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        for e in engines:
            print(f"== {e}", flush=True)
            yield e, run_engine(module, e, args, Path(tmp), key)
