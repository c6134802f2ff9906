# mprotect: a writer seals a synced region read-only so a stray write faults at once
# instead of silently changing committed bytes.


class Prot(_enum.IntFlag):
    """Page protection for Mapping.protect."""
    NONE = PROT_NONE
    READ = PROT_READ
    WRITE = PROT_WRITE


cdef int _mprotect(char *addr, size_t length, int prot, object path) except -1:
    cdef int rc = 0, err = 0
    if length == 0:
        return 0
    with nogil:
        rc = mprotect(addr, length, prot)
        if rc != 0:
            err = errno
    if rc != 0:
        _raise(err, path, f"mprotect({Prot(prot)!r})")
    return 0
