"""GROUP BY ROLLUP / CUBE / GROUPING SETS and GROUPING() answered as DuckDB answers them
(issue 17 item 3; query/groupingsets.py rewrites them as a UNION ALL of grouped queries)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

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
