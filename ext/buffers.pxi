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


cdef uint64_t _checksum(const unsigned char *p, size_t n, uint64_t seed) noexcept nogil:
    """Four independent multiply-rotate lanes over 32-byte stripes (so the CPU overlaps
    them), then the tail, the length and a final avalanche. Not cryptographic; it finds
    flipped, torn and zeroed bytes."""
    cdef uint64_t a = seed + _P1, b = seed ^ _P2, c = seed, d = seed - _P1
    cdef size_t i = 0
    while i + 32 <= n:
        a = _rotl(a + _load64(p + i) * _P2, 31) * _P1
        b = _rotl(b + _load64(p + i + 8) * _P2, 31) * _P1
        c = _rotl(c + _load64(p + i + 16) * _P2, 31) * _P1
        d = _rotl(d + _load64(p + i + 24) * _P2, 31) * _P1
        i += 32
    cdef uint64_t h = _rotl(a, 1) + _rotl(b, 7) + _rotl(c, 12) + _rotl(d, 18)
    while i + 8 <= n:
        h = _rotl(h ^ (_load64(p + i) * _P2), 27) * _P1 + _P3
        i += 8
    while i < n:
        h = _rotl(h ^ (p[i] * _P3), 11) * _P1
        i += 1
    return _mix(h ^ <uint64_t>n)


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
