"""Segments: immutable directories of column files, written once, then only read.

A segment holds ``rows`` rows of every column. Column ``id`` k has files ``c<k>.data``,
``c<k>.valid`` (only if it has nulls), ``c<k>.offsets`` (strings, binaries, lists) and
``c<k>.zones`` (zone map). File names use column ids, never names. A LIST or STRUCT
column's children (a list's elements, a struct's fields) are columns of their own files,
``c<k>.<i>.data`` and so on, recursively, each with its own length: Arrow's layout, each
buffer a file, mapped and read without a copy (``ColumnFiles.children``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mapdb.errors import CorruptionError
from mapdb.storage import fileops, validate, zonemap
from mapdb.storage.bits import bitmap
from mapdb.storage.columnfile import (
    FileRef,
    Owner,
    PendingFiles,
    map_buffer,
    verify_buffer,
    write_buffer,
)
from mapdb.storage.header import HEADER_SIZE, BufferKind
from mapdb.storage.types import ColumnType


@dataclass(frozen=True)
class ColumnSpec:
    """A column of a table's schema."""

    id: int
    name: str
    type: ColumnType
    not_null: bool = False  # NOT NULL: the writer refuses a null (ConstraintError)
    default: str | None = None  # DEFAULT: SQL text of the constant INSERT fills in

    def to_json(self) -> dict:
        j = {"id": self.id, "name": self.name, "type": self.type.name}
        if self.not_null:  # both absent unless declared (the format before constraints)
            j["not_null"] = True
        if self.default is not None:
            j["default"] = self.default
        return j

    @classmethod
    def from_json(cls, j: dict) -> ColumnSpec:
        default = j.get("default")
        return cls(int(j["id"]), str(j["name"]), ColumnType.parse(j["type"]),
                   bool(j.get("not_null", False)), None if default is None else str(default))


@dataclass(frozen=True)
class ColumnFiles:
    """The files of one column in one segment.

    ``width``: bytes per value of a decimal column's ``.data`` in this segment (1, 2, 4 or
    8: the narrowest signed integer holding every scaled value); None for other types, and
    for decimals written before widths were recorded (read as 8). ``sorted``: (min, max)
    on the zone-map scale when the column is non-decreasing in this segment without nulls
    (zonemap.sorted_range), else None.
    """

    data: FileRef
    validity: FileRef | None
    offsets: FileRef | None
    zones: FileRef
    null_count: int
    width: int | None = None
    sorted: tuple[int, int] | None = None
    children: tuple[ColumnFiles, ...] = ()  # a LIST's element column, a STRUCT's fields
    rows: int | None = None  # a child's length (a list's elements); None: the segment's

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
                "nulls": self.null_count,
                **({"width": self.width} if self.width is not None else {}),
                **({"sorted": list(self.sorted)} if self.sorted is not None else {}),
                **({"children": [c.to_json() for c in self.children]} if self.children
                   else {}),
                **({"rows": self.rows} if self.rows is not None else {})}

    @classmethod
    def from_json(cls, j: dict) -> ColumnFiles:
        opt = lambda v: FileRef.from_json(v) if v else None  # noqa: E731
        width, srt, rows = j.get("width"), j.get("sorted"), j.get("rows")
        return cls(FileRef.from_json(j["data"]), opt(j["validity"]), opt(j["offsets"]),
                   FileRef.from_json(j["zones"]), int(j["nulls"]),
                   None if width is None else int(width),
                   None if srt is None else (int(srt[0]), int(srt[1])),
                   tuple(cls.from_json(c) for c in j.get("children", ())),
                   None if rows is None else int(rows))

    def all_refs(self) -> list[tuple[BufferKind, FileRef, int | None]]:
        """Every file of the column and its children: (kind, ref, child length or None)."""
        out = [(k, r, self.rows) for k, r in self.refs()]
        for c in self.children:
            out += c.all_refs()
        return out

    def data_width(self, ctype: ColumnType) -> int | None:
        """Bytes per value in ``.data`` (None for bool bitmaps and variable types)."""
        if ctype.kind == "decimal":
            return 8 if self.width is None else self.width
        return ctype.byte_width


# 1 (the key absent): zone maps of the first writer, rebuilt on read; 2: float maxima
# leave NaN out; 3: a float block holding NaN has NaN as its max (zonemap.py)
ZONEMAP_VERSION = 3


@dataclass(frozen=True)
class SegmentMeta:
    id: int
    rows: int
    columns: dict[int, ColumnFiles]
    zonemap: int = ZONEMAP_VERSION

    @property
    def dirname(self) -> str:
        return f"s{self.id:012d}"

    def to_json(self) -> dict:
        return {"id": self.id, "rows": self.rows,
                "columns": {str(k): v.to_json() for k, v in self.columns.items()},
                **({"zonemap": self.zonemap} if self.zonemap != 1 else {})}

    @classmethod
    def from_json(cls, j: dict) -> SegmentMeta:
        return cls(int(j["id"]), int(j["rows"]),
                   {int(k): ColumnFiles.from_json(v) for k, v in j["columns"].items()},
                   int(j.get("zonemap", 1)))

    def bytes_on_disk(self) -> int:
        from mapdb.storage.header import HEADER_SIZE
        return sum(HEADER_SIZE + r.length for c in self.columns.values()
                   for _, r, _ in c.all_refs())


DECIMAL_WIDTHS = (1, 2, 4, 8)


def decimal_width(zones: list[np.ndarray], rows: list[int],
                  block_rows: int = zonemap.ZONE_ROWS) -> int:
    """The narrowest of DECIMAL_WIDTHS whose signed integers hold every scaled value the
    zone maps cover (one zone map per chunk of ``rows`` rows); all-null blocks do not count.

    >>> z = [np.array([[-128, 127, 0], [0, 0, 2]]), np.array([[5, 9, 0]])]
    >>> decimal_width(z, [4, 2], block_rows=2)
    1
    >>> [decimal_width([np.array([[lo, hi, 0]])], [1]) for lo, hi in [(-129, 0), (0, 2**31)]]
    [2, 8]
    """
    lo = hi = 0
    for z, n in zip(zones, rows, strict=True):
        counts = np.diff(np.append(np.arange(0, n, block_rows), n))
        live = z[z[:, 2] < counts]
        if len(live):
            lo, hi = min(lo, int(live[:, 0].min())), max(hi, int(live[:, 1].max()))
    for w in DECIMAL_WIDTHS:
        info = np.iinfo(f"i{w}")
        if info.min <= lo and hi <= info.max:
            return w
    return 8


def storage_buffers(arr: pa.Array, ctype: ColumnType,
                    width: int | None = None) -> dict[BufferKind, object]:
    """The buffers to write for one chunk of one column (``arr`` in storage form).

    Copies nothing except where the layout demands it: decimals narrowed to ``width``-byte
    integers (default 8; null slots become 0), bitmaps of arrays sliced at a bit offset,
    string offsets not starting at 0.
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
        words = np.frombuffer(bufs[1], np.int64, count=2 * n, offset=off * 16)[0::2]
        if width is None or width == 8:
            out[BufferKind.DATA] = np.ascontiguousarray(words)
        else:
            if arr.null_count:  # a null slot may hold any value: make the cast exact
                words = np.where(arr.is_valid().to_numpy(zero_copy_only=False), words, 0)
            out[BufferKind.DATA] = words.astype(f"<i{width}")
    else:
        w = ctype.byte_width
        out[BufferKind.DATA] = bufs[1].slice(off * w, n * w) if n else b""
    return out


def _column_parts(chunks: list[pa.Array], ctype: ColumnType
                  ) -> tuple[dict[BufferKind, list], int | None, tuple[int, int] | None]:
    """Per buffer kind, the parts whose concatenation is the segment's buffer, the
    width of a decimal column's values (None for other types), and the sorted range
    (zonemap.sorted_range). Every chunk but the last
    must hold a multiple of ZONE_ROWS rows (so bitmaps and zone-map blocks line up at chunk
    boundaries)."""
    zones = [zonemap.build(c, ctype) for c in chunks]
    width = (decimal_width(zones, [len(c) for c in chunks]) if ctype.kind == "decimal"
             else None)
    per_chunk = [storage_buffers(c, ctype, width) for c in chunks]
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
    parts[BufferKind.ZONES] = zones
    return parts, width, zonemap.sorted_range(chunks, zones, ctype)


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
    metas = {spec.id: write_column(path, seg_id, table_id, spec, chunks, rows, pending)
             for spec, chunks in columns}
    return SegmentMeta(seg_id, rows, metas)


def write_column(path: str, seg_id: int, table_id: bytes, spec: ColumnSpec,
                 chunks: list[pa.Array], rows: int, pending: PendingFiles) -> ColumnFiles:
    """Write one column's files into the segment directory ``path`` (a new segment's, or
    an existing one's for a column added by ALTER TABLE: file names carry the column id,
    so no file of another column is touched)."""
    try:
        return _write_files(path, f"c{spec.id}", (table_id, seg_id, spec.id), spec.type,
                            chunks, rows, pending, None)
    finally:
        pending.close()


def _write_files(path: str, prefix: str, owner_ids: tuple, ctype: ColumnType,
                 chunks: list[pa.Array], rows: int, pending: PendingFiles,
                 child_rows: int | None) -> ColumnFiles:
    """The files ``<prefix>.*`` of one column (or of a nested column's child: its length
    ``child_rows``), and its children's ``<prefix>.<i>.*``."""
    owner = Owner(*owner_ids, ctype.code)
    children: tuple[ColumnFiles, ...] = ()
    if ctype.is_nested:
        all_parts, width, srt, kids = _nested_parts(chunks, ctype)
        children = tuple(
            _write_files(path, f"{prefix}.{i}", owner_ids, t, [kid], len(kid), pending,
                         len(kid))
            for i, (kid, (_, t)) in enumerate(zip(kids, ctype.children, strict=True)))
    else:
        all_parts, width, srt = _column_parts(chunks, ctype)
    refs = {kind: write_buffer(path, f"{prefix}.{_SUFFIX[kind]}", kind, owner, rows,
                               parts, pending)
            for kind, parts in all_parts.items()}
    return ColumnFiles(refs[BufferKind.DATA], refs.get(BufferKind.VALIDITY),
                       refs.get(BufferKind.OFFSETS), refs[BufferKind.ZONES],
                       sum(c.null_count for c in chunks), width, srt, children, child_rows)


def _nested_parts(chunks: list[pa.Array], ctype: ColumnType) -> tuple:
    """A LIST or STRUCT column's own buffers (an empty data file, its validity, a list's
    int32 offsets from 0, null-count zones) and its children's arrays, sliced to the
    parent's rows."""
    arr = chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)
    n = len(arr)
    parts: dict[BufferKind, list] = {BufferKind.DATA: [b""],
                                     BufferKind.ZONES: [zonemap.build(arr, ctype)]}
    if arr.null_count:
        parts[BufferKind.VALIDITY] = [bitmap(arr.buffers()[0], arr.offset, n) or
                                      np.full((n + 7) // 8, 0xFF, np.uint8)]
    if ctype.kind in ("list", "map"):  # (a map's child: its entries' struct)
        offs = np.asarray(arr.offsets, np.int64)
        first, last = int(offs[0]), int(offs[-1])
        parts[BufferKind.OFFSETS] = [(offs - first).astype("<i4")]
        kids = [arr.values.slice(first, last - first)]
    else:
        kids = [arr.field(i) for i in range(arr.type.num_fields)]
    return parts, None, None, kids


def check_lengths(d: str, seg: SegmentMeta, spec: ColumnSpec) -> None:
    """CorruptionError unless the manifest's lengths and decimal width fit the row count
    (headers are checked against the manifest, so together they pin every file's size)."""
    _check_files(d, seg.columns[spec.id], spec.name, spec.type, seg.rows)


def _check_files(d: str, files: ColumnFiles, name: str, t: ColumnType, rows: int) -> None:
    if t.is_nested:
        if len(files.children) != len(t.children):
            raise CorruptionError(f"{d}: column {name!r} has {len(files.children)} child "
                                  f"columns; its type {t.name} has {len(t.children)}")
        for (field, ct), c in zip(t.children, files.children, strict=True):
            if c.rows is None or c.rows < 0 or (t.kind == "struct" and c.rows != rows):
                raise CorruptionError(f"{d}: column {name!r}: child {field!r} has "
                                      f"{c.rows!r} rows for {rows} rows of {t.name}")
            _check_files(d, c, f"{name}.{field}", ct, c.rows)
    if t.kind == "decimal" and files.width not in (None, *DECIMAL_WIDTHS):
        raise CorruptionError(f"{d}: column {name!r} has decimal width {files.width!r} "
                              f"(expected one of {DECIMAL_WIDTHS})")
    w = files.data_width(t)
    expect = {BufferKind.DATA: 0 if t.is_nested else rows * w if w else
              (rows + 7) // 8 if t.kind == "bool" else None,
              BufferKind.VALIDITY: (rows + 7) // 8,
              BufferKind.OFFSETS: (rows + 1) * (4 if t.kind in ("list", "map") else 8),
              BufferKind.ZONES: -(-rows // zonemap.ZONE_ROWS) * 24}
    for kind, ref in files.refs():
        if expect[kind] is not None and ref.length != expect[kind]:
            raise CorruptionError(
                f"{os.path.join(d, ref.name)}: {ref.length} bytes of {kind.name.lower()} for "
                f"{rows} rows of {t.name}" + (f" (width {w})" if t.kind == "decimal" else "")
                + f"; expected {expect[kind]}")


def map_column(d: str, seg: SegmentMeta, spec: ColumnSpec, table_id: bytes,
               check: bool = True) -> dict[BufferKind, object]:
    """Map a segment's column files but the zone map (BufferKind -> open _ext.Mapping),
    after checking headers and lengths and, with ``check``, what the buffers may tell a
    kernel (storage.validate, once per file). The caller owns the mappings."""
    check_lengths(d, seg, spec)
    return _map_files(d, seg.columns[spec.id], spec.type, (table_id, seg.id, spec.id),
                      seg.rows, check)


def _map_files(d: str, files: ColumnFiles, t: ColumnType, owner_ids: tuple, rows: int,
               check: bool) -> dict[BufferKind, object]:
    """map_column's work for one column or nested child (its own files only)."""
    owner = Owner(*owner_ids, t.code)
    maps: dict[BufferKind, object] = {}
    try:
        for kind, ref in files.refs():
            if kind != BufferKind.ZONES:
                maps[kind] = map_buffer(d, ref, kind, owner, rows)
        if files.offsets is not None and not t.is_nested:
            # a contained SIGBUS patches a truncated page with the data's length, not
            # zeros, so the offsets stay inside the data (mapdb_sigbus.h); a list's
            # offsets are copied and checked when opened (_list_offsets)
            maps[BufferKind.OFFSETS].guard_fill(files.data.length)
        if check:
            validate.column(d, t, files, maps)
    except BaseException:
        for m in maps.values():
            m.close()
        raise
    return maps


def open_column(segments_dir: str, seg: SegmentMeta, spec: ColumnSpec, table_id: bytes,
                dictionary: pa.Array | None = None) -> pa.Array:
    """The column of a segment as an Arrow array over the mapped files (no copy, except
    decimals, which are widened from their stored width to decimal128). A dict column
    without ``dictionary`` comes back as its int32 codes."""
    d = os.path.join(segments_dir, seg.dirname)
    check_lengths(d, seg, spec)
    return _open_files(d, seg.columns[spec.id], spec.type, (table_id, seg.id, spec.id),
                       seg.rows, dictionary)


def _list_offsets(d: str, files: ColumnFiles, buf: pa.Buffer, rows: int,
                  values: int) -> pa.Buffer:
    """A list column's offsets, copied out of the mapping and checked: from 0,
    non-decreasing, within the ``values`` elements of its child. Arrow trusts offsets (a
    damaged file would read outside the child), and a copy stays as checked even if the
    file is truncated under the reader."""
    offs = np.frombuffer(buf, "<i4", count=rows + 1).copy()
    if offs[0] != 0 or offs[-1] > values or (rows and (np.diff(offs) < 0).any()):
        raise CorruptionError(f"{os.path.join(d, files.offsets.name)}: list offsets are not "
                              f"non-decreasing from 0 within the {values} elements of the "
                              f"list (the file is damaged)")
    return pa.py_buffer(offs)


def _open_files(d: str, files: ColumnFiles, t: ColumnType, owner_ids: tuple, rows: int,
                dictionary: pa.Array | None = None) -> pa.Array:
    """open_column's work for one column or nested child (recursively)."""
    maps = _map_files(d, files, t, owner_ids, rows, True)
    refs = dict(files.refs())
    try:
        bufs = {kind: pa.py_buffer(m).slice(HEADER_SIZE, refs[kind].length)
                for kind, m in maps.items()}
    finally:
        for m in maps.values():
            m.close()  # unmapped when the last Buffer over it is released
    validity = bufs.get(BufferKind.VALIDITY)
    data = bufs[BufferKind.DATA]
    offsets = bufs.get(BufferKind.OFFSETS)
    if t.is_nested:
        kids = [_open_files(d, c, ct, owner_ids, c.rows)
                for c, (_, ct) in zip(files.children, t.children, strict=True)]
        if t.kind == "map":  # (the entries' struct as Arrow's map wants it: keys not null)
            kids = [pa.StructArray.from_arrays(
                [kids[0].field(0), kids[0].field(1)],
                fields=[t.arrow_type.key_field, t.arrow_type.item_field])]
        if t.kind in ("list", "map"):
            return pa.Array.from_buffers(
                t.arrow_type, rows, [validity, _list_offsets(d, files, offsets, rows,
                                                             len(kids[0]))],
                files.null_count, children=kids)
        return pa.Array.from_buffers(t.arrow_type, rows, [validity], files.null_count,
                                     children=kids)
    if t.is_variable:
        return pa.Array.from_buffers(t.arrow_type, rows, [validity, offsets, data],
                                     files.null_count)
    if t.is_dictionary:
        codes = pa.Array.from_buffers(pa.int32(), rows, [validity, data], files.null_count)
        return codes if dictionary is None else pa.DictionaryArray.from_arrays(
            codes, dictionary, safe=False)  # the codes file's checksum was checked
    if t.kind == "decimal":
        low = np.frombuffer(data, f"<i{files.data_width(t)}", count=rows)
        wide = np.empty(2 * rows, np.int64)
        wide[0::2] = low  # sign-extends from the stored width
        wide[1::2] = wide[0::2] >> 63  # and on to 128 bits
        return pa.Array.from_buffers(t.arrow_type, rows, [validity, pa.py_buffer(wide)],
                                     files.null_count)
    return pa.Array.from_buffers(t.arrow_type, rows, [validity, data], files.null_count)


def open_zones(segments_dir: str, seg: SegmentMeta, spec: ColumnSpec,
               table_id: bytes) -> np.ndarray:
    """The zone map of a segment's column, its checksum checked (once per file): a changed
    word would silently skip blocks that hold matching rows."""
    d = os.path.join(segments_dir, seg.dirname)
    owner = Owner(table_id, seg.id, spec.id, spec.type.code)
    ref = seg.columns[spec.id].zones
    m = map_buffer(d, ref, BufferKind.ZONES, owner, seg.rows)
    try:
        validate.checksum(m, ref.length, ref.checksum, os.path.join(d, ref.name))
        zones = np.frombuffer(pa.py_buffer(m).slice(HEADER_SIZE, ref.length),
                              np.int64).reshape(-1, 3)
    finally:
        m.close()
    if seg.zonemap < ZONEMAP_VERSION:
        # the first writer's zone maps are unreliable (see zonemap.py): rebuild from data
        zones = zonemap.build(open_column(segments_dir, seg, spec, table_id), spec.type)
    return zones


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
        try:
            check_lengths(d, seg, spec)
        except MapdbError as e:
            problems.append(str(e))
        problems += _verify_files(d, files, spec.type, (table_id, seg.id, spec.id), seg.rows)
    return problems


def _verify_files(d: str, files: ColumnFiles, t: ColumnType, owner_ids: tuple,
                  rows: int) -> list[str]:
    from mapdb.errors import MapdbError
    problems = []
    owner = Owner(*owner_ids, t.code)
    for kind, ref in files.refs():
        try:
            verify_buffer(d, ref, kind, owner, rows)
        except MapdbError as e:
            problems.append(str(e))
    for c, (_, ct) in zip(files.children, t.children, strict=False):
        problems += _verify_files(d, c, ct, owner_ids, c.rows if c.rows is not None else 0)
    return problems
