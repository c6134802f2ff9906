# A region of memory exported through the buffer protocol. Every exported view and every
# in-flight syscall counts as a user; close() marks the region closed at once (later use
# raises ValueError) and frees it as soon as the last user is gone, so a view never points
# at unmapped memory and freeing is deterministic.
from cpython.buffer cimport PyBUF_WRITABLE, PyBUF_FORMAT, PyBUF_ND, PyBUF_STRIDES

cdef char _EMPTY[1]   # the address a zero-length view points at
cdef char *_FORMAT_BYTE = "B"


cdef class _Region:
    cdef char *_addr
    cdef Py_ssize_t _length
    cdef Py_ssize_t _users
    cdef bint _closed
    cdef bint _freed
    cdef bint _writable
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]

    cdef void _free(self) noexcept:
        """Release the memory; subclasses override."""
        pass

    cdef str _what(self):
        return type(self).__name__

    cdef int _check_open(self) except -1:
        if self._closed:
            raise ValueError(f"{self._what()} is closed")
        return 0

    cdef int _enter(self) except -1:
        """Count a user for the duration of a syscall that runs without the GIL."""
        self._check_open()
        self._users += 1
        return 0

    cdef void _leave(self) noexcept:
        self._users -= 1
        if self._closed and self._users == 0 and not self._freed:
            self._freed = True
            self._free()

    cdef (size_t, size_t) _range(self, Py_ssize_t offset, object length) except *:
        """Validate [offset, offset+length) against the region; return it page-aligned."""
        cdef Py_ssize_t n = self._length - offset if length is None else <Py_ssize_t>length
        if offset < 0 or n < 0 or offset > self._length or n > self._length - offset:
            raise ValueError(
                f"range [{offset}, {offset}+{length}) is outside the {self._length}-byte "
                f"{self._what()}")
        if n == 0:
            return 0, 0
        cdef size_t start = (<size_t>offset // _PAGE) * _PAGE
        return start, <size_t>(offset + n) - start

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def address(self) -> int:
        """The start address (0 for an empty region)."""
        self._check_open()
        return <size_t>self._addr

    @property
    def exports(self) -> int:
        """How many buffer views (and in-flight calls) currently use the region."""
        return self._users

    def __len__(self):
        self._check_open()
        return self._length

    def close(self) -> None:
        """Close now; the memory is freed once the last view is released (at once if none)."""
        if self._closed:
            return
        self._closed = True
        self._close_handles()
        self._users += 1
        self._leave()

    cdef void _close_handles(self) noexcept:
        pass

    def __enter__(self):
        self._check_open()
        return self

    def __exit__(self, *exc):
        self.close()

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        self._check_open()
        if (flags & PyBUF_WRITABLE) == PyBUF_WRITABLE and not self._writable:
            raise BufferError(f"{self._what()} is read-only")
        self._shape[0] = self._length
        self._strides[0] = 1
        buffer.buf = <void *>(self._addr if self._addr != NULL else _EMPTY)
        buffer.obj = self
        buffer.len = self._length
        buffer.readonly = not self._writable
        buffer.itemsize = 1
        buffer.format = _FORMAT_BYTE if (flags & PyBUF_FORMAT) == PyBUF_FORMAT else NULL
        buffer.ndim = 1
        buffer.shape = self._shape if (flags & PyBUF_ND) == PyBUF_ND else NULL
        buffer.strides = self._strides if (flags & PyBUF_STRIDES) == PyBUF_STRIDES else NULL
        buffer.suboffsets = NULL
        buffer.internal = NULL
        self._users += 1

    def __releasebuffer__(self, Py_buffer *buffer):
        self._leave()

    def __dealloc__(self):
        # No view can be alive here: each holds a reference to this object.
        self._close_handles()
        if not self._freed:
            self._freed = True
            self._free()
