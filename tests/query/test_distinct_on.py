"""SELECT DISTINCT ON (keys) answered as DuckDB answers it (issue 17; query/distincton.py
rewrites it as row_number() = 1 per key): NULL keys, several keys, positions and aliases,
ORDER BY items outside the select list, GROUP BY, windows, QUALIFY, LIMIT, subqueries."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

# the ORDER BY leaves no ties inside a key, so the row kept is DuckDB's
QUERIES = [
    "SELECT DISTINCT ON (g) g, x FROM t ORDER BY g, x DESC",
    "SELECT DISTINCT ON (g) g, g, x + 1, x + 1 FROM t ORDER BY g, x DESC",
    "SELECT DISTINCT ON (g) g, x FROM t ORDER BY x DESC",
    "SELECT DISTINCT ON (g) x FROM t ORDER BY x DESC",
    "SELECT DISTINCT ON (g) x AS z FROM t ORDER BY z DESC",
    "SELECT DISTINCT ON (g) x AS z FROM t ORDER BY 1 DESC",
    "SELECT DISTINCT ON (1) g, x FROM t ORDER BY x",
    "SELECT DISTINCT ON (z) g AS z, x FROM t ORDER BY x",
    "SELECT DISTINCT ON (x) g AS x, x AS g FROM t ORDER BY g",
    "SELECT DISTINCT ON (g, h) g, h, x FROM t ORDER BY x",
    "SELECT DISTINCT ON (g, h) g, h, x FROM t ORDER BY x LIMIT 3",
    "SELECT DISTINCT ON (g) g, x FROM t ORDER BY x DESC LIMIT 2 OFFSET 1",
    "SELECT DISTINCT ON (g) g, x, y FROM t ORDER BY y NULLS FIRST, x",
    "SELECT DISTINCT ON (g) g, x FROM t ORDER BY y DESC, x",
    "SELECT DISTINCT ON (g) * FROM t ORDER BY y NULLS FIRST, x",
    "SELECT DISTINCT ON (x % 3) x % 3, x FROM t ORDER BY y, x",
    "SELECT DISTINCT ON (x % 3) x FROM t ORDER BY x % 3, y, x",
    "SELECT DISTINCT ON (g) g, x FROM t WHERE x > 3 ORDER BY ALL",
    "SELECT DISTINCT ON (g) g, x FROM t ORDER BY ALL DESC",
    "SELECT DISTINCT ON (g) g, sum(x) FROM t GROUP BY g, h ORDER BY sum(x)",
    "SELECT DISTINCT ON (g) g, sum(x) AS s FROM t GROUP BY g, h ORDER BY s DESC",
    "SELECT DISTINCT ON (h) h, g, count(*) FROM t GROUP BY ALL ORDER BY 3 DESC, g",
    "SELECT DISTINCT ON (g) g, x, row_number() OVER (ORDER BY x) AS rn FROM t "
    "ORDER BY x DESC",
    "SELECT DISTINCT ON (g) g, x FROM t QUALIFY row_number() OVER "
    "(PARTITION BY g ORDER BY x) >= 2 ORDER BY x",
    "SELECT DISTINCT ON (t.g) t.g, x FROM t ORDER BY x",
    "SELECT DISTINCT ON (y) y, x FROM t ORDER BY x DESC",
    "SELECT DISTINCT ON (g) g, h, sum(x) FROM t GROUP BY ROLLUP (g, h) ORDER BY sum(x), g, h",
    "SELECT DISTINCT ON (t.g) t.g, u.v FROM t JOIN u ON t.h = u.h ORDER BY u.v, t.x",
    "SELECT count(*), sum(x) FROM (SELECT DISTINCT ON (g) g, x FROM t ORDER BY x DESC)",
    "WITH d AS (SELECT DISTINCT ON (g) g, x FROM t ORDER BY x) "
    "SELECT * FROM d ORDER BY x",
    "(SELECT DISTINCT ON (g) g, x FROM t ORDER BY x DESC) UNION ALL SELECT 'q', 1",
    "SELECT g, (SELECT count(*) FROM (SELECT DISTINCT ON (h) h FROM t)) AS n FROM t "
    "ORDER BY x",
]

# no ORDER BY: any row of each key, so only the keys (or counts) are compared
UNORDERED = [
    "SELECT DISTINCT ON (g) g FROM t",
    "SELECT DISTINCT ON (g, h) g, h FROM t",
    "SELECT count(*) FROM (SELECT DISTINCT ON (g) x FROM t)",
    "SELECT g, count(*) FROM (SELECT DISTINCT ON (g, h) * FROM t) GROUP BY g",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({
        "g": ["a", "b", "a", "c", None, "b", "a", "c", "a", None],
        "x": pa.array([1, 2, 3, 4, 5, 6, 7, 10, 9, 8], pa.int64()),
        "y": [0.5, -1.0, None, 2.5, 3.0, 4.0, 1.5, -2.0, 0.0, 1.0],
        "h": pa.array([1, 1, 2, 2, 1, 2, 1, 1, 2, 2], pa.int32()),
    })
    other = pa.table({"h": pa.array([1, 2, 2], pa.int32()), "v": ["p", "q", "r"]})
    e = engines_over(tmp_path_factory.mktemp("distinct_on") / "db", {"t": data, "u": other})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES + UNORDERED)
def test_distinct_on_equals_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


def test_distinct_on_is_not_plain_distinct(engines):
    # the broken variant (DISTINCT ON read as DISTINCT over all items) keeps more rows
    rows = check(engines, "SELECT DISTINCT ON (g) g, x FROM t ORDER BY x")
    assert len(rows) == 4


@pytest.mark.parametrize("sql, match", [
    ("SELECT DISTINCT ON (3) g, x FROM t ORDER BY x", "position 3"),
    ("SELECT DISTINCT ON (2) * FROM t ORDER BY x", "beside \\*"),
    ("SELECT DISTINCT ON ('a') g FROM t", "constant"),
])
def test_distinct_on_refusals(engines, sql, match):
    with pytest.raises(QueryError, match=match) as e:
        engines.db.sql(sql).fetchall()
    assert "line 1, column" in str(e.value)
