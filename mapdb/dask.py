"""mapdb tables on a Dask cluster: ``read_table`` gives a dask DataFrame with one partition
per segment, ``sql`` runs decomposable aggregates as a map-reduce over the segments.

Dask is optional: ``pip install 'dask[distributed]'`` (mapdb's ``test`` and ``bench``
extras include it); without it these functions raise MapdbError saying so.

Nothing but a small description of each partition travels to the workers: the database
path, the table, the version and a segment's row range (:class:`mapdb.api.parts.Part`).
Each worker opens the database read-only at that path, pins that version, and lets mapdb
read the rows: the projection and the filter run inside mapdb (zone maps, the fused
kernels, indexes), so only the answer crosses into pandas. Every worker must therefore see
the database at the same path (a shared file system, or a copy per node); see
docs/dask.md.

The table version is chosen when the collection is built and stays pinned in the client
process while the collection (or anything built from it) is alive, so commits made in the
meantime are not seen and cannot reclaim the files the workers read.

>>> import tempfile, mapdb, mapdb.dask
>>> path = tempfile.mkdtemp() + "/db"
>>> _ = mapdb.connect(path).create_table("t", {"k": ["a", "b", "a"], "v": [1, 2, 3]})
>>> df = mapdb.dask.read_table(path, "t", filter=mapdb.col("v") > 1)
>>> df.npartitions, df.compute(scheduler="sync").to_dict("list")
(1, {'k': ['b', 'a'], 'v': [2, 3]})
>>> mapdb.dask.sql(path, "SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k",
...                scheduler="sync").to_pydict()
{'k': ['a', 'b'], 's': [4, 2]}
"""

from __future__ import annotations

import pyarrow as pa

from mapdb.api import mapreduce, parts
from mapdb.api.database import Database, connect
from mapdb.api.table import Table
from mapdb.errors import MapdbError, NotFoundError

__all__ = ["DEFAULT_MAX_ROWS", "read_table", "sql"]

DEFAULT_MAX_ROWS = parts.DEFAULT_MAX_ROWS  # rows per partition: larger segments are split


def _dask():
    try:
        import dask
        import dask.dataframe
    except ImportError as e:
        raise MapdbError("mapdb.dask needs Dask: pip install 'dask[distributed]' "
                         f"({e})") from None
    return dask


def read_table(path: str, table: str, columns: list[str] | None = None, filter=None, *,
               index: str | None = None, max_rows: int = DEFAULT_MAX_ROWS,
               dtype_backend: str | None = None, threads: int = 1):
    """A dask DataFrame over ``table`` of the database at ``path``.

    One partition per segment of the table's current version (a segment of more than
    ``max_rows`` rows becomes several partitions, each a row range). Each partition is
    read on a worker by mapdb: only ``columns`` (default: all), only the rows where
    ``filter`` holds. ``filter`` is a mapdb expression, ``mapdb.col("x") > 5`` (use
    ``mapdb.col``; expressions built from a table, ``t.x > 5``, work too), or SQL text,
    what would follow WHERE (``"x > 5 AND s LIKE 'a%'"``).

    Types: what ``pyarrow.Table.to_pandas()`` gives (dictionary and string columns come
    as strings), except that decimals are exact ``pd.ArrowDtype`` decimals (Dask would
    turn a column of Decimal objects into strings), dates are datetime64, and an integer
    column holding NULLs anywhere in the table is float64 and a boolean one pandas'
    nullable boolean in every partition, so a partition's dtypes never depend on its
    rows. ``dtype_backend="pyarrow"``: every column a ``pd.ArrowDtype``.

    ``index``: a column to make the index of every partition. When it is an integer
    column without NULLs with a sorted attribute (``t.create_index(col, kind="sorted")``,
    or detected at commit, as for TPC-H's ``l_orderkey``), the partitions are cut where
    its value changes (a partition may then span two segments) and the divisions are
    known. ``threads``: mapdb threads per partition read (workers already read
    partitions side by side).
    """
    dd = _dask().dataframe
    if dtype_backend not in (None, "pyarrow"):
        raise ValueError(f"dtype_backend must be None or 'pyarrow', got {dtype_backend!r}")
    db = connect(path, readonly=True, pin_budget=None)
    t = db.table(_table_name(db, table))  # pins the version the partitions read
    if filter is not None and not isinstance(filter, str):
        filter = parts.detach(filter)
    cols = list(columns) if columns is not None else None
    if index is not None and cols is not None and index not in cols:
        cols.append(index)
    groups = parts.split_sorted(t, index, max_rows) if index is not None else None
    divisions = _divisions(t, groups, index) if groups else None
    if groups is None:
        groups = [[p] for p in parts.split(t, max_rows)]
    nullable = {c["name"] for c in t.describe()["columns"] if c["nulls"]}
    reader = _PartReader(cols, filter, index, dtype_backend, nullable, threads)
    reader._pin = t
    if groups:
        schema = parts.read_schema(groups[0], cols, filter)  # binds: errors show here
    else:
        schema = t.lazy().select(*(cols or t.columns)).schema
    meta = reader.to_pandas(schema.empty_table())
    if not groups:
        return dd.from_pandas(meta, npartitions=1)
    return dd.from_map(reader, groups, meta=meta, divisions=divisions,
                       label=f"mapdb-{t.name}", enforce_metadata=False)


class _PartReader:
    """What each partition runs on a worker: read one Part through mapdb, then pandas.
    In the client it also holds the Table that pins the version (never pickled)."""

    def __init__(self, columns, filter, index, dtype_backend, nullable, threads):
        self.columns = columns
        self.filter = filter
        self.index = index
        self.dtype_backend = dtype_backend
        self.nullable = nullable
        self.threads = threads
        self._pin: Table | None = None

    def __call__(self, group: list[parts.Part]):
        return self.to_pandas(parts.read(group, self.columns, self.filter,
                                         workers=self.threads))

    def to_pandas(self, t: pa.Table):
        import pandas as pd
        if self.dtype_backend == "pyarrow":
            df = t.to_pandas(types_mapper=pd.ArrowDtype)
        else:
            bools = []
            for i, f in enumerate(t.schema):
                if f.name not in self.nullable:
                    continue
                if pa.types.is_integer(f.type):
                    t = t.set_column(i, f.name, t.column(i).cast(pa.float64()))
                elif pa.types.is_boolean(f.type):
                    bools.append(f.name)
            df = t.to_pandas(date_as_object=False, types_mapper=_decimals)
            for name in bools:
                df[name] = df[name].astype(pd.BooleanDtype())
        return df.set_index(self.index) if self.index is not None else df

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pin"] = None  # the version's pin stays in the client
        return state

    def __dask_tokenize__(self):
        return (type(self).__name__, self.columns, repr(self.filter), self.index,
                self.dtype_backend, sorted(self.nullable), self.threads)


def _decimals(t: pa.DataType):
    import pandas as pd
    return pd.ArrowDtype(t) if pa.types.is_decimal(t) else None


def _divisions(t: Table, groups: list[list[parts.Part]], index: str) -> tuple:
    chunks = t.column(index).to_arrow()
    firsts = [chunks.chunk(g[0].segment)[g[0].start].as_py() for g in groups]
    last = groups[-1][-1]
    return (*firsts, chunks.chunk(last.segment)[last.stop - 1].as_py())


def sql(path: str, query: str, *, max_rows: int = DEFAULT_MAX_ROWS, threads: int = 1,
        **compute_kwargs) -> pa.Table:
    """The answer of one aggregate SQL statement over a table of the database at ``path``,
    computed as a map-reduce: each partition of the table (as ``read_table`` cuts it)
    computes partial aggregates with mapdb on a worker; the client combines them and
    finishes the statement (HAVING, ORDER BY, LIMIT). The answer is an Arrow table with
    the names and types ``db.sql(query)`` gives.

    Supported: count(*), count(x), sum(x), min(x), max(x), avg(x) of any expression of
    the columns, expressions over them, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT. Other
    statements raise NotDecomposableError naming what is not supported (read the rows
    with ``read_table`` and use dask's own operations instead). ``compute_kwargs`` go to
    ``dask.compute`` (e.g. ``scheduler=``); by default the current dask client runs it.
    """
    dask = _dask()
    mr = mapreduce.plan(query)  # refuses what it cannot split before touching any data
    db = connect(path, readonly=True, pin_budget=None)
    t = db.table(_table_name(db, mr.table))
    try:
        ps = parts.split(t, max_rows)
        if not ps:  # no rows: nothing to distribute
            return db.sql(query).to_arrow()
        schema = parts.schema(ps[0], query)  # binds: mapdb's errors for a bad statement
        tasks = [dask.delayed(_partial, pure=True)(p, mr.partial, threads) for p in ps]
        partials = dask.compute(*tasks, **compute_kwargs)
        return mr.reduce(partials, schema)
    finally:
        t.close()
        db.close()


def _partial(part: parts.Part, query: str, threads: int) -> pa.Table:
    return parts.sql(part, query, workers=threads)


def _table_name(db: Database, name: str) -> str:
    if name in db:
        return name
    for t in db.tables():  # SQL identifiers are case-insensitive
        if t.lower() == name.lower():
            return t
    raise NotFoundError(f"no table {name!r} in {db.path} (tables: "
                        f"{', '.join(db.tables()) or 'none'})")
