# Pinning pages in RAM. A refusal is the common case for unprivileged users, so the error
# says which limit refused, its value, and how to raise it.
import builtins as _builtins


class MemoryLockError(OSError):
    """mlock was refused (RLIMIT_MEMLOCK or missing CAP_IPC_LOCK); the message says how to fix it."""


def memlock_limit():
    """(soft, hard) RLIMIT_MEMLOCK in bytes; None means unlimited.

    >>> soft, hard = memlock_limit()
    """
    cdef rlimit rl
    if getrlimit(RLIMIT_MEMLOCK, &rl) != 0:
        _raise(errno, None, "getrlimit(RLIMIT_MEMLOCK)")
    return (None if rl.rlim_cur == RLIM_INFINITY else rl.rlim_cur,
            None if rl.rlim_max == RLIM_INFINITY else rl.rlim_max)


def locked_bytes() -> int:
    """Bytes this process has locked now (VmLck in /proc/self/status; 0 if unknown)."""
    try:
        with _builtins.open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmLck:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _fmt_bytes(n):
    if n is None:
        return "unlimited"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


cdef object _memlock_error(int err, size_t length, object path, str call):
    soft, hard = memlock_limit()
    msg = (f"{call} of {_fmt_bytes(length)} refused ({_os.strerror(err)}): RLIMIT_MEMLOCK is "
           f"{_fmt_bytes(soft)} (hard limit {_fmt_bytes(hard)}) and this process already "
           f"locks {_fmt_bytes(locked_bytes())}. Raise it with `ulimit -l <KiB>` (up to the "
           f"hard limit), a 'memlock' line in /etc/security/limits.conf, LimitMEMLOCK= in a "
           f"systemd unit or --ulimit memlock= for a container, or grant CAP_IPC_LOCK.")
    return MemoryLockError(err, msg, None if path is None else _os.fspath(path))


cdef int _mlock(char *addr, size_t length, bint onfault, object path) except -1:
    cdef int rc = 0, err = 0
    if length == 0:
        return 0
    with nogil:
        rc = mapdb_mlock2(addr, length, MLOCK_ONFAULT) if onfault else mlock(addr, length)
        if rc != 0:
            err = errno
    if rc != 0:
        call = "mlock2(MLOCK_ONFAULT)" if onfault else "mlock"
        if err in (ENOMEM, EPERM, EAGAIN):
            raise _memlock_error(err, length, path, call)
        _raise(err, path, call)
    return 0


cdef int _munlock(char *addr, size_t length, object path) except -1:
    cdef int rc = 0, err = 0
    if length == 0:
        return 0
    with nogil:
        rc = munlock(addr, length)
        if rc != 0:
            err = errno
    if rc != 0:
        _raise(err, path, "munlock")
    return 0
