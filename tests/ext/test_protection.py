"""mprotect through Mapping.protect: a sealed page faults on write (checked in a child
process, which dies of SIGSEGV), unsealing restores writes, and bad requests are refused."""

import signal

import numpy as np
import pytest
from extutil import PAGE, page_data, run_python

from mapdb._ext import Mapping, Prot

SEAL_AND_WRITE = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))      # no core file from the crash
from mapdb._ext import Mapping, Prot
m = Mapping(sys.argv[1], writable=True)
view = memoryview(m)
m.protect(0, int(sys.argv[2]), Prot.READ)
view[int(sys.argv[3])] = 0x55          # an unsealed page: fine
sys.stdout.write(f"read {view[0]}\n")  # a sealed page is still readable
sys.stdout.write("sealed\n")
sys.stdout.flush()
view[int(sys.argv[4])] = 0x66          # a sealed page: SIGSEGV
sys.stdout.write("survived\n")
"""


@pytest.mark.parametrize("sealed_pages,target", [(1, 0), (2, 1), (2, 100)],
                         ids=["page0", "page1", "unaligned-in-page0"])
def test_write_to_a_sealed_page_faults_in_a_child(make_file, sealed_pages, target):
    path = make_file(4)
    data = page_data(4)
    unsealed = 3 * PAGE + 5
    proc = run_python(SEAL_AND_WRITE, str(path), str(sealed_pages * PAGE),
                      str(unsealed), str(target))
    assert proc.returncode == -signal.SIGSEGV, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout.split("\n")[:2] == [f"read {data[0]}", "sealed"]
    assert "survived" not in proc.stdout
    after = path.read_bytes()
    assert after[unsealed] == 0x55                 # the write before the fault landed
    assert after[target] == data[target]           # the faulting write did not
    assert after[:unsealed] == data[:unsealed]


def test_unseal_restores_writes(tmp_path):
    path = tmp_path / "col"
    with Mapping.create(path, 3 * PAGE) as m:
        view = np.frombuffer(m, dtype=np.uint8)
        view[:] = 1
        m.sync()
        m.protect(PAGE, PAGE, Prot.READ)
        assert view[PAGE: 2 * PAGE].sum() == PAGE     # still readable
        view[0] = 2                                    # neighbours still writable
        view[-1] = 3
        m.protect(PAGE, PAGE, Prot.READ | Prot.WRITE)
        view[PAGE] = 4
        m.protect(0, None, Prot.READ)                  # seal everything, then undo
        m.protect(0, None, Prot.READ | Prot.WRITE)
        view[PAGE + 1] = 5
        del view
        m.sync()
    data = path.read_bytes()
    assert (data[0], data[PAGE], data[PAGE + 1], data[PAGE + 2], data[-1]) == (2, 4, 5, 1, 3)


def test_protect_none_then_read_again(make_file):
    path = make_file(2)
    with Mapping(path) as m:
        m.protect(0, PAGE, Prot.NONE)
        assert bytes(memoryview(m)[PAGE: PAGE + 4]) == page_data(2)[PAGE: PAGE + 4]
        m.protect(0, PAGE, Prot.READ)
        assert bytes(m) == page_data(2)


def test_unaligned_offset(tmp_path):
    with Mapping.create(tmp_path / "c", 2 * PAGE) as m:
        for offset in (1, PAGE // 2, PAGE + 1):
            with pytest.raises(ValueError, match="multiple of the page size"):
                m.protect(offset, PAGE, Prot.READ)
        m.protect(0, 1, Prot.READ)                     # a short length is rounded out
        m.protect(0, 1, Prot.READ | Prot.WRITE)
        memoryview(m)[0] = 1


def test_write_on_a_read_only_mapping_is_refused(make_file):
    with Mapping(make_file(1)) as m:
        for prot in (Prot.WRITE, Prot.READ | Prot.WRITE):
            with pytest.raises(ValueError, match="read-only"):
                m.protect(0, PAGE, prot)
        m.protect(0, PAGE, Prot.READ)                  # no change: fine
        assert m.exports == 0


def test_bad_prot_value(tmp_path):
    with Mapping.create(tmp_path / "c", PAGE) as m, pytest.raises(ValueError):
        m.protect(0, PAGE, "rw")
