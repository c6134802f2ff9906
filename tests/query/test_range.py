"""range() and generate_series() in FROM (issue 17 item 4), answered and named as DuckDB
does: integer series, stop excluded (range) or included (generate_series), any step."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

QUERIES = [
    "SELECT * FROM range(5)",
    "SELECT * FROM range(1, 10, 2) r(x)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT range FROM range(3)",
    "SELECT * FROM range(5, 1, -2)",
    "SELECT * FROM generate_series(5, 1, -2)",
    "SELECT * FROM range(0)",
    "SELECT * FROM range(-3)",
    "SELECT * FROM range(1 + 2)",
    "SELECT count(*), sum(range) FROM range(1000000)",
    "SELECT g, r.x FROM w, range(2) r(x) ORDER BY 1, 2",
    "SELECT generate_series % 3 AS m, count(*) FROM generate_series(-10, 10) "
    "GROUP BY m ORDER BY m",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({"g": pa.array([1, 1, 2], pa.int32())})
    e = engines_over(tmp_path_factory.mktemp("range") / "db", {"w": data})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_series_equal_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


@pytest.mark.parametrize("sql,needle", [
    ("SELECT * FROM range(1, 2, 0)", "step cannot be 0"),
    ("SELECT * FROM range(DATE '2020-01-01', DATE '2020-01-03', INTERVAL 1 DAY)",
     "constant integers"),
    ("SELECT * FROM range(1000000000000)", "the limit is"),
])
def test_refusals(engines, sql, needle):
    db = engines.db
    with pytest.raises(QueryError, match=needle):
        db.sql(sql).fetchall()
