"""Helpers shared by the benchmarks: TPC-H data, disk usage, page-cache eviction, I/O
counters, saved answers, error texts, the geometric mean."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

HERE = Path(__file__).parent
DATA = HERE / "data"
RESULTS = HERE / "results"


def query_path(name: str) -> Path:
    """A benchmark query's file: TPC-H's (q1, q6, ...) from queries/tpch/, the
    lineitem-only ones from queries/."""
    if name[:1] == "q" and name[1:].isdigit():
        return HERE / "queries" / "tpch" / f"q{int(name[1:]):02d}.sql"
    return HERE / "queries" / f"{name}.sql"


def tpch_parquet(scale: float, table: str = "lineitem") -> Path:
    out = DATA / f"tpch-sf{scale:g}"
    path = out / f"{table}.parquet"
    if not path.exists():
        print(f"generating TPC-H {table} at scale factor {scale:g} with tpchgen-cli ...")
        subprocess.run([str(Path(sys.executable).parent / "tpchgen-cli"), "parquet", "-s",
                        f"{scale:g}", f"--tables={table}", f"--output-dir={out}"], check=True)
    return path


def files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file())


def du(path: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in files_under(path))


def evict(paths: list[Path]) -> None:
    """Drop every file under ``paths`` from the page cache (fsync first: dirty pages stay)."""
    for path in paths:
        for p in files_under(path) if path.exists() else []:
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def read_bytes() -> int:
    """Bytes this process (all its threads) caused to be read from storage."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("read_bytes:"))


def save_answer(path: Path, answer: pa.Table) -> None:
    """An answer as an Arrow IPC file, for the runner to check against another engine's."""
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, answer.schema) as w:
        w.write_table(answer)


def read_answer(path: Path) -> pa.Table | None:
    """The answer save_answer wrote there, None if there is none."""
    if not path.exists():
        return None
    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_file(src).read_all()


def error_text(e: BaseException) -> str:
    """An exception as a report records it: its first line, at most 200 characters."""
    return f"{type(e).__name__}: {e}".splitlines()[0][:200]


def geomean(xs: list[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(x) for x in xs)) if xs else None


def timed(fn, runs: int) -> tuple[list[float], object]:
    """``fn`` run once to warm, then ``runs`` times: (the timed runs' seconds, its result)."""
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times, out
