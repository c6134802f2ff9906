"""The one exception type of the ingest layer (defined in mapdb.errors with the others).

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

from mapdb.errors import IngestError

__all__ = ["IngestError"]
