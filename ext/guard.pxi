# SIGBUS containment (ext/mapdb_sigbus.h): read-only mappings register their ranges; a
# fault past the end of a file shrunk underneath becomes a zero page and a recorded
# event, and the query layer turns the event into an error naming the file.

cdef extern from "mapdb_sigbus.h" nogil:
    int mapdb_guard_install()
    long mapdb_guard_add(void *start, size_t length)
    void mapdb_guard_remove(long slot)
    long mapdb_guard_damaged(long slot)
    void mapdb_guard_set_fill(long slot, uint64_t fill)
    long mapdb_guard_events()

# slot -> path, and the damaged mappings already unmapped (event, path): what
# damaged_since() reports. Kept under the GIL.
_guard_paths = {}
_guard_gone = []


cdef long _guard_register(void *addr, size_t length, object path) except? -2:
    if mapdb_guard_install() != 0:
        return -1  # no handler: the mapping works, unguarded
    cdef long slot = mapdb_guard_add(addr, length)
    if slot >= 0:
        _guard_paths[slot] = path
    return slot


cdef void _guard_unregister(long slot) noexcept:
    cdef long event
    if slot < 0:
        return
    event = mapdb_guard_damaged(slot)
    mapdb_guard_remove(slot)
    try:
        path = _guard_paths.pop(slot, None)
        if event:
            _guard_gone.append((event, path))
            del _guard_gone[:-1024]
    except BaseException:
        pass


def sigbus_events() -> int:
    """How many SIGBUS faults on registered mappings this process has contained."""
    return mapdb_guard_events()


def damaged_since(long events):
    """Paths of the mappings whose first contained SIGBUS came after ``events`` (a value
    of sigbus_events() taken earlier), mapped or already unmapped."""
    out = []
    # a mapping freed while the registry is listed (the listing's allocations can run the
    # garbage collector) removes its slot: take copies, again if that happened meanwhile
    while True:
        try:
            paths, gone = _guard_paths.copy(), list(_guard_gone)
            break
        except RuntimeError:
            continue
    for slot, path in paths.items():
        e = mapdb_guard_damaged(slot)
        if e > events:
            out.append(_os.fspath(path))
    for e, path in gone:
        if e > events:
            out.append(_os.fspath(path))
    return sorted(set(out))
