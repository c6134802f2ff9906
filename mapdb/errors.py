"""mapdb's exceptions: every failure a user can cause or meet is one of these, all
defined here and importable from ``mapdb`` itself (``mapdb.QueryError``).

Outside the layer stack (any layer may raise them), so it imports nothing of mapdb.
PEP 249's names are aliases of the closest class (``Error`` is MapdbError, a DB-API
consumer's ``except module.Error`` catches everything mapdb raises).

>>> import mapdb
>>> issubclass(mapdb.QueryError, mapdb.MapdbError), mapdb.Error is mapdb.MapdbError
(True, True)
"""


class MapdbError(Exception):
    """Base class of every mapdb error."""


class QueryError(MapdbError):
    """A statement that cannot be bound or run; ``position`` is the offset in the SQL text
    (the message then ends with its line and column)."""

    def __init__(self, message: str, position: int | None = None, sql: str | None = None):
        self.position = position
        if position is not None and sql is not None:
            line = sql.count("\n", 0, position) + 1
            col = position - (sql.rfind("\n", 0, position) + 1) + 1
            message = f"{message} (line {line}, column {col})"
        super().__init__(message)


class MemoryLimitError(QueryError):
    """A query whose operators needed more memory than the connection's ``memory_limit``
    (the message names the operator and the limit)."""


class IngestError(MapdbError):
    """Bad input: carries ``file``, ``line`` (1-based or ``None``), ``column`` and ``reason``.

    ``str(err)`` is ``file:line: column 'name': reason`` with unknown parts omitted (see
    mapdb.ingest.errors for examples).
    """

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None,
                 column: str | None = None) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        head = ""
        if self.file is not None:
            head = self.file if self.line is None else f"{self.file}:{self.line}"
        elif self.line is not None:
            head = f"line {self.line}"
        parts = [head] if head else []
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        parts.append(self.reason)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self):
        # Keyword-only constructor arguments are not restored by the default pickling of
        # exceptions (it replays ``args``); worker processes must be able to send these.
        return (_rebuild_ingest_error, (self.reason, self.file, self.line, self.column))


def _rebuild_ingest_error(reason: str, file: str | None, line: int | None,
                          column: str | None) -> IngestError:
    return IngestError(reason, file=file, line=line, column=column)


class StorageError(MapdbError):
    """A storage operation failed (I/O, space, limits)."""


class CorruptionError(StorageError):
    """A file is damaged or is not the file the manifest names."""


class TruncatedFileError(CorruptionError):
    """A mapped file shrank while it was being read (SIGBUS contained by the extension):
    the work that read it was abandoned. ``paths`` names the files."""

    def __init__(self, message: str, paths: list[str] | None = None):
        super().__init__(message)
        self.paths = paths or []


class LockedError(StorageError):
    """Another process holds the table's writer lock."""

    def __init__(self, message: str, pid: int | None = None):
        super().__init__(message)
        self.pid = pid


class PoisonedWriterError(StorageError):
    """A sync failed earlier; this writer refuses to write until the table is reopened."""


class SchemaError(MapdbError):
    """Data does not fit the table's schema, or a type is not supported."""


class ConstraintError(MapdbError):
    """Data breaks a declared constraint (a unique index met a repeated value)."""


class InvalidNameError(MapdbError):
    """A table or column name that mapdb refuses (empty, too long, NUL, ...)."""


class NotFoundError(MapdbError, KeyError):
    """No such table or column."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class TableDroppedError(NotFoundError):
    """The table a handle was opened on was dropped (and perhaps created again under the
    same name): a handle never reads from or writes to a later table of that name."""


class ReadOnlyError(MapdbError):
    """A write was attempted through a read-only connection."""


class IndexWarning(UserWarning):
    """An index was dropped or could not be used (the message says why)."""


class PinWarning(UserWarning):
    """Files could not be pinned in RAM (mlock refused); they keep working unpinned.

    Issued once per process; the message names RLIMIT_MEMLOCK and how to raise it."""


class InvalidOptionError(MapdbError, ValueError):
    """An option value mapdb does not know (e.g. a durability mode); the message lists the
    valid ones."""


# PEP 249 (DB-API 2.0) names, for code written against any DB-API module
Error = MapdbError
DatabaseError = MapdbError
InterfaceError = InvalidOptionError
OperationalError = StorageError
ProgrammingError = QueryError
DataError = IngestError
IntegrityError = ConstraintError
InternalError = CorruptionError
NotSupportedError = QueryError
Warning = IndexWarning  # the PEP's name (shadows the builtin here only)
