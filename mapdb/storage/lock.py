"""The writer lock: one writer per table, held with flock so it dies with its process.

flock locks an inode, not a path. A writer that opened ``LOCK`` and then waited while the
table was dropped (its directory renamed away) and created again would, once the dropper
let go, hold the lock of the *old* inode while writing under the path of the *new* table,
beside that table's own writer. So after every successful flock the lock checks that the
inode it holds is still the one at the path (device and inode), and otherwise starts again
on the file that is there now; the caller then compares the table's identity (the
manifest's ``table_id``) with the one it expected (``DatabaseStore.writer``).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from mapdb.errors import LockedError, StorageError, TableDroppedError
from mapdb.storage.fileops import open_fd


class WriterLock:
    """Exclusive flock on ``<table>/LOCK``; the holder's pid is written into the file.

    ``what`` names the table in errors. A lock file that vanished (the table was dropped)
    is a TableDroppedError; one that was replaced while this waited is taken afresh.
    """

    def __init__(self, path: str, what: str, timeout: float = 0.0):
        self.path = path
        self.what = what
        self.fd = -1
        deadline = time.monotonic() + timeout
        while True:
            fd = _open(path, what)
            try:
                _flock(fd, what, timeout, deadline)
                if _same_file(fd, path):
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the table was dropped while we waited: lock what is there now
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is only for messages; a read-only LOCK still locks
        self.fd = fd

    def moved(self, path: str) -> None:
        """The lock file now lives at ``path`` (a new table's directory was published)."""
        self.path = path

    def check(self) -> None:
        """TableDroppedError unless the locked inode is still the file at ``path`` (called
        before a commit publishes: a lock file replaced behind the lock means someone
        removed the table without taking it)."""
        if not self.valid():
            raise TableDroppedError(f"{self.what} was dropped or replaced while this "
                                    f"writer held its lock; nothing was committed")

    def valid(self) -> bool:
        """Held, and the locked inode is still the file at ``path``."""
        return self.fd >= 0 and _same_file(self.fd, self.path)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self):
        self.release()


def _open(path: str, what: str) -> int:
    try:
        return open_fd(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except FileNotFoundError:
        raise TableDroppedError(f"{what} was dropped") from None
    except OSError as e:
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise StorageError(f"{path}: cannot open the writer lock ({e.strerror}): "
                               f"{what} cannot be written here") from None
        if e.errno == errno.ELOOP:
            raise StorageError(f"{path}: the writer lock is a symlink; mapdb never follows "
                               f"symlinks inside a database") from None
        if isinstance(e, StorageError):
            raise
        raise StorageError(f"{path}: cannot open the writer lock ({e.strerror})") from None


def _flock(fd: int, what: str, timeout: float, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                pid = _read_pid(fd)
                who = f"pid {pid}" if pid else "another process"
                wait = f" (waited {timeout:g}s)" if timeout else ""
                raise LockedError(f"{what} is locked by {who}, which is writing to it"
                                  f"{wait}", pid) from None
            time.sleep(0.02)


def _same_file(fd: int, path: str) -> bool:
    """The descriptor's inode is the file at ``path`` now (not followed if a symlink)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (ValueError, IndexError, OSError):
        return None
