"""Eager aggregation (query.eageragg): GROUP BY a joined dimension's strings runs as a
partial aggregate of the facts by their join keys, then the join, then the merge. Every
answer is DuckDB's, with NULL keys, NULL values, a dimension whose key repeats (each fact
meets every copy: the counts and sums must double) and empty groups."""

import numpy as np
import pyarrow as pa
import pytest

from tests.query.compare import check, engines_over

N = 60_000


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    rng = np.random.default_rng(11)
    cust = rng.integers(0, 450, N).astype(float)
    cust[rng.random(N) < 0.05] = np.nan
    v = np.round(rng.random(N) * 1000, 2)
    facts = pa.table({
        "cust": pa.array([None if np.isnan(c) else int(c) for c in cust], pa.int64()),
        "day": rng.integers(0, 40, N),
        "v": pa.array([None if i % 17 == 0 else str(x) for i, x in enumerate(v)]).cast(
            pa.decimal128(7, 2)),
        "q": pa.array(np.where(rng.random(N) < 0.1, None, rng.integers(-3, 50, N)),
                      pa.int32()),
        "x": rng.random(N),
    })
    n = 400  # keys 0..399: facts' 400..449 match nothing
    customer = pa.table({
        "ck": np.arange(n),
        "name": [f"name{i % 150}" for i in range(n)],
        "city": pa.array([None if i % 9 == 0 else f"city{i % 13}" for i in range(n)]),
        "seg": [i % 5 for i in range(n)],
    })
    twice = pa.concat_tables([customer, customer.slice(0, 100)])  # keys 0..99 twice
    dates = pa.table({"dk": np.arange(40), "yr": 2000 + np.arange(40) // 12,
                      "dname": [f"d{i % 7}" for i in range(40)]})
    return engines_over(tmp_path_factory.mktemp("eager") / "db",
                        {"facts": facts, "customer": customer, "twice": twice,
                         "dates": dates})


SHAPES = [
    # TPC-DS q04's: the customer's strings and the year
    "SELECT name, city, yr, sum(v), count(*), count(q), min(x), max(q) FROM facts "
    "JOIN dates ON day = dk JOIN customer ON cust = ck GROUP BY name, city, yr",
    "SELECT name, yr, sum(v) s, sum(q), count(*) FROM facts, dates, customer "
    "WHERE day = dk AND cust = ck AND yr > 2000 GROUP BY ALL",
    # a repeated dimension key: every fact of keys 0..99 counted twice
    "SELECT name, sum(q), count(*), sum(v), min(v) FROM facts JOIN twice ON cust = ck "
    "GROUP BY name",
    # keys from both sides, a string from the fact side's dimension too
    "SELECT city, dname, seg, count(*), sum(x) FROM facts JOIN dates ON day = dk "
    "JOIN customer ON cust = ck GROUP BY city, dname, seg",
    # not split (avg), still right
    "SELECT name, avg(q), sum(v) FROM facts JOIN customer ON cust = ck GROUP BY name",
    # a HAVING on the merged aggregate, and an outer query over it
    "SELECT name, sum(q) FROM facts JOIN customer ON cust = ck GROUP BY name "
    "HAVING count(*) > 150",
    "SELECT count(*), sum(s) FROM (SELECT name, city, sum(q) s FROM facts JOIN customer "
    "ON cust = ck WHERE x < 0.5 GROUP BY name, city)",
]


@pytest.mark.parametrize("sql", SHAPES)
def test_answers_as_duckdb(engines, sql):
    check(engines, sql)


def _aggregates(engines, sql) -> list[str]:
    text = engines.db.sql("EXPLAIN " + sql).to_arrow().column(0).to_pylist()
    return [r.strip() for r in text if r.strip().startswith("Aggregate")]


def test_split_where_strings_are_grouped(engines):
    aggs = _aggregates(engines, SHAPES[0])
    assert len(aggs) == 2
    assert aggs[0].startswith("Aggregate keys [name, city, yr]") and "$partial" in aggs[0]
    assert aggs[1].startswith("Aggregate keys [cust, yr]")


@pytest.mark.parametrize("sql", [
    SHAPES[4],  # avg does not merge as written
    "SELECT seg, sum(q) FROM facts JOIN customer ON cust = ck GROUP BY seg",  # no string
])
def test_not_split(engines, sql):
    assert len(_aggregates(engines, sql)) == 1
