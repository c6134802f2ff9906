"""Fixtures of the reliability tests (disk_dir comes from tests/conftest.py)."""

from pathlib import Path

import pytest


@pytest.fixture
def db_path(disk_dir) -> Path:
    """Path of a database directory that does not exist yet (on a disk filesystem)."""
    return disk_dir / "db"
