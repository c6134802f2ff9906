"""What the catalog says about itself, in DuckDB's shapes: type names, the rows of
``information_schema.tables`` / ``.columns``, ``DESCRIBE``, ``SHOW [ALL] TABLES``.

A database is DuckDB's catalog named after its directory (``demo`` for ``demo.mapdb``)
with one schema, ``main``. Columns carry DuckDB's names and types; what mapdb has no
notion of (collations, identity columns, comments) is NULL as in DuckDB.

>>> import pyarrow as pa
>>> from mapdb.storage.types import ColumnType
>>> duckdb_type(ColumnType.parse("int32")), duckdb_type(ColumnType.parse("dict"))
('INTEGER', 'VARCHAR')
>>> arrow_type_name(pa.timestamp("us", "UTC")), arrow_type_name(pa.decimal128(10, 2))
('TIMESTAMP WITH TIME ZONE', 'DECIMAL(10,2)')
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pyarrow as pa

from mapdb.storage.types import ColumnType

_NAMES = {
    "bool": "BOOLEAN", "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER",
    "int64": "BIGINT", "uint8": "UTINYINT", "uint16": "USMALLINT", "uint32": "UINTEGER",
    "uint64": "UBIGINT", "float32": "FLOAT", "float64": "DOUBLE", "date32": "DATE",
    "string": "VARCHAR", "dict": "VARCHAR", "binary": "BLOB", "time64": "TIME",
    "interval": "INTERVAL",
}
_TIMESTAMPS = {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}
# numeric_precision, numeric_precision_radix, numeric_scale as DuckDB reports them
_PRECISION = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64, "FLOAT": 24,
              "DOUBLE": 53}


def duckdb_type(t: ColumnType) -> str:
    """DuckDB's name of a stored column type (what DESCRIBE shows)."""
    if t.kind in _NAMES:
        return _NAMES[t.kind]
    if t.kind in ("decimal", "decimal128"):
        p, s = t.decimal_params
        return f"DECIMAL({p},{s})"
    if t.kind == "list":  # INTEGER[], STRUCT(a BIGINT, b VARCHAR)
        return duckdb_type(t.children[0][1]) + "[]"
    if t.kind == "struct":
        return "STRUCT(" + ", ".join(f"{_field(n)} {duckdb_type(c)}"
                                     for n, c in t.children) + ")"
    if t.kind == "map":  # MAP(VARCHAR, INTEGER)
        (_, key), (_, value) = t.children[0][1].children
        return f"MAP({duckdb_type(key)}, {duckdb_type(value)})"
    unit, tz = t.timestamp_params
    return "TIMESTAMP WITH TIME ZONE" if tz else _TIMESTAMPS[unit]


def _field(name: str) -> str:
    """A struct field's name as DuckDB prints it in a type (quoted unless plain)."""
    import re
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else \
        '"' + name.replace('"', '""') + '"'


def arrow_type_name(t: pa.DataType) -> str:
    """DuckDB's name of a result column's Arrow type."""
    if pa.types.is_null(t):
        return '"NULL"'
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        return "INTERVAL"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return arrow_type_name(t.value_type) + "[]"
    try:
        return duckdb_type(ColumnType.from_arrow(t))
    except Exception:  # a type no table can store: Arrow's own name
        return str(t).upper()


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # DuckDB's name
    nullable: bool = True
    default: str | None = None  # SQL text
    key: str | None = None  # "PRI" or "UNI"


def catalog_name(db_path: str) -> str:
    """The database's name as DuckDB would give a file database: its base name without
    the extension."""
    base = os.path.basename(os.path.normpath(db_path))
    return os.path.splitext(base)[0] or base


def describe_rows(columns: list[ColumnInfo]) -> pa.Table:
    """``DESCRIBE``: column_name, column_type, null, key, default, extra."""
    s = pa.string()
    return pa.table({
        "column_name": pa.array([c.name for c in columns], s),
        "column_type": pa.array([c.type for c in columns], s),
        "null": pa.array(["YES" if c.nullable else "NO" for c in columns], s),
        "key": pa.array([c.key for c in columns], s),
        "default": pa.array([c.default for c in columns], s),
        "extra": pa.nulls(len(columns), s),
    })


def show_tables(names: list[str]) -> pa.Table:
    """``SHOW TABLES``: the tables and views, by name."""
    return pa.table({"name": pa.array(sorted(names), pa.string())})


def show_all_tables(catalog: str, relations: list[tuple[str, list[ColumnInfo]]]
                    ) -> pa.Table:
    """``SHOW ALL TABLES``: database, schema, name, column_names, column_types,
    temporary."""
    relations = sorted(relations, key=lambda r: r[0])
    n = len(relations)
    s = pa.string()
    return pa.table({
        "database": pa.array([catalog] * n, s), "schema": pa.array(["main"] * n, s),
        "name": pa.array([r[0] for r in relations], s),
        "column_names": pa.array([[c.name for c in r[1]] for r in relations],
                                 pa.list_(s)),
        "column_types": pa.array([[c.type for c in r[1]] for r in relations],
                                 pa.list_(s)),
        "temporary": pa.array([False] * n, pa.bool_()),
    })


_TABLES_COLUMNS = ["table_catalog", "table_schema", "table_name", "table_type",
                   "self_referencing_column_name", "reference_generation",
                   "user_defined_type_catalog", "user_defined_type_schema",
                   "user_defined_type_name", "is_insertable_into", "is_typed",
                   "commit_action", "TABLE_COMMENT"]


def tables_table(catalog: str, tables: list[str], views: list[str]) -> pa.Table:
    """``information_schema.tables``: one row per table ('BASE TABLE') and view ('VIEW'),
    in name order (DuckDB's order is its catalog's)."""
    rows = sorted([(t, "BASE TABLE") for t in tables] + [(v, "VIEW") for v in views])
    n = len(rows)
    s = pa.large_string()
    cols = {c: pa.nulls(n, s) for c in _TABLES_COLUMNS}
    cols["table_catalog"] = pa.array([catalog] * n, s)
    cols["table_schema"] = pa.array(["main"] * n, s)
    cols["table_name"] = pa.array([r[0] for r in rows], s)
    cols["table_type"] = pa.array([r[1] for r in rows], s)
    cols["is_insertable_into"] = pa.array(["YES" if r[1] == "BASE TABLE" else "NO"
                                           for r in rows], s)
    cols["is_typed"] = pa.array(["NO"] * n, s)
    return pa.table(cols)


_COLUMNS_COLUMNS: list[tuple[str, pa.DataType]] = [
    (name, {"I": pa.int32(), "L": pa.int64(), "B": pa.bool_()}.get(kind, pa.large_string()))
    for name, kind in [
        ("table_catalog", "V"), ("table_schema", "V"), ("table_name", "V"),
        ("column_name", "V"), ("ordinal_position", "I"), ("column_default", "V"),
        ("is_nullable", "V"), ("data_type", "V"), ("character_maximum_length", "I"),
        ("character_octet_length", "I"), ("numeric_precision", "I"),
        ("numeric_precision_radix", "I"), ("numeric_scale", "I"),
        ("datetime_precision", "I"), ("interval_type", "V"), ("interval_precision", "I"),
        ("character_set_catalog", "V"), ("character_set_schema", "V"),
        ("character_set_name", "V"), ("collation_catalog", "V"), ("collation_schema", "V"),
        ("collation_name", "V"), ("domain_catalog", "V"), ("domain_schema", "V"),
        ("domain_name", "V"), ("udt_catalog", "V"), ("udt_schema", "V"), ("udt_name", "V"),
        ("scope_catalog", "V"), ("scope_schema", "V"), ("scope_name", "V"),
        ("maximum_cardinality", "L"), ("dtd_identifier", "V"), ("is_self_referencing", "B"),
        ("is_identity", "B"), ("identity_generation", "V"), ("identity_start", "V"),
        ("identity_increment", "V"), ("identity_maximum", "V"), ("identity_minimum", "V"),
        ("identity_cycle", "B"), ("is_generated", "V"), ("generation_expression", "V"),
        ("is_updatable", "B"), ("COLUMN_COMMENT", "V")]]


def _numeric(type_name: str) -> tuple[int | None, int | None, int | None]:
    if type_name in _PRECISION:
        return _PRECISION[type_name], 2, 0
    if type_name.startswith("DECIMAL("):
        p, s = type_name[8:-1].split(",")
        return int(p), 10, int(s)
    return None, None, None


def columns_table(catalog: str, relations: list[tuple[str, list[ColumnInfo]]]) -> pa.Table:
    """``information_schema.columns``: one row per column of every table and view."""
    rows = [(name, i, c) for name, cols in sorted(relations, key=lambda r: r[0])
            for i, c in enumerate(cols, start=1)]
    n = len(rows)
    values: dict[str, list] = {name: [None] * n for name, _ in _COLUMNS_COLUMNS}
    for k, (table, pos, c) in enumerate(rows):
        values["table_catalog"][k] = catalog
        values["table_schema"][k] = "main"
        values["table_name"][k] = table
        values["column_name"][k] = c.name
        values["ordinal_position"][k] = pos
        values["column_default"][k] = c.default
        values["is_nullable"][k] = "YES" if c.nullable else "NO"
        values["data_type"][k] = c.type
        p, radix, scale = _numeric(c.type)
        values["numeric_precision"][k] = p
        values["numeric_precision_radix"][k] = radix
        values["numeric_scale"][k] = scale
        values["is_generated"][k] = "NEVER"
    return pa.table({name: pa.array(values[name], t) for name, t in _COLUMNS_COLUMNS})
