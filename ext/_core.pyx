# cython: freethreading_compatible = False
"""mapdb's OS layer: memory mappings and the syscalls around them.

One source file per concept, included here so they compile into one extension module
(``mapdb._ext._core``, re-exported by ``mapdb._ext``) and share the C-level ``_Region`` base without cross-module cimports:

  errors.pxi      errno -> OSError with the file name
  region.pxi      buffer export bookkeeping shared by mappings and scratch memory
  advice.pxi      madvise / posix_fadvise
  durability.pxi  msync, fsync, fdatasync, posix_fallocate
  locking.pxi     mlock / mlock2(MLOCK_ONFAULT) / munlock, RLIMIT_MEMLOCK reporting
  protection.pxi  mprotect
  residency.pxi   mincore, cachestat(2)
  scratch.pxi     aligned scratch buffers for kernels
  buffers.pxi     copy into a mapping and checksum64 without the GIL
  strdict.pxi     string -> code hash table for dictionary encoding
  guard.pxi       SIGBUS containment for read-only mappings (mapdb_sigbus.h)
  mapping.pxi     Mapping: a file mapped read-only or read-write
  scan.pxi        fused filter + group + aggregate kernels over mapped columns
  hashindex.pxi   value hashing, hash-index build and probe
  join.pxi        JoinTable: hash-join build on int64 keys, probe/mark/count without the GIL
  validate.pxi    a structural check of string offsets (a morsel's, before Arrow)
"""

include "errors.pxi"
include "region.pxi"
include "advice.pxi"
include "durability.pxi"
include "locking.pxi"
include "protection.pxi"
include "residency.pxi"
include "scratch.pxi"
include "buffers.pxi"
include "strdict.pxi"
include "guard.pxi"
include "mapping.pxi"
include "scan.pxi"
include "hashindex.pxi"
include "join.pxi"
include "validate.pxi"
