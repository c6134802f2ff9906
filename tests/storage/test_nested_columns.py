"""Stored LIST and STRUCT columns (storage/segment.py, storage/types.py): Arrow's layout with
each child a column of its own files; round trips through Arrow, Parquet and NDJSON ingest
over NULL lists, NULL elements, empty lists, list<list<int>> and structs with NULL fields,
across segments; queries over them answered as DuckDB answers them; a damaged file is a
CorruptionError naming it, never a crash, and the list offsets are checked for what they
steer (from 0, non-decreasing, within the child) even where the checksum passed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest

import mapdb
from mapdb.errors import CorruptionError
from mapdb.storage import validate
from mapdb.storage.database import DatabaseStore
from mapdb.storage.header import HEADER_SIZE
from mapdb.storage.types import ColumnType
from tests.query.compare import check, engines_over
from tests.query.test_nested import T


def _rows(t: pa.Table) -> list[dict]:
    return t.to_pylist()


def test_types_name_and_parse_back():
    t = ColumnType.from_arrow(pa.struct([("a>", pa.list_(pa.string())),
                                         ("c", pa.struct([("d,e", pa.decimal128(5, 2))]))]))
    assert t.name == 'struct<"a>": list<string>, "c": struct<"d,e": decimal(5,2)>>'
    assert ColumnType.parse(t.name) == t
    assert t.arrow_type == pa.struct([("a>", pa.list_(pa.large_string())),
                                      ("c", pa.struct([("d,e", pa.decimal128(5, 2))]))])
    assert ColumnType.from_arrow(pa.large_list(pa.int32())).name == "list<int32>"


def test_round_trip_across_segments(tmp_path):
    """Two commits (two segments); every value back as written, child files per buffer."""
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", T)
    db.table("t").append(T)
    got = db.table("t").to_arrow()
    assert _rows(got) == _rows(T) * 2
    assert got.schema.field("ll").type == pa.list_(pa.list_(pa.int64()))
    seg = sorted((tmp_path / "db" / "t_t" / "segments").iterdir())[0]
    names = {p.name for p in seg.iterdir()}
    spec = {c.name: c.id for c in db.table("t")._snap.manifest.schema}
    ll, s = spec["ll"], spec["s"]
    # list<list<int64>>: its offsets, the inner list's offsets, the ints' data
    assert {f"c{ll}.offsets", f"c{ll}.0.offsets", f"c{ll}.0.0.data"} <= names
    assert {f"c{s}.valid", f"c{s}.0.data", f"c{s}.1.offsets", f"c{s}.1.data"} <= names


def test_zero_copy_children(tmp_path):
    """The children's buffers are the mapped files (no copy): the int data of a list."""
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", pa.table({"l": pa.array([[i, i + 1] for i in range(1000)],
                                                 pa.list_(pa.int64()))}))
    snap = db.table("t")._snap
    arr = snap.column_chunks("l")[0]
    path = Path(snap.segments_dir) / snap.manifest.segments[0].dirname / \
        f"c{snap.manifest.column('l').id}.0.data"
    data = arr.values.buffers()[1]
    assert data.size == 2000 * 8 and os.path.getsize(path) == HEADER_SIZE + 2000 * 8
    assert not data.is_mutable  # a read-only mapping, not a copy made here


def test_ingest_parquet_arrow_ipc_and_ndjson(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    pq.write_table(T, tmp_path / "x.parquet")
    db.ingest("p", str(tmp_path / "x.parquet"))
    assert _rows(db.table("p").to_arrow()) == _rows(T)
    pa.feather.write_feather(T, tmp_path / "x.arrow")
    db.ingest("a", str(tmp_path / "x.arrow"))
    assert _rows(db.table("a").to_arrow()) == _rows(T)
    rows = [{"id": 1, "l": [1, 2, None], "s": {"a": 1, "b": "x"}, "ll": [[1], []]},
            {"id": 2, "l": None, "s": None, "ll": None},
            {"id": 3, "l": [], "s": {"a": None, "b": None}, "ll": [[None]]}]
    (tmp_path / "x.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    db.ingest("j", str(tmp_path / "x.ndjson"))
    assert _rows(db.table("j").to_arrow()) == rows


QUERIES = [
    "SELECT id, l, ll, ls, ld, s FROM t ORDER BY id",
    "SELECT id, l[1], l[-1], ll[1][2], s.a, s['b'], ld[1] FROM t ORDER BY id",
    "SELECT id, unnest(l) AS e FROM t ORDER BY id, e",
    "SELECT id, list_sum(l), list_sort(ls), len(ll), list_contains(l, 1) FROM t ORDER BY id",
    "SELECT id FROM t WHERE s.a > 1 AND s.b IS NOT NULL ORDER BY id",
    "SELECT g, list(id ORDER BY id) AS ids, count(*) FROM t WHERE l IS NOT NULL GROUP BY g "
    "ORDER BY g",
    "SELECT id, l[2:] FROM t WHERE len(l) > 1 ORDER BY id",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_queries_over_stored_columns(tmp_path, sql):
    check(engines_over(tmp_path / "db", {"t": T}), sql, ordered=True)


def _flip(path: str, pos: int) -> None:
    with open(path, "r+b") as f:
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x10]))


def _segment_file(tmp_path, db, column: str, suffix: str) -> str:
    snap = db.table("t")._snap
    seg = snap.manifest.segments[0].dirname
    return os.path.join(snap.segments_dir, seg, f"c{snap.manifest.column(column).id}.{suffix}")


def test_damaged_list_offsets_is_a_corruption_error(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", T)
    path = _segment_file(tmp_path, db, "ll", "offsets")
    _flip(path, HEADER_SIZE + 5)
    store = DatabaseStore(tmp_path / "db")
    snap = store.snapshot("t")
    try:
        with pytest.raises(CorruptionError, match=f"{path}: data checksum mismatch"):
            snap.column("ll")
        assert any(p.startswith(f"{path}: data checksum mismatch") for p in snap.verify())
        assert snap.column("l").length() == len(T)  # other columns still read
    finally:
        snap.close()
    with pytest.raises(mapdb.MapdbError, match="checksum mismatch"):
        mapdb.connect(tmp_path / "db").sql("SELECT ll FROM t").to_arrow()


def test_damaged_child_file_is_found(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", T)
    path = _segment_file(tmp_path, db, "s", "1.offsets")  # the struct's string field
    _flip(path, HEADER_SIZE + 3)
    snap = DatabaseStore(tmp_path / "db").snapshot("t")
    try:
        with pytest.raises(CorruptionError, match=f"{path}: data checksum mismatch"):
            snap.column("s")
        assert snap.verify() == [f"{path}: data checksum mismatch (the column's bytes are "
                                 f"damaged)"]
    finally:
        snap.close()
    os.unlink(path)
    snap = DatabaseStore(tmp_path / "db").snapshot("t")
    try:
        with pytest.raises(CorruptionError, match=f"{path}: column file is missing"):
            snap.column("s")
    finally:
        snap.close()


@pytest.mark.parametrize("offsets", [[0, 3, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5, 99],
                                     [1, 1, 2, 3, 4, 5, 6], [0, -5, 2, 3, 4, 5, 6]])
def test_list_offsets_checked_even_when_the_checksum_passes(tmp_path, monkeypatch, offsets):
    """Offsets that would send Arrow outside the child (decreasing, past its end, not from
    0) are refused by the structural check, not only by the checksum: the checksum is
    skipped here, as for a file that passed once and changed without a new mtime."""
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", pa.table({"l": pa.array([[1], [2], [3], [4], [5], [6]],
                                                 pa.list_(pa.int64()))}))
    path = _segment_file(tmp_path, db, "l", "offsets")
    with open(path, "r+b") as f:
        f.seek(HEADER_SIZE)
        f.write(np.array(offsets, "<i4").tobytes())
    monkeypatch.setattr(validate, "checksum", lambda *a, **k: None)
    snap = DatabaseStore(tmp_path / "db").snapshot("t")
    try:
        with pytest.raises(CorruptionError, match=f"{path}: list offsets are not"):
            snap.column("l")
    finally:
        snap.close()


def test_describe_names_types_as_duckdb(tmp_path):
    e = engines_over(tmp_path / "db", {"t": T})
    want = [(r[0], r[1]) for r in e.con.execute("DESCRIBE t").fetchall()]
    got = [(r["column_name"], r["column_type"]) for r in e.db.sql("DESCRIBE t").to_arrow()
           .to_pylist()]
    assert got == want  # INTEGER[], BIGINT[][], DECIMAL(5,2)[], STRUCT(a BIGINT, b VARCHAR)


def test_insert_converts_lists_as_duckdb(tmp_path):
    """INSERT casts a list's elements to the column's element type (DuckDB's implicit cast);
    a struct must have the column's field names; a value that does not convert is an error
    naming the column."""
    e = engines_over(tmp_path / "db", {"t": T})
    e.db.sql("INSERT INTO t (id, l, ll, s) VALUES (9, [7, NULL], [[1, 2]], {'a': 3, 'b': 'q'})"
             ).to_arrow()
    got = e.db.sql("SELECT l, ll, s FROM t WHERE id = 9").to_arrow().to_pylist()
    assert got == [{"l": [7, None], "ll": [[1, 2]], "s": {"a": 3, "b": "q"}}]
    with pytest.raises(mapdb.MapdbError, match='column "l": cannot convert VARCHAR'):
        e.db.sql("INSERT INTO t (id, l) VALUES (10, ['x'])").to_arrow()
    with pytest.raises(mapdb.MapdbError, match='column "s" is STRUCT'):
        e.db.sql("INSERT INTO t (id, s) VALUES (10, {'z': 1})").to_arrow()


def test_changes_keep_nested_values(tmp_path):
    """INSERT ... SELECT, DELETE, UPDATE of another column, CREATE TABLE AS and compaction
    rewrite segments with their nested columns; the table verifies after each."""
    e = engines_over(tmp_path / "db", {"t": T})
    for sql in ["INSERT INTO t SELECT * FROM t WHERE id < 3", "DELETE FROM t WHERE id = 1",
                "UPDATE t SET i = 5 WHERE id = 0"]:
        e.db.sql(sql).to_arrow()
        assert e.db.table("t")._snap.verify() == []
    e.db.table("t").compact()
    e.db.sql("CREATE TABLE u AS SELECT id, l, s, [l] AS nested FROM t").to_arrow()
    con = e.con
    con.execute("CREATE TABLE tt AS SELECT * FROM t")
    con.execute("INSERT INTO tt SELECT * FROM tt WHERE id < 3")
    con.execute("DELETE FROM tt WHERE id = 1")
    con.execute("UPDATE tt SET i = 5 WHERE id = 0")
    want = con.execute("SELECT id, l, s, [l] AS nested FROM tt ORDER BY id, i").fetchall()
    got = e.db.sql("SELECT id, l, s, nested FROM u ORDER BY id").to_arrow().to_pylist()
    assert sorted(map(repr, (tuple(r.values()) for r in got))) == \
        sorted(map(repr, want))
    assert e.db.table("u")._snap.verify() == []


def test_lists_without_elements(tmp_path):
    """A segment whose lists hold no element: the child columns are empty files."""
    t = pa.table({"l": pa.array([[], None, []], pa.list_(pa.decimal128(5, 2))),
                  "s": pa.array([None, None, None], pa.struct([("a", pa.list_(pa.int8()))]))})
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", t)
    assert _rows(db.table("t").to_arrow()) == _rows(t)
    assert db.table("t")._snap.verify() == []


def test_index_and_frame_sort_on_a_nested_column_are_refused(tmp_path):
    db = mapdb.connect(tmp_path / "db")
    db.create_table("t", T)
    for kind in ("hash", "sorted"):
        with pytest.raises(mapdb.MapdbError, match="an index needs a column of plain values"):
            db.table("t").create_index("l", kind=kind)
    with pytest.raises(mapdb.MapdbError, match="cannot be grouped or sorted by"):
        db.table("t").sort("s")


def test_lookups_return_nested_columns(tmp_path):
    """Row lookups (Table.lookup, and SQL point queries through a hash index) take the
    nested columns' rows from the segment's checked array; a lookup by a nested column is
    refused."""
    e = engines_over(tmp_path / "db", {"t": T})
    db = e.db
    want = [r for r in _rows(T) if r["id"] in (0, 3, 5)]
    assert _rows(db.table("t").lookup(id=[0, 3, 5])) == want
    db.table("t").create_index("id")
    assert _rows(db.table("t").lookup(id=[5, 0, 3]).sort_by("id")) == want
    check(e, "SELECT id, l, ll, s FROM t WHERE id = 3", ordered=True)
    check(e, "SELECT id, ls, s.b FROM t WHERE id IN (1, 4) ORDER BY id", ordered=True)
    with pytest.raises(mapdb.MapdbError, match="lookup by column 'l'"):
        db.table("t").lookup(l=[[1, 2, 3]])


def test_ddl_with_list_types(tmp_path):
    """CREATE TABLE and ALTER TABLE ADD COLUMN take DuckDB's ``T[]`` (nested too)."""
    e = engines_over(tmp_path / "db", {})
    for sql in ["CREATE TABLE v (id INTEGER, l INTEGER[], ll VARCHAR[][])",
                "INSERT INTO v VALUES (1, [1, NULL], [['a'], []]), (2, NULL, [NULL])",
                "ALTER TABLE v ADD COLUMN d DOUBLE[]",
                "INSERT INTO v VALUES (3, [], NULL, [1.5])"]:
        e.db.sql(sql).to_arrow()
        e.con.execute(sql)
    check(e, "SELECT * FROM v ORDER BY id", ordered=True)
    want = [(r[0], r[1]) for r in e.con.execute("DESCRIBE v").fetchall()]
    assert [(r["column_name"], r["column_type"]) for r in
            e.db.sql("DESCRIBE v").to_arrow().to_pylist()] == want
    assert e.db.table("v")._snap.verify() == []


def test_nesting_depth_is_limited(tmp_path):
    """64 levels are stored (file names c<k>.0.0...); 65 are a SchemaError, not a name
    too long for the filesystem."""
    deep = pa.int8()
    for _ in range(64):
        deep = pa.struct([("a", deep)])
    assert ColumnType.from_arrow(deep).depth == 64
    db = mapdb.connect(tmp_path / "db")
    value = 1
    for _ in range(64):
        value = {"a": value}
    db.create_table("t", pa.table({"x": pa.array([value, None], deep)}))
    assert _rows(db.table("t").to_arrow()) == [{"x": value}, {"x": None}]
    with pytest.raises(mapdb.MapdbError, match="nested 65 levels deep"):
        ColumnType.from_arrow(pa.list_(deep))
