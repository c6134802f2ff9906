"""When a CTE is computed once (CTEScan) and when it is inlined into each reference
(binder.materialize_cte), AS [NOT] MATERIALIZED with DuckDB's meaning, and the join
filter that reaches a scan through an inner join's key equality (what makes an inlined
join CTE under IN cheap, TPC-DS q95). Answers against DuckDB; how often a CTE runs is
read from EXPLAIN ANALYZE (the scans of its table, and their rows)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .compare import check, engines_over

N = 60_000  # several morsels; orders of 6 lines over 3 warehouses
SALES = pa.table({
    "o": pa.array([i // 6 for i in range(N)], pa.int64()),
    "wh": pa.array([(i * 7) % 3 if i % 60 else None for i in range(N)], pa.int64()),
    "site": pa.array([i % 5 for i in range(N)], pa.int64()),
    "amt": pa.array([float(i % 97) for i in range(N)]),
})
RETURNS = pa.table({"ro": pa.array([o for o in range(0, N // 6, 3)] + [None], pa.int64())})
SITES = pa.table({"site": pa.array(range(5), pa.int64()), "name": ["a", "b", "pri", "c", "d"]})


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    return engines_over(tmp_path_factory.mktemp("cte") / "db",
                        {"sales": SALES, "returns": RETURNS, "sites": SITES})


WH = ("WITH ws_wh AS {hint} (SELECT s1.o, s1.wh wh1, s2.wh wh2 FROM sales s1, sales s2 "
      "WHERE s1.o = s2.o AND s1.wh <> s2.wh) ")
Q95 = ("SELECT count(DISTINCT o), sum(amt) FROM sales s, sites WHERE s.site = sites.site "
       "AND name = 'pri' AND s.o < 500 AND s.o IN (SELECT o FROM ws_wh) AND s.o IN "
       "(SELECT ro FROM returns, ws_wh WHERE ro = ws_wh.o)")
AGG = "WITH c AS {hint} (SELECT o, sum(amt) v, count(*) n FROM sales GROUP BY o) "

QUERIES = [
    WH.format(hint="") + Q95,
    WH.format(hint="MATERIALIZED") + Q95,
    WH.format(hint="NOT MATERIALIZED") + Q95,
    # an aggregate read twice with other filters (year-over-year shape)
    AGG.format(hint="") + "SELECT a.o, a.v, b.v FROM c a, c b WHERE a.o = b.o - 1 AND "
    "a.o < 50 AND b.n = 6",
    AGG.format(hint="NOT MATERIALIZED") + "SELECT a.o, a.v, b.v FROM c a, c b WHERE "
    "a.o = b.o - 1 AND a.o < 50",
    AGG.format(hint="MATERIALIZED") + "SELECT count(*), sum(v) FROM c WHERE o % 7 = 1",
    # a CTE against an aggregate of itself, in a scalar subquery and in FROM
    AGG.format(hint="") + "SELECT count(*) FROM c WHERE v > (SELECT avg(v) FROM c)",
    "WITH f AS (SELECT o, amt FROM sales WHERE site = 2) SELECT (SELECT count(*) FROM f), "
    "(SELECT sum(amt) FROM f WHERE o < 100), (SELECT max(o) FROM f WHERE amt > 90)",
    "WITH f AS MATERIALIZED (SELECT o, amt FROM sales WHERE site = 2), g AS (SELECT o, "
    "sum(amt) s FROM f GROUP BY o) SELECT count(*) FROM g, f WHERE g.o = f.o AND f.amt > s / 6",
    "WITH d AS (SELECT DISTINCT wh FROM sales) SELECT a.wh, b.wh FROM d a, d b WHERE a.wh < b.wh",
    # each reference's filter, OR-ed into the CTE (below a LIMIT, a window, NULL tests)
    AGG.format(hint="") + "SELECT a.o, a.v, b.v FROM c a, c b WHERE a.o = b.o - 1 AND "
    "a.o < 50 AND b.o BETWEEN 20 AND 60",
    AGG.format(hint="") + "SELECT a.o, b.o FROM c a, c b WHERE a.o = b.o AND a.v IS NULL "
    "AND b.n > 5",
    "WITH c AS (SELECT o, wh FROM sales ORDER BY o DESC, wh NULLS FIRST LIMIT 40) "
    "SELECT (SELECT count(*) FROM c WHERE wh IS NULL), (SELECT count(*) FROM c WHERE o > 9995)",
    "WITH c AS (SELECT o, wh FROM sales ORDER BY o, wh LIMIT 40) SELECT a.o, b.wh FROM c a, "
    "c b WHERE a.o = b.o AND a.wh = 1 AND b.wh IS NULL",
    "WITH c AS (SELECT o, row_number() OVER (ORDER BY o DESC, wh, amt) r FROM sales WHERE "
    "site = 1) SELECT a.o, a.r, b.r FROM c a, c b WHERE a.o = b.o AND a.r < 5 AND b.o > 9990",
    "WITH c AS (SELECT wh, count(*) n FROM sales GROUP BY wh) SELECT a.n, b.n FROM c a, c b "
    "WHERE a.wh IS NULL AND b.wh = 2",
    # a read twice inside b (with filters) and once in the statement (without): b's
    # filters must not reach a, whichever CTE is optimized first
    "WITH a AS (SELECT o, sum(amt) v FROM sales GROUP BY o), b AS (SELECT x.o, sum(x.v) s "
    "FROM a x, a y WHERE x.o = y.o AND x.o < 5 AND y.o < 3 GROUP BY x.o) SELECT * FROM "
    "(SELECT count(*) FROM b) q, (SELECT count(*) FROM b) r, (SELECT count(*) n FROM a) p",
    "WITH a AS (SELECT o, sum(amt) v FROM sales GROUP BY o), b AS (SELECT x.o, sum(x.v) s "
    "FROM a x, a y WHERE x.o = y.o AND x.o < 5 AND y.o < 3 GROUP BY x.o) SELECT "
    "(SELECT count(*) FROM b), (SELECT count(*) FROM b b2 WHERE o > 0), (SELECT count(*) FROM a)",
    "WITH u AS (SELECT o FROM sales WHERE site = 1 UNION SELECT ro FROM returns) "
    "SELECT count(*), (SELECT count(*) FROM u WHERE o < 10) FROM u",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_answers(eng, sql):
    check(eng, sql)


def _analyze(db, sql: str) -> list[str]:
    return [r[0] for r in db.sql("EXPLAIN ANALYZE " + sql).fetchall()]


def _scans(lines: list[str], table: str) -> list[int]:
    """The rows each scan of ``table`` passed up (after its filter and join filter)."""
    import re
    return [int(re.search(r"\(rows ([\d,]+)", x)[1].replace(",", ""))
            for x in lines if x.lstrip().startswith(f"Scan {table} ")]


def test_aggregate_cte_runs_once(eng):
    """Read twice, an aggregate is computed once: one scan of its table."""
    sql = AGG.format(hint="") + "SELECT count(*) FROM c a, c b WHERE a.o = b.o - 1"
    lines = _analyze(eng.db, sql)
    assert sum("CTE c (computed once" in x for x in lines) == 2, "\n".join(lines)
    assert len(_scans(lines, "sales")) == 1, "\n".join(lines)
    # NOT MATERIALIZED: each reference computes it
    lines = _analyze(eng.db, AGG.format(hint="NOT MATERIALIZED") +
                     "SELECT count(*) FROM c a, c b WHERE a.o = b.o - 1")
    assert not any("CTE c" in x for x in lines) and len(_scans(lines, "sales")) == 2


def test_materialized_hint_on_one_reference(eng):
    lines = _analyze(eng.db, "WITH c AS MATERIALIZED (SELECT o FROM sales WHERE site = 1) "
                             "SELECT count(*) FROM c")
    assert any("CTE c (computed once" in x for x in lines), "\n".join(lines)
    lines = _analyze(eng.db, "WITH c AS (SELECT o FROM sales WHERE site = 1) "
                             "SELECT count(*) FROM c")
    assert not any("CTE c" in x for x in lines), "\n".join(lines)


def test_scan_cte_inlined_with_each_filter(eng):
    """A filtered scan read twice is re-scanned, each reference's filter in its scan
    (zone maps skip the blocks o < 100 and o > 9,900 cannot hold), not computed whole."""
    sql = ("WITH f AS (SELECT o, amt FROM sales WHERE site = 2) SELECT * FROM "
           "(SELECT sum(amt) FROM f WHERE o < 100) a, (SELECT sum(amt) FROM f WHERE o > 9900) b")
    check(eng, sql)
    lines = _analyze(eng.db, sql)
    assert not any("CTE f" in x for x in lines), "\n".join(lines)
    scans = _scans(lines, "sales")  # of 12,000 rows with site = 2
    assert len(scans) == 2 and max(scans) <= 120, "\n".join(lines)


def test_join_cte_under_in_reads_few_rows(eng):
    """q95's shape: the CTE's self-join is inlined under each IN, and the outer query's
    few orders reach the scans inside through the semi joins' keys, also through the
    second IN's join of returns with the CTE (ro = o)."""
    lines = _analyze(eng.db, WH.format(hint="") + Q95)
    assert not any("CTE ws_wh" in x for x in lines), "\n".join(lines)
    scans = sorted(_scans(lines, "sales"))
    # the outer query's 3,000 rows (o < 500); each self-join's build side whole; its
    # probe side only the lines of the orders the outer query still has (the second
    # through ro = o: without it, the 20,000 lines of returned orders)
    assert len(scans) == 5 and scans[-2:] == [N, N] and max(scans[:3]) <= 3000, \
        "\n".join(lines)


def test_cte_read_by_an_init_plan_runs_once(eng, monkeypatch):
    """A CTE read by a scalar subquery (an init plan, run while planning) and by the
    query is computed once: the init plan's result is handed to the execution."""
    from mapdb.query.executor import Context
    computed = []
    cte = Context.cte

    def counting(self, plan, compute):
        return cte(self, plan, lambda *a: computed.append(1) or compute(*a))

    monkeypatch.setattr(Context, "cte", counting)
    sql = AGG.format(hint="") + "SELECT count(*), sum(v) FROM c WHERE v > (SELECT avg(v) FROM c)"
    check(eng, sql)  # (two runs: the general and the fused path, one plan)
    assert len(computed) == 2, computed  # once while planning, once at the cached plan's run
    computed.clear()
    eng.db.sql(sql + " AND n > 0").fetchall()  # planned afresh: the init plan's rows reused
    assert len(computed) == 1, computed


def test_references_filters_reach_the_cte(eng):
    """An aggregate read twice with filters on its group key: the OR of the two filters
    reaches the CTE's scan (its sorted index), and only those orders are aggregated."""
    sql = AGG.format(hint="") + ("SELECT a.o, a.v, b.v FROM c a, c b WHERE a.o = b.o - 1 "
                                 "AND a.o < 50 AND b.o BETWEEN 20 AND 60")
    lines = _analyze(eng.db, sql)
    assert any("CTE c (computed once" in x for x in lines), "\n".join(lines)
    assert _scans(lines, "sales") == [61 * 6], "\n".join(lines)  # orders 0 to 60
    # a reference without a filter needs every row: nothing is pushed
    lines = _analyze(eng.db, AGG.format(hint="") + "SELECT count(*) FROM c a, c b WHERE "
                                                   "a.o = b.o - 1 AND a.o < 50")
    assert _scans(lines, "sales") == [N], "\n".join(lines)


YEAR_TOTAL = ("WITH yt AS (SELECT o, site, 's' AS kind, sum(amt) tot FROM sales GROUP BY o, site "
              "UNION ALL SELECT ro, 0, 'r', count(*) FROM returns GROUP BY ro) ")


@pytest.mark.parametrize("sql", [
    # into UNION ALL's branches (the right one's columns by position, converted types)
    "SELECT * FROM (SELECT o, amt FROM sales WHERE site = 1 UNION ALL SELECT ro, 1.5 FROM "
    "returns) u WHERE o < 5 OR o IS NULL",
    "SELECT k, count(*) FROM (SELECT wh k FROM sales UNION ALL SELECT CAST(ro AS DOUBLE) FROM "
    "returns) u WHERE k = 2 OR k IS NULL GROUP BY k",
    # an OR over group keys and aggregates: the part over the keys goes below
    "SELECT o, sum(amt) s FROM sales GROUP BY o HAVING (o < 3 AND sum(amt) > 10) OR "
    "(o = 7 AND count(*) = 6) OR (o IS NULL AND count(*) > 0)",
    "SELECT wh, site, count(*) FROM sales GROUP BY wh, site HAVING (wh IS NULL AND site = 1) "
    "OR (wh = 2 AND count(*) > 100)",
    # q11's shape: a UNION ALL of aggregates read with a kind and a key each
    YEAR_TOTAL + "SELECT a.o, a.tot, b.tot FROM yt a, yt b WHERE a.o = b.o AND a.kind = 's' "
    "AND a.site = 2 AND a.tot > 0 AND b.kind = 'r' AND b.o < 30",
])
def test_filters_through_union_all_and_groups(eng, sql):
    check(eng, sql)


def test_year_total_shape_reads_few_rows(eng):
    lines = _analyze(eng.db, YEAR_TOTAL + "SELECT count(*) FROM yt a, yt b WHERE a.o = b.o "
                     "AND a.kind = 's' AND a.o < 20 AND a.tot > 0 AND b.kind = 'r' AND b.o < 30")
    # both branches get o < 20 OR o < 30 (the OR of the references' filters, through the
    # UNION ALL and below each aggregate by its key): 30 orders' lines, not 60,000
    assert _scans(lines, "sales") == [30 * 6], "\n".join(lines)
    assert _scans(lines, "returns") == [10], "\n".join(lines)
