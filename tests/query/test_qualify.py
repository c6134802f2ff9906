"""QUALIFY answered as DuckDB answers it (issue 17 item 3; query/qualify.py rewrites it as
a filter over the query without it): window results by alias or written out, with
DISTINCT, ORDER BY, LIMIT, GROUP BY, * and in subqueries."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

QUERIES = [
    "SELECT g, x, row_number() OVER (PARTITION BY g ORDER BY x) AS rn FROM t QUALIFY rn = 1 "
    "ORDER BY g NULLS FIRST",
    "SELECT g, x FROM t QUALIFY row_number() OVER (PARTITION BY g ORDER BY x DESC) <= 2 "
    "ORDER BY g, x",
    "SELECT * FROM t QUALIFY rank() OVER (ORDER BY x) <= 3 ORDER BY x",
    "SELECT g, sum(x) AS s FROM t GROUP BY g QUALIFY rank() OVER (ORDER BY sum(x) DESC) = 1",
    "SELECT DISTINCT g FROM t QUALIFY count(*) OVER (PARTITION BY g) > 1 ORDER BY g",
    "SELECT g, x FROM t WHERE x > 1 QUALIFY x > avg(x) OVER (PARTITION BY g) "
    "ORDER BY 1, 2 LIMIT 2",
    "SELECT count(*) FROM (SELECT x FROM t QUALIFY lag(x) OVER (ORDER BY x) IS NOT NULL)",
    "SELECT g, x, x - lag(x) OVER (ORDER BY x) AS d FROM t QUALIFY d > 1 ORDER BY x",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({
        "g": ["a", "b", "a", "c", None, "b", "a", "c", "a"],
        "x": pa.array([1, 2, 3, 4, 5, 6, 7, 10, 9], pa.int64()),
        "y": [0.5, -1.0, None, 2.5, 3.0, 4.0, 1.5, -2.0, 0.0],
    })
    e = engines_over(tmp_path_factory.mktemp("qualify") / "db", {"t": data})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_qualify_equals_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


def test_qualify_without_a_window_function_is_refused(engines):
    with pytest.raises(QueryError, match="window function") as e:
        engines.db.sql("SELECT x FROM t QUALIFY x > 1").fetchall()
    assert "line 1, column" in str(e.value)
