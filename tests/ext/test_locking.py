"""mlock / mlock2(MLOCK_ONFAULT) / munlock through Mapping.lock and friends, and the
RLIMIT_MEMLOCK refusal message (in a child process with a tiny limit)."""

import errno
import json
import os
import resource
import shutil

import numpy as np
import pytest
from extutil import (
    CAP_IPC_LOCK,
    PAGE,
    cached_pages,
    cap_effective,
    mlock_probe,
    need_lock,
    page_data,
    page_out,
    run_python,
    touch_pages,
)

from mapdb._ext import (
    Advice,
    FileAdvice,
    Mapping,
    MemoryLockError,
    fadvise,
    locked_bytes,
    memlock_limit,
)


def test_memlock_limit_matches_getrlimit():
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    inf = resource.RLIM_INFINITY
    assert memlock_limit() == (None if soft == inf else soft, None if hard == inf else hard)


def test_locked_bytes_matches_proc_status():
    with open("/proc/self/status") as f:
        vmlck = next(int(line.split()[1]) for line in f if line.startswith("VmLck:"))
    assert locked_bytes() == vmlck * 1024


def test_lock_and_unlock_count_in_vmlck(make_file):
    need_lock(4 * PAGE)
    path = make_file(4)
    with Mapping(path) as m:
        base = locked_bytes()
        m.lock()
        assert locked_bytes() - base == 4 * PAGE
        assert m.resident_pages() == 4                 # mlock populates the range
        m.unlock(PAGE, 2 * PAGE)
        assert locked_bytes() - base == 2 * PAGE
        m.unlock()
        assert locked_bytes() == base
        m.lock(PAGE + 100, 10)                         # rounded out to one page
        assert locked_bytes() - base == PAGE
        m.lock(2 * PAGE - 1, 2)                        # straddles pages 1 and 2
        assert locked_bytes() - base == 2 * PAGE
    assert locked_bytes() == base                      # munmap drops the locks


def test_locked_pages_stay_resident_after_eviction(evictable_file):
    need_lock(8 * PAGE)
    path = evictable_file(8)
    data = page_data(8)
    with Mapping(path) as m:
        assert m.resident_pages() == 0
        m.lock()
        assert m.resident_pages() == 8

        def try_to_evict():
            fadvise(path, advice=FileAdvice.DONTNEED)
            for advice in (Advice.PAGEOUT, Advice.COLD):
                try:
                    m.advise(advice=advice)
                except OSError as e:                   # the kernel refuses locked VMAs
                    assert e.errno == errno.EINVAL

        try_to_evict()
        assert m.resident_pages() == 8
        assert cached_pages(path) == 8
        assert bytes(m) == data

        m.unlock()
        m.advise(advice=Advice.DONTNEED)               # unmap, then drop
        fadvise(path, advice=FileAdvice.DONTNEED)
        assert m.resident_pages() == 0
        assert cached_pages(path) == 0


def test_unlocked_pages_are_paged_out(evictable_file):
    path = evictable_file(8)
    with Mapping(path) as m:
        touch_pages(np.frombuffer(m, dtype=np.uint8), range(8))
        assert m.resident_pages() == 8
        try:
            assert page_out(m, path) == 0
        except OSError as e:
            pytest.skip(str(e))
        assert m.resident_pages() == 0


def test_pages_unlocked_after_locking_are_paged_out(evictable_file):
    need_lock(8 * PAGE)
    path = evictable_file(8)
    with Mapping(path) as m:
        m.lock()
        try:
            page_out(m, path, attempts=1)
        except OSError as e:
            assert e.errno == errno.EINVAL              # the kernel refuses locked ranges
        assert cached_pages(path) == 8
        m.unlock()
        try:
            assert page_out(m, path) == 0
        except OSError as e:
            pytest.skip(str(e))
        assert m.resident_pages() == 0


def test_lock_onfault_locks_pages_as_they_are_touched(evictable_file):
    need_lock(8 * PAGE)
    path = evictable_file(8)
    with Mapping(path) as m:
        base = locked_bytes()
        m.advise(advice=Advice.RANDOM)                 # fault exactly the touched pages
        m.lock(onfault=True)
        assert m.resident_pages() == 0                 # nothing populated up front
        assert locked_bytes() - base == 8 * PAGE
        view = np.frombuffer(m, dtype=np.uint8)
        touch_pages(view, [2, 5])
        assert m.residency_map().tolist() == [i in (2, 5) for i in range(8)]
        fadvise(path, advice=FileAdvice.DONTNEED)
        try:
            m.advise(advice=Advice.PAGEOUT)
        except OSError as e:
            assert e.errno == errno.EINVAL
        assert m.residency_map().tolist() == [i in (2, 5) for i in range(8)]
        del view
        m.unlock()
        assert locked_bytes() == base


def test_lock_writable_mapping(tmp_path):
    need_lock(2 * PAGE)
    with Mapping.create(tmp_path / "w", 2 * PAGE) as m:
        m.lock()
        memoryview(m)[:2] = b"ok"
        m.sync()
        m.unlock()
    assert (tmp_path / "w").read_bytes()[:2] == b"ok"


# --------------------------------------------------------------------------- refusal

REFUSE = r"""
import json, resource, sys
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_MEMLOCK, (limit, limit))
with open("/proc/self/status") as f:
    capeff = int(next(l for l in f if l.startswith("CapEff:")).split()[1], 16)
if capeff >> 14 & 1:
    print("still has CAP_IPC_LOCK")
    sys.exit(3)
from mapdb._ext import PAGE_SIZE, Mapping, MemoryLockError, locked_bytes, memlock_limit
out = {"limit": memlock_limit()}
with Mapping(sys.argv[1]) as m:
    try:
        m.lock(onfault=sys.argv[2] == "1")
    except MemoryLockError as e:
        out.update(errno=e.errno, msg=str(e), filename=e.filename,
                   oserror=isinstance(e, OSError), locked=locked_bytes())
    else:
        out["locked"] = locked_bytes()
    if limit:
        m.lock(0, PAGE_SIZE)               # within the limit: allowed
        out["small"] = locked_bytes()
print(json.dumps(out))
"""


def _drop_ipc_lock_prefix() -> tuple:
    if not cap_effective(CAP_IPC_LOCK):
        return ()
    if shutil.which("setpriv"):
        return ("setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock")
    if shutil.which("capsh"):
        return ("capsh", "--drop=cap_ipc_lock", "--", "-c", 'exec "$0" "$@"')
    pytest.skip("this process has CAP_IPC_LOCK and neither setpriv nor capsh can drop it")


@pytest.mark.parametrize("onfault", [False, True], ids=["mlock", "onfault"])
@pytest.mark.parametrize("limit,err,shown", [
    (64 * 1024, errno.ENOMEM, "64.0 KiB"),
    (0, errno.EPERM, "0 bytes"),
], ids=["64KiB", "zero"])
def test_lock_refused_by_rlimit_memlock(tmp_path, onfault, limit, err, shown):
    if mlock_probe() == "noop":
        pytest.skip("mlock is a no-op in this process (AddressSanitizer intercepts it)")
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.truncate(16 << 20)
    prefix = _drop_ipc_lock_prefix()
    proc = run_python(REFUSE, str(path), "1" if onfault else "0", str(limit), prefix=prefix)
    if proc.returncode == 3 or (prefix and proc.returncode != 0 and not proc.stdout):
        pytest.skip(f"could not drop CAP_IPC_LOCK with {prefix[0]}: "
                    f"{(proc.stdout + proc.stderr).strip()}")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["limit"] == [limit, limit]
    assert "msg" in out, f"locking 16 MiB under a {shown} limit succeeded: {out}"
    assert out["oserror"] is True
    assert out["errno"] == err
    assert out["filename"] == str(path)
    msg = out["msg"]
    assert ("mlock2(MLOCK_ONFAULT)" if onfault else "mlock of") in msg
    assert "16.0 MiB" in msg
    assert "RLIMIT_MEMLOCK" in msg
    assert f"RLIMIT_MEMLOCK is {shown} (hard limit {shown})" in msg
    assert "ulimit -l" in msg
    assert "CAP_IPC_LOCK" in msg
    assert os.strerror(err) in msg
    assert out["locked"] == 0                       # nothing was left locked
    if limit:
        assert out["small"] == PAGE


def test_memory_lock_error_is_an_oserror():
    assert issubclass(MemoryLockError, OSError)
    e = MemoryLockError(errno.ENOMEM, "refused", "/x")
    assert (e.errno, e.filename) == (errno.ENOMEM, "/x")
