# Fused filter + group + aggregate over mapped columns, without the GIL.
#
# A FusedProgram describes one query shape: a conjunction of range filters, dense group
# keys (dictionary codes or small integer ranges) and aggregates whose argument is a product
# of affine factors (a + b * column), e.g. TPC-H Q1's sum(price * (1 - disc) * (1 + tax)) on
# scaled decimals. run() scans one morsel of one segment in blocks of SCAN_BLOCK rows:
# each filter compacts a selection vector (branch-free), then every aggregate gathers its
# factors for the surviving rows only. Integer products and sums are exact (__int128).
# Each worker thread owns a FusedState; states are merged at the end.
from libc.stdint cimport (INT64_MAX, INT64_MIN, int8_t, int16_t, int32_t, int64_t, uint8_t,
                          uint16_t, uint32_t, uint64_t)
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

cdef extern from "<string.h>" nogil:
    void *memmem(const void *haystack, size_t hlen, const void *needle, size_t nlen)
    int memcmp(const void *a, const void *b, size_t n)

cdef extern from "mapdb_scan.h" nogil:
    ctypedef long long i128 "mapdb_i128"
    int64_t i128_hi "mapdb_i128_hi"(i128 x)
    void civil "mapdb_civil"(int64_t days, int64_t *year, int64_t *month)
    uint64_t i128_lo "mapdb_i128_lo"(i128 x)

cdef enum:
    SCAN_BLOCK = 2048
    SORT_GROUPS = 4096   # up to this many groups, a block's rows are ordered by group
    FEW_GROUPS = 64      # up to this many, no ordering: 4-way interleaved accumulators

# physical column kinds (PhysicalColumn.data dtypes)
cdef enum:
    K_I8 = 0
    K_I16 = 1
    K_I32 = 2
    K_I64 = 3
    K_U8 = 4
    K_U16 = 5
    K_U32 = 6
    K_F32 = 7
    K_F64 = 8

# aggregate kinds
cdef enum:
    A_COUNT_STAR = 0
    A_COUNT = 1
    A_SUM = 2
    A_MIN = 3
    A_MAX = 4

KIND_CODES = {"string": K_U8, "int8": K_I8, "int16": K_I16, "int32": K_I32, "int64": K_I64, "uint8": K_U8,
              "uint16": K_U16, "uint32": K_U32, "float32": K_F32, "float64": K_F64}
AGG_CODES = {"count_star": A_COUNT_STAR, "count": A_COUNT, "sum": A_SUM, "min": A_MIN,
             "max": A_MAX}

ctypedef struct PhysCol:
    const char *data
    const uint8_t *valid
    const int64_t *offsets   # strings: value i is data[offsets[i]:offsets[i + 1]]
    int kind

ctypedef struct FilterDesc:
    int col
    int col2         # >= 0: the filter is on col - col2 (e.g. receiptdate > commitdate)
    int match        # strings: 1 contains, 2 starts with, 3 ends with, 4 equals, 5 fragments
                     # in order (LIKE forms); + 8: NOT LIKE
    const char *needle
    int64_t nlen
    int is_float
    int64_t lo
    int64_t hi
    double dlo       # floats: numbers in [dlo, dhi] pass, and NaN when nan_ok
    double dhi
    int nan_ok
    const uint8_t *members  # not NULL: also members[v - lo] != 0 (IN on dictionary codes)

ctypedef struct KeyDesc:
    int col
    int transform    # 0: the value; 1: year of a date; 2: month (1..12) of a date
    const int32_t *lut   # transforms: value - lut_base -> transformed value (a table)
    int64_t lut_base
    int64_t lut_len
    int64_t base
    int64_t card     # slots including the trailing NULL slot
    int64_t stride

ctypedef struct AggDesc:
    int kind
    int is_float
    int small        # products and a block's sums fit in int64 (the planner checked bounds)
    int base         # >= 0: an earlier aggregate whose factors are a prefix of this one's
    int direct       # its value is one stored column as is (sum(x)): read the column buffer
    int first        # index of its first factor
    int count        # number of factors (0 for COUNT(*))

ctypedef struct FactorDesc:
    int col          # -1: the constant a alone
    int64_t a
    int64_t b
    double da
    double db


cdef inline bint _bit(const uint8_t *v, int64_t row) noexcept nogil:
    return (v[row >> 3] >> (row & 7)) & 1


cdef void _gather_i64(const PhysCol *c, int64_t base, const int32_t *sel, int n,
                      int64_t *out) noexcept nogil:
    cdef int i
    cdef const char *d = c.data
    if c.kind == K_I8:
        for i in range(n):
            out[i] = (<const int8_t *>d)[base + sel[i]]
    elif c.kind == K_I16:
        for i in range(n):
            out[i] = (<const int16_t *>d)[base + sel[i]]
    elif c.kind == K_I32:
        for i in range(n):
            out[i] = (<const int32_t *>d)[base + sel[i]]
    elif c.kind == K_I64:
        for i in range(n):
            out[i] = (<const int64_t *>d)[base + sel[i]]
    elif c.kind == K_U8:
        for i in range(n):
            out[i] = (<const uint8_t *>d)[base + sel[i]]
    elif c.kind == K_U16:
        for i in range(n):
            out[i] = (<const uint16_t *>d)[base + sel[i]]
    elif c.kind == K_U32:
        for i in range(n):
            out[i] = (<const uint32_t *>d)[base + sel[i]]
    elif c.kind == K_F32:
        for i in range(n):
            out[i] = <int64_t>(<const float *>d)[base + sel[i]]
    else:
        for i in range(n):
            out[i] = <int64_t>(<const double *>d)[base + sel[i]]


cdef void _load_i64(const PhysCol *c, int64_t base, int n, int64_t *out) noexcept nogil:
    """_gather_i64 for the rows base..base+n-1 in order: contiguous, vectorizable."""
    cdef int i
    cdef const char *d = c.data + 0
    if c.kind == K_I8:
        for i in range(n):
            out[i] = (<const int8_t *>d)[base + i]
    elif c.kind == K_I16:
        for i in range(n):
            out[i] = (<const int16_t *>d)[base + i]
    elif c.kind == K_I32:
        for i in range(n):
            out[i] = (<const int32_t *>d)[base + i]
    elif c.kind == K_I64:
        for i in range(n):
            out[i] = (<const int64_t *>d)[base + i]
    elif c.kind == K_U8:
        for i in range(n):
            out[i] = (<const uint8_t *>d)[base + i]
    elif c.kind == K_U16:
        for i in range(n):
            out[i] = (<const uint16_t *>d)[base + i]
    elif c.kind == K_U32:
        for i in range(n):
            out[i] = (<const uint32_t *>d)[base + i]
    elif c.kind == K_F32:
        for i in range(n):
            out[i] = <int64_t>(<const float *>d)[base + i]
    else:
        for i in range(n):
            out[i] = <int64_t>(<const double *>d)[base + i]


cdef void _gather_f64(const PhysCol *c, int64_t base, const int32_t *sel, int n,
                      double *out) noexcept nogil:
    cdef int i
    cdef const char *d = c.data
    if c.kind == K_F64:
        for i in range(n):
            out[i] = (<const double *>d)[base + sel[i]]
    elif c.kind == K_F32:
        for i in range(n):
            out[i] = (<const float *>d)[base + sel[i]]
    elif c.kind == K_I8:
        for i in range(n):
            out[i] = (<const int8_t *>d)[base + sel[i]]
    elif c.kind == K_I16:
        for i in range(n):
            out[i] = (<const int16_t *>d)[base + sel[i]]
    elif c.kind == K_I32:
        for i in range(n):
            out[i] = (<const int32_t *>d)[base + sel[i]]
    elif c.kind == K_I64:
        for i in range(n):
            out[i] = <double>(<const int64_t *>d)[base + sel[i]]
    elif c.kind == K_U8:
        for i in range(n):
            out[i] = (<const uint8_t *>d)[base + sel[i]]
    elif c.kind == K_U16:
        for i in range(n):
            out[i] = (<const uint16_t *>d)[base + sel[i]]
    else:
        for i in range(n):
            out[i] = (<const uint32_t *>d)[base + sel[i]]


cdef int _range_first(const PhysCol *c, int64_t base, int n, int64_t lo, int64_t hi,
                      int32_t *sel) noexcept nogil:
    """The first filter of a block: read the column straight (no selection yet) and write
    the positions of rows in [lo, hi] to ``sel``; branch-free."""
    cdef int i, k = 0
    cdef int64_t v
    cdef const char *d = c.data
    if c.kind == K_I32:
        for i in range(n):
            v = (<const int32_t *>d)[base + i]
            sel[k] = i
            k += (v >= lo) & (v <= hi)
    elif c.kind == K_I64:
        for i in range(n):
            v = (<const int64_t *>d)[base + i]
            sel[k] = i
            k += (v >= lo) & (v <= hi)
    elif c.kind == K_I16:
        for i in range(n):
            v = (<const int16_t *>d)[base + i]
            sel[k] = i
            k += (v >= lo) & (v <= hi)
    elif c.kind == K_I8:
        for i in range(n):
            v = (<const int8_t *>d)[base + i]
            sel[k] = i
            k += (v >= lo) & (v <= hi)
    else:
        for i in range(n):
            sel[i] = i
        return -1  # no fast form: the caller gathers
    return k


cdef int _match(const PhysCol *c, int64_t base, int32_t *sel, int m,
                const FilterDesc *fd) noexcept nogil:
    """Compact ``sel`` to the rows whose string contains / starts with / ends with / equals
    the needle (LIKE '%x%', 'x%', '%x', 'x')."""
    cdef int i, k = 0
    cdef int kind = fd.match & 7
    cdef int neg = (fd.match & 8) != 0  # NOT LIKE (only on columns without NULLs)
    cdef int64_t r, lo, n
    cdef const char *sp
    cdef bint hit
    for i in range(m):
        r = base + sel[i]
        lo = c.offsets[r]
        n = c.offsets[r + 1] - lo
        sp = c.data + lo
        if kind == 1:
            hit = n >= fd.nlen and (fd.nlen == 0 or memmem(sp, n, fd.needle, fd.nlen) != NULL)
        elif kind == 2:
            hit = n >= fd.nlen and memcmp(sp, fd.needle, fd.nlen) == 0
        elif kind == 3:
            hit = n >= fd.nlen and memcmp(sp + n - fd.nlen, fd.needle, fd.nlen) == 0
        elif kind == 5:
            hit = _in_order(sp, n, fd.needle, fd.nlen)
        else:
            hit = n == fd.nlen and memcmp(sp, fd.needle, fd.nlen) == 0
        sel[k] = sel[i]
        k += hit ^ neg
    return k


cdef bint _in_order(const char *s, int64_t n, const char *frags, int64_t nl) noexcept nogil:
    """LIKE '%a%b%...%': the NUL-separated fragments occur in ``s`` in order, apart."""
    cdef int64_t pos = 0, a = 0, b
    cdef const char *hit
    while a <= nl:
        b = a
        while b < nl and frags[b] != 0:
            b += 1
        if b > a:
            hit = <const char *>memmem(s + pos, n - pos, frags + a, b - a)
            if hit == NULL:
                return 0
            pos = (hit - s) + (b - a)
        a = b + 1
    return 1


cdef inline int64_t _sum4(const int64_t *a, int64_t G, int64_t g) noexcept nogil:
    """Group g's total over the 4 interleaved copies of a few-groups accumulator."""
    cdef int64_t t = 0
    cdef int r
    for r in range(4):
        t += a[r * G + g]
    return t


cdef inline double _sum4d(const double *a, int64_t G, int64_t g) noexcept nogil:
    cdef double t = 0
    cdef int r
    for r in range(4):
        t += a[r * G + g]
    return t


cdef class FusedState:
    """One worker's accumulators: per group, per aggregate."""
    cdef readonly int ngroups, naggs
    cdef int64_t *rows
    cdef int64_t *cnt
    cdef i128 *isum
    cdef double *dsum
    cdef int64_t *imin
    cdef int64_t *imax
    cdef double *dmin
    cdef double *dmax
    # per-block scratch
    cdef int32_t *sel
    cdef int32_t *gid
    cdef int64_t *tmp
    cdef double *dtmp
    cdef i128 *prod
    cdef int64_t *prod64
    cdef double *dprod
    cdef uint8_t *ok
    cdef int64_t *cbuf     # per column: its values for the selected rows of the block
    cdef double *dbuf
    cdef uint8_t *cvalid   # per column: 1 where the selected row is not NULL
    cdef int32_t *sel2     # the selection reordered by group
    cdef int32_t *hist     # per group: rows in this block, then a write cursor
    cdef int32_t *run_group
    cdef int32_t *run_start
    cdef int32_t *run_len

    cdef int64_t *prods    # per aggregate: its int64 products for the block (prefix reuse)
    cdef uint8_t *passm    # dense blocks: 1 where the row passed the filters
    cdef bint dense        # this block runs over all its rows, passm masking the failures
    cdef int32_t *count4   # few groups: rows per group (4 interleaved copies, then summed)
    cdef int64_t *acc4     # few groups: a block's sums per group, 4 interleaved copies
    cdef double *dacc4

    def __cinit__(self, int ngroups, int naggs, int ncols=1):
        cdef size_t cells = <size_t>max(ngroups, 1) * max(naggs, 1)
        self.ngroups, self.naggs = ngroups, naggs
        self.rows = <int64_t *>calloc(max(ngroups, 1), sizeof(int64_t))
        self.cnt = <int64_t *>calloc(cells, sizeof(int64_t))
        self.isum = <i128 *>calloc(cells, sizeof(i128))
        self.dsum = <double *>calloc(cells, sizeof(double))
        self.imin = <int64_t *>malloc(cells * sizeof(int64_t))
        self.imax = <int64_t *>malloc(cells * sizeof(int64_t))
        self.dmin = <double *>malloc(cells * sizeof(double))
        self.dmax = <double *>malloc(cells * sizeof(double))
        self.sel = <int32_t *>malloc(SCAN_BLOCK * sizeof(int32_t))
        self.gid = <int32_t *>malloc(SCAN_BLOCK * sizeof(int32_t))
        self.tmp = <int64_t *>malloc(SCAN_BLOCK * sizeof(int64_t))
        self.dtmp = <double *>malloc(SCAN_BLOCK * sizeof(double))
        self.prod = <i128 *>malloc(SCAN_BLOCK * sizeof(i128))
        self.dprod = <double *>malloc(SCAN_BLOCK * sizeof(double))
        self.ok = <uint8_t *>malloc(SCAN_BLOCK)
        self.prod64 = <int64_t *>malloc(SCAN_BLOCK * sizeof(int64_t))
        self.cbuf = <int64_t *>malloc(<size_t>max(ncols, 1) * SCAN_BLOCK * sizeof(int64_t))
        self.dbuf = <double *>malloc(<size_t>max(ncols, 1) * SCAN_BLOCK * sizeof(double))
        self.cvalid = <uint8_t *>malloc(<size_t>max(ncols, 1) * SCAN_BLOCK)
        self.sel2 = <int32_t *>malloc(SCAN_BLOCK * sizeof(int32_t))
        self.prods = <int64_t *>malloc(<size_t>max(naggs, 1) * SCAN_BLOCK * sizeof(int64_t))
        self.passm = <uint8_t *>malloc(SCAN_BLOCK)
        self.dense = False
        if not self.passm:
            raise MemoryError()
        self.count4 = <int32_t *>malloc(4 * FEW_GROUPS * sizeof(int32_t))
        self.acc4 = <int64_t *>malloc(4 * FEW_GROUPS * sizeof(int64_t))
        self.dacc4 = <double *>malloc(4 * FEW_GROUPS * sizeof(double))
        if not (self.prods and self.count4 and self.acc4 and self.dacc4):
            raise MemoryError()
        self.hist = <int32_t *>calloc(<size_t>min(max(ngroups, 1), SORT_GROUPS), sizeof(int32_t))
        self.run_group = <int32_t *>malloc(SCAN_BLOCK * sizeof(int32_t))
        self.run_start = <int32_t *>malloc(SCAN_BLOCK * sizeof(int32_t))
        self.run_len = <int32_t *>malloc(SCAN_BLOCK * sizeof(int32_t))
        if not (self.prod64 and self.cbuf and self.dbuf and self.cvalid and self.sel2
                and self.hist and self.run_group and self.run_start and self.run_len):
            raise MemoryError()
        if not (self.rows and self.cnt and self.isum and self.dsum and self.imin and self.imax
                and self.dmin and self.dmax and self.sel and self.gid and self.tmp
                and self.dtmp and self.prod and self.dprod and self.ok):
            raise MemoryError()
        cdef size_t i
        for i in range(cells):
            self.imin[i] = INT64_MAX
            self.imax[i] = INT64_MIN
            self.dmin[i] = float("nan")  # NaN: no value yet, or only NaNs (see _minmax)
            self.dmax[i] = float("-inf")

    def __dealloc__(self):
        free(self.rows); free(self.cnt); free(self.isum); free(self.dsum)
        free(self.imin); free(self.imax); free(self.dmin); free(self.dmax)
        free(self.sel); free(self.gid); free(self.tmp); free(self.dtmp)
        free(self.prod); free(self.dprod); free(self.ok)
        free(self.prod64); free(self.cbuf); free(self.dbuf); free(self.cvalid)
        free(self.sel2); free(self.prods); free(self.hist)
        free(self.count4); free(self.acc4); free(self.dacc4); free(self.passm); free(self.run_group); free(self.run_start)
        free(self.run_len)

    def merge(self, FusedState other):
        """Add ``other``'s accumulators into this state."""
        if other.ngroups != self.ngroups or other.naggs != self.naggs:
            raise ValueError("states of different shapes")
        cdef int64_t i, cells = <int64_t>max(self.ngroups, 1) * max(self.naggs, 1)
        for i in range(max(self.ngroups, 1)):
            self.rows[i] += other.rows[i]
        for i in range(cells):
            self.cnt[i] += other.cnt[i]
            self.isum[i] += other.isum[i]
            self.dsum[i] += other.dsum[i]
            if other.imin[i] < self.imin[i]:
                self.imin[i] = other.imin[i]
            if other.imax[i] > self.imax[i]:
                self.imax[i] = other.imax[i]
            if other.dmin[i] < self.dmin[i] or self.dmin[i] != self.dmin[i]:
                self.dmin[i] = other.dmin[i]
            if other.dmax[i] > self.dmax[i] or other.dmax[i] != other.dmax[i]:
                self.dmax[i] = other.dmax[i]

    def results(self):
        """numpy arrays: rows[g], and per (g, a): cnt, sum_hi/sum_lo (exact int sums),
        dsum, imin, imax, dmin, dmax."""
        import numpy as np
        cdef int64_t g = max(self.ngroups, 1)
        cdef int64_t i, cells = g * max(self.naggs, 1)
        rows = np.empty(g, np.int64)
        cnt = np.empty(cells, np.int64)
        hi = np.empty(cells, np.int64)
        lo = np.empty(cells, np.uint64)
        dsum = np.empty(cells, np.float64)
        imin = np.empty(cells, np.int64)
        imax = np.empty(cells, np.int64)
        dmin = np.empty(cells, np.float64)
        dmax = np.empty(cells, np.float64)
        cdef int64_t[::1] r = rows, c = cnt, h = hi, mn = imin, mx = imax
        cdef uint64_t[::1] l = lo
        cdef double[::1] ds = dsum, dn = dmin, dx = dmax
        for i in range(g):
            r[i] = self.rows[i]
        for i in range(cells):
            c[i] = self.cnt[i]
            h[i] = i128_hi(self.isum[i])
            l[i] = i128_lo(self.isum[i])
            ds[i] = self.dsum[i]
            mn[i] = self.imin[i]
            mx[i] = self.imax[i]
            dn[i] = self.dmin[i]
            dx[i] = self.dmax[i]
        return {"rows": rows, "cnt": cnt, "sum_hi": hi, "sum_lo": lo, "dsum": dsum,
                "imin": imin, "imax": imax, "dmin": dmin, "dmax": dmax}


cdef class FusedProgram:
    """A compiled filter + group + aggregate shape over ``nseg`` segments of ``ncols``
    columns. ``filters``: (col, is_float, lo, hi), floats' bounds with NaN above +inf;
    ``keys``: (col, base, card incl. the NULL slot); ``aggs``: (kind name, is_float, first factor, factor count); ``factors``:
    (col or -1, a, b) meaning a + b * column (floats when the aggregate is)."""
    cdef int nseg, ncols, nfilt, nkeys, nfac
    cdef readonly int naggs
    cdef uint8_t *need_i   # per column: aggregates read it as int64 / as double
    cdef uint8_t *need_f
    cdef readonly int64_t ngroups
    cdef PhysCol *cols
    cdef FilterDesc *filt
    cdef KeyDesc *keys
    cdef AggDesc *aggs
    cdef FactorDesc *fac
    cdef list _keep

    def __cinit__(self, int nseg, int ncols, list filters, list keys, list aggs,
                  list factors):
        self.nseg, self.ncols = nseg, ncols
        self.nfilt, self.nkeys, self.naggs, self.nfac = (len(filters), len(keys), len(aggs),
                                                        len(factors))
        self._keep = []
        self.cols = <PhysCol *>calloc(max(nseg * ncols, 1), sizeof(PhysCol))
        self.filt = <FilterDesc *>calloc(max(self.nfilt, 1), sizeof(FilterDesc))
        self.keys = <KeyDesc *>calloc(max(self.nkeys, 1), sizeof(KeyDesc))
        self.aggs = <AggDesc *>calloc(max(self.naggs, 1), sizeof(AggDesc))
        self.fac = <FactorDesc *>calloc(max(self.nfac, 1), sizeof(FactorDesc))
        self.need_i = <uint8_t *>calloc(max(ncols, 1), 1)
        self.need_f = <uint8_t *>calloc(max(ncols, 1), 1)
        if not (self.cols and self.filt and self.keys and self.aggs and self.fac
                and self.need_i and self.need_f):
            raise MemoryError()
        cdef int i
        cdef bytes needle
        for i, filt in enumerate(filters):
            col, is_float, lo, hi = filt[:4]
            self.filt[i].col = col
            self.filt[i].col2 = filt[4] if len(filt) > 4 else -1
            if len(filt) > 5 and filt[5] is not None:  # (col, 0, None, None, -1, (match, needle))
                match, needle = filt[5]
                self._keep.append(needle)
                self.filt[i].match = match
                self.filt[i].needle = needle
                self.filt[i].nlen = len(needle)
            if len(filt) > 6 and filt[6] is not None:  # (.., None, member flags per value)
                flags = bytes(filt[6])
                if lo is None or hi is None or len(flags) != hi - lo + 1:
                    raise ValueError("a member filter needs one flag per value of lo..hi")
                self._keep.append(flags)
                self.filt[i].members = <const uint8_t *><const char *>flags
            self.filt[i].is_float = is_float
            if is_float:
                # lo/hi in DuckDB's order of doubles, NaN above +inf (None: unbounded)
                self.filt[i].nan_ok = hi is None or hi != hi
                self.filt[i].dhi = float("inf") if hi is None or hi != hi else hi
                self.filt[i].dlo = float("-inf") if lo is None else lo
                if lo is not None and lo != lo:  # [NaN, ...]: no number passes
                    self.filt[i].dlo, self.filt[i].dhi = float("inf"), float("-inf")
            else:
                self.filt[i].lo = INT64_MIN if lo is None else lo
                self.filt[i].hi = INT64_MAX if hi is None else hi
        cdef int64_t stride = 1
        cdef const uint8_t[::1] lut_bytes
        for i, key in enumerate(keys):
            col, base, card = key[:3]
            self.keys[i].col, self.keys[i].base, self.keys[i].card = col, base, card
            self.keys[i].transform = key[3] if len(key) > 3 else 0
            self.keys[i].lut = NULL
            if len(key) > 4:  # (col, base, card, transform, (lut_base, int32 table))
                lut_base, table = key[4]
                lut_view = memoryview(table).cast("B")
                self._keep.append(table)
                lut_bytes = lut_view
                self.keys[i].lut = <const int32_t *>&lut_bytes[0]
                self.keys[i].lut_base = lut_base
                self.keys[i].lut_len = len(table)
            self.keys[i].stride = stride
            stride *= card
        self.ngroups = stride
        cdef int f
        for i, spec in enumerate(aggs):
            kind, is_float, first, count, small = spec[:5]
            self.aggs[i].kind = AGG_CODES[kind]
            self.aggs[i].is_float, self.aggs[i].first, self.aggs[i].count = is_float, first, count
            self.aggs[i].small = small
            self.aggs[i].base = spec[5] if len(spec) > 5 else -1
            self.aggs[i].direct = int(small and not is_float and count == 1
                                      and factors[first][0] >= 0 and factors[first][1] == 0
                                      and factors[first][2] == 1)
            for f in range(first, first + count):
                col = factors[f][0]
                if col >= 0:
                    if is_float:
                        self.need_f[col] = 1
                    else:
                        self.need_i[col] = 1
        for i, (col, a, b) in enumerate(factors):
            self.fac[i].col = col
            if isinstance(a, float) or isinstance(b, float):
                self.fac[i].da, self.fac[i].db = a, b
            else:
                self.fac[i].a, self.fac[i].b = a, b
                self.fac[i].da, self.fac[i].db = a, b

    def __dealloc__(self):
        free(self.cols); free(self.filt); free(self.keys); free(self.aggs); free(self.fac)
        free(self.need_i); free(self.need_f)

    def set_column(self, int seg, int col, data, valid, str kind, offsets=None):
        """Point column ``col`` of segment ``seg`` at ``data`` (a buffer of values) and
        ``valid`` (an LSB bitmap or None); strings also need ``offsets`` (int64). The
        objects are kept alive by the program."""
        if not (0 <= seg < self.nseg and 0 <= col < self.ncols):
            raise IndexError("segment or column out of range")
        cdef const uint8_t[::1] d = memoryview(data).cast("B") if len(memoryview(data)) \
            else b"\0"
        cdef const uint8_t[::1] v
        cdef PhysCol *c = &self.cols[seg * self.ncols + col]
        c.data = <const char *>&d[0]
        c.kind = KIND_CODES[kind]
        c.valid = NULL
        c.offsets = NULL
        if valid is not None:
            v = memoryview(valid).cast("B")
            c.valid = &v[0]
        cdef const uint8_t[::1] o
        if offsets is not None:
            o = memoryview(offsets).cast("B")
            c.offsets = <const int64_t *>&o[0]
        self._keep.append((data, valid, offsets))

    def new_state(self):
        return FusedState(self.ngroups, self.naggs, self.ncols)

    def select(self, FusedState st, int seg, int64_t start, int64_t stop, out):
        """The rows of [start, stop) of segment ``seg`` that pass every filter, written to
        ``out`` (an int32 buffer of at least stop - start) as offsets from ``start``;
        returns how many (GIL released)."""
        cdef int32_t[::1] o = out
        if o.shape[0] < stop - start:
            raise ValueError("out is too small")
        if not 0 <= seg < self.nseg:
            raise IndexError("segment out of range")
        cdef int64_t base = start, total = 0
        cdef int m, i
        with nogil:
            while base < stop:
                m = self._filter(st, &self.cols[seg * self.ncols], base,
                                 <int>min(<int64_t>SCAN_BLOCK, stop - base))
                for i in range(m):
                    o[total + i] = <int32_t>(base - start + st.sel[i])
                total += m
                base += SCAN_BLOCK
        return total

    def run(self, FusedState st, int seg, int64_t start, int64_t stop):
        """Scan rows [start, stop) of segment ``seg`` into ``st`` (GIL released)."""
        if st.ngroups != self.ngroups or st.naggs != self.naggs:
            raise ValueError("state does not fit this program")
        if not 0 <= seg < self.nseg:
            raise IndexError("segment out of range")
        cdef int64_t base
        with nogil:
            base = start
            while base < stop:
                self._block(st, &self.cols[seg * self.ncols], base,
                            <int>min(<int64_t>SCAN_BLOCK, stop - base))
                base += SCAN_BLOCK

    cdef int _filter(self, FusedState st, const PhysCol *cols, int64_t base,
                     int n) noexcept nogil:
        """Leave in st.sel the rows of the block [base, base + n) that pass every filter
        (offsets from base); returns how many."""
        cdef int i, k, f, j, m
        cdef int32_t *sel = st.sel
        cdef int64_t *tmp = st.tmp
        cdef double *dtmp = st.dtmp
        cdef const PhysCol *c
        cdef FilterDesc *fd
        cdef int64_t v, lo, hi
        cdef double dv, dlo, dhi
        for i in range(n):
            sel[i] = i
        m = n
        for f in range(self.nfilt):  # each filter compacts the selection
            fd = &self.filt[f]
            c = &cols[fd.col]
            k = 0
            if fd.match:
                k = _match(c, base, sel, m, fd)
            elif fd.is_float:
                _gather_f64(c, base, sel, m, dtmp)
                dlo, dhi = fd.dlo, fd.dhi
                if fd.nan_ok:
                    for i in range(m):
                        dv = dtmp[i]
                        sel[k] = sel[i]
                        k += ((dv >= dlo) & (dv <= dhi)) | (dv != dv)
                else:
                    for i in range(m):
                        dv = dtmp[i]
                        sel[k] = sel[i]
                        k += (dv >= dlo) & (dv <= dhi)
            else:
                lo, hi = fd.lo, fd.hi
                k = _range_first(c, base, m, lo, hi, sel) if f == 0 and fd.col2 < 0 and \
                    fd.members == NULL else -1
                if k < 0 and fd.members != NULL:
                    k = 0
                    _gather_i64(c, base, sel, m, tmp)
                    for i in range(m):
                        v = tmp[i]
                        sel[k] = sel[i]
                        k += (v >= lo) & (v <= hi) and fd.members[v - lo] != 0
                elif k < 0:
                    k = 0
                    _gather_i64(c, base, sel, m, tmp)
                    if fd.col2 >= 0:
                        _gather_i64(&cols[fd.col2], base, sel, m, st.prod64)
                        for i in range(m):
                            tmp[i] -= st.prod64[i]
                    for i in range(m):
                        v = tmp[i]
                        sel[k] = sel[i]
                        k += (v >= lo) & (v <= hi)
            if c.valid != NULL:
                j = 0
                for i in range(k):
                    sel[j] = sel[i]
                    j += _bit(c.valid, base + sel[i])
                k = j
            if fd.col2 >= 0 and cols[fd.col2].valid != NULL:
                j = 0
                for i in range(k):
                    sel[j] = sel[i]
                    j += _bit(cols[fd.col2].valid, base + sel[i])
                k = j
            m = k
            if m == 0:
                return 0
        return m

    cdef void _block(self, FusedState st, const PhysCol *cols, int64_t base,
                     int n) noexcept nogil:
        cdef int i, f, j
        cdef int m = self._filter(st, cols, base, n)
        if m == 0:
            return
        cdef int32_t *sel = st.sel
        # Most rows passed (Q1: 98%): run over all rows in order, with the failures masked
        # like NULLs, so every column is read contiguously instead of gathered.
        st.dense = m < n and 4 * m > 3 * n and self.ngroups <= FEW_GROUPS
        if st.dense:
            memset(st.passm, 0, n)
            for i in range(m):
                st.passm[sel[i]] = 1
            for i in range(n):
                sel[i] = i
            m = n
        cdef bint identity = m == n  # sel is 0..n-1 (no group ordering below: few groups)
        if identity and self.nkeys and self.ngroups > FEW_GROUPS:
            identity = self.ngroups > SORT_GROUPS
        cdef int64_t *tmp = st.tmp
        cdef const PhysCol *c
        cdef int32_t *gid = st.gid
        cdef KeyDesc *kd
        cdef int64_t code, year, month
        for i in range(m):
            gid[i] = 0
        for f in range(self.nkeys):
            kd = &self.keys[f]
            c = &cols[kd.col]
            if m == n:
                _load_i64(c, base, m, tmp)
            else:
                _gather_i64(c, base, sel, m, tmp)
            if kd.transform and kd.lut != NULL:  # a table over the column's value range
                for i in range(m):
                    code = tmp[i] - kd.lut_base
                    if 0 <= code < kd.lut_len:
                        tmp[i] = kd.lut[code]
                    else:
                        civil(tmp[i], &year, &month)
                        tmp[i] = year if kd.transform == 1 else month
            elif kd.transform:
                for i in range(m):
                    civil(tmp[i], &year, &month)
                    tmp[i] = year if kd.transform == 1 else month
            if c.valid == NULL:
                for i in range(m):
                    gid[i] += <int32_t>((tmp[i] - kd.base) * kd.stride)
            else:
                for i in range(m):
                    code = tmp[i] - kd.base
                    if not _bit(c.valid, base + sel[i]):
                        code = kd.card - 1
                    gid[i] += <int32_t>(code * kd.stride)
        cdef int nruns = self._runs(st, m)
        for f in range(self.ncols):  # each column the aggregates read: gathered once
            c = &cols[f]
            if self.need_i[f] and identity:
                _load_i64(c, base, m, st.cbuf + <size_t>f * SCAN_BLOCK)
            elif self.need_i[f]:
                _gather_i64(c, base, sel, m, st.cbuf + <size_t>f * SCAN_BLOCK)
            if self.need_f[f]:
                _gather_f64(c, base, sel, m, st.dbuf + <size_t>f * SCAN_BLOCK)
            if (self.need_i[f] or self.need_f[f]) and c.valid != NULL:
                for i in range(m):
                    st.cvalid[<size_t>f * SCAN_BLOCK + i] = _bit(c.valid, base + sel[i])
        for j in range(self.naggs):
            self._agg(st, cols, m, j, nruns)

    cdef int _runs(self, FusedState st, int m) noexcept nogil:
        """Order the selection by group (a counting sort) so that each group's rows form
        one run: aggregates then sum a run in registers instead of read-modify-writing a
        group's accumulator per row. Returns the number of runs, or -1 when there are too
        many groups to sort cheaply (rows are then scattered one by one)."""
        # locals, not st.<field>: stores through int32 pointers would force reloads
        cdef int i, r, g, pos
        cdef int32_t *gid = st.gid
        cdef int32_t *hist = st.hist
        cdef int32_t *sel = st.sel
        cdef int32_t *sel2 = st.sel2
        cdef int32_t *run_group = st.run_group
        cdef int32_t *run_start = st.run_start
        cdef int32_t *run_len = st.run_len
        cdef int64_t *rows = st.rows
        if not self.nkeys and not st.dense:
            run_group[0], run_start[0], run_len[0] = 0, 0, m
            rows[0] += m
            return 1
        cdef int64_t G = self.ngroups
        cdef int32_t *c4 = st.count4
        if G <= FEW_GROUPS:  # count per group with four interleaved counters, no ordering
            memset(c4, 0, 4 * G * sizeof(int32_t))
            if st.dense:
                for i in range(m):
                    c4[(i & 3) * G + gid[i]] += st.passm[i]
            else:
                for i in range(m):
                    c4[(i & 3) * G + gid[i]] += 1
            for g in range(G):
                for r in range(1, 4):
                    c4[g] += c4[r * G + g]
                rows[g] += c4[g]
            return -2
        if G > SORT_GROUPS:
            for i in range(m):
                rows[gid[i]] += 1
            return -1
        cdef int nruns = 0
        for i in range(m):
            g = gid[i]
            if hist[g] == 0:
                run_group[nruns] = g
                nruns += 1
            hist[g] += 1
        pos = 0
        for r in range(nruns):
            g = run_group[r]
            run_start[r] = pos
            run_len[r] = hist[g]
            rows[g] += hist[g]
            hist[g] = pos  # becomes the write cursor
            pos += run_len[r]
        for i in range(m):
            g = gid[i]
            sel2[hist[g]] = sel[i]
            hist[g] += 1
        for r in range(nruns):
            hist[run_group[r]] = 0
        memcpy(sel, sel2, m * sizeof(int32_t))
        return nruns

    cdef void _agg(self, FusedState st, const PhysCol *cols, int m, int j,
                   int nruns) noexcept nogil:
        cdef AggDesc *ad = &self.aggs[j]
        cdef int i, f, r, lo, hi
        cdef int32_t *gid = st.gid
        cdef uint8_t *ok = st.ok
        cdef i128 *prod = st.prod
        cdef int64_t *p64 = st.prod64
        cdef double *dprod = st.dprod
        cdef FactorDesc *fc
        cdef const int64_t *x
        cdef const double *dx
        cdef const uint8_t *cv
        cdef int na = self.naggs
        cdef size_t cell
        cdef i128 s
        cdef int64_t s64, cnt, a, b
        cdef double ds, da, db
        cdef bint nullable = False
        cdef int64_t *acc_cnt = st.cnt
        cdef i128 *acc_isum = st.isum
        cdef double *acc_dsum = st.dsum
        cdef int32_t *run_group = st.run_group
        cdef int32_t *run_start = st.run_start
        cdef int32_t *run_len = st.run_len
        cdef const int64_t *cbuf = st.cbuf
        cdef const double *dbuf = st.dbuf
        cdef const uint8_t *cvalid = st.cvalid
        cdef int64_t G = self.ngroups
        cdef int32_t *c4 = st.count4
        cdef int64_t *a4 = st.acc4
        cdef double *d4 = st.dacc4
        if ad.kind == A_COUNT_STAR:
            if nruns == -2:
                for r in range(G):
                    acc_cnt[<size_t>r * na + j] += c4[r]
            elif nruns >= 0:
                for r in range(nruns):
                    acc_cnt[<size_t>run_group[r] * na + j] += run_len[r]
            else:
                for i in range(m):
                    acc_cnt[<size_t>gid[i] * na + j] += 1
            return
        for f in range(ad.first, ad.first + ad.count):
            fc = &self.fac[f]
            if fc.col >= 0 and cols[fc.col].valid != NULL:
                nullable = True
        cdef bint col_nullable = nullable  # a factor column has NULLs in this segment
        if st.dense:  # rows that failed the filters count as NULL everywhere
            nullable = True
            memcpy(ok, st.passm, m)
        elif nullable:
            for i in range(m):
                ok[i] = 1
        cdef int first = ad.first
        if ad.small and not ad.is_float:
            p64 = st.prods + <size_t>j * SCAN_BLOCK
            if ad.direct:  # sum(x): the gathered column is the value
                p64 = <int64_t *>(cbuf + <size_t>self.fac[first].col * SCAN_BLOCK)
                if cols[self.fac[first].col].valid != NULL:
                    cv = cvalid + <size_t>self.fac[first].col * SCAN_BLOCK
                    for i in range(m):
                        ok[i] &= cv[i]
                first = ad.first + ad.count
            elif ad.base >= 0:  # start from an earlier aggregate's product (a prefix)
                memcpy(p64, st.prods + <size_t>ad.base * SCAN_BLOCK, m * sizeof(int64_t))
                if nullable:
                    for f in range(ad.first, ad.first + self.aggs[ad.base].count):
                        fc = &self.fac[f]
                        if fc.col >= 0 and cols[fc.col].valid != NULL:
                            cv = cvalid + <size_t>fc.col * SCAN_BLOCK
                            for i in range(m):
                                ok[i] &= cv[i]
                first = ad.first + self.aggs[ad.base].count
        # the product of the remaining factors, row by row (the first factor assigns)
        for f in range(first, ad.first + ad.count):
            fc = &self.fac[f]
            if fc.col < 0:
                if f == first and first == ad.first:
                    for i in range(m):
                        dprod[i] = fc.da
                        p64[i] = fc.a
                        prod[i] = fc.a
                else:
                    for i in range(m):
                        dprod[i] *= fc.da
                        p64[i] *= fc.a
                        prod[i] *= fc.a
                continue
            if cols[fc.col].valid != NULL:
                cv = cvalid + <size_t>fc.col * SCAN_BLOCK
                for i in range(m):
                    ok[i] &= cv[i]
            if ad.is_float:
                dx = dbuf + <size_t>fc.col * SCAN_BLOCK
                da, db = fc.da, fc.db
                if f == first and first == ad.first:
                    for i in range(m):
                        dprod[i] = da + db * dx[i]
                else:
                    for i in range(m):
                        dprod[i] *= da + db * dx[i]
                continue
            x = cbuf + <size_t>fc.col * SCAN_BLOCK
            a, b = fc.a, fc.b
            if ad.small:
                if f == first and first == ad.first:
                    for i in range(m):
                        p64[i] = a + b * x[i]
                else:
                    for i in range(m):
                        p64[i] *= a + b * x[i]
            else:
                if f == first and first == ad.first:
                    for i in range(m):
                        prod[i] = a + b * <i128>x[i]
                else:
                    for i in range(m):
                        prod[i] *= a + b * <i128>x[i]
        if ad.small and not ad.is_float and ad.kind != A_SUM:
            for i in range(m):
                prod[i] = p64[i]
        if nruns == -2 and ad.kind == A_SUM and (ad.is_float or ad.small):
            # few groups: interleaved accumulators break the read-modify-write chains
            if ad.is_float:
                memset(d4, 0, 4 * G * sizeof(double))
                for i in range(m):
                    d4[(i & 3) * G + gid[i]] += dprod[i] if not nullable or ok[i] else 0.0
                for r in range(G):
                    acc_dsum[<size_t>r * na + j] += _sum4d(d4, G, r)
            else:
                memset(a4, 0, 4 * G * sizeof(int64_t))
                if nullable:
                    for i in range(m):
                        a4[(i & 3) * G + gid[i]] += p64[i] * ok[i]
                else:
                    for i in range(m):
                        a4[(i & 3) * G + gid[i]] += p64[i]
                for r in range(G):
                    acc_isum[<size_t>r * na + j] += _sum4(a4, G, r)
            if col_nullable:  # counts of non-NULL values (else: the group's row count)
                memset(a4, 0, 4 * G * sizeof(int64_t))
                for i in range(m):
                    a4[(i & 3) * G + gid[i]] += ok[i]
                for r in range(G):
                    acc_cnt[<size_t>r * na + j] += _sum4(a4, G, r)
            else:
                for r in range(G):
                    acc_cnt[<size_t>r * na + j] += c4[r]
            return
        if nruns < 0:  # many groups: scatter row by row
            for i in range(m):
                if nullable and not ok[i]:
                    continue
                cell = <size_t>gid[i] * na + j
                st.cnt[cell] += 1
                if ad.kind == A_SUM:
                    if ad.is_float:
                        st.dsum[cell] += dprod[i]
                    elif ad.small:
                        st.isum[cell] += p64[i]
                    else:
                        st.isum[cell] += prod[i]
                else:
                    self._minmax(st, cell, ad, prod[i], dprod[i])
            return
        for r in range(nruns):  # one run per group: accumulate in registers
            lo, hi = run_start[r], run_start[r] + run_len[r]
            cell = <size_t>run_group[r] * na + j
            if nullable:
                cnt = 0
                for i in range(lo, hi):
                    cnt += ok[i]
            else:
                cnt = hi - lo
            acc_cnt[cell] += cnt
            if ad.kind == A_SUM:
                if ad.is_float:
                    ds = 0
                    if nullable:
                        for i in range(lo, hi):
                            ds += dprod[i] if ok[i] else 0.0
                    else:
                        for i in range(lo, hi):
                            ds += dprod[i]
                    acc_dsum[cell] += ds
                elif ad.small:  # block sums fit in int64 (the planner checked)
                    s64 = 0
                    if nullable:
                        for i in range(lo, hi):
                            s64 += p64[i] * ok[i]
                    else:
                        for i in range(lo, hi):
                            s64 += p64[i]
                    acc_isum[cell] += s64
                else:
                    s = 0
                    for i in range(lo, hi):
                        if not nullable or ok[i]:
                            s += prod[i]
                    acc_isum[cell] += s
            else:
                for i in range(lo, hi):
                    if not nullable or ok[i]:
                        self._minmax(st, cell, ad, prod[i], dprod[i])

    cdef inline void _minmax(self, FusedState st, size_t cell, AggDesc *ad, i128 v,
                             double dv) noexcept nogil:
        if ad.is_float:  # NaN is above every number (DuckDB): max is NaN if one is
            if dv < st.dmin[cell] or st.dmin[cell] != st.dmin[cell]:
                st.dmin[cell] = dv
            if dv > st.dmax[cell] or dv != dv:
                st.dmax[cell] = dv
        else:
            if <int64_t>v < st.imin[cell]:
                st.imin[cell] = <int64_t>v
            if <int64_t>v > st.imax[cell]:
                st.imax[cell] = <int64_t>v


cdef inline uint64_t _mix64(uint64_t x) noexcept nogil:
    x ^= x >> 33
    x *= 0xff51afd7ed558ccdULL
    x ^= x >> 33
    x *= 0xc4ceb9fe1a85ec53ULL
    x ^= x >> 33
    return x


cdef class DistinctSet:
    """A set of int64 values (open addressing, linear probing) for COUNT(DISTINCT x) over
    integer-like columns: each worker adds its morsels' values without the GIL; the sets
    are merged at the end. INT64_MIN marks an empty slot (its own presence is a flag).

    >>> import numpy as np
    >>> s = DistinctSet(); s.add(np.array([3, 1, 3, -2**63], np.int64)); len(s)
    3
    """
    cdef int64_t *slots
    cdef int64_t cap, size
    cdef bint has_min

    def __cinit__(self):
        self.cap = 1024
        self.size = 0
        self.has_min = False
        self.slots = <int64_t *>malloc(self.cap * sizeof(int64_t))
        if not self.slots:
            raise MemoryError()
        cdef int64_t i
        for i in range(self.cap):
            self.slots[i] = INT64_MIN

    def __dealloc__(self):
        free(self.slots)

    def __len__(self):
        return self.size + self.has_min

    cdef int _grow(self) noexcept nogil:
        cdef int64_t old_cap = self.cap, i, v, j
        cdef int64_t *old = self.slots
        cdef int64_t *new = <int64_t *>malloc(2 * old_cap * sizeof(int64_t))
        if new == NULL:
            return -1
        for i in range(2 * old_cap):
            new[i] = INT64_MIN
        self.cap = 2 * old_cap
        for i in range(old_cap):
            v = old[i]
            if v != INT64_MIN:
                j = <int64_t>(_mix64(<uint64_t>v) & <uint64_t>(self.cap - 1))
                while new[j] != INT64_MIN:
                    j = (j + 1) & (self.cap - 1)
                new[j] = v
        self.slots = new
        free(old)
        return 0

    cdef int _add(self, const int64_t *values, int64_t n, bint slots) noexcept nogil:
        """Insert values; with ``slots`` they are another set's slots (INT64_MIN = empty)."""
        cdef int64_t i, j, v, mask
        for i in range(n):
            v = values[i]
            if v == INT64_MIN:
                if not slots:
                    self.has_min = True
                continue
            if 2 * (self.size + 1) > self.cap and self._grow() != 0:
                return -1
            mask = self.cap - 1
            j = <int64_t>(_mix64(<uint64_t>v) & <uint64_t>mask)
            while True:
                if self.slots[j] == v:
                    break
                if self.slots[j] == INT64_MIN:
                    self.slots[j] = v
                    self.size += 1
                    break
                j = (j + 1) & mask
        return 0

    def add(self, values):
        """Add an int64 array's values (the GIL is released)."""
        cdef const int64_t[::1] v = values
        cdef int rc
        if v.shape[0] == 0:
            return
        with nogil:
            rc = self._add(&v[0], v.shape[0], False)
        if rc != 0:
            raise MemoryError()

    def merge(self, DistinctSet other):
        """Add every value of ``other``."""
        cdef int rc
        with nogil:
            rc = self._add(other.slots, other.cap, True)
        if rc != 0:
            raise MemoryError()
        self.has_min = self.has_min or other.has_min
