"""Table names in queries -> what they name: a stored table, a stored view, or one of the
virtual ``information_schema`` tables.

Names match as DuckDB matches identifiers: exactly first, then ignoring case. ``main.t``
is ``t`` (the one schema); ``information_schema.tables`` and ``.columns`` are built from
the catalog when a query names them. A view resolves to a ``views.ViewDef`` that the
binder binds in place; views and information_schema tables change without a new table
version, so the session never caches plans that read them.
"""

from __future__ import annotations

import pyarrow as pa

from mapdb.errors import MapdbError
from mapdb.query import infoschema
from mapdb.query.source import ArrowSource
from mapdb.query.views import ViewDef

SCHEMA = "main"
VIRTUAL = ("tables", "columns")


def database_name(store) -> str:
    """The name DuckDB gives a database opened from this path: the file name without its
    extension (``/data/flights.mapdb`` is ``flights``), the catalog of ``flights.main.t``;
    a ``:memory:`` database's (api.database.connect's scratch directory) is ``memory``."""
    import os
    if os.path.basename(os.path.dirname(store.path)).startswith("mapdb-memory-"):
        return "memory"
    return os.path.splitext(os.path.basename(store.path))[0]


def resolve(store, name: str):
    """The stored table's exact name (str), a ViewDef, or an ArrowSource; KeyError if
    ``name`` names none of them."""
    if store.exists(name):
        return name
    schema, dot, rest = name.partition(".")
    if dot:
        if schema.lower() == SCHEMA:
            return resolve(store, rest)
        if schema.lower() == "information_schema" and rest.lower() in VIRTUAL:
            return ArrowSource(f"information_schema.{rest.lower()}",
                               information_schema(store, rest.lower()))
        raise KeyError(name)
    views = store.views()
    if name in views:
        return ViewDef(name, views[name])
    for t in store.tables():  # SQL identifiers are case-insensitive
        if t.lower() == name.lower():
            return t
    for v, sql in views.items():
        if v.lower() == name.lower():
            return ViewDef(v, sql)
    raise KeyError(name)


def table_columns(store, name: str) -> list[infoschema.ColumnInfo]:
    """A stored table's columns as DESCRIBE shows them (type, NOT NULL, default, key)."""
    snap = store.snapshot(name)
    try:
        m = snap.manifest
    finally:
        snap.close()
    keys: dict[int, str] = {}
    for ix in m.indexes:
        if ix.kind == "hash" and ix.unique:
            keys[ix.column] = "PRI" if ix.name == PRIMARY_KEY_INDEX else \
                keys.get(ix.column, "UNI")
    return [infoschema.ColumnInfo(c.name, infoschema.duckdb_type(c.type),
                                  not getattr(c, "not_null", False),
                                  getattr(c, "default", None), keys.get(c.id))
            for c in m.schema]


PRIMARY_KEY_INDEX = "primary_key"  # the unique index CREATE TABLE makes of a PRIMARY KEY


def query_columns(store, sql: str) -> list[infoschema.ColumnInfo]:
    """The columns a query (or a view's SQL) produces, as DESCRIBE shows them."""
    from mapdb.query.binder import bind_sql
    opened: list = []

    def catalog(name: str):
        key = resolve(store, name)
        if isinstance(key, str):
            from mapdb.query.source import TableSource
            opened.append(TableSource(key, store.snapshot(key)))
            return opened[-1]
        return key

    try:
        q = bind_sql(sql, catalog)
        return [infoschema.ColumnInfo(n, infoschema.arrow_type_name(t.output_type))
                for n, (_, t) in zip(q.names, q.plan.schema, strict=True)]
    finally:
        for s in opened:
            s.close()


def relations(store) -> list[tuple[str, list[infoschema.ColumnInfo]]]:
    """Every table and view with its columns (a view that cannot be bound any more, its
    tables dropped, is listed without columns)."""
    out = []
    for t in store.tables():
        try:
            out.append((t, table_columns(store, t)))
        except MapdbError:  # dropped meanwhile
            continue
    for v, sql in store.views().items():
        try:
            out.append((v, query_columns(store, sql)))
        except MapdbError:
            out.append((v, []))
    return out


def information_schema(store, which: str) -> pa.Table:
    catalog = infoschema.catalog_name(store.path)
    if which == "tables":
        return infoschema.tables_table(catalog, store.tables(), list(store.views()))
    return infoschema.columns_table(catalog, relations(store))
