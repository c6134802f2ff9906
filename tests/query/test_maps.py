"""MAP values (catalog/maps.py) against DuckDB: ``MAP {k: v}``, ``map(keys, values)``,
map_from_entries, ``m[k]``, map_extract/element_at/map_extract_value, map_keys,
map_values, map_entries, cardinality, map_contains, over NULL maps, empty maps, NULL
values, maps of lists and in-memory Arrow map columns; ORDER BY, GROUP BY, DISTINCT and
comparisons of maps; result names and Arrow types as
DuckDB's; DuckDB's errors stay errors; stored MAP columns."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.api.parts import sql_arrow
from mapdb.errors import QueryError

from .test_lambdas import _con, equal_arrow

T = pa.table({
    "id": pa.array(range(5), pa.int64()),
    "m": pa.array([[("a", 1), ("b", None)], None, [], [("b", 7)], [("c", -1), ("a", 2)]],
                  pa.map_(pa.string(), pa.int32())),
    "mi": pa.array([[(1, "x")], [(2, "y"), (3, None)], None, [], [(1, "z")]],
                   pa.map_(pa.int64(), pa.string())),
    "k": pa.array(["a", "b", None, "b", "z"]),
    "ks": pa.array([["a", "b"], ["x"], None, [], ["p", "q"]], pa.list_(pa.string())),
    "vs": pa.array([[1, 2], [3], [4], [], [None, 6]], pa.list_(pa.int32())),
})


def check(sql: str) -> None:
    con = _con()
    con.register("t", T)
    equal_arrow(con, sql, {"t": T})


CONSTANTS = [
    "SELECT MAP {'a': 1, 'b': 2}, map(['a', 'b'], [1, 2]), MAP {1: 'x', 2: NULL}, "
    "MAP {'a': 1, 'b': 2.5}, map(['a', 'b'], [1, NULL]), MAP {'a': [1, 2]}",
    "SELECT MAP {'a': 1, 'b': 2}['a'], MAP {'a': 1}['z'], MAP {1: 'x'}[1.0], "
    "MAP {'a': 1}[NULL], (NULL::MAP(VARCHAR, INT))['a'], MAP {'a': [1, 2]}['a']",
    "SELECT element_at(MAP {'a': 1}, 'a'), map_extract(MAP {'a': 1}, 'a'), "
    "map_extract_value(MAP {'a': 1}, 'a'), element_at(MAP {'a': 1}, 'z'), "
    "map_extract(NULL::MAP(VARCHAR, INT), 'a'), map_extract(MAP {'a': 1}, NULL)",
    "SELECT map_keys(MAP {'a': 1, 'b': NULL}), map_values(MAP {'a': 1, 'b': NULL}), "
    "map_entries(MAP {'a': 1}), map_keys(NULL::MAP(VARCHAR, INT)), "
    "map_entries(NULL::MAP(VARCHAR, INT))",
    "SELECT cardinality(MAP {'a': 1, 'b': 2}), cardinality(NULL::MAP(VARCHAR, INT)), "
    "map_contains(MAP {'a': 1}, 'a'), map_contains(MAP {'a': 1}, 'b'), "
    "map_contains(MAP {'a': 1}, NULL), map_contains(NULL::MAP(VARCHAR, INT), 'a')",
    "SELECT map_from_entries([{'k': 'a', 'v': 1}, {'k': 'b', 'v': 2}]), "
    "map_from_entries([row('a', 1)]), map_from_entries(NULL)",
]


@pytest.mark.parametrize("sql", CONSTANTS)
def test_constants(sql):
    check(sql)


COLUMNS = [
    "SELECT id, m, mi FROM t ORDER BY id",
    "SELECT id, m['a'] a, m[k] b, mi[1] c, element_at(m, 'b') d, map_extract(mi, 2) e "
    "FROM t ORDER BY id",
    "SELECT id, map_keys(m) a, map_values(m) b, map_entries(mi) c, cardinality(m) d, "
    "map_contains(m, k) e, map_contains(mi, 3) f FROM t ORDER BY id",
    "SELECT id, map(ks, list_transform(ks, x -> length(x))) a, map(ks, vs) b FROM t "
    "ORDER BY id",
    "SELECT id FROM t WHERE m['a'] > 1 OR map_contains(mi, 2) ORDER BY id",
    "SELECT id, map_from_entries(list_transform(ks, (x, i) -> {'k': x, 'v': i})) a FROM t "
    "ORDER BY id",
    "SELECT id, list_transform(map_keys(m), x -> m[x]) a FROM t ORDER BY id",
    # maps order, group and compare as the list of their entries (DuckDB's)
    "SELECT id, m FROM t ORDER BY m DESC, id",
    "SELECT m, count(*) AS n FROM (SELECT m FROM t UNION ALL SELECT m FROM t) GROUP BY m "
    "ORDER BY m",
    "SELECT DISTINCT mi FROM (SELECT mi FROM t UNION ALL SELECT mi FROM t) ORDER BY mi",
    "SELECT id, m = MAP {'b': 7} AS a, m < MAP {'b': 0} AS b, mi > MAP {1: 'y'} AS c FROM t "
    "ORDER BY id",
    "SELECT id, CAST(m AS MAP(VARCHAR, BIGINT)) a, CAST(mi AS MAP(DOUBLE, VARCHAR)) b FROM t "
    "ORDER BY id",
    "SELECT MAP {'a': 1, 'b': 2} = MAP {'b': 2, 'a': 1} a, MAP {'a': 2} > MAP {'a': 1, "
    "'b': 0} b",
]


@pytest.mark.parametrize("sql", COLUMNS)
def test_columns(sql):
    check(sql)


@pytest.mark.parametrize("sql, message", [
    ("SELECT map(['a', 'a'], [1, 2])", "unique"),
    ("SELECT map_from_entries([{'k': NULL, 'v': 1}])", "NULL"),
    ("SELECT map_from_entries([{'k': 'a', 'v': 1}, NULL])", "NULL"),
    ("SELECT map(['a'], [1, 2])", "does not align"),
    ("SELECT map(ks, [1]) FROM t", "does not align"),
    ("SELECT MAP {'a': 1}[1]", "a key of type"),
    ("SELECT map()", "no key type"),
    ("SELECT cardinality([1])", "must be a MAP"),
])
def test_refused(sql, message):
    with pytest.raises(QueryError, match=message):
        sql_arrow(sql, {"t": T})


def test_stored_map_columns(tmp_path):
    """MAP columns stored (type code 23: a list of key/value structs, docs/format.md):
    create_table, append, CREATE TABLE AS, INSERT, Parquet; read back after reopening
    and compaction as Arrow maps; DESCRIBE names DuckDB's type; queries agree with
    DuckDB's over the same data."""
    import pyarrow.parquet as pq

    import mapdb
    path = tmp_path / "db"
    db = mapdb.connect(path)
    db.create_table("t", T)
    db["t"].append(T.slice(0, 2))
    db.sql("CREATE TABLE u AS SELECT id, MAP {'x': [1, 2]} AS a, map(ks, vs) AS b FROM t")
    db.sql("INSERT INTO u SELECT 9, MAP {'y': [3]}, NULL")
    pq.write_table(T, tmp_path / "t.parquet")
    db.sql(f"CREATE TABLE p AS SELECT * FROM '{tmp_path / 't.parquet'}'")
    db["t"].compact()
    db.close()
    db = mapdb.connect(path)
    assert db["t"].verify() == []
    con = _con()
    con.register("t", pa.concat_tables([T, T.slice(0, 2)]))
    for sql in ["SELECT id, m, mi, m['a'] AS a, map_keys(mi) AS k FROM t ORDER BY id, m",
                "SELECT m, count(*) AS n FROM t GROUP BY m ORDER BY m"]:
        got = db.sql(sql).to_arrow().to_pylist()
        want = con.sql(sql).arrow().read_all().to_pylist()
        assert got == want, sql
    assert db.sql("SELECT a, b FROM u ORDER BY id").to_arrow().to_pylist()[-1] == \
        {"a": [("y", [3])], "b": None}
    assert db.sql("SELECT * FROM p ORDER BY id").to_arrow().to_pylist() == T.to_pylist()
    types = {r["column_name"]: r["column_type"] for r in
             db.sql("DESCRIBE t").to_arrow().to_pylist()}
    assert types["m"] == "MAP(VARCHAR, INTEGER)" and types["mi"] == "MAP(BIGINT, VARCHAR)"
