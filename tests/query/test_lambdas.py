"""Lambdas over lists (catalog/lambdas.py) against DuckDB: list_transform, list_filter,
list_reduce and their aliases, ``x -> e``, ``(x, i) -> e`` and ``lambda x: e``, over NULL
lists, NULL elements, empty lists, nested lists, strings and decimals, with outer columns
and aggregates in the body; result names and Arrow types as DuckDB's; what is refused is
refused with a QueryError."""

from __future__ import annotations

import decimal

import duckdb
import pyarrow as pa
import pytest

from mapdb.api.parts import sql_arrow
from mapdb.errors import QueryError

from .test_nested import _same

T = pa.table({
    "id": pa.array(range(6), pa.int64()),
    "l": pa.array([[1, 2, 3], None, [], [None, 5], [7], [3, 1, 2, 1]], pa.list_(pa.int32())),
    "ll": pa.array([[[1], [2, 3]], None, [[]], [None, [4]], [[5, None]], []],
                   pa.list_(pa.list_(pa.int64()))),
    "ls": pa.array([["b", "a"], ["x"], None, [None, ""], [], ["é", "bb", "b"]],
                   pa.list_(pa.string())),
    "ld": pa.array([[decimal.Decimal("1.25")], [], None, [None, decimal.Decimal("-2.50")],
                    [decimal.Decimal("0.00")], [decimal.Decimal("9.99")]],
                   pa.list_(pa.decimal128(5, 2))),
    "y": pa.array([10, 1, None, 2, -3, 0], pa.int32()),
    "g": pa.array([0, 1, 0, 1, 0, 1], pa.int64()),
})


def _con():
    con = duckdb.connect()
    con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")  # (DuckDB 1.3+ warns on ->)
    con.register("t", T)
    return con


def check(sql: str) -> None:
    equal_arrow(_con(), sql, {"t": T})


def equal_arrow(con, sql: str, tables: dict) -> None:
    """mapdb's rows, names and Arrow types over ``tables`` equal DuckDB's (``con``; every
    query orders or has one row)."""
    want = con.sql(sql).arrow()
    want = want.read_all() if hasattr(want, "read_all") else want
    got = sql_arrow(sql, tables)
    assert got.column_names == want.column_names, sql

    def norm(t: pa.DataType) -> str:
        return str(t).replace("<l:", "<item:").replace("large_string", "string")
    assert [norm(t) for t in got.schema.types] == [norm(t) for t in want.schema.types], sql
    rows_got = [list(r.values()) for r in got.to_pylist()]
    rows_want = [list(r.values()) for r in want.to_pylist()]
    assert len(rows_got) == len(rows_want), f"{rows_got} != {rows_want}\n{sql}"
    for g, w in zip(rows_got, rows_want, strict=True):
        assert _same(g, w), f"{g} != {w}\n{sql}"


CONSTANTS = [
    "SELECT list_transform([1, 2, NULL], x -> x + 1), list_transform([10, 20], (x, i) -> i), "
    "list_transform([], x -> x), list_transform(NULL, x -> x), list_transform([1, 2], x -> 1), "
    "list_transform([1, 2], x -> NULL)",
    "SELECT list_filter([1, 2, NULL, 3], x -> x > 1), list_filter([1, 2, 3], (x, i) -> i > 1), "
    "list_filter([1, 2], x -> NULL), list_filter([1, 2], x -> 1), list_filter([], x -> true)",
    "SELECT list_reduce([1, 2, 3], (x, y) -> x + y), list_reduce([1, 2, 3], (x, y, i) -> "
    "x + y * i), list_reduce([1, 2, 3], (x, y) -> x + y, 10), list_reduce([1, NULL, 3], "
    "(x, y) -> x + y), list_reduce(['a', 'b'], (x, y) -> x || y), "
    "list_reduce([1, 2, 3], (x, y) -> x / 2), list_reduce([]::int[], (x, y) -> x + y, 7), "
    "list_reduce(NULL::int[], (x, y) -> x + y), list_reduce([1, 2, 3], (x, y, i) -> x + i, "
    "100), list_reduce([1, 2, 3], (x, y) -> x - y, NULL)",
    "SELECT array_transform([1], x -> x), array_filter([1], x -> true), list_apply([1], x -> x),"
    " filter([1, 2], x -> x > 1), array_apply([1], x -> x * 2), array_reduce([1, 2], "
    "(a, b) -> a * b)",
    "SELECT list_transform([1, 2], lambda x: x + 1), list_filter([1, 2], lambda x, i: i = 2)",
    "SELECT list_transform([[1, 2], [3]], x -> list_transform(x, y -> y * 10)), "
    "list_transform([[1, 2], [3]], x -> list_transform(x, y -> y + len(x))), "
    "list_transform([1, 2], x -> [x, x]), list_transform([1, 2], x -> {'a': x}), "
    "list_transform([1, 2], x -> x::varchar), list_transform(['a', 'bb'], x -> upper(x) || "
    "'z'), list_filter(['a', 'bb', NULL], x -> length(x) > 1)",
    "SELECT list_reduce([[1], [2, 3], []], (a, b) -> list_concat(a, b)), "
    "list_filter([[1], NULL, [2, 3]], x -> len(x) > 1), list_transform([{'a': 1}, NULL], "
    "s -> s.a)",
]


@pytest.mark.parametrize("sql", CONSTANTS)
def test_constants(sql):
    check(sql)


COLUMNS = [
    "SELECT id, list_transform(l, x -> x * 2) a, list_transform(l, (x, i) -> x + i) b, "
    "list_transform(ls, x -> x || '!') c, list_transform(ld, x -> x * 2) d FROM t ORDER BY id",
    "SELECT id, list_transform(l, x -> x + y) a, list_filter(l, x -> x > y) b, "
    "list_transform(l, x -> id) c FROM t ORDER BY id",
    "SELECT id, list_filter(l, x -> x IS NULL) a, list_filter(ls, (x, i) -> i % 2 = 1) b, "
    "list_filter(ld, x -> x > 0) c FROM t ORDER BY id",
    "SELECT id, list_transform(ll, x -> list_filter(x, e -> e > id)) a, "
    "list_transform(ll, x -> len(x)) b FROM t ORDER BY id",
    "SELECT id, list_reduce(l, (a, b) -> a + b, 0) a, list_reduce(l, (a, b) -> a + b + y, 0) b,"
    " list_reduce(ls, (a, b) -> a || b, '') c, list_reduce(ld, (a, b) -> a + b, 0.0) d "
    "FROM t ORDER BY id",
    "SELECT id, list_reduce(l, (a, b) -> a * 10 + b) m FROM t WHERE len(l) > 0 ORDER BY id",
    "SELECT g, list_transform(list(id ORDER BY id), x -> x + count(*) * g) a FROM t GROUP BY g "
    "ORDER BY g",
    "SELECT id FROM t WHERE len(list_filter(l, x -> x > 2)) > 0 ORDER BY id",
    "SELECT id, list_transform(l, x -> x + 1)[1] AS f FROM t ORDER BY id",
    # the same lambda written twice binds to one expression (a GROUP BY key and its item)
    "SELECT list_filter(l, x -> x > 1) AS f, count(*) AS n FROM t "
    "GROUP BY list_filter(l, x -> x > 1) ORDER BY f",
    "SELECT id, list_transform(l, x -> list_transform(l, x -> x * 10)) a FROM t ORDER BY id",
]


@pytest.mark.parametrize("sql", COLUMNS)
def test_columns(sql):
    check(sql)


def test_vectorised_over_many_rows():
    """One body evaluation over every row's elements (100k lists) agrees with DuckDB."""
    n = 100_000
    big = pa.table({"id": pa.array(range(n), pa.int64()),
                    "l": pa.array([[i, None, i * 2][: i % 4] if i % 7 else None
                                   for i in range(n)], pa.list_(pa.int64()))})
    sql = ("SELECT sum(len(list_filter(list_transform(l, (x, i) -> x * i + id), x -> x % 3 = 0)"
           ")) a, sum(list_reduce(l, (a, b) -> a + coalesce(b, 1), 0)) b FROM big")
    con = _con()
    con.register("big", big)
    assert sql_arrow(sql, {"big": big}).to_pylist() == con.sql(sql).arrow().read_all() \
        .to_pylist()


@pytest.mark.parametrize("sql, message", [
    ("SELECT list_reduce([]::int[], (a, b) -> a + b)", "empty list"),
    ("SELECT list_transform(l, (x, i, j) -> x) FROM t", "takes 1 or 2 parameters"),
    ("SELECT list_transform(l, 5) FROM t", "must be a lambda"),
    ("SELECT abs(x -> x)", "a lambda"),
    ("SELECT list_reduce(l, (a, b) -> a::varchar) FROM t", "no common type"),
    ("SELECT list_transform(l, x -> (SELECT x)) FROM t", "subquery inside a lambda"),
    ("SELECT list_transform(l, x -> sum(x)) FROM t", "over a lambda's parameter"),
    ("SELECT list_transform(id, x -> x) FROM t", "must be a list"),
    ("SELECT list_transform(l, (x, x) -> x) FROM t", "different names"),
])
def test_refused(sql, message):
    with pytest.raises(QueryError, match=message):
        sql_arrow(sql, {"t": T})


STORED = [
    "SELECT id, list_transform(l, x -> x + y) a FROM t ORDER BY id",
    "SELECT sum(len(list_filter(l, x -> x > 1))) FROM t",
    "SELECT count(*) FROM t WHERE list_reduce(l, (a, b) -> a + b, 0) > 3",
    "SELECT l, count(*) FROM t GROUP BY l ORDER BY l",
    "SELECT g, count(*) FROM t WHERE l < [3] GROUP BY g ORDER BY g",
    "SELECT DISTINCT ls FROM t ORDER BY ls",
    "SELECT id FROM t ORDER BY ll DESC, id LIMIT 3",
    "SELECT g, list_sort(list(DISTINCT y)) FROM t GROUP BY g ORDER BY g",
]


@pytest.mark.parametrize("sql", STORED)
def test_stored_table_both_paths(tmp_path, sql):
    """Over a stored table (mapped LIST columns), on the general and the fused path."""
    from .compare import check as check_paths
    from .compare import engines_over
    e = engines_over(tmp_path / "db", {"t": T})
    e.con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
    check_paths(e, sql)
