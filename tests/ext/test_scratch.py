"""Scratch: aligned, zeroed, writable memory with the same close semantics as Mapping."""

import numpy as np
import pyarrow as pa
import pytest
from extutil import under_sanitizer

from mapdb._ext import Scratch


@pytest.mark.parametrize("alignment", [8, 64, 4096, 1 << 21])
def test_alignment_and_zero_fill(alignment):
    with Scratch(3 * 4096 + 5, alignment=alignment) as s:
        assert s.alignment == alignment
        assert len(s) == 3 * 4096 + 5
        assert s.address != 0
        assert s.address % alignment == 0
        a = np.frombuffer(s, dtype=np.uint8)
        assert a.shape == (3 * 4096 + 5,)
        assert not a.any()
        del a


def test_default_alignment_is_a_cache_line():
    with Scratch(100) as s:
        assert s.alignment == 64
        assert s.address % 64 == 0


def test_writable_through_numpy_and_memoryview():
    with Scratch(1024, alignment=64) as s:
        assert s.writable is True
        a = np.frombuffer(s, dtype=np.int64)
        assert a.flags.writeable and a.flags.aligned
        a[:] = np.arange(128)
        mv = memoryview(s)
        assert mv.readonly is False
        assert mv.cast("q")[127] == 127
        mv[0:8] = (42).to_bytes(8, "little")
        assert a[0] == 42
        assert pa.py_buffer(s).is_mutable is True
        assert s.exports == 2
        del a
        mv.release()
        assert s.exports == 0


def test_zero_false_still_gives_usable_memory():
    with Scratch(4096, alignment=4096, zero=False) as s:
        a = np.frombuffer(s, dtype=np.uint8)
        a[:] = 7
        assert (a == 7).all()
        assert s.address % 4096 == 0
        del a


@pytest.mark.parametrize("alignment", [0, 1, 2, 3, 4, 48, 100, 4095])
def test_bad_alignment(alignment):
    with pytest.raises(ValueError, match="power of two"):
        Scratch(64, alignment=alignment)


def test_negative_alignment_or_size():
    with pytest.raises(OverflowError):
        Scratch(64, alignment=-64)
    with pytest.raises(ValueError, match="nbytes"):
        Scratch(-1)


def test_zero_bytes():
    with Scratch(0) as s:
        assert len(s) == 0
        assert s.address == 0
        assert np.frombuffer(s, dtype=np.uint8).shape == (0,)
        assert bytes(memoryview(s)) == b""
        assert s.exports == 0
    assert s.closed


def test_view_outlives_close():
    s = Scratch(4096)
    a = np.frombuffer(s, dtype=np.uint32)
    a[:] = np.arange(1024)
    s.close()
    assert s.closed is True
    assert s.exports == 1
    assert a.sum() == sum(range(1024))
    a[5] = 99                                          # still valid memory
    assert a[5] == 99
    for call in (lambda: len(s), lambda: s.address, lambda: memoryview(s)):
        with pytest.raises(ValueError, match="closed"):
            call()
    del a
    assert s.exports == 0


def test_closed_scratch_raises():
    s = Scratch(128)
    s.close()
    s.close()                                          # double close is fine
    for call in (lambda: len(s), lambda: s.address, lambda: memoryview(s),
                 lambda: np.frombuffer(s, dtype=np.uint8), lambda: bytes(s),
                 lambda: pa.py_buffer(s), s.__enter__):
        with pytest.raises(ValueError, match="closed"):
            call()
    assert "closed" in repr(s)


def test_context_manager_and_repr():
    with Scratch(256, alignment=128) as s:
        assert repr(s) == "<mapdb Scratch 256 bytes, aligned 128>"
    assert s.closed
    assert repr(s) == "<mapdb Scratch closed, aligned 128>"


def test_reinit_refused():
    with Scratch(64) as s:
        with pytest.raises(RuntimeError, match="already initialised"):
            s.__init__(128)
        assert len(s) == 64


_FREES = """
import resource, numpy as np
from mapdb._ext import Scratch

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

before = rss()
for _ in range(16):
    s = Scratch(16 << 20, alignment=4096)
    view = np.frombuffer(s, dtype=np.uint8)
    view[::4096] = 1
    s.close()
    assert s.exports == 1
    del view                                       # the last user frees it
    assert s.exports == 0
print(rss() - before)
"""


def test_close_frees_the_memory():
    """16 zero-filled (so fully touched) 16 MiB buffers, each closed before the next:
    if close() leaked them the resident set would grow by 256 MiB. Measured in a fresh
    process: in the test session other tests' threads and garbage move the RSS by tens
    of MiB."""
    if under_sanitizer():
        pytest.skip("AddressSanitizer quarantines freed memory, so RSS does not drop")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", _FREES], capture_output=True, text=True,
                         check=True)
    assert int(out.stdout) < 64 << 20
