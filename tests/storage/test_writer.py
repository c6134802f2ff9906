"""The writer: abort, injected file-operation failures, poisoning, job ids, schema
replacement, compaction and table-wide dictionaries."""

from __future__ import annotations

import decimal
import gc
import os

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import MapdbError, PoisonedWriterError, StorageError
from mapdb.storage import fileops, manifest
from mapdb.storage.database import DatabaseStore
from mapdb.storage.segment import ColumnSpec
from mapdb.storage.types import ColumnType

from . import _support as sup
from ._support import normalize

D = decimal.Decimal
SCHEMA = pa.schema([("x", pa.int64()), ("d", pa.string()), ("m", pa.decimal128(12, 2))])


def batch(k: int, n: int = 40) -> pa.Table:
    """Commit k: new dictionary values every time, decimals with nulls and negatives."""
    return pa.table({
        "x": pa.array(np.arange(k * 1000, k * 1000 + n), pa.int64()),
        "d": pa.array([f"k{k}-{i % 3}" if i % 5 else "shared" for i in range(n)]),
        "m": pa.array([None if i % 4 == 0 else D(i * (-1) ** i * 12345) / 100
                       for i in range(n)], pa.decimal128(12, 2)),
    }, schema=SCHEMA)


def make_table(db_path, commits: int = 2) -> DatabaseStore:
    db = DatabaseStore(db_path)
    w = db.create_writer("t", SCHEMA, None, dictionary=["d"])
    for k in range(commits):
        w.write(batch(k))
        w.commit()
    if not commits:
        w.commit()  # an empty table
    w.close()
    return db


def content(db: DatabaseStore, name: str = "t") -> tuple[int, dict]:
    snap = db.snapshot(name)
    try:
        assert snap.verify() == []
        t = snap.to_arrow()
        return snap.version, {n: normalize(t.column(n)) for n in t.column_names}
    finally:
        snap.close()


def expected(*ks: int) -> dict:
    t = pa.concat_tables([batch(k) for k in ks])
    return {n: normalize(t.column(n)) for n in t.column_names}


def _chain(e: BaseException) -> str:
    out = []
    while e is not None:
        out.append(str(e))
        e = e.__cause__ or e.__context__
    return " <- ".join(out)


# -- abort ------------------------------------------------------------------------------------
def test_exception_inside_with_writer_leaves_table_unchanged(db_path):
    db = make_table(db_path)
    before = content(db)
    with pytest.raises(RuntimeError, match="boom"), db.writer("t") as w:
        w.write(batch(7))
        w.flush()  # a segment is written (not committed) before the failure
        w.write(batch(8))
        raise RuntimeError("boom")
    assert content(db) == before
    assert sup.leftovers(db.table_dir("t")) == []
    with db.writer("t") as w:  # the lock was released; a clean block commits
        w.write(batch(2))
    assert content(db) == (before[0] + 1, expected(0, 1, 2))


def test_exception_inside_with_create_writer_creates_nothing(db_path):
    db = DatabaseStore(db_path)
    with pytest.raises(ValueError, match="no"), db.create_writer("n", SCHEMA, None) as w:
        w.write(batch(0))
        w.flush()
        raise ValueError("no")
    assert db.tables() == []
    assert sup.db_leftovers(str(db_path)) == []


def test_abort_drops_uncommitted_batches(db_path):
    db = make_table(db_path)
    before = content(db)
    w = db.writer("t")
    w.write(batch(5))
    w.flush()
    w.write(batch(6))
    w.abort()
    assert sup.leftovers(db.table_dir("t")) == []
    w.write(batch(2))
    m = w.commit()
    w.close()
    assert m.rows == 3 * 40
    assert content(db) == (before[0] + 1, expected(0, 1, 2))


def test_closed_writer_refuses_writes(db_path):
    db = make_table(db_path)
    w = db.writer("t")
    w.close()
    with pytest.raises(StorageError, match="the writer of table 't' is closed"):
        w.write(batch(3))
    with pytest.raises(StorageError, match="is closed"):
        w.commit()
    w.close()  # idempotent


# -- sync failures poison the writer --------------------------------------------------------
@pytest.mark.parametrize("op,nth", [("fsync", 1), ("fsync", "last"), ("fsync_dir", 1),
                                    ("fsync_dir", 2)])
def test_failed_sync_poisons_the_writer(db_path, op, nth):
    db = make_table(db_path)
    before = content(db)
    if nth == "last":  # the manifest's own fsync: the last fsync before the rename
        w = db.writer("t")
        w.write(batch(9))
        n0 = fileops.calls[op]
        w.commit()
        nth = fileops.calls[op] - n0
        w.close()
        before = content(db)
    w = db.writer("t")
    w.write(batch(2))
    with fileops.inject_fault(op, nth=nth, err=5), pytest.raises(StorageError) as e:
        w.commit()
    assert f"injected at {op}" in _chain(e.value)
    assert isinstance(w.poisoned, fileops.SyncError)
    assert content(db) == before  # nothing was published
    for call in (lambda: w.write(batch(3)), w.commit, w.flush, w.compact,
                 lambda: w.replace_schema(w.schema)):
        with pytest.raises(PoisonedWriterError, match=r"an earlier sync failed.*reopen"):
            call()
    # a new writer can only come once the poisoned one is closed (it holds the lock)
    _msg, pid, _ = sup.refusal(db.writer, "t")
    assert pid == os.getpid()
    w.close()
    w = db.writer("t")
    w.write(batch(2))
    w.commit()
    w.close()
    assert content(db)[1] == {k: before[1][k] + expected(2)[k] for k in before[1]}
    assert sup.leftovers(db.table_dir("t")) == []


def test_sync_failure_with_enospc(db_path):
    db = make_table(db_path)
    before = content(db)
    w = db.writer("t")
    w.write(batch(2))
    with (fileops.inject_fault("fsync", nth=1, err=28),
          pytest.raises(StorageError, match="No space left on device")):
        w.commit()
    assert w.poisoned is not None
    w.close()
    assert content(db) == before


# -- the N-th file operation fails ----------------------------------------------------------
OPS = ["create", "fallocate", "mmap", "msync", "fsync", "fsync_dir", "rename", "mkdir", "write"]

def _nth_failure_loop(db_path, op: str, attempt, check_unchanged, check_done) -> list:
    """Run ``attempt()`` with the n-th call of ``op`` failing, n = 1, 2, ... until it
    succeeds; after each failure the state must be exactly the old one, with no leaked
    descriptors or mappings."""
    failures = []
    gc.collect()
    fds = sup.open_fds()
    for n in range(1, 300):
        writers: list = []
        calls0 = fileops.calls[op]
        try:
            with fileops.inject_fault(op, nth=n):
                attempt(writers)
        except (MapdbError, OSError) as e:
            failures.append((n, type(e).__name__, _chain(e)))
            assert f"injected at {op} #" in _chain(e), _chain(e)
            ok = False
        else:
            ok = True
        finally:
            for w in writers:
                w.close()
        if sup.open_fds() != fds or sup.mappings_under(db_path):
            gc.collect()  # (slow with pandas and hypothesis loaded: only when needed)
        assert sup.open_fds() == fds, f"{op} #{n}: descriptors leaked"
        assert sup.mappings_under(db_path) == [], f"{op} #{n}: mappings leaked"
        if ok:
            used = fileops.calls[op] - calls0
            if used == 0:
                pytest.skip(f"{op!r} is not called during this commit (not on its path)")
            # every call of the operation was made to fail once, and each failure showed
            assert [f[0] for f in failures] == list(range(1, used + 1)), failures
            check_done()
            return failures
        check_unchanged(n)
    raise AssertionError(f"{op}: still failing after 300 attempts")


@pytest.mark.parametrize("op", OPS)
def test_nth_file_operation_fails_during_append(db_path, op):
    db = make_table(db_path)
    before = content(db)

    def attempt(writers):
        w = db.writer("t")
        writers.append(w)
        w.write(batch(2)[:15])
        w.write(batch(2)[15:])
        w.commit(job_id="job-2")

    def unchanged(n):
        assert content(db) == before, f"{op} #{n}: the table changed"
        assert sup.leftovers(db.table_dir("t")) == [], f"{op} #{n}"

    def done():
        assert content(db) == (before[0] + 1, expected(0, 1, 2))

    _nth_failure_loop(db_path, op, attempt, unchanged, done)


@pytest.mark.parametrize("op", OPS)
def test_nth_file_operation_fails_during_create(db_path, op):
    db = make_table(db_path)
    before = content(db)

    def attempt(writers):
        w = db.create_writer("n", SCHEMA, None, dictionary=["d"])
        writers.append(w)
        w.write(batch(0))
        w.commit()

    def unchanged(n):
        assert db.tables() == ["t"], f"{op} #{n}: table n was published"
        assert sup.db_leftovers(str(db_path)) == [], f"{op} #{n}"
        assert content(db) == before

    def done():
        assert content(db, "n")[1] == expected(0)

    _nth_failure_loop(db_path, op, attempt, unchanged, done)


def test_failed_directory_fsync_after_rename_publishes_nothing(db_path, monkeypatch):
    db = make_table(db_path)
    fsyncs = []
    real = fileops._ext.fsync_path
    monkeypatch.setattr(fileops._ext, "fsync_path", lambda p: (fsyncs.append(p), real(p))[1])
    w = db.writer("t")
    w.write(batch(2))
    w.commit()
    w.close()
    # which directory fsync of a commit is the manifests directory's (the one after rename)
    nth = [os.path.basename(p) for p in fsyncs].index("manifests") + 1
    assert nth == len(fsyncs)
    before = content(db)
    w = db.writer("t")
    w.write(batch(3))
    with (fileops.inject_fault("fsync_dir", nth=nth),
          pytest.raises(StorageError, match="injected at fsync_dir")):
        w.commit()
    w.close()
    assert content(db) == before


@pytest.mark.parametrize("op", ["create", "mkdir", "fallocate", "write"])
def test_commit_retried_after_a_failed_segment_write(db_path, op):
    db = make_table(db_path)
    w = db.writer("t")
    w.write(batch(2))
    with fileops.inject_fault(op, nth=1, err=28), pytest.raises(StorageError):
        w.commit()
    try:
        with pytest.raises(StorageError, match="abort"):  # the batch is gone: no commit
            w.commit()
        w.abort()  # ... until the transaction is aborted; then the writer works again
        w.write(batch(2))
        assert w.commit().rows == 3 * 40
    finally:
        w.close()
    assert content(db) == (3, expected(0, 1, 2))


def test_compact_between_flush_and_commit_is_refused(db_path):
    db = make_table(db_path, commits=3)
    w = db.writer("t")
    w.write(batch(3))
    w.flush()
    with pytest.raises(StorageError, match="commit or abort the pending writes"):
        w.compact()
    w.commit()
    w.compact()
    w.close()
    assert content(db)[1] == expected(0, 1, 2, 3)
    assert len(db.snapshot("t").manifest.segments) == 1


# -- job ids, replace, compaction -----------------------------------------------------------
def test_job_ids_are_recorded(db_path, monkeypatch):
    db = make_table(db_path, commits=0)
    w = db.writer("t")
    for k, job in enumerate(["ingest-a", None, "ingest-b"]):
        w.write(batch(k))
        assert w.commit(job_id=job).jobs == ["ingest-a", "ingest-b"][: (k + 2) // 2]
    w.compact()
    w.close()
    snap = db.snapshot("t")
    assert snap.manifest.jobs == ["ingest-a", "ingest-b"]  # kept through compaction
    snap.close()
    monkeypatch.setattr(manifest, "MAX_JOB_IDS", 3)
    w = db.writer("t")
    for j in range(5):
        w.commit(job_id=f"j{j}")
    w.close()
    snap = db.snapshot("t")
    assert snap.manifest.jobs == ["j2", "j3", "j4"]  # only the newest are remembered
    snap.close()


def test_replace_schema(db_path):
    db = make_table(db_path, commits=3)
    old = db.snapshot("t")
    old_rows = old.manifest.rows
    w = db.writer("t")
    new_schema = [ColumnSpec(2, "d", ColumnType("dict")),
                  ColumnSpec(50, "y", ColumnType.parse("float64")),
                  ColumnSpec(51, "ts", ColumnType.parse("timestamp[ms, UTC]"))]
    w.replace_schema(new_schema)
    w.write(pa.table({"ts": pa.array([0, None], pa.timestamp("ms", "UTC")),
                      "d": ["fresh", "shared"], "y": [1.5, None]}))
    m = w.commit(job_id="replace")
    w.close()
    assert m.rows == 2 and [c.name for c in m.schema] == ["d", "y", "ts"]
    snap = db.snapshot("t")
    t = snap.to_arrow()
    assert t.schema == pa.schema([("d", pa.dictionary(pa.int32(), pa.large_string())),
                                  ("y", pa.float64()), ("ts", pa.timestamp("ms", "UTC"))])
    assert t.column("d").to_pylist() == ["fresh", "shared"]
    assert snap.dictionary(snap.manifest.column("d")).to_pylist() == ["fresh", "shared"]
    assert t.column("y").to_pylist() == [1.5, None]
    assert snap.verify() == []
    assert m.jobs == ["replace"]
    snap.close()
    # a reader of the old version still reads it all
    assert old.manifest.rows == old_rows and old.to_arrow().num_rows == old_rows
    assert old.verify() == []
    old.close()
    db.writer("t").close()
    assert sup.leftovers(db.table_dir("t")) == []  # the old segments and dictionary: gone


def test_replace_with_no_rows_empties_the_table(db_path):
    db = make_table(db_path)
    w = db.writer("t")
    w.replace_schema(w.schema)
    w.commit()
    w.close()
    snap = db.snapshot("t")
    assert snap.manifest.rows == 0 and snap.to_arrow().num_rows == 0
    assert snap.manifest.dictionaries == {}
    snap.close()


MIXED = pa.schema([("i", pa.int64()), ("d", pa.string()), ("dec", pa.decimal128(18, 4)),
                   ("ts", pa.timestamp("us", "Europe/Paris")), ("b", pa.bool_()),
                   ("s", pa.string()), ("bin", pa.binary()), ("f", pa.float32())])


def mixed(k: int, n: int) -> pa.Table:
    top = D(10 ** 18 - 1).scaleb(-4)
    return pa.table({
        "i": [None if j % 6 == 0 else k * 100 + j for j in range(n)],
        "d": [None if j % 7 == 3 else f"v{(j * k) % 9}" for j in range(n)],
        "dec": [[top, -top, None, D("-0.0001"), D(k)][j % 5] for j in range(n)],
        "ts": [None if j % 4 == 1 else (-1) ** j * 10 ** 15 + k for j in range(n)],
        "b": [None if j % 3 == 2 else bool((j + k) % 2) for j in range(n)],
        "s": [None if j % 5 == 4 else "é\x00" * (j % 3) + str(k) for j in range(n)],
        "bin": [bytes([j % 256, k % 256]) if j % 2 else None for j in range(n)],
        "f": [[float("nan"), -0.0, float("inf"), None, 1.5][(j + k) % 5] for j in range(n)],
    }, schema=MIXED)


def test_compaction_keeps_data_identical(db_path):
    db = DatabaseStore(db_path)
    w = db.create_writer("t", MIXED, None, dictionary=["d"])
    parts = []
    for k in range(6):
        part = mixed(k, 7 + 3 * k)
        parts.append(part)
        w.write(part.slice(1))  # sliced input
        w.write(part.slice(0, 1))
        w.commit()
    w.close()
    v0, before = content(db)
    snap = db.snapshot("t")
    dict_before = snap.dictionary(snap.manifest.column("d")).to_pylist()
    chunks_before = snap.manifest.dictionaries
    snap.close()
    assert len(set(dict_before)) == len(dict_before)

    w = db.writer("t")
    m = w.compact()
    w.close()
    assert len(m.segments) == 1 and m.version == v0 + 1
    assert content(db) == (v0 + 1, before)
    snap = db.snapshot("t")
    assert snap.manifest.dictionaries == chunks_before  # the dictionary is not rewritten
    assert snap.dictionary(snap.manifest.column("d")).to_pylist() == dict_before
    # zone maps of the merged segment describe the merged data
    (z,) = snap.zones("i")
    vals = [v for v in before["i"] if v is not None]
    assert z.tolist() == [[min(vals), max(vals), before["i"].count(None)]]
    (z,) = snap.zones("dec")
    assert z[0, 2] == before["dec"].count(None)
    snap.close()
    assert sup.leftovers(db.table_dir("t")) == []
    want = pa.concat_tables([t for p in parts for t in (p.slice(1), p.slice(0, 1))])
    assert before == {n: normalize(want.column(n)) for n in MIXED.names}


def test_compaction_groups_small_segments(db_path):
    db = DatabaseStore(db_path)
    w = db.create_writer("t", pa.schema([("x", pa.int64())]), None)
    for n in (100, 100, 100, 500, 100):
        w.write(pa.table({"x": np.arange(n, dtype=np.int64)}))
        w.commit()
    segs = w.base.segments
    m = w.compact(target_rows=250)
    assert [s.rows for s in m.segments] == [200, 100, 500, 100]
    assert [s.id for s in m.segments[1:]] == [s.id for s in segs[2:]]  # kept as they were
    assert m.segments[0].id not in {s.id for s in segs}
    again = w.compact(target_rows=250)
    assert again.version == m.version  # nothing left to merge: no new version
    w.close()
    snap = db.snapshot("t")
    assert snap.column("x").to_pylist() == [*range(100), *range(100), *range(100),
                                            *range(500), *range(100)]
    snap.close()


def test_dictionary_codes_agree_across_segments(db_path):
    db = DatabaseStore(db_path)
    schema = pa.schema([("d", pa.string())])
    commits = [["a", "b", "a"], ["b", "c", None, "a"], ["c", "d", "a", None, "d"]]
    w = db.create_writer("t", schema, None, dictionary=["d"])
    w.write(pa.table({"d": commits[0]}, schema=schema))
    w.commit()
    w.close()
    pinned = [db.snapshot("t")]
    for values in commits[1:]:  # each commit through a new writer (dictionary read back)
        w = db.writer("t")
        w.write(pa.table({"d": values[:2]}, schema=schema))
        w.write(pa.table({"d": values[2:]}, schema=schema))
        w.commit()
        w.close()
        pinned.append(db.snapshot("t"))
    dicts = [s.dictionary(s.manifest.column("d")).to_pylist() for s in pinned]
    assert dicts == [["a", "b"], ["a", "b", "c"], ["a", "b", "c", "d"]]  # append-only
    snap = pinned[-1]
    spec = snap.manifest.column("d")
    assert snap.manifest.dictionary_length(spec.id) == 4
    code = {"a": 0, "b": 1, "c": 2, "d": 3}
    chunks = snap.column_chunks("d")
    assert len(chunks) == 3
    for chunk, values in zip(chunks, commits, strict=True):
        assert chunk.dictionary.to_pylist() == ["a", "b", "c", "d"]
        assert chunk.indices.to_pylist() == [None if v is None else code[v] for v in values]
    assert snap.to_arrow().column("d").to_pylist() == [v for c in commits for v in c]
    for s in pinned:
        s.close()
    # compaction keeps the codes
    w = db.writer("t")
    w.compact()
    w.close()
    snap = db.snapshot("t")
    (chunk,) = snap.column_chunks("d")
    assert chunk.indices.to_pylist() == [None if v is None else code[v]
                                         for c in commits for v in c]
    snap.close()
