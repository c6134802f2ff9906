"""Durability modes: how far a commit goes to survive a crash (see docs/durability.md).

``full`` (default)  data files fdatasync'ed, directories and the manifest fsynced before
                    commit returns: the commit survives power loss.
``os``              the same write order (every data file complete before the manifest
                    rename, the commit point) and no fsync at all: the commit survives a
                    process crash (kill -9), not a power loss or kernel crash.
``none``            ``os`` without starting write-back early (``sync_file_range``):
                    benchmarks only; the same process-crash guarantee as ``os``.

Chosen per call, else per ``Database`` (``connect(durability=...)``), else by the
database's ``mapdb.json`` (``"durability"``), else ``full``.

>>> resolve(None, "os", "full").name
'os'
>>> resolve(None, None).name
'full'
>>> check("fast")
Traceback (most recent call last):
...
mapdb.errors.InvalidOptionError: durability 'fast': expected one of full, os, none
"""

from __future__ import annotations

from dataclasses import dataclass

from mapdb.errors import InvalidOptionError

MODES = ("full", "os", "none")
DEFAULT = "full"


@dataclass(frozen=True)
class Durability:
    """What a writer does for durability. ``sync``: fdatasync/fsync files, directories and
    the manifest (and a failed sync poisons the writer). ``writeback``: start each data
    file's write-back (sync_file_range) as soon as it is written."""

    name: str
    sync: bool
    writeback: bool


FULL = Durability("full", sync=True, writeback=True)
OS = Durability("os", sync=False, writeback=True)
NONE = Durability("none", sync=False, writeback=False)
_BY_NAME = {d.name: d for d in (FULL, OS, NONE)}


def check(name: object, where: str = "durability") -> str:
    """``name`` if it is a durability mode, else InvalidOptionError listing the modes."""
    if isinstance(name, Durability):
        return name.name
    if not isinstance(name, str) or name not in _BY_NAME:
        raise InvalidOptionError(f"{where} {name!r}: expected one of {', '.join(MODES)}")
    return name


def resolve(*choices: str | Durability | None) -> Durability:
    """The first choice that is not None (per call, per Database, mapdb.json), else full."""
    for c in choices:
        if c is not None:
            return _BY_NAME[check(c)]
    return FULL
