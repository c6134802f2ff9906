"""The reliability soak (RELIABILITY.md 1, 4, 9, 16-17 at volume, issue 15): thousands of
kill -9s of a child appending acknowledged batches, full byte-flip sweeps over headers,
manifests and index files, thousands of hostile CSV/NDJSON/Parquet/Arrow/SQL inputs, a
failure injected at every call of every file operation of several jobs, and thousands of
damaged files under queries (reliability/damage.py), and hundreds of drop/re-create
rounds under a paused waiting writer (reliability/droprace.py). Prints its counts at the
end; exits 1 if an acknowledged batch was lost, a flip crashed or went undetected, a
hostile input crashed or hung or raised a non-mapdb exception, a fault broke a promise, a
damaged file killed or hung a reader, gave a non-mapdb exception, an invalid Arrow array, a wrong
answer from metadata, or escaped verify, or a waiting writer wrote into (or silently
missed) a table dropped and created again.

    python -m tests.reliability.soak [--kills 2000] [--flips all|quick|none]
                                     [--hostile 5000] [--droprace 300] [--damage 2000]
                                     [--seconds N] [--dir DIR] [--keep]

``--seconds N`` stops each phase at N seconds from the start (the counts are then upper
bounds; what was done is printed). Crashing inputs are kept in the work directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

from fsutil import MEMORY_FS, fs_type  # noqa: E402
from storage import _support as sup  # noqa: E402

from mapdb.storage.database import DatabaseStore  # noqa: E402


class Soak:
    def __init__(self, args, work: str):
        self.args = args
        self.work = work
        self.t0 = time.monotonic()
        self.deadline = self.t0 + args.seconds if args.seconds else None
        self.failures: list[str] = []
        self.report: dict = {}

    def time_left(self) -> bool:
        return self.deadline is None or time.monotonic() < self.deadline

    def fail(self, why: str) -> None:
        self.failures.append(why)
        print(f"  FAILURE: {why}", flush=True)

    # -- 1. kill -9 during acknowledged appends -------------------------------------------
    def kills(self) -> None:
        n = self.args.kills
        if not n:
            return
        print(f"[kills] {n} kill -9s of a child appending acknowledged batches", flush=True)
        db_path = os.path.join(self.work, "killdb")
        sup.new_crash_table(db_path)
        ack_path = os.path.join(self.work, "acks")
        rng = random.Random(self.args.seed)
        c = Counter()
        last_k = 0
        lost: set[int] = set()
        for i in range(n):
            if not self.time_left():
                break
            p = sup.start(sup.append_forever, db_path, ack_path, 6, 1_000_000)
            time.sleep(rng.uniform(0.0, self.args.max_delay))
            os.kill(p.pid, signal.SIGKILL)
            code = sup.join(p)
            c["kills"] += 1
            if code != -signal.SIGKILL:
                self.fail(f"kill {i}: the child exited with {code} before the kill")
                continue
            c["kills mid-commit (leftovers ignored)"] += bool(sup.leftovers(
                os.path.join(db_path, "t_t")))
            acks = _read_acks(ack_path)
            try:
                K, problems = _check_kill_table(db_path, verify=(i % 10 == 9 or i == n - 1))
            except Exception as e:
                self.fail(f"kill {i}: the table does not read back: {type(e).__name__}: {e}")
                break
            if problems:
                self.fail(f"kill {i}: verify: {problems[:3]}")
            missing = {k for k in acks if k > K}
            if missing - lost:
                self.fail(f"kill {i}: acknowledged batches {sorted(missing - lost)[:10]} lost")
                lost |= missing
            if last_k > K:
                self.fail(f"kill {i}: the table went back from batch {last_k} to {K}")
            c["kills survived"] += not problems and not missing and last_k <= K
            last_k = max(last_k, K)
            if (i + 1) % 100 == 0:
                print(f"  {i + 1} kills, {len(acks)} batches acknowledged, table at batch {K}",
                      flush=True)
        acks = _read_acks(ack_path)
        db = DatabaseStore(db_path)
        db.writer("t").close()  # reclaims what the killed writers left
        left = sup.leftovers(db.table_dir("t")) + sup.db_leftovers(db_path)
        if left:
            self.fail(f"a writer open did not reclaim {left[:5]}")
        K, problems = _check_kill_table(db_path, verify=True)
        c["batches acknowledged"] = len(acks)
        c["batches committed (incl. unacknowledged)"] = K
        c["acknowledged batches lost"] = len(lost | {k for k in acks if k > K})
        c["rows in the table"] = int(sup.crash_rows(range(K + 1)).sum())
        if problems:
            self.fail(f"final verify: {problems[:3]}")
        self.report["kills"] = dict(c)

    # -- 2. byte flips ----------------------------------------------------------------------
    def flips(self) -> None:
        mode = self.args.flips
        if mode == "none":
            return
        from reliability import flips, workers
        print(f"[flips] {mode} single-byte flip sweeps", flush=True)
        db_path = os.path.join(self.work, "flipdb")
        db = flips.flip_table(db_path)
        masks = flips.MASKS_ALL if mode == "all" else flips.MASKS_QUICK
        plan = []  # (file kind, region, step)
        for key in flips.files(db):
            if key == "manifest":
                plan.append((key, "all", 1))
            elif key.startswith("index "):
                plan += [(key, "header", 1 if mode == "all" else 31),
                         (key, "preamble and directory start", 1),
                         (key, "entries", 7 if mode == "all" else 61)]
            else:
                plan.append((key, "header", 1 if mode == "all" else 31))
        out: dict = {}
        for key, region, step in plan:
            if not self.time_left():
                break
            result = os.path.join(self.work, "flip-result.json")
            progress = os.path.join(self.work, "flip-progress")
            if os.path.exists(result):
                os.unlink(result)
            p = sup.start(workers.flip_sweep, db_path, key, region, list(masks), step, result,
                          progress)
            code = sup.join(p, timeout=24 * 3600)
            name = f"{key} {region}" + (f" (1 byte in {step})" if step > 1 else "")
            if code != 0:
                with open(progress) as f:
                    where = f.read().strip()
                self.fail(f"flips in {name}: the process died ({code}) at {where}")
                out[name] = {"CRASHED": 1}
                flips.flip_table(db_path + "-fresh")  # (the damaged table is abandoned)
                db_path = db_path + "-fresh"
                continue
            with open(result) as f:
                r = json.load(f)
            out[name] = r["counts"]
            for b in r["bad"]:
                self.fail(f"flip in {name}: {b}")
            print(f"  {name}: {r['flips']} flips: {r['counts']}", flush=True)
        self.report["flips"] = out

    # -- 3. hostile inputs ----------------------------------------------------------------
    def hostile(self) -> None:
        n = self.args.hostile
        if not n:
            return
        from reliability import workers
        print(f"[hostile] {n} hostile inputs", flush=True)
        shares = {"csv": 0.25, "ndjson": 0.25, "binary": 0.15, "sql": 0.30, "valid sql": 0.05}
        out: dict = {}
        for kind, share in shares.items():
            todo = max(1, int(n * share))
            results = os.path.join(self.work, f"hostile-{kind.replace(' ', '-')}.jsonl")
            crashes = 0
            while todo > 0 and self.time_left():
                batch = min(todo, 250)
                done_before = _lines(results)
                work = tempfile.mkdtemp(prefix="batch-", dir=self.work)
                current = os.path.join(self.work, "current-input")
                p = sup.start(workers.hostile_batch, kind, batch, work, results, current,
                              not self.args.small_sql)
                p.join(batch * 120)  # inputs time out after 120 s each inside the child
                if p.exitcode is None:
                    p.kill()
                    p.join()
                code = p.exitcode
                done = _lines(results) - done_before
                if code != 0:
                    crashes += 1
                    keep = os.path.join(self.work, f"crash-{kind.replace(' ', '-')}-{crashes}")
                    if os.path.exists(current):
                        shutil.copyfile(current, keep)
                    self.fail(f"hostile {kind}: the process died ({code}) on the input kept in "
                              f"{keep}")
                    with open(results, "a") as f:
                        f.write(json.dumps({"kind": kind, "outcome": "CRASH"}) + "\n")
                    done += 1
                shutil.rmtree(work, ignore_errors=True)
                todo -= max(done, 1)
            counts: Counter = Counter()
            if os.path.exists(results):
                with open(results) as f:
                    for line in f:
                        r = json.loads(line)
                        counts[r["outcome"]] += 1
                        if r["outcome"].startswith("BUG") or (
                                kind == "valid sql" and "DIFFERS" in r["outcome"]):
                            self.fail(f"hostile {kind}: {r['outcome']}: {r.get('detail')}")
                        elif "DIFFERS" in r["outcome"] and counts[r["outcome"]] <= 3:
                            print(f"  (differs from DuckDB: {r.get('detail')})", flush=True)
            out[kind] = dict(counts)
            print(f"  {kind}: {sum(counts.values())} inputs: {dict(counts)}", flush=True)
        self.report["hostile"] = out

    # -- 4. a fault at every call of every file operation -----------------------------------
    def faults(self) -> None:
        if self.args.no_faults:
            return
        import mapdb
        from reliability import faults
        print("[faults] the N-th call of each file operation fails, N = 1, 2, ... until the "
              "job succeeds", flush=True)
        sources = faults.csv_sources(self.work, count=3, rows=2000)
        sites: Counter = Counter()
        jobs: Counter = Counter()
        for op in faults.fault_ops():
            for job in ("append", "create", "compact", "create_index", "replace"):
                if not self.time_left():
                    break
                path = os.path.join(self.work, f"faultdb-{op}-{job}")
                db = mapdb.connect(path, pin_budget=0)
                db.ingest("t", sources[:1], dictionary=["s"])
                db.table("t").create_index("k", unique=True)
                db.ingest("t", sources[1:2])  # two segments: compaction has work to do
                table, attempt = "t", {
                    "append": lambda db=db: db.ingest("t", sources[2:], job_id="j"),
                    "create": lambda db=db: db.ingest("n", sources, mode="create"),
                    "compact": lambda db=db: db.table("t").compact(),
                    "create_index": lambda db=db: db.table("t").create_index("s"),
                    "replace": lambda db=db: db.ingest("t", sources[2:], mode="replace"),
                }[job]
                if job == "create":
                    table = "n"
                try:
                    n = faults.run_loop(db, op, attempt, table, sites)
                    jobs[f"{job}: faults injected"] += n
                    jobs[f"{job}: jobs run"] += n + 1
                except AssertionError as e:
                    self.fail(f"fault in {op} during {job}: {e}")
                except Exception as e:
                    self.fail(f"fault in {op} during {job}: {type(e).__name__}: {e}")
                db.close()
                shutil.rmtree(path, ignore_errors=True)
        self.report["faults"] = {"by site": {f"{o} at {s}": v for (o, s), v in
                                             sorted(sites.items())}, "by job": dict(jobs)}

    # -- 5. damaged files under queries (issue 15) -----------------------------------------
    def damage(self) -> None:
        n = self.args.damage
        if not n:
            return
        from reliability import damage
        print(f"[damage] {n} trials: one damaged file each, every column queried in a child",
              flush=True)
        done = Counter()

        def progress(r):
            done["n"] += 1
            if done["n"] % 250 == 0:
                print(f"  {done['n']} trials", flush=True)

        rep = damage.run(n, self.args.seed, os.path.join(self.work, "damage"),
                         jobs=os.cpu_count() or 2, progress=progress, deadline=self.deadline,
                         keep=True)
        for r in rep.failures:
            self.fail(f"damage {r['seed']}:{r['index']} {r['kind']}, {damage.describe(r)}: "
                      f"{r['outcome']} ({', '.join(r['failures'])}) {r['crash']}".rstrip())
        for b in rep.broken:
            self.fail(f"damage: {b}")
        for e in rep.exit_problems:
            self.fail(f"damage: {e}")
        self.report["damage"] = {
            "lines": rep.lines(max_failures=60),
            "counts": {" | ".join(k): v for k, v in sorted(Counter(
                (r["kind"], r["damage"], r["outcome"]) for r in rep.records).items())},
            "failures": rep.failures}

    def droprace(self) -> None:
        n = self.args.droprace
        if not n:
            return
        from reliability import droprace
        print(f"[droprace] {n} rounds: a waiting writer paused across drop and re-create",
              flush=True)
        work = os.path.join(self.work, "droprace")
        os.makedirs(work, exist_ok=True)
        res = droprace.run(work, n, self.args.seed)
        for i, problems in res["failures"]:
            self.fail(f"droprace round {i}: {'; '.join(problems)}")
        self.report["droprace"] = res["counts"]

    # -- the report -------------------------------------------------------------------------
    def print_report(self) -> None:
        took = time.monotonic() - self.t0
        r = self.report
        print("\n" + "=" * 78)
        print(f"mapdb soak: --kills {self.args.kills} --flips {self.args.flips} --hostile "
              f"{self.args.hostile} --damage {self.args.damage}"
              f"{f' --seconds {self.args.seconds}' if self.args.seconds else ''}"
              f"; wall time {took:.0f} s ({took / 60:.1f} min)")
        if "kills" in r:
            print("\nkill -9 during acknowledged appends (each batch its own commit):")
            for k, v in r["kills"].items():
                print(f"  {k:<45} {v:>10,}")
        if "flips" in r:
            print("\nsingle-byte flips (each restored before the next):")
            total, detected, harmless, bugs = 0, Counter(), Counter(), 0
            for name, counts in r["flips"].items():
                for outcome, v in counts.items():
                    total += v
                    if outcome.startswith("harmless"):
                        harmless[outcome] += v
                    elif outcome.startswith(("BUG", "CRASHED")):
                        bugs += v
                    else:
                        detected[outcome] += v
                print(f"  {name:<52} {sum(counts.values()):>8,}  "
                      + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
            print(f"  single-byte flips in all: {total:,}")
            for k, v in sorted(detected.items()):
                print(f"    {'detected: ' + k:<50} {v:>8,}")
            for k, v in sorted(harmless.items()):
                print(f"    {k:<50} {v:>8,}")
            print(f"    {'crashed or went undetected':<50} {bugs:>8,}")
        if "hostile" in r:
            print("\nhostile inputs (outcome: count):")
            for kind, counts in r["hostile"].items():
                print(f"  {kind:<10} {sum(counts.values()):>6,} tried")
                for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
                    print(f"      {k:<60} {v:>6,}")
        if "faults" in r:
            print("\nfaults injected per file-operation site (each a failed job, checked):")
            for k, v in r["faults"]["by site"].items():
                print(f"  {k:<55} {v:>6,}")
            print(f"  {'in all':<55} {sum(r['faults']['by site'].values()):>6,}")
            for k, v in sorted(r["faults"]["by job"].items()):
                print(f"    {k:<53} {v:>6,}")
        if "droprace" in r:
            print("\na writer waiting for the lock, paused (SIGSTOP) while its table is dropped "
                  "and created again:")
            for k, v in r["droprace"].items():
                print(f"  {k:<55} {v:>6,}")
        if "damage" in r:
            print("\ndamaged files (one flip, zeroed page or truncation per trial; outcome of the "
                  "queries on every column, and verify):")
            for line in r["damage"]["lines"]:
                print(line)
        print()
        if self.failures:
            print(f"RESULT: FAILED ({len(self.failures)} failures)")
            for f in self.failures[:30]:
                print(f"  - {f}")
        else:
            print("RESULT: ok (no acknowledged batch lost, every flip detected or harmless, "
                  "no crash, every failure a clean mapdb error, every damage found by verify)")
        with open(os.path.join(self.work, "soak-report.json"), "w") as f:
            json.dump({"report": r, "failures": self.failures, "seconds": took}, f, indent=1)
        print(f"(counts in {os.path.join(self.work, 'soak-report.json')})")


def _read_acks(path) -> dict[int, int]:
    acks = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "ack":
                    acks[int(parts[1])] = int(parts[2])
    return acks


def _check_kill_table(db_path, verify: bool) -> tuple[int, list[str]]:
    """(last batch in the table, verify problems). Raises if the table is not batches
    0..K complete and in order (sup.check_crash_table)."""
    db = DatabaseStore(db_path, readonly=True)
    snap = db.snapshot("t")
    try:
        K = sup.check_crash_table(snap.to_arrow())
        if snap.manifest.rows != int(sup.crash_rows(range(K + 1)).sum()):
            return K, [f"manifest says {snap.manifest.rows} rows"]
        return K, snap.verify() if verify else []
    finally:
        snap.close()


def _lines(path) -> int:
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for _ in f)


def _work_dir(base: str | None) -> str:
    for d in ([base] if base else []) + ["/var/tmp", os.path.join(TESTS_DIR, "..", "build"),
                                        tempfile.gettempdir()]:
        try:
            os.makedirs(d, exist_ok=True)
            if base or fs_type(d) not in MEMORY_FS:
                return tempfile.mkdtemp(prefix="mapdb-soak-", dir=d)
        except OSError:
            continue
    return tempfile.mkdtemp(prefix="mapdb-soak-")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.reliability.soak",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=2000, help="kill -9s (default 2000)")
    ap.add_argument("--flips", choices=["all", "quick", "none"], default="all",
                    help="all: every bit of every header byte (default); quick: two bits of "
                         "sampled bytes")
    ap.add_argument("--hostile", type=int, default=5000, help="hostile inputs (default 5000)")
    ap.add_argument("--damage", type=int, default=2000,
                    help="damaged-file trials (default 2000; reliability/damage.py)")
    ap.add_argument("--droprace", type=int, default=300,
                    help="drop/re-create rounds under a waiting writer (default 300; "
                         "reliability/droprace.py)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="stop every phase this many seconds after the start")
    ap.add_argument("--max-delay", type=float, default=0.3,
                    help="seconds a child runs before its kill, at most (uniform)")
    ap.add_argument("--small-sql", action="store_true",
                    help="IN lists up to 20,000 items (default: up to 200,000, slow to parse)")
    ap.add_argument("--no-faults", action="store_true", help="skip the fault injection")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--dir", help="work directory base (default /var/tmp, a disk)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    work = _work_dir(args.dir)
    print(f"work directory: {work}", flush=True)
    soak = Soak(args, work)
    try:
        for phase in (soak.kills, soak.flips, soak.hostile, soak.faults, soak.droprace,
                      soak.damage):
            try:
                phase()
            except Exception:
                soak.fail(f"{phase.__name__} phase broke: {traceback.format_exc()}")
        soak.print_report()
    finally:
        if not args.keep and not soak.failures:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if soak.failures else 0


if __name__ == "__main__":
    sys.exit(main())
