"""What a column's files may tell a reader, checked before any kernel or Arrow reads them.

Headers and the manifest pin every file's size; the bytes inside are covered by the data
checksum in the manifest, which ``mapdb verify`` checks for every file. Opening checks it
only for the files whose bytes steer reads or answers beyond their own values:

- string and binary offsets: where to read (a zeroed page of offsets is even
  well-formed: non-decreasing from 0, and still wrong);
- string data: valid UTF-8 (Arrow and Python trust it);
- validity bitmaps: how many nulls an Arrow array holds;
- dictionary codes: which value of the dictionary a row takes;
- decimals stored wider than their precision: a value past it is an invalid Arrow array;
- zone maps: which blocks a filter may skip (a changed word turns an answer into nothing);
- dictionary chunks: every value of the column is read through them.

One flipped byte, or a page zeroed by a power loss, in any of these becomes a
CorruptionError naming the file, never a SIGSEGV, an invalid Arrow array or a silently
wrong answer. Plain values (numbers, dates, bools, binary bytes) are not checked at open:
any bit pattern is a value, a damaged one is only wrong, and ``mapdb verify`` finds it;
checking them would add a hash per byte to every cold scan.

checksum64 runs at about 11 GB/s here (faster than a structural check such as UTF-8
validation, and it catches every change), once per file per process: a file that passed
is remembered by device, inode, size, mtime and ctime, so one replaced, truncated or
rewritten is checked again. Row lookups, which read a few rows rather than whole files,
checksum only the validity bitmap and check what they take (storage.scan.check_rows): a
damaged value, or offset, of a looked-up row can give a wrong row there (never a crash or
an invalid array); ``mapdb verify`` finds it.
"""

from __future__ import annotations

import errno
import os

from mapdb import _ext
from mapdb.errors import CorruptionError
from mapdb.storage.header import HEADER_SIZE

RELEASE_BYTES = 16 << 20  # a checked file at least this large leaves RSS (see _release)

# (device, inode, size, mtime, ctime, checksum) of every file that passed
_passed: set[tuple] = set()


def checksum(m: _ext.Mapping, length: int, expected: int, path: str) -> None:
    """CorruptionError naming ``path`` unless the data of the file ``m`` maps (``length``
    bytes after its header) has the manifest's checksum; a file passes once per process.
    The hash runs without the GIL."""
    st = os.fstat(m.fileno())
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, expected)
    if key in _passed:
        return
    with memoryview(m) as mv:
        actual = _ext.checksum64(mv[HEADER_SIZE:HEADER_SIZE + length])
    if length >= RELEASE_BYTES:
        _release(m, length)
    if actual != expected:
        raise CorruptionError(f"{path}: data checksum mismatch (the file's bytes are "
                              f"damaged)")
    if len(_passed) > 1 << 20:  # the files of very many versions: start again
        _passed.clear()
    _passed.add(key)


def _release(m: _ext.Mapping, length: int) -> None:
    """Unmap the pages the hash just read from this process (they stay in the page cache;
    the scan that follows faults in the ones it reads when it reads them): checking a large
    file does not leave all of it in the process's RSS (a streamed result's memory, see
    docs/query.md). Locked pages (EINVAL) stay."""
    try:
        m.advise(HEADER_SIZE, length, _ext.Advice.DONTNEED)
    except OSError as e:
        if e.errno != errno.EINVAL:
            raise


def steering(ctype, files, whole: bool = True) -> list:
    """The (BufferKind, FileRef) of a segment's column that opening checks (see above).
    Not ``whole``: for reading single rows, only the validity bitmap (1 bit a row, and a
    zeroed page of it is well formed and wrong); the rows' offsets, codes and bytes are
    checked as they are taken (storage.scan.check_rows), so a lookup reads the pages of
    its rows, not whole files."""
    from mapdb.storage.header import BufferKind
    out = []
    if files.validity is not None:
        out.append((BufferKind.VALIDITY, files.validity))
    if not whole:
        return out
    if files.offsets is not None:
        out.append((BufferKind.OFFSETS, files.offsets))
        if ctype.kind == "string":
            out.append((BufferKind.DATA, files.data))
    if ctype.is_dictionary:
        out.append((BufferKind.DATA, files.data))
    elif ctype.kind == "decimal":
        width = files.data_width(ctype)
        if (1 << (8 * width - 1)) - 1 > 10 ** ctype.decimal_params[0] - 1:
            out.append((BufferKind.DATA, files.data))
    return out


def column(d: str, ctype, files, maps: dict, whole: bool = True) -> None:
    """Check a segment's column before it is read (``files``: its segment.ColumnFiles,
    ``maps``: BufferKind -> the open Mapping of each file but the zone map; ``whole``: see
    steering)."""
    for kind, ref in steering(ctype, files, whole):
        checksum(maps[kind], ref.length, ref.checksum, os.path.join(d, ref.name))
