"""The N-th file operation fails, for N = 1, 2, ... until a job succeeds (RELIABILITY.md 4),
with every failure checked: a mapdb error that says what failed, no leaked descriptors or
mappings, the table exactly as before and verifying. Shared by the quick test and the soak
command, which both report the faults injected per file-operation site."""

from __future__ import annotations

import gc
import inspect
import os
import re
from collections import Counter

import pyarrow as pa
from storage import _support as sup

from mapdb.errors import MapdbError
from mapdb.storage import fileops

from . import checks


def fault_ops() -> list[str]:
    """Every operation name the file-operation layer can fail (its _check calls)."""
    return sorted(set(re.findall(r'_check\("([a-z_]+)"', inspect.getsource(fileops))))


def _injected(e: BaseException) -> BaseException | None:
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and "(injected at " in str(e):
            return e
        e = e.__cause__ or e.__context__
    return None


def site(e: BaseException) -> str:
    """'module.function' that called the file operation which failed."""
    inj = _injected(e)
    frames = [] if inj is None else [f for f, _ in _walk(inj.__traceback__)]
    for i, f in enumerate(frames):
        if f.f_code.co_filename == fileops.__file__ and i > 0:
            caller = frames[i - 1]
            mod = os.path.splitext(os.path.basename(caller.f_code.co_filename))[0]
            return f"{mod}.{caller.f_code.co_name}"
    return "?"


def _walk(tb):
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def chain(e: BaseException) -> str:
    out, seen = [], set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out.append(f"{type(e).__name__}: {e}")
        e = e.__cause__ or e.__context__
    return " <- ".join(out)


def csv_sources(directory, count: int = 2, rows: int = 300) -> list[str]:
    """CSV files for a job: k int64 (hash-indexed in the table), s (dictionary), x float."""
    import pyarrow.csv as pacsv
    paths = []
    for j in range(count):
        p = os.path.join(directory, f"part{j}.csv")
        k = list(range(j * rows, (j + 1) * rows))
        pacsv.write_csv(pa.table({"k": k, "s": [f"s{v % 7}-{j}" for v in k],
                                  "x": [v / 4 for v in k]}), p)
        paths.append(p)
    return paths


def run_loop(db, op: str, attempt, table: str, sites: Counter, limit: int = 400) -> int:
    """Call ``attempt()`` with the n-th ``op`` failing, n = 1, 2, ... until it succeeds;
    check each failure. Returns the faults injected; ``sites`` counts them per
    (op, site). Raises AssertionError on a broken promise."""
    gc.collect()
    fds = sup.open_fds()
    before = checks.state(db, table)
    tables = db.tables()
    for n in range(1, limit):
        calls0 = fileops.calls[op]
        try:
            with fileops.inject_fault(op, nth=n):
                attempt()
        except Exception as e:
            assert isinstance(e, MapdbError), f"{op} #{n}: not a mapdb error: {chain(e)}"
            assert _injected(e) is not None, f"{op} #{n}: another failure: {chain(e)}"
            sites[(op, site(e))] += 1
        else:
            if fileops.calls[op] - calls0 < n:
                return n - 1  # the n-th call never came: the job succeeded
            raise AssertionError(f"{op} #{n}: the job succeeded through an injected fault")
        if sup.open_fds() != fds or sup.mappings_under(db.path):
            gc.collect()
        leaked = sup.open_fds() - fds
        assert not leaked, f"{op} #{n}: descriptors leaked: {sorted(leaked)[:5]}"
        assert sup.mappings_under(db.path) == [], f"{op} #{n}: mappings leaked"
        assert db.tables() == tables, f"{op} #{n}: the table list changed"
        assert checks.state(db, table) == before, f"{op} #{n}: the table changed"
        if before is not None:
            problems = checks.table_problems(db, table)
            assert problems == [], f"{op} #{n}: {problems}"
        assert sup.db_leftovers(str(db.path)) == [], f"{op} #{n}: staging left behind"
    raise AssertionError(f"{op}: still failing after {limit} faults")
