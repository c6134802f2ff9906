"""Suite-wide rules and fixtures."""

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fsutil import MEMORY_FS, fs_type


def pytest_collection_modifyitems(config, items):
    """Tests marked slow (soak runs, long sweeps) run only when asked for: ``-m slow``."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def disk_dir(tmp_path) -> Path:
    """A scratch directory on a disk filesystem (not tmpfs): page cache eviction, mapped
    files and fsync behave as for real databases. tmp_path unless it is in memory, then
    /var/tmp or the repository's build/."""
    if fs_type(tmp_path) not in MEMORY_FS:
        yield tmp_path
        return
    for base in (Path("/var/tmp"), Path(__file__).resolve().parents[1] / "build"):
        try:
            base.mkdir(parents=True, exist_ok=True)
            if fs_type(base) in MEMORY_FS:
                continue
            d = Path(tempfile.mkdtemp(prefix="mapdb-test-", dir=base))
        except OSError:
            continue
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return
    pytest.skip("tmp_path, /var/tmp and build/ are all memory filesystems: "
                "their pages cannot be evicted")
