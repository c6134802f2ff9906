# Aligned scratch memory for kernels: cache-line (or page) aligned, exported as a writable
# buffer, freed deterministically by close() once no view remains.


cdef class Scratch(_Region):
    """Aligned, writable scratch memory.

    >>> s = Scratch(4096, alignment=64)
    >>> s.address % 64, len(s)
    (0, 4096)
    >>> s.close()
    """
    cdef readonly size_t alignment

    def __init__(self, Py_ssize_t nbytes, size_t alignment=64, bint zero=True):
        cdef void *p = NULL
        cdef int rc
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, not {nbytes}")
        if alignment < sizeof(void *) or alignment & (alignment - 1):
            raise ValueError(f"alignment must be a power of two >= {sizeof(void *)}, "
                             f"not {alignment}")
        if self._addr != NULL or self._closed:
            raise RuntimeError("Scratch is already initialised")
        self.alignment = alignment
        self._writable = True
        if nbytes == 0:
            return
        rc = posix_memalign(&p, alignment, nbytes)
        if rc != 0:
            raise MemoryError(f"posix_memalign({nbytes}, {alignment}) failed: "
                              f"{_os.strerror(rc)}")
        if zero:
            with nogil:
                memset(p, 0, nbytes)
        self._addr = <char *>p
        self._length = nbytes

    cdef void _free(self) noexcept:
        free(self._addr)
        self._addr = NULL

    def __repr__(self):
        state = "closed" if self._closed else f"{self._length} bytes"
        return f"<mapdb Scratch {state}, aligned {self.alignment}>"
