"""A self-check of the OS layer against the running kernel.

Each check exercises one primitive the storage layer relies on and reports what the
kernel answered, so a user can see at a glance whether mmap, msync, fadvise, mincore /
cachestat and mlock behave here.

>>> import tempfile
>>> results = run_checks(tempfile.mkdtemp())
>>> all(r.ok for r in results)
True
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mapdb import _ext

PAGES = 256  # 1 MiB with 4 KiB pages


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _write_and_sync(path: str) -> str:
    with _ext.Mapping.create(path, PAGES * _ext.PAGE_SIZE) as m:
        np.frombuffer(m, dtype=np.uint64)[:] = np.arange(len(m) // 8, dtype=np.uint64)
        m.sync()
        m.fsync()
    return f"{PAGES} pages written through a read-write mapping, msync(MS_SYNC) + fsync"


def _read_in_child(path: str) -> str:
    code = (
        "import os,sys,numpy as np; fd=os.open(sys.argv[1],os.O_RDONLY); "
        "b=os.read(fd, os.fstat(fd).st_size); print(int(np.frombuffer(b,dtype=np.uint64).sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, path], check=True, capture_output=True, text=True
    )
    n = PAGES * _ext.PAGE_SIZE // 8
    expected = n * (n - 1) // 2
    if int(out.stdout) != expected:
        raise AssertionError(f"child read sum {out.stdout.strip()}, expected {expected}")
    return "another process read the same bytes back with read(2)"


def _evict(path: str) -> str:
    _ext.fadvise(path, advice=_ext.FileAdvice.DONTNEED)
    st = _ext.file_residency(path)
    if st.cached > st.pages // 10:
        raise AssertionError(f"{st.cached}/{st.pages} pages still cached after DONTNEED")
    return f"fadvise(DONTNEED): {st.cached}/{st.pages} pages cached ({st.source})"


def _populate(path: str) -> str:
    with _ext.Mapping(path) as m:
        m.advise(0, None, _ext.Advice.SEQUENTIAL)
        try:
            m.advise(0, None, _ext.Advice.POPULATE_READ)
        except OSError:
            np.frombuffer(m, dtype=np.uint8)[:: _ext.PAGE_SIZE].sum()  # older kernels: touch
        resident = m.resident_pages()
    if resident != PAGES:
        raise AssertionError(f"{resident}/{PAGES} pages resident after populate")
    return f"madvise(POPULATE_READ): {resident}/{PAGES} pages resident (mincore)"


def _lock(path: str) -> str:
    with _ext.Mapping(path) as m:
        try:
            m.lock()
        except _ext.MemoryLockError as e:
            return f"mlock refused, as this user's limits say: {e.strerror}"
        _ext.fadvise(path, advice=_ext.FileAdvice.DONTNEED)
        resident = m.resident_pages()
        m.unlock()
    if resident != PAGES:
        raise AssertionError(f"only {resident}/{PAGES} locked pages survived an evict")
    return f"mlock: {resident}/{PAGES} locked pages stayed resident through an evict"


CHECKS: list[tuple[str, Callable[[str], str]]] = [
    ("write + msync", _write_and_sync),
    ("read by another process", _read_in_child),
    ("evict from page cache", _evict),
    ("prefetch", _populate),
    ("pin in RAM", _lock),
]


def run_checks(directory: str) -> list[Check]:
    """Run every check on a scratch file in ``directory``; stop at the first failure."""
    path = os.path.join(directory, f"mapdb-oscheck-{os.getpid()}-{time.monotonic_ns()}")
    results: list[Check] = []
    try:
        for name, fn in CHECKS:
            try:
                results.append(Check(name, True, fn(path)))
            except (OSError, AssertionError, subprocess.CalledProcessError) as e:
                results.append(Check(name, False, str(e)))
                break
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return results
