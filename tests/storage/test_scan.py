"""The physical scan API (storage.scan, Snapshot.physical): raw views over the mapped
files, equal to what the Arrow path returns, plus madvise/mincore over the rows' bytes."""

from __future__ import annotations

import datetime
import decimal
import gc
import os
import time

import numpy as np
import pyarrow as pa
import pytest

from mapdb import _ext
from mapdb.storage.database import DatabaseStore
from mapdb.storage.header import HEADER_SIZE
from mapdb.storage.scan import ADVICE, PhysicalColumn

from ._support import maps_lines

D = decimal.Decimal
PAGE = _ext.PAGE_SIZE


def _dec(values, p=18, s=2):
    return pa.array([None if v is None else D(v).scaleb(-s) for v in values],
                    pa.decimal128(p, s))


def _batch(k: int, n: int, nulls: bool) -> pa.Table:
    """Every stored type; ``nulls`` puts a null in every 5th row of every column."""
    rng = np.random.default_rng(k)
    mask = (np.arange(n) % 5 == 1) if nulls else None

    def arr(values, t):
        return pa.array(values, t, mask=mask)
    ints = rng.integers(-100, 100, n)
    cols = {
        "i8": arr(ints.astype(np.int8), pa.int8()),
        "i16": arr((ints * 300).astype(np.int16), pa.int16()),
        "i32": arr(ints.astype(np.int32) * 100_000, pa.int32()),
        "i64": arr(ints * (1 << 40), pa.int64()),
        "u8": arr((ints + 100).astype(np.uint8), pa.uint8()),
        "u16": arr((ints + 100).astype(np.uint16) * 300, pa.uint16()),
        "u32": arr((ints + 100).astype(np.uint32) << 20, pa.uint32()),
        "u64": arr((ints + 100).astype(np.uint64) << np.uint64(56), pa.uint64()),
        "f32": arr(rng.standard_normal(n).astype(np.float32), pa.float32()),
        "f64": arr(rng.standard_normal(n), pa.float64()),
        "date": arr(ints.astype(np.int32) + 19_000, pa.int32()).cast(pa.date32()),
        "ts": arr(ints * 10**9 + 1_700_000_000 * 10**6, pa.int64()).cast(pa.timestamp("us")),
        "tsz": arr(ints * 10**12, pa.int64()).cast(pa.timestamp("ns", "UTC")),
        "b": arr(ints > 0, pa.bool_()),
        # decimals: ranges that need 1, 2, 4 and 8 bytes (the 8-byte one only in k = 1)
        "d1": _dec([None if nulls and i % 5 == 1 else int(v) for i, v in enumerate(ints)]),
        "d2": _dec([None if nulls and i % 5 == 1 else int(v) * 300 for i, v in enumerate(ints)]),
        "d4": _dec([None if nulls and i % 5 == 1 else int(v) * 10**7 for i, v in enumerate(ints)],
                   15, 2),
        "d8": _dec([None if nulls and i % 5 == 1 else int(v) * 10**(15 if k == 1 else 2)
                    for i, v in enumerate(ints)]),
        "s": pa.array([None if nulls and i % 5 == 1 else "x" * (i % 7) + str(v)
                       for i, v in enumerate(ints)], pa.string()),
        "bin": pa.array([None if nulls and i % 5 == 1 else bytes([i % 256]) * (i % 3)
                         for i in range(n)], pa.binary()),
        "dict": pa.array([None if nulls and i % 5 == 1 else f"v{v % 4}"
                          for i, v in enumerate(ints)],
                         pa.string()),
    }
    return pa.table(cols)


@pytest.fixture
def all_types(db_path):
    """A table of every type in three segments: nulls, no nulls, nulls again."""
    db = DatabaseStore(db_path)
    parts = [_batch(0, 1000, True), _batch(1, 777, False), _batch(2, 20_000, True)]
    w = db.create_writer("t", parts[0].schema, None, dictionary=["dict"])
    for p in parts:
        w.write(p)
        w.commit()
    w.close()
    return db


def _valid(chunk: pa.Array) -> np.ndarray:
    return np.asarray(chunk.is_valid())


def _check_column(snap, name: str) -> None:
    spec = snap.manifest.column(name)
    phys = snap.physical(name)
    chunks = snap.column_chunks(name)
    zones = snap.zones(name)
    assert len(phys) == len(chunks) == len(snap.manifest.segments)
    for pc, chunk, z, rows in zip(phys, chunks, zones, snap.segment_rows(), strict=True):
        assert isinstance(pc, PhysicalColumn)
        assert pc.name == name and pc.ctype == spec.type and pc.rows == rows == len(chunk)
        assert pc.null_count == chunk.null_count
        valid = _valid(chunk)
        if chunk.null_count:
            assert pc.validity.dtype == np.uint8 and len(pc.validity) == (rows + 7) // 8
            assert np.array_equal(np.unpackbits(pc.validity, count=rows, bitorder="little")
                                  .astype(bool), valid)
        else:
            assert pc.validity is None
        assert np.array_equal(pc.zones, z) and pc.zones.dtype == np.int64
        assert pc.zones.shape == (-(-rows // 16384), 3)
        assert not pc.data.flags.writeable and not pc.data.flags.owndata
        kind = spec.type.kind
        if kind in ("string", "binary"):
            assert pc.offsets.dtype == np.int64 and len(pc.offsets) == rows + 1
            assert pc.data.dtype == np.uint8 and len(pc.data) == pc.offsets[-1]
            raw = pc.data.tobytes()
            got = [raw[pc.offsets[i]:pc.offsets[i + 1]] for i in range(rows)]
            want = chunk.to_pylist()
            for g, w, v in zip(got, want, valid, strict=True):
                if v:
                    assert g == (w.encode() if kind == "string" else w)
            continue
        assert pc.offsets is None
        if kind == "bool":
            assert pc.data.dtype == np.uint8 and len(pc.data) == (rows + 7) // 8
            bits = np.unpackbits(pc.data, count=rows, bitorder="little").astype(bool)
            want = np.asarray(chunk.fill_null(False))
            assert np.array_equal(bits[valid], want[valid])
            continue
        assert len(pc.data) == rows
        if kind == "dict":
            assert pc.data.dtype == np.int32
            dictionary = snap.dictionary(spec).to_pylist()
            want = chunk.to_pylist()
            assert [dictionary[c] for c in pc.data[valid]] == [w for w in want if w is not None]
            assert np.array_equal(pc.data[valid], np.asarray(chunk.indices)[valid])
            continue
        if kind == "decimal":
            width = snap.manifest.segments[phys.index(pc)].columns[spec.id].width
            assert pc.data.dtype == np.dtype(f"int{8 * width}")
            scale = spec.type.decimal_params[1]
            want = [int(v.scaleb(scale)) for v in chunk.to_pylist() if v is not None]
            assert pc.data[valid].tolist() == want
            assert (pc.data[~valid] == 0).all() or width == 8
            continue
        expect = {"date32": np.int32, "timestamp": np.int64}.get(kind)
        want = np.asarray(chunk.cast({"date32": pa.int32(), "timestamp": pa.int64()}[kind])
                          if expect else chunk.fill_null(0) if chunk.null_count else chunk)
        assert pc.data.dtype == (np.dtype(expect) if expect else want.dtype)
        if kind.startswith("float"):
            assert np.array_equal(pc.data[valid], want[valid], equal_nan=True)
        else:
            assert np.array_equal(pc.data[valid], want[valid])


COLUMNS = [f.name for f in _batch(0, 1, False).schema]


def test_physical_data_equals_the_arrow_values_for_every_type(all_types):
    snap = all_types.snapshot("t")
    try:
        assert snap.segment_rows() == [1000, 777, 20_000]
        for name in COLUMNS:
            _check_column(snap, name)
        widths = {n: [s.columns[snap.manifest.column(n).id].width
                      for s in snap.manifest.segments] for n in ("d1", "d2", "d4", "d8")}
        assert widths == {"d1": [1, 1, 1], "d2": [2, 2, 2], "d4": [4, 4, 4], "d8": [2, 8, 2]}
        assert snap.physical("i64") is snap.physical("i64")  # cached
    finally:
        snap.close()


def test_data_starts_at_the_first_value_of_the_mapped_file(all_types):
    snap = all_types.snapshot("t")
    try:
        pc = snap.physical("i32")[2]
        path = pc.files()[0]
        assert path.endswith(".data") and os.path.dirname(path).endswith(
            snap.manifest.segments[2].dirname)
        assert np.array_equal(pc.data, np.fromfile(path, np.int32, offset=HEADER_SIZE))
        addr = pc.data.ctypes.data
        assert addr % PAGE == 0
        real = os.path.realpath(path)
        spans = [line.split()[0].split("-") for line in maps_lines() if line.endswith(real)]
        assert any(int(lo, 16) + HEADER_SIZE == addr for lo, _ in spans), "not a view"
    finally:
        snap.close()


def test_files_are_the_columns_files_in_the_segment(all_types):
    snap = all_types.snapshot("t")
    try:
        for name, suffixes in [("i64", {"data", "zones", "valid"}),
                               ("s", {"data", "zones", "valid", "offsets"})]:
            spec = snap.manifest.column(name)
            for pc, seg in zip(snap.physical(name), snap.manifest.segments, strict=True):
                files = pc.files()
                assert all(os.path.isfile(f) for f in files)
                want = suffixes if seg.columns[spec.id].null_count else suffixes - {"valid"}
                assert {f.rsplit(".", 1)[1] for f in files} == want
                assert {os.path.basename(f).split(".")[0] for f in files} == {f"c{spec.id}"}
    finally:
        snap.close()


def _expected_total(pc: PhysicalColumn, s: int, e: int) -> int:
    if s == e:
        return 0
    bits = (e + 7) // 8 - s // 8
    total = bits if pc.validity is not None else 0
    if pc.offsets is not None:
        return total + 8 * (e - s + 1) + int(pc.offsets[e] - pc.offsets[s])
    if pc.ctype.kind == "bool":
        return total + bits
    return total + (e - s) * pc.data.itemsize


@pytest.mark.parametrize("name", ["i64", "d1", "d2", "b", "s", "bin", "dict", "f32"])
def test_residency_totals_are_the_rows_byte_ranges(all_types, name):
    snap = all_types.snapshot("t")
    try:
        for pc in snap.physical(name):
            n = pc.rows
            for s, e in [(0, n), (0, 1), (3, 17), (n // 2, n), (n, n), (5, 5), (9, n - 1)]:
                resident, total = pc.residency(s, e)
                assert total == _expected_total(pc, s, e), (s, e)
                assert 0 <= resident <= total
            assert pc.residency() == pc.residency(0, n)
    finally:
        snap.close()


def test_bad_arguments(all_types):
    snap = all_types.snapshot("t")
    try:
        pc = snap.physical("s")[0]
        for s, e in [(-1, 3), (5, 4), (0, pc.rows + 1)]:
            with pytest.raises(ValueError, match="outside"):
                pc.residency(s, e)
            with pytest.raises(ValueError, match="outside"):
                pc.advise(s, e, "willneed")
        with pytest.raises(ValueError, match="advice 'soon'"):
            pc.advise(0, 1, "soon")
        for how in ADVICE:  # every advice runs (kernel refusals with EINVAL are ignored)
            pc.advise(0, pc.rows, how)
            pc.advise(3, 4, how)
            pc.advise(7, 7, how)
    finally:
        snap.close()


def test_views_outlive_the_snapshot_and_keep_their_mapping(all_types):
    snap = all_types.snapshot("t")
    pc = snap.physical("i64")[2]
    data, path = pc.data, pc.files()[0]
    want = data.copy()
    snap.close()
    with pytest.raises(ValueError, match="closed"):
        pc.residency()
    with pytest.raises(ValueError, match="closed"):
        pc.advise(0, 1, "willneed")
    del pc, snap
    gc.collect()
    real = os.path.realpath(path)
    assert any(line.endswith(real) for line in maps_lines())
    assert np.array_equal(data, want)
    del data
    gc.collect()
    assert not any(line.endswith(real) for line in maps_lines())


def _wait(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return bool(predicate())
        time.sleep(0.01)
    return True


def _evict(paths) -> None:
    for p in paths:
        _ext.fadvise(p, advice=_ext.FileAdvice.DONTNEED)


@pytest.mark.parametrize("name", ["x", "s"])
def test_dontneed_drops_what_willneed_and_a_scan_brought_in(db_path, name):
    """On a disk filesystem: willneed + a touch of every page makes the rows' bytes
    resident; dontneed on a range drops them (madvise unmaps, fadvise evicts)."""
    n = 1 << 20
    x = pa.array(np.arange(n, dtype=np.int64) * 7, mask=np.arange(n) % 11 == 0)
    s = pa.array([f"row {i:09d}" for i in range(n)])
    db = DatabaseStore(db_path)
    w = db.create_writer("t", pa.schema([("x", pa.int64()), ("s", pa.string())]), None,
                         dictionary=None)
    w.write(pa.table({"x": x, "s": s}))
    w.commit()
    w.close()
    snap = db.snapshot("t")
    try:
        pc = snap.physical(name, check="none")[0]  # unchecked: nothing read yet
        _evict(pc.files())
        cold, total = pc.residency()
        assert total == _expected_total(pc, 0, n) > 4 << 20

        pc.advise(0, n, "willneed")
        pc.advise(0, n, "sequential")
        for arr in (pc.data, pc.validity, pc.offsets):
            if arr is not None:
                view = arr.view(np.uint8)
                int(view[::PAGE].sum())  # touch every page
        assert _wait(lambda: pc.residency()[0] == total), (pc.residency(), total)
        warm = pc.residency()[0]
        assert warm > cold

        pc.advise(0, n // 2, "dontneed")
        half = pc.residency()[0]
        assert half < warm
        assert pc.residency(0, n // 2)[0] < pc.residency(0, n // 2)[1] // 10
        assert pc.residency(n // 2 + 8192, n)[0] == pc.residency(n // 2 + 8192, n)[1]

        pc.advise(0, n, "dontneed")
        assert pc.residency()[0] < warm // 10
        pc.advise(0, n, "normal")
        # the data read back (refaulted from the file) is unchanged
        if name == "x":
            assert np.array_equal(pc.data[~(np.arange(n) % 11 == 0)],
                                  np.asarray(x.drop_null()))
        else:
            assert pc.data[pc.offsets[5]:pc.offsets[6]].tobytes() == b"row 000000005"
    finally:
        snap.close()


def test_decimal_written_before_widths_is_int64(db_path):
    """A manifest without "width": the physical data is int64, as then stored."""
    import glob
    import json
    import zlib
    db = DatabaseStore(db_path)
    t = pa.table({"m": _dec([10 ** 15, -3, None])})  # scaled 10**15: 8 bytes, as before widths
    w = db.create_writer("t", t.schema, None)
    w.write(t)
    w.commit()
    w.close()
    path = max(glob.glob(os.path.join(db.table_dir("t"), "manifests", "v*.json")))
    with open(path) as f:
        outer = json.load(f)
    for seg in outer["body"]["segments"]:
        for c in seg["columns"].values():
            assert c.pop("width") == 8
    outer["crc32"] = zlib.crc32(json.dumps(outer["body"], separators=(",", ":"),
                                           sort_keys=True).encode())
    with open(path, "w") as f:
        json.dump(outer, f)
    snap = db.snapshot("t")
    try:
        pc = snap.physical("m")[0]
        assert pc.data.dtype == np.int64 and pc.data[:2].tolist() == [10 ** 15, -3]
        assert pc.null_count == 1
    finally:
        snap.close()


def test_date_and_timestamp_values(db_path):
    db = DatabaseStore(db_path)
    t = pa.table({"d": pa.array([datetime.date(1970, 1, 2), None, datetime.date(1969, 12, 31)]),
                  "t": pa.array([datetime.datetime(1970, 1, 1, 0, 0, 1), None, None],
                                pa.timestamp("ms"))})
    w = db.create_writer("t", t.schema, None)
    w.write(t)
    w.commit()
    w.close()
    snap = db.snapshot("t")
    try:
        d, ts = snap.physical("d")[0], snap.physical("t")[0]
        assert d.data.dtype == np.int32 and d.data[[0, 2]].tolist() == [1, -1]
        assert ts.data.dtype == np.int64 and ts.data[0] == 1000
        assert d.validity.tolist() == [0b101] and ts.validity.tolist() == [0b001]
    finally:
        snap.close()
