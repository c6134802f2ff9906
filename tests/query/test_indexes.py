"""Queries through hash indexes and sorted attributes: same answers as DuckDB (and as the
same query without indexes), and the plan says which index it used."""

from __future__ import annotations

import datetime
import decimal
import random

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import mapdb

from . import data
from .compare import Engines, check
from .conftest import _for_duckdb

HASHED = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "d92", "d184", "d50", "dt", "s",
          "cat", "f64", "ts"]


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Engines:
    root = tmp_path_factory.mktemp("indexes")
    db = mapdb.connect(root / "db")
    first, *rest = data.batches()
    t = db.create_table("t", first, dictionary=["cat"])
    for c in HASHED:
        t.create_index(c)  # before the appends: later segments get files at append
    for b in rest:
        t.append(b)
    assert t.describe()["segments"] == data.BATCHES
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", _for_duckdb(t.to_arrow()))
    t.close()
    yield Engines(db, con)
    db.close()
    con.close()


def _plan(e: Engines, sql: str) -> str:
    return "\n".join(e.db.sql("EXPLAIN " + sql).to_arrow().column(0).to_pylist())


def _sample(e: Engines, col: str, n: int = 4) -> list:
    vals = [v for v in e.con.execute(f"SELECT DISTINCT {col} FROM t").fetchnumpy()[col].tolist()
            if v is not None and v == v]
    return random.Random(col).sample(vals, min(n, len(vals)))


def _lit(col: str, v) -> str:
    if col in ("s", "cat"):
        return "'" + str(v).replace("'", "''") + "'"
    if col == "dt":
        return f"DATE '{np.datetime64(v, 'D')}'"
    return repr(v) if not isinstance(v, float) else repr(float(v))


@pytest.mark.parametrize("col", [c for c in HASHED if c not in ("f64", "ts")])
def test_equality_and_in_probe_the_index(ix, col):
    vals = _sample(ix, col)
    for v in vals:
        sql = f"SELECT * FROM t WHERE {col} = {_lit(col, v)}"
        assert "hash index" in _plan(ix, sql), sql
        assert check(ix, sql), sql  # the value exists: rows come back
    sql = f"SELECT id, {col} FROM t WHERE {col} IN ({', '.join(_lit(col, v) for v in vals)})"
    assert "hash index" in _plan(ix, sql)
    assert len(check(ix, sql)) >= len(vals)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM t WHERE i64 = 123456789012345",  # no such value
    "SELECT * FROM t WHERE s = 'no such string'",
    "SELECT * FROM t WHERE cat = 'purple'",  # not in the dictionary
    "SELECT * FROM t WHERE i8 = 1000",  # outside the column's type
    "SELECT * FROM t WHERE d92 = 0.001",  # finer than the column's scale
    "SELECT * FROM t WHERE i16 IN (NULL)",
    "SELECT * FROM t WHERE s = ''",
    "SELECT * FROM t WHERE s = 'a''b'",
    "SELECT count(*), sum(i64), min(s) FROM t WHERE cat IN ('red', 'blue')",
    "SELECT cat, count(*) FROM t WHERE u8 IN (0, 1, 255) GROUP BY cat",
    "SELECT id FROM t WHERE i32 = 0 AND s IS NOT NULL ORDER BY id LIMIT 3",
    "SELECT id, d184 FROM t WHERE d184 = 0 OR id = 5",  # OR: a scan, same answer
    "SELECT count(DISTINCT i64) FROM t WHERE dt = DATE '2024-02-29'",
    "SELECT id FROM t WHERE d50 = 5 AND i8 > 0",
])
def test_edge_queries_equal_duckdb(ix, sql):
    check(ix, sql)


def test_explain_names_index_and_analyze_reads_only_matches(ix):
    v = _sample(ix, "i64", 1)[0]
    text = "\n".join(ix.db.sql(f"EXPLAIN ANALYZE SELECT * FROM t WHERE i64 = {v}")
                     .to_arrow().column(0).to_pylist())
    assert "hash index i64_hash" in text and "reads only the matching rows" in text
    n = ix.con.execute(f"SELECT count(*) FROM t WHERE i64 = {v}").fetchone()[0]
    assert f"scanned {n:,} rows" in text, text


def test_lookup_equals_a_scan_for_every_type(ix):
    t = ix.db.table("t")
    whole = t.to_arrow()
    for col in HASHED:
        column = whole.column(col).to_pylist()
        for v in _sample(ix, col, 3):
            if isinstance(v, np.generic):
                v = v.item()
            if col == "dt":
                v = datetime.date(1970, 1, 1) + datetime.timedelta(days=int(
                    (np.datetime64(v, "D") - np.datetime64("1970-01-01", "D")).astype(int)))
            if col == "ts":
                v = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=int(
                    (np.datetime64(v, "us") - np.datetime64("1970-01-01", "us")).astype(int)))
            if col.startswith("d") and col != "dt":
                v = decimal.Decimal(str(v))
            got = t.lookup(**{col: v})
            want = [i for i, x in enumerate(column) if x == v]
            assert sorted(got.column("id").to_pylist()) == want, (col, v)
            assert got.schema == whole.schema
    t.close()


def test_lookup_several_values_and_columns(ix):
    t = ix.db.table("t")
    whole = t.to_arrow().to_pylist()
    got = t.lookup(cat=["red", "gray"], g=[1, 2])
    want = sorted(r["id"] for r in whole if r["cat"] in ("red", "gray") and r["g"] in (1, 2))
    assert sorted(got.column("id").to_pylist()) == want and want
    got = t.lookup(["id", "s"], s="abc")
    assert got.column_names == ["id", "s"]
    assert sorted(got.column("id").to_pylist()) == sorted(r["id"] for r in whole
                                                          if r["s"] == "abc")
    assert t.lookup(id=[3, 1000]).column("id").to_pylist() == [3, 1000]  # sorted: search
    assert t.lookup(b=True).num_rows == sum(r["b"] is True for r in whole)  # no index: scan
    assert t.lookup(i64=None).num_rows == 0
    with pytest.raises(mapdb.errors.MapdbError):
        t.lookup(s=5)
    with pytest.raises(KeyError):
        t.lookup(nope=1)
    t.close()


def test_sorted_attribute_binary_searches_ranges(ix):
    names = [i["name"] for i in ix.db.table("t").indexes() if i["kind"] == "sorted"]
    assert names == ["id_sorted"]  # detected at ingest: ids ascend across segments
    sql = "SELECT id, i64 FROM t WHERE id BETWEEN 290 AND 310"
    assert "sorted index id_sorted" in _plan(ix, sql)
    assert len(check(ix, sql)) == 21
    text = "\n".join(ix.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert "scanned 21 rows" in text, text
    check(ix, "SELECT count(*) FROM t WHERE id >= 1195")
    check(ix, "SELECT count(*) FROM t WHERE id < 0")


def test_unindexed_database_gives_the_same_answers(ix, tmp_path):
    """The same queries over a copy without indexes (the general scan path)."""
    db = mapdb.connect(tmp_path / "plain")
    src = ix.db.table("t")
    db.create_table("t", src.to_arrow())
    src.close()
    for col in ("i32", "s", "cat", "d92"):
        for v in _sample(ix, col, 2):
            sql = f"SELECT id FROM t WHERE {col} = {_lit(col, v)} ORDER BY id"
            a = ix.db.sql(sql).to_arrow().column(0).to_pylist()
            b = db.sql(sql).to_arrow().column(0).to_pylist()
            assert a == b and a, sql
    db.close()


def test_parse_cache_reuses_templates_without_mixing_literals(ix):
    from mapdb.query.session import PARSES
    before = PARSES.hits
    vals = [abs(v) for v in _sample(ix, "i32", 4)]  # "-5" parses as minus and 5: a new shape
    for v in vals:
        got = ix.db.sql(f"SELECT count(*) FROM t WHERE i32 = {v}").fetchone()[0]
        want = ix.con.execute(f"SELECT count(*) FROM t WHERE i32 = {v}").fetchone()[0]
        assert got == want
    assert PARSES.hits >= before + len(vals) - 1
    # same shape, other literal classes: each binds its own values
    assert ix.db.sql("SELECT 'x' AS a, 1 AS b FROM t LIMIT 1").fetchall() == [("x", 1)]
    assert ix.db.sql("SELECT 'y' AS a, 2.5 AS b FROM t LIMIT 1").fetchall() == [
        ("y", decimal.Decimal("2.5"))]
    # typed constants and strings after keywords are templates too, each with its values
    q = "SELECT count(*) FROM t WHERE dt >= DATE '{}' AND s NOT LIKE '{}'"
    for args in (("1950-01-01", "%a%"), ("2000-06-30", "b%"), ("1900-01-01", "")):
        hits = PARSES.hits
        assert ix.db.sql(q.format(*args)).fetchone() == \
            ix.con.execute(q.format(*args)).fetchone()
    assert PARSES.hits == hits + 1
    # a prefix touching its quote (E'..', X'..') is never a template
    from mapdb.query.parsecache import normalize
    assert normalize("SELECT count(*) FROM t WHERE s = E'a'") is None
    assert normalize("SELECT count(*) FROM t WHERE s = X'a1'") is None
    # an error in a cached template reports this statement's position, not the template's
    ix.db.sql("SELECT id FROM t WHERE i32 = 1 AND i8 = 2")
    bad = "SELECT id FROM t WHERE i32 = 1234567 AND nope = 2"
    with pytest.raises(mapdb.errors.MapdbError, match=rf"nope.*column {bad.index('nope') + 1}\)"):
        ix.db.sql(bad)


_COLD_CHILD = r"""
import json, resource, sys, mapdb, numpy as np
db = mapdb.connect(sys.argv[1], pin_budget="64MB")
t = db.table("t")
t.lookup(k=-1)                      # maps columns and index, pins the index; reads no row
rep = db.cache.pinned("t")
db.cache.evict("t")                 # drops the data pages; the pinned index stays
keys = [int(k) for k in np.random.default_rng(3).choice(200_000, 40, replace=False) * 7]
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_majflt
rows = [t.lookup(k=k).to_pylist() for k in keys]
f1 = resource.getrusage(resource.RUSAGE_SELF).ru_majflt
print(json.dumps({"faults": f1 - f0, "pinned": rep["pinned"], "keys": keys, "rows": rows}))
"""


def test_cold_lookup_faults_only_the_matching_rows_pages(tmp_path):
    """After evicting the table (index pinned), each lookup faults in at most a few pages
    per column (read-around is off for lookups), not the column files; and its answers
    are right."""
    import json
    import subprocess
    import sys
    n = 200_000
    k = np.arange(n, dtype=np.int64) * 7
    rng = np.random.default_rng(1)
    perm = rng.permutation(n)
    tab = pa.table({"k": k[perm], "v": (k[perm] * 3).astype(np.int32),
                    "s": pa.array([f"row-{x}" for x in k[perm].tolist()], pa.large_string())})
    with mapdb.connect(tmp_path / "db") as db:
        db.create_table("t", tab, dictionary=None).create_index("k", unique=True)
    out = subprocess.run([sys.executable, "-c", _COLD_CHILD, str(tmp_path / "db")],
                         capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    assert r["pinned"] > 0
    for key, rows in zip(r["keys"], r["rows"], strict=True):
        assert rows == [{"k": key, "v": key * 3, "s": f"row-{key}"}]
    per_lookup = r["faults"] / len(r["keys"])
    # k, v, s offsets and s bytes: about 4 pages a row; the files are 400+ pages each
    assert per_lookup <= 6, per_lookup
    assert r["faults"] > 0  # the data really was evicted


def test_point_templates_follow_new_versions_and_dropped_tables(tmp_path):
    from mapdb.query.session import POINTS
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("p", {"k": [1, 2, 3], "v": [10, 20, 30]}).create_index("k", unique=True)
    q = "SELECT v FROM p WHERE k = {}"
    assert db.sql(q.format(1)).fetchall() == [(10,)]
    hits = POINTS.hits
    assert db.sql(q.format(3)).fetchall() == [(30,)]
    assert db.sql(q.format(-3)).fetchall() == []  # "= -#" is its own template
    assert db.sql("SELECT v FROM p WHERE k = -2").fetchall() == []
    assert POINTS.hits == hits + 2
    t.append({"k": [4, -2], "v": [40, -20]})  # a new version: the template is re-planned
    assert db.sql(q.format(4)).fetchall() == [(40,)]
    assert db.sql("SELECT v FROM p WHERE k = -2").fetchall() == [(-20,)]
    assert db.sql(q.format(2)).fetchall() == [(20,)]
    t.drop_index("k")  # no index: the scan answers, same rows
    assert db.sql(q.format(2)).fetchall() == [(20,)]
    assert "hash index" not in "\n".join(db.sql("EXPLAIN " + q.format(2)).to_arrow()
                                         .column(0).to_pylist())
    t.close()
    db.drop_table("p")
    with pytest.raises(mapdb.errors.MapdbError):
        db.sql(q.format(2)).fetchall()
    db.close()


def test_grouped_aggregate_over_no_rows_keeps_its_types(tmp_path):
    """Found by the Dask work: min/max of a date over zero rows came back as double."""
    import datetime
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", {"k": [1, 2], "day": [datetime.date(2024, 1, 1)] * 2, "s": ["a", "b"]})
    for fused in (False, True):
        r = db.sql("SELECT k, max(day) AS d, min(s) AS m FROM t WHERE k > 5 GROUP BY k",
                   fused=fused).to_arrow()
        assert r.num_rows == 0 and str(r.schema.field("d").type) == "date32[day]"
        assert str(r.schema.field("m").type) == "large_string"
    db.close()
