"""Streaming CSV/TSV reader: our own chunking, pyarrow's parser.

Choices, and why:

* **The dialect and the header are sniffed as DuckDB's ``read_csv`` does** (see
  :mod:`._sniff`): the delimiter (``,`` ``|`` ``;`` tab) and the quoting (``"`` or ``'``)
  whose field counts agree over the first rows (notes above the table are skipped); then
  the first row is a header unless each of its values reads as its column's type (types
  sniffed from the rows after it), and a file whose columns are all text has one. Without a
  header the columns are ``column0``, ``column1``, ... (zero-padded: ``column00`` when there
  are more than ten); header names are trimmed, empty ones generated, repeats numbered
  (``a``, ``a_1``). :class:`._sniff.CsvOptions` (``delimiter``, ``quote``, ``header``,
  ``null``, ``date_format``, ``timestamp_format``) overrides any of it. A ragged file is an
  error at the line whose field count differs (DuckDB reads it as one column of lines).
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
  Text columns holding dates or timestamps in another layout than ISO 8601 get DuckDB's
  sniffed formats (``25/12/2024``, ``12/25/2024 10:30:00 PM``; :mod:`._dates`).
* **No silent rounding of wide integers**: a column of integers some of which do not fit
  in int64 (pyarrow would read float64) is refused at the first such value; DuckDB reads
  it as HUGEINT, mapdb has no 128-bit integers (``--schema col=float64`` or ``string``).
* **At most** :data:`._stream.MAX_COLUMNS` **columns**, checked on the first row before
  anything is parsed (a 100,000-column file took minutes to fail in the storage layer).
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
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ._dates import DateFormat, TimeText, sniff_candidates
from ._sniff import CsvOptions, generated_names, header_names, sniff_dialect
from ._stream import MAX_COLUMNS, check_override_columns, check_width
from ._text import (
    TextStream,
    csv_cut,
    iter_records,
    read_block,
    read_into,
    skip_records,
    split_fields,
)
from .errors import IngestError
from .sources import Source

_CONVERSION = re.compile(
    r"In CSV column #(\d+): (?:Row #(\d+): )?CSV conversion error to (.+?): (.*)", re.S)
_RAGGED = re.compile(r"CSV parse error: (?:Row #(\d+): )?Expected (\d+) columns, got (\d+): (.*)",
                     re.S)
_INVALID_VALUE = re.compile(r"invalid value '(.*)'$", re.S)
_NOT_EOL = re.compile(rb"[^\r\n]")
_EOL_BYTE = re.compile(rb"[\r\n]")
_UTF8_BOM = b"\xef\xbb\xbf"
_ISO_DATE = DateFormat.compile("%Y-%m-%d")
_TIME_TEXT = TimeText()
_ZERO_PADDED = re.compile(r"[ \t]*0\d")
_TRUE = ["true", "True", "TRUE", "t", "T", "yes", "Yes", "YES"]  # DuckDB's spellings
_FALSE = ["false", "False", "FALSE", "f", "F", "no", "No", "NO"]
_TRAILING = "\x00trailing"  # the name of the empty field after a trailing delimiter
_SNIFF_BYTES = 1 << 20  # the dialect is sniffed on the first MiB (at most 20,480 rows)
_HEADER_SAMPLE = 1 << 20  # ... and the header on the types of the rows in the first MiB

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
                 null_values: Sequence[str], options: CsvOptions | None = None,
                 max_columns: int = MAX_COLUMNS) -> None:
        if block_size < 1 or max_field_bytes < 1:
            raise ValueError("block_size and max_field_bytes must be positive")
        super().__init__(source, batch_rows)
        self._opts = options or CsvOptions()
        self._given_delimiter = self._opts.delimiter or source.delimiter
        self._delimiter = (self._given_delimiter or ",").encode()
        self._quote = b'"'
        self._escape: str | None = '"'
        self._header = True
        self._trailing = False  # data records end with an extra empty field (``1|2|``)
        self._bool_digits = False  # 1 and 0 read as booleans (only for a bool override)
        self._blank_rows = False  # empty lines are rows (of NULL), as in a one-column file
        self._null_values = list(self._opts.null if self._opts.null is not None
                                 else null_values)
        self._block = min(block_size, _MAX_BLOCK)
        self._max_record = min(max_field_bytes, _MAX_BLOCK - self._block)
        self._max_field_bytes = max_field_bytes
        self._max_columns = max_columns
        self._names: list[str] = []
        self._read_types: dict[str, pa.DataType] = {}  # what pyarrow parses each column as
        self._formats: dict[str, tuple[pa.DataType, DateFormat]] = {}  # converted by us
        self._sample_bytes = 0
        self._first: pa.Table | None = None
        if self.total_bytes == 0:
            raise IngestError("empty file, no header", file=self.name)
        self._start(source, schema_overrides)

    def _setup(self, overrides: dict[str, pa.DataType]) -> None:
        self._overridden = set(overrides)
        self._bool_digits = any(pa.types.is_boolean(t) for t in overrides.values())
        head, at_eof = self._read_head()
        for bom, enc in _BOMS.items():
            if head.startswith(bom):
                raise IngestError(f"file is {enc} encoded (byte-order mark); convert it to "
                                  "UTF-8", file=self.name, line=1)
        if head.startswith(_UTF8_BOM):
            head = head[len(_UTF8_BOM):]
        if not _NOT_EOL.search(head):
            raise IngestError("empty file, no header", file=self.name)
        dialect = sniff_dialect(_sniff_text(head, at_eof), at_eof=at_eof,
                                delimiter=self._given_delimiter, quote=self._opts.quote)
        self._delimiter = dialect.delimiter.encode()
        self._quote = (dialect.quote or "").encode()
        self._escape = dialect.escape
        self._trailing = dialect.trailing
        self._chunks = self._iter_chunks(head)
        first = next(self._chunks, None)
        if first is None:
            raise IngestError("empty file, no header", file=self.name)
        line, data = first
        self._sample_bytes = len(data)
        # the first record with every column (DuckDB skips the notes above it)
        off, nlines, records = skip_records(data, dialect.skip + 1, self._delimiter,
                                            self._quote)
        first_record = records[-1]
        self._header_record = b"".join(first_record)
        first_line = line + nlines - len(first_record)
        check_width(dialect.columns, self.name, first_line, self._max_columns)
        raw_fields = split_fields(first_record, self._delimiter, self._quote)
        check_width(len(raw_fields), self.name, first_line, self._max_columns)
        view = memoryview(data)
        rest, rest_line = view[off:], line + nlines
        try:
            fields = [f.decode("utf-8") for f in raw_fields]
        except UnicodeDecodeError:
            if self._opts.header is not False:
                bad = next(i for i, f in enumerate(raw_fields) if not _is_utf8(f))
                raise IngestError(f"invalid UTF-8 in the header (column #{bad + 1}); convert "
                                  "the file to UTF-8", file=self.name, line=first_line) from None
            fields = [f.decode("utf-8", "replace") for f in raw_fields]
        # DuckDB reads an empty line of a one-column file as a NULL row (else it skips it)
        self._blank_rows = len(fields) == 1
        header = self._opts.header
        if header is None:
            header = self._is_header(fields, first_record, rest)
        self._header = header
        if header:
            self._names = header_names(fields)
            body, body_line = rest, rest_line
        else:
            self._names = generated_names(len(fields))
            body, body_line = view[off - sum(map(len, first_record)):], first_line
        check_override_columns(self._names, overrides, self.name)
        self._first = self._first_table(body_line, body, overrides)
        self.schema = self._first.schema

    def _read_head(self) -> tuple[bytes, bool]:
        """The start of the file to sniff (``_SNIFF_BYTES``, or more so that it holds a
        whole line) and whether it is the whole file."""
        want = min(_SNIFF_BYTES, self._block)
        head = read_block(self._stream, want, self.name, 1)
        at_eof = len(head) < want
        while not at_eof and not _EOL_BYTE.search(head) and len(head) <= self._max_record:
            more = read_block(self._stream, want, self.name, 1)
            head += more
            at_eof = len(more) < want
        return head, at_eof

    def _is_header(self, fields: list[str], first_record: list[bytes],
                   rest: memoryview) -> bool:
        """DuckDB's rule: the first row is a header unless each of its values reads as its
        column's type, the types being sniffed from the rows after it (from the row itself
        in a one-row file); a file whose columns are all text has a header; so has one whose
        first row is all NULL."""
        names = generated_names(len(fields))
        sample = bytes(rest[:_HEADER_SAMPLE])
        rows_names = [*names, _TRAILING] if self._trailing else names
        if len(rest) > _HEADER_SAMPLE:
            sample = sample[:csv_cut(sample, b"\n", self._delimiter, self._quote) or None]
        first = b"".join(first_record)
        try:
            if _NOT_EOL.search(sample):
                table = self._parse(0, sample, {}, names=rows_names, include=names, raw=True)
            else:
                table = self._parse(0, first, {}, names=names, raw=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return True  # the rows do not parse (ragged, say): the reader reports which
        nulls = set(self._null_values)
        if all(v in nulls for v in fields):
            return True
        padded = self._zero_padded(table, sample, rows_names, set()) \
            if _NOT_EOL.search(sample) else set()
        formats = self._sniff_formats(table, set())
        all_text, check = True, {}
        for name, value, typ in zip(names, fields, table.schema.types, strict=True):
            if name in formats:
                all_text = False
                target, fmt = formats[name]
                if value not in nulls and fmt.parse(pa.array([value]), target)[1] is not None:
                    return True
            elif pa.types.is_null(typ):
                all_text = False
                if value not in nulls:
                    return True
            elif not _is_text(typ) and name not in padded:
                all_text = False
                if _ZERO_PADDED.match(value) and (pa.types.is_integer(typ) or
                                                  pa.types.is_floating(typ)):
                    return True  # DuckDB does not read 007 as a number
                check[name] = typ
        if all_text:
            return True
        try:
            self._parse(0, first, check, names=names, raw=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return True
        return False

    def _first_table(self, line: int, body: memoryview,
                     overrides: dict[str, pa.DataType]) -> pa.Table:
        """Parse the first chunk (after the header), fix the types and the formats."""
        names = self._names
        if not (body if self._blank_rows else _NOT_EOL.search(body)):
            # a header and nothing else: parse it, skipped
            self._read_types = {n: overrides.get(n, pa.string()) for n in names}
            header = bytes(self._header_record)
            return self._parse(line, header, self._read_types, skip=1)
        first_types = {n: pa.string() if _is_temporal(t) else t for n, t in overrides.items()}
        table = self._parse(line, body, first_types)
        read: dict[str, pa.DataType] = {}
        padded = self._zero_padded(table, body, None, set(overrides), line)
        self._formats = self._sniff_formats(table, set(overrides))
        for f in table.schema:
            if f.name in overrides:
                target = overrides[f.name]
                fmt = self._override_format(table.column(f.name), target) \
                    if _is_temporal(target) else None
                if fmt is not None:
                    self._formats[f.name] = (target, fmt)
                read[f.name] = pa.string() if fmt is not None else target
                continue
            t = f.type
            if (pa.types.is_null(t) or pa.types.is_time(t) or pa.types.is_binary(t)
                    or f.name in padded or f.name in self._formats):
                t = pa.string()
            elif pa.types.is_timestamp(t) and (t.unit == "s" or (
                    t.unit == "ns" and _whole_micros(table.column(f.name)))):
                t = pa.timestamp("us", tz=t.tz)  # as DuckDB (nanoseconds kept if present)
            elif pa.types.is_float64(t):
                self._check_wide_integers(f.name, table.column(f.name), line, body)
            read[f.name] = t
        if read != dict(zip(table.schema.names, table.schema.types, strict=True)):
            table = self._parse(line, body, read)
        self._read_types = read
        return self._convert(table, line, body)

    def _zero_padded(self, table: pa.Table, data, names: list[str] | None, skip: set[str],
                     line: int = 0) -> set[str]:
        """Numeric columns of ``table`` (parsed from ``data``) holding a number written with
        a leading zero (``007``, ``02134``): DuckDB reads them as text (codes, not
        quantities), and so do we."""
        numeric = [f.name for f in table.schema if f.name not in skip and
                   (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))]
        if not numeric or not _may_have_zero_padding(data, self._delimiter + self._quote):
            return set()
        text = self._parse(line, data, {n: pa.string() for n in numeric}, names=names,
                           include=numeric)
        return {n for n in numeric if pc.any(pc.match_substring_regex(
            text.column(n), r"^[ \t]*0\d")).as_py()}

    def _sniff_formats(self, table: pa.Table, skip: set[str]
                       ) -> dict[str, tuple[pa.DataType, DateFormat]]:
        """Columns of ``table`` read as text that are dates or timestamps in a format pyarrow
        does not know: the user's formats, else DuckDB's templates. As in DuckDB, a file
        has one date and one timestamp format: the first column that fixes one (ISO 8601
        too, which pyarrow reads) leaves the later columns that one to try."""
        out: dict[str, tuple[pa.DataType, DateFormat]] = {}
        user = {"date": self._opts.date_format, "timestamp": self._opts.timestamp_format}
        fixed: dict[str, DateFormat | None] = {}
        targets = {"date": pa.date32(), "timestamp": pa.timestamp("us")}
        for f in table.schema:
            if f.name in skip:
                continue
            if pa.types.is_date(f.type):
                date_format = DateFormat.compile(user["date"]) if user["date"] is not None \
                    else fixed.get("date")
                if date_format is not None and date_format.parse(
                        table.column(f.name), pa.date32())[1] is not None:
                    # ISO dates after another date format was fixed: DuckDB's DATE (that
                    # format) fails and its TIMESTAMP reads them, as midnights
                    out[f.name] = (pa.timestamp("us"), _ISO_DATE)
                fixed.setdefault("date", None)
            elif pa.types.is_timestamp(f.type):
                fixed.setdefault("timestamp", None)
            elif pa.types.is_time(f.type):  # pyarrow's time32[s] (HH:MM[:SS]): DuckDB's TIME
                out[f.name] = (pa.time64("us"), _TIME_TEXT)
            if not _is_text(f.type):
                continue
            values = table.column(f.name)
            if not pa.types.is_string(values.type):
                continue  # binary: invalid UTF-8, reported later
            first = _first_value(values)
            if first is None:
                continue
            for kind in ("date", "timestamp"):
                if user[kind] is not None:
                    candidates = [DateFormat.compile(user[kind])]
                elif kind in fixed:
                    candidates = [fixed[kind]] if fixed[kind] is not None else []
                else:
                    candidates = sniff_candidates(first, kind)
                if not candidates:  # (no pyarrow compute call unless needed: the first
                    continue        # one costs ~45 MB of resident memory)
                fmt = _first_fitting(candidates, pc.drop_null(values), targets[kind])
                if fmt is not None:
                    out[f.name] = (targets[kind], fmt)
                    if user[kind] is None:
                        fixed[kind] = fmt
                    break
            if f.name not in out and ":" in first and _TIME_TEXT.fits(values):
                out[f.name] = (pa.time64("us"), _TIME_TEXT)  # DuckDB's TIME
        return out

    def _override_format(self, values: pa.ChunkedArray, target: pa.DataType
                         ) -> DateFormat | None:
        """The format to read a column the schema makes a date or timestamp: the user's, or
        none when pyarrow reads the sample (ISO 8601), else the first of DuckDB's templates
        that reads it all (none fitting: pyarrow reports the first bad value)."""
        user = self._opts.date_format if pa.types.is_date(target) else \
            self._opts.timestamp_format
        if user is not None:
            return DateFormat.compile(user)
        values = pc.drop_null(values)
        try:
            values.cast(target)
            return None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        if len(values) == 0:
            return None
        kind = "date" if pa.types.is_date(target) else "timestamp"
        return _first_fitting(sniff_candidates(values[0].as_py(), kind), values, target)

    def _convert(self, table: pa.Table, line: int, data) -> pa.Table:
        """Read the columns that have a format (parsed as text by pyarrow)."""
        for name, (target, fmt) in self._formats.items():
            i = table.schema.get_field_index(name)
            values, bad = fmt.parse(table.column(i), target)
            if bad is not None:
                text = table.column(i)[bad].as_py()
                raise IngestError(f"cannot parse {_short(text)!r} as {target} with format "
                                  f"{fmt.text!r}{self._hint(name)}", file=self.name,
                                  line=self._record_line(line, data, bad + 1), column=name)
            table = table.set_column(i, pa.field(name, target), values)
        return table

    def _check_wide_integers(self, name: str, values: pa.ChunkedArray, line: int,
                             data) -> None:
        """pyarrow reads a column of integers that do not all fit in int64 as float64,
        rounding them. DuckDB reads such a column as HUGEINT; mapdb has no 128-bit integers,
        so it refuses, naming the first such value (a column with fractions or exponents is
        a float column and reads as one)."""
        if not any(len(c) and (np.abs(np.frombuffer(c.buffers()[1], np.float64, len(c),
                                                     c.offset * 8)) >= 2.0 ** 63).any()
                   for c in values.chunks):
            return  # (numpy on the buffers: see _sniff_formats about pyarrow compute)
        big = pc.greater_equal(pc.abs(values), 2.0 ** 63)
        text = self._parse(line, data, {name: pa.string()}, include=[name]).column(0)
        present = pc.drop_null(text)
        if not pc.all(pc.match_substring_regex(present, r"^\s*[+-]?\d+\s*$")).as_py():
            return
        ints = [(i, int(text[i].as_py())) for i in np.flatnonzero(
            big.to_numpy(zero_copy_only=False))]
        row, value = next((i, v) for i, v in ints if not -(1 << 63) <= v < 1 << 63)
        unsigned = (pc.min(values).as_py() >= 0 and all(v < 1 << 64 for _, v in ints))
        suggest = f"--schema {name}=float64 (approximate) or --schema {name}=string"
        if unsigned:
            reason = (f"integer {value} does not fit in int64; read the column with "
                      f"--schema {name}=uint64, {suggest}")
        else:
            reason = (f"integer {value} is wider than 64 bits (mapdb has no 128-bit "
                      f"integers); read the column with {suggest}")
        raise IngestError(reason, file=self.name,
                          line=self._record_line(line, data, int(row) + 1), column=name)

    # -- chunking -------------------------------------------------------------------------------
    def _iter_chunks(self, head: bytes = b"") -> Iterator[tuple[int, bytearray]]:
        """(physical line of the first byte, bytes) of chunks made of whole records;
        ``head``: the bytes already read (to sniff the dialect).

        Each chunk is a fresh bytearray read into directly and handed to pyarrow without a
        copy; only the incomplete record at its end is copied, to start the next chunk.
        """
        line, rest = 1, head
        eol: bytes | None = None
        # the first chunk is a block, the head included (the sample types are inferred on)
        room = max(self._block - len(head), 0) if head else self._block
        while True:
            buf = bytearray(len(rest) + room)
            buf[: len(rest)] = rest
            n = read_into(self._stream, memoryview(buf)[len(rest) :], self.name, line) \
                if room else 0
            self._bytes_read = self._raw.tell()
            if n == 0 and room:
                del buf
                if rest.strip(b"\r\n"):
                    eol = eol or (b"\r" if b"\n" not in rest and b"\r" in rest else b"\n")
                    if not rest.endswith((b"\n", b"\r")):
                        rest += eol  # pyarrow rejects a header-only file without one
                    if csv_cut(rest, eol, self._delimiter, self._quote) != len(rest):
                        # pyarrow would close the quote at the end of the file and return
                        # the rest of the file as one value.
                        raise IngestError(
                            "unterminated quoted field (it runs to the end of the file)",
                            file=self.name, line=line + _leading_blank_lines(rest))
                    yield line, bytearray(rest)
                return
            room = self._block
            del buf[len(rest) + n :]
            if eol is None:
                eol = b"\r" if b"\n" not in buf and b"\r" in buf else b"\n"
            cut = csv_cut(buf, eol, self._delimiter, self._quote)
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
    def _parse(self, line: int, data, column_types: Mapping[str, pa.DataType], *,
               names: list[str] | None = None, include: list[str] | None = None,
               raw: bool = False, skip: int = 0) -> pa.Table:
        """Parse whole records (no header: the names are ours); pyarrow's errors become
        IngestErrors with the line (``raw``: left as they are)."""
        if names is None:
            names = self._names
            if self._trailing and not skip:  # (the header record has no trailing field)
                names, include = [*names, _TRAILING], include or self._names
        read = pacsv.ReadOptions(block_size=len(data) + 1, use_threads=False, skip_rows=skip,
                                 column_names=names)
        quote = self._quote.decode() or False
        parse = pacsv.ParseOptions(delimiter=self._delimiter.decode(), quote_char=quote,
                                   double_quote=bool(quote) and self._escape == quote,
                                   escape_char="\\" if quote and self._escape == "\\" else False,
                                   newlines_in_values=True,
                                   ignore_empty_lines=not self._blank_rows)
        digits = ["1"] if self._bool_digits else []
        convert = pacsv.ConvertOptions(
            column_types=dict(column_types), null_values=self._null_values,
            true_values=_TRUE + digits, false_values=_FALSE + [d.replace("1", "0")
                                                               for d in digits],
            strings_can_be_null=True, quoted_strings_can_be_null=False, check_utf8=True,
            include_columns=include)
        try:
            return pacsv.read_csv(pa.BufferReader(pa.py_buffer(data)), read_options=read,
                                  parse_options=parse, convert_options=convert)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            if raw:
                raise
            raise self._translate(exc, line, data) from exc

    def _batches(self) -> Iterator[pa.RecordBatch]:
        first, self._first = self._first, None
        if first is not None:
            for batch in first.to_batches():
                yield from self._split(batch)
            first = None  # free the sample before reading on
        for line, data in self._chunks:
            if not (data if self._blank_rows else _NOT_EOL.search(data)):
                continue  # only blank lines: pyarrow would call it an empty file
            table = self._convert(self._parse(line, data, self._read_types), line, data)
            del data
            for batch in table.to_batches():
                yield from self._split(batch)
        self._bytes_read = self.total_bytes or 0

    def _release(self) -> None:
        self._first = None
        self._stream.close()
        self._raw.close()

    # -- errors ---------------------------------------------------------------------------------
    def _translate(self, exc: BaseException, first_line: int, data: bytes) -> IngestError:
        """pyarrow's message -> IngestError with the line. pyarrow's "Row #n" counts the
        records of the parsed chunk from 1 (the header included when the chunk has it)."""
        msg = str(exc)
        m = _CONVERSION.match(msg)
        if m:
            idx, row, typ, detail = int(m.group(1)), m.group(2), m.group(3), m.group(4)
            names = self._names or _header_names(data, self._delimiter, self._quote)
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
            where = "the header" if self._header else "the first row"
            reason = (f"expected {expected} fields (as in {where}), got {got}: "
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
        records = iter_records(io.BytesIO(data), self._delimiter, self._quote,
                               blank=self._blank_rows)
        for i, (line, _) in enumerate(records, 1):
            if i == record_no:
                return first_line + line - 1
        return None

    def _find_line(self, first_line: int, data: bytes,
                   bad: Callable[[list[bytes]], bool]) -> int | None:
        """Fallback when pyarrow's message has no row: the first record of the chunk whose
        fields satisfy ``bad``."""
        for line, lines in iter_records(io.BytesIO(data), self._delimiter, self._quote,
                                        blank=self._blank_rows):
            if bad(split_fields(lines, self._delimiter, self._quote)):
                return first_line + line - 1
        return None


def _header_names(data: bytes, delimiter: bytes, quote: bytes) -> list[str]:
    for _, lines in iter_records(io.BytesIO(data), delimiter, quote):
        head = split_fields(lines, delimiter, quote)
        if head[0].startswith(b"\xef\xbb\xbf"):
            head[0] = head[0][3:]  # UTF-8 byte-order mark, skipped by pyarrow too
        return [f.decode("utf-8", "replace") for f in head]
    return []


def _sniff_text(head: bytes, at_eof: bool) -> str:
    """The whole lines of ``head`` as text for the sniffer (Latin-1: one character per
    byte, so delimiters and quotes are where they are whatever the encoding)."""
    if not at_eof:
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        head = head[: cut + 1] if cut >= 0 else head
    return head.decode("latin-1")


def _first_fitting(candidates: list[DateFormat], values: pa.Array | pa.ChunkedArray,
                   target: pa.DataType) -> DateFormat | None:
    """The first format that reads every (non-null) value; the first thousand first."""
    for fmt in candidates:
        if fmt.parse(values[:1000], target)[1] is None and \
                (len(values) <= 1000 or fmt.parse(values, target)[1] is None):
            return fmt
    return None


def _may_have_zero_padding(data, before: bytes) -> bool:
    """Whether a field of ``data`` may start with 0 and a digit (numpy: a regex over 16 MiB
    took 0.2-0.7 s)."""
    a = np.frombuffer(data, np.uint8)
    if len(a) < 2:
        return False
    if a[0] == 48 and 48 <= a[1] <= 57:
        return True
    z = np.flatnonzero(a[1:-1] == 48) + 1
    nxt, prev = a[z + 1], a[z - 1]
    starts = np.frombuffer(b"\r\n \t" + before, np.uint8)
    return bool(((nxt >= 48) & (nxt <= 57) & np.isin(prev, starts)).any())


def _whole_micros(values: pa.ChunkedArray) -> bool:
    """Whether no timestamp of ``values`` (nanoseconds) has a fraction of a microsecond."""
    return not any(len(c) and (np.frombuffer(c.buffers()[1], np.int64, len(c), c.offset * 8)
                               % 1000).any() for c in values.chunks)


def _first_value(values: pa.ChunkedArray) -> str | None:
    """The first non-null value (scalar access: no pyarrow compute call)."""
    if values.null_count == len(values):
        return None
    for chunk in values.chunks:
        for i in range(len(chunk)):
            v = chunk[i]
            if v.is_valid:
                return v.as_py()
    return None


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)


def _is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


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
