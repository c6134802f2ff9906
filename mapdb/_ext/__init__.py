"""The OS layer: mappings and the syscalls around them (compiled from ext/ by Cython).

Everything public lives in the compiled module ``mapdb._ext._core``; see its stub
``_core.pyi`` for signatures.
"""

from mapdb._ext._core import (
    PAGE_SIZE,
    Advice,
    CacheStat,
    Checksum64,
    DistinctSet,
    FileAdvice,
    FusedProgram,
    FusedState,
    Mapping,
    MemoryLockError,
    Prot,
    Scratch,
    StringDictionary,
    checksum64,
    copy_into,
    fadvise,
    fallocate,
    fdatasync,
    file_residency,
    fsync,
    fsync_path,
    locked_bytes,
    memlock_limit,
    start_writeback,
)

__all__ = [
    "PAGE_SIZE",
    "Advice",
    "CacheStat",
    "Checksum64",
    "DistinctSet",
    "FileAdvice",
    "FusedProgram",
    "FusedState",
    "Mapping",
    "MemoryLockError",
    "Prot",
    "Scratch",
    "StringDictionary",
    "checksum64",
    "copy_into",
    "fadvise",
    "fallocate",
    "fdatasync",
    "file_residency",
    "fsync",
    "fsync_path",
    "locked_bytes",
    "memlock_limit",
    "start_writeback",
]
