"""The one exception type of the ingest layer.

Every failure that is the input's fault (a missing file, an unknown extension, a ragged CSV
row, a value that does not parse) is an :class:`IngestError` that says *where*: the file,
the 1-based line (for text formats), and the column. The message reads like a compiler
diagnostic so that editors and terminals can jump to it:

>>> err = IngestError("cannot parse 'abc' as int64", file="flights.csv", line=1234,
...                   column="dep_time")
>>> str(err)
"flights.csv:1234: column 'dep_time': cannot parse 'abc' as int64"
>>> err.file, err.line, err.column, err.reason
('flights.csv', 1234, 'dep_time', "cannot parse 'abc' as int64")

Parts that are unknown are left out:

>>> str(IngestError("no such file or directory", file="missing.csv"))
'missing.csv: no such file or directory'
>>> str(IngestError("cannot cast 300 to int8", column="x"))
"column 'x': cannot cast 300 to int8"
"""

from __future__ import annotations

from mapdb.errors import MapdbError

__all__ = ["IngestError"]


class IngestError(MapdbError):
    """Bad input: carries ``file``, ``line`` (1-based or ``None``), ``column`` and ``reason``.

    ``str(err)`` is ``file:line: column 'name': reason`` with unknown parts omitted.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
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
        return (_rebuild, (self.reason, self.file, self.line, self.column))


def _rebuild(reason: str, file: str | None, line: int | None, column: str | None) -> IngestError:
    return IngestError(reason, file=file, line=line, column=column)
