# A growable string -> int32 code hash table: the table-wide dictionary of a ``dict``
# column while a writer encodes batches. Encoding runs without the GIL over Arrow's
# offsets + bytes; new strings get the next code, so codes are stable and append-only.
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport realloc
from libc.string cimport memcmp


cdef inline uint64_t _str_hash(const char *s, int64_t n) noexcept nogil:
    """In-memory hash of a short string (never stored): 8-byte words, then an avalanche."""
    cdef uint64_t h = 0x165667B19E3779F9ULL ^ <uint64_t>n, w
    cdef int64_t i = 0, k
    while i + 8 <= n:
        memcpy(&w, s + i, 8)  # fixed size: one load
        h = _rotl(h ^ (w * 0xC2B2AE3D27D4EB4FULL), 31) * 0x9E3779B185EBCA87ULL
        i += 8
    if i < n:
        w = 0
        for k in range(n - i):  # the tail byte by byte: a variable memcpy is a libc call
            w |= (<uint64_t>(<const unsigned char *>s)[i + k]) << (8 * k)
        h = _rotl(h ^ (w * 0xC2B2AE3D27D4EB4FULL), 31) * 0x9E3779B185EBCA87ULL
    return _mix(h)


cdef inline uint64_t _prefix8(const char *s, int64_t n) noexcept nogil:
    """The first 8 bytes, zero-padded (strings of up to 8 bytes compare by this alone)."""
    cdef uint64_t w = 0
    cdef int64_t k
    if n >= 8:
        memcpy(&w, s, 8)
    else:
        for k in range(n):
            w |= (<uint64_t>(<const unsigned char *>s)[k]) << (8 * k)
    return w


cdef class StringDictionary:
    """Strings to dense int32 codes (0, 1, 2, ... in order of first appearance).

    >>> import numpy as np
    >>> d = StringDictionary()
    >>> offsets = np.array([0, 1, 2, 3, 3], dtype=np.int64)
    >>> d.encode(offsets, b"bab", 4, None, 0).tolist(), len(d)
    ([0, 1, 0, 2], 3)
    >>> offs, data = d.entries(1)
    >>> offs.tolist(), bytes(data)
    ([0, 1, 1], b'a')
    """
    cdef int64_t *_offsets      # count + 1 entries
    cdef char *_data
    cdef int64_t _data_len, _data_cap
    cdef uint64_t *_hashes
    cdef uint64_t *_prefixes    # first 8 bytes of each entry, for a compare without memcmp
    cdef int32_t *_slots        # -1 = empty; capacity is a power of two
    cdef uint64_t _mask
    cdef Py_ssize_t _count, _cap

    def __cinit__(self):
        self._cap = 1024
        self._offsets = <int64_t *>malloc((self._cap + 1) * sizeof(int64_t))
        self._hashes = <uint64_t *>malloc(self._cap * sizeof(uint64_t))
        self._prefixes = <uint64_t *>malloc(self._cap * sizeof(uint64_t))
        self._data_cap = 1 << 16
        self._data = <char *>malloc(self._data_cap)
        self._mask = 2 * self._cap - 1
        self._slots = <int32_t *>malloc((self._mask + 1) * sizeof(int32_t))
        if not (self._offsets and self._hashes and self._prefixes and self._data
                and self._slots):
            raise MemoryError()
        memset(self._slots, 0xFF, (self._mask + 1) * sizeof(int32_t))
        self._offsets[0] = 0

    def __dealloc__(self):
        free(self._offsets)
        free(self._hashes)
        free(self._prefixes)
        free(self._data)
        free(self._slots)

    def __len__(self):
        return self._count

    cdef int _grow_entries(self) except -1 nogil:
        cdef Py_ssize_t cap = self._cap * 2
        cdef int64_t *o = <int64_t *>realloc(self._offsets, (cap + 1) * sizeof(int64_t))
        if o == NULL:
            with gil:
                raise MemoryError()
        self._offsets = o
        cdef uint64_t *h = <uint64_t *>realloc(self._hashes, cap * sizeof(uint64_t))
        if h == NULL:
            with gil:
                raise MemoryError()
        self._hashes = h
        cdef uint64_t *p = <uint64_t *>realloc(self._prefixes, cap * sizeof(uint64_t))
        if p == NULL:
            with gil:
                raise MemoryError()
        self._prefixes = p
        self._cap = cap
        # rehash into a table twice the entry capacity (load factor <= 1/2)
        cdef uint64_t mask = 2 * cap - 1
        cdef int32_t *slots = <int32_t *>malloc((mask + 1) * sizeof(int32_t))
        if slots == NULL:
            with gil:
                raise MemoryError()
        memset(slots, 0xFF, (mask + 1) * sizeof(int32_t))
        cdef Py_ssize_t i
        cdef uint64_t j
        for i in range(self._count):
            j = self._hashes[i] & mask
            while slots[j] >= 0:
                j = (j + 1) & mask
            slots[j] = <int32_t>i
        free(self._slots)
        self._slots = slots
        self._mask = mask
        return 0

    cdef int32_t _code(self, const char *s, int64_t n) except -1 nogil:
        cdef uint64_t h = _str_hash(s, n)
        cdef uint64_t w = _prefix8(s, n)
        cdef uint64_t j = h & self._mask
        cdef int32_t c
        cdef int64_t start
        cdef char *grown
        while True:
            c = self._slots[j]
            if c < 0:
                break
            if self._hashes[c] == h and self._prefixes[c] == w:
                start = self._offsets[c]
                if self._offsets[c + 1] - start == n and (
                        n <= 8 or memcmp(self._data + start + 8, s + 8, n - 8) == 0):
                    return c
            j = (j + 1) & self._mask
        if self._count >= 0x7FFFFFFF:
            with gil:
                raise OverflowError("a dictionary holds at most 2**31 - 1 values")
        if self._data_len + n > self._data_cap:
            while self._data_len + n > self._data_cap:
                self._data_cap *= 2
            grown = <char *>realloc(self._data, self._data_cap)
            if grown == NULL:
                with gil:
                    raise MemoryError()
            self._data = grown
        memcpy(self._data + self._data_len, s, n)
        self._data_len += n
        c = <int32_t>self._count
        self._offsets[c + 1] = self._data_len
        self._hashes[c] = h
        self._prefixes[c] = w
        self._slots[j] = c
        self._count += 1
        if self._count == self._cap:
            self._grow_entries()
        return c

    def encode(self, offsets, data, Py_ssize_t n, validity, Py_ssize_t bit_offset):
        """Codes (numpy int32) of ``n`` strings given as Arrow int64 ``offsets`` (n + 1,
        need not start at 0) and ``data``; rows whose ``validity`` bit (at bit_offset + i)
        is 0 get code 0 and are not added."""
        import numpy as np
        out = np.empty(n, dtype=np.int32)
        cdef int32_t[::1] codes = out
        cdef Py_buffer ob, db, vb
        cdef const int64_t *off
        cdef const char *d
        cdef const uint8_t *v = NULL
        cdef Py_ssize_t i, b
        PyObject_GetBuffer(offsets, &ob, PyBUF_SIMPLE)
        try:
            if ob.len < (n + 1) * 8:
                raise ValueError(f"offsets hold {ob.len // 8} entries; {n} strings need {n + 1}")
            PyObject_GetBuffer(data, &db, PyBUF_SIMPLE)
            try:
                off = <const int64_t *>ob.buf
                d = <const char *>db.buf
                if n and (off[0] < 0 or off[n] > db.len or off[0] > off[n]):
                    raise ValueError("offsets point outside the data buffer")
                if validity is not None:
                    PyObject_GetBuffer(validity, &vb, PyBUF_SIMPLE)
                    v = <const uint8_t *>vb.buf
                    if vb.len * 8 < bit_offset + n:
                        PyBuffer_Release(&vb)
                        raise ValueError("validity bitmap is too short")
                try:
                    with nogil:
                        for i in range(n):
                            if v != NULL:
                                b = bit_offset + i
                                if not (v[b >> 3] >> (b & 7)) & 1:
                                    codes[i] = 0
                                    continue
                            codes[i] = self._code(d + off[i], off[i + 1] - off[i])
                finally:
                    if v != NULL:
                        PyBuffer_Release(&vb)
            finally:
                PyBuffer_Release(&db)
        finally:
            PyBuffer_Release(&ob)
        return out

    def entries(self, Py_ssize_t start=0):
        """(offsets as numpy int64 from 0, bytes) of the values with codes >= start."""
        import numpy as np
        if start < 0 or start > self._count:
            raise ValueError(f"start {start} outside 0..{self._count}")
        cdef int64_t base = self._offsets[start]
        offs = np.empty(self._count - start + 1, dtype=np.int64)
        cdef int64_t[::1] o = offs
        cdef Py_ssize_t i
        for i in range(start, self._count + 1):
            o[i - start] = self._offsets[i] - base
        return offs, PyBytes_FromStringAndSize(self._data + base, self._data_len - base)
