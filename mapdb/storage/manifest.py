"""Versioned manifests: the one place that says what a table version contains.

``manifests/v<version>.json`` (12 digits) is written once: temp file, fsync, rename to its
final name, fsync the directory (the fsyncs only in durability mode full, see
storage.durability). The rename is the commit point; the table's current
version is the highest-numbered manifest. A reader pins the version it opened by holding a
shared ``flock`` on that manifest file; reclamation deletes an old version only after
taking an exclusive lock on it, so no reader can lose files it still needs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import time
import uuid
import zlib
from dataclasses import dataclass, field, replace

from mapdb.errors import CorruptionError, MapdbError, NotFoundError, StorageError
from mapdb.storage import fileops
from mapdb.storage.dictionary import DictChunk
from mapdb.storage.indexmeta import IndexMeta
from mapdb.storage.segment import ColumnSpec, SegmentMeta

FORMAT = "mapdb-manifest-1"
_NAME = re.compile(r"v(\d{12})\.json")
MAX_JOB_IDS = 10_000  # job ids remembered for idempotent reruns


@dataclass(frozen=True)
class Manifest:
    version: int
    table_id: bytes
    schema: list[ColumnSpec]
    segments: list[SegmentMeta]
    dictionaries: dict[int, list[DictChunk]] = field(default_factory=dict)
    next_id: int = 1  # next segment / dictionary chunk id
    jobs: list[str] = field(default_factory=list)
    created: float = 0.0
    indexes: list[IndexMeta] = field(default_factory=list)
    # the durability mode this version was committed in: anything but "full" means its
    # files may not be on disk yet (a later full commit syncs them first; see Writer)
    durability: str = "full"

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.segments)

    def column(self, name: str) -> ColumnSpec:
        for c in self.schema:
            if c.name == name:
                return c
        raise NotFoundError(f"no column {name!r} (columns: "
                            f"{', '.join(c.name for c in self.schema)})")

    def index(self, name: str) -> IndexMeta:
        for i in self.indexes:
            if i.name == name:
                return i
        raise NotFoundError(f"no index {name!r} (indexes: "
                            f"{', '.join(i.name for i in self.indexes) or 'none'})")

    def indexes_on(self, column_id: int, kind: str | None = None) -> list[IndexMeta]:
        return [i for i in self.indexes
                if i.column == column_id and (kind is None or i.kind == kind)]

    def dictionary_length(self, column_id: int) -> int:
        return sum(c.count for c in self.dictionaries.get(column_id, []))

    def successor(self, **changes) -> Manifest:
        return replace(self, version=self.version + 1, created=time.time(), **changes)

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT, "version": self.version, "table_id": self.table_id.hex(),
            "created": self.created, "schema": [c.to_json() for c in self.schema],
            "segments": [s.to_json() for s in self.segments],
            "dictionaries": {str(k): [c.to_json() for c in v]
                             for k, v in self.dictionaries.items()},
            "next_id": self.next_id, "jobs": self.jobs[-MAX_JOB_IDS:],
        }
        if self.indexes:  # absent when empty: older readers read index-free tables
            body["indexes"] = [i.to_json() for i in self.indexes]
        if self.durability != "full":  # absent for full commits (the format before modes)
            body["durability"] = self.durability
        text = json.dumps(body, separators=(",", ":"), sort_keys=True)
        return json.dumps({"crc32": zlib.crc32(text.encode()), "body": body},
                          separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes, path: str) -> Manifest:
        try:
            outer = json.loads(data)
            body = outer["body"]
            text = json.dumps(body, separators=(",", ":"), sort_keys=True)
            if zlib.crc32(text.encode()) != outer["crc32"]:
                raise CorruptionError(f"{path}: manifest checksum mismatch")
            if body["format"] != FORMAT:
                raise CorruptionError(f"{path}: manifest format {body['format']!r}; this "
                                      f"mapdb reads {FORMAT!r}")
            return cls(
                version=int(body["version"]), table_id=bytes.fromhex(body["table_id"]),
                schema=[ColumnSpec.from_json(c) for c in body["schema"]],
                segments=[SegmentMeta.from_json(s) for s in body["segments"]],
                dictionaries={int(k): [DictChunk.from_json(c) for c in v]
                              for k, v in body["dictionaries"].items()},
                next_id=int(body["next_id"]), jobs=list(body["jobs"]),
                created=float(body["created"]),
                indexes=[IndexMeta.from_json(i) for i in body.get("indexes", [])],
                durability=str(body.get("durability", "full")))
        except CorruptionError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, MapdbError) as e:
            raise CorruptionError(f"{path}: unreadable manifest ({type(e).__name__}: {e})"
                                  ) from None


def new_table_manifest(schema: list[ColumnSpec]) -> Manifest:
    """The (uncommitted) version 0 of a new table; its first commit is version 1."""
    return Manifest(version=0, table_id=uuid.uuid4().bytes, schema=schema, segments=[],
                    created=time.time())


def manifest_path(manifests_dir: str, version: int) -> str:
    return os.path.join(manifests_dir, f"v{version:012d}.json")


def versions(manifests_dir: str) -> list[int]:
    """Committed versions, oldest first (temp files are ignored); none if the directory is
    missing (a dropped table).

    A listing that runs while a writer renames its new manifest into place and then
    deletes the old one may miss the new one (readdir of a hashed directory returns an
    entry added meanwhile zero or one times) and still name the old one, or name neither:
    an empty listing is taken again before it is believed, and callers that find the
    newest listed version gone list again.
    """
    for _ in range(5):
        try:
            names = os.listdir(manifests_dir)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as e:
            raise StorageError(f"{manifests_dir}: cannot list the table's versions "
                               f"({e.strerror})") from None
        found = sorted(int(m.group(1)) for n in names if (m := _NAME.fullmatch(n)))
        if found:
            return found
    return []


def commit(manifests_dir: str, m: Manifest, sync: bool = True, writeback: bool = True) -> None:
    """Publish ``m`` atomically: after this returns the version is durable (with ``sync``;
    without, it is visible to every process and survives this one's death, but reaches
    the disk whenever the kernel writes it back: durability modes os and none; with
    ``writeback`` (os) that write-back starts before the rename, which narrows the window
    in which the rename can reach the disk before the manifest's bytes)."""
    final = manifest_path(manifests_dir, m.version)
    tmp = f"{final}.tmp-{os.getpid()}"
    fileops.crash_point("before-manifest")
    fileops.write_file(tmp, m.to_bytes(), sync=sync, writeback=writeback)
    fileops.crash_point("after-temp-manifest")
    if os.path.exists(final):  # only a second writer could do this; the lock forbids it
        os.unlink(tmp)
        raise CorruptionError(f"{final}: version {m.version} already exists")
    fileops.rename(tmp, final)
    fileops.crash_point("after-rename")
    if sync:
        try:
            fileops.fsync_dir(manifests_dir)
        except OSError:
            # not known to be durable: take it back so no reader starts on it (the caller
            # poisons the writer; a reopen finds the last durable version)
            with contextlib.suppress(OSError):
                os.unlink(final)
            raise
    fileops.crash_point("after-dir-fsync")  # (in every mode, where the fsync would be)


class Pin:
    """A reader's hold on one version: a shared flock on its manifest file."""

    def __init__(self, manifests_dir: str, version: int | None = None, timeout: float = 5.0):
        self.fd = -1
        deadline = time.monotonic() + timeout
        while True:
            vs = versions(manifests_dir)
            if not vs:
                if not os.path.isdir(manifests_dir):  # the table was dropped meanwhile
                    raise NotFoundError(f"{manifests_dir}: no such table")
                raise CorruptionError(f"{manifests_dir}: no committed manifest")
            v = version if version is not None else vs[-1]
            path = manifest_path(manifests_dir, v)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except FileNotFoundError:
                if version is not None:
                    raise NotFoundError(f"{path}: version {v} is not available (never "
                                        f"committed, or reclaimed)") from None
                if time.monotonic() > deadline:
                    raise CorruptionError(f"{manifests_dir}: could not pin a version") from None
                continue
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise CorruptionError(f"{path}: is a symlink; mapdb never follows "
                                          f"symlinks to manifests") from None
                raise  # reclaimed between listing and opening: take the newer one
            fcntl.flock(fd, fcntl.LOCK_SH)
            if os.fstat(fd).st_nlink > 0:
                break
            os.close(fd)  # reclaimed while we waited for the lock
            if time.monotonic() > deadline:
                raise CorruptionError(f"{manifests_dir}: could not pin a version")
        self.fd = fd
        self.path = path
        try:
            with os.fdopen(os.dup(fd), "rb") as f:
                self.manifest = Manifest.from_bytes(f.read(), path)
        except BaseException:
            self.release()
            raise
        if self.manifest.version != v:
            self.release()
            raise CorruptionError(f"{path}: file says version {self.manifest.version}")

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # drops the flock
            self.fd = -1

    def __del__(self):
        self.release()


def try_reclaim(manifests_dir: str, version: int) -> bool:
    """Delete manifest ``version`` if no reader pins it; True if it was deleted."""
    path = manifest_path(manifests_dir, version)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError as e:
        if e.errno not in (errno.ELOOP, errno.EISDIR):
            raise
        return False  # not a manifest mapdb wrote: left for a person to look at
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        os.unlink(path)
    finally:
        os.close(fd)
    return True
