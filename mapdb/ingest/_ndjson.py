"""Newline-delimited JSON, read in chunks of whole lines.

``pyarrow.json.read_json`` reads a whole file into memory, so we feed it chunks of about
``block_size`` bytes cut at line ends, and remember the line number where each chunk starts.
The schema is inferred from the first chunk (with the same adjustments as for CSV: a
timestamp with second resolution becomes microseconds, a field that is null throughout the
sample is text) and every chunk, the first included, is then parsed against it with
``unexpected_field_behavior="error"``, so a type change or a new field later in the file is
an error at its line instead of a silently different schema.

pyarrow reports some errors with a row number within the chunk (blank lines not counted);
for the others (a value that does not convert, an unexpected field, invalid UTF-8) we
bisect the chunk by lines to find the first failing one, and then the failing field.

Because JSON objects are sparse, a schema override may also *declare* a field that the
sample never showed (``--schema extra=int64``), which is how the "new field" error is fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from ._text import TextStream, read_block
from .errors import IngestError
from .sources import Source

_ROW = re.compile(r"\s+in row (\d+)\s*$")
_COLUMN = re.compile(r"Column\(([^)]*)\)")
_CONVERT = re.compile(r"Failed to convert JSON to (.+?), couldn't parse:(.*)", re.S)
_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, UnicodeDecodeError)
# Deepest nesting of objects and arrays read. pyarrow's JSON parser recurses per level: a
# line of 10,000 nested objects overflowed the stack of its parsing thread (a segmentation
# fault, found by the hostile-input tests), and a thousand levels overflowed Python's
# recursion limit in the type adjustment below. mapdb stores no nested values anyway.
MAX_DEPTH = 100
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
# A line whose value is null. pyarrow's JSON reader crashes the process (segmentation
# fault, pyarrow 26) when the first value of what it parses is null, and chunks may start
# at any line; so a null line is refused wherever it is (found by the hostile inputs).
_NULL_FIRST = re.compile(rb"[ \t\r]*null")
_NULL_LINE = re.compile(rb"\n[ \t\r]*null")


class NdjsonStream(TextStream):
    """See :func:`mapdb.ingest.open_source`."""

    def __init__(self, source: Source, *,
                 schema_overrides: Mapping[str, pa.DataType | str] | None,
                 batch_rows: int, block_size: int, max_field_bytes: int) -> None:
        super().__init__(source, batch_rows)
        self._block = block_size
        self._max_line = max_field_bytes
        self._first: tuple[int, bytes] | None = None
        self._first_table: pa.Table | None = None
        self._sample_lines = 0
        self._start(source, schema_overrides)

    def _setup(self, overrides: dict[str, pa.DataType]) -> None:
        self._overridden = set(overrides)
        first = next(self._chunks, None)
        if first is None or not first[1].strip():
            raise IngestError("empty file, no JSON objects", file=self.name)
        self._first = first
        head = first[1].lstrip()
        if head.startswith(b"["):
            line = first[0] + first[1][: len(first[1]) - len(head)].count(b"\n")
            raise IngestError("a JSON array; expected one JSON object per line (NDJSON)",
                              file=self.name, line=line)
        self._sample_lines = first[1].count(b"\n") + (not first[1].endswith(b"\n"))
        table = self._parse(first[0], first[1], None)
        inferred = table.schema
        schema = _adjust_inferred(inferred)
        for col, typ in overrides.items():
            i = schema.get_field_index(col)
            # Declaring a field the sample did not show is allowed (see module docstring).
            schema = schema.append(pa.field(col, typ)) if i < 0 else \
                schema.set(i, schema.field(i).with_type(typ))
        self.schema = schema
        if schema.equals(inferred):
            self._first_table = table  # no need to parse the sample again

    @property
    def bytes_read(self) -> int:
        return self._bytes_read

    def _iter_chunks(self) -> Iterator[tuple[int, bytes]]:
        """(first line number, bytes) of consecutive chunks made of whole lines."""
        line, buf = 1, b""
        while True:
            data = read_block(self._stream, self._block, self.name, line)
            self._bytes_read = self._raw.tell()
            if not data:
                if buf:
                    yield line, buf
                return
            buf += data
            cut = buf.rfind(b"\n")
            if cut < 0:
                if len(buf) > self._max_line:
                    raise IngestError(
                        f"line longer than max_field_bytes={self._max_line} bytes",
                        file=self.name, line=line)
                continue
            chunk, buf = buf[: cut + 1], buf[cut + 1 :]
            yield line, chunk
            line += chunk.count(b"\n")

    def _batches(self) -> Iterator[pa.RecordBatch]:
        first, self._first = self._first, None
        table, self._first_table = self._first_table, None
        if table is not None:
            first = None
            for batch in table.to_batches():
                yield from self._split(batch)
            table = None
        chunks = self._chunks if first is None else _chain(first, self._chunks)
        for line, data in chunks:
            table = self._parse(line, data, self.schema)
            for batch in table.to_batches():
                yield from self._split(batch)

    def _release(self) -> None:
        self._first = self._first_table = None
        self._stream.close()
        self._raw.close()

    # -- parsing and errors -------------------------------------------------------------------
    def _parse(self, line: int, data: bytes, schema: pa.Schema | None) -> pa.Table:
        deep = _too_deep(data)
        if deep is not None:
            raise IngestError(f"JSON nested deeper than {MAX_DEPTH} levels", file=self.name,
                              line=line + deep)
        null = _null_line(data)
        if null is not None:
            raise IngestError("a JSON null where an object should be; expected one JSON "
                              "object per line (NDJSON)", file=self.name, line=line + null)
        try:
            table = _read(data, schema)
        except _ERRORS as exc:
            raise self._translate(exc, line, data, schema) from None
        for i in range(len(table.schema)):
            try:
                table.schema.field(i).name  # noqa: B018  (pyarrow decodes it here)
            except UnicodeDecodeError:  # a key that is not UTF-8 (values are checked below)
                raise IngestError("invalid UTF-8 in a field name; convert the file to UTF-8",
                                  file=self.name, line=line + _bad_utf8_line(data)) from None
        # pyarrow.json does not check that strings are UTF-8; a full validation does.
        try:
            table.validate(full=True)
        except pa.ArrowInvalid:
            row, column = _first_invalid_row(table)
            offset = _nth_record_offset(data, row)
            raise IngestError("invalid UTF-8 in a text value; convert the file to UTF-8",
                              file=self.name, line=None if offset is None else line + offset,
                              column=column) from None
        return table

    def _translate(self, exc: BaseException, first_line: int, data: bytes,
                   schema: pa.Schema | None) -> IngestError:
        msg = "invalid UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc).strip()
        row = _ROW.search(msg)
        column = None
        if row:
            offset = _nth_record_offset(data, int(row.group(1)))
            cm = _COLUMN.search(msg)
            if cm and cm.group(1).strip("/"):
                column = cm.group(1).strip("/").replace("/", ".")
            text = _ROW.sub("", msg)
        else:
            offset, column = _bisect(data, schema)
            text = msg
        line = None if offset is None else first_line + offset
        text = text.removeprefix("JSON parse error: ")
        cm = _CONVERT.match(text)
        if cm:
            text = f"cannot parse {cm.group(2)[:80]!r} as {cm.group(1)}"
        elif text.startswith("Column(") and column is not None:
            text = "value " + _COLUMN.sub("", text).strip()
        elif text == "unexpected field":
            sample = f"lines 1-{self._sample_lines}"
            return IngestError(
                f"field not in the schema inferred from {sample}; declare it with "
                f"--schema {column or 'FIELD'}=TYPE", file=self.name, line=line, column=column)
        elif column is None:
            text = f"invalid JSON: {text}"
        if schema is not None and column is not None and column.split(".")[0] in schema.names:
            top = column.split(".")[0]
            text += (" (type given by the schema override)" if top in self._overridden else
                     f" (type {schema.field(top).type} inferred from lines "
                     f"1-{self._sample_lines}; override with --schema {top}=TYPE)")
        return IngestError(text, file=self.name, line=line, column=column)


def _first_invalid_row(table: pa.Table) -> tuple[int, str | None]:
    """(row, column) of the first row that fails full validation; validation of a slice
    is local to it, so bisect."""
    lo, hi = 0, table.num_rows  # table[lo:hi] holds an invalid row

    def bad(start: int, stop: int) -> bool:
        try:
            table.slice(start, stop - start).validate(full=True)
        except pa.ArrowInvalid:
            return True
        return False

    while hi - lo > 1:
        mid = (lo + hi) // 2
        if bad(lo, mid):
            hi = mid
        else:
            lo = mid
    for name in table.column_names:
        try:
            table.column(name).slice(lo, 1).validate(full=True)
        except pa.ArrowInvalid:
            return lo, name
    return lo, None


def _read(data: bytes, schema: pa.Schema | None) -> pa.Table:
    parse = pajson.ParseOptions(
        explicit_schema=schema,
        unexpected_field_behavior="infer" if schema is None else "error",
        newlines_in_values=False)
    # One block per chunk: pyarrow's row numbers in errors are relative to the block.
    read = pajson.ReadOptions(use_threads=True, block_size=len(data) + 1)
    return pajson.read_json(pa.BufferReader(data), read_options=read, parse_options=parse)


def _null_line(data: bytes) -> int | None:
    """The 0-based line of ``data`` that starts with null (see _NULL_LINE), or None."""
    if _NULL_FIRST.match(data):
        return 0
    m = _NULL_LINE.search(data)
    return None if m is None else data.count(b"\n", 0, m.start()) + 1


def _bad_utf8_line(data: bytes) -> int:
    """The 0-based line of the first invalid UTF-8 in ``data`` (0 if there is none)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return data.count(b"\n", 0, e.start)
    return 0


def _too_deep(data: bytes) -> int | None:
    """The 0-based line of ``data`` where objects/arrays nest deeper than MAX_DEPTH, or
    None. Fast path: a line with at most MAX_DEPTH opening brackets (counted with those in
    strings) cannot; only lines with more are scanned exactly, strings removed."""
    if data.count(b"{") + data.count(b"[") <= MAX_DEPTH:
        return None
    a = np.frombuffer(data, np.uint8)
    opens = np.flatnonzero((a == 0x7B) | (a == 0x5B))
    ends = np.flatnonzero(a == 0x0A)
    per_line = np.bincount(np.searchsorted(ends, opens), minlength=len(ends) + 1)
    starts = np.concatenate([[0], ends + 1])
    for i in np.flatnonzero(per_line > MAX_DEPTH).tolist():
        stop = int(ends[i]) if i < len(ends) else len(data)
        text = _JSON_STRING.sub(b'""', data[int(starts[i]):stop])
        b = np.frombuffer(text, np.uint8)
        step = ((b == 0x7B) | (b == 0x5B)).astype(np.int64) - ((b == 0x7D) | (b == 0x5D))
        if len(step) and int(np.cumsum(step).max()) > MAX_DEPTH:
            return i
    return None


def _chain(first, rest):
    yield first
    yield from rest


def _is_blank(line: bytes) -> bool:
    return not line.strip()


def _nth_record_offset(data: bytes, n: int) -> int | None:
    """0-based line offset in ``data`` of the n-th (0-based) non-blank line."""
    seen = -1
    for i, line in enumerate(data.split(b"\n")):
        if not _is_blank(line):
            seen += 1
            if seen == n:
                return i
    return None


def _fails(lines: list[bytes], schema: pa.Schema | None) -> bool:
    try:
        _read(b"\n".join(lines) + b"\n", schema)
    except _ERRORS:
        return True
    return False


def _bisect(data: bytes, schema: pa.Schema | None) -> tuple[int | None, str | None]:
    """(line offset, field) of the first line of ``data`` that fails to parse."""
    lines = data.split(b"\n")
    if not _fails(lines, schema):
        return None, None
    lo, hi = 0, len(lines)  # lines[:hi] fails, lines[:lo] parses
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fails(lines[:mid], schema):
            hi = mid
        else:
            lo = mid
    bad = lines[hi - 1]
    return hi - 1, _failing_field(bad, schema)


def _failing_field(line: bytes, schema: pa.Schema | None) -> str | None:
    if schema is None:
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    for key in obj:
        if key not in schema.names:
            return key
    for field in schema:
        one = pa.schema([field])
        try:
            pajson.read_json(pa.BufferReader(line + b"\n"),
                             parse_options=pajson.ParseOptions(
                                 explicit_schema=one, unexpected_field_behavior="ignore"))
        except _ERRORS:
            return field.name
    return None


def _adjust_inferred(inferred: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_type(_adjust_type(f.type)) for f in inferred],
                     metadata=inferred.metadata)


def _adjust_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_timestamp(t) and t.unit == "s":
        return pa.timestamp("us", tz=t.tz)
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_adjust_type(t.field(i).type))
                          for i in range(t.num_fields)])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        item = t.value_field.with_type(_adjust_type(t.value_type))
        return pa.list_(item) if pa.types.is_list(t) else pa.large_list(item)
    return t
