/* SIGBUS containment for read-only file mappings.
 *
 * A committed mapdb file is never truncated by mapdb, but another process (or a damaged
 * file system) can shrink a file that this process has mapped. Touching a mapped page past
 * the new end raises SIGBUS, which would kill the process. Every read-only Mapping
 * registers its address range here; the handler, for a fault inside a registered range,
 * maps an anonymous zero page over the faulting page (so the faulting read, wherever it
 * is: a kernel, numpy, Arrow, resumes and reads zeros), marks the range damaged and counts
 * the event. The query layer checks the count around every statement and raises an error
 * naming the file instead of returning an answer built from zeros. A fault outside every
 * registered range goes to the previous handler (faulthandler's, say), or kills the
 * process as before.
 *
 * A zero page is harmless for values but not for string offsets: after the last intact
 * offset (say 1000) a run of zeros makes the next string run from 1000 back to 0, and a
 * kernel or Arrow copying "offsets[i+1] - offsets[i]" bytes reads far outside the data.
 * So a mapping may carry a fill word (Mapping.guard_fill: an offsets file's data length):
 * its patch page repeats that word instead, the offsets stay non-decreasing and inside
 * the data, and the statement still fails afterwards as for any contained fault.
 *
 * The handler only reads the slot table (start/end are published with release stores)
 * and calls mmap(2) and mprotect(2), plain system calls on Linux. */
#ifndef MAPDB_SIGBUS_H
#define MAPDB_SIGBUS_H

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAPDB_GUARD_SLOTS 65536

typedef struct {
    uintptr_t start;          /* 0: free slot */
    uintptr_t end;
    volatile long damaged;    /* the event number of its first fault, 0 if none */
    volatile uint64_t fill;   /* the word a patch page repeats (0: zeros) */
} mapdb_guard_slot;

static mapdb_guard_slot mapdb_guards[MAPDB_GUARD_SLOTS];
static long mapdb_guard_top = 0;          /* slots [0, top) may be in use */
static volatile long mapdb_sigbus_count = 0;
static uintptr_t mapdb_guard_page = 4096;
static struct sigaction mapdb_prev_action;

static void mapdb_sigbus_handler(int sig, siginfo_t *info, void *ctx)
{
    uintptr_t a = (uintptr_t)info->si_addr;
    long top = __atomic_load_n(&mapdb_guard_top, __ATOMIC_ACQUIRE);
    for (long i = 0; i < top; i++) {
        uintptr_t s = __atomic_load_n(&mapdb_guards[i].start, __ATOMIC_ACQUIRE);
        if (s == 0 || a < s || a >= __atomic_load_n(&mapdb_guards[i].end, __ATOMIC_ACQUIRE))
            continue;
        void *page = (void *)(a & ~(mapdb_guard_page - 1));
        uint64_t fill = mapdb_guards[i].fill;
        if (mmap(page, mapdb_guard_page, fill ? PROT_READ | PROT_WRITE : PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            break;  /* cannot patch it: let it kill the process as before */
        if (fill) {
            /* words aligned as the file's data is: pages past the header are whole words */
            uint64_t *w = (uint64_t *)page;
            for (size_t k = 0; k < mapdb_guard_page / 8; k++)
                w[k] = fill;
            mprotect(page, mapdb_guard_page, PROT_READ);
        }
        long n = __atomic_add_fetch(&mapdb_sigbus_count, 1, __ATOMIC_ACQ_REL);
        long zero = 0;
        __atomic_compare_exchange_n(&mapdb_guards[i].damaged, &zero, n, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED);
        return;  /* the faulting instruction runs again and reads zeros */
    }
    if ((mapdb_prev_action.sa_flags & SA_SIGINFO) && mapdb_prev_action.sa_sigaction) {
        mapdb_prev_action.sa_sigaction(sig, info, ctx);
        return;
    }
    if (mapdb_prev_action.sa_handler != SIG_DFL && mapdb_prev_action.sa_handler != SIG_IGN
            && mapdb_prev_action.sa_handler != NULL) {
        mapdb_prev_action.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);  /* returning re-runs the access: the default action ends it */
}

/* Install the handler unless it is the current one (another library may have replaced
 * it since: faulthandler.enable(), say); the replaced one becomes the fallback. */
static int mapdb_guard_install(void)
{
    struct sigaction cur, act;
    if (sigaction(SIGBUS, NULL, &cur) != 0)
        return -1;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == mapdb_sigbus_handler)
        return 0;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = mapdb_sigbus_handler;
    act.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&act.sa_mask);
    mapdb_guard_page = (uintptr_t)sysconf(_SC_PAGESIZE);
    mapdb_prev_action = cur;
    return sigaction(SIGBUS, &act, NULL);
}

/* Register [start, start + len); returns the slot, or -1 when the table is full. Called
 * with the GIL held (one registrar at a time). */
static long mapdb_guard_add(void *start, size_t len)
{
    long top = mapdb_guard_top;
    for (long i = 0; i < MAPDB_GUARD_SLOTS; i++) {
        if (i < top && mapdb_guards[i].start != 0)
            continue;
        mapdb_guards[i].damaged = 0;
        mapdb_guards[i].fill = 0;
        __atomic_store_n(&mapdb_guards[i].end, (uintptr_t)start + len, __ATOMIC_RELEASE);
        __atomic_store_n(&mapdb_guards[i].start, (uintptr_t)start, __ATOMIC_RELEASE);
        if (i >= top)
            __atomic_store_n(&mapdb_guard_top, i + 1, __ATOMIC_RELEASE);
        return i;
    }
    return -1;
}

static void mapdb_guard_remove(long slot)
{
    if (slot >= 0 && slot < MAPDB_GUARD_SLOTS)
        __atomic_store_n(&mapdb_guards[slot].start, 0, __ATOMIC_RELEASE);
}

/* Patch pages of this slot repeat ``fill`` instead of zeros (see above). */
static void mapdb_guard_set_fill(long slot, uint64_t fill)
{
    if (slot >= 0 && slot < MAPDB_GUARD_SLOTS)
        __atomic_store_n(&mapdb_guards[slot].fill, fill, __ATOMIC_RELEASE);
}

static long mapdb_guard_damaged(long slot)
{
    return (slot >= 0 && slot < MAPDB_GUARD_SLOTS) ? mapdb_guards[slot].damaged : 0;
}

static long mapdb_guard_events(void)
{
    return __atomic_load_n(&mapdb_sigbus_count, __ATOMIC_ACQUIRE);
}

#endif
