"""BatchStream, the common face of every reader, and the schema-override helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pyarrow as pa

from .errors import IngestError

__all__ = ["MAX_COLUMNS", "BatchStream", "check_width", "parse_type"]

#: The most columns a source may have. Every column of a table is at least one file per
#: segment, and a writer keeps two or three of them open per column (data, validity,
#: offsets) until the commit: 8,192 numeric columns ingest in about 16 s on the 2-core test
#: VM, 10,000 run out of its 20,000 file descriptors (EMFILE), and a 100,000-column CSV
#: used to spend minutes before failing. 4,096 (MySQL's limit) leaves room for string
#: columns; a wider source is refused before any of it is parsed.
MAX_COLUMNS = 4096


def check_width(ncols: int, name: str | None, line: int | None = None,
                limit: int = MAX_COLUMNS) -> None:
    """IngestError when a source has more than ``limit`` columns.

    >>> check_width(100_000, "wide.csv", 1)
    Traceback (most recent call last):
    ...
    mapdb.errors.IngestError: wide.csv:1: 100000 columns; a table holds at most 4096 ...
    """
    if ncols > limit:
        raise IngestError(f"{ncols} columns; a table holds at most {limit} (a file per column: "
                          "split the source, or select the columns you need)",
                          file=name, line=line)


class BatchStream:
    """An iterator of :class:`pyarrow.RecordBatch` that all have ``schema``.

    ``schema`` is known as soon as the stream is open, before any data is read. Every
    batch has at most the ``batch_rows`` the stream was opened with. ``bytes_read`` and
    ``total_bytes`` drive a progress bar: they count bytes of the input file (compressed
    bytes for a compressed file) and ``total_bytes`` is ``None`` when unknown (an in-memory
    stream). ``rows_read`` counts rows handed out so far. ``close()`` releases the file; a
    stream is also a context manager and closes itself when exhausted or on error.

    >>> from mapdb.ingest import to_batches
    >>> s = to_batches({"x": [1, 2, 3]}, batch_rows=2)
    >>> s.schema
    x: int64
    >>> [b.num_rows for b in s], s.rows_read
    ([2, 1], 3)
    """

    def __init__(self, schema: pa.Schema, *, name: str | None, total_bytes: int | None,
                 batch_rows: int) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, got {batch_rows}")
        self.schema = schema
        self.name = name
        self.total_bytes = total_bytes
        self.batch_rows = batch_rows
        self.rows_read = 0
        self._bytes_read = 0
        self._gen: Iterator[pa.RecordBatch] | None = None
        self._closed = False
        self._exhausted = False

    # -- what subclasses provide ------------------------------------------------------------
    def _batches(self) -> Iterator[pa.RecordBatch]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:
        """Free files and threads; called once by close()."""

    @property
    def bytes_read(self) -> int:
        return self._bytes_read

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> pa.RecordBatch:
        if self._exhausted:
            raise StopIteration
        if self._closed:
            raise ValueError("I/O operation on a closed BatchStream")
        if self._gen is None:
            self._gen = self._batches()
        try:
            batch = next(self._gen)
        except StopIteration:
            self._exhausted = True
            self.close()
            raise
        except BaseException:
            self._exhausted = True  # a stream that failed does not resume
            self.close()
            raise
        self.rows_read += batch.num_rows
        return batch

    def read_all(self) -> pa.Table:
        """Read the remaining batches into one table (for small inputs and tests)."""
        return pa.Table.from_batches(list(self), schema=self.schema)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        gen, self._gen = self._gen, None
        if gen is not None:
            gen.close()  # type: ignore[attr-defined]
        self._release()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Release the file of a stream dropped without close(); a half-constructed object
        # (its __init__ raised) may lack attributes, hence the guards.
        if getattr(self, "_closed", True) is False:
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name or '(in memory)'}: "
                f"{len(self.schema)} columns, {self.rows_read} rows read>")

    # -- helpers for subclasses -------------------------------------------------------------
    def _split(self, batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        """Zero-copy slices of at most batch_rows rows, carrying the stream's schema."""
        if not batch.schema.equals(self.schema, check_metadata=True):
            # Same types but different field/schema metadata (e.g. a Parquet file's pandas
            # metadata): rewrap without copying, so every batch has exactly self.schema.
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        n = batch.num_rows
        if n <= self.batch_rows:
            yield batch
            return
        for start in range(0, n, self.batch_rows):
            yield batch.slice(start, self.batch_rows)


# -- schema overrides --------------------------------------------------------------------------

_TS_RE = re.compile(r"timestamp\[(s|ms|us|ns)(?:,\s*tz=([^\]]+))?\]")
_DEC_RE = re.compile(r"decimal(128|256)?\((\d+),\s*(-?\d+)\)")


def parse_type(text: str) -> pa.DataType:
    """Parse a type name as written in ``--schema col=TYPE``.

    Accepts pyarrow's aliases plus ``timestamp[unit, tz=Zone]`` and ``decimal(p, s)``:

    >>> parse_type("int64"), parse_type("float64"), parse_type("string"), parse_type("date32")
    (DataType(int64), DataType(double), DataType(string), DataType(date32[day]))
    >>> parse_type("timestamp[us, tz=Europe/Paris]"), parse_type("decimal(10, 2)")
    (TimestampType(timestamp[us, tz=Europe/Paris]), Decimal128Type(decimal128(10, 2)))
    >>> parse_type("int65")
    Traceback (most recent call last):
    ...
    ValueError: unknown type 'int65'
    """
    t = text.strip()
    m = _TS_RE.fullmatch(t)
    if m:
        return pa.timestamp(m.group(1), tz=m.group(2))
    m = _DEC_RE.fullmatch(t)
    if m:
        width, precision, scale = m.group(1), int(m.group(2)), int(m.group(3))
        make = pa.decimal256 if width == "256" or (width is None and precision > 38) else \
            pa.decimal128
        return make(precision, scale)
    try:
        return pa.type_for_alias(t)
    except (ValueError, KeyError):
        raise ValueError(f"unknown type {text!r}") from None


def normalize_overrides(overrides: Mapping[str, pa.DataType | str] | None,
                        name: str | None) -> dict[str, pa.DataType]:
    """Overrides with type names parsed; a bad type name is an IngestError for its column."""
    out: dict[str, pa.DataType] = {}
    for col, typ in (overrides or {}).items():
        if isinstance(typ, pa.DataType):
            out[col] = typ
            continue
        try:
            out[col] = parse_type(str(typ))
        except ValueError as exc:
            raise IngestError(f"schema override: {exc}", file=name, column=col) from None
    return out


def check_override_columns(names: list[str], overrides: Mapping[str, pa.DataType],
                           name: str | None) -> None:
    unknown = [c for c in overrides if c not in names]
    if unknown:
        raise IngestError(
            f"schema override for unknown column; the columns are {_list(names)}",
            file=name, column=unknown[0])


def apply_overrides(schema: pa.Schema, overrides: Mapping[str, pa.DataType],
                    name: str | None) -> pa.Schema:
    """``schema`` with the overridden columns' types replaced; casts are checked up front."""
    check_override_columns(schema.names, overrides, name)
    for col, typ in overrides.items():
        i = schema.get_field_index(col)
        src = schema.field(i).type
        if src != typ:
            _check_castable(src, typ, name, col)
        schema = schema.set(i, schema.field(i).with_type(typ))
    return schema


def _check_castable(src: pa.DataType, dst: pa.DataType, name: str | None, col: str) -> None:
    try:
        pa.array([], type=src).cast(dst)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise IngestError(f"schema override: cannot cast {src} to {dst} ({_first_line(exc)})",
                          file=name, column=col) from None


def cast_batch(batch: pa.RecordBatch, target: pa.Schema, name: str | None,
               row_offset: int) -> pa.RecordBatch:
    """Cast ``batch`` column-wise to ``target`` (same names and order), safely.

    A value that does not fit (overflow, truncation, unparsable text) is an IngestError
    naming the column and the 0-based row index within the source.
    """
    if batch.schema.equals(target):
        return batch
    arrays = []
    for i, field in enumerate(target):
        col = batch.column(i)
        if col.type != field.type:
            try:
                col = col.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                bad = _first_bad(col, field.type)
                value = col[bad].as_py()
                raise IngestError(
                    f"row {row_offset + bad}: cannot cast {_short(value)!r} from {col.type} "
                    f"to {field.type} ({_first_line(exc)})",
                    file=name, column=field.name) from None
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def _first_bad(col: pa.Array, typ: pa.DataType) -> int:
    """Index of the first value that does not cast; casts are element-wise, so bisect."""
    lo, hi = 0, len(col)  # invariant: col[lo:hi] contains a failure
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            col.slice(lo, mid - lo).cast(typ, safe=True)
            lo = mid
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            hi = mid
    return lo


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _short(value: object, limit: int = 80) -> object:
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return value[:limit] + ("..." if isinstance(value, str) else b"...")
    return value


def _list(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
