/* Structural checks of mapped column buffers, run once per file before kernels or Arrow
 * read them.
 *
 * Kernels and Arrow trust a column's structure: string offsets that start at 0, never
 * decrease and end at the data's length; dictionary codes inside the dictionary; a
 * validity bitmap whose zero bits number the null count; UTF-8 string bytes. A flipped
 * byte or a page zeroed by a power loss breaks that trust, and a kernel that follows a
 * wild offset reads outside its mapping (SIGSEGV) or allocates petabytes. Checksums
 * would catch every damage but cost a hash per byte; these checks cost a compare per
 * value and catch every damage that can steer a read. Each returns the index of the first
 * bad element, or -1 when the buffer is sound, so the caller can name the position.
 *
 * Plain loops with 8-byte words where they help: the compiler vectorises the rest, and
 * the data streams from the page cache (about 5-10 GB/s per core here). */
#ifndef MAPDB_VALIDATE_H
#define MAPDB_VALIDATE_H

#include <stdint.h>
#include <string.h>

/* offsets[0..n]: 0 first, non-decreasing, offsets[n] == length. */
static int64_t mapdb_check_offsets(const int64_t *off, int64_t n, int64_t length)
{
    if (off[0] != 0)
        return 0;
    int64_t bad = 0;
    /* branch-free over blocks: one test per block keeps the loop vectorisable */
    for (int64_t b = 0; b < n; b += 4096) {
        int64_t e = b + 4096 < n ? b + 4096 : n;
        for (int64_t i = b; i < e; i++)
            bad |= off[i + 1] < off[i];
        if (bad) {
            for (int64_t i = b; i < e; i++)
                if (off[i + 1] < off[i])
                    return i + 1;
        }
    }
    return off[n] == length ? -1 : n;
}

/* The first byte of an invalid UTF-8 sequence in s[0..n) (the rules Arrow and Python
 * apply: no overlong forms, no surrogates, nothing above U+10FFFF), or -1. *non_ascii
 * tells whether any byte >= 0x80 was seen (then string boundaries need a check too). */
static int64_t mapdb_check_utf8(const uint8_t *s, int64_t n, int *non_ascii)
{
    int64_t i = 0;
    *non_ascii = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        *non_ascii = 1;
        if (c < 0xC2)
            return i;  /* a continuation byte, or an overlong 2-byte lead */
        if (c < 0xE0) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                return i;
            i += 2;
            continue;
        }
        if (c < 0xF0) {
            if (i + 2 >= n)
                return i;
            uint8_t c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
                    (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0))
                return i;
            i += 3;
            continue;
        }
        if (c < 0xF5) {
            if (i + 3 >= n)
                return i;
            uint8_t c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
                    (s[i + 3] & 0xC0) != 0x80 || (c == 0xF0 && c1 < 0x90) ||
                    (c == 0xF4 && c1 >= 0x90))
                return i;
            i += 4;
            continue;
        }
        return i;
    }
    return -1;
}

/* With the whole buffer valid UTF-8, every string is too unless one starts (or ends) in
 * the middle of a character: a string boundary at a continuation byte. */
static int64_t mapdb_check_boundaries(const int64_t *off, int64_t n, const uint8_t *s,
                                      int64_t length)
{
    for (int64_t i = 0; i <= n; i++)
        if (off[i] < length && (s[off[i]] & 0xC0) == 0x80)
            return i;
    return -1;
}

/* The number of 1 bits among bits[0..n) (LSB first). */
static int64_t mapdb_count_ones(const uint8_t *bits, int64_t n)
{
    int64_t ones = 0, i = 0, full = n / 64;
    for (; i < full; i++) {
        uint64_t w;
        memcpy(&w, bits + 8 * i, 8);
        ones += __builtin_popcountll(w);
    }
    for (int64_t b = 64 * full; b < n; b++)
        ones += (bits[b >> 3] >> (b & 7)) & 1;
    return ones;
}

/* The first value outside [lo, hi] (dictionary codes, scaled decimals), one function per
 * width: each block's min and max (min/max instructions the compiler vectorises), then a
 * search in a block that strays. */
#define MAPDB_RANGE_CHECK(name, T)                                                       \
    static int64_t name(const T *v, int64_t n, int64_t lo, int64_t hi)                  \
    {                                                                                    \
        for (int64_t b = 0; b < n; b += 4096) {                                          \
            int64_t e = b + 4096 < n ? b + 4096 : n;                                     \
            T mn = v[b], mx = v[b];                                                      \
            for (int64_t i = b; i < e; i++) {                                            \
                mn = v[i] < mn ? v[i] : mn;                                              \
                mx = v[i] > mx ? v[i] : mx;                                              \
            }                                                                            \
            if ((int64_t)mn < lo || (int64_t)mx > hi)                                    \
                for (int64_t i = b; i < e; i++)                                          \
                    if ((int64_t)v[i] < lo || (int64_t)v[i] > hi)                        \
                        return i;                                                        \
        }                                                                                \
        return -1;                                                                       \
    }
MAPDB_RANGE_CHECK(mapdb_range_i8, int8_t)
MAPDB_RANGE_CHECK(mapdb_range_i16, int16_t)
MAPDB_RANGE_CHECK(mapdb_range_i32, int32_t)
MAPDB_RANGE_CHECK(mapdb_range_i64, int64_t)

#endif
