"""Table names to directory names, safely.

A table name is any non-empty Unicode string of at most 128 characters without NUL or
control characters. Its directory is ``t_`` + the name with every byte outside
``[A-Za-z0-9_-]`` percent-encoded, so ``../x``, ``/abs``, ``a/b``, ``.`` and ``..`` all
become plain names inside the database directory. Column files are named by column id,
never by column name, so column names never reach the filesystem.

>>> table_dir_name("flights")
't_flights'
>>> table_dir_name("../etc/passwd")
't_%2E%2E%2Fetc%2Fpasswd'
>>> table_name_from_dir(table_dir_name("a/b c"))
'a/b c'
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote

from mapdb.errors import InvalidNameError

MAX_NAME_CHARS = 128
_PREFIX = "t_"
_SAFE = "_-"  # plus ASCII letters and digits; '.' is encoded so '.' and '..' cannot occur


def check_name(name: object, what: str = "table") -> str:
    """Return ``name`` if it is an acceptable table/column name, else raise InvalidNameError."""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidNameError(f"{what} name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidNameError(f"{what} name is {len(name)} characters long; the limit "
                               f"is {MAX_NAME_CHARS}: {name[:40]!r}...")
    bad = [c for c in name if unicodedata.category(c) in ("Cc", "Cs")]
    if bad:
        raise InvalidNameError(f"{what} name {name!r} contains control character {bad[0]!r}")
    return name


MAX_DIR_BYTES = 255  # NAME_MAX of Linux filesystems


def table_dir_name(name: str) -> str:
    check_name(name)
    encoded = _PREFIX + quote(name, safe=_SAFE).replace(".", "%2E").replace("~", "%7E")
    if len(encoded) > MAX_DIR_BYTES:
        raise InvalidNameError(
            f"table name {name[:40]!r}... encodes to a {len(encoded)}-byte directory name; "
            f"the filesystem allows {MAX_DIR_BYTES} (use fewer non-alphanumeric characters)")
    return encoded


def table_name_from_dir(dirname: str) -> str | None:
    """The table name a directory holds, or None if it is not a table directory."""
    if not dirname.startswith(_PREFIX) or not re.fullmatch(r"[A-Za-z0-9_%-]+", dirname):
        return None
    return unquote(dirname[len(_PREFIX):])
