"""One buffer of one column in one file: header page, then the bytes (page-aligned).

Writing follows the durable path: create + posix_fallocate (a full disk fails here, before
any mapped write), map read-write, copy without the GIL, checksum, header, msync, fdatasync,
unmap. Reading maps the file read-only and hands out a zero-copy ``pyarrow.Buffer`` that
keeps the mapping alive.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pyarrow as pa

from mapdb import _ext
from mapdb.errors import CorruptionError, StorageError
from mapdb.storage import fileops
from mapdb.storage.durability import FULL, Durability
from mapdb.storage.header import HEADER_SIZE, BufferKind, Header


@dataclass(frozen=True)
class FileRef:
    """What a manifest records of one file: its name and what its header must say."""

    name: str
    length: int
    checksum: int

    def to_json(self) -> list:
        return [self.name, self.length, self.checksum]

    @classmethod
    def from_json(cls, j: list) -> FileRef:
        return cls(str(j[0]), int(j[1]), int(j[2]))


@dataclass(frozen=True)
class Owner:
    """Whose file it is: a file copied in from another table or segment is refused."""

    table_id: bytes
    segment_id: int
    column_id: int
    type_code: int


class PendingFiles:
    """Files (and directories) written but not yet durable.

    Each file's write-back starts as soon as it is written (``start_writeback``), its
    descriptor is closed once the file is complete, and ``sync`` makes everything durable
    at commit: fdatasync of every file (reopened by path: Linux reports a write-back error
    to the first fsync after it, whichever descriptor), then fsync of the directories.
    The ``durability`` mode (storage.durability) can turn both off: ``os`` skips the syncs,
    ``none`` the write-back start too; ``sync`` then only closes the descriptors (every
    byte is in the page cache already, so the files are complete for any later reader).
    """

    def __init__(self, durability: Durability = FULL) -> None:
        self.durability = durability
        self._open: list[tuple[int, str]] = []
        self._files: list[str] = []
        self._dirs: list[str] = []

    def add(self, fd: int, path: str) -> None:
        self._open.append((fd, path))

    def add_dir(self, path: str) -> None:
        self._dirs.append(path)

    def written(self, fd: int, path: str) -> None:
        """The file is complete: start its write-back now (unless the mode says not to) and
        close it (a segment of a wide table would otherwise hold a descriptor per file
        until the segment is done: a few thousand columns ran out of them)."""
        if self.durability.writeback:
            fileops.start_writeback(fd, path)  # the disk works while the next is filled
        self._open.remove((fd, path))
        os.close(fd)
        self._files.append(path)

    def close(self) -> None:
        """Close the descriptors of complete files (they stay pending)."""
        for fd, path in self._open:
            os.close(fd)
            self._files.append(path)
        self._open.clear()

    def sync(self) -> None:
        self.close()
        if self.durability.sync:
            for path in self._files:
                fileops.fdatasync_path(path)
            for path in self._dirs:
                fileops.fsync_dir(path)
        self._files.clear()
        self._dirs.clear()

    def discard(self) -> None:
        self.close()
        self._files.clear()
        self._dirs.clear()


def write_buffer(directory: str, name: str, kind: BufferKind, owner: Owner, rows: int,
                 parts: list, pending: PendingFiles) -> FileRef:
    """Write ``parts`` (buffers, in order) as a new file; durable after ``pending.sync()``.

    The bytes go in with pwrite(2) into space reserved by posix_fallocate, not through a
    read-write mapping: stores into a fresh shared mapping take a page fault per page
    (measured 0.5-1.5 GB/s on ext4 against 2-3 GB/s for pwrite; see docs/format.md).
    """
    path = os.path.join(directory, name)
    # (an empty part is left out: a nested column's child may have no elements, and
    # memoryview cannot cast an empty numpy array)
    views = [memoryview(p).cast("B") for p in parts if memoryview(p).nbytes]
    length = sum(v.nbytes for v in views)
    fd = fileops.create_reserved(path, HEADER_SIZE + length)
    pending.add(fd, path)
    digest = _ext.Checksum64()
    pos = HEADER_SIZE
    for v in views:
        digest.update(v)
        fileops.pwrite_all(fd, v, pos, path)
        pos += v.nbytes
    checksum = digest.digest()
    header = Header(kind, owner.type_code, rows, length, checksum, owner.table_id,
                    owner.segment_id, owner.column_id)
    fileops.pwrite_all(fd, header.pack(), 0, path)
    pending.written(fd, path)
    return FileRef(name, length, checksum)


def map_buffer(directory: str, ref: FileRef, kind: BufferKind, owner: Owner,
               rows: int) -> _ext.Mapping:
    """Map a committed file (whole, header included) after checking its header against the
    manifest; the caller owns the open Mapping (its data starts at ``HEADER_SIZE``, so data
    offset ``k`` is mapping offset ``HEADER_SIZE + k``, page-aligned alike)."""
    path = os.path.join(directory, ref.name)
    try:
        m = fileops.map_readonly(path)
    except IsADirectoryError:
        raise CorruptionError(f"{path}: is a directory, expected a column file") from None
    except OSError as e:
        if e.errno == 40:  # ELOOP: O_NOFOLLOW met a symlink
            raise CorruptionError(f"{path}: is a symlink; mapdb never follows symlinks to "
                                  f"column files") from None
        if isinstance(e, FileNotFoundError):
            raise CorruptionError(f"{path}: column file is missing") from None
        raise StorageError(f"{path}: {e.strerror}") from e
    try:
        with memoryview(m) as mv:
            header = Header.unpack(bytes(mv[:HEADER_SIZE]), path)
        _check_header(path, header, ref, kind, owner, rows)
        if len(m) < HEADER_SIZE + ref.length:
            raise CorruptionError(
                f"{path}: file is {len(m)} bytes but the committed column needs "
                f"{HEADER_SIZE + ref.length} ({HEADER_SIZE} header + {ref.length} data); "
                f"it was truncated")
    except BaseException:
        m.close()
        raise
    return m


def open_buffer(directory: str, ref: FileRef, kind: BufferKind, owner: Owner,
                rows: int) -> pa.Buffer:
    """Map a committed file and return its data as a zero-copy pyarrow Buffer."""
    m = map_buffer(directory, ref, kind, owner, rows)
    try:
        return pa.py_buffer(m).slice(HEADER_SIZE, ref.length)
    finally:
        m.close()  # unmapped when the last Buffer over it is released


def _check_header(path: str, h: Header, ref: FileRef, kind: BufferKind, owner: Owner,
                  rows: int) -> None:
    expected = (kind, owner.type_code, rows, ref.length, ref.checksum, owner.table_id,
                owner.segment_id, owner.column_id)
    actual = (h.kind, h.type_code, h.rows, h.length, h.checksum, h.table_id, h.segment_id,
              h.column_id)
    if expected != actual:
        names = ("kind", "type", "rows", "length", "checksum", "table id", "segment id",
                 "column id")
        diffs = [f"{n} {a!r} (manifest: {e!r})" for n, a, e in zip(names, actual, expected,
                                                                     strict=True) if a != e]
        raise CorruptionError(f"{path}: header does not match the manifest: "
                              + ", ".join(diffs) + " (a file from another table or version?)")


def verify_buffer(directory: str, ref: FileRef, kind: BufferKind, owner: Owner,
                  rows: int) -> None:
    """Check header and full data checksum; CorruptionError on any damage."""
    buf = open_buffer(directory, ref, kind, owner, rows)
    if _ext.checksum64(buf) != ref.checksum:
        raise CorruptionError(f"{os.path.join(directory, ref.name)}: data checksum mismatch "
                              f"(the column's bytes are damaged)")
