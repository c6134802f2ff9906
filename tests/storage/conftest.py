"""Fixtures of the storage tests."""

import shutil
import tempfile
from pathlib import Path

import pytest

from storage._support import MEMORY_FS, fs_type


@pytest.fixture
def disk_dir(tmp_path) -> Path:
    """A scratch directory on a disk filesystem (not tmpfs): mapped files, page cache and
    fsync behave as they do for real databases. tmp_path unless it is in memory."""
    if fs_type(tmp_path) not in MEMORY_FS:
        yield tmp_path
        return
    repo_build = Path(__file__).resolve().parents[2] / "build"
    for base in (Path("/var/tmp"), repo_build):
        try:
            base.mkdir(parents=True, exist_ok=True)
            if fs_type(base) in MEMORY_FS:
                continue
            d = Path(tempfile.mkdtemp(prefix="mapdb-storage-", dir=base))
        except OSError:
            continue
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return
    pytest.skip("tmp_path, /var/tmp and build/ are all memory filesystems")


@pytest.fixture
def db_path(disk_dir) -> Path:
    """Path of a database directory that does not exist yet."""
    return disk_dir / "db"

