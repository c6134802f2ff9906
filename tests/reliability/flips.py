"""Single-byte flips in headers, manifests and index files (RELIABILITY.md 9): each flip
is detected (header CRC, manifest CRC, validation at open or probe, or the data checksum
that `mapdb verify` checks) or provably harmless; never a crash, never an exception that is
not a mapdb error. Shared by the quick tests and the soak command's full sweeps."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa

from mapdb.errors import CorruptionError, MapdbError
from mapdb.storage.database import DatabaseStore
from mapdb.storage.header import HEADER_SIZE
from mapdb.storage.index import open_hash_index

MASKS_QUICK = (0x01, 0x80)
MASKS_ALL = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80)


def flip_table(db_path) -> DatabaseStore:
    """A table with every kind of file: int, float with nulls, string, dictionary columns,
    two segments, hash indexes on an integer and a string column."""
    db = DatabaseStore(db_path)
    n = 1000
    t = pa.table({"k": pa.array(np.arange(0, 3 * n, 3), pa.int64()),
                  "f": pa.array([None if i % 7 == 0 else i / 3 for i in range(n)]),
                  "s": pa.array([f"str{i}" for i in range(n)], pa.string()),
                  "d": pa.array([f"d{i % 5}" for i in range(n)], pa.string())})
    w = db.create_writer("t", t.schema, None, dictionary=["d"])
    w.write(t)
    w.commit()
    w.create_index("k", "hash")
    w.create_index("s", "hash")
    w.write(t.slice(0, 10).set_column(0, "k", pa.array(np.arange(10) * 3 + 3 * n, pa.int64()))
            .set_column(2, "s", pa.array([f"new{i}" for i in range(10)], pa.string())))
    w.commit()
    w.close()
    return db


def files(db: DatabaseStore) -> dict[str, str]:
    """kind -> path of the largest file of each kind in the current version (for an index:
    the file of the 1000-row segment, not of the 10-row one)."""
    snap = db.snapshot("t")
    try:
        out, sizes = {}, {}
        for f in snap.files():
            key = f"index {f.index}" if f.role == "index" else f"{f.column}.{f.role}"
            if f.size > sizes.get(key, -1):
                out[key], sizes[key] = f.path, f.size
        out["manifest"] = snap._pin.path
        return out
    finally:
        snap.close()


def _rewrite(path: str, data: bytes) -> None:
    os.unlink(path)  # a new file: mapped files are never rewritten in place
    with open(path, "wb") as f:
        f.write(data)


def sweep(path: str, positions: Iterable[int], masks: Iterable[int],
          probe: Callable[[], str], counts: Counter, bad: list) -> None:
    """Flip each (position, mask) of ``path`` in turn (the file restored after each) and
    count ``probe()``'s outcome; outcomes starting with BUG go to ``bad`` as well."""
    with open(path, "rb") as f:
        original = f.read()
    masks = list(masks)
    try:
        for pos in positions:
            if pos >= len(original):
                continue
            for mask in masks:
                damaged = bytearray(original)
                damaged[pos] ^= mask
                _rewrite(path, bytes(damaged))
                try:
                    outcome = probe()
                except Exception as e:
                    outcome = f"BUG {type(e).__name__}: {e}"
                counts[outcome] += 1
                if outcome.startswith("BUG"):
                    bad.append((os.path.basename(path), pos, mask, outcome))
    finally:
        _rewrite(path, original)


def _verify_finds(db: DatabaseStore) -> bool:
    snap = db.snapshot("t")
    try:
        return bool(snap.verify())
    finally:
        snap.close()


def column_probe(db: DatabaseStore, column: str, zones: bool) -> Callable[[], str]:
    """Open the column (or its zone maps): a damaged header must be refused there."""
    def probe() -> str:
        snap = db.snapshot("t")
        try:
            try:
                snap.zones(column) if zones else snap.column(column)
            except CorruptionError:
                return "detected at open"
            return "BUG: a damaged header was accepted at open"
        finally:
            snap.close()
    return probe


def manifest_probe(db: DatabaseStore) -> Callable[[], str]:
    good = db.snapshot("t")
    good_manifest = good.manifest
    good.close()

    def probe() -> str:
        try:
            snap = db.snapshot("t")
        except CorruptionError:
            return "detected at open"
        try:
            if snap.manifest == good_manifest:
                return "harmless: parses to the same manifest (e.g. another spelling of a float)"
            return "BUG: a damaged manifest was accepted"
        finally:
            snap.close()
    return probe


def index_probe(db: DatabaseStore, name: str, keys: list) -> Callable[[], str]:
    """Open and probe the index with ``keys`` (together and one by one), then verify. A
    flip in the header is refused at open; in the preamble and directory it is refused at
    the probe or clamped (the probe then may miss rows); in the entries it may give wrong
    candidates. Wherever the probe does not refuse it, verify must find it."""
    def probe() -> str:
        snap = db.snapshot("t")
        try:
            try:
                ix = open_hash_index(snap, snap.manifest.index(name))
            except CorruptionError:
                return "detected at open"
            try:
                ix.lookup(keys)
                for k in keys[:16]:
                    ix.lookup([k])
                where = None
            except CorruptionError:
                where = "detected at probe"
            except MapdbError as e:
                return f"BUG: {type(e).__name__} at probe: {e}"
            finally:
                ix.close()
        finally:
            snap.close()
        if not _verify_finds(db):
            return "BUG: verify does not find the damage"
        return where or "found by verify (the probe went on)"
    return probe


def index_regions(path: str) -> dict[str, range]:
    """Byte ranges of an index file: header, preamble + first directory words, the rest."""
    size = os.path.getsize(path)
    return {"header": range(0, HEADER_SIZE),
            "preamble and directory start": range(HEADER_SIZE, HEADER_SIZE + 16 + 64),
            "entries": range(HEADER_SIZE + 16 + 64, size)}
