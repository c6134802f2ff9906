"""RowRangeSource (a table version restricted to row ranges of some segments): every scan
path sees exactly those rows. Each query over the restricted source must equal the same
query over an Arrow table holding just those rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb.query.executor import Context, materialize, output
from mapdb.query.explain import render
from mapdb.query.session import prepare_over
from mapdb.query.source import ArrowSource, PruneStats, RowRangeSource

SEGMENT = 300_000  # three morsels and a bit per segment


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("rowrange") / "db")
    rng = np.random.default_rng(7)
    for i in range(3):
        ids = np.arange(i * SEGMENT, (i + 1) * SEGMENT)
        data = {"id": ids, "k": rng.choice(["x", "y", "z"], SEGMENT),
                "v": rng.integers(0, 1000, SEGMENT), "f": rng.random(SEGMENT)}
        if i == 0:
            t = db.create_table("t", data, dictionary=["k"])
        else:
            t.append(data)
    t.create_index("v")  # hash index (id is sorted: a detected sorted attribute)
    assert {ix["kind"] for ix in t.indexes()} == {"hash", "sorted"}
    yield db
    db.close()


QUERIES = [
    "SELECT k, count(*), sum(v), min(f), max(id) FROM t GROUP BY k ORDER BY k",  # fused
    "SELECT id, v FROM t WHERE v = 123 ORDER BY id",                          # hash index
    "SELECT count(*), sum(v) FROM t WHERE id BETWEEN 250000 AND 620000",      # sorted
    "SELECT id, f FROM t ORDER BY f DESC LIMIT 7",                            # top-N
    "SELECT id FROM t WHERE k = 'y' AND f < 0.01 ORDER BY id LIMIT 20",       # kernel filter
    "SELECT count(DISTINCT v) FROM t",
]

SPANS = [
    {0: (0, SEGMENT)},
    {1: (131_072, 262_144)},                 # on morsel boundaries
    {0: (1000, 2001), 2: (299_000, SEGMENT)},  # off block boundaries, two segments
    {1: (5, 5)},                             # empty
]


def _run(sql: str, source, fused: bool) -> pa.Table:
    p = prepare_over(sql, {"t": source})
    ctx = Context(2, fused=fused)
    try:
        return output(materialize(p.plan, ctx), p.plan.schema, p.query.names)
    finally:
        ctx.close()


@pytest.mark.parametrize("spans", SPANS, ids=lambda s: str(s))
def test_queries_see_only_the_spans(db, spans):
    whole = db.table("t")
    rows = pa.concat_tables(
        [whole.to_arrow().slice(seg * SEGMENT + a, b - a) for seg, (a, b) in spans.items()])
    rows = pa.table({n: c.cast(pa.large_string()) if pa.types.is_dictionary(c.type) else c
                     for n, c in zip(rows.column_names, rows.columns, strict=True)})
    src = RowRangeSource("t", db._store.snapshot("t"), spans)
    try:
        assert src.row_count == rows.num_rows
        for sql in QUERIES:
            want = _run(sql, ArrowSource("t", rows), fused=False)
            for fused in (True, False):
                got = _run(sql, src, fused)
                assert got.to_pylist() == want.to_pylist(), (sql, fused)
    finally:
        src.close()
        whole.close()


def test_plans_and_block_counts(db):
    src = RowRangeSource("t", db._store.snapshot("t"), {1: (0, 32_768)})
    try:
        st = PruneStats()
        assert [(m.segment, m.start, m.stop) for m in src.morsels({}, st)] == [(1, 0, 32_768)]
        assert (st.blocks, st.skipped) == (2, 0)  # the span's two zone-map blocks
        assert "via hash index" in render(prepare_over(QUERIES[1], {"t": src}).plan, ["a"])
        assert "via sorted index" in render(prepare_over(QUERIES[2], {"t": src}).plan, ["a"])
    finally:
        src.close()


def test_bad_spans_are_refused(db):
    with pytest.raises(ValueError, match="no rows"):
        RowRangeSource("t", db._store.snapshot("t"), {3: (0, 1)})
    with pytest.raises(ValueError, match="no rows"):
        RowRangeSource("t", db._store.snapshot("t"), {0: (10, SEGMENT + 1)})
