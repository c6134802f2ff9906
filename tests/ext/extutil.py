"""Helpers for the OS-layer tests: page-distinct file contents, page-cache eviction and
polling, /proc probes, child interpreters and a GIL-release observer. (A plain module
rather than conftest.py, so test modules can import it by a name no other conftest has.)"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from mapdb import _ext

PAGE = _ext.PAGE_SIZE

def _under_valgrind() -> bool:
    """valgrind's preload libraries are mapped: we run under memcheck (make test-valgrind)."""
    try:
        with open("/proc/self/maps") as f:
            return "vgpreload" in f.read()
    except OSError:
        return False


UNDER_VALGRIND = _under_valgrind()

# Filesystems whose pages live only in memory: the page cache IS the file, so nothing
# can be evicted and residency is always 100%.


def page_data(npages: int, seed: int = 0) -> bytes:
    """Deterministic, page-distinct contents: page i starts with i (uint32) and is filled
    with pseudo-random bytes, so a wrong page or a wrong offset shows."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=npages * PAGE, dtype=np.uint8)
    data.reshape(npages, PAGE)[:, :4] = (
        np.arange(npages, dtype="<u4").view(np.uint8).reshape(npages, 4))
    return data.tobytes()


def write_file(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` and fsync it, so its pages are clean (droppable)."""
    path = Path(path)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


def cached_pages(path) -> int:
    return _ext.file_residency(path).cached


def evict(path, timeout: float = 5.0) -> None:
    """Drop ``path``'s pages from the page cache and wait until they are gone.

    The file is fsynced first (dirty pages are not dropped). Pages still under I/O
    (e.g. readahead started by WILLNEED) or mapped by a live mapping are skipped by
    the kernel, so DONTNEED is repeated until nothing is cached."""
    if UNDER_VALGRIND:  # seen: DONTNEED leaves these pages cached under memcheck
        pytest.skip("page-cache eviction does not take effect under valgrind")
    _ext.fsync_path(path)
    deadline = time.monotonic() + timeout
    while True:
        _ext.fadvise(path, advice=_ext.FileAdvice.DONTNEED)
        n = cached_pages(path)
        if n == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {n} pages still cached after DONTNEED")
        time.sleep(0.01)


def page_out(m, path, attempts: int = 5) -> int:
    """madvise(PAGEOUT) all of mapping ``m`` of ``path``; return the pages still cached.

    PAGEOUT can only reclaim folios already on an LRU list, and freshly faulted ones may
    still sit in another CPU's LRU batch (it drains only the local one). fadvise(DONTNEED)
    on a file whose pages are mapped fails to drop them and then drains every CPU's batch,
    so each attempt does that first. Raises OSError where PAGEOUT is unsupported."""
    for _ in range(attempts):
        _ext.fadvise(path, advice=_ext.FileAdvice.DONTNEED)
        m.advise(advice=_ext.Advice.PAGEOUT)
        left = cached_pages(path)
        if left == 0:
            break
        time.sleep(0.01)
    return left


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.005) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return bool(predicate())
        time.sleep(interval)
    return True


def touch_pages(view: np.ndarray, pages) -> int:
    """Read one byte of each page in ``pages`` through a uint8 view (faults them in)."""
    total = 0
    for i in pages:
        total += int(view[i * PAGE])
    return total


def maps_path(path) -> bool:
    """Whether /proc/self/maps lists a mapping of ``path``."""
    real = os.path.realpath(path)
    with open("/proc/self/maps") as f:
        return any(line.rstrip("\n").endswith(" " + real) for line in f)


def under_sanitizer() -> bool:
    """Whether AddressSanitizer is loaded (its allocator quarantines freed memory)."""
    with open("/proc/self/maps") as f:
        return any("libasan" in line or "libclang_rt.asan" in line for line in f)


def open_fds() -> set[str]:
    """This process's open descriptors (the listing's own descriptor included, which is
    the same number each time as long as nothing else was opened or closed)."""
    return set(os.listdir("/proc/self/fd"))


def fd_is_open_on(fd: int, path) -> bool:
    """Whether descriptor ``fd`` is open on ``path``."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == os.path.realpath(path)
    except FileNotFoundError:
        return False


def cap_effective(bit: int) -> bool:
    """Whether this process has capability ``bit`` in its effective set."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    return False


CAP_DAC_OVERRIDE = 1
CAP_IPC_LOCK = 14


_mlock_probe: list[str] = []


def mlock_probe() -> str:
    """How Mapping.lock behaves here: 'ok' (VmLck grows by the locked page), 'noop'
    (something, e.g. AddressSanitizer's mlock/munlock interceptors, makes it a no-op) or
    'refused' (RLIMIT_MEMLOCK and no CAP_IPC_LOCK refuse even one page)."""
    if not _mlock_probe:
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"\0" * PAGE)
            f.flush()
            with _ext.Mapping(f.name) as m:
                base = _ext.locked_bytes()
                try:
                    m.lock()
                except _ext.MemoryLockError:
                    _mlock_probe.append("refused")
                else:
                    locked = _ext.locked_bytes() - base
                    m.unlock()
                    _mlock_probe.append("ok" if locked == PAGE else "noop")
    return _mlock_probe[0]


def need_lock(nbytes: int) -> None:
    """Skip unless this process can really mlock ``nbytes`` more bytes."""
    probe = mlock_probe()
    if probe == "noop":
        pytest.skip("mlock is a no-op in this process (AddressSanitizer intercepts it)")
    if probe == "refused":
        pytest.skip("mlock of one page is refused (RLIMIT_MEMLOCK, no CAP_IPC_LOCK)")
    if cap_effective(CAP_IPC_LOCK):
        return
    soft, _ = _ext.memlock_limit()
    if soft is not None and soft - _ext.locked_bytes() < nbytes:
        pytest.skip(f"RLIMIT_MEMLOCK ({soft} bytes) leaves less than {nbytes} bytes to lock")


def child_env() -> dict:
    """Environment for child interpreters: the same import path, and under ASan let a
    SIGSEGV kill the child the ordinary way instead of ASan's report-and-abort."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":handle_segv=0"
    return env


def run_python(code: str, *args: str, prefix: tuple = (), timeout: float = 60):
    """Run ``code`` in a fresh interpreter (sys.executable); return the CompletedProcess."""
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=timeout, env=child_env())


def observe_during(call, sample, is_intermediate, setup=None, attempts: int = 3) -> list:
    """Run ``call()`` in this thread while a second thread keeps taking ``sample()``.

    Returns the samples that ``is_intermediate`` accepts: states that exist only while
    the call is in progress. If the call held the GIL, the sampler could only run before
    or after it and would never see one, so this proves the GIL is released (and the
    check cannot pass by timing luck). ``setup()`` runs before each attempt, outside the
    observed window; ``call`` is retried a few times if the sampler happened to see
    nothing."""
    seen: list = []
    for _ in range(attempts):
        if setup is not None:
            setup()
        stop = threading.Event()
        running = threading.Event()
        active = [False]

        def sampler(active=active, stop=stop, running=running):
            running.set()
            while not stop.is_set():
                s = sample()
                if active[0] and is_intermediate(s):
                    seen.append(s)

        t = threading.Thread(target=sampler, daemon=True)
        t.start()
        running.wait()
        try:
            active[0] = True
            call()
            active[0] = False
        finally:
            stop.set()
            t.join()
        if seen:
            break
    return seen
