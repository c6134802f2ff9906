"""mapdb.dask on a real 2-process LocalCluster: read_table and sql against single-process
mapdb. One cluster for the module (starting one costs seconds)."""

from __future__ import annotations

import decimal
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import mapdb
import mapdb.dask as mdask
from mapdb.api import parts
from mapdb.api.mapreduce import NotDecomposableError

distributed = pytest.importorskip("distributed")

ROWS = 60_000


@pytest.fixture(scope="module")
def client():
    # data that crossed between processes sits in arbitrarily aligned frames; pandas'
    # Arrow-backed group-bys (decimals) then make Acero print a warning per batch
    os.environ.setdefault("ACERO_ALIGNMENT_HANDLING", "reallocate")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _data(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": pa.array(np.arange(n) + seed * 10**6),
        "k": pa.array(rng.choice(["a", "b", "c", "d"], n)),
        "g": pa.array(rng.integers(0, 5, n)),
        "v": pa.array(rng.integers(-500, 500, n), mask=rng.random(n) < 0.05),
        "price": pa.array([decimal.Decimal(int(x)).scaleb(-2) for x in
                           rng.integers(0, 10**6, n)], pa.decimal128(15, 2)),
        "f": rng.random(n),
        "day": pa.array(rng.integers(18_000, 18_400, n).astype(np.int32)).cast(pa.date32()),
        "s": pa.array([f"s{x:04d}" for x in rng.integers(0, 3000, n)]),
        "ok": pa.array(rng.random(n) < 0.5, mask=rng.random(n) < 0.01),
    })


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> str:
    """Three segments (three commits); ``id`` ascending across them (a sorted attribute)."""
    path = str(tmp_path_factory.mktemp("dask") / "db")
    db = mapdb.connect(path)
    t = db.create_table("t", _data(ROWS // 2, 0), dictionary=["k"])
    t.append(_data(ROWS // 4, 1))
    t.append(_data(ROWS // 4, 2))
    assert t.describe()["segments"] == 3
    db.close()
    return path


def _rows(t: pa.Table) -> list[tuple]:
    """Rows as comparable tuples (floats rounded, NaN as None), sorted."""
    def norm(v):
        if isinstance(v, float):
            return None if math.isnan(v) else round(v, 9)
        return v
    cols = [[norm(v) for v in c.to_pylist()] for c in t.columns]
    return sorted(zip(*cols, strict=True), key=repr)


def _decoded(t: pa.Table) -> pa.Table:
    return pa.table({n: c.cast(pa.large_string()) if pa.types.is_dictionary(c.type) else c
                     for n, c in zip(t.column_names, t.columns, strict=True)})


def test_read_table_equals_the_table(client, db_path):
    t = mapdb.connect(db_path, readonly=True)["t"]
    df = mdask.read_table(db_path, "t", max_rows=20_000)
    assert df.npartitions == 4  # 30,000 rows split in two, then 15,000 and 15,000
    assert list(df.columns) == t.columns
    got = df.compute()
    assert list(got.dtypes.astype(str)) == list(df.dtypes.astype(str))  # meta is right
    assert str(got.dtypes["v"]) == "float64"  # an integer column with NULLs, every part
    assert str(got.dtypes["ok"]) == "boolean"
    want = _decoded(t.to_arrow())
    got = pa.Table.from_pandas(got, preserve_index=False).cast(want.schema)
    assert _rows(got) == _rows(want)


def test_projection_and_filters(client, db_path):
    db = mapdb.connect(db_path, readonly=True)
    want = db.sql("SELECT k, price, day FROM t WHERE g = 3 AND f < 0.5").to_arrow()
    for flt in (mapdb.col("g") == 3) & (mapdb.col("f") < 0.5), "g = 3 AND f < 0.5":
        df = mdask.read_table(db_path, "t", ["k", "price", "day"], filter=flt)
        assert list(df.columns) == ["k", "price", "day"]
        got = pa.Table.from_pandas(df.compute(), preserve_index=False).cast(want.schema)
        assert _rows(got) == _rows(want)
    t = db["t"]  # an expression built from a table (it remembers the table) works too
    df = mdask.read_table(db_path, "t", ["id"], filter=t.s.str.starts_with("s000"))
    assert sorted(df.compute()["id"]) == sorted(
        db.sql("SELECT id FROM t WHERE s LIKE 's000%'").to_arrow().column(0).to_pylist())


def test_pyarrow_dtypes_and_dask_groupby(client, db_path):
    df = mdask.read_table(db_path, "t", ["k", "price", "v"], dtype_backend="pyarrow")
    got = df.groupby("k").agg({"price": "sum", "v": "sum"}).compute().sort_index()
    want = mapdb.connect(db_path, readonly=True).sql(
        "SELECT k, sum(price) AS price, sum(v) AS v FROM t GROUP BY k ORDER BY k").to_arrow()
    assert list(got.index) == want.column("k").to_pylist()
    assert [decimal.Decimal(x) for x in got["price"]] == want.column("price").to_pylist()
    assert list(got["v"]) == want.column("v").to_pylist()


def test_sorted_index_gives_divisions(client, db_path):
    df = mdask.read_table(db_path, "t", ["f"], index="id", max_rows=20_000)
    assert df.known_divisions and df.npartitions == 4
    assert df.divisions[0] == 0 and df.divisions[-1] == 2 * 10**6 + ROWS // 4 - 1
    row = df.loc[10**6 + 5].compute()  # only the partition that can hold it is read
    t = mapdb.connect(db_path, readonly=True)
    assert row["f"].tolist() == t.sql("SELECT f FROM t WHERE id = 1000005").to_arrow() \
        .column(0).to_pylist()
    assert not mdask.read_table(db_path, "t", ["id"], index="g").known_divisions


def test_divisions_never_cut_a_run_of_equal_values(tmp_path):
    """Keys repeat (as l_orderkey does) and a run crosses a segment boundary: the cuts
    move to where the key changes, a partition spans two segments, divisions stay true."""
    path = str(tmp_path / "db")
    t = mapdb.connect(path).create_table("t", {"key": np.repeat(np.arange(100), 7)[:400]})
    t.append({"key": np.repeat(np.arange(100), 7)[400:]})  # row 400 is inside key 57's run
    assert t.indexes()[0]["kind"] == "sorted"
    df = mdask.read_table(path, "t", index="key", max_rows=150)
    assert df.known_divisions
    got = [p.compute(scheduler="sync").index for p in df.partitions]
    assert sum(len(x) for x in got) == 700
    for i, idx in enumerate(got):  # each partition inside its division
        lo, hi = df.divisions[i], df.divisions[i + 1]
        assert idx.min() == lo and (idx.max() < hi or (i == len(got) - 1 and idx.max() == hi))
    assert list(df.loc[57].compute(scheduler="sync").index) == [57] * 7


QUERIES = [
    "SELECT k, sum(v) AS s, avg(v) AS a, count(*) AS n, count(v) AS nv, min(price) AS lo, "
    "max(price) AS hi, sum(price) AS total, avg(price) AS mean_price FROM t GROUP BY k "
    "ORDER BY k",
    "SELECT g, k, sum(f) AS sf, min(day) AS first, max(s) AS last FROM t WHERE ok "
    "GROUP BY g, k ORDER BY g, k",
    "SELECT count(*), sum(v), avg(f), min(v), max(v) FROM t WHERE day >= DATE '2019-06-01'",
    "SELECT month(day) AS m, count(*) AS n, sum(v) / count(*) AS r FROM t GROUP BY m "
    "HAVING count(*) > 100 ORDER BY n DESC, m LIMIT 5",
    "SELECT g % 2 AS odd, round(avg(price * 2), 2) AS x FROM t WHERE k IN ('a', 'b') "
    "GROUP BY 1 ORDER BY 1",
    "SELECT count(*) AS n FROM t WHERE v > 1000",  # no row passes
]


@pytest.mark.parametrize("query", QUERIES)
def test_sql_map_reduce_equals_single_process(client, db_path, query):
    want = mapdb.connect(db_path, readonly=True).sql(query).to_arrow()
    got = mdask.sql(db_path, query, max_rows=20_000)
    assert got.schema == want.schema
    assert _rows(got) == _rows(want)


def test_sql_refuses_what_it_cannot_split(db_path):
    for q, what in [("SELECT count(DISTINCT k) FROM t", "DISTINCT"),
                    ("SELECT k, stddev(f) FROM t GROUP BY k", "STDDEV"),
                    ("SELECT * FROM t", "SELECT *"),
                    ("SELECT k, f FROM t WHERE g = 1", "without aggregates")]:
        with pytest.raises(NotDecomposableError, match=what):
            mdask.sql(db_path, q)
    with pytest.raises(mapdb.MapdbError, match='column "nope" not found'):
        mdask.sql(db_path, "SELECT sum(nope) FROM t", scheduler="sync")


def test_the_version_is_pinned_when_the_graph_is_built(client, tmp_path):
    path = str(tmp_path / "db")
    db = mapdb.connect(path)
    t = db.create_table("t", {"x": list(range(1000))})
    t.append({"x": list(range(1000, 2000))})
    df = mdask.read_table(path, "t")
    t.append({"x": [10**6]})
    t.compact()  # one segment now; the old version's files stay while df pins them
    assert sorted(df.compute()["x"]) == list(range(2000))
    assert mdask.sql(path, "SELECT count(*) AS n FROM t").column(0).to_pylist() == [2001]


def test_parts_run_anywhere_with_only_a_path(db_path):
    """What a worker gets: a Part (path, table, version, segment, rows), small and plain."""
    import pickle
    t = mapdb.connect(db_path, readonly=True)["t"]
    ps = parts.split(t, max_rows=20_000)
    assert len(pickle.dumps(ps[0])) < 300
    assert sum(p.rows for p in ps) == len(t) == ROWS
    total = sum(parts.read(p, ["id"]).num_rows for p in ps)
    assert total == ROWS


def test_missing_dask_is_a_clear_error(monkeypatch, db_path):
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(mapdb.MapdbError, match=r"pip install 'dask\[distributed\]'"):
        mdask.read_table(db_path, "t")


# -- TPC-H lineitem at scale factor 1 (pytest -m slow) --------------------------------------

Q1_SUMS = ("SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, "
           "sum(l_extendedprice) AS sum_base_price, sum(l_discount) AS sum_disc, "
           "count(*) AS count_order FROM lineitem GROUP BY l_returnflag, l_linestatus "
           "ORDER BY l_returnflag, l_linestatus")


@pytest.mark.slow
def test_tpch_sf1_lineitem_grouped_sums(client, tmp_path):
    """The issue's must-show: read_table on a 2-worker LocalCluster gives the grouped sums
    of lineitem SF1 that single-process mapdb gives (and so does sql)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from datasets import tpch
    cache = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "tpch-sf1"
    db = tpch.build(tmp_path / "tpch.mapdb", scale=1, tables=["lineitem"], parquet_dir=cache,
                    indexes=False)
    path = db.path
    assert len(db["lineitem"]) == tpch.ROWS_SF1["lineitem"]
    t0 = time.perf_counter()
    want = db.sql(Q1_SUMS).to_arrow()
    single = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = mdask.read_table(path, "lineitem", ["l_returnflag", "l_linestatus", "l_quantity",
                                             "l_extendedprice", "l_discount"],
                          max_rows=2_000_000)
    g = df.groupby(["l_returnflag", "l_linestatus"]).agg(
        sum_qty=("l_quantity", "sum"), sum_base_price=("l_extendedprice", "sum"),
        sum_disc=("l_discount", "sum"), count_order=("l_quantity", "count")).compute()
    dask_read = time.perf_counter() - t0
    g = g.sort_index()
    assert [k for k in g.index] == list(zip(want.column(0).to_pylist(),
                                            want.column(1).to_pylist(), strict=True))
    for name in ("sum_qty", "sum_base_price", "sum_disc", "count_order"):
        assert [int(x) if name == "count_order" else decimal.Decimal(x) for x in g[name]] \
            == want.column(name).to_pylist(), name

    t0 = time.perf_counter()
    got = mdask.sql(path, Q1_SUMS, max_rows=2_000_000)
    dask_sql = time.perf_counter() - t0
    assert got.equals(want)
    print(f"\nlineitem SF1: single-process mapdb {single:.2f}s, dask read_table + groupby "
          f"{dask_read:.2f}s ({df.npartitions} partitions), dask sql {dask_sql:.2f}s")
