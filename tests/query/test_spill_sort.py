"""A sort over more rows than its memory_limit allows spills sorted runs to the
database's tmp directory and merges them (query/spill.py, issue 20): DuckDB's answer,
NULLs, DESC, strings, several keys; its files removed on success, on failure and, after
a crash, at the next open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import MemoryLimitError, QueryError
from mapdb.query import spill
from mapdb.storage import tmpfiles

from .compare import check, diff, engines_over

N = 200_000


def _nulls(rng, values, share=0.1):
    return pa.array(values, mask=rng.random(len(values)) < share)


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(2)
    t = pa.table({
        "i": _nulls(rng, rng.integers(-500, 500, N)),
        "f": _nulls(rng, np.where(rng.random(N) < 0.01, np.nan, rng.random(N).round(3))),
        "s": _nulls(rng, np.array([f"s{x}" for x in rng.integers(0, 3000, N)], dtype=object)),
        "d": _nulls(rng, rng.integers(0, 2000, N).astype("datetime64[D]")),
        "b": _nulls(rng, rng.random(N) < 0.5),
        "g": rng.integers(0, 4, N),  # many ties: the whole row orders them
    })
    return engines_over(tmp_path_factory.mktemp("spill_sort") / "db", {"t": t})


def _tmp(db) -> list[str]:
    d = os.path.join(db.path, tmpfiles.TMP_DIR)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


@pytest.fixture
def tiny(engines):
    engines.db.sql("SET memory_limit = '1MB'")
    yield engines
    engines.db.sql("RESET memory_limit")


QUERIES = [
    "SELECT * FROM t ORDER BY s DESC NULLS FIRST, i, f DESC, d NULLS FIRST, b, g",
    "SELECT * FROM t ORDER BY g, d DESC, i DESC NULLS LAST, s, f, b",
    "SELECT g, b, i, s, f, d FROM t ORDER BY ALL",
    "SELECT s, i % 7 AS m, f, d, b, g, i FROM t ORDER BY length(s) DESC, m, s, f NULLS FIRST,"
    " d, b, g, i",
    "SELECT s, i, f FROM t WHERE g < 3 ORDER BY f DESC NULLS FIRST, s, i",
]


def _same(engines, sql: str) -> int:
    """mapdb's rows equal DuckDB's, in order (ORDER BY names every column: no ties left
    to order but equal rows). The fused and general paths sort alike: one is enough."""
    want, _ = engines.duckdb(sql)
    got, _ = engines.mapdb(sql, False)
    problem = diff(got, want)
    assert problem is None, f"{problem}\n{sql}"
    return len(want)


@pytest.mark.parametrize("sql", QUERIES)
def test_spilled_sort_gives_duckdbs_answer(tiny, sql):
    assert _same(tiny, sql) > 100_000
    assert _tmp(tiny.db) == []


def test_explain_analyze_shows_the_runs(tiny):
    text = "\n".join(r[0] for r in tiny.db.sql("EXPLAIN ANALYZE " + QUERIES[0]).fetchall())
    runs = int(text.split("external sort: ")[1].split()[0])
    assert runs >= 5, text  # 1MB holds a few percent of the input at a time
    assert "peak memory reserved" in text and "of memory_limit 976.5 KiB" in text, text
    assert _tmp(tiny.db) == []


def test_no_spill_under_a_generous_limit(engines):
    sql = QUERIES[0]
    text = "\n".join(r[0] for r in engines.db.sql("EXPLAIN ANALYZE " + sql).fetchall())
    assert "external sort" not in text
    check(engines, sql, ordered=True)


def test_offset_without_limit_spills_too(tiny):
    assert _same(tiny, "SELECT * FROM t ORDER BY i, s, f, d, b, g OFFSET 150000") == 50_000


def test_failure_during_the_merge_leaves_no_files(tiny, monkeypatch):
    seen = []

    def broken(*args, **kwargs):
        seen.extend(_tmp(tiny.db))
        raise MemoryLimitError("merge interrupted")

    monkeypatch.setattr(spill, "merge", broken)
    with pytest.raises(MemoryLimitError, match="merge interrupted"):
        tiny.db.sql(QUERIES[0]).to_arrow()
    assert seen and all(f.startswith(f"sort-{os.getpid()}-") for f in seen), seen
    assert _tmp(tiny.db) == []


def test_failure_while_writing_a_run_leaves_no_files(tiny, monkeypatch):
    real = spill.Runs.write

    def write(self, run):
        if self.count == 3:
            raise QueryError("disk full")
        real(self, run)

    monkeypatch.setattr(spill.Runs, "write", write)
    with pytest.raises(QueryError, match="disk full"):
        tiny.db.sql(QUERIES[1]).to_arrow()
    assert _tmp(tiny.db) == []


def test_too_little_memory_to_spill_fails_naming_the_sort(engines):
    engines.db.sql("SET memory_limit = '20KB'")  # room for fewer rows than a run needs
    try:
        with pytest.raises(MemoryLimitError, match=r"^sort needs"):
            engines.db.sql("SELECT * FROM t ORDER BY s, i").to_arrow()
    finally:
        engines.db.sql("RESET memory_limit")
    assert _tmp(engines.db) == []


def test_next_open_removes_a_dead_process_files(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", {"x": [1]})
    d = os.path.join(db.path, tmpfiles.TMP_DIR)
    os.makedirs(d)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = os.path.join(d, f"sort-{dead.pid}-0123456789ab.arrow")
    mine = os.path.join(d, f"sort-{os.getpid()}-0123456789ab.arrow")  # a live query's
    for p in (stale, mine):
        with open(p, "wb") as f:
            f.write(b"x" * 100)
    mapdb.connect(tmp_path / "db", readonly=True)  # a read-only open writes nothing
    assert os.path.exists(stale)
    mapdb.connect(tmp_path / "db")
    assert not os.path.exists(stale) and os.path.exists(mine)
    os.unlink(mine)


def test_kill_during_a_spilling_sort_then_reopen(tmp_path):
    """kill -9 while the runs are on disk (in the merge): the next open removes them."""
    path = tmp_path / "db"
    db = mapdb.connect(path)
    db.create_table("t", {"x": np.random.default_rng(3).random(100_000)})
    script = textwrap.dedent(f"""
        import os, signal, mapdb
        from mapdb.query import spill
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        spill.merge = die
        db = mapdb.connect({str(path)!r}, memory_limit="512KB")
        db.sql("SELECT x FROM t ORDER BY x").to_arrow()
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    left = _tmp(db)
    assert left and all(f.startswith("sort-") for f in left)
    mapdb.connect(path)
    assert _tmp(db) == []


def test_nested_keys_spill(tmp_path):
    """LIST and STRUCT keys sort by their order keys (query/nested.py) in the runs too."""
    rng = np.random.default_rng(4)
    n = 80_000
    t = pa.table({"l": pa.array([None if v == 0 else [int(v), None, int(v) % 3]
                                 for v in rng.integers(0, 9, n)]),
                  "st": pa.array([{"a": int(v), "b": str(v % 5)} for v in
                                  rng.integers(0, 50, n)]),
                  "id": np.arange(n)})
    e = engines_over(tmp_path / "db", {"t": t})
    e.db.sql("SET memory_limit = '1MB'")
    for sql in ("SELECT l, id FROM t ORDER BY l DESC NULLS FIRST, id",
                "SELECT st, l, id FROM t ORDER BY st, id DESC"):
        assert _same(e, sql) == n
        text = "\n".join(r[0] for r in e.db.sql("EXPLAIN ANALYZE " + sql).fetchall())
        assert "external sort" in text, text
    assert _tmp(e.db) == []
