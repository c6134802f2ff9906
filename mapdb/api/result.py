"""Result: what ``db.sql()`` returns, a cursor over one execution of the statement.

The fetch methods read forward and the statement runs as they read: ``fetchone()``,
``fetchmany(n)``, ``fetchall()``, iteration, ``fetch_record_batch(rows_per_batch)`` (a
``pyarrow.RecordBatchReader``) and ``__arrow_c_stream__`` (the Arrow PyCapsule stream:
polars, DuckDB and pyarrow read it batch by batch). A plan that ends in a scan with
filters and projections (no sort, aggregate or join to build first) computes its morsels
as they are read, a few ahead: fetching a result of any size in ``fetchmany`` steps needs
memory for those morsels only. Other plans compute their (usually small) result at the
first read and then hand it out in batches.

The whole-result methods, ``to_arrow()``, ``to_pandas()``, ``to_polars()``, ``len()``
and the reprs, see the rows from the cursor to the end (every row when nothing was
fetched; after fetches, the rest, as DuckDB's do) without moving the cursor: they hold
those rows in memory, and the fetch methods then read them from there.
"""

from __future__ import annotations

import datetime
import numbers

import pyarrow as pa

from mapdb.query import session
from mapdb.query.types import STRING, QueryError, SqlType, from_arrow

ROW_CHUNK = 2048  # rows converted to Python at a time by fetchone() and iteration
DEFAULT_BATCH_ROWS = 1_000_000  # fetch_record_batch's default, as DuckDB's


def _pylist(t: pa.Table | pa.RecordBatch, i: int) -> list:
    """Column ``i`` as Python values; a value Python cannot hold (a date past year 9999, a
    timestamp past datetime's range) is a QueryError naming the column."""
    try:
        col = t.column(i)
        if pa.types.is_interval(col.type):  # as DuckDB's Python values: a timedelta,
            # a month 30 days
            return [None if v is None else datetime.timedelta(
                days=v.months * 30 + v.days, microseconds=v.nanoseconds // 1000)
                for v in col.to_pylist()]
        return col.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException) as e:
        raise QueryError(f"column {t.schema.names[i]!r} holds a value Python cannot "
                         f"represent ({type(e).__name__}: {e}); use to_arrow()") from None


def _count(n) -> bool:
    """Whether ``n`` is an integer (not a bool) usable as a number of rows."""
    return isinstance(n, numbers.Integral) and not isinstance(n, bool)


def _rows(batch: pa.RecordBatch | pa.Table) -> list[tuple]:
    cols = [_pylist(batch, i) for i in range(batch.num_columns)]
    return list(zip(*cols, strict=True)) if cols else [() for _ in range(batch.num_rows)]


def type_code(t: SqlType) -> str:
    """The DuckDB name of a result column's type (DB-API ``description`` type codes).

    >>> from mapdb.query.types import DECIMAL, INT64, STRING
    >>> [type_code(t) for t in (INT64, DECIMAL(15, 2), STRING)]
    ['BIGINT', 'DECIMAL(15,2)', 'VARCHAR']
    """
    if t.kind == "decimal":
        return f"DECIMAL({t.precision},{t.scale})"
    if t.kind == "int":
        return {"int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
                "uint8": "UTINYINT", "uint16": "USMALLINT", "uint32": "UINTEGER",
                "uint64": "UBIGINT"}.get(str(t.arrow), str(t.arrow).upper())
    if t.kind == "float":
        return "FLOAT" if t.arrow == pa.float32() else "DOUBLE"
    if t.kind == "timestamp":
        return "TIMESTAMP WITH TIME ZONE" if t.arrow.tz else "TIMESTAMP"
    return {"bool": "BOOLEAN", "date": "DATE", "string": "VARCHAR", "binary": "BLOB",
            "interval": "INTERVAL", "null": "NULL"}.get(t.kind, t.kind.upper())


def describe(names: list[str], types: list[SqlType]) -> list[tuple]:
    """PEP 249 ``description``: (name, type_code, display_size, internal_size, precision,
    scale, null_ok) per column; precision and scale for decimals, the rest None."""
    out = []
    for n, t in zip(names, types, strict=True):
        p, s = (t.precision, t.scale) if t.kind == "decimal" else \
            (None, None)
        out.append((n, type_code(t), None, None, p, s, None))
    return out


class Result:
    """The result of one SQL statement: a cursor over its rows (see the module docstring).

    >>> import tempfile, mapdb
    >>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
    >>> _ = db.create_table("t", {"k": ["a", "b", "a"], "v": [1, 2, 3]})
    >>> db.sql("SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k").fetchall()
    [('a', 4), ('b', 2)]
    >>> r = db.sql("SELECT v FROM t ORDER BY v")
    >>> r.fetchone(), r.fetchmany(5), r.fetchone()
    ((1,), [(2,), (3,)], None)
    """

    def __init__(self, prepared: session.Prepared | None, workers: int | None = None,
                 fused: bool = True, memory_limit: int | None = None,
                 spill_dir: str | None = None):
        self._p = prepared  # None: rows computed already (of_table)
        self._workers = workers
        self._fused = fused
        self._memory_limit = memory_limit  # bytes; None: the default (query.memory)
        self._spill_dir = spill_dir  # the database's tmp directory (None: no spilling)
        self._stream: session.Stream | None = None  # the execution, once reading started
        self._ahead: list[pa.RecordBatch] = []  # produced, not fetched yet (in order)
        self._front: pa.RecordBatch | None = None  # rows converted for fetchone ...
        self._front_rows: list[tuple] = []  # ... as Python tuples
        self._pos = 0  # ... of which this many were fetched
        self._schema: pa.Schema | None = None
        self._whole: pa.Table | None = None  # every row, when materialized before a fetch
        self._done = False  # nothing more to produce
        self._closed = False
        self._ctx = None
        self._seconds: float | None = None
        self.arraysize = 1  # fetchmany()'s default size (PEP 249)
        if prepared is not None and prepared.query.explain is not None:
            text = self.explain(analyze=prepared.query.explain == "analyze")
            self._keep(pa.table({"explain": pa.array(text.splitlines(), pa.string())}))

    @classmethod
    def of_table(cls, table: pa.Table) -> Result:
        """A Result over rows computed already (a statement's Count, DESCRIBE's rows...).

        >>> Result.of_table(pa.table({"Count": [3]})).fetchall()
        [(3,)]
        """
        r = cls(None)
        r._keep(table)
        return r

    @property
    def statement(self) -> bool:
        """Whether this is the result of a statement that ran at once (DDL, DML, COPY,
        DESCRIBE, ...), not of a query."""
        return self._p is None

    # -- producing --------------------------------------------------------------------
    def _keep(self, table: pa.Table) -> None:
        """The whole result, computed at once."""
        self._whole = table
        self._schema = table.schema
        self._ahead = [b for b in table.to_batches() if b.num_rows]
        self._done = True

    def _materialize(self) -> None:
        """Nothing read yet: run the statement to the end in one go."""
        try:
            table, self._ctx, self._seconds = session.execute(
                self._p, self._workers, self._fused, self._memory_limit, self._spill_dir)
        finally:
            self._p.close()
        self._keep(table)

    def _start(self) -> None:
        if self._closed:
            raise QueryError("the result was closed")
        if self._stream is None and not self._done:
            if not session.streams(self._p):  # a sort, aggregate, ...: computed whole
                self._materialize()
                return
            self._stream = session.Stream(self._p, self._workers, self._fused,
                                          memory_limit=self._memory_limit,
                                          spill_dir=self._spill_dir)
            self._ctx = self._stream.ctx

    def _pull(self) -> pa.RecordBatch | None:
        """The next produced batch (not yet fetched), or None at the end."""
        self._start()  # (a plan that does not stream is computed whole here)
        if self._ahead:
            return self._ahead.pop(0)
        return self._produce()

    def _produce(self) -> pa.RecordBatch | None:
        """The execution's next batch, or None at its end."""
        self._start()
        if self._done:
            return None
        try:
            batch = next(self._stream)
        except StopIteration:
            self._finish()
            return None
        except BaseException:
            self._finish()
            raise
        if self._schema is None:
            self._schema = batch.schema
        elif batch.schema != self._schema:
            batch = batch.cast(self._schema)
        return batch

    def _finish(self) -> None:
        self._done = True
        if self._stream is not None:
            self._seconds = self._stream.seconds
            if self._schema is None:
                self._schema = self._stream.schema
            self._stream.close()

    def _next(self, n: int | None) -> pa.RecordBatch | None:
        """Up to ``n`` (None: any number of) rows from the cursor, from one produced batch
        (the rest of it stays ahead); the cursor moves. A streamed scan unmaps a morsel's
        pages when the next one is produced (executor.run_pipeline): every caller is done
        reading a batch (converted or copied it) before it asks for the next; the front
        rows of fetchone() come first."""
        self._whole = None
        if self._front is not None and self._pos < self._front.num_rows:
            k = self._front.num_rows - self._pos if n is None else \
                min(n, self._front.num_rows - self._pos)
            self._pos += k
            return self._front.slice(self._pos - k, k)
        batch = self._pull()
        if batch is not None and n is not None and batch.num_rows > n:
            self._ahead.insert(0, batch.slice(n))
            batch = batch.slice(0, n)
        return batch

    def _rest(self) -> pa.Table:
        """The rows from the cursor to the end, produced now if they were not (the
        cursor stays)."""
        if self._whole is not None:
            return self._whole
        if self._stream is None and not self._done and not self._closed:
            self._materialize()
            return self._whole
        while not self._done:
            batch = self._produce()
            if batch is not None:
                self._ahead.append(batch)
        pieces = list(self._ahead)
        if self._front is not None and self._pos < self._front.num_rows:
            pieces.insert(0, self._front.slice(self._pos))
        return pa.Table.from_batches(pieces, schema=self.schema)

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the rows (computes the first batch if none was)."""
        if self._schema is None and not self._closed:
            self._start()
        if self._schema is None:
            batch = self._produce()
            if batch is not None:
                self._ahead.insert(0, batch)
            elif self._schema is None:  # no rows at all
                self._schema = self._stream.schema if self._stream is not None else \
                    pa.schema([])
        return self._schema

    # -- names and types --------------------------------------------------------------
    def _sql_types(self) -> list[SqlType]:
        if self._p is None:
            return [from_arrow(f.type) for f in self._schema]
        if self._p.query.explain is not None:
            return [STRING]
        return [t for _, t in self._p.plan.schema]

    @property
    def columns(self) -> list[str]:
        if self._p is None or self._p.query.explain is not None:
            return list(self._schema.names)
        return list(self._p.query.names)

    @property
    def types(self) -> list[str]:
        """DuckDB's names of the columns' types (``BIGINT``, ``VARCHAR``, ...)."""
        return [type_code(t) for t in self._sql_types()]

    @property
    def description(self) -> list[tuple]:
        """PEP 249's description: (name, type_code, None, None, precision, scale, None)
        per column; the type codes are DuckDB's type names (see ``type_code``)."""
        return describe(self.columns, self._sql_types())

    # -- the fetch methods: read forward -------------------------------------------------
    def fetchone(self) -> tuple | None:
        """The next row, or None after the last."""
        if self._front is None or self._pos >= self._front.num_rows:
            batch = self._next(max(ROW_CHUNK, self.arraysize))
            if batch is None:
                return None
            self._front, self._front_rows, self._pos = batch, _rows(batch), 0
        self._whole = None
        row = self._front_rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        """The next ``size`` rows (default ``arraysize``); fewer at the end, [] after."""
        n = self.arraysize if size is None else size
        if not _count(n) or n < 0:
            raise QueryError(f"fetchmany: size must be an integer, 0 or more, not {n!r}")
        out: list[tuple] = []
        if self._front is not None and self._pos < self._front.num_rows:
            k = min(n, self._front.num_rows - self._pos)
            out = self._front_rows[self._pos:self._pos + k]
            self._pos += k
            self._whole = None
            n -= k
        while n > 0 and (batch := self._next(n)) is not None:
            out.extend(_rows(batch))  # before the next batch is produced (see _next)
            n -= batch.num_rows
        return out

    def fetchall(self) -> list[tuple]:
        """The rows from the cursor to the end (all of them when nothing was fetched)."""
        out: list[tuple] = []
        if self._front is not None and self._pos < self._front.num_rows:
            out = self._front_rows[self._pos:]
            self._pos = self._front.num_rows
        while (batch := self._next(None)) is not None:
            out.extend(_rows(batch))
        return out

    def __iter__(self):
        while (row := self.fetchone()) is not None:
            yield row

    def fetch_record_batch(self, rows_per_batch: int = DEFAULT_BATCH_ROWS
                           ) -> pa.RecordBatchReader:
        """A ``pyarrow.RecordBatchReader`` over the rows from the cursor on, in batches of
        ``rows_per_batch`` rows (the last may be shorter); reading it moves the cursor.
        A batch within one produced batch is a zero-copy slice of it; one made of several
        is a copy."""
        if not _count(rows_per_batch) or rows_per_batch < 1:
            raise QueryError(f"rows_per_batch must be an integer, 1 or more, not "
                             f"{rows_per_batch!r}")
        schema = self.schema

        def batches():
            pending: list[pa.RecordBatch] = []
            have = 0
            while (piece := self._next(rows_per_batch - have)) is not None:
                if not pending and piece.num_rows == rows_per_batch:
                    yield piece
                    continue
                pending.append(pa.concat_batches([piece]))  # a copy: see _next
                have += piece.num_rows
                if have == rows_per_batch:
                    yield pa.concat_batches(pending)
                    pending, have = [], 0
            if pending:
                yield pa.concat_batches(pending)
        return pa.RecordBatchReader.from_batches(schema, batches())

    def __arrow_c_stream__(self, requested_schema=None):
        """The rows from the cursor on as an Arrow C stream, batch by batch as produced
        (zero-copy; reading it moves the cursor)."""
        def batches():
            while (batch := self._next(None)) is not None:
                yield batch
        reader = pa.RecordBatchReader.from_batches(self.schema, batches())
        return reader.__arrow_c_stream__(requested_schema)

    def close(self) -> None:
        """Stop the execution (its threads; the rest is never computed) and drop the rows
        held. Fetching afterwards is an error."""
        self._closed = True
        self._ahead, self._front, self._front_rows, self._whole = [], None, [], None
        if self._stream is not None:
            self._finish()
        elif not self._done and self._p is not None:
            self._p.close()
        self._done = True

    def __enter__(self) -> Result:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the whole-result methods: the rest, cursor unmoved ---------------------------------
    def to_arrow(self) -> pa.Table:
        return self._rest()

    def to_pandas(self):
        return self._rest().to_pandas()

    def to_polars(self):
        import polars as pl
        return pl.from_arrow(self._rest())

    def fetchnumpy(self) -> dict:
        """The rest as {column: numpy array} (DuckDB's ``fetchnumpy``)."""
        t = self._rest()
        return {n: c.to_numpy() for n, c in zip(t.column_names, t.columns, strict=True)}

    # DuckDB's names for the same, so code ported from DuckDB keeps working
    def arrow(self) -> pa.Table:
        return self.to_arrow()

    fetch_arrow_table = to_arrow_table = arrow

    def df(self):
        return self.to_pandas()

    fetchdf = df

    def pl(self):
        return self.to_polars()

    def show(self, max_rows: int | None = None) -> None:
        """Print the result as a text table (DuckDB's ``show``): the first ``max_rows``
        rows (default: as the CLI shows) and the row count.

        >>> import mapdb
        >>> mapdb.connect().sql("SELECT 1 AS a, 'x' AS b").show()
        a | b
        --+--
        1 | x
        (1 row)
        """
        from mapdb.api.show import text_table
        print(text_table(self._rest()) if max_rows is None else
              text_table(self._rest(), limit=max_rows))

    def explain(self, analyze: bool = False) -> str:
        """The optimized plan; with ``analyze`` the query runs (to the end: the rows are
        kept for the fetch methods) and each operator shows its rows, time, bytes
        touched, blocks skipped, residency and page faults."""
        if self._p is None:
            raise QueryError("a statement that ran at once has no plan to explain")
        if analyze:
            if self._ctx is None or not self._done:
                self._rest()
            if self._seconds is None and self._stream is not None:
                self._seconds = self._stream.seconds
            return session.explain(self._p, self._ctx, self._seconds)
        return session.explain(self._p)

    def __len__(self) -> int:
        return self._rest().num_rows

    def __repr__(self) -> str:
        if self._closed:
            return "<mapdb Result (closed)>"
        from mapdb.api.show import text_table
        return text_table(self._rest())

    def _repr_html_(self) -> str:
        from mapdb.api.show import html_table
        return html_table(self._rest())
