"""Index files: built at append, compaction and create_index; unique checks; sorted
attributes; verify; reclamation; atomicity of index changes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import ConstraintError, IndexWarning, SchemaError
from mapdb.storage import table as table_mod
from mapdb.storage.database import DatabaseStore


def _table(n: int, start: int = 0, step: int = 1) -> pa.Table:
    k = np.arange(start, start + n * step, step, dtype=np.int64)
    return pa.table({"k": k, "s": pa.array([f"v{x % 97}" if x % 13 else None for x in k.tolist()],
                                           pa.large_string()),
                     "m": pa.array([int(x) * 7919 % 1000 for x in k], pa.decimal128(9, 2)),
                     "bin": pa.array([bytes([x % 7]) * 3 for x in k.tolist()], pa.large_binary())})


def _index_files(db, name="t") -> set[str]:
    d = os.path.join(db._store.table_dir(name), "indexes")
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def _scan(t, col, v) -> list[int]:
    return [i for i, x in zip(t.column("k").to_pylist(), t.column(col).to_pylist(),
                              strict=True) if x == v]


def test_index_follows_appends_and_compaction(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", _table(1000), dictionary=None)
    t.create_index("s").create_index("k", unique=True).create_index("bin")
    for i in range(1, 4):
        t.append(_table(500, start=1000 * i))
    m = t._snap.manifest
    assert {len(ix.files) for ix in m.indexes if ix.kind == "hash"} == {4}
    whole = t.to_arrow()
    for v in ("v5", "v96", "nope"):
        assert sorted(t.lookup(s=v).column("k").to_pylist()) == _scan(whole, "s", v)
    assert t.lookup(bin=b"\x03\x03\x03").num_rows == len(_scan(whole, "bin", b"\x03" * 3))
    before = _index_files(db)
    t.compact()
    assert len(t._snap.manifest.segments) == 1
    db._store.writer("t").close()  # reclaims what the version this Table let go of named
    after = _index_files(db)
    assert len(after) == 3 and not (after & before)  # merged files; the old ones reclaimed
    assert t.verify() == []
    for v in ("v5", "v0"):
        assert sorted(t.lookup(s=v).column("k").to_pylist()) == _scan(whole, "s", v)
    assert t.lookup(k=[3500, 3499, 7]).column("k").to_pylist() == [7, 3499]
    t.drop_index("s")
    db._store.writer("t").close()
    assert len(_index_files(db)) == 2
    assert {i["name"] for i in t.indexes()} == {"k_hash", "bin_hash", "k_sorted"}
    db.close()


def test_unique_refuses_repeats_and_leaves_the_table_as_it_was(tmp_path, monkeypatch):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", _table(100), dictionary=None)
    t.create_index("k", unique=True)
    v = t.version
    with pytest.raises(ConstraintError, match=r"value 4[0-4] occurs"):
        t.append(_table(5, start=40))  # 40..44 exist
    assert t.refresh().version == v and len(t) == 100
    # a repeat between two segments of one append
    monkeypatch.setattr(table_mod, "SEGMENT_BYTES", 1)
    with pytest.raises(ConstraintError, match="value 1000"):
        t.append(pa.concat_tables([_table(3, start=1000), _table(3, start=1000)]))
    assert t.refresh().version == v and len(t) == 100
    t.append(_table(3, start=2000))  # fine: new values
    assert len(t.refresh()) == 103
    # creating a unique index over repeated values fails, and changes nothing
    with pytest.raises(ConstraintError, match="occurs more than once"):
        t.create_index("s", unique=True)
    assert [i["name"] for i in t.refresh().indexes() if i["kind"] == "hash"] == ["k_hash"]
    assert not [f for f in _index_files(db) if not f.startswith(f"x{_id(t, 'k_hash')}-")]
    db.close()


def _id(t, name) -> int:
    return t._snap.manifest.index(name).id


def test_sorted_attribute_detected_declared_and_dropped(tmp_path, caplog):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", _table(100), dictionary=None)
    assert [(i["name"], i["declared"]) for i in t.indexes()] == [("k_sorted", False)]
    t.append(_table(10, start=100))
    assert [i["name"] for i in t.indexes()] == ["k_sorted"]
    with caplog.at_level(logging.INFO, logger="mapdb"):
        t.append(_table(10, start=5))  # out of order: the detected attribute goes quietly
    assert t.indexes() == [] and "out of order" in caplog.text
    with pytest.raises(SchemaError, match="not sorted"):
        t.create_index("k", kind="sorted")
    with pytest.raises(SchemaError, match="sorted attribute needs"):
        t.create_index("s", kind="sorted")
    u = db.create_table("u", _table(50), dictionary=None)
    u.create_index("k", kind="sorted")
    assert [(i["name"], i["declared"]) for i in u.indexes()] == [("k_sorted", True)]
    with pytest.warns(IndexWarning, match="sorted attribute is dropped"):
        u.append(_table(5, start=0))
    assert u.refresh().indexes() == []
    db.close()


def test_replace_keeps_indexes_by_column_name(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", _table(100), dictionary=None)
    t.create_index("s")
    db.create_table("t", _table(30, start=7), mode="replace", dictionary=None)
    t.refresh()
    assert [i["name"] for i in t.indexes() if i["kind"] == "hash"] == ["s_hash"]
    assert sorted(t.lookup(s="v10").column("k").to_pylist()) == [10]
    assert t.verify() == []
    db.close()


def test_verify_finds_damaged_and_wrong_index_files(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", _table(300), dictionary=None)
    t.create_index("k")
    assert t.verify() == []
    (path,) = [os.path.join(db._store.table_dir("t"), "indexes", f) for f in _index_files(db)]
    with open(path, "r+b") as f:
        f.seek(4096 + 40)
        b = f.read(1)
        f.seek(4096 + 40)
        f.write(bytes([b[0] ^ 0xFF]))
    problems = t.verify()
    assert problems and "checksum" in problems[0], problems
    db.close()
    r = subprocess.run([sys.executable, "-m", "mapdb.cli", "verify", str(tmp_path / "db")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "checksum" in r.stdout


def test_create_index_is_atomic_under_a_crash(tmp_path):
    """Killed after the index files are written, before the manifest: the table has no
    index, and the next writer removes the orphan files."""
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", _table(2000), dictionary=None)
    db.close()
    code = f"import mapdb; mapdb.connect({str(tmp_path / 'db')!r}).table('t').create_index('s')"
    env = dict(os.environ, MAPDB_CRASH_AT="before-manifest")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert r.returncode != 0
    store = DatabaseStore(tmp_path / "db")
    assert store.snapshot("t").manifest.indexes == [i for i in
                                                    store.snapshot("t").manifest.indexes
                                                    if i.kind == "sorted"]
    d = os.path.join(store.table_dir("t"), "indexes")
    assert os.listdir(d)  # the orphan files are there ...
    store.writer("t").close()  # ... until a writer opens the table
    assert os.listdir(d) == []


def test_index_refuses_bad_columns(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", {"b": [True, False], "k": [1, 2]})
    with pytest.raises(SchemaError, match="bool"):
        t.create_index("b")
    with pytest.raises(KeyError):
        t.create_index("nope")
    with pytest.raises(SchemaError, match="kind"):
        t.create_index("k", kind="btree")
    t.create_index("k")
    with pytest.raises(SchemaError, match="already has"):
        t.create_index("k")
    with pytest.raises(KeyError, match="no index"):
        t.drop_index("zzz")
    db.close()
