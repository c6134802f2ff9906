"""Changing a table's rows and columns (issue 18's storage side; RELIABILITY.md 23):
segments rewritten copy-on-write (DELETE, UPDATE), columns added, dropped and renamed
without touching the other columns' files, tables renamed, views stored. Each is one
commit: a reader of the old version keeps it, a crash leaves the old or the new version,
leftovers are reclaimed."""

from __future__ import annotations

import os
import signal

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import (
    ConstraintError,
    NotFoundError,
    SchemaError,
    StorageError,
    TableDroppedError,
)
from mapdb.storage.database import DatabaseStore
from mapdb.storage.types import ColumnType

from . import _support as sup

SCHEMA = pa.schema([("k", pa.int64()), ("s", pa.string()), ("d", pa.string()),
                    ("m", pa.decimal128(12, 2))])


def _batch(lo: int, hi: int) -> pa.Table:
    import decimal
    k = np.arange(lo, hi, dtype=np.int64)
    return pa.table({"k": k, "s": [f"s{i}" for i in k.tolist()],
                     "d": [None if i % 7 == 0 else f"d{i % 3}" for i in k.tolist()],
                     "m": [decimal.Decimal(i) / 4 for i in k.tolist()]}, schema=SCHEMA)


def _table(db_path, unique: bool = True) -> DatabaseStore:
    """Three segments: k 0..99, 100..199, 200..299; d dictionary-encoded; k uniquely
    hash-indexed."""
    db = DatabaseStore(db_path)
    w = db.create_writer("t", SCHEMA, None, dictionary=["d"])
    for lo in (0, 100, 200):
        w.write(_batch(lo, lo + 100))
        w.commit()
    if unique:
        w.create_index("k", "hash", unique=True)
    w.close()
    return db


def _rows(db, name="t") -> dict:
    snap = db.snapshot(name)
    try:
        assert snap.verify() == []
        return snap.to_arrow().to_pydict()
    finally:
        snap.close()


def _segments(db) -> list[int]:
    snap = db.snapshot("t")
    try:
        return [s.id for s in snap.manifest.segments]
    finally:
        snap.close()


def _lookup(db, key: int) -> list[int]:
    from mapdb.storage.index import open_hash_index
    snap = db.snapshot("t")
    try:
        ix = open_hash_index(snap, snap.manifest.index("k_hash"))
        try:
            found = ix.lookup([key])
            return sorted(int(r) for rows in found.values() for r in rows)
        finally:
            ix.close()
    finally:
        snap.close()


def test_rewrite_deletes_and_updates_in_place(db_path):
    db = _table(db_path)
    segs = _segments(db)
    mid = _batch(100, 200).filter(pa.array([i % 2 == 0 for i in range(100)]))
    upd = _batch(200, 300).to_pydict()
    upd["s"] = ["changed" if k == 250 else v for k, v in zip(upd["k"], upd["s"], strict=True)]
    upd["d"] = ["brand-new" if k == 251 else v for k, v in zip(upd["k"], upd["d"],
                                                               strict=True)]
    w = db.writer("t")
    w.rewrite({segs[1]: mid, segs[2]: pa.table(upd, schema=SCHEMA)})
    w.close()
    got = _rows(db)
    assert got["k"] == list(range(100)) + list(range(100, 200, 2)) + list(range(200, 300))
    assert got["s"][got["k"].index(250)] == "changed"
    assert got["d"][got["k"].index(251)] == "brand-new"  # a new dictionary value
    assert _segments(db)[0] == segs[0] and len(_segments(db)) == 3
    assert _lookup(db, 151) == [] and _lookup(db, 150) == [25]  # the index follows
    w = db.writer("t")
    w.rewrite({_segments(db)[1]: None})  # a whole segment deleted
    w.close()
    assert _rows(db)["k"] == list(range(100)) + list(range(200, 300))
    assert sup.leftovers(db.table_dir("t")) == []


def test_rewrite_keeps_unique_indexes_unique(db_path):
    db = _table(db_path)
    segs = _segments(db)
    same = _batch(100, 200)  # rewritten with its own keys: not a conflict with itself
    w = db.writer("t")
    w.rewrite({segs[1]: same})
    clash = _batch(100, 200).to_pydict()
    clash["k"][0] = 5  # 5 lives in segment 0, which is kept
    with pytest.raises(ConstraintError):
        w.rewrite({_segments(db)[1]: pa.table(clash, schema=SCHEMA)})
    w.close()
    assert _rows(db)["k"] == list(range(300))


def test_rewrite_of_an_unknown_segment_is_refused(db_path):
    db = _table(db_path)
    w = db.writer("t")
    with pytest.raises(StorageError, match="no segment"):
        w.rewrite({12345: None})
    w.close()


def test_a_reader_keeps_its_version_through_rewrite_and_reclaim(db_path):
    db = _table(db_path)
    old = db.snapshot("t")
    w = db.writer("t")
    w.rewrite({s: None for s in _segments(db)[:2]})
    w.close()
    w = db.writer("t")  # reclaims what it can
    w.close()
    assert old.to_arrow().column("k").to_pylist() == list(range(300))
    assert _rows(db)["k"] == list(range(200, 300))
    old.close()


def _rewrite_and_die(db_path: str, point: str) -> None:
    os.environ["MAPDB_CRASH_AT"] = point
    db = DatabaseStore(db_path)
    w = db.writer("t")
    segs = [s.id for s in w.base.segments]
    w.rewrite({segs[0]: _batch(0, 50), segs[2]: None})
    os._exit(3)


@pytest.mark.parametrize("point,visible", [
    ("after-data-sync", False), ("before-manifest", False), ("after-temp-manifest", False),
    ("after-rename", True), ("after-dir-fsync", True)])
def test_a_crash_during_rewrite_leaves_the_old_or_the_new_version(db_path, point, visible):
    db = _table(db_path)
    before = _rows(db)
    p = sup.start(_rewrite_and_die, str(db_path), point)
    assert sup.join(p) == -signal.SIGKILL
    db = DatabaseStore(db_path)
    now = _rows(db)
    assert now == (_rows_after_crash_rewrite() if visible else before)
    w = db.writer("t")  # reclaims the dead writer's files
    w.close()
    assert sup.leftovers(db.table_dir("t")) == []
    assert _rows(db) == now


def _rows_after_crash_rewrite() -> dict:
    return pa.concat_tables([_batch(0, 50), _batch(100, 200)]).to_pydict()


@pytest.mark.parametrize("ctype,default,want", [
    ("int32", 7, 7), ("double", None, None), ("dict", "x", "x"), ("string", "", ""),
    ("decimal(10,3)", "1.5", "1.500"), ("date32", "2024-02-29", "2024-02-29"),
    ("bool", True, True)])
def test_add_column_with_a_default(db_path, ctype, default, want):
    import datetime
    import decimal
    db = _table(db_path)
    old = db.snapshot("t")
    files_before = {f.path: os.stat(f.path).st_mtime_ns for f in old.files()}
    w = db.writer("t")
    if ctype == "date32":
        default = datetime.date.fromisoformat(default)
        want = datetime.date.fromisoformat(want)
    if ctype.startswith("decimal"):
        default, want = decimal.Decimal(default), decimal.Decimal(want)
    w.add_column("new", ColumnType.parse(ctype), default)
    w.close()
    got = _rows(db)
    assert got["new"] == [want] * 300
    assert got["k"] == list(range(300))
    # the other columns' files are the very same files
    assert {p: os.stat(p).st_mtime_ns for p in files_before} == files_before
    assert "new" not in old.to_arrow().column_names  # the old version stays as it was
    old.close()
    # and the table takes rows with the new column afterwards
    w = db.writer("t")
    b = _batch(300, 301).append_column("new", pa.array([default], ColumnType.parse(
        ctype).arrow_type if ctype != "dict" else pa.string()))
    w.write(b)
    w.commit()
    w.close()
    assert _rows(db)["new"][-1] == want


def test_add_column_refusals(db_path):
    db = _table(db_path)
    w = db.writer("t")
    with pytest.raises(SchemaError, match="already has a column"):
        w.add_column("K", ColumnType("int64"))
    with pytest.raises(SchemaError, match="default"):
        w.add_column("n", ColumnType("int8"), 1000)
    w.close()
    assert list(_rows(db)) == ["k", "s", "d", "m"]


def test_a_failed_add_column_leaves_the_table_and_its_files_as_they_were(db_path):
    from mapdb.storage import fileops
    db = _table(db_path)
    before = _rows(db)
    w = db.writer("t")
    with fileops.inject_fault("write", nth=3), pytest.raises(StorageError):
        w.add_column("n", ColumnType("int64"), 1)
    w.close()
    assert _rows(db) == before
    w = db.writer("t")  # reclaims the written files of the new column
    w.close()
    assert sup.leftovers(db.table_dir("t")) == []


def test_drop_and_rename_columns(db_path):
    db = _table(db_path)
    old = db.snapshot("t")
    w = db.writer("t")
    w.drop_column("d")
    w.rename_column("s", "text")
    with pytest.raises(SchemaError, match="already has a column"):
        w.rename_column("text", "K")
    with pytest.raises(NotFoundError):
        w.drop_column("nope")
    w.drop_column("k")  # its unique index goes with it
    w.close()
    got = _rows(db)
    assert list(got) == ["text", "m"] and got["text"][:2] == ["s0", "s1"]
    assert old.to_arrow().column("d").to_pylist()[1] == "d1"  # pinned: files kept
    old.close()
    w = db.writer("t")  # now the dropped columns' files go
    w.close()
    assert sup.leftovers(db.table_dir("t")) == []
    w = db.writer("t")
    w.drop_column("text")
    with pytest.raises(SchemaError, match="only column"):
        w.drop_column("m")
    w.close()


def test_rename_table(db_path):
    db = _table(db_path)
    snap = db.snapshot("t")
    tid = snap.manifest.table_id
    snap.close()
    db.rename_table("t", "u")
    assert db.tables() == ["u"] and _rows(db, "u")["k"] == list(range(300))
    snap = db.snapshot("u")
    assert snap.manifest.table_id == tid  # the same table under another name
    snap.close()
    with pytest.raises(NotFoundError):
        db.snapshot("t")
    _table(db_path / "other")
    db.create_view("v", "SELECT 1")
    with pytest.raises(StorageError, match="a view"):
        db.rename_table("u", "v")
    w = db.create_writer("t", SCHEMA, None)
    w.write(_batch(0, 1))
    w.commit()
    w.close()
    with pytest.raises(StorageError, match="table of that name"):
        db.rename_table("u", "t")


def test_a_table_handle_on_a_renamed_table_does_not_write_to_its_successor(db_path):
    db = _table(db_path)
    snap = db.snapshot("t")
    tid = snap.manifest.table_id
    snap.close()
    db.rename_table("t", "u")
    w = db.create_writer("t", SCHEMA, None)
    w.write(_batch(0, 1))
    w.commit()
    w.close()
    with pytest.raises(TableDroppedError):
        db.writer("t", table_id=tid)


def test_views(db_path):
    db = _table(db_path)
    db.create_view("low", "SELECT * FROM t WHERE k < 10")
    with pytest.raises(StorageError, match="already exists"):
        db.create_view("low", "SELECT 1")
    db.create_view("low", "SELECT 2", replace=True)
    assert DatabaseStore(db_path, readonly=True).views() == {"low": "SELECT 2"}
    with pytest.raises(StorageError, match="is a table"):
        db.create_view("t", "SELECT 1")
    with pytest.raises(StorageError, match="is a view"):
        db.create_writer("low", SCHEMA, None)
    db.drop_view("low")
    with pytest.raises(NotFoundError):
        db.drop_view("low")
    db.drop_view("low", missing_ok=True)
    assert db.views() == {}


def test_not_null_and_defaults_are_kept_in_the_schema(db_path):
    db = DatabaseStore(db_path)
    schema = pa.schema([("k", pa.int64()), ("s", pa.string())])
    w = db.create_writer("c", schema, None, not_null=["k"], defaults={"s": "'x'"})
    w.write(pa.table({"k": [1, 2], "s": ["a", None]}, schema=schema))
    w.commit()
    with pytest.raises(ConstraintError, match=r"NOT NULL constraint failed: c\.k"):
        w.write(pa.table({"k": [3, None], "s": ["b", "c"]}, schema=schema))
    w.add_column("n", ColumnType("int32"), 7, default_sql="7")
    w.rename_column("k", "key")
    w.close()
    snap = DatabaseStore(db_path, readonly=True).snapshot("c")
    specs = {c.name: (c.not_null, c.default) for c in snap.manifest.schema}
    snap.close()
    assert specs == {"key": (True, None), "s": (False, "'x'"), "n": (False, "7")}
    assert _rows(db, "c") == {"key": [1, 2], "s": ["a", None], "n": [7, 7]}
    w = db.writer("c")  # the constraint holds for later writers too
    with pytest.raises(ConstraintError):
        w.write(pa.table({"key": [None], "s": ["z"], "n": [1]}))
    w.close()
