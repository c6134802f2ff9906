/* A structural check of string offsets, for offsets that can change under a reader.
 *
 * Files are checksummed when first mapped (storage/validate.py), but a file another
 * process truncates during a scan reads as zeros past its new end, and Arrow, which trusts
 * offsets, reads outside the data on the first decreasing pair. The scan copies each
 * morsel's offsets out of the mapping and checks the copy with this (query/source.py):
 * a compare per value, about 10 GB/s here, vectorised by the compiler. */
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

#endif
