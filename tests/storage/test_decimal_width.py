"""Decimals are stored per segment in the narrowest signed width (1, 2, 4 or 8 bytes) that
holds every scaled value; readers widen them back to decimal128."""

from __future__ import annotations

import decimal
import glob
import json
import os
import zlib

import numpy as np
import pyarrow as pa
import pytest

from mapdb.storage import segment, zonemap
from mapdb.storage.database import DatabaseStore
from mapdb.storage.header import HEADER_SIZE

D = decimal.Decimal
TYPE = pa.decimal128(18, 2)


def _scaled(values: list[int | None]) -> pa.Array:
    """decimal(18,2) values from scaled integers (None = null)."""
    return pa.array([None if v is None else D(v).scaleb(-2) for v in values], TYPE)


def _table(db: DatabaseStore, commits: list[list[int | None]], name: str = "t") -> None:
    w = db.create_writer(name, pa.schema([("m", TYPE), ("i", pa.int64())]), None)
    row = 0
    for values in commits:
        w.write(pa.table({"m": _scaled(values),
                          "i": pa.array(range(row, row + len(values)), pa.int64())}))
        row += len(values)
        w.commit()
    w.close()


def _data_path(db, snap, seg: int, col: str = "m") -> str:
    s = snap.manifest.segments[seg]
    return os.path.join(db.table_dir("t"), "segments", s.dirname,
                        s.columns[snap.manifest.column(col).id].data.name)


def _check(db, commits, widths) -> None:
    snap = db.snapshot("t")
    try:
        spec = snap.manifest.column("m")
        got = [s.columns[spec.id].width for s in snap.manifest.segments]
        assert got == widths
        for i, (s, values) in enumerate(zip(snap.manifest.segments, commits, strict=True)):
            assert s.columns[spec.id].data.length == len(values) * widths[i]
            assert os.path.getsize(_data_path(db, snap, i)) == HEADER_SIZE + len(values) * widths[i]
        flat = [v for c in commits for v in c]
        assert snap.column("m").to_pylist() == _scaled(flat).to_pylist()
        assert snap.column("m").type == TYPE
        assert snap.verify() == []
        assert snap.manifest.column("i").type.name == "int64"
        i_spec = snap.manifest.column("i")
        assert all(s.columns[i_spec.id].width is None for s in snap.manifest.segments)
        assert all(s.columns[i_spec.id].data.length == 8 * s.rows for s in snap.manifest.segments)
    finally:
        snap.close()


BOUNDS = {1: (-128, 127), 2: (-(1 << 15), (1 << 15) - 1), 4: (-(1 << 31), (1 << 31) - 1),
          8: (-(10 ** 18) + 1, 10 ** 18 - 1)}


@pytest.mark.parametrize("width", [1, 2, 4, 8])
@pytest.mark.parametrize("edge", ["low", "high"])
def test_each_width_is_chosen_at_its_bounds(db_path, width, edge):
    lo, hi = BOUNDS[width]
    values = [0, 5, -3, lo if edge == "low" else hi]
    db = DatabaseStore(db_path)
    _table(db, [values])
    _check(db, [values], [width])


@pytest.mark.parametrize(("value", "width"), [
    (-129, 2), (128, 2), (-(1 << 15) - 1, 4), (1 << 15, 4), (-(1 << 31) - 1, 8), (1 << 31, 8)])
def test_one_past_a_bound_takes_the_next_width(db_path, value, width):
    db = DatabaseStore(db_path)
    _table(db, [[1, value, -1]])
    _check(db, [[1, value, -1]], [width])


def test_negative_values_sign_extend(db_path):
    values = [-1, -128, -100, -2, 0, 127]
    db = DatabaseStore(db_path)
    _table(db, [values])
    _check(db, [values], [1])
    snap = db.snapshot("t")
    try:
        raw = np.fromfile(_data_path(db, snap, 0), np.int8, offset=HEADER_SIZE)
        assert raw.tolist() == values
    finally:
        snap.close()


def test_nulls_with_garbage_behind_them_narrow_and_read_back(db_path):
    """A null slot may hold any value (here one that fits no narrow width): it neither widens
    the column nor survives the cast; the file holds 0 there."""
    n = 40_000  # more than two zone-map blocks
    scaled = (np.arange(n, dtype=np.int64) % 200) - 100
    valid = np.arange(n) % 7 != 3
    words = np.zeros(2 * n, np.int64)
    words[0::2] = np.where(valid, scaled, 1 << 60)
    words[1::2] = words[0::2] >> 63
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(TYPE, n, [validity, pa.py_buffer(words)], int((~valid).sum()))
    db = DatabaseStore(db_path)
    w = db.create_writer("t", pa.schema([("m", TYPE)]), None)
    w.write(pa.table({"m": arr}))
    w.commit()
    w.close()
    snap = db.snapshot("t")
    try:
        spec = snap.manifest.column("m")
        files = snap.manifest.segments[0].columns[spec.id]
        assert files.width == 1 and files.null_count == int((~valid).sum())
        got = snap.column("m")
        assert got.null_count == files.null_count
        assert got.to_pylist() == arr.to_pylist()
        raw = np.fromfile(_data_path(db, snap, 0), np.int8, offset=HEADER_SIZE)
        assert (raw[~valid] == 0).all() and (raw[valid] == scaled[valid]).all()
        z = snap.zones("m")[0]
        assert z[:, 2].sum() == files.null_count
        assert z[0, 0] == -100 and z[0, 1] == 99
        assert snap.verify() == []
    finally:
        snap.close()


def test_all_null_segment_is_one_byte_wide(db_path):
    db = DatabaseStore(db_path)
    _table(db, [[None, None, None]])
    _check(db, [[None, None, None]], [1])


def test_segments_of_one_column_with_different_widths(db_path):
    commits = [[1, 2, 3], [1 << 40, -5], [300, None, -300], [None, 70000], [-7]]
    db = DatabaseStore(db_path)
    _table(db, commits)
    _check(db, commits, [1, 8, 2, 4, 1])


def test_compaction_rechooses_the_width_of_merged_segments(db_path):
    commits = [[1, 2, 3], [300, -300], [-7]]
    db = DatabaseStore(db_path)
    _table(db, commits)
    w = db.writer("t")
    w.compact()
    w.close()
    snap = db.snapshot("t")
    try:
        spec = snap.manifest.column("m")
        assert [s.columns[spec.id].width for s in snap.manifest.segments] == [2]
        assert snap.column("m").to_pylist() == _scaled([v for c in commits for v in c]).to_pylist()
        assert snap.verify() == []
    finally:
        snap.close()


def test_zone_maps_hold_scaled_int64_whatever_the_width(db_path):
    n = zonemap.ZONE_ROWS + 10
    values = [i % 50 - 25 for i in range(n)]
    values[-1] = 10_000
    db = DatabaseStore(db_path)
    _table(db, [values])
    snap = db.snapshot("t")
    try:
        z = snap.zones("m")[0]
        assert z.dtype == np.int64
        assert z.tolist() == [[-25, 24, 0], [9, 10_000, 0]]  # 16384 % 50 - 25 = 9
        b = zonemap.ZONE_ROWS
        assert snap.zones("i")[0].tolist() == [[0, b - 1, 0], [b, n - 1, 0]]
    finally:
        snap.close()


def _rewrite_manifest(db, edit) -> None:
    """Edit the current manifest's body in place (CRC recomputed): as an older mapdb wrote it."""
    path = max(glob.glob(os.path.join(db.table_dir("t"), "manifests", "v*.json")))
    with open(path, "rb") as f:
        outer = json.loads(f.read())
    edit(outer["body"])
    text = json.dumps(outer["body"], separators=(",", ":"), sort_keys=True)
    outer["crc32"] = zlib.crc32(text.encode())
    with open(path, "w") as f:
        f.write(json.dumps(outer))


def test_manifest_without_width_reads_as_eight_bytes(db_path, monkeypatch):
    """A table written before widths and zonemap versions existed: 8-byte decimals, no
    "width" key, no "zonemap" key (its zone maps wrong: rebuilt when read)."""
    import mapdb.storage.zonemap as zm
    commits = [[1, -2, None, 3], [1 << 40, 7]]

    def old_build(arr, ctype, block_rows=zonemap.ZONE_ROWS):
        out = real_build(arr, ctype, block_rows)
        out[:, 0], out[:, 1], out[:, 2] = 123, -123, len(arr)  # nonsense, as old zone maps could be
        return out
    real_build = zm.build
    monkeypatch.setattr(segment, "decimal_width", lambda zones, rows: 8)
    monkeypatch.setattr(zm, "build", old_build)
    db = DatabaseStore(db_path)
    _table(db, commits)
    monkeypatch.undo()

    def strip(body):
        for s in body["segments"]:
            del s["zonemap"]
            for c in s["columns"].values():
                c.pop("width", None)
    _rewrite_manifest(db, strip)
    snap = db.snapshot("t")
    try:
        spec = snap.manifest.column("m")
        assert [s.columns[spec.id].width for s in snap.manifest.segments] == [None, None]
        assert [s.zonemap for s in snap.manifest.segments] == [1, 1]
        assert [s.columns[spec.id].data_width(spec.type) for s in snap.manifest.segments] == [8, 8]
        assert snap.column("m").to_pylist() == _scaled([v for c in commits for v in c]).to_pylist()
        assert snap.verify() == []
        assert [z.tolist() for z in snap.zones("m")] == [[[-2, 3, 1]], [[7, 1 << 40, 0]]]
        assert [z.tolist() for z in snap.zones("i")] == [[[0, 3, 0]], [[4, 5, 0]]]
    finally:
        snap.close()


def test_corrupted_narrow_file_is_detected_by_verify(db_path):
    db = DatabaseStore(db_path)
    _table(db, [[1, 2, 3, 300]])
    snap = db.snapshot("t")
    path = _data_path(db, snap, 0)
    snap.close()
    with open(path, "r+b") as f:
        f.seek(HEADER_SIZE + 3)
        b = f.read(1)
        f.seek(HEADER_SIZE + 3)
        f.write(bytes([b[0] ^ 0x40]))
    snap = db.snapshot("t")
    try:
        problems = snap.verify()
        assert len(problems) == 1 and "data checksum mismatch" in problems[0], problems
        assert path in problems[0]
    finally:
        snap.close()


@pytest.mark.parametrize("width", [1, 4, 8, 3])
def test_manifest_width_that_does_not_fit_the_file_is_refused(db_path, width):
    """The header says length 8 (4 rows of 2 bytes); a manifest claiming another width
    cannot be read as if it were right."""
    from mapdb.errors import CorruptionError
    db = DatabaseStore(db_path)
    _table(db, [[1, 2, 3, 300]])

    def lie(body):
        for c in body["segments"][0]["columns"].values():
            if "width" in c:
                assert c["width"] == 2
                c["width"] = width
    _rewrite_manifest(db, lie)
    snap = db.snapshot("t")
    try:
        with pytest.raises(CorruptionError, match=r"width|expected"):
            snap.column("m")
        assert any("width" in p for p in snap.verify())
    finally:
        snap.close()
