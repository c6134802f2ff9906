/* The one place for OS constants and syscalls that older C headers lack.
 * Values are Linux's UAPI numbers; a kernel that lacks one answers EINVAL/ENOSYS,
 * which the Cython layer turns into a clear error. */
#ifndef MAPDB_SYS_H
#define MAPDB_SYS_H

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef __NR_cachestat
#define __NR_cachestat 451 /* same number on every architecture (Linux 6.5) */
#endif

struct mapdb_cachestat_range { uint64_t off; uint64_t len; };
struct mapdb_cachestat {
    uint64_t nr_cache;
    uint64_t nr_dirty;
    uint64_t nr_writeback;
    uint64_t nr_evicted;
    uint64_t nr_recently_evicted;
};

/* cachestat(2); returns -1 with errno=ENOSYS on kernels before 6.5. */
static inline int mapdb_cachestat(int fd, uint64_t off, uint64_t len, struct mapdb_cachestat *cs) {
    struct mapdb_cachestat_range r = { off, len };
    return (int)syscall(__NR_cachestat, fd, &r, cs, 0);
}

/* mlock2(2) through syscall(2) so an old libc is no obstacle. */
static inline int mapdb_mlock2(const void *addr, size_t len, unsigned int flags) {
#ifdef __NR_mlock2
    return (int)syscall(__NR_mlock2, addr, len, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}

#endif
