# Mapping: a regular file (or a page-aligned range of it) mapped MAP_SHARED, read-only or
# read-write. It exports the buffer protocol (read-only for read-only mappings), so numpy
# and pyarrow views cost no copy; each view keeps the mapping alive.


cdef class Mapping(_Region):
    """A file mapped into memory.

    ``Mapping(path)`` maps the whole file read-only; ``offset`` (page-aligned) and
    ``length`` map a range; ``writable=True`` maps it read-write (MAP_SHARED, so writes
    reach the file). ``Mapping.create(path, length)`` makes a new file, reserves its
    space with posix_fallocate and maps it read-write.

    >>> import os, tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> with Mapping.create(os.path.join(d, "col"), 4096) as m:
    ...     np.frombuffer(m, dtype=np.int64)[:2] = [7, 8]
    ...     m.sync()
    >>> with Mapping(os.path.join(d, "col")) as m:
    ...     np.frombuffer(m, dtype=np.int64)[:2].tolist()
    [7, 8]
    """
    cdef int _fd
    cdef long _guard  # slot in the SIGBUS guard table (guard.pxi), -1 if none
    cdef readonly object path
    cdef readonly Py_ssize_t offset

    def __cinit__(self):
        self._fd = -1
        self._guard = -1

    cdef void _guard_update(self):
        """(Re)register a read-only mapping's range with the SIGBUS guard."""
        _guard_unregister(self._guard)
        self._guard = -1
        if self._addr != NULL and not self._writable:
            try:
                self._guard = _guard_register(self._addr, self._length, self.path)
            except BaseException:
                self._guard = -1

    def guard_fill(self, uint64_t word):
        """Should a read past the end of the shrunk file be contained, the patch page
        repeats the 8-byte ``word`` instead of zeros: an offsets file's data length keeps
        its offsets non-decreasing and inside the data (mapdb_sigbus.h). A mapping that is
        not guarded ignores it."""
        mapdb_guard_set_fill(self._guard, word)

    @property
    def damaged(self) -> bool:
        """True once a read past the end of the (shrunk) file was contained: the pages
        read as zeros, so nothing read through this mapping since can be trusted."""
        return mapdb_guard_damaged(self._guard) != 0

    def __init__(self, path, bint writable=False, Py_ssize_t offset=0, length=None,
                 bint follow_symlinks=True):
        if self._fd >= 0 or self._closed:
            raise RuntimeError("Mapping is already initialised")
        self._open(path, (O_RDWR if writable else O_RDONLY | O_NONBLOCK)
                   | (0 if follow_symlinks else O_NOFOLLOW), 0o644)
        self._map(offset, length, writable, -1)

    @classmethod
    def create(cls, path, Py_ssize_t length, bint exclusive=True, int mode=0o644):
        """Create ``path`` (fails if it exists unless exclusive=False), reserve ``length``
        bytes with posix_fallocate and map them read-write."""
        if length < 0:
            raise ValueError(f"length must be >= 0, not {length}")
        cdef Mapping m = cls.__new__(cls)
        m._open(path, O_RDWR | O_CREAT | (O_EXCL if exclusive else 0), mode)
        m._map(0, length, True, length)
        return m

    cdef int _open(self, object path, int flags, int mode) except -1:
        cdef bytes bpath = _encode_path(path)
        cdef const char *cpath = bpath
        cdef int fd
        with nogil:
            fd = c_open(cpath, flags | O_CLOEXEC, mode)
        if fd < 0:
            _raise(errno, path, "open")
        self._fd = fd
        self.path = path
        return 0

    cdef int _map(self, Py_ssize_t offset, object length, bint writable,
                  Py_ssize_t reserve) except -1:
        """Map [offset, offset+length) of the open file; on error close the descriptor."""
        cdef stat st
        cdef Py_ssize_t n
        cdef void *addr
        cdef int err = 0
        cdef int prot = PROT_READ | (PROT_WRITE if writable else 0)
        try:
            if fstat(self._fd, &st) != 0:
                _raise(errno, self.path, "fstat")
            if S_ISDIR(st.st_mode):
                _raise(EISDIR, self.path, "map")
            if not S_ISREG(st.st_mode):
                raise OSError(EINVAL, "map: not a regular file", _os.fspath(self.path))
            if offset < 0 or offset % PAGE_SIZE:
                raise ValueError(f"offset {offset} is not a multiple of the page size "
                                 f"({PAGE_SIZE})")
            if reserve > 0:
                fallocate(self._fd, 0, reserve, self.path)
                st.st_size = max(<Py_ssize_t>st.st_size, reserve)
            n = st.st_size - offset if length is None else <Py_ssize_t>length
            if n < 0 or offset > st.st_size or n > st.st_size - offset:  # no overflow
                raise ValueError(
                    f"{_os.fspath(self.path)}: range [{offset}, {offset}+{n}) is beyond the "
                    f"end of the {st.st_size}-byte file (mapping it would fault on access)")
            self._writable = writable
            self.offset = offset
            if n > 0:
                with nogil:
                    addr = mmap(NULL, n, prot, MAP_SHARED, self._fd, offset)
                    if addr == MAP_FAILED:
                        err = errno
                if addr == MAP_FAILED:
                    _raise(err, self.path, "mmap")
                self._addr = <char *>addr
                self._length = n
                self._guard_update()
        except BaseException:
            self._closed = True
            self._freed = True
            self._close_handles()
            raise
        return 0

    cdef void _free(self) noexcept:
        if self._addr != NULL:
            _guard_unregister(self._guard)
            self._guard = -1
            munmap(self._addr, self._length)
            self._addr = NULL

    cdef void _close_handles(self) noexcept:
        if self._fd >= 0:
            c_close(self._fd)
            self._fd = -1

    cdef str _what(self):
        return f"mapping of {_os.fspath(self.path)!r}" if self.path is not None else "mapping"

    def fileno(self) -> int:
        """The open file descriptor (closed by close())."""
        self._check_open()
        return self._fd

    def resize(self, Py_ssize_t new_length) -> None:
        """Grow (or shrink) the mapping with mremap.

        Writable: the file is first extended with posix_fallocate (never truncated).
        Read-only: the file must already be long enough (another writer grew it).
        Refused while views are alive, since the mapping may move.
        """
        cdef void *addr
        cdef int err = 0
        cdef stat st
        self._check_open()
        if self._users:
            raise BufferError(f"cannot resize the {self._what()} while {self._users} "
                              f"view(s) of it are alive")
        if new_length < 0:
            raise ValueError(f"length must be >= 0, not {new_length}")
        if self._writable and new_length > self._length:
            fallocate(self._fd, self.offset, new_length, self.path)
        if fstat(self._fd, &st) != 0:
            _raise(errno, self.path, "fstat")
        if new_length > st.st_size - self.offset:  # no overflow
            raise ValueError(f"{_os.fspath(self.path)} has {st.st_size} bytes; cannot map "
                             f"{new_length} bytes from offset {self.offset}")
        if new_length == self._length:
            return
        if self._addr == NULL or new_length == 0:
            self._free()
            self._length = 0
            if new_length:
                with nogil:
                    addr = mmap(NULL, new_length,
                                PROT_READ | (PROT_WRITE if self._writable else 0),
                                MAP_SHARED, self._fd, self.offset)
                    if addr == MAP_FAILED:
                        err = errno
                if addr == MAP_FAILED:
                    _raise(err, self.path, "mmap")
                self._addr = <char *>addr
                self._length = new_length
                self._guard_update()
            return
        with nogil:
            addr = mremap(self._addr, self._length, new_length, MREMAP_MAYMOVE)
            if addr == MAP_FAILED:
                err = errno
        if addr == MAP_FAILED and err in (EFAULT, EINVAL, ENOMEM):
            # advise/lock/protect of part of the range split it into several VMAs, which
            # mremap cannot move as one (Linux says EFAULT; valgrind's mremap EINVAL or
            # ENOMEM): map afresh (no view is alive; locks are dropped)
            self._free()
            self._length = 0
            with nogil:
                addr = mmap(NULL, new_length, PROT_READ | (PROT_WRITE if self._writable else 0),
                            MAP_SHARED, self._fd, self.offset)
                if addr == MAP_FAILED:
                    err = errno
            if addr == MAP_FAILED:
                _raise(err, self.path, "mmap")
        elif addr == MAP_FAILED:
            _raise(err, self.path, "mremap")
        self._addr = <char *>addr
        self._length = new_length
        self._guard_update()

    def advise(self, Py_ssize_t offset=0, length=None, advice=Advice.NORMAL) -> None:
        """madvise the range (rounded out to whole pages)."""
        cdef int adv = Advice(advice)
        if adv == MADV_POPULATE_WRITE and not self._writable:
            raise ValueError(f"the {self._what()} is read-only; POPULATE_WRITE needs a "
                             f"writable mapping")
        start, n = self._range(offset, length)
        self._enter()
        try:
            _madvise(self._addr + <size_t>start, n, adv, self.path)
        finally:
            self._leave()

    def sync(self, Py_ssize_t offset=0, length=None, bint wait=True) -> None:
        """msync the range: MS_SYNC (wait for the write-back) or MS_ASYNC."""
        start, n = self._range(offset, length)
        self._enter()
        try:
            _msync(self._addr + <size_t>start, n, wait, self.path)
        finally:
            self._leave()

    def fsync(self) -> None:
        """fsync the file (data and metadata)."""
        self._check_open()
        fsync(self._fd, self.path)

    def fdatasync(self) -> None:
        """fdatasync the file (data, and the metadata needed to read it back)."""
        self._check_open()
        fdatasync(self._fd, self.path)

    def lock(self, Py_ssize_t offset=0, length=None, bint onfault=False) -> None:
        """mlock the range (onfault: mlock2(MLOCK_ONFAULT), locking pages as they are
        touched). Raises MemoryLockError naming RLIMIT_MEMLOCK when refused."""
        start, n = self._range(offset, length)
        self._enter()
        try:
            _mlock(self._addr + <size_t>start, n, onfault, self.path)
        finally:
            self._leave()

    def unlock(self, Py_ssize_t offset=0, length=None) -> None:
        """munlock the range."""
        start, n = self._range(offset, length)
        self._enter()
        try:
            _munlock(self._addr + <size_t>start, n, self.path)
        finally:
            self._leave()

    def protect(self, Py_ssize_t offset, length, prot) -> None:
        """mprotect the range; ``offset`` must be page-aligned. READ|WRITE needs a
        writable mapping. Sealing a region READ makes later writes through this mapping
        fault, so seal only what no live view will write."""
        cdef int p = Prot(prot)
        if offset % PAGE_SIZE:
            raise ValueError(f"offset {offset} is not a multiple of the page size")
        if (p & PROT_WRITE) and not self._writable:
            raise ValueError(f"the {self._what()} is read-only; cannot add Prot.WRITE")
        start, n = self._range(offset, length)
        self._enter()
        try:
            _mprotect(self._addr + <size_t>start, n, p, self.path)
        finally:
            self._leave()

    def resident_pages(self, Py_ssize_t offset=0, length=None) -> int:
        """How many pages of the range are in the page cache (mincore)."""
        start, n = self._range(offset, length)
        self._enter()
        try:
            return _resident_pages(self._addr + <size_t>start, n, self.path)
        finally:
            self._leave()

    def residency_map(self, Py_ssize_t offset=0, length=None):
        """One bool per page of the range: is it in the page cache (mincore)."""
        start, n = self._range(offset, length)
        self._enter()
        try:
            return _residency_map(self._addr + <size_t>start, n, self.path)
        finally:
            self._leave()

    def __repr__(self):
        mode = "rw" if self._writable else "r"
        state = "closed" if self._closed else f"{self._length} bytes at offset {self.offset}"
        return f"<mapdb Mapping {_os.fspath(self.path)!r} {mode}, {state}>"
