# Structural checks of mapped column buffers (mapdb_validate.h): the storage layer runs
# them once per file before kernels or Arrow read it (storage/validate.py). Each returns
# the first bad position, or -1.

cdef extern from "mapdb_validate.h" nogil:
    int64_t mapdb_check_offsets(const int64_t *off, int64_t n, int64_t length)
    int64_t mapdb_check_utf8(const uint8_t *s, int64_t n, int *non_ascii)
    int64_t mapdb_check_boundaries(const int64_t *off, int64_t n, const uint8_t *s,
                                   int64_t length)
    int64_t mapdb_count_ones(const uint8_t *bits, int64_t n)
    int64_t mapdb_range_i8(const int8_t *v, int64_t n, int64_t lo, int64_t hi)
    int64_t mapdb_range_i16(const int16_t *v, int64_t n, int64_t lo, int64_t hi)
    int64_t mapdb_range_i32(const int32_t *v, int64_t n, int64_t lo, int64_t hi)
    int64_t mapdb_range_i64(const int64_t *v, int64_t n, int64_t lo, int64_t hi)

ctypedef fused _checked_int:
    int8_t
    int16_t
    int32_t
    int64_t


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


def utf8_error(const int64_t[::1] offsets, const uint8_t[::1] data) -> tuple:
    """Whether strings (``offsets`` already sound, see offsets_error) are valid UTF-8:
    (-1, -1) if so, else (byte position, -1) of an invalid sequence, or (-1, string
    index) of a string that starts inside a character.

    >>> import numpy as np
    >>> utf8_error(np.array([0, 3, 4]), np.frombuffer("aébc".encode()[:4], np.uint8))
    (-1, -1)
    >>> utf8_error(np.array([0, 1, 3]), np.frombuffer("éa".encode(), np.uint8))
    (-1, 1)
    """
    cdef int64_t n = offsets.shape[0] - 1, length = data.shape[0], pos = -1, at = -1
    cdef int non_ascii = 0
    if length == 0 or n < 0:
        return (-1, -1)
    with nogil:
        pos = mapdb_check_utf8(&data[0], length, &non_ascii)
        if pos < 0 and non_ascii:
            at = mapdb_check_boundaries(&offsets[0], n, &data[0], length)
    return (pos, at)


def count_ones(const uint8_t[::1] bits, int64_t n) -> int:
    """1 bits among the first ``n`` bits (LSB first): a validity bitmap's valid rows.

    >>> import numpy as np
    >>> count_ones(np.array([0b10110111, 1], np.uint8), 9)
    7
    """
    if n < 0 or bits.shape[0] * 8 < n:
        raise ValueError(f"a bitmap of {bits.shape[0]} bytes has no {n} bits")
    if n == 0:
        return 0
    cdef int64_t r
    with nogil:
        r = mapdb_count_ones(&bits[0], n)
    return r


def out_of_range(const _checked_int[::1] values, int64_t lo, int64_t hi) -> int:
    """The first index whose value is outside [lo, hi], or -1 (dictionary codes, decimals'
    scaled values against their precision).

    >>> import numpy as np
    >>> out_of_range(np.array([0, 4, 9, -1], np.int32), 0, 9)
    3
    """
    cdef int64_t r = -1, n = values.shape[0]
    if n == 0:
        return -1
    with nogil:
        if _checked_int is int8_t:
            r = mapdb_range_i8(&values[0], n, lo, hi)
        elif _checked_int is int16_t:
            r = mapdb_range_i16(&values[0], n, lo, hi)
        elif _checked_int is int32_t:
            r = mapdb_range_i32(&values[0], n, lo, hi)
        else:
            r = mapdb_range_i64(&values[0], n, lo, hi)
    return r
