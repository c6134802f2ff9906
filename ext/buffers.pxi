# Byte-level helpers for the write path: a copy into a mapping and a 64-bit checksum,
# both without the GIL (either may fault on mapped pages).
from libc.string cimport memcpy
from libc.stdint cimport uint64_t
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_FromStringAndSize

cdef uint64_t _P1 = 0x9E3779B185EBCA87ULL
cdef uint64_t _P2 = 0xC2B2AE3D27D4EB4FULL
cdef uint64_t _P3 = 0x165667B19E3779F9ULL


cdef inline uint64_t _rotl(uint64_t x, int r) noexcept nogil:
    return (x << r) | (x >> (64 - r))


cdef inline uint64_t _load64(const unsigned char *p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)   # unaligned-safe; compiles to one load
    return v


cdef inline uint64_t _mix(uint64_t x) noexcept nogil:
    x ^= x >> 33
    x *= _P2
    x ^= x >> 29
    x *= _P3
    x ^= x >> 32
    return x


cdef struct _HashState:
    uint64_t a, b, c, d
    uint64_t total
    unsigned char pending[32]
    size_t npending


cdef inline void _hash_init(_HashState *st, uint64_t seed) noexcept nogil:
    st.a = seed + _P1
    st.b = seed ^ _P2
    st.c = seed
    st.d = seed - _P1
    st.total = 0
    st.npending = 0


cdef inline void _hash_stripe(_HashState *st, const unsigned char *p) noexcept nogil:
    st.a = _rotl(st.a + _load64(p) * _P2, 31) * _P1
    st.b = _rotl(st.b + _load64(p + 8) * _P2, 31) * _P1
    st.c = _rotl(st.c + _load64(p + 16) * _P2, 31) * _P1
    st.d = _rotl(st.d + _load64(p + 24) * _P2, 31) * _P1


cdef void _hash_update(_HashState *st, const unsigned char *p, size_t n) noexcept nogil:
    """Four independent multiply-rotate lanes over 32-byte stripes (so the CPU overlaps
    them); bytes short of a stripe wait in ``pending`` for the next update."""
    cdef size_t take, i = 0
    st.total += n
    if st.npending:
        take = 32 - st.npending if n > 32 - st.npending else n
        memcpy(st.pending + st.npending, p, take)
        st.npending += take
        i = take
        if st.npending < 32:
            return
        _hash_stripe(st, st.pending)
        st.npending = 0
    while i + 32 <= n:
        _hash_stripe(st, p + i)
        i += 32
    if i < n:
        memcpy(st.pending, p + i, n - i)
        st.npending = n - i


cdef uint64_t _hash_digest(const _HashState *st) noexcept nogil:
    """Lanes, then the pending tail as 8-byte words and bytes, the length, an avalanche.
    Not cryptographic; it finds flipped, torn and zeroed bytes."""
    cdef uint64_t h = _rotl(st.a, 1) + _rotl(st.b, 7) + _rotl(st.c, 12) + _rotl(st.d, 18)
    cdef size_t i = 0
    while i + 8 <= st.npending:
        h = _rotl(h ^ (_load64(st.pending + i) * _P2), 27) * _P1 + _P3
        i += 8
    while i < st.npending:
        h = _rotl(h ^ (st.pending[i] * _P3), 11) * _P1
        i += 1
    return _mix(h ^ st.total)


cdef uint64_t _checksum(const unsigned char *p, size_t n, uint64_t seed) noexcept nogil:
    cdef _HashState st
    _hash_init(&st, seed)
    _hash_update(&st, p, n)
    return _hash_digest(&st)


cdef class Checksum64:
    """Streaming checksum64: update() with parts in order; digest() equals checksum64 of
    their concatenation, however the bytes were split.

    >>> h = Checksum64()
    >>> h.update(b"map"); h.update(b"db")
    >>> h.digest() == checksum64(b"mapdb")
    True
    """
    cdef _HashState _st

    def __cinit__(self, uint64_t seed=0):
        _hash_init(&self._st, seed)

    def update(self, data) -> None:
        cdef Py_buffer view
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            with nogil:
                _hash_update(&self._st, <const unsigned char *>view.buf, <size_t>view.len)
        finally:
            PyBuffer_Release(&view)

    def digest(self) -> int:
        return _hash_digest(&self._st)


def checksum64(data, uint64_t seed=0) -> int:
    """64-bit checksum of a contiguous buffer (any format), computed without the GIL.

    >>> checksum64(b"mapdb") == checksum64(bytearray(b"mapdb"))
    True
    >>> checksum64(b"mapdb") != checksum64(b"mapdc")
    True
    """
    cdef Py_buffer view
    cdef uint64_t h
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        with nogil:
            h = _checksum(<const unsigned char *>view.buf, <size_t>view.len, seed)
    finally:
        PyBuffer_Release(&view)
    return h


def copy_into(dst, Py_ssize_t offset, src) -> None:
    """memcpy ``src`` into the writable buffer ``dst`` at ``offset`` without the GIL
    (bounds-checked; any buffer formats).

    >>> buf = bytearray(4)
    >>> copy_into(buf, 1, b"ab")
    >>> bytes(buf)
    b'\\x00ab\\x00'
    """
    cdef Py_buffer d, s
    PyObject_GetBuffer(dst, &d, PyBUF_WRITABLE)
    try:
        PyObject_GetBuffer(src, &s, PyBUF_SIMPLE)
        try:
            if offset < 0 or s.len > d.len or offset > d.len - s.len:  # no overflow
                raise ValueError(f"copy of {s.len} bytes at offset {offset} overflows a "
                                 f"{d.len}-byte destination")
            if s.len:
                with nogil:
                    memcpy(<char *>d.buf + offset, s.buf, <size_t>s.len)
        finally:
            PyBuffer_Release(&s)
    finally:
        PyBuffer_Release(&d)
