"""Schema- and database-qualified names as DuckDB reads them (Binder.schema_of, .qualified):
a database opened from ``shop.mapdb`` is the catalog ``shop`` (DuckDB names a database
file by its stem), its one schema ``main``. DuckDB here opens ``shop.duckdb``, so both
engines see the same catalog name."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import QueryError

from .compare import Engines, check

T = pa.table({"k": pa.array([1, 2, None, 2], pa.int32()), "v": ["a", None, "c", "d"]})
U = pa.table({"k": pa.array([2, 3], pa.int32()), "w": [1.5, None]})

QUERIES = [
    "SELECT count(*) FROM main.t",
    "SELECT count(*) FROM shop.main.t",
    "SELECT count(*) FROM shop.t",
    "SELECT main.t.k, t.v FROM t",
    "SELECT shop.main.t.k, shop.t.v, main.t.v FROM shop.main.t",
    "SELECT main.t.v, main.u.w FROM t JOIN u ON main.t.k = main.u.k",
    "SELECT v FROM t WHERE main.t.k IN (SELECT main.u.k FROM main.u WHERE main.u.k = "
    "main.t.k)",
    "SELECT \"SHOP\".MAIN.T.k FROM t",
    "WITH t AS (SELECT 7 AS k) SELECT k FROM shop.t",  # the table, not the CTE
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("qualified")
    db = mapdb.connect(root / "shop.mapdb")
    con = duckdb.connect(str(root / "shop.duckdb"))
    for name, table in (("t", T), ("u", U)):
        db.create_table(name, table)
        con.register("src", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM src")
        con.unregister("src")
    yield Engines(db, con)
    db.close()
    con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_qualified_names_equal_duckdb(engines, sql):
    check(engines, sql)


@pytest.mark.parametrize("sql, message", [
    ("SELECT count(*) FROM other.main.t", 'no catalog "other"'),
    ("SELECT count(*) FROM shop.other.t", 'no catalog "shop" with schema "other"'),
    ("SELECT count(*) FROM other.t", 'table "other.t" not found'),
    ("SELECT count(*) FROM shop.information_schema.tables", "information_schema"),
    ("SELECT main.a.k FROM t a", 'table "main.a" not found'),
    ("SELECT main.t.k FROM t a", 'table "main.t" not found'),
    ("SELECT other.t.k FROM t", "a column qualified by schema and table"),
])
def test_refused_where_duckdb_errs(engines, sql, message):
    with pytest.raises(QueryError, match=message):
        engines.db.sql(sql).to_arrow()
    with pytest.raises(duckdb.Error):
        engines.con.execute(sql).fetchall()


def test_memory_database_is_memory():
    """A ``:memory:`` database is the catalog ``memory``, as DuckDB's."""
    db = mapdb.connect()
    db.create_table("t", T)
    con = duckdb.connect()
    con.register("src", T)
    con.execute("CREATE TABLE t AS SELECT * FROM src")
    check(Engines(db, con), "SELECT memory.main.t.k FROM memory.main.t")
    db.close()
    con.close()
