"""Mapping: construction, buffer exports, close semantics, ranges, resize and errors."""

import errno
import os
import stat
import sys
import threading

import numpy as np
import pyarrow as pa
import pytest
from extutil import (
    CAP_DAC_OVERRIDE,
    PAGE,
    cap_effective,
    fd_is_open_on,
    maps_path,
    need_lock,
    open_fds,
    page_data,
    run_python,
    write_file,
)

from mapdb._ext import Advice, Mapping, Prot

# --------------------------------------------------------------------------- basics


def test_read_only_mapping_exposes_the_file(make_file):
    path = make_file(4)
    data = path.read_bytes()
    with Mapping(path) as m:
        assert len(m) == 4 * PAGE
        assert bytes(memoryview(m)) == data
        assert m.writable is False
        assert m.closed is False
        assert m.path == path
        assert m.offset == 0
        assert m.exports == 0
        assert m.address != 0
        assert m.address % PAGE == 0
        st = os.fstat(m.fileno())
        assert (st.st_dev, st.st_ino) == (os.stat(path).st_dev, os.stat(path).st_ino)
        assert str(path) in repr(m)
        assert " r," in repr(m)


@pytest.mark.parametrize("kind", ["str", "bytes", "pathlike"])
def test_path_types(make_file, kind):
    path = make_file(1)
    arg = {"str": str(path), "bytes": os.fsencode(path), "pathlike": path}[kind]
    with Mapping(arg) as m:
        assert m.path == arg
        assert bytes(memoryview(m)[:8]) == path.read_bytes()[:8]


def test_unaligned_file_size(tmp_path):
    path = write_file(tmp_path / "odd", b"0123456789")
    with Mapping(path) as m:
        assert len(m) == 10
        assert bytes(m) == b"0123456789"
        assert m.resident_pages() == 1
        assert m.residency_map().tolist() == [True]


def test_writable_mapping_writes_reach_the_file(make_file):
    path = make_file(2)
    with Mapping(path, writable=True) as m:
        assert m.writable is True
        assert " rw," in repr(m)
        a = np.frombuffer(m, dtype=np.uint8)
        a[PAGE + 5: PAGE + 9] = [1, 2, 3, 4]
        del a
        m.sync()
    with open(path, "rb") as f:
        f.seek(PAGE + 5)
        assert f.read(4) == b"\x01\x02\x03\x04"


def test_writes_by_another_process_are_visible(make_file):
    """MAP_SHARED: a pwrite() by another process shows through an existing mapping."""
    path = make_file(2)
    with Mapping(path) as m:
        view = np.frombuffer(m, dtype=np.uint8)
        proc = run_python(
            "import os, sys\n"
            "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
            "os.pwrite(fd, b'HELLO', int(sys.argv[2]))\n"
            "os.close(fd)\n",
            str(path), str(PAGE + 100))
        assert proc.returncode == 0, proc.stderr
        assert view[PAGE + 100: PAGE + 105].tobytes() == b"HELLO"
        del view


def test_create_makes_a_zeroed_reserved_file(tmp_path):
    path = tmp_path / "new"
    with Mapping.create(path, 3 * PAGE, mode=0o600) as m:
        assert m.writable is True
        assert len(m) == 3 * PAGE
        assert not np.frombuffer(m, dtype=np.uint8).any()
    st = os.stat(path)
    assert st.st_size == 3 * PAGE
    assert st.st_blocks * 512 >= 3 * PAGE         # posix_fallocate reserved the space
    umask = _umask()
    assert stat.S_IMODE(st.st_mode) == 0o600 & ~umask


def test_create_non_exclusive_keeps_existing_bytes(make_file):
    path = make_file(2)
    data = path.read_bytes()
    with Mapping.create(path, 3 * PAGE, exclusive=False) as m:
        assert len(m) == 3 * PAGE
        assert bytes(memoryview(m)[: 2 * PAGE]) == data
        assert not any(memoryview(m)[2 * PAGE:])
    assert os.path.getsize(path) == 3 * PAGE
    # a shorter non-exclusive create maps a prefix and never truncates
    with Mapping.create(path, PAGE, exclusive=False) as m:
        assert len(m) == PAGE
        assert bytes(m) == data[:PAGE]
    assert os.path.getsize(path) == 3 * PAGE


def test_create_negative_length(tmp_path):
    with pytest.raises(ValueError, match="length"):
        Mapping.create(tmp_path / "neg", -1)
    assert not (tmp_path / "neg").exists()


def _umask() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    old = os.umask(0)
    os.umask(old)
    return old


# --------------------------------------------------------------------------- close


@pytest.mark.parametrize("kind", ["numpy", "pyarrow", "memoryview"])
def test_view_outlives_close(make_file, kind):
    path = make_file(3)
    data = path.read_bytes()
    m = Mapping(path)
    view = {"numpy": lambda: np.frombuffer(m, dtype=np.uint8),
            "pyarrow": lambda: pa.py_buffer(m),
            "memoryview": lambda: memoryview(m)}[kind]()
    assert m.exports == 1
    m.close()
    assert m.closed is True
    assert m.exports == 1                 # the view still holds the memory
    with pytest.raises(ValueError, match="closed"):
        m.resident_pages()
    with pytest.raises(ValueError, match="closed"):
        len(m)
    assert maps_path(path)                # not unmapped yet
    assert bytes(view) == data            # and still readable
    if kind == "memoryview":
        view.release()
    del view
    assert m.exports == 0
    assert not maps_path(path)            # unmapped as soon as the last view went


def test_close_without_views_unmaps_at_once(make_file):
    path = make_file(1)
    m = Mapping(path)
    fd = m.fileno()
    assert maps_path(path)
    assert fd_is_open_on(fd, path)
    m.close()
    assert not maps_path(path)
    assert not fd_is_open_on(fd, path)    # the descriptor is closed too
    m.close()                             # double close is fine
    assert m.closed is True
    assert "closed" in repr(m)


def test_close_with_view_closes_descriptor_at_once(make_file):
    path = make_file(1)
    m = Mapping(path)
    fd = m.fileno()
    view = np.frombuffer(m, dtype=np.uint8)
    m.close()
    assert not fd_is_open_on(fd, path)
    assert view[:4].tobytes() == b"\0\0\0\0"   # page 0 starts with its index
    del view
    assert m.exports == 0


def test_context_manager_closes(make_file):
    path = make_file(1)
    with Mapping(path) as m:
        assert m.closed is False
    assert m.closed is True
    with pytest.raises(RuntimeError), Mapping(path) as m2:
        raise RuntimeError("boom")
    assert m2.closed is True
    assert not maps_path(path)
    with pytest.raises(ValueError, match="closed"), m:
        pass


CLOSED_CALLS = {
    "len": lambda m: len(m),
    "fileno": lambda m: m.fileno(),
    "address": lambda m: m.address,
    "resize": lambda m: m.resize(PAGE),
    "advise": lambda m: m.advise(advice=Advice.WILLNEED),
    "sync": lambda m: m.sync(),
    "fsync": lambda m: m.fsync(),
    "fdatasync": lambda m: m.fdatasync(),
    "lock": lambda m: m.lock(),
    "unlock": lambda m: m.unlock(),
    "protect": lambda m: m.protect(0, PAGE, Prot.READ),
    "resident_pages": lambda m: m.resident_pages(),
    "residency_map": lambda m: m.residency_map(),
    "memoryview": lambda m: memoryview(m),
    "numpy": lambda m: np.frombuffer(m, dtype=np.uint8),
    "pyarrow": lambda m: pa.py_buffer(m),
    "bytes": lambda m: bytes(m),
    "enter": lambda m: m.__enter__(),
}


@pytest.mark.parametrize("call", sorted(CLOSED_CALLS))
def test_closed_mapping_raises(make_file, call):
    path = make_file(2)
    m = Mapping(path, writable=True)
    m.close()
    with pytest.raises(ValueError, match="closed"):
        CLOSED_CALLS[call](m)
    assert m.exports == 0
    # the properties that describe the object still answer
    assert (m.closed, m.writable, m.path, m.offset) == (True, True, path, 0)


def test_close_while_other_mappings_of_the_file_live(make_file):
    path = make_file(1)
    a, b = Mapping(path), Mapping(path)
    a.close()
    assert maps_path(path)
    assert bytes(memoryview(b)[:4]) == b"\0\0\0\0"
    b.close()
    assert not maps_path(path)


# --------------------------------------------------------------------------- read-only


def test_read_only_rejects_writable_exports(make_file):
    path = make_file(1)
    with Mapping(path) as m:
        a = np.frombuffer(m, dtype=np.uint8)
        assert a.flags.writeable is False
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 1
        with pytest.raises(ValueError):
            a.flags.writeable = True
        mv = memoryview(m)
        assert mv.readonly is True
        with pytest.raises(TypeError):
            mv[0] = 1
        buf = pa.py_buffer(m)
        assert buf.is_mutable is False
        import ctypes
        with pytest.raises(TypeError, match="not writable"):
            (ctypes.c_char * PAGE).from_buffer(m)
        del a, buf
        mv.release()
        assert m.exports == 0
    assert path.read_bytes() == page_data(1)


def test_writable_allows_writable_exports(make_file):
    path = make_file(1)
    with Mapping(path, writable=True) as m:
        a = np.frombuffer(m, dtype=np.uint32)
        assert a.flags.writeable is True
        a[1] = 0xDEADBEEF
        mv = memoryview(m)
        assert mv.readonly is False
        mv[8:10] = b"xy"
        assert pa.py_buffer(m).is_mutable is True
        import ctypes
        c = (ctypes.c_char * PAGE).from_buffer(m)
        c[10] = b"z"
        assert m.exports == 3
        del a, c
        mv.release()
        assert m.exports == 0
    with open(path, "rb") as f:
        head = f.read(11)
    assert head[4:8] == (0xDEADBEEF).to_bytes(4, "little")
    assert head[8:11] == b"xyz"


def test_buffer_shape_and_format(make_file):
    path = make_file(2)
    with Mapping(path) as m:
        mv = memoryview(m)
        assert (mv.format, mv.itemsize, mv.ndim, mv.shape, mv.strides) == (
            "B", 1, 1, (2 * PAGE,), (1,))
        assert mv.c_contiguous
        assert mv.cast("Q")[0] == int.from_bytes(page_data(2)[:8], "little")
        mv.release()


# --------------------------------------------------------------------------- empty


def test_empty_file(tmp_path):
    path = write_file(tmp_path / "empty", b"")
    with Mapping(path) as m:
        assert len(m) == 0
        assert m.address == 0
        a = np.frombuffer(m, dtype=np.uint8)
        assert a.shape == (0,)
        assert bytes(memoryview(m)) == b""
        for adv in Advice:
            if adv != Advice.POPULATE_WRITE:  # refused on read-only mappings of any length
                m.advise(advice=adv)
        m.sync()
        m.lock()
        m.lock(onfault=True)
        m.unlock()
        m.protect(0, None, Prot.READ)
        assert m.resident_pages() == 0
        assert m.residency_map().shape == (0,)
        with pytest.raises(ValueError):
            m.advise(0, 1)
        del a
    assert m.closed


def test_empty_file_writable(tmp_path):
    path = write_file(tmp_path / "empty", b"")
    with Mapping(path, writable=True) as m:
        assert np.frombuffer(m, dtype=np.int64).shape == (0,)
        m.sync()
        m.fsync()


def test_create_empty(tmp_path):
    path = tmp_path / "zero"
    with Mapping.create(path, 0) as m:
        assert len(m) == 0
        assert m.writable
        assert bytes(m) == b""
        m.sync()
        assert m.resident_pages() == 0
    assert os.path.getsize(path) == 0


# --------------------------------------------------------------------------- ranges


def test_offset_and_length_map_the_right_bytes(make_file):
    path = make_file(8)
    data = path.read_bytes()
    with Mapping(path, offset=3 * PAGE, length=2 * PAGE) as m:
        assert m.offset == 3 * PAGE
        assert len(m) == 2 * PAGE
        assert bytes(m) == data[3 * PAGE: 5 * PAGE]
        assert np.frombuffer(m, dtype="<u4")[0] == 3       # page 3 starts with 3
    with Mapping(path, offset=5 * PAGE) as m:                # to the end
        assert bytes(m) == data[5 * PAGE:]
    with Mapping(path, offset=2 * PAGE, length=100) as m:    # a partial page
        assert bytes(m) == data[2 * PAGE: 2 * PAGE + 100]
    with Mapping(path, offset=8 * PAGE) as m:                # exactly at EOF
        assert len(m) == 0
    with Mapping(path, length=0) as m:
        assert len(m) == 0


def test_offset_mapping_writes_land_at_the_offset(make_file):
    path = make_file(4)
    with Mapping(path, writable=True, offset=2 * PAGE, length=PAGE) as m:
        memoryview(m)[:3] = b"abc"
        m.sync()
    with open(path, "rb") as f:
        f.seek(2 * PAGE)
        assert f.read(3) == b"abc"


@pytest.mark.parametrize("offset", [1, PAGE // 2, PAGE + 1])
def test_unaligned_offset(make_file, offset):
    path = make_file(4)
    before = open_fds()
    with pytest.raises(ValueError, match="multiple of the page size"):
        Mapping(path, offset=offset)
    assert open_fds() == before                           # no descriptor leaked


@pytest.mark.parametrize("offset,length", [
    (0, 4 * PAGE + 1),
    (5 * PAGE, None),
    (3 * PAGE, PAGE + 1),
    (5 * PAGE, 0),
], ids=["too-long", "offset-past-eof", "end-past-eof", "empty-past-eof"])
def test_range_beyond_eof(make_file, offset, length):
    path = make_file(4)
    before = open_fds()
    with pytest.raises(ValueError, match="beyond the end"):
        Mapping(path, offset=offset, length=length)
    assert open_fds() == before


@pytest.mark.parametrize("how", ["init", "resize"])
def test_huge_length_is_a_value_error(make_file, how):
    path = make_file(4)
    if how == "init":
        with pytest.raises(ValueError, match="beyond the end"):
            Mapping(path, offset=PAGE, length=sys.maxsize)
    else:
        with Mapping(path, offset=PAGE) as m, pytest.raises(ValueError, match="cannot map"):
            m.resize(sys.maxsize)


@pytest.mark.parametrize("kwargs", [{"offset": -PAGE}, {"length": -1}])
def test_negative_offset_or_length(make_file, kwargs):
    path = make_file(2)
    with pytest.raises(ValueError):
        Mapping(path, **kwargs)


RANGE_METHODS = {
    "advise": lambda m, o, n: m.advise(o, n, Advice.NORMAL),
    "sync": lambda m, o, n: m.sync(o, n),
    "lock": lambda m, o, n: m.lock(o, n),
    "unlock": lambda m, o, n: m.unlock(o, n),
    "protect": lambda m, o, n: m.protect(o, n, Prot.READ | Prot.WRITE),
    "resident_pages": lambda m, o, n: m.resident_pages(o, n),
    "residency_map": lambda m, o, n: m.residency_map(o, n),
}


@pytest.mark.parametrize("method", sorted(RANGE_METHODS))
@pytest.mark.parametrize("offset,length", [
    (-PAGE, None), (0, 2 * PAGE + 1), (3 * PAGE, None), (PAGE, PAGE + 1), (0, -1), (-1, 1)],
    ids=["negative-offset", "too-long", "offset-past-end", "end-past-end",
         "negative-length", "negative-unaligned"])
def test_method_range_outside_mapping(make_file, method, offset, length):
    path = make_file(2)
    with Mapping(path, writable=True) as m:
        with pytest.raises(ValueError, match=r"outside|multiple of the page size"):
            RANGE_METHODS[method](m, offset, length)
        assert m.exports == 0


@pytest.mark.parametrize("method", sorted(RANGE_METHODS))
def test_method_range_at_the_edges(make_file, method):
    if method == "lock":
        need_lock(2 * PAGE)
    path = make_file(2)
    call = RANGE_METHODS[method]
    with Mapping(path, writable=True) as m:
        call(m, 0, 2 * PAGE)
        call(m, 2 * PAGE, None)              # the empty range at the end
        call(m, PAGE, PAGE)
        call(m, 0, 0)
        if method != "protect":              # protect wants a page-aligned offset
            call(m, 2 * PAGE - 1, 1)         # the last byte
            call(m, 100, 10)                 # rounded out to the page
        else:
            with pytest.raises(ValueError, match="multiple of the page size"):
                call(m, 100, 10)
        assert m.exports == 0
        assert bytes(m) == page_data(2)


# --------------------------------------------------------------------------- resize


def test_resize_grows_a_writable_mapping(make_file):
    path = make_file(2)
    data = path.read_bytes()
    with Mapping(path, writable=True) as m:
        m.resize(5 * PAGE)
        assert len(m) == 5 * PAGE
        assert os.path.getsize(path) == 5 * PAGE
        a = np.frombuffer(m, dtype=np.uint8)
        assert a[: 2 * PAGE].tobytes() == data
        assert not a[2 * PAGE:].any()
        a[-1] = 42
        del a
        m.sync()
    with open(path, "rb") as f:
        assert f.read() == data + bytes(3 * PAGE - 1) + b"\x2a"


def test_resize_shrinks_without_truncating(make_file):
    path = make_file(4)
    data = path.read_bytes()
    with Mapping(path, writable=True) as m:
        m.resize(PAGE + 10)
        assert len(m) == PAGE + 10
        assert bytes(m) == data[: PAGE + 10]
    assert os.path.getsize(path) == 4 * PAGE


def test_resize_refused_while_a_view_is_alive(make_file):
    path = make_file(2)
    with Mapping(path, writable=True) as m:
        view = np.frombuffer(m, dtype=np.uint8)
        with pytest.raises(BufferError, match="view"):
            m.resize(4 * PAGE)
        assert len(m) == 2 * PAGE
        assert os.path.getsize(path) == 2 * PAGE
        del view
        m.resize(4 * PAGE)
        assert len(m) == 4 * PAGE


def test_resize_read_only_after_another_writer_appended(make_file):
    path = make_file(2)
    extra = page_data(3, seed=7)
    with Mapping(path) as m:
        with pytest.raises(ValueError, match=f"has {2 * PAGE} bytes"):
            m.resize(3 * PAGE)                       # the file is not long enough yet
        assert os.path.getsize(path) == 2 * PAGE     # a reader never grows the file
        with open(path, "ab") as f:
            f.write(extra)
        m.resize(5 * PAGE)
        assert len(m) == 5 * PAGE
        assert bytes(memoryview(m)[2 * PAGE:]) == extra
        assert np.frombuffer(m, dtype=np.uint8).flags.writeable is False


def test_resize_with_offset(make_file):
    path = make_file(4)
    data = path.read_bytes()
    with Mapping(path, writable=True, offset=PAGE, length=PAGE) as m:
        m.resize(5 * PAGE)
        assert os.path.getsize(path) == 6 * PAGE
        assert bytes(memoryview(m)[: 3 * PAGE]) == data[PAGE:]
    with Mapping(path, offset=PAGE, length=PAGE) as m:
        with pytest.raises(ValueError):
            m.resize(6 * PAGE)
        m.resize(5 * PAGE)
        assert len(m) == 5 * PAGE


def test_resize_to_zero_and_back(make_file):
    path = make_file(3)
    data = path.read_bytes()
    with Mapping(path, writable=True) as m:
        m.resize(0)
        assert len(m) == 0
        assert m.address == 0
        assert not maps_path(path)
        assert bytes(m) == b""
        assert m.resident_pages() == 0
        m.resize(2 * PAGE)
        assert bytes(m) == data[: 2 * PAGE]
        assert maps_path(path)
    with Mapping(path) as m:
        m.resize(0)
        m.resize(3 * PAGE)
        assert bytes(m) == data
    with Mapping.create(path.with_name("grown"), 0) as m:
        m.resize(PAGE)
        assert bytes(m) == bytes(PAGE)
        m.resize(PAGE)                                 # same size: nothing to do
    assert os.path.getsize(path.with_name("grown")) == PAGE


def test_resize_negative(make_file):
    path = make_file(1)
    with Mapping(path, writable=True) as m:
        with pytest.raises(ValueError):
            m.resize(-1)
        assert len(m) == PAGE


@pytest.mark.parametrize("split", ["advise", "lock", "protect"])
def test_resize_after_a_partial_range_call(make_file, split):
    """advise/lock/protect on part of a mapping split its VMA; growing must still work."""
    path = make_file(4)
    data = path.read_bytes()
    with Mapping(path, writable=True) as m:
        if split == "advise":
            m.advise(0, PAGE, Advice.RANDOM)
        elif split == "lock":
            need_lock(PAGE)
            m.lock(0, PAGE)
        else:
            m.protect(0, PAGE, Prot.READ)
        m.resize(8 * PAGE)
        assert len(m) == 8 * PAGE
        assert bytes(memoryview(m)[: 4 * PAGE]) == data


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    path = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as ei:
        Mapping(path)
    assert ei.value.errno == errno.ENOENT
    assert ei.value.filename == path
    with pytest.raises(FileNotFoundError) as ei:
        Mapping(tmp_path / "missing", writable=True)
    assert ei.value.filename == path


@pytest.mark.parametrize("writable", [False, True])
def test_directory(tmp_path, writable):
    before = open_fds()
    with pytest.raises(IsADirectoryError) as ei:
        Mapping(str(tmp_path), writable=writable)
    assert ei.value.filename == str(tmp_path)
    assert open_fds() == before


def test_exclusive_create_of_an_existing_file(make_file):
    path = make_file(1)
    with pytest.raises(FileExistsError) as ei:
        Mapping.create(str(path), PAGE)
    assert ei.value.filename == str(path)
    assert path.read_bytes() == page_data(1)


def test_follow_symlinks(make_file):
    path = make_file(1)
    link = path.with_name("link")
    link.symlink_to(path)
    with Mapping(link) as m:
        assert bytes(m) == path.read_bytes()
    with pytest.raises(OSError) as ei:
        Mapping(str(link), follow_symlinks=False)
    assert ei.value.errno == errno.ELOOP
    assert ei.value.filename == str(link)
    with Mapping(path, follow_symlinks=False) as m:     # a regular file is fine
        assert len(m) == PAGE


def test_char_device():
    before = open_fds()
    with pytest.raises(OSError, match="not a regular file") as ei:
        Mapping("/dev/null")
    assert ei.value.errno == errno.EINVAL
    assert ei.value.filename == "/dev/null"
    assert open_fds() == before


def test_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # O_RDWR never blocks on a FIFO; for the read-only case keep a writer open so the
    # open() cannot block either (see test_fifo_read_only_does_not_block).
    with pytest.raises(OSError, match="not a regular file"):
        Mapping(fifo, writable=True)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError, match="not a regular file") as ei:
            Mapping(fifo)
        assert ei.value.filename == str(fifo)
    finally:
        os.close(writer)


def test_fifo_read_only_does_not_block(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = []

    def target():
        try:
            Mapping(fifo)
        except OSError as e:
            result.append(e)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(0.5)
    blocked = t.is_alive()
    if blocked:               # unblock it: a writer lets the blocked open() return
        w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        t.join()
        os.close(w)
    assert not blocked, "Mapping(fifo) blocked in open()"
    assert result and "not a regular file" in str(result[0])


def test_permission_denied(make_file):
    if cap_effective(CAP_DAC_OVERRIDE):
        pytest.skip("CAP_DAC_OVERRIDE (root) bypasses file permissions")
    path = make_file(1)
    path.chmod(0o444)
    with pytest.raises(PermissionError) as ei:
        Mapping(path, writable=True)
    assert ei.value.filename == str(path)
    with Mapping(path) as m:
        assert len(m) == PAGE


def test_reinit_refused(make_file):
    path = make_file(1)
    with Mapping(path) as m:
        with pytest.raises(RuntimeError, match="already initialised"):
            m.__init__(path)
        assert len(m) == PAGE


# --------------------------------------------------------------------------- doctests


def test_extension_doctests():
    import doctest
    import sys

    module = sys.modules[Mapping.__module__]        # the compiled module itself
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
