"""SIGBUS containment in the OS layer (ext/mapdb_sigbus.h, ext/guard.pxi)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from mapdb import _ext

PAGE = _ext.PAGE_SIZE


def _file(tmp_path, pages: int = 8):
    p = tmp_path / "f"
    p.write_bytes(np.arange(pages * PAGE // 8, dtype=np.int64).tobytes())
    return p


def test_read_past_a_shrunk_end_reads_zeros_and_is_recorded(tmp_path):
    p = _file(tmp_path)
    m = _ext.Mapping(p)
    a = np.frombuffer(m, np.int64)
    before = _ext.sigbus_events()
    os.truncate(p, 2 * PAGE)
    assert int(a[0]) == 0 and int(a[PAGE // 8]) == PAGE // 8  # below the end: intact
    assert not m.damaged and _ext.sigbus_events() == before
    assert int(a[-1]) == 0  # past the end: one contained fault, a zero page
    assert m.damaged and _ext.sigbus_events() == before + 1
    assert int(a[3 * PAGE // 8:].sum()) == 0  # pages 3-6 fault once each (7 is done)
    assert _ext.sigbus_events() == before + 5
    assert _ext.damaged_since(before) == [str(p)]
    assert _ext.damaged_since(_ext.sigbus_events()) == []
    del a
    m.close()
    assert _ext.damaged_since(before) == [str(p)]  # still reported once unmapped


def test_resized_mapping_is_guarded_over_its_new_range(tmp_path):
    p = _file(tmp_path, 2)
    m = _ext.Mapping(p, length=PAGE)
    with open(p, "ab") as f:
        f.write(bytes(6 * PAGE))
    m.resize(8 * PAGE)
    a = np.frombuffer(m, np.uint8)
    before = _ext.sigbus_events()
    os.truncate(p, PAGE)
    assert int(a[7 * PAGE]) == 0 and m.damaged and _ext.sigbus_events() == before + 1
    del a
    m.close()


_WRITABLE = r"""
import os, sys, numpy as np
from mapdb import _ext
m = _ext.Mapping.create(sys.argv[1], 4 * 4096)
a = np.frombuffer(m, np.uint8)
os.truncate(sys.argv[1], 4096)
a[3 * 4096] = 1   # a write mapping is not guarded: writes must never land in a zero page
"""


def test_writable_mappings_are_not_guarded(tmp_path):
    r = subprocess.run([sys.executable, "-c", _WRITABLE, str(tmp_path / "w")],
                       capture_output=True)
    assert r.returncode == -7


def test_kernel_reading_a_shrunk_mapping_survives(tmp_path):
    """A nogil kernel (checksum64) over a mapping whose file shrank: zeros, recorded."""
    p = _file(tmp_path, 16)
    m = _ext.Mapping(p)
    before = _ext.sigbus_events()
    os.truncate(p, PAGE)
    _ext.checksum64(m)
    assert _ext.sigbus_events() == before + 15 and m.damaged
    m.close()


@pytest.mark.parametrize("handler", ["faulthandler"])
def test_guard_survives_a_later_faulthandler_enable(tmp_path, handler):
    code = (r"import faulthandler, os, sys, numpy as np; from mapdb import _ext; "
            r"faulthandler.enable(); m = _ext.Mapping(sys.argv[1]); "
            r"a = np.frombuffer(m, np.uint8); os.truncate(sys.argv[1], 4096); "
            r"m2 = _ext.Mapping(sys.argv[1]); print(int(a[-1]), m.damaged)")
    p = _file(tmp_path)
    r = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split() == ["0", "True"], r.stderr
