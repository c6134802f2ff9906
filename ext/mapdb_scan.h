/* Scan kernel helpers: 128-bit accumulators (GCC/Clang __int128) for exact decimal sums. */
#ifndef MAPDB_SCAN_H
#define MAPDB_SCAN_H
#include <stdint.h>

typedef __int128 mapdb_i128;

static inline int64_t mapdb_i128_hi(mapdb_i128 x) { return (int64_t)(x >> 64); }
static inline uint64_t mapdb_i128_lo(mapdb_i128 x) { return (uint64_t)x; }

/* Civil date of a day count since 1970-01-01 (H. Hinnant's days_from_civil inverse):
   the year, and the month 1..12. Used for GROUP BY year(d) / month(d) on date columns. */
static inline void mapdb_civil(int64_t z, int64_t *year, int64_t *month) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = yoe + era * 400 + (m <= 2);
    *month = m;
}

#endif
