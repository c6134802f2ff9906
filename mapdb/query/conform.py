"""Values made to fit stored columns the way DuckDB's INSERT and UPDATE make them fit:
each value cast to the column's type with the engine's CAST (``'5'`` into an INTEGER is 5,
2.5 is 3, 300 into a TINYINT is an error), and statements' parts run over sources the
caller names (``run_over``).

A VALUES list is cast value by value, as DuckDB casts it: (1), (2.5) into a VARCHAR are
'1' and '2.5' (a VALUES query would first bring both to DECIMAL). Constants (literals,
signed numbers, NULL, booleans, parameters) are read in Python and cast a column at a
time, one group per kind of value; any other expression is evaluated by the engine.

>>> import pyarrow as pa
>>> from mapdb.storage.types import ColumnType
>>> out = cast_columns({"a": pa.array(["5", "7"]), "b": pa.array([2.5, -2.5])},
...                    {"a": ColumnType("int8"), "b": ColumnType("int32")})
>>> out["a"].to_pylist(), out["b"].to_pylist()  # DOUBLE to INTEGER: half to even
([5, 7], [2, -2])
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable

import numpy as np
import pyarrow as pa
from sqlglot import exp

from mapdb.errors import MapdbError
from mapdb.query import infoschema
from mapdb.query.binder import bind_sql
from mapdb.query.optimizer import optimize
from mapdb.query.session import Prepared, execute
from mapdb.query.source import ArrowSource, engine_array
from mapdb.query.statement import sql_cast_name
from mapdb.query.types import QueryError
from mapdb.storage.types import ColumnType


def run_over(sql: str, catalog: Callable[[str], object], params=None,
             workers: int | None = None) -> pa.Table:
    """Bind, optimize and run ``sql`` with ``catalog(name)`` naming its tables (a Source,
    a views.ViewDef or KeyError); the caller owns the sources."""
    q = bind_sql(sql, catalog, None, params)
    if q.explain is not None:
        raise QueryError("EXPLAIN is not supported here")
    out, _, _ = execute(Prepared(q, optimize(q.plan), []), workers)
    return out


def stored_arrow(t: ColumnType) -> pa.DataType:
    """The Arrow type values of ``t`` are handed to the writer in."""
    return pa.large_string() if t.is_dictionary else t.arrow_type


def _what(t: pa.DataType) -> str:
    return infoschema.arrow_type_name(t)


def cast_columns(columns: dict[str, pa.Array], types: dict[str, ColumnType],
                 names: dict[str, str] | None = None) -> dict[str, pa.Array]:
    """Each array cast to its column's stored type as DuckDB's implicit cast on INSERT
    does (QueryError naming the column when a value does not convert). ``names``: key ->
    the column name for messages (default: the key)."""
    names = names or {}
    out: dict[str, pa.Array] = {}
    todo: dict[str, tuple[pa.Array, str]] = {}
    for key, arr in columns.items():
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
        t = types[key]
        target = stored_arrow(t)
        if pa.types.is_dictionary(arr.type) and t.is_dictionary:
            out[key] = arr
            continue
        if arr.type == target or (t.is_dictionary and arr.type in (pa.string(),
                                                                   pa.large_string())):
            out[key] = arr
            continue
        if pa.types.is_null(arr.type) or arr.null_count == len(arr):
            out[key] = pa.nulls(len(arr), target)
            continue
        arr = engine_array(arr)
        if arr.type == target:
            out[key] = arr
            continue
        cast = sql_cast_name(t)
        if cast is None:  # no CAST in the engine: Arrow's, for the same family only
            out[key] = _arrow_cast(arr, t, names.get(key, key))
            continue
        todo[key] = (arr, cast)
    if todo:
        out.update(_engine_cast(todo, names))
    return out


def _arrow_cast(arr: pa.Array, t: ColumnType, name: str) -> pa.Array:
    same = (pa.types.is_timestamp(arr.type) and t.kind == "timestamp") or \
        (pa.types.is_date(arr.type) and t.kind == "timestamp") or \
        ((pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type)) and \
        t.kind == "binary")
    is_list = pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
    same_fields = pa.types.is_struct(arr.type) and \
        [f.name for f in arr.type] == [n for n, _ in t.children]  # (DuckDB: by name)
    nested = (t.kind == "list" and is_list) or (t.kind == "struct" and same_fields)
    if same or nested:
        try:  # (a list or struct: Arrow's cast of each element, checked for overflow)
            return arr.cast(t.arrow_type, safe=not same)
        except pa.ArrowException as e:
            raise QueryError(f'column "{name}": cannot convert {_what(arr.type)} to '
                             f"{infoschema.duckdb_type(t)}: {e}") from None
    raise QueryError(f'column "{name}" is {infoschema.duckdb_type(t)}: a '
                     f"{_what(arr.type)} value cannot be stored in it")


def _engine_cast(todo: dict[str, tuple[pa.Array, str]], names: dict[str, str]
                 ) -> dict[str, pa.Array]:
    keys = list(todo)
    n = max(len(a) for a, _ in todo.values())
    cols = {}
    for i, k in enumerate(keys):
        a = todo[k][0]
        if len(a) < n:  # one query for every column: shorter ones padded with nulls
            a = pa.concat_arrays([a, pa.nulls(n - len(a), a.type)])
        cols[f"c{i}"] = a
    src = ArrowSource("__mapdb_values", pa.table(cols))
    sql = "SELECT " + ", ".join(f"CAST(c{i} AS {todo[k][1]}) AS c{i}"
                                for i, k in enumerate(keys)) + " FROM __mapdb_values"
    try:
        res = run_over(sql, {"__mapdb_values": src}.__getitem__, workers=1)
    except MapdbError:
        if len(keys) == 1:
            k = keys[0]
            arr, cast = todo[k]
            bad = _first_bad(arr, cast)
            raise QueryError(f'column "{names.get(k, k)}": cannot convert '
                             f"{_what(arr.type)} {bad} to {cast}") from None
        out = {}
        for k in keys:  # again one by one, for the column's name
            out.update(_engine_cast({k: todo[k]}, names))
        return out
    return {k: res.column(i).combine_chunks().slice(0, len(todo[k][0]))
            for i, k in enumerate(keys)}


def _first_bad(arr: pa.Array, cast: str) -> str:
    """The first value of ``arr`` CAST(... AS cast) refuses, quoted for a message."""
    src = ArrowSource("v", pa.table({"v": arr}))
    for i in range(min(len(arr), 10_000)):
        one = ArrowSource("v", pa.table({"v": arr.slice(i, 1)}))
        try:
            run_over(f"SELECT CAST(v AS {cast}) FROM v", {"v": one}.__getitem__, workers=1)
        except MapdbError:
            v = arr[i].as_py()
            return repr(v) if not isinstance(v, str) else "'" + v.replace("'", "''") + "'"
    del src
    return "(a value)"


# -- VALUES --------------------------------------------------------------------------------
class NotConstant(Exception):
    """An expression the Python reading of constants does not handle."""


def constant(node: exp.Expression, params: dict) -> object:
    """The Python value of a constant expression of a VALUES row; ``params``: parameter
    key -> value."""
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        return _number(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and \
            not node.this.is_string:
        v = _number(node.this.this)
        return -v
    if isinstance(node, exp.Paren):
        return constant(node.this, params)
    if isinstance(node, exp.Placeholder):
        from mapdb.query.params import placeholder_key
        key = placeholder_key(node)
        if key not in params:
            raise NotConstant
        v = params[key]
        if isinstance(v, np.generic):
            v = v.item()
        return v
    raise NotConstant


def _number(text: str):
    if any(c in text for c in "eE"):
        return float(text)
    if "." in text:
        d = decimal.Decimal(text)
        if len(d.as_tuple().digits) > 18:
            raise NotConstant  # a wide decimal: the engine types it
        return d
    v = int(text)
    if not -(1 << 63) <= v < (1 << 64):
        raise NotConstant
    return v


def _kind(v) -> tuple:
    """The group a Python value is cast in (values of one group share an Arrow type)."""
    if isinstance(v, bool):
        return ("bool",)
    if isinstance(v, int):
        return ("int", v >= (1 << 63))
    if isinstance(v, float):
        return ("float",)
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            return ("float",)
        return ("decimal", max(-v.as_tuple().exponent, 0))
    if isinstance(v, str):
        return ("str",)
    if isinstance(v, datetime.datetime):
        return ("timestamp", v.tzinfo is not None and v.utcoffset() is not None)
    if isinstance(v, datetime.date):
        return ("date",)
    if isinstance(v, bytes | bytearray | memoryview):
        return ("bytes",)
    raise QueryError(f"a {type(v).__name__} value cannot be inserted (use None, bool, "
                     "int, float, Decimal, str, bytes, date or datetime)")


def _array(kind: tuple, values: list) -> pa.Array:
    k = kind[0]
    if k == "int":
        return pa.array(values, pa.uint64() if kind[1] else pa.int64())
    if k == "float":
        return pa.array([float(v) for v in values], pa.float64())
    if k == "decimal":
        scale = kind[1]
        digits = max(len(v.as_tuple().digits) + max(v.as_tuple().exponent, 0)
                     for v in values)
        p = min(max(digits, scale + 1, 1), 38)
        return pa.array(values, pa.decimal128(max(p, scale), scale))
    if k == "str":
        return pa.array(values, pa.large_string())
    if k == "bool":
        return pa.array(values, pa.bool_())
    if k == "date":
        return pa.array(values, pa.date32())
    if k == "timestamp":
        if kind[1]:
            return pa.array([v.astimezone(datetime.UTC) for v in values],
                            pa.timestamp("us", "UTC"))
        return pa.array(values, pa.timestamp("us"))
    return pa.array([bytes(v) for v in values], pa.large_binary())


class ValueColumns:
    """The values of a VALUES list (or of many parameter rows), collected column by column
    in groups of one Arrow type, then cast to the columns' types in one go."""

    def __init__(self, keys: list[str]):
        self.keys = keys
        self.rows = 0
        # column -> group key -> (row positions, values or arrays)
        self._groups: dict[str, dict[tuple, tuple[list[int], list]]] = {k: {} for k in keys}

    def add_constants(self, values: list) -> None:
        """One row of Python values."""
        for k, v in zip(self.keys, values, strict=True):
            if v is None:
                continue
            g = self._groups[k].setdefault(("py", *_kind(v)), ([], []))
            g[0].append(self.rows)
            g[1].append(v)
        self.rows += 1

    def add_arrays(self, row: dict[str, pa.Array]) -> None:
        """One row evaluated by the engine (one-element arrays)."""
        for k in self.keys:
            a = row[k]
            if a.null_count == len(a):
                continue
            g = self._groups[k].setdefault(("arrow", str(a.type)), ([], []))
            g[0].append(self.rows)
            g[1].append(a)
        self.rows += 1

    def cast(self, types: dict[str, ColumnType], names: dict[str, str]) -> dict[str, pa.Array]:
        """Every column cast to its type, rows in the order they were added."""
        arrays, slots = {}, []
        for k in self.keys:
            for gi, (kind, (rows, vals)) in enumerate(self._groups[k].items()):
                arr = _array(kind[1:], vals) if kind[0] == "py" else \
                    pa.concat_arrays([v.cast(vals[0].type) for v in vals])
                key = f"{k}\x00{gi}"
                arrays[key] = arr
                slots.append((k, key, rows))
        cast = cast_columns(arrays, {key: types[k] for k, key, _ in slots},
                            {key: names.get(k, k) for k, key, _ in slots})
        out = {}
        for k in self.keys:
            target = stored_arrow(types[k])
            parts = [(rows, cast[key]) for kk, key, rows in slots if kk == k]
            if not parts:
                out[k] = pa.nulls(self.rows, target)
                continue
            pos = np.full(self.rows, -1, np.int64)
            chunks, base = [], 0
            for rows, arr in parts:
                pos[np.asarray(rows, np.int64)] = base + np.arange(len(rows))
                chunks.append(arr.dictionary_decode() if pa.types.is_dictionary(arr.type)
                              else arr)
                base += len(rows)
            chunks = [c if c.type == chunks[0].type else c.cast(chunks[0].type)
                      for c in chunks]
            combined = pa.concat_arrays(chunks)
            idx = pa.array(pos, mask=pos < 0)
            out[k] = combined.take(idx)
        return out
