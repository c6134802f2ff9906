"""A corpus of DuckDB's SELECT grammar (duckdb_corpus.sql) run by mapdb and DuckDB over the
same small tables: every statement is answered as DuckDB answers it, or refused with a
QueryError; never answered differently, never a raw exception. A statement DuckDB itself
rejects must be refused too.

``python -m tests.query.test_corpus`` prints each statement's outcome and the counts."""

from __future__ import annotations

import datetime
import decimal
import re
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import mapdb
from mapdb.errors import MapdbError

from .compare import _sort_key, diff, fully_ordered

CORPUS = Path(__file__).with_name("duckdb_corpus.sql")
POSITION = re.compile(r"\(line \d+, column \d+\)")

TABLES = {
    "t1": pa.table({"x": [1, 2, 3, None, 5], "v": [10, -5, 7, 0, None],
                    "s": ["a", "b", None, "b", "c"]}),
    "t2": pa.table({"y": [1, 1, 2, 4], "w": [1.5, 2.5, None, 0.0]}),
    "t3": pa.table({
        "id": pa.array([1, 2, 3, 4, 5, 6], pa.int32()),
        "g": ["p", "q", "p", None, "q", "p"],
        "d": pa.array([datetime.date(2020, 1, 31), datetime.date(2021, 2, 28),
                       datetime.date(2024, 2, 29), None, datetime.date(1969, 12, 31),
                       datetime.date(2022, 6, 15)]),
        "ts": pa.array([datetime.datetime(2021, 6, 1, 10, 30), None,
                        datetime.datetime(2020, 1, 1), datetime.datetime(1999, 12, 31, 23, 59, 59),
                        datetime.datetime(2021, 6, 1, 10, 30, 0, 500000),
                        datetime.datetime(2023, 3, 3, 3, 3, 3)], pa.timestamp("us")),
        "amt": pa.array([decimal.Decimal(v) if v is not None else None for v in
                         ("1.50", "-2.25", "100.00", None, "0.01", "7.77")],
                        pa.decimal128(9, 2)),
        "f": [1.5, -0.0, None, 2.25, 1e10, -3.0],
        "b": [True, False, None, True, True, False],
    }),
    "Mixed": pa.table({"CamelCol": [3, 1, 2]}),
}


def statements() -> list[str]:
    """The corpus entries (an entry ends with a line ending in a semicolon)."""
    out, cur = [], []
    for line in CORPUS.read_text().splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("--")):
            continue
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur).rstrip()[:-1])
            cur = []
    assert not cur, f"unterminated entry: {cur}"
    return out


def _rows(t: pa.Table) -> list[tuple]:
    from mapdb.api.result import _pylist  # (intervals as DuckDB's Python values)
    cols = [_pylist(t, i) for i in range(t.num_columns)]
    return list(zip(*cols, strict=True)) if cols else []


def outcome(db, con, sql: str) -> tuple[str, str]:
    """("equal" | "refused" | "differs", detail) for one statement."""
    try:
        cur = con.execute(sql)
        want, wnames = cur.fetchall(), [d[0] for d in cur.description]
    except duckdb.Error as e:
        want, wnames = None, str(e).splitlines()[0]
    results = []
    for fused in (False, True):
        try:
            r = db.sql(sql, fused=fused)
        except MapdbError as e:  # refused when bound: the message says where
            return "refused", str(e)
        except Exception as e:  # a raw exception is never acceptable
            return "differs", f"raw {type(e).__name__}: {e}"
        try:
            t = r.to_arrow()
        except MapdbError as e:
            if fused:
                return "differs", f"fused path raised {e} where the general path answered"
            return "refused", f"while running: {e}"
        except Exception as e:
            return "differs", f"raw {type(e).__name__}: {e}"
        results.append(t)
    if want is None:
        return "differs", f"answered; DuckDB refuses: {wnames}"
    ordered = fully_ordered(sql, len(wnames)) if not sql.lstrip().upper().startswith(
        ("FROM", "PIVOT", "UNPIVOT", "VALUES", "(")) else False
    for fused, t in zip((False, True), results, strict=True):
        if t.num_columns != len(wnames):
            return "differs", f"{t.num_columns} columns, DuckDB has {len(wnames)}"
        names = [n.lower() for n in t.column_names]
        for g, w in zip(names, wnames, strict=True):
            if re.fullmatch(r"[A-Za-z_]\w*", w) and g != w.lower():
                return "differs", f"column {g!r}, DuckDB calls it {w!r}"
        got = _rows(t)
        g, w = (got, want) if ordered else (sorted(got, key=_sort_key),
                                            sorted(want, key=_sort_key))
        problem = diff(g, w)
        if problem is not None:
            return "differs", f"fused={fused}: {problem}"
    return "equal", ""


@pytest.fixture(scope="module")
def corpus_engines(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("corpus") / "db")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # mapdb reads x -> e as a lambda, DuckDB 2.0 only with this setting (else it refuses)
    con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
    for name, t in TABLES.items():
        db.create_table(name, t)
        con.register(name, t)
    yield db, con
    con.close()
    db.close()


STATEMENTS = statements()


def test_corpus_is_large():
    assert len(STATEMENTS) >= 300


@pytest.mark.parametrize("sql", STATEMENTS, ids=[f"c{i:03d}" for i in range(len(STATEMENTS))])
def test_answered_like_duckdb_or_refused(corpus_engines, sql):
    db, con = corpus_engines
    kind, detail = outcome(db, con, sql)
    assert kind != "differs", f"{detail}\n{sql}"
    if kind == "refused" and not detail.startswith("while running"):
        assert POSITION.search(detail), f"refused without a position: {detail}\n{sql}"


def main() -> None:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        db = mapdb.connect(Path(tmp) / "db")
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
        for name, t in TABLES.items():
            db.create_table(name, t)
            con.register(name, t)
        counts: Counter = Counter()
        for sql in STATEMENTS:
            kind, detail = outcome(db, con, sql)
            counts[kind] += 1
            if kind != "equal" or "-v" in sys.argv:
                print(f"{kind:8} {sql.replace(chr(10), ' ')}\n         {detail}")
        print(dict(counts), "of", len(STATEMENTS))
        db.close()


if __name__ == "__main__":
    main()
