"""query.unionjoin: an inner or semi join over a UNION ALL runs in each branch (the
other side's keys reach each branch's scan), and UNION ALL branches drop, by position,
the columns nobody reads. Every answer is DuckDB's."""

import numpy as np
import pyarrow as pa
import pytest

from tests.query.compare import check, engines_over

N = 40_000


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(21)

    def facts(k):
        return pa.table({f"{k}_date": pa.array(np.where(rng.random(N) < 0.03, None,
                                                        rng.integers(0, 1000, N)), pa.int64()),
                         f"{k}_store": rng.integers(0, 20, N),
                         f"{k}_amt": np.round(rng.random(N) * 100, 2),
                         f"{k}_qty": rng.integers(-5, 50, N).astype(np.int32)})
    dates = pa.table({"dk": np.arange(1000), "year": 1998 + np.arange(1000) // 365,
                      "dname": [f"d{i % 7}" for i in range(1000)]})
    stores = pa.table({"sk": np.arange(20), "sid": [f"s{i:02d}" for i in range(20)]})
    return engines_over(tmp_path_factory.mktemp("uj") / "db",
                        {"sales": facts("s"), "returns": facts("r"), "other": facts("o"),
                         "dates": dates, "stores": stores})


U2 = ("(SELECT s_date AS d, s_store AS st, s_amt AS amt, 0 AS ret FROM sales UNION ALL "
      "SELECT r_date, r_store, 0.0, r_qty FROM returns)")
U3 = ("(SELECT s_date d, s_amt amt FROM sales UNION ALL SELECT r_date, r_amt FROM returns "
      "UNION ALL SELECT o_date, o_amt FROM other)")


@pytest.mark.parametrize("sql", [
    # TPC-DS q05's shape: a fortnight and the stores joined to sales and returns
    f"SELECT sid, sum(amt), sum(ret), count(*) FROM {U2} u, dates, stores WHERE d = dk "
    "AND st = sk AND dk BETWEEN 100 AND 114 GROUP BY sid",
    f"SELECT year, count(*), sum(amt) FROM {U3} u JOIN dates ON d = dk AND dname = 'd3' "
    "AND dk < 50 GROUP BY year",
    f"SELECT count(*), sum(amt) FROM {U3} u WHERE d IN (SELECT dk FROM dates WHERE "
    "dk % 97 = 0)",
    # a condition beside the key, over both sides
    f"SELECT count(*) FROM {U2} u JOIN dates ON d = dk AND amt > dk / 20 WHERE dk < 30",
    # UNION (distinct) compares whole rows: not split, still right
    "SELECT count(*) FROM (SELECT s_date d, s_store st FROM sales UNION SELECT r_date, "
    "r_store FROM returns) u JOIN dates ON d = dk WHERE dk < 40",
    # only some of the union's columns read (dropped by position in both branches)
    f"SELECT sum(ret) FROM {U2} u",
    f"SELECT d, st FROM {U2} u WHERE amt > 99.5 ORDER BY d, st",
])
def test_answers_as_duckdb(engines, sql):
    check(engines, sql)


def _plan(engines, sql) -> list[str]:
    return engines.db.sql("EXPLAIN " + sql).to_arrow().column(0).to_pylist()


def test_join_runs_in_each_branch(engines):
    plan = _plan(engines, f"SELECT count(*) FROM {U3} u JOIN dates ON d = dk WHERE dk < 9")
    joins = [r for r in plan if "join on" in r]
    assert len(joins) == 3, plan  # one per branch
    assert plan.index(next(r for r in plan if "UNION ALL" in r)) < plan.index(joins[0])


def test_union_all_branches_read_only_what_is_used(engines):
    plan = "\n".join(_plan(engines, f"SELECT sum(ret) FROM {U2} u"))
    assert "s_amt" not in plan and "r_date" not in plan, plan
