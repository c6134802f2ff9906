"""Table-wide, append-only string dictionaries for ``dict`` columns.

Codes agree across segments because every segment of a table encodes against the same
dictionary. The dictionary only grows: each commit that adds values writes them as a new
immutable *chunk* (``dicts/c<col>-<chunk>.offsets`` / ``.data``, string layout) and the
manifest lists the chunks and the total length; a reader's dictionary is the concatenation
of the chunks its manifest names.

>>> enc = DictionaryEncoder(empty_strings())
>>> enc.encode(pa.array(["b", "a", None, "b"])).to_pylist()
[0, 1, None, 0]
>>> enc.pending().to_pylist()
['b', 'a']
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pyarrow as pa

from mapdb import _ext
from mapdb.errors import CorruptionError
from mapdb.storage import segment, validate
from mapdb.storage.bits import bitmap
from mapdb.storage.columnfile import FileRef, Owner, map_buffer, verify_buffer
from mapdb.storage.header import HEADER_SIZE, BufferKind
from mapdb.storage.types import TYPE_CODES, ColumnType

_STRING = ColumnType("string")


@dataclass(frozen=True)
class DictChunk:
    id: int
    count: int
    offsets: FileRef
    data: FileRef

    def to_json(self) -> dict:
        return {"id": self.id, "count": self.count, "offsets": self.offsets.to_json(),
                "data": self.data.to_json()}

    @classmethod
    def from_json(cls, j: dict) -> DictChunk:
        return cls(int(j["id"]), int(j["count"]), FileRef.from_json(j["offsets"]),
                   FileRef.from_json(j["data"]))

    def owner(self, table_id: bytes, column_id: int) -> Owner:
        return Owner(table_id, self.id, column_id, TYPE_CODES["string"])


def empty_strings() -> pa.Array:
    # not pa.array([]): that makes pyarrow import pandas (a second of start-up) to check
    # whether the list is array-like
    return pa.nulls(0, pa.large_string())


class DictionaryEncoder:
    """Encodes strings to int32 codes against a growing dictionary (a hash table in the
    extension, so encoding runs without the GIL at tens of millions of rows a second)."""

    def __init__(self, committed: pa.Array):
        self.committed = len(committed)
        self._table = _ext.StringDictionary()
        if len(committed):
            self.encode(committed)
            if len(self._table) != self.committed:
                raise CorruptionError(f"the committed dictionary has {self.committed} values "
                                      f"but only {len(self._table)} distinct ones")

    def encode(self, arr: pa.Array) -> pa.Array:
        """int32 codes for ``arr`` (nulls stay null); unseen values join the dictionary."""
        arr = arr.cast(pa.large_string())
        n, off = len(arr), arr.offset
        validity, offsets, data = arr.buffers()
        codes = self._table.encode(offsets.slice(off * 8, (n + 1) * 8), data or b"", n,
                                   validity if arr.null_count else None, off)
        valid = bitmap(validity, off, n) if arr.null_count else None
        return pa.Array.from_buffers(pa.int32(), n, [valid, pa.py_buffer(codes)],
                                     arr.null_count)

    def __len__(self) -> int:
        """How many distinct values are coded (committed and pending)."""
        return len(self._table)

    def pending(self) -> pa.Array:
        """The values added since the committed dictionary, in code order."""
        offsets, data = self._table.entries(self.committed)
        return pa.Array.from_buffers(pa.large_string(), len(offsets) - 1,
                                     [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def write_chunk(dicts_dir: str, table_id: bytes, column_id: int, chunk_id: int,
                values: pa.Array, pending) -> DictChunk:
    """Write one chunk; its files join ``pending`` (a columnfile.PendingFiles)."""
    from mapdb.storage.columnfile import write_buffer
    owner = Owner(table_id, chunk_id, column_id, TYPE_CODES["string"])
    bufs = segment.storage_buffers(values, _STRING)
    stem = f"c{column_id}-{chunk_id:06d}"
    try:
        offs = write_buffer(dicts_dir, stem + ".offsets", BufferKind.OFFSETS, owner,
                            len(values), [bufs[BufferKind.OFFSETS]], pending)
        data = write_buffer(dicts_dir, stem + ".data", BufferKind.DATA, owner, len(values),
                            [bufs[BufferKind.DATA]], pending)
    finally:
        pending.close()
    return DictChunk(chunk_id, len(values), offs, data)


def open_dictionary(dicts_dir: str, table_id: bytes, column_id: int,
                    chunks: list[DictChunk]) -> pa.Array:
    """The dictionary as one large_string array (zero-copy when it has one chunk). Both
    files of every chunk are checksummed whole (once per file per process): they are
    small, and every value of the column is read through them."""
    arrays = []
    try:
        for c in chunks:
            owner = c.owner(table_id, column_id)
            offs = _checked_buffer(dicts_dir, c.offsets, BufferKind.OFFSETS, owner, c.count)
            data = _checked_buffer(dicts_dir, c.data, BufferKind.DATA, owner, c.count)
            arrays.append(pa.Array.from_buffers(pa.large_string(), c.count, [None, offs, data]))
    except BaseException:
        # the traceback keeps this frame alive: drop the mappings opened so far now
        arrays = offs = data = None
        raise
    if not arrays:
        return empty_strings()
    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


def _checked_buffer(d: str, ref: FileRef, kind: BufferKind, owner: Owner,
                    rows: int) -> pa.Buffer:
    m = map_buffer(d, ref, kind, owner, rows)
    try:
        validate.checksum(m, ref.length, ref.checksum, os.path.join(d, ref.name))
        return pa.py_buffer(m).slice(HEADER_SIZE, ref.length)
    finally:
        m.close()  # unmapped when the last Buffer over it is released


def verify_dictionary(dicts_dir: str, table_id: bytes, column_id: int,
                      chunks: list[DictChunk]) -> list[str]:
    from mapdb.errors import MapdbError
    problems = []
    for c in chunks:
        for kind, ref in ((BufferKind.OFFSETS, c.offsets), (BufferKind.DATA, c.data)):
            try:
                verify_buffer(dicts_dir, ref, kind, c.owner(table_id, column_id), c.count)
            except MapdbError as e:
                problems.append(str(e))
    return problems


def dict_path(table_dir: str) -> str:
    return os.path.join(table_dir, "dicts")
