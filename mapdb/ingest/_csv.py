"""Streaming CSV/TSV reader: our own chunking, pyarrow's parser.

Choices, and why:

* **Chunking is ours.** We read ``block_size`` bytes at a time, cut at the last record
  boundary (quote-aware, see :func:`._text.csv_cut`) and parse each chunk in memory with
  ``pyarrow.csv.read_csv``. pyarrow's own streaming reader (``open_csv``) reads ahead on a
  background thread with a queue of up to 32 blocks, so it holds hundreds of MiB on a fast
  disk; and feeding it a Python file object to pace it deadlocks or aborts the interpreter
  when the reader is dropped early (its I/O thread needs the GIL). With our chunks, the
  peak is about 3x ``block_size`` in pyarrow's pool and 7-9x resident, whatever the file
  size, and no Python code runs on pyarrow's threads. We also know the physical line
  where each chunk starts, so locating an error re-scans one chunk only.
* **NULL is what pandas reads as missing, for every type** (strings too): an empty field
  and the tokens of :data:`PANDAS_NULL_VALUES` (``NA``, ``NULL``, ``NaN``, ``N/A``, ...),
  so R exports such as nycflights13 read as pandas reads them. Unlike pandas, a *quoted*
  field is never NULL: ``""`` is an empty string and ``"NA"`` the text NA, so a file
  written by ``pyarrow.csv.write_csv`` (which quotes strings) reads back exactly. Pass
  ``null_values=[""]`` for DuckDB's rule (only the empty field is NULL).
* **Types are inferred from the first chunk** (about ``block_size``, 16 MiB by default) by
  pyarrow: int64, float64, bool, date32, timestamp, string. We then adjust: a timestamp
  inferred with second resolution becomes microseconds (a later fractional second must not
  fail), times stay text, a column empty in the whole sample is text, and a column pyarrow
  read as binary (invalid UTF-8) is declared text so that the bad line is reported. A later
  value that does not fit is an error naming the line and suggesting ``--schema col=TYPE``.
* **Serial parsing** (``use_threads=False``): only then does pyarrow put the record number
  in its errors, and on the small machines we target it is not slower.
* **Quoted newlines are allowed.** pyarrow's record number then differs from the line
  number, so the line is found by re-scanning the chunk (blank lines count, as in an
  editor). Line ends are ``\\n`` or ``\\r\\n`` (or ``\\r`` alone, if the file has no ``\\n``).
* **Invalid UTF-8** in a text column is an error with its line; override the column to
  ``binary`` to keep raw bytes. **NUL bytes** are kept as data (they are valid UTF-8).
* **Huge rows**: a record may span blocks; the buffer grows until the record is complete,
  up to ``max_field_bytes``. Beyond that -- a giant field, or an unbalanced quote that
  swallows the rest of the file -- it is an error at the line where the record starts.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.csv as pacsv

from ._stream import check_override_columns
from ._text import TextStream, csv_cut, iter_records, read_into, split_fields
from .errors import IngestError
from .sources import Source

_CONVERSION = re.compile(
    r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to (.+?): (.*)", re.S)
_RAGGED = re.compile(r"CSV parse error: (?:Row #(\d+): )?Expected (\d+) columns, got (\d+): (.*)",
                     re.S)
_INVALID_VALUE = re.compile(r"invalid value '(.*)'$", re.S)
_NOT_EOL = re.compile(rb"[^\r\n]")

_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16",
}
_MAX_BLOCK = (1 << 31) - 1 - (1 << 20)  # pyarrow's block_size is an int32

#: pandas.read_csv's default ``na_values`` (pandas 2.x), plus the empty field.
PANDAS_NULL_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)


class CsvStream(TextStream):
    """See :func:`mapdb.ingest.open_source`."""

    def __init__(self, source: Source, *,
                 schema_overrides: Mapping[str, pa.DataType | str] | None,
                 batch_rows: int, block_size: int, max_field_bytes: int,
                 null_values: Sequence[str]) -> None:
        if block_size < 1 or max_field_bytes < 1:
            raise ValueError("block_size and max_field_bytes must be positive")
        super().__init__(source, batch_rows)
        self._delimiter = (source.delimiter or ",").encode()
        self._null_values = list(null_values)
        self._block = min(block_size, _MAX_BLOCK)
        self._max_record = min(max_field_bytes, _MAX_BLOCK - self._block)
        self._max_field_bytes = max_field_bytes
        self._names: list[str] = []
        self._sample_bytes = 0
        self._first: pa.Table | None = None
        if self.total_bytes == 0:
            raise IngestError("empty file, no header", file=self.name)
        self._start(source, schema_overrides)

    def _setup(self, overrides: dict[str, pa.DataType]) -> None:
        self._overridden = set(overrides)
        first = next(self._chunks, None)
        if first is None:
            raise IngestError("empty file, no header", file=self.name)
        line, data = first
        for bom, enc in _BOMS.items():
            if data.startswith(bom):
                raise IngestError(f"file is {enc} encoded (byte-order mark); convert it to "
                                  "UTF-8", file=self.name, line=1)
        self._sample_bytes = len(data)
        table = self._parse(line, data, overrides, header=True)
        for i in range(len(table.schema)):
            try:
                table.schema.field(i).name  # noqa: B018  (pyarrow decodes it here)
            except UnicodeDecodeError:  # check_utf8 covers values, not the header
                raise IngestError(f"invalid UTF-8 in the header (column #{i + 1}); convert "
                                  "the file to UTF-8", file=self.name,
                                  line=line + _leading_blank_lines(data)) from None
        self._names = table.schema.names
        self._check_header(self._names, line, data)
        check_override_columns(self._names, overrides, self.name)
        final = _adjust_inferred(table.schema, overrides)
        if not final.equals(table.schema):
            table = self._parse(line, data, dict(zip(final.names, final.types, strict=True)),
                                header=True)
        self.schema = table.schema
        self._first = table

    # -- chunking -------------------------------------------------------------------------------
    def _iter_chunks(self) -> Iterator[tuple[int, bytearray]]:
        """(physical line of the first byte, bytes) of chunks made of whole records.

        Each chunk is a fresh bytearray read into directly and handed to pyarrow without a
        copy; only the incomplete record at its end is copied, to start the next chunk.
        """
        line, rest = 1, b""
        eol: bytes | None = None
        while True:
            buf = bytearray(len(rest) + self._block)
            buf[: len(rest)] = rest
            n = read_into(self._stream, memoryview(buf)[len(rest) :], self.name, line)
            self._bytes_read = self._raw.tell()
            if n == 0:
                del buf
                if rest.strip(b"\r\n"):
                    eol = eol or b"\n"
                    if not rest.endswith((b"\n", b"\r")):
                        rest += eol  # pyarrow rejects a header-only file without one
                    if csv_cut(rest, eol, self._delimiter) != len(rest):
                        # pyarrow would close the quote at the end of the file and return
                        # the rest of the file as one value.
                        raise IngestError(
                            "unterminated quoted field (it runs to the end of the file)",
                            file=self.name, line=line + _leading_blank_lines(rest))
                    yield line, bytearray(rest)
                return
            del buf[len(rest) + n :]
            if eol is None:
                eol = b"\r" if b"\n" not in buf and b"\r" in buf else b"\n"
            cut = csv_cut(buf, eol, self._delimiter)
            if cut == 0:
                if len(buf) > self._max_record:
                    # No record ends in the buffer: the first one is the culprit.
                    raise IngestError(
                        f"record larger than max_field_bytes={self._max_field_bytes} bytes "
                        "(a huge field, or an unbalanced quote that runs on from here); "
                        "raise max_field_bytes if the data is right",
                        file=self.name, line=line + _leading_blank_lines(buf))
                rest = bytes(buf)
                continue
            rest = bytes(buf[cut:])
            del buf[cut:]
            lines_in_chunk = _count_lines(buf)
            yield line, buf
            del buf  # let the consumer's parse be the last user of this chunk
            line += lines_in_chunk

    # -- parsing --------------------------------------------------------------------------------
    def _parse(self, line: int, data: bytes | bytearray,
               column_types: Mapping[str, pa.DataType], *, header: bool) -> pa.Table:
        read = pacsv.ReadOptions(block_size=len(data) + 1, use_threads=False,
                                 column_names=None if header else self._names)
        parse = pacsv.ParseOptions(delimiter=self._delimiter.decode(), quote_char='"',
                                   double_quote=True, escape_char=False,
                                   newlines_in_values=True, ignore_empty_lines=True)
        convert = pacsv.ConvertOptions(
            column_types=dict(column_types), null_values=self._null_values,
            strings_can_be_null=True, quoted_strings_can_be_null=False, check_utf8=True)
        try:
            return pacsv.read_csv(pa.BufferReader(pa.py_buffer(data)), read_options=read,
                                  parse_options=parse, convert_options=convert)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise self._translate(exc, line, data) from exc

    def _batches(self) -> Iterator[pa.RecordBatch]:
        first, self._first = self._first, None
        if first is not None:
            for batch in first.to_batches():
                yield from self._split(batch)
            first = None  # free the sample before reading on
        column_types = dict(zip(self.schema.names, self.schema.types, strict=True))
        for line, data in self._chunks:
            if not _NOT_EOL.search(data):
                continue  # only blank lines: pyarrow would call it an empty file
            table = self._parse(line, data, column_types, header=False)
            del data
            for batch in table.to_batches():
                yield from self._split(batch)
        self._bytes_read = self.total_bytes or 0

    def _release(self) -> None:
        self._first = None
        self._stream.close()
        self._raw.close()

    # -- errors ---------------------------------------------------------------------------------
    def _check_header(self, names: list[str], line: int, data: bytes) -> None:
        header_line = line + _leading_blank_lines(data)
        empty = [i + 1 for i, n in enumerate(names) if n == ""]
        if empty:
            raise IngestError(
                f"empty column name in the header (column #{empty[0]}); every column needs a "
                "name", file=self.name, line=header_line)
        dups = [n for n, c in Counter(names).items() if c > 1]
        if dups:
            where = ", ".join(
                f"{n!r} (columns {', '.join(f'#{i + 1}' for i, m in enumerate(names) if m == n)})"
                for n in dups)
            raise IngestError(f"duplicate column names in the header: {where}",
                              file=self.name, line=header_line)

    def _translate(self, exc: BaseException, first_line: int, data: bytes) -> IngestError:
        """pyarrow's message -> IngestError with the line. pyarrow's "Row #n" counts the
        records of the parsed chunk from 1 (the header included when the chunk has it)."""
        msg = str(exc)
        m = _CONVERSION.match(msg)
        if m:
            idx, row, typ, detail = int(m.group(1)), m.group(2), m.group(3), m.group(4)
            names = self._names or _header_names(data, self._delimiter)
            column = names[idx] if idx < len(names) else f"#{idx + 1}"
            vm = _INVALID_VALUE.match(detail)
            value = vm.group(1) if vm else None
            if "invalid UTF8" in detail:
                reason = ("invalid UTF-8 in a text value; convert the file to UTF-8, or read "
                          f"the column as bytes with --schema {column}=binary")
            elif value is not None:
                reason = f"cannot parse {_short(value)!r} as {typ}{self._hint(column)}"
            else:
                reason = f"cannot convert to {typ}: {detail}{self._hint(column)}"
            if row is not None:
                line = self._record_line(first_line, data, int(row))
            elif value is not None:
                line = self._find_line(first_line, data, lambda f: idx < len(f) and
                                       f[idx].decode("utf-8", "replace") == value)
            else:
                line = None
            return IngestError(reason, file=self.name, line=line, column=column)
        m = _RAGGED.match(msg)
        if m:
            row, expected, got, text = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            reason = (f"expected {expected} fields (as in the header), got {got}: "
                      f"{_short(text.strip())!r}")
            if row is not None:
                line = self._record_line(first_line, data, int(row))
            else:
                line = self._find_line(first_line, data, lambda f: len(f) != expected)
            return IngestError(reason, file=self.name, line=line)
        if "Empty CSV file" in msg:
            return IngestError("empty file, no header", file=self.name)
        return IngestError(f"cannot read CSV: {msg.strip()}", file=self.name, line=first_line)

    def _hint(self, column: str) -> str:
        if column in self._overridden:
            return " (type given by the schema override)"
        return (f" (type inferred from the first {_size(self._sample_bytes)}; "
                f"override with --schema {column}=TYPE)")

    def _record_line(self, first_line: int, data: bytes, record_no: int) -> int | None:
        for i, (line, _) in enumerate(iter_records(io.BytesIO(data), self._delimiter), 1):
            if i == record_no:
                return first_line + line - 1
        return None

    def _find_line(self, first_line: int, data: bytes,
                   bad: Callable[[list[bytes]], bool]) -> int | None:
        """Fallback when pyarrow's message has no row: the first record of the chunk whose
        fields satisfy ``bad``."""
        for line, lines in iter_records(io.BytesIO(data), self._delimiter):
            if bad(split_fields(lines, self._delimiter)):
                return first_line + line - 1
        return None


def _adjust_inferred(inferred: pa.Schema, overrides: Mapping[str, pa.DataType]) -> pa.Schema:
    schema = inferred
    for i, field in enumerate(inferred):
        if field.name in overrides:
            continue
        t = field.type
        new = t
        if pa.types.is_null(t) or pa.types.is_time(t) or pa.types.is_binary(t):
            new = pa.string()
        elif pa.types.is_timestamp(t) and t.unit == "s":
            new = pa.timestamp("us", tz=t.tz)
        if new != t:
            schema = schema.set(i, field.with_type(new))
    return schema


def _header_names(data: bytes, delimiter: bytes) -> list[str]:
    for _, lines in iter_records(io.BytesIO(data), delimiter):
        head = split_fields(lines, delimiter)
        if head[0].startswith(b"\xef\xbb\xbf"):
            head[0] = head[0][3:]  # UTF-8 byte-order mark, skipped by pyarrow too
        return [f.decode("utf-8", "replace") for f in head]
    return []


def _count_lines(data: bytes | bytearray) -> int:
    """Line ends in ``data`` as :func:`._text.iter_lines` counts them (\\n, \\r\\n, \\r)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _leading_blank_lines(data: bytes | bytearray) -> int:
    return _count_lines(data[: len(data) - len(data.lstrip(b"\r\n"))])


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"
