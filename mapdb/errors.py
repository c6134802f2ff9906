"""mapdb's exceptions: every failure a user can cause or meet is one of these.

Outside the layer stack (any layer may raise them), so it imports nothing of mapdb.
"""


class MapdbError(Exception):
    """Base class of every mapdb error."""


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
