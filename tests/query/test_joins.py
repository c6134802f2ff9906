"""Joins, subqueries, set operations and window functions against DuckDB, on small tables
with NULL keys, duplicate keys, keys of several types and a table read twice."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mapdb.errors import MapdbError

from .compare import check

A = pa.table({
    "id": [1, 2, 3, 4, 5, 6, None, 8],
    "k": [10, 20, 20, None, 30, 40, 10, 50],
    "s": ["x", "y", "y", "z", None, "w", "x", "v"],
    "d": pa.array([100, 250, 250, 300, None, 400, 100, 999], pa.decimal128(9, 2)),
    "v": [1.5, 2.5, None, 4.0, 5.5, 6.0, 7.0, 8.0],
})
B = pa.table({
    "k": [10, 20, 20, 30, None, 60],
    "s": ["x", "y", "q", None, "z", "x"],
    "w": [100, 200, 201, 300, 400, 600],
    "day": pa.array([0, 1, 2, 3, None, 5], pa.int32()).cast(pa.date32()),
})


QUERIES = [
    # inner joins: one key, two keys, string keys, using, a table joined to itself
    "SELECT id, w FROM ja JOIN jb ON ja.k = jb.k ORDER BY id, w",
    "SELECT id, w FROM ja, jb WHERE ja.k = jb.k AND ja.s = jb.s ORDER BY id, w",
    "SELECT id, w FROM ja JOIN jb ON ja.s = jb.s ORDER BY id, w",
    "SELECT id, w FROM ja JOIN jb USING (k) ORDER BY id, w",
    "SELECT a1.id, a2.id FROM ja a1 JOIN ja a2 ON a1.k = a2.k AND a1.id < a2.id "
    "ORDER BY 1, 2",
    "SELECT ja.id, jb.w FROM ja JOIN jb ON ja.k = jb.k AND ja.v * 100 < jb.w "
    "ORDER BY 1, 2",
    "SELECT count(*), sum(w) FROM ja JOIN jb ON ja.k = jb.k WHERE ja.d > 1.00",
    # outer joins
    "SELECT id, w FROM ja LEFT JOIN jb ON ja.k = jb.k ORDER BY id NULLS LAST, w",
    "SELECT id, w FROM ja LEFT JOIN jb ON ja.k = jb.k AND jb.w > 150 ORDER BY id, w",
    "SELECT id, w FROM ja RIGHT JOIN jb ON ja.k = jb.k ORDER BY w, id",
    "SELECT id, w FROM ja FULL OUTER JOIN jb ON ja.k = jb.k ORDER BY id, w",
    "SELECT jb.k, count(id) FROM jb LEFT JOIN ja ON ja.k = jb.k GROUP BY jb.k ORDER BY 1",
    # the preserved side much smaller: built, the other side streams past it, the rows it
    # never matched come out NULL-padded at the end (through the operators above)
    "SELECT jb.k, count(t.id), sum(t.i16) FROM jb LEFT JOIN t ON t.i8 = jb.k GROUP BY jb.k "
    "ORDER BY 1",
    "SELECT jb.w, t.id FROM jb LEFT JOIN t ON t.i8 = jb.k AND t.id > 600 "
    "WHERE t.id IS NULL OR t.id < 900 ORDER BY 1, 2",
    "SELECT jb.w, t.id FROM t RIGHT JOIN jb ON t.i8 = jb.k ORDER BY 1, 2",
    # cross and non-equi joins
    "SELECT count(*) FROM ja CROSS JOIN jb",
    "SELECT id, w FROM ja, jb WHERE ja.k < jb.k / 10 ORDER BY id, w",
    # semi and anti joins, NULL semantics of IN / NOT IN
    "SELECT id FROM ja WHERE EXISTS (SELECT * FROM jb WHERE jb.k = ja.k) ORDER BY id",
    "SELECT id FROM ja WHERE NOT EXISTS (SELECT * FROM jb WHERE jb.k = ja.k) ORDER BY id",
    "SELECT id FROM ja WHERE EXISTS (SELECT * FROM jb WHERE jb.k = ja.k AND jb.s <> ja.s) "
    "ORDER BY id",
    "SELECT id FROM ja WHERE NOT EXISTS (SELECT * FROM jb WHERE jb.k = ja.k AND "
    "jb.s <> ja.s) ORDER BY id",
    "SELECT id FROM ja WHERE k IN (SELECT k FROM jb) ORDER BY id",
    "SELECT id FROM ja WHERE k NOT IN (SELECT k FROM jb) ORDER BY id",
    "SELECT id FROM ja WHERE k NOT IN (SELECT k FROM jb WHERE k IS NOT NULL) ORDER BY id",
    "SELECT id FROM ja WHERE k NOT IN (SELECT k FROM jb WHERE w > 10000) ORDER BY id",
    "SELECT id FROM ja WHERE EXISTS (SELECT * FROM jb WHERE w > 500) ORDER BY id",
    "SELECT id FROM ja WHERE k IN (SELECT k FROM jb) OR id = 1 ORDER BY id",  # a mark join
    "SELECT id FROM ja WHERE NOT EXISTS (SELECT * FROM jb WHERE w > 5000) ORDER BY id",
    # an empty preserved side is the smaller: built, with the big side streaming past it
    "SELECT count(*) FROM e WHERE EXISTS (SELECT * FROM t WHERE t.id = e.id)",
    "SELECT count(*) FROM e WHERE NOT EXISTS (SELECT * FROM t WHERE t.id = e.id)",
    "SELECT count(*) FROM t WHERE NOT EXISTS (SELECT * FROM e WHERE t.id = e.id)",
    # scalar subqueries: uncorrelated, correlated (decorrelated), count of no rows
    "SELECT id FROM ja WHERE v > (SELECT avg(v) FROM ja) ORDER BY id",
    "SELECT id, (SELECT max(w) FROM jb) AS m FROM ja ORDER BY id",
    "SELECT id FROM ja WHERE ja.k * 10 < (SELECT max(w) FROM jb WHERE jb.k = ja.k) "
    "ORDER BY id",
    "SELECT id FROM ja WHERE (SELECT count(*) FROM jb WHERE jb.k = ja.k) = 0 ORDER BY id",
    "SELECT k, sum(v) FROM ja GROUP BY k HAVING sum(v) > (SELECT min(v) * 2 FROM ja) "
    "ORDER BY k",
    # CTEs used twice, derived tables with column names
    "WITH c AS (SELECT k, sum(w) AS t FROM jb GROUP BY k) "
    "SELECT c1.k, c1.t FROM c c1 WHERE c1.t = (SELECT max(t) FROM c) ORDER BY 1",
    "SELECT x, n FROM (SELECT k, count(*) FROM ja GROUP BY k) AS q (x, n) ORDER BY x",
    "WITH c (kk, n) AS (SELECT k, count(*) FROM ja WHERE k > 10 GROUP BY k) "
    "SELECT a.kk, a.n, b.n FROM c a JOIN c b ON a.kk = b.kk WHERE a.n >= 1 ORDER BY 1",
    "WITH c AS (SELECT * FROM jb) SELECT count(*) FROM c x, c y WHERE x.k = y.k",
    # set operations
    "SELECT k FROM ja UNION SELECT k FROM jb ORDER BY k",
    "SELECT k FROM ja UNION ALL SELECT k FROM jb ORDER BY k",
    "SELECT k FROM ja INTERSECT SELECT k FROM jb ORDER BY k",
    "SELECT k FROM ja EXCEPT SELECT k FROM jb ORDER BY k",
    "SELECT k, s FROM ja INTERSECT ALL SELECT k, s FROM jb ORDER BY k, s",
    "SELECT k FROM ja EXCEPT ALL SELECT k FROM jb ORDER BY k",
    "SELECT k, v FROM ja UNION SELECT k, w FROM jb ORDER BY k, v",
    # window functions
    "SELECT id, row_number() OVER (ORDER BY id) FROM ja WHERE id IS NOT NULL ORDER BY id",
    "SELECT id, rank() OVER (PARTITION BY k ORDER BY s), dense_rank() OVER (ORDER BY k) "
    "FROM ja ORDER BY id",
    "SELECT id, sum(v) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN 1 PRECEDING AND "
    "CURRENT ROW) FROM ja ORDER BY id",
    "SELECT id, avg(d) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), "
    "count(*) OVER (PARTITION BY s) FROM ja ORDER BY id",
    "SELECT id, min(v) OVER (PARTITION BY k), max(s) OVER (ORDER BY id ROWS BETWEEN "
    "2 PRECEDING AND 1 FOLLOWING) FROM ja ORDER BY id",
    "SELECT id, lag(v) OVER (ORDER BY id), lead(v, 2, 0.0) OVER (ORDER BY id) FROM ja "
    "ORDER BY id",
    "SELECT k, sum(w), rank() OVER (ORDER BY sum(w) DESC) FROM jb GROUP BY k ORDER BY k",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_join_query(jn, sql):
    check(jn, sql)


@pytest.mark.parametrize("sql, message", [
    ("SELECT id FROM ja WHERE k = (SELECT k FROM jb)", "more than one row"),
    ("SELECT id FROM ja WHERE k = (SELECT k, w FROM jb)", "one column"),
    ("SELECT id FROM ja JOIN jb ON ja.k = jb.k WHERE k = 1", "ambiguous"),
    ("SELECT id FROM ja WHERE k IN (SELECT k, w FROM jb)", "returns 2 columns"),
])
def test_join_errors(jn, sql, message):
    with pytest.raises(MapdbError, match=message):
        jn.db.sql(sql).to_arrow()


_WORDS = ["special express requests", "express", "requests then express", "",
          "quick expressrequests", "pending requests express requests"]
C = pa.table({"c": [f"{_WORDS[i % 6]} {i}" for i in range(300)],  # distinct: not a dictionary
              "n": list(range(300))})


@pytest.mark.parametrize("pattern", ["%express%requests%", "%requests%express%", "%e%e%e%",
                                     "%express%", "%%"])
def test_like_kernel_forms(jn, pattern):
    """LIKE '%a%b%' and NOT LIKE run in the scan kernel on a column without NULLs."""
    if "jc" not in jn.db:
        jn.db.create_table("jc", C)
        if jn.con is not None:
            jn.con.register("jc", C)
    for neg in ("", "NOT "):
        sql = f"SELECT n FROM jc WHERE c {neg}LIKE '{pattern}' ORDER BY n"
        check(jn, sql)
        plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
        assert "kernel filter" in plan, plan


S = pa.table({
    # spread over 300,000 values: too many groups for the fused kernel's dense table
    "k": sorted([i // 3 * 1000 for i in range(900)] + [5000, 5000, 5000, 700]),
    "q": pa.array([(i * 7) % 50 if i % 11 else None for i in range(904)], pa.int32()),
    "p": pa.array([i * 125 for i in range(904)], pa.decimal128(12, 2)),
    "f": [float(i % 13) / 3 if i % 17 else None for i in range(904)],
})
SORTED = [
    "SELECT k, count(*), count(q), sum(q), avg(q), sum(p), avg(p), sum(f), avg(f) FROM js "
    "GROUP BY k ORDER BY k",
    "SELECT k, sum(p * (1 - q)) FROM js WHERE f > 1 GROUP BY k HAVING count(*) > 1 "
    "ORDER BY k",
    "SELECT k, sum(q) FROM js WHERE k BETWEEN 100000 AND 220000 GROUP BY k ORDER BY k",
    "SELECT k, sum(q) FROM js WHERE k > 10000000 GROUP BY k ORDER BY k",
    # through a join that keeps the scan's row order (a build side with a repeated key)
    "SELECT js.k, count(*), sum(p), avg(w) FROM js JOIN jb ON js.q = jb.k GROUP BY js.k "
    "ORDER BY 1",
]


@pytest.mark.parametrize("sql", SORTED)
def test_group_by_sorted_key(jn, sql):
    """GROUP BY a column with a sorted attribute sums runs of equal keys (several
    segments, a run split across them); the answers are the hash aggregate's."""
    if "js" not in jn.db:
        jn.db.create_table("js", S.slice(0, 400))
        t = jn.db.table("js")
        t.append(S.slice(400))
        t.create_index("k", kind="sorted")
        t.close()
        if jn.con is not None:
            jn.con.register("js", S)
    check(jn, sql)
    if "10000000" not in sql:
        plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
        assert "runs of the sorted key" in plan, plan


def test_explain_names_the_join(jn):
    text = jn.db.sql("EXPLAIN SELECT id, w FROM ja JOIN jb ON ja.k = jb.k").to_arrow()
    shown = "\n".join(str(v) for c in text.columns for v in c.to_pylist())
    assert "join" in shown.lower() and "k" in shown


def test_cte_read_twice_runs_once(jn):
    sql = ("WITH c AS (SELECT k, sum(w) AS t FROM jb GROUP BY k) "
           "SELECT c1.k FROM c c1 WHERE c1.t = (SELECT max(t) FROM c)")
    plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert plan.count("CTE c (computed once") == 2 and plan.count("Scan jb") == 1, plan


def test_left_join_builds_the_small_preserved_side(jn):
    sql = ("SELECT jb.k, count(t.id) FROM jb LEFT JOIN t ON t.i8 = jb.k GROUP BY jb.k "
           "ORDER BY 1")
    plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert "Left join on" in plan and "hash table on the left input" in plan, plan


D = pa.table({"id": [10, 20, 30, 40, 50, 60], "name": ["a", "b", "c", "d", "e", "f"],
              "region": [1, 2, 1, 2, 1, 3]})
R = pa.table({"rid": [1, 2, 3], "rname": ["north", "south", "east"]})


@pytest.mark.parametrize("sql", [
    "SELECT jd.id, jd.name, sum(ja.v), count(*), avg(ja.d) FROM ja JOIN jd ON ja.k = jd.id "
    "GROUP BY jd.id, jd.name ORDER BY 1",
    "SELECT jd.id, rname, jd.name, sum(ja.v) FROM ja, jd, jr WHERE ja.k = jd.id AND "
    "jd.region = jr.rid GROUP BY jd.id, rname, jd.name ORDER BY 1",
    "SELECT ja.k, jd.name, max(ja.s) FROM ja JOIN jd ON ja.k = jd.id GROUP BY ja.k, jd.name "
    "HAVING count(*) > 1 ORDER BY 1",
])
def test_aggregate_before_dimension_columns(jn, sql):
    """GROUP BY a dimension's unique key and its columns aggregates the facts first."""
    for name, t, key in (("jd", D, "id"), ("jr", R, "rid")):
        if name not in jn.db:
            jn.db.create_table(name, t)
            jn.db.table(name).create_index(key, unique=True).close()
            if jn.con is not None:
                jn.con.register(name, t)
    check(jn, sql)
    plan = jn.db.sql("EXPLAIN " + sql).to_arrow().column(0).to_pylist()
    agg = next(i for i, line in enumerate(plan) if "Aggregate" in line)
    join = next(i for i, line in enumerate(plan) if "Inner join" in line)
    assert agg > join, "\n".join(plan)  # the aggregate sits below (after) the join


_N = 100_000  # keys over 300,000 values: past the fused kernel's 262,144 dense groups
G = pa.table({
    "k": [(i * 7919) % 300_000 for i in range(_N)],  # in no order, no NULLs
    "v": pa.array([i % 17 if i % 9 else None for i in range(_N)], pa.int32()),
    "d": pa.array([(i * 37) % 1000 * 25 for i in range(_N)], pa.decimal128(9, 2)),
    "f": [((i * 13) % 101) / 7 if i % 5 else None for i in range(_N)],
})


@pytest.mark.parametrize("sql", [
    "SELECT k, count(*), count(v), sum(v), avg(v), sum(d), avg(d), sum(f), avg(f) FROM jg "
    "GROUP BY k ORDER BY k",
    "SELECT k, sum(d) FROM jg WHERE v > 0 GROUP BY k HAVING count(*) > 0 ORDER BY k",
    "SELECT jg.k, count(*), sum(jb.w) FROM jg JOIN jb ON jg.v * 10 = jb.k GROUP BY jg.k "
    "ORDER BY 1",
])
def test_group_by_dense_key_range(jn, sql):
    """GROUP BY an integer whose zone-map range is small adds into arrays indexed by the
    key (no hashing); the answers are the hash aggregate's."""
    if "jg" not in jn.db:
        jn.db.create_table("jg", G.slice(0, 60_000))
        t = jn.db.table("jg")
        t.append(G.slice(60_000))
        t.close()
        if jn.con is not None:
            jn.con.register("jg", G)
    check(jn, sql)
    plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    if "JOIN" not in sql:  # (the join's estimate is too small for the range: hashed)
        assert "dense key range" in plan, plan


_M = 50_000
M = pa.table({
    "a": pa.array([(i * 31) % 26 - 5 if i % 11 else None for i in range(_M)], pa.int32()),
    "b": [1000 + (i * 7) % 1000 for i in range(_M)],
    "v": pa.array([i % 17 if i % 9 else None for i in range(_M)], pa.int16()),
    "d": pa.array([(i * 37) % 1000 * 25 for i in range(_M)], pa.decimal128(9, 2)),
    "f": [((i * 13) % 101) / 7 if i % 5 else None for i in range(_M)],
})
M2 = pa.table({"id": list(range(1000, 1900)),  # b 1900..1999 find no row
               "c": pa.array([i % 40 if i % 3 else None for i in range(900)], pa.int64())})


@pytest.mark.parametrize("sql", [
    "SELECT a, b, count(*), count(v), sum(v), avg(v), min(v), max(v), sum(d), avg(d), "
    "sum(f) FROM jdk JOIN jdk2 ON jdk.b = jdk2.id GROUP BY a, b ORDER BY a, b",
    # NULL keys: the column's own and an outer join's
    "SELECT c, a, count(*), sum(v) FROM jdk LEFT JOIN jdk2 ON jdk.b = jdk2.id GROUP BY c, a "
    "ORDER BY c, a",
    "SELECT a, c, max(v) FROM jdk JOIN jdk2 ON jdk.b = jdk2.id WHERE v > 3 GROUP BY a, c "
    "HAVING count(*) > 1 ORDER BY a, c",
])
def test_group_by_dense_keys(jn, sql):
    """GROUP BY several integers whose zone-map ranges multiply to a small index space
    adds into arrays indexed by the packed keys (a slot for NULL each); the answers are
    DuckDB's."""
    for name, t in (("jdk", M), ("jdk2", M2)):
        if name not in jn.db:
            jn.db.create_table(name, t)
            if jn.con is not None:
                jn.con.register(name, t)
    check(jn, sql)
    plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert "dense keys over" in plan, plan


_P = 60_000
P = pa.table({"k": [i // 3 for i in range(_P)],  # sorted, each key 3 times
              "v": [i % 7 for i in range(_P)]})
Q = pa.table({"qk": [5, 5, 9_999, 10_000, 19_999, 20_000, None, 12_345, -1,
                     *range(100, 20_000, 400)],
              "w": list(range(9 + len(range(100, 20_000, 400))))})


@pytest.mark.parametrize("sql, found", [
    ("SELECT k, v, w FROM jp JOIN jq ON jp.k = jq.qk ORDER BY k, v, w", True),
    ("SELECT count(*), sum(v) FROM jp WHERE k IN (SELECT qk FROM jq)", True),
    ("SELECT k, sum(v) FROM jp JOIN jq ON k = qk WHERE v > 2 GROUP BY k ORDER BY k", True),
    ("SELECT count(*) FROM jp WHERE k NOT IN (SELECT qk FROM jq WHERE qk IS NOT NULL)",
     False),
    ("SELECT count(*) FROM jp JOIN jq ON jp.v = jq.qk", False),  # v is not sorted
])
def test_join_on_sorted_key_reads_only_matching_rows(jn, sql, found):
    """A join keeping rows whose sorted key is one of few build keys finds them by binary
    search (two segments, a run across their boundary, NULL, duplicate and absent keys)."""
    if "jp" not in jn.db:
        jn.db.create_table("jp", P.slice(0, 30_001))
        t = jn.db.table("jp")
        t.append(P.slice(30_001))
        t.create_index("k", kind="sorted")
        t.close()
        jn.db.create_table("jq", Q)
        if jn.con is not None:
            jn.con.register("jp", P)
            jn.con.register("jq", Q)
    check(jn, sql)
    plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert ("found by binary search" in plan) == found, plan
    if found:
        scanned = int(plan.split("Scan jp")[1].split("scanned ")[1].split(" rows")[0]
                      .replace(",", ""))
        assert scanned < 1_000, plan


def test_fused_aggregate_with_many_dense_groups(jn):
    """GROUP BY an integer spanning 200,000 values (more than 65,536) in the fused kernel."""
    if "jm" not in jn.db:
        m = pa.table({"k": [(i * 7919) % 200_000 for i in range(150_000)],
                      "v": pa.array([i % 13 for i in range(150_000)], pa.int32())})
        jn.db.create_table("jm", m)
        if jn.con is not None:
            jn.con.register("jm", m)
    sql = "SELECT k, count(*), sum(v) FROM jm WHERE v > 2 GROUP BY k ORDER BY k"
    check(jn, sql)
    plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert "fused filter+aggregate kernel" in plan, plan


@pytest.mark.parametrize("sql", [
    "SELECT count(*), sum(a.v) FROM jpc a JOIN jpc b ON a.k = b.k AND a.v < b.v",
    "SELECT a.k, count(b.v) FROM jpc a LEFT JOIN jpc b ON a.k = b.k AND a.v + 5 < b.v "
    "GROUP BY a.k ORDER BY a.k",
    "SELECT count(*) FROM jpc a WHERE EXISTS (SELECT 1 FROM jpc b WHERE b.k = a.k "
    "AND b.v > a.v + 90)",
    "SELECT count(*) FROM jpc a WHERE NOT EXISTS (SELECT 1 FROM jpc b WHERE b.k = a.k "
    "AND b.v > a.v + 90)",
])
def test_join_condition_pairs_in_chunks(jn, sql, monkeypatch):
    """The pairs of equal keys a join condition tests are gathered a slice of the batch at
    a time (at most PAIR_CHUNK), with the whole batch's answer."""
    from mapdb.query import hashjoin
    _jpc(jn)
    monkeypatch.setattr(hashjoin, "PAIR_CHUNK", 1000)
    check(jn, sql)


def _jpc(jn) -> None:
    if "jpc" not in jn.db:
        t = pa.table({"k": [i % 7 for i in range(3000)], "v": list(range(3000))})
        jn.db.create_table("jpc", t)
        if jn.con is not None:
            jn.con.register("jpc", t)


def test_join_condition_pairs_bounded(jn, monkeypatch):
    """More candidate pairs in one morsel than MAX_CROSS_ROWS: refused by name, not an
    out-of-memory kill."""
    from mapdb.query import hashjoin
    _jpc(jn)
    monkeypatch.setattr(hashjoin, "MAX_CROSS_ROWS", 10_000)
    with pytest.raises(MapdbError, match="row pairs of equal keys"):
        jn.db.sql("SELECT count(*) FROM jpc a JOIN jpc b ON a.k = b.k AND a.v < b.v").fetchall()
