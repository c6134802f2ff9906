"""checksum64 and copy_into (ext/buffers.pxi): the write path's byte helpers."""

import os

import numpy as np
import pytest
from extutil import PAGE, evict, observe_during, page_data, run_python

from mapdb._ext import Mapping, Scratch, checksum64, copy_into

_M = (1 << 64) - 1
_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _mix(x: int) -> int:
    x ^= x >> 33
    x = x * _P2 & _M
    x ^= x >> 29
    x = x * _P3 & _M
    x ^= x >> 32
    return x


def reference_checksum64(data: bytes, seed: int = 0) -> int:
    """The algorithm of ext/buffers.pxi in plain Python. Stored checksums depend on it,
    so any change to the C code must show up here."""
    n = len(data)
    lanes = [(seed + _P1) & _M, seed ^ _P2, seed, (seed - _P1) & _M]
    i = 0
    while i + 32 <= n:
        for k in range(4):
            word = int.from_bytes(data[i + 8 * k: i + 8 * k + 8], "little")
            lanes[k] = _rotl((lanes[k] + word * _P2) & _M, 31) * _P1 & _M
        i += 32
    a, b, c, d = lanes
    h = (_rotl(a, 1) + _rotl(b, 7) + _rotl(c, 12) + _rotl(d, 18)) & _M
    while i + 8 <= n:
        word = int.from_bytes(data[i: i + 8], "little")
        h = (_rotl(h ^ (word * _P2 & _M), 27) * _P1 + _P3) & _M
        i += 8
    while i < n:
        h = _rotl(h ^ (data[i] * _P3 & _M), 11) * _P1 & _M
        i += 1
    return _mix(h ^ n)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 65, 100, 4096 + 3])
@pytest.mark.parametrize("seed", [0, 1, _M])
def test_checksum64_matches_the_reference(n, seed):
    data = page_data(2, seed=n)[:n]
    assert checksum64(data, seed) == reference_checksum64(data, seed)


def test_checksum64_golden_values():
    assert checksum64(b"") == reference_checksum64(b"")
    assert checksum64(b"mapdb") == reference_checksum64(b"mapdb")
    assert checksum64(b"mapdb") != checksum64(b"mapdb", 1)
    assert checksum64(b"\0") != checksum64(b"")
    assert checksum64(b"\0" * 8) != checksum64(b"\0" * 16)     # zeroed bytes show


def test_checksum64_of_any_buffer(make_file):
    path = make_file(3)
    data = path.read_bytes()
    expected = checksum64(data)
    with Mapping(path) as m:
        assert checksum64(m) == expected
        assert checksum64(memoryview(m)[PAGE:]) == checksum64(data[PAGE:])
        assert m.exports == 0
    assert checksum64(bytearray(data)) == expected
    assert checksum64(np.frombuffer(data, dtype=np.int64)) == expected   # any format
    with Scratch(len(data)) as s:
        np.frombuffer(s, dtype=np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)
        assert checksum64(s) == expected
    with Mapping(make_file(0)) as empty:
        assert checksum64(empty) == checksum64(b"")


def test_checksum64_errors(make_file):
    with pytest.raises(TypeError):
        checksum64("text")
    with pytest.raises(OverflowError):
        checksum64(b"x", -1)
    with pytest.raises((BufferError, ValueError)):
        checksum64(np.zeros((4, 4), dtype=np.uint8)[:, 1])        # not contiguous
    m = Mapping(make_file(1))
    m.close()
    with pytest.raises(ValueError, match="closed"):
        checksum64(m)


def test_copy_into_a_writable_mapping(tmp_path):
    path = tmp_path / "col"
    src = page_data(2, seed=5)
    with Mapping.create(path, 4 * PAGE) as m:
        copy_into(m, PAGE + 3, src)
        copy_into(m, 4 * PAGE, b"")                   # empty at the very end
        copy_into(m, 0, np.array([1, 2], dtype="<u4"))  # any source format
        assert m.exports == 0
        m.sync()
    data = path.read_bytes()
    assert data[:8] == b"\x01\0\0\0\x02\0\0\0"
    assert data[PAGE + 3: 3 * PAGE + 3] == src
    assert data[3 * PAGE + 3:] == bytes(PAGE - 3)


def test_copy_into_other_destinations():
    buf = bytearray(8)
    copy_into(buf, 6, b"xy")
    assert buf == b"\0" * 6 + b"xy"
    with Scratch(16) as s:
        copy_into(s, 8, b"abcdefgh")
        assert bytes(memoryview(s)[8:]) == b"abcdefgh"
        assert s.exports == 0


def test_copy_into_refuses_read_only_and_overflowing_destinations(make_file):
    path = make_file(1)
    with Mapping(path) as m:
        with pytest.raises(BufferError, match="read-only"):
            copy_into(m, 0, b"x")
        assert m.exports == 0
    with Mapping(path, writable=True) as m:
        for offset, n in [(PAGE - 1, 2), (PAGE + 1, 0), (-1, 1), (0, PAGE + 1)]:
            with pytest.raises(ValueError, match="overflows"):
                copy_into(m, offset, bytes(n))
            assert m.exports == 0                      # both buffers released
    with pytest.raises((BufferError, TypeError)):
        copy_into(b"immutable", 0, b"x")
    assert path.read_bytes() == page_data(1)


def test_copy_into_huge_offset_is_a_value_error():
    proc = run_python(
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
        "from mapdb._ext import copy_into\n"
        "try:\n"
        "    copy_into(bytearray(4), sys.maxsize, b'ab')\n"
        "except ValueError:\n"
        "    print('ValueError')\n")
    assert proc.returncode == 0, f"child died with {proc.returncode}"
    assert proc.stdout.strip() == "ValueError"


def test_copy_into_closed_mapping(tmp_path):
    m = Mapping.create(tmp_path / "c", PAGE)
    m.close()
    with pytest.raises(ValueError, match="closed"):
        copy_into(m, 0, b"x")


def test_copy_into_releases_the_gil(page_dir):
    """Copying 64 MiB into a fresh file mapping faults its pages in one by one; another
    thread must see the file part-resident during the copy."""
    size = 64 << 20
    npages = size // PAGE
    path = page_dir / "dst"
    src = np.ones(size, dtype=np.uint8)
    with Mapping.create(path, size) as m, Mapping(path) as probe:

        def setup():
            m.advise(advice=0x4)                     # MADV_DONTNEED: unmap, so ...
            m.sync()
            evict(path)                              # ... the pages can be dropped

        seen = observe_during(lambda: copy_into(m, 0, src), probe.resident_pages,
                              lambda n: 0 < n < npages, setup=setup)
        assert m.resident_pages() == npages
        assert seen, "no other thread ran during copy_into"
    assert checksum64(src) == checksum64(path.read_bytes())
    os.unlink(path)
