"""Streaming CSV reads with bounded memory, measured in a fresh process.

pyarrow allocations are invisible to tracemalloc, so the child reports the peak of
pyarrow's memory pool and the peak of its resident set size (reset after imports and a
warm-up read) around the read.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

CHILD = r"""
import json, sys, time
from pathlib import Path
import pyarrow as pa
from mapdb.ingest import Source, open_source

path, block = Path(sys.argv[1]), int(sys.argv[2])
# Warm up on a small file: the first read faults in pyarrow's code, which is not data.
warm = path.with_name("warm.csv")
warm.write_bytes(path.open("rb").read(1 << 20).rsplit(b"\n", 1)[0] + b"\n")
with open_source(Source(warm, "csv", ","), block_size=1 << 16) as stream:
    stream.read_all()
pool = pa.default_memory_pool()
def status(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key + ":"))
# Reset the peak resident size (VmHWM) so that imports and warm-up do not count.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
rss0 = status("VmRSS")
pool0 = pool.max_memory()
t0 = time.perf_counter()
rows = batches = 0
with open_source(Source(path, "csv", ","), block_size=block) as stream:
    for batch in stream:
        rows += batch.num_rows
        batches += 1
    done = stream.bytes_read == stream.total_bytes
print(json.dumps({
    "rows": rows, "batches": batches, "progress_done": done,
    "seconds": time.perf_counter() - t0,
    "pool_peak": pool.max_memory() - pool0,
    "rss_growth": status("VmHWM") - rss0,
}))
"""


def make_csv(path: Path, target_bytes: int) -> int:
    """Write a mixed-type CSV of about target_bytes in slices; return its row count."""
    rng = np.random.default_rng(0)
    rows, n = 0, 200_000
    names = np.array([f"carrier-{i:03d}" for i in range(500)])
    with pacsv.CSVWriter(path, pa.schema([
            ("id", pa.int64()), ("x", pa.float64()), ("name", pa.string()),
            ("day", pa.date32()), ("flag", pa.bool_()), ("big", pa.int64())])) as writer:
        while path.stat().st_size < target_bytes:
            ids = np.arange(rows, rows + n)
            writer.write_table(pa.table({
                "id": ids, "x": rng.random(n), "name": names[ids % 500],
                "day": pa.array((ids % 20_000).astype(np.int32)).cast(pa.date32()),
                "flag": ids % 3 == 0, "big": rng.integers(0, 1 << 40, n)}))
            rows += n
    return rows


def run_child(path: Path, block: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(block)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_memory_is_bounded_by_the_block_size(tmp_path):
    path = tmp_path / "mid.csv"
    rows = make_csv(path, 60 << 20)
    block = 4 << 20
    got = run_child(path, block)
    assert got["rows"] == rows
    assert got["batches"] >= path.stat().st_size // block
    assert got["progress_done"]
    # The whole file parsed would be ~60 MB of pool memory and twice that resident: we
    # stay at a few blocks (about 3x in the pool, 7x resident).
    assert got["pool_peak"] < 6 * block, got
    assert got["rss_growth"] < 14 * block, got


@pytest.mark.slow
def test_200mb_csv_with_default_blocks(tmp_path):
    path = tmp_path / "big.csv"
    rows = make_csv(path, 200 << 20)
    got = run_child(path, 16 << 20)
    assert got["rows"] == rows
    assert got["pool_peak"] < 150 << 20, got
    assert got["rss_growth"] < 250 << 20, got
