# errno -> OSError carrying the file name; OSError(errno, ...) picks the matching subclass
# (FileNotFoundError, PermissionError, ...), so callers can catch what they expect.
# Read-only opens use O_NONBLOCK so a FIFO in place of a file cannot block the caller (it
# has no effect on regular files).
from libc.errno cimport errno, EINVAL, ENOMEM, EPERM, EAGAIN, ENOSYS, EISDIR, EOPNOTSUPP
from sys cimport *
import os as _os

PAGE_SIZE = sysconf(_SC_PAGESIZE)
cdef size_t _PAGE = <size_t>PAGE_SIZE


cdef object _os_error(int err, object path, str what):
    return OSError(err, f"{what}: {_os.strerror(err)}", None if path is None else _os.fspath(path))


cdef int _raise(int err, object path, str what) except -1:
    raise _os_error(err, path, what)


cdef bytes _encode_path(object path):
    return _os.fsencode(path)
