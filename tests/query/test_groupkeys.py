"""GROUP BY string keys through integer codes (query/groupkeys.py) and COUNT(DISTINCT) by
sorting packed keys (query/arrayagg.py), against DuckDB: dictionary and plain string keys,
NULL keys and values, several dictionaries in one key, ranges too wide to pack."""

from __future__ import annotations

import pytest

from .compare import check

GROUPED = [
    # strings as codes in the hash aggregate: a dictionary column, a plain one, both
    "SELECT cat, count(*), sum(i32), min(s), max(dt) FROM t GROUP BY cat",
    "SELECT s, cat, g, count(*), avg(f64) FROM t GROUP BY s, cat, g",
    "SELECT cat, sum(i16) FROM t WHERE g = 2 GROUP BY cat HAVING count(*) > 3",
    # one key, two dictionaries (and plain strings) in the same column
    "SELECT x, count(*) FROM (SELECT cat AS x FROM t UNION ALL SELECT s FROM t "
    "UNION ALL SELECT s FROM ja) u GROUP BY x",
    # COUNT(DISTINCT) by packed keys: strings, dates, ints, NULL keys and values
    "SELECT cat, count(DISTINCT g) FROM t GROUP BY cat",
    "SELECT cat, s, count(DISTINCT i8) FROM t GROUP BY cat, s",
    "SELECT g, dt, count(DISTINCT id) FROM t WHERE id % 3 = 0 GROUP BY g, dt",
    "SELECT s, count(DISTINCT dt) FROM t GROUP BY s HAVING count(DISTINCT dt) > 1",
    "SELECT cat, count(DISTINCT i8 % 3) FROM t WHERE i8 IS NULL OR i8 > 100 GROUP BY cat",
    # ranges too wide to pack in 62 bits: the hash aggregate answers
    "SELECT cat, i32, count(DISTINCT i64) FROM t GROUP BY cat, i32",
    # joined keys (dictionary columns gathered through a hash join)
    "SELECT ja.s, count(DISTINCT jb.w) FROM ja JOIN jb ON ja.k = jb.k GROUP BY ja.s",
    "SELECT cat, count(DISTINCT g) FROM t WHERE id < 0 GROUP BY cat",
    # COUNT(DISTINCT) of strings alone: one string hash table (plain, dictionary, both)
    "SELECT count(DISTINCT s) FROM t",
    "SELECT count(DISTINCT cat) FROM t",
    "SELECT count(DISTINCT cat) FROM t WHERE g = 2",
    "SELECT count(DISTINCT x) FROM (SELECT cat AS x FROM t UNION ALL SELECT s FROM t "
    "UNION ALL SELECT s FROM ja) u",
    "SELECT count(DISTINCT s || cat) FROM t",
    "SELECT count(DISTINCT cat) FROM t WHERE id < 0",
]


@pytest.mark.parametrize("sql", GROUPED)
def test_grouped(jn, sql):
    check(jn, sql)


@pytest.mark.parametrize("sql, packed", [
    ("SELECT cat, s, count(DISTINCT i8) FROM t GROUP BY cat, s", True),
    ("SELECT cat, i32, count(DISTINCT i64) FROM t GROUP BY cat, i32", False),
])
def test_count_distinct_path(jn, sql, packed):
    plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
    assert ("sorted packed keys" in plan) == packed, plan
    assert ("too wide to pack" in plan) != packed, plan


def test_chunks_with_different_dictionaries():
    """Each chunk's dictionary maps into the key's one code space (plain strings too)."""
    import pyarrow as pa

    from mapdb.query.binder import bind_sql
    from mapdb.query.executor import run
    from mapdb.query.source import ArrowSource

    col = pa.chunked_array([
        pa.array(["b", "a", None, "b"]).dictionary_encode(),
        pa.DictionaryArray.from_arrays(pa.array([0, 1, 1, 2], pa.int32()),
                                       pa.array(["c", "b", "a"])),
    ])
    t = pa.table({"k": col, "v": [1, 2, 3, 4, 5, 6, 7, 8]})
    src = ArrowSource("t", t)
    want = {"a": (2, 10), "b": (4, 18), "c": (1, 5), None: (1, 3)}
    for sql in ("SELECT k, count(DISTINCT v) AS n, sum(v) AS s FROM t GROUP BY k",
                "SELECT k, count(DISTINCT v) AS n, count(DISTINCT v) * 0 + sum(v) AS s "
                "FROM t GROUP BY k",
                "SELECT k, count(*) AS n, sum(v) AS s FROM t GROUP BY k"):
        out = run(bind_sql(sql, {"t": src}.__getitem__)).to_pydict()
        got = {k: (n, s) for k, n, s in zip(out["k"], out["n"], out["s"], strict=True)}
        assert got == want, (sql, got)


def test_codes_of_several_dictionaries():
    import pyarrow as pa

    from mapdb.query.groupkeys import StringCodes

    codes = StringCodes(["k"])
    first = codes.encode("k", pa.array(["b", "a", None, "b"]).dictionary_encode())
    other = codes.encode("k", pa.chunked_array([pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 2], pa.int32()), pa.array(["c", "b", "a"]))]))
    plain = codes.encode("k", pa.array(["a", "d", None], pa.large_string()))
    table = pa.table({"k": pa.concat_arrays([first, other, plain])})
    assert codes.decode(table).column("k").to_pylist() == \
        ["b", "a", None, "b", "c", "b", None, "a", "a", "d", None]


@pytest.mark.parametrize("sql", [
    "SELECT count(*), sum(i32) FROM t WHERE cat IN ('a', 'Ünïcode', 'nope')",
    "SELECT id FROM t WHERE cat IN ('nope', 'neither') ORDER BY id",
    "SELECT id, cat FROM t WHERE cat IN ('') AND g = 2 ORDER BY id",
    "SELECT cat, count(*) FROM t WHERE cat IN (SELECT cat FROM t WHERE id < 5) AND i8 > 0 "
    "GROUP BY cat",
    "SELECT count(*) FROM t WHERE cat NOT IN ('a', 'b') AND g < 3",
])
def test_dictionary_in_list_kernel(jn, sql):
    """IN ('x', ...) on a dictionary column runs in the scan kernel as a flag per code
    (NULL codes and absent strings never match)."""
    check(jn, sql)
    if "SELECT cat FROM" not in sql and "NOT IN" not in sql:
        plan = "\n".join(jn.db.sql("EXPLAIN ANALYZE " + sql).to_arrow().column(0).to_pylist())
        assert "fused filter+aggregate kernel" in plan or (
            "kernel filter" in plan and "(then" not in plan.split("kernel filter")[1][:8]), plan


def test_dictionary_in_list_every_pair(jn):
    """Every pair of the column's values (so some pairs have codes with others between)."""
    values = sorted(v for (v,) in jn.con.execute(
        "SELECT DISTINCT cat FROM t WHERE cat IS NOT NULL").fetchall())
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            lits = ", ".join("'" + v.replace("'", "''") + "'" for v in (a, b))
            check(jn, f"SELECT count(*), sum(i32) FROM t WHERE cat IN ({lits}) AND id > 10")


@pytest.mark.parametrize("sql", [
    "SELECT count(*), sum(i16) FROM t WHERE (cat = 'a' AND i8 > 5) OR "
    "(cat IN ('b', '', 'nope') AND i8 < -3)",
    "SELECT id FROM t WHERE (i32 BETWEEN 1 AND 100000 AND cat = 'a') OR "
    "(i32 BETWEEN 50000 AND 500000000 AND g = 2) ORDER BY id",
    "SELECT id FROM t WHERE (cat = 'zzz') OR (cat = 'a' AND g = 1) OR (cat = 'b' AND s LIKE 'a%') "
    "ORDER BY id",
    "SELECT count(*) FROM t WHERE (d92 >= 1.00 AND d92 <= 5.00 AND g < 2) OR "
    "(d92 >= 3.00 AND d92 <= 90.00 AND g > 3) OR (d92 = -2.50)",
    "SELECT count(*) FROM t WHERE (dt < DATE '1950-01-01' AND cat = 'a') OR "
    "(dt > DATE '2050-01-01' AND cat IS NULL)",
])
def test_or_implies_kernel_bounds(jn, sql):
    """An OR's branches all bounding a column imply the union of their bounds, run in the
    kernel before the OR itself (NULLs, absent dictionary strings, decimals, dates)."""
    check(jn, sql)


def test_code_space_mixes_dictionaries_and_plain_strings():
    """One key's codes over dictionaries (the first as its own codes, another reordered)
    and plain chunks with NULLs: every value decodes back to itself."""
    import pyarrow as pa

    from mapdb.query.groupkeys import StringCodes
    chunks = [pa.array(["b", "a", "b"]).dictionary_encode(),
              pa.array(["c", None, "a", "é", ""], pa.large_string()),
              pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2], pa.int32()),
                                             pa.array(["é", "b", "zz"])),
              pa.array(["zz", "q", None, "b"])]
    codes = StringCodes(["k"])
    out = [codes.encode("k", c) for c in chunks]
    decoded = codes.decode(pa.table({"k": pa.concat_arrays([o.cast(pa.int32())
                                                             for o in out])}))
    want = [v for c in chunks for v in c.to_pylist()]
    assert decoded.column("k").to_pylist() == want
    assert out[0].to_pylist() == [0, 1, 0]  # the first dictionary's own codes
