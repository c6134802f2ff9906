"""Hostile table and column names: refused, or stored safely inside the database directory
and listed back under their own names."""

from __future__ import annotations

import os
import re

import pyarrow as pa
import pytest

from mapdb.errors import InvalidNameError, NotFoundError, SchemaError, StorageError
from mapdb.storage.database import DatabaseStore

from ._support import db_leftovers, files_outside

STORED = [
    "../x", "../../../../../../tmp/evil", "/abs", "/", "a/b", ".", "..", "~", "~root",
    "t_x", "%2E", "%", "a%2Fb", "mapdb.json", ".tmp-1-abc", ".trash-x", "LOCK", "manifests",
    "\\..\\x", "C:\\x", "a b", " ", "täble", "名前", "🙂", "a\u200bb", "\ufeffbom",
    "x" * 128, "é" * 20, "-", "_",
]
REFUSED = {
    "": "table name is empty",
    "x" * 129: "table name is 129 characters long; the limit is 128",
    "a\x00b": "contains control character '\\x00'",
    "a\nb": "contains control character '\\n'",
    "\r": "contains control character '\\r'",
    "tab\there": "contains control character '\\t'",
    "\x7f": "contains control character '\\x7f'",
    "\ud800": "contains control character '\\ud800'",
}
# Valid names (<= 128 characters) whose encoded directory name exceeds NAME_MAX (255 bytes).
TOO_LONG_ENCODED = ["." * 128, "é" * 128, "🙂" * 100, "/" * 90]


def _write(db: DatabaseStore, name: str, value: int) -> None:
    w = db.create_writer(name, pa.schema([("v", pa.int64())]), None)
    w.write(pa.table({"v": [value]}))
    w.commit()
    w.close()


def test_hostile_table_names_stay_inside_the_database(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    db_dir = root / "db"
    db = DatabaseStore(db_dir)
    outside_before = set(os.listdir(tmp_path))
    escapes = ["/abs", "/tmp/evil", str(tmp_path / "x"), str(root / "x"), "/x"]
    escapes_before = [os.path.exists(p) for p in escapes]
    for i, name in enumerate(STORED):
        _write(db, name, i)
        d = db.table_dir(name)
        assert os.path.dirname(d) == str(db_dir)
        assert re.fullmatch(r"t_[A-Za-z0-9_%-]+", os.path.basename(d)), os.path.basename(d)
        assert len(os.path.basename(d).encode()) <= 255
    assert db.tables() == sorted(STORED)
    for i, name in enumerate(STORED):
        assert db.exists(name)
        snap = db.snapshot(name)
        assert snap.column("v").to_pylist() == [i], name
        snap.close()
    assert files_outside(root, db_dir) == []
    assert set(os.listdir(tmp_path)) == outside_before
    assert [os.path.exists(p) for p in escapes] == escapes_before
    assert db_leftovers(str(db_dir)) == []
    # names survive a reopen, and dropping one leaves the others
    db2 = DatabaseStore(db_dir, readonly=True)
    assert db2.tables() == sorted(STORED)
    db.drop_table("..")
    assert ".." not in db.tables() and "." in db.tables() and "../x" in db.tables()
    with pytest.raises(NotFoundError, match=r"no table '\.\.'"):
        db.snapshot("..")


@pytest.mark.parametrize("name,message", list(REFUSED.items()), ids=repr)
def test_invalid_table_names_are_refused(tmp_path, name, message):
    db = DatabaseStore(tmp_path / "db")
    with pytest.raises(InvalidNameError) as e:
        db.create_writer(name, pa.schema([("v", pa.int64())]), None)
    assert message in str(e.value)
    for call in (db.exists, db.snapshot, db.writer, db.drop_table, db.table_dir):
        with pytest.raises(InvalidNameError):
            call(name)
    assert os.listdir(tmp_path / "db") == ["mapdb.json"]
    assert files_outside(tmp_path, tmp_path / "db") == []


@pytest.mark.parametrize("name", [1, None, b"x", ("a",)], ids=repr)
def test_non_string_table_names_are_refused(tmp_path, name):
    db = DatabaseStore(tmp_path / "db")
    with pytest.raises(InvalidNameError, match="table name must be a string"):
        db.create_writer(name, pa.schema([("v", pa.int64())]), None)


@pytest.mark.parametrize("name", TOO_LONG_ENCODED, ids=lambda n: f"{n[0]!r}x{len(n)}")
def test_long_names_that_encode_long(tmp_path, name):
    db = DatabaseStore(tmp_path / "db")
    try:
        _write(db, name, 1)
    except InvalidNameError:
        assert db.tables() == []
        return
    assert db.tables() == [name]


def test_case_and_encoding_lookalikes_are_distinct_tables(tmp_path):
    db = DatabaseStore(tmp_path / "db")
    names = ["T", "t", ".", "%2E", "%252E", "a/b", "a%2Fb", "a_b"]
    for i, n in enumerate(names):
        _write(db, n, i)
    assert db.tables() == sorted(names)
    for i, n in enumerate(names):
        snap = db.snapshot(n)
        assert snap.column("v").to_pylist() == [i]
        snap.close()


def test_foreign_directories_are_not_tables(tmp_path):
    db = DatabaseStore(tmp_path / "db")
    _write(db, "real", 1)
    for d in ("t_fake", "notatable", "t_", ".tmp-1-x", "t_a b"):
        os.mkdir(tmp_path / "db" / d)
    os.makedirs(tmp_path / "db" / "t_empty" / "manifests")
    assert db.tables() == ["real"]


COLUMN_NAMES = ["a/b", "..", ".", "../../x", "/abs", "~", "c1", "c1.data", "LOCK", "v", " ",
                "名前", "🙂", "x" * 128, "%2F", "a\\b"]


def test_hostile_column_names_are_fine(tmp_path):
    db = DatabaseStore(tmp_path / "db")
    t = pa.table({n: pa.array([i, None, i], pa.int64()) for i, n in enumerate(COLUMN_NAMES)})
    t = t.append_column("s", pa.array(["p", "q", "p"]))
    w = db.create_writer("t", t.schema, t.to_batches()[0], dictionary=["s"])
    w.write(t)
    w.commit()
    w.close()
    snap = db.snapshot("t")
    assert snap.schema.names == [*COLUMN_NAMES, "s"]
    got = snap.to_arrow()
    for i, n in enumerate(COLUMN_NAMES):
        assert got.column(n).to_pylist() == [i, None, i]
    assert got.column("s").to_pylist() == ["p", "q", "p"]
    seg_dir = os.path.join(db.table_dir("t"), "segments", snap.manifest.segments[0].dirname)
    for f in os.listdir(seg_dir):
        assert re.fullmatch(r"c\d+\.(data|valid|offsets|zones)", f), f
    for f in os.listdir(os.path.join(db.table_dir("t"), "dicts")):
        assert re.fullmatch(r"c\d+-\d{6}\.(data|offsets)", f), f
    assert files_outside(tmp_path, tmp_path / "db") == []
    snap.close()


@pytest.mark.parametrize("name,message", [
    ("", "column name is empty"),
    ("x" * 129, "column name is 129 characters long"),
    ("a\x00", "contains control character"),
    ("a\nb", "contains control character"),
], ids=repr)
def test_invalid_column_names_are_refused(tmp_path, name, message):
    db = DatabaseStore(tmp_path / "db")
    with pytest.raises(InvalidNameError, match=re.escape(message)):
        db.create_writer("t", pa.schema([("ok", pa.int64()), (name, pa.int64())]), None)
    assert db.tables() == []
    assert db_leftovers(str(tmp_path / "db")) == []


def test_dictionary_for_unknown_column_is_refused(tmp_path):
    db = DatabaseStore(tmp_path / "db")
    with pytest.raises(SchemaError, match="unknown column"):
        db.create_writer("t", pa.schema([("a", pa.string())]), None, dictionary=["b"])


def test_database_in_a_foreign_directory_is_refused(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("mine")
    with pytest.raises(StorageError, match="is not empty and is not a mapdb database"):
        DatabaseStore(tmp_path / "other")
    assert os.listdir(tmp_path / "other") == ["file.txt"]
    with pytest.raises(NotFoundError, match="no mapdb database here"):
        DatabaseStore(tmp_path / "missing", readonly=True)
    assert not (tmp_path / "missing").exists()
