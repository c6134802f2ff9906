# Getting bytes to stable storage: fsync/fdatasync on descriptors and paths,
# posix_fallocate to reserve space up front (a full disk is then a clean ENOSPC at
# allocation time, never a SIGBUS on a later write through a mapping).


def fsync(int fd, path=None) -> None:
    """fsync(2) without the GIL; ``path`` only names the file in errors."""
    cdef int rc
    with nogil:
        rc = c_fsync(fd)
    if rc != 0:
        _raise(errno, path, "fsync")


def fdatasync(int fd, path=None) -> None:
    """fdatasync(2) without the GIL; ``path`` only names the file in errors."""
    cdef int rc
    with nogil:
        rc = c_fdatasync(fd)
    if rc != 0:
        _raise(errno, path, "fdatasync")


def fsync_path(path) -> None:
    """Open ``path`` (a file or a directory) read-only, fsync it, close it.

    Syncing a directory makes the renames and creations inside it durable.
    """
    cdef bytes bpath = _encode_path(path)
    cdef const char *cpath = bpath
    cdef int fd, rc, err = 0
    with nogil:
        fd = c_open(cpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    if fd < 0:
        _raise(errno, path, "open")
    with nogil:
        rc = c_fsync(fd)
        if rc != 0:
            err = errno
        c_close(fd)
    if rc != 0:
        _raise(err, path, "fsync")


def fallocate(int fd, Py_ssize_t offset, Py_ssize_t length, path=None) -> None:
    """posix_fallocate(3): reserve [offset, offset+length) so later writes cannot hit ENOSPC."""
    cdef int rc
    if offset < 0 or length < 0:
        raise ValueError(f"negative offset or length ({offset}, {length})")
    if length == 0:
        return
    with nogil:
        rc = posix_fallocate(fd, offset, length)   # returns the error number
    if rc != 0:
        _raise(rc, path, "posix_fallocate")


def start_writeback(int fd, Py_ssize_t offset=0, Py_ssize_t length=0, path=None) -> None:
    """sync_file_range(SYNC_FILE_RANGE_WRITE): start writing the range's dirty pages to disk
    now, without waiting (length 0: to the end). Not a durability guarantee (fdatasync is);
    it keeps the disk busy while the writer goes on, instead of leaving gigabytes dirty
    until the final sync."""
    cdef int rc
    if offset < 0 or length < 0:
        raise ValueError(f"negative offset or length ({offset}, {length})")
    with nogil:
        rc = sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)
    if rc != 0:
        _raise(errno, path, "sync_file_range")


cdef int _msync(char *addr, size_t length, bint wait, object path) except -1:
    cdef int rc = 0, err = 0
    cdef int flags = MS_SYNC if wait else MS_ASYNC
    if length == 0:
        return 0
    with nogil:
        rc = msync(addr, length, flags)
        if rc != 0:
            err = errno
    if rc != 0:
        _raise(err, path, "msync(MS_SYNC)" if wait else "msync(MS_ASYNC)")
    return 0
