"""OS-layer benchmark: scanning a mapped column in place vs reading it into the heap.

Sums an int64 column in place through a mapping versus reading it into the heap first
(numpy.fromfile), warm (in the page cache) and cold (evicted with fadvise DONTNEED).
Prints medians and ratios and writes them to benchmarks/results/os_layer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from mapdb import _ext

HERE = Path(__file__).parent


def _time(fn, runs: int, before=None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mib", type=int, default=1024, help="column size in MiB")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)

    data_dir = HERE / "data"
    data_dir.mkdir(exist_ok=True)
    path = data_dir / f"int64-{args.mib}MiB.col"
    n = args.mib * 1024 * 1024 // 8
    if not path.exists() or path.stat().st_size != n * 8:
        np.arange(n, dtype=np.int64).tofile(path)
    expected = n * (n - 1) // 2

    def mapped_sum():
        with _ext.Mapping(path) as m:
            m.advise(0, None, _ext.Advice.SEQUENTIAL)
            view = np.frombuffer(m, dtype=np.int64)
            assert int(view.sum()) == expected
            del view

    def heap_sum():
        assert int(np.fromfile(path, dtype=np.int64).sum()) == expected

    def evict():
        _ext.fadvise(path, advice=_ext.FileAdvice.DONTNEED)

    results = {}
    for state, before in (("warm", None), ("cold", evict)):
        mapped_sum()  # make warm really warm
        m = _time(mapped_sum, args.runs, before)
        h = _time(heap_sum, args.runs, before)
        results[state] = {"mapped_s": m, "heap_copy_s": h, "ratio": m / h,
                          "mapped_GBps": n * 8 / m / 1e9}
        print(f"{state}: mapped scan {m * 1e3:8.1f} ms ({n * 8 / m / 1e9:5.2f} GB/s)   "
              f"read-into-heap {h * 1e3:8.1f} ms   mapped/heap = {m / h:.2f}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "os_layer.json").write_text(json.dumps(
        {"mib": args.mib, "runs": args.runs, "cpus": os.cpu_count(), **results}, indent=2))


if __name__ == "__main__":
    main()
