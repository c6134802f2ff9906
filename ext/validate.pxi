# A structural check of string offsets (mapdb_validate.h): each morsel's copied offsets
# before Arrow reads them (query/source.py).

cdef extern from "mapdb_validate.h" nogil:
    int64_t mapdb_check_offsets(const int64_t *off, int64_t n, int64_t length)

def offsets_error(const int64_t[::1] offsets, int64_t length) -> int:
    """The first bad entry of string offsets (n + 1 int64: 0 first, non-decreasing, the
    last equal to ``length``, the data's byte length), or -1.

    >>> import numpy as np
    >>> offsets_error(np.array([0, 2, 2, 5]), 5), offsets_error(np.array([0, 3, 2, 5]), 5)
    (-1, 2)
    """
    cdef int64_t r, n = offsets.shape[0] - 1
    if n < 0:
        return 0
    with nogil:
        r = mapdb_check_offsets(&offsets[0], n, length)
    return r
