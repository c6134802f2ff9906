"""The database's temporary files: what a query's operators spill when their state does
not fit its memory_limit (query/spill.py), in ``<db>/tmp``.

Each file is named ``<kind>-<pid>-<hex>.arrow`` by the process that writes it, and that
process removes it when the operator is done (on success and on failure). A process
killed meanwhile leaves its files behind: the next writable open of the database removes
those of dead processes (and anything else in the directory that no live process could
own), never those of a live process spilling now.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid

from mapdb.storage import fileops

TMP_DIR = "tmp"
_NAME = re.compile(r"[a-z]+-(\d+)-[0-9a-f]+\.arrow")


def tmp_dir(db_dir: str) -> str:
    return os.path.join(db_dir, TMP_DIR)


def new_path(directory: str, kind: str) -> str:
    """A fresh file name for this process in ``directory`` (created if absent)."""
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"{kind}-{os.getpid()}-{uuid.uuid4().hex[:12]}.arrow")


def remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def remove_dead(directory: str) -> int:
    """Remove the files a dead process left in ``directory``; how many were removed."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0
    removed = 0
    for name in names:
        m = _NAME.fullmatch(name)
        if m is not None and fileops.pid_alive(int(m.group(1))):
            continue
        p = os.path.join(directory, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(p)
        removed += 1
    return removed
