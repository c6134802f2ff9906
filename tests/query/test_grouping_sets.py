"""GROUP BY ROLLUP / CUBE / GROUPING SETS and GROUPING() answered as DuckDB answers them
(issue 17 item 3; query/groupingsets.py rewrites them as a UNION ALL of grouped queries)."""

from __future__ import annotations

import decimal

import pyarrow as pa
import pytest

from mapdb.errors import QueryError
from mapdb.query import groupingsets

from .compare import check, check_names, engines_over

QUERIES = [
    "SELECT g, h, sum(x) FROM t GROUP BY ROLLUP (g, h) ORDER BY 1, 2",
    # a rolled-up key inside an aggregate sqlglot does not know (mean, arg_max, product)
    # is still each row's value (mean(x) of a rolled-up x was NULL)
    "SELECT x, mean(x), arg_max(h, x), product(x) FROM t GROUP BY CUBE (g, 1) "
    "ORDER BY ALL",
    # the empty set is one row without aggregates too (it was one per input row)
    "SELECT g FROM t GROUP BY ROLLUP (g) ORDER BY 1",
    "SELECT NULL FROM t GROUP BY GROUPING SETS ((g), ())",
    "SELECT g, h FROM t WHERE x < 0 GROUP BY CUBE (g, h)",
    "SELECT NULL FROM (SELECT g, min(x) AS m FROM t GROUP BY g) q GROUP BY GROUPING SETS "
    "((g), ())",  # (an aggregate in a subquery does not make the empty set one row)
    # a rolled-up key in string functions and NULLIF (an untyped NULL had no Arrow kernel)
    "SELECT g, substring(g, -1, 2), nullif(g, g), upper(g), length(g), sum(x) FROM t "
    "GROUP BY ROLLUP (g) ORDER BY 1",
    "SELECT g, h, count(*) AS n FROM t GROUP BY CUBE (g, h) ORDER BY g NULLS FIRST, h, n",
    "SELECT g, h, avg(y) FROM t GROUP BY GROUPING SETS ((g, h), (g), ()) ORDER BY 1, 2",
    "SELECT g, h, sum(x) FROM t GROUP BY g, ROLLUP (h) ORDER BY 1, 2",
    "SELECT g, grouping(g), grouping(g, h), sum(x) FROM t GROUP BY ROLLUP (g, h) "
    "ORDER BY 1, 2, 3, 4",
    "SELECT g, h, sum(x) FROM t GROUP BY ROLLUP (g, h) HAVING sum(x) > 3 ORDER BY 1, 2",
    "SELECT coalesce(g, 'all') AS grp, sum(x) AS s FROM t GROUP BY ROLLUP (g) "
    "ORDER BY grp",
    "SELECT g, h, sum(x) FROM t GROUP BY GROUPING SETS ((g), (h)) ORDER BY 1, 2, 3",
    "SELECT g, min(s), max(y), count(DISTINCT h) FROM t GROUP BY ROLLUP (g) ORDER BY 1, 2",
    "SELECT g, sum(x) AS s FROM t WHERE x > 1 GROUP BY ROLLUP (g) ORDER BY s DESC LIMIT 2",
    "SELECT * FROM (SELECT g, sum(x) AS s FROM t GROUP BY CUBE (g)) q WHERE g IS NULL "
    "ORDER BY s",
    "WITH c AS (SELECT * FROM t WHERE x < 8) SELECT h, count(*) FROM c GROUP BY ROLLUP (h) "
    "ORDER BY 1",
    "SELECT g, h, sum(x) FROM t GROUP BY ROLLUP (g, h) ORDER BY sum(x), 1, 2",
    "SELECT g || '-' || h AS gh, sum(x) FROM t GROUP BY ROLLUP (g, h) ORDER BY 1, 2",
    # window functions and ORDER BY items that are no output column: over the union
    "SELECT g, sum(x), rank() OVER (PARTITION BY grouping(g) ORDER BY sum(x) DESC) AS r "
    "FROM t GROUP BY ROLLUP (g) ORDER BY 1, 2, 3",
    "SELECT g, h, sum(x), avg(sum(x)) OVER (PARTITION BY g) FROM t GROUP BY ROLLUP (g, h) "
    "ORDER BY 1, 2",
    "SELECT g, h, sum(x) AS s, grouping(g) + grouping(h) AS lochierarchy, rank() OVER "
    "(PARTITION BY grouping(g) + grouping(h), CASE WHEN grouping(h) = 0 THEN g END "
    "ORDER BY sum(x) DESC NULLS LAST) AS rk FROM t GROUP BY ROLLUP (g, h) ORDER BY "
    "lochierarchy DESC, CASE WHEN lochierarchy = 0 THEN g END, rk, h",  # TPC-DS q36/q70
    "SELECT g, sum(x) FROM t GROUP BY ROLLUP (g) ORDER BY avg(y), 1",
    "SELECT g, h, avg(y) FROM t GROUP BY ROLLUP (g, h) ORDER BY g NULLS FIRST, "
    "h NULLS FIRST, grouping(g), grouping(h)",  # TPC-DS q18
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({
        "g": ["a", "b", "a", "c", None, "b", "a", "c", "a"],
        "h": ["p", "p", "q", "q", "p", None, "q", "p", "p"],
        "x": pa.array([1, 2, 3, None, 5, 6, 7, 8, 9], pa.int64()),
        "y": [0.5, -1.0, None, 2.5, 3.0, 4.0, 1.5, -2.0, 0.0],
        "s": ["k", "l", None, "m", "n", "o", "p", "q", "r"],
        "d": pa.array([decimal.Decimal(v) if v else None for v in
                       ("1.25", "2.50", None, "-3.75", "0.01", "9.99", "1.00", "2.22",
                        "3.33")], pa.decimal128(7, 2)),
    })
    e = engines_over(tmp_path_factory.mktemp("gsets") / "db", {"t": data})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_grouping_sets_equal_duckdb(engines, sql):
    """Compared in order only where ORDER BY names every output column (a grand total
    and a NULL key's own group tie on every key otherwise)."""
    check(engines, sql)
    check_names(engines, sql)


def test_order_over_the_union(engines):
    """ORDER BY applies to the union of the sets: keys in DuckDB's order."""
    check(engines, "SELECT g, h, sum(x) AS s FROM t WHERE g IS NOT NULL GROUP BY ROLLUP "
          "(g, h) ORDER BY g DESC NULLS LAST, h NULLS FIRST, s", ordered=True)


@pytest.mark.parametrize("sql,needle", [
    ("SELECT g, g, row_number() OVER () FROM t GROUP BY ROLLUP (g)", "window"),
    ("SELECT DISTINCT g FROM t GROUP BY ROLLUP (g)", "DISTINCT"),
    ("SELECT g FROM t GROUP BY ROLLUP ()", "cannot be empty"),
    ("SELECT g, g, sum(x) FROM t GROUP BY ROLLUP (g) ORDER BY avg(y)", "ORDER BY"),
])
def test_refused_with_position(engines, sql, needle):
    db = engines.db
    with pytest.raises(QueryError, match=needle) as e:
        db.sql(sql).fetchall()
    assert "line 1, column" in str(e.value)


# Each set aggregating one shared partial aggregation (groupingsets._shared_partial): the
# input runs once. Types as well as values must be the per-set queries' (DuckDB's).
SHARED = [
    "SELECT g, h, count(*), count(x), count(s), sum(x), min(s), max(y), avg(x), avg(y) "
    "FROM t GROUP BY CUBE (g, h)",
    "SELECT g, sum(d), avg(d), min(d), count(d) FROM t GROUP BY ROLLUP (g)",
    # FILTER is on the rows: a rolled-up key inside it keeps each row's value
    "SELECT g, count(*) FILTER (WHERE g = 'a'), avg(x) FILTER (WHERE h = 'p') FROM t "
    "GROUP BY ROLLUP (g, h)",
    "SELECT g, h, sum(x) FROM t WHERE x > 100 GROUP BY ROLLUP (g, h)",  # no rows: 1 total
    "SELECT count(*), avg(y), sum(x) FROM t WHERE x > 100 GROUP BY GROUPING SETS ((g), ())",
    "SELECT upper(g), sum(x) / count(*) + 1, grouping(g) FROM t GROUP BY ROLLUP (g) "
    "HAVING avg(y) IS NULL OR count(*) > 1",
    # a key matches its column written with or without the table (was refused)
    "SELECT t.g, h, sum(t.x) FROM t GROUP BY ROLLUP (g, t.h)",
    "SELECT g, t.h, count(*) FROM t GROUP BY ROLLUP (t.g, h) HAVING t.g IS NULL OR h > 'p'",
    "SELECT substr(s, 1, 1) AS c, sum(x) FROM t GROUP BY ROLLUP (substr(s, 1, 1))",
    "WITH u AS (SELECT * FROM t WHERE x > 1) SELECT g, sum(x) FROM u GROUP BY ROLLUP (g)",
    "SELECT * FROM (SELECT g, sum(x) AS s FROM t GROUP BY ROLLUP (g)) q "
    "UNION ALL SELECT h, sum(x) FROM t GROUP BY CUBE (h)",
    "SELECT a.g, b.h, count(*) FROM t a JOIN t b ON a.x = b.x GROUP BY ROLLUP (a.g, b.h)",
]

# The same answers through the per-set branches (not shareable).
UNSHARED = [
    "SELECT g, count(DISTINCT h), median(x) FROM t GROUP BY ROLLUP (g)",
    "SELECT g, sum(x) + (SELECT max(x) FROM t) FROM t GROUP BY ROLLUP (g)",
    # inside an expression: it may read the outer query's columns
    "SELECT g, (SELECT count(*) FROM (SELECT h, sum(x) FROM t u GROUP BY ROLLUP (h)) "
    "WHERE h = o.h) FROM t o",
]


def _shared(engines, sql: str) -> bool:
    plan = engines.db.sql("EXPLAIN " + sql).fetchall()
    return any("__mapdb_gs_partial" in line for line, in plan)


@pytest.mark.parametrize("sql", SHARED)
def test_shared_partial_equals_duckdb(engines, sql, monkeypatch):
    assert _shared(engines, sql)
    check(engines, sql)
    check_names(engines, sql)
    shared = engines.db.sql(sql).to_arrow().schema.types
    monkeypatch.setattr(groupingsets, "_shared_partial", lambda *a: None)
    per_set = engines.db.sql(f"SELECT * FROM ({sql}) AS per_set").to_arrow().schema.types
    assert shared == per_set


@pytest.mark.parametrize("sql", UNSHARED)
def test_unshareable_sets_equal_duckdb(engines, sql):
    assert not _shared(engines, sql)
    check(engines, sql)
