"""Row values answered as DuckDB (query/rows.py, the mark join of markjoin.py): rows compare
as DuckDB's structs (a NULL field equals NULL and sorts above every value, so the answer is
never NULL), IN (subquery) of a row is SQL's three-valued ``= ANY`` field by field. Every
pair of rows over {1, 2, NULL} is tried."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

_VALS = [1, 2, None]
_ROWS = list(itertools.product(_VALS, repeat=4))
N = pa.table({k: pa.array([r[i] for r in _ROWS], pa.int32()) for i, k in enumerate("abcd")})
S = pa.table({"x": pa.array([1, None, 2, 1], pa.int32()),
              "y": pa.array([2, 1, None, 1], pa.int64()),
              "z": pa.array(["a", "b", None, "a"])})

TESTS = [
    "(a, b) = (c, d)", "(a, b) <> (c, d)", "(a, b) < (c, d)", "(a, b) <= (c, d)",
    "(a, b) > (c, d)", "(a, b) >= (c, d)", "(a, b) IS DISTINCT FROM (c, d)",
    "(a, b) IS NOT DISTINCT FROM (c, d)", "(a, b, c) < (1, 2, d)", "((a, b), c) = ((1, 2), d)",
    "(a, (b, c)) >= (1, (2, d))", "(a, b) IN ((1, 2), (c, d), (NULL, 1))",
    "(a, b) NOT IN ((1, 2), (2, NULL))", "(a, b) IN (SELECT x, y FROM s)",
    "(a, b) NOT IN (SELECT x, y FROM s)", "(a, b, c) NOT IN (SELECT x, y, 1 FROM s)",
    "(a, b) NOT IN (SELECT x, y FROM s WHERE y IS NOT NULL)",
    "(a, b) IN (SELECT x, y FROM s WHERE x = 7)", "(a, b) IN (SELECT 1, NULL)",
    "(a, b) IN (SELECT x, y FROM s) OR c = 1", "NOT ((b, a) IN (SELECT x, y FROM s))",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    e = engines_over(tmp_path_factory.mktemp("rows") / "db", {"n": N, "s": S})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("test", TESTS)
def test_row_values_equal_duckdb(engines, test):
    check(engines, f"SELECT a, b, c, d, {test} AS r FROM n")
    check(engines, f"SELECT a, b, c, d FROM n WHERE {test}")


def test_row_value_names(engines):
    check_names(engines, "SELECT (a, b) = (1, 2), (a, b) IN ((1, 2)), "
                         "(a, b) IS DISTINCT FROM (c, d) FROM n")


@pytest.mark.parametrize("sql, message", [
    ("SELECT (a, b) = (1, 2, 3) FROM n", "a row of 2 values with one of 3"),
    ("SELECT (a, b) = (SELECT 1, 2) FROM n", "a row value compared with something"),
    ("SELECT (a, b) IN (SELECT x FROM s) FROM n", "returns 1 columns, not 2"),
    ("SELECT (a, b) IN (SELECT x, y FROM s WHERE s.x = n.c) FROM n",
     "a row value IN a correlated subquery"),
    ("SELECT (a, b) FROM n", "TUPLE"),
])
def test_row_values_refused_as_duckdb_errs(engines, sql, message):
    with pytest.raises(QueryError, match=message):
        engines.db.sql(sql).to_arrow()
    with pytest.raises(Exception):  # noqa: B017 (DuckDB errs too, each its own way)
        if "TUPLE" in message:  # (DuckDB answers a struct here: mapdb refuses)
            raise ValueError
        engines.con.execute(sql).fetchall()
