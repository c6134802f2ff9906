"""The binder's allow-list (mapdb/query/syntax.py): what it refuses, how it names it, and
that its tables stay consistent with sqlglot and DuckDB."""

from __future__ import annotations

import re

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from mapdb.query.binder import bind_sql
from mapdb.query.parsecache import ParseCache
from mapdb.query.syntax import ARGUMENTS, CALLED, CONSUMED, FIXED, check
from mapdb.query.types import QueryError

POSITION = re.compile(r"\(line (\d+), column (\d+)\)")


def refusal(sql: str) -> str:
    with pytest.raises(QueryError) as info:
        check(sqlglot.parse_one(sql, read="duckdb"), sql)
    return str(info.value)


def test_arguments_are_real():
    """Every argument named in the tables is one sqlglot has for that node type."""
    for t, keys in CONSUMED.items():
        assert keys <= set(t.arg_types), (t.__name__, keys - set(t.arg_types))
    for t, key in list(FIXED) + list(ARGUMENTS):
        assert key in t.arg_types, (t.__name__, key)


def test_functions_have_duckdb_names():
    """A function node the binder consumes lists the names DuckDB calls it by (or is
    syntax, not a call), and each of those names is a DuckDB function."""
    syntax_only = {exp.And, exp.Or, exp.Case, exp.Cast, exp.TryCast, exp.Anonymous,
                   exp.Exists, exp.Columns}
    for t in CONSUMED:
        if issubclass(t, exp.Func):
            assert t in CALLED or t in syntax_only, t.__name__
    known = {r[0] for r in duckdb.sql("SELECT function_name FROM duckdb_functions()")
             .fetchall()} | {"coalesce", "ifnull", "extract"}  # special forms
    for t, names in CALLED.items():
        assert names <= known, (t.__name__, names - known)


@pytest.mark.parametrize("sql,needle,col", [
    ("SELECT x FROM t USING SAMPLE 10%", "USING SAMPLE", 30),
    ("SELECT x FROM t TABLESAMPLE 10%", "TABLESAMPLE", 29),
    ("SELECT x\nFROM t\nQUALIFY x = 1", "QUALIFY", 9),
    ("SELECT x FROM t GROUP BY CUBE (x)", "CUBE", 32),
    ("SELECT x FROM t GROUP BY GROUPING SETS ((x), ())", "GROUPING SETS", 42),
    ("SELECT DISTINCT ON (x) x FROM t", "DISTINCT ON", 21),
    ("SELECT x FROM t ORDER BY x LIMIT 2 WITH TIES", "WITH TIES", 34),
    ("SELECT iif(x, 1, 2) FROM t", "iif()", 8),
    ("SELECT x FROM t LIMIT 1, 2", "LIMIT offset, count", 23),
    ("SELECT x FROM t WHERE x IS DISTINCT FROM 1", "IS DISTINCT FROM", 23),
    ("SELECT sum(x) OVER (ORDER BY x ROWS 1 PRECEDING EXCLUDE CURRENT ROW) FROM t",
     "EXCLUDE", 37),
    ("SELECT approx_quantile(x, 0.5) OVER (ORDER BY x) FROM t",
     "approx_quantile() as a window function", 24),
])
def test_refusals_name_the_construct_and_its_place(sql, needle, col):
    msg = refusal(sql)
    assert needle.lower() in msg.lower(), msg
    m = POSITION.search(msg)
    assert m and int(m.group(2)) == col, msg


def test_any_argument_not_consumed_is_refused():
    """Not one check per construct: any set argument the table does not list is refused,
    named after its key, including ones no refusal message was written for."""
    tree = sqlglot.parse_one("SELECT x FROM t WHERE x > 1", read="duckdb")
    tree.find(exp.Column).set("join_mark", True)  # Oracle's (+), set by hand
    with pytest.raises(QueryError, match="JOIN MARK of COLUMN"):
        check(tree, "SELECT x FROM t WHERE x > 1")
    tree = sqlglot.parse_one("SELECT x FROM t", read="duckdb")
    tree.set("distribute", exp.Column(this=exp.to_identifier("x")))
    with pytest.raises(QueryError, match="DISTRIBUTE of SELECT"):
        check(tree, "SELECT x FROM t")


def test_fixed_arguments_only_with_duckdb_values():
    tree = sqlglot.parse_one("SELECT concat(a, b) FROM t", read="duckdb")
    check(tree, "SELECT concat(a, b) FROM t")
    tree.find(exp.Concat).set("coalesce", False)  # empty: fine
    check(tree, "SELECT concat(a, b) FROM t")
    tree.find(exp.Concat).set("safe", "other")
    with pytest.raises(QueryError, match="SAFE of CONCAT"):
        check(tree, "SELECT concat(a, b) FROM t")


def test_subclasses_are_not_their_parents():
    """sqlglot's JSONCast and TryCast are Casts, ConcatWs a Concat: the table is by exact
    type (TRY_CAST is consumed in its own right: NULL where the CAST fails)."""
    assert exp.JSONCast not in CONSUMED and issubclass(exp.JSONCast, exp.Cast)
    assert CONSUMED[exp.TryCast] == frozenset({"this", "to"})


def test_cached_templates_are_checked_and_positions_stay_the_statements():
    """A statement refused by the allow-list is never cached; its error points into its
    own text even when an earlier statement had the same shape."""
    import pyarrow as pa

    from mapdb.query.source import ArrowSource
    src = ArrowSource("t", pa.table({"x": [1, 2, 3]}))
    cache = ParseCache()
    for sql in ("SELECT x FROM t USING SAMPLE 10%", "SELECT x FROM t USING SAMPLE 100000%",
                "SELECT  x FROM t WHERE x = 1 ORDER BY x LIMIT 12345 WITH TIES"):
        with pytest.raises(QueryError) as info:
            bind_sql(sql, {"t": src}.__getitem__, cache)
        m = POSITION.search(str(info.value))
        col = int(m.group(2))
        assert sql[col - 1].isdigit() or sql[col - 1] == "x", (sql, str(info.value))
    assert cache.hits == 0
    q = bind_sql("SELECT x FROM t WHERE x = 1", {"t": src}.__getitem__, cache)
    q = bind_sql("SELECT x FROM t WHERE x = 2", {"t": src}.__getitem__, cache)
    assert cache.hits == 1 and q.names == ["x"]
