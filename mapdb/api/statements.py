"""SQL statements besides queries, run by ``db.sql`` / ``db.execute`` / ``mapdb query``:
CREATE / DROP / ALTER TABLE, INSERT, UPDATE, DELETE, CREATE / DROP VIEW, COPY, DESCRIBE,
SHOW TABLES, SUMMARIZE, and scripts of several statements.

Each statement runs at once and returns what DuckDB's Python API returns: INSERT, UPDATE,
DELETE, COPY and CREATE TABLE AS a one-row ``Count`` (rows affected); CREATE TABLE and
CREATE VIEW an empty ``Count``; DROP and ALTER an empty ``Success``; DESCRIBE, SHOW and
SUMMARIZE their rows in DuckDB's columns. A script runs its statements in order and
returns the last one's result (as DuckDB's ``execute``); the first failing statement
stops it, the ones before it stay done (each statement is its own commit).

How changes are made (the storage side is ``storage.table.Writer``):

- INSERT takes the table's writer lock, computes its rows (VALUES cast value by value to
  the column types as DuckDB casts them, see query.conform; a SELECT run by the engine),
  fills omitted columns with their DEFAULT or NULL and commits one new version.
- DELETE and UPDATE take the writer lock first and compute on the version under it, so
  no concurrent commit is lost: for each segment of that version, the engine finds the
  matching rows (a count over the segment, zone maps and indexes used; then, where it is
  not 0, the rows' positions and new values over the segment's columns with a row
  number beside them); the segments that change are rewritten copy-on-write in one
  commit (``Writer.rewrite``). Rows keep their order.
- ALTER TABLE changes only the manifest (or writes the new column's files); CREATE VIEW
  binds the query first (a view that cannot be read is refused) and stores its text.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.errors import MapdbError, NotFoundError, QueryError, SchemaError, StorageError
from mapdb.query import infoschema, memory, statement
from mapdb.query.conform import (
    NotConstant,
    ValueColumns,
    cast_columns,
    constant,
    run_over,
    stored_arrow,
)
from mapdb.query.params import placeholders, values_for
from mapdb.query.resolve import (
    PRIMARY_KEY_INDEX,
    database_name,
    query_columns,
    relations,
    resolve,
    table_columns,
)
from mapdb.query.session import prepare_over
from mapdb.query.source import ArrowSource, RowRangeSource, TableSource
from mapdb.query.statement import Piece, Span, Text, quote, split
from mapdb.query.syntax import locate
from mapdb.query.views import ViewDef
from mapdb.storage.types import ColumnType

if TYPE_CHECKING:
    from mapdb.api.database import Database
    from mapdb.api.result import Result

ROWID = "__mapdb_rowid"
TARGET = "__mapdb_target"


# -- results --------------------------------------------------------------------------------
def count_table(n: int | None) -> pa.Table:
    """DuckDB's result of a statement that changes rows (None: no row, as CREATE TABLE)."""
    return pa.table({"Count": pa.array([] if n is None else [n], pa.int64())})


def success_table() -> pa.Table:
    return pa.table({"Success": pa.array([], pa.bool_())})


def table_result(table: pa.Table, workers: int | None = None) -> Result:
    """A Result over rows already computed."""
    from mapdb.api.result import Result
    if hasattr(Result, "of_table"):
        return Result.of_table(table)
    names = [f"c{i}" for i in range(table.num_columns)]
    src = ArrowSource("__mapdb_result", table.rename_columns(names))
    cols = ", ".join(f"{n} AS {quote(c)}" for n, c in zip(names, table.column_names,
                                                          strict=True))
    return Result(prepare_over(f"SELECT {cols} FROM __mapdb_result",
                               {"__mapdb_result": src}), workers=workers)


# -- entry points ---------------------------------------------------------------------------
def run(db: Database, text: str, params=None, *, workers: int | None = None,
        fused: bool = True, lock_timeout: float = 0.0) -> Result:
    """Run every statement of ``text`` in order; the last one's Result."""
    pieces = split(text)
    if not pieces:
        raise QueryError("no statement in the text (only comments or semicolons)")
    if params is not None and len(pieces) > 1:
        raise QueryError(f"parameters need a single statement; the text has "
                         f"{len(pieces)} (run them one by one)")
    result = None
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        if piece.kind == "query":
            result = db._query(piece.sql, params, workers=workers, fused=fused)
            if not last:
                result.to_arrow()  # run (its errors stop the script), then dropped
                result = None
            continue
        with memory.scope(db.memory_limit):  # the queries inside INSERT, CTAS, UPDATE
            out = Statement(db, piece, params, workers, lock_timeout).run()
        result = table_result(out, workers) if last else None
    return result


# statements that only read the database (COPY ... TO writes a file, not the database)
_READING = {"query", "describe", "show", "summarize"}


def writes(text: str) -> bool:
    """Whether any statement of ``text`` changes the database (``mapdb query`` opens it
    read-only otherwise). Statements mapdb refuses count as reading: they fail either way.

    >>> writes("SELECT 1; DESCRIBE t"), writes("COPY t TO 'x.csv'"), writes("DROP TABLE t")
    (False, False, True)
    """
    for piece in split(text):
        kind = piece.kind
        if kind == "copy":
            if not piece.tree.args.get("kind"):  # False: COPY ... TO
                continue
            return True
        if kind in _READING:
            continue
        if kind in ("create_table", "create_view", "insert", "delete", "update", "drop",
                    "alter", "truncatetable"):
            return True
    return False


def run_many(db: Database, text: str, seq_of_params, *, lock_timeout: float = 0.0
             ) -> pa.Table:
    """``executemany``: an INSERT ... VALUES with parameters runs once with every
    parameter row (one commit, rows in order); any other statement runs once per row.
    The total Count."""
    pieces = split(text)
    if len(pieces) != 1:
        raise QueryError("executemany takes one statement")
    piece = pieces[0]
    rows = list(seq_of_params)
    if not rows:
        return count_table(0)
    if piece.kind == "insert":
        with memory.scope(db.memory_limit):
            return Statement(db, piece, rows[0] if rows else None, None,
                             lock_timeout).insert(many=rows)
    total = 0
    for params in rows:
        if piece.kind == "query":
            db._query(piece.sql, params).to_arrow()
            continue
        with memory.scope(db.memory_limit):
            out = Statement(db, piece, params, None, lock_timeout).run()
        if out.column_names == ["Count"] and out.num_rows:
            total += out.column(0)[0].as_py()
    return count_table(total)


# -- one statement --------------------------------------------------------------------------
class Statement:
    def __init__(self, db: Database, piece: Piece, params, workers: int | None,
                 lock_timeout: float):
        self.db = db
        self.store = db._store
        self.piece = piece
        self.sql = piece.sql
        self.params = params
        self.workers = workers
        self.lock_timeout = lock_timeout
        self._numbers = statement.placeholder_numbers(piece.tokens, piece.sql)
        # every parameter of the statement, checked as DuckDB checks them (count, names)
        keys = [k for _, k in placeholders(piece.tree.copy())]
        self.keys = list(dict.fromkeys(keys))
        values = values_for(self.keys, params) if (self.keys or params is not None) else {}
        self.values = _python_values(self.keys, params) if values or self.keys else {}

    def error(self, message: str, node=None) -> QueryError:
        return QueryError(message, locate(node) if node is not None else locate(
            self.piece.tree), self.sql)

    def run(self) -> pa.Table:
        s = statement.parse_statement(self.piece)
        name = type(s).__name__
        write = name not in ("Describe", "Show", "Summarize", "SetOption") and not (
            name == "Copy" and s.to)
        if write:
            self.db._writable()
        return getattr(self, "_" + name.lower())(s)

    # -- SET / RESET ------------------------------------------------------------------------
    def _setoption(self, s: statement.SetOption) -> pa.Table:
        """The connection's memory_limit (DuckDB's SET returns no rows)."""
        self.db.memory_limit = s.bytes  # None (RESET): the default
        return success_table()

    # -- parameters of assembled queries --------------------------------------------------
    def text(self) -> Text:
        return Text(self.sql, self.piece.tokens, self._numbers)

    def params_for(self, t: Text):
        if not t.keys:
            return None
        return {str(k): self.values[k] for k in t.keys}

    def run_text(self, t: Text, catalog) -> pa.Table:
        try:
            return run_over(t.text, catalog, self.params_for(t), self.workers)
        except QueryError as e:
            raise t.error(e) from None

    # -- catalogs ---------------------------------------------------------------------------
    def catalog(self, opened: list, pinned: dict | None = None):
        """Names -> sources for a statement's queries: ``pinned`` (name -> source) first,
        then the database's tables (opened here, closed by the caller), views and
        information_schema."""
        pinned = {k.lower(): v for k, v in (pinned or {}).items()}

        def lookup(name: str):
            if name.lower() in pinned:
                return pinned[name.lower()]
            key = resolve(self.store, name)
            if isinstance(key, str):
                if key.lower() in pinned:
                    return pinned[key.lower()]
                src = TableSource(key, self.store.snapshot(key))
                opened.append(src)
                pinned[name.lower()] = src
                return src
            return key
        lookup.database = database_name(self.store)  # <database>.main.t (Binder.table_ref)
        return lookup

    def table(self, name: str, node=None) -> str:
        """The stored name of table ``name`` (a view or a missing table is an error)."""
        try:
            key = resolve(self.store, name)
        except KeyError:
            raise self.error(f'table "{name}" not found', node) from None
        if not isinstance(key, str):
            raise self.error(f'"{name}" is a view, not a table', node)
        return key

    def writer(self, name: str):
        return self.store.writer(name, timeout=self.lock_timeout)

    # -- CREATE TABLE -----------------------------------------------------------------------
    def _createtable(self, s: statement.CreateTable) -> pa.Table:
        exists = self._exists(s.name)
        if exists == "view":
            raise self.error(f'"{s.name}" is a view (tables and views share one namespace)')
        if exists and s.if_not_exists:
            return count_table(None)
        if exists and not s.replace:
            raise self.error(f'table "{exists}" already exists (CREATE OR REPLACE TABLE '
                             f"replaces it; IF NOT EXISTS keeps it)")
        if s.query is not None:
            data = self.db._query(s.query, self.params, workers=self.workers).to_arrow()
            if s.names:
                if len(s.names) > data.num_columns:
                    raise self.error(f"{len(s.names)} column names given for "
                                     f"{data.num_columns} columns")
                data = data.rename_columns(s.names + data.column_names[len(s.names):])
            _unique_names(data.column_names, self)
            if exists:
                self.store.drop_table(exists, timeout=self.lock_timeout)
            self.db.create_table(s.name, data, lock_timeout=self.lock_timeout)
            return count_table(data.num_rows)
        schema = pa.schema([pa.field(c.name, c.type.arrow_type) for c in s.columns])
        defaults = {}
        for c in s.columns:
            if c.default is not None:
                self._default_value(c)  # a default that does not fit is refused now
                defaults[c.name] = c.default_sql
        if exists:
            self.store.drop_table(exists, timeout=self.lock_timeout)
        w = self.store.create_writer(s.name, schema, None, dictionary=None,
                                     not_null=[c.name for c in s.columns if c.not_null],
                                     defaults=defaults)
        try:
            if s.primary_key:
                w.create_index(s.primary_key, "hash", unique=True, name=PRIMARY_KEY_INDEX)
            for col in s.unique:
                w.create_index(col, "hash", unique=True, name=f"{col}_unique")
            w.commit()
        except SchemaError as e:
            raise self.error(f"{e}") from None
        finally:
            w.close()
        return count_table(None)

    def _exists(self, name: str) -> str | None:
        """'view', the table's stored name, or None."""
        try:
            key = resolve(self.store, name)
        except KeyError:
            return None
        return key if isinstance(key, str) else "view" if isinstance(key, ViewDef) else None

    def _default_value(self, c: statement.ColumnDefinition):
        """A column DEFAULT as a value of the column's type (constants only)."""
        if any(isinstance(n, exp_types()) for n in c.default.walk()):
            raise self.error(f'the DEFAULT of column "{c.name}" must be a constant',
                             c.default)
        src = ArrowSource("__mapdb_one", pa.table({"x": [0]}))
        try:
            out = run_over(f"SELECT {c.default_sql} AS v FROM __mapdb_one",
                           {"__mapdb_one": src}.__getitem__)
            arr = cast_columns({"v": out.column(0)}, {"v": c.type}, {"v": c.name})["v"]
        except QueryError as e:
            raise self.error(f'DEFAULT of column "{c.name}": {e}', c.default) from None
        return arr[0].as_py()

    # -- DROP -------------------------------------------------------------------------------
    def _drop(self, s: statement.Drop) -> pa.Table:
        for name in s.names:
            exists = self._exists(name)
            if exists is None:
                if s.if_exists:
                    continue
                raise self.error(f'{s.kind.lower()} "{name}" does not exist')
            if s.kind == "TABLE":
                if exists == "view":
                    raise self.error(f'"{name}" is a view: DROP VIEW drops it')
                self.store.drop_table(exists, timeout=self.lock_timeout)
            else:
                if exists != "view":
                    raise self.error(f'"{name}" is a table: DROP TABLE drops it')
                view = resolve(self.store, name)
                self.store.drop_view(view.name, missing_ok=s.if_exists)
        return success_table()

    # -- views ------------------------------------------------------------------------------
    def _createview(self, s: statement.CreateView) -> pa.Table:
        if self.keys:
            raise self.error("a view cannot have parameters")
        sql = s.query.strip()
        if s.names:
            cols = ", ".join(quote(n) for n in s.names)
            sql = f"SELECT * FROM ({sql}) AS {quote(s.name)}({cols})"
        exists = self._exists(s.name)
        if exists and exists != "view":
            raise self.error(f'"{s.name}" is a table (tables and views share one namespace)')
        if exists == "view":
            if s.if_not_exists:
                return count_table(None)
            if not s.replace:
                raise self.error(f'view "{s.name}" already exists (CREATE OR REPLACE VIEW '
                                 "replaces it)")
        # bound now, with the new definition in place: a view that cannot be read (or
        # that reads itself) is refused before it is stored
        opened: list = []
        try:
            lookup = self.catalog(opened, {s.name: ViewDef(s.name, sql)})
            query_sql = s.query if not s.names else sql
            from mapdb.query.binder import bind_sql
            bind_sql(query_sql, lookup)
            bind_sql(f"SELECT * FROM {quote(s.name)}", lookup)
        finally:
            for src in opened:
                src.close()
        name = resolve(self.store, s.name).name if exists == "view" else s.name
        self.store.create_view(name, sql, replace=exists == "view")
        return count_table(None)

    # -- ALTER TABLE ------------------------------------------------------------------------
    def _alter(self, s: statement.Alter) -> pa.Table:
        try:
            name = self.table(s.table)
        except QueryError:
            if s.if_exists:
                return success_table()
            raise
        if s.action == "rename_table":
            if self._exists(s.new_name):
                raise self.error(f'cannot rename table "{name}" to "{s.new_name}": that '
                                 "name is taken")
            self.store.rename_table(name, s.new_name, timeout=self.lock_timeout)
            return success_table()
        w = self.writer(name)
        try:
            cols = {c.name.lower(): c.name for c in w.base.schema}
            if s.action == "add_column":
                c = s.column
                if c.name.lower() in cols:
                    if s.missing_ok:
                        return success_table()
                    raise self.error(f'column "{c.name}" already exists in table "{name}"')
                value = self._default_value(c) if c.default is not None else None
                w.add_column(c.name, c.type, value, default_sql=c.default_sql)
            elif s.action == "drop_column":
                col = cols.get(s.name.lower())
                if col is None:
                    if s.missing_ok:
                        return success_table()
                    raise self.error(f'table "{name}" does not have a column named '
                                     f'"{s.name}"')
                w.drop_column(col)
            else:
                col = cols.get(s.name.lower())
                if col is None:
                    raise self.error(f'table "{name}" does not have a column named '
                                     f'"{s.name}"')
                w.rename_column(col, s.new_name)
        except (SchemaError, StorageError) as e:
            raise self.error(str(e)) from None
        finally:
            w.close()
        return success_table()

    # -- INSERT -----------------------------------------------------------------------------
    def _insert(self, s: statement.Insert) -> pa.Table:
        return self.insert(s)

    def insert(self, s: statement.Insert | None = None, many: list | None = None
               ) -> pa.Table:
        if s is None:
            s = statement.parse_statement(self.piece)
        self.db._writable()
        name = self.table(s.table, self.piece.tree.this)
        w = self.writer(name)
        try:
            specs = list(w.base.schema)
            targets = self._insert_columns(s, specs, name)
            types = {c.name: c.type for c in specs}
            if s.defaults:
                data, n = {}, 1
            elif s.rows is not None:
                by_name = {c.name: c for c in specs}
                data, n = self._values(s, targets, types, many,
                                       [by_name[t] for t in targets])
            else:
                data, n = self._insert_query(s, targets, types)
            columns = {}
            for c in specs:
                if c.name in data:
                    columns[c.name] = data[c.name]
                elif c.default is not None:
                    columns[c.name] = pa.array([self._stored_default(c)] * n,
                                               stored_arrow(c.type))
                else:
                    columns[c.name] = pa.nulls(n, stored_arrow(c.type))
            if n:
                w.write(pa.table(columns))
                w.commit()
        finally:
            w.close()
        return count_table(n)

    def _insert_columns(self, s: statement.Insert, specs, name: str) -> list[str]:
        if s.columns is None:
            return [c.name for c in specs]
        have = {c.name.lower(): c.name for c in specs}
        out = []
        for c in s.columns:
            if c.lower() not in have:
                raise self.error(f'table "{name}" does not have a column named "{c}"')
            if have[c.lower()] in out:
                raise self.error(f'duplicate column name "{c}" in INSERT')
            out.append(have[c.lower()])
        return out

    def _arity(self, given: int, targets: list[str], name: str, explicit: bool) -> None:
        if given != len(targets):
            if explicit:
                raise self.error(f"column name/value mismatch for INSERT on {name}: "
                                 f"expected {len(targets)} columns but {given} values "
                                 "were supplied")
            raise self.error(f'table "{name}" has {len(targets)} columns but {given} '
                             "values were supplied")

    def _stored_default(self, c):
        """The value of a stored column's DEFAULT (None without one)."""
        if c.default is None:
            return None
        return self._default_value(statement.ColumnDefinition(
            c.name, c.type, default=statement.parse(f"SELECT {c.default}").expressions[0],
            default_sql=c.default))

    def _values(self, s: statement.Insert, targets: list[str], types: dict,
                many: list | None, specs: list) -> tuple[dict, int]:
        cols = ValueColumns(targets)
        # the DEFAULT keyword in a row: the column's DEFAULT (NULL without one)
        defaults = {i: self._stored_default(c) for r in s.rows
                    for i, (n, c) in enumerate(zip(r, specs, strict=False)) if _is_default(n)}
        param_rows = [self.values] if many is None else \
            [_python_values(self.keys, p, check=True) for p in many]
        opened: list = []
        try:
            lookup = None
            for values in param_rows:
                for r, row in enumerate(s.rows):
                    self._arity(len(row), targets, s.table, s.columns is not None)
                    try:
                        cols.add_constants([defaults[i] if _is_default(n) else
                                            constant(n, values) for i, n in enumerate(row)])
                        continue
                    except NotConstant:
                        pass
                    if lookup is None:
                        lookup = self.catalog(opened)
                    cols.add_arrays(self._value_row(s, r, row, targets, lookup, values,
                                                    defaults))
        finally:
            for src in opened:
                src.close()
        return cols.cast(types, {}), cols.rows

    def _value_row(self, s, r: int, row, targets, lookup, values, defaults
                   ) -> dict[str, pa.Array]:
        """One VALUES row of expressions, evaluated by the engine."""
        t = self.text()
        t.add("SELECT ")
        for i, node in enumerate(row):
            if i:
                t.add(", ")
            if _is_default(node):
                t.add(_default_sql(defaults[i]))
            elif s.row_spans is not None:
                t.span(s.row_spans[r][i])
            else:
                t.add(node.sql(dialect="duckdb"))
            t.add(f" AS c{i}")
        t.anchor = locate(row[0])
        try:
            out = run_over(t.text, lookup, {str(k): values[k] for k in t.keys} or None,
                           self.workers)
        except QueryError as e:
            raise t.error(e) from None
        if out.num_rows != 1:
            raise self.error("a VALUES row gave more than one row")
        return {k: out.column(i).combine_chunks() for i, k in enumerate(targets)}

    def _insert_query(self, s: statement.Insert, targets: list[str], types: dict
                      ) -> tuple[dict, int]:
        t = self.text().span(s.query)
        try:
            data = self.db._query(statement.pad(self.sql, s.query.start) + t.text,
                                  self.params_for(t), workers=self.workers).to_arrow()
        except QueryError as e:
            raise t.error(e) if e.position is None else e from None
        if s.by_name:
            have = {n.lower(): i for i, n in enumerate(data.column_names)}
            missing = [c for c in targets if c.lower() not in have] if s.columns else []
            if missing:
                raise self.error(f'INSERT BY NAME: the query has no column "{missing[0]}"')
            extra = [n for n in data.column_names if n.lower() not in
                     {c.lower(): c for c in types}]
            if extra:
                raise self.error(f'table "{s.table}" does not have a column named '
                                 f'"{extra[0]}"')
            if s.columns is None:
                low = {c.lower(): c for c in types}
                targets = [low[n.lower()] for n in data.column_names]
            arrays = {c: data.column(have[c.lower()]) for c in targets}
        else:
            self._arity(data.num_columns, targets, s.table, s.columns is not None)
            arrays = {c: data.column(i) for i, c in enumerate(targets)}
        return cast_columns(arrays, types), data.num_rows

    # -- DELETE and UPDATE ------------------------------------------------------------------
    def _delete(self, s: statement.Delete) -> pa.Table:
        return self._change(s, None)

    def _update(self, s: statement.Update) -> pa.Table:
        return self._change(s, s.sets)

    def _change(self, s, sets) -> pa.Table:
        name = self.table(s.table, self.piece.tree.this)
        alias = s.alias or s.table
        extra = s.using if sets is None else s.from_
        w = self.writer(name)  # the lock first: the version under it is the one changed
        snap = self.store.snapshot(name, w.base.version)
        opened: list = []
        try:
            specs = list(w.base.schema)
            types = {c.name: c.type for c in specs}
            low = {c.name.lower(): c.name for c in specs}
            if sets is not None:
                seen = set()
                for col, _, node in sets:
                    if col.lower() not in low:
                        raise self.error(f'table "{name}" does not have a column named '
                                         f'"{col}"', node)
                    if low[col.lower()] in seen:
                        raise self.error(f'column "{col}" is set twice', node)
                    seen.add(low[col.lower()])
                # SET c = DEFAULT: the column's DEFAULT (NULL without one) as SQL text
                by_name = {c.name: c for c in specs}
                sets = [(col, _default_sql(self._stored_default(by_name[low[col.lower()]]))
                         if _is_default(node) else span, node) for col, span, node in sets]
            whole = TableSource(name, snap)  # the table as other parts of it read it
            opened.append(whole)
            rows = snap.segment_rows()
            changes: dict[int, pa.Table | None] = {}
            total = 0
            for i, seg in enumerate(w.base.segments):
                part = RowRangeSource(name, _pin(self.store, name, snap.version),
                                      {i: (0, rows[i])})
                opened.append(part)
                if len(rows) > 1 and not self._count(alias, extra, s.where, self.catalog(
                        opened, {name: whole, TARGET: part})):
                    continue  # zone maps and indexes answer this without the rows
                seg_table = pa.Table.from_arrays(
                    [snap.column_chunks(c.name)[i] for c in specs],
                    names=[c.name for c in specs])
                new, k = self._segment(seg_table, alias, extra, s.where, sets, types, low,
                                       self.catalog(opened, {name: whole}))
                if k:
                    changes[seg.id] = new
                    total += k
            if changes:
                try:
                    w.rewrite(changes)
                except SchemaError as e:
                    raise self.error(str(e)) from None
            return count_table(total)
        finally:
            for src in opened:
                src.close()
            if not opened:
                snap.close()
            w.close()

    def _from(self, t: Text, alias: str, extra: Span | None, where: Span | None,
              target: str) -> Text:
        t.add(f" FROM {target} AS {quote(alias)}")
        if extra is not None:
            t.add(", ").span(extra)
        if where is not None:
            t.add(" WHERE ").span(where)
        t.anchor = where.start if where is not None else 0
        return t

    def _count(self, alias, extra, where, lookup) -> int:
        t = self._from(self.text().add("SELECT count(*)"), alias, extra, where, TARGET)
        return self.run_text(t, lookup).column(0)[0].as_py()

    def _segment(self, seg: pa.Table, alias, extra, where, sets, types, low, lookup
                 ) -> tuple[pa.Table | None, int]:
        """(the segment's new rows, rows changed) for a DELETE (``sets`` None) or an
        UPDATE, over the segment's rows with a row number beside them."""
        n = seg.num_rows
        cols = {c: _engine_column(seg.column(c).chunk(0) if seg.column(c).num_chunks == 1
                                  else seg.column(c).combine_chunks())
                for c in seg.column_names}
        cols[ROWID] = pa.array(np.arange(n, dtype=np.int64))
        target = ArrowSource(TARGET, pa.table(cols))
        t = self.text().add(f"SELECT {quote(alias)}.{ROWID}")
        if sets is not None:
            for i, (_, span, _) in enumerate(sets):
                t.add(", ")
                t.add(span) if isinstance(span, str) else t.span(span)
                t.add(f" AS v{i}")
        t = self._from(t, alias, extra, where, TARGET)
        lookup_target = _with(lookup, TARGET, target)
        out = self.run_text(t, lookup_target)
        ids = out.column(0).to_numpy()
        if sets is None:
            keep = np.ones(n, bool)
            keep[ids] = False
            changed = int(n - keep.sum())
            if changed == 0:
                return None, 0
            return (seg.filter(pa.array(keep)) if keep.any() else None), changed
        if not len(ids):
            return None, 0
        # UPDATE ... FROM: a row matched more than once takes its first match's values
        first = np.unique(ids, return_index=True)[1]
        first.sort()
        rows = ids[first]
        new_cols = {}
        for i, (col, _, _) in enumerate(sets):
            name = low[col.lower()]
            values = out.column(i + 1).take(pa.array(first))
            new_cols[name] = values
        cast = cast_columns(new_cols, {k: types[k] for k in new_cols})
        arrays = []
        for c in seg.column_names:
            old = seg.column(c).combine_chunks()
            if c not in cast:
                arrays.append(old)
                continue
            if pa.types.is_dictionary(old.type):
                old = old.dictionary_decode()
            new = cast[c]
            if pa.types.is_dictionary(new.type):
                new = new.dictionary_decode()
            if new.type != old.type:
                new = new.cast(old.type)
            idx = np.arange(n, dtype=np.int64)
            idx[rows] = n + np.arange(len(rows))
            arrays.append(pa.concat_arrays([old, new]).take(pa.array(idx)))
        return pa.Table.from_arrays(arrays, names=seg.column_names), len(ids)

    # -- COPY -------------------------------------------------------------------------------
    def _copy(self, s: statement.Copy) -> pa.Table:
        opts = {k.upper(): v for k, v in s.options.items()}
        fmt = str(opts.pop("FORMAT", "") or _format_of(s.path)).lower()
        if fmt not in ("csv", "parquet", "json", "ndjson", "arrow"):
            raise self.error(f"COPY format {fmt!r} is not supported (csv, parquet, json)")
        if not s.to:
            return self._copy_from(s, fmt, opts)
        if s.query is not None:
            sql = s.query
        else:
            name = self.table(s.table) if self._exists(s.table) != "view" else s.table
            cols = ", ".join(quote(c) for c in s.columns) if s.columns else "*"
            sql = f"SELECT {cols} FROM {quote(name)}"
        data = self.db._query(sql, self.params, workers=self.workers).to_arrow()
        path = os.path.expanduser(s.path)
        with _atomic(path) as f:
            if fmt == "parquet":
                import pyarrow.parquet as pq
                compression = opts.pop("COMPRESSION", None) or opts.pop("CODEC", "snappy")
                pq.write_table(data, f, compression=str(compression).lower())
            elif fmt == "csv":
                _write_csv(data, f, delimiter=str(opts.pop("DELIMITER", opts.pop(
                    "SEP", ","))), header=bool(opts.pop("HEADER", True)),
                    null=str(opts.pop("NULLSTR", opts.pop("NULL", ""))))
            elif fmt in ("json", "ndjson"):
                _write_json(data, f, array=bool(opts.pop("ARRAY", False)))
            else:
                with pa.ipc.new_file(f, data.schema) as wr:
                    wr.write_table(data)
            if opts:
                raise self.error(f"COPY TO option {next(iter(opts))} is not supported")
        return count_table(data.num_rows)

    def _copy_from(self, s: statement.Copy, fmt: str, opts: dict) -> pa.Table:
        from mapdb.ingest.job import ingest
        name = self.table(s.table)
        if s.columns:
            raise self.error("COPY t (columns) FROM is not supported: mapdb's ingest matches "
                             "the file's columns to the table's by name")
        csv_opts = {}
        if fmt == "csv":
            for key, opt in (("DELIMITER", "delimiter"), ("SEP", "delimiter"),
                             ("HEADER", "header"), ("QUOTE", "quote"),
                             ("NULLSTR", "null"), ("DATEFORMAT", "date_format"),
                             ("TIMESTAMPFORMAT", "timestamp_format")):
                if key in opts:
                    csv_opts[opt] = opts.pop(key)
        if opts:
            raise self.error(f"COPY FROM option {next(iter(opts))} is not supported")
        try:
            job = ingest(self.store, name, [os.path.expanduser(s.path)],
                         format={"json": "ndjson"}.get(fmt, fmt), mode="append",
                         lock_timeout=self.lock_timeout, csv=csv_opts or None)
        except (SchemaError, NotFoundError) as e:
            raise self.error(f"COPY {name} FROM {s.path!r}: {e}") from None
        return count_table(job.rows)

    # -- DESCRIBE, SHOW, SUMMARIZE ----------------------------------------------------------
    def _describe(self, s: statement.Describe) -> pa.Table:
        if s.table is not None:
            key = self._relation(s.table)
            cols = table_columns(self.store, key) if isinstance(key, str) else \
                query_columns(self.store, key.sql)
        else:
            cols = self._query_columns(s.query)
        return infoschema.describe_rows(cols)

    def _relation(self, name: str):
        try:
            key = resolve(self.store, name)
        except KeyError:
            raise self.error(f'table "{name}" not found') from None
        if isinstance(key, ArrowSource):
            raise self.error(f'DESCRIBE of "{name}" is not supported')
        return key

    def _query_columns(self, sql: str) -> list[infoschema.ColumnInfo]:
        r = self.db._query(sql, self.params, workers=self.workers)
        names = r.columns
        try:
            types = [t for _, t in r._p.plan.schema]
        finally:
            r.close() if hasattr(r, "close") else None
        return [infoschema.ColumnInfo(n, infoschema.arrow_type_name(t.output_type))
                for n, t in zip(names, types, strict=True)]

    def _show(self, s: statement.Show) -> pa.Table:
        if not s.all:
            return infoschema.show_tables(self.store.tables() + list(self.store.views()))
        return infoschema.show_all_tables(infoschema.catalog_name(self.store.path),
                                          relations(self.store))

    def _summarize(self, s: statement.Summarize) -> pa.Table:
        if s.table is not None:
            key = self._relation(s.table)
            if isinstance(key, str):
                cols = table_columns(self.store, key)
                data = self.db._query(f"SELECT * FROM {quote(key)}").to_arrow()
            else:
                cols = query_columns(self.store, key.sql)
                data = self.db._query(f"SELECT * FROM {quote(key.name)}").to_arrow()
        else:
            cols = self._query_columns(s.query)
            data = self.db._query(s.query, self.params, workers=self.workers).to_arrow()
        return summarize(data, [c.type for c in cols])


# -- helpers ------------------------------------------------------------------------------
def exp_types():
    return (exp.Column, exp.Select, exp.Subquery, exp.Placeholder)


def _is_default(node) -> bool:
    """The DEFAULT keyword as a VALUES item or SET value: sqlglot makes it a Var in VALUES
    and an unquoted column in SET (DEFAULT is reserved; "DEFAULT" quoted is a column)."""
    if isinstance(node, exp.Column) and not node.table:
        ident = node.this
        return isinstance(ident, exp.Identifier) and not ident.quoted and \
            ident.name.upper() == "DEFAULT"
    return isinstance(node, exp.Var) and node.name.upper() == "DEFAULT"


def _default_sql(value) -> str:
    """A DEFAULT's value as SQL text (the engine casts it to the column's type)."""
    return "NULL" if value is None else exp.convert(value).sql(dialect="duckdb")


def _python_values(keys: list, params, check: bool = False) -> dict:
    """Parameter key -> the Python value given for it."""
    if params is None:
        return {}
    if check:
        values_for(keys, params)  # the same refusals as a single execute
    from collections.abc import Mapping
    if isinstance(params, Mapping):
        out = {}
        for k, v in params.items():
            key = str(k).lstrip("$")
            out[int(key) if key.isdigit() else key.lower()] = v
        return out
    return {i + 1: v for i, v in enumerate(params)}


def _unique_names(names: list[str], st: Statement) -> None:
    seen = set()
    for n in names:
        if n.lower() in seen:
            raise st.error(f'the query has two columns named "{n}" (name them with AS)')
        seen.add(n.lower())


def _pin(store, name: str, version: int):
    return store.snapshot(name, version)


def _with(lookup, name: str, source):
    def inner(n: str):
        if n.lower() == name.lower():
            return source
        return lookup(n)
    return inner


def _engine_column(a: pa.Array) -> pa.Array:
    """A stored column as the engine reads it from an ArrowSource."""
    t = a.type
    if pa.types.is_timestamp(t) and t.unit != "us":
        return a.cast(pa.timestamp("us", t.tz), safe=False)
    return a


def _format_of(path: str) -> str:
    low = path.lower()
    for ext, fmt in ((".parquet", "parquet"), (".json", "json"), (".ndjson", "json"),
                     (".jsonl", "json"), (".arrow", "arrow"), (".feather", "arrow")):
        if low.endswith(ext):
            return fmt
    return "csv"


@contextlib.contextmanager
def _atomic(path: str):
    """``path`` written through a temporary file renamed over it when done."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                   suffix=".tmp", dir=directory)
    except OSError as e:
        raise MapdbError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _as_text(data: pa.Table) -> list[pa.Array]:
    """Each column as DuckDB writes it as text (the engine's CAST to VARCHAR)."""
    if not data.num_columns:
        return []
    names = [f"c{i}" for i in range(data.num_columns)]
    cols = {n: _text_input(data.column(i)) for i, n in enumerate(names)}
    src = ArrowSource("__mapdb_text", pa.table(cols))
    sql = "SELECT " + ", ".join(f"CAST({n} AS VARCHAR) AS {n}" for n in names) + \
        " FROM __mapdb_text"
    out = run_over(sql, {"__mapdb_text": src}.__getitem__)
    return [out.column(i).combine_chunks() for i in range(out.num_columns)]


def _text_input(col) -> pa.Array:
    a = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(a.type):
        a = a.dictionary_decode()
    if pa.types.is_string(a.type):
        a = a.cast(pa.large_string())
    if pa.types.is_null(a.type):
        a = pa.nulls(len(a), pa.large_string())
    return a


def _write_csv(data: pa.Table, f, delimiter: str, header: bool, null: str) -> None:
    """DuckDB's CSV: a header line, values as DuckDB's text, NULL as nothing (or
    ``null``), a value quoted when it holds the delimiter, a quote or a line break, or is
    empty (so '' and NULL differ)."""
    texts = _as_text(data)

    def field(v: str | None) -> str:
        if v is None:
            return null
        if v == "" or delimiter in v or '"' in v or "\n" in v or "\r" in v:
            return '"' + v.replace('"', '""') + '"'
        return v
    out = io.StringIO()
    if header:
        out.write(delimiter.join(field(n) for n in data.column_names) + "\n")
    cols = [a.to_pylist() for a in texts]
    for row in zip(*cols, strict=True) if cols else []:
        out.write(delimiter.join(field(v) for v in row) + "\n")
    f.write(out.getvalue().encode("utf-8"))


def _json_value(v, t: pa.DataType, text):
    if v is None:
        return None
    if pa.types.is_boolean(t) or pa.types.is_integer(t):
        return v
    if pa.types.is_floating(t):
        return v if v == v and v not in (float("inf"), float("-inf")) else text
    if pa.types.is_decimal(t):
        return float(v)
    return text


def _write_json(data: pa.Table, f, array: bool) -> None:
    texts = _as_text(data)
    values = [data.column(i).to_pylist() for i in range(data.num_columns)]
    text_values = [a.to_pylist() for a in texts]
    types = [data.schema.field(i).type for i in range(data.num_columns)]
    names = data.column_names
    lines = []
    for r in range(data.num_rows):
        obj = {n: _json_value(values[i][r], types[i], text_values[i][r])
               for i, n in enumerate(names)}
        lines.append(_dumps(obj))
    if array:
        body = "[\n" + ",\n".join("\t" + line for line in lines) + "\n]\n" if lines \
            else "[\n]\n"
    else:
        body = "".join(line + "\n" for line in lines)
    f.write(body.encode("utf-8"))


def _dumps(obj: dict) -> str:
    parts = []
    for k, v in obj.items():
        parts.append(json.dumps(k, ensure_ascii=False) + ":" +
                     json.dumps(v, ensure_ascii=False))
    return "{" + ",".join(parts) + "}"


# -- SUMMARIZE ------------------------------------------------------------------------------
def summarize(data: pa.Table, type_names: list[str]) -> pa.Table:
    """DuckDB's SUMMARIZE columns. min/max/avg/std/quantiles are text as DuckDB prints
    them; approx_unique and q25/q50/q75 are exact here (DuckDB estimates them: a
    HyperLogLog count and T-digest quantiles), quantiles interpolated between the
    values' midpoints (Hazen), which is what T-digest gives for few values."""
    rows = []
    for i, name in enumerate(data.column_names):
        a = data.column(i).combine_chunks()
        if pa.types.is_dictionary(a.type):
            a = a.dictionary_decode()
        rows.append(_summary(name, type_names[i], a))
    s = pa.string()
    keys = ["column_name", "column_type", "min", "max", "approx_unique", "avg", "std",
            "q25", "q50", "q75", "count", "null_percentage"]
    types = {"approx_unique": pa.int64(), "count": pa.int64(),
             "null_percentage": pa.decimal128(9, 2)}
    return pa.table({k: pa.array([r[k] for r in rows], types.get(k, s)) for k in keys})


def _text1(values: list, t: pa.DataType) -> list:
    """Values of type ``t`` as DuckDB's text."""
    if not values:
        return []
    arr = pa.array(values, t)
    return _as_text(pa.table({"v": arr}))[0].to_pylist()


def _summary(name: str, type_name: str, a: pa.Array) -> dict:
    import decimal
    n = len(a)
    nulls = a.null_count
    valid = a.drop_null() if nulls else a
    out = {"column_name": name, "column_type": type_name, "min": None, "max": None,
           "approx_unique": 0, "avg": None, "std": None, "q25": None, "q50": None,
           "q75": None, "count": n,
           "null_percentage": decimal.Decimal(nulls * 100 / n).quantize(
               decimal.Decimal("0.01"), decimal.ROUND_HALF_UP) if n else decimal.Decimal(0)}
    if not len(valid):
        return out
    t = a.type
    out["approx_unique"] = pc.count_distinct(valid).as_py()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return out
    mm = pc.min_max(valid)
    out["min"], out["max"] = _text1([mm["min"].as_py(), mm["max"].as_py()], t)
    numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
    temporal = pa.types.is_date(t) or pa.types.is_timestamp(t)
    if not (numeric or temporal):
        return out
    if numeric:
        x = valid.cast(pa.float64()).to_numpy(zero_copy_only=False)
        out["avg"] = _text1([float(np.mean(x))], pa.float64())[0]
        if len(x) > 1:
            out["std"] = _text1([float(np.std(x, ddof=1))], pa.float64())[0]
    else:
        us = valid.cast(pa.timestamp("us")) if pa.types.is_date(t) else \
            valid.cast(pa.timestamp("us", t.tz), safe=False)
        x = us.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
        avg = pa.array([round(float(np.mean(x)))], pa.int64()).cast(
            pa.timestamp("us", getattr(us.type, "tz", None)))
        out["avg"] = _text1(avg.to_pylist(), avg.type)[0]
    xs = np.sort(x)
    qs = []
    for q in (0.25, 0.5, 0.75):
        pos = min(max(q * len(xs) - 0.5, 0.0), len(xs) - 1.0)
        lo = int(np.floor(pos))
        hi = min(lo + 1, len(xs) - 1)
        qs.append(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))
    if numeric and (pa.types.is_integer(t) or pa.types.is_decimal(t)):
        cast = cast_columns({"q": pa.array(qs, pa.float64())},
                            {"q": ColumnType.from_arrow(t)})["q"]
        out["q25"], out["q50"], out["q75"] = _text1(cast.to_pylist(), cast.type)
    elif numeric:
        out["q25"], out["q50"], out["q75"] = _text1(qs, pa.float64())
    else:
        ts = pa.array([round(v) for v in qs], pa.int64()).cast(us.type)
        if pa.types.is_date(t):
            ts = ts.cast(pa.date32())
        out["q25"], out["q50"], out["q75"] = _text1(ts.to_pylist(), ts.type)
    return out
