# madvise on mapped ranges, posix_fadvise on files.
import enum as _enum


class Advice(_enum.IntEnum):
    """madvise(2) advice for a mapped range."""
    NORMAL = MADV_NORMAL
    RANDOM = MADV_RANDOM
    SEQUENTIAL = MADV_SEQUENTIAL
    WILLNEED = MADV_WILLNEED
    DONTNEED = MADV_DONTNEED
    COLD = MADV_COLD
    PAGEOUT = MADV_PAGEOUT
    HUGEPAGE = MADV_HUGEPAGE
    POPULATE_READ = MADV_POPULATE_READ
    POPULATE_WRITE = MADV_POPULATE_WRITE


class FileAdvice(_enum.IntEnum):
    """posix_fadvise(2) advice for a file's page cache."""
    NORMAL = POSIX_FADV_NORMAL
    SEQUENTIAL = POSIX_FADV_SEQUENTIAL
    RANDOM = POSIX_FADV_RANDOM
    WILLNEED = POSIX_FADV_WILLNEED
    DONTNEED = POSIX_FADV_DONTNEED
    NOREUSE = POSIX_FADV_NOREUSE


# Advice a kernel may lack, with the release that added it: EINVAL from an older kernel
# means "not supported here"; from a newer one it means the range refused it.
_NEEDS = {
    MADV_COLD: (5, 4),
    MADV_PAGEOUT: (5, 4),
    MADV_POPULATE_READ: (5, 14),
    MADV_POPULATE_WRITE: (5, 14),
}


def _kernel_version():
    import re
    m = re.match(r"(\d+)\.(\d+)", _os.uname().release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


cdef int _madvise(char *addr, size_t length, int advice, object path) except -1:
    cdef int rc = 0, err = 0
    if length == 0:
        return 0
    with nogil:
        rc = madvise(addr, length, advice)
        if rc != 0:
            err = errno
    if rc != 0:
        name = Advice(advice).name
        if err == EINVAL:
            need = _NEEDS.get(advice)
            have = _kernel_version()
            if need is not None and have < need:
                why = (f"not supported by this kernel (Linux {have[0]}.{have[1]}; needs "
                       f">= {need[0]}.{need[1]})")
            elif advice == MADV_HUGEPAGE:
                why = ("not supported for this mapping: transparent huge pages need "
                       "(CONFIG_TRANSPARENT_HUGEPAGE, and CONFIG_READ_ONLY_THP_FOR_FS for "
                       "file mappings)")
            else:
                why = "refused for this range (for example COLD/PAGEOUT on locked pages)"
            raise OSError(err, f"madvise({name}): {why}", _os.fspath(path))
        _raise(err, path, f"madvise({name})")
    return 0


def fadvise(file, Py_ssize_t offset=0, Py_ssize_t length=0, advice=FileAdvice.DONTNEED):
    """posix_fadvise on a path or an open file descriptor; length 0 means to the end.

    DONTNEED drops the file's clean pages from the page cache (no privileges needed).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     fadvise(f.name, advice=FileAdvice.DONTNEED)
    """
    cdef int adv = FileAdvice(advice)
    cdef int fd, rc
    cdef bytes bpath
    cdef const char *cpath
    if isinstance(file, int):
        fd = file
        path = None
    else:
        path = file
        bpath = _encode_path(file)
        cpath = bpath
        with nogil:
            fd = c_open(cpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0:
            _raise(errno, path, "open")
    try:
        with nogil:
            rc = posix_fadvise(fd, offset, length, adv)   # returns the error number
        if rc != 0:
            _raise(rc, path, f"posix_fadvise({FileAdvice(adv).name})")
    finally:
        if path is not None:
            c_close(fd)
