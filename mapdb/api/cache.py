"""``db.cache``: page-cache residency, warm/evict, and pinning of a database's tables.

>>> import tempfile, mapdb
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db", pin_budget="64MB")
>>> t = db.create_table("t", {"x": list(range(100_000))})
>>> db.cache.warm("t")["bytes"] > 800_000                # 100,000 int64 + headers
True
>>> x = db.cache.status("t")["tables"]["t"]["columns"]["x"]
>>> x["resident_pct"], x["picture"]
(100.0, '##################################################')
>>> db.cache.ensure_pinned("t")          # zone maps (and dictionaries, hash indexes) pinned
True
>>> x = db.cache.status("t")["tables"]["t"]["columns"]["x"]
>>> x["roles"]["zones"]["pinned"] == x["roles"]["zones"]["bytes"], x["roles"]["data"]["pinned"]
(True, 0)
>>> db.cache.pin("t")["pinned"] == x["bytes"]       # every file of the table, data included
True
>>> db.cache.unpin("t") == x["bytes"]
True
>>> db.close()                           # releases every pin
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mapdb.errors import NotFoundError
from mapdb.storage import cache as _cache

if TYPE_CHECKING:
    from mapdb.api.database import Database

DEFAULT_PIN_BUDGET = "256MB"


class Cache:
    """Residency and pins of a database's tables (``db.cache``).

    Automatic pinning (:meth:`ensure_pinned`) locks a table's index files in RAM within the
    database's pin budget (``mapdb.connect(..., pin_budget="256MB")``): zone maps first,
    then dictionaries, then hash indexes by use. Explicit :meth:`pin` locks whole columns.
    Pins belong to this process and die with it (``mapdb cache pin`` keeps them in a holder
    process). Where the kernel refuses ``mlock``, everything works unpinned and one
    :class:`~mapdb.errors.PinWarning` per process says how to raise RLIMIT_MEMLOCK.
    """

    def __init__(self, db: Database, budget: int | str | None = DEFAULT_PIN_BUDGET):
        self._db = db
        self._pins = _cache.PinSet(budget)

    @property
    def budget(self) -> int:
        """Bytes automatic pinning may lock (0: off). Settable (int or e.g. "1GiB")."""
        return self._pins.budget

    @budget.setter
    def budget(self, value: int | str | None) -> None:
        self._pins.budget = value

    def ensure_pinned(self, table: str) -> bool:
        """Pin ``table``'s index files within the budget; call it before lookups and
        queries. Microseconds when the table has not changed since the last call (a
        listing and a stat of its manifests); after a commit it pins the new version's
        files and releases the old ones. Returns whether pins were re-evaluated. Never
        fails for lack of mlock privilege (one PinWarning per process instead)."""
        return self._pins.ensure(self._db._store, table)

    def status(self, table: str | None = None, files: bool = False) -> CacheStatus:
        """Residency and pins, a JSON-able dict that prints as ``mapdb cache status``'s
        table (:class:`CacheStatus`): ``{"tables": {name: {...}}, "pinned": ...,
        "budget": ..., "memlock_limit": ..., "holders": [...]}``. Per table, column and
        index: ``bytes``, ``resident`` bytes, ``resident_pct``, ``pinned`` bytes (this
        process's pins and those of ``mapdb cache pin`` holders, as the kernel counts them)
        and a ``picture`` (``#`` resident, ``o`` partly, ``.`` not). ``files=True`` adds
        every file's figures (``file_list``)."""
        store = self._db._store
        names = [table] if table is not None else store.tables()
        holders, held = _cache.holder_pins(store.path, table)
        pinned = _cache.process_pins()
        for k, v in held.items():
            pinned[k] = max(pinned.get(k, 0), v)
        tables = {}
        for n in names:
            try:
                tables[n] = _cache.table_status(store, n, pinned, files=files)
            except NotFoundError:
                if table is not None:
                    raise  # asked for by name; otherwise dropped meanwhile
        for n, d in tables.items():
            d["holders"] = [_holder_summary(h) for h in holders if h.get("table") == n]
        soft, hard = _cache.memlock_limit()
        return CacheStatus({"tables": tables, "pinned": self._pins.pinned_bytes(),
                "budget": self._pins.budget, "pin_refused": self._pins.refused,
                "memlock_limit": soft, "memlock_limit_hard": hard,
                "holders": [_holder_summary(h) for h in holders]})

    def warm(self, table: str, columns: Sequence[str] | None = None) -> dict:
        """Read the table's files (or these columns' files) into the page cache; resident
        when it returns. Returns {"files", "bytes", "seconds", ...}."""
        return _cache.warm_table(self._db._store, table, columns)

    def evict(self, table: str, columns: Sequence[str] | None = None) -> dict:
        """Drop the table's files (or these columns' files) from the page cache. Pinned
        pages stay (that is what pinning is for), as do pages another process maps. The
        table versions this Database keeps open for queries are released first, so their
        mappings do not hold pages in (and a garbage collection frees views of them left
        in reference cycles)."""
        import gc
        self._db._sources.close()
        gc.collect()
        return _cache.evict_table(self._db._store, table, columns)

    def pin(self, table: str, columns: Sequence[str] | None = None,
            budget: int | str | None = None) -> dict:
        """Lock every file of ``columns`` (all when None) in RAM, index-like files first,
        within ``budget`` (None: only the kernel's limit). Later versions are pinned the
        same way at the next ensure_pinned()/pin(). Returns {"pinned": bytes, "files",
        "skipped", "refused": message or None, ...}."""
        return self._pins.pin(self._db._store, table, columns, budget)

    def unpin(self, table: str, columns: Sequence[str] | None = None) -> int:
        """Release pins: of ``columns`` (explicit pins only), or every pin of the table,
        automatic ones too, which then stay off for it until pin(table). Returns bytes
        released."""
        return self._pins.unpin(self._db._store, table, columns)

    def pinned(self, table: str) -> dict:
        """What this process pins of ``table``: {"pinned": bytes, "locked": whole pages,
        "auto": bytes pinned automatically, "files", "skipped", "refused", "version"}."""
        return self._pins.report(self._db._store, table)

    def check(self, table: str, columns: Sequence[str] | None = None) -> None:
        """Raise NotFoundError unless ``table`` (and each of ``columns``) exists."""
        _cache.check_table(self._db._store, table, columns)

    def close(self) -> None:
        """Release every pin of this database."""
        self._pins.close()

    def __repr__(self) -> str:
        return (f"<mapdb Cache of {self._db.path!r}: "
                f"{_cache.format_bytes(self._pins.pinned_bytes())} pinned, budget "
                f"{_cache.format_bytes(self._pins.budget)}>")


class CacheStatus(dict):
    """What :meth:`Cache.status` returns: a plain dict to read (``st["tables"]["t"]``) and
    to ``json.dumps``, shown as a table when printed or echoed at a prompt (per table its
    totals, then per column and index the bytes, resident bytes and %, pinned bytes and a
    picture of the pages: ``#`` resident, ``o`` partly, ``.`` not)."""

    def lines(self) -> list[str]:
        out = []
        for name, t in self.get("tables", {}).items():
            out.append(f"{name}: version {t['version']}, {t['segments']} segment(s), "
                       f"{format_bytes(t['bytes'])}, {format_bytes(t['resident'])} resident "
                       f"({t['resident_pct']:.1f}%), {format_bytes(t['pinned'])} pinned")
            rows = [[c, *_figures(d)] for c, d in t["columns"].items()]
            rows += [[f"index {i} ({d['column']})", *_figures(d)]
                     for i, d in t.get("indexes", {}).items()]
            out += _aligned(["column", "bytes", "resident", "%", "pinned", "data pages"], rows)
            for h in t.get("holders", []):
                locked = "?" if h["locked"] is None else format_bytes(h["locked"])
                cols = ",".join(h["columns"]) if h.get("columns") else "all columns"
                out.append(f"  holder pid {h['pid']}: {locked} locked ({cols})")
            out.append("")
        limit = self.get("memlock_limit")
        out.append(f"RLIMIT_MEMLOCK {'unlimited' if limit is None else format_bytes(limit)}"
                   f"; holders: {len(self.get('holders', []))}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle) -> None:  # IPython / Jupyter
        p.text(str(self))


def format_bytes(n: float) -> str:
    """
    >>> format_bytes(1536), format_bytes(12)
    ('1.5 KiB', '12 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def _figures(d: dict) -> list[str]:
    return [format_bytes(d["bytes"]), format_bytes(d["resident"]), f"{d['resident_pct']:.1f}%",
            format_bytes(d["pinned"]), d["picture"]]


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    return ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
            for line in [header, ["-" * w for w in widths], *rows]]


def _holder_summary(h: dict) -> dict:
    return {k: h.get(k) for k in ("pid", "table", "columns", "budget", "pinned", "locked",
                                  "version", "started")}

