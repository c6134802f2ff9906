"""Fixtures of the storage tests."""

from pathlib import Path

import pytest


@pytest.fixture
def db_path(disk_dir) -> Path:
    """Path of a database directory that does not exist yet."""
    return disk_dir / "db"

