"""Aggregates with FILTER (WHERE ...), and bool_and / bool_or / count_if, answered as
DuckDB answers them (issue 17 item 2):
every aggregate over the rows where the condition is true, NULL conditions excluded;
grouped, global, DISTINCT, over no rows, with HAVING and ORDER BY on the result."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

QUERIES = [
    "SELECT count(*) FILTER (WHERE x > 2) FROM t",
    "SELECT count(x) FILTER (WHERE g = 'a'), count(*) FILTER (WHERE b) FROM t",
    "SELECT sum(x) FILTER (WHERE x % 2 = 0), avg(y) FILTER (WHERE y > 0) FROM t",
    "SELECT min(s) FILTER (WHERE x < 5), max(s) FILTER (WHERE x >= 5) FROM t",
    "SELECT g, sum(x) FILTER (WHERE b), count(*) FILTER (WHERE NOT b), count(*) FROM t "
    "GROUP BY g ORDER BY g",
    "SELECT g, count(DISTINCT x) FILTER (WHERE x > 1) FROM t GROUP BY g ORDER BY g",
    "SELECT sum(x) FILTER (WHERE false), count(*) FILTER (WHERE NULL) FROM t",
    "SELECT g FROM t GROUP BY g HAVING count(*) FILTER (WHERE b) > 1 ORDER BY g",
    "SELECT g, sum(y) FILTER (WHERE x > 3) AS s FROM t GROUP BY g ORDER BY s NULLS FIRST, g",
    "SELECT stddev_samp(y) FILTER (WHERE g <> 'c'), var_pop(x) FILTER (WHERE b) FROM t",
    "SELECT sum(x) FILTER (x > 2) FROM t",
    "SELECT bool_and(b), bool_or(b), count_if(b) FROM t",
    "SELECT g, bool_and(x > 2), bool_or(x > 6), count_if(y > 0) FROM t GROUP BY g ORDER BY g",
    "SELECT bool_and(b) FILTER (WHERE g = 'zz'), bool_or(b) FILTER (WHERE x > 5) FROM t",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({
        "g": ["a", "b", "a", "c", None, "b", "a", "c"],
        "x": pa.array([1, 2, 3, None, 5, 6, 7, 8], pa.int64()),
        "y": [0.5, -1.0, None, 2.5, 3.0, float("nan"), 1.5, -2.0],
        "s": ["p", "q", None, "r", "s", "t", "u", "v"],
        "b": [True, False, None, True, True, False, True, None],
    })
    e = engines_over(tmp_path_factory.mktemp("filter") / "db", {"t": data})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_filter_clause_equals_duckdb(engines, sql):
    check(engines, sql)  # both paths
    check_names(engines, sql)


def test_filter_needs_an_aggregate_and_a_boolean(engines):
    db = engines.db
    with pytest.raises(QueryError, match="boolean"):
        db.sql("SELECT sum(x) FILTER (WHERE x) FROM t").fetchall()
    with pytest.raises(QueryError, match="nested"):
        db.sql("SELECT sum(x) FILTER (WHERE sum(x) > 1) FROM t").fetchall()
