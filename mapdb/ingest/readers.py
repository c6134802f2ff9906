"""Readers: a :class:`Source` or an in-memory object in, a :class:`BatchStream` out.

>>> import tempfile, pathlib
>>> from mapdb.ingest import expand_sources
>>> path = pathlib.Path(tempfile.mkdtemp()) / "flights.csv"
>>> _ = path.write_text("carrier,dep_time,delay\\nAA,2024-01-02 10:30:00,5\\nUA,,-3.5\\n")
>>> stream = open_source(expand_sources([path], None)[0])
>>> stream.schema
carrier: string
dep_time: timestamp[us]
delay: double
>>> for row in stream.read_all().to_pylist():
...     print(row)
{'carrier': 'AA', 'dep_time': datetime.datetime(2024, 1, 2, 10, 30), 'delay': 5.0}
{'carrier': 'UA', 'dep_time': None, 'delay': -3.5}

Errors say where:

>>> _ = path.write_text("carrier,delay\\nAA,5\\nUA,5 min\\n")
>>> try:
...     open_source(Source(path, "csv"), schema_overrides={"delay": "int64"}).read_all()
... except IngestError as err:
...     print(err.line, err.column, err.reason, sep=" | ")
3 | delay | cannot parse '5 min' as int64 (type given by the schema override)
>>> import shutil; shutil.rmtree(path.parent)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ._csv import PANDAS_NULL_VALUES, CsvStream
from ._ndjson import NdjsonStream
from ._sniff import CsvOptions
from ._stream import (
    MAX_COLUMNS,
    BatchStream,
    apply_overrides,
    cast_batch,
    check_width,
    normalize_overrides,
    parse_type,
)
from .errors import IngestError
from .sources import Source

__all__ = ["BatchStream", "CsvOptions", "open_source", "parse_type", "to_batches"]

DEFAULT_BATCH_ROWS = 1 << 20
DEFAULT_BLOCK_SIZE = 16 << 20  # CSV/NDJSON read unit and type-inference sample
DEFAULT_MAX_FIELD_BYTES = 64 << 20

Overrides = Mapping[str, pa.DataType | str]
_IPC_MAGIC = b"ARROW1"
_PANDAS_COLUMN = re.compile(r"Conversion failed for column (.+?) with type")


def open_source(source: Source, *, schema_overrides: Overrides | None = None,
                batch_rows: int = DEFAULT_BATCH_ROWS, block_size: int = DEFAULT_BLOCK_SIZE,
                max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
                null_values: Sequence[str] = PANDAS_NULL_VALUES,
                csv: CsvOptions | None = None, max_columns: int = MAX_COLUMNS) -> BatchStream:
    """Open one source as a stream of record batches of at most ``batch_rows`` rows.

    ``schema_overrides`` maps column names to types (``pa.DataType`` or a name such as
    ``"int64"``, see :func:`parse_type`): for CSV they replace inference, for the other
    formats the data is cast (safely: overflow or truncation is an error). An override for
    a column that does not exist is an :class:`IngestError` (NDJSON excepted: there it
    declares a field, since JSON objects need not show every field).

    ``block_size`` is the unit of reading for CSV and NDJSON and the sample from which their
    types are inferred; memory use is a small multiple of it (about 8x for CSV).
    ``max_field_bytes`` bounds a single row (CSV) or line (NDJSON). ``null_values`` are the
    unquoted CSV spellings of NULL: by default the empty field and pandas' tokens (``NA``,
    ``NULL``, ``NaN``, ...); ``[""]`` gives DuckDB's rule.

    ``csv``: what the user said about a CSV file (:class:`CsvOptions`: delimiter, quote,
    header, null, date and timestamp formats); the rest is sniffed as DuckDB does. Given for
    another format, it is an IngestError. A source with more than ``max_columns`` columns
    is refused before its data is read.
    """
    name = str(source.path)
    if csv is not None and csv.given() and source.format != "csv":
        raise IngestError(f"{', '.join(csv.given())}: CSV options, and this is a "
                          f"{source.format} source", file=name)
    if source.format == "csv":
        return CsvStream(source, schema_overrides=schema_overrides, batch_rows=batch_rows,
                         block_size=block_size, max_field_bytes=max_field_bytes,
                         null_values=null_values, options=csv, max_columns=max_columns)
    if source.format == "ndjson":
        stream = NdjsonStream(source, schema_overrides=schema_overrides,
                              batch_rows=batch_rows, block_size=block_size,
                              max_field_bytes=max_field_bytes)
        try:
            check_width(len(stream.schema), name, limit=max_columns)
        except IngestError:
            stream.close()
            raise
        return stream
    if not os.path.exists(source.path):
        raise IngestError("no such file or directory", file=name)
    if source.format == "parquet":
        return ParquetStream(source, schema_overrides=schema_overrides, batch_rows=batch_rows,
                             max_columns=max_columns)
    if source.format == "arrow":
        return ArrowStream(source, schema_overrides=schema_overrides, batch_rows=batch_rows,
                           max_columns=max_columns)
    raise ValueError(f"unknown format {source.format!r}")  # Source validates; defensive


class _CastingStream(BatchStream):
    """Shared by the binary formats: batches come typed and overrides are casts."""

    def _init_schema(self, file_schema: pa.Schema, overrides: Overrides | None,
                     max_columns: int = MAX_COLUMNS) -> None:
        check_width(len(file_schema), self.name, limit=max_columns)
        for i in range(len(file_schema)):
            try:
                file_schema.field(i).name  # noqa: B018  (pyarrow decodes it here)
            except UnicodeDecodeError:
                # a damaged schema: pyarrow would raise the UnicodeDecodeError later,
                # from whatever first asks for the names
                raise IngestError(f"the name of column #{i + 1} is not valid UTF-8 (the "
                                  f"file is damaged)", file=self.name) from None
        self._file_schema = file_schema
        self.schema = apply_overrides(file_schema, normalize_overrides(overrides, self.name),
                                      self.name)

    def _conform(self, batch: pa.RecordBatch, row_offset: int) -> Iterator[pa.RecordBatch]:
        return self._split(cast_batch(batch, self.schema, self.name, row_offset))

    def _read_all(self, next_batch, damaged: str, progress) -> Iterator[pa.RecordBatch]:
        """Read batches with ``next_batch()`` until StopIteration; a reader error becomes an
        IngestError "<damaged> after row N"; ``progress(rows)`` gives bytes read so far."""
        done = 0
        while True:
            try:
                batch = next_batch()
            except StopIteration:
                self._bytes_read = self.total_bytes or 0
                return
            except (pa.ArrowException, OSError) as exc:
                raise IngestError(f"{damaged} after row {done} ({_first_line(exc)})",
                                  file=self.name) from None
            yield from self._conform(batch, done)
            done += batch.num_rows
            self._bytes_read = progress(done)


class ParquetStream(_CastingStream):
    """Parquet through ``ParquetFile.iter_batches``: one row group's pages at a time."""

    def __init__(self, source: Source, *, schema_overrides: Overrides | None,
                 batch_rows: int, max_columns: int = MAX_COLUMNS) -> None:
        name = str(source.path)
        super().__init__(pa.schema([]), name=name, total_bytes=os.path.getsize(source.path),
                         batch_rows=batch_rows)
        self._file: pq.ParquetFile | None = None
        try:
            # pre_buffer=False + buffer_size: read column chunks through a small buffer
            # instead of loading whole row groups up front.
            self._file = pq.ParquetFile(name, pre_buffer=False, buffer_size=4 << 20)
            # DuckDB reads a duration (pyarrow writes an int64 and the Arrow type in the
            # metadata) as the BIGINT stored: read it so (cast_batch converts)
            file_schema = self._file.schema_arrow
            file_schema = pa.schema([f.with_type(pa.int64()) if pa.types.is_duration(f.type)
                                     else f for f in file_schema], file_schema.metadata)
            self._num_rows = self._file.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            self.close()
            raise IngestError(f"not a readable Parquet file ({_first_line(exc)})",
                              file=name) from None
        try:
            self._init_schema(file_schema, schema_overrides, max_columns)
        except BaseException:
            self.close()
            raise

    def _batches(self) -> Iterator[pa.RecordBatch]:
        it = self._file.iter_batches(batch_size=self.batch_rows, use_threads=True)
        total = self.total_bytes or 0
        return self._read_all(lambda: next(it), "corrupt Parquet data",
                              lambda rows: total * rows // self._num_rows if self._num_rows
                              else 0)

    def _release(self) -> None:
        if self._file is not None:
            self._file.close()


class ArrowStream(_CastingStream):
    """Arrow IPC, file format (random access, memory-mapped, zero-copy) or stream format."""

    def __init__(self, source: Source, *, schema_overrides: Overrides | None,
                 batch_rows: int, max_columns: int = MAX_COLUMNS) -> None:
        name = str(source.path)
        size = os.path.getsize(source.path)
        super().__init__(pa.schema([]), name=name, total_bytes=size, batch_rows=batch_rows)
        self._map: pa.MemoryMappedFile | None = None
        self._file_reader: pa.ipc.RecordBatchFileReader | None = None
        self._stream_reader: pa.ipc.RecordBatchStreamReader | None = None
        try:
            if size == 0:
                raise IngestError("empty file, not an Arrow IPC file or stream", file=name)
            self._map = pa.memory_map(name)
            self._init_schema(self._open_ipc(name), schema_overrides, max_columns)
        except BaseException:
            self.close()
            raise

    def _open_ipc(self, name: str) -> pa.Schema:
        """The file format first (it has a footer to check), then the stream format."""
        assert self._map is not None
        try:
            self._file_reader = pa.ipc.open_file(self._map)
        except (pa.ArrowException, OSError) as file_exc:
            self._map.seek(0)
            try:
                self._stream_reader = pa.ipc.open_stream(self._map)
            except (pa.ArrowException, OSError) as stream_exc:
                kind = ("truncated or corrupt Arrow IPC file (no valid footer)"
                        if _starts_with(name, _IPC_MAGIC) else "not an Arrow IPC file or stream")
                raise IngestError(f"{kind} (as file: {_first_line(file_exc)}; as stream: "
                                  f"{_first_line(stream_exc)})", file=name) from None
            return self._stream_reader.schema
        # pyarrow checks only the trailing magic; a damaged head would go unnoticed.
        if not _starts_with(name, _IPC_MAGIC):
            raise IngestError("bad magic: an Arrow IPC file must start with 'ARROW1' (the "
                              "file is damaged)", file=name)
        return self._file_reader.schema

    def _batches(self) -> Iterator[pa.RecordBatch]:
        done = 0
        if self._file_reader is not None:
            n = self._file_reader.num_record_batches
            for i in range(n):
                try:
                    batch = _validated(self._file_reader.get_batch(i))
                except (pa.ArrowException, OSError) as exc:
                    raise IngestError(f"corrupt record batch #{i} ({_first_line(exc)})",
                                      file=self.name) from None
                yield from self._conform(batch, done)
                done += batch.num_rows
                self._bytes_read = (self.total_bytes or 0) * (i + 1) // n
            return
        assert self._stream_reader is not None
        reader = self._stream_reader
        yield from self._read_all(lambda: _validated(reader.read_next_batch()),
                                  "truncated or corrupt Arrow IPC stream",
                                  lambda _: self._map.tell() if self._map is not None else 0)

    def _release(self) -> None:
        # Batches already handed out keep their part of the mapping alive (pyarrow
        # reference-counts the mapped region), so closing here is safe.
        self._file_reader = self._stream_reader = None
        if self._map is not None:
            self._map.close()


class _MemoryStream(_CastingStream):
    def __init__(self, schema: pa.Schema, batches: Iterator[pa.RecordBatch], *,
                 schema_overrides: Overrides | None, batch_rows: int,
                 total_bytes: int | None, closer=None) -> None:
        super().__init__(schema, name=None, total_bytes=total_bytes, batch_rows=batch_rows)
        self._source_batches = batches
        self._closer = closer
        self._init_schema(schema, schema_overrides)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        done = 0
        for batch in self._source_batches:
            yield from self._conform(batch, done)
            done += batch.num_rows
            self._bytes_read += batch.nbytes

    def _release(self) -> None:
        if self._closer is not None:
            self._closer()


def to_batches(obj: object, schema_overrides: Overrides | None = None, *,
               batch_rows: int = DEFAULT_BATCH_ROWS) -> BatchStream:
    """A :class:`BatchStream` over in-memory data.

    Accepts a pyarrow ``Table``, ``RecordBatch`` or ``RecordBatchReader``, a pandas
    ``DataFrame`` (index dropped), a polars ``DataFrame``, a ``dict`` of column name to numpy
    array or list, and any object implementing the Arrow PyCapsule interface
    (``__arrow_c_stream__``, or ``__arrow_c_array__`` for a struct array / record batch).
    Overrides are applied by safe casts. Anything else is a ``TypeError``.

    >>> import numpy as np
    >>> to_batches({"id": np.arange(3), "name": ["a", None, "c"]}).read_all().to_pydict()
    {'id': [0, 1, 2], 'name': ['a', None, 'c']}
    >>> to_batches(pa.table({"x": [1, 300]}), {"x": pa.int8()}).read_all()
    Traceback (most recent call last):
    ...
    mapdb.errors.IngestError: column 'x': row 1: cannot cast 300 from int64 to int8 (...)
    >>> to_batches(42)
    Traceback (most recent call last):
    ...
    TypeError: cannot ingest an object of type builtins.int; expected ...
    """
    kw = {"schema_overrides": schema_overrides, "batch_rows": batch_rows}
    if isinstance(obj, pa.Table):
        return _MemoryStream(obj.schema, iter(obj.to_batches()), total_bytes=obj.nbytes, **kw)
    if isinstance(obj, pa.RecordBatch):
        return _MemoryStream(obj.schema, iter([obj]), total_bytes=obj.nbytes, **kw)
    if isinstance(obj, pa.RecordBatchReader):
        return _MemoryStream(obj.schema, iter(obj), total_bytes=None, closer=obj.close, **kw)
    kind = _foreign_kind(obj)
    if kind == "pandas":
        try:
            table = pa.Table.from_pandas(obj, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            m = _PANDAS_COLUMN.search(str(exc))
            raise IngestError(f"cannot convert pandas DataFrame ({_first_line(exc)})",
                              column=m.group(1) if m else None) from None
        return to_batches(table, **kw)
    if kind == "polars":
        return to_batches(obj.to_arrow(), **kw)  # type: ignore[attr-defined]
    if isinstance(obj, dict):
        try:
            table = pa.table(obj)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise IngestError(f"cannot convert dict of columns ({_first_line(exc)})") from None
        return to_batches(table, **kw)
    if hasattr(obj, "__arrow_c_stream__"):
        return to_batches(pa.RecordBatchReader.from_stream(obj), **kw)
    if hasattr(obj, "__arrow_c_array__"):
        try:
            batch = pa.record_batch(obj)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise TypeError(f"{_type_name(obj)} exports an Arrow array that is not a record "
                            f"batch (a struct array): {_first_line(exc)}") from None
        return to_batches(batch, **kw)
    raise TypeError(
        f"cannot ingest an object of type {_type_name(obj)}; expected a pyarrow Table, "
        "RecordBatch or RecordBatchReader, a pandas or polars DataFrame, a dict of columns, "
        "or an object with __arrow_c_stream__ / __arrow_c_array__")


def _foreign_kind(obj: object) -> str | None:
    # Recognise pandas/polars without importing them (they are optional).
    for cls in type(obj).__mro__:
        root = cls.__module__.split(".")[0]
        if cls.__name__ == "DataFrame" and root in ("pandas", "polars"):
            return root
    return None


def _type_name(obj: object) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _validated(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` after a full validation (ArrowInvalid if it is damaged).

    pyarrow's IPC readers check the message framing but not the buffers: a damaged offsets
    buffer or length in a record batch reaches the compute kernels as is, and they read
    outside the buffers (a segmentation fault, found by the hostile-input tests). A full
    validation checks offsets, lengths, dictionary indices and UTF-8 before any kernel
    touches the batch. Parquet batches are built by its decoder (none crashed when fuzzed).
    """
    batch.validate(full=True)
    return batch


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _starts_with(path: str, magic: bytes) -> bool:
    with open(path, "rb") as f:
        return f.read(len(magic)) == magic
