"""Damaged and wrong files: found at open (headers, lengths) or by verify (data checksums),
always as a CorruptionError naming the file; never a crash."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from mapdb.errors import CorruptionError
from mapdb.storage.database import DatabaseStore
from mapdb.storage.header import HEADER_SIZE
from mapdb.storage.manifest import Manifest

from ._support import failure

ROWS = 1000


def _table(db_path, name: str = "t", commits: int = 2) -> DatabaseStore:
    db = DatabaseStore(db_path)
    x = np.arange(ROWS, dtype=np.int64)
    t = pa.table({
        "x": x,
        "n": pa.array([None if i % 7 == 0 else float(i) for i in range(ROWS)]),
        "s": pa.array([f"str{i}" for i in range(ROWS)], pa.string()),
        "d": pa.array([f"d{i % 5}" for i in range(ROWS)], pa.string()),
    })
    w = db.create_writer(name, t.schema, None, dictionary=["d"])
    for _ in range(commits):
        w.write(t)
        w.commit()
    w.close()
    return db


def _file(db, kind: str, seg: int = 0, name: str = "t") -> str:
    """Path of one column file: kind is '<column>.<suffix>' or 'dict.<suffix>'."""
    snap = db.snapshot(name)
    try:
        col, suffix = kind.split(".")
        tdir = db.table_dir(name)
        if col == "dict":
            spec = snap.manifest.column("d")
            chunk = snap.manifest.dictionaries[spec.id][0]
            return os.path.join(tdir, "dicts", f"c{spec.id}-{chunk.id:06d}.{suffix}")
        spec = snap.manifest.column(col)
        s = snap.manifest.segments[seg]
        return os.path.join(tdir, "segments", s.dirname, f"c{spec.id}.{suffix}")
    finally:
        snap.close()


def _read_all(db, name: str = "t") -> None:
    """Open every column, zone map and dictionary of the current version."""
    snap = db.snapshot(name)
    try:
        snap.to_arrow()
        for c in snap.manifest.schema:
            snap.zones(c.name)
    finally:
        snap.close()


def _verify(db, name: str = "t") -> list[str]:
    snap = db.snapshot(name)
    try:
        return snap.verify()
    finally:
        snap.close()


def test_intact_table_reads_and_verifies(db_path):
    db = _table(db_path)
    _read_all(db)
    assert _verify(db) == []


@pytest.mark.parametrize("length", [HEADER_SIZE + 8 * ROWS - 1, HEADER_SIZE + 100, HEADER_SIZE])
def test_truncated_column_file(db_path, length):
    db = _table(db_path)
    path = _file(db, "x.data", seg=1)
    full = os.path.getsize(path)
    assert full == HEADER_SIZE + 8 * ROWS
    os.truncate(path, length)
    expected = (f"{path}: file is {length} bytes but the committed column needs {full} "
                f"({HEADER_SIZE} header + {8 * ROWS} data); it was truncated")
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError) as e:
        snap.column("x")
    assert str(e.value) == expected
    assert snap.verify() == [expected]
    assert snap.column("s").length() == 2 * ROWS  # other columns still readable
    snap.close()


@pytest.mark.parametrize("length", [0, 1, HEADER_SIZE - 1])
def test_column_file_shorter_than_its_header(db_path, length):
    db = _table(db_path)
    path = _file(db, "x.data")
    os.truncate(path, length)
    msg = f"{path}: file is {length} bytes, shorter than its {HEADER_SIZE}-byte header"
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError) as e:
        snap.column("x")
    assert str(e.value) == msg
    assert snap.verify() == [msg]
    snap.close()


@pytest.mark.parametrize("kind", ["x.data", "n.valid", "s.offsets", "s.data", "d.data",
                                  "x.zones", "dict.data", "dict.offsets"])
def test_flipped_data_byte_found_by_verify(db_path, kind):
    db = _table(db_path)
    path = _file(db, kind)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        pos = HEADER_SIZE + (size - HEADER_SIZE) // 2
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x10]))
    assert _verify(db) == [f"{path}: data checksum mismatch (the column's bytes are damaged)"]


HEADER_POSITIONS = [*range(128), *range(HEADER_SIZE - 4, HEADER_SIZE)]


@pytest.mark.parametrize("kind", ["x.data", "n.valid", "s.offsets", "x.zones", "dict.data"])
def test_every_header_byte_flip_is_detected_at_open(db_path, kind):
    db = _table(db_path, commits=1)
    path = _file(db, kind)
    original = Path(path).read_bytes()
    column = "d" if kind.startswith("dict") else kind.split(".")[0]
    undetected = []
    for pos in HEADER_POSITIONS:
        for mask in (0x01, 0x80):
            damaged = bytearray(original)
            damaged[pos] ^= mask
            os.unlink(path)  # a fresh copy each time (mapped files are never rewritten)
            with open(path, "wb") as f:
                f.write(damaged)
            snap = db.snapshot("t")
            try:
                if kind.endswith("zones"):
                    snap.zones(column)
                else:
                    snap.column(column)
                undetected.append((pos, mask))
            except CorruptionError as e:
                assert str(e).startswith(f"{path}: "), str(e)
            finally:
                snap.close()
    os.unlink(path)
    with open(path, "wb") as f:
        f.write(original)
    assert undetected == []
    _read_all(db)
    assert _verify(db) == []


def _rewrite_header(path: str, **fields) -> None:
    """Change header fields and recompute the header CRC (a well-formed but wrong header)."""
    offsets = {"version": (8, "<H"), "size": (10, "<H"), "kind": (12, "<B"),
               "type": (13, "<B"), "rows": (16, "<Q"), "length": (24, "<Q")}
    data = bytearray(Path(path).read_bytes())
    for k, v in fields.items():
        off, fmt = offsets[k]
        struct.pack_into(fmt, data, off, v)
    struct.pack_into("<I", data, HEADER_SIZE - 4, zlib.crc32(bytes(data[:HEADER_SIZE - 4])))
    os.unlink(path)
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("fields,message", [
    ({"version": 2}, "format version 2; this mapdb reads version 1"),
    ({"size": 8192}, "invalid header (size 8192, kind 1)"),
    ({"kind": 9}, "invalid header (size 4096, kind 9)"),
    ({"kind": 4}, "header does not match the manifest: kind <BufferKind.ZONES: 4>"),
    ({"type": 9}, "header does not match the manifest: type 9 (manifest: 5)"),
    ({"rows": 999}, "header does not match the manifest: rows 999 (manifest: 1000)"),
    ({"length": 8}, "header does not match the manifest: length 8 (manifest: 8000)"),
])
def test_well_formed_but_wrong_header(db_path, fields, message):
    db = _table(db_path)
    path = _file(db, "x.data")
    _rewrite_header(path, **fields)
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError) as e:
        snap.column("x")
    assert str(e.value).startswith(f"{path}: {message}")
    assert len(snap.verify()) == 1
    snap.close()


def test_manifest_byte_flips_are_detected(db_path):
    db = _table(db_path)
    mdir = os.path.join(db.table_dir("t"), "manifests")
    (name,) = os.listdir(mdir)
    path = os.path.join(mdir, name)
    original = Path(path).read_bytes()
    good = Manifest.from_bytes(original, path)
    undetected, harmless = [], 0
    for pos in range(len(original)):
        for mask in (0x01, 0x80):
            damaged = bytearray(original)
            damaged[pos] ^= mask
            with open(path, "wb") as f:
                f.write(damaged)
            try:
                snap = db.snapshot("t")
            except CorruptionError as e:
                assert str(e).startswith(f"{path}: ")
                continue
            # Accepted: only harmless if it means exactly the same manifest (e.g. the last
            # digit of the float "created" changed to another spelling of the same double).
            same = snap.manifest == good
            snap.close()
            if same:
                harmless += 1
            else:
                undetected.append((pos, mask, original[max(0, pos - 20):pos + 5]))
    with open(path, "wb") as f:
        f.write(original)
    assert undetected == []
    assert harmless <= 2
    _read_all(db)


@pytest.mark.parametrize("content,message", [
    (b"", "unreadable manifest"),
    (b"{}", "unreadable manifest (KeyError: 'body')"),
    (b"\x00" * 100, "unreadable manifest"),
    (b'{"body": {"format": "x"}, "crc32": 1}', "manifest checksum mismatch"),
])
def test_garbage_manifest(db_path, content, message):
    db = _table(db_path)
    mdir = os.path.join(db.table_dir("t"), "manifests")
    (name,) = os.listdir(mdir)
    with open(os.path.join(mdir, name), "wb") as f:
        f.write(content)
    with pytest.raises(CorruptionError) as e:
        db.snapshot("t")
    assert str(e.value).startswith(f"{os.path.join(mdir, name)}: {message}")


def test_damaged_manifest_stops_reclaim(db_path):
    """A writer must not delete data on the word of a damaged manifest."""
    db = _table(db_path)
    keep = db.snapshot("t")  # pin this version so the next commit keeps it
    w = db.writer("t")
    w.write(pa.table({"x": [1], "n": [1.0], "s": ["a"], "d": ["d1"]}))
    w.commit()
    w.close()
    old = keep._pin.path
    keep.close()
    segs = set(os.listdir(os.path.join(db.table_dir("t"), "segments")))
    with open(old, "r+b") as f:
        f.write(b"#")
    db.writer("t").close()  # reclaim: old manifest unreadable, nothing deleted
    assert set(os.listdir(os.path.join(db.table_dir("t"), "segments"))) == segs
    assert _verify(db) == []


def test_empty_file_in_place_of_a_column_file(db_path):
    db = _table(db_path)
    path = _file(db, "x.data")
    os.unlink(path)
    open(path, "wb").close()
    msg = f"{path}: file is 0 bytes, shorter than its {HEADER_SIZE}-byte header"
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError, match="^" + msg):
        snap.column("x")
    assert snap.verify() == [msg]
    snap.close()


def test_wrong_magic(db_path):
    db = _table(db_path)
    path = _file(db, "s.offsets")
    data = bytearray(Path(path).read_bytes())
    data[:8] = b"PAR1\x00\x00\x00\x00"
    os.unlink(path)
    Path(path).write_bytes(data)
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError) as e:
        snap.column("s")
    assert str(e.value) == f"{path}: not a mapdb data file (magic b'PAR1\\x00\\x00\\x00\\x00')"
    snap.close()


def test_column_file_from_another_table(db_path):
    db = _table(db_path, "t")
    _table(db_path, "u")
    dst = _file(db, "x.data", name="t")
    src = _file(db, "x.data", name="u")
    os.unlink(dst)
    shutil.copyfile(src, dst)
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError) as e:
        snap.column("x")
    msg = str(e.value)
    assert msg.startswith(f"{dst}: header does not match the manifest: ")
    assert "table id" in msg and "a file from another table or version?" in msg
    assert "segment id" not in msg and "rows" not in msg  # both tables: same layout
    assert len(snap.verify()) == 1
    snap.close()


def test_column_file_from_another_segment(db_path):
    db = _table(db_path)
    dst, src = _file(db, "x.data", seg=0), _file(db, "x.data", seg=1)
    os.unlink(dst)
    shutil.copyfile(src, dst)
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError) as e:
        snap.column("x")
    assert str(e.value).startswith(f"{dst}: header does not match the manifest: segment id ")
    assert "table id" not in str(e.value)
    snap.close()


def test_column_file_from_another_column(db_path):
    db = _table(db_path)
    dst, src = _file(db, "x.data"), _file(db, "n.data")  # both 8-byte values
    os.unlink(dst)
    shutil.copyfile(src, dst)
    snap = db.snapshot("t")
    with pytest.raises(CorruptionError, match=r"type 11 \(manifest: 5\).*column id"):
        snap.column("x")
    snap.close()


def test_symlink_in_place_of_a_column_file(db_path, tmp_path):
    db = _table(db_path)
    path = _file(db, "x.data")
    target = tmp_path / "elsewhere.data"
    shutil.copyfile(path, target)  # even a link to the right bytes is refused
    os.unlink(path)
    os.symlink(target, path)
    snap = db.snapshot("t")
    msg = f"{path}: is a symlink; mapdb never follows symlinks to column files"
    with pytest.raises(CorruptionError) as e:
        snap.column("x")
    assert str(e.value) == msg
    assert snap.verify() == [msg]
    snap.close()


def test_directory_in_place_of_a_column_file(db_path):
    db = _table(db_path)
    path = _file(db, "s.data")
    os.unlink(path)
    os.mkdir(path)
    snap = db.snapshot("t")
    msg = f"{path}: is a directory, expected a column file"
    with pytest.raises(CorruptionError) as e:
        snap.column("s")
    assert str(e.value) == msg
    assert snap.verify() == [msg]
    snap.close()


def test_missing_column_file(db_path):
    db = _table(db_path)
    path = _file(db, "dict.offsets")
    os.unlink(path)
    snap = db.snapshot("t")
    msg = f"{path}: column file is missing"
    with pytest.raises(CorruptionError) as e:
        snap.column("d")
    assert str(e.value) == msg
    assert snap.verify() == [msg]
    snap.close()


def test_symlinked_manifest_is_refused(db_path, tmp_path):
    db = _table(db_path)
    mdir = os.path.join(db.table_dir("t"), "manifests")
    (name,) = os.listdir(mdir)
    path = os.path.join(mdir, name)
    shutil.copyfile(path, tmp_path / "m.json")
    os.unlink(path)
    os.symlink(tmp_path / "m.json", path)
    exc_type, msg = failure(db.snapshot, "t")
    assert exc_type is CorruptionError and msg.startswith(f"{path}: ")
