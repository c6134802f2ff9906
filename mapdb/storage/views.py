"""Views stored in the database: one small JSON file per view, visible to every process.

``DB/views/v_<encoded name>.json`` holds ``{"name": ..., "sql": ..., "created": ...}``
(the name encoded as table directories are, see storage.names). A view is created by
writing a temp file and linking it to its name (``link`` fails if the name exists: CREATE
VIEW without OR REPLACE never overwrites) or renaming it over the old one (OR REPLACE);
dropped by unlinking. Each step is atomic, so a reader sees the old definition or the new
one, never half of one. The SQL text is stored as written; binding it is the query
layer's business (a view over a table dropped later fails when it is used).

>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> create(d, "recent", "SELECT * FROM t WHERE x > 1")
>>> load(d)
{'recent': 'SELECT * FROM t WHERE x > 1'}
>>> drop(d, "recent"); load(d)
{}
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid

from mapdb.errors import CorruptionError, NotFoundError, StorageError
from mapdb.storage import fileops
from mapdb.storage.names import table_dir_name

VIEWS = "views"


def _path(db_dir: str, name: str) -> str:
    return os.path.join(db_dir, VIEWS, "v_" + table_dir_name(name)[2:] + ".json")


def create(db_dir: str, name: str, sql: str, replace: bool = False,
           sync: bool = True) -> None:
    """Store view ``name`` (StorageError if it exists, unless ``replace``)."""
    d = os.path.join(db_dir, VIEWS)
    os.makedirs(d, exist_ok=True)
    final = _path(db_dir, name)
    tmp = os.path.join(d, f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    body = json.dumps({"name": name, "sql": sql, "created": time.time()}).encode()
    fileops.write_file(tmp, body, sync=sync)
    try:
        if replace:
            fileops.rename(tmp, final)
        else:
            try:
                os.link(tmp, final)
            except FileExistsError:
                raise StorageError(f"view {name!r} already exists (CREATE OR REPLACE VIEW "
                                   f"replaces it)") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if sync:
        fileops.fsync_dir(d)


def drop(db_dir: str, name: str, missing_ok: bool = False, sync: bool = True) -> None:
    try:
        os.unlink(_path(db_dir, name))
    except FileNotFoundError:
        if missing_ok:
            return
        raise NotFoundError(f"no view {name!r}") from None
    if sync:
        fileops.fsync_dir(os.path.join(db_dir, VIEWS))


def load(db_dir: str) -> dict[str, str]:
    """Every view: name -> SQL text (a damaged file is a CorruptionError naming it)."""
    d = os.path.join(db_dir, VIEWS)
    try:
        names = sorted(os.listdir(d))
    except FileNotFoundError:
        return {}
    out = {}
    for f in names:
        if not (f.startswith("v_") and f.endswith(".json")):
            continue
        path = os.path.join(d, f)
        try:
            with open(path, "rb") as fh:
                j = json.loads(fh.read())
            out[str(j["name"])] = str(j["sql"])
        except FileNotFoundError:
            continue  # dropped meanwhile
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CorruptionError(f"{path}: unreadable view definition ({e})") from None
    return out


def remove_leftovers(db_dir: str) -> None:
    """Temp files of view writes that died (the next writable open calls this)."""
    d = os.path.join(db_dir, VIEWS)
    with contextlib.suppress(FileNotFoundError):
        for f in os.listdir(d):
            if f.startswith(".tmp-"):
                pid = f.split("-")[1]
                if pid.isdigit() and not fileops.pid_alive(int(pid)):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(d, f))

