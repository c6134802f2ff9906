# Hash indexes: hashing of column values and the build/probe kernels of the index files.
#
# An index file's data (after the 4 KiB header) is laid out for lookups that touch as few
# pages as possible:
#
#   uint32 bits, uint32 0, uint64 m         16 bytes: 2**bits buckets, m entries
#   uint32 dir[2**bits + 1]                 bucket b holds entries dir[b] .. dir[b+1]-1
#   uint32 tags[m]                          the low 32 bits of each entry's hash
#   uint32 rows[m]                          the row (in the segment) of each entry
#
# An entry's bucket is the top ``bits`` bits of its 64-bit hash; within a bucket entries
# are in row order. A probe reads one pair of directory words, the bucket's tags and rows
# (usually one of each), and only then the column value of a candidate row to confirm it,
# so a lookup faults in the data pages of matching rows (and rare tag collisions) only.

import numpy as np

cdef enum:
    HX_PREAMBLE = 16


cdef inline uint64_t _hash_bytes(const uint8_t *p, int64_t n) noexcept nogil:
    cdef uint64_t h = 0x9E3779B97F4A7C15ULL ^ <uint64_t>n, w
    cdef int64_t i = 0
    while i + 8 <= n:
        memcpy(&w, p + i, 8)
        h = _mix64(h ^ w) * 0xff51afd7ed558ccdULL
        i += 8
    w = 0
    if i < n:
        memcpy(&w, p + i, n - i)
        h = _mix64(h ^ w) * 0xff51afd7ed558ccdULL
    return _mix64(h)


def hash_int64(const int64_t[::1] values):
    """64-bit hashes of int64 keys (integer-like columns, dictionary codes, float bits).

    >>> import numpy as np
    >>> h = hash_int64(np.array([1, 2, 1], np.int64)); bool(h[0] == h[2]), bool(h[0] != h[1])
    (True, True)
    """
    cdef Py_ssize_t n = values.shape[0], i
    out = np.empty(n, np.uint64)
    cdef uint64_t[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = _mix64(<uint64_t>values[i] ^ 0x9E3779B97F4A7C15ULL)
    return out


def hash_strings(const int64_t[::1] offsets, const uint8_t[::1] data):
    """64-bit hashes of the byte strings data[offsets[i]:offsets[i + 1]].

    >>> import numpy as np
    >>> h = hash_strings(np.array([0, 2, 2, 4], np.int64), np.frombuffer(b"abab", np.uint8))
    >>> bool(h[0] == h[2]), bool(h[0] != h[1])
    (True, True)
    """
    cdef Py_ssize_t n = offsets.shape[0] - 1, i
    if n < 0:
        raise ValueError("offsets must hold at least one entry")
    if n and (offsets[0] < 0 or offsets[n] > data.shape[0]):
        raise ValueError("offsets point outside the data")
    out = np.empty(n, np.uint64)
    cdef uint64_t[::1] o = out
    cdef const uint8_t *base = &data[0] if data.shape[0] else NULL
    with nogil:
        for i in range(n):
            o[i] = _hash_bytes(base + offsets[i], offsets[i + 1] - offsets[i])
    return out


def hash_index_bits(Py_ssize_t entries):
    """Directory size for ``entries`` entries: at most one entry per bucket on average."""
    cdef int bits = 1
    while (1 << bits) < entries:
        bits += 1
    return bits


def build_hash_index(const uint64_t[::1] hashes, const uint32_t[::1] rows):
    """The data of an index file (uint8 array, layout above) over ``hashes[i]`` of
    ``rows[i]`` (rows ascending). A counting sort on the bucket: O(n), no comparisons.

    >>> import numpy as np
    >>> h = hash_int64(np.array([5, 7, 5], np.int64))
    >>> ix = build_hash_index(h, np.arange(3, dtype=np.uint32))
    >>> probe_hash_index(ix, h[:1])[1].tolist()
    [0, 2]
    """
    cdef Py_ssize_t m = hashes.shape[0], i
    if rows.shape[0] != m:
        raise ValueError("hashes and rows differ in length")
    if m >= 0xFFFFFFFF:
        raise ValueError("a hash index holds fewer than 2**32 entries per segment")
    cdef int bits = hash_index_bits(m)
    cdef int64_t nb = <int64_t>1 << bits
    cdef int shift = 64 - bits
    out = np.zeros(HX_PREAMBLE + 4 * (nb + 1) + 8 * m, np.uint8)
    cdef uint8_t[::1] o = out
    cdef uint32_t *pre = <uint32_t *>&o[0]
    cdef uint32_t *dir_ = <uint32_t *>&o[HX_PREAMBLE]
    cdef uint32_t *tags = dir_ + nb + 1
    cdef uint32_t *rws = tags + m
    cdef uint64_t b
    cdef uint32_t *fill
    pre[0] = bits
    (<uint64_t *>&o[8])[0] = m
    with nogil:
        for i in range(m):
            dir_[(hashes[i] >> shift) + 1] += 1
        for i in range(nb):
            dir_[i + 1] += dir_[i]
    fill = <uint32_t *>malloc(nb * sizeof(uint32_t))
    if fill == NULL:
        raise MemoryError()
    with nogil:
        memcpy(fill, dir_, nb * sizeof(uint32_t))
        for i in range(m):
            b = hashes[i] >> shift
            tags[fill[b]] = <uint32_t>hashes[i]
            rws[fill[b]] = rows[i]
            fill[b] += 1
    free(fill)
    return out


cdef int64_t _check_index(const uint8_t[::1] index, int *bits) except -1:
    """Validate the layout against the buffer's size; return the entry count."""
    if index.shape[0] < HX_PREAMBLE:
        raise ValueError("hash index too short")
    bits[0] = (<const uint32_t *>&index[0])[0]
    cdef uint64_t m = (<const uint64_t *>&index[8])[0]
    if bits[0] < 1 or bits[0] > 40:
        raise ValueError(f"hash index with {bits[0]} directory bits")
    if m > <uint64_t>index.shape[0] // 8:  # a flipped count must not wrap the size below
        raise ValueError(f"hash index says {m} entries; its {index.shape[0]} bytes hold fewer")
    if <uint64_t>index.shape[0] != HX_PREAMBLE + 4 * ((<uint64_t>1 << bits[0]) + 1) + 8 * m:
        raise ValueError("hash index size does not match its preamble")
    return <int64_t>m


def hash_one(int64_t value):
    """hash_int64 of one key, as a Python int (the single-key lookup path)."""
    return _mix64(<uint64_t>value ^ 0x9E3779B97F4A7C15ULL)


def probe_one(const uint8_t[::1] index, uint64_t h):
    """Candidate rows for one hash, as a list (see probe_hash_index)."""
    cdef int bits
    cdef int64_t m = _check_index(index, &bits), j, lo, hi
    cdef const uint32_t *dir_ = <const uint32_t *>&index[HX_PREAMBLE]
    cdef const uint32_t *tags = dir_ + (<int64_t>1 << bits) + 1
    cdef const uint32_t *rws = tags + m
    cdef int shift = 64 - bits
    lo = dir_[h >> shift]
    hi = dir_[(h >> shift) + 1]
    if hi > m or lo > hi:
        hi = lo
    out = []
    for j in range(lo, hi):
        if tags[j] == <uint32_t>h:
            out.append(rws[j])
    return out


def probe_hash_index(const uint8_t[::1] index, const uint64_t[::1] qhashes):
    """Candidate rows for each query hash: (query positions, rows), int64 arrays, grouped
    by query in order. Candidates share the whole 64-bit hash's bucket and low 32 bits;
    the caller confirms each against the column's value."""
    cdef int bits
    cdef int64_t m = _check_index(index, &bits)
    cdef int shift = 64 - bits
    cdef const uint32_t *dir_ = <const uint32_t *>&index[HX_PREAMBLE]
    cdef const uint32_t *tags = dir_ + (<int64_t>1 << bits) + 1
    cdef const uint32_t *rws = tags + m
    cdef Py_ssize_t nq = qhashes.shape[0], q
    cdef int64_t cap = nq + 16, n = 0, j, lo, hi
    cdef int64_t *qs = <int64_t *>malloc(cap * sizeof(int64_t))
    cdef int64_t *rs = <int64_t *>malloc(cap * sizeof(int64_t))
    cdef int64_t *tmp
    cdef uint64_t h
    cdef bint oom = False
    if qs == NULL or rs == NULL:
        free(qs); free(rs)
        raise MemoryError()
    with nogil:
        for q in range(nq):
            h = qhashes[q]
            lo = dir_[h >> shift]
            hi = dir_[(h >> shift) + 1]
            if hi > m or lo > hi:
                hi = lo  # damaged directory: never read outside the entries
            for j in range(lo, hi):
                if tags[j] != <uint32_t>h:
                    continue
                if n == cap:
                    cap *= 2
                    tmp = <int64_t *>realloc(qs, cap * sizeof(int64_t))
                    if tmp == NULL:
                        oom = True
                        break
                    qs = tmp
                    tmp = <int64_t *>realloc(rs, cap * sizeof(int64_t))
                    if tmp == NULL:
                        oom = True
                        break
                    rs = tmp
                qs[n] = q
                rs[n] = rws[j]
                n += 1
            if oom:
                break
    if oom:
        free(qs); free(rs)
        raise MemoryError()
    qa = np.empty(n, np.int64)
    ra = np.empty(n, np.int64)
    cdef int64_t[::1] qv = qa, rv = ra
    if n:
        memcpy(&qv[0], qs, n * sizeof(int64_t))
        memcpy(&rv[0], rs, n * sizeof(int64_t))
    free(qs); free(rs)
    return qa, ra
