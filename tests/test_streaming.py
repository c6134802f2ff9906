"""Results read forward, batch by batch (issue 18 item 4): fetchone/fetchmany advance a
cursor, fetch_record_batch and the Arrow C stream hand out the rows as they are computed,
and a scan's morsels are read only as the reader gets to them. (The memory this saves is
measured by benchmarks/stream_memory.py, not here.)"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import MapdbError, QueryError
from mapdb.query.source import MORSEL_ROWS, TableSource

ROWS = 16 * MORSEL_ROWS  # 16 morsels


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    d = mapdb.connect(tmp_path_factory.mktemp("s") / "db", durability="none")
    i = np.arange(ROWS, dtype=np.int64)
    d.create_table("big", {"i": i, "k": (i % 10).astype(np.int32),
                           "s": pa.array([f"v{x % 1000}" for x in range(ROWS)])},
                   dictionary=None)
    d.create_table("small", {"v": [3, 1, 2, None]})
    yield d
    d.close()


@pytest.fixture
def morsels_read(monkeypatch):
    """How many morsels the scans have read so far (TableSource.arrays calls)."""
    calls = []
    orig = TableSource.arrays

    def counting(self, m, columns):
        calls.append(m)
        return orig(self, m, columns)

    monkeypatch.setattr(TableSource, "arrays", counting)
    return calls


def test_fetchone_loop_ends_and_sees_every_row(db):
    r = db.sql("SELECT v FROM small ORDER BY v NULLS LAST")
    rows = []
    while row := r.fetchone():
        rows.append(row)
    assert rows == [(1,), (2,), (3,), (None,)]
    assert r.fetchone() is None and r.fetchmany(3) == [] and r.fetchall() == []


def test_fetch_methods_share_one_cursor(db):
    want = db.sql("SELECT i, k FROM big WHERE k = 3").fetchall()
    r = db.sql("SELECT i, k FROM big WHERE k = 3")
    got = [r.fetchone()]
    got += r.fetchmany(5)
    got += r.fetchmany(100_000)  # across produced batches
    r.arraysize = 7
    got += r.fetchmany()
    got += [r.fetchone()]
    got += r.fetchall()
    assert len(got) == len(want) == ROWS // 10 + (ROWS % 10 > 3)
    assert got == want
    assert list(db.sql("SELECT v FROM small WHERE v > 1")) == [(3,), (2,)]


def test_whole_result_methods_show_the_rest_without_moving(db):
    r = db.sql("SELECT v FROM small")
    assert r.fetchone() == (3,)
    assert r.to_arrow().column("v").to_pylist() == [1, 2, None]  # as DuckDB: the rest
    assert len(r) == 3
    assert r.fetchall() == [(1,), (2,), (None,)]


def test_the_first_rows_arrive_before_the_scan_ran(db, morsels_read):
    r = db.sql("SELECT i, s FROM big WHERE k <> 3", workers=1)
    assert r.fetchone() == (0, "v0")
    first = len(morsels_read)
    assert 1 <= first <= 4, first  # the first morsel and a small window ahead, not 16
    rows = 1 + len(r.fetchmany(MORSEL_ROWS))
    assert len(morsels_read) <= first + 2
    rows += sum(len(c) for c in iter(lambda: r.fetchmany(50_000), []))
    assert len(morsels_read) == 16 and rows == ROWS - ROWS // 10


def test_close_stops_the_scan(db, morsels_read):
    r = db.sql("SELECT * FROM big", workers=1)
    r.fetchmany(10)
    r.close()
    n = len(morsels_read)
    assert n < 16
    with pytest.raises(QueryError, match="closed"):
        r.fetchone()
    assert len(morsels_read) == n
    with db.sql("SELECT * FROM big") as r2:  # a context manager closes it too
        assert r2.fetchone() == (0, 0, "v0")


def test_limit_over_a_scan_streams_and_stops(db, morsels_read):
    r = db.sql("SELECT i FROM big WHERE k = 1 LIMIT 5 OFFSET 2", workers=1)
    assert r.fetchall() == [(21,), (31,), (41,), (51,), (61,)]
    assert len(morsels_read) <= 3


def test_record_batch_reader_in_the_sizes_asked(db):
    r = db.sql("SELECT i, s FROM big WHERE i < 300000")
    reader = r.fetch_record_batch(100_000)
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.schema.names == ["i", "s"]
    sizes, total = [], 0
    for batch in reader:
        sizes.append(batch.num_rows)
        total += pa.compute.sum(batch.column("i")).as_py()
    assert sizes == [100_000, 100_000, 100_000]
    assert total == sum(range(300_000))
    assert r.fetchone() is None
    for bad in (0, "10", 2.5, None):
        with pytest.raises(MapdbError, match="rows_per_batch"):
            db.sql("SELECT 1").fetch_record_batch(bad)
    for bad in (-1, "10", 2.5):
        with pytest.raises(MapdbError, match="fetchmany"):
            db.sql("SELECT 1").fetchmany(bad)
    r = db.sql("SELECT 1")
    r.arraysize = "x"
    with pytest.raises(MapdbError, match="fetchmany"):
        r.fetchmany()


def test_arrow_c_stream_streams(db, morsels_read):
    r = db.sql("SELECT i, s FROM big WHERE k = 0", workers=1)
    reader = pa.RecordBatchReader.from_stream(r)
    first = reader.read_next_batch()
    assert first.column(0)[0].as_py() == 0
    assert len(morsels_read) < 16  # read lazily through the C stream
    rest = reader.read_all()
    assert first.num_rows + rest.num_rows == ROWS // 10 + (ROWS % 10 > 0)
    t = pa.table(db.sql("SELECT v FROM small ORDER BY v"))
    assert t.column("v").to_pylist() == [1, 2, 3, None]


def test_empty_results_have_their_schema(db):
    r = db.sql("SELECT i, s FROM big WHERE i < 0")
    assert r.fetchone() is None
    r = db.sql("SELECT i, s FROM big WHERE i < 0")
    reader = r.fetch_record_batch()
    assert reader.schema.names == ["i", "s"] and reader.read_all().num_rows == 0
    assert db.sql("SELECT i FROM big WHERE i < 0").to_arrow().num_rows == 0
