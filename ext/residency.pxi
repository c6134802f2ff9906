# Which pages are in the page cache: mincore(2) for a mapping, cachestat(2) for a whole
# file (Linux >= 6.5; also reports dirty, writeback and evicted pages), falling back to
# mincore through a temporary mapping on older kernels.
import collections as _collections
from libc.stdlib cimport malloc

CacheStat = _collections.namedtuple(
    "CacheStat", "pages cached dirty writeback evicted recently_evicted source")
CacheStat.__doc__ = ("Page-cache state of a file in pages. dirty/writeback/evicted/"
                     "recently_evicted are None when source is 'mincore'.")


cdef unsigned char *_mincore_vec(char *addr, size_t length, object path) except NULL:
    """mincore over [addr, addr+length); the caller frees the vector."""
    cdef size_t npages = (length + _PAGE - 1) // _PAGE
    cdef unsigned char *vec = <unsigned char *>malloc(npages if npages else 1)
    cdef int rc = 0, err = 0
    if vec == NULL:
        raise MemoryError()
    if length == 0:
        return vec
    with nogil:
        rc = mincore(addr, length, vec)
        if rc != 0:
            err = errno
    if rc != 0:
        free(vec)
        _raise(err, path, "mincore")
    return vec


cdef size_t _count_resident(const unsigned char *vec, size_t npages) noexcept nogil:
    cdef size_t i, n = 0
    for i in range(npages):
        n += vec[i] & 1
    return n


cdef size_t _resident_pages(char *addr, size_t length, object path) except? 0:
    cdef unsigned char *vec = _mincore_vec(addr, length, path)
    cdef size_t n
    with nogil:
        n = _count_resident(vec, (length + _PAGE - 1) // _PAGE)
    free(vec)
    return n


cdef object _residency_map(char *addr, size_t length, object path):
    import numpy as np
    cdef size_t npages = (length + _PAGE - 1) // _PAGE
    cdef unsigned char *vec = _mincore_vec(addr, length, path)
    cdef size_t i
    try:
        out = np.empty(npages, dtype=np.bool_)
        view = memoryview(out).cast("B")
        for i in range(npages):
            view[i] = vec[i] & 1
    finally:
        free(vec)
    return out


def file_residency(path, method="auto"):
    """Page-cache state of a whole file as a CacheStat.

    method: "auto" (cachestat where the kernel has it, else mincore), "cachestat", "mincore".

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     file_residency(f.name).pages
    0
    """
    if method not in ("auto", "cachestat", "mincore"):
        raise ValueError(f"method must be auto, cachestat or mincore, not {method!r}")
    cdef bytes bpath = _encode_path(path)
    cdef const char *cpath = bpath
    cdef int fd, rc = 0, err = 0
    cdef stat st
    cdef cachestat_t cs
    cdef size_t size, npages
    cdef void *addr
    with nogil:
        fd = c_open(cpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    if fd < 0:
        _raise(errno, path, "open")
    try:
        if fstat(fd, &st) != 0:
            _raise(errno, path, "fstat")
        size = st.st_size
        npages = (size + _PAGE - 1) // _PAGE
        if method != "mincore":
            with nogil:
                rc = mapdb_cachestat(fd, 0, 0, &cs)
                if rc != 0:
                    err = errno
            if rc == 0:
                return CacheStat(npages, cs.nr_cache, cs.nr_dirty, cs.nr_writeback,
                                 cs.nr_evicted, cs.nr_recently_evicted, "cachestat")
            if method == "cachestat" or err not in (ENOSYS, EOPNOTSUPP, EPERM):
                _raise(err, path, "cachestat")
        if size == 0:
            return CacheStat(0, 0, None, None, None, None, "mincore")
        with nogil:
            addr = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0)
            if addr == MAP_FAILED:
                err = errno
        if addr == MAP_FAILED:
            _raise(err, path, "mmap")
        try:
            return CacheStat(npages, _resident_pages(<char *>addr, size, path),
                             None, None, None, None, "mincore")
        finally:
            munmap(addr, size)
    finally:
        c_close(fd)
