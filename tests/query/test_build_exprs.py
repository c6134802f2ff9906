"""query.buildexprs: comparisons over a joined dimension's columns are computed on the
build side (once per dimension row); every answer is still DuckDB's, NULLs included, and
outer joins (NULL-padded rows) keep theirs where they are."""

import numpy as np
import pyarrow as pa
import pytest

from tests.query.compare import check, engines_over

N = 50_000
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(5)
    sales = pa.table({
        "dk": pa.array(np.where(rng.random(N) < 0.05, None, rng.integers(0, 400, N)),
                       pa.int64()),
        "price": pa.array([None if i % 13 == 0 else f"{p:.2f}" for i, p in
                           enumerate(rng.random(N) * 500)]).cast(pa.decimal128(7, 2)),
        "qty": rng.integers(1, 100, N),
    })
    n = 365  # sales' keys 365..399 match no date
    dates = pa.table({"d_sk": np.arange(n), "week": np.arange(n) // 7,
                      "day_name": pa.array([None if i % 50 == 0 else DAYS[i % 7]
                                            for i in range(n)]),
                      "holiday": pa.array([None if i % 11 == 0 else i % 5 == 0
                                           for i in range(n)])})
    return engines_over(tmp_path_factory.mktemp("bx") / "db",
                        {"sales": sales, "dates": dates})


@pytest.mark.parametrize("sql", [
    "SELECT week, " + ", ".join(f"sum(CASE WHEN day_name = '{d}' THEN price ELSE NULL END)"
                                for d in DAYS) + " FROM sales JOIN dates ON dk = d_sk "
    "GROUP BY week",
    "SELECT count(CASE WHEN day_name IS NULL THEN 1 END), sum(CASE WHEN holiday AND "
    "day_name IN ('Monday', 'Friday') THEN qty END), sum(CASE WHEN NOT holiday THEN qty "
    "ELSE -qty END) FROM sales JOIN dates ON dk = d_sk",
    "SELECT day_name LIKE 'T%' AS t, sum(qty) FROM sales JOIN dates ON dk = d_sk "
    "GROUP BY 1",
    "SELECT dk, qty, (day_name = 'Sunday') OR holiday AS flag FROM sales JOIN dates "
    "ON dk = d_sk WHERE qty > 95",
    # a LEFT join: unmatched sales have day_name NULL, so IS NULL is TRUE there
    "SELECT count(CASE WHEN day_name IS NULL THEN 1 END), count(*) FROM sales "
    "LEFT JOIN dates ON dk = d_sk",
])
def test_answers_as_duckdb(engines, sql):
    check(engines, sql)


def test_comparison_runs_on_the_build_side(engines):
    text = engines.db.sql("EXPLAIN SELECT week, sum(CASE WHEN day_name = 'Sunday' THEN "
                          "price END) FROM sales JOIN dates ON dk = d_sk GROUP BY week"
                          ).to_arrow().column(0).to_pylist()
    assert any("$lifted" in r and "(day_name = 'Sunday')" in r and r.strip().startswith(
        "Project") for r in text), text
