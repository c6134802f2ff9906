"""Segments: immutable directories of column files, written once, then only read.

A segment holds ``rows`` rows of every column. Column ``id`` k has files ``c<k>.data``,
``c<k>.valid`` (only if it has nulls), ``c<k>.offsets`` (strings, binaries) and
``c<k>.zones`` (zone map). File names use column ids, never names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mapdb.storage import fileops, zonemap
from mapdb.storage.bits import bitmap
from mapdb.storage.columnfile import (
    FileRef,
    Owner,
    PendingFiles,
    open_buffer,
    verify_buffer,
    write_buffer,
)
from mapdb.storage.header import BufferKind
from mapdb.storage.types import ColumnType


@dataclass(frozen=True)
class ColumnSpec:
    """A column of a table's schema."""

    id: int
    name: str
    type: ColumnType

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "type": self.type.name}

    @classmethod
    def from_json(cls, j: dict) -> ColumnSpec:
        return cls(int(j["id"]), str(j["name"]), ColumnType.parse(j["type"]))


@dataclass(frozen=True)
class ColumnFiles:
    """The files of one column in one segment."""

    data: FileRef
    validity: FileRef | None
    offsets: FileRef | None
    zones: FileRef
    null_count: int

    def refs(self) -> list[tuple[BufferKind, FileRef]]:
        out = [(BufferKind.DATA, self.data), (BufferKind.ZONES, self.zones)]
        if self.validity:
            out.append((BufferKind.VALIDITY, self.validity))
        if self.offsets:
            out.append((BufferKind.OFFSETS, self.offsets))
        return out

    def to_json(self) -> dict:
        return {"data": self.data.to_json(), "zones": self.zones.to_json(),
                "validity": self.validity.to_json() if self.validity else None,
                "offsets": self.offsets.to_json() if self.offsets else None,
                "nulls": self.null_count}

    @classmethod
    def from_json(cls, j: dict) -> ColumnFiles:
        opt = lambda v: FileRef.from_json(v) if v else None  # noqa: E731
        return cls(FileRef.from_json(j["data"]), opt(j["validity"]), opt(j["offsets"]),
                   FileRef.from_json(j["zones"]), int(j["nulls"]))


@dataclass(frozen=True)
class SegmentMeta:
    id: int
    rows: int
    columns: dict[int, ColumnFiles]

    @property
    def dirname(self) -> str:
        return f"s{self.id:012d}"

    def to_json(self) -> dict:
        return {"id": self.id, "rows": self.rows,
                "columns": {str(k): v.to_json() for k, v in self.columns.items()}}

    @classmethod
    def from_json(cls, j: dict) -> SegmentMeta:
        return cls(int(j["id"]), int(j["rows"]),
                   {int(k): ColumnFiles.from_json(v) for k, v in j["columns"].items()})

    def bytes_on_disk(self) -> int:
        from mapdb.storage.header import HEADER_SIZE
        return sum(HEADER_SIZE + r.length for c in self.columns.values() for _, r in c.refs())


def storage_buffers(arr: pa.Array, ctype: ColumnType) -> dict[BufferKind, object]:
    """The buffers to write for one chunk of one column (``arr`` in storage form).

    Copies nothing except where the layout demands it: decimals narrowed to int64,
    bitmaps of arrays sliced at a bit offset, string offsets not starting at 0.
    """
    n, off = len(arr), arr.offset
    bufs = arr.buffers()
    out: dict[BufferKind, object] = {}
    if arr.null_count:
        out[BufferKind.VALIDITY] = bitmap(bufs[0], off, n)
    if ctype.is_variable:
        offsets = np.frombuffer(bufs[1], np.int64, count=n + 1, offset=off * 8)
        first, last = int(offsets[0]), int(offsets[-1])
        out[BufferKind.OFFSETS] = offsets - first if first else offsets
        out[BufferKind.DATA] = bufs[2].slice(first, last - first) if bufs[2] else b""
    elif ctype.kind == "bool":
        out[BufferKind.DATA] = bitmap(bufs[1], off, n) or b""
    elif ctype.kind == "decimal":
        # decimal128 little-endian: the low 8 bytes of each value are the scaled int64
        words = np.frombuffer(bufs[1], np.int64, count=2 * n, offset=off * 16)
        out[BufferKind.DATA] = np.ascontiguousarray(words[0::2])
    else:
        w = ctype.byte_width
        out[BufferKind.DATA] = bufs[1].slice(off * w, n * w) if n else b""
    return out


def _column_parts(chunks: list[pa.Array], ctype: ColumnType) -> dict[BufferKind, list]:
    """Per buffer kind, the parts whose concatenation is the segment's buffer. Every chunk
    but the last must hold a multiple of ZONE_ROWS rows (so bitmaps and zone-map blocks
    line up at chunk boundaries)."""
    per_chunk = [storage_buffers(c, ctype) for c in chunks]
    parts: dict[BufferKind, list] = {BufferKind.DATA: [b[BufferKind.DATA] for b in per_chunk]}
    if any(c.null_count for c in chunks):
        parts[BufferKind.VALIDITY] = [
            b.get(BufferKind.VALIDITY) or np.full((len(c) + 7) // 8, 0xFF, np.uint8)
            for b, c in zip(per_chunk, chunks, strict=True)]
    if ctype.is_variable:
        offs, base = [], 0
        for i, b in enumerate(per_chunk):
            o = b[BufferKind.OFFSETS]
            offs.append((o if i == 0 else o[1:]) + base if base else (o if i == 0 else o[1:]))
            base += int(o[-1])
        parts[BufferKind.OFFSETS] = offs
    parts[BufferKind.ZONES] = [zonemap.build(c, ctype) for c in chunks]
    return parts


_SUFFIX = {BufferKind.DATA: "data", BufferKind.VALIDITY: "valid",
           BufferKind.OFFSETS: "offsets", BufferKind.ZONES: "zones"}


def write_segment(segments_dir: str, seg_id: int, table_id: bytes,
                  columns: list[tuple[ColumnSpec, list[pa.Array]]],
                  pending: PendingFiles) -> SegmentMeta:
    """Write one segment from each column's chunks (in storage form); its files and
    directory join ``pending``, to be made durable by ``pending.sync()`` before commit."""
    rows = sum(len(c) for c in columns[0][1]) if columns else 0
    path = os.path.join(segments_dir, f"s{seg_id:012d}")
    fileops.mkdir(path)
    pending.add_dir(path)
    metas: dict[int, ColumnFiles] = {}
    try:
        for spec, chunks in columns:
            owner = Owner(table_id, seg_id, spec.id, spec.type.code)
            refs = {kind: write_buffer(path, f"c{spec.id}.{_SUFFIX[kind]}", kind, owner, rows,
                                       parts, pending)
                    for kind, parts in _column_parts(chunks, spec.type).items()}
            metas[spec.id] = ColumnFiles(refs[BufferKind.DATA], refs.get(BufferKind.VALIDITY),
                                         refs.get(BufferKind.OFFSETS), refs[BufferKind.ZONES],
                                         sum(c.null_count for c in chunks))
    finally:
        pending.close()
    return SegmentMeta(seg_id, rows, metas)


def open_column(segments_dir: str, seg: SegmentMeta, spec: ColumnSpec, table_id: bytes,
                dictionary: pa.Array | None = None) -> pa.Array:
    """The column of a segment as an Arrow array over the mapped files (no copy, except
    decimals, which are widened from int64 to decimal128)."""
    d = os.path.join(segments_dir, seg.dirname)
    files = seg.columns[spec.id]
    owner = Owner(table_id, seg.id, spec.id, spec.type.code)
    get = lambda kind, ref: open_buffer(d, ref, kind, owner, seg.rows)  # noqa: E731
    validity = data = None
    try:
        validity = get(BufferKind.VALIDITY, files.validity) if files.validity else None
        data = get(BufferKind.DATA, files.data)
        offsets = get(BufferKind.OFFSETS, files.offsets) if files.offsets else None
    except BaseException:
        validity = data = None  # the traceback keeps this frame: unmap what was opened
        raise
    t = spec.type
    if t.is_variable:
        return pa.Array.from_buffers(t.arrow_type, seg.rows, [validity, offsets, data],
                                     files.null_count)
    if t.is_dictionary:
        codes = pa.Array.from_buffers(pa.int32(), seg.rows, [validity, data], files.null_count)
        return pa.DictionaryArray.from_arrays(codes, dictionary)
    if t.kind == "decimal":
        low = np.frombuffer(data, np.int64)
        wide = np.empty(2 * seg.rows, np.int64)
        wide[0::2], wide[1::2] = low, low >> 63  # sign-extend to 128 bits
        return pa.Array.from_buffers(t.arrow_type, seg.rows, [validity, pa.py_buffer(wide)],
                                     files.null_count)
    return pa.Array.from_buffers(t.arrow_type, seg.rows, [validity, data], files.null_count)


def open_zones(segments_dir: str, seg: SegmentMeta, spec: ColumnSpec,
               table_id: bytes) -> np.ndarray:
    d = os.path.join(segments_dir, seg.dirname)
    owner = Owner(table_id, seg.id, spec.id, spec.type.code)
    buf = open_buffer(d, seg.columns[spec.id].zones, BufferKind.ZONES, owner, seg.rows)
    return np.frombuffer(buf, np.int64).reshape(-1, 3)


def verify_segment(segments_dir: str, seg: SegmentMeta, schema: list[ColumnSpec],
                   table_id: bytes) -> list[str]:
    """Every problem found in the segment's files (empty when it is intact)."""
    from mapdb.errors import MapdbError
    d = os.path.join(segments_dir, seg.dirname)
    problems = []
    for spec in schema:
        files = seg.columns.get(spec.id)
        if files is None:
            problems.append(f"{d}: column {spec.name!r} (id {spec.id}) has no files")
            continue
        owner = Owner(table_id, seg.id, spec.id, spec.type.code)
        for kind, ref in files.refs():
            try:
                verify_buffer(d, ref, kind, owner, seg.rows)
            except MapdbError as e:
                problems.append(str(e))
    return problems
