"""The writer lock: one writer per table, held with flock so it dies with its process."""

from __future__ import annotations

import fcntl
import os
import time

from mapdb.errors import LockedError
from mapdb.storage.fileops import open_fd


class WriterLock:
    """Exclusive flock on ``<table>/LOCK``; the holder's pid is written into the file."""

    def __init__(self, path: str, what: str, timeout: float = 0.0):
        self.path = path
        self.fd = -1
        fd = open_fd(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pid = _read_pid(fd)
                    os.close(fd)
                    who = f"pid {pid}" if pid else "another process"
                    wait = f" (waited {timeout:g}s)" if timeout else ""
                    raise LockedError(f"{what} is locked by {who}, which is writing to it"
                                      f"{wait}", pid) from None
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self):
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (ValueError, IndexError, OSError):
        return None
