"""The dataframe front end's joins and window expressions against DuckDB SQL over the same
data: NULL and duplicate keys, keys of several types, a table joined with itself; each
window function with partitions, orders, frames and shifts. The result types must also be
those of mapdb's own SQL for the same query (one engine, two front ends)."""

import datetime
import decimal

import pyarrow as pa
import pytest

import mapdb
from mapdb import col, count, dense_rank, lit, rank, row_number
from mapdb.api.frame import LazyFrame
from mapdb.query.frame import Frame
from mapdb.query.source import ArrowSource
from mapdb.query.types import QueryError

duckdb = pytest.importorskip("duckdb")

A = pa.table({
    "id": pa.array([1, 2, 3, 4, 5, 6, 7, 8, 9], pa.int64()),
    "k": pa.array([10, 20, 20, None, 30, 40, 10, None, 50], pa.int64()),
    "s": ["x", "y", "y", "z", None, "w", "x", "z", "v"],
    "v": [1.5, 2.5, None, 4.0, 5.5, 6.0, 7.0, 8.0, 0.5],
    "d": pa.array([decimal.Decimal(x) if x is not None else None for x in
                   ("10.00", "20.00", "2.50", None, "30.00", "4.25", "10.00", "1.00", "9.99")],
                  pa.decimal128(9, 2)),
})
B = pa.table({
    "k": pa.array([10, 20, 20, 30, None, 60, None], pa.int32()),
    "s": ["x", "y", "q", None, "z", "x", "z"],
    "w": pa.array([100, 200, 201, 300, 400, 600, 700], pa.int64()),
})
C = pa.table({
    "s": ["x", "y", "z", None],
    "label": ["ex", "why", "zed", "none"],
    "day": pa.array([datetime.date(2024, 1, d) for d in (1, 2, 3, 4)]),
})


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = mapdb.connect(tmp_path_factory.mktemp("frame_join") / "db")
    db.create_table("ja", A, dictionary=["s"])  # dictionary strings against plain ones
    db.create_table("jb", B, dictionary=None)
    db.create_table("jc", C)
    con = duckdb.connect()
    for name, t in (("ja", A), ("jb", B), ("jc", C)):
        con.register(name, t)
    yield db, con
    con.close()
    db.close()


def _norm(v):
    if isinstance(v, (float, decimal.Decimal)):
        return float(f"{float(v):.10g}")
    return v


def _rows(cols: list[list]) -> list[tuple]:
    rows = [tuple(_norm(v) for v in r) for r in zip(*cols, strict=True)]
    return sorted(rows, key=repr)


def check(env, frame: LazyFrame, sql: str) -> pa.Table:
    """``frame`` gives DuckDB's rows for ``sql`` (in any order), and the names and
    types mapdb's SQL gives for it."""
    db, con = env
    got = frame.collect()
    want = con.execute(sql).fetchall()
    assert got.num_columns == len(want[0]) if want else True
    assert _rows([c.to_pylist() for c in got.columns]) == _rows(
        [list(c) for c in zip(*want, strict=True)] if want else [[]] * got.num_columns)
    mine = db.sql(sql).to_arrow()
    assert got.column_names == mine.column_names
    assert got.schema.types == mine.schema.types
    assert frame.schema == got.schema
    return got


def frames(db):
    return db["ja"].lazy(), db["jb"].lazy(), db["jc"].lazy()


A_COLS = "ja.id, ja.k, ja.s, ja.v, ja.d"

JOINS = [
    # one key, every kind
    ("inner", lambda a, b, c: a.join(b, on="k"),
     f"SELECT {A_COLS}, jb.s AS s_right, jb.w FROM ja JOIN jb ON ja.k = jb.k"),
    ("left", lambda a, b, c: a.join(b, on="k", how="left"),
     f"SELECT {A_COLS}, jb.s AS s_right, jb.w FROM ja LEFT JOIN jb ON ja.k = jb.k"),
    ("right", lambda a, b, c: a.join(b, on="k", how="right"),
     "SELECT ja.id, jb.k, ja.s, ja.v, ja.d, jb.s AS s_right, jb.w "
     "FROM ja RIGHT JOIN jb ON ja.k = jb.k"),
    ("full", lambda a, b, c: a.join(b, on="k", how="full"),
     "SELECT ja.id, COALESCE(ja.k, jb.k) AS k, ja.s, ja.v, ja.d, jb.s AS s_right, jb.w "
     "FROM ja FULL JOIN jb ON ja.k = jb.k"),
    ("outer", lambda a, b, c: a.join(b, on=["k"], how="outer"),
     "SELECT ja.id, COALESCE(ja.k, jb.k) AS k, ja.s, ja.v, ja.d, jb.s AS s_right, jb.w "
     "FROM ja FULL JOIN jb ON ja.k = jb.k"),
    ("semi", lambda a, b, c: a.join(b, on="k", how="semi"),
     "SELECT * FROM ja WHERE EXISTS (SELECT * FROM jb WHERE jb.k = ja.k)"),
    ("anti", lambda a, b, c: a.join(b, on="k", how="anti"),
     "SELECT * FROM ja WHERE NOT EXISTS (SELECT * FROM jb WHERE jb.k = ja.k)"),
    ("cross", lambda a, b, c: a.select("id", "k").join(b.select("w"), how="cross"),
     "SELECT ja.id, ja.k, jb.w FROM ja CROSS JOIN jb"),
    # two keys (a dictionary string column against a plain one)
    ("multi-inner", lambda a, b, c: a.join(b, on=["k", "s"]),
     f"SELECT {A_COLS}, jb.w FROM ja JOIN jb ON ja.k = jb.k AND ja.s = jb.s"),
    ("multi-left", lambda a, b, c: a.join(b, on=["k", "s"], how="left"),
     f"SELECT {A_COLS}, jb.w FROM ja LEFT JOIN jb ON ja.k = jb.k AND ja.s = jb.s"),
    ("multi-right", lambda a, b, c: a.join(b, on=["k", "s"], how="right"),
     "SELECT ja.id, jb.k, jb.s, ja.v, ja.d, jb.w FROM ja RIGHT JOIN jb "
     "ON ja.k = jb.k AND ja.s = jb.s"),
    ("multi-full", lambda a, b, c: a.join(b, on=["k", "s"], how="full"),
     "SELECT ja.id, COALESCE(ja.k, jb.k) AS k, COALESCE(ja.s, jb.s) AS s, ja.v, ja.d, jb.w "
     "FROM ja FULL JOIN jb ON ja.k = jb.k AND ja.s = jb.s"),
    ("multi-anti", lambda a, b, c: a.join(b, on=["k", "s"], how="anti"),
     "SELECT * FROM ja WHERE NOT EXISTS (SELECT * FROM jb WHERE jb.k = ja.k AND "
     "jb.s = ja.s)"),
    ("multi-semi", lambda a, b, c: a.join(b, left_on=["s", "k"], right_on=["s", "k"],
                                          how="semi"),
     "SELECT * FROM ja WHERE EXISTS (SELECT * FROM jb WHERE jb.k = ja.k AND jb.s = ja.s)"),
    # left_on / right_on: names and expressions, both key columns kept
    ("left_on", lambda a, b, c: a.join(b, left_on="k", right_on="k"),
     f"SELECT {A_COLS}, jb.k AS k_right, jb.s AS s_right, jb.w FROM ja JOIN jb "
     "ON ja.k = jb.k"),
    ("right left_on", lambda a, b, c: a.join(b, left_on="k", right_on="k", how="right"),
     f"SELECT {A_COLS}, jb.k AS k_right, jb.s AS s_right, jb.w FROM ja RIGHT JOIN jb "
     "ON ja.k = jb.k"),
    ("right then filter", lambda a, b, c: a.select("id", "k").join(
        b.select("k", "w"), left_on="k", right_on="k", how="right").filter(col("w") > 150),
     "SELECT ja.id, ja.k, jb.k AS k_right, jb.w FROM ja RIGHT JOIN jb ON ja.k = jb.k "
     "WHERE jb.w > 150"),
    ("cross then filter", lambda a, b, c: a.select("id").join(b.select("w"), how="cross")
     .filter(col("id") * 100 < col("w")),
     "SELECT ja.id, jb.w FROM ja, jb WHERE ja.id * 100 < jb.w"),
    ("three keep all", lambda a, b, c: c.join(a, left_on="s", right_on="s")
     .join(b, left_on="k", right_on="k", suffix="_b").sort("id").head(50),
     "SELECT jc.s, jc.label, jc.day, ja.id, ja.k, ja.s AS s_right, ja.v, ja.d, "
     "jb.k AS k_b, jb.s AS s_b, jb.w FROM jc JOIN ja ON jc.s = ja.s "
     "JOIN jb ON ja.k = jb.k"),
    ("expressions", lambda a, b, c: a.select("id", "k").join(
        b.select("w"), left_on=col("k") * 10, right_on=col("w"), how="left"),
     "SELECT ja.id, ja.k, jb.w FROM ja LEFT JOIN jb ON ja.k * 10 = jb.w"),
    ("string key", lambda a, b, c: a.select("id", "s").join(c, on="s", how="full"),
     "SELECT ja.id, COALESCE(ja.s, jc.s) AS s, jc.label, jc.day FROM ja FULL JOIN jc "
     "ON ja.s = jc.s"),
    # keys of different types: float with int, decimal with int
    ("float key", lambda a, b, c: a.select("id", kf=col("k").cast("float64")).join(
        b.select("k", "w"), left_on="kf", right_on="k"),
     "SELECT ja.id, CAST(ja.k AS DOUBLE) AS kf, jb.k, jb.w FROM ja JOIN jb "
     "ON CAST(ja.k AS DOUBLE) = jb.k"),
    ("decimal key", lambda a, b, c: a.select("id", "d").join(
        b.select("k", "w"), left_on="d", right_on="k", how="anti"),
     "SELECT ja.id, ja.d FROM ja WHERE NOT EXISTS (SELECT * FROM jb WHERE jb.k = ja.d)"),
    # suffixes
    ("suffix", lambda a, b, c: a.select("id", "s", "k").join(b, on="k", suffix="_b"),
     "SELECT ja.id, ja.s, ja.k, jb.s AS s_b, jb.w FROM ja JOIN jb ON ja.k = jb.k"),
    ("suffix names", lambda a, b, c: a.select("id", "k", w="v").join(b, on="k", how="left"),
     "SELECT ja.id, ja.k, ja.v AS w, jb.s, jb.w AS w_right FROM ja LEFT JOIN jb "
     "ON ja.k = jb.k"),
    # self-joins: one frame twice, a frame and its table, pairs within a key
    ("self", lambda a, b, c: a.join(a, on="k"),
     "SELECT x.id, x.k, x.s, x.v, x.d, y.id AS id_right, y.s AS s_right, y.v AS v_right, "
     "y.d AS d_right FROM ja x JOIN ja y ON x.k = y.k"),
    ("self table", lambda a, b, c: a.select("id", "k").join(
        a.select("id", "k"), left_on="id", right_on="k", how="left"),
     "SELECT x.id, x.k, y.id AS id_right, y.k AS k_right FROM ja x LEFT JOIN ja y "
     "ON x.id = y.k"),
    ("self pairs", lambda a, b, c: a.select("id", "k").join(a.select("id", "k"), on="k")
     .filter(col("id") < col("id_right")),
     "SELECT x.id, x.k, y.id AS id_right FROM ja x JOIN ja y ON x.k = y.k "
     "WHERE x.id < y.id"),
    ("self full", lambda a, b, c: a.select("id", "s").join(
        a.filter(col("v") > 3).select("s", "v"), on="s", how="full"),
     "SELECT x.id, COALESCE(x.s, y.s) AS s, y.v FROM ja x FULL JOIN "
     "(SELECT s, v FROM ja WHERE v > 3) y ON x.s = y.s"),
    # joins of joins, filters and aggregates around them
    ("three tables", lambda a, b, c: a.select("id", "k", "s").join(b.select("k", "w"), on="k")
     .join(c, on="s", how="left"),
     "SELECT ja.id, ja.k, ja.s, jb.w, jc.label, jc.day FROM ja JOIN jb ON ja.k = jb.k "
     "LEFT JOIN jc ON ja.s = jc.s"),
    ("right is a join", lambda a, b, c: c.join(
        a.select("id", "k", "s").join(b.select("k", "w"), on="k"), on="s", how="anti"),
     "SELECT * FROM jc WHERE NOT EXISTS (SELECT * FROM ja JOIN jb ON ja.k = jb.k "
     "WHERE ja.s = jc.s)"),
    ("left join is null", lambda a, b, c: a.join(b, on="k", how="left")
     .filter(col("w").is_null()).select("id", "k"),
     "SELECT ja.id, ja.k FROM ja LEFT JOIN jb ON ja.k = jb.k WHERE jb.w IS NULL"),
    ("filtered sides", lambda a, b, c: a.filter(col("v") > 2).select("k", "v").join(
        b.filter(col("w") < 650).group_by("k").agg(col("w").sum().alias("tw")),
        on="k", how="left"),
     "SELECT ja.k, ja.v, g.tw FROM ja LEFT JOIN (SELECT k, sum(w) AS tw FROM jb "
     "WHERE w < 650 GROUP BY k) g ON ja.k = g.k WHERE ja.v > 2"),
    ("group_by after", lambda a, b, c: a.join(b, on="k").group_by("k").agg(
        col("w").sum(), col("v").mean(), count()),
     "SELECT ja.k, sum(jb.w) AS w, avg(ja.v) AS v, count(*) AS count FROM ja JOIN jb "
     "ON ja.k = jb.k GROUP BY ja.k"),
    ("group_by right col", lambda a, b, c: a.join(b, on="k", how="full").group_by(
        "s_right").agg(col("id").count(), col("d").sum()),
     "SELECT jb.s AS s_right, count(ja.id) AS id, sum(ja.d) AS d FROM ja FULL JOIN jb "
     "ON ja.k = jb.k GROUP BY jb.s"),
    ("sorted limit", lambda a, b, c: a.join(b, on="k", how="left")
     .sort("w", "id", descending=[True, False]).head(4).select("id", "w"),
     "SELECT ja.id, jb.w FROM ja LEFT JOIN jb ON ja.k = jb.k "
     "ORDER BY jb.w DESC NULLS LAST, ja.id LIMIT 4"),
]


@pytest.mark.parametrize("build, sql", [j[1:] for j in JOINS], ids=[j[0] for j in JOINS])
def test_join_matches_duckdb(env, build, sql):
    check(env, build(*frames(env[0])), sql)


def test_join_takes_a_table(env):
    db, _ = env
    a, b = db["ja"], db["jb"]
    check(env, a.lazy().join(b, on="k", how="left"),
          f"SELECT {A_COLS}, jb.s AS s_right, jb.w FROM ja LEFT JOIN jb ON ja.k = jb.k")
    check(env, a.lazy().join(a, on="id", how="semi"), "SELECT * FROM ja")


def test_join_output_names(env):
    a, b, _ = frames(env[0])
    assert a.join(b, on="k").columns == ["id", "k", "s", "v", "d", "s_right", "w"]
    assert a.join(b, on="k", how="right").columns == ["id", "k", "s", "v", "d", "s_right",
                                                       "w"]
    assert a.join(b, on=["k", "s"], how="full").columns == ["id", "k", "s", "v", "d", "w"]
    assert a.join(b, left_on="k", right_on="k").columns == ["id", "k", "s", "v", "d",
                                                           "k_right", "s_right", "w"]
    assert a.join(b, on="k", how="semi").columns == a.columns
    assert a.join(b, how="cross", suffix="_2").columns == ["id", "k", "s", "v", "d", "k_2",
                                                          "s_2", "w"]


def test_join_of_different_versions_and_sources(env):
    """Each side reads the version of its own table its frame was made from; an Arrow
    frame joins a table frame."""
    db, _ = env
    x = db.create_table("jx", {"k": [1, 2, 3], "a": ["p", "q", "r"]})
    y = db.create_table("jy", {"k": [2, 3, 4], "b": [20, 30, 40]})
    j = x.lazy().join(y.lazy(), on="k", how="full").sort("k")
    both = x.lazy().join(x, on="k", suffix="_again")
    x.append({"k": [4], "a": ["s"]})
    y.append({"k": [1], "b": [10]})
    assert j.collect().to_pydict() == {"k": [1, 2, 3, 4], "a": ["p", "q", "r", None],
                                       "b": [None, 20, 30, 40]}
    assert len(both) == 3
    fresh = db["jx"].lazy().join(db["jy"], on="k", how="inner").sort("k")
    assert fresh.collect().to_pydict() == {"k": [1, 2, 3, 4], "a": ["p", "q", "r", "s"],
                                           "b": [10, 20, 30, 40]}
    arrow = LazyFrame(Frame.scan(ArrowSource("mem", pa.table({"k": [3, 4, 5],
                                                               "c": [0.3, 0.4, 0.5]}))))
    assert arrow.join(db["jy"], on="k", how="left").sort("k").collect().to_pydict() == {
        "k": [3, 4, 5], "c": [0.3, 0.4, 0.5], "b": [30, 40, None]}
    assert db["jx"].lazy().join(arrow, on="k", how="anti").sort("k").fetchall() == [
        (1, "p"), (2, "q")]


def test_join_explain_renames_the_right_side(env):
    a, _, _ = frames(env[0])
    text = a.join(a, on="k").explain()
    assert "join" in text.lower()
    assert text.count("Scan ja") == 2


def test_join_then_window(env):
    a, b, _ = frames(env[0])
    f = a.join(b, on="k").with_columns(
        rn=row_number().over("k", order_by=["id", "w"]),
        share=col("w") / col("w").sum().over("k"))
    check(env, f, f"SELECT {A_COLS}, jb.s AS s_right, jb.w, row_number() OVER (PARTITION BY "
          "ja.k ORDER BY ja.id, jb.w) AS rn, jb.w / sum(jb.w) OVER (PARTITION BY ja.k) AS "
          "share FROM ja JOIN jb ON ja.k = jb.k")


@pytest.mark.parametrize("make, message", [
    (lambda a, b: a.join(b, on="k", how="sideways"), "unknown join how='sideways'"),
    (lambda a, b: a.join(b, on="nope"), 'column "nope" not found'),
    (lambda a, b: a.join(b, on="id"), 'join key on the right side: column "id" not found'),
    (lambda a, b: a.join(b, left_on="w", right_on="w"),
     'join key on the left side: column "w" not found'),
    (lambda a, b: a.join(b, left_on=["k", "s"], right_on="k"),
     "left_on has 2 keys and right_on 1"),
    (lambda a, b: a.join(b, left_on="k"), "left_on= and right_on= go together"),
    (lambda a, b: a.join(b, on="k", left_on="k", right_on="k"), "either on= or"),
    (lambda a, b: a.join(b), "a inner join needs on="),
    (lambda a, b: a.join(b, on="k", how="cross"), "a cross join takes no keys"),
    (lambda a, b: a.join(b, on=[]), "on is empty"),
    (lambda a, b: a.join(b, on=col("k") + 1), "on= takes column names"),
    (lambda a, b: a.join(b, left_on="s", right_on="w"),
     'join keys col("s") (string) and col("w") (int64) cannot be compared'),
    (lambda a, b: a.join(b, left_on="d", right_on="s"), "cannot be compared"),
    (lambda a, b: a.join(b, left_on=col("k").sum(), right_on="k"), "aggregates"),
    (lambda a, b: a.join(b, left_on=lit(1), right_on="k"), "uses no column of the left"),
    (lambda a, b: a.with_columns(s_right=col("s")).join(b, on="k"),
     'the join gives two columns "s_right"'),
    (lambda a, b: a.join(b, on="k", suffix=""), "suffix must be a non-empty string"),
    (lambda a, b: a.join(3, on="k"), "join takes a LazyFrame or a Table"),
    (lambda a, b: a.join(b, on=3), "on takes column names or expressions"),
])
def test_join_errors(env, make, message):
    a, b, _ = frames(env[0])
    with pytest.raises(QueryError, match=None) as err:
        make(a, b)
    assert message in str(err.value)


# -- windows ---------------------------------------------------------------------------------

WINDOWS = [
    ("row_number", row_number().over("k", order_by=["v", "id"]),
     "row_number() OVER (PARTITION BY k ORDER BY v, id)"),
    ("row_number global", row_number().over(order_by="id", descending=True),
     "row_number() OVER (ORDER BY id DESC)"),
    ("rank", rank().over(order_by="s"), "rank() OVER (ORDER BY s)"),
    ("rank desc nulls first", rank().over(order_by="s", descending=True, nulls_last=False),
     "rank() OVER (ORDER BY s DESC NULLS FIRST)"),
    ("dense_rank", dense_rank().over("s", order_by="k"),
     "dense_rank() OVER (PARTITION BY s ORDER BY k)"),
    ("dense_rank two keys", dense_rank().over(order_by=["s", "k"], descending=[False, True]),
     "dense_rank() OVER (ORDER BY s, k DESC)"),
    ("sum partition", col("v").sum().over("k"), "sum(v) OVER (PARTITION BY k)"),
    ("mean partition", col("v").mean().over("s"), "avg(v) OVER (PARTITION BY s)"),
    ("min partition", col("d").min().over("k"), "min(d) OVER (PARTITION BY k)"),
    ("max string", col("s").max().over("k"), "max(s) OVER (PARTITION BY k)"),
    ("count", col("v").count().over("k"), "count(v) OVER (PARTITION BY k)"),
    ("count star", count().over("k"), "count(*) OVER (PARTITION BY k)"),
    ("whole table", col("v").sum().over(), "sum(v) OVER ()"),
    ("decimal sum", col("d").sum().over("s"), "sum(d) OVER (PARTITION BY s)"),
    ("two partition keys", col("id").sum().over(["k", "s"]),
     "sum(id) OVER (PARTITION BY k, s)"),
    ("expression partition", col("id").max().over(col("id") % 3),
     "max(id) OVER (PARTITION BY id % 3)"),
    # order_by without rows: SQL's default frame, peers included
    ("running sum with peers", col("id").sum().over(order_by="k"),
     "sum(id) OVER (ORDER BY k)"),
    ("running count", count().over("s", order_by="id"),
     "count(*) OVER (PARTITION BY s ORDER BY id)"),
    # rows frames
    ("rows -1..1", col("v").sum().over(order_by="id", rows=(-1, 1)),
     "sum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)"),
    ("rows running", col("v").mean().over("k", order_by="id", rows=(None, 0)),
     "avg(v) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND "
     "CURRENT ROW)"),
    ("rows to end", col("d").max().over(order_by="id", rows=(0, None)),
     "max(d) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)"),
    ("rows before", col("id").min().over(order_by="id", rows=(-2, -1)),
     "min(id) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING)"),
    ("rows after", col("v").count().over(order_by="id", rows=(1, 2)),
     "count(v) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND 2 FOLLOWING)"),
    ("rows whole", col("v").sum().over("s", order_by="id", rows=(None, None)),
     "sum(v) OVER (PARTITION BY s ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND "
     "UNBOUNDED FOLLOWING)"),
    # shift: LAG / LEAD
    ("shift 1", col("v").shift(1).over(order_by="id"), "lag(v) OVER (ORDER BY id)"),
    ("shift -1", col("s").shift(-1).over(order_by="id"), "lead(s) OVER (ORDER BY id)"),
    ("shift 2 fill", col("id").shift(2, fill_value=0).over("k", order_by="id"),
     "lag(id, 2, 0) OVER (PARTITION BY k ORDER BY id)"),
    ("shift -2 fill", col("d").shift(-2, fill_value=decimal.Decimal("0.5")).over(
        order_by="id"), "lead(d, 2, 0.5) OVER (ORDER BY id)"),
    ("shift 0", col("v").shift(0).over(order_by="id"), "lag(v, 0) OVER (ORDER BY id)"),
    # expressions around window functions
    ("minus the mean", col("v") - col("v").mean().over("k"),
     "v - avg(v) OVER (PARTITION BY k)"),
    ("share", (col("id") / col("id").sum()).over("s"),
     "id / sum(id) OVER (PARTITION BY s)"),
    ("change", col("v") - col("v").shift(1).over(order_by="id"),
     "v - lag(v) OVER (ORDER BY id)"),
]


@pytest.mark.parametrize("expr, sql", [w[1:] for w in WINDOWS], ids=[w[0] for w in WINDOWS])
def test_window_matches_duckdb(env, expr, sql):
    a, _, _ = frames(env[0])
    check(env, a.with_columns(expr.alias("w")), f"SELECT *, {sql} AS w FROM ja")
    check(env, a.select("id", expr.alias("w")), f"SELECT id, {sql} AS w FROM ja")


def test_several_windows_and_filters_on_them(env):
    a, _, _ = frames(env[0])
    f = a.with_columns(rn=row_number().over("k", order_by=["v", "id"]),
                       total=col("v").sum().over("k"),
                       again=col("v").sum().over("k")).filter(col("rn") == 1)
    check(env, f.select("id", "k", "rn", "total", "again"),
          "SELECT * FROM (SELECT id, k, row_number() OVER (PARTITION BY k ORDER BY v, id) AS "
          "rn, sum(v) OVER (PARTITION BY k) AS total, sum(v) OVER (PARTITION BY k) AS again "
          "FROM ja) WHERE rn = 1")
    plan = f._frame.plan
    while not hasattr(plan, "funcs"):
        plan = plan.input
    assert len(plan.funcs) == 2  # the same window function is computed once


def test_window_after_group_by_and_filter(env):
    a, _, _ = frames(env[0])
    f = a.filter(col("id") > 1).group_by("k").agg(col("v").sum().alias("sv")).with_columns(
        r=rank().over(order_by="sv", descending=True),
        prev=col("sv").shift(1).over(order_by="k"))
    check(env, f, "SELECT k, sv, rank() OVER (ORDER BY sv DESC) AS r, lag(sv) OVER "
          "(ORDER BY k) AS prev FROM (SELECT k, sum(v) AS sv FROM ja WHERE id > 1 "
          "GROUP BY k)")


def test_window_names_and_repr():
    e = col("v").sum().over("k", order_by=["t", "u"], descending=[True, False], rows=(-1, 0))
    assert e.output_name == "v"
    assert row_number().over(order_by="t").output_name == "row_number"
    assert rank().output_name == "rank"
    assert count().over("k").output_name == "count"
    assert col("x").shift(1).over(order_by="t").output_name == "x"
    assert repr(e) == ('col("v").sum().over(partition_by=col("k"), order_by=[col("t"), '
                       'col("u")], descending=[True, False], rows=(-1, 0))')
    assert repr(col("x").shift(-1, fill_value=0)) == 'col("x").shift(-1, fill_value=0)'
    assert repr(dense_rank().over(order_by="t", nulls_last=False)) == \
        'dense_rank().over(order_by=col("t"), nulls_last=False)'


@pytest.mark.parametrize("make, message", [
    (lambda a: a.select(row_number()), "row_number() needs .over"),
    (lambda a: a.select(rank().over("k")), "rank() needs order_by"),
    (lambda a: a.select(dense_rank().over()), "dense_rank() needs order_by"),
    (lambda a: a.select(col("v").shift(1)), "shift() needs .over(order_by=...)"),
    (lambda a: a.select(col("v").shift(1).over("k")), "shift() needs .over(order_by=...)"),
    (lambda a: a.select(col("v").over("k")), "over() needs an aggregate"),
    (lambda a: a.select(col("v").n_unique().over("k")), "n_unique() is not supported as a "
                                                         "window function"),
    (lambda a: a.select(col("v").std().over("k")), "not supported as a window function"),
    (lambda a: a.select(col("v").sum().over("k").sum().over()),
     "window expressions are not allowed in the argument of an aggregate"),
    (lambda a: a.select((col("v").sum().over("k") + 1).over()), "cannot be nested"),
    (lambda a: a.select(col("v").sum().over(col("v").sum())),
     "aggregate functions are not allowed in partition_by"),
    (lambda a: a.select(col("v").sum().over(order_by=row_number().over(order_by="id"))),
     "window expressions are not allowed in order_by"),
    (lambda a: a.select(col("v").shift(1).sum().over(order_by="id")),
     "shift() needs .over"),
    (lambda a: a.select(col("v").sum().over("k", rows=(1,))), "rows must be (start, end)"),
    (lambda a: a.select(col("v").sum().over("k", rows=(0, 1.5))), "rows must be"),
    (lambda a: a.select(rank().over(order_by="v", rows=(-1, 0))), "rows= frames apply to"),
    (lambda a: a.select(col("v").shift(1).over(order_by="v", rows=(-1, 0))),
     "rows= frames apply to"),
    (lambda a: a.select(col("v").sum(), col("v").sum().over("k").alias("w")),
     "a select that aggregates"),
    (lambda a: a.filter(row_number().over(order_by="id") == 1), "not allowed in filter"),
    (lambda a: a.sort(rank().over(order_by="id")), "not allowed in sort"),
    (lambda a: a.group_by("k").agg(col("v").sum().over("s")), "group_by().agg()"),
    (lambda a: a.group_by(row_number().over(order_by="id")).agg(count()),
     "not allowed in group_by"),
    (lambda a: a.select(col("v").sum().over(order_by=["v", "id"], descending=[True])),
     "descending has 1 values for 2 order_by keys"),
    (lambda a: a.select(col("v").shift(1.5)), "shift takes an integer"),
    (lambda a: a.select(col("v").shift(1, fill_value=col("id"))), "must be a constant"),
    (lambda a: a.select(col("id").shift(1, fill_value="x").over(order_by="id")),
     "cannot compare"),
])
def test_window_errors(env, make, message):
    a, _, _ = frames(env[0])
    with pytest.raises(QueryError) as err:
        make(a)
    assert message in str(err.value)


def test_window_functions_are_exported():
    assert mapdb.row_number is row_number
    assert mapdb.rank is rank
    assert mapdb.dense_rank is dense_rank
    assert {"row_number", "rank", "dense_rank"} <= set(mapdb.__all__)
