"""Reads of files that shrank under their mappings (RELIABILITY.md item 8).

mapdb never truncates a committed file, but another process can. A read-only mapping's
pages past the new end would raise SIGBUS and kill the process; the extension contains
that (ext/mapdb_sigbus.h): the page reads as zeros and the event is recorded. Whoever
reads mapped data checks the record around the work with :func:`events` and
:func:`check`, so an answer built from those zeros is never returned.

>>> import os, tempfile, numpy as np
>>> from mapdb import _ext
>>> p = os.path.join(tempfile.mkdtemp(), "f")
>>> with open(p, "wb") as f: _ = f.write(bytes(8192))
>>> m = _ext.Mapping(p); a = np.frombuffer(m, np.uint8)
>>> before = events(); os.truncate(p, 4096)
>>> int(a[5000])                        # past the new end: contained, reads 0
0
>>> check(before, "reading f")
Traceback (most recent call last):
...
mapdb.errors.TruncatedFileError: .../f: the file shrank while it was mapped ... abandoned...
"""

from __future__ import annotations

from mapdb import _ext
from mapdb.errors import TruncatedFileError


def events() -> int:
    """A counter of contained SIGBUS faults: take it before reading mapped data."""
    return _ext.sigbus_events()


def check(since: int, what: str) -> None:
    """TruncatedFileError naming the files when a fault was contained after ``since``."""
    if _ext.sigbus_events() == since:
        return
    paths = _ext.damaged_since(since) or ["a mapped file"]
    raise TruncatedFileError(
        f"{', '.join(paths)}: the file shrank while it was mapped (truncated by another "
        f"process?); {what} read zeros past its new end and was abandoned. Reopen the "
        f"table; `mapdb verify` names what is damaged", paths)
