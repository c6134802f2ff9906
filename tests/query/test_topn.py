"""Top-N (ORDER BY ... LIMIT n [OFFSET m]) as an operator (query.topn) against DuckDB.

The table has several segments, columns of every kind the keys-first path handles
(integers, floats with NaN and -0.0, plain and dictionary strings with long shared
prefixes, dates, timestamps, decimals, booleans), NULLs, a column that rises with the row
(zone maps then skip most blocks) and one of few values (they skip none). Queries whose
sort keys are unique (or end in the unique ``id``) compare whole rows; the others compare
the sort-key columns only (DuckDB picks among ties as it likes).
"""

from __future__ import annotations

import datetime
import decimal
import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb.query import optimizer

N = 120_000
SEGMENTS = 3


def _data() -> pa.Table:
    rng = np.random.default_rng(7)
    ids = rng.permutation(N).astype(np.int64)
    u = rng.permutation(N).astype(np.int64) * 7 - 300_000  # unique, negatives too
    f = rng.permutation(N).astype(np.float64) / 8 - 5000.0
    f[rng.choice(N, 20, replace=False)] = np.nan
    f[rng.choice(N, 3, replace=False)] = -0.0
    f[rng.choice(N, 2, replace=False)] = np.inf
    f[rng.choice(N, 2, replace=False)] = -np.inf
    words = np.array([f"a_shared_prefix_{i:06d}" for i in rng.permutation(N)], dtype=object)
    base = datetime.date(2000, 1, 1)
    days = rng.integers(0, 9000, N)
    return pa.table({
        "id": pa.array(ids),
        "u": pa.array(u, mask=rng.random(N) < 0.1),
        "f": pa.array(f, mask=rng.random(N) < 0.05),
        "s": pa.array(words, pa.string(), mask=rng.random(N) < 0.05),
        "cat": pa.array(rng.choice(["x", "yy", "zzz", "w"], N), pa.string()),
        "d": pa.array([base + datetime.timedelta(days=int(x)) for x in days], pa.date32(),
                      mask=rng.random(N) < 0.05),
        "ts": pa.array(rng.integers(0, 10**15, N), pa.timestamp("us")),
        "dec": pa.array([decimal.Decimal(int(x)) / 100 for x in rng.integers(-10**7, 10**7, N)],
                        pa.decimal128(10, 2)),
        "b": pa.array(rng.random(N) < 0.5, mask=rng.random(N) < 0.1),
        "k": pa.array(rng.integers(0, 5, N).astype(np.int32)),
        "seq": pa.array(np.arange(N, dtype=np.int64) * 3 + rng.integers(0, 100, N),
                        mask=rng.random(N) < 0.01),
    })


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    t = _data()
    db = mapdb.connect(tmp_path_factory.mktemp("topn") / "db")
    step = N // SEGMENTS
    db.create_table("t", t.slice(0, step), dictionary=["cat"])
    for i in range(1, SEGMENTS):
        db.table("t").append(t.slice(i * step, step))
    dim = pa.table({"k": pa.array([0, 1, 2, 3, 4], pa.int32()),
                    "name": ["zero", "one", "two", "three", "four"]})
    db.create_table("dim", dim)
    con = duckdb.connect()
    con.register("t", t)
    con.register("dim", dim)
    yield db, con
    con.close()
    db.close()


def _norm(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and v == 0:
        return 0.0  # -0.0 and 0.0 are one key
    return v


def _rows(rows, cols=None):
    return [tuple(_norm(v) for i, v in enumerate(r) if cols is None or i in cols)
            for r in rows]


def check(engines, sql: str, key_cols: list[int] | None = None) -> None:
    """mapdb's rows equal DuckDB's (on the columns ``key_cols`` only, when given)."""
    db, con = engines
    want = con.execute(sql).fetchall()
    got = db.sql(sql).fetchall()
    assert _rows(got, key_cols) == _rows(want, key_cols), sql


UNIQUE = [  # whole rows compared: unique sort keys, or ties broken by id
    "SELECT * FROM t ORDER BY id LIMIT 5",
    "SELECT * FROM t ORDER BY id DESC LIMIT 7",
    "SELECT id, u FROM t ORDER BY u DESC NULLS LAST LIMIT 3",
    "SELECT id, u FROM t ORDER BY u DESC NULLS FIRST, id LIMIT 20",
    "SELECT id, u FROM t ORDER BY u ASC NULLS FIRST, id LIMIT 15 OFFSET 5",
    "SELECT id, u FROM t ORDER BY u LIMIT 4 OFFSET 10",
    "SELECT id, f FROM t ORDER BY f DESC, id LIMIT 30",
    "SELECT id, f FROM t ORDER BY f DESC NULLS FIRST, id LIMIT 30",
    "SELECT id, f FROM t ORDER BY f, id LIMIT 10",
    "SELECT id, f FROM t ORDER BY f NULLS FIRST, id LIMIT 10",
    "SELECT id, f FROM t WHERE f > -1 AND f < 1 ORDER BY f, id LIMIT 10",
    "SELECT id, s FROM t ORDER BY s LIMIT 6",
    "SELECT id, s FROM t ORDER BY s DESC LIMIT 6",
    "SELECT id, s FROM t ORDER BY s DESC NULLS FIRST, id LIMIT 8",
    "SELECT id, cat FROM t ORDER BY cat DESC, id LIMIT 5",
    "SELECT id, d FROM t ORDER BY d DESC, id LIMIT 9",
    "SELECT id, d FROM t ORDER BY d NULLS FIRST, id LIMIT 9",
    "SELECT id, ts FROM t ORDER BY ts DESC LIMIT 4",
    "SELECT id, dec FROM t ORDER BY dec, id LIMIT 6",
    "SELECT id, dec FROM t ORDER BY dec DESC, id LIMIT 6",
    "SELECT id, b FROM t ORDER BY b DESC, id LIMIT 5",
    "SELECT id, b FROM t ORDER BY b NULLS FIRST, id DESC LIMIT 5",
    "SELECT * FROM t ORDER BY seq DESC LIMIT 5",
    "SELECT * FROM t ORDER BY seq NULLS FIRST, id LIMIT 5",
    "SELECT * FROM t ORDER BY seq LIMIT 5 OFFSET 1000",
    "SELECT * FROM t ORDER BY k DESC, id LIMIT 10",
    "SELECT * FROM t ORDER BY k, cat DESC, id DESC LIMIT 10 OFFSET 3",
    "SELECT id, k, u FROM t ORDER BY k, u DESC NULLS FIRST, id LIMIT 12",
    "SELECT id, u FROM t WHERE k = 3 ORDER BY u DESC LIMIT 5",
    "SELECT id, u FROM t WHERE k = 3 AND cat <> 'x' ORDER BY u DESC LIMIT 5",
    "SELECT id, u FROM t WHERE s LIKE '%12%' ORDER BY u LIMIT 5",
    "SELECT id, seq FROM t WHERE seq BETWEEN 3000 AND 90000 ORDER BY seq DESC LIMIT 5",
    "SELECT id * 2 AS x, u FROM t ORDER BY x DESC LIMIT 4",
    "SELECT id, u + k AS z FROM t ORDER BY z, id LIMIT 4",
    "SELECT id, abs(f) AS a FROM t WHERE f = f ORDER BY a DESC, id LIMIT 6",
    "SELECT id, lower(s) AS ls FROM t ORDER BY ls DESC NULLS LAST LIMIT 6",
    "SELECT * FROM t ORDER BY u DESC LIMIT 0",
    "SELECT * FROM t ORDER BY id LIMIT 200000",
    "SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 119998",
    "SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 200000",
    "SELECT id FROM t WHERE id < 0 ORDER BY id LIMIT 5",
    "SELECT * FROM (SELECT id, u FROM t ORDER BY u DESC LIMIT 50) ORDER BY id LIMIT 5",
    # over joins and aggregates: the top-N of their output
    "SELECT t.id, dim.name FROM t JOIN dim ON t.k = dim.k ORDER BY t.id DESC LIMIT 5",
    "SELECT t.id, dim.name FROM t JOIN dim ON t.k = dim.k WHERE dim.name <> 'one' "
    "ORDER BY t.u DESC NULLS LAST, t.id LIMIT 5",
    "SELECT k, sum(u) AS su, count(*) AS n FROM t GROUP BY k ORDER BY su DESC LIMIT 3",
    "SELECT cat, max(f) AS m FROM t GROUP BY cat ORDER BY cat LIMIT 2 OFFSET 1",
    "SELECT d, count(*) AS n FROM t GROUP BY d ORDER BY d DESC NULLS FIRST LIMIT 4",
    "SELECT k, id FROM t WHERE id IN (SELECT id FROM t WHERE u > 100) ORDER BY id LIMIT 5",
]

KEYS_ONLY = [  # ties DuckDB may break differently: compare the key columns
    ("SELECT u, id FROM t ORDER BY u DESC NULLS FIRST LIMIT 5", [0]),
    ("SELECT f, id FROM t ORDER BY f DESC LIMIT 25", [0]),
    ("SELECT f, id FROM t ORDER BY f DESC NULLS FIRST LIMIT 25", [0]),
    ("SELECT k, cat FROM t ORDER BY k DESC, cat LIMIT 20", [0, 1]),
    ("SELECT b, id FROM t ORDER BY b LIMIT 5", [0]),
    ("SELECT d FROM t ORDER BY d DESC NULLS LAST LIMIT 3", [0]),
    ("SELECT cat FROM t ORDER BY cat DESC LIMIT 3 OFFSET 10", [0]),
    ("SELECT 1 AS one FROM t ORDER BY one LIMIT 3", [0]),
]


@pytest.mark.parametrize("sql", UNIQUE)
def test_unique_keys(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("sql,cols", KEYS_ONLY)
def test_tied_keys(engines, sql, cols):
    check(engines, sql, cols)


def _explain(db, sql: str) -> str:
    return "\n".join(r[-1] for r in db.sql("EXPLAIN ANALYZE " + sql).fetchall())


def test_explain_names_the_operator(engines):
    db, _ = engines
    text = "\n".join(r[-1] for r in db.sql(
        "EXPLAIN SELECT * FROM t ORDER BY u DESC LIMIT 3").fetchall())
    assert "TopN 3 by" in text and "keys first" in text and "zone maps of u" in text
    assert "Sort" not in text and "Limit" not in text
    text = "\n".join(r[-1] for r in db.sql(
        "EXPLAIN SELECT k, count(*) AS n FROM t GROUP BY k ORDER BY n LIMIT 2").fetchall())
    assert "TopN 2 by" in text and "bounded selection" in text
    # a large limit keeps the full sort
    text = "\n".join(r[-1] for r in db.sql(
        f"EXPLAIN SELECT * FROM t ORDER BY u LIMIT {optimizer.TOPN_MAX + 1}").fetchall())
    assert "TopN" not in text and "Sort" in text


def test_zone_maps_skip_blocks(engines):
    """A rising column: only the blocks at its top are read, and the other columns are
    gathered for the winners only."""
    db, _ = engines
    text = _explain(db, "SELECT * FROM t ORDER BY seq DESC LIMIT 3")
    line = next(x for x in text.splitlines() if "Scan t" in x)
    read = int(line.split("sort keys of ")[1].split(" rows")[0].replace(",", ""))
    assert read <= 4 * 16384, line
    assert "other columns gathered for 3 rows" in text


def test_late_materialization_reads_keys_only(engines):
    """Without useful zone maps (few values) every row's key is read, but no other
    column: the scan reads k and id."""
    db, _ = engines
    text = _explain(db, "SELECT * FROM t ORDER BY k DESC, id LIMIT 3")
    assert "other columns gathered for 3 rows" in text
    assert db.sql("SELECT * FROM t ORDER BY k DESC, id LIMIT 3").fetchall() == \
        db.sql("SELECT * FROM t ORDER BY k DESC, id LIMIT 100000").fetchall()[:3]


def test_parameters_and_repeats(engines):
    db, con = engines
    sql = "SELECT id, u FROM t WHERE k = ? ORDER BY u DESC NULLS LAST, id LIMIT 4"
    for k in (0, 2, 4, 2):
        assert db.sql(sql, params=[k]).fetchall() == con.execute(sql, [k]).fetchall()


def test_arrow_source():
    """Over an in-memory Arrow table (no zone maps, no point reads): the same rows."""
    from mapdb.query.binder import bind_sql
    from mapdb.query.executor import Context, run
    from mapdb.query.source import ArrowSource
    t = _data()
    src = {"t": ArrowSource("t", t)}
    con = duckdb.connect()
    con.register("t", t)
    for sql in ["SELECT * FROM t ORDER BY u DESC NULLS FIRST, id LIMIT 7 OFFSET 2",
                "SELECT id, f FROM t WHERE k = 1 ORDER BY f DESC, id LIMIT 9",
                "SELECT id, s FROM t ORDER BY s, id LIMIT 3"]:
        ctx = Context(workers=2)
        try:
            got = run(bind_sql(sql, src.__getitem__), ctx)
        finally:
            ctx.close()
        rows = list(zip(*(c.to_pylist() for c in got.columns), strict=True))
        assert _rows(rows) == _rows(con.execute(sql).fetchall()), sql
