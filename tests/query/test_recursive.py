"""WITH RECURSIVE answered as DuckDB answers it (issue 17 item 4; query/recursive.py):
UNION ALL and UNION (cycles end), column lists, several CTEs, graph and hierarchy walks
joined to tables (with NULLs), the step cast to the anchor's types; refusals named."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from mapdb.errors import QueryError

from .compare import check, check_names, engines_over

QUERIES = [
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) "
    "SELECT * FROM t",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT (n + 1) % 4 FROM t) SELECT * FROM t",
    "WITH RECURSIVE t AS (SELECT 1 AS n, 'a' AS s UNION ALL "
    "SELECT n + 1, s || 'b' FROM t WHERE n < 4) SELECT n, s, length(s) FROM t",
    # the step's values take the anchor's types (1 + 0.5 is 2 as an INTEGER)
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 0.5 FROM t WHERE n < 3) "
    "SELECT * FROM t",
    "WITH RECURSIVE t(n, s) AS (SELECT 1, 1.5 UNION ALL SELECT n + 1, s * 2 FROM t "
    "WHERE n < 3) SELECT * FROM t",
    # several CTEs, some recursive; one read twice; one reading another
    "WITH RECURSIVE a(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM a WHERE n < 3), "
    "b(m) AS (SELECT n * 10 FROM a) SELECT * FROM b",
    "WITH RECURSIVE a(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM a WHERE n < 3) "
    "SELECT x.n, y.n FROM a x, a y WHERE x.n <= y.n",
    "WITH RECURSIVE base AS (SELECT 2 AS k), r(n) AS (SELECT k FROM base UNION ALL "
    "SELECT n * k FROM r, base WHERE n < 100) SELECT * FROM r",
    # the working table read twice in the step, and in a subquery of the step
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT a.n + 1 FROM t a, t b "
    "WHERE a.n < 3) SELECT * FROM t",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t "
    "WHERE n < 5 AND n IN (SELECT n FROM t)) SELECT * FROM t",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM (SELECT n FROM t) "
    "WHERE n < (SELECT max(id) FROM emp)) SELECT * FROM t",
    # graph traversal: reachable nodes (UNION ends the cycle 1 -> 2 -> 3 -> 1)
    "WITH RECURSIVE reach(node) AS (SELECT 1 UNION SELECT e.dst FROM reach JOIN edges e "
    "ON e.src = reach.node) SELECT * FROM reach",
    "WITH RECURSIVE reach(node, hops) AS (SELECT src, 0 FROM edges WHERE src = 4 "
    "UNION ALL SELECT e.dst, hops + 1 FROM reach JOIN edges e ON e.src = reach.node "
    "WHERE hops < 5) SELECT node, min(hops) FROM reach GROUP BY node",
    # a hierarchy walk with depth and path (NULL bosses are roots)
    "WITH RECURSIVE tree(id, name, depth, path) AS (SELECT id, name, 0, name FROM emp "
    "WHERE boss IS NULL UNION ALL SELECT e.id, e.name, t.depth + 1, "
    "t.path || '/' || coalesce(e.name, '?') FROM emp e JOIN tree t ON e.boss = t.id) "
    "SELECT * FROM tree ORDER BY path",
    "WITH RECURSIVE up(id, boss) AS (SELECT id, boss FROM emp WHERE id = 7 UNION ALL "
    "SELECT e.id, e.boss FROM emp e, up WHERE e.id = up.boss) SELECT * FROM up",
    "WITH RECURSIVE t(n, x) AS (SELECT 1, 1 UNION SELECT 1, NULL FROM t) SELECT * FROM t",
    # UNION: NaN equals NaN (the walk ends at the second NaN), -0.0 equals 0.0
    "WITH RECURSIVE r(x) AS (SELECT 1.0::DOUBLE UNION SELECT CASE WHEN x > 3 "
    "THEN 'nan'::DOUBLE ELSE x + 1 END FROM r) SELECT count(*), count(DISTINCT x) FROM r",
    "WITH RECURSIVE r(x) AS (SELECT 0.0::DOUBLE UNION SELECT -x FROM r) "
    "SELECT count(*) FROM r",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT 1 UNION ALL SELECT n + 1 FROM t "
    "WHERE n < 3) SELECT * FROM t",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) "
    "SELECT * FROM t WHERE n IN (SELECT n FROM t WHERE n > 1)",
    "WITH RECURSIVE t AS (SELECT 1 AS n) SELECT * FROM t",  # not recursive at all
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 1000) "
    "SELECT count(*), sum(n), max(n) FROM t",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    edges = pa.table({"src": pa.array([1, 2, 3, 3, 4, None, 5], pa.int64()),
                      "dst": pa.array([2, 3, 1, 5, 3, 1, None], pa.int64())})
    emp = pa.table({
        "id": pa.array([1, 2, 3, 4, 5, 6, 7], pa.int64()),
        "name": ["ann", "bob", "cy", None, "dee", "eve", "fay"],
        "boss": pa.array([None, 1, 1, 2, 2, None, 4], pa.int64()),
    })
    e = engines_over(tmp_path_factory.mktemp("recursive") / "db",
                     {"edges": edges, "emp": emp})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_recursive_cte_equals_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)


@pytest.mark.parametrize(("sql", "needle", "col"), [
    ("WITH RECURSIVE t(n) AS (SELECT n + 1 FROM t WHERE n < 3 UNION ALL SELECT 1) "
     "SELECT * FROM t", "first branch", 32),
    ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3 "
     "ORDER BY 1) SELECT * FROM t", "ORDER BY in a recursive query", 85),
    ("WITH RECURSIVE t(n) AS (SELECT NULL UNION ALL SELECT 1 FROM t WHERE n IS NULL) "
     "SELECT * FROM t", "NULL in the first branch", 18),
])
def test_refusals_name_the_construct(engines, sql, needle, col):
    with pytest.raises(QueryError, match=needle) as e:
        engines.db.sql(sql).fetchall()
    assert f"column {col})" in str(e.value), str(e.value)
    with pytest.raises(Exception):  # noqa: B017 - DuckDB refuses them too
        engines.con.execute(sql).fetchall()


def test_step_value_out_of_the_anchor_type_is_an_error(engines):
    sql = "WITH RECURSIVE t(n) AS (SELECT 1.5 UNION ALL SELECT n * 3 FROM t WHERE n < 10) " \
          "SELECT * FROM t"
    with pytest.raises(QueryError, match="out of range"):
        engines.db.sql(sql).fetchall()


@pytest.mark.slow  # (a clean-clone CI run hung here once: the interrupt never landed and
#                    the endless CTE grew to 10 GB; not understood yet, so not in make test)
def test_a_query_that_never_ends_can_be_interrupted(engines):
    """No round limit (DuckDB has none): an endless CTE stops when interrupted; each
    round returns to Python, so the interrupt lands within a round."""
    import _thread
    sql = "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) " \
          "SELECT count(*) FROM t"
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            engines.db.sql(sql).fetchall()
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 10
