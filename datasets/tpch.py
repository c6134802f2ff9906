"""TPC-H in a mapdb database: the eight tables at any scale factor.

    python -m datasets.tpch --scale 1 tpch.mapdb                      # all 8 tables
    python -m datasets.tpch --scale 10 tpch.mapdb --tables lineitem,orders
    python -m datasets.tpch --scale 1 tpch.mapdb --parquet-dir data/  # keep the Parquet

The data comes from ``tpchgen-cli`` (pip install tpchgen-cli: a Rust generator shipped as
a wheel; mapdb's ``bench`` extra includes it), which writes one Parquet file per table;
each file is ingested as one mapdb job. Scale factor 1 is about 1 GB of data (lineitem:
6,001,215 rows), generated in seconds. Without ``--parquet-dir`` the Parquet files are
written next to the database and removed once ingested; with it they are kept there and
reused by later runs. Tables already in the database are left as they are (drop them, or
use another database, to load another scale factor). Each table's primary key gets a
unique hash index (``--no-indexes``: none); lineitem and orders come out of the
generator ordered by order key, which mapdb records as a sorted attribute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mapdb

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders",
          "lineitem"]
PRIMARY_KEYS = {"region": "r_regionkey", "nation": "n_nationkey", "supplier": "s_suppkey",
                "customer": "c_custkey", "part": "p_partkey", "orders": "o_orderkey"}
ROWS_SF1 = {"region": 5, "nation": 25, "supplier": 10_000, "customer": 150_000,
            "part": 200_000, "partsupp": 800_000, "orders": 1_500_000,
            "lineitem": 6_001_215}


def tpchgen() -> str:
    """The tpchgen-cli executable: next to this Python's, else on PATH."""
    exe = Path(sys.executable).parent / "tpchgen-cli"
    found = str(exe) if exe.exists() else shutil.which("tpchgen-cli")
    if found is None:
        raise mapdb.MapdbError("tpchgen-cli is not installed (pip install tpchgen-cli)")
    return found


def generate(scale: float, out_dir: str | os.PathLike, tables: list[str] = TABLES
             ) -> dict[str, Path]:
    """Parquet files of ``tables`` at ``scale`` in ``out_dir`` (files already there are
    reused): {table: path}."""
    out = Path(out_dir)
    paths = {t: out / f"{t}.parquet" for t in tables}
    todo = [t for t, p in paths.items() if not p.exists()]
    if todo:
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([tpchgen(), "parquet", "-s", f"{scale:g}", f"--tables={','.join(todo)}",
                        f"--output-dir={out}"], check=True)
    return paths


def build(db_path: str | os.PathLike, scale: float = 1, tables: list[str] = TABLES,
          parquet_dir: str | os.PathLike | None = None, indexes: bool = True,
          echo=print) -> mapdb.Database:
    """Open (creating it if missing) the database at ``db_path`` and load the TPC-H
    ``tables`` at ``scale`` that it does not have yet (see the module doc)."""
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise mapdb.MapdbError(f"unknown TPC-H table(s) {', '.join(unknown)}; "
                               f"tables: {', '.join(TABLES)}")
    db = mapdb.connect(db_path)
    todo = [t for t in tables if t not in db]
    if not todo:
        return db
    tmp = None
    if parquet_dir is None:
        tmp = tempfile.mkdtemp(prefix=".tpch-parquet-", dir=os.path.dirname(db.path))
    try:
        t0 = time.perf_counter()
        files = generate(scale, parquet_dir or tmp, todo)
        echo(f"generated TPC-H SF{scale:g} ({', '.join(todo)}) in "
             f"{time.perf_counter() - t0:.1f}s")
        for t in todo:
            t0 = time.perf_counter()
            res = db.ingest(t, files[t], mode="create", job_id=f"tpch-sf{scale:g}-{t}")
            msg = f"  {t:<9} {res.rows:>11,} rows in {time.perf_counter() - t0:6.1f}s"
            if indexes and t in PRIMARY_KEYS:
                t1 = time.perf_counter()
                db.table(t).create_index(PRIMARY_KEYS[t], unique=True).close()
                msg += f", unique index on {PRIMARY_KEYS[t]} in {time.perf_counter() - t1:.1f}s"
            echo(msg)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return db


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m datasets.tpch",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("db", help="database directory (created if missing)")
    ap.add_argument("--scale", type=float, default=1, help="scale factor (default 1)")
    ap.add_argument("--tables", type=lambda s: s.split(","), default=TABLES,
                    help=f"comma-separated (default: all: {','.join(TABLES)})")
    ap.add_argument("--parquet-dir", help="keep (and reuse) the generated Parquet here")
    ap.add_argument("--no-indexes", dest="indexes", action="store_false",
                    help="no unique hash indexes on the primary keys")
    args = ap.parse_args(argv)
    try:
        t0 = time.perf_counter()
        db = build(args.db, args.scale, args.tables, args.parquet_dir, args.indexes)
    except mapdb.MapdbError as e:
        ap.exit(1, f"error: {e}\n")
    for name in args.tables:
        info = db.table(name).describe()
        print(f"{name:<9} {info['rows']:>11,} rows  {info['bytes_on_disk'] / 2**20:9.1f} MiB")
    print(f"{db.path} ready in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
