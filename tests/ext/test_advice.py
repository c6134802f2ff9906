"""madvise through Mapping.advise and posix_fadvise through fadvise, checked against the
page cache (mincore / cachestat)."""

import errno
import os

import numpy as np
import pytest
from extutil import (
    PAGE,
    cached_pages,
    evict,
    need_lock,
    observe_during,
    page_data,
    page_out,
    touch_pages,
    wait_until,
)

from mapdb._ext import Advice, FileAdvice, Mapping, fadvise, file_residency

# --------------------------------------------------------------------------- fadvise


def test_fadvise_dontneed_then_willneed(evictable_file):
    path = evictable_file(16)                            # 64 KiB: within any readahead cap
    assert cached_pages(path) == 0
    fadvise(path, advice=FileAdvice.WILLNEED)            # asynchronous readahead
    assert wait_until(lambda: cached_pages(path) == 16), cached_pages(path)
    assert path.read_bytes() == page_data(16)            # waits for the reads to finish
    fadvise(path, advice=FileAdvice.DONTNEED)
    assert cached_pages(path) == 0


def test_fadvise_dontneed_then_touch_every_page(evictable_file):
    path = evictable_file(16)
    with Mapping(path) as m:
        assert m.resident_pages() == 0
        view = np.frombuffer(m, dtype=np.uint8)
        touch_pages(view, range(16))
        assert m.resident_pages() == 16
        assert m.residency_map().all()
        del view
    assert cached_pages(path) == 16


def test_fadvise_range(evictable_file):
    path = evictable_file(16)
    with open(path, "rb") as f:
        f.read()
    assert cached_pages(path) == 16
    fadvise(path, 4 * PAGE, 8 * PAGE, FileAdvice.DONTNEED)
    with Mapping(path) as m:
        rmap = m.residency_map()
    assert rmap.tolist() == [True] * 4 + [False] * 8 + [True] * 4


def test_fadvise_on_a_descriptor(evictable_file):
    path = evictable_file(8)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.pread(fd, 8 * PAGE, 0)
        assert cached_pages(path) == 8
        fadvise(fd, advice=FileAdvice.DONTNEED)
        assert cached_pages(path) == 0
        fadvise(fd, 0, 0, FileAdvice.WILLNEED)
        assert wait_until(lambda: cached_pages(path) == 8)
    finally:
        os.close(fd)


@pytest.mark.parametrize("advice", list(FileAdvice), ids=lambda a: a.name)
def test_fadvise_every_member(make_file, advice):
    path = make_file(4)
    fadvise(path, advice=advice)
    fadvise(str(path), 0, PAGE, advice)
    with open(path, "rb") as f:
        fadvise(f.fileno(), PAGE, 0, advice)
        assert f.read() == path.read_bytes()                # advice never changes data


def test_fadvise_errors(tmp_path, make_file):
    missing = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as ei:
        fadvise(missing)
    assert ei.value.filename == missing
    fd = os.open(make_file(1), os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError) as ei:
        fadvise(fd)
    assert ei.value.errno == errno.EBADF
    with pytest.raises(ValueError):
        fadvise(make_file(1), advice=12345)
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as ei:
            fadvise(r)
        assert ei.value.errno == errno.ESPIPE
    finally:
        os.close(r)
        os.close(w)


def test_fadvise_does_not_drop_dirty_pages(page_dir):
    path = page_dir / "dirty"
    with Mapping.create(path, 4 * PAGE) as m:
        np.frombuffer(m, dtype=np.uint8)[::PAGE] = 7
        fadvise(path, advice=FileAdvice.DONTNEED)
        assert m.resident_pages() == 4
        m.sync()
    evict(path)
    with open(path, "rb") as f:
        assert f.read(1) == b"\x07"


# --------------------------------------------------------------------------- madvise


@pytest.mark.parametrize("advice", list(Advice), ids=lambda a: a.name)
@pytest.mark.parametrize("writable", [False, True], ids=["ro", "rw"])
def test_advise_every_member(make_file, advice, writable):
    path = make_file(8)
    data = path.read_bytes()
    with Mapping(path, writable=writable) as m:
        if advice == Advice.POPULATE_WRITE and not writable:
            with pytest.raises(ValueError, match="read-only"):
                m.advise(advice=advice)
            return
        try:
            m.advise(advice=advice)
            m.advise(PAGE, 2 * PAGE, advice)
        except OSError as e:
            assert "not supported" in str(e)
            assert e.filename == os.fspath(path)
        assert bytes(m) == data                 # a clean file mapping keeps its bytes
        m.advise(advice=Advice.NORMAL)
        assert m.exports == 0


def test_advise_rejects_unknown_advice(make_file):
    with Mapping(make_file(1)) as m, pytest.raises(ValueError):
        m.advise(advice=999)


def test_populate_read_makes_the_range_resident(evictable_file):
    path = evictable_file(32)
    with Mapping(path) as m:
        assert m.resident_pages() == 0
        m.advise(advice=Advice.RANDOM)              # no readahead around the faults
        m.advise(8 * PAGE, 4 * PAGE, Advice.POPULATE_READ)
        rmap = m.residency_map()
        assert rmap[8:12].all()
        assert m.resident_pages(8 * PAGE, 4 * PAGE) == 4
        assert not rmap[:8].any()
        assert not rmap[12:].any()
        m.advise(advice=Advice.POPULATE_READ)
        assert m.resident_pages() == 32
    assert cached_pages(path) == 32


def test_populate_read_unaligned_range_is_rounded_out(evictable_file):
    path = evictable_file(8)
    with Mapping(path) as m:
        m.advise(advice=Advice.RANDOM)
        m.advise(PAGE + PAGE // 2, PAGE, Advice.POPULATE_READ)   # touches pages 1 and 2
        assert m.residency_map().tolist() == [False, True, True] + [False] * 5


def test_populate_write_on_a_writable_mapping(evictable_file):
    """POPULATE_WRITE prefaults writable: the pages become resident and, for a shared
    file mapping, dirty; the data is unchanged."""
    path = evictable_file(8)
    with Mapping(path, writable=True) as m:
        m.advise(2 * PAGE, 3 * PAGE, Advice.POPULATE_WRITE)
        assert m.resident_pages(2 * PAGE, 3 * PAGE) == 3
        st = file_residency(path)
        if st.source == "cachestat":
            assert st.dirty >= 3
        assert bytes(m) == page_data(8)
        m.sync()


def test_populate_write_on_a_read_only_mapping_fails(make_file):
    with Mapping(make_file(2)) as m:
        with pytest.raises(ValueError, match="read-only"):
            m.advise(advice=Advice.POPULATE_WRITE)
        assert m.exports == 0


@pytest.mark.parametrize("case", ["pageout-locked", "cold-locked", "populate_write-ro"])
def test_refused_advice_does_not_blame_the_kernel_version(make_file, case):
    with Mapping(make_file(1)) as m:
        if case.endswith("locked"):
            need_lock(PAGE)
            m.lock()
        advice = {"pageout-locked": Advice.PAGEOUT, "cold-locked": Advice.COLD,
                  "populate_write-ro": Advice.POPULATE_WRITE}[case]
        with pytest.raises((OSError, ValueError)) as ei:
            m.advise(advice=advice)
        assert "needs Linux" not in str(ei.value)


def test_madvise_willneed_reads_ahead(evictable_file):
    path = evictable_file(16)
    with Mapping(path) as m:
        m.advise(advice=Advice.WILLNEED)
        assert wait_until(lambda: m.resident_pages() == 16), m.resident_pages()


def test_madvise_dontneed_unmaps_so_fadvise_can_drop(evictable_file):
    """Pages mapped into a process are skipped by fadvise(DONTNEED); madvise(DONTNEED)
    on a clean file mapping only unmaps them (they stay cached, the data stays), after
    which fadvise(DONTNEED) drops them."""
    path = evictable_file(16)
    data = page_data(16)
    with Mapping(path) as m:
        view = np.frombuffer(m, dtype=np.uint8)
        touch_pages(view, range(16))
        fadvise(path, advice=FileAdvice.DONTNEED)
        assert m.resident_pages() == 16                 # mapped: not dropped
        m.advise(advice=Advice.DONTNEED)
        assert m.resident_pages() == 16                 # unmapped, still cached
        fadvise(path, advice=FileAdvice.DONTNEED)
        assert m.resident_pages() == 0
        assert cached_pages(path) == 0
        assert view.tobytes() == data                   # refaulted from the file
        del view


def test_madvise_pageout_evicts_a_clean_file_mapping(evictable_file):
    path = evictable_file(16)
    data = page_data(16)
    with Mapping(path) as m:
        view = np.frombuffer(m, dtype=np.uint8)
        touch_pages(view, range(16))
        fadvise(path, advice=FileAdvice.DONTNEED)
        assert m.resident_pages() == 16                 # mapped: fadvise cannot drop them
        try:
            left = page_out(m, path)
        except OSError as e:
            pytest.skip(str(e))
        assert left == 0
        assert m.resident_pages() == 0
        assert view.tobytes() == data
        del view


def test_madvise_cold_keeps_data(evictable_file):
    path = evictable_file(8)
    data = page_data(8)
    with Mapping(path) as m:
        try:
            m.advise(advice=Advice.COLD)
        except OSError as e:
            pytest.skip(str(e))
        assert bytes(m) == data


def test_advise_releases_the_gil(page_dir):
    """POPULATE_READ of a 64 MiB sparse file takes a while; another thread watching the
    page cache must see it part-filled, which it can only do if the GIL was released."""
    size = 64 << 20
    npages = size // PAGE
    path = page_dir / "sparse"
    with open(path, "wb") as f:
        f.truncate(size)
    with Mapping(path) as m, Mapping(path) as probe:
        if probe.resident_pages() == npages:
            pytest.skip("the file system keeps every page of the file in memory")

        def setup():
            m.advise(advice=Advice.DONTNEED)        # unmap, so the pages can be dropped
            evict(path)

        seen = observe_during(lambda: m.advise(advice=Advice.POPULATE_READ),
                              probe.resident_pages, lambda n: 0 < n < npages, setup=setup)
        assert m.resident_pages() == npages
        assert seen, "no other thread ran during madvise(POPULATE_READ)"
    os.unlink(path)


def test_file_residency_of_evicted_and_cached_files(evictable_file):
    path = evictable_file(4)
    st = file_residency(path)
    assert (st.pages, st.cached) == (4, 0)
    path.read_bytes()
    assert file_residency(path).cached == 4
