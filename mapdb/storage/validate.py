"""What a column's files may tell a kernel, checked before any kernel or Arrow reads them.

Headers and the manifest pin every file's size; the bytes inside are only covered by the
data checksum, which ``mapdb verify`` checks and opening does not (a hash per byte of
every column would double the cost of a cold scan). Yet some bytes steer reads: a string
offset says where to read, a dictionary code which value to take, a validity bitmap how
many nulls an Arrow array holds. One flipped byte there, or a page zeroed by a power loss,
sends a kernel outside its mapping (SIGSEGV) or hands out an invalid Arrow array.

So the first time a process maps a segment's column, these checks run over the steering
buffers (one pass each, in C without the GIL, at several GB/s; the data of plain numeric
columns needs none, any bit pattern being a value):

- offsets: 0 first, non-decreasing, the last equal to the data's length;
- string data: valid UTF-8, and no string starting inside a character;
- dictionary codes: inside the dictionary of the version that reads them;
- validity: its 1 bits number the rows minus the manifest's null count;
- decimals stored wider than their precision: every value within the precision.

Small metadata is checksummed instead, whole (``checked_bytes``): zone maps (a changed
word turns a range filter's answer into nothing) and dictionary chunks. A file passes once
per process: the result is remembered by device, inode, size, mtime and ctime, so a file
that is replaced, truncated or rewritten is checked again.

Every failure is a CorruptionError naming the file and what is wrong.

>>> import numpy as np
>>> try:
...     offsets(np.array([0, 4, 2, 6]), 6, "c1.offsets")
... except CorruptionError as e:
...     print(e)
c1.offsets: offset 2 is 2, below offset 1 (4): the string offsets are damaged
"""

from __future__ import annotations

import os

import numpy as np

from mapdb import _ext
from mapdb.errors import CorruptionError
from mapdb.storage.header import HEADER_SIZE

# (device, inode, size, mtime, ctime, check) -> what the check accepted
_passed: dict[tuple, int] = {}


def _key(fd: int, check: str) -> tuple:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, check)


def remembered(m: _ext.Mapping, check: str) -> int | None:
    """What ``check`` accepted for the file ``m`` maps, if it ran on this very file."""
    return _passed.get(_key(m.fileno(), check))


def remember(m: _ext.Mapping, check: str, value: int = 0) -> None:
    if len(_passed) > 1 << 20:  # files of many dropped versions: start again
        _passed.clear()
    _passed[_key(m.fileno(), check)] = value


def view(m: _ext.Mapping, dtype, count: int) -> np.ndarray:
    """The file's data (after its header) as ``count`` values of ``dtype``."""
    return np.frombuffer(m, dtype, count=count, offset=HEADER_SIZE)


def offsets(values: np.ndarray, length: int, path: str) -> None:
    i = _ext.offsets_error(values, length)
    if i < 0:
        return
    n = len(values) - 1
    if i == 0:
        why = f"offset 0 is {int(values[0])}, not 0"
    elif i == n and values[n] >= values[n - 1]:
        why = f"the last offset is {int(values[n])}, not the data's length {length}"
    else:
        why = f"offset {i} is {int(values[i])}, below offset {i - 1} ({int(values[i - 1])})"
    raise CorruptionError(f"{path}: {why}: the string offsets are damaged")


def utf8(values: np.ndarray, data: np.ndarray, path: str) -> None:
    pos, at = _ext.utf8_error(values, data)
    if pos >= 0:
        raise CorruptionError(f"{path}: invalid UTF-8 at byte {pos}: the string data is "
                              f"damaged")
    if at >= 0:
        raise CorruptionError(f"{path}: string {at} starts inside a character (byte "
                              f"{int(values[at])}): the string data or offsets are damaged")


def validity(bits: np.ndarray, rows: int, null_count: int, path: str) -> None:
    nulls = rows - _ext.count_ones(bits, rows)
    if nulls != null_count:
        raise CorruptionError(f"{path}: the validity bitmap marks {nulls} of {rows} rows "
                              f"null; the manifest says {null_count}: the bitmap is damaged")


def in_range(values: np.ndarray, lo: int, hi: int, path: str, what: str,
             valid: np.ndarray | None = None) -> None:
    """CorruptionError if a value (a valid one, when ``valid`` bits are given) is outside
    [lo, hi]; ``what`` names the values in the message."""
    start = 0
    while True:
        i = _ext.out_of_range(values[start:], lo, hi)
        if i < 0:
            return
        row = start + i
        if valid is None or (int(valid[row >> 3]) >> (row & 7)) & 1:
            raise CorruptionError(f"{path}: row {row} holds {int(values[row])}, outside "
                                  f"{what} [{lo}, {hi}]: the file is damaged")
        start = row + 1  # a null slot's value is unspecified


def checksum(m: _ext.Mapping, length: int, expected: int, path: str) -> None:
    """The file's whole data against the manifest's checksum (small files only), once."""
    if remembered(m, "checksum") == expected:
        return
    with memoryview(m) as mv:
        actual = _ext.checksum64(mv[HEADER_SIZE:HEADER_SIZE + length])
    if actual != expected:
        raise CorruptionError(f"{path}: data checksum mismatch (the file's bytes are "
                              f"damaged)")
    remember(m, "checksum", expected)


def column(d: str, rows: int, ctype, files, maps: dict, dictionary_length: int | None
           ) -> None:
    """Check a segment's column (``files``: its segment.ColumnFiles, ``maps``: BufferKind
    -> the open Mapping of each file but the zone map) before it is read; remembered per
    file. ``dictionary_length``: the reading version's dictionary size (dict columns; None
    when the codes are only hashed or compared, never used to index a dictionary)."""
    from mapdb.storage.header import BufferKind
    path = lambda ref: os.path.join(d, ref.name)  # noqa: E731
    if files.offsets is not None:
        m = maps[BufferKind.OFFSETS]
        if remembered(m, "offsets") is None:
            offs = view(m, np.int64, rows + 1)
            offsets(offs, files.data.length, path(files.offsets))
            if ctype.kind != "binary":
                utf8(offs, view(maps[BufferKind.DATA], np.uint8, files.data.length),
                     path(files.data))
            remember(m, "offsets")
    valid = None
    if files.validity is not None:
        m = maps[BufferKind.VALIDITY]
        valid = view(m, np.uint8, (rows + 7) // 8)
        if remembered(m, "validity") != files.null_count:
            validity(valid, rows, files.null_count, path(files.validity))
            remember(m, "validity", files.null_count)
    if ctype.is_dictionary and dictionary_length is not None:
        m = maps[BufferKind.DATA]
        bound = max(dictionary_length, 1)  # null slots hold 0 even when it is empty
        seen = remembered(m, "codes")  # codes below ``seen`` are below any larger bound
        if seen is None or seen > bound:
            in_range(view(m, np.int32, rows), 0, bound - 1, path(files.data),
                     "the dictionary's codes")
            remember(m, "codes", bound)
    elif ctype.kind == "decimal":
        width = files.data_width(ctype)
        limit = 10 ** ctype.decimal_params[0] - 1
        if (1 << (8 * width - 1)) - 1 > limit and remembered(maps[BufferKind.DATA],
                                                              "decimal") is None:
            m = maps[BufferKind.DATA]
            in_range(view(m, np.dtype(f"<i{width}"), rows), -limit, limit, path(files.data),
                     f"decimal({ctype.decimal_params[0]}, {ctype.decimal_params[1]})", valid)
            remember(m, "decimal")
