"""Shared fixtures for the OS-layer tests: files of N pages in tmp_path, a directory whose
page cache can be evicted, and already-evicted files. Helpers live in extutil.py."""

from pathlib import Path

import pytest
from extutil import evict, page_data, write_file
from fsutil import fs_type


@pytest.fixture
def page_dir(disk_dir) -> Path:
    """A directory for files whose page cache the tests evict (see tests/conftest.py)."""
    return disk_dir


@pytest.fixture
def make_file(tmp_path):
    """make_file(npages, name=..., seed=..., directory=...) -> Path of an fsynced file of
    ``npages`` pages of page_data()."""
    counter = [0]

    def make(npages: int, name: str | None = None, seed: int = 0, directory=None) -> Path:
        counter[0] += 1
        d = Path(directory) if directory is not None else tmp_path
        return write_file(d / (name or f"file{counter[0]}.bin"), page_data(npages, seed))

    return make


@pytest.fixture
def evictable_file(page_dir, make_file):
    """evictable_file(npages) -> an fsynced file on a filesystem whose pages can be
    evicted, already evicted (0 pages cached). Skips where eviction does not work."""

    def make(npages: int, seed: int = 0) -> Path:
        path = make_file(npages, seed=seed, directory=page_dir)
        try:
            evict(path, timeout=2.0)
        except AssertionError as e:
            pytest.skip(f"fadvise(DONTNEED) does not drop pages on {fs_type(path)}: {e}")
        return path

    return make
