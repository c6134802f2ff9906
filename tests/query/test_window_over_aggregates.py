"""Window functions over the same SELECT's aggregates (sum(sum(x)) OVER (...), issue 17
item 3) answered as DuckDB answers them; an aggregate nested in an aggregate (not a
window) stays refused."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, engines_over

QUERIES = [
    "SELECT g, sum(x), sum(sum(x)) OVER () FROM w GROUP BY g ORDER BY g",
    "SELECT g, sum(x) / sum(sum(x)) OVER () AS share FROM w GROUP BY g ORDER BY g",
    "SELECT g, sum(count(*)) OVER (ORDER BY g ROWS BETWEEN UNBOUNDED PRECEDING AND "
    "CURRENT ROW) AS running FROM w GROUP BY g ORDER BY g",
    "SELECT sum(sum(x)) OVER () FROM w",
    "SELECT g, avg(max(x)) OVER (PARTITION BY g % 2) FROM w GROUP BY g ORDER BY g",
    "SELECT g, max(min(x) + 1) OVER (), min(count(x)) OVER () FROM w GROUP BY g ORDER BY g",
    "SELECT g, count(sum(x)) OVER (PARTITION BY g > 1) FROM w GROUP BY g ORDER BY g",
    "SELECT g, rank() OVER (ORDER BY sum(x) DESC NULLS LAST), sum(sum(x)) OVER "
    "(ORDER BY g ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM w GROUP BY g ORDER BY g",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({"g": pa.array([1, 1, 2, 3, 4, 4, 4], pa.int32()),
                     "x": pa.array([10, 20, 5, None, 1, 2, 3], pa.int32())})
    e = engines_over(tmp_path_factory.mktemp("winagg") / "db", {"w": data})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_window_over_aggregates_equals_duckdb(engines, sql):
    check(engines, sql)  # both paths (names: tests/query/test_column_names.py)


def test_aggregates_nested_deeper_are_refused(engines):
    db = engines.db
    for sql in ("SELECT g, sum(sum(sum(x))) OVER () FROM w GROUP BY g",
                "SELECT sum(max(x)) FROM w"):
        with pytest.raises(QueryError, match="cannot be nested"):
            db.sql(sql).fetchall()
