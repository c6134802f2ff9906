# Hash joins: a chained hash table over an int64 build key column, probed without the GIL.
#
# JoinTable(keys, valid) copies the build keys and chains the valid rows by bucket:
#
#   int64  keys[rows]         the build keys (a copy: the table owns everything it reads)
#   uint32 head[2**bits]      1 + the first row of each bucket's chain, 0 for an empty bucket
#   uint32 next[rows]         1 + the next row of the chain after row r, 0 at the end
#
# Direct mode: when the inserted keys span at most max(2**(bits+1), 2**20) values (dimension
# keys, dense surrogate keys), head has one slot per value and the slot of key k is
# k - min key: a probe is one read, with no hashing and no pipeline (4 ns per probe of a
# small table against 28 hashed).
#
# A table small enough to stay cached (256 KiB of keys, links and heads) is probed with a
# plain loop: the pipeline below only pays off when probes miss the caches.
#
# Rank mode: otherwise, when a bitmap of the key range is no bigger than the table would be
# (or 1 MiB), there are no hash slots. The bitmap has bit k - lo set for every key k, rank[w]
# counts the set bits before word w, and rowof[j] is 1 + the lowest build row of the j-th
# smallest distinct key, next[] chaining that key's other rows in ascending order; a present
# key's rows start at rowof[rank[w] + popcount(bits below it in w)] (TPC-H o_orderkey of the
# orders a filter kept, or Q21's l_orderkey of lineitem rows, several per order). A miss
# (most probe rows of a selective join) reads one bit; probes sorted by key (lineitem by
# l_orderkey) read all three arrays in order: 5 ns per probe against 16 hashed; random
# probes, pipelined like the hashed ones, 17 against 24.
#
# 2**bits >= 2 * inserted rows (a load factor of at most 1/2). A bucket is the top ``bits``
# bits of _mix64(key ^ golden ratio) (the hash_int64 hash), which spreads sequential keys
# like any others. Rows are inserted from the last to the first, so every chain yields its
# rows in ascending order: probe output is ordered by probe row, then build row, and the
# first match of a chain is the lowest matching row.
#
# The table is read-only once built, so any number of threads may probe it at once. Build
# and probes are software-pipelined (see _JPipe): the head slots, keys and links of rows a
# few dozen ahead are prefetched while the current row walks its chain, so a table larger
# than the caches has many cache misses in flight instead of one. Arrays of 4 MiB or more
# are mapped on transparent huge pages, which spares most TLB misses of random probes.

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

cdef extern from *:
    """
    #define MAPDB_PREFETCH_R(p) __builtin_prefetch((const void *)(p), 0, 3)
    #define MAPDB_PREFETCH_W(p) __builtin_prefetch((const void *)(p), 1, 3)
    #define MAPDB_STORE_RELAXED_U8(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
    #define MAPDB_JT_NO_BUCKET UINT64_MAX
    static inline uint32_t mapdb_popcount64(uint64_t x) {
        /* SWAR: without -mpopcnt, __builtin_popcountll is a libgcc call */
        x = x - ((x >> 1) & 0x5555555555555555ULL);
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        return (uint32_t)((x * 0x0101010101010101ULL) >> 56);
    }
    #define MAPDB_POPCOUNT64(x) mapdb_popcount64(x)
    /* Rank mode (see JoinTable): always inlined into the probe loops. */
    static inline __attribute__((always_inline)) void mapdb_jr_prefetch(
            const uint64_t *present, const uint32_t *rank, uint64_t mspan, int64_t lo,
            int64_t k) {
        uint64_t d = (uint64_t)k - (uint64_t)lo;
        if (d < mspan) {
            __builtin_prefetch(&present[d >> 6], 0, 3);
            __builtin_prefetch(&rank[d >> 6], 0, 3);
        }
    }
    static inline __attribute__((always_inline)) uint32_t mapdb_jd_slot(
            const uint32_t *head, uint64_t span, int64_t lo, int64_t k) {
        /* direct mode: 1 + the first row of key k (0: none) */
        uint64_t d = (uint64_t)k - (uint64_t)lo;
        return d < span ? head[d] : 0;
    }
    static inline __attribute__((always_inline)) uint32_t mapdb_jr_rank(
            const uint64_t *present, const uint32_t *rank, const uint32_t *rowof,
            uint64_t mspan, int64_t lo, int64_t k) {
        /* 1 + the rank of key k among the build keys (0: not one), its row prefetched */
        uint64_t d = (uint64_t)k - (uint64_t)lo, w;
        uint32_t j;
        if (d >= mspan) return 0;
        w = present[d >> 6];
        if (!((w >> (d & 63)) & 1)) return 0;
        j = rank[d >> 6] + mapdb_popcount64(w & ((1ULL << (d & 63)) - 1));
        __builtin_prefetch(&rowof[j], 0, 3);
        return j + 1;
    }
    """
    const uint64_t JT_NO_BUCKET "MAPDB_JT_NO_BUCKET"   # a NULL key in the pipeline: no lookup
    void _prefetch_r "MAPDB_PREFETCH_R"(const void *p) noexcept nogil
    void _prefetch_w "MAPDB_PREFETCH_W"(const void *p) noexcept nogil
    void _store_relaxed_u8 "MAPDB_STORE_RELAXED_U8"(uint8_t *p, uint8_t v) noexcept nogil
    uint32_t _popcount64 "MAPDB_POPCOUNT64"(uint64_t x) noexcept nogil
    void _jr_prefetch "mapdb_jr_prefetch"(const uint64_t *present, const uint32_t *rank,
                                          uint64_t mspan, int64_t lo, int64_t k) noexcept nogil
    uint32_t _jd_slot "mapdb_jd_slot"(const uint32_t *head, uint64_t span, int64_t lo,
                                      int64_t k) noexcept nogil
    uint32_t _jr_rank_of "mapdb_jr_rank"(const uint64_t *present, const uint32_t *rank,
                                         const uint32_t *rowof, uint64_t mspan, int64_t lo,
                                         int64_t k) noexcept nogil

cdef extern from "<sys/mman.h>" nogil:
    int MAP_ANONYMOUS

cdef enum:
    JT_AHEAD_HEAD = 32   # probe rows ahead whose head slot is prefetched
    JT_AHEAD_KEY = 16    # rows ahead whose head is read, first candidate's key prefetched
    JT_AHEAD_SKIP = 8    # rows ahead whose first candidate, if another key, is skipped
    JT_AHEAD_BUILD = 32  # build rows ahead whose head slot is prefetched
    JT_RING = 64         # ring of rows in flight (a power of two > every distance)
    JT_HUGE = 4 << 20    # arrays from this size on are mapped on transparent huge pages
    JT_DIRECT = 1 << 20  # a key range up to this (or 2x the hash slots) is addressed directly
    JT_PRESENT = 1 << 20  # bytes of presence bitmap allowed whatever the table's size
    JT_AHEAD_BITS = 48   # probe rows ahead whose presence-bitmap word is prefetched
    JT_SMALL = 256 << 10  # a hashed table this small (keys, links, heads) is probed plainly


cdef void *_jt_alloc(size_t nbytes, size_t *maplen) noexcept nogil:
    """Zeroed memory for a table array (NULL when out of memory); *maplen is the length
    of its mapping (0: from calloc). From JT_HUGE bytes on, a fresh anonymous mapping
    aligned to 2 MiB, advised MADV_HUGEPAGE (random probes of a big table then miss the
    TLB far less) and populated in one call (MADV_POPULATE_WRITE, Linux 5.14+): every
    page of a table array is written while the table is built."""
    cdef size_t huge = 2 << 20, length, lead
    cdef char *p
    cdef char *a
    maplen[0] = 0
    if nbytes < JT_HUGE:
        return calloc(nbytes if nbytes else 1, 1)
    length = (nbytes + huge - 1) & ~(huge - 1)
    p = <char *>mmap(NULL, length + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0)
    if <void *>p == MAP_FAILED:
        return NULL
    a = <char *>((<uintptr_t>p + huge - 1) & ~(<uintptr_t>huge - 1))
    lead = a - p
    if lead:
        munmap(p, lead)
    munmap(a + length, huge - lead)
    madvise(a, length, MADV_HUGEPAGE)         # both advisory: a table works without
    madvise(a, length, MADV_POPULATE_WRITE)
    maplen[0] = length
    return a


cdef void _jt_free(void *p, size_t maplen) noexcept nogil:
    if maplen:
        munmap(p, maplen)
    else:
        free(p)


ctypedef struct _JTab:
    const int64_t *keys
    const uint32_t *head
    const uint32_t *next
    int shift
    bint unique
    int64_t lo        # direct mode (span > 0): the slot of key k is k - lo
    uint64_t span
    const uint64_t *present  # rank mode (a moderate key range): bit k - lo set for every
    uint64_t mspan           # inserted key k, over mspan values
    bint small               # the whole table fits in L1/L2: no probe pipeline
    int64_t inserted         # build rows with a key (direct mode: about the slots used)
    const uint32_t *rank     # rank mode (with present): set bits before each bitmap word,
    const uint32_t *rowof    # and 1 + the first build row of each distinct key in key order


ctypedef struct _JPipe:
    # The probe pipeline. While row q walks its chain, row q + JT_AHEAD_SKIP compares its
    # first candidate (prefetched) and, if that holds another key, steps to the next one
    # and prefetches it; row q + JT_AHEAD_KEY reads its head slot (prefetched) and
    # prefetches the first candidate's key and link; row q + JT_AHEAD_HEAD is hashed and
    # its head slot prefetched. Three rounds of cache misses overlap with the walks.
    const int64_t *pk
    const uint8_t *pv
    int64_t n
    uint64_t bucket[JT_RING]
    uint32_t cand[JT_RING]


cdef inline uint64_t _jt_bucket(int64_t k, int shift, int64_t lo, uint64_t span
                                ) noexcept nogil:
    """The slot of key k: k - lo in direct mode (no slot outside the build keys' range),
    the top bits of its hash otherwise."""
    cdef uint64_t d
    if span:
        d = <uint64_t>k - <uint64_t>lo
        return d if d < span else JT_NO_BUCKET
    return _mix64(<uint64_t>k ^ 0x9E3779B97F4A7C15ULL) >> shift


cdef inline void _jp_hash(const _JTab *t, _JPipe *p, int64_t q) noexcept nogil:
    cdef uint64_t b
    cdef uint64_t d
    if p.pv != NULL and p.pv[q] == 0:
        p.bucket[q & (JT_RING - 1)] = JT_NO_BUCKET
    else:
        b = _jt_bucket(p.pk[q], t.shift, t.lo, t.span)
        p.bucket[q & (JT_RING - 1)] = b
        if b != JT_NO_BUCKET:
            _prefetch_r(&t.head[b])


cdef inline void _jp_head(const _JTab *t, _JPipe *p, int64_t q) noexcept nogil:
    cdef uint64_t b = p.bucket[q & (JT_RING - 1)]
    cdef uint32_t c = 0
    if b != JT_NO_BUCKET:
        c = t.head[b]
        if c:
            _prefetch_r(&t.keys[c - 1])
            _prefetch_r(&t.next[c - 1])
    p.cand[q & (JT_RING - 1)] = c


cdef inline void _jp_skip(const _JTab *t, _JPipe *p, int64_t q) noexcept nogil:
    cdef uint32_t c = p.cand[q & (JT_RING - 1)]
    if c and t.keys[c - 1] != p.pk[q]:
        c = t.next[c - 1]
        p.cand[q & (JT_RING - 1)] = c
        if c:
            _prefetch_r(&t.keys[c - 1])
            _prefetch_r(&t.next[c - 1])


cdef inline void _jr_rank(const _JTab *t, _JPipe *p, int64_t q) noexcept nogil:
    """Rank mode: 1 + the rank of row q's key among the build keys (0: not one of them),
    its row number prefetched."""
    p.cand[q & (JT_RING - 1)] = _jr_rank_of(t.present, t.rank, t.rowof, t.mspan, t.lo,
                                            p.pk[q]) if (p.pv == NULL or p.pv[q]) else 0


cdef int64_t _first_batch(const _JTab *t, const int64_t *pk, const uint8_t *pv, int64_t nq,
                         int64_t *qs, int64_t *bs, int mode) noexcept nogil:
    """First matches in rank or direct mode, a whole probe in one loop (the per-row steps
    inlined): mode 0 writes each row's first build row or -1 to bs; mode 1 (2) appends the
    rows that match (do not) to qs and their build row to bs. Returns the number
    appended. (In direct mode a slot's chain holds one key, its lowest row first.)"""
    cdef uint32_t cand[JT_RING]
    cdef int64_t q, n = 0, b, a
    cdef uint32_t c
    # the table's fields in locals: stores to qs/bs may alias *t (no strict aliasing),
    # which would reload them on every row
    cdef const uint64_t *present = t.present
    cdef const uint32_t *rank = t.rank
    cdef const uint32_t *rowof = t.rowof
    cdef const uint32_t *head = t.head
    cdef uint64_t mspan = t.mspan, span = t.span
    cdef int64_t lo = t.lo
    cdef int64_t want = mode == 1
    # from 3% to 97% of the slots used, whether a probe matches is a coin toss (probe keys
    # spread like the build's: a filtered dimension's); below or above, a branch predicts
    cdef bint mixed = <uint64_t>t.inserted * 32 > span and <uint64_t>t.inserted * 32 < 31 * span
    if rank == NULL and mode != 0 and pv == NULL and mixed:
        # the join filter's probe of a dimension with a filter keeping some of it: no
        # branch on the match; every row is written, only the wanted ones counted
        for q in range(nq):
            a = q + JT_AHEAD_KEY
            if a < nq and <uint64_t>pk[a] - <uint64_t>lo < span:
                _prefetch_r(&head[<uint64_t>pk[a] - <uint64_t>lo])
            c = _jd_slot(head, span, lo, pk[q])
            qs[n] = q
            bs[n] = <int64_t>c - 1
            n += (c != 0) == want
        return n
    if rank == NULL:
        for q in range(nq):
            a = q + JT_AHEAD_KEY
            if a < nq and <uint64_t>pk[a] - <uint64_t>lo < span:
                _prefetch_r(&head[<uint64_t>pk[a] - <uint64_t>lo])
            c = _jd_slot(head, span, lo, pk[q]) if (pv == NULL or pv[q]) else 0
            b = <int64_t>c - 1
            if mode == 0:
                bs[q] = b
            elif (c != 0) == (mode == 1):
                qs[n] = q
                bs[n] = b
                n += 1
        return n
    for q in range(min(<int64_t>JT_AHEAD_BITS, nq)):
        _jr_prefetch(present, rank, mspan, lo, pk[q])
    for q in range(min(<int64_t>JT_AHEAD_KEY, nq)):
        cand[q & (JT_RING - 1)] = _jr_rank_of(present, rank, rowof, mspan,
                                              lo, pk[q]) if (pv == NULL or pv[q]) else 0
    for q in range(nq):
        if q + JT_AHEAD_BITS < nq:
            _jr_prefetch(present, rank, mspan, lo, pk[q + JT_AHEAD_BITS])
        a = q + JT_AHEAD_KEY
        if a < nq:
            cand[a & (JT_RING - 1)] = _jr_rank_of(
                present, rank, rowof, mspan, lo, pk[a]) \
                if (pv == NULL or pv[a]) else 0
        c = cand[q & (JT_RING - 1)]
        b = <int64_t>rowof[c - 1] - 1 if c else -1
        if mode == 0:
            bs[q] = b
        elif (c != 0) == (mode == 1):
            qs[n] = q
            bs[n] = b
            n += 1
    return n


cdef inline void _jp_start(const _JTab *t, _JPipe *p, const int64_t *pk, const uint8_t *pv,
                           int64_t n) noexcept nogil:
    cdef int64_t q
    p.pk = pk
    p.pv = pv
    p.n = n
    if t.rank != NULL:
        for q in range(min(<int64_t>JT_AHEAD_BITS, n)):
            _jr_prefetch(t.present, t.rank, t.mspan, t.lo, pk[q])
        for q in range(min(<int64_t>JT_AHEAD_KEY, n)):
            _jr_rank(t, p, q)
        return
    if t.span or t.small:
        return  # direct mode and cached tables need no pipeline
    for q in range(min(<int64_t>JT_AHEAD_HEAD, n)):
        _jp_hash(t, p, q)
    for q in range(min(<int64_t>JT_AHEAD_KEY, n)):
        _jp_head(t, p, q)
    for q in range(min(<int64_t>JT_AHEAD_SKIP, n)):
        _jp_skip(t, p, q)


cdef inline uint32_t _jp_next(const _JTab *t, _JPipe *p, int64_t q) noexcept nogil:
    """1 + the first candidate build row of probe row q (0: none; a candidate that does
    not match may follow a skipped one); call for rows 0, 1, 2, ... in order."""
    cdef uint64_t d
    cdef uint32_t c
    if t.rank != NULL:  # row q + JT_AHEAD_BITS prefetched, q + JT_AHEAD_KEY ranked
        if q + JT_AHEAD_BITS < p.n:
            _jr_prefetch(t.present, t.rank, t.mspan, t.lo, p.pk[q + JT_AHEAD_BITS])
        if q + JT_AHEAD_KEY < p.n:
            _jr_rank(t, p, q + JT_AHEAD_KEY)
        c = p.cand[q & (JT_RING - 1)]
        return t.rowof[c - 1] if c else 0
    if t.small and not t.span:  # cached: hash and read, nothing to overlap
        if p.pv != NULL and p.pv[q] == 0:
            return 0
        return t.head[_jt_bucket(p.pk[q], t.shift, 0, 0)]
    if t.span:  # direct: one read, the slot of a row JT_AHEAD_KEY ahead prefetched
        if q + JT_AHEAD_KEY < p.n:
            d = <uint64_t>p.pk[q + JT_AHEAD_KEY] - <uint64_t>t.lo
            if d < t.span:
                _prefetch_r(&t.head[d])
        if p.pv != NULL and p.pv[q] == 0:
            return 0
        d = <uint64_t>p.pk[q] - <uint64_t>t.lo
        return t.head[d] if d < t.span else 0
    if q + JT_AHEAD_HEAD < p.n:
        _jp_hash(t, p, q + JT_AHEAD_HEAD)
    if q + JT_AHEAD_KEY < p.n:
        _jp_head(t, p, q + JT_AHEAD_KEY)
    if q + JT_AHEAD_SKIP < p.n:
        _jp_skip(t, p, q + JT_AHEAD_SKIP)
    return p.cand[q & (JT_RING - 1)]


cdef object _jt_valid(object valid, Py_ssize_t n, str what):
    """None, or ``valid`` as a contiguous uint8 array of n flags (bool arrays are viewed)."""
    if valid is None:
        return None
    v = np.ascontiguousarray(valid)
    if v.dtype == np.bool_:
        v = v.view(np.uint8)
    elif v.dtype != np.uint8:
        raise TypeError(f"{what} validity must be a uint8 or bool array, not {v.dtype}")
    if v.ndim != 1 or v.shape[0] != n:
        raise ValueError(f"{what} validity has shape {v.shape}; the keys have {n} rows")
    return v


cdef const uint8_t *_jt_valid_ptr(object v) except? NULL:
    """Data pointer of a uint8 array from _jt_valid (NULL for None or an empty array)."""
    if v is None or len(v) == 0:
        return NULL
    cdef const uint8_t[::1] mv = v
    return &mv[0]


cdef int64_t *_jt_i64(object arr) except NULL:
    """Data pointer of a non-empty contiguous int64 array (the array keeps the memory)."""
    cdef int64_t[::1] mv = arr
    return &mv[0]


cdef inline void _jt_build_stage1(const int64_t *kc, const uint8_t *pv, uint32_t *head,
                                  int shift, int64_t lo, uint64_t span, uint64_t *bk,
                                  int64_t r) noexcept nogil:
    cdef uint64_t b
    if pv != NULL and pv[r] == 0:
        bk[r & (JT_RING - 1)] = JT_NO_BUCKET
    else:
        b = _jt_bucket(kc[r], shift, lo, span)
        bk[r & (JT_RING - 1)] = b
        _prefetch_w(&head[b])


cdef inline void _jt_build_stage2(const int64_t *kc, const uint32_t *nxt, const uint32_t *head,
                                  const uint64_t *bk, int64_t r) noexcept nogil:
    """Prefetch the first key and link of row r's chain, which the duplicate check reads
    (a hint: rows between may still join the chain)."""
    cdef uint64_t b = bk[r & (JT_RING - 1)]
    cdef uint32_t h
    if b != JT_NO_BUCKET:
        h = head[b]
        if h:
            _prefetch_r(&kc[h - 1])
            _prefetch_r(&nxt[h - 1])


cdef class JoinTable:
    """A hash table over int64 build keys for equi-joins; probes run without the GIL and
    may run in several threads at once (the table is read-only once built).

    ``valid`` (None or a uint8/bool array) marks NULL keys with 0: such rows are never
    inserted and never match; NULL probe keys never match either.

    >>> import numpy as np
    >>> t = JoinTable(np.array([7, 3, 7, 9], np.int64), np.array([1, 1, 1, 0], np.uint8))
    >>> t.rows, t.inserted, t.unique
    (4, 3, False)
    >>> probe_rows, build_rows = t.probe(np.array([7, 9, 3, 5], np.int64))
    >>> probe_rows.tolist(), build_rows.tolist()
    ([0, 0, 2], [0, 2, 1])
    >>> t.probe_first(np.array([3, 9, 7], np.int64)).tolist()
    [1, -1, 0]
    >>> t.count(np.array([7, 3, 9], np.int64)).tolist()
    [2, 1, 0]
    >>> marks = np.zeros(4, np.uint8)
    >>> t.mark(np.array([3, 5], np.int64), marks), marks.tolist()
    (1, [0, 1, 0, 0])
    """
    cdef int64_t *_keys
    cdef uint32_t *_head
    cdef uint32_t *_next
    cdef size_t _keys_map, _head_map, _next_map
    cdef int64_t _rows
    cdef int64_t _inserted
    cdef int _bits
    cdef bint _unique
    cdef int64_t _lo
    cdef uint64_t _span
    cdef uint64_t *_present
    cdef size_t _present_map
    cdef uint64_t _mspan
    cdef uint32_t *_rank
    cdef uint32_t *_rowof
    cdef size_t _rank_map, _rowof_map

    def __cinit__(self, const int64_t[::1] keys, valid=None):
        cdef int64_t n = keys.shape[0], i, r, ins = 0
        if n >= (<int64_t>1 << 31):
            raise ValueError(f"a join table holds fewer than 2**31 rows, not {n}")
        va = _jt_valid(valid, n, "build key")
        cdef const uint8_t *pv = _jt_valid_ptr(va)
        cdef const int64_t *pk = &keys[0] if n else NULL
        if pv == NULL:
            ins = n
        else:
            with nogil:
                for i in range(n):
                    ins += pv[i] != 0
        cdef int bits = 1
        while (<int64_t>1 << bits) < 2 * ins:
            bits += 1
        cdef int64_t nb = <int64_t>1 << bits
        # Direct mode when the keys' range is small (dimension keys, dense surrogate keys):
        # the slot is k - lo, one read finds the chain, and a chain holds one key only.
        cdef int64_t lo = 0, hi = 0
        cdef uint64_t span = 0
        cdef bint seen = False
        with nogil:
            for i in range(n):
                if pv == NULL or pv[i]:
                    if not seen or pk[i] < lo:
                        lo = pk[i]
                    if not seen or pk[i] > hi:
                        hi = pk[i]
                    seen = True
        cdef uint64_t mspan = 0, words = 0, bit, total = 0, d
        cdef bint dup = False
        if seen and <uint64_t>hi - <uint64_t>lo < max(<uint64_t>(2 * nb), JT_DIRECT):
            span = <uint64_t>hi - <uint64_t>lo + 1
            nb = <int64_t>span
        elif seen and (<uint64_t>hi - <uint64_t>lo) // 8 < max(<uint64_t>(12 * n + 4 * nb),
                                                                JT_PRESENT):
            mspan = <uint64_t>hi - <uint64_t>lo + 1
        if mspan:
            # the presence bitmap first (a key whose bit is already set: duplicates), then
            # rank mode instead of hashing (no head slots to allocate)
            words = (mspan + 63) // 64
            self._present = <uint64_t *>_jt_alloc(words * 8, &self._present_map)
            if self._present == NULL:
                raise MemoryError(f"a join table of {n} rows")
            with nogil:
                for i in range(n):
                    if pv == NULL or pv[i]:
                        d = <uint64_t>pk[i] - <uint64_t>lo
                        bit = <uint64_t>1 << (d & 63)
                        if self._present[d >> 6] & bit:
                            dup = True
                        self._present[d >> 6] |= bit
            nb = 1
        with nogil:
            # rank mode never compares keys: only the hashed layouts keep a copy
            self._keys = <int64_t *>_jt_alloc((0 if mspan else n) * sizeof(int64_t),
                                              &self._keys_map)
            self._next = <uint32_t *>_jt_alloc(n * sizeof(uint32_t), &self._next_map)
            self._head = <uint32_t *>_jt_alloc(nb * sizeof(uint32_t), &self._head_map)
        if self._keys == NULL or self._next == NULL or self._head == NULL:
            raise MemoryError(f"a join table of {n} rows")
        self._rows = n
        self._inserted = ins
        self._bits = bits
        self._lo = lo
        self._span = span
        self._mspan = mspan
        if mspan:
            self._rank = <uint32_t *>_jt_alloc(words * 4, &self._rank_map)
            self._rowof = <uint32_t *>_jt_alloc(max(ins, 1) * 4, &self._rowof_map)
            if self._rank == NULL or self._rowof == NULL:
                raise MemoryError(f"a join table of {n} rows")
            with nogil:
                for i in range(<int64_t>words):
                    self._rank[i] = <uint32_t>total
                    total += _popcount64(self._present[i])
                # rows from the last to the first: each key's chain (next) comes out
                # ascending, rowof holding 1 + its lowest row
                for i in range(n - 1, -1, -1):
                    if pv == NULL or pv[i]:
                        d = <uint64_t>pk[i] - <uint64_t>lo
                        r = self._rank[d >> 6] + _popcount64(
                            self._present[d >> 6] & ((<uint64_t>1 << (d & 63)) - 1))
                        self._next[i] = self._rowof[r]
                        self._rowof[r] = <uint32_t>(i + 1)
            self._unique = not dup
            return
        cdef int64_t *kc = self._keys
        cdef uint32_t *head = self._head
        cdef uint32_t *nxt = self._next
        cdef int shift = 64 - bits
        cdef bint unique = True
        cdef uint64_t bk[JT_RING]
        cdef uint64_t b
        cdef uint32_t h, c
        cdef int64_t k
        with nogil:
            if n:
                memcpy(kc, pk, n * sizeof(int64_t))
            # Rows from the last to the first (so chains come out ascending), pipelined
            # like the probes: row r - JT_AHEAD_BUILD has its head slot prefetched and,
            # while the keys look unique, row r - JT_AHEAD_BUILD / 2 the first key of its
            # chain, for the duplicate check.
            for r in range(n - 1, max(n - 1 - JT_AHEAD_BUILD, <int64_t>-1), -1):
                _jt_build_stage1(kc, pv, head, shift, lo, span, bk, r)
            for r in range(n - 1, max(n - 1 - JT_AHEAD_BUILD // 2, <int64_t>-1), -1):
                _jt_build_stage2(kc, nxt, head, bk, r)
            for r in range(n - 1, -1, -1):
                if r >= JT_AHEAD_BUILD:
                    _jt_build_stage1(kc, pv, head, shift, lo, span, bk,
                                     r - JT_AHEAD_BUILD)
                if unique and r >= JT_AHEAD_BUILD // 2:
                    _jt_build_stage2(kc, nxt, head, bk, r - JT_AHEAD_BUILD // 2)
                b = bk[r & (JT_RING - 1)]
                if b == JT_NO_BUCKET:
                    continue
                h = head[b]
                if unique:
                    k = kc[r]
                    c = h
                    while c:
                        if kc[c - 1] == k:
                            unique = False
                            break
                        c = nxt[c - 1]
                nxt[r] = h
                head[b] = <uint32_t>(r + 1)
        self._unique = unique

    def __dealloc__(self):
        if self._keys != NULL:
            _jt_free(self._keys, self._keys_map)
        if self._head != NULL:
            _jt_free(self._head, self._head_map)
        if self._next != NULL:
            _jt_free(self._next, self._next_map)
        if self._present != NULL:
            _jt_free(self._present, self._present_map)
        if self._rank != NULL:
            _jt_free(self._rank, self._rank_map)
        if self._rowof != NULL:
            _jt_free(self._rowof, self._rowof_map)

    @property
    def rows(self):
        """Number of build rows given (NULL keys included)."""
        return self._rows

    @property
    def inserted(self):
        """Number of build rows in the table (those with a non-NULL key)."""
        return self._inserted

    @property
    def unique(self):
        """True when no two inserted rows share a key (probes stop at the first match)."""
        return bool(self._unique)

    @property
    def bits(self):
        """log2 of the number of buckets (2**bits >= 2 * inserted)."""
        return self._bits

    @property
    def ranked(self):
        """True in rank mode: keys over a moderate range, found through the
        presence bitmap and the rank of their bit (no hashing; sorted probes read the
        table's arrays in order)."""
        return self._rank != NULL

    @property
    def direct(self):
        """True when keys address their slot directly (k - min key; small key ranges)."""
        return self._span != 0

    cdef inline _JTab _tab(self) noexcept:
        cdef _JTab t
        t.keys = self._keys
        t.head = self._head
        t.next = self._next
        t.shift = 64 - self._bits
        t.unique = self._unique
        t.lo = self._lo
        t.span = self._span
        t.present = self._present
        t.mspan = self._mspan
        t.rank = self._rank
        t.rowof = self._rowof
        t.small = (self._rows * 12 + (<int64_t>4 << self._bits)) <= JT_SMALL
        t.inserted = self._inserted
        return t

    def probe(self, const int64_t[::1] keys, valid=None):
        """Every matching (probe row, build row) pair: two int64 arrays of equal length,
        ordered by probe row, then build row."""
        cdef int64_t nq = keys.shape[0], q, n = 0, cap
        va = _jt_valid(valid, nq, "probe key")
        cdef const uint8_t *pv = _jt_valid_ptr(va)
        cdef const int64_t *pk = &keys[0] if nq else NULL
        cdef _JTab t = self._tab()
        cap = nq if nq else 1   # a unique table never yields more pairs than probe rows
        qa = np.empty(cap, np.int64)
        ba = np.empty(cap, np.int64)
        cdef int64_t *qs = _jt_i64(qa)
        cdef int64_t *bs = _jt_i64(ba)
        cdef _JPipe pipe
        cdef uint32_t c
        cdef int64_t k
        with nogil:
            _jp_start(&t, &pipe, pk, pv, nq)
            for q in range(nq):
                c = _jp_next(&t, &pipe, q)
                if c == 0:
                    continue
                k = pk[q]
                while c:
                    if t.rank != NULL or t.keys[c - 1] == k:
                        if n == cap:
                            with gil:
                                cap = 2 * cap
                                qa.resize(cap, refcheck=False)
                                ba.resize(cap, refcheck=False)
                                qs = _jt_i64(qa)
                                bs = _jt_i64(ba)
                        qs[n] = q
                        bs[n] = c - 1
                        n += 1
                        if t.unique:
                            break
                    c = t.next[c - 1]
        qa.resize(n, refcheck=False)
        ba.resize(n, refcheck=False)
        return qa, ba

    def probe_first(self, const int64_t[::1] keys, valid=None):
        """The first (lowest) matching build row of each probe row, or -1: an int64 array
        of len(keys)."""
        cdef int64_t nq = keys.shape[0], q
        va = _jt_valid(valid, nq, "probe key")
        cdef const uint8_t *pv = _jt_valid_ptr(va)
        cdef const int64_t *pk = &keys[0] if nq else NULL
        cdef _JTab t = self._tab()
        out = np.empty(nq, np.int64)
        if nq == 0:
            return out
        cdef int64_t *o = _jt_i64(out)
        cdef _JPipe pipe
        cdef uint32_t c
        cdef int64_t k
        if t.rank != NULL or t.span:
            with nogil:
                _first_batch(&t, pk, pv, nq, NULL, o, 0)
            return out
        with nogil:
            _jp_start(&t, &pipe, pk, pv, nq)
            for q in range(nq):
                c = _jp_next(&t, &pipe, q)
                k = pk[q]
                while c and t.rank == NULL and t.keys[c - 1] != k:
                    c = t.next[c - 1]
                o[q] = <int64_t>c - 1
        return out

    def probe_hits(self, const int64_t[::1] keys, valid=None, rows=None, bint keep=True):
        """The probe rows that have a match (``keep``; else those that have none) and
        each one's first (lowest) matching build row (-1 when not ``keep``): two int64
        arrays. Only ``rows`` (positions into ``keys``) are probed when given, and the
        first array is then positions into ``rows``. A join filter's probe: its output is
        as long as the rows that pass, not as the probe.

        >>> import numpy as np
        >>> t = JoinTable(np.array([7, 3, 9], np.int64))
        >>> [a.tolist() for a in t.probe_hits(np.array([3, 5, 9, 7], np.int64))]
        [[0, 2, 3], [1, 2, 0]]
        >>> [a.tolist() for a in t.probe_hits(np.array([3, 5, 9, 7], np.int64),
        ...                                   rows=np.array([1, 2], np.int64))]
        [[1], [2]]
        >>> t.probe_hits(np.array([3, 5], np.int64), keep=False)[0].tolist()
        [1]
        """
        cdef int64_t nk = keys.shape[0], nq, q, n = 0, i
        va = _jt_valid(valid, nk, "probe key")
        cdef const uint8_t *pv = _jt_valid_ptr(va)
        cdef const int64_t *pk = &keys[0] if nk else NULL
        cdef const int64_t[::1] rv
        cdef const int64_t *pr = NULL
        if rows is not None:
            rv = np.ascontiguousarray(rows, np.int64)
            nq = rv.shape[0]
            if nq:
                pr = &rv[0]
                with nogil:
                    for i in range(nq):
                        if pr[i] < 0 or pr[i] >= nk:
                            with gil:
                                raise IndexError(f"row {pr[i]} is outside the {nk} keys")
        else:
            nq = nk
        cdef _JTab t = self._tab()
        # outputs sized for the rows that pass (usually few), not the probe: untouched
        # capacity would still be faulted in and cleared, 2 MiB at a time on huge pages
        cdef int64_t cap = max(min(nq, 1 << 14), 1)
        qa = np.empty(cap, np.int64)
        ba = np.empty(cap, np.int64)
        cdef int64_t *qs = _jt_i64(qa)
        cdef int64_t *bs = _jt_i64(ba)
        # rows given: probe a gathered copy (the pipeline reads keys in order)
        cdef int64_t[::1] gk
        cdef uint8_t[::1] gv
        cdef const uint8_t *pgv = NULL
        if pr != NULL:
            gk = np.empty(nq, np.int64)
            if pv != NULL:
                gv = np.empty(nq, np.uint8)
                pgv = &gv[0]
            with nogil:
                for i in range(nq):
                    gk[i] = pk[pr[i]]
                    if pv != NULL:
                        gv[i] = pv[pr[i]]
            pk = &gk[0]
            pv = pgv
        elif rows is not None:
            pk = NULL
        cdef _JPipe pipe
        cdef uint32_t c
        cdef int64_t k, start, step = 1 << 14, m
        if t.rank != NULL or t.span:
            # in steps, each with room for all its rows (output grows by doubling)
            for start in range(0, nq, step):
                m = min(step, nq - start)
                if n + m > cap:
                    cap = max(2 * cap, n + m)
                    qa.resize(cap, refcheck=False)
                    ba.resize(cap, refcheck=False)
                    qs = _jt_i64(qa)
                    bs = _jt_i64(ba)
                with nogil:
                    m = _first_batch(&t, pk + start, NULL if pv == NULL else pv + start, m,
                                     qs + n, bs + n, 1 if keep else 2)
                    for i in range(n, n + m):
                        qs[i] += start
                n += m
            nq = 0
        with nogil:
            if nq:
                _jp_start(&t, &pipe, pk, pv, nq)
            for q in range(nq):
                c = _jp_next(&t, &pipe, q)
                k = pk[q]
                while c and t.keys[c - 1] != k:
                    c = t.next[c - 1]
                if (c != 0) == keep:
                    if n == cap:
                        with gil:
                            cap = 2 * cap
                            qa.resize(cap, refcheck=False)
                            ba.resize(cap, refcheck=False)
                            qs = _jt_i64(qa)
                            bs = _jt_i64(ba)
                    qs[n] = q
                    bs[n] = <int64_t>c - 1
                    n += 1
        qa.resize(n, refcheck=False)
        ba.resize(n, refcheck=False)
        return qa, ba

    def count(self, const int64_t[::1] keys, valid=None):
        """Number of matching build rows of each probe row: an int64 array of len(keys)."""
        cdef int64_t nq = keys.shape[0], q, cnt
        va = _jt_valid(valid, nq, "probe key")
        cdef const uint8_t *pv = _jt_valid_ptr(va)
        cdef const int64_t *pk = &keys[0] if nq else NULL
        cdef _JTab t = self._tab()
        out = np.empty(nq, np.int64)
        if nq == 0:
            return out
        cdef int64_t *o = _jt_i64(out)
        cdef _JPipe pipe
        cdef uint32_t c
        cdef int64_t k
        with nogil:
            _jp_start(&t, &pipe, pk, pv, nq)
            for q in range(nq):
                c = _jp_next(&t, &pipe, q)
                k = pk[q]
                cnt = 0
                while c:
                    if t.rank != NULL or t.keys[c - 1] == k:
                        cnt += 1
                        if t.unique:
                            break
                    c = t.next[c - 1]
                o[q] = cnt
        return out

    def mark(self, const int64_t[::1] keys, uint8_t[::1] marks, valid=None):
        """Set marks[b] = 1 for every build row b that a (non-NULL) probe key matches;
        return the number of probe rows that matched. marks has one byte per build row.
        Only stores of 1 (relaxed atomics): threads may mark one array at once."""
        cdef int64_t nq = keys.shape[0], q, hits = 0
        if marks.shape[0] != self._rows:
            raise ValueError(f"marks has {marks.shape[0]} entries; the table has {self._rows} rows")
        va = _jt_valid(valid, nq, "probe key")
        cdef const uint8_t *pv = _jt_valid_ptr(va)
        cdef const int64_t *pk = &keys[0] if nq else NULL
        cdef uint8_t *mk = &marks[0] if self._rows else NULL
        cdef _JTab t = self._tab()
        cdef _JPipe pipe
        cdef uint32_t c
        cdef bint hit
        cdef int64_t k
        with nogil:
            _jp_start(&t, &pipe, pk, pv, nq)
            for q in range(nq):
                c = _jp_next(&t, &pipe, q)
                k = pk[q]
                hit = False
                while c:
                    if t.rank != NULL or t.keys[c - 1] == k:
                        hit = True
                        _store_relaxed_u8(&mk[c - 1], 1)
                        if t.unique:
                            break
                    c = t.next[c - 1]
                hits += hit
        return hits


def sorted_key_runs(const int64_t[::1] data, const int64_t[::1] keys):
    """For ascending ``data`` and ascending ``keys``: (lo, hi), int64 arrays with
    data[lo[i]:hi[i]] the run equal to keys[i] (lo == hi when absent). A galloping merge:
    each key searches forward from the previous one's run, exponentially then by halves,
    so near keys cost a few reads of memory the last search touched (a join's few build
    keys looked up in a sorted column of millions of rows).

    >>> import numpy as np
    >>> lo, hi = sorted_key_runs(np.array([1, 3, 3, 5, 9], np.int64),
    ...                          np.array([0, 3, 4, 9, 10], np.int64))
    >>> lo.tolist(), hi.tolist()
    ([0, 1, 3, 4, 5], [0, 3, 3, 5, 5])
    """
    cdef int64_t n = data.shape[0], m = keys.shape[0], i, pos = 0
    lo_a = np.empty(m, np.int64)
    hi_a = np.empty(m, np.int64)
    cdef int64_t[::1] lo = lo_a
    cdef int64_t[::1] hi = hi_a
    cdef const int64_t *d = &data[0] if n else NULL
    with nogil:
        for i in range(m):
            if i and keys[i] < keys[i - 1]:
                with gil:
                    raise ValueError("keys must be ascending")
            pos = _gallop(d, n, pos, keys[i])       # first data >= key
            lo[i] = pos
            pos = _gallop(d, n, pos, keys[i] + 1) if keys[i] != INT64_MAX_ else n
            hi[i] = pos
    return lo_a, hi_a


cdef int64_t INT64_MAX_ = 0x7FFFFFFFFFFFFFFF


cdef inline int64_t _gallop(const int64_t *d, int64_t n, int64_t pos, int64_t key
                            ) noexcept nogil:
    """The first index >= pos with d[index] >= key (n when none), d ascending."""
    cdef int64_t step = 1, lo = pos, hi
    if lo >= n or d[lo] >= key:
        return lo
    # d[lo] < key: gallop until d[hi] >= key or past the end
    hi = lo + 1
    while hi < n and d[hi] < key:
        lo = hi
        step *= 2
        hi = lo + step
    if hi > n:
        hi = n
    # d[lo] < key <= d[hi] (or hi == n): the first >= key is in (lo, hi]
    while hi - lo > 1:
        step = lo + (hi - lo) // 2
        if d[step] < key:
            lo = step
        else:
            hi = step
    return hi
