"""Page-cache control and pinning of a table version's files.

Residency is measured with ``mincore(2)`` over a read-only mapping of each whole file: the
mapping is made, measured and unmapped without touching a page, so measuring never faults
anything in (and agrees page for page with util-linux ``fincore``). ``warm`` reads files in
(``posix_fadvise(WILLNEED)`` on all of them, then ``MADV_POPULATE_READ`` per file, so they
are resident when it returns); ``evict`` drops their clean pages
(``posix_fadvise(DONTNEED)``), which spares pages that are locked, or mapped by any process.

:class:`PinSet` maps files read-only and ``mlock``\\ s them. Automatic pinning
(:meth:`PinSet.ensure`) takes a table's index files within a byte budget: zone maps first,
then dictionaries, then hash-index files, most used first (``storage.index.USE_COUNTS``),
skipping files that do not fit. It is keyed on ``DatabaseStore.latest_version`` (a
directory listing and a stat), so calling it before every lookup costs microseconds while
the table does not change; a new version pins its new files and lets go of the ones it no
longer names. When the kernel refuses ``mlock`` (RLIMIT_MEMLOCK, no CAP_IPC_LOCK) the files
stay unpinned and one :class:`~mapdb.errors.PinWarning` per process says how to raise the
limit.

Pins die with their process; ``mapdb cache pin`` keeps them in a detached holder process
that records itself in ``DB/.pins/<table>.json`` (see :func:`read_holders`). What a holder
has locked is read from the kernel: ``/proc/<pid>/smaps``.

>>> import tempfile, pyarrow as pa
>>> from mapdb.storage.database import DatabaseStore
>>> store = DatabaseStore(tempfile.mkdtemp() + "/db")
>>> w = store.create_writer("t", pa.schema([("x", pa.int64())]))
>>> w.write(pa.table({"x": list(range(10_000))})); _ = w.commit(); w.close()
>>> _ = warm_table(store, "t")      # 80,000 bytes + the header: 21 pages
>>> st = table_status(store, "t")
>>> st["columns"]["x"]["resident_pct"], st["columns"]["x"]["picture"]
(100.0, '#####################')
>>> pins = PinSet("1MiB")
>>> pins.ensure(store, "t"), pins.ensure(store, "t")   # the second call has nothing to do
(True, False)
>>> [(p.file.role, p.auto) for p in pins.pinned()]
[('zones', True)]
>>> pins.close()
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
import warnings
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mapdb import _ext
from mapdb.errors import NotFoundError, PinWarning, StorageError
from mapdb.storage import index as _index
from mapdb.storage.table import Snapshot, TableFile

PAGE = _ext.PAGE_SIZE
PICTURE_WIDTH = 50
AUTO_ROLES = ("zones", "dictionary", "index")
# explicit pins under a budget: index-like files first, then the data buffers
PIN_ORDER = {"zones": 0, "dictionary": 1, "index": 2, "validity": 3, "offsets": 4, "data": 5}
PINS_DIR = ".pins"


# ---------------------------------------------------------------------------- sizes

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*", re.IGNORECASE)
_UNIT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(value: int | str | None) -> int:
    """Bytes from an int or a string such as "512MB", "1GiB", "64k" or "0". Units are
    binary whether or not an ``i`` is written (MB = MiB = 2**20, as in PostgreSQL, Docker
    and systemd). None, "" and "none" mean 0.

    >>> parse_size("256MB"), parse_size("1GiB"), parse_size("64k"), parse_size(None)
    (268435456, 1073741824, 65536, 0)
    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value}")
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("", "none"):
            return 0
        m = _SIZE.fullmatch(value)
        if m and not (m.group(3) and m.group(3).lower() == "ib" and not m.group(2)):
            return int(float(m.group(1)) * _UNIT[m.group(2).lower()])
    raise ValueError(f"not a size: {value!r} (expected bytes or e.g. '512MB', '1GiB')")


def memlock_limit() -> tuple[int | None, int | None]:
    """(soft, hard) RLIMIT_MEMLOCK in bytes; None means unlimited."""
    return _ext.memlock_limit()


def _pages(size: int) -> int:
    return (size + PAGE - 1) // PAGE


def _locked_size(size: int) -> int:
    """Bytes mlock charges for a file of ``size`` bytes (whole pages)."""
    return _pages(size) * PAGE


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


# ---------------------------------------------------------------------------- residency

@dataclass(frozen=True)
class FileResidency:
    """Page-cache state of one file: ``pages`` in the file, ``resident_pages`` of them
    in the page cache (as fincore counts them), ``resident`` bytes of the file on those
    pages (the last page counts only the bytes the file has)."""

    file: TableFile
    size: int
    pages: int
    resident_pages: int
    resident: int


def _tail_correction(m, size: int) -> int:
    """Bytes to take off ``resident_pages * PAGE``: the unused end of a resident last page."""
    tail = size % PAGE
    if not tail:
        return 0
    return (PAGE - tail) if m.resident_pages(size - tail, tail) else 0


def _map(path: str) -> _ext.Mapping:
    """Map a table's file for cache control (never through a symlink); a file that is
    missing (its table dropped meanwhile) or unreadable is a StorageError naming it."""
    try:
        return _ext.Mapping(path, follow_symlinks=False)
    except OSError as e:
        raise StorageError(f"{path}: cannot map it for cache control ({e.strerror or e})"
                           ) from None


def _measure_one(f: TableFile) -> FileResidency:
    with _map(f.path) as m:
        size = len(m)
        n = m.resident_pages() if size else 0
        return FileResidency(f, size, _pages(size), n, n * PAGE - _tail_correction(m, size))


def _measure_group(files: Sequence[TableFile], width: int
                   ) -> tuple[list[FileResidency], str]:
    """Measure files that one picture spans (a column's data files in segment order, or
    an index's files): each character covers an equal run of the concatenated pages, one
    mincore call per (character, file) overlap, so the whole group is scanned once."""
    maps = []
    try:
        for f in files:
            maps.append(_map(f.path))
        sizes = [len(m) for m in maps]
        npages = [_pages(s) for s in sizes]
        total = sum(npages)
        w = min(width, total)
        res = [0] * w
        tot = [0] * w
        out = []
        g0 = 0
        for f, m, size, n in zip(files, maps, sizes, npages, strict=True):
            r_file = 0
            if n:
                b = g0 * w // total
                while (b + 1) * total // w <= g0:
                    b += 1
                end = g0 + n
                while True:
                    lo = max(g0, b * total // w)
                    hi = min(end, (b + 1) * total // w)
                    off = (lo - g0) * PAGE
                    r = m.resident_pages(off, min((hi - g0) * PAGE, size) - off)
                    res[b] += r
                    tot[b] += hi - lo
                    r_file += r
                    if hi >= end:
                        break
                    b += 1
            out.append(FileResidency(f, size, n, r_file,
                                     r_file * PAGE - _tail_correction(m, size)))
            g0 += n
        pic = "".join("." if r == 0 else "#" if r == t else "o"
                      for r, t in zip(res, tot, strict=True))
        return out, pic
    finally:
        for m in maps:
            m.close()


def measure(files: Sequence[TableFile], width: int = PICTURE_WIDTH
            ) -> tuple[list[FileResidency], dict[tuple[str, str], str]]:
    """Residency of ``files`` (in their order) and pictures: one per column over its data
    files, keyed ("column", name), and one per index over its files, keyed ("index", name).
    Picture characters: ``#`` every page resident, ``o`` some, ``.`` none; at most
    ``width`` of them, one per page when there are fewer pages."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, f in enumerate(files):
        if f.role == "data":
            groups.setdefault(("column", f.column), []).append(i)
        elif f.role == "index" and f.index is not None:
            groups.setdefault(("index", f.index), []).append(i)
    result: list[FileResidency | None] = [None] * len(files)
    pictures = {}
    for key, idx in groups.items():
        rs, pictures[key] = _measure_group([files[i] for i in idx], width)
        for i, r in zip(idx, rs, strict=True):
            result[i] = r
    for i, f in enumerate(files):
        if result[i] is None:
            result[i] = _measure_one(f)
    return result, pictures  # type: ignore[return-value]


# ---------------------------------------------------------------------------- warm / evict

def warm_files(files: Iterable[TableFile]) -> int:
    """Read ``files`` into the page cache; they are resident when this returns. Returns
    the bytes covered."""
    files = list(files)
    for f in files:  # start every read at once: the disk sees the whole queue
        with contextlib.suppress(OSError):  # advice only: the mapping below says why
            _ext.fadvise(f.path, 0, 0, _ext.FileAdvice.WILLNEED)
    total = 0
    for f in files:
        with _map(f.path) as m:
            total += len(m)
            if not len(m):
                continue
            try:
                m.advise(0, None, _ext.Advice.POPULATE_READ)  # waits for the reads
            except OSError:  # kernels before 5.14: read the file through
                _read_through(f.path)
    return total


def _read_through(path: str) -> None:
    buf = bytearray(1 << 20)
    with open(path, "rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass


def evict_files(files: Iterable[TableFile]) -> int:
    """Drop the clean page-cache pages of ``files``; pages locked or mapped by a process
    stay. Returns the bytes covered."""
    total = 0
    for f in files:
        try:
            _ext.fadvise(f.path, 0, 0, _ext.FileAdvice.DONTNEED)
        except OSError as e:
            raise StorageError(f"{f.path}: cannot evict it ({e.strerror or e})") from None
        total += f.size
    return total


@contextlib.contextmanager
def _table_files(store, name: str, columns: Sequence[str] | None):
    """The files of the table's current version (of ``columns`` only, when given), with
    the version pinned against reclamation while the caller uses them."""
    snap = store.snapshot(name)
    try:
        yield snap, select(snap, snap.files(), columns)
    finally:
        snap.close()


def select(snap: Snapshot, files: list[TableFile], columns: Sequence[str] | None
           ) -> list[TableFile]:
    """``files`` of ``columns`` (every file when None); unknown columns raise NotFoundError."""
    if columns is None:
        return files
    if isinstance(columns, str):
        columns = [columns]
    for c in columns:
        snap.manifest.column(c)  # raises NotFoundError naming the table's columns
    wanted = set(columns)
    return [f for f in files if f.column in wanted]


def check_table(store, name: str, columns: Sequence[str] | None = None) -> None:
    """Raise NotFoundError unless table ``name`` (and each of ``columns``) exists."""
    with _table_files(store, name, columns):
        pass


def warm_table(store, name: str, columns: Sequence[str] | None = None) -> dict:
    """Read the table's files (or ``columns``' files) into the page cache."""
    t0 = time.perf_counter()
    with _table_files(store, name, columns) as (snap, files):
        n = warm_files(files)
        return {"table": name, "version": snap.version, "files": len(files), "bytes": n,
                "seconds": round(time.perf_counter() - t0, 6)}


def evict_table(store, name: str, columns: Sequence[str] | None = None) -> dict:
    """Drop the table's files (or ``columns``' files) from the page cache; pinned pages
    and pages other processes have mapped stay."""
    t0 = time.perf_counter()
    with _table_files(store, name, columns) as (snap, files):
        n = evict_files(files)
        return {"table": name, "version": snap.version, "files": len(files), "bytes": n,
                "seconds": round(time.perf_counter() - t0, 6)}


# ---------------------------------------------------------------------------- pinning

_warn_lock = threading.Lock()
_warned = False


def refusal_message(err: OSError) -> str:
    soft, hard = _ext.memlock_limit()
    limit = "unlimited" if soft is None else format_bytes(soft)
    hlimit = "unlimited" if hard is None else format_bytes(hard)
    return (
        f"mapdb could not pin files in RAM: mlock refused "
        f"({os.strerror(err.errno) if err.errno else err}); RLIMIT_MEMLOCK is {limit} "
        f"(hard limit {hlimit}) and this process has no CAP_IPC_LOCK. Indexes and queries "
        f"keep working unpinned, but may wait on the disk once their pages are evicted. "
        f"Raise the limit with `ulimit -l <KiB>|unlimited` in the shell that starts the "
        f"process (up to the hard limit), LimitMEMLOCK= in a systemd service, a 'memlock' "
        f"line in /etc/security/limits.conf, or grant CAP_IPC_LOCK; pin_budget=0 stops "
        f"automatic pinning.")


def _warn_refused(err: OSError) -> None:
    """One PinWarning per process, whatever the number of refusals."""
    global _warned
    with _warn_lock:
        if _warned:
            return
        _warned = True
    warnings.warn(refusal_message(err), PinWarning, stacklevel=6)  # the API caller


@dataclass
class Pinned:
    """One pinned file: ``locked`` bytes (whole pages) held by ``mapping``; ``auto``
    (automatic index pin) and/or ``explicit`` (``pin()``)."""

    file: TableFile
    key: tuple[str, str]
    mapping: object
    locked: int
    dev_ino: tuple[int, int]
    auto: bool = False
    explicit: bool = False

    @property
    def pinned_bytes(self) -> int:
        """File bytes on locked pages."""
        return min(self.locked, self.file.size)


class _TableState:
    __slots__ = ("auto", "explicit", "ident", "order", "refused", "short", "skipped",
                 "spec", "suspended", "table_dir")

    def __init__(self, table_dir: str):
        self.table_dir = table_dir
        self.ident: tuple | None = None  # latest_version() the pins were made for
        self.auto: set[str] = set()  # paths pinned automatically
        self.explicit: set[str] = set()  # paths pinned by pin()
        self.spec: tuple[frozenset[str] | None, int | None] | None = None  # pin() columns, budget
        self.short = False  # some automatic candidate did not fit the budget
        self.order: tuple[str, ...] = ()  # hash indexes by use when short
        self.skipped = 0
        self.refused: str | None = None
        self.suspended = False  # unpin(table): no automatic pins until pin(table)


_REGISTRY: weakref.WeakSet[PinSet] = weakref.WeakSet()


class PinSet:
    """Files mapped read-only and mlocked, per table of one or more databases.

    ``budget_bytes`` (int or e.g. "256MB"; 0 turns automatic pinning off) bounds the
    automatic index pins of all tables together; explicit pins (:meth:`pin`) have their own
    optional budget. Pins are keyed by (database path, table name) and follow the table's
    versions: each :meth:`ensure` or :meth:`pin` call on a changed table re-pins.
    Thread-safe."""

    def __init__(self, budget_bytes: int | str | None = 0):
        self._budget = parse_size(budget_bytes)
        self._lock = threading.RLock()
        self._pins: dict[str, Pinned] = {}
        self._tables: dict[tuple[str, str], _TableState] = {}
        self.refused: str | None = None  # the last refusal's message
        _REGISTRY.add(self)

    @property
    def budget(self) -> int:
        return self._budget

    @budget.setter
    def budget(self, value: int | str | None) -> None:
        """A new budget: automatic pins are released and re-made by the next ensure()."""
        with self._lock:
            self._budget = parse_size(value)
            for st in self._tables.values():
                for path in list(st.auto):
                    self._drop(path, auto=True)
                st.auto.clear()
                st.ident = None

    # -- the hot path

    def ensure(self, store, name: str) -> bool:
        """Pin ``name``'s index files within the budget (and keep explicit pins current).
        Cheap when the table's version has not changed since the last call: a listing of
        its manifests directory and a stat. Returns whether pins were re-evaluated."""
        key = (store.path, name)
        st = self._tables.get(key)
        if st is None:
            if self._budget <= 0:
                return False
        elif st.suspended and st.spec is None:
            return False
        ident = store.latest_version(name)
        if st is not None and ident is not None and st.ident == ident and (
                not st.short or not st.order or st.order == self._use_order(st)):
            return False
        with self._lock:
            return self._refresh(store, name, key, ident)

    @staticmethod
    def _use_order(st: _TableState) -> tuple[str, ...]:
        use = _index.USE_COUNTS
        return tuple(sorted(st.order, key=lambda n: (-use[(st.table_dir, n)], n)))

    # -- explicit pins

    def pin(self, store, name: str, columns: Sequence[str] | None = None,
            budget: int | str | None = None) -> dict:
        """Pin every file of ``columns`` (all columns when None; index files of those
        columns included) within ``budget`` (None: only the kernel's limits), index-like
        files first. Sticky: later versions of the table are pinned the same way at the
        next ensure() or pin(). Returns a report (see :meth:`report`)."""
        if isinstance(columns, str):
            columns = [columns]
        with self._lock:
            key = (store.path, name)
            check_table(store, name, columns)
            st = self._tables.get(key) or self._tables.setdefault(
                key, _TableState(store.table_dir(name)))
            cols = None if columns is None else frozenset(columns)
            if st.spec is not None and st.spec[0] is not None and cols is not None:
                cols = cols | st.spec[0]
            st.spec = (cols, None if budget is None else parse_size(budget))
            st.suspended = False
            st.ident = None
            self._refresh(store, name, key, store.latest_version(name))
            return self.report(store, name)

    def unpin(self, store, name: str, columns: Sequence[str] | None = None) -> int:
        """Release pins of ``name``: with ``columns``, the explicit pins of those columns
        (automatic index pins stay); without, every pin of the table, automatic ones too,
        and automatic pinning of it stops until the next pin(). Returns bytes released."""
        if isinstance(columns, str):
            columns = [columns]
        with self._lock:
            key = (store.path, name)
            st = self._tables.get(key)
            before = self._table_bytes(key)
            if columns is None:
                if st is None:
                    st = self._tables.setdefault(key, _TableState(store.table_dir(name)))
                for path in list(st.auto):
                    self._drop(path, auto=True)
                for path in list(st.explicit):
                    self._drop(path, explicit=True)
                st.auto.clear()
                st.explicit.clear()
                st.spec = None
                st.suspended = True
                st.ident = None
            elif st is not None and st.spec is not None:
                with _table_files(store, name, columns) as (snap, _):
                    all_cols = [c.name for c in snap.manifest.schema]
                cols = set(all_cols if st.spec[0] is None else st.spec[0]) - set(columns)
                st.spec = (frozenset(cols), st.spec[1]) if cols else None
                st.ident = None
                self._refresh(store, name, key, store.latest_version(name))
            return before - self._table_bytes(key)

    # -- state

    def pinned(self, store=None, name: str | None = None) -> list[Pinned]:
        """The pinned files (of one table when ``store`` and ``name`` are given)."""
        with self._lock:
            pins = list(self._pins.values())
        if store is not None and name is not None:
            pins = [p for p in pins if p.key == (store.path, name)]
        return pins

    def pinned_bytes(self) -> int:
        """Bytes locked by this set (whole pages, as the kernel charges them)."""
        with self._lock:
            return sum(p.locked for p in self._pins.values())

    def report(self, store, name: str) -> dict:
        key = (store.path, name)
        with self._lock:
            st = self._tables.get(key)
            pins = [p for p in self._pins.values() if p.key == key]
            return {"table": name,
                    "version": None if st is None or st.ident is None else st.ident[0],
                    "files": len(pins), "pinned": sum(p.pinned_bytes for p in pins),
                    "locked": sum(p.locked for p in pins),
                    "auto": sum(p.pinned_bytes for p in pins if p.auto),
                    "explicit": sum(p.pinned_bytes for p in pins if p.explicit),
                    "skipped": 0 if st is None else st.skipped,
                    "refused": None if st is None else st.refused}

    def close(self) -> None:
        """Release every pin (munlock + unmap) and forget every table."""
        with self._lock:
            for p in self._pins.values():
                p.mapping.close()
            self._pins.clear()
            self._tables.clear()

    def __enter__(self) -> PinSet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals (called with the lock held)

    def _table_bytes(self, key) -> int:
        return sum(p.pinned_bytes for p in self._pins.values() if p.key == key)

    def _refresh(self, store, name: str, key, ident) -> bool:
        st = self._tables.get(key)
        if ident is None:  # the table is gone
            if st is None:
                return False
            for path in list(st.auto):
                self._drop(path, auto=True)
            for path in list(st.explicit):
                self._drop(path, explicit=True)
            del self._tables[key]
            return True
        if st is None:
            if self._budget <= 0:
                return False
            st = self._tables[key] = _TableState(store.table_dir(name))
        try:
            snap = store.snapshot(name)
        except NotFoundError:
            return self._refresh(store, name, key, None)
        try:
            files = snap.files()
            auto_want: list[TableFile] = []
            exp_want: list[TableFile] = []
            st.short, st.order, st.skipped = False, (), 0
            if self._budget > 0 and not st.suspended:
                cands, st.order = _auto_candidates(files, st.table_dir)
                others = sum(p.locked for p in self._pins.values() if p.auto and p.key != key)
                st.short, n = _fit(cands, self._budget - others, auto_want)
                st.skipped += n
            if st.spec is not None:
                cols, budget = st.spec
                sel = files if cols is None else [f for f in files if f.column in cols]
                _, n = _fit(_explicit_candidates(sel, st.table_dir), budget, exp_want)
                st.skipped += n
            want_auto = {f.path for f in auto_want}
            want_exp = {f.path for f in exp_want}
            for path in st.auto - want_auto:
                self._drop(path, auto=True)
            for path in st.explicit - want_exp:
                self._drop(path, explicit=True)
            st.auto &= want_auto
            st.explicit &= want_exp
            st.refused = None
            seen = set()
            for f in auto_want + exp_want:
                if f.path in seen:
                    continue
                seen.add(f.path)
                if not self._take(f, key, f.path in want_auto, f.path in want_exp, st):
                    break
            st.ident = ident if snap.version == ident[0] else None
            if st.short and st.order:
                st.order = self._use_order(st)
            return True
        finally:
            snap.close()

    def _take(self, f: TableFile, key, auto: bool, explicit: bool, st: _TableState) -> bool:
        """Pin ``f`` (or mark an existing pin); False when mlock was refused."""
        p = self._pins.get(f.path)
        if p is None:
            try:
                m = _map(f.path)
            except StorageError:
                return True  # gone with its version (or unreadable): nothing to pin
            try:
                m.lock()
            except OSError as e:  # MemoryLockError: RLIMIT_MEMLOCK / no CAP_IPC_LOCK
                m.close()
                st.refused = self.refused = refusal_message(e)
                _warn_refused(e)
                return False
            fst = os.fstat(m.fileno())
            p = self._pins[f.path] = Pinned(f, key, m, _locked_size(len(m)),
                                            (fst.st_dev, fst.st_ino))
        if auto:
            p.auto = True
            st.auto.add(f.path)
        if explicit:
            p.explicit = True
            st.explicit.add(f.path)
        return True

    def _drop(self, path: str, auto: bool = False, explicit: bool = False) -> None:
        p = self._pins.get(path)
        if p is None:
            return
        if auto:
            p.auto = False
        if explicit:
            p.explicit = False
        if not (p.auto or p.explicit):
            p.mapping.close()  # munmap unlocks
            del self._pins[path]


def _fit(cands: list[TableFile], budget: int | None, out: list[TableFile]
         ) -> tuple[bool, int]:
    """Append to ``out`` the candidates that fit ``budget`` in order, skipping the ones
    that do not; returns (whether any was skipped, how many)."""
    used = skipped = 0
    for f in cands:
        b = _locked_size(f.size)
        if budget is not None and used + b > budget:
            skipped += 1
            continue
        out.append(f)
        used += b
    return skipped > 0, skipped


def _auto_candidates(files: list[TableFile], table_dir: str
                     ) -> tuple[list[TableFile], tuple[str, ...]]:
    """Index files in pin priority: zone maps, dictionaries, then hash-index files by use
    (most probed first), each index's files in segment order."""
    use = _index.USE_COUNTS
    idx = [f for f in files if f.role == "index"]
    order = tuple(sorted({f.index or "" for f in idx},
                         key=lambda n: (-use[(table_dir, n)], n)))
    rank = {n: i for i, n in enumerate(order)}
    idx.sort(key=lambda f: rank[f.index or ""])
    return ([f for f in files if f.role == "zones"]
            + [f for f in files if f.role == "dictionary"] + idx), order


def _explicit_candidates(files: list[TableFile], table_dir: str) -> list[TableFile]:
    auto, _ = _auto_candidates(files, table_dir)
    rest = sorted((f for f in files if f.role not in AUTO_ROLES),
                  key=lambda f: PIN_ORDER.get(f.role, len(PIN_ORDER)))
    return auto + rest


def process_pins() -> dict[tuple[int, int], int]:
    """Bytes pinned in this process per file (device, inode), over every PinSet."""
    out: dict[tuple[int, int], int] = {}
    for ps in list(_REGISTRY):
        for p in ps.pinned():
            out[p.dev_ino] = max(out.get(p.dev_ino, 0), p.pinned_bytes)
    return out


# ---------------------------------------------------------------------------- holders

def holder_path(db_path: str, name: str) -> str:
    """``DB/.pins/<encoded table name>.json``: the pid file of the table's holder."""
    from mapdb.storage.names import table_dir_name
    return os.path.join(db_path, PINS_DIR, table_dir_name(name)[2:] + ".json")


def process_start(pid: int) -> int | None:
    """The start time of a live process (clock ticks since boot; /proc/<pid>/stat field
    22), None when it is gone or a zombie. With the pid it names a process uniquely."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def write_holder(db_path: str, name: str, info: dict) -> str:
    """Write the holder's pid file atomically (temp + rename)."""
    path = holder_path(db_path, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(info, fh)
    os.replace(tmp, path)
    return path


def read_holders(db_path: str, name: str | None = None, clean: bool = True) -> list[dict]:
    """Live holders (of table ``name``, or all), from their pid files. A file whose process
    is gone (or is another process with a reused pid) is stale: skipped, and removed
    when ``clean``."""
    d = os.path.join(db_path, PINS_DIR)
    if name is not None:
        paths = [holder_path(db_path, name)]
    else:
        try:
            paths = [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".json")]
        except FileNotFoundError:
            return []
    out = []
    for path in paths:
        try:
            with open(path) as fh:
                info = json.load(fh)
            pid, start = int(info["pid"]), info.get("start")
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError):
            info, pid, start = None, None, None
        if pid is not None and process_start(pid) == start:
            info["pid_file"] = path
            out.append(info)
        elif clean:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return out


def remove_holder(info: dict) -> None:
    """Remove a holder's pid file if it still names that holder."""
    path = info.get("pid_file")
    if path is None:
        return
    try:
        with open(path) as fh:
            if json.load(fh).get("pid") != info["pid"]:
                return
        os.unlink(path)
    except (OSError, ValueError):
        pass


def stop_holder(info: dict, timeout: float = 5.0) -> bool:
    """SIGTERM a holder (SIGKILL after ``timeout``) and wait for it to go; remove its pid
    file. False when it was already gone."""
    pid = int(info["pid"])
    if process_start(pid) != info.get("start"):
        remove_holder(info)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_start(pid) == info.get("start"):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.01)
    remove_holder(info)
    return True


_SMAPS_HEAD = re.compile(rb"^[0-9a-f]+-[0-9a-f]+ \S+ [0-9a-f]+ ([0-9a-f]+):([0-9a-f]+) (\d+)")


def locked_files(pid: int) -> dict[tuple[int, int], int] | None:
    """Locked bytes per mapped file (device, inode) of process ``pid``, from
    /proc/<pid>/smaps: the Rss of each mapping flagged ``lo`` (VM_LOCKED). (The
    ``Locked:`` line is the proportional share, halved when another process maps the same
    pages, so it is not used.) None when the process is gone or not readable."""
    out: dict[tuple[int, int], int] = {}
    cur: tuple[int, int] | None = None
    rss = 0
    try:
        with open(f"/proc/{pid}/smaps", "rb") as fh:
            for line in fh:
                m = _SMAPS_HEAD.match(line)
                if m:
                    ino = int(m.group(3))
                    cur = (os.makedev(int(m.group(1), 16), int(m.group(2), 16)), ino) \
                        if ino else None
                    rss = 0
                elif cur is None:
                    continue
                elif line.startswith(b"Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmFlags:"):
                    if b" lo" in line and rss:
                        out[cur] = out.get(cur, 0) + rss
                    cur = None
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return out


def holder_pins(db_path: str, name: str | None = None
                ) -> tuple[list[dict], dict[tuple[int, int], int]]:
    """Live holders of the database (of table ``name``, or all) with their kernel-measured
    ``locked`` bytes, and the locked bytes per file (device, inode) over all of them."""
    holders = read_holders(db_path, name)
    per_file: dict[tuple[int, int], int] = {}
    for h in holders:
        lf = locked_files(int(h["pid"]))
        h["locked"] = None if lf is None else sum(lf.values())
        for k, v in (lf or {}).items():
            per_file[k] = max(per_file.get(k, 0), v)
    return holders, per_file


# ---------------------------------------------------------------------------- status

def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _acc(d: dict, r: FileResidency, pinned: int) -> None:
    d["files"] = d.get("files", 0) + 1
    d["bytes"] = d.get("bytes", 0) + r.size
    d["resident"] = d.get("resident", 0) + r.resident
    d["pinned"] = d.get("pinned", 0) + pinned


def table_status(store, name: str, pinned: dict[tuple[int, int], int] | None = None,
                 files: bool = False, width: int = PICTURE_WIDTH) -> dict:
    """Residency and pins of the current version of ``name``, JSON-able: totals, then per
    column (files other than index files, a breakdown by role and the picture of its data
    files) and per index (its files and picture). ``pinned``: locked bytes per file
    (device, inode), by default this process's pins; ``files=True`` lists every file."""
    if pinned is None:
        pinned = process_pins()
    snap = store.snapshot(name)
    try:
        tfiles = snap.files()
        res, pictures = measure(tfiles, width)
        table: dict = {"version": snap.version, "segments": len(snap.manifest.segments)}
        columns: dict[str, dict] = {c.name: {} for c in snap.manifest.schema}
        indexes: dict[str, dict] = {}
        listing = []
        for r in res:
            f = r.file
            p = 0
            if pinned:
                try:
                    stt = os.stat(f.path)
                except FileNotFoundError:
                    stt = None
                if stt is not None:
                    p = min(pinned.get((stt.st_dev, stt.st_ino), 0), r.size)
            _acc(table, r, p)
            if f.role == "index":
                d = indexes.setdefault(f.index or "", {"column": f.column})
            else:
                d = columns[f.column]
            _acc(d, r, p)
            _acc(d.setdefault("roles", {}).setdefault(f.role, {}), r, p)
            if files:
                listing.append({"path": f.path, "column": f.column, "role": f.role,
                                "segment": f.segment, "index": f.index, "bytes": r.size,
                                "pages": r.pages, "resident_pages": r.resident_pages,
                                "resident": r.resident, "pinned": p})
    finally:
        snap.close()
    for d in [table, *columns.values(), *indexes.values()]:
        for k in ("files", "bytes", "resident", "pinned"):
            d.setdefault(k, 0)
        d["resident_pct"] = _pct(d["resident"], d["bytes"])
    for c, d in columns.items():
        d["picture"] = pictures.get(("column", c), "")
    for i, d in indexes.items():
        d["picture"] = pictures.get(("index", i), "")
    table["columns"] = columns
    table["indexes"] = indexes
    if files:
        table["file_list"] = listing
    return table
