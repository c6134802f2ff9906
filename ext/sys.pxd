# C declarations the OS layer uses; constants Cython's bundled headers lack come from
# mapdb_sys.h (the one place they are defined).
from libc.stdint cimport uint64_t
from libc.errno cimport EFAULT

cdef extern from "<sys/types.h>":
    ctypedef long off_t

cdef extern from "<sys/stat.h>" nogil:
    cdef struct stat:
        off_t st_size
        unsigned int st_mode
    int fstat(int fd, stat *buf)
    bint S_ISREG(unsigned int mode)
    bint S_ISDIR(unsigned int mode)

cdef extern from "<fcntl.h>" nogil:
    int c_open "open"(const char *path, int flags, ...)
    int O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK
    int posix_fadvise(int fd, off_t offset, off_t len, int advice)
    int posix_fallocate(int fd, off_t offset, off_t len)
    int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags)
    unsigned int SYNC_FILE_RANGE_WRITE
    int POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM
    int POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE

cdef extern from "<unistd.h>" nogil:
    int c_close "close"(int fd)
    int c_fsync "fsync"(int fd)
    int c_fdatasync "fdatasync"(int fd)
    int ftruncate(int fd, off_t length)
    long sysconf(int name)
    int _SC_PAGESIZE

cdef extern from "<sys/resource.h>" nogil:
    ctypedef unsigned long rlim_t
    cdef struct rlimit:
        rlim_t rlim_cur
        rlim_t rlim_max
    int getrlimit(int resource, rlimit *rlim)
    int RLIMIT_MEMLOCK
    rlim_t RLIM_INFINITY

cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void **memptr, size_t alignment, size_t size)
    void free(void *ptr)

cdef extern from "<string.h>" nogil:
    void *memset(void *s, int c, size_t n)

cdef extern from "mapdb_sys.h" nogil:
    void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
    int munmap(void *addr, size_t length)
    void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...)
    int madvise(void *addr, size_t length, int advice)
    int msync(void *addr, size_t length, int flags)
    int mlock(const void *addr, size_t len)
    int munlock(const void *addr, size_t len)
    int mprotect(void *addr, size_t len, int prot)
    int mincore(void *addr, size_t length, unsigned char *vec)
    void *MAP_FAILED
    int PROT_NONE, PROT_READ, PROT_WRITE
    int MAP_SHARED, MAP_PRIVATE
    int MS_SYNC, MS_ASYNC, MS_INVALIDATE
    int MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED
    int MADV_FREE, MADV_HUGEPAGE, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ
    int MADV_POPULATE_WRITE
    int MLOCK_ONFAULT, MREMAP_MAYMOVE

    cdef struct cachestat_t "mapdb_cachestat":
        uint64_t nr_cache
        uint64_t nr_dirty
        uint64_t nr_writeback
        uint64_t nr_evicted
        uint64_t nr_recently_evicted
    int mapdb_cachestat(int fd, uint64_t off, uint64_t len, cachestat_t *cs)
    int mapdb_mlock2(const void *addr, size_t len, unsigned int flags)
