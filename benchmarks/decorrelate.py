"""Correlated subqueries with a correlation other than equality (query/decorrelate.py)
against DuckDB, warm, same process: a 1M-row table, ``<`` alone and ``=`` beside ``<``.

    PYTHONPATH=. python -m benchmarks.decorrelate [rows]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

import duckdb
import numpy as np
import pyarrow as pa

import mapdb

QUERIES = {
    "lt": "SELECT count(*), sum(d) FROM f WHERE d > (SELECT avg(d) FROM f g "
          "WHERE g.month < f.month)",
    "eq_lt": "SELECT count(*), sum(d) FROM f WHERE d > (SELECT avg(d) FROM f g "
             "WHERE g.carrier = f.carrier AND g.month < f.month)",
    "count_le": "SELECT sum((SELECT count(*) FROM f g WHERE g.day <= f.day)) FROM f",
}


def best(run, n=5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main(rows: int = 1_000_000) -> None:
    rng = np.random.default_rng(1)
    table = pa.table({
        "carrier": pa.array([f"c{i}" for i in rng.integers(0, 16, rows)]),
        "month": pa.array(rng.integers(1, 13, rows), pa.int32()),
        "day": pa.array(rng.integers(1, 366, rows), pa.int32()),
        "d": pa.array(np.where(rng.random(rows) < 0.02, np.nan, rng.normal(10, 40, rows))),
    })
    table = table.set_column(3, "d", pa.array(table["d"].to_numpy(zero_copy_only=False),
                                                  from_pandas=True))
    db = mapdb.connect(tempfile.mkdtemp() + "/bench.mapdb")
    db.create_table("f", table)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("arrow_f", table)
    con.execute("CREATE TABLE f AS SELECT * FROM arrow_f")
    for name, sql in QUERIES.items():
        got = db.sql(sql).fetchall()
        want = con.execute(sql).fetchall()
        same = all(abs(a - b) <= 1e-6 * max(1, abs(b)) for a, b in zip(got[0], want[0]))
        m = best(lambda sql=sql: db.sql(sql).to_arrow())
        d = best(lambda sql=sql: con.execute(sql).fetchall())
        print(f"{name:9} mapdb {m[0] * 1000:8.1f} ms  duckdb {d[0] * 1000:7.1f} ms  "
              f"ratio {m[0] / d[0]:5.1f}x  same answer: {same}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
