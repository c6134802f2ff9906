"""Random differential testing of mapdb's SQL against DuckDB (issue 16, "make the class
impossible", item 2).

Every statement diffgen.py generates runs in DuckDB and in mapdb (general and fused
paths) over the same tables (diffdata.py). Each case ends as one of

  EQUAL           mapdb's answer (both paths) equals DuckDB's
  REFUSED         mapdb raised a MapdbError (allowed: grouped by the message's first words)
  DUCKDB_REFUSES  DuckDB raised; mapdb refused too, or answered (then the case is skipped)
  DIFFERENT       mapdb answered something else (a failure)
  RAW_EXCEPTION   mapdb raised something that is not a MapdbError, or warned (a failure)
  CRASH           the process died or hung running it (a failure; CLI runs only)

Answers are compared as multisets of rows unless the statement's ORDER BY fixes the order
of its output columns: then the sequence of order keys must equal DuckDB's, and the rows
as a multiset, except the tie groups a LIMIT/OFFSET may cut. Types are compared by family
(any integer or decimal = exact, float, string, date, timestamp, timestamp with time zone,
bool, interval); floats with a relative tolerance (sums run in other orders), NaN equal to
NaN, -0.0 equal to 0.0 (DuckDB's ``=``; a visible sign, e.g. in a string, still differs).

Command line (prints the counts, refusal reasons and every failure with its replay seed):

  python -m tests.query.differential --cases 5000 --seed 1 [--jobs 4] [--minimize]
  python -m tests.query.differential --replay 1000042 [--minimize]  # one case, both answers
  python -m tests.query.differential --sql "SELECT ..." [--variant nan]  # any statement

Each case runs in a child process (a crash or a hang is a CRASH outcome and the run goes
on); failures are classified by diffknown.py (known causes, with "NEW" for causes not in
issue 16's list), and ``--minimize`` shrinks the unexplained ones (diffreduce.py).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from . import diffdata, diffgen
from .diffgen import Case
from .diffreduce import case_for_sql, minimize

FAILURES = ("DIFFERENT", "RAW_EXCEPTION", "CRASH")
STATUSES = ("EQUAL", "REFUSED", "DUCKDB_REFUSES", "DIFFERENT", "RAW_EXCEPTION", "CRASH")
REL_TOL = 1e-9
ABS_TOL = 1e-9  # a sum that cancels out: 1.1e-13 in one order, 0.0 in another
TINY = 1e-290  # below this nothing is a rounding error of the data's sums (1e-300 is data)
MAX_GREEDY = 2000  # rows left unmatched by key: beyond this they are not matched pairwise


# -- engines ------------------------------------------------------------------------------

class Engines:
    """A mapdb database and a DuckDB connection holding the same tables."""

    def __init__(self, root: Path, seed: int = diffdata.DATA_SEED, variant: str | None = None):
        import duckdb

        import mapdb
        self.root = Path(root)
        self.seed = seed
        # durability "none": the tables are rebuilt by every run, and fsyncs cost seconds
        self.db = mapdb.connect(self.root / f"db-{variant or 'main'}", durability="none")
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.tables = diffdata.load(self.db, self.con, seed, variant)
        self._variants: dict[str, Engines] = {}

    def variant(self, name: str) -> Engines:
        """The same engines over a variant of the data (diffdata.VARIANTS), made once."""
        if name not in self._variants:
            self._variants[name] = Engines(self.root, self.seed, name)
        return self._variants[name]

    def close(self) -> None:
        for v in self._variants.values():
            v.close()
        self.db.close()
        self.con.close()


@dataclass
class Outcome:
    seed: int
    sql: str
    status: str
    reason: str = ""  # what groups it: a refusal's first words, DuckDB's error, the difference
    detail: str = ""  # both answers, or the exception
    shape: str = ""
    tags: list[str] = field(default_factory=list)
    known: str | None = None  # the known issue it is (tests/query/test_differential.py)

    @property
    def failed(self) -> bool:
        return self.status in FAILURES

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        return cls(**json.loads(text))


# -- answers as comparable columns -------------------------------------------------------

@dataclass
class Answer:
    families: list[str]
    types: list[str]
    rows: list[tuple]

    @classmethod
    def of(cls, table: pa.Table) -> Answer:
        fams, types, cols = [], [], []
        for col in table.columns:
            arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
            if pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            fam, vals = _column(arr)
            fams.append(fam)
            types.append(str(arr.type))
            cols.append(vals)
        rows = list(zip(*cols, strict=True)) if cols else []
        return cls(fams, types, rows)


def _column(arr: pa.Array) -> tuple[str, list]:
    t = arr.type
    if pa.types.is_null(t):
        return "null", [None] * len(arr)
    if pa.types.is_boolean(t):
        return "bool", arr.to_pylist()
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return "exact", arr.to_pylist()
    if pa.types.is_floating(t):  # float32 apart: DuckDB computes REAL in REAL
        fam = "float32" if t == pa.float32() else "float"
        return fam, [None if v is None else float(v) for v in arr.to_pylist()]
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string", arr.to_pylist()
    if pa.types.is_date32(t):
        return "date", arr.cast(pa.int32()).to_pylist()
    if pa.types.is_date64(t):
        return "date", [None if v is None else v // 86_400_000
                        for v in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_timestamp(t):
        scale = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 0.001}[t.unit]
        vals = [None if v is None else (v * scale if t.unit != "ns" else v / 1000)
                for v in arr.cast(pa.int64()).to_pylist()]
        return ("timestamptz" if t.tz else "timestamp"), vals
    if pa.types.is_time(t):
        return "time", arr.cast(pa.int64()).to_pylist()
    if pa.types.is_interval(t):
        return "interval", [None if v is None else tuple(v) for v in arr.to_pylist()]
    return f"other:{t}", arr.to_pylist()


def show(fam: str, v) -> str:
    if v is None:
        return "NULL"
    if fam == "date":
        try:
            return (datetime.date(1970, 1, 1) + datetime.timedelta(days=v)).isoformat()
        except OverflowError:
            return f"date({v})"
    if fam.startswith("timestamp"):
        try:
            s = (datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=v)).isoformat(
                sep=" ")
        except OverflowError:
            s = f"ts({v})"
        return s + ("+00" if fam == "timestamptz" else "")
    return repr(v)


def show_rows(ans: Answer, rows: list[tuple], limit: int = 6) -> str:
    out = ["(" + ", ".join(show(f, v) for f, v in zip(ans.families, r, strict=True)) + ")"
           for r in rows[:limit]]
    more = f" ... ({len(rows)} rows)" if len(rows) > limit else ""
    return "[" + ", ".join(out) + "]" + more


def same(fam: str, a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return False
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if a == b:
            return True  # inf, and -0.0 == 0.0
        if math.isinf(a) or math.isinf(b):
            return False
        if abs(a) < TINY and abs(b) < TINY:  # 0.0 and 5e-324 differ, not by rounding
            return math.isclose(a, b, rel_tol=REL_TOL)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def same_row(fams, a: tuple, b: tuple) -> bool:
    return all(same(f, x, y) for f, x, y in zip(fams, a, b, strict=True))


def _vkey(v):
    """A sort key of one value: NULLs last, NaN after numbers, floats rounded a little
    (so near-equal sums of two engines sort alike; ties are re-checked pairwise)."""
    if v is None:
        return (3, 0)
    if isinstance(v, float):
        if math.isnan(v):
            return (2, 0)
        return (0, 0.0 if v == 0 else float(f"{v:.7g}"))
    if isinstance(v, bool | int) or hasattr(v, "as_tuple"):
        return (0, v)  # exact: int and Decimal compare exactly with each other
    if isinstance(v, str | bytes):
        return (1, v)
    if isinstance(v, tuple):
        return (1, tuple(_vkey(x) for x in v))
    return (1, repr(v))


def _rkey(row: tuple) -> tuple:
    return tuple(_vkey(v) for v in row)


def _hkey(row: tuple) -> tuple:
    """A hashable key equal for rows ``same_row`` calls equal, except floats that differ
    in their last digits (those are matched pairwise afterwards)."""
    out = []
    for v in row:
        if isinstance(v, float):
            v = "nan" if math.isnan(v) else 0.0 if v == 0 else float(f"{v:.12g}")
        out.append(v)
    return tuple(out)


def multiset_diff(fams, got: list[tuple], want: list[tuple]) -> tuple[list, list] | None:
    """None when equal as multisets; else (rows only mapdb has, rows only DuckDB has)."""
    g, w = sorted(got, key=_rkey), sorted(want, key=_rkey)
    if len(g) == len(w) and all(same_row(fams, a, b) for a, b in zip(g, w, strict=True)):
        return None
    # exact matches by key, then the rest pairwise (floats within the tolerance)
    left = collections.Counter(_hkey(r) for r in w)
    first = {}
    for r in w:
        first.setdefault(_hkey(r), r)
    extra = []
    for r in g:
        k = _hkey(r)
        if left[k] > 0:
            left[k] -= 1
        else:
            extra.append(r)
    unmatched = [first[k] for k, n in left.items() for _ in range(n)]
    if len(extra) * len(unmatched) > MAX_GREEDY ** 2:
        return extra[:6], unmatched[:6]
    rest = []
    for r in extra:
        for j, x in enumerate(unmatched):
            if same_row(fams, r, x):
                del unmatched[j]
                break
        else:
            rest.append(r)
    if not rest and not unmatched:
        return None
    return rest, unmatched


def _noise(v):
    """A float key to 12 significant digits (sums in another order differ beyond)."""
    if isinstance(v, float) and math.isfinite(v):
        return float(f"{v:.12g}")
    return v


def _run_head(k: tuple) -> tuple | None:
    """The keys up to the first float key, to 12 digits (see _float_noise_runs)."""
    first = next((i for i, v in enumerate(k) if isinstance(v, float)), None)
    return None if first is None else tuple(_noise(v) for v in k[:first + 1])


def _float_noise_runs(gk: list[tuple], wk: list[tuple]) -> bool:
    """Both order-key sequences are one sorting once float keys lose their last digits:
    the runs of rows that share the keys up to the first float key (an AVG summed in
    another order: -0.08000000000000003 sorts before -0.08000000000000002 in mapdb, DuckDB
    has ...02 for both) come in the same order and hold the same keys, in any order within
    a run. The rows themselves are still compared as a multiset."""
    def runs(keys):
        out = []
        for k in keys:
            c = tuple(_noise(v) for v in k)
            first = next((i for i, v in enumerate(k) if isinstance(v, float)), None)
            if first is None:
                return None  # no float key: no rounding noise to forgive
            head = c[:first + 1]
            if out and out[-1][0] == head:
                out[-1][1].append(repr(c))
            else:
                out.append((head, [repr(c)]))
        return [(h, sorted(r)) for h, r in out]
    a, b = runs(gk), runs(wk)
    return a is not None and a == b


def compare(case: Case, got: Answer, want: Answer) -> tuple[str, str] | None:
    """None when mapdb's answer is DuckDB's; else (reason, detail)."""
    if len(got.families) != len(want.families):
        return "column count", f"{len(got.families)} columns, DuckDB {len(want.families)}"
    fams = []
    for i, (a, b) in enumerate(zip(got.families, want.families, strict=True)):
        if a != b and "null" not in (a, b):
            all_null = all(r[i] is None for r in got.rows) and \
                all(r[i] is None for r in want.rows)
            if all_null and a == "exact" and b == "float":
                # DuckDB types date_part/extract of a NULL constant DOUBLE (of a value:
                # BIGINT); a column of NULLs of either type is the same answer
                fams.append(a)
                continue
            return (f"type {a} vs {b}" + (" (all NULL)" if all_null else ""),
                    f"column {i + 1}: mapdb {got.types[i]}, DuckDB {want.types[i]}; "
                    f"mapdb {show_rows(got, got.rows)}, DuckDB {show_rows(want, want.rows)}")
        fams.append(b if a == "null" else a)
    if case.count_only:
        if len(got.rows) != len(want.rows):
            return "row count", f"{len(got.rows)} rows, DuckDB {len(want.rows)}"
        return None
    g, w = got.rows, want.rows
    detail = lambda: f"mapdb {show_rows(got, g)}\nDuckDB {show_rows(want, w)}"  # noqa: E731
    if len(g) != len(w):
        return "row count", f"{len(g)} rows, DuckDB {len(w)}\n" + detail()
    skip = set()
    if case.ordered and case.order_idx is not None:
        kf = [fams[i] for i in case.order_idx]
        gk = [tuple(r[i] for i in case.order_idx) for r in g]
        wk = [tuple(r[i] for i in case.order_idx) for r in w]
        noisy = False
        for n, (a, b) in enumerate(zip(gk, wk, strict=True)):
            if not same_row(kf, a, b):
                if not _float_noise_runs(gk, wk):
                    return "order", (f"row {n}: order key {a!r}, DuckDB {b!r}\n" + detail())
                noisy = True
                break
        if case.limited and wk:
            for edge in (wk[0], wk[-1]):
                skip |= {n for n, k in enumerate(wk) if same_row(kf, k, edge)}
                if noisy:  # the runs at the edges: a LIMIT may cut them anywhere
                    head = _run_head(edge)
                    skip |= {n for n, k in enumerate(wk) if _run_head(k) == head}
                    skip |= {n for n, k in enumerate(gk) if _run_head(k) == head}
    gs = [r for n, r in enumerate(g) if n not in skip]
    ws = [r for n, r in enumerate(w) if n not in skip]
    d = multiset_diff(fams, gs, ws)
    if d is None:
        return None
    only_g, only_w = d
    return "values", (f"only in mapdb: {show_rows(got, only_g)}\n"
                      f"only in DuckDB: {show_rows(want, only_w)}\n" + detail())


# -- running a case -----------------------------------------------------------------------

def words(msg: str, n: int = 7) -> str:
    """The first words of an error message with positions, names and numbers blanked:
    what refusals are grouped by."""
    msg = str(msg).strip().split("\n")[0]
    msg = re.sub(r"\(line \d+, column \d+\)", "", msg)
    # "cannot evaluate <expression>: <why>": the why groups, not the expression
    m = re.match(r"(cannot evaluate) .*?: ((?:[A-Z]|overflow|division|integer)[^:]*.*)$", msg)
    if m:
        msg = f"{m.group(1)}: {m.group(2)}"
    m = re.match(r"([A-Z][A-Z_]*) \(.*\) is (not supported.*)$", msg)  # NODE (sql) is ...
    if m:
        msg = f"{m.group(1)} is {m.group(2)}"
    msg = re.sub(r"'[^']*'", "'.'", msg)
    msg = re.sub(r'"[^"]*"', '"."', msg)
    msg = re.sub(r"\([^()]*\)", "(.)", msg)
    msg = re.sub(r"\d+", "N", msg)
    return " ".join(msg.split()[:n])


def run_mapdb(db, sql: str, fused: bool):
    """('ok', Answer) | ('refused', message) | ('raw', 'Type: message', traceback) |
    ('invalid', what Arrow's full validation says of the answer)."""
    from mapdb.errors import MapdbError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            table = db.sql(sql, fused=fused).to_arrow()
    except MapdbError as e:
        return "refused", str(e), ""
    except Exception as e:  # any other exception is what we look for
        frames = traceback.extract_tb(e.__traceback__)[-5:]
        tb = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
        return "raw", f"{type(e).__module__}.{type(e).__name__}: {e}", tb
    try:  # e.g. a decimal128(4, 2) holding 154.00
        table.validate(full=True)
    except pa.ArrowInvalid as e:
        return "invalid", str(e), ""
    return "ok", Answer.of(table), ""


def run_duckdb(con, sql: str):
    import duckdb
    try:
        rel = con.sql(sql)
        if rel is None:
            return "error", "not a query"
        return "ok", Answer.of(rel.to_arrow_table())
    except duckdb.Error as e:
        return "error", f"{type(e).__name__}: {e}"


def run_sql(engines: Engines, case: Case) -> Outcome:
    out = Outcome(case.seed, case.sql, "EQUAL", shape=case.shape, tags=list(case.tags))
    dk, want = run_duckdb(engines.con, case.sql)
    results = [(fused, *run_mapdb(engines.db, case.sql, fused)) for fused in (False, True)]
    invalid = [r for r in results if r[1] == "invalid"]
    if invalid:  # whatever DuckDB says: an answer that is not valid Arrow is wrong
        out.status, out.reason = "DIFFERENT", "invalid Arrow answer"
        out.detail = f"fused={invalid[0][0]}: {invalid[0][2]}"
        if dk != "ok":
            out.detail += f"\n(DuckDB refuses: {str(want)[:300]})"
        return out
    raws = [r for r in results if r[1] == "raw"]
    if raws:
        fused, _, msg, tb = raws[0]
        out.status, out.reason = "RAW_EXCEPTION", words(msg, 6)
        out.detail = f"fused={fused}: {msg}\n{tb}"
        if dk != "ok":
            out.detail += f"\n(DuckDB refuses too: {str(want)[:300]})"
        return out
    if dk != "ok":
        out.status = "DUCKDB_REFUSES"
        answered = [r for r in results if r[1] == "ok"]
        out.reason = ("mapdb answered: " if answered else "both: ") + words(want, 8)
        out.detail = str(want)[:500]
        if answered:
            out.detail += f"\nmapdb: {show_rows(answered[0][2], answered[0][2].rows)}"
        return out
    for fused, kind, got, _ in results:
        if kind != "ok":
            continue
        if case.must_refuse:
            out.status, out.reason = "DIFFERENT", f"answered {case.must_refuse}"
            out.detail = (f"fused={fused}: DuckDB's answer is a random sample; mapdb must "
                          f"refuse, it answered {show_rows(got, got.rows)}")
            return out
        problem = compare(case, got, want)
        if problem:
            out.status, out.reason = "DIFFERENT", problem[0]
            out.detail = f"fused={fused}: {problem[1]}"
            return out
    refused = [r for r in results if r[1] == "refused"]
    if refused:
        out.status, out.reason = "REFUSED", words(refused[0][2])
        out.detail = refused[0][2]
        if len(refused) == 1:
            out.reason += f" (only fused={refused[0][0]})"
    return out


def run_case(engines: Engines, seed: int) -> Outcome:
    try:
        case = diffgen.generate(seed)
    except Exception as e:  # a bug in the generator, not in mapdb
        return Outcome(seed, "", "CRASH", "generator failed", f"{e!r}")
    try:
        return run_sql(engines, case)
    except Exception:  # a bug of this harness (comparing answers), not in mapdb
        return Outcome(seed, case.sql, "CRASH", "harness failed",
                       traceback.format_exc(limit=-4), case.shape, list(case.tags))


# -- the command line ---------------------------------------------------------------------

def _worker(run_seed: int, start: int, stop: int) -> None:
    """Runs cases start..stop-1, one JSON line per event on stdout."""
    crash_at = os.environ.get("MAPDB_DIFF_CRASH_AT")  # tests of the CLI: die on this case
    with tempfile.TemporaryDirectory(prefix="mapdb-diff-") as root:
        engines = Engines(Path(root))
        out = sys.stdout
        for i in range(start, stop):
            seed = diffgen.case_seed(run_seed, i)
            out.write(json.dumps({"start": i, "seed": seed}) + "\n")
            out.flush()
            if crash_at is not None and int(crash_at) == i:
                os.abort()
            o = run_case(engines, seed)
            out.write(json.dumps({"done": i, "outcome": asdict(o)}) + "\n")
            out.flush()
        engines.close()


def _run_chunk(run_seed: int, start: int, stop: int, timeout: float, sink) -> None:
    """Runs cases in child processes; a child that dies or hangs marks its case CRASH and
    a new child goes on with the next one."""
    i = start
    while i < stop:
        cmd = [sys.executable, "-m", "tests.query.differential", "--worker",
               "--seed", str(run_seed), "--start", str(i), "--stop", str(stop)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=Path(__file__).resolve().parents[2])
        buf, current, last = b"", None, time.monotonic()
        fd = proc.stdout.fileno()
        hung = False
        while True:
            limit = timeout if current is not None else max(timeout, 120)
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                if time.monotonic() - last > limit:
                    proc.kill()
                    hung = True
                    break
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            last = time.monotonic()
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if "start" in msg:
                    current = msg["start"]
                else:
                    sink(Outcome(**msg["outcome"]))
                    current = None
                    i = msg["done"] + 1
        proc.wait()
        err = proc.stderr.read().decode(errors="replace")[-2000:]
        if i >= stop:
            break
        seed = diffgen.case_seed(run_seed, i)
        case_sql = ""
        try:
            case_sql = diffgen.generate(seed).sql
        except Exception:
            pass
        why = "timeout" if hung else f"exit status {proc.returncode}"
        if current is None:  # died before starting a case (setup): give up on the chunk
            sink(Outcome(seed, case_sql, "CRASH", f"worker failed: {why}", err))
            break
        sink(Outcome(seed, case_sql, "CRASH", why, err))
        i = current + 1


def summarize(outcomes: list[Outcome], elapsed: float, run_seed: int,
              file=sys.stdout) -> None:
    """The counts, refusal reasons and every failure (with how to replay it)."""
    p = lambda *a: print(*a, file=file)  # noqa: E731
    counts = collections.Counter(o.status for o in outcomes)
    p(f"{len(outcomes)} cases (run seed {run_seed}) in {elapsed:.1f} s")
    for s in STATUSES:
        p(f"  {s:<15} {counts.get(s, 0)}")
    for s in ("REFUSED", "DUCKDB_REFUSES"):
        reasons = collections.Counter(o.reason for o in outcomes if o.status == s)
        if reasons:
            p(f"\n{s} by reason:")
            for r, n in reasons.most_common():
                p(f"  {n:6d}  {r}")
    shapes = collections.Counter(o.shape.split("/")[0] for o in outcomes)
    p("\nshapes: " + ", ".join(f"{k} {v}" for k, v in shapes.most_common()))
    fails = [o for o in outcomes if o.failed]
    if not fails:
        return
    p("\nfailures by known cause (diffknown.py; NEW: not in issue 16's list):")
    for k, n in collections.Counter(o.known or "UNEXPLAINED" for o in fails).most_common():
        p(f"  {n:6d}  {k}")
    p("\nfailures by reason:")
    by = collections.Counter((o.status, o.reason, o.known) for o in fails)
    for (s, r, k), n in by.most_common():
        p(f"  {n:6d}  {s}: {r}" + (f"   [known: {k}]" if k else ""))
    p("\nfailures (unexplained first):")
    for o in sorted(fails, key=lambda o: (o.known is not None, o.known or "", o.status,
                                          o.reason, len(o.sql))):
        p(f"\n[{o.status}] {o.reason}" + (f"  [known: {o.known}]" if o.known else ""))
        p(f"  seed {o.seed}  shape {o.shape}  tags {','.join(o.tags) or '-'}")
        p(f"  {o.sql}")
        for line in o.detail.strip().split("\n")[:12]:
            p(f"    {line[:400]}")
        p(f"  replay: python -m tests.query.differential --replay {o.seed}")


def _replay(args) -> int:
    with tempfile.TemporaryDirectory(prefix="mapdb-diff-") as root:
        engines = Engines(Path(root), variant=args.variant)
        todo = [diffgen.generate(s) for s in args.replay]
        todo += [case_for_sql(sql) for sql in args.sql]
        for case in todo:
            o = run_sql(engines, case)
            if args.minimize and o.failed:
                print(f"minimizing seed {case.seed} ({o.status}: {o.reason})")
                case = minimize(lambda c: run_sql(engines, c), case, o.status, o.reason,
                                log=print)
                o = run_sql(engines, case)
            print(f"seed {case.seed}: {case.sql}\n  tags {case.tags}  ordered={case.ordered} "
                  f"keys={case.order_idx} limited={case.limited}")
            known = None
            if o.failed:
                from .diffknown import classify
                known = classify(o, engines)
            print(f"  -> {o.status}: {o.reason}" + (f"  [known: {known.key}]" if known else ""))
            for line in o.detail.strip().split("\n"):
                print(f"     {line}")
            if o.status in ("EQUAL", "REFUSED"):
                dk, want = run_duckdb(engines.con, case.sql)
                if dk == "ok":
                    print(f"     DuckDB {want.types}: {show_rows(want, want.rows, 12)}")
        engines.close()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.query.differential",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1, help="run seed (case i: seed*10**6+i)")
    ap.add_argument("--jobs", type=int, default=max(1, min(8, (os.cpu_count() or 2) // 2)))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    ap.add_argument("--replay", type=int, nargs="*", default=[], help="case seeds to rerun")
    ap.add_argument("--sql", nargs="*", default=[], help="statements to run on both engines")
    ap.add_argument("--variant", choices=sorted(diffdata.VARIANTS),
                    help="with --replay/--sql: over a variant of the data")
    ap.add_argument("--minimize", action="store_true",
                    help="with --replay/--sql: shrink each failing statement")
    ap.add_argument("--per-group", type=int, default=3,
                    help="with --minimize: failures shrunk per (status, reason)")
    ap.add_argument("--json", help="write every outcome as JSON lines to this file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.seed, args.start, args.stop)
        return 0
    if args.replay or args.sql:
        return _replay(args)
    import threading
    t0 = time.monotonic()
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    done = [0]

    def sink(o: Outcome) -> None:
        with lock:
            outcomes.append(o)
            done[0] += 1
            if done[0] % 500 == 0:
                c = collections.Counter(x.status for x in outcomes)
                print(f"... {done[0]}/{args.cases} {dict(c)}", file=sys.stderr, flush=True)

    jobs = max(1, min(args.jobs, args.cases))
    bounds = [args.cases * j // jobs for j in range(jobs + 1)]
    threads = [threading.Thread(target=_run_chunk, args=(args.seed, bounds[j], bounds[j + 1],
                                                          args.timeout, sink))
               for j in range(jobs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    outcomes.sort(key=lambda o: o.seed)
    if args.json:
        with open(args.json, "w") as f:
            for o in outcomes:
                f.write(o.to_json() + "\n")
    fails = [o for o in outcomes if o.failed]
    if any(o.status != "CRASH" for o in fails):
        from .diffknown import classify
        with tempfile.TemporaryDirectory(prefix="mapdb-diff-") as root:
            engines = Engines(Path(root))
            for o in fails:
                if o.status == "CRASH":
                    continue
                k = classify(o, engines)
                o.known = None if k is None else ("NEW " if k.new else "") + k.key
            engines.close()
    summarize(outcomes, time.monotonic() - t0, args.seed)
    if args.minimize:  # the ones no known cause explains
        minimize_failures([o for o in fails if not o.known], args.per_group)
    return 1 if any(o.failed for o in outcomes) else 0


def minimize_failures(fails: list[Outcome], per_group: int, file=sys.stdout) -> None:
    """Shrinks up to ``per_group`` failures of each (status, reason), shortest first, and
    prints the distinct small statements that still fail the same way."""
    groups = collections.defaultdict(list)
    for o in fails:
        if o.status != "CRASH":
            groups[(o.status, o.reason)].append(o)
    print("\nminimized failures:", file=file)
    with tempfile.TemporaryDirectory(prefix="mapdb-diff-") as root:
        engines = Engines(Path(root))
        run = lambda c: run_sql(engines, c)  # noqa: E731
        for (status, reason), os_ in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            print(f"\n== {status}: {reason} ({len(os_)} cases)", file=file, flush=True)
            seen = set()
            for o in sorted(os_, key=lambda o: len(o.sql))[:per_group]:
                case = diffgen.generate(o.seed)
                small = minimize(run, case, status, reason)
                if small.sql in seen:
                    continue
                seen.add(small.sql)
                res = run_sql(engines, small)
                print(f"  seed {o.seed}: {small.sql}", file=file)
                for line in res.detail.strip().split("\n")[:6]:
                    print(f"      {line[:300]}", file=file)
                file.flush()
        engines.close()


if __name__ == "__main__":
    sys.exit(main())
