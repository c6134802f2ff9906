"""The damage fuzzer (issue 15): one damage at a time to one file of a table that has every
kind of file, then, in a child process, queries that touch every column; each outcome is
classified and checked against what a damaged file may do to a reader.

A trial copies the pristine database (hard links, and a real copy of the file it damages),
applies ONE damage to one file (a flipped bit or byte anywhere, a zeroed 4 KiB page, a
truncation) and runs every query of QUERIES in a forkserver child (tests/storage/_support.py),
in an order of its own, then ``verify`` in a second child. A "scan" trial truncates a 2M-row
string column's offsets or data under a child that is scanning it. Outcomes:

OK             every answer equals the pristine answer
WRONG          an answer differs: allowed only for damage to plain value bytes (column
               ``.data`` past the 4096-byte header, dictionary codes included) and to a hash
               index past its header (rows found are confirmed against the column)
MAPDB_ERROR    a mapdb.errors.MapdbError (its class, and whether it names the damaged file)
RAW_EXCEPTION  any other exception
INVALID_ARROW  an Arrow table or array handed out fails ``validate(full=True)`` (offsets,
               UTF-8, decimal precision, dictionary indices, null_count against the bitmap)
DEATH          the child died by a signal, or exited without its report
HANG           no report within 30 s

Failures: DEATH, HANG, RAW_EXCEPTION, INVALID_ARROW, a WRONG that is not allowed, and a
real change (every damage here is one) that ``verify`` does not find. Every trial is
reproducible from (seed, trial number)::

    python -m tests.reliability.damage [--trials 200] [--seed S] [--jobs 2] [--dir DIR]
    python -m tests.reliability.damage --replay SEED:TRIAL [--replay ...] [--db PRISTINE]

Trials of the manifest replay approximately on a fresh build (its size depends on the
commit time); ``--db`` names the pristine copy a run keeps (``--keep``, or any failure).
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import faulthandler
import hashlib
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from storage import _support as sup  # noqa: E402

HEADER = 4096
PAGE = 4096
SEGMENTS = (1500, 1500, 1000)  # rows per commit: three segments
QUERY_TIMEOUT = 30.0
SCAN_ROWS = 2_000_000
SCAN_SHARE = 0.04  # of trials: truncation under a running scan
SEVERITY = ["OK", "MAPDB_ERROR", "WRONG", "RAW_EXCEPTION", "INVALID_ARROW", "HANG", "DEATH"]
FAILING = {"RAW_EXCEPTION", "INVALID_ARROW", "HANG", "DEATH"}


# -- the table ------------------------------------------------------------------------------
def s_value(j: int) -> str | None:
    return None if j % 23 == 0 else "" if j % 29 == 0 else f"s{j}é" * (1 + j % 3)


def batch(lo: int, n: int, seg: int) -> pa.Table:
    """Rows lo..lo+n of the damage table; ``seg`` 0 has narrow decimals (m12 2 bytes wide),
    ``seg`` 2 new dictionary values (a second dictionary chunk)."""
    j = range(lo, lo + n)
    day0 = datetime.date(2020, 1, 1)
    return pa.table({
        "k": pa.array(j, pa.int64()),
        "f": pa.array([None if i % 11 == 0 else math.nan if i % 13 == 0 else (i - 900) / 7
                       for i in j], pa.float64(), from_pandas=False),
        "i32": pa.array([None if i % 5 == 0 else i * 37 % 1000 - 500 for i in j], pa.int32()),
        "dt": pa.array([day0 + datetime.timedelta(days=i * 7 % 900) for i in j], pa.date32()),
        "ts": pa.array([1_600_000_000_000_000 + i * 1_000_003 for i in j], pa.timestamp("us")),
        "m12": pa.array([decimal.Decimal((i % 900) * (10**9 if seg else 1) + 12345).scaleb(-2)
                         for i in j], pa.decimal128(12, 2)),
        "m18": pa.array([None if i % 17 == 0 else
                         decimal.Decimal((i * 10**13 + 7) * (-1) ** i).scaleb(-2) for i in j],
                        pa.decimal128(18, 2)),
        "b": pa.array([None if i % 19 == 0 else i % 3 != 0 for i in j], pa.bool_()),
        "s": pa.array([s_value(i) for i in j], pa.string()),
        "d": pa.array([None if i % 7 == 0 else f"new{i % 5}" if seg == 2 and i % 2 else
                       f"cat{i % 13}" for i in j], pa.string()),
        "bin": pa.array([None if i % 31 == 0 else bytes([i % 256]) * (i % 5) for i in j],
                        pa.binary()),
        # nested: a list's offsets and child files, a struct's validity and fields
        "ln": pa.array([None if i % 37 == 0 else [] if i % 41 == 0 else
                        [None if (i + x) % 9 == 0 else i * x % 1000 for x in range(i % 4 + 1)]
                        for i in j], pa.list_(pa.int32())),
        "st": pa.array([None if i % 43 == 0 else {"a": None if i % 47 == 0 else i * 3,
                                                   "b": s_value(i + 1)} for i in j],
                       pa.struct([("a", pa.int64()), ("b", pa.string())])),
    })


def build(db_path: str) -> None:
    """The damage table "t": every column type, three segments, two dictionary chunks,
    hash indexes on k and s (and the sorted attributes mapdb finds on k and ts)."""
    import mapdb
    db = mapdb.connect(db_path, pin_budget=0)
    lo = 0
    for seg, n in enumerate(SEGMENTS):
        if seg == 0:
            t = db.create_table("t", batch(lo, n, seg), dictionary=["d"])
        else:
            t.append(batch(lo, n, seg))
        lo += n
    t.create_index("k")
    t.create_index("s")
    t.close()
    db.close()


def build_scan(db_path: str) -> None:
    """Table "big": SCAN_ROWS rows of k int64 and a plain string column s (~56 MB)."""
    import pyarrow.compute as pc

    import mapdb
    k = np.arange(SCAN_ROWS, dtype=np.int64)
    s = pc.binary_join_element_wise("row-", pc.cast(pa.array(k * 2654435761 % 1000000007),
                                                    pa.string()), "")
    db = mapdb.connect(db_path, pin_budget=0)
    db.create_table("big", pa.table({"k": k, "s": s}), dictionary=None).close()
    db.close()


@dataclass(frozen=True)
class File:
    """One file of the pristine database: ``rel`` to the database directory, ``kind`` as
    the report counts it, ``role`` (data, validity, offsets, zones, dictionary, index,
    manifest) and the column."""

    rel: str
    kind: str
    role: str
    column: str
    size: int


def files(db_path: str, table: str = "t") -> list[File]:
    """Every file of the table's current version, its manifest included."""
    from mapdb.storage.database import DatabaseStore
    snap = DatabaseStore(db_path, readonly=True).snapshot(table)
    try:
        types = {c.name: c.type for c in snap.manifest.schema}
        out = []
        for f in snap.files():
            t = types[f.column]
            if f.role == "data":
                kind = "data dict codes" if t.is_dictionary else f"data {t.name}"
            elif f.role == "offsets":
                kind = f"offsets {t.name}"
            elif f.role == "dictionary":
                kind = f"dictionary {f.path.rsplit('.', 1)[1]}"
            elif f.role == "index":
                kind = f"index {t.name}"
            else:
                kind = f.role
            out.append(File(os.path.relpath(f.path, db_path), kind, f.role, f.column, f.size))
        rel = os.path.relpath(snap._pin.path, db_path)
        out.append(File(rel, "manifest", "manifest", "", os.path.getsize(snap._pin.path)))
        return sorted(out, key=lambda f: f.rel)
    finally:
        snap.close()


# -- trials ---------------------------------------------------------------------------------
def make_trial(seed: int, index: int, pristine: str, table_files: list[File],
               scan_files: list[File] | None) -> dict:
    """Trial ``index`` of ``seed``: a file kind (uniform over kinds), one of its files, one
    damage; the same numbers give the same trial."""
    rng = random.Random(f"{seed}:{index}")
    trial = {"seed": seed, "index": index, "order_seed": rng.randrange(1 << 30)}
    if rng.random() < SCAN_SHARE and scan_files:  # (drawn even without: the same trials)
        f = rng.choice([f for f in scan_files if f.column == "s" and
                        f.role in ("offsets", "data")])
        return {**trial, "damage": "truncate under scan", "kind": f"scan {f.kind}",
                "file": f.rel, "role": f.role, "column": f.column,
                "length": rng.randrange(f.size), "delay": rng.uniform(0.0, 0.4)}
    kinds = sorted({f.kind for f in table_files})
    kind = rng.choice(kinds)
    f = rng.choice([f for f in table_files if f.kind == kind])
    trial |= {"kind": kind, "file": f.rel, "role": f.role, "column": f.column}
    with open(os.path.join(pristine, f.rel), "rb") as fh:
        data = fh.read()
    has_header = f.role != "manifest"
    damage = rng.choice(["flip", "zero page", "truncate"])
    if damage == "zero page":
        pages = [p for p in range(0, len(data), PAGE) if any(data[p:p + PAGE])]
        p = rng.choice(pages)
        return {**trial, "damage": "zero page", "offset": p, "length": min(PAGE, len(data) - p)}
    if damage == "truncate":
        return {**trial, "damage": "truncate", "length": rng.randrange(len(data))}
    in_header = has_header and (len(data) == HEADER or rng.random() < 0.25)
    if not has_header:
        pos = rng.randrange(len(data))
    else:
        pos = rng.randrange(HEADER) if in_header else rng.randrange(HEADER, len(data))
    mask = 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
    label = "flip" if not has_header else "flip header" if in_header else "flip data"
    return {**trial, "damage": label, "offset": pos, "mask": mask}


def describe(trial: dict) -> str:
    d = trial["damage"]
    where = trial["file"]
    if d.startswith("flip"):
        return f"{where}: byte {trial['offset']} ^= 0x{trial['mask']:02x}"
    if d == "zero page":
        return f"{where}: bytes {trial['offset']}..{trial['offset'] + trial['length'] - 1} zeroed"
    if d == "truncate":
        return f"{where}: truncated to {trial['length']} bytes"
    return f"{where}: truncated to {trial['length']} bytes {trial['delay']:.2f} s into a scan"


def scratch_copy(pristine: str, dest: str, damaged_rel: str) -> None:
    """``dest`` as a copy of ``pristine``: hard links (readers write nothing), except the
    file to damage, which gets an inode of its own."""
    shutil.copytree(pristine, dest, copy_function=os.link)
    target = os.path.join(dest, damaged_rel)
    os.unlink(target)
    shutil.copy2(os.path.join(pristine, damaged_rel), target)


def apply(trial: dict, db_path: str) -> None:
    """Damage the file in place (the scratch copy's own inode)."""
    path = os.path.join(db_path, trial["file"])
    d = trial["damage"]
    if d == "truncate":
        os.truncate(path, trial["length"])
        return
    with open(path, "r+b") as f:
        f.seek(trial["offset"])
        if d == "zero page":
            f.write(bytes(trial["length"]))
        else:
            b = f.read(1)[0] ^ trial["mask"]
            f.seek(trial["offset"])
            f.write(bytes([b]))


# Queries that read single rows through a hash index ("k"/"s" are indexed): they read the
# pages of their rows, not whole files, so only the validity bitmap is checksummed for them
# and a row's offsets are checked against their neighbours (storage.scan.check_rows). A
# zeroed first page of offsets is well formed there (zeros, then the next page's values)
# and gives a wrong row; every scan of the same file refuses it, and verify finds it.
ROW_LOOKUPS = {"lookup k", "lookup s", "sql k in", "sql k =", "sql s =", "sql s in"}


def wrong_allowed(trial: dict, wrong: set[str] = frozenset()) -> bool:
    """May this damage change an answer without an error? Only in plain values: a column's
    ``.data`` past the header (dictionary codes are values too), a hash index past its
    header (a probe confirms what it finds against the column, so it can only miss rows),
    and offsets read by row lookups only (``wrong``: the queries that answered wrongly;
    see ROW_LOOKUPS)."""
    if trial["damage"] not in ("flip data", "zero page") or trial.get("offset", 0) < HEADER:
        return False
    if trial["role"] == "offsets" and wrong and wrong <= ROW_LOOKUPS:
        return True
    return trial["role"] in ("data", "index")


# -- what the child runs --------------------------------------------------------------------
K_IN = [5, 1600, 3999, -1]
S_IN = [s_value(100), s_value(2501), s_value(3998), "nope"]
SQL = {
    "select *": "SELECT * FROM t",
    **{f"agg {c}": f"SELECT count({c}), min({c}), max({c}), "
                   + (f"sum({c}), " if c in ("k", "f", "i32", "m12", "m18", "b") else "")
                   + f"count(DISTINCT {c}) FROM t"
       for c in ("k", "f", "i32", "dt", "ts", "m12", "m18", "b", "s", "d", "bin")},
    "k between": "SELECT count(*), sum(i32), min(s), max(dt) FROM t WHERE k BETWEEN 1000 AND 3200",
    "k in": f"SELECT * FROM t WHERE k IN ({', '.join(map(str, K_IN))})",
    "k =": "SELECT k, s, d FROM t WHERE k = 2501",
    "f between": "SELECT k, f FROM t WHERE f BETWEEN -20 AND 300",
    "i32 between": "SELECT count(*), sum(k) FROM t WHERE i32 BETWEEN 10 AND 20",
    "i32 is null": "SELECT count(*), sum(k) FROM t WHERE i32 IS NULL",
    "dt >=": "SELECT k, dt FROM t WHERE dt >= DATE '2021-06-01'",
    "ts between": "SELECT count(*), min(k), max(k) FROM t WHERE ts BETWEEN "
                  "TIMESTAMP '2020-09-13 12:40:00' AND TIMESTAMP '2020-09-13 13:00:00'",
    "m12 >": "SELECT k, m12 FROM t WHERE m12 > 100000000.5",
    "m18 <": "SELECT count(*), sum(m18), min(m18) FROM t WHERE m18 < 0",
    "b": "SELECT count(*), sum(k) FROM t WHERE b",
    "not b": "SELECT k FROM t WHERE NOT b",
    "s =": f"SELECT k, s FROM t WHERE s = '{S_IN[1]}'",
    "s in": f"SELECT k, s FROM t WHERE s IN ({', '.join(repr(v) for v in S_IN)})",
    "s like": "SELECT count(*), max(k) FROM t WHERE s LIKE 's1%'",
    "s >=": "SELECT count(*), min(s) FROM t WHERE s >= 's5'",
    "d =": "SELECT count(*), sum(k) FROM t WHERE d = 'cat3'",
    "d in": "SELECT k, d FROM t WHERE d IN ('cat1', 'new2')",
    "d is null": "SELECT count(*) FROM t WHERE d IS NULL",
    "bin >= max": "SELECT k, bin FROM t WHERE bin >= (SELECT max(bin) FROM t)",
    "group by d": "SELECT d, count(*), sum(k), min(s), max(f) FROM t GROUP BY d",
    "group by s": "SELECT s, count(*), max(k) FROM t GROUP BY s",
    "group by bin": "SELECT bin, count(*) FROM t GROUP BY bin",
    "nested": "SELECT k, ln, st FROM t WHERE k % 5 = 0",
    "nested fns": "SELECT count(ln), sum(len(ln)), sum(list_sum(ln)), count(st.a), max(st.b), "
                  "count(*) FROM t",
    "unnest": "SELECT count(*), sum(e), min(e) FROM (SELECT unnest(ln) AS e FROM t)",
}
GENERAL = ["agg k", "agg s", "agg d", "k between", "i32 between", "s >=", "d =", "group by d"]
COLUMNS = list(batch(0, 1, 0).column_names)


def _queries() -> dict[str, Callable]:
    """name -> fn(db) returning what a user would get: SQL (to_arrow, fetchall; the fused
    and the general path), lookups, whole-table and per-column Arrow and numpy, frames."""
    from mapdb import col
    q: dict[str, Callable] = {}
    for name, text in SQL.items():
        q[f"sql {name}"] = lambda db, text=text: db.sql(text).to_arrow()
    for name in GENERAL:
        q[f"sql {name} (general)"] = lambda db, t=SQL[name]: db.sql(t, fused=False).to_arrow()
    q["sql select * fetchall"] = lambda db: db.sql(SQL["select *"]).fetchall()
    q["lookup k"] = lambda db: db.table("t").lookup(k=K_IN)
    q["lookup s"] = lambda db: db.table("t").lookup(s=S_IN)
    q["to_arrow"] = lambda db: db.table("t").to_arrow()
    for c in COLUMNS:
        q[f"column {c} to_arrow"] = lambda db, c=c: db.table("t").column(c).to_arrow()
        q[f"column {c} to_numpy"] = lambda db, c=c: db.table("t").column(c).to_numpy()
    q["frame group_by"] = lambda db: (
        db.table("t").filter(col("k") > 100).group_by("d")
        .agg(col("f").sum(), col("m18").max(), col("i32").count(), col("s").min()).collect())
    q["frame filter"] = lambda db: (
        db.table("t").filter((col("dt") > datetime.date(2021, 3, 1)) & (col("b") == True))  # noqa: E712
        .select("k", "ts", "m12", "bin").collect())
    q["frame sort head"] = lambda db: db.table("t").sort("k", descending=True).head(20).collect()
    return q


ORDERED = {"sql select * fetchall"}  # results compared as sets of rows, except these:
ORDERED_PREFIX = ("column ", "to_arrow", "frame sort")


def check_arrow(obj) -> None:
    """Raise ArrowInvalid if an Arrow table, chunked array or array mapdb handed out is
    invalid. Full validation reads every value: offsets in bounds and monotonic, UTF-8,
    decimal precision, dictionary indices, null_count against the validity bitmap."""
    obj.validate(full=True)


_BITS = {16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}


def _canonical(arr) -> pa.Array:
    """One array, dictionaries decoded, floats and temporal values as their bit patterns
    (exact: NaN equals NaN; mapdb's float sums are deterministic; damaged timestamps may
    be out of datetime's range)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], arr.type)
    if pa.types.is_list(arr.type) or pa.types.is_struct(arr.type):  # (sortable as text)
        return pa.array([repr(v) for v in arr.to_pylist()], pa.string())
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_floating(arr.type) or pa.types.is_temporal(arr.type):
        arr = arr.view(_BITS[arr.type.bit_width])
    return arr


def digest(obj, ordered: bool) -> dict:
    """Rows and short digests of a result (the whole, and each column: a WRONG names the
    columns that differ), comparable across processes; unless ``ordered``, a table's rows
    are sorted first."""
    names = None
    if isinstance(obj, pa.Table):
        names = obj.column_names
        t = pa.table([_canonical(c) for c in obj.columns],
                     names=[f"c{i}" for i in range(obj.num_columns)])
        if not ordered and t.num_rows > 1:
            t = t.sort_by([(n, "ascending") for n in t.column_names])
        n, cols = t.num_rows, [c.to_pylist() for c in t.columns]
    elif isinstance(obj, pa.ChunkedArray | pa.Array):
        n, cols = len(obj), [_canonical(obj).to_pylist()]
    elif isinstance(obj, np.ndarray):
        n = len(obj)
        cols = [obj.tobytes()] if obj.dtype.kind in "biufmM" else [obj.tolist()]
    else:  # fetchall: rows of Python values, in order
        n, cols = len(obj), [obj]
    parts = [hashlib.sha1(repr(c).encode()).hexdigest()[:12] for c in cols]
    return {"rows": n, "digest": hashlib.sha1(repr(parts).encode()).hexdigest()[:16],
            "columns": parts, "names": names}


def _error(e: BaseException) -> dict:
    from mapdb.errors import MapdbError
    return {"kind": "mapdb" if isinstance(e, MapdbError) else "raw", "cls": type(e).__name__,
            "msg": str(e)[:400]}


def _run_one(fn, db, ordered: bool) -> dict:
    try:
        r = fn(db)
    except Exception as e:
        return _error(e)
    try:
        if not isinstance(r, np.ndarray | list):
            check_arrow(r)
    except Exception as e:
        return {"kind": "invalid", "cls": type(e).__name__, "msg": str(e)[:400]}
    try:
        return {"kind": "ok", **digest(r, ordered)}
    except Exception as e:  # a valid result the harness cannot read: show it, do not hide it
        return {"kind": "raw", "cls": type(e).__name__, "msg": f"reading the result: {e}"[:400]}


def run_queries(db_path: str, order_seed: int, progress: int, label: str = "") -> dict:
    """Every query of _queries() against the database, in an order drawn from
    ``order_seed`` (which query opens a file first varies): {name: record}. The query
    about to run is written to the descriptor ``progress`` (a crash names it)."""
    import mapdb
    qs = _queries()
    order = sorted(qs)
    random.Random(order_seed).shuffle(order)
    try:
        db = mapdb.connect(db_path, readonly=True, pin_budget=0)
    except Exception as e:
        return {"connect": _error(e)}
    out: dict = {}
    for name in order:
        os.pwrite(progress, f"{label}{name}".encode().ljust(120), 0)
        out[name] = _run_one(qs[name], db, name in ORDERED or name.startswith(ORDERED_PREFIX))
    os.pwrite(progress, f"{label}closing the database".encode().ljust(120), 0)
    try:
        db.close()
    except Exception as e:
        out["close"] = _error(e)
    return out


def verify_db(db_path: str, table: str, pristine_manifest: str) -> dict:
    """What `mapdb verify DB TABLE` finds (storage's Snapshot.verify, which the CLI runs
    through Table.verify; an error opening the table is a finding, as in the CLI), and
    whether the version still reads as the pristine manifest."""
    from mapdb.errors import MapdbError
    from mapdb.storage.database import DatabaseStore
    from mapdb.storage.manifest import Manifest
    out: dict = {"same_manifest": False}
    try:
        snap = DatabaseStore(db_path, readonly=True).snapshot(table)
        try:
            problems = snap.verify()
            with open(pristine_manifest, "rb") as f:
                out["same_manifest"] = snap.manifest == Manifest.from_bytes(f.read(), "")
        finally:
            snap.close()
        return out | {"verify": "found" if problems else "nothing", "problems": problems[:3]}
    except MapdbError as e:
        return out | {"verify": "found", "problems": [f"{type(e).__name__}: {e}"[:300]]}
    except Exception as e:
        return out | {"verify": "raised", "problems": [f"{type(e).__name__}: {e}"[:300]]}


def _write_json(path: str, obj) -> None:
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(path + ".tmp", path)


def _child_setup(progress_path: str, trace_path: str) -> int:
    """In a child: stderr (a C++ abort's message) and a crash's Python stacks go to
    ``trace_path``; returns the progress descriptor."""
    trace = os.open(trace_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(trace, 2)
    faulthandler.enable(file=2)
    faulthandler.register(signal.SIGUSR1, file=2, all_threads=True)  # _watch, on a hang
    return os.open(progress_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def query_child(db_path: str, order_seed: int, result_path: str, progress_path: str,
                trace_path: str) -> None:
    """One trial's queries alone in this process; {name: record} to ``result_path``."""
    progress = _child_setup(progress_path, trace_path)
    _write_json(result_path, run_queries(db_path, order_seed, progress))


def verify_child(db_path: str, table: str, pristine_manifest: str, result_path: str,
                 trace_path: str) -> None:
    _child_setup(os.devnull, trace_path)
    _write_json(result_path, verify_db(db_path, table, pristine_manifest))


def batch_child(pristine: str, manifest: str, trials: list[dict], work: str,
                results_path: str, progress_path: str, trace_path: str) -> None:
    """Trials one after another, each on its own damaged copy under ``work`` (kept until
    this process is gone, so no inode is reused within it) with a connection of its own:
    copy, damage, queries, verify; one JSON line per trial to ``results_path``."""
    progress = _child_setup(progress_path, trace_path)
    with open(results_path, "a") as out:
        for t in trials:
            label = f"trial {t['index']}: "
            os.pwrite(progress, f"{label}damaging".encode().ljust(120), 0)
            db = os.path.join(work, f"trial-{t['index']}", "db")
            scratch_copy(pristine, db, t["file"])
            apply(t, db)
            res = run_queries(db, t["order_seed"], progress, label)
            os.pwrite(progress, f"{label}verify".encode().ljust(120), 0)
            out.write(json.dumps({"index": t["index"], "results": res,
                                  "verify": verify_db(db, "t", manifest)}) + "\n")
            out.flush()


SCAN_SQL = [("SELECT count(*), max(s), min(s), sum(length(s)) FROM big", True),
            ("SELECT count(*), max(s), min(s), sum(length(s)) FROM big", False),
            ("SELECT count(*), max(k) FROM big WHERE s LIKE '%77%'", True),
            ("SELECT count(*), max(k) FROM big WHERE s LIKE '%77%'", False)]


def scan_child(db_path: str, expected: list | None, ready_path: str, result_path: str,
               trace_path: str, seconds: float) -> None:
    """Scan big.s with SCAN_SQL in turn until three errors or ``seconds``. The first round's
    answers go to ``ready_path`` (with ``expected`` None that is all: the pristine
    answers); then each answer is counted ok or wrong, and each error kept."""
    _child_setup(os.devnull, trace_path)
    import mapdb
    db = mapdb.connect(db_path, readonly=True, pin_budget=0)
    _write_json(ready_path, [repr(db.sql(q, fused=f).fetchall()) for q, f in SCAN_SQL])
    if expected is None:
        return
    answers: Counter = Counter()
    errors: list = []
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < seconds and len(errors) < 3:
        q, fused = SCAN_SQL[i % len(SCAN_SQL)]
        try:
            r = repr(db.sql(q, fused=fused).fetchall())
            answers["ok" if r == expected[i % len(SCAN_SQL)] else "wrong"] += 1
        except Exception as e:
            errors.append(_error(e))
        i += 1
    _write_json(result_path, {"answers": dict(answers), "errors": errors})


# -- classifying ------------------------------------------------------------------------------
def classify(trial: dict, status: int | str, results: dict | None, pristine: dict,
             verify: dict | None) -> dict:
    """The trial's outcome (the most severe of its queries', SEVERITY), details, and why it
    is a failure (``failures`` empty: it is not). ``status``: the query child's exit code
    or "timeout"; ``results``: its {query: record} (None if it wrote none); ``pristine``:
    the pristine answers {query: {"digest", "rows"}}; ``verify``: verify_db's report
    (None: verify died)."""
    per: dict[str, str] = {}
    errors: Counter = Counter()
    details: list[str] = []
    if status == "timeout":
        per["*"] = "HANG"
    elif status != 0 or results is None:
        per["*"] = "DEATH"
    for name, r in (results or {}).items():
        if r["kind"] == "ok":
            want = pristine.get(name)
            per[name] = "OK" if want and want["digest"] == r["digest"] else "WRONG"
            if per[name] == "WRONG":
                details.append(f"WRONG {name}: {_differs(r, want)}")
        elif r["kind"] == "mapdb":
            per[name] = "MAPDB_ERROR"
            names = trial["file"] in r["msg"]
            errors[f"{r['cls']}{'' if names else ' (not naming the file)'}"] += 1
        else:
            per[name] = "RAW_EXCEPTION" if r["kind"] == "raw" else "INVALID_ARROW"
            details.append(f"{name}: {r['cls']}: {r['msg'][:200]}")
    outcome = max(per.values(), key=SEVERITY.index) if per else "OK"
    failures = sorted({o for o in per.values() if o in FAILING}, key=SEVERITY.index)
    if "WRONG" in per.values() and not wrong_allowed(
            trial, {n for n, o in per.items() if o == "WRONG"}):
        failures.append("WRONG")
    v = _verify_verdict(trial, verify)
    if v not in ("found", "harmless"):
        failures.append(f"verify {v}")
    details.sort(key=lambda d: d.startswith("WRONG"))  # exceptions, then wrong answers
    return {"outcome": outcome, "verify": v, "errors": dict(errors), "failures": failures,
            "details": details[:6], "crash": "",
            "queries": {o: sorted(n for n, x in per.items() if x == o)[:8]
                        for o in set(per.values()) if o != "OK"}}


def _differs(r: dict, want: dict | None) -> str:
    if want is None:
        return "no pristine answer"
    rows = f"{r['rows']} rows" + (f" (pristine {want['rows']})" if r["rows"] != want["rows"]
                                  else "")
    if r["names"] and len(r["columns"]) == len(want["columns"]):
        cols = [n for n, a, b in zip(r["names"], r["columns"], want["columns"], strict=True)
                if a != b]
        return f"{rows}, column(s) {', '.join(cols)} differ"
    return f"{rows}, values differ"


def _verify_verdict(trial: dict, verify: dict | None) -> str:
    if verify is None:
        return "died"
    if verify["verify"] in ("raised", "died"):
        return f"{verify['verify']} ({verify['problems'][0][:160]})"
    if verify["verify"] == "found":
        return "found"
    # a manifest that still parses to the same manifest (another spelling of a number)
    return "harmless" if trial["role"] == "manifest" and verify["same_manifest"] else "missed"


def _scan_verdict(c: dict, extra: dict) -> dict:
    """A scan trial's outcome from the scan child's report: every answer correct, or a
    MapdbError (classify saw no queries; it judged the exit and verify)."""
    answers, errors = extra.get("answers", {}), extra.get("errors", [])
    per = [c["outcome"]] if c["outcome"] in ("DEATH", "HANG") else []
    per += ["OK"] * bool(answers.get("ok")) + ["WRONG"] * bool(answers.get("wrong"))
    per += ["MAPDB_ERROR" if e["kind"] == "mapdb" else "RAW_EXCEPTION" for e in errors]
    outcome = max(per, key=SEVERITY.index) if per else "OK"
    failures = sorted({o for o in per if o in FAILING or o == "WRONG"}, key=SEVERITY.index)
    failures += [f for f in c["failures"] if f.startswith("verify")]
    if extra.get("first round differs"):
        failures.append("the scan differed before the truncation")
    errs = Counter(e["cls"] for e in errors if e["kind"] == "mapdb")
    return {**c, "outcome": outcome, "failures": failures, "errors": dict(errs),
            "details": [f"{e['cls']}: {e['msg'][:200]}" for e in errors if e["kind"] == "raw"]
            + [f"answers {answers}, errors {[e['cls'] for e in errors]}"]}


# -- running --------------------------------------------------------------------------------
def _read_json(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _watch(p, progress_path: str | None, timeout: float) -> int | str:
    """Wait for a child; "timeout" (and killed) when its progress file has not changed for
    ``timeout`` seconds (or it has none and ran that long)."""
    last, since = None, time.monotonic()
    while True:
        p.join(0.05)
        if p.exitcode is not None:
            return p.exitcode
        try:
            with open(progress_path) as f:
                now = f.read()
        except (OSError, TypeError):
            now = None
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > timeout:
            try:  # every thread's stack into its trace (_child_setup), for _crash_note
                os.kill(p.pid, signal.SIGUSR1)
                time.sleep(0.5)
            except OSError:
                pass
            p.kill()
            p.join(10)
            return "timeout"


def _crash_note(status, work: str) -> str:
    """How a child ended, what it was running, the crash's message and the innermost
    frames of the thread that crashed (faulthandler's "Current thread")."""
    import re
    import signal
    if status == 0:
        return ""
    if status == "timeout":
        note = f"no progress for {QUERY_TIMEOUT:.0f} s"
    elif status > 0:
        note = f"exit {status}"
    else:
        try:
            note = f"killed by {signal.Signals(-status).name}"
        except ValueError:
            note = f"killed by signal {-status}"
    try:
        with open(os.path.join(work, "progress")) as f:
            note += f" during {f.read().strip()!r}"
    except OSError:
        pass
    try:
        with open(os.path.join(work, "trace"), errors="replace") as f:
            lines = [ln.strip() for ln in f]
    except OSError:
        return note
    what = [ln for ln in lines if "what():" in ln][:1]
    current = next((i for i, ln in enumerate(lines) if ln.startswith("Current thread")), 0)
    frames = [re.sub(r'File ".*?/((?:mapdb|pyarrow|tests|reliability)/[^"]*|[^"/]*)", line '
                     r"(\d+) in (.*)", r"\1:\2 \3", ln)
              for ln in lines[current:] if ln.startswith("File ")][:4]
    return "; ".join([note, *what, " <- ".join(frames)] if frames else [note, *what])


class Fuzzer:
    """A pristine database (and for scan trials the big table), its answers, and trials."""

    def __init__(self, work: str, seed: int, pristine: str | None = None):
        self.work = work
        self.seed = seed
        self.exit_problems: list[str] = []  # batch children that hung or died on exit
        self._count = iter(range(1 << 62))
        self._lock = threading.Lock()
        os.makedirs(work, exist_ok=True)
        self.pristine = pristine or os.path.join(work, "pristine")
        if not pristine:
            build(self.pristine)
        self.files = files(self.pristine)
        self.manifest = os.path.join(self.pristine, next(
            f.rel for f in self.files if f.role == "manifest"))
        self.answers = self._calibrate()  # {query: {"digest", "rows", "columns", "names"}}
        self.big = os.path.join(work, "pristine-big")
        if not os.path.exists(self.big):
            build_scan(self.big)
        self.scan_files = files(self.big, "big")
        self.big_manifest = os.path.join(self.big, next(
            f.rel for f in self.scan_files if f.role == "manifest"))
        ready = os.path.join(work, "scan-ready")
        status = _watch(sup.start(scan_child, self.big, None, ready, "", os.devnull, 0),
                        None, 120)
        self.scan_answers = _read_json(ready)
        assert status == 0 and self.scan_answers, f"the pristine scan failed ({status})"

    def _calibrate(self) -> dict:
        """The pristine answers, twice in different orders: they must agree (so a WRONG
        is the damage, not the harness) and be free of errors."""
        runs = []
        children = []
        for order_seed in (1, 2):
            d = self._dir("calibrate")
            children.append((d, sup.start(query_child, self.pristine, order_seed,
                                          os.path.join(d, "result"), os.path.join(d, "progress"),
                                          os.path.join(d, "trace"))))
        for d, p in children:
            status = _watch(p, os.path.join(d, "progress"), 120)
            r = _read_json(os.path.join(d, "result"))
            bad = {n: x for n, x in (r or {}).items() if x["kind"] != "ok"}
            assert status == 0 and r and not bad, (f"the pristine table does not answer "
                                                   f"cleanly ({_crash_note(status, d)}): {bad}")
            runs.append({n: {k: v for k, v in x.items() if k != "kind"} for n, x in r.items()})
            shutil.rmtree(d)
        differ = [n for n in runs[0] if runs[0][n] != runs[1].get(n)]
        assert not differ, f"pristine answers differ between two runs: {differ}"
        return runs[0]

    def _dir(self, what: str) -> str:
        with self._lock:
            d = os.path.join(self.work, f"{what}-{next(self._count)}")
        os.makedirs(d)
        return d

    def trial(self, index: int) -> dict:
        return make_trial(self.seed, index, self.pristine, self.files, self.scan_files)

    def run(self, trial: dict, keep: bool = False) -> dict:
        """One trial alone in fresh children (queries, then verify): the record is the
        trial and its classification. ``keep``: keep the trial's directory (the damaged
        copy, the children's reports) if it failed."""
        d = self._dir(f"trial-{trial['seed']}-{trial['index']}")
        failed = True  # kept (with ``keep``) if the harness itself breaks
        scan = trial["damage"] == "truncate under scan"
        db = os.path.join(d, "db")
        scratch_copy(self.big if scan else self.pristine, db, trial["file"])
        try:
            if scan:
                status, extra = self._scan(trial, db, d)
                res = {}
            else:
                apply(trial, db)
                res = os.path.join(d, "result")
                progress = os.path.join(d, "progress")
                status = _watch(sup.start(query_child, db, trial["order_seed"], res, progress,
                                          os.path.join(d, "trace")), progress, QUERY_TIMEOUT)
                res = _read_json(res)
            vres, vd = os.path.join(d, "verify"), os.path.join(d, "v")
            os.mkdir(vd)
            vstatus = _watch(sup.start(verify_child, db, "big" if scan else "t",
                                       self.big_manifest if scan else self.manifest, vres,
                                       os.path.join(vd, "trace")), None, 120)
            verify = _read_json(vres) if vstatus == 0 else {
                "verify": "died", "problems": [_crash_note(vstatus, vd)]}
            c = classify(trial, status, res, self.answers, verify)
            if scan:
                c = _scan_verdict(c, extra)
            c["crash"] = _crash_note(status, d)
            failed = c["failures"]
            return {**trial, **c}
        finally:
            if not (keep and failed):
                shutil.rmtree(d, ignore_errors=True)

    def _scan(self, trial: dict, db: str, d: str) -> tuple[int | str, dict]:
        ready, res = os.path.join(d, "ready"), os.path.join(d, "result")
        p = sup.start(scan_child, db, self.scan_answers, ready, res, os.path.join(d, "trace"),
                      8.0)
        deadline = time.monotonic() + 60
        while not os.path.exists(ready) and p.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if os.path.exists(ready):
            time.sleep(trial["delay"])
            os.truncate(os.path.join(db, trial["file"]), trial["length"])
        status = _watch(p, None, max(1.0, deadline - time.monotonic()))
        extra = _read_json(res) or {}
        if os.path.exists(ready) and _read_json(ready) != self.scan_answers:
            extra["first round differs"] = True  # before the truncation: the harness
        return status, extra

    def run_batch(self, trials: list[dict], keep: bool = False) -> list[dict]:
        """Trials one after another in one child (imports and SQL parsing paid once per
        batch). A trial during which that child died or hung, and every trial that failed,
        runs again alone (``run``), and that verdict is the one recorded: nothing a trial
        did to a process is blamed on another."""
        records: list[dict] = []
        pending = list(trials)
        while pending:
            d = self._dir("batch")
            results, progress = os.path.join(d, "results"), os.path.join(d, "progress")
            p = sup.start(batch_child, self.pristine, self.manifest, pending, d, results,
                          progress, os.path.join(d, "trace"))
            status = _watch(p, progress, QUERY_TIMEOUT)
            done = []
            if os.path.exists(results):
                with open(results) as f:
                    done = [json.loads(line) for line in f]
            for t, r in zip(pending, done, strict=False):
                rec = {**t, **classify(t, 0, r["results"], self.answers, r["verify"])}
                if rec["failures"]:
                    alone = self.run(t, keep)
                    if alone["outcome"] != rec["outcome"]:
                        alone["details"].append(f"in a batch child: {rec['outcome']}")
                    rec = alone
                records.append(rec)
            pending = pending[len(done):]
            if status != 0 and pending:  # it died or hung on pending[0]
                rec = self.run(pending.pop(0), keep)
                if not rec["failures"]:  # not alone: still a death, of a longer-lived process
                    bad = "HANG" if status == "timeout" else "DEATH"
                    rec |= {"outcome": bad, "failures": [f"{bad} in a batch child, not alone"]}
                rec["crash"] = rec["crash"] or _crash_note(status, d)
                records.append(rec)
            elif status != 0:
                # every trial's record is in (each judged on its own): the child hung or
                # died on its way out, which no trial's verdict depends on
                self.exit_problems.append(f"a batch child that ran trials "
                                          f"{trials[0]['index']}..{trials[-1]['index']} "
                                          f"did not exit ({_crash_note(status, d)})")
            elif pending:
                raise AssertionError(f"a batch child ended early without a death: {d}")
            shutil.rmtree(d, ignore_errors=True)
        return records

    def pristine_intact(self) -> list[str]:
        """The pristine copies must still verify (trials hard-link their files)."""
        out = []
        for path, table, manifest in ((self.pristine, "t", self.manifest),
                                      (self.big, "big", self.big_manifest)):
            v = verify_db(path, table, manifest)
            if v["verify"] != "nothing" or not v["same_manifest"]:
                out.append(f"the pristine copy {path} changed: {v}")
        return out


# -- a run and its report -------------------------------------------------------------------
@dataclass
class Report:
    seed: int
    records: list[dict]
    seconds: float
    broken: list[str]  # the harness's own problems (the pristine copy changed)
    pristine: str
    exit_problems: list[str] = field(default_factory=list)  # children that did not exit

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.records if r["failures"]]

    def lines(self, max_failures: int = 40) -> list[str]:
        """Counts per (file kind, damage) and outcome with verify's misses, the mapdb
        error classes, then every failure with the seed:trial that replays it."""
        heads = [*SEVERITY, "verify missed"]
        short = {"MAPDB_ERROR": "MAPDB_ERR", "RAW_EXCEPTION": "RAW_EXC",
                 "INVALID_ARROW": "INVALID", "verify missed": "VFY_MISS"}
        out = [f"damage fuzzer: {len(self.records):,} trials, seed {self.seed}, "
               f"{self.seconds:.0f} s; {len(self.failures):,} failures",
               f"  {'file kind':<26}{'damage':<20}{'trials':>6}"
               + "".join(f"{short.get(h, h):>10}" for h in heads)]
        rows: dict = {}
        for r in self.records:
            for key in ((r["kind"], r["damage"]), ("all", "")):
                c = rows.setdefault(key, Counter())
                c["trials"] += 1
                c[r["outcome"]] += 1
                c["verify missed"] += r["verify"] not in ("found", "harmless")
        for (kind, damage), c in sorted(rows.items(), key=lambda kv: (kv[0][0] == "all", kv[0])):
            out.append(f"  {kind:<26}{damage:<20}{c['trials']:>6}"
                       + "".join(f"{c[h] or '.':>10}" for h in heads))
        errs: Counter = Counter()
        for r in self.records:
            errs.update(r["errors"])
        if errs:
            out.append("  mapdb errors (queries): " + ", ".join(
                f"{k} {v:,}" for k, v in errs.most_common()))
        fails = self.failures
        if fails:
            out.append(f"  FAILURES ({len(fails):,}; replay one: python -m "
                       f"tests.reliability.damage --replay SEED:TRIAL [--db {self.pristine}]):")
            for r in fails[:max_failures]:
                out.append(f"    {r['seed']}:{r['index']} {r['kind']}, {describe(r)}: "
                           f"{r['outcome']}; fails: {', '.join(r['failures'])}")
                for d in ([r["crash"]] if r["crash"] else []) + r["details"][:3]:
                    out.append(f"        {d[:230]}")
            if len(fails) > max_failures:
                out.append(f"    ... and {len(fails) - max_failures:,} more")
        out += [f"  BROKEN: {b}" for b in self.broken]
        out += [f"  EXIT: {e}" for e in self.exit_problems]
        return out


BATCH = 10  # trials per batch child


def run(trials: int, seed: int, work: str, jobs: int = 2, progress: Callable | None = None,
        deadline: float | None = None, keep: bool = False) -> Report:
    """Trials 0..``trials``-1 of ``seed``, ``jobs`` batches at a time, until ``deadline``
    (time.monotonic()) if given. ``progress(record)`` is called after each trial (from
    worker threads); with ``keep`` the directories of failed trials stay in ``work``."""
    t0 = time.monotonic()
    fz = Fuzzer(work, seed)

    def chunk(lo: int) -> list[dict]:
        if deadline is not None and time.monotonic() > deadline:
            return []
        ts = [fz.trial(i) for i in range(lo, min(lo + BATCH, trials))]
        scans = [t for t in ts if t["damage"] == "truncate under scan"]
        recs = fz.run_batch([t for t in ts if t not in scans], keep)
        recs += [fz.run(t, keep) for t in scans]
        for r in recs:
            if progress:
                progress(r)
        return recs

    with ThreadPoolExecutor(max_workers=jobs) as ex:
        records = [r for recs in ex.map(chunk, range(0, trials, BATCH)) for r in recs]
    records.sort(key=lambda r: r["index"])
    return Report(seed, records, time.monotonic() - t0, fz.pristine_intact(), fz.pristine,
                  fz.exit_problems)


def replay(ids: list[str], work: str, pristine: str | None = None) -> list[dict]:
    """Run trials named 'SEED:TRIAL' again, each alone; return their full records."""
    out = []
    by_seed: dict[int, list[int]] = {}
    for s in ids:
        seed, index = s.split(":")
        by_seed.setdefault(int(seed), []).append(int(index))
    for seed, indexes in by_seed.items():
        fz = Fuzzer(work, seed, pristine=pristine)
        out += [fz.run(fz.trial(i), keep=True) for i in indexes]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.reliability.damage",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--replay", action="append", metavar="SEED:TRIAL",
                    help="run these trials again, each alone, and print all about them")
    ap.add_argument("--db", help="with --replay: the pristine database a run kept")
    ap.add_argument("--dir", help="work directory (default: a new one in /var/tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    work = args.dir or tempfile.mkdtemp(prefix="mapdb-damage-", dir="/var/tmp")
    print(f"work directory: {work}", flush=True)
    if args.replay:
        for r in replay(args.replay, work, args.db):
            print(json.dumps(r, indent=1))
        return 0
    done = Counter()

    def progress(r):
        done["n"] += 1
        if r["failures"]:
            print(f"  {r['seed']}:{r['index']} {r['kind']}, {describe(r)}: {r['outcome']} "
                  f"({', '.join(r['failures'])})", flush=True)
        if done["n"] % 100 == 0:
            print(f"  {done['n']} trials", flush=True)

    report = run(args.trials, args.seed, work, args.jobs, progress, keep=True)
    print("\n".join(report.lines()))
    with open(os.path.join(work, "damage-report.json"), "w") as f:
        json.dump({"seed": args.seed, "records": report.records}, f, indent=1)
    print(f"(every trial's record: {os.path.join(work, 'damage-report.json')})")
    if not args.keep and not report.failures and not report.broken:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if report.failures or report.broken else 0


if __name__ == "__main__":
    from reliability import damage  # children must find the functions under this name

    sys.exit(damage.main())
