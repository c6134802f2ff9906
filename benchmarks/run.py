"""Benchmark runner (``make bench``): every benchmark, results in benchmarks/results/.

    python -m benchmarks.run                 # all, default sizes
    python -m benchmarks.run ingest --scale 1
    python -m benchmarks.run tpch --scale 1 --engines duckdb,polars
    python -m benchmarks.run tpch22 --scale 1 --engines duckdb,polars
    python -m benchmarks.run tpcds --scale 1 --runs 3
    python -m benchmarks.run stream_memory --rows 20000000
    python -m benchmarks.run topn --rows 30000000 --runs 5 [--no-topn]
    python -m benchmarks.run ssb --scale 1 --runs 3 --engines duckdb,polars
    python -m benchmarks.run h2o --rows 10000000 --runs 3 --suite groupby|join|all
    python -m benchmarks.run capped --scale 1 --caps 600M,300M    # root: memlimit, cold
"""

from __future__ import annotations

import sys

from benchmarks import (
    capped,
    h2o,
    ingest,
    lookup,
    os_layer,
    ssb,
    stream_memory,
    topn,
    tpcds,
    tpch,
    tpch22,
)

BENCHMARKS = {"os_layer": os_layer.main, "ingest": ingest.main, "tpch": tpch.main,
              "tpch22": tpch22.main, "tpcds": tpcds.main, "lookup": lookup.main,
              "stream_memory": stream_memory.main, "topn": topn.main, "ssb": ssb.main,
              "h2o": h2o.main}
ONLY_NAMED = {"capped": capped.main}  # needs root and cgroups: run only when named


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in BENCHMARKS | ONLY_NAMED:
        (BENCHMARKS | ONLY_NAMED)[args[0]](args[1:])
        return
    for name, fn in BENCHMARKS.items():
        print(f"== {name}")
        fn(args)


if __name__ == "__main__":
    main()
