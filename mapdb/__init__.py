"""mapdb: an embeddable columnar engine over memory-mapped Arrow-layout column files.

>>> import tempfile, mapdb
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> db.create_table("t", {"x": [1, 2]}).to_arrow().column("x").to_pylist()
[1, 2]
>>> db["t"].filter(mapdb.col("x") > 1).collect().to_pydict()
{'x': [2]}
"""

from typing import TYPE_CHECKING

from mapdb import errors
from mapdb.errors import (
    ConstraintError,
    CorruptionError,
    IndexWarning,
    IngestError,
    InvalidNameError,
    InvalidOptionError,
    LockedError,
    MapdbError,
    MemoryLimitError,
    NotFoundError,
    PinWarning,
    PoisonedWriterError,
    QueryError,
    ReadOnlyError,
    SchemaError,
    StorageError,
    TableDroppedError,
    TruncatedFileError,
)

__version__ = "0.1.0"
# the API (imported on first use) and every exception (mapdb.errors)
__all__ = [
    "Column", "ConstraintError", "CorruptionError", "Database", "IndexWarning", "IngestError",
    "InvalidNameError", "InvalidOptionError", "LazyFrame", "LockedError", "MapdbError",
    "MemoryLimitError", "NotFoundError", "PinWarning", "PoisonedWriterError", "QueryError",
    "ReadOnlyError", "SchemaError", "StorageError", "Table", "TableDroppedError",
    "TruncatedFileError", "col", "connect", "count", "dense_rank", "errors", "lit", "rank",
    "row_number", "sql",
]

if TYPE_CHECKING:
    from mapdb.api import Column, Database, Table, connect, sql
    from mapdb.api.frame import LazyFrame, col, count, dense_rank, lit, rank, row_number


# DB-API 2.0 (PEP 249; mapdb.api.dbapi): connect() returns the connection
apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections or cursors
paramstyle = "qmark"  # ? placeholders; $1 and $name are accepted too
_PEP249_ERRORS = ("Error", "DatabaseError", "InterfaceError", "OperationalError",
                  "ProgrammingError", "DataError", "IntegrityError", "InternalError",
                  "NotSupportedError", "Warning")
_DBAPI = ("STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Date", "Time", "Timestamp",
          "Binary", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks")


def __getattr__(name: str):
    # The API is imported on first use, so `import mapdb.storage` (and the CLI's --help)
    # do not pay for the whole stack.
    if name in ("Column", "Database", "Table", "connect", "sql"):
        import mapdb.api
        return getattr(mapdb.api, name)
    if name in ("LazyFrame", "col", "count", "dense_rank", "lit", "rank", "row_number"):
        import mapdb.api.frame
        return getattr(mapdb.api.frame, name)
    if name in _PEP249_ERRORS:  # PEP 249's exception names
        return getattr(errors, name)
    if name in _DBAPI:  # PEP 249's type objects and constructors
        import mapdb.api.dbapi
        return getattr(mapdb.api.dbapi, name)
    raise AttributeError(f"module 'mapdb' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API (the lazily imported names included)."""
    return sorted({*__all__, "__version__", "apilevel", "threadsafety", "paramstyle",
                   *_PEP249_ERRORS, *_DBAPI})
