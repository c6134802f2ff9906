"""Ingest jobs: many sources into one table, committed atomically (all or nothing).

A job streams every source batch by batch into one writer and commits once at the end, so
readers see either none or all of the job's rows. A job id makes reruns idempotent: the id
is recorded in the committing manifest, and a job whose id the table already holds does
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from mapdb.errors import MapdbError, NotFoundError, SchemaError, StorageError
from mapdb.ingest._sniff import CsvOptions
from mapdb.ingest.errors import IngestError
from mapdb.ingest.readers import BatchStream, open_source, to_batches
from mapdb.ingest.sources import Source, expand_sources
from mapdb.storage.database import DatabaseStore
from mapdb.storage.durability import Durability
from mapdb.storage.table import Writer
from mapdb.storage.types import ColumnType

MODES = ("create", "append", "replace")
Progress = Callable[[int, int, int], None]  # (bytes done, bytes total, rows so far)


@dataclass(frozen=True)
class JobResult:
    table: str
    rows: int
    sources: int
    version: int | None  # None when skipped
    skipped: bool = False


def _open_writer(store: DatabaseStore, table: str, mode: str, schema: pa.Schema,
                 first: pa.RecordBatch | None, dictionary, lock_timeout: float,
                 durability: Durability, table_id: bytes | None) -> Writer:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    exists = store.exists(table)
    if mode == "create" and exists:
        raise StorageError(f"table {table!r} already exists (use mode append or replace)")
    if not exists and table_id is None:
        return store.create_writer(table, schema, first, dictionary, durability=durability)
    # the table the job started on, or a TableDroppedError: never the next table of that name
    w = store.writer(table, timeout=lock_timeout, durability=durability, table_id=table_id)
    if mode == "replace":
        from mapdb.storage.table import choose_schema
        try:
            w.replace_schema(choose_schema(schema, first, dictionary, w.base.next_id))
        except BaseException:
            w.close()
            raise
    return w


def write_streams(store: DatabaseStore, table: str,
                  streams: Iterable[tuple[str | None, BatchStream]], *,
                  mode: str = "append", job_id: str | None = None, dictionary="auto",
                  progress: Progress | None = None, lock_timeout: float = 0.0,
                  durability: str | None = None, table_id: bytes | None = None
                  ) -> JobResult:
    """Write every batch of every (label, stream) into ``table`` and commit once; a row that
    does not fit the table is an IngestError naming the stream's label (its file).
    ``durability``: the commit's mode (storage.durability; default: the store's).
    ``table_id``: the table's incarnation the caller opened (default: the one there when
    the job starts); if it is dropped meanwhile the job fails with TableDroppedError."""
    dmode = store.durability(durability)  # an unknown name fails before any work
    if mode != "create" and store.exists(table):
        try:
            snap = store.snapshot(table)
        except NotFoundError:
            snap = None  # dropped just now: the job creates it, as if it had not existed
        if snap is not None:
            done = job_id is not None and job_id in snap.manifest.jobs
            table_id = table_id or snap.manifest.table_id
            snap.close()
            if done:
                return JobResult(table, 0, 0, None, skipped=True)
    streams = iter(streams)
    writer: Writer | None = None
    rows = nsources = 0
    done_bytes = 0
    total = 0
    try:
        for label, stream in streams:
            nsources += 1
            total += stream.total_bytes or 0
            try:
                for batch in stream:
                    if writer is None:
                        writer = _open_writer(store, table, mode, stream.schema, batch,
                                              dictionary, lock_timeout, dmode, table_id)
                    try:
                        writer.write(batch)
                    except SchemaError as e:
                        raise IngestError(str(e), file=label) from None
                    rows += batch.num_rows
                    if progress:
                        progress(done_bytes + (stream.bytes_read or 0), total, rows)
                if writer is None:  # a source with no rows still fixes the schema
                    writer = _open_writer(store, table, mode, stream.schema, None,
                                          dictionary, lock_timeout, dmode, table_id)
            finally:
                done_bytes += stream.total_bytes or 0
                stream.close()
        if writer is None:
            raise MapdbError("nothing to ingest: no sources")
        m = writer.commit(job_id)
        return JobResult(table, rows, nsources, m.version)
    finally:
        if writer is not None:
            writer.close()  # aborts anything uncommitted


def ingest(store: DatabaseStore, table: str, sources: list[str | Path], *,
           format: str | None = None, mode: str = "append", job_id: str | None = None,
           schema: dict[str, pa.DataType] | None = None, dictionary="auto",
           progress: Progress | None = None, lock_timeout: float = 0.0,
           durability: str | None = None,
           csv: CsvOptions | dict | None = None) -> JobResult:
    """Ingest files/globs/directories into ``table`` as one atomic job. ``csv``: CSV
    options (:class:`CsvOptions`, or a dict of its fields; None values are sniffed); an
    option given with a source that is not CSV is an IngestError."""
    store.durability(durability)  # an unknown name fails before the sources are opened
    if isinstance(csv, dict):
        csv = CsvOptions.make(**{k: v for k, v in csv.items() if v is not None})
    srcs = expand_sources(list(sources), format)
    given = csv.given() if csv is not None else []
    if given:
        for s in srcs:
            if s.format != "csv":
                raise IngestError(f"{', '.join(given)}: CSV options, and this is a "
                                  f"{s.format} source", file=str(s.path))
    known: dict[str, pa.DataType] = {}
    table_id = None
    if mode == "append" and store.exists(table):
        snap = store.snapshot(table)
        known = {c.name: _parse_type(c.type) for c in snap.manifest.schema}
        table_id = snap.manifest.table_id  # the sources parse with this table's types
        snap.close()

    def streams():
        for s in srcs:
            stream = _open(s, known, schema, csv)
            yield str(s.path), stream
            # later sources of a new table parse with the types the first one chose
            known.update({f.name: f.type for f in stream.schema if f.name not in known})

    return write_streams(store, table, streams(), mode=mode, job_id=job_id,
                         dictionary=dictionary, progress=progress, lock_timeout=lock_timeout,
                         durability=durability, table_id=table_id)


def _parse_type(ctype: ColumnType) -> pa.DataType:
    """The type a text source should parse a column as to fit the stored type."""
    return pa.large_string() if ctype.is_dictionary else ctype.arrow_type


def _open(src: Source, known: dict[str, pa.DataType],
          user: dict[str, pa.DataType] | None, csv: CsvOptions | None) -> BatchStream:
    """Open a source; text formats parse the table's columns with the table's types, so a
    value that does not fit is reported with its file, line and column."""
    if not known or src.format not in ("csv", "ndjson"):
        return open_source(src, schema_overrides=user, csv=csv)
    with open_source(src, schema_overrides=user, csv=csv) as probe:  # header and a sample
        names = set(probe.schema.names)
    overrides = {k: v for k, v in known.items() if k in names}
    overrides.update(user or {})
    return open_source(src, schema_overrides=overrides, csv=csv)


def ingest_object(store: DatabaseStore, table: str, data, *, mode: str = "append",
                  job_id: str | None = None, dictionary="auto",
                  schema: dict[str, pa.DataType] | None = None,
                  durability: str | None = None, lock_timeout: float = 0.0,
                  table_id: bytes | None = None) -> JobResult:
    """Ingest an in-memory Arrow-capable object (see readers.to_batches); ``table_id``:
    see write_streams."""
    store.durability(durability)  # an unknown name fails before the data is read
    return write_streams(store, table, [(None, to_batches(data, schema_overrides=schema))],
                         mode=mode, job_id=job_id, dictionary=dictionary,
                         durability=durability, lock_timeout=lock_timeout,
                         table_id=table_id)
