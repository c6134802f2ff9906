"""Byte plumbing for the text formats (CSV, NDJSON).

* :func:`open_input` opens a file, decoding whole-file compression;
* :func:`csv_cut` finds where a block of CSV text can be cut between records;
* :func:`iter_lines`, :func:`iter_records` and :func:`record_start_line` re-scan text
  after an error to turn pyarrow's record number into the physical line an editor shows.

>>> import io
>>> data = b'a,b\\n1,"x\\ny"\\n\\n2,z\\n'
>>> [(line, split_fields(rec, b",")) for line, rec in iter_records(io.BytesIO(data), b",")]
[(1, [b'a', b'b']), (2, [b'1', b'x\\ny']), (5, [b'2', b'z'])]
>>> record_start_line(io.BytesIO(data), 3, b",")   # the 3rd record starts on line 5
5
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from ._stream import BatchStream, normalize_overrides
from .errors import IngestError
from .sources import Source

__all__ = ["csv_cut", "iter_lines", "iter_records", "open_input", "read_block", "read_into",
           "record_start_line", "skip_records", "split_fields"]

_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}


def open_input(path: str, compression: str | None) -> tuple[pa.NativeFile, pa.NativeFile]:
    """(raw file, decoded stream). A compressed file with a plain name is detected by its
    magic bytes, so ``data.csv`` that is really gzip still reads."""
    try:
        raw = pa.OSFile(path)
    except FileNotFoundError:
        raise IngestError("no such file or directory", file=path) from None
    except (PermissionError, IsADirectoryError, OSError) as exc:
        raise IngestError(f"cannot open: {exc.strerror or exc}", file=path) from None
    if compression is None:
        head = raw.read(4)
        raw.seek(0)
        for magic, codec in _MAGIC.items():
            if head.startswith(magic):
                compression = codec
    if compression is None:
        return raw, raw
    return raw, pa.CompressedInputStream(raw, compression)


def read_into(stream: pa.NativeFile, view: memoryview, name: str, line: int) -> int:
    """``stream.readinto(view)``; a read error (typically a truncated or corrupt compressed
    file) becomes an IngestError saying how far reading got."""
    try:
        return stream.readinto(view)
    except (OSError, pa.ArrowException) as exc:
        raise _read_error(exc, name, line) from None


def read_block(stream: pa.NativeFile, nbytes: int, name: str, line: int) -> bytes:
    """``stream.read(nbytes)`` with the errors of :func:`read_into`."""
    try:
        return stream.read(nbytes)
    except (OSError, pa.ArrowException) as exc:
        raise _read_error(exc, name, line) from None


def _read_error(exc: BaseException, name: str, line: int) -> IngestError:
    return IngestError(f"read error after line {line - 1} ({exc}); is the file truncated or "
                       "corrupt?", file=name)


# -- re-scanning a file to locate records -------------------------------------------------------

_EOL = re.compile(rb"\r\n|\n|\r")


def iter_lines(stream: BinaryIO | pa.NativeFile, chunk: int = 1 << 20, *,
               keepends: bool = False) -> Iterator[bytes]:
    """Physical lines; ``\\n``, ``\\r\\n`` and a lone ``\\r`` end a line (as for pyarrow and
    editors). A final line without terminator is yielded too."""
    pending = b""
    while True:
        data = stream.read(chunk)
        if not data:
            break
        data = pending + bytes(data)
        # A trailing "\r" may be half of "\r\n": keep it for the next round.
        limit = len(data) - 1 if data.endswith(b"\r") else len(data)
        start = 0
        for m in _EOL.finditer(data, 0, limit):
            yield data[start : m.end() if keepends else m.start()]
            start = m.end()
        pending = data[start:]
    if pending.endswith(b"\r") and not keepends:
        yield pending[:-1]
    elif pending:
        yield pending


def _field_regex(delimiter: bytes, quote: bytes) -> re.Pattern[bytes]:
    # A line made only of complete fields: quoted ("" escapes a quote) or unquoted without
    # quotes. Lines matching it end outside any quote; the slow scanner handles the rest.
    d, q = re.escape(delimiter), re.escape(quote)
    dq = re.escape(delimiter + quote)
    field = rb"(?:" + q + rb"(?:[^" + q + rb"]|" + q + q + rb")*" + q + rb"|[^" + dq + rb"]*)"
    return re.compile(field + rb"(?:" + d + field + rb")*")


def _ends_in_quote(line: bytes, in_quote: bool, delim: int, quote: int) -> bool:
    """Quote state at the end of ``line`` with pyarrow's rules: a quote opens a quoted field
    only at the start of a field; inside one, a doubled quote is a literal quote; anywhere
    else a quote is an ordinary character."""
    i, n = 0, len(line)
    at_field_start = not in_quote
    while True:
        if in_quote:
            j = line.find(quote, i)
            if j < 0:
                return True
            if j + 1 < n and line[j + 1] == quote:
                i = j + 2
                continue
            in_quote, i = False, j + 1
            at_field_start = False
        elif at_field_start and i < n and line[i] == quote:
            in_quote, i = True, i + 1
        else:
            k = line.find(delim, i)
            if k < 0:
                return False
            i, at_field_start = k + 1, True


def iter_records(stream: BinaryIO | pa.NativeFile, delimiter: bytes,
                 quote: bytes = b'"', *, blank: bool = False
                 ) -> Iterator[tuple[int, list[bytes]]]:
    """(first physical line, physical lines with their terminators) of each CSV record.
    Blank lines between records are skipped, as pyarrow does, so the n-th item is
    pyarrow's record ``n`` (``blank``: blank lines are records, as pyarrow reads them with
    ``ignore_empty_lines=False``)."""
    if not quote:  # no quoting: every non-blank line is a record
        for line_no, raw in enumerate(iter_lines(stream, keepends=True), 1):
            if blank or raw.rstrip(b"\r\n"):
                yield line_no, [raw]
        return
    complete = _field_regex(delimiter, quote)
    d, q = delimiter[0], quote[0]
    in_quote = False
    start = 0
    lines: list[bytes] = []
    for line_no, raw in enumerate(iter_lines(stream, keepends=True), 1):
        line = raw.rstrip(b"\r\n")
        if not in_quote:
            if not line:
                if blank:
                    yield line_no, [raw]
                continue
            start, lines = line_no, [raw]
            if quote not in line or complete.fullmatch(line):
                yield start, lines
                continue
            in_quote = _ends_in_quote(line, False, d, q)
        else:
            lines.append(raw)
            in_quote = _ends_in_quote(line, True, d, q)
        if not in_quote:
            yield start, lines
    if in_quote:
        yield start, lines  # unterminated quote: the record runs to the end of the file


def split_fields(lines: list[bytes], delimiter: bytes, quote: bytes = b'"') -> list[bytes]:
    """Field values of one record as given by :func:`iter_records` (quotes removed, doubled
    quotes undone, line ends inside quoted values kept; ``quote=b""``: no quoting)."""
    text = b"".join(lines)
    if text.endswith(b"\r\n"):
        text = text[:-2]
    elif text.endswith((b"\n", b"\r")):
        text = text[:-1]
    if not quote:
        return text.split(delimiter)
    d, q = delimiter[0], quote[0]
    fields: list[bytes] = []
    cur = bytearray()
    i, n = 0, len(text)
    in_quote, at_start = False, True
    while i < n:
        c = text[i]
        if in_quote:
            if c == q:
                if i + 1 < n and text[i + 1] == q:
                    cur.append(q)
                    i += 2
                    continue
                in_quote = False
            else:
                cur.append(c)
        elif c == d:
            fields.append(bytes(cur))
            cur.clear()
            at_start = True
            i += 1
            continue
        elif c == q and at_start:
            in_quote = True
        else:
            cur.append(c)
        at_start = False
        i += 1
    fields.append(bytes(cur))
    return fields


def skip_records(data: bytes | bytearray, n: int, delimiter: bytes,
                 quote: bytes = b'"') -> tuple[int, int, list[list[bytes]]]:
    """(byte offset just past the ``n``-th record of ``data``, physical lines up to there,
    the records' lines); blank lines before a record belong to it. ``data`` starts at a
    record start. Fewer than ``n`` records: the end of ``data``.

    >>> skip_records(b'\\na,"x\\ny"\\n1,2\\n', 1, b",")
    (9, 3, [[b'a,"x\\n', b'y"\\n']])
    """
    offset = lines = 0
    records: list[list[bytes]] = []
    if n <= 0:
        return 0, 0, records
    d, q = delimiter[0], (quote[0] if quote else None)
    current: list[bytes] = []
    in_quote = False
    for raw in iter_lines(io.BytesIO(bytes(data)), keepends=True):
        offset += len(raw)
        lines += 1
        line = raw.rstrip(b"\r\n")
        if not in_quote and not line:
            continue
        current.append(raw)
        if q is not None and (in_quote or quote in line):
            in_quote = _ends_in_quote(line, in_quote, d, q)
        if not in_quote:
            records.append(current)
            current = []
            if len(records) == n:
                break
    return offset, lines, records


def record_start_line(stream: BinaryIO | pa.NativeFile, record_no: int, delimiter: bytes,
                      quote: bytes = b'"') -> int | None:
    """Physical line (1-based) where pyarrow's 1-based record ``record_no`` starts (the
    header is record 1); None past the end."""
    for i, (line, _) in enumerate(iter_records(stream, delimiter, quote), 1):
        if i == record_no:
            return line
    return None


def csv_cut(buf: bytes, eol: bytes, delimiter: bytes, quote: bytes = b'"') -> int:
    r"""Offset just past the last record terminator of ``buf`` that is outside quotes (0 if
    there is none), with pyarrow's quoting rules (``quote=b""``: no quoting); ``buf`` must
    start at a record start.

    >>> csv_cut(b'a,b\n1,"x\ny', b"\n", b",")          # the 2nd record is not complete
    4
    >>> csv_cut(b'a,b\n1,"x\ny"\n2,', b"\n", b",")
    12
    >>> csv_cut(b'a,b\n1,x"y\n2,', b"\n", b",")          # a literal quote mid-field
    10

    Fast path (numpy): every quote toggles the quoted state. That is exactly pyarrow's
    rule as long as each quote that would *open* a field (even count of quotes before it)
    sits at a field start, or right after a quote (the second half of ``""``). Otherwise
    (literal quotes inside unquoted fields, rare) we fall back to an exact scan in Python.
    """
    last = buf.rfind(eol)
    if last < 0:
        return 0
    if not quote:  # no quoting: every line end ends a record
        return last + 1
    arr = np.frombuffer(buf, dtype=np.uint8)
    qb = quote[0]
    quotes = np.flatnonzero(arr == qb)
    if len(quotes) == 0:
        return last + 1
    opens = quotes[0::2]
    opens = opens[opens > (3 if buf.startswith(b"\xef\xbb\xbf") else 0)]
    prev = arr[opens - 1]
    ok = (prev == delimiter[0]) | (prev == 10) | (prev == 13) | (prev == qb)
    if not ok.all():
        return _csv_cut_exact(buf, eol, delimiter, quote)
    if len(quotes) % 2 == 0 and quotes[-1] < last:
        return last + 1
    ends = np.flatnonzero(arr == eol[0])
    outside = ends[np.searchsorted(quotes, ends) % 2 == 0]
    return int(outside[-1]) + 1 if len(outside) else 0


def _csv_cut_exact(buf: bytes, eol: bytes, delimiter: bytes, quote: bytes) -> int:
    d, q = delimiter[0], quote[0]
    in_quote = False
    pos = cut = 0
    while True:
        nxt = buf.find(eol, pos)
        if nxt < 0:
            return cut
        line = buf[pos:nxt]
        if in_quote or quote in line:
            in_quote = _ends_in_quote(line, in_quote, d, q)
        pos = nxt + 1
        if not in_quote:
            cut = pos


class TextStream(BatchStream):
    """A CSV or NDJSON file read in chunks of whole records. Subclasses provide
    ``_iter_chunks`` and ``_setup`` (which reads the first chunk and fixes the schema)."""

    def __init__(self, source: Source, batch_rows: int) -> None:
        name = str(source.path)
        try:
            total = os.stat(source.path).st_size
        except FileNotFoundError:
            raise IngestError("no such file or directory", file=name) from None
        super().__init__(pa.schema([]), name=name, total_bytes=total, batch_rows=batch_rows)
        self._overridden: set[str] = set()

    def _start(self, source: Source, schema_overrides) -> None:
        """Open the file and read its first chunk; on any failure close what was opened."""
        self._raw, self._stream = open_input(self.name, source.compression)
        try:
            self._chunks = self._iter_chunks()
            self._setup(normalize_overrides(schema_overrides, self.name))
        except BaseException:
            self.close()
            raise

