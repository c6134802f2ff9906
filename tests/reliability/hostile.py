"""Hostile inputs for RELIABILITY.md 16-18: hypothesis strategies for SQL, CSV, NDJSON,
broken Parquet/Arrow files and names, and how to classify what mapdb did with them.

Shared by the quick tests (tests/reliability/test_hostile_*.py) and the soak command
(``python -m tests.reliability.soak``), which runs the same strategies for thousands of
examples and prints the outcomes by kind.
"""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

# -- SQL ------------------------------------------------------------------------------------
COLUMNS = ["id", "i8", "i16", "i32", "i64", "u8", "u32", "f32", "f64", "d92", "d184", "dt",
           "ts", "b", "s", "cat", "g"]
KEYWORDS = ["SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "HAVING", "LIMIT", "OFFSET",
            "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "ILIKE", "CASE",
            "WHEN", "THEN", "ELSE", "END", "AS", "DISTINCT", "CAST", "TRY_CAST", "EXTRACT",
            "INTERVAL", "DATE", "TIMESTAMP", "UNION", "ALL", "JOIN", "ON", "WITH", "EXPLAIN",
            "ANALYZE", "INSERT", "INTO", "VALUES", "CREATE", "TABLE", "DROP", "DELETE",
            "UPDATE", "SET", "COPY", "ATTACH", "PRAGMA", "DESC", "ASC", "NULLS", "FIRST",
            "TRUE", "FALSE", "OVER", "PARTITION", "RECURSIVE", "QUALIFY", "USING", "FILTER"]
PUNCT = ["*", ",", "(", ")", ";", ".", "+", "-", "/", "//", "%", "=", "<>", "!=", "<", "<=",
         ">", ">=", "||", "::", "?", "$1", "[", "]", "{", "}", "'", '"', "--", "/*", "*/",
         "\\", "@", "#", "^", "&", "|", "~", "\n", "\t", "\x00"]
FUNCTIONS = ["sum", "count", "avg", "min", "max", "abs", "round", "substring", "lower", "upper",
             "length", "coalesce", "nullif", "date_trunc", "strftime", "stddev_samp",
             "greatest", "least", "year", "regexp_matches", "hash", "nosuchfunc"]
LITERALS = ["0", "1", "-1", "2", "9223372036854775807", "9223372036854775808",
            "-9223372036854775808", "18446744073709551616", "1e308", "1e999", "-0.0", "0.1",
            "123456789012345678901234567890", "1.2345678901234567890123", "'a'", "''",
            "'it''s'", "'%'", "'_'", "'héllo'", "'\x00'", "'2024-02-30'", "'1970-01-01'",
            "DATE '2024-01-01'", "TIMESTAMP '2000-01-01 00:00:00'", "INTERVAL 1 DAY", "NULL",
            "'" + "x" * 1000 + "'", "x'00'", "E'\\n'", "1_000"]
NAMES = [*COLUMNS, "t", "e", '"t"', '"id"', "nosuch", '"weird ""name"""', "T", "ID",
         "main.t", "t.id", "x.id", '"../x"', "rowid"]
TOKENS = KEYWORDS + PUNCT + FUNCTIONS + LITERALS + NAMES

VALID = [
    "SELECT id, s FROM t WHERE i8 > 0 ORDER BY id LIMIT 5",
    "SELECT g, count(*), sum(i32), avg(d92) FROM t GROUP BY g ORDER BY g",
    "SELECT cat, min(f64), max(ts) FROM t WHERE s LIKE 'a%' GROUP BY cat HAVING count(*) > 1",
    "SELECT id FROM t WHERE i64 IN (1, 2, 3) OR dt BETWEEN DATE '2000-01-01' AND '2010-01-01'",
    "SELECT CASE WHEN b THEN i8 ELSE -i8 END AS v, lower(cat) FROM t ORDER BY 1 NULLS FIRST",
    "SELECT EXTRACT(YEAR FROM dt) AS y, count(DISTINCT g) FROM t GROUP BY y",
    "SELECT id, d92 * 2 + 1, f32 / 3 FROM t WHERE u8 % 3 = 0 AND NOT b LIMIT 10 OFFSET 2",
    "WITH c AS (SELECT id, i16 FROM t WHERE i16 IS NOT NULL) SELECT max(i16) FROM c",
    "SELECT substring(s, 1, 2), length(s) FROM t WHERE s IS NOT NULL ORDER BY id",
    "SELECT date_trunc('month', ts) AS m, sum(u32) FROM t GROUP BY m ORDER BY m",
]
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\d+(?:\.\d+)?|\w+"
                    r"|<>|<=|>=|!=|//|\|\||::|\S")


def sql_tokens(sql: str) -> list[str]:
    return _TOKEN.findall(sql)


@st.composite
def token_soup(draw) -> str:
    """Random tokens, often starting like a query."""
    toks = draw(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=40))
    if draw(st.booleans()):
        toks = ["SELECT", *toks]
    return " ".join(toks)


@st.composite
def mutated_query(draw) -> str:
    """A valid query with a few token edits (delete, duplicate, swap, insert, replace)."""
    toks = sql_tokens(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        if not toks:
            break
        i = draw(st.integers(0, len(toks) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "insert":
            toks.insert(i, draw(st.sampled_from(TOKENS)))
        else:
            toks[i] = draw(st.sampled_from(TOKENS))
    return " ".join(toks)


def _nest(kind: str, depth: int) -> str:
    inner = "i64"  # wide enough that 200 levels of arithmetic do not overflow
    if kind == "parens":
        return "SELECT " + "(" * depth + inner + ")" * depth + " FROM t"
    if kind == "not":
        return "SELECT id FROM t WHERE " + "NOT " * depth + "b"
    if kind == "minus":
        return "SELECT " + "- " * depth + inner + " FROM t"
    if kind == "function":
        return "SELECT " + "abs(" * depth + inner + ")" * depth + " FROM t"
    if kind == "case":
        return ("SELECT " + "CASE WHEN b THEN " * depth + inner + " END" * depth + " FROM t")
    if kind == "plus":
        return "SELECT " + " + ".join([inner] * depth) + " FROM t"
    if kind == "and":
        return "SELECT id FROM t WHERE " + " AND ".join(["i8 > 0"] * depth)
    if kind == "subquery":
        return "SELECT i8 FROM " + "(SELECT i8 FROM " * depth + "t" + ") AS q" * depth
    if kind == "cte":
        ctes = ", ".join(f"c{k} AS (SELECT i8 FROM {'t' if k == 0 else f'c{k - 1}'})"
                         for k in range(depth))
        return f"WITH {ctes} SELECT i8 FROM c{depth - 1}"
    raise ValueError(kind)


NEST_KINDS = ["parens", "not", "minus", "function", "case", "plus", "and", "subquery", "cte"]
STATEMENTS = [  # DDL/DML and other statements where only queries are allowed
    "CREATE TABLE u (x INT)", "DROP TABLE t", "DELETE FROM t", "UPDATE t SET i8 = 1",
    "INSERT INTO t VALUES (1)", "COPY t TO '/tmp/mapdb-hostile.csv'", "ATTACH 'x.db'",
    "PRAGMA database_list", "SET threads = 1", "ALTER TABLE t ADD COLUMN z INT",
    "CREATE INDEX ix ON t (id)", "TRUNCATE t", "VACUUM", "CHECKPOINT", "DESCRIBE t",
    "SHOW TABLES", "LOAD httpfs", "INSTALL httpfs", "CALL pragma_version()",
    "EXPORT DATABASE '/tmp/x'", "BEGIN", "COMMIT", "DETACH x", "USE main",
]


@st.composite
def structured_sql(draw, big: bool = True) -> tuple[str, str]:
    """(kind, sql): deep nesting, huge IN lists and literals, several statements, DDL/DML,
    division by zero, overflow, unknown names. ``big``: IN lists up to 200,000 items (a
    1 MB statement takes seconds to parse), else up to 20,000."""
    kind = draw(st.sampled_from(["deep", "in_list", "huge_literal", "multi", "statement",
                                 "div_zero", "overflow", "unknown"]))
    if kind == "deep":
        return kind, _nest(draw(st.sampled_from(NEST_KINDS)),
                           draw(st.sampled_from([1, 5, 50, 150, 199, 201, 400, 3000])))
    if kind == "in_list":
        n = draw(st.sampled_from([1, 10, 1000, 99_999, 100_001, 200_000] if big else
                                 [1, 10, 1000, 20_000]))
        item = draw(st.sampled_from(["{k}", "'{k}'", "{k}.5", "NULL"]))
        col = draw(st.sampled_from(["id", "s", "f64", "d92", "cat"]))
        return kind, (f"SELECT count(*) FROM t WHERE {col} IN ("
                      + ", ".join(item.format(k=k) for k in range(n)) + ")")
    if kind == "huge_literal":
        n = draw(st.sampled_from([19, 20, 40, 41, 400, 5000, 100_000, 1_100_000]))
        lit = draw(st.sampled_from(["'{x}'", "{d}", "-{d}", "0.{d}", "{d}.5", "{d}e1"]))
        text = lit.format(x="x" * n, d="9" * n)
        return kind, f"SELECT {text} AS v, id FROM t WHERE s <> {text} LIMIT 3"
    if kind == "multi":
        a = draw(st.sampled_from(VALID))
        b = draw(st.sampled_from(VALID + STATEMENTS))
        return kind, f"{a}; {b}" + draw(st.sampled_from(["", ";", "; ;"]))
    if kind == "statement":
        return kind, draw(st.sampled_from(STATEMENTS))
    if kind == "div_zero":
        return kind, draw(st.sampled_from([
            "SELECT i64 / 0 FROM t", "SELECT i8 % 0 FROM t", "SELECT f64 / 0 FROM t",
            "SELECT d92 / 0 FROM t", "SELECT sum(i32) / 0 FROM t", "SELECT i8 // 0 FROM t",
            "SELECT id FROM t WHERE i16 / (i16 - i16) > 1", "SELECT 1 / 0 FROM t",
            "SELECT avg(i8) / count(NULL) FROM t"]))
    if kind == "overflow":
        return kind, draw(st.sampled_from([
            "SELECT sum(i64 * 9223372036854775807) FROM t",
            "SELECT i64 * i64 * i64 FROM t", "SELECT -(-9223372036854775807 - 1) FROM t",
            "SELECT 9223372036854775807 + id FROM t", "SELECT sum(d184 * 1e18) FROM t",
            "SELECT CAST(i64 AS TINYINT) FROM t", "SELECT CAST(1e300 AS BIGINT) FROM t",
            "SELECT abs(-9223372036854775807 - 1) FROM t",
            "SELECT CAST(d184 AS DECIMAL(4, 2)) FROM t"]))
    return kind, draw(st.sampled_from([
        "SELECT nosuch FROM t", "SELECT id FROM nosuch", "SELECT nosuchfunc(id) FROM t",
        "SELECT t.nosuch FROM t", "SELECT q.id FROM t", 'SELECT "" FROM t',
        'SELECT id FROM ""', "SELECT id FROM t GROUP BY nosuch", "SELECT id FROM t ORDER BY 99",
        'SELECT id FROM "../x"', "SELECT id FROM main.t", "SELECT id FROM t AS a, t AS b"]))


def hostile_sql(big: bool = True):
    """(kind, sql) for every kind of hostile statement."""
    return st.one_of(token_soup().map(lambda q: ("token_soup", q)),
                     mutated_query().map(lambda q: ("mutated", q)),
                     structured_sql(big))


@st.composite
def valid_hostile_sql(draw) -> tuple[str, str]:
    """(kind, sql): valid statements at the edges (long IN lists, deep but allowed nesting,
    long literals, division by zero, -0.0) and the query tests' generated filters; mapdb
    must answer them exactly as DuckDB does."""
    from query.test_generated import predicate
    kind = draw(st.sampled_from(["filter", "in_list", "nesting", "literal", "div_zero"]))
    cols = ", ".join(draw(st.lists(st.sampled_from(["id", "i8", "u32", "f64", "d92", "s", "cat",
                                                    "dt", "b"]), min_size=1, max_size=3,
                                   unique=True)))
    if kind == "filter":
        return kind, f"SELECT {cols} FROM t WHERE {draw(predicate())}"
    if kind == "in_list":
        n = draw(st.sampled_from([1, 3, 100, 5000]))
        col, item = draw(st.sampled_from([("id", "{k}"), ("i64", "{k}"), ("s", "'{k}'"),
                                          ("cat", "'{k}'"), ("f64", "{k}.5"),
                                          ("f64", "-0.0"), ("d92", "{k}.25"), ("u8", "{k}")]))
        items = [item.format(k=k - n // 3) for k in range(n)]
        if draw(st.booleans()):
            items.append("NULL")
        neg = draw(st.sampled_from(["", "NOT "]))
        return kind, f"SELECT count(*), sum(id) FROM t WHERE {col} {neg}IN ({', '.join(items)})"
    if kind == "nesting":
        nest = draw(st.sampled_from(["and", "not", "case", "cte", "subquery"]))
        depth = draw(st.sampled_from([1, 2, 10, 25] + ([100, 150] if nest in ("and", "cte")
                                                         else [])))
        return kind, _nest(nest, depth)
    if kind == "literal":
        n = draw(st.sampled_from([1, 100, 10_000, 200_000]))
        lit = draw(st.sampled_from(["'{x}'", "'{x}%'", "'%{x}'"]))
        op = draw(st.sampled_from(["=", "<>", "<", ">=", "LIKE", "NOT LIKE"]))
        return kind, f"SELECT count(*) FROM t WHERE s {op} {lit.format(x='h' * n)}"
    return kind, draw(st.sampled_from([
        "SELECT id, i64 / 0, f64 / 0, d92 / 0 FROM t", "SELECT sum(i32) / 0 FROM t",
        "SELECT id FROM t WHERE i16 / 0 IS NULL",
        "SELECT count(*) FROM t WHERE f64 <> 0 AND f64 / 0 > 1",  # 0/0: NaN orders apart
        "SELECT 1 / 0 AS v, id FROM t", "SELECT avg(i8) / count(NULL) FROM t"]))


# -- CSV and NDJSON -------------------------------------------------------------------------
HEADER_NAMES = ["a", "b", "c", "", "a", " ", "x y", "../x", "/abs", ".", "..", "a/b", "con",
                "nul", "名前", "é", '"q"', "a,b", "\x00", "\x01", "x" * 200, "%2e", "\ufeff"]
FIELDS = ["1", "-1", "0", "42", "9223372036854775807", "9223372036854775808",
          "99999999999999999999999999", "1.5", "1e999", "-1e-999", "nan", "inf", "NaN", "NA",
          "", " ", "true", "FALSE", "2024-01-01", "2024-02-30", "2024-01-01 10:00:00",
          "10:00", "abc", "é", "日本", '"quoted"', '"with ""escaped"" quotes"', '"a,b"',
          '"multi\nline"', '"unterminated', 'bare"quote', "\x00", "a\x00b", "\t", "\\",
          "'single'", "#comment"]
BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80abc", b"\xfe\xff"]


@st.composite
def csv_document(draw) -> bytes:
    """A CSV with hostile headers, ragged rows, bad quoting, NUL, invalid UTF-8, big and
    overflowing fields, odd line ends; or random bytes; or nothing."""
    shape = draw(st.sampled_from(["structured"] * 6 + ["random", "empty", "header_only"]))
    if shape == "random":
        return draw(st.binary(max_size=2000))
    if shape == "empty":
        return draw(st.sampled_from([b"", b"\n", b"\r\n\r\n", b" ", b"\xef\xbb\xbf"]))
    ncols = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(HEADER_NAMES[:3]) | st.sampled_from(HEADER_NAMES),
                           min_size=ncols, max_size=ncols))
    if draw(st.booleans()):
        header = ["a", "b", "c", "d", "e"][:ncols]
    eol = draw(st.sampled_from(["\n", "\r\n", "\r", "\n"]))
    lines = [",".join(header)]
    if shape == "structured":
        for _ in range(draw(st.integers(0, 30))):
            n = ncols if draw(st.integers(0, 9)) else draw(st.integers(0, ncols + 2))
            lines.append(",".join(draw(st.sampled_from(FIELDS)) for _ in range(n)))
    data = eol.join(lines).encode() + (eol.encode() if draw(st.booleans()) else b"")
    if draw(st.integers(0, 4)) == 0:  # invalid UTF-8 somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:]
    if draw(st.integers(0, 9)) == 0:  # a big field (a few hundred KiB)
        data += b"big," + b"y" * draw(st.sampled_from([1 << 16, 1 << 19])) + eol.encode()
    if draw(st.integers(0, 19)) == 0:
        data = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + data
    return data


JSON_VALUES = ["1", "-1", "1.5", "1e999", "99999999999999999999999", "true", "null", '"s"',
               '""', '"é"', '"\\u0000"', '"\\ud800"', '"2024-01-01"', "[1, 2]", "{}",
               '{"x": 1}', "[]", '"' + "z" * 3000 + '"', "NaN", "Infinity", "'single'",
               "01", "-", '"unterminated', '"tab\there"']


@st.composite
def ndjson_document(draw) -> bytes:
    """NDJSON lines: objects with hostile keys and values, truncated lines, arrays and
    scalars, deep nesting, raw NUL, invalid UTF-8; or random bytes; or nothing."""
    shape = draw(st.sampled_from(["structured"] * 6 + ["random", "empty", "deep"]))
    if shape == "random":
        return draw(st.binary(max_size=2000))
    if shape == "empty":
        return draw(st.sampled_from([b"", b"\n", b"\n\n", b" \n", b"[]", b"{}"]))
    if shape == "deep":
        n = draw(st.sampled_from([50, 100, 101, 1000, 20000]))
        o, c = draw(st.sampled_from([('{"a":', "}"), ("[", "]"), ('{"a":[', "]}")]))
        return ('{"k": 1}\n' + o * n + "1" + c * n + "\n").encode()
    lines = []
    keys = draw(st.lists(st.sampled_from(["a", "b", "c", *HEADER_NAMES]), min_size=1,
                         max_size=4))
    for _ in range(draw(st.integers(1, 20))):
        r = draw(st.integers(0, 19))
        if r == 0:
            lines.append(draw(st.sampled_from(JSON_VALUES)))
        elif r == 1:
            lines.append("")
        else:
            obj = ", ".join(f'"{k}": {draw(st.sampled_from(JSON_VALUES))}'
                            for k in keys if draw(st.integers(0, 5)))
            line = "{" + obj + "}"
            if r == 2:
                line = line[: draw(st.integers(0, len(line)))]
            lines.append(line)
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([*BAD_BYTES, b"\x00", b"\r"])) + data[at:]
    return data


# -- broken Parquet and Arrow files ---------------------------------------------------------
def _sample_table() -> pa.Table:
    n = 1500
    return pa.table({"a": list(range(n)), "s": [f"v{i % 17}" for i in range(n)],
                     "f": [i / 7 for i in range(n)],
                     "o": [None if i % 5 == 0 else f"x{i}" for i in range(n)]})


def binary_files() -> dict[str, bytes]:
    """A valid file of each binary kind (name -> bytes), to be damaged."""
    t = _sample_table()
    out = {}
    buf = io.BytesIO()
    pq.write_table(t, buf, row_group_size=500)
    out["parquet"] = buf.getvalue()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, t.schema) as w:
        w.write_table(t, max_chunksize=400)
    out["arrow"] = sink.getvalue().to_pybytes()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t, max_chunksize=400)
    out["arrows"] = sink.getvalue().to_pybytes()
    return out


@st.composite
def broken_binary(draw, files: dict[str, bytes]) -> tuple[str, bytes]:
    """(extension, bytes): a valid Parquet/Arrow file truncated, with flipped or zeroed
    bytes, a bad magic, or a damaged footer."""
    ext = draw(st.sampled_from(sorted(files)))
    data = bytearray(files[ext])
    how = draw(st.sampled_from(["truncate", "flip", "scribble", "zeros", "magic", "footer"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "flip":
        at = draw(st.integers(0, len(data) - 1))
        data[at] ^= 1 << draw(st.integers(0, 7))
    elif how == "scribble":
        for _ in range(draw(st.integers(2, 40))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif how == "zeros":
        at = draw(st.integers(0, len(data) - 1))
        n = draw(st.integers(1, 256))
        data[at:at + n] = bytes(len(data[at:at + n]))
    elif how == "magic":
        data[:4] = draw(st.sampled_from([b"PAR0", b"ARRO", b"\x00\x00\x00\x00", b"XXXX"]))
    else:
        at = len(data) - draw(st.integers(1, min(64, len(data))))
        data[at] ^= 0xFF
    return ext, bytes(data)


# -- names ----------------------------------------------------------------------------------
HOSTILE_NAMES = ["../x", "../../../../tmp/mapdb-evil", "/abs", "/", "a/b", ".", "..", "",
                 "a\x00b", "\x00", "x" * 129, "x" * 128, "con", "CON", "nul", "aux", "prn",
                 "com1", "lpt1", "con.txt", "%", "%2e%2e", "%2F", "a%b", "~", "-", " ",
                 "\\..\\x", "C:\\x", "\n", "t\tx", "\u202e", "\ufeff", "🙂" * 64, "." * 128,
                 "manifests", "LOCK", "mapdb.json", ".tmp-1-x", ".trash-x", "t_x"]


# -- outcomes -------------------------------------------------------------------------------
def outcome(exc: BaseException | None) -> str:
    """'ok', 'mapdb-error' or 'OTHER <type>' (a bug: not a mapdb exception)."""
    from mapdb.errors import MapdbError
    if exc is None:
        return "ok"
    if isinstance(exc, MapdbError):
        return "mapdb-error"
    return f"OTHER {type(exc).__name__}"
