"""Shared fixtures for the OS-layer tests: files of N pages in tmp_path, a directory whose
page cache can be evicted, and already-evicted files. Helpers live in extutil.py."""

import tempfile
from pathlib import Path

import pytest
from extutil import MEMORY_FS, evict, fs_type, page_data, write_file


@pytest.fixture
def page_dir(tmp_path) -> Path:
    """A directory for files whose page cache the tests evict: tmp_path unless it is a
    memory filesystem, then /var/tmp or the repository's build/ directory."""
    if fs_type(tmp_path) not in MEMORY_FS:
        yield tmp_path
        return
    repo_build = Path(__file__).resolve().parents[2] / "build"
    for base in ("/var/tmp", repo_build):
        base = Path(base)
        try:
            base.mkdir(parents=True, exist_ok=True)
            if fs_type(base) in MEMORY_FS:
                continue
            d = Path(tempfile.mkdtemp(prefix="mapdb-ext-", dir=base))
        except OSError:
            continue
        try:
            yield d
        finally:
            for p in d.iterdir():
                p.unlink()
            d.rmdir()
        return
    pytest.skip("tmp_path, /var/tmp and build/ are all on memory filesystems: "
                "their pages cannot be evicted")


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
