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

from mapdb.errors import MapdbError, StorageError
from mapdb.ingest.readers import BatchStream, open_source, to_batches
from mapdb.ingest.sources import expand_sources
from mapdb.storage.database import DatabaseStore
from mapdb.storage.table import Writer

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
                 first: pa.RecordBatch | None, dictionary, lock_timeout: float) -> Writer:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    exists = store.exists(table)
    if mode == "create" and exists:
        raise StorageError(f"table {table!r} already exists (use mode append or replace)")
    if not exists:
        return store.create_writer(table, schema, first, dictionary)
    w = store.writer(table, timeout=lock_timeout)
    if mode == "replace":
        from mapdb.storage.table import choose_schema
        try:
            w.replace_schema(choose_schema(schema, first, dictionary, w.base.next_id))
        except BaseException:
            w.close()
            raise
    return w


def write_streams(store: DatabaseStore, table: str, streams: Iterable[BatchStream], *,
                  mode: str = "append", job_id: str | None = None, dictionary="auto",
                  progress: Progress | None = None, lock_timeout: float = 0.0) -> JobResult:
    """Write every batch of every stream into ``table`` and commit once."""
    if job_id and store.exists(table):
        snap = store.snapshot(table)
        done = job_id in snap.manifest.jobs
        snap.close()
        if done:
            return JobResult(table, 0, 0, None, skipped=True)
    streams = iter(streams)
    writer: Writer | None = None
    rows = nsources = 0
    done_bytes = 0
    total = 0
    try:
        for stream in streams:
            nsources += 1
            total += stream.total_bytes or 0
            try:
                for batch in stream:
                    if writer is None:
                        writer = _open_writer(store, table, mode, stream.schema, batch,
                                              dictionary, lock_timeout)
                    writer.write(batch)
                    rows += batch.num_rows
                    if progress:
                        progress(done_bytes + (stream.bytes_read or 0), total, rows)
                if writer is None:  # a source with no rows still fixes the schema
                    writer = _open_writer(store, table, mode, stream.schema, None,
                                          dictionary, lock_timeout)
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
           progress: Progress | None = None, lock_timeout: float = 0.0) -> JobResult:
    """Ingest files/globs/directories into ``table`` as one atomic job."""
    srcs = expand_sources(list(sources), format)
    streams = (open_source(s, schema_overrides=schema) for s in srcs)
    return write_streams(store, table, streams, mode=mode, job_id=job_id,
                         dictionary=dictionary, progress=progress, lock_timeout=lock_timeout)


def ingest_object(store: DatabaseStore, table: str, data, *, mode: str = "append",
                  job_id: str | None = None, dictionary="auto",
                  schema: dict[str, pa.DataType] | None = None) -> JobResult:
    """Ingest an in-memory Arrow-capable object (see readers.to_batches)."""
    return write_streams(store, table, [to_batches(data, schema_overrides=schema)], mode=mode,
                         job_id=job_id, dictionary=dictionary)
