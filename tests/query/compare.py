"""Run one query in mapdb (general and fused paths) and in DuckDB; compare the answers."""

from __future__ import annotations

import datetime
import decimal
import math
from dataclasses import dataclass

import pyarrow as pa
import sqlglot
from sqlglot import exp

REL_TOL = 1e-9
ABS_TOL = 1e-12


@dataclass
class Engines:
    db: object  # mapdb.Database
    con: object  # duckdb connection; None under MAPDB_NO_DUCKDB

    def mapdb(self, sql: str, fused: bool) -> list[tuple]:
        t = self.db.sql(sql, fused=fused).to_arrow()
        # not to_pylist(): names may repeat; intervals as DuckDB's fetchall gives them
        cols = [_pylist(t, i) for i in range(t.num_columns)]
        return list(zip(*cols, strict=True)) if cols else [], t.num_columns

    def duckdb(self, sql: str) -> tuple[list[tuple], int]:
        if self.con is None:  # MAPDB_NO_DUCKDB (sanitizer runs): the general path decides
            return self.mapdb(sql, False)
        cur = self.con.execute(sql)
        rows = cur.fetchall()
        return rows, len(cur.description)


def _pylist(t, i: int) -> list:
    from mapdb.api.result import _pylist as values
    return values(t, i)


def _kind(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, decimal.Decimal):
        return "decimal"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, datetime.datetime):
        return "timestamp"
    if isinstance(v, datetime.date):
        return "date"
    return type(v).__name__


def same_value(a, b, loose: bool = False) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka == "null" or kb == "null":
        return ka == kb
    if loose and {ka, kb} == {"float", "decimal"}:
        a, b, ka, kb = float(a), float(b), "float", "float"
    if ka != kb:
        return False
    if ka == "float":
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if ka == "decimal":
        return a == b  # exact, whatever the scale
    return a == b


def _sort_key(row: tuple) -> tuple:
    out = []
    for v in row:
        k = _kind(v)
        if k == "float":
            v = 0.0 if v == 0 or math.isnan(v) else float(f"{v:.9e}")
        elif k == "decimal":
            v = float(v)
        elif k == "timestamp" and v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        elif k in ("list", "dict"):  # (a LIST or STRUCT value: ordered by its text)
            v = repr(v)
        out.append((k == "null", k, v if k != "null" else 0))
    return tuple(out)


def fully_ordered(sql: str, ncols: int) -> bool:
    """True when the outermost ORDER BY fixes the row order: it names every output column
    (any order keys beyond that only break ties nothing else could)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    order = tree.args.get("order")
    if order is None:
        return False
    items = tree.expressions
    names = [i.alias_or_name.lower() for i in items]
    covered = set()
    for o in order.expressions:
        key = o.this
        if isinstance(key, exp.Literal) and not key.is_string:
            covered.add(int(key.this) - 1)
        elif isinstance(key, exp.Column) and key.name.lower() in names:
            covered.add(names.index(key.name.lower()))
        else:
            for i, it in enumerate(items):
                inner = it.this if isinstance(it, exp.Alias) else it
                if inner == key:
                    covered.add(i)
    if any(isinstance(i, exp.Star) for i in items):
        return False
    return covered >= set(range(ncols))


def diff(got: list[tuple], want: list[tuple], loose: bool = False) -> str | None:
    if len(got) != len(want):
        return f"{len(got)} rows, DuckDB has {len(want)}: got {got[:5]}, want {want[:5]}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if len(g) != len(w) or not all(same_value(a, b, loose)
                                       for a, b in zip(g, w, strict=True)):
            return f"row {i}: got {g!r}, DuckDB {w!r}"
    return None


def check(engines: Engines, sql: str, ordered: bool | None = None,
          limit_ties: bool = False, loose: bool = False) -> list[tuple]:
    """Assert mapdb's answer (both paths) equals DuckDB's; returns DuckDB's rows.

    ``ordered``: compare in order (default: only when ORDER BY names every output column).
    ``limit_ties``: a LIMIT whose cut may fall inside ties; only the row count and the
    multiset of the order-key prefix are meaningful, so only the row count is compared.
    ``loose``: a double may stand for a DuckDB decimal (arithmetic on SUM(decimal) is
    done in double by mapdb), compared with the float tolerance."""
    want, ncols = engines.duckdb(sql)
    if ordered is None:
        ordered = fully_ordered(sql, ncols)
    for fused in (False, True):
        got, gcols = engines.mapdb(sql, fused)
        assert gcols == ncols, f"{gcols} columns, DuckDB has {ncols}\n{sql}"
        if limit_ties:
            assert len(got) == len(want), f"fused={fused}: {len(got)} rows vs {len(want)}"
            continue
        g, w = (got, want) if ordered else (sorted(got, key=_sort_key),
                                            sorted(want, key=_sort_key))
        problem = diff(g, w, loose)
        assert problem is None, f"fused={fused}: {problem}\n{sql}"
    return want


def engines_over(path, tables: dict) -> Engines:
    """mapdb (a database created at ``path``) and DuckDB over the same Arrow tables."""
    import duckdb

    import mapdb
    db = mapdb.connect(path)
    con = duckdb.connect()
    for name, table in tables.items():
        db.create_table(name, table)
        con.register(name, table)
    return Engines(db, con)


def check_names(engines: Engines, sql: str) -> None:
    """Assert mapdb's result columns are named as DuckDB names them."""
    want = [d[0] for d in engines.con.execute(sql).description]
    assert engines.db.sql(sql).to_arrow().column_names == want, sql


def check_arrow(engines: Engines, sql: str) -> None:
    """mapdb's result as Arrow equals DuckDB's ``.arrow()``: types and values (text:
    mapdb's results are large_string, DuckDB's string)."""
    want = engines.con.sql(sql).arrow()
    want = want.read_all() if hasattr(want, "read_all") else want  # (DuckDB 1.4+: a reader)
    got = engines.db.sql(sql).to_arrow()
    assert [pa.string() if t == pa.large_string() else t for t in got.schema.types] == \
        want.schema.types, sql
    assert got.to_pylist() == want.to_pylist(), sql
