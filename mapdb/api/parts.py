"""Parts of a table version: row ranges of its segments, read or queried on their own, in
this process or in another one (what :mod:`mapdb.dask` runs on its workers).

A :class:`Part` names a database directory, a table, a committed version, a segment (its
position in that version's manifest) and a row range. It is small and picklable, and it is
all a process needs to open exactly those rows, provided it sees the database directory at
the same path and the version is still there: whoever made the parts keeps the version
pinned (a :class:`~mapdb.api.table.Table` pins the version it opened) until every part has
been read, or a writer may reclaim it.

>>> import tempfile, mapdb
>>> from mapdb.api import parts
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> t = db.create_table("t", {"k": ["a", "b", "a", "b"], "v": [1, 2, 3, 4]})
>>> ps = parts.split(t, max_rows=3)
>>> [(p.segment, p.start, p.stop) for p in ps]
[(0, 0, 2), (0, 2, 4)]
>>> parts.read(ps[1], ["v"], filter=mapdb.col("v") > 3).to_pydict()
{'v': [4]}
>>> parts.read(ps[0], filter="k = 'b'").to_pydict()
{'k': ['b'], 'v': [2]}
>>> parts.sql(ps[1], "SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k").to_pydict()
{'k': ['a', 'b'], 's': [3, 4]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mapdb.api.result import Result
from mapdb.api.table import Table
from mapdb.errors import MapdbError
from mapdb.query import frame as qf
from mapdb.query.session import Prepared, prepare_over
from mapdb.query.source import MORSEL_ROWS, ArrowSource, RowRangeSource
from mapdb.storage.database import DatabaseStore

DEFAULT_MAX_ROWS = 8 << 20  # rows per part: segments above this are split into row ranges


@dataclass(frozen=True)
class Part:
    """Rows ``[start, stop)`` of segment number ``segment`` (its position in the manifest)
    of version ``version`` of ``table`` in the database at ``path`` (absolute)."""

    path: str
    table: str
    version: int
    segment: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


def split(table: Table, max_rows: int = DEFAULT_MAX_ROWS) -> list[Part]:
    """The parts of ``table``'s version (the one the Table object pins), in table order:
    one per segment, and a segment of more than ``max_rows`` rows cut into row ranges of
    about equal size (boundaries on morsel multiples when ``max_rows`` allows), so no part
    exceeds ``max_rows``. A table without rows has no parts."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be positive, got {max_rows}")
    snap = table._snap
    path = table._db.path
    out = []
    for seg, n in enumerate(snap.segment_rows()):
        if n == 0:
            continue
        step = -(-n // -(-n // max_rows))  # ceil(n / pieces): pieces of about equal size
        if max_rows >= MORSEL_ROWS:  # whole morsels, still at most max_rows
            step = min(-(-step // MORSEL_ROWS), max_rows // MORSEL_ROWS) * MORSEL_ROWS
        out += [Part(path, table.name, snap.version, seg, a, min(a + step, n))
                for a in range(0, n, step)]
    return out


def split_sorted(table: Table, column: str, max_rows: int = DEFAULT_MAX_ROWS
                 ) -> list[list[Part]] | None:
    """Groups of parts for a ``column`` whose values ascend through the table (a sorted
    attribute) and hold no NULLs: ``split``'s cuts moved forward to where the value
    changes, across segment boundaries too, so that no run of equal values is cut. Each
    group (one or more parts, in table order: read them together) then starts with a
    value greater than every value of the group before: what a range partitioning needs.
    A group may exceed ``max_rows`` by the run it had to finish. None when the column is
    not sorted that way."""
    if not any(ix["column"] == column and ix["kind"] == "sorted" for ix in table.indexes()):
        return None
    chunks = table.column(column).to_arrow()
    if chunks.null_count or chunks.num_chunks != len(table._snap.segment_rows()):
        return None
    try:
        values = [c.to_numpy(zero_copy_only=True) for c in chunks.chunks]
    except pa.ArrowInvalid:
        return None
    if any(v.dtype.kind not in "iu" for v in values):
        return None
    rows = [len(v) for v in values]
    offsets = [sum(rows[:i]) for i in range(len(rows))]
    total = sum(rows)

    def at(g: int):  # (segment, row) of global row g < total
        s = max(i for i, o in enumerate(offsets) if o <= g and rows[i])
        return s, g - offsets[s]

    cuts: list[int] = []
    for p in split(table, max_rows)[1:]:
        g = offsets[p.segment] + p.start
        s, r = at(g - 1)
        before = values[s][r]
        while g < total:
            s, r = at(g)
            if values[s][r] != before:
                break
            r = int(np.searchsorted(values[s], before, side="right"))
            g = offsets[s] + r if r < rows[s] else offsets[s] + rows[s]
        if g < total and (not cuts or g > cuts[-1]):
            cuts.append(g)
    groups = []
    path, version = table._db.path, table._snap.version
    for lo, hi in zip([0, *cuts], [*cuts, total], strict=True):
        groups.append([Part(path, table.name, version, s, max(lo - o, 0), min(hi - o, n))
                       for s, (o, n) in enumerate(zip(offsets, rows, strict=True))
                       if n and o < hi and o + n > lo])
    return groups


def _spans(parts: Part | Sequence[Part]) -> tuple[Part, dict[int, tuple[int, int]]]:
    ps = [parts] if isinstance(parts, Part) else list(parts)
    if not ps:
        raise ValueError("no parts given")
    first = ps[0]
    spans: dict[int, tuple[int, int]] = {}
    for p in ps:
        if (p.path, p.table, p.version) != (first.path, first.table, first.version):
            raise ValueError("parts of different tables or versions cannot be read together")
        if p.segment in spans:
            a, b = spans[p.segment]
            if p.start != b:
                raise ValueError(f"parts of segment {p.segment} must be adjacent and in order")
            spans[p.segment] = (a, p.stop)
        else:
            spans[p.segment] = (p.start, p.stop)
    return first, spans


def open_source(parts: Part | Sequence[Part]) -> RowRangeSource:
    """A query source over the rows of ``parts`` (all of one table version): the version
    is opened read-only and pinned until the source is closed."""
    first, spans = _spans(parts)
    store = DatabaseStore(first.path, readonly=True)
    try:
        snap = store.snapshot(first.table, first.version)
    except MapdbError as e:
        raise type(e)(f"{e} (table {first.table!r} version {first.version} of {first.path}: "
                      f"whoever made the parts must keep that version pinned)") from None
    return RowRangeSource(first.table, snap, spans)


def read(parts: Part | Sequence[Part], columns: list[str] | None = None, filter=None,
         workers: int | None = 1) -> pa.Table:
    """The rows of ``parts`` (all of one table version) as an Arrow table, only
    ``columns`` (default: all), only the rows where ``filter`` holds. ``filter`` is a
    mapdb expression (``mapdb.col("x") > 5``) or the text of a SQL boolean expression
    (``"x > 5 AND s LIKE 'a%'"``, what would follow WHERE). Both are pushed into the scan
    (zone maps, the kernels, indexes); dictionary columns come decoded, as in query
    results. ``workers``: threads for this read (1: parts are meant to run side by side)."""
    src = open_source(parts)
    try:
        return Result(_reader(src, columns, filter), workers=workers).to_arrow()
    finally:
        src.close()


def read_schema(parts: Part | Sequence[Part], columns: list[str] | None = None,
                filter=None) -> pa.Schema:
    """The schema ``read`` returns for these arguments (bound, nothing read)."""
    src = open_source(parts)
    try:
        return _schema(_reader(src, columns, filter))
    finally:
        src.close()


def _reader(src: RowRangeSource, columns: list[str] | None, filter) -> Prepared:
    if isinstance(filter, str):
        cols = ", ".join(_quote(c) for c in (columns or list(src.types())))
        return prepare_over(f"SELECT {cols} FROM {_quote(src.name)} WHERE {filter}",
                            {src.name: src})
    f = qf.Frame.scan(src)
    if filter is not None:
        f = f.filter(detach(filter))
    if columns is not None:
        f = f.select(list(columns))
    query, plan = qf.prepare(f)
    return Prepared(query, plan, [])


def _schema(p: Prepared) -> pa.Schema:
    return pa.schema([pa.field(n, t.output_type)
                      for n, (_, t) in zip(p.query.names, p.plan.schema, strict=True)])


def sql(parts: Part | Sequence[Part], query: str, workers: int | None = 1) -> pa.Table:
    """The answer of one SQL statement in which the parts' table holds only the rows of
    ``parts`` (all of one table version), e.g. a partial aggregate of a map-reduce."""
    src = open_source(parts)
    try:
        return Result(prepare_over(query, {src.name: src}), workers=workers).to_arrow()
    finally:
        src.close()


def schema(parts: Part | Sequence[Part], query: str) -> pa.Schema:
    """The names and Arrow types of ``query``'s answer over the parts' table version
    (bound, not run): what every part's answer and the whole table's carry."""
    src = open_source(parts)
    try:
        return _schema(prepare_over(query, {src.name: src}))
    finally:
        src.close()


def sql_arrow(query: str, tables: dict[str, pa.Table], workers: int | None = 1) -> pa.Table:
    """The answer of one SQL statement over in-memory Arrow tables (name -> table), run by
    mapdb's engine, e.g. to finish a map-reduce over partial results."""
    p = prepare_over(query, {n: ArrowSource(n, t) for n, t in tables.items()})
    return Result(p, workers=workers).to_arrow()


def detach(e):
    """``e`` without references to the frames it was built from (``t.x > 5`` remembers
    ``t``): what is left pickles, and binds to any frame with those columns."""
    if not isinstance(e, qf.Expression):
        raise TypeError(f"filter must be a mapdb expression (mapdb.col('x') > 5) or SQL "
                        f"text, got {type(e).__name__}")
    return qf.Expression(e.op, tuple(detach(a) if isinstance(a, qf.Expression) else a
                                     for a in e.args), e.param)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

