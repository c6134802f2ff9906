"""A database: a directory of table directories, plus a marker file."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import replace

import pyarrow as pa

from mapdb.errors import (
    InvalidOptionError,
    NotFoundError,
    ReadOnlyError,
    StorageError,
    TableDroppedError,
)
from mapdb.storage import durability as durability_mod
from mapdb.storage import fileops, manifest, names, table, tmpfiles, views
from mapdb.storage.durability import Durability
from mapdb.storage.lock import WriterLock
from mapdb.storage.manifest import new_table_manifest
from mapdb.storage.table import Snapshot, Writer

MARKER = "mapdb.json"


MTIME_TRUST_NS = 50_000_000  # see latest_version


class DatabaseStore:
    """Opens (and unless read-only, creates) the database at ``path``.

    ``durability`` (storage.durability: "full", "os", "none") is the default mode of the
    writes through this object; None: the one ``mapdb.json`` records, else full.
    """

    def __init__(self, path: str | os.PathLike, readonly: bool = False,
                 durability: str | None = None):
        if not os.fspath(path):
            raise InvalidOptionError("the database path is empty; name a directory "
                                     "(\".\" for the current one)")
        self.path = os.path.abspath(os.fspath(path))
        self.readonly = readonly
        self.durability_arg = None if durability is None else durability_mod.check(durability)
        self._latest: dict[str, tuple] = {}  # manifests dir -> (dir stamp, latest_version)
        self._dirs: dict[str, str] = {}  # table name -> its directory
        try:
            self._open_or_create()
            if not readonly:
                self._remove_dead_staging()
                views.remove_leftovers(self.path)
                tmpfiles.remove_dead(self.tmp_dir)  # spill files of a crashed query
        except OSError as e:
            what = "open" if readonly else "open or create"
            raise StorageError(f"{self.path}: cannot {what} the database: "
                               f"{e.strerror or e}") from None
        self.persisted_durability = self._read_marker().get("durability")

    @property
    def tmp_dir(self) -> str:
        """Where queries spill operator state that does not fit their memory_limit
        (storage.tmpfiles)."""
        return tmpfiles.tmp_dir(self.path)

    def _open_or_create(self) -> None:
        if os.path.islink(self.path) and not os.path.isdir(self.path):
            raise StorageError(f"{self.path}: is a symlink to nothing a database can be "
                               f"(a loop, or a missing target)")
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise StorageError(f"{self.path}: is a file, not a database directory")
        marker = os.path.join(self.path, MARKER)
        if not os.path.exists(marker):
            if self.readonly:
                raise NotFoundError(f"{self.path}: no mapdb database here")
            if os.path.isdir(self.path) and os.listdir(self.path):
                raise StorageError(f"{self.path}: directory exists, is not empty and is not a "
                                   f"mapdb database; refusing to write into it")
            os.makedirs(self.path, exist_ok=True)
            tmp = os.path.join(self.path, f".{MARKER}.tmp-{os.getpid()}")
            fileops.write_file(tmp, json.dumps({"format": "mapdb", "version": 1}).encode())
            fileops.rename(tmp, marker)
            fileops.fsync_dir(self.path)

    # -- durability ----------------------------------------------------------------------
    def _read_marker(self) -> dict:
        """mapdb.json as a dict ({} if unreadable: it only marks the directory, and a
        durability setting lost with it falls back to the safe default, full)."""
        try:
            with open(os.path.join(self.path, MARKER), "rb") as f:
                j = json.loads(f.read())
        except (OSError, ValueError):
            return {}
        return j if isinstance(j, dict) else {}

    def durability(self, per_call: str | None = None) -> Durability:
        """The mode of a write: ``per_call``, else this object's, else mapdb.json's, else
        full (InvalidOptionError for an unknown name, naming where it came from)."""
        if per_call is not None:
            return durability_mod.resolve(per_call)
        if self.durability_arg is not None:
            return durability_mod.resolve(self.durability_arg)
        if self.persisted_durability is not None:
            durability_mod.check(self.persisted_durability,
                                 f"{os.path.join(self.path, MARKER)}: durability")
        return durability_mod.resolve(self.persisted_durability)

    def set_durability(self, mode: str | None) -> None:
        """Record ``mode`` as the database's default in mapdb.json (None: remove it, so
        full). Always written durably (temp file, fsync, rename, directory fsync)."""
        self._writable()
        if mode is not None:
            durability_mod.check(mode)
        marker = self._read_marker() or {"format": "mapdb", "version": 1}
        marker.pop("durability", None)
        if mode is not None:
            marker["durability"] = mode
        self._write_marker(marker)
        self.persisted_durability = mode

    def _write_marker(self, marker: dict) -> None:
        final = os.path.join(self.path, MARKER)
        tmp = os.path.join(self.path, f".{MARKER}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            fileops.write_file(tmp, json.dumps(marker).encode())
            fileops.rename(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fileops.fsync_dir(self.path)

    def _remove_dead_staging(self) -> None:
        """New tables are built in .tmp-<pid>-* directories and dropped ones deleted from
        .trash-<pid>-*: a dead pid's are leftovers (.trash-<hex>, from before the pid was
        in the name, always are)."""
        for name in os.listdir(self.path):
            m = re.fullmatch(r"\.(tmp|trash)-(\d+)-[0-9a-f]+", name)
            dead = m is not None and not fileops.pid_alive(int(m.group(2)))
            if dead or re.fullmatch(r"\.trash-[0-9a-f]{32}", name):
                shutil.rmtree(os.path.join(self.path, name), ignore_errors=True)
            m = re.fullmatch(rf"\.{re.escape(MARKER)}\.tmp-(\d+)(-[0-9a-f]+)?", name)
            if m and not fileops.pid_alive(int(m.group(1))):  # a marker rewrite that died
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.path, name))

    def table_dir(self, name: str) -> str:
        d = self._dirs.get(name)
        if d is None:  # percent-encoding the name costs more than the rest of a lookup
            d = self._dirs[name] = os.path.join(self.path, names.table_dir_name(name))
        return d

    def tables(self) -> list[str]:
        out = []
        for d in sorted(os.listdir(self.path)):
            n = names.table_name_from_dir(d)
            if n is not None and manifest.versions(os.path.join(self.path, d, "manifests")):
                out.append(n)
        return sorted(out)

    def exists(self, name: str) -> bool:
        return self.latest_version(name) is not None

    def latest_version(self, name: str) -> tuple[int, int, int] | None:
        """Identity of a table's newest committed version: (version, inode and mtime of its
        manifest), so a table dropped and created again never matches an old one. A stat
        of the manifests directory when it has not changed since the last call (point
        queries call this on every statement); else a listing and a stat. No pin."""
        d = os.path.join(self.table_dir(name), "manifests")
        try:
            dst = os.stat(d)
        except FileNotFoundError:
            return None
        stamp = (dst.st_ino, dst.st_mtime_ns)
        known = self._latest.get(d)
        if known is not None and known[0] == stamp:
            return known[1]
        for _ in range(20):
            vs = manifest.versions(d)
            if not vs:
                return None
            try:
                st = os.stat(manifest.manifest_path(d, vs[-1]))
                break
            except FileNotFoundError:
                # reclaimed since the listing, which missed the newer one renamed in
                # meanwhile (readdir of a changing hashed directory): list again
                continue
        else:
            return None
        ident = (vs[-1], st.st_ino, st.st_mtime_ns)
        # Trust the directory's mtime only once it is well in the past: file systems stamp
        # it from a coarse clock (a tick of up to ~10 ms), so a commit in the same tick as
        # this listing could leave it unchanged; any later one stamps a newer time.
        if time.time_ns() - dst.st_mtime_ns > MTIME_TRUST_NS:
            self._latest[d] = (stamp, ident)
        return ident

    def snapshot(self, name: str, version: int | None = None) -> Snapshot:
        if not self.exists(name):
            raise NotFoundError(f"no table {name!r} in {self.path} (tables: "
                                f"{', '.join(self.tables()) or 'none'})")
        return Snapshot(self.table_dir(name), name, version)

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(f"{self.path} was opened read-only")

    def _lock(self, name: str, timeout: float, dropped: bool = False
              ) -> tuple[str, WriterLock]:
        """Take the writer lock of an existing table: (its directory, the lock).
        ``dropped``: a missing table is a TableDroppedError (the caller had opened it)."""
        self._writable()
        d = self.table_dir(name)
        if os.path.islink(d):
            raise StorageError(f"{d}: the table's directory is a symlink; mapdb never "
                               f"writes through symlinks inside a database")
        if not self.exists(name):
            if dropped:
                raise TableDroppedError(f"table {name!r} was dropped")
            raise NotFoundError(f"no table {name!r} in {self.path}")
        return d, WriterLock(os.path.join(d, "LOCK"), f"table {name!r}", timeout)

    def writer(self, name: str, timeout: float = 0.0,
               durability: str | Durability | None = None,
               table_id: bytes | None = None) -> Writer:
        """The writer of an existing table (holds its lock until closed); ``durability``:
        its mode (default: see ``durability()``); ``table_id``: the incarnation the caller
        saw (a table dropped and created again meanwhile is a TableDroppedError)."""
        mode = self.durability(durability)
        d, lock = self._lock(name, timeout, dropped=table_id is not None)
        try:
            table.reclaim(d)  # leftovers of a crashed writer
            snap = Snapshot(d, name)
            base = snap.manifest
            snap.close()
            if table_id is not None and base.table_id != table_id:
                raise TableDroppedError(f"table {name!r} was dropped and created again "
                                        f"since it was opened; nothing was written to the "
                                        f"new table")
        except BaseException:
            lock.release()
            raise
        return Writer(d, name, base, lock, durability=mode)

    def create_writer(self, name: str, schema: pa.Schema, first: pa.RecordBatch | None = None,
                      dictionary: str | list[str] | None = "auto",
                      durability: str | Durability | None = None,
                      not_null: tuple[str, ...] | list[str] = (),
                      defaults: dict[str, str] | None = None) -> Writer:
        """A writer that builds a new table aside and publishes it on commit.
        ``not_null``: columns that refuse nulls; ``defaults``: column -> the SQL text of
        its DEFAULT (recorded in the schema, see segment.ColumnSpec)."""
        self._writable()
        mode = self.durability(durability)
        if self.exists(name):
            raise StorageError(f"table {name!r} already exists")
        if name in self.views():
            raise StorageError(f"{name!r} is a view (tables and views share one namespace)")
        specs = table.choose_schema(schema, first, dictionary, first_id=1)
        if not_null or defaults:
            specs = [replace(c, not_null=c.name in not_null,
                             default=(defaults or {}).get(c.name)) for c in specs]
        base = replace(new_table_manifest(specs), next_id=len(specs) + 1)
        work = table.staging_dir(self.path)
        try:
            table.make_table_dirs(work)
            # locked before anyone can see it: the lock file moves with the directory when
            # it is published, so no other writer can slip in between rename and lock
            lock = WriterLock(os.path.join(work, "LOCK"), f"table {name!r}")
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return Writer(self.table_dir(name), name, base, lock, new_table_dir=work,
                      durability=mode)

    def rename_table(self, name: str, new_name: str, timeout: float = 0.0) -> None:
        """ALTER TABLE name RENAME TO new_name: the directory is renamed under the writer
        lock (its identity, ``table_id``, goes with it; readers of the old name see it
        gone). StorageError if ``new_name`` is taken by a table or a view."""
        names.check_name(new_name)
        d, lock = self._lock(name, timeout)
        try:
            target = self.table_dir(new_name)
            if self.exists(new_name) or os.path.lexists(target):
                raise StorageError(f"cannot rename table {name!r} to {new_name!r}: a table "
                                   f"of that name exists")
            if new_name in self.views():
                raise StorageError(f"cannot rename table {name!r} to {new_name!r}: a view "
                                   f"of that name exists")
            fileops.rename(d, target)
            if self.durability().sync:
                fileops.fsync_dir(self.path)
        finally:
            lock.release()

    # -- views ---------------------------------------------------------------------------
    def views(self) -> dict[str, str]:
        """Every view stored in the database: name -> its SQL text (storage.views)."""
        return views.load(self.path)

    def create_view(self, name: str, sql: str, replace: bool = False) -> None:
        self._writable()
        names.check_name(name, "view")
        if self.exists(name):
            raise StorageError(f"{name!r} is a table (tables and views share one namespace)")
        views.create(self.path, name, sql, replace, sync=self.durability().sync)

    def drop_view(self, name: str, missing_ok: bool = False) -> None:
        self._writable()
        views.drop(self.path, name, missing_ok, sync=self.durability().sync)

    def drop_table(self, name: str, timeout: float = 0.0) -> None:
        """Remove the table (waiting up to ``timeout`` s for its writer). Its directory is
        renamed aside under the lock (the drop is that rename), then deleted; a drop killed
        midway leaves ``.trash-<pid>-*``, removed by the next writable open."""
        d, lock = self._lock(name, timeout)
        try:
            trash = os.path.join(self.path, f".trash-{os.getpid()}-{uuid.uuid4().hex[:12]}")
            fileops.rename(d, trash)
            if self.durability().sync:
                fileops.fsync_dir(self.path)
        finally:
            lock.release()
        fileops.crash_point("after-drop-rename")
        shutil.rmtree(trash, ignore_errors=True)  # readers' open mappings stay valid

