"""Every file operation the storage layer performs, in one place.

Routing them through here gives one seam for fault injection (RELIABILITY.md 3-4): a test
can make the N-th call of any operation fail with a chosen errno, once or from then on,
and named crash points of the commit protocol can kill the process on request
(``MAPDB_CRASH_AT=<point>``). The ``calls`` counter tells a test how many times each
operation ran.

>>> with inject_fault("rename", nth=1, err=28):
...     try:
...         rename("/nonexistent-a", "/nonexistent-b")
...     except OSError as e:
...         print(e.errno)
28
"""

from __future__ import annotations

import contextlib
import errno as errno_mod
import os
import resource
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from mapdb import _ext
from mapdb.errors import StorageError


@dataclass
class _Fault:
    op: str
    nth: int
    err: int
    persistent: bool


_faults: list[_Fault] = []
calls: Counter[str] = Counter()  # per-operation call counts (tests read these)


@contextlib.contextmanager
def inject_fault(op: str, nth: int = 1, err: int = errno_mod.EIO,
                 persistent: bool = False) -> Iterator[None]:
    """Make the ``nth`` call of ``op`` from now fail with ``err`` (and every later one if
    persistent)."""
    f = _Fault(op, calls[op] + nth, err, persistent)
    _faults.append(f)
    try:
        yield
    finally:
        _faults.remove(f)


def _check(op: str, path: object) -> None:
    calls[op] += 1
    for f in _faults:
        if f.op == op and (calls[op] == f.nth or (f.persistent and calls[op] > f.nth)):
            raise OSError(f.err, f"{os.strerror(f.err)} (injected at {op} #{calls[op]})",
                          os.fspath(path) if path is not None else None)


class SyncError(OSError):
    """msync/fsync failed: written data may be lost, so the writer must not go on."""


@contextlib.contextmanager
def _sync_step() -> Iterator[None]:
    try:
        yield
    except SyncError:
        raise
    except OSError as e:
        raise SyncError(e.errno, e.strerror, e.filename) from e


def limit_error(e: OSError, mapping: bool = False) -> BaseException:
    """A StorageError naming the setting when ``e`` is running out of a limit: file
    descriptors (EMFILE: RLIMIT_NOFILE, ``ulimit -n``; ENFILE: fs.file-max) or, for a
    mapping, address space or mappings (ENOMEM: vm.max_map_count). ``e`` itself otherwise.

    Every mapped column file holds a descriptor and a mapping while it is open, so many
    tables and segments open at once can reach these limits (RELIABILITY.md 15).
    """
    where = f"{e.filename}: " if e.filename else ""
    if e.errno == errno_mod.EMFILE:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        hard_s = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
        return StorageError(
            f"{where}too many open files (EMFILE): this process reached its open-file limit "
            f"RLIMIT_NOFILE (soft {soft}, hard {hard_s}); raise it with `ulimit -n N` "
            f"before starting, or open fewer tables at once")
    if e.errno == errno_mod.ENFILE:
        return StorageError(f"{where}too many open files in the system (ENFILE): the limit "
                            f"is fs.file-max; raise it with `sysctl -w fs.file-max=N`")
    if e.errno == errno_mod.ENOMEM and mapping:
        try:
            with open("/proc/sys/vm/max_map_count") as f:
                limit = f.read().strip()
            with open("/proc/self/maps", "rb") as f:
                used = str(sum(1 for _ in f))
        except OSError:
            limit = used = "?"
        return StorageError(
            f"{where}cannot map the file (ENOMEM): out of memory mappings or address space "
            f"({used} mappings in use; vm.max_map_count is {limit}); raise it with "
            f"`sysctl -w vm.max_map_count=N`, or open fewer tables at once")
    return e


def open_fd(path: str, flags: int, mode: int = 0o644) -> int:
    """os.open; running out of descriptors becomes a StorageError naming the limit."""
    try:
        return os.open(path, flags, mode)
    except OSError as e:
        err = limit_error(e)
        if err is e:
            raise
        raise err from e


def crash_point(name: str) -> None:
    """Die here (SIGKILL, no cleanup) if MAPDB_CRASH_AT names this point."""
    if os.environ.get("MAPDB_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def create_reserved(path: str, length: int) -> int:
    """Create a new file (exclusive) and reserve ``length`` bytes with posix_fallocate, so
    a full disk fails here, before any data is written. Returns the open descriptor."""
    _check("create", path)
    fd = open_fd(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        _check("fallocate", path)
        _ext.fallocate(fd, 0, length, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def pwrite_all(fd: int, data, offset: int, path: str) -> None:
    """Write all of ``data`` at ``offset`` (short writes continue; the GIL is released)."""
    _check("write", path)
    view = memoryview(data).cast("B")
    while view:
        n = os.pwrite(fd, view[: 1 << 30], offset)
        view, offset = view[n:], offset + n


def start_writeback(fd: int, path: str) -> None:
    """Ask the kernel to start writing the file back now (see _ext.start_writeback)."""
    _check("writeback", path)
    _ext.start_writeback(fd, 0, 0, path)


def fdatasync_path(path: str) -> None:
    """Open ``path`` read-only, fdatasync it, close it."""
    _check("open", path)
    fd = open_fd(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fdatasync(fd, path)
    finally:
        os.close(fd)


def fdatasync(fd: int, path: str) -> None:
    with _sync_step():
        _check("fsync", path)
        _ext.fdatasync(fd, path)


def map_readonly(path: str) -> _ext.Mapping:
    try:
        _check("mmap", path)
        return _ext.Mapping(path, follow_symlinks=False)
    except OSError as e:  # EMFILE from the open, ENOMEM from the mmap: name the limit
        err = limit_error(e, mapping=True)
        if err is e:
            raise
        raise err from e


def write_file(path: str, data: bytes, sync: bool = True, writeback: bool = False) -> None:
    """Write a small file completely (new file, exclusive) and fsync it. Without ``sync``
    (durability modes os and none) no fsync; then ``writeback`` starts its write-back."""
    _check("create", path)
    fd = open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        _check("write", path)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if not sync:
            if writeback:
                start_writeback(fd, path)
            return
        with _sync_step():
            _check("fsync", path)
            _ext.fsync(fd, path)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    with _sync_step():
        _check("fsync_dir", path)
        _ext.fsync_path(path)


def rename(src: str, dst: str) -> None:
    _check("rename", dst)
    os.rename(src, dst)


def mkdir(path: str) -> None:
    _check("mkdir", path)
    os.mkdir(path, 0o755)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (leftovers named by a dead pid may be removed)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
