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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.storage import segment
from mapdb.storage.columnfile import FileRef, Owner, open_buffer, verify_buffer
from mapdb.storage.header import BufferKind
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
    """Encodes strings to int32 codes against a growing dictionary."""

    def __init__(self, committed: pa.Array):
        self.committed = len(committed)
        self._values = committed
        self._new: list[pa.Array] = []

    def encode(self, arr: pa.Array) -> pa.Array:
        """int32 codes for ``arr`` (nulls stay null); unseen values join the dictionary."""
        local = pc.dictionary_encode(arr.cast(pa.large_string()))
        uniques = local.dictionary
        found = pc.index_in(uniques, value_set=self._values)
        if found.null_count:
            missing = pc.is_null(found)
            fresh = uniques.filter(missing)
            # (no fill_null(-1): a Python scalar makes pyarrow import pandas)
            mapping = np.nan_to_num(found.to_numpy(zero_copy_only=False)).astype(np.int32)
            mapping[missing.to_numpy(zero_copy_only=False)] = np.arange(
                len(self._values), len(self._values) + len(fresh), dtype=np.int32)
            found = pa.Array.from_buffers(pa.int32(), len(mapping),
                                          [None, pa.py_buffer(mapping)])
            self._values = pa.concat_arrays([self._values, fresh])
            self._new.append(fresh)
        return pc.take(found, local.indices)  # null indices give null codes

    def pending(self) -> pa.Array:
        return pa.concat_arrays(self._new) if self._new else empty_strings()

    @property
    def values(self) -> pa.Array:
        return self._values


def write_chunk(dicts_dir: str, table_id: bytes, column_id: int, chunk_id: int,
                values: pa.Array) -> DictChunk:
    from mapdb.storage.columnfile import PendingFiles, write_buffer
    owner = Owner(table_id, chunk_id, column_id, TYPE_CODES["string"])
    bufs = segment.storage_buffers(values, _STRING)
    stem = f"c{column_id}-{chunk_id:06d}"
    pending = PendingFiles()
    try:
        offs = write_buffer(dicts_dir, stem + ".offsets", BufferKind.OFFSETS, owner,
                            len(values), bufs[BufferKind.OFFSETS], pending)
        data = write_buffer(dicts_dir, stem + ".data", BufferKind.DATA, owner, len(values),
                            bufs[BufferKind.DATA], pending)
        pending.sync()
    finally:
        pending.close()
    return DictChunk(chunk_id, len(values), offs, data)


def open_dictionary(dicts_dir: str, table_id: bytes, column_id: int,
                    chunks: list[DictChunk]) -> pa.Array:
    """The dictionary as one large_string array (zero-copy when it has one chunk)."""
    arrays = []
    for c in chunks:
        owner = c.owner(table_id, column_id)
        offs = open_buffer(dicts_dir, c.offsets, BufferKind.OFFSETS, owner, c.count)
        data = open_buffer(dicts_dir, c.data, BufferKind.DATA, owner, c.count)
        arrays.append(pa.Array.from_buffers(pa.large_string(), c.count, [None, offs, data]))
    if not arrays:
        return empty_strings()
    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


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
