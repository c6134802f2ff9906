"""query.outerjoins: a LEFT join whose NULL-padded rows something above rejects runs as an
inner join (its order is then free); where nothing rejects them, it stays a LEFT join.
Every answer is DuckDB's."""

import numpy as np
import pyarrow as pa
import pytest

from tests.query.compare import check, engines_over

N = 20_000


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(8)
    sales = pa.table({"item": rng.integers(0, 300, N), "ticket": rng.integers(0, 4000, N),
                      "qty": pa.array(np.where(rng.random(N) < 0.05, None,
                                               rng.integers(1, 20, N)), pa.int64())})
    m = 3000
    returns = pa.table({"r_item": rng.integers(0, 300, m), "r_ticket": rng.integers(0, 4000, m),
                        "reason": pa.array(np.where(rng.random(m) < 0.1, None,
                                                    rng.integers(0, 10, m)), pa.int64()),
                        "rqty": rng.integers(0, 5, m)})
    reasons = pa.table({"rk": np.arange(10), "label": [f"reason {i}" for i in range(10)]})
    return engines_over(tmp_path_factory.mktemp("o2i") / "db",
                        {"sales": sales, "returns": returns, "reasons": reasons})


LEFT = "sales LEFT JOIN returns ON r_item = item AND r_ticket = ticket"
CONVERTED = [
    # TPC-DS q93: the reason joined to the returns' column
    f"SELECT item, sum(CASE WHEN rqty IS NOT NULL THEN qty - rqty ELSE qty END) FROM {LEFT}"
    ", reasons WHERE reason = rk AND label = 'reason 3' GROUP BY item",
    f"SELECT count(*), sum(qty) FROM {LEFT} WHERE rqty > 1",
    f"SELECT count(*) FROM {LEFT} WHERE rqty + 1 IN (2, 3) AND qty < 10",
    f"SELECT count(*) FROM {LEFT} LEFT JOIN reasons ON rk = reason WHERE label LIKE '%7'",
    f"SELECT count(*) FROM {LEFT} WHERE NOT (reason = 4)",
]
KEPT = [
    f"SELECT count(*), count(rqty) FROM {LEFT} WHERE rqty IS NULL",
    f"SELECT count(*) FROM {LEFT} WHERE coalesce(rqty, 0) = 0",
    f"SELECT count(*) FROM {LEFT} WHERE rqty > 1 OR qty = 3",
    f"SELECT count(*) FROM (SELECT * FROM {LEFT} ORDER BY ALL LIMIT 5000) WHERE rqty > 1",
    f"SELECT count(*) FROM (SELECT item, max(rqty) m FROM {LEFT} GROUP BY item) WHERE m > 2",
    "SELECT count(*) FROM sales FULL JOIN returns ON r_item = item AND r_ticket = ticket "
    "WHERE rqty > 1",
]


@pytest.mark.parametrize("sql", CONVERTED + KEPT)
def test_answers_as_duckdb(engines, sql):
    check(engines, sql)


def _plan(engines, sql) -> str:
    return "\n".join(engines.db.sql("EXPLAIN " + sql).to_arrow().column(0).to_pylist())


@pytest.mark.parametrize("sql", CONVERTED)
def test_left_join_runs_inner(engines, sql):
    assert "Left join" not in _plan(engines, sql)


@pytest.mark.parametrize("sql", KEPT[:3])
def test_left_join_stays(engines, sql):
    assert "Left join" in _plan(engines, sql)
