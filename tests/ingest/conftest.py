"""Helpers of the ingest tests."""

from pathlib import Path

import pyarrow as pa
import pytest

from mapdb.ingest import IngestError, expand_sources, open_source


def read(path: Path, fmt: str | None = None, **kw) -> pa.Table:
    """Expand one path, open it and read everything."""
    [src] = expand_sources([path], fmt)
    with open_source(src, **kw) as stream:
        return stream.read_all()


def read_error(path: Path, fmt: str | None = None, **kw) -> IngestError:
    """The IngestError raised while opening or reading ``path``."""
    with pytest.raises(IngestError) as info:
        read(path, fmt, **kw)
    return info.value



@pytest.fixture
def write(tmp_path):
    """write(name, content) -> path; bytes or str content."""

    def _write(name: str, content: bytes | str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        return path

    return _write
