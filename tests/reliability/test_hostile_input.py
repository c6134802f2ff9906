"""RELIABILITY.md 16: hostile CSV, NDJSON, Parquet and Arrow files. Every job either
imports cleanly or fails with a mapdb error naming the file (and the line or column where
there is one); a failed job leaves every table exactly as it was; memory stays bounded."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapdb.ingest import IngestError, expand_sources, open_source

from . import checks, hostile

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
_COUNTER = itertools.count()


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return checks.base_db(tmp_path_factory.mktemp("hostile") / "db")


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("inputs")


def _run(db, files_dir, ext: str, data: bytes, target: str) -> str:
    path = files_dir / f"in{next(_COUNTER)}.{ext}"
    path.write_bytes(data)
    if target == "new table":
        outcome = checks.run_ingest(db, str(path), f"n{next(_COUNTER)}", "create",
                                    fmt="arrow" if ext == "arrows" else None)
        checks.drop_extra_tables(db)
    else:
        outcome = checks.run_ingest(db, str(path), "t", "append",
                                    fmt="arrow" if ext == "arrows" else None)
    path.unlink()
    return outcome


TARGETS = st.sampled_from(["new table", "existing table"])


@SETTINGS
@given(data=hostile.csv_document(), target=TARGETS)
def test_hostile_csv(db, files_dir, data, target):
    outcome = _run(db, files_dir, "csv", data, target)
    assert not outcome.startswith("BUG"), f"{outcome}\ninput: {data[:500]!r}"


@SETTINGS
@given(data=hostile.ndjson_document(), target=TARGETS)
def test_hostile_ndjson(db, files_dir, data, target):
    outcome = _run(db, files_dir, "ndjson", data, target)
    assert not outcome.startswith("BUG"), f"{outcome}\ninput: {data[:500]!r}"


BINARY = hostile.binary_files()


@SETTINGS
@given(damaged=hostile.broken_binary(BINARY), target=TARGETS)
def test_broken_parquet_and_arrow(db, files_dir, damaged, target):
    ext, data = damaged
    outcome = _run(db, files_dir, ext, data, target)
    assert not outcome.startswith("BUG"), f"{outcome}\n{ext} input of {len(data)} bytes"


# -- regressions of what the generators found (each crashed or raised a non-mapdb error) --
@pytest.mark.parametrize("name,data,line", [
    ("deep.ndjson", b'{"k": 1}\n' + b'{"a":' * 20000 + b"1" + b"}" * 20000 + b"\n", 2),
    ("deep_arrays.ndjson", b"[" * 5000 + b"]" * 5000 + b"\n", 1),
    ("key.ndjson", b'{"a": 1}\n{"\x80abc": 1.5}\n', 2),
    ("header.csv", b"a\xff,b\n1,2\n", 1),
    ("null.ndjson", b'null\n{"a": 1}\n', 1),  # pyarrow crashed on a leading null
    ("null_later.ndjson", b'{"a": 1}\n\n  null\n', 3),
])
def test_found_by_the_generators(db, files_dir, name, data, line):
    path = files_dir / name
    path.write_bytes(data)
    [src] = expand_sources([path], None)
    with pytest.raises(IngestError) as e, open_source(src) as stream:
        stream.read_all()
    assert e.value.file == str(path) and e.value.line == line, str(e.value)
    assert checks.run_ingest(db, str(path), "t", "append").startswith("error: file and")


def test_damaged_arrow_stream_batches_are_refused(db, files_dir):
    """A zeroed run inside an IPC stream's record batch: pyarrow reads it without
    complaint, and a kernel over its offsets crashed the process before the batches were
    validated."""
    data = bytearray(BINARY["arrows"])
    hits = 0
    for at in range(600, len(data) - 64, (len(data) - 664) // 40):
        damaged = bytes(data[:at]) + bytes(64) + bytes(data[at + 64:])
        outcome = _run(db, files_dir, "arrows", damaged, "new table")
        assert not outcome.startswith("BUG"), (at, outcome)
        hits += outcome.startswith("error")
    assert hits > 10


MEMORY_CHILD = r"""
import json, sys
from pathlib import Path
from mapdb.ingest import IngestError, Source, open_source
path, fmt = Path(sys.argv[1]), sys.argv[2]
def status(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key + ":"))
import pyarrow as pa
pool = pa.default_memory_pool()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
rss0, pool0 = status("VmRSS"), pool.max_memory()
try:
    with open_source(Source(path, fmt, "," if fmt == "csv" else None), block_size=1 << 20,
                     max_field_bytes=4 << 20) as stream:
        stream.read_all()
    out = {"outcome": "imported"}
except IngestError as e:
    out = {"outcome": "IngestError", "line": e.line, "message": str(e)}
out.update(pool_peak=pool.max_memory() - pool0, rss_growth=status("VmHWM") - rss0)
print(json.dumps(out))
"""


@pytest.mark.parametrize("fmt,head", [
    ("csv", b'a,b\n1,"an unbalanced quote that runs on\n'),
    ("csv", b"a,b\n1,"),  # one giant field
    ("ndjson", b'{"a": 1}\n{"a": "'),  # one giant line
])
def test_memory_stays_bounded_on_a_hostile_file(tmp_path, fmt, head):
    """40 MB that never end a record: read in 1 MiB blocks up to max_field_bytes (4 MiB),
    then refused at the line where the record starts; memory stays a few times that."""
    path = tmp_path / f"big.{fmt}"
    with open(path, "wb") as f:
        f.write(head)
        for _ in range(40):
            f.write(b"x" * (1 << 20))
    r = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(path), fmt],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["outcome"] == "IngestError" and out["line"] == 2, out
    assert out["pool_peak"] < 32 << 20, out
    assert out["rss_growth"] < 64 << 20, out
