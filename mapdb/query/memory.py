"""How much memory a query may hold: the connection's ``memory_limit`` and the operators'
reservations against it.

A *limit* is bytes, spelled as DuckDB spells ``SET memory_limit`` (``parse_size``) and
shown as DuckDB's ``current_setting('memory_limit')`` shows it (``format_size``). The
default is DuckDB's: 80% of the memory this process may use, the smaller of the cgroup's
limit (v2 ``memory.max``, v1 ``memory.limit_in_bytes``, the tightest of the group and its
ancestors) and the physical memory.

Every execution has a ``Tracker`` over the connection's limit; an operator that holds
state (a hash join build, a hash aggregate, a sort, ...) takes a ``Reservation`` and grows
it *before or as* it accumulates rows. ``grow`` raises ``mapdb.MemoryLimitError`` (a
QueryError) naming the
operator and the limit: a query over its budget fails with a clear error instead of being
OOM-killed. ``try_grow`` is the question a spilling operator asks ("may I grow by N?"): it
answers False instead of raising, and the operator writes a partition out instead.

The sizes are the Arrow buffers' bytes (and estimates for the extension's hash tables):
what the operators hold, not the interpreter's own memory or the page cache of mapped
columns, so a limit near the cgroup's leaves room for those (hence 80%).

>>> parse_size("2GB"), parse_size("2 GiB"), parse_size("100MB")
(2000000000, 2147483648, 100000000)
>>> format_size(2_000_000_000), format_size(parse_size("512KiB")), format_size(UNLIMITED)
('1.8 GiB', '512.0 KiB', '16383.9 PiB')
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from contextvars import ContextVar
from functools import lru_cache

from mapdb.errors import MemoryLimitError

SETTINGS = ("memory_limit", "max_memory")  # DuckDB's names of the one setting mapdb has
UNLIMITED = 2 ** 64 - 1  # DuckDB's "no limit" ('-1', 'none'): shown as 16383.9 PiB
DEFAULT_SHARE = 0.8  # of the memory available, as DuckDB
_UNITS = {"b": 1, "byte": 1, "bytes": 1,
          "k": 1000, "kb": 1000, "kilobyte": 1000, "kilobytes": 1000,
          "m": 1000 ** 2, "mb": 1000 ** 2, "megabyte": 1000 ** 2, "megabytes": 1000 ** 2,
          "g": 1000 ** 3, "gb": 1000 ** 3, "gigabyte": 1000 ** 3, "gigabytes": 1000 ** 3,
          "t": 1000 ** 4, "tb": 1000 ** 4, "terabyte": 1000 ** 4, "terabytes": 1000 ** 4,
          "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}
_NUMBER = re.compile(r"\s*([0-9.eE-]*)")
_CGROUP_UNLIMITED = 1 << 62  # v1 writes "no limit" as a page-rounded 2**63 - 1


class SizeError(ValueError):
    """A memory size that does not parse (the caller adds where it was written)."""


def parse_size(text: str | int) -> int:
    """Bytes of a memory size, read as DuckDB reads ``SET memory_limit``: a number (with
    a fraction or exponent) and a unit, KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB
    (powers of 1024), any case, B or bytes; '-1' (any negative) or 'none' for no limit.
    An int is bytes.

    >>> parse_size("1.5 KiB"), parse_size("2e-3GB"), parse_size("none") == UNLIMITED
    (1536, 2000000, True)
    """
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise SizeError(f"a memory size is a string such as '4GB' or a number of bytes, "
                        f"not {type(text).__name__}")
    if isinstance(text, int):
        return UNLIMITED if text < 0 else min(text, UNLIMITED)
    if text.startswith("-") or text in ("null", "none"):
        return UNLIMITED
    m = _NUMBER.match(text)
    number = m.group(1)
    if not number:
        raise SizeError(f"memory size {text!r} must have a number (e.g. '1GB')")
    try:
        value = float(number)
    except ValueError:
        raise SizeError(f"memory size {text!r}: {number!r} is not a number") from None
    unit = text[m.end():].lstrip().split(maxsplit=1)
    unit = unit[0].lower() if unit else ""
    if unit not in _UNITS:
        raise SizeError(f"unknown unit for memory: {unit!r} in {text!r} (expected: KB, MB, "
                        "GB, TB for 1000^i units or KiB, MiB, GiB, TiB for 1024^i units)")
    if value < 0:
        return UNLIMITED
    total = value * _UNITS[unit]
    if total >= UNLIMITED:
        raise SizeError(f"memory size {text!r} is out of range: value is too large")
    return int(total)


def format_size(n: int) -> str:
    """``n`` bytes as DuckDB shows a memory setting: one truncated decimal of the largest
    power-of-1024 unit that is at least 1."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")
    parts = [n]
    for _ in units[1:]:
        parts.append(parts[-1] // 1024)
        parts[-2] %= 1024
    for i in range(len(units) - 1, 0, -1):
        if parts[i]:
            return f"{parts[i]}.{parts[i - 1] * 10 // 1024} {units[i]}"
    return f"{n} byte" if n == 1 else f"{n} bytes"


# -- what this process may use ---------------------------------------------------------------
def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _mounts(root: str) -> list[tuple[str, str, str, str]]:
    """(fstype, mount root, mount point, super options) of the cgroup mounts."""
    text = _read(os.path.join(root, "proc/self/mountinfo")) or ""
    out = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split()
        if len(f) >= 5 and len(r) >= 3 and r[0] in ("cgroup", "cgroup2"):
            out.append((r[0], f[3], f[4], r[2]))
    return out


def cgroup_limit(root: str = "/") -> int | None:
    """The memory limit of this process's cgroup (the tightest of its group and every
    ancestor up to the mount), or None when there is none: cgroup v2 (``memory.max``,
    'max' is none) or v1's memory controller (``memory.limit_in_bytes``). ``root``: where
    /proc and /sys are found (tests give a fake tree)."""
    text = _read(os.path.join(root, "proc/self/cgroup"))
    if text is None:
        return None
    mounts = _mounts(root)
    best = None
    for line in text.splitlines():
        hid, controllers, path = [*line.split(":", 2), "", ""][:3]
        v2 = hid == "0" and controllers == ""
        if not v2 and "memory" not in controllers.split(","):
            continue
        name = "memory.max" if v2 else "memory.limit_in_bytes"
        for fstype, mroot, mpoint, opts in mounts:
            if (fstype == "cgroup2") != v2 or (not v2 and "memory" not in opts.split(",")):
                continue
            rel = path
            if mroot != "/" and (path == mroot or path.startswith(mroot + "/")):
                rel = path[len(mroot):]  # the mount shows the group from mroot down
            base = os.path.join(root, mpoint.lstrip("/"))
            d = os.path.normpath(os.path.join(base, rel.lstrip("/")))
            while True:
                value = _read(os.path.join(d, name))
                if value is not None and value != "max":
                    try:
                        n = int(value)
                    except ValueError:
                        n = None
                    if n is not None and 0 < n < _CGROUP_UNLIMITED:
                        best = n if best is None else min(best, n)
                if len(d) <= len(base) or not d.startswith(base):
                    break
                d = os.path.dirname(d)
            break  # the first mount of the hierarchy is enough
    return best


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


@lru_cache(maxsize=4)
def available_memory(root: str = "/") -> int | None:
    """The memory this process may use: the smaller of its cgroup's limit and RAM (read
    once per process: ~0.4 ms, and every cold-scan test asks)."""
    known = [n for n in (cgroup_limit(root), physical_memory()) if n]
    return min(known) if known else None


@lru_cache(maxsize=1)
def default_limit() -> int:
    """DuckDB's default ``memory_limit``: 80% of ``available_memory()`` (none known: no
    limit). Read once per process."""
    n = available_memory()
    return UNLIMITED if n is None else int(n * DEFAULT_SHARE)


# -- reservations ----------------------------------------------------------------------------
_SCOPE: ContextVar[int | None] = ContextVar("mapdb_memory_limit", default=None)


@contextlib.contextmanager
def scope(limit: int | None):
    """Executions started inside (in this thread) without a limit of their own use
    ``limit``: a connection's, for the queries its statements run (INSERT ... SELECT,
    CREATE TABLE AS, UPDATE ...)."""
    token = _SCOPE.set(limit)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def current_limit() -> int:
    """The limit in force here: the enclosing ``scope``'s, else the default."""
    limit = _SCOPE.get()
    return default_limit() if limit is None else limit


class Tracker:
    """One execution's memory: the bytes its operators hold, against ``limit`` (None:
    ``current_limit()``). ``spill_dir``: where operators that spill write their files (the
    database's tmp directory); None: they cannot spill and fail over the limit."""

    def __init__(self, limit: int | None = None, spill_dir: str | None = None):
        self.limit = current_limit() if limit is None else limit
        self.spill_dir = spill_dir
        self.used = 0
        self.peak = 0
        self._lock = threading.Lock()

    def reservation(self, operator: str) -> Reservation:
        return Reservation(self, operator)

    def _take(self, n: int) -> bool:
        with self._lock:
            if n > 0 and self.used + n > self.limit:
                return False
            self.used += n
            self.peak = max(self.peak, self.used)
            return True


class Reservation:
    """The bytes one operator holds. ``grow`` before (or as) it allocates; ``release``
    (or leaving a ``with`` block) when its state is gone. Thread-safe (morsel sinks grow
    it from the pool's workers)."""

    def __init__(self, tracker: Tracker, operator: str):
        self.tracker, self.operator = tracker, operator
        self.bytes = 0
        self.peak = 0
        self._lock = threading.Lock()

    def try_grow(self, n: int) -> bool:
        """Whether ``n`` more bytes fit the limit (then they are reserved). A spilling
        operator asks this and writes out a partition when the answer is no."""
        n = max(int(n), 0)
        if not self.tracker._take(n):
            return False
        with self._lock:
            self.bytes += n
            self.peak = max(self.peak, self.bytes)
        return True

    def grow(self, n: int) -> None:
        """Reserve ``n`` more bytes, or raise MemoryLimitError naming the operator."""
        if not self.try_grow(n):
            t = self.tracker
            others = t.used - self.bytes
            held = f" ({format_size(others)} held by the query's other operators)" \
                if others > 0 else ""
            raise MemoryLimitError(
                f"{self.operator} needs ~{format_size(self.bytes + max(int(n), 0))}, "
                f"memory_limit is {format_size(t.limit)}{held}; raise it with "
                "SET memory_limit = '...' (or mapdb.connect(..., memory_limit=...))")

    def resize(self, total: int) -> None:
        """Hold ``total`` bytes from now on (growing is checked, shrinking is not)."""
        d = int(total) - self.bytes
        if d > 0:
            self.grow(d)
        elif d < 0:
            self.shrink(-d)

    def shrink(self, n: int) -> None:
        with self._lock:
            n = min(max(int(n), 0), self.bytes)
            self.bytes -= n
        with self.tracker._lock:
            self.tracker.used -= n

    def release(self) -> None:
        self.shrink(self.bytes)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
