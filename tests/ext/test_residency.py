"""Page-cache residency: Mapping.resident_pages / residency_map (mincore) and
file_residency (cachestat or mincore), cross-checked with each other and with fincore."""

import errno
import shutil
import subprocess

import numpy as np
import pytest
from extutil import PAGE, evict, touch_pages, write_file

from mapdb._ext import Advice, CacheStat, Mapping, file_residency


def cachestat_or_skip(path) -> CacheStat:
    try:
        return file_residency(path, "cachestat")
    except OSError as e:
        if e.errno in (errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
            pytest.skip(f"cachestat(2) is unavailable: {e}")
        raise


def touch_only(path, pages) -> list[bool]:
    """Fault exactly ``pages`` of ``path`` into the page cache (MADV_RANDOM: no
    readahead around the faults) and return the expected per-page residency."""
    with Mapping(path) as m:
        m.advise(advice=Advice.RANDOM)
        touch_pages(np.frombuffer(m, dtype=np.uint8), pages)
        npages = -(-len(m) // PAGE)
    return [i in set(pages) for i in range(npages)]


def test_residency_map_matches_the_touched_pages(evictable_file):
    path = evictable_file(24)
    touched = [0, 1, 2, 7, 11, 23]
    expected = touch_only(path, touched)
    with Mapping(path) as m:
        rmap = m.residency_map()
        assert rmap.dtype == np.bool_
        assert rmap.shape == (24,)
        assert rmap.tolist() == expected
        assert m.resident_pages() == len(touched)
        assert m.residency_map(7 * PAGE, 5 * PAGE).tolist() == [True, False, False, False, True]
        assert m.resident_pages(7 * PAGE, 5 * PAGE) == 2
        assert m.residency_map(PAGE + 1, PAGE).tolist() == [True, True]   # pages 1 and 2
        assert m.resident_pages(3 * PAGE, 4 * PAGE) == 0
        assert m.residency_map(3 * PAGE, 0).shape == (0,)
    with Mapping(path, offset=7 * PAGE, length=5 * PAGE) as m:
        assert m.residency_map().tolist() == [True, False, False, False, True]


def test_cachestat_mincore_and_mapping_agree(evictable_file):
    path = evictable_file(24)
    touched = [0, 3, 4, 5, 20]
    touch_only(path, touched)
    cs = cachestat_or_skip(path)
    mc = file_residency(path, "mincore")
    auto = file_residency(path)
    with Mapping(path) as m:
        resident = m.resident_pages()
    assert resident == len(touched)
    assert (cs.pages, cs.cached, cs.source) == (24, len(touched), "cachestat")
    assert (cs.dirty, cs.writeback) == (0, 0)
    assert mc == CacheStat(24, len(touched), None, None, None, None, "mincore")
    assert auto == cs._replace(evicted=auto.evicted, recently_evicted=auto.recently_evicted)


def test_residency_agrees_with_fincore(evictable_file):
    fincore = shutil.which("fincore")
    if fincore is None:
        pytest.skip("util-linux fincore is not installed")
    path = evictable_file(32)
    touched = list(range(0, 32, 2))                    # every other page
    expected = touch_only(path, touched)
    with Mapping(path) as m:
        assert m.residency_map().tolist() == expected
        resident = m.resident_pages()
    proc = subprocess.run(
        [fincore, "--bytes", "--noheadings", "--raw", "--output", "RES,PAGES", str(path)],
        capture_output=True, text=True, timeout=30, check=True)
    res_bytes, res_pages = map(int, proc.stdout.split())
    assert resident == 16
    assert res_pages == resident
    assert res_bytes == resident * PAGE
    assert file_residency(path, "mincore").cached == resident
    assert file_residency(path).cached == resident


def test_fully_resident_and_evicted(evictable_file):
    path = evictable_file(16)
    assert file_residency(path, "mincore").cached == 0
    with Mapping(path) as m:
        assert m.resident_pages() == 0
        assert not m.residency_map().any()
        touch_pages(np.frombuffer(m, dtype=np.uint8), range(16))
        assert m.resident_pages() == 16
        assert m.residency_map().all()
    assert file_residency(path, "mincore").cached == 16
    assert file_residency(path).cached == 16
    evict(path)
    assert file_residency(path, "mincore").cached == 0


def test_dirty_pages_through_a_writable_mapping(page_dir):
    path = page_dir / "dirty"
    with Mapping.create(path, 8 * PAGE) as m:
        cachestat_or_skip(path)
        m.advise(advice=Advice.RANDOM)                 # fault page by page
        view = np.frombuffer(m, dtype=np.uint8)
        view[0: 4 * PAGE: PAGE] = 1                    # dirty pages 0..3, no msync
        st = file_residency(path)
        assert st.source == "cachestat"
        assert 4 <= st.dirty + st.writeback <= 8
        assert st.dirty > 0
        assert st.cached >= 4
        m.sync()
        st = file_residency(path)
        if st.dirty:
            m.fsync()
            st = file_residency(path)
        assert (st.dirty, st.writeback) == (0, 0)
        assert st.cached >= 4
        del view


def test_odd_sized_and_empty_files(tmp_path):
    path = write_file(tmp_path / "odd", b"x" * (2 * PAGE + 1))
    assert file_residency(path, "mincore").pages == 3
    assert file_residency(path).pages == 3
    with Mapping(path) as m:
        assert m.residency_map().shape == (3,)
    empty = write_file(tmp_path / "empty", b"")
    for method in ("auto", "mincore"):
        st = file_residency(empty, method)
        assert (st.pages, st.cached) == (0, 0)
    assert file_residency(str(empty), "mincore") == CacheStat(0, 0, None, None, None, None,
                                                             "mincore")


def test_file_residency_errors(tmp_path):
    missing = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as ei:
        file_residency(missing)
    assert ei.value.filename == missing
    path = write_file(tmp_path / "f", b"x")
    with pytest.raises(ValueError, match="method"):
        file_residency(path, "fincore")


def test_resident_pages_on_a_closed_mapping(make_file):
    m = Mapping(make_file(1))
    m.close()
    with pytest.raises(ValueError, match="closed"):
        m.resident_pages()
    with pytest.raises(ValueError, match="closed"):
        m.residency_map()
