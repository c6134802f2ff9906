"""COLUMNS(...) in the select list answered and named as DuckDB does (issue 17;
query/columnsexpr.py): regular expressions, *, t.*, EXCLUDE, lists of names, inside
expressions and aggregates, beside GROUP BY, joins, DISTINCT, QUALIFY, DISTINCT ON."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

QUERIES = [
    "SELECT COLUMNS('dep_.*') FROM t",
    "SELECT COLUMNS(*) FROM t",
    "SELECT g, COLUMNS('dep_.*') FROM t",
    "SELECT COLUMNS('x') FROM t",
    "SELECT COLUMNS('^x$') FROM t",
    "SELECT COLUMNS('(dep)_(.*)') FROM t",
    "SELECT COLUMNS('(?i)DEP') FROM t",
    "SELECT COLUMNS('dep_x|h') + 1 FROM t",
    "SELECT COLUMNS('dep_x|h') + 1 AS z FROM t",
    "SELECT COLUMNS('g') AS q FROM t",
    "SELECT COLUMNS('dep_x|h') + COLUMNS('dep_x|h') FROM t",
    "SELECT COLUMNS('x')::VARCHAR || COLUMNS('x')::VARCHAR FROM t",
    "SELECT coalesce(COLUMNS('dep_.*'), 0) FROM t",
    "SELECT COLUMNS('dep_.*') + x FROM t",
    "SELECT max(COLUMNS('dep_.*')) FROM t",
    "SELECT min(COLUMNS('dep_.*')), max(COLUMNS('dep_.*')) FROM t",
    "SELECT count(COLUMNS(*)) FROM t",
    "SELECT g, sum(COLUMNS('dep_.*')) FROM t GROUP BY g",
    "SELECT h, max(COLUMNS('dep.*')) FROM t GROUP BY ALL",
    "SELECT COLUMNS(* EXCLUDE (g)) FROM t",
    "SELECT COLUMNS(* EXCLUDE (g)) * 2 FROM t",
    "SELECT COLUMNS(* REPLACE (g || 'z' AS g)) FROM t",
    "SELECT x, COLUMNS(t.*) FROM t",
    "SELECT COLUMNS(['h', 'g']) FROM t",
    "SELECT COLUMNS(['h', 'G', 'g']) FROM t",
    "SELECT COLUMNS('h') FROM t JOIN u USING (h)",
    "SELECT COLUMNS('h') FROM t JOIN u ON t.h = u.h",
    "SELECT COLUMNS(['h']) FROM t JOIN u ON t.h = u.h",
    "SELECT COLUMNS(*) FROM t JOIN u ON t.h = u.h",
    "SELECT COLUMNS('.*') FROM t JOIN u USING (h)",
    "SELECT COLUMNS(u.*) FROM t JOIN u USING (h)",
    "SELECT COLUMNS('dep_.*') FROM t ORDER BY 1",
    "SELECT COLUMNS('dep_x|h') FROM t ORDER BY 2 DESC, 1",
    "SELECT COLUMNS('dep_x|h') FROM t ORDER BY dep_x",
    "SELECT DISTINCT COLUMNS('h|g') FROM t",
    "SELECT COLUMNS('dep_.*') FROM t WHERE x > 10 LIMIT 5",
    "SELECT sum(x) OVER (PARTITION BY COLUMNS('^g$|^h$')) FROM t",
    "SELECT COLUMNS('dep_.*') FROM t QUALIFY row_number() OVER (ORDER BY x) <= 2",
    "SELECT DISTINCT ON (g) COLUMNS('dep_.*') FROM t ORDER BY x DESC",
    "SELECT DISTINCT ON (g) g, COLUMNS('dep_x') + 1 FROM t ORDER BY x",
    "SELECT (SELECT max(COLUMNS('v')) FROM u) AS m, COLUMNS('^x$') FROM t",
    "SELECT * FROM (SELECT COLUMNS('dep_.*') FROM t) ORDER BY dep_x",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({
        "g": ["a", "b", "a", None, "c", "b"],
        "dep_x": pa.array([1, 2, 3, None, 5, 6], pa.int64()),
        "dep_y": [0.5, -1.0, None, 2.5, 3.0, -4.0],
        "h": pa.array([1, 1, 2, 2, 1, None], pa.int32()),
        "x": pa.array([10, 20, 30, 40, 50, 60], pa.int64()),
    })
    other = pa.table({"h": pa.array([1, 2, None], pa.int32()), "v": ["p", "q", "r"]})
    e = engines_over(tmp_path_factory.mktemp("columns") / "db", {"t": data, "u": other})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_columns_equals_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


@pytest.mark.parametrize("sql, match", [
    ("SELECT COLUMNS('nomatch') FROM t", "no columns match"),
    ("SELECT COLUMNS('DEP') FROM t", "no columns match"),  # case-sensitive, as DuckDB
    ("SELECT COLUMNS('[') FROM t", "regex"),
    ("SELECT COLUMNS(['nope']) FROM t", '"nope"'),
    ("SELECT COLUMNS(1) FROM t", "regular expression"),
    ("SELECT COLUMNS(x) FROM t", "regular expression"),
    ("SELECT COLUMNS(c -> c LIKE 'dep%') FROM t", "lambda"),
    ("SELECT COLUMNS('dep_x|h') + COLUMNS('x') FROM t", "several different"),
    ("SELECT g FROM t WHERE COLUMNS('dep_.*') > 1", "only in the select list"),
    ("SELECT COLUMNS('x') FROM t GROUP BY COLUMNS('x')", "only in the select list"),
    ("SELECT x FROM t ORDER BY COLUMNS('x')", "only in the select list"),
    ("SELECT sum(x) FILTER (WHERE COLUMNS('h') > 1) FROM t", "only in the select list"),
    ("SELECT coalesce(*COLUMNS('dep_.*')) FROM t", "unpacked"),
    ("SELECT COLUMNS(* REPLACE (g || 'z' AS g)) || 'y' FROM t", "REPLACE"),
])
def test_columns_refusals(engines, sql, match):
    with pytest.raises(QueryError, match=match):
        engines.db.sql(sql).fetchall()
