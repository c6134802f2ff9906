"""The self-describing header at the start of every mapdb data file.

One page (4096 bytes) so the data after it is page-aligned in the file and in any
mapping of it. All integers little-endian::

    0   8  magic b"MAPDBCOL"
    8   2  format version (1)
    10  2  header size (4096)
    12  1  buffer kind (1 data, 2 validity, 3 offsets, 4 zones, 5 hash index)
    13  1  type code (storage.types.TYPE_CODES)
    14  2  reserved (0)
    16  8  row count
    24  8  data length in bytes (data starts at offset 4096)
    32  8  checksum64 of the data
    40 16  table id (UUID bytes)
    56  8  segment id (0 for dictionary chunks)
    64  4  column id
    68  4  reserved (0)
    4088 4 reserved (0)
    4092 4 CRC-32 of bytes [0, 4092)

>>> h = Header(BufferKind.DATA, 5, rows=10, length=80, checksum=1, table_id=b"t" * 16,
...            segment_id=3, column_id=2)
>>> Header.unpack(h.pack(), "x") == h
True
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

from mapdb.errors import CorruptionError

MAGIC = b"MAPDBCOL"
FORMAT_VERSION = 1
HEADER_SIZE = 4096
_FIELDS = struct.Struct("<8sHHBBHQQQ16sQII")
_CRC_AT = HEADER_SIZE - 4


class BufferKind(enum.IntEnum):
    DATA = 1
    VALIDITY = 2
    OFFSETS = 3
    ZONES = 4
    INDEX = 5


@dataclass(frozen=True)
class Header:
    kind: BufferKind
    type_code: int
    rows: int
    length: int
    checksum: int
    table_id: bytes
    segment_id: int
    column_id: int

    def pack(self) -> bytes:
        head = _FIELDS.pack(MAGIC, FORMAT_VERSION, HEADER_SIZE, int(self.kind), self.type_code,
                            0, self.rows, self.length, self.checksum, self.table_id,
                            self.segment_id, self.column_id, 0)
        page = head + bytes(_CRC_AT - len(head))
        return page + struct.pack("<I", zlib.crc32(page))

    @classmethod
    def unpack(cls, page: bytes, path: str) -> Header:
        """Parse and validate a header page; CorruptionError names the file and the fault."""
        if len(page) < HEADER_SIZE:
            raise CorruptionError(f"{path}: file is {len(page)} bytes, shorter than its "
                                  f"{HEADER_SIZE}-byte header")
        magic, version, size, kind, code, _, rows, length, checksum, table_id, seg, col, _ = (
            _FIELDS.unpack_from(page))
        if magic != MAGIC:
            raise CorruptionError(f"{path}: not a mapdb data file (magic {magic!r})")
        (crc,) = struct.unpack_from("<I", page, _CRC_AT)
        if crc != zlib.crc32(page[:_CRC_AT]):
            raise CorruptionError(f"{path}: header checksum mismatch (the header is damaged)")
        if version != FORMAT_VERSION:
            raise CorruptionError(f"{path}: format version {version}; this mapdb reads "
                                  f"version {FORMAT_VERSION}")
        if size != HEADER_SIZE or kind not in BufferKind._value2member_map_:
            raise CorruptionError(f"{path}: invalid header (size {size}, kind {kind})")
        return cls(BufferKind(kind), code, rows, length, checksum, table_id, seg, col)
