"""PIVOT and UNPIVOT answered as DuckDB answers them (issue 17 item 4; query/pivot.py
rewrites them into a GROUP BY with filtered aggregates / a UNION ALL): DuckDB's
simplified statements and the SQL-standard form in FROM, with NULL values, column names
and order as DuckDB's."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

QUERIES = [
    # ON without IN: the distinct non-NULL values, sorted, found by a query first
    "PIVOT t ON c USING sum(x) GROUP BY g",
    "PIVOT t ON c USING count(*) GROUP BY g",  # no rows of a value: 0, as a FILTER
    "PIVOT t ON c USING sum(x), max(y) GROUP BY g",
    "PIVOT t ON c USING sum(x) AS s, max(y) AS m GROUP BY g",
    "PIVOT t ON c USING sum(x) AS s",  # groups: the columns ON and USING do not name
    "PIVOT t ON c",  # count(*)
    "PIVOT t ON x USING sum(y) GROUP BY g",  # integers, in numeric order
    "PIVOT t ON z USING count(*)",
    "PIVOT t ON d USING sum(x) GROUP BY g",  # dates
    "PIVOT t ON c || '_' USING sum(y) GROUP BY g",
    "PIVOT t ON c, g USING sum(x)",  # every combination: a_x, a_y, ...
    "PIVOT t ON g USING sum(x), count(*) GROUP BY c",
    "PIVOT t ON c USING count(*) GROUP BY g, c",  # a pivot column named as a group: c_1
    "PIVOT t ON c USING sum(x) FILTER (WHERE x > 1) GROUP BY g",
    "PIVOT t ON c USING avg(z) GROUP BY g",
    # ON ... IN (values): those values only, in that order; NULL takes the NULL rows
    "PIVOT t ON c IN ('b', 'zz', 'a') USING sum(x) GROUP BY g",
    "PIVOT t ON c IN ('a', NULL) USING sum(x) GROUP BY g",
    "PIVOT t ON c IN (a, b) USING sum(x) GROUP BY g",
    "PIVOT t ON x IN (1, 2) USING sum(y) AS total GROUP BY g",
    "PIVOT (SELECT * FROM t WHERE x > 1) ON c USING avg(z) GROUP BY g",
    "SELECT g, a + b AS ab FROM (PIVOT t ON c USING sum(x) GROUP BY g) p ORDER BY g",
    "WITH p AS (PIVOT t ON c USING sum(x) GROUP BY g) SELECT * FROM p WHERE a > 0",
    # the SQL-standard form in FROM
    "SELECT * FROM t PIVOT (sum(x) FOR c IN ('a', 'b'))",
    "SELECT * FROM t PIVOT (sum(x) AS s, max(y) FOR c IN ('a' AS aa, 'b'))",
    "SELECT * FROM t PIVOT (sum(x) FOR c IN ('a', 'b') GROUP BY g)",
    "SELECT * FROM t PIVOT (count(*) FOR c IN ('a', 'b') GROUP BY g, c)",
    "SELECT g, p.a FROM (SELECT g, c, x FROM t) s PIVOT (sum(x) FOR c IN ('a', 'b')) p",
    "PIVOT (SELECT f, x FROM w) ON f USING sum(x)",  # -0.0, 0.0, 1.5, nan: four
    "PIVOT (SELECT s, b, x FROM w) ON s USING sum(x) GROUP BY b",  # '' named ''
    "PIVOT (SELECT b, x FROM w) ON b USING sum(x)",
    "PIVOT (SELECT s, x FROM w) ON s IN ('a b', 'O''Neil') USING sum(x)",
    # UNPIVOT: NULL values dropped; the columns' common type
    "UNPIVOT t ON x, y INTO NAME k VALUE v",
    "UNPIVOT t ON x, y",  # name, value
    "UNPIVOT t ON x, z INTO NAME k VALUE v",  # INTEGER and DECIMAL
    "UNPIVOT t ON COLUMNS(* EXCLUDE (c, g, d)) INTO NAME k VALUE v",
    "UNPIVOT t ON COLUMNS('x|y') INTO NAME k VALUE v",
    "SELECT * FROM t UNPIVOT (v FOR k IN (x, y))",
    "SELECT k, sum(v) FROM t UNPIVOT (v FOR k IN (x, y)) AS u WHERE u.v > 5 GROUP BY k",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    d = datetime.date
    data = pa.table({
        "c": ["a", "b", None, "a", "c", "b"],
        "g": ["x", "x", "y", "y", None, "x"],
        "x": pa.array([1, 2, 3, None, 5, 6], pa.int32()),
        "y": pa.array([10, None, 30, 40, 50, 60], pa.int32()),
        "z": [1.5, 2.5, None, 4.5, 5.5, 6.5],
        "d": [d(2020, 1, 2), d(2019, 5, 6), None, d(2020, 1, 2), d(2021, 1, 1), None],
    })
    odd = pa.table({  # values whose text matters: -0.0 and 0.0, NaN, '', quotes
        "f": [1.5, float("nan"), -0.0, 0.0, None, 1.5],
        "s": ["a b", "O'Neil", "", None, "a b", "x"],
        "b": [True, False, None, True, False, True],
        "x": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
    })
    e = engines_over(tmp_path_factory.mktemp("pivot") / "db", {"t": data, "w": odd})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_pivot_equals_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


def test_pivot_sees_the_values_of_the_version_it_reads(engines, tmp_path):
    """The values come from the data (a query run while binding): a new value after an
    append is a new column, as DuckDB's."""
    import duckdb

    import mapdb
    db = mapdb.connect(tmp_path / "db")
    t = db.create_table("t", {"c": ["a", "b"], "x": [1, 2]})
    assert db.sql("PIVOT t ON c USING sum(x)").to_arrow().column_names == ["a", "b"]
    t.append({"c": ["c"], "x": [3]})
    got = db.sql("PIVOT t ON c USING sum(x)").to_arrow()
    con = duckdb.connect()
    con.register("t", db.sql("SELECT * FROM t").to_arrow())
    want = con.execute("PIVOT t ON c USING sum(x)")
    assert got.column_names == [x[0] for x in want.description]
    assert [tuple(r.values()) for r in got.to_pylist()] == want.fetchall()
    db.close()


@pytest.mark.parametrize(("sql", "needle", "col"), [
    ("UNPIVOT t ON c, x INTO NAME k VALUE v", "explicit cast", 9),
    ("PIVOT t ON nope USING sum(x)", 'column "nope" not found', 12),
    ("UNPIVOT t ON COLUMNS('q') INTO NAME k VALUE v", "no columns to unpivot", 9),
    ("PIVOT t ON c USING x GROUP BY g", "aggregate functions", 20),
    ("UNPIVOT t ON (x, y) AS xy, z INTO NAME k VALUE v", "TUPLE", 15),
])
def test_refusals_name_the_construct(engines, sql, needle, col):
    with pytest.raises(QueryError, match=needle) as e:
        engines.db.sql(sql).fetchall()
    assert f"column {col})" in str(e.value), str(e.value)
    with pytest.raises(Exception):  # noqa: B017 - DuckDB refuses them too
        engines.con.execute(sql).fetchall()


@pytest.mark.parametrize(("sql", "needle", "col"), [
    # DuckDB answers it; a FILTERed first() would count the filtered rows as NULLs
    ("PIVOT t ON c USING first(x) GROUP BY g", "first()/last()", 20),
    ("SELECT g, first(x) FILTER (WHERE c = 'b') FROM t GROUP BY g", "first() with FILTER", 11),
    ("SELECT g, last(x) FILTER (WHERE c = 'a') FROM t GROUP BY g", "last() with FILTER", 11),
])
def test_first_and_last_with_a_filter_are_refused(engines, sql, needle, col):
    with pytest.raises(QueryError, match=needle.replace("(", r"\(").replace(")", r"\)")) as e:
        engines.db.sql(sql).fetchall()
    assert f"column {col})" in str(e.value), str(e.value)


def test_a_view_may_not_hold_a_pivot_on_the_data(tmp_path):
    """DuckDB refuses a view whose PIVOT takes its values from the data (its columns
    would change with the data); with IN (...) it is a view like any other."""
    import mapdb
    db = mapdb.connect(tmp_path / "db")
    db.create_table("e", {"c": ["a", "b", "a"], "d": [1, 2, 3]})
    with pytest.raises(QueryError, match="cannot be used in a view") as e:
        db.sql("CREATE VIEW pv AS SELECT * FROM (PIVOT e ON c USING sum(d))")
    assert "column 40)" in str(e.value), str(e.value)  # the pivoted table
    db.sql("CREATE VIEW pv AS SELECT * FROM (PIVOT e ON c IN ('a', 'b') USING sum(d))")
    assert db.sql("SELECT * FROM pv").fetchall() == [(4, 2)]
    db.close()
