"""Operator state written out when it does not fit the memory_limit (issue 20): the
external merge sort's runs.

A sort that cannot reserve room for its next input piece sorts what it holds, with the
sort keys computed as the in-memory sort computes them, and appends it as one record
batch (a *run*: data columns then key columns) to an Arrow IPC file in the database's tmp
directory (storage.tmpfiles); it releases what it held and goes on. At the end the files
are memory-mapped back (``pa.memory_map``: the runs' bytes are the page cache's, not the
heap's) and merged block by block (``merge``): the heap holds one block of each run (what
the limit leaves room for, reserved) and the output. The files are removed when the sort
ends, however it ends; a crashed process's at the next open of the database.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from mapdb.errors import QueryError
from mapdb.storage import tmpfiles

# A sort whose limit leaves room for fewer rows than this at a time fails instead of
# writing thousands of tiny runs (that a merge in blocks of a few rows would crawl through)
MIN_RUN_ROWS = 1024


class Runs:
    """The sorted runs of one operator: record batches appended to IPC files (one file
    while the runs' schema stays the same) in ``directory``."""

    def __init__(self, directory: str, kind: str):
        self.directory, self.kind = directory, kind
        self.paths: list[str] = []
        self.count = 0  # runs written
        self.bytes = 0  # their Arrow bytes
        self._writer = None
        self._sink = None
        self._schema: pa.Schema | None = None
        self._maps: list = []

    def write(self, run: pa.Table) -> None:
        """Append ``run`` (sorted) as one record batch."""
        batches = run.combine_chunks().to_batches()
        try:
            if self._writer is None or run.schema != self._schema:
                self._close_writer()
                path = tmpfiles.new_path(self.directory, self.kind)
                self.paths.append(path)
                self._sink = pa.OSFile(path, "wb")
                self._writer = ipc.new_file(self._sink, run.schema)
                self._schema = run.schema
            for b in batches:  # (one: the run's columns were combined)
                self._writer.write_batch(b)
        except OSError as e:
            raise QueryError(f"{self.kind}: cannot write its spill file in "
                             f"{self.directory}: {e}") from e
        self.count += 1
        self.bytes += run.nbytes

    def _close_writer(self) -> None:
        if self._writer is not None:
            w, s = self._writer, self._sink
            self._writer = self._sink = None
            try:
                w.close()
            finally:
                s.close()

    def read(self) -> list[pa.Table]:
        """The runs, in the order written, over the mapped files."""
        self._close_writer()
        out = []
        for path in self.paths:
            mm = pa.memory_map(path)
            self._maps.append(mm)
            reader = ipc.open_file(mm)
            out.extend(pa.Table.from_batches([reader.get_batch(i)])
                       for i in range(reader.num_record_batches))
        return out

    def close(self) -> None:
        """Remove the files (the mapped tables read from them must be gone by now; on
        Linux a mapping outlives its file's name anyway)."""
        try:
            self._close_writer()
        finally:
            for mm in self._maps:
                mm.close()
            self._maps = []
            for path in self.paths:
                tmpfiles.remove(path)


def merge(runs: list[pa.Table], data: list[str], keys: list[tuple[str, str]],
          held) -> pa.Table:
    """The rows of the sorted ``runs`` (each holding the ``data`` columns and the sort
    keys) in the order of ``keys`` (name, "ascending"/"descending"), rows of equal keys
    in the order of the runs and of their rows (the input's: the in-memory sort is stable
    too). A k-way merge in blocks: each round loads the next block of every run with no
    row left from its previous one, sorts what is loaded by the keys then (run, row),
    and outputs it up to the first of the unfinished runs' last loaded rows (no unloaded
    row can sort before it). ``held``: the sort's reservation, which bounds the blocks
    (three times what is loaded: the rows, their sort and their taken copy)."""
    k = len(runs)
    n = [r.num_rows for r in runs]
    total = sum(n)
    unified = pa.unify_schemas([r.schema for r in runs], promote_options="permissive")
    keys = [(c, o) for c, o in keys if unified.field(c).type != pa.null()]
    order = [*keys, ("$run", "ascending"), ("$row", "ascending")]
    row_bytes = max(sum(r.nbytes for r in runs) // max(total, 1), 1) + 12
    room = held.tracker.limit - held.tracker.used
    block = max(room // (3 * row_bytes * k), 1)
    held.grow(3 * row_bytes * k * block)  # (not even a row of each run fits: the error)
    loaded = [0] * k  # rows of each run loaded so far
    pending = np.zeros(k, np.int64)  # of which not output yet
    carry = None
    out = []
    while True:
        parts = [] if carry is None else [carry]
        for r in range(k):
            if pending[r] == 0 and loaded[r] < n[r]:
                m = min(block, n[r] - loaded[r])
                part = runs[r].slice(loaded[r], m)
                parts.append(part.append_column("$run", pa.array(np.full(m, r, np.int32)))
                             .append_column("$row", pa.array(np.arange(loaded[r],
                                                                       loaded[r] + m))))
                loaded[r] += m
                pending[r] += m
        if not parts:
            break
        cand = pa.concat_tables(parts, promote_options="permissive")
        cand = cand.take(pc.sort_indices(cand, sort_keys=order))
        run_of = cand.column("$run").to_numpy()
        row_of = cand.column("$row").to_numpy()
        last = np.array([loaded[r] - 1 if loaded[r] < n[r] else -2 for r in range(k)])
        bounds = np.flatnonzero(row_of == last[run_of])
        cut = int(bounds[0]) + 1 if len(bounds) else len(cand)
        done = cand.slice(0, cut)
        out.append(done.select(data).combine_chunks())
        pending -= np.bincount(run_of[:cut], minlength=k)
        carry = cand.slice(cut) if cut < len(cand) else None
    if not out:
        return pa.concat_tables([r.select(data).slice(0, 0) for r in runs],
                                promote_options="permissive")
    return pa.concat_tables(out, promote_options="permissive")
