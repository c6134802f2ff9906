/* Scan kernel helpers: 128-bit accumulators (GCC/Clang __int128) for exact decimal sums. */
#ifndef MAPDB_SCAN_H
#define MAPDB_SCAN_H
#include <stdint.h>

typedef __int128 mapdb_i128;

static inline int64_t mapdb_i128_hi(mapdb_i128 x) { return (int64_t)(x >> 64); }
static inline uint64_t mapdb_i128_lo(mapdb_i128 x) { return (uint64_t)x; }

#endif
