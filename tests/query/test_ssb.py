"""The 13 Star Schema Benchmark queries (benchmarks/queries/ssb/) on tiny data: mapdb's
answer (general and fused paths) equals DuckDB's, row for row; the plans a star schema
without declared keys gets (every dimension built, the fact table streamed); and the
uniqueness test on stored columns those plans rest on.

The data: TPC-H at scale factor 0.01 from tpchgen-cli (skipped when it is missing), turned
into SSB's five tables by benchmarks.ssb.build, ingested plainly (no keys, no indexes).
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import mapdb
from benchmarks.ssb import QUERIES, QUERY_DIR, build
from datasets import tpch
from mapdb.query.executor import _estimated_share
from mapdb.query.joinorder import estimate
from mapdb.query.plan import Join, Scan
from mapdb.query.source import TableSource

from .compare import Engines, check

SCALE = 0.01


@pytest.fixture(scope="module")
def ssb(tmp_path_factory) -> Engines:
    try:
        exe = tpch.tpchgen()
    except mapdb.MapdbError as e:
        pytest.skip(str(e))
    tmp = tmp_path_factory.mktemp("ssb")
    subprocess.run([exe, "parquet", "-s", f"{SCALE:g}", f"--output-dir={tmp / 'tpch'}"],
                   check=True, capture_output=True)
    files = build({t: tmp / "tpch" / f"{t}.parquet" for t in tpch.TABLES}, tmp / "ssb",
                  threads=1)
    db = mapdb.connect(tmp / "ssb.mapdb")
    con = duckdb.connect()
    for name, path in files.items():
        db.ingest(name, path)
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
    yield Engines(db, con)
    con.close()
    db.close()


@pytest.mark.parametrize("name", QUERIES)
def test_ssb_query_equals_duckdb(ssb, name):
    sql = (QUERY_DIR / f"{name}.sql").read_text()
    rows = check(ssb, sql, ordered=True)
    if name not in ("q2.3", "q3.3", "q3.4"):  # one brand, two cities: none at SF 0.01
        assert rows, f"{name}: DuckDB's answer is empty, the data is wrong"


def test_all_13_queries_are_here():
    assert sorted(p.stem for p in QUERY_DIR.glob("q*.sql")) == QUERIES


def _plan_lines(db, sql: str) -> list[str]:
    return [r[0] for r in db.sql("EXPLAIN " + sql).fetchall()]


def _join(plan):
    todo = [plan]
    while todo:
        node = todo.pop()
        if isinstance(node, Join):
            return node
        todo.extend(node.inputs)
    raise AssertionError("no join in the plan")


@pytest.mark.parametrize("where,share", [("", 1.0), ("AND d_year = 1993", 0.2)])
def test_a_join_on_a_stored_unique_key_keeps_the_fact_rows(ssb, where, share):
    """No key is declared (plain ingest), so the planner learns from the stored values
    that d_datekey is unique: lineorder joined to all of date keeps lineorder's rows, and
    to a filtered date its share of them. (Before, the estimate divided by lo_orderdate's
    value range, yyyymmdd numbers: 2,557 dates over 69,131 numbers made 6M facts 222,000,
    and after three more such joins SSB Q4.1 at SF1 built 243,000 joined fact rows into a
    hash table instead of part's 80,000.)"""
    facts = ssb.db.sql("SELECT count(*) FROM lineorder").fetchall()[0][0]
    sql = f"SELECT lo_revenue FROM lineorder, date WHERE lo_orderdate = d_datekey {where}"
    j = _join(ssb.db.sql(sql)._p.plan)
    assert j.build == "right" and isinstance(j.left, Scan) and \
        j.left.source.name == "lineorder"
    est = estimate(j)
    assert facts * share * 0.1 <= est <= facts * share * 1.01, (est, facts)


@pytest.mark.parametrize("name", QUERIES)
def test_lineorder_streams_through_every_dimension_join(ssb, name):
    """Each query's innermost join streams lineorder's scan and builds a dimension."""
    lines = [r[0] for r in ssb.db.sql("EXPLAIN " + (QUERY_DIR / f"{name}.sql").read_text()
                                      ).fetchall()]
    joins = [x for x in lines if "Inner join" in x]
    assert "hash table on the right input" in joins[-1], "\n".join(lines)
    streamed = lines[lines.index(joins[-1]) + 1]
    assert streamed.strip().startswith("Scan lineorder"), "\n".join(lines)


class _Built:
    """Stand-ins for an execution's hash tables: {id(join): (rows, unique)}."""

    def __init__(self, built: dict):
        self.built = built

    def get(self, join):
        rows, unique = self.built[id(join)]
        return SimpleNamespace(rows=rows, unique=unique)


def test_join_filter_expects_each_dimension_to_keep_its_filtered_share(ssb):
    """Before a scan's first morsel, its join filter orders the key tests by the share of
    each dimension's rows that was built (SSB Q2.2: part's 0.8% before supplier's 20%,
    date's 100% last), not by plan order, which the first, biggest morsel paid for."""
    plan = ssb.db.sql((QUERY_DIR / "q2.2.sql").read_text())._p.plan
    joins, todo = {}, [plan]
    while todo:
        node = todo.pop()
        todo.extend(node.inputs)
        if isinstance(node, Join):
            joins[node.right.source.name] = node
    total = {t: ssb.db.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in joins}
    ctx = SimpleNamespace(builds=_Built({id(joins["date"]): (total["date"], True),
                                         id(joins["part"]): (total["part"] // 100, True),
                                         id(joins["supplier"]): (total["supplier"] // 5,
                                                                 False)}))
    assert _estimated_share(joins["date"], ctx, True) == 1.0
    assert _estimated_share(joins["part"], ctx, True) == \
        pytest.approx((total["part"] // 100) / total["part"])
    assert _estimated_share(joins["part"], ctx, False) == \
        pytest.approx(1 - (total["part"] // 100) / total["part"])  # an anti join's test
    assert _estimated_share(joins["supplier"], ctx, True) is None  # duplicate keys: unknown


# -- TableSource.unique_values -------------------------------------------------------------

@pytest.fixture(scope="module")
def keys_db(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("uniq") / "db")
    n = 5000
    rng = np.random.default_rng(3)
    sparse = np.sort(rng.choice(10 * n, n, replace=False)) + 19920101  # yyyymmdd-like
    dup_sorted = np.arange(n) // 2 * 3  # sorted, a wide enough range, each value twice
    shuffled = rng.permutation(n)
    shuffled_dup = shuffled.copy()
    shuffled_dup[7] = shuffled_dup[8]
    db.create_table("k", pa.table({
        "dense": np.arange(n), "sparse": sparse, "dup_sorted": dup_sorted,
        "shuffled": shuffled, "shuffled_dup": shuffled_dup * 3,
        "narrow": np.arange(n) % 100,
        "name": [f"s{i}" for i in range(n)]}))  # unique, but strings are not checked
    yield db
    db.close()


@pytest.mark.parametrize("column,unique", [
    ("dense", True), ("sparse", True), ("shuffled", True),
    ("dup_sorted", False), ("shuffled_dup", False), ("narrow", False),
])
def test_unique_values_from_the_stored_column(keys_db, column, unique):
    src = TableSource("k", keys_db["k"]._snap)
    assert src.unique_values(column) is unique
    con = duckdb.connect()  # the truth, by DuckDB
    con.register("k", keys_db["k"].to_arrow())
    distinct, total = con.sql(f"SELECT count(DISTINCT {column}), count(*) FROM k"
                              ).fetchall()[0]
    assert (distinct == total) is unique


def test_unique_values_never_assumed_of_strings(keys_db):
    assert TableSource("k", keys_db["k"]._snap).unique_values("name") is False


# -- the built keys' range in the fact scan's kernel filter ----------------------------------

@pytest.fixture(scope="module")
def ranged(tmp_path_factory) -> Engines:
    from .compare import engines_over
    n = 20_000
    rng = np.random.default_rng(5)
    f = pa.table({"k": pa.array(rng.integers(0, 10_000, n), pa.int32()),
                  "v": pa.array(rng.integers(0, 100, n)),
                  "u": pa.array(np.arange(n) % 5000)})
    dk = [*range(0, 10_000, 7), None, -5_000_000_000, 5_000_000_000]
    x = [k // 100 for k in range(0, 10_000, 7)] + [1, 2, 3]  # x = 5: keys 500..599
    d = pa.table({"dk": pa.array(dk, pa.int64()), "x": pa.array(x)})
    e = engines_over(tmp_path_factory.mktemp("ranged") / "db", {"f": f, "d": d})
    yield e
    e.db.close()


@pytest.mark.parametrize("sql,ranged_to", [
    ("SELECT sum(v), count(*) FROM f JOIN d ON k = dk WHERE x = 5", "k in [504, 595]"),
    # keys at both ends of k's range: no range
    ("SELECT sum(v), count(*) FROM f JOIN d ON k = dk WHERE x = 5 OR x = 99", None),
    # -5e9 (out of k's INT range) with x = 2: the range starts at k's minimum
    ("SELECT sum(v), count(*) FROM f JOIN d ON k = dk WHERE x = 2", "k in [0, 294]"),
    ("SELECT sum(v) FROM f WHERE k IN (SELECT dk FROM d WHERE x = 5)", "k in [504, 595]"),
    ("SELECT count(*) FROM f WHERE u < 4000 AND k IN (SELECT dk FROM d WHERE x = 5)",
     "k in [504, 595]"),  # with a filter of the scan's own
    # rows without a match stay: no range
    ("SELECT count(*), count(dk) FROM f LEFT JOIN (SELECT * FROM d WHERE x = 5) s "
     "ON k = dk", None),
    ("SELECT count(*) FROM f WHERE k NOT IN (SELECT dk FROM d WHERE x = 5 AND dk >= 0)",
     None),
])
def test_join_key_range_in_the_kernel_filter(ranged, sql, ranged_to):
    check(ranged, sql)
    text = "\n".join(r[0] for r in ranged.db.sql("EXPLAIN ANALYZE " + sql).fetchall())
    if ranged_to is None:
        assert "join keys' ranges" not in text, text
    else:
        assert f"join keys' ranges {ranged_to}" in text, text
