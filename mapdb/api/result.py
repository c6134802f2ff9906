"""Result: what ``db.sql()`` returns. Runs on first use; Arrow out."""

from __future__ import annotations

import pyarrow as pa

from mapdb.query import session
from mapdb.query.types import QueryError


def _pylist(t: pa.Table, i: int) -> list:
    """Column ``i`` as Python values; a value Python cannot hold (a date past year 9999, a
    timestamp past datetime's range) is a QueryError naming the column."""
    try:
        return t.column(i).to_pylist()
    except (OverflowError, ValueError, pa.ArrowException) as e:
        raise QueryError(f"column {t.column_names[i]!r} holds a value Python cannot "
                         f"represent ({type(e).__name__}: {e}); use to_arrow()") from None


class Result:
    """The result of one SQL statement.

    >>> import tempfile, mapdb
    >>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
    >>> _ = db.create_table("t", {"k": ["a", "b", "a"], "v": [1, 2, 3]})
    >>> db.sql("SELECT k, sum(v) AS s FROM t GROUP BY k ORDER BY k").fetchall()
    [('a', 4), ('b', 2)]
    """

    def __init__(self, prepared: session.Prepared, workers: int | None = None,
                 fused: bool = True):
        self._p = prepared
        self._workers = workers
        self._fused = fused
        self._table: pa.Table | None = None
        self._ctx = None
        self._seconds: float | None = None
        if prepared.query.explain is not None:
            text = self.explain(analyze=prepared.query.explain == "analyze")
            self._table = pa.table({"explain": pa.array(text.splitlines(), pa.string())})

    def _run(self) -> pa.Table:
        if self._table is None:
            try:
                self._table, self._ctx, self._seconds = session.execute(
                    self._p, self._workers, self._fused)
            finally:
                self._p.close()
        return self._table

    @property
    def columns(self) -> list[str]:
        return list(self._p.query.names) if self._table is None else self._table.column_names

    def to_arrow(self) -> pa.Table:
        return self._run()

    def __arrow_c_stream__(self, requested_schema=None):
        return self._run().__arrow_c_stream__(requested_schema)

    def to_pandas(self):
        return self._run().to_pandas()

    def to_polars(self):
        import polars as pl
        return pl.from_arrow(self._run())

    def fetchall(self) -> list[tuple]:
        t = self._run()
        cols = [_pylist(t, i) for i in range(t.num_columns)]
        return list(zip(*cols, strict=True)) if cols else []

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def explain(self, analyze: bool = False) -> str:
        """The optimized plan; with ``analyze`` the query runs and each operator shows its
        rows, time, bytes touched, blocks skipped, residency and page faults."""
        if analyze:
            if self._ctx is None:
                self._table = None
                self._run()
            return session.explain(self._p, self._ctx, self._seconds)
        return session.explain(self._p)

    def __len__(self) -> int:
        return self._run().num_rows

    def __repr__(self) -> str:
        from mapdb.api.show import text_table
        return text_table(self._run())

    def _repr_html_(self) -> str:
        from mapdb.api.show import html_table
        return html_table(self._run())
