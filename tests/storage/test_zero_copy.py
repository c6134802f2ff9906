"""Columns are handed out without a copy: the arrays point into mappings of the column files,
and the mappings go away when the last array over them is released."""

from __future__ import annotations

import gc
import os

import numpy as np
import pyarrow as pa

from mapdb.storage.database import DatabaseStore
from mapdb.storage.header import HEADER_SIZE

from ._support import maps_lines


def _mappings_of(path: str) -> list[tuple[int, int, int]]:
    """(start, end, file offset) of every mapping of ``path`` in /proc/self/maps."""
    real = os.path.realpath(path)
    out = []
    for line in maps_lines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5] == real:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            out.append((lo, hi, int(parts[2], 16)))
    return out


def _data_file(db: DatabaseStore, snap, column: str) -> str:
    seg = snap.manifest.segments[0]
    spec = snap.manifest.column(column)
    return os.path.join(db.table_dir("t"), "segments", seg.dirname,
                        seg.columns[spec.id].data.name)


def test_int64_column_is_a_view_of_the_mapped_file(db_path):
    n = 100_000
    db = DatabaseStore(db_path)
    values = np.arange(n, dtype=np.int64) * 3 - 7
    t = pa.table({"x": values, "y": values[::-1].copy()})
    w = db.create_writer("t", t.schema, None)
    w.write(t)
    w.commit()
    w.close()

    snap = db.snapshot("t")
    path = _data_file(db, snap, "x")
    assert os.path.basename(path) == f"c{snap.manifest.column('x').id}.data"
    assert os.path.basename(os.path.dirname(path)).startswith("s")
    assert _mappings_of(path) == []  # mapped on first use, not at snapshot open

    chunks = snap.column_chunks("x")
    assert len(chunks) == 1
    a = np.asarray(chunks[0])
    b = chunks[0].to_numpy(zero_copy_only=True)
    assert a.dtype == np.int64 and not a.flags.owndata
    assert np.array_equal(a, values)
    maps = _mappings_of(path)
    assert maps, f"{path} is not mapped: arrays were copied"
    for arr in (a, b):
        addr = arr.__array_interface__["data"][0]
        hits = [(lo, hi, off) for lo, hi, off in maps if lo <= addr < hi]
        assert hits, f"data at {addr:#x} is outside every mapping of {path}: {maps}"
        lo, hi, off = hits[0]
        assert addr + arr.nbytes <= hi  # the whole column lies in the mapping
        assert addr - lo + off == HEADER_SIZE  # and starts right after the header page
        assert addr % 4096 == 0  # page-aligned, as the format promises

    # Through a ChunkedArray and a Table the data is still not copied.
    col = snap.column("x")
    assert col.chunk(0).buffers()[1].address == a.__array_interface__["data"][0]
    tbl = snap.to_arrow()
    assert tbl.column("x").chunk(0).buffers()[1].address == a.__array_interface__["data"][0]

    # Closing the snapshot does not invalidate arrays handed out...
    snap.close()
    assert np.array_equal(a, values) and _mappings_of(path)
    # ...and the mapping goes away with the last of them.
    del a, b, arr, chunks, col, tbl
    gc.collect()
    assert _mappings_of(path) == []


def test_column_mapped_only_once_per_snapshot(db_path):
    db = DatabaseStore(db_path)
    t = pa.table({"x": np.arange(5000, dtype=np.int64)})
    w = db.create_writer("t", t.schema, None)
    w.write(t)
    w.commit()
    w.close()
    snap = db.snapshot("t")
    path = _data_file(db, snap, "x")
    c1 = snap.column_chunks("x")
    c2 = snap.column_chunks("x")
    assert c1[0].buffers()[1].address == c2[0].buffers()[1].address
    assert len(_mappings_of(path)) == 1
    other = db.snapshot("t")  # a second snapshot maps the file again
    c3 = other.column_chunks("x")
    assert len(_mappings_of(path)) == 2
    assert c3[0].buffers()[1].address != c1[0].buffers()[1].address
    other.close()
    snap.close()
    del c1, c2, c3
    gc.collect()
    assert _mappings_of(path) == []


def test_arrays_of_every_segment_point_into_their_own_files(db_path):
    db = DatabaseStore(db_path)
    w = db.create_writer("t", pa.schema([("x", pa.int64())]), None)
    for k in range(3):
        w.write(pa.table({"x": np.full(1000 + k, k, np.int64)}))
        w.commit()
    w.close()
    snap = db.snapshot("t")
    spec = snap.manifest.column("x")
    for seg, chunk in zip(snap.manifest.segments, snap.column_chunks("x"), strict=True):
        path = os.path.join(db.table_dir("t"), "segments", seg.dirname, f"c{spec.id}.data")
        addr = chunk.buffers()[1].address
        assert any(lo <= addr < hi for lo, hi, _ in _mappings_of(path))
        assert len(chunk) == seg.rows
    snap.close()
