"""Unsupported constructs and runtime errors: a QueryError naming the construct (with its
position when the node has one), never a wrong answer."""

from __future__ import annotations

import re

import duckdb
import pytest

from mapdb.errors import MapdbError
from mapdb.query.types import QueryError

POSITION = re.compile(r"\(line \d+, column \d+\)")

UNSUPPORTED = [
    ("SELECT * FROM t NATURAL JOIN flights", "NATURAL", True),
    ("SELECT * FROM t LEFT JOIN flights", "ON or USING", True),
    ("SELECT id, sum(i8) OVER (ORDER BY dt RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND "
     "CURRENT ROW) FROM t", "offset", True),
    ("SELECT id, lag(i8 IGNORE NULLS) OVER (ORDER BY id) FROM t", "IGNORE NULLS", True),
    ("SELECT id FROM t UNION SELECT id, i8 FROM t", "columns", True),
    ("SELECT id IN (SELECT id, i8 FROM t) FROM t", "returns 2 columns", True),
    ("SELECT row_number() OVER () IN (SELECT id FROM t) FROM t", "window function", True),
    ("SELECT id FROM t WHERE EXISTS (SELECT (SELECT max(i8) FROM t t2 WHERE t2.i8 > t.i8) "
     "FROM flights WHERE flights.day = t.id)", "inside a subquery", True),
    ("SELECT (SELECT max(id), min(id) FROM t) FROM t", "one column", True),
    ("SELECT id FROM t WHERE id = (SELECT max(year) FROM flights WHERE flights.day > t.id "
     "HAVING count(*) > 1)", "correlated", True),
    ("SELECT nope(id) FROM t", "nope", True),
    ("SELECT id FROM t WHERE jaro_similarity(s, 'a') > 1", "jaro_similarity", True),
    ("SELECT nosuchcolumn FROM t", "nosuchcolumn", True),
    ("SELECT t.nosuchcolumn FROM t", "nosuchcolumn", True),
    ("SELECT x.id FROM t", '"x"', True),
    ("SELECT id FROM nosuchtable", "nosuchtable", True),
    ("SELECT id FROM other.t", "schemas: main", True),
    ("SELECT id FROM t, LATERAL (SELECT DISTINCT i8 FROM t t2 WHERE t2.id < t.id) q",
     "LATERAL", True),
    ("SELECT DISTINCT ON (3) g, id FROM t", "DISTINCT ON: position 3", True),
    ("SELECT stddev(DISTINCT i8) FROM t", "DISTINCT", True),
    ("SELECT list_transform(string_split(s, ','), x -> (SELECT x)) FROM t", "lambda", True),
    ("SELECT regexp_matches(s, s) FROM t", "pattern must be a constant", True),
    ("SELECT strftime(dt, '%Q') FROM t", "%Q", True),
    ("SELECT date_diff('fortnight', dt, dt) FROM t", "fortnight", True),
    ("SELECT s SIMILAR TO s FROM t", "pattern must be a constant", True),
    ("SELECT id FROM t WHERE sum(i8) > 0", "aggregate", True),
    ("SELECT sum(max(i8)) FROM t", "nested", True),
    ("SELECT id, count(*) FROM t", "GROUP BY", True),
    ("SELECT g, id FROM t GROUP BY g", "GROUP BY", True),
    ("SELECT id FROM t ORDER BY 5", "ORDER BY position 5", True),
    ("SELECT id FROM t GROUP BY 3", "GROUP BY position 3", True),
    ("SELECT DISTINCT g FROM t ORDER BY id", "DISTINCT", True),
    ("SELECT id FROM t LIMIT -1", "LIMIT", True),
    ("SELECT id FROM t LIMIT id", '"id"', True),
    ("SELECT id FROM t WHERE i8", "boolean", True),
    ("SELECT id FROM t WHERE s > 1", "compare", True),
    ("SELECT s + 1 FROM t", "add", True),
    ("SELECT id FROM t WHERE NOT s", "NOT", True),
    ("SELECT CAST(i8 AS BLOB) FROM t", "BLOB", True),
    # (DECIMAL(30,2), 2**64 and -2**63-1 are answered now: test_decimal38.py)
    ("SELECT id FROM t WHERE s LIKE s", "pattern", True),
    ("SELECT substring(s, id) FROM t", "SUBSTRING", True),
    ("SELECT round(f64, i8) FROM t", "ROUND", True),
    ("SELECT dt + INTERVAL 1 FORTNIGHT FROM t", "FORTNIGHT", True),
    ("SELECT EXTRACT(CENTURY FROM dt) FROM t", "CENTURY", True),
    ("SELECT date_trunc('millennium', dt) FROM t", "millennium", True),
    ("SELECT DATE '2024-13-01' FROM t", "invalid date", False),
    ("SELECT id FROM t WHERE dt = 'yesterday'", "invalid date", False),
    ("CREATE INDEX ix ON t (id)", "CREATE INDEX", True),
    ("SELECT id FROM t; ATTACH 'x.db' AS x", "ATTACH", True),
    ("SELEC id FROM t", "syntax", False),
    ("SELECT id FROM t WHERE", "syntax", False),
    ("WITH RECURSIVE r AS (SELECT x FROM r UNION ALL SELECT 1 AS x FROM t) SELECT * FROM r",
     "RECURSIVE: the first branch", True),
]


@pytest.mark.parametrize("sql,needle,positioned", UNSUPPORTED,
                         ids=[f"unsupported-{i}" for i in range(len(UNSUPPORTED))])
def test_unsupported_raises_query_error(engines, sql, needle, positioned):
    with pytest.raises(QueryError) as info:
        engines.db.sql(sql, fused=False).to_arrow()
    msg = str(info.value)
    assert isinstance(info.value, MapdbError)
    assert needle.lower() in msg.lower(), msg
    if positioned:
        assert POSITION.search(msg), msg


# DuckDB raises on these at run time; mapdb must raise too, not answer
RUNTIME = [
    "SELECT id, i64 % i8 FROM t",
    "SELECT id, i64 // i8 FROM t",
    "SELECT id, f64 // 0 FROM t",
    "SELECT id, d92 % 0 FROM t",
    "SELECT 7 % 0 FROM t",
    "SELECT 7 // 0 FROM t",
    "SELECT 9223372036854775807 + 1 FROM t",
    "SELECT i64 * 9223372036854775807 FROM t",
    "SELECT sum(i64 * 1000000) FROM t",
]


@pytest.mark.parametrize("sql", RUNTIME)
def test_runtime_errors_match_duckdb(engines, sql):
    with pytest.raises(duckdb.Error):
        engines.con.execute(sql).fetchall()
    for fused in (False, True):
        with pytest.raises(QueryError):
            engines.db.sql(sql, fused=fused).to_arrow()
