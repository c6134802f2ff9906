"""SQL statements besides queries: a script split into statements, and each statement
parsed into what the API layer runs (mapdb.api.statements).

sqlglot parses (DuckDB dialect). A statement's parts that are SQL themselves (the query of
a CREATE TABLE AS, the WHERE of a DELETE, the expressions of an UPDATE's SET) are kept as
*spans of the statement's text* (``Span``), not regenerated: the engine binds them from
the very characters the user wrote, so an error inside one points at its line and column
in the script (``Text`` assembles a query from spans and maps positions back). Every
clause or option not listed here is refused with a QueryError naming it and its place:
never silently dropped.

>>> [p.kind for p in split("CREATE TABLE t (x INT); INSERT INTO t VALUES (1); "
...                        "SELECT * FROM t")]
['create_table', 'insert', 'query']
>>> split("SELECT 1;\\n  DELETE FROM t WHERE x > 1")[1].sql.splitlines()[1]
'  DELETE FROM t WHERE x > 1'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from mapdb.errors import SchemaError
from mapdb.query import memory, pivot
from mapdb.query.binder import parse
from mapdb.query.syntax import locate
from mapdb.query.types import QueryError
from mapdb.storage.types import ColumnType

QUERIES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery,
           exp.Pivot)  # PIVOT t ON ...: pivot.py
_POSITION = re.compile(r" \(line (\d+), column (\d+)\)$")


# -- scripts --------------------------------------------------------------------------------
_LEAD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.S)
_QUERY = re.compile(r"(?:SELECT|WITH|FROM|EXPLAIN)\b|\(", re.I)


def plain_query(text: str) -> bool:
    """Whether ``text`` is one query (the engine's own path) and not a statement or a
    script for ``split`` (a cheap look at its first word; a semicolon inside it, even in
    a string, sends it through ``split``, which knows)."""
    m = _LEAD.match(text)
    if not _QUERY.match(text, m.end()):
        return False
    return ";" not in text.rstrip().rstrip(";")


def pad(text: str, offset: int) -> str:
    """Whitespace that puts the next character at the line and column ``offset`` has in
    ``text`` (so a piece of a script parses with the script's positions)."""
    lines = text.count("\n", 0, offset)
    return "\n" * lines + " " * (offset - (text.rfind("\n", 0, offset) + 1))


def _tokens(sql: str) -> list[Token]:
    try:
        return sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    except sqlglot.errors.TokenError:
        parse(sql)  # raises the QueryError with the tokenizer's message
        raise


@dataclass
class Piece:
    """One statement of a script: its text padded to the script's positions, its tree
    and its tokens (positions in ``sql``)."""
    sql: str
    tree: exp.Expression
    tokens: list[Token]

    @property
    def kind(self) -> str:
        return kind_of(self.tree)


def split(text: str) -> list[Piece]:
    """The statements of ``text`` in order (empty ones between semicolons skipped). A
    single statement keeps its text as it is (the plan cache is keyed on it)."""
    tokens = _tokens(text)
    bounds, start = [], 0
    for t in tokens:
        if t.token_type == TokenType.SEMICOLON:
            bounds.append((start, t.start))
            start = t.end + 1
    bounds.append((start, len(text)))
    spans = [(a, b) for a, b in bounds
             if any(a <= t.start < b and t.token_type != TokenType.SEMICOLON
                    for t in tokens)]
    pieces = []
    for a, b in spans:
        if len(spans) == 1 and text[b:].strip() in ("", ";"):
            sql = text[:b] if text[b:].strip() else text
        else:
            sql = pad(text, a) + text[a:b]
        tree = parse(sql)
        pieces.append(Piece(sql, tree, _tokens(sql)))
    return pieces


def kind_of(tree: exp.Expression) -> str:
    if isinstance(tree, (*QUERIES, exp.Values)) or (isinstance(tree, exp.Command)
                                                    and tree.name.upper() == "EXPLAIN"):
        return "query"
    if isinstance(tree, exp.Command) and tree.name.upper() == "RESET":
        return "reset"
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        if kind == "TABLE":
            return "create_table"
        if kind == "VIEW":
            return "create_view"
        return f"create {kind.lower()}"
    return {exp.Insert: "insert", exp.Delete: "delete", exp.Update: "update",
            exp.Drop: "drop", exp.Alter: "alter", exp.Copy: "copy",
            exp.Describe: "describe", exp.Show: "show", exp.Summarize: "summarize",
            exp.Set: "set"}.get(type(tree), tree.key)


def refuse(what: str, node, sql: str) -> QueryError:
    return QueryError(f"{what} is not supported", locate(node) if node is not None else 0,
                      sql)


# -- text spans and assembled queries ------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """Characters ``start:stop`` of a statement's text."""
    start: int
    stop: int


class Text:
    """A query assembled from generated text and spans of ``source`` (a statement's
    text). A ``?`` inside a span becomes ``$n`` with the number DuckDB gives it in the
    whole statement (``numbers``: position -> n), so parts of one statement keep their
    parameters' numbers. ``error`` maps a QueryError's position back into ``source``."""

    def __init__(self, source: str, tokens: list[Token], numbers: dict[int, int]):
        self.source = source
        self._tokens = tokens
        self._numbers = numbers
        self._parts: list[str] = []
        self._marks: list[tuple[int, int, int]] = []  # (at, source start, length)
        self._len = 0
        self.keys: set = set()  # parameter keys the assembled text uses
        self.anchor = 0  # where an error outside every span points

    def add(self, s: str) -> Text:
        self._parts.append(s)
        self._len += len(s)
        return self

    def span(self, sp: Span) -> Text:
        pos = sp.start
        toks = self._tokens
        for i, t in enumerate(toks):
            if not sp.start <= t.start < sp.stop:
                continue
            if t.token_type == TokenType.PLACEHOLDER:
                self._copy(pos, t.start)
                key = self._numbers[t.start]
                self.add(f"${key}")
                self.keys.add(key)
                pos = t.end + 1
            elif t.token_type == TokenType.PARAMETER and i + 1 < len(toks) and \
                    toks[i + 1].start == t.end + 1:  # $1, $name: copied as written
                body = toks[i + 1].text
                self.keys.add(int(body) if body.isdigit() else body.lower())
        self._copy(pos, sp.stop)
        return self

    def _copy(self, a: int, b: int) -> None:
        if b > a:
            self._marks.append((self._len, a, b - a))
            self.add(self.source[a:b])

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def error(self, e: QueryError) -> QueryError:
        """``e`` (raised over ``text``) with its position moved into ``source``."""
        msg = str(e)
        m = _POSITION.search(msg)
        if m is None or e.position is None:
            return QueryError(msg, self.anchor, self.source)
        msg = msg[:m.start()]
        for at, start, n in self._marks:
            if at <= e.position < at + n:
                return QueryError(msg, start + e.position - at, self.source)
        return QueryError(msg, self.anchor, self.source)


def placeholder_numbers(tokens: list[Token], sql: str) -> dict[int, int]:
    """Position of each ``?`` -> its number as DuckDB numbers it (one past the highest
    number before it)."""
    out, top = {}, 0
    for i, t in enumerate(tokens):
        if t.token_type == TokenType.PLACEHOLDER:
            top += 1
            out[t.start] = top
        elif t.token_type == TokenType.PARAMETER and i + 1 < len(tokens) and \
                tokens[i + 1].text.isdigit():
            top = max(top, int(tokens[i + 1].text))
    return out


def _depths(tokens: list[Token]) -> list[int]:
    """Each token's parenthesis depth (a closing parenthesis has its opener's)."""
    out, d = [], 0
    for t in tokens:
        if t.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
            d -= 1
        out.append(d)
        if t.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
            d += 1
    return out


class Tokens:
    """Top-level (depth 0) keyword search over a statement's tokens."""

    def __init__(self, piece: Piece):
        self.sql = piece.sql
        self.tokens = piece.tokens
        self.depth = _depths(piece.tokens)

    def find(self, types, after: int = 0, depth: int = 0) -> int | None:
        """Index of the first token at ``depth`` of one of ``types`` from index ``after``."""
        types = types if isinstance(types, tuple) else (types,)
        for i in range(after, len(self.tokens)):
            if self.depth[i] == depth and self.tokens[i].token_type in types:
                return i
        return None

    def start(self, i: int | None) -> int:
        return len(self.sql) if i is None or i >= len(self.tokens) else self.tokens[i].start

    def span(self, first: int | None, stop: int | None = None) -> Span:
        """From token ``first`` to the start of token ``stop`` (None: the end)."""
        return Span(self.start(first), self.start(stop))

    def matching(self, i: int) -> int:
        """Index of the parenthesis closing the one at ``i``."""
        for j in range(i + 1, len(self.tokens)):
            if self.depth[j] == self.depth[i] and self.tokens[j].token_type == TokenType.R_PAREN:
                return j
        raise QueryError("syntax error: unbalanced parentheses", self.tokens[i].start,
                         self.sql)

    def split(self, first: int, stop: int, sep=TokenType.COMMA) -> list[tuple[int, int]]:
        """Token ranges [a, b) between ``first`` and ``stop`` separated by ``sep`` at the
        depth of ``first``."""
        d = self.depth[first] if first < len(self.tokens) else 0
        out, a = [], first
        for i in range(first, stop):
            if self.depth[i] == d and self.tokens[i].token_type == sep:
                out.append((a, i))
                a = i + 1
        out.append((a, stop))
        return out


def query_text(piece: Piece, sp: Span) -> str:
    """A span holding a whole query, as text with the script's positions."""
    return pad(piece.sql, sp.start) + piece.sql[sp.start:sp.stop]


# -- names and types ----------------------------------------------------------------------
def table_name(node, sql: str, what: str = "table") -> str:
    """The name of a table reference (``main.t`` is ``t``)."""
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
        raise refuse(f"this {what} reference", node, sql)
    if node.args.get("catalog"):
        raise refuse(f"a catalog-qualified {what} name", node, sql)
    db = node.args.get("db")
    if db is not None and db.name.lower() != "main":
        raise QueryError(f'schema "{db.name}" not found (the schema is main)', locate(node),
                         sql)
    return node.name


def column_type(dt: exp.DataType, sql: str) -> ColumnType:
    """A column's declared type as mapdb stores it (DuckDB's names and meanings)."""
    text = dt.sql(dialect="duckdb")
    try:
        return ColumnType.parse(text)
    except SchemaError as e:
        raise QueryError(f"column type {text} is not supported: {e}", locate(dt),
                         sql) from None


def sql_cast_name(t: ColumnType) -> str | None:
    """The type name the engine's CAST takes for values of stored type ``t`` (None: CAST
    cannot produce it; the caller converts with Arrow)."""
    if t.kind in ("decimal", "decimal128"):
        p, s = t.decimal_params
        return f"DECIMAL({p},{s})"
    if t.kind == "timestamp":
        return "TIMESTAMP" if t.timestamp_params == ("us", None) else None
    return {"bool": "BOOLEAN", "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER",
            "int64": "BIGINT", "uint8": "UTINYINT", "uint16": "USMALLINT",
            "uint32": "UINTEGER", "uint64": "UBIGINT", "float32": "FLOAT",
            "float64": "DOUBLE", "date32": "DATE", "string": "VARCHAR", "time64": "TIME",
            "interval": "INTERVAL",
            "dict": "VARCHAR"}.get(t.kind)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the statements -------------------------------------------------------------------------
@dataclass
class ColumnDefinition:
    name: str
    type: ColumnType
    not_null: bool = False
    default: exp.Expression | None = None  # a constant expression
    default_sql: str | None = None  # as written
    node: exp.Expression | None = None


@dataclass
class CreateTable:
    name: str
    columns: list[ColumnDefinition]
    replace: bool = False
    if_not_exists: bool = False
    query: str | None = None  # CREATE TABLE ... AS <query>
    names: list[str] | None = None  # CREATE TABLE t (a, b) AS ...
    primary_key: str | None = None
    unique: list[str] = field(default_factory=list)


@dataclass
class CreateView:
    name: str
    query: str
    replace: bool = False
    if_not_exists: bool = False
    names: list[str] | None = None


@dataclass
class Insert:
    table: str
    columns: list[str] | None
    rows: list[list[exp.Expression]] | None = None  # VALUES (the nodes)
    row_spans: list[list[Span]] | None = None
    query: Span | None = None
    by_name: bool = False
    defaults: bool = False  # DEFAULT VALUES


@dataclass
class Delete:
    table: str
    alias: str | None
    using: Span | None
    where: Span | None


@dataclass
class Update:
    table: str
    alias: str | None
    sets: list[tuple[str, Span, exp.Expression]]
    from_: Span | None
    where: Span | None


@dataclass
class Drop:
    kind: str  # TABLE or VIEW
    names: list[str]
    if_exists: bool


@dataclass
class Alter:
    table: str
    if_exists: bool
    action: str  # add_column drop_column rename_column rename_table
    column: ColumnDefinition | None = None
    name: str | None = None
    new_name: str | None = None
    missing_ok: bool = False  # ADD COLUMN IF NOT EXISTS / DROP COLUMN IF EXISTS


@dataclass
class Copy:
    to: bool
    path: str
    options: dict[str, object]
    table: str | None = None
    columns: list[str] | None = None
    query: str | None = None


@dataclass
class Describe:
    table: str | None = None
    query: str | None = None


@dataclass
class Show:
    all: bool


@dataclass
class Summarize:
    table: str | None = None
    query: str | None = None


@dataclass
class SetOption:
    """SET memory_limit = '...' (``bytes``), or RESET memory_limit (``bytes`` None)."""
    name: str
    bytes: int | None


def _unknown_args(tree: exp.Expression, allowed: set[str], sql: str,
                  names: dict[str, str] | None = None) -> None:
    for k, v in tree.args.items():
        if k in allowed or v is None or v is False or v == [] or v == "":
            continue
        what = (names or {}).get(k) or f"{tree.key.upper()} with {k.upper().replace('_', ' ')}"
        raise refuse(what, v if isinstance(v, exp.Expression) else
                     (v[0] if isinstance(v, list) and v else tree), sql)


_CLAUSES = {"returning": "RETURNING", "conflict": "ON CONFLICT",
            "alternative": "INSERT OR REPLACE / OR IGNORE", "properties":
            "TEMPORARY / table properties", "cascade": "CASCADE", "overwrite":
            "INSERT OVERWRITE", "with_": "a WITH clause before the statement"}


def parse_statement(piece: Piece):
    """The dataclass of a statement that is not a query."""
    tree, sql = piece.tree, piece.sql
    k = piece.kind
    fn = {"create_table": _create_table, "create_view": _create_view, "insert": _insert,
          "delete": _delete, "update": _update, "drop": _drop, "alter": _alter,
          "copy": _copy, "describe": _describe, "show": _show,
          "summarize": _summarize, "truncatetable": _truncate, "set": _set,
          "reset": _reset}.get(k)
    if fn is None:
        raise QueryError(f"{_statement_word(tree, sql)} statements are not supported",
                         locate(tree), sql)
    return fn(piece)


def _column_def(cd: exp.ColumnDef, sql: str) -> tuple[ColumnDefinition, str | None]:
    """(definition, "PRI"/"UNI"/None) of one column of CREATE TABLE or ADD COLUMN."""
    if cd.args.get("kind") is None:
        raise QueryError(f'column "{cd.name}" needs a type', locate(cd), sql)
    for k in cd.args:
        if k not in ("this", "kind", "constraints") and cd.args[k]:
            raise refuse(f"column option {k.upper()}", cd, sql)
    out = ColumnDefinition(cd.name, column_type(cd.args["kind"], sql), node=cd)
    key = None
    for c in cd.args.get("constraints") or []:
        kind = c.args.get("kind")
        if isinstance(kind, exp.NotNullColumnConstraint) and not kind.args.get("allow_null"):
            out.not_null = True
        elif isinstance(kind, exp.DefaultColumnConstraint):
            out.default = kind.this
            out.default_sql = kind.this.sql(dialect="duckdb")
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint) and not kind.args.get("desc"):
            key, out.not_null = "PRI", True
        elif isinstance(kind, exp.UniqueColumnConstraint) and not kind.args.get("this") \
                and not kind.args.get("nulls"):
            key = key or "UNI"
        else:
            raise refuse(f"the column constraint {c.sql(dialect='duckdb')}", c, sql)
    return out, key


def _create_table(piece: Piece) -> CreateTable:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this", "kind", "replace", "exists", "expression"}, sql, _CLAUSES)
    target = tree.this
    out = CreateTable(table_name(target, sql), [], bool(tree.args.get("replace")),
                      bool(tree.args.get("exists")))
    if out.replace and out.if_not_exists:
        raise QueryError("CREATE OR REPLACE and IF NOT EXISTS cannot be used together",
                         locate(tree), sql)
    if tree.args.get("expression") is not None:
        toks = Tokens(piece)
        i = toks.find(TokenType.ALIAS)
        if i is None:
            raise refuse("this CREATE TABLE ... AS", tree, sql)
        out.query = query_text(piece, toks.span(i + 1))
        if isinstance(target, exp.Schema):
            if not all(isinstance(e, exp.Identifier) for e in target.expressions):
                raise refuse("column definitions with AS SELECT", target, sql)
            out.names = [e.name for e in target.expressions]
        return out
    if not isinstance(target, exp.Schema):
        raise QueryError("CREATE TABLE needs columns or AS SELECT", locate(tree), sql)
    keys: dict[str, str] = {}
    for e in target.expressions:
        if isinstance(e, exp.ColumnDef):
            col, key = _column_def(e, sql)
            out.columns.append(col)
            if key:
                keys[col.name] = key
        elif isinstance(e, exp.PrimaryKey):
            cols = [c.name for c in e.expressions]
            if len(cols) != 1 or e.args.get("options") or (e.args.get("include") and \
                    e.args["include"].args.get("expressions")):
                raise QueryError("a PRIMARY KEY of several columns is not supported "
                                 "(mapdb's unique indexes are on one column)", locate(e), sql)
            keys[cols[0]] = "PRI"
        elif isinstance(e, exp.UniqueColumnConstraint) and isinstance(e.this, exp.Schema):
            cols = [c.name for c in e.this.expressions]
            if len(cols) != 1:
                raise QueryError("a UNIQUE constraint of several columns is not supported "
                                 "(mapdb's unique indexes are on one column)", locate(e), sql)
            keys.setdefault(cols[0], "UNI")
        else:
            raise refuse(f"the table constraint {e.sql(dialect='duckdb')}", e, sql)
    names = [c.name.lower() for c in out.columns]
    dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if dup is not None:
        raise QueryError(f'column "{dup}" is declared twice', locate(target), sql)
    for name, key in keys.items():
        col = next((c for c in out.columns if c.name.lower() == name.lower()), None)
        if col is None:
            raise QueryError(f'key column "{name}" is not a column of the table',
                             locate(target), sql)
        if key == "PRI":
            if out.primary_key is not None and out.primary_key != col.name:
                raise QueryError("a table has one PRIMARY KEY", locate(target), sql)
            out.primary_key, col.not_null = col.name, True
        elif col.name not in out.unique:
            out.unique.append(col.name)
    return out


def _create_view(piece: Piece) -> CreateView:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this", "kind", "replace", "exists", "expression"}, sql, _CLAUSES)
    target = tree.this
    out = CreateView(table_name(target, sql, "view"), "", bool(tree.args.get("replace")),
                     bool(tree.args.get("exists")))
    if isinstance(target, exp.Schema):
        out.names = [e.name for e in target.expressions]
    toks = Tokens(piece)
    i = toks.find(TokenType.ALIAS)
    if i is None:
        raise refuse("this CREATE VIEW", tree, sql)
    out.query = query_text(piece, toks.span(i + 1))
    found = pivot.from_data(tree.expression) if tree.expression is not None else None
    if found is not None:  # its columns would change with the data (DuckDB refuses it too)
        raise QueryError("PIVOT with values taken from the data (ON c without IN) cannot "
                         "be used in a view, as in DuckDB: list them, ON c IN (v1, v2, ...)",
                         locate(found), sql)
    return out


def _insert(piece: Piece) -> Insert:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this", "expression", "by_name", "default"}, sql, _CLAUSES)
    target = tree.this
    columns = [e.name for e in target.expressions] if isinstance(target, exp.Schema) \
        else None
    out = Insert(table_name(target, sql), columns, by_name=bool(tree.args.get("by_name")),
                 defaults=bool(tree.args.get("default")))
    if out.defaults:
        return out
    src = tree.args.get("expression")
    toks = Tokens(piece)
    if isinstance(src, exp.Values):
        if src.alias:
            raise refuse("an alias of VALUES", src, sql)
        v = toks.find(TokenType.VALUES)
        groups = [r for r in toks.split(v + 1, len(toks.tokens))]
        out.rows, out.row_spans = [], []
        for row, (a, b) in zip(src.expressions, groups, strict=False):
            items = row.expressions if isinstance(row, exp.Tuple) else [row]
            out.rows.append(items)
            if a < len(toks.tokens) and toks.tokens[a].token_type == TokenType.L_PAREN:
                close = toks.matching(a)
                spans = [toks.span(x, y) for x, y in toks.split(a + 1, close)]
            else:
                spans = [toks.span(a, b)]
            out.row_spans.append(spans)
        if len(groups) != len(src.expressions) or any(
                len(r) != len(s) for r, s in zip(out.rows, out.row_spans, strict=True)):
            out.row_spans = None  # not matched to the text: rows are bound from the tree
        return out
    if not isinstance(src, QUERIES):
        raise refuse(f"INSERT from {src.key.upper() if src is not None else 'nothing'}",
                     src or tree, sql)
    # the query starts after the table name (and column list, and BY NAME)
    i = toks.find(TokenType.INTO) or 0
    j = i + 1
    while j < len(toks.tokens) and (toks.depth[j] > 0 or toks.tokens[j].token_type in (
            TokenType.VAR, TokenType.DOT, TokenType.STRING, TokenType.IDENTIFIER)
            or toks.tokens[j].text.startswith('"')):
        j += 1
    if columns is not None and j < len(toks.tokens) and \
            toks.tokens[j].token_type == TokenType.L_PAREN and \
            not _starts_query(toks, j + 1):
        j = toks.matching(j) + 1
    while j < len(toks.tokens) and toks.tokens[j].text.upper() in ("BY", "NAME"):
        j += 1
    out.query = toks.span(j)
    return out


def _starts_query(toks: Tokens, i: int) -> bool:
    return i < len(toks.tokens) and toks.tokens[i].token_type in (
        TokenType.SELECT, TokenType.WITH, TokenType.FROM, TokenType.L_PAREN)


def _target(tree, sql: str) -> tuple[str, str | None]:
    t = tree.this
    if not isinstance(t, exp.Table):
        raise refuse("this table reference", t, sql)
    alias = t.alias or None
    if t.args.get("alias") is not None and t.args["alias"].columns:
        raise refuse("column aliases on the target table", t, sql)
    return table_name(t, sql), alias


def _delete(piece: Piece) -> Delete:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this", "using", "where"}, sql, _CLAUSES)
    name, alias = _target(tree, sql)
    toks = Tokens(piece)
    w = toks.find(TokenType.WHERE)
    u = toks.find(TokenType.USING) if tree.args.get("using") else None
    return Delete(name, alias, toks.span(u + 1, w) if u is not None else None,
                  toks.span(w + 1) if w is not None else None)


def _truncate(piece: Piece) -> Delete:
    """TRUNCATE [TABLE] t: DuckDB's DELETE FROM t (it reports the rows deleted)."""
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"expressions", "is_database", "exists"}, sql)
    if tree.args.get("is_database") or len(tree.expressions) != 1:
        raise refuse("TRUNCATE of anything but one table", tree, sql)
    t = tree.expressions[0]
    if not isinstance(t, exp.Table):
        raise refuse("this table reference", t, sql)
    return Delete(table_name(t, sql), None, None, None)


def _statement_word(tree: exp.Expression, sql: str) -> str:
    """The statement's name as the user wrote it (sqlglot names some oddly: TRUNCATE is
    TruncateTable, a lone word like CHECKPOINT parses as a column)."""
    if isinstance(tree, exp.Command):
        return tree.name.upper()
    if isinstance(tree, exp.Create):
        return kind_of(tree).upper()
    words = sql.lstrip().split(None, 1)
    return words[0].upper() if words else tree.key.upper()


def _update(piece: Piece) -> Update:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this", "expressions", "from_", "where"}, sql, _CLAUSES)
    name, alias = _target(tree, sql)
    toks = Tokens(piece)
    s = toks.find(TokenType.SET)
    w = toks.find(TokenType.WHERE, s or 0)
    f = toks.find(TokenType.FROM, s or 0) if tree.args.get("from_") else None
    end = f if f is not None else w
    items = toks.split(s + 1, end if end is not None else len(toks.tokens))
    if len(items) != len(tree.expressions):
        raise refuse("this SET list", tree, sql)
    sets = []
    for (a, b), node in zip(items, tree.expressions, strict=True):
        if not isinstance(node, exp.EQ) or not isinstance(node.this, exp.Column) or \
                node.this.table:
            raise refuse("this SET item (write column = expression)", node, sql)
        eq = toks.find(TokenType.EQ, a)
        if eq is None or eq >= b:
            raise refuse("this SET item", node, sql)
        sets.append((node.this.name, toks.span(eq + 1, b), node.expression))
    return Update(name, alias, sets, toks.span(f + 1, w) if f is not None else None,
                  toks.span(w + 1) if w is not None else None)


def _drop(piece: Piece) -> Drop:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"exists", "tables", "kind"}, sql, _CLAUSES)
    kind = str(tree.args.get("kind") or "").upper()
    if kind not in ("TABLE", "VIEW"):
        raise QueryError(f"DROP {kind} statements are not supported", locate(tree), sql)
    return Drop(kind, [table_name(t, sql, kind.lower()) for t in tree.args["tables"]],
                bool(tree.args.get("exists")))


def _alter(piece: Piece) -> Alter:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this", "kind", "exists", "actions"}, sql, _CLAUSES)
    if str(tree.args.get("kind") or "").upper() != "TABLE":
        raise QueryError(f"ALTER {tree.args.get('kind')} statements are not supported",
                         locate(tree), sql)
    name = table_name(tree.this, sql)
    actions = tree.args.get("actions") or []
    if len(actions) != 1:
        raise QueryError("ALTER TABLE takes one action per statement here", locate(tree),
                         sql)
    a = actions[0]
    out = Alter(name, bool(tree.args.get("exists")), "")
    if isinstance(a, exp.ColumnDef):
        col, key = _column_def(a, sql)
        if key or col.not_null:
            raise QueryError("ADD COLUMN with a constraint (NOT NULL, PRIMARY KEY, UNIQUE) "
                             "is not supported (nor is it by DuckDB)", locate(a), sql)
        out.action, out.column = "add_column", col
        out.missing_ok = bool(a.args.get("exists"))
        toks = Tokens(piece)
        i = toks.find(TokenType.EXISTS)
        if i is not None and toks.find(TokenType.NOT) is not None and \
                toks.find(TokenType.COLUMN) is not None:
            out.missing_ok = True
    elif isinstance(a, exp.Drop) and str(a.args.get("kind") or "").upper() == "COLUMN":
        _unknown_args(a, {"exists", "tables", "kind"}, sql, _CLAUSES)
        out.action, out.name = "drop_column", a.args["tables"][0].name
        out.missing_ok = bool(a.args.get("exists"))
    elif isinstance(a, exp.RenameColumn):
        out.action, out.name, out.new_name = "rename_column", a.this.name, a.args["to"].name
    elif isinstance(a, exp.AlterRename):
        out.action, out.new_name = "rename_table", table_name(a.this, sql)
    else:
        what = a.sql(dialect="duckdb").split("(")[0][:40]
        raise QueryError(f"ALTER TABLE {what} is not supported (ADD COLUMN, DROP COLUMN, "
                         "RENAME COLUMN and RENAME TO are)", locate(a), sql)
    return out


def _option(p: exp.Expression, sql: str) -> tuple[str, object]:
    name = p.this.name.upper() if isinstance(p.this, exp.Expression) else str(p.this).upper()
    v = p.args.get("expression")
    if v is None:
        return name, True
    if isinstance(v, exp.Literal):
        return name, v.this if v.is_string else float(v.this) if "." in v.this \
            else int(v.this)
    if isinstance(v, exp.Boolean):
        return name, bool(v.this)
    if isinstance(v, exp.Var | exp.Identifier | exp.Column):
        text = v.name
        return name, {"TRUE": True, "FALSE": False}.get(text.upper(), text)
    raise refuse(f"the COPY option {name} = {v.sql(dialect='duckdb')}", p, sql)


def _copy(piece: Piece) -> Copy:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this", "kind", "files", "params", "credentials"}, sql, _CLAUSES)
    creds = tree.args.get("credentials")
    if creds is not None and any(v for v in creds.args.values()):
        raise refuse("COPY credentials", creds, sql)
    files = tree.args.get("files") or []
    if len(files) != 1 or not (isinstance(files[0], exp.Literal) and files[0].is_string):
        raise refuse("COPY with this file (give one 'path' in quotes)", tree, sql)
    options = dict(_option(p, sql) for p in tree.args.get("params") or [])
    out = Copy(not tree.args.get("kind"), files[0].this, options)
    src = tree.this
    if isinstance(src, (exp.Subquery, QUERIES)):
        if not out.to:
            raise refuse("COPY (query) FROM", src, sql)
        toks = Tokens(piece)
        i = toks.find(TokenType.L_PAREN)
        out.query = query_text(piece, toks.span(i + 1, toks.matching(i)))
    else:
        out.table = table_name(src, sql)
        if isinstance(src, exp.Schema):
            out.columns = [e.name for e in src.expressions]
    return out


def _query_after_keyword(piece: Piece) -> str:
    toks = Tokens(piece)
    return query_text(piece, toks.span(1))


def _describe(piece: Piece) -> Describe:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this"}, sql, {"kind": "DESCRIBE with a kind",
                                        "style": "DESCRIBE FORMATTED/EXTENDED"})
    if isinstance(tree.this, exp.Table):
        return Describe(table=table_name(tree.this, sql))
    return Describe(query=_query_after_keyword(piece))


def _show(piece: Piece) -> Show:
    tree, sql = piece.tree, piece.sql
    what = str(tree.this).upper()
    if what not in ("TABLES", "ALL TABLES") or any(
            v for k, v in tree.args.items() if k != "this"):
        raise QueryError(f"SHOW {what} is not supported (SHOW TABLES and SHOW ALL TABLES "
                         "are; DESCRIBE t shows a table's columns)", locate(tree), sql)
    return Show(what == "ALL TABLES")


def _summarize(piece: Piece) -> Summarize:
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"this"}, sql)
    if isinstance(tree.this, exp.Table):
        return Summarize(table=table_name(tree.this, sql))
    return Summarize(query=_query_after_keyword(piece))


def _setting(name: str, node, sql: str, verb: str) -> str:
    name = name.lower()
    if name not in memory.SETTINGS:
        raise QueryError(f"{verb} {name} is not supported (mapdb's settings: "
                         f"{', '.join(memory.SETTINGS)})", locate(node), sql)
    return name


def _set(piece: Piece) -> SetOption:
    """SET [GLOBAL] memory_limit = '4GB' (or TO): DuckDB's spellings of sizes; the
    limit is the connection's (DuckDB's is the database instance's: one connection)."""
    tree, sql = piece.tree, piece.sql
    _unknown_args(tree, {"expressions"}, sql, {"unset": "UNSET", "tag": "SET TAG"})
    if len(tree.expressions) != 1:
        raise refuse("SET of several settings in one statement", tree, sql)
    item = tree.expressions[0]
    kind = str(item.args.get("kind") or "").upper()
    if kind not in ("", "GLOBAL"):
        raise refuse(f"SET {kind}", item, sql)
    eq = item.this
    if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column) or eq.this.table:
        raise refuse("this SET item (write SET memory_limit = '4GB')", item, sql)
    name = _setting(eq.this.name, eq.this, sql, "SET")
    value = eq.expression
    if isinstance(value, exp.Null):
        raise QueryError("memory must have a number (e.g. '1GB')", locate(value), sql)
    if not isinstance(value, exp.Literal):
        raise refuse("a memory_limit that is not a constant (write '4GB')", value, sql)
    try:
        n = memory.parse_size(str(value.this))
    except memory.SizeError as e:
        raise QueryError(str(e), locate(value), sql) from None
    return SetOption(name, n)


def _reset(piece: Piece) -> SetOption:
    """RESET memory_limit: back to the default (DuckDB's: not the connect() value)."""
    tree, sql = piece.tree, piece.sql
    words = str(tree.expression.this if tree.expression is not None else "").split()
    if len(words) != 1 or not re.fullmatch(r"\w+", words[0]):
        raise refuse(f"RESET {' '.join(words)}".rstrip(), tree, sql)
    return SetOption(_setting(words[0], tree, sql, "RESET"), None)
