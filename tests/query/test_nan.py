"""Floating-point NaN, infinities and signed zeros as DuckDB orders and compares them
(issue 16): NaN = NaN, NaN above +inf in ORDER BY (ASC and DESC, NULLS FIRST/LAST) and in
<, >, BETWEEN and IN, max() is NaN when there is one, GROUP BY / DISTINCT / COUNT(DISTINCT)
/ set operations / joins see one NaN and one zero, through the general path, the fused
kernels (filters and aggregates) and the zone maps, in SQL and in lazy frames.

Before: ORDER BY x DESC put NaN last, ``x > 1e308`` left NaN out (and the fused filter
kept 1e308 itself: its float bounds were inclusive), ``max`` skipped NaN, a join on a
float key did not match NaN with -NaN nor -0.0 with 0.0, UNION kept both, and a zone map
(which leaves NaN out of a block's max) skipped the blocks holding the NaN a filter
wanted."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb import col
from mapdb.query.types import QueryError

from .compare import same_value

NAN = float("nan")
NEG_NAN = -np.float64("nan")  # the sign bit set: another NaN's bits (0.0/0.0 on x86)
INF = float("inf")
EDGE = [1.0, NAN, None, -0.0, 0.0, NEG_NAN, INF, -INF, 2.5, 1e308, -1e-300, NAN]

A = pa.table({
    "id": pa.array(range(len(EDGE)), pa.int64()),
    "x": pa.array(EDGE, pa.float64()),
    "h": pa.array(EDGE, pa.float32()),
    "g": pa.array([1, 1, 2, 2, 3, 3, 1, 2, 3, 1, 2, None], pa.int32()),
    "s": pa.array(["a", "b", "a", None, "c", "b", "a", "c", "c", "b", "a", "a"]),
})
# the same values in another order and multiplicity (join partners)
B = A.take(pa.array([11, 5, 4, 3, 3, 6, 7, 2, 0, 9, 1]))


def _blocks() -> pa.Table:
    """Four zone-map blocks (16384 rows each): numbers <= 1 with a few NaN (the block's
    zone-map max is 1), all NaN, numbers in [2, 3] with -0.0, NULLs and +inf."""
    n = 16384
    rng = np.random.default_rng(16)
    b0 = rng.random(n)
    b0[[7, 5000]] = np.nan
    b2 = 2 + rng.random(n)
    b2[9] = -0.0
    b3 = np.full(n, np.inf)
    mask = np.zeros(4 * n, bool)
    mask[3 * n: 3 * n + 100] = True
    x = np.concatenate([b0, np.full(n, np.nan), b2, b3])
    return pa.table({"id": pa.array(np.arange(4 * n)),
                     "x": pa.array(x, mask=mask),
                     "k": pa.array(np.arange(4 * n) % 7)})


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("nan") / "db")
    con = duckdb.connect()
    big = _blocks()
    for name, t in (("a", A), ("b", B), ("z", big)):
        db.create_table(name, t, dictionary=["s"] if "s" in t.column_names else ())
        con.register(name, t)
    yield db, con
    db.close()
    con.close()


def _key(v):
    if v is None:
        return (3, 0.0)
    if isinstance(v, float) and math.isnan(v):
        return (2, 0.0)
    if isinstance(v, (int, float)):
        return (1, float(v) + 0.0)
    return (0, str(v))


def _rows(rows, ordered: bool):
    return rows if ordered else sorted(rows, key=lambda r: [_key(v) for v in r])


def _same(got, want) -> bool:
    return len(got) == len(want) and all(
        len(g) == len(w) and all(same_value(a, b) for a, b in zip(g, w, strict=True))
        for g, w in zip(got, want, strict=True))


def check(engines, sql: str, ordered: bool = False) -> list:
    db, con = engines
    want = _rows(con.sql(sql).fetchall(), ordered)
    for fused in (True, False):
        got = _rows(db.sql(sql, fused=fused).fetchall(), ordered)
        assert _same(got, want), f"fused={fused}\n{sql}\nmapdb:  {got}\nDuckDB: {want}"
    return want


ORDERED = [
    "SELECT id, x FROM a ORDER BY x, id",
    "SELECT id, x FROM a ORDER BY x DESC, id",
    "SELECT id, x FROM a ORDER BY x NULLS FIRST, id",
    "SELECT id, x FROM a ORDER BY x DESC NULLS FIRST, id",
    "SELECT id, x FROM a ORDER BY x DESC NULLS LAST, id",
    "SELECT id, h FROM a ORDER BY h DESC, id",
    "SELECT id, x FROM a ORDER BY x DESC, id LIMIT 4",
    "SELECT id, x FROM a ORDER BY x, id LIMIT 3 OFFSET 7",
    "SELECT g, max(x) AS m FROM a GROUP BY g ORDER BY m DESC NULLS LAST, g",
    "SELECT id, x, rank() OVER (ORDER BY x DESC) FROM a ORDER BY id",
    "SELECT id, max(x) OVER (PARTITION BY g ORDER BY id ROWS BETWEEN 1 PRECEDING AND "
    "CURRENT ROW), min(x) OVER (PARTITION BY x) FROM a ORDER BY id",
]

UNORDERED = [
    # comparisons: NaN = NaN, NaN above every number, -0.0 = 0.0
    "SELECT id, x = x, x <> x, x < 1, x > 1, x >= 'inf', x < 'NaN', x <= 'nan', "
    "x = 'NaN', x = 0.0, x = -0.0 FROM a",
    "SELECT id FROM a WHERE x > 1e308",
    "SELECT id FROM a WHERE x >= 'inf'",
    "SELECT id FROM a WHERE x > 'inf'",
    "SELECT id FROM a WHERE x = 'NaN'",
    "SELECT id FROM a WHERE x = CAST('-nan' AS DOUBLE)",
    "SELECT id FROM a WHERE x <> 'NaN'",
    "SELECT id FROM a WHERE x < 'NaN'",
    "SELECT id FROM a WHERE x < '-inf'",
    "SELECT id FROM a WHERE x > 2.5",
    "SELECT id FROM a WHERE x > 0.0",
    "SELECT id FROM a WHERE x >= -0.0 AND x <= 0",
    "SELECT id FROM a WHERE x BETWEEN 2 AND 'NaN'",
    "SELECT id FROM a WHERE x NOT BETWEEN -1 AND 1",
    "SELECT id FROM a WHERE x IN (1.0, 'NaN', -0.0)",
    "SELECT id FROM a WHERE x NOT IN (1.0, 'NaN')",
    "SELECT id FROM a WHERE h IN (1, 'NaN', 0)",
    "SELECT id FROM a WHERE h > 1 OR h < -1",
    "SELECT id FROM a WHERE x IS NOT NULL",
    "SELECT id FROM a WHERE x > 2 OR x = 'nan'",
    "SELECT id, x = h, x < h, nullif(x, 'NaN'::DOUBLE), nullif(x, 0.0) FROM a",
    "SELECT id, CASE WHEN x > 100 THEN 'big' ELSE 'small' END FROM a",
    # aggregates: NaN is the largest value
    "SELECT min(x), max(x), min(h), max(h), count(x), count(DISTINCT x) FROM a",
    "SELECT min(x), max(x), count(*) FROM a WHERE x >= 2.5",
    "SELECT min(x), max(x) FROM a WHERE x = 'NaN'",
    "SELECT min(x), max(x) FROM a WHERE x < 0",
    "SELECT min(x), max(x) FROM a WHERE id > 100",
    "SELECT g, min(x), max(x), sum(x), count(*) FROM a GROUP BY g",
    "SELECT s, min(h), max(h), count(DISTINCT x) FROM a GROUP BY s",
    "SELECT g, count(DISTINCT x), count(DISTINCT h) FROM a GROUP BY g",
    # grouping, DISTINCT, set operations: one NaN, one zero
    "SELECT x, count(*) FROM a GROUP BY x",
    "SELECT h, count(*), min(id) FROM a GROUP BY h",
    "SELECT x, s, count(*) FROM a GROUP BY x, s",
    "SELECT DISTINCT x FROM a",
    "SELECT DISTINCT h, g FROM a",
    "SELECT count(DISTINCT x), count(DISTINCT h) FROM a",
    "SELECT x FROM a UNION SELECT x FROM b",
    "SELECT x FROM a INTERSECT SELECT x FROM b",
    "SELECT x FROM a EXCEPT SELECT x FROM b WHERE x IS NULL OR x < 1",
    "SELECT x FROM a INTERSECT ALL SELECT x FROM b",
    "SELECT x FROM a EXCEPT ALL SELECT x FROM b",
    # joins on float keys: NaN matches NaN (any bits), -0.0 matches 0.0
    "SELECT a.id, b.id FROM a JOIN b ON a.x = b.x",
    "SELECT a.id, b.id FROM a JOIN b ON a.h = b.h AND a.g = b.g",
    "SELECT a.id, b.id FROM a LEFT JOIN b ON a.x = b.x",
    "SELECT a.id, b.id FROM a FULL JOIN b ON a.x = b.x AND b.id > 3",
    "SELECT id FROM a WHERE x IN (SELECT x FROM b)",
    "SELECT id FROM a WHERE x NOT IN (SELECT x FROM b WHERE x IS NOT NULL AND x <> 0)",
    "SELECT id FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.x = a.x AND b.id <> a.id)",
    "SELECT id, (SELECT count(*) FROM b WHERE b.x = a.x) FROM a",
    "SELECT a.id, b.id FROM a JOIN b ON a.x = b.h",
    # zone maps: a block holding NaN is not skipped by a filter NaN passes
    "SELECT count(*), count(x) FROM z WHERE x > 1e308",
    "SELECT count(*) FROM z WHERE x > 1.5",
    "SELECT count(*) FROM z WHERE x = 'NaN'",
    "SELECT count(*) FROM z WHERE x >= 3",
    "SELECT count(*) FROM z WHERE x < 'NaN'",
    "SELECT count(*) FROM z WHERE x <= 1",
    "SELECT count(*) FROM z WHERE x = 0.0",
    "SELECT id FROM z WHERE x > 1.5 AND x < 'inf' AND id % 997 = 0",
    "SELECT k, count(*), max(x), min(x) FROM z WHERE x > 0.99 GROUP BY k",
    "SELECT k, max(x), min(x) FROM z GROUP BY k",
    "SELECT max(x), min(x), count(*) FROM z WHERE id < 20000",
    "SELECT id, x FROM z WHERE x > 1e308 ORDER BY x DESC, id LIMIT 5",
    "SELECT id, x FROM z ORDER BY x DESC NULLS FIRST, id LIMIT 3",
]


@pytest.mark.parametrize("sql", ORDERED)
def test_ordered(engines, sql):
    check(engines, sql, ordered=True)


@pytest.mark.parametrize("sql", UNORDERED)
def test_unordered(engines, sql):
    check(engines, sql)


def test_nan_literals(engines):
    """'NaN', 'inf', '-Infinity', ' 1.5 ' cast to DOUBLE (and FLOAT) as DuckDB reads them;
    a string that is no number is a QueryError."""
    check(engines, "SELECT CAST('NaN' AS DOUBLE), CAST('-inf' AS DOUBLE), "
                   "CAST('Infinity' AS FLOAT), CAST(' 1.5 ' AS DOUBLE), CAST('1e400' AS "
                   "DOUBLE), 'nan'::DOUBLE = 'NaN'::DOUBLE, 'nan'::DOUBLE > 'inf'::DOUBLE "
                   "FROM a LIMIT 1")
    db, _ = engines
    with pytest.raises(QueryError, match="DOUBLE"):
        db.sql("SELECT CAST('abc' AS DOUBLE) FROM a").fetchall()
    with pytest.raises(QueryError):
        db.sql("SELECT CAST(s AS DOUBLE) FROM a").fetchall()


def test_fused_filter_bounds_are_strict(engines):
    """The fused filter's float bounds were inclusive: x > 1e308 kept 1e308."""
    db, _ = engines
    for fused in (True, False):
        got = db.sql("SELECT count(*) FROM a WHERE x > 1e308", fused=fused).fetchall()
        assert got == [(4,)]  # inf and three NaNs
        got = db.sql("SELECT count(*) FROM a WHERE x < -1e-300", fused=fused).fetchall()
        assert got == [(1,)]  # -inf


def _values(t: pa.Table, name: str) -> list:
    return ["nan" if isinstance(v, float) and math.isnan(v) else v
            for v in t.column(name).to_pylist()]


def test_frames(engines):
    db, _ = engines
    a = db["a"]
    assert _values(a.sort("x", descending=True).collect(), "x")[:3] == ["nan", "nan", "nan"]
    assert _values(a.sort("x").collect(), "x")[-4:] == ["nan", "nan", "nan", None]
    assert sorted(a.filter(col("x") > 1e308).collect().column("id").to_pylist()) == \
        [1, 5, 6, 11]
    assert sorted(a.filter(col("x") == NAN).collect().column("id").to_pylist()) == [1, 5, 11]
    assert sorted(a.filter(col("x") == 0.0).collect().column("id").to_pylist()) == [3, 4]
    assert sorted(a.filter(col("x").is_in([NAN, 0.0])).collect().column("id")
                  .to_pylist()) == [1, 3, 4, 5, 11]
    groups = a.group_by("x").agg(mapdb.count().alias("n")).collect()
    counts = sorted(zip(_values(groups, "x"), groups.column("n").to_pylist(), strict=True),
                    key=lambda r: _key(r[0] if r[0] != "nan" else NAN))
    assert counts == [(-INF, 1), (-1e-300, 1), (0.0, 2), (1.0, 1), (2.5, 1), (1e308, 1),
                      (INF, 1), ("nan", 3), (None, 1)]
    assert a.select("x").distinct().collect().num_rows == 9
    top = a.select(col("x").max().alias("hi"), col("x").min().alias("lo")).collect()
    assert _values(top, "hi") == ["nan"] and top.column("lo").to_pylist() == [-INF]
    per = a.group_by("g").agg(col("x").max().alias("m")).sort("g").collect()
    assert _values(per, "m") == ["nan", 0.0, "nan", "nan"]
    joined = a.lazy().join(db["b"], on="x").collect()
    want = duckdb.sql("SELECT count(*) FROM A JOIN B ON A.x = B.x").fetchall()[0][0]
    assert joined.num_rows == want == 19
    a.close()
