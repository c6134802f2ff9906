"""CSV and JSON files as tables in queries (``FROM 'x.csv'``, ``read_csv``, ``read_json``):
the query layer may not import the ingest layer, so the readers it needs are registered
here (mapdb.query.files.READERS). CSV is sniffed as DuckDB's read_csv sniffs it (the empty
field is NULL, as DuckDB); JSON is read one object per line.

>>> import tempfile, pathlib, mapdb
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_text("k,day\\n1,2024-01-02\\n2,\\n")
>>> db = mapdb.connect(str(d / "db"))
>>> db.sql(f"SELECT k, day FROM '{d}/a.csv' ORDER BY k").fetchall()
[(1, datetime.date(2024, 1, 2)), (2, None)]
"""

from __future__ import annotations

import pyarrow as pa

from mapdb.errors import MapdbError
from mapdb.ingest import expand_sources, open_source
from mapdb.query import files
from mapdb.query.types import QueryError


def read_files(paths: list[str], fmt: str) -> pa.Table:
    """The rows of ``paths`` (files of format ``fmt``, "csv" or "ndjson") as one table; a
    QueryError naming the file that cannot be read or whose columns differ."""
    tables: list[pa.Table] = []
    for path in paths:
        # as DuckDB: the first file's types for every file (sniffed once)
        types = dict(zip(tables[0].column_names, tables[0].schema.types, strict=True)) \
            if tables else None
        try:
            [src] = expand_sources([path], fmt)
            with open_source(src, null_values=[""], schema_overrides=types) as stream:
                tables.append(stream.read_all())
        except (MapdbError, OSError, pa.ArrowException) as e:
            raise QueryError(f'cannot read "{path}": {e}') from None
        if not tables[-1].schema.equals(tables[0].schema):
            raise QueryError(f'"{path}" does not have the columns of "{paths[0]}" (files '
                             "of different columns are not supported)")
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _json(paths: list[str]) -> pa.Table:
    table = read_files(paths, "ndjson")
    for f in table.schema:
        # DuckDB reads a JSON string as a DATE or TIMESTAMP by its format; pyarrow's
        # inference does not tell those apart: refused rather than typed differently
        if pa.types.is_timestamp(f.type):
            raise QueryError(f'"{paths[0]}", field "{f.name}": dates and timestamps in '
                             "JSON files are not supported (DuckDB types them by format)")
    return table


files.READERS["csv"] = lambda paths: read_files(paths, "csv")
files.READERS["json"] = _json
