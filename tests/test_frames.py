"""The dataframe front end: every frame operation gives what the equivalent SQL gives (one
engine, two front ends), plus pandas-style conveniences, reprs and errors."""

import datetime
import decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import mapdb
from mapdb import col, count, lit
from mapdb.errors import MapdbError
from mapdb.query.plan import Aggregate, Project, Scan
from mapdb.query.types import QueryError

N = 50


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("frames") / "db")
    rows = range(N)
    data = pa.table({
        "k": pa.array([None if i % 7 == 0 else "abc"[i % 3] for i in rows]),
        "name": pa.array([f"Name{i % 5}" if i % 11 else None for i in rows]),
        "x": pa.array([None if i % 6 == 0 else i for i in rows], pa.int64()),
        "y": pa.array([None if i % 9 == 0 else i * 0.5 - 3 for i in rows]),
        "d": pa.array([decimal.Decimal(i * 37 % 1000) / 100 for i in rows],
                      pa.decimal128(10, 2)),
        "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i * 9)
                         for i in rows]),
        "flag": pa.array([i % 4 == 0 for i in rows]),
    })
    db.create_table("t", data, dictionary=["k", "name"])
    return db


@pytest.fixture(scope="module")
def t(db):
    return db.table("t")


def rows(table: pa.Table, ordered: bool) -> list[tuple]:
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    out = list(zip(*cols, strict=True))
    return out if ordered else sorted(out, key=repr)


def same(db, frame, sql: str, ordered: bool = False) -> pa.Table:
    got = frame.collect()
    want = db.sql(sql).to_arrow()
    assert got.column_names == want.column_names
    assert got.schema.types == want.schema.types
    assert rows(got, ordered) == rows(want, ordered)
    return got


def test_dictionary_column_is_stored_as_dictionary(t):
    assert pa.types.is_dictionary(t.schema.field("k").type)


@pytest.mark.parametrize("pred, where", [
    (col("x") > 10, "x > 10"),
    ((col("x") > 10) & (col("y") < 10), "x > 10 AND y < 10"),
    ((col("x") < 5) | col("k").is_null(), "x < 5 OR k IS NULL"),
    (~(col("x") >= 20), "NOT (x >= 20)"),
    (col("k") == "a", "k = 'a'"),
    (col("k") != "a", "k <> 'a'"),
    (col("k").is_in(["a", "c"]), "k IN ('a', 'c')"),
    (col("x").is_in([1, 2, 3, 40]), "x IN (1, 2, 3, 40)"),
    (col("x").between(10, 20), "x BETWEEN 10 AND 20"),
    (col("name").like("Name%1"), "name LIKE 'Name%1'"),
    (col("name").ilike("name_2"), "name ILIKE 'name_2'"),
    (col("name").str.starts_with("Name"), "name LIKE 'Name%'"),
    (col("x").is_not_null(), "x IS NOT NULL"),
    (col("d") > 3.5, "d > 3.5"),
    (col("d") > decimal.Decimal("3.50"), "d > 3.50"),
    (col("day") >= datetime.date(2024, 6, 1), "day >= DATE '2024-06-01'"),
    (col("day") < "2024-03-01", "day < '2024-03-01'"),
    (col("flag"), "flag"),
    (col("x") % 3 == 1, "x % 3 = 1"),
    (col("x") + col("y") > 20, "x + y > 20"),
    (5 < col("x"), "5 < x"),  # noqa: SIM300 - the reflected operator is the point
])
def test_filter_matches_sql(db, t, pred, where):
    same(db, t.filter(pred), f"SELECT * FROM t WHERE {where}")


@pytest.mark.parametrize("expr, sql", [
    (col("x") + 1, "x + 1 AS x"),
    (col("x") - col("y"), "x - y AS x"),
    (col("x") * col("d"), "x * d AS x"),
    (col("x") / 4, "x / 4 AS x"),
    (col("x") // 4, "x // 4 AS x"),
    (-col("x") % 4, "-x % 4 AS x"),
    (-col("d"), "-d AS d"),
    (col("d") * 2 + 1, "d * 2 + 1 AS d"),
    (col("d").round(1), "round(d, 1) AS d"),
    (col("y").round(0), "round(y) AS y"),
    (col("y").abs(), "abs(y) AS y"),
    (col("x").cast("float64"), "CAST(x AS DOUBLE) AS x"),
    (col("y").cast("int64"), "CAST(y AS BIGINT) AS y"),
    (col("y").cast("decimal(10,2)"), "CAST(y AS DECIMAL(10,2)) AS y"),
    (col("x").cast("string"), "CAST(x AS VARCHAR) AS x"),
    (col("k").str.upper(), "upper(k) AS k"),
    (col("name").str.lower(), "lower(name) AS name"),
    (col("name").str.len(), "length(name) AS name"),
    (col("name").str.slice(1, 3), "substring(name, 2, 3) AS name"),
    (col("day").dt.year(), "year(day) AS day"),
    (col("day").dt.month(), "month(day) AS day"),
    (col("x").fill_null(-1), "coalesce(x, -1) AS x"),
    (col("x") > col("y"), "x > y AS x"),
    (lit(3), "3 AS literal"),
    ((col("x") * 2).alias("w"), "x * 2 AS w"),
])
def test_select_matches_sql(db, t, expr, sql):
    same(db, t.select(expr), f"SELECT {sql} FROM t")


def test_select_names_lists_and_keywords(db, t):
    same(db, t.select("k", "x"), "SELECT k, x FROM t")
    same(db, t.select(["k", "x"]), "SELECT k, x FROM t")
    same(db, t.select("x", w=col("x") * 2), "SELECT x, x * 2 AS w FROM t")
    same(db, t[["name", "d"]], "SELECT name, d FROM t")


def test_with_columns_adds_and_replaces(db, t):
    f = t.with_columns((col("x") * 2).alias("x2"), col("y").fill_null(0.0))
    assert f.columns == [*t.columns, "x2"]
    same(db, f, "SELECT k, name, x, coalesce(y, 0.0) AS y, d, day, flag, x * 2 AS x2 FROM t")


@pytest.mark.parametrize("aggs, sql", [
    ([col("x").sum()], "sum(x) AS x"),
    ([col("x").mean().alias("m"), col("y").max()], "avg(x) AS m, max(y) AS y"),
    ([col("d").sum(), col("d").min().alias("lo")], "sum(d) AS d, min(d) AS lo"),
    ([count(), col("x").count().alias("nx")], "count(*) AS count, count(x) AS nx"),
    ([col("name").n_unique()], "count(DISTINCT name) AS name"),
    ([col("y").std().alias("s"), col("y").var().alias("v")],
     "stddev_samp(y) AS s, var_samp(y) AS v"),
    ([(col("x").sum() / count()).alias("r")], "sum(x) / count(*) AS r"),
    ([col("name").max()], "max(name) AS name"),
])
def test_group_by_matches_sql(db, t, aggs, sql):
    got = same(db, t.group_by("k").agg(*aggs), f"SELECT k, {sql} FROM t GROUP BY k")
    assert got.column_names[0] == "k"


def test_group_by_expression_keys_and_filters(db, t):
    f = (t.filter(col("x") > 3).group_by("k", col("day").dt.year().alias("yr"))
         .agg(total=col("x").sum()).filter(col("total") > 50).sort("k", "yr"))
    same(db, f, "SELECT k, year(day) AS yr, sum(x) AS total FROM t WHERE x > 3 "
         "GROUP BY k, year(day) HAVING sum(x) > 50 ORDER BY k, yr", ordered=True)
    same(db, t.group_by("k").count(), "SELECT k, count(*) AS count FROM t GROUP BY k")


def test_aggregate_without_keys(db, t):
    same(db, t.select(col("x").sum(), col("y").min()), "SELECT sum(x) AS x, min(y) AS y FROM t")
    same(db, t.agg(n=count()), "SELECT count(*) AS n FROM t")
    same(db, t.filter(col("x") > 1000).select(col("x").sum(), count()),
         "SELECT sum(x) AS x, count(*) AS count FROM t WHERE x > 1000")


@pytest.mark.parametrize("kwargs, order", [
    ({}, "x"),
    ({"descending": True}, "x DESC"),
    ({"nulls_last": False}, "x NULLS FIRST"),
    ({"descending": True, "nulls_last": False}, "x DESC NULLS FIRST"),
])
def test_sort_matches_sql(db, t, kwargs, order):
    same(db, t.select("x").sort("x", **kwargs), f"SELECT x FROM t ORDER BY {order}",
         ordered=True)


def test_sort_many_keys_limit_and_offset(db, t):
    f = t.sort("k", col("x") * -1, descending=[True, False]).select("k", "x").limit(7)
    same(db, f, "SELECT k, x FROM t ORDER BY k DESC, x * -1 LIMIT 7", ordered=True)
    f = t.select("k", "x").sort(["x", "k"]).slice(5, 4)
    same(db, f, "SELECT k, x FROM t ORDER BY x, k LIMIT 4 OFFSET 5", ordered=True)
    same(db, t.sort("x")[3:6].select("x"), "SELECT x FROM t ORDER BY x LIMIT 3 OFFSET 3",
         ordered=True)
    assert t.head().collect().num_rows == 5 and t.head(3).collect().num_rows == 3


def test_distinct(db, t):
    same(db, t.select("k").distinct(), "SELECT DISTINCT k FROM t")
    same(db, t.select("k", "flag").unique(), "SELECT DISTINCT k, flag FROM t")


def test_chained_pipeline_matches_sql(db, t):
    f = (t.filter(col("y").is_not_null())
         .with_columns(z=col("x") * col("d"))
         .filter(col("z") > 1)
         .group_by("k").agg(col("z").sum(), n=count())
         .sort("k").limit(3))
    same(db, f, "SELECT k, sum(z) AS z, count(*) AS n FROM (SELECT *, x * d AS z FROM t "
         "WHERE y IS NOT NULL) WHERE z > 1 GROUP BY k ORDER BY k LIMIT 3", ordered=True)


def test_frames_build_plans_not_sql(t):
    f = t.filter(col("x") > 1).group_by("k").agg(col("x").sum())._frame
    assert isinstance(f.plan, Project) and isinstance(f.plan.input, Aggregate)
    # collecting does not touch the frame's own plan (the optimizer rewrites a copy)
    before = repr(f.plan)
    t.filter(col("x") > 1).group_by("k").agg(col("x").sum()).collect()
    assert repr(f.plan) == before
    scan = f.plan.input.input.input
    assert isinstance(scan, Scan) and scan.filter is None


def test_explain(t):
    f = t.filter(col("x") > 10).select("k", w=col("x") + 1)
    text = f.explain()
    assert "Scan t" in text and "(x > 10)" in text and "zone ranges x in [11" in text
    analyzed = f.explain(analyze=True)
    assert "rows" in analyzed and "Total:" in analyzed


def test_len_counts_rows(t):
    assert len(t) == N
    assert len(t.lazy()) == N
    assert len(t.filter(col("x") > 10)) == len([i for i in range(N) if i % 6 and i > 10])
    assert len(t.group_by("k").agg(count())) == 4


# -- pandas-style conveniences --------------------------------------------------------------

def test_getitem_and_attribute_access(db, t):
    assert repr(t.x) == 'col("x")' and repr(t["k"]) == 'col("k")'
    same(db, t[t.x > 40], "SELECT * FROM t WHERE x > 40")
    same(db, t[(t["x"] > 40) | t["k"].is_null()], "SELECT * FROM t WHERE x > 40 OR k IS NULL")
    assert t["x"].to_pylist() == t.to_arrow().column("x").to_pylist()
    assert (t.x * 2).to_pylist()[:3] == [None, 2, 4]
    assert t.x.sum().to_pylist() == [sum(i for i in range(N) if i % 6)]
    # existing attributes win over columns; t.column() keeps returning a Column
    assert t.name == "t" and isinstance(t.column("x"), mapdb.Column)
    assert t["name"].to_pylist()[:2] == [None, "Name1"]
    with pytest.raises(AttributeError):
        t.nope  # noqa: B018
    with pytest.raises(QueryError, match='column "nope" not found; columns are: k, name'):
        t["nope"]


def test_frame_getitem(db, t):
    f = t.filter(col("x") > 1).select("k", "x")
    same(db, f[f.x < 10], "SELECT k, x FROM t WHERE x > 1 AND x < 10")
    same(db, f[["x"]], "SELECT x FROM t WHERE x > 1")
    assert f["x"].to_pylist() == [r[0] for r in db.sql("SELECT x FROM t WHERE x > 1")
                                  .fetchall()]


def test_repr_text_and_html(t):
    text = repr(t.select("k", "x").head(3))
    assert text.splitlines()[0].split() == ["k", "|", "x"]
    assert text.splitlines()[2].split() == ["NULL", "|", "NULL"]
    assert text.endswith("(3 rows)")
    big = repr(t.select("x"))
    assert big.endswith(f"({N} rows, first 20 shown)") and len(big.splitlines()) == 23
    html = t.filter(col("x") > 0)._repr_html_()
    assert html.startswith("<table>") and "<th>k</th>" in html and "first 20 shown" in html
    assert "<td>NULL</td>" in t.head(1)._repr_html_()
    assert "Table 't'" in repr(t)  # the table itself keeps its summary repr


# -- the same answers as polars and pandas -------------------------------------------------

def test_matches_polars(t):
    df = pl.from_arrow(t.to_arrow())
    got = (t.filter(col("x") > 5).group_by("k").agg(col("x").sum().alias("s"),
                                                    col("y").mean().alias("m"))
           .sort("k").to_polars())
    want = (df.filter(pl.col("x") > 5).group_by("k").agg(pl.col("x").sum().alias("s"),
                                                         pl.col("y").mean().alias("m"))
            .sort("k", nulls_last=True))
    assert got["k"].to_list() == want["k"].to_list()
    assert got["s"].to_list() == want["s"].to_list()
    assert got["m"].to_list() == pytest.approx(want["m"].to_list())
    got = t.select("x", "y").sort("y", descending=True).head(5).to_polars()
    want = df.select("x", "y").sort("y", descending=True, nulls_last=True).head(5)
    assert got.to_dicts() == want.to_dicts()


def test_matches_pandas(t):
    df = t.to_arrow().to_pandas()
    got = t[t.flag & (t.x > 3)][["x", "d"]].to_pandas()
    want = df[df.flag & (df.x > 3)][["x", "d"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert len(t[t.x > 3]) == int((df.x > 3).sum())


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda t: t.filter(col("nope") > 1), 'column "nope" not found'),
    (lambda t: t.filter(col("x") + 1), "filter needs a boolean condition, got int64"),
    (lambda t: t.filter(col("k") > 1), "cannot compare string with int64"),
    (lambda t: t.select(col("k") + 1), r"cannot apply add to string \(in \(col\(\"k\"\) \+ 1\)\)"),
    (lambda t: t.select(col("k").sum()), "SUM needs a number, got string"),
    (lambda t: t.select(col("x").sum().sum()), "cannot be nested"),
    (lambda t: t.select(col("x"), col("y").sum()), 'column "x" must be inside an aggr'),
    (lambda t: t.group_by("k").agg(col("x")), 'column "x" must be a group_by key'),
    (lambda t: t.filter(col("x").sum() > 1), "not allowed in filter"),
    (lambda t: t.select("x", col("y").alias("x")), 'duplicate output column "x"'),
    (lambda t: t.select(col("x").cast("complex")), "unknown type 'complex'"),
    (lambda t: t.select(col("x").cast("decimal(40,2)")), "precision must be 1..38"),
    (lambda t: t.select(col("x").like("a%")), "LIKE needs a string, got int64"),
    (lambda t: t.select(col("x").str.lower()), "LOWER needs a string"),
    (lambda t: t.limit(-1), "limit must be a non-negative integer"),
    (lambda t: t.select(3), "expected a column name or an expression"),
    (lambda t: t.sort("x", "k", descending=[True]), "descending has 1 values for 2"),
    (lambda t: lit(object()), "cannot use object value"),
])
def test_errors_are_query_errors(t, make, message):
    with pytest.raises(QueryError, match=message) as e:
        make(t)
    assert isinstance(e.value, MapdbError)


def test_python_boolean_operators_refuse():
    with pytest.raises(TypeError, match=r"use & \| ~"):
        bool(col("x") > 1)
    with pytest.raises(TypeError):
        (col("x") > 1) and (col("y") > 1)


def test_frame_reads_the_version_it_was_made_from(db):
    u = db.create_table("u", {"v": [1, 2, 3]})
    f = u.filter(col("v") > 1)
    u.append({"v": [4, 5]})
    assert u.version > 1
    assert f.collect().column("v").to_pylist() == [2, 3]
    assert u.filter(col("v") > 1).collect().column("v").to_pylist() == [2, 3, 4, 5]


def test_empty_results_keep_types(db, t):
    same(db, t.filter(col("x") > 10_000).select("k", "d"),
         "SELECT k, d FROM t WHERE x > 10000")
    assert t.filter(lit(False)).collect().num_rows == 0
    assert t.filter(lit(None)).collect().num_rows == 0
    assert t.filter(col("x").is_in([])).collect().num_rows == 0


def test_interop_capsule_and_schema(t):
    f = t.select("x", "d").head(3)
    assert pl.DataFrame(f).shape == (3, 2)
    assert f.schema == f.collect().schema
