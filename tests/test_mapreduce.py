"""mapdb.api.mapreduce in one process: partial SQL over every part, combine, final SQL;
the answer must equal ``db.sql`` over the whole table (names, types, values)."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb.api import mapreduce, parts

N = 20_000


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    rng = np.random.default_rng(1)
    data = pa.table({
        "k": pa.array(rng.choice(["a", "b", "c", None], N)),
        "g": pa.array(rng.integers(0, 7, N)),
        "v": pa.array(rng.integers(-1000, 1000, N), mask=rng.random(N) < 0.1),
        "d": pa.array([decimal.Decimal(int(x)).scaleb(-2) for x in rng.integers(0, 10**6, N)],
                      pa.decimal128(15, 2)),
        "f": rng.random(N),
        "day": pa.array(rng.integers(18000, 19000, N).astype("int32")).cast(pa.date32()),
        "s": pa.array([f"s{x}" for x in rng.integers(0, 1000, N)]),
    })
    db = mapdb.connect(tmp_path_factory.mktemp("mr") / "db")
    t = db.create_table("t", data, dictionary=["k"])
    t.append(data.slice(0, 7000))
    yield db
    db.close()


QUERIES = [
    "SELECT k, sum(v) AS s, avg(v) AS a, count(*) AS n, count(v) AS nv, min(d), max(d), "
    "min(s), max(day) FROM t GROUP BY k ORDER BY k",
    "SELECT g, k, sum(d) AS sd, avg(d) FROM t WHERE f > 0.3 GROUP BY g, k ORDER BY g, k",
    "SELECT count(*), sum(v), avg(f), min(v), max(v) FROM t",
    "SELECT count(*), sum(v), avg(v), max(s) FROM t WHERE v > 100000",
    "SELECT month(day) AS m, count(*) AS n FROM t GROUP BY m ORDER BY n DESC, m LIMIT 3",
    "SELECT year(day), count(*) FROM t GROUP BY 1 ORDER BY 1",
    "SELECT k, sum(v) / count(*) AS r FROM t GROUP BY k HAVING count(*) > 10 ORDER BY r DESC",
    "SELECT k AS kk, count(*) AS n FROM t GROUP BY kk HAVING count(*) > 1 "
    "ORDER BY kk NULLS FIRST",
    "SELECT t.k, max(t.f) FROM t GROUP BY t.k ORDER BY 1",
    "SELECT g % 3 AS h, sum(d * 2) AS x FROM t GROUP BY g % 3 ORDER BY h",
    "SELECT k FROM t GROUP BY k ORDER BY k",
    "SELECT k, sum(d) / count(*) AS x FROM t GROUP BY k ORDER BY k",
    "SELECT k, round(avg(f), 3) AS x, sum(v) + 1 AS y FROM t GROUP BY k ORDER BY k "
    "LIMIT 2 OFFSET 1",
]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    return a == b


@pytest.mark.parametrize("query", QUERIES)
def test_map_reduce_equals_the_whole_table(db, query):
    want = db.sql(query).to_arrow()
    mr = mapreduce.plan(query)
    ps = parts.split(db["t"], max_rows=6000)
    assert len(ps) == 6  # 20,000 rows in four parts, then 7,000 in two
    got = mr.reduce([parts.sql(p, mr.partial) for p in ps], parts.schema(ps[0], query))
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    for g, w in zip(got.columns, want.columns, strict=True):
        assert all(_same(a, b) for a, b in zip(g.to_pylist(), w.to_pylist(), strict=True))


@pytest.mark.parametrize("query, what", [
    ("SELECT count(DISTINCT k) FROM t", "DISTINCT"),
    ("SELECT stddev(f) FROM t", "STDDEV"),
    ("SELECT * FROM t", "SELECT \\*"),
    ("SELECT k FROM t", "without aggregates"),
    ("SELECT k, sum(v) OVER () FROM t", "window"),
    ("SELECT count(*) FROM (SELECT k FROM t)", "subquery"),
    ("SELECT 1; SELECT 2", "2 statements"),
])
def test_refused(query, what):
    with pytest.raises(mapreduce.NotDecomposableError, match=what):
        mapreduce.plan(query)
