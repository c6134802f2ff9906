"""LIST and STRUCT values in SQL (query/nested.py, catalog/nested.py, the list aggregate,
UNNEST) against DuckDB: constructors, element access, the list functions, list()/array_agg
with ORDER BY and FILTER, unnest in the select list and in FROM, over NULL lists, NULL
elements, empty lists, nested lists and structs with NULL fields; result names and Arrow
types as DuckDB's; what is refused is refused with a QueryError naming it."""

from __future__ import annotations

import decimal

import duckdb
import pyarrow as pa
import pytest

from mapdb.api.parts import sql_arrow
from mapdb.errors import QueryError

from .compare import same_value

T = pa.table({
    "id": pa.array(range(6), pa.int64()),
    "l": pa.array([[1, 2, 3], None, [], [None, 5], [7], [3, 1, 2, 1]], pa.list_(pa.int32())),
    "ll": pa.array([[[1], [2, 3]], None, [[]], [None, [4]], [[5, None]], []],
                   pa.list_(pa.list_(pa.int64()))),
    "ls": pa.array([["b", "a"], ["x"], None, [None, ""], [], ["é", "b", "b"]],
                   pa.list_(pa.string())),
    "ld": pa.array([[decimal.Decimal("1.25")], [], None, [None, decimal.Decimal("-2.50")],
                    [decimal.Decimal("0.00")], [decimal.Decimal("9.99")]],
                   pa.list_(pa.decimal128(5, 2))),
    "s": pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": "y"}, {"a": 4, "b": None},
                   {"a": 5, "b": "z"}, {"a": -1, "b": ""}],
                  pa.struct([("a", pa.int64()), ("b", pa.string())])),
    "w": ["a,b,,c", None, "", "x", "one two", ",,"],
    "g": pa.array([0, 1, 0, 1, 0, 1], pa.int64()),
    "i": pa.array([1, -1, 0, 2, None, 10], pa.int64()),
})


def _duck(sql: str):
    con = duckdb.connect()
    con.register("t", T)
    cur = con.execute(sql)
    return [d[0] for d in cur.description], cur.fetchall()


def _mapdb(sql: str):
    out = sql_arrow(sql, {"t": T})
    return out.column_names, list(zip(*(c.to_pylist() for c in out.columns), strict=True)) \
        if out.num_columns else []


def _same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, tuple):  # DuckDB's row(...): a tuple in Python
        assert list(a) == [f"element{i + 1}" for i in range(len(b))], a
        a = list(a.values())
        b = list(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return same_value(a, b)


def check(sql: str, names: bool = True) -> list:
    """mapdb's rows (in order: every query here orders or has one row) equal DuckDB's."""
    want_names, want = _duck(sql)
    got_names, got = _mapdb(sql)
    if names:
        assert got_names == want_names, sql
    assert len(got) == len(want), f"{got} != {want}\n{sql}"
    for g, w in zip(got, want, strict=True):
        assert _same(list(g), list(w)), f"{g} != {w}\n{sql}"
    return want


CONSTANTS = [
    "SELECT [1, 2, NULL] AS a, [] AS e, ['a', 'b'] AS s, [1.5] AS d, [[1], [2, 3], NULL] AS n",
    "SELECT {'a': 1, 'b': 'x'} AS s, struct_pack(q := 'z', r := NULL) AS p, {'a': NULL} AS q",
    "SELECT [1, 2, 3][2] a, [1, 2, 3][-1] b, [1, 2][3] c, [1, 2][0] d, [1, 2][-3] e",
    "SELECT [1, 2, 3, 4][2:3] a, [1, 2, 3, 4][-2:] b, [1, 2, 3, 4][:-1] c, "
    "[1, 2, 3, 4][3:1] d, [1, 2, 3, 4][-10:10] e, [1, 2, 3, 4][0:2] f",
    # an explicit NULL bound is a NULL list (was an internal "Invalid null value")
    "SELECT [1, 2, 3][1:NULL] a, list_slice([1, 2], NULL, 1) b",
    "SELECT len([1, 2]) a, len([]) b, array_length([1, NULL]) c, list_contains([1, 2], 2) d, "
    "array_contains([1, NULL], NULL) e, list_has([NULL, 3], 1) f",
    "SELECT list_sort([3, NULL, 1]) a, list_reverse_sort([3, NULL, 1]) b, "
    "list_distinct([3, NULL, 1, 3]) c, list_sort([3, NULL, 1], 'DESC', 'NULLS FIRST') d",
    "SELECT list_sum([1, 2]) a, list_min(['b', 'a']) b, list_avg([1.5, 2.5]) c, "
    "list_max([]) d, list_sum([1.5, NULL]) e, list_avg([1, 2]) f",
    # averages from exact sums, divided once (0.15, not 0.15000000000000002; integers
    # past 2**53 were refused by a cast to double)
    "SELECT list_avg([0.1, 0.2]) a, list_avg([9007199254740993, 9007199254740993, 1]) b",
    "SELECT list_max([1.0::double, 'nan'::double]) a, list_min([2.0::double, 'nan'::double]) "
    "b, list_sum([0.5::double, 0.25]) c, list_max([NULL, 1.5::double]) d, "
    "list_min([]::double[]) e, list_min([-0.0::double, 0.0]) f",
    "SELECT list_aggregate([1, 2, NULL], 'sum') a, list_aggregate([1, 2], 'min') b, "
    "array_aggregate([1, 2], 'avg') c, list_aggr([3], 'max') d, array_aggr([], 'sum') e",
    "SELECT [1] || [2.5] a, list_concat([1], NULL) b, [1] || NULL c, list_concat([1], [2]) d",
    "SELECT string_split('a,,b', ',') a, string_split('abc', '') b, str_split('', '') c, "
    "string_split('', ',') d, string_split(NULL, ',') e",
    "SELECT {'a': 1}.a AS x, {'a': 1}['a'] AS y, struct_extract({'a': 2, 'b': 3}, 'b') AS z",
    "SELECT [[1], [2, 3]][2][1] AS m, [[1], [2, 3]][2] AS n",
    "SELECT CASE WHEN true THEN [] ELSE [1] END AS a, coalesce(NULL, [2]) AS b",
    "SELECT NULL::int[] AS a, CAST([1, 2] AS BIGINT[]) AS b, CAST([1.5] AS DOUBLE[]) AS c, "
    "[1, 2]::VARCHAR[] AS d, CAST([[1]] AS BIGINT[][]) AS e, list_concat(NULL, NULL::int[]) "
    "AS f, len(NULL::int[]) AS g",
    "SELECT array_to_string([1, NULL, 3], '-') a, array_to_string([], ',') b, "
    "array_to_string(['a', NULL], NULL) c, array_to_string([1.5, 2], '|') d, "
    "array_to_string([true], '') e, array_to_string([1.5::double, 1e20], ',') f",
    "SELECT row(1, 'a') a, row(1, NULL) b, row(1, row(2, [3])) c",
    "SELECT CAST({'a': 1, 'b': 2} AS STRUCT(a BIGINT, b VARCHAR)) a, "
    "CAST({'b': 1, 'a': 2} AS STRUCT(a BIGINT, b VARCHAR)) b, CAST({'a': 1} AS "
    "STRUCT(a BIGINT, b VARCHAR)) c, CAST(NULL AS STRUCT(a BIGINT)) d, CAST(row(1, 2) AS "
    "STRUCT(a BIGINT, b VARCHAR)) e, CAST({'A': 1, 'c': 2} AS STRUCT(a DOUBLE)) f, "
    "CAST({'a': [1, 2]} AS STRUCT(a VARCHAR[])) g, {'a': {'b': 1}}::STRUCT(a STRUCT(b "
    "VARCHAR)) h",
    "SELECT [1::INTEGER, 0.5] a, [1.25::DECIMAL(5, 2), 0.0] b, [[1], [], NULL] c, "
    "[1::TINYINT, 2.5] d",
]


@pytest.mark.parametrize("sql", CONSTANTS)
def test_constants(sql):
    check(sql)


COLUMNS = [
    "SELECT id, l, ll, ls, ld, s FROM t ORDER BY id",
    "SELECT id, l[1] a, l[-1] b, l[i] c, ll[1] d, ll[1][2] e, ls[2] f, ld[1] g FROM t "
    "ORDER BY id",
    "SELECT id, l[2:3] a, l[:2] b, l[-2:] c, ll[2:] d FROM t ORDER BY id",
    "SELECT id, len(l) a, array_length(ll) b, len(ls) c FROM t ORDER BY id",
    "SELECT id, list_contains(l, 1) a, list_contains(ls, 'b') b, list_contains(l, i) c, "
    "list_contains(ld, 1.25) d FROM t ORDER BY id",
    "SELECT id, list_sort(l) a, list_reverse_sort(l) b, list_sort(ls) c, list_sort(ld) d "
    "FROM t ORDER BY id",
    "SELECT id, list_sort(list_distinct(l)) a, list_sort(list_distinct(ls)) b FROM t "
    "ORDER BY id",
    "SELECT id, list_sum(l) a, list_min(l) b, list_max(l) c, list_avg(l) d, list_min(ls) e, "
    "list_sum(ld) f, list_max(ld) g FROM t ORDER BY id",
    "SELECT id, list_concat(l, [9]) a, l || l b, list_concat(ls, NULL) c FROM t ORDER BY id",
    "SELECT id, string_split(w, ',') a, str_split(w, ' ') b FROM t ORDER BY id",
    "SELECT id, array_to_string(l, ',') a, array_to_string(ls, '') b, "
    "array_to_string(ld, ';') c FROM t ORDER BY id",
    "SELECT id, s.a AS a, s.b AS b, s['a'] AS c, t.s AS d, struct_extract(s, 'b') e FROM t "
    "ORDER BY id",
    "SELECT id, {'k': id, 'l': l} AS p, [s.a, i] AS q FROM t ORDER BY id",
    "SELECT id FROM t WHERE s.a > 1 ORDER BY id",
    "SELECT id FROM t WHERE list_contains(l, 1) OR len(ls) = 0 ORDER BY id",
    "SELECT id, l FROM t UNION ALL SELECT id + 10, [id] FROM t ORDER BY id",
    "SELECT id, lag(l) OVER (ORDER BY id) AS p, count(l) OVER () AS n FROM t ORDER BY id",
    "SELECT a.id, b.s, b.ll FROM t a JOIN t b ON a.id = b.id + 1 ORDER BY a.id",
    "SELECT id, CAST(s AS STRUCT(a VARCHAR, b VARCHAR)) a, CAST(s AS STRUCT(b VARCHAR, c "
    "INTEGER)) b, row(id, s.b) c FROM t ORDER BY id",
    "SELECT id, [id, i] AS a, [w, 'z'] AS b FROM t ORDER BY id",
]


@pytest.mark.parametrize("sql", COLUMNS)
def test_columns(sql):
    check(sql)


AGGREGATES = [
    "SELECT list(id) AS a, array_agg(id ORDER BY id DESC) AS b FROM t",
    "SELECT g, list(id ORDER BY id DESC) AS a, array_agg(i ORDER BY id) AS b, "
    "list(l ORDER BY id) AS c, list(s ORDER BY id) AS d FROM t GROUP BY g ORDER BY g",
    "SELECT g, list(id ORDER BY id) FILTER (WHERE id > 2) AS a, "
    "list(i ORDER BY i NULLS FIRST) FILTER (WHERE id > 100) AS b FROM t GROUP BY g ORDER BY g",
    "SELECT list(w ORDER BY id) AS a, list(ld ORDER BY id) AS b FROM t WHERE id > 2",
    "SELECT list(id) AS a FROM t WHERE id > 100",
    "SELECT g, list_sort(list(DISTINCT i)) AS a, list(DISTINCT i ORDER BY i DESC NULLS FIRST) "
    "AS b, array_agg(DISTINCT g) AS c, list(DISTINCT w ORDER BY w) AS d FROM t GROUP BY g "
    "ORDER BY g",
    "SELECT list(DISTINCT i ORDER BY i) FILTER (WHERE id > 1) AS a FROM t",
]


@pytest.mark.parametrize("sql", AGGREGATES)
def test_aggregates(sql):
    check(sql)


UNNEST = [
    "SELECT id, unnest(l) AS e FROM t ORDER BY id, e",
    "SELECT id, unnest(ll) AS e FROM t WHERE id IN (2, 4) ORDER BY id",
    "SELECT unnest(ll) AS e FROM t WHERE id = 0",
    "SELECT id, unnest(string_split(w, ',')) AS e FROM t ORDER BY id, e",
    "SELECT unnest([1, 2, NULL]) AS u",
    "SELECT unnest([1, 2]) AS a, unnest([10, 20, 30]) AS b, unnest([]) AS c",
    "SELECT id, unnest(l) AS a, unnest(ls) AS b, unnest(l) AS c FROM t ORDER BY id, a, b",
    "SELECT unnest([1.5, 2.25]) AS d",
    "SELECT * FROM unnest([1, 2]) AS u",
    "SELECT * FROM unnest(['a', 'b']) AS u(x)",
    "SELECT * FROM unnest([[1], []])",
    "SELECT g, unnest(list(id ORDER BY id)) AS e FROM t GROUP BY g ORDER BY g, e",
    "SELECT unnest(l) AS e, count(*) AS n FROM t GROUP BY l ORDER BY e",
]


ORDERED = [
    # DuckDB's order of nested values: element by element, a list before its extensions,
    # a NULL element after every value; structs field by field
    "SELECT id, l FROM t ORDER BY l, id",
    "SELECT id, l FROM t ORDER BY l DESC, id",
    "SELECT id, l FROM t ORDER BY l DESC NULLS FIRST, id",
    "SELECT id, ll, ls FROM t ORDER BY ll NULLS FIRST, ls, id",
    "SELECT id, s FROM t ORDER BY s, id",
    "SELECT id, ld FROM t ORDER BY ld DESC, id LIMIT 3",
    "SELECT l, count(*) AS n, sum(id) AS i FROM t GROUP BY l ORDER BY l",
    "SELECT s.b AS b, count(*) AS n FROM t GROUP BY s ORDER BY s",
    "SELECT g, list_sort(list(id)) AS ids FROM t GROUP BY g, ls[1:1] ORDER BY g, ids",
    "SELECT DISTINCT l FROM t ORDER BY l",
    "SELECT DISTINCT g, [g, 1] AS a, {'g': g} AS b FROM t ORDER BY a",
    "SELECT id, l = [1, 2, 3] AS a, l < [3] AS b, l >= [NULL] AS c, l <> [] AS d, "
    "ll > [[1]] AS e, s = {'a': 1, 'b': 'x'} AS f, s < {'a': 4, 'b': 'a'} AS g, "
    "ls <= ['b', 'a'] AS h FROM t ORDER BY id",
    "SELECT a.id, b.id AS j FROM t a, t b WHERE a.l = b.l AND a.id < b.id ORDER BY 1, 2",
    "SELECT [1, NULL] = [1, NULL] a, [1, NULL] < [1, 2] b, [1] < [1, 0] c, [] < [NULL] d, "
    "[2] > [1, 5] e, NULL::int[] = [1] f, [1, 2] = [1.0, 2.0] g, [-0.0::double] = "
    "[0.0::double] h, ['nan'::double] > [1e308::double] i, ['a'] < ['a', ''] j, "
    "['ab'] < ['b'] k, [[1], NULL] < [[1], [0]] m, [-5, 3] < [-4] n",
    "SELECT id, row_number() OVER (PARTITION BY l ORDER BY id) AS r, rank() OVER (ORDER BY "
    "s DESC) AS k FROM t ORDER BY id",
    "SELECT DISTINCT ON (g) g, l FROM t ORDER BY g, l",
    "SELECT l, count(*) AS n FROM t GROUP BY ROLLUP (l) ORDER BY l, n",
    "SELECT l FROM t UNION SELECT [3, 1, 2, 1] ORDER BY l",
    "SELECT max(l) a, min(l) b, count(DISTINCT l) c, max(s) d, min(ll) e, count(DISTINCT s) f "
    "FROM t",
    "SELECT g, max(ls) a, min(s) b, count(DISTINCT ll) c FROM t GROUP BY g ORDER BY g",
    "SELECT g, list(l ORDER BY l DESC) a, list(DISTINCT s ORDER BY s) b, "
    "list_sort(list(DISTINCT ls)) c, string_agg(w, '|' ORDER BY ll, id) d FROM t GROUP BY g "
    "ORDER BY g",
    "SELECT id, list_sort(ll) a, list_reverse_sort(ll) b, list_sort(list_distinct(ll)) c "
    "FROM t ORDER BY id",
    "SELECT s FROM t EXCEPT ALL SELECT s FROM t WHERE id < 2 ORDER BY s",
    "SELECT ll, ls FROM t INTERSECT SELECT ll, ls FROM t WHERE id > 2 ORDER BY ll, ls",
    "SELECT l FROM t UNION ALL SELECT [1, NULL] ORDER BY l DESC LIMIT 4",
    "SELECT {'a': 1, 'b': NULL} = {'a': 1, 'b': NULL} a, {'a': 1, 'b': NULL} > {'a': 1, "
    "'b': 2} b, {'a': 1, 'b': 2} < {'a': 2, 'b': 0} c",
]


@pytest.mark.parametrize("sql", ORDERED)
def test_order_group_distinct_compare(sql):
    check(sql)


@pytest.mark.parametrize("sql", UNNEST[:-1])
def test_unnest(sql):
    check(sql)


def test_types_as_duckdb():
    """The result's Arrow types are DuckDB's (child names aside: DuckDB calls a list's
    child ``l``, Arrow ``item``; strings are large_string in mapdb's results)."""
    sql = ("SELECT [1, 2] a, [CAST(1 AS BIGINT)] b, [1.5] c, [[1]] d, {'a': 1, 'b': 2.5} e, "
           "list(id) f, [1, 2][1] g, list_sum([1.5]) h FROM t")
    con = duckdb.connect()
    con.register("t", T)
    want = con.sql(sql).arrow()
    want = want.read_all() if hasattr(want, "read_all") else want
    got = sql_arrow(sql, {"t": T})

    def norm(t: pa.DataType) -> str:
        return str(t).replace("<l:", "<item:").replace("large_string", "string")
    assert [norm(f.type) for f in got.schema] == [norm(f.type) for f in want.schema]


@pytest.mark.parametrize("sql, message", [
    ("SELECT unnest(l) + 1 FROM t", "UNNEST is supported only"),
    ("SELECT s.c FROM t", 'no field "c"'),
    ("SELECT l[1:2:1] FROM t", "STEP"),
    ("SELECT list_contains(s, 1) FROM t", "must be a list"),
    ("SELECT CAST(['x'] AS INTEGER[])", "Failed to parse string"),
    ("SELECT {'a': 1} = {'b': 1}", "cannot compare"),
    ("SELECT [1] = ['1']", "cannot mix|cannot compare"),
    ("SELECT any_value(l) FROM t", "does not take"),
    ("SELECT max(l) OVER () FROM t", "not supported as a window function"),
    ("SELECT {1: 2}", "must be named"),
    ("SELECT list_sum([9223372036854775807, 1])", "out of BIGINT's range"),
    ("SELECT list_aggregate(l, 'count') FROM t", "aggregate 'count' is not supported"),
    ("SELECT CAST(id AS INTEGER[]) FROM t", "CAST of int64 to int32"),
    ("SELECT CAST(s AS STRUCT(x BIGINT)) FROM t", "no field names in common"),
])
def test_refused(sql, message):
    with pytest.raises(QueryError, match=message):
        sql_arrow(sql, {"t": T})
