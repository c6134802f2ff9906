"""GROUP BY ROLLUP / CUBE / GROUPING SETS and GROUPING() answered as DuckDB answers them
(issue 17 item 3; query/groupingsets.py rewrites them as a UNION ALL of grouped queries)."""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import QueryError

QUERIES = [
    "SELECT g, h, sum(x) FROM t GROUP BY ROLLUP (g, h) ORDER BY 1, 2",
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
    db = mapdb.connect(tmp_path_factory.mktemp("gsets") / "db")
    db.create_table("t", data)
    con = duckdb.connect()
    con.register("t", data)
    yield db, con
    db.close()
    con.close()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return a == b


@pytest.mark.parametrize("sql", QUERIES)
def test_grouping_sets_equal_duckdb(engines, sql):
    db, con = engines
    want = con.execute(sql)
    want_rows, want_names = want.fetchall(), [d[0] for d in want.description]
    got = db.sql(sql)
    got_rows = got.fetchall()
    assert len(got_rows) == len(want_rows), (sql, got_rows, want_rows)
    if "LIMIT" not in sql:
        # a grand total and a NULL key's own group tie on every key: compared as multisets
        # (the order of the keys is checked by test_order_over_the_union)
        got_rows, want_rows = sorted(got_rows, key=repr), sorted(want_rows, key=repr)
    for r, w in zip(got_rows, want_rows, strict=True):
        assert all(_same(a, b) for a, b in zip(r, w, strict=True)), (sql, got_rows, want_rows)
    assert db.sql(sql).to_arrow().column_names == want_names


def test_order_over_the_union(engines):
    """ORDER BY applies to the union of the sets: keys in DuckDB's order."""
    db, con = engines
    sql = ("SELECT g, h, sum(x) AS s FROM t WHERE g IS NOT NULL GROUP BY ROLLUP (g, h) "
           "ORDER BY g DESC NULLS LAST, h NULLS FIRST, s")
    assert db.sql(sql).fetchall() == con.execute(sql).fetchall()


@pytest.mark.parametrize("sql,needle", [
    ("SELECT g, row_number() OVER () FROM t GROUP BY ROLLUP (g)", "window"),
    ("SELECT DISTINCT g FROM t GROUP BY ROLLUP (g)", "DISTINCT"),
    ("SELECT g, sum(x) FROM t GROUP BY ROLLUP (g) ORDER BY avg(y)", "ORDER BY"),
])
def test_refused_with_position(engines, sql, needle):
    db, _ = engines
    with pytest.raises(QueryError, match=needle) as e:
        db.sql(sql).fetchall()
    assert "line 1, column" in str(e.value)
