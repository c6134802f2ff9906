"""IS [NOT] DISTINCT FROM answered and named as DuckDB (query/rewrite.null_safe): NULLs
compare equal to each other, NaN equals NaN, in SELECT, WHERE and join conditions; a
comparison of two NULL constants is NULL; and x IS [NOT] TRUE / FALSE, never NULL."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .compare import check, check_names, engines_over

QUERIES = [
    "SELECT a, b, a IS NOT DISTINCT FROM b, a IS DISTINCT FROM b FROM n ORDER BY a, b",
    "SELECT count(*) FROM n WHERE a IS DISTINCT FROM b",
    "SELECT NULL IS NOT DISTINCT FROM NULL, 1 IS DISTINCT FROM NULL, "
    "'nan'::DOUBLE IS NOT DISTINCT FROM 'nan'::DOUBLE, 1 IS NOT DISTINCT FROM 1.0, "
    "NULL IS DISTINCT FROM NULL",
    "SELECT x.a, x.b, y.b FROM n x JOIN n y ON x.a IS NOT DISTINCT FROM y.a "
    "ORDER BY 1, 2, 3",
    "SELECT a IS NOT DISTINCT FROM 1 AS same FROM n ORDER BY 1",
    "SELECT NULL = NULL, NULL < NULL, NULL <> NULL",
    "SELECT b FROM n WHERE b IS NOT DISTINCT FROM 'nan'::DOUBLE",
    # x IS [NOT] TRUE / FALSE: never NULL (was refused)
    "SELECT a, a > 1 IS TRUE, a > 1 IS NOT TRUE, a > 1 IS FALSE, a > 1 IS NOT FALSE, "
    "NULL IS TRUE FROM n ORDER BY a",
    "SELECT count(*) FROM n WHERE (a < b) IS NOT TRUE",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    data = pa.table({"a": pa.array([1, None, 2, None, 4], pa.int32()),
                     "b": [1.0, None, None, 3.0, float("nan")]})
    e = engines_over(tmp_path_factory.mktemp("nullsafe") / "db", {"n": data})
    yield e
    e.db.close()
    e.con.close()


@pytest.mark.parametrize("sql", QUERIES)
def test_null_safe_comparisons_equal_duckdb(engines, sql):
    check(engines, sql)
    check_names(engines, sql)
