"""memory_limit (issue 20, query/memory.py): sizes parsed and shown as DuckDB does, the
default read from cgroup files (fake trees here: no root needed), SET/RESET and
current_setting against DuckDB, and stateful operators that fail with MemoryLimitError
naming themselves under a tiny limit while a generous one gives DuckDB's answer."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.errors import InvalidOptionError, MemoryLimitError, QueryError
from mapdb.query import memory
from mapdb.query.memory import (
    UNLIMITED,
    SizeError,
    Tracker,
    cgroup_limit,
    format_size,
    parse_size,
)

from .compare import check, engines_over

SIZES = ["2GB", "2GiB", "1.5GB", "100MB", "512KiB", "1TB", "3 gb", "2 GiB", " 2 GB ",
         "2GB extra", "1e3MB", "1.0 GiB", "2g", "2G", "2gigabytes", "2e-3GB", ".5GB",
         "1TiB", "3 mib", "1023 KB", "1.99999 GiB", "-1", "-5", "none", "null", "1000 GB"]
BAD = ["0", "1000", "1.5", "kb", "GB", "NONE", "1e3", "1,5GB", "1e400GB", "20000PB",
       "16383PiB", ""]


@pytest.fixture(scope="module")
def duck():
    import duckdb
    return duckdb


def _duckdb_setting(duck, size: str) -> str | None:
    con = duck.connect()
    try:
        con.execute(f"SET memory_limit = '{size}'")
    except duck.Error:
        return None
    return con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]


@pytest.mark.parametrize("size", SIZES + BAD)
def test_sizes_parse_and_show_as_duckdb(duck, size):
    want = _duckdb_setting(duck, size)
    if want is None:
        with pytest.raises(SizeError):
            parse_size(size)
        return
    assert format_size(parse_size(size)) == want


def test_small_sizes_and_display():
    assert parse_size("1 byte") == 1 and parse_size("3 Bytes") == 3
    assert parse_size("1kilobyte") == 1000 and parse_size("5 KiB") == 5 * 1024
    assert format_size(1) == "1 byte" and format_size(1000) == "1000 bytes"
    assert format_size(1023 * 1024 + 1023) == "1023.9 KiB"  # truncated, not rounded
    assert parse_size(4096) == 4096 and parse_size(-1) == UNLIMITED
    with pytest.raises(SizeError):
        parse_size(2.5)  # type: ignore[arg-type]


# -- cgroups ------------------------------------------------------------------------------
def _tree(root, cgroup: str, mountinfo: str, files: dict[str, str]) -> str:
    os.makedirs(root / "proc/self")
    (root / "proc/self/cgroup").write_text(cgroup)
    (root / "proc/self/mountinfo").write_text(mountinfo)
    for path, text in files.items():
        p = root / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text + "\n")
    return str(root)


V1_MOUNTS = ("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
             "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n")
V2_MOUNTS = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def test_cgroup_v1_takes_the_tightest_ancestor(tmp_path):
    root = _tree(tmp_path, "4:memory:/jobs/q\n2:cpu:/\n", V1_MOUNTS, {
        "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",  # none
        "sys/fs/cgroup/memory/jobs/memory.limit_in_bytes": str(3 << 30),
        "sys/fs/cgroup/memory/jobs/q/memory.limit_in_bytes": "9223372036854771712"})
    assert cgroup_limit(root) == 3 << 30


def test_cgroup_v1_own_limit(tmp_path):
    root = _tree(tmp_path, "4:memory:/jobs/q\n", V1_MOUNTS, {
        "sys/fs/cgroup/memory/jobs/memory.limit_in_bytes": str(3 << 30),
        "sys/fs/cgroup/memory/jobs/q/memory.limit_in_bytes": str(300 << 20)})
    assert cgroup_limit(root) == 300 << 20


def test_cgroup_v2_max_and_namespaced_mount(tmp_path):
    root = _tree(tmp_path, "0::/user.slice/app\n", V2_MOUNTS, {
        "sys/fs/cgroup/user.slice/memory.max": "max",
        "sys/fs/cgroup/user.slice/app/memory.max": str(1 << 30)})
    assert cgroup_limit(root) == 1 << 30
    # a container's mount shows its own group as the root (mount root /user.slice/app)
    other = tmp_path / "ns"
    root = _tree(other, "0::/user.slice/app\n",
                 "30 23 0:27 /user.slice/app /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                 {"sys/fs/cgroup/memory.max": str(2 << 30)})
    assert cgroup_limit(root) == 2 << 30


def test_cgroup_unlimited_or_missing(tmp_path):
    assert cgroup_limit(_tree(tmp_path / "a", "0::/\n", V2_MOUNTS,
                              {"sys/fs/cgroup/memory.max": "max"})) is None
    assert cgroup_limit(str(tmp_path / "nothing")) is None
    # v1 without the memory controller mounted
    assert cgroup_limit(_tree(tmp_path / "b", "4:memory:/x\n", "", {})) is None


def test_default_is_a_share_of_available_memory():
    avail = memory.available_memory()
    assert avail and memory.default_limit() == int(avail * memory.DEFAULT_SHARE)


# -- the tracker ----------------------------------------------------------------------------
def test_try_grow_answers_without_raising():
    t = Tracker(1000)
    a, b = t.reservation("sort"), t.reservation("hash join build")
    assert a.try_grow(600) and not b.try_grow(500) and b.bytes == 0
    with pytest.raises(MemoryLimitError, match=r"hash join build needs ~500 bytes, "
                       r"memory_limit is 1000 bytes \(600 bytes held by"):
        b.grow(500)
    a.release()
    assert b.try_grow(900) and t.used == 900 and t.peak == 900


# -- SQL ------------------------------------------------------------------------------------
def _setting(db) -> str:
    return db.sql("SELECT current_setting('memory_limit') AS m").fetchall()[0][0]


def test_set_reset_current_setting_as_duckdb(duck, tmp_path):
    con = duck.connect()
    db = mapdb.connect(tmp_path / "db")
    assert _setting(db) == format_size(memory.default_limit())
    for size in ("2GB", "512MiB", "1.5 GiB", "-1"):
        db.sql(f"SET memory_limit = '{size}'")
        con.execute(f"SET memory_limit = '{size}'")
        assert _setting(db) == con.sql("SELECT current_setting('memory_limit')"
                                       ).fetchall()[0][0]
        assert db.memory_limit == parse_size(size)
    db.sql("SET GLOBAL max_memory TO '3GB'")  # DuckDB's other name, TO, GLOBAL
    assert _setting(db) == "2.7 GiB"
    assert db.sql("SELECT current_setting('MAX_MEMORY') AS m").fetchall() == [("2.7 GiB",)]
    db.sql("RESET memory_limit")  # DuckDB's default, not connect()'s
    assert db.memory_limit == memory.default_limit()


def test_connect_and_script(tmp_path):
    db = mapdb.connect(tmp_path / "db", memory_limit="100MB")
    assert db.memory_limit == 100_000_000 and _setting(db) == "95.3 MiB"
    r = db.sql("SET memory_limit = '1GB'; SELECT current_setting('memory_limit') AS m")
    assert r.fetchall() == [("953.6 MiB",)]
    assert db.execute("SET memory_limit = '2GB'").description[0][0] == "Success"
    assert _setting(db) == "1.8 GiB"  # (the plan of the same text is not cached)
    assert mapdb.connect(memory_limit=4096).memory_limit == 4096
    with pytest.raises(InvalidOptionError, match="unknown unit"):
        mapdb.connect(tmp_path / "db", memory_limit="4 parsecs")


@pytest.mark.parametrize("sql,match", [
    ("SET memory_limit = '4 parsecs'", r"unknown unit for memory: 'parsecs'.*column 20"),
    ("SET memory_limit = 1000", r"unknown unit for memory: ''"),
    ("SET memory_limit = NULL", r"must have a number"),
    ("SET threads = 4", r"SET threads is not supported \(mapdb's settings: memory_limit"),
    ("SET SESSION memory_limit = '1GB'", r"SET SESSION is not supported"),
    ("SET memory_limit = '1GB', threads = 2", r"SET of several settings"),
    ("RESET threads", r"RESET threads is not supported"),
    ("RESET ALL", r"RESET all is not supported"),
    ("SELECT current_setting('threads')", r"current_setting\('threads'\) is not supported"),
    ("SELECT current_setting(NULL)", r"must not be NULL"),
    ("SELECT current_setting(x) FROM t", r"one constant setting name"),
])
def test_refusals(tmp_path_factory, sql, match):
    db = mapdb.connect(tmp_path_factory.mktemp("refuse") / "db")
    db.create_table("t", {"x": ["memory_limit"]})
    with pytest.raises(QueryError, match=match):
        db.sql(sql)
    assert db.memory_limit == memory.default_limit()


def test_cli_option(tmp_path):
    from mapdb.cli import main
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", {"k": np.arange(100_000) % 5000, "v": np.arange(100_000)})
    run = CliRunner().invoke
    ok = run(main, ["query", str(tmp_path / "db"), "--memory-limit", "2GB", "--format",
                    "csv", "SELECT current_setting('memory_limit') AS m"])
    assert ok.exit_code == 0 and ok.output.splitlines()[-1] == '"1.8 GiB"', ok.output
    typo = run(main, ["query", str(tmp_path / "db"), "--memory-limit", "2 GQ", "SELECT 1"])
    assert typo.exit_code != 0 and "Traceback" not in typo.output
    assert "unknown unit for memory: 'gq'" in typo.output, typo.output
    bad = run(main, ["query", str(tmp_path / "db"), "--memory-limit", "64KB",
                     "SELECT k, count(DISTINCT v) FROM t GROUP BY k"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "needs ~" in bad.output and "memory_limit is 62.5 KiB" in bad.output, bad.output


# -- operators ------------------------------------------------------------------------------
N = 200_000


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(20)
    t = pa.table({"k": rng.integers(0, 50_000, N), "g": rng.integers(0, 7, N),
                  "v": rng.random(N), "s": pa.array([f"s{i % 30_000}" for i in range(N)]),
                  "id": np.arange(N)})
    u = pa.table({"id": np.arange(0, N, 2), "w": np.arange(0, N, 2) * 3})
    return engines_over(tmp_path_factory.mktemp("memory_limit") / "db", {"t": t, "u": u})


OPERATORS = [
    ("hash join build", "SELECT t.k, u.w FROM t JOIN u ON t.id = u.id WHERE t.g < 6"),
    ("hash aggregate", "SELECT k, sum(v), count(*) FROM t GROUP BY k"),
    ("hash aggregate", "SELECT s, g, max(v) FROM t GROUP BY s, g"),
    ("hash aggregate (COUNT DISTINCT)", "SELECT count(DISTINCT k) FROM t"),
    ("hash aggregate (COUNT DISTINCT)", "SELECT count(DISTINCT s) FROM t"),
    ("hash aggregate (COUNT DISTINCT)", "SELECT g, count(DISTINCT k) FROM t GROUP BY g"),
    ("sort", "SELECT id, k, v FROM t ORDER BY v, id"),
    ("window", "SELECT id, row_number() OVER (PARTITION BY g ORDER BY v, id) FROM t"),
    ("DISTINCT", "SELECT DISTINCT k, g FROM t"),
    ("set operation (EXCEPT)", "SELECT k FROM t EXCEPT SELECT id FROM u"),
    # (MATERIALIZED: a filtered scan read twice is otherwise inlined, binder.materialize_cte)
    ("CTE materialization", "WITH c AS MATERIALIZED (SELECT k, v FROM t WHERE g < 6) "
                            "SELECT count(*) FROM c a, (SELECT max(v) AS m FROM c) b "
                            "WHERE a.v < b.m"),
    ("hash join build (FULL JOIN)", "SELECT t.k, u.w FROM t FULL JOIN u ON t.id = u.id + 1"),
]


@pytest.mark.parametrize("what,sql", [o for o in OPERATORS if o[0] != "sort"])
def test_tiny_limit_names_the_operator(engines, what, sql):
    db = engines.db
    db.sql("SET memory_limit = '256KiB'")
    try:
        for fused in (False, True):
            with pytest.raises(MemoryLimitError) as e:
                db.sql(sql, fused=fused).to_arrow()
            assert str(e.value).startswith(f"{what} needs ~"), (fused, str(e.value))
            assert "memory_limit is 256.0 KiB" in str(e.value)
            assert "SET memory_limit" in str(e.value)
    finally:
        db.sql("RESET memory_limit")


@pytest.mark.parametrize("what,sql", OPERATORS)
def test_generous_limit_gives_duckdbs_answer(engines, what, sql):
    engines.db.sql("SET memory_limit = '1GB'")
    try:
        check(engines, sql)
    finally:
        engines.db.sql("RESET memory_limit")


def test_tiny_limit_spills_the_sort(engines):
    """(tests/query/test_spill_sort.py tests the external sort itself.)"""
    engines.db.sql("SET memory_limit = '256KiB'")
    try:
        check(engines, "SELECT id, k, v FROM t ORDER BY v, id")
    finally:
        engines.db.sql("RESET memory_limit")


def test_statements_run_under_the_connections_limit(engines, tmp_path):
    db = mapdb.connect(tmp_path / "db", memory_limit="256KiB")
    db.create_table("t", engines.db["t"].to_arrow())
    with pytest.raises(MemoryLimitError, match=r"^DISTINCT needs"):
        db.sql("CREATE TABLE o AS SELECT DISTINCT k, g FROM t")
    assert "o" not in db.tables()
    db.sql("CREATE TABLE o AS SELECT id, v FROM t ORDER BY v, id")  # (the sort spills)
    want = engines.db.sql("SELECT id, v FROM t ORDER BY v, id").to_arrow()
    assert db["o"].to_arrow().equals(want)


def test_explain_analyze_reports_the_peak(engines):
    text = engines.db.sql("EXPLAIN ANALYZE SELECT k, count(*) FROM t GROUP BY k").fetchall()
    assert "peak memory reserved" in text[-1][0] and "of memory_limit" in text[-1][0]
