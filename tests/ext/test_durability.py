"""msync through Mapping.sync, fsync/fdatasync/fsync_path and posix_fallocate."""

import errno
import hashlib
import os

import numpy as np
import pytest
from extutil import PAGE, observe_during, page_data, run_python

from mapdb._ext import Mapping, fallocate, fdatasync, file_residency, fsync, fsync_path

READ_BACK = """
import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
chunks = []
while True:
    b = os.read(fd, 1 << 16)
    if not b:
        break
    chunks.append(b)
os.close(fd)
data = b"".join(chunks)
at = int(sys.argv[2])
print(len(data), hashlib.sha256(data).hexdigest(), data[at:at + 16].hex())
"""


@pytest.mark.parametrize("wait", [True, False], ids=["MS_SYNC", "MS_ASYNC"])
def test_synced_writes_are_read_back_by_another_process(tmp_path, wait):
    path = tmp_path / "col"
    expected = page_data(6, seed=3)
    with Mapping.create(path, 6 * PAGE) as m:
        a = np.frombuffer(m, dtype=np.uint8)
        a[:] = np.frombuffer(expected, dtype=np.uint8)
        del a
        m.sync(wait=wait)
        m.fdatasync()
        proc = run_python(READ_BACK, str(path), str(3 * PAGE + 7))
    assert proc.returncode == 0, proc.stderr
    size, digest, sample = proc.stdout.split()
    assert int(size) == 6 * PAGE
    assert sample == expected[3 * PAGE + 7: 3 * PAGE + 23].hex()
    assert digest == hashlib.sha256(expected).hexdigest()


def test_sync_of_a_subrange(tmp_path):
    path = tmp_path / "col"
    with Mapping.create(path, 4 * PAGE) as m:
        memoryview(m)[2 * PAGE + 3: 2 * PAGE + 6] = b"abc"
        m.sync(2 * PAGE + 3, 3)                   # rounded out to page 2
        m.sync(PAGE, PAGE, wait=False)
        st = file_residency(path)
        if st.source == "cachestat":
            assert st.dirty == 0
    proc = run_python(READ_BACK, str(path), str(2 * PAGE + 3))
    assert proc.stdout.split()[2] == (b"abc" + bytes(13)).hex()


def test_sync_on_a_read_only_mapping(make_file):
    with Mapping(make_file(2)) as m:
        m.sync()
        m.sync(wait=False)
        m.fsync()
        m.fdatasync()


def test_fsync_and_fdatasync_on_files_and_directories(make_file, tmp_path):
    path = make_file(2)
    fd = os.open(path, os.O_RDWR)
    try:
        os.pwrite(fd, b"x", 0)
        fsync(fd)
        fdatasync(fd, path)
    finally:
        os.close(fd)
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fsync(dfd, tmp_path)
        fdatasync(dfd)
    finally:
        os.close(dfd)
    fsync_path(path)
    fsync_path(str(tmp_path))
    fsync_path(os.fsencode(tmp_path))
    with Mapping(path, writable=True) as m:
        m.fsync()
        m.fdatasync()
    assert path.read_bytes()[:1] == b"x"


@pytest.mark.parametrize("func", [fsync, fdatasync], ids=["fsync", "fdatasync"])
def test_sync_on_a_closed_descriptor(make_file, func):
    path = make_file(1)
    fd = os.open(path, os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError) as ei:
        func(fd, str(path))
    assert ei.value.errno == errno.EBADF
    assert ei.value.filename == str(path)
    assert func.__name__ in str(ei.value)
    with pytest.raises(OSError) as ei:
        func(-1)
    assert ei.value.errno == errno.EBADF
    assert ei.value.filename is None


def test_fsync_of_a_pipe_is_einval():
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as ei:
            fsync(w, "pipe")
        assert ei.value.errno == errno.EINVAL
        assert ei.value.filename == "pipe"
    finally:
        os.close(r)
        os.close(w)


def test_fsync_path_missing(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(FileNotFoundError) as ei:
        fsync_path(missing)
    assert ei.value.filename == missing


def test_fallocate_grows_the_file(tmp_path):
    path = tmp_path / "f"
    path.touch()
    fd = os.open(path, os.O_RDWR)
    try:
        fallocate(fd, 0, 3 * PAGE)
        st = os.fstat(fd)
        assert st.st_size == 3 * PAGE
        assert st.st_blocks * 512 >= 3 * PAGE
        fallocate(fd, 0, PAGE)                         # never shrinks
        assert os.fstat(fd).st_size == 3 * PAGE
        fallocate(fd, 10 * PAGE, PAGE + 1, path)       # beyond the end
        assert os.fstat(fd).st_size == 11 * PAGE + 1
        fallocate(fd, 20 * PAGE, 0)                    # empty: nothing happens
        assert os.fstat(fd).st_size == 11 * PAGE + 1
        assert os.pread(fd, 11 * PAGE + 1, 0) == bytes(11 * PAGE + 1)
    finally:
        os.close(fd)


@pytest.mark.parametrize("offset,length", [(-1, PAGE), (0, -1), (-PAGE, -PAGE)])
def test_fallocate_negative(tmp_path, offset, length):
    path = tmp_path / "f"
    path.touch()
    fd = os.open(path, os.O_RDWR)
    try:
        with pytest.raises(ValueError, match="negative"):
            fallocate(fd, offset, length)
        assert os.fstat(fd).st_size == 0
    finally:
        os.close(fd)


def test_fallocate_errors(make_file):
    path = make_file(1)
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as ei:             # not open for writing
            fallocate(fd, 0, 2 * PAGE, str(path))
        assert ei.value.errno == errno.EBADF
        assert ei.value.filename == str(path)
    finally:
        os.close(fd)
    with pytest.raises(OSError) as ei:
        fallocate(fd, 0, PAGE)                         # closed
    assert ei.value.errno == errno.EBADF
    assert os.path.getsize(path) == PAGE


def test_sync_releases_the_gil(page_dir):
    """msync(MS_SYNC) of 32 MiB of dirty pages waits for the disk; another thread
    watching cachestat must see pages dirty or under write-back part-way through."""
    size = 32 << 20
    path = page_dir / "dirty"
    with Mapping.create(path, size) as m:
        if file_residency(path).source != "cachestat":
            pytest.skip("needs cachestat(2) (Linux >= 6.5) to watch write-back")
        npages = size // PAGE

        def dirty_everything():
            view = np.frombuffer(m, dtype=np.uint8)
            view[::PAGE] += 1
            del view
            before = file_residency(path)
            if before.dirty == 0 and before.writeback == 0:
                pytest.skip("writes through the mapping do not dirty the page cache here")

        def in_flight(st):
            return st.writeback > 0 or 0 < st.dirty < npages

        seen = observe_during(m.sync, lambda: file_residency(path), in_flight,
                              setup=dirty_everything)
        after = file_residency(path)
        assert (after.dirty, after.writeback) == (0, 0)
        assert seen, "no other thread ran during msync(MS_SYNC)"
    os.unlink(path)
