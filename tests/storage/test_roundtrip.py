"""Round trips of every stored type through writer -> files -> snapshot.

Input arrays are sliced (offsets that are not multiples of 8, so bitmaps must be re-based),
written in several batches per commit and several commits (several segments); what a
snapshot reads back must equal the input cast to the stored Arrow type, value for value
(floats compared bit for bit, dictionaries decoded)."""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapdb.errors import SchemaError
from mapdb.storage.database import DatabaseStore

from ._support import db_leftovers, leftovers, normalize

D = decimal.Decimal


@dataclass
class Case:
    id: str
    input_type: pa.DataType
    stored_type: pa.DataType
    values: st.SearchStrategy
    edges: list
    dictionary: list[str] | None = None
    build: Callable[[list], pa.Array] | None = None

    def array(self, values: list) -> pa.Array:
        if self.build is not None:
            return self.build(values)
        return pa.array(values, self.input_type)


def _int_case(t: pa.DataType) -> Case:
    info = (2 ** t.bit_width) if pa.types.is_unsigned_integer(t) else 2 ** (t.bit_width - 1)
    lo, hi = (0, info - 1) if pa.types.is_unsigned_integer(t) else (-info, info - 1)
    edges = sorted(e for e in {lo, lo + 1, hi, hi - 1, 0, 1} if lo <= e <= hi)
    return Case(str(t), t, t, st.integers(lo, hi), edges)


def _float_case(t: pa.DataType) -> Case:
    width = t.bit_width
    big = 3.4028234663852886e38 if width == 32 else 1.7976931348623157e308
    tiny = 1e-45 if width == 32 else 5e-324
    return Case(str(t), t, t, st.floats(width=width),
                [float("inf"), float("-inf"), float("nan"), -0.0, 0.0, big, -big, tiny])


def _decimal_case(p: int, s: int) -> Case:
    top = 10 ** p - 1

    def dec(n: int) -> D:
        return D(n).scaleb(-s)

    return Case(f"decimal({p},{s})", pa.decimal128(p, s), pa.decimal128(p, s),
                st.integers(-top, top).map(dec),
                [dec(top), dec(-top), dec(0), dec(1), dec(-1)])


def _view_case(name: str, storage: pa.DataType, t: pa.DataType, edges: list) -> Case:
    bits = storage.bit_width
    return Case(name, t, t, st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1), edges,
                build=lambda vs: pa.array(vs, storage).view(t))


def _timestamp_case(unit: str, tz: str | None) -> Case:
    t = pa.timestamp(unit, tz)
    return _view_case(f"timestamp[{unit},{tz}]", pa.int64(), t,
                      [-(2 ** 63), 2 ** 63 - 1, 0, -1, 1])


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
TEXT_EDGES = ["", "\x00", "a\x00b", "é", "🙂", "\U0010ffff", "x" * 300, "日本語"]
BIN_EDGES = [b"", b"\x00", b"\xff" * 9, bytes(range(256)), b"a\x00"]
LARGE_DICT = pa.dictionary(pa.int32(), pa.large_string())


def _dict_input(vs: list) -> pa.Array:
    return pa.array(vs, pa.string()).dictionary_encode()


CASES = [
    Case("bool", pa.bool_(), pa.bool_(), st.booleans(), [True, False]),
    *[_int_case(t) for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                             pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())],
    _float_case(pa.float32()),
    _float_case(pa.float64()),
    _decimal_case(18, 0), _decimal_case(18, 3), _decimal_case(18, 18), _decimal_case(1, 0),
    _view_case("date32", pa.int32(), pa.date32(), [-(2 ** 31), 2 ** 31 - 1, -1, 0, -719162]),
    *[_timestamp_case(u, tz) for u, tz in itertools.product(("s", "ms", "us", "ns"),
                                                            (None, "UTC"))],
    _timestamp_case("us", "Asia/Tokyo"),
    Case("string", pa.string(), pa.large_string(), TEXT, TEXT_EDGES),
    Case("large_string", pa.large_string(), pa.large_string(), TEXT, TEXT_EDGES),
    Case("dict", pa.string(), LARGE_DICT, st.sampled_from(["a", "b", "", "é\x00", "🙂"]) | TEXT,
         TEXT_EDGES, dictionary=["c"]),
    Case("dict-input", pa.dictionary(pa.int32(), pa.string()), LARGE_DICT,
         st.sampled_from(["a", "b", ""]) | TEXT, TEXT_EDGES, build=_dict_input),
    Case("binary", pa.binary(), pa.large_binary(), st.binary(max_size=12), BIN_EDGES),
    Case("large_binary", pa.large_binary(), pa.large_binary(), st.binary(max_size=12),
         BIN_EDGES),
]


def _batch(case: Case, values: list, row0: int, pad: int, filler: list) -> pa.RecordBatch:
    """A batch whose arrays are slices at offset ``pad`` of longer arrays."""
    front = [filler[j % len(filler)] for j in range(pad)]
    back = filler[:3]
    arr = case.array(front + values + back).slice(pad, len(values))
    rows = pa.array(range(row0 - pad, row0 + len(values) + 3), pa.int64()).slice(
        pad, len(values))
    assert arr.offset == pad and len(arr) == len(values)
    return pa.record_batch([arr, rows], names=["c", "row"])


def run_roundtrip(path, case: Case, commits: list[list[list]], pads: list[int]) -> None:
    db = DatabaseStore(path)
    schema = pa.schema([("c", case.input_type), ("row", pa.int64())])
    filler = [None, *case.edges]
    pad_iter = itertools.cycle(pads or [0])
    w = db.create_writer("t", schema, None, dictionary=case.dictionary)
    expected: list = []
    nonempty = 0
    for ci, batches in enumerate(commits):
        if ci == 2:  # later commits through a reopened writer (dictionary read back)
            w.close()
            w = db.writer("t")
        made = []
        for values in batches:
            made.append(_batch(case, values, len(expected), next(pad_iter), filler))
            expected += values
        if ci % 2:  # one write of a Table made of several record batches
            w.write(pa.Table.from_batches(made))
        else:
            for b in made:
                w.write(b)
        nonempty += any(batches)
        m = w.commit()
        assert m.rows == len(expected)
    w.close()

    snap = db.snapshot("t")
    try:
        assert snap.schema.field("c").type == case.stored_type
        assert snap.manifest.rows == len(expected)
        assert len(snap.column_chunks("c")) == nonempty  # one segment per non-empty commit
        got = snap.to_arrow()
        assert got.column("row").to_pylist() == list(range(len(expected)))
        want = case.array(expected)
        if not pa.types.is_dictionary(case.stored_type):
            want = want.cast(case.stored_type)
        assert normalize(got.column("c")) == normalize(want)
        assert got.column("c").null_count == sum(v is None for v in expected)
        assert snap.verify() == []
    finally:
        snap.close()
    assert leftovers(db.table_dir("t")) == []


def _commits(case: Case, max_rows: int):
    value = st.one_of(st.none(), st.sampled_from(case.edges), case.values)
    return st.lists(st.lists(st.lists(value, max_size=max_rows), min_size=1, max_size=3),
                    min_size=1, max_size=4)


@pytest.fixture(autouse=True, scope="module")
def _hypothesis_home(tmp_path_factory):
    """Hypothesis caches data (source constants, unicode tables) in ./.hypothesis even with
    database=None: keep that out of the repository while these tests run."""
    from hypothesis import configuration
    old = getattr(configuration, "__hypothesis_home_directory", None)
    configuration.set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis-home"))
    yield
    configuration.set_hypothesis_home_dir(old)


PADS = st.lists(st.integers(0, 11), min_size=1, max_size=4)
_SETTINGS = dict(deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@settings(max_examples=4, **_SETTINGS)
@given(data=st.data())
def test_roundtrip(case, data, tmp_path_factory):
    commits = data.draw(_commits(case, 12), label="commits")
    pads = data.draw(PADS, label="pads")
    run_roundtrip(tmp_path_factory.mktemp("rt") / "db", case, commits, pads)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@settings(max_examples=200, **_SETTINGS)
@given(data=st.data())
def test_roundtrip_many(case, data, tmp_path_factory):
    commits = data.draw(_commits(case, 40), label="commits")
    pads = data.draw(PADS, label="pads")
    run_roundtrip(tmp_path_factory.mktemp("rt") / "db", case, commits, pads)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_edge_values(case, tmp_path):
    """Every edge value, with nulls, in sliced batches over four commits."""
    edges = case.edges
    commits = [
        [[*edges, None], [None, *edges[::-1]]],          # two batches in one commit
        [[None] * 9 + edges[:1]],                          # mostly nulls
        [edges * 3],                                       # > 8 values, no nulls
        [[], edges[1:2] * 17 + [None]],                    # an empty batch first
    ]
    run_roundtrip(tmp_path / "db", case, commits, [3, 0, 9, 1, 7])


def test_many_types_in_one_table(tmp_path):
    """All types side by side in one table: columns stay aligned across segments."""
    db = DatabaseStore(tmp_path / "db")
    n = 23
    arrays, names = [], []
    for j, case in enumerate(CASES):
        vals = [None if (i + j) % 5 == 0 else case.edges[(i * 7 + j) % len(case.edges)]
                for i in range(n)]
        arrays.append(case.array(vals))
        names.append(f"c{j}")
    t = pa.Table.from_arrays(arrays, names=names)
    w = db.create_writer("t", t.schema, None,
                         dictionary=[f"c{j}" for j, c in enumerate(CASES) if c.dictionary])
    w.write(t.slice(5, 11))
    w.commit()
    w.write(t.slice(0, 5))
    w.write(t.slice(16))
    w.commit()
    w.close()
    snap = db.snapshot("t")
    got = snap.to_arrow()
    want = pa.concat_tables([t.slice(5, 11), t.slice(0, 5), t.slice(16)])
    for j, case in enumerate(CASES):
        exp = want.column(j)
        if not pa.types.is_dictionary(case.stored_type):
            exp = exp.cast(case.stored_type)
        assert got.schema.field(j).type == case.stored_type, case.id
        assert normalize(got.column(j)) == normalize(exp), case.id
    assert snap.verify() == []
    snap.close()


@pytest.mark.parametrize("t", [
    # (lists and structs are stored: test_nested_columns.py, maps: query/test_maps.py;
    # TIME, INTERVAL and decimals to 38 digits: test_time_interval.py, test_decimal128.py)
    pa.dense_union([pa.field("a", pa.int64())]), pa.decimal256(40, 2), pa.decimal128(10, -2),
], ids=str)
def test_unsupported_types_raise_schema_error(tmp_path, t):
    db = DatabaseStore(tmp_path / "db")
    schema = pa.schema([("ok", pa.int64()), ("bad", t)])
    with pytest.raises(SchemaError) as e:
        db.create_writer("t", schema, None)
    msg = str(e.value)
    assert (f"decimal({t.precision},{t.scale})" in msg if pa.types.is_decimal(t)
            else f"Arrow type {t} has no mapdb column type" in msg)
    assert db.tables() == []
    assert db_leftovers(str(tmp_path / "db")) == []


@pytest.mark.parametrize("table_type,bad,match", [
    (pa.int8(), pa.array([1, 300], pa.int64()), "int8"),
    (pa.int64(), pa.array(["1", "x"]), "int64"),
    (pa.uint32(), pa.array([-1], pa.int64()), "uint32"),
    (pa.decimal128(5, 2), pa.array([D("1234.5")], pa.decimal128(6, 1)), "decimal"),
    (pa.float64(), pa.array([[1.0]], pa.list_(pa.float64())), "float64"),
], ids=["int8-overflow", "int64-from-text", "uint32-negative", "decimal-too-wide", "list"])
def test_values_that_do_not_fit_raise_schema_error(tmp_path, table_type, bad, match):
    db = DatabaseStore(tmp_path / "db")
    good = pa.table({"x": pa.array([1], table_type)})
    w = db.create_writer("t", good.schema, None)
    w.write(good)
    w.commit()
    with pytest.raises(SchemaError, match=match):
        w.write(pa.table({"x": bad}))
    w.commit()  # the refused batch left nothing behind
    w.close()
    snap = db.snapshot("t")
    assert normalize(snap.column("x")) == normalize(good.column("x"))
    snap.close()


def test_wrong_columns_raise_schema_error(tmp_path):
    db = DatabaseStore(tmp_path / "db")
    t = pa.table({"a": [1], "b": ["x"]})
    w = db.create_writer("t", t.schema, None)
    with pytest.raises(SchemaError, match=r"missing \['b'\]"):
        w.write(pa.table({"a": [2]}))
    with pytest.raises(SchemaError, match=r"unexpected \['c'\]"):
        w.write(pa.table({"a": [2], "b": ["y"], "c": [1]}))
    w.write(pa.table({"b": ["z"], "a": [3]}))  # order of columns does not matter
    w.commit()
    w.close()
    snap = db.snapshot("t")
    assert snap.to_arrow().to_pydict() == {"a": [3], "b": ["z"]}
    snap.close()


def test_duplicate_column_names_raise_schema_error(tmp_path):
    db = DatabaseStore(tmp_path / "db")
    with pytest.raises(SchemaError, match="duplicate column names: 'a'"):
        db.create_writer("t", pa.schema([("a", pa.int64()), ("a", pa.string())]), None)


def test_all_null_dict_commit(tmp_path):
    """A commit whose dict column holds only nulls (its local dictionary is empty)."""
    db = DatabaseStore(tmp_path / "db")
    w = db.create_writer("t", pa.schema([("s", pa.string())]), None, dictionary=["s"])
    w.write(pa.table({"s": pa.array([None, None], pa.string())}))
    w.commit()
    w.write(pa.table({"s": pa.array([None, "a", None], pa.string())}))
    w.commit()
    w.write(pa.table({"s": pa.array([None], pa.string())}))
    w.commit()
    w.close()
    snap = db.snapshot("t")
    assert snap.column("s").to_pylist() == [None, None, None, "a", None, None]
    assert [c.null_count for c in snap.column_chunks("s")] == [2, 2, 1]
    assert snap.verify() == []
    snap.close()


def test_zone_maps(tmp_path):
    """min, max and null count per block of ZONE_ROWS rows (floats as IEEE bits, strings as
    an order-keeping 8-byte prefix, uint64 as its bit pattern)."""
    from mapdb.storage.zonemap import ZONE_ROWS
    n = ZONE_ROWS + 100
    i = np.arange(n, dtype=np.int64) - 5000
    t = pa.table({
        "i": pa.array(i, mask=(i % 10 == 0)),
        "f": pa.array(i.astype(np.float64) / 4, mask=(i == -4999)),
        "u": pa.array(np.where(i < 0, 2 ** 64 - 1, 7).astype(np.uint64)),
        "s": pa.array([f"k{v:06d}" for v in i + 5000]),
    })
    db = DatabaseStore(tmp_path / "db")
    w = db.create_writer("t", t.schema, None, dictionary=None)
    w.write(t)
    w.commit()
    w.close()
    snap = db.snapshot("t")
    (zi,) = snap.zones("i")
    blocks = [(0, ZONE_ROWS), (ZONE_ROWS, n)]
    want = []
    for lo, hi in blocks:
        vals = [v for v in i[lo:hi].tolist() if v % 10]
        want.append([min(vals), max(vals), sum(1 for v in i[lo:hi] if v % 10 == 0)])
    assert zi.tolist() == want
    (zf,) = snap.zones("f")
    assert zf[:, 0].view(np.float64).tolist() == [-5000 / 4, (ZONE_ROWS - 5000) / 4]
    assert zf[:, 1].view(np.float64).tolist() == [(ZONE_ROWS - 5001) / 4, (n - 5001) / 4]
    assert zf[:, 2].tolist() == [1, 0]
    (zu,) = snap.zones("u")
    assert zu[:, :2].view(np.uint64).tolist() == [[7, 2 ** 64 - 1], [7, 7]]
    (zs,) = snap.zones("s")
    prefix = [int.from_bytes(f"k{v:06d}".encode()[:8].ljust(8, b"\0"), "big") - (1 << 63)
              for v in (0, ZONE_ROWS - 1, ZONE_ROWS, n - 1)]
    assert zs[:, :2].tolist() == [prefix[:2], prefix[2:]]
    snap.close()


@pytest.mark.parametrize("name,canonical", [
    ("INT", "int32"), ("integer", "int32"), ("BIGINT", "int64"), ("smallint", "int16"),
    ("TINYINT", "int8"), ("UBIGINT", "uint64"), ("FLOAT", "float32"), ("REAL", "float32"),
    ("DOUBLE", "float64"), ("VARCHAR", "string"), ("varchar(20)", "string"),
    ("BLOB", "binary"), ("BOOLEAN", "bool"), ("DATE", "date32"),
    ("TIMESTAMP", "timestamp[us]"), ("TIMESTAMPTZ", "timestamp[us, UTC]"),
    ("DECIMAL", "decimal(18,3)"), ("DECIMAL(10)", "decimal(10,0)"),
    ("numeric(15, 2)", "decimal(15,2)"), ("int64", "int64"), ("int8", "int8"),
])
def test_type_names_mean_what_duckdb_says(name, canonical):
    """One grammar for every type a user writes (--schema, schema=, frame casts): DuckDB's
    names as DuckDB means them, checked against DuckDB's own CAST where it has the name."""
    from mapdb.storage.types import ColumnType
    assert ColumnType.parse(name).name == canonical
    if name.lower() not in ("int64", "int8"):  # mapdb's bit-width names
        import duckdb
        got = duckdb.sql(f"SELECT CAST(NULL AS {name}) AS v").arrow().schema.field("v").type
        want = ColumnType.parse(name).arrow_type
        if pa.types.is_large_string(want):
            assert pa.types.is_string(got) or pa.types.is_large_string(got) or \
                pa.types.is_string_view(got)
        elif pa.types.is_large_binary(want):
            assert pa.types.is_binary(got) or pa.types.is_large_binary(got) or \
                pa.types.is_binary_view(got)
        elif pa.types.is_timestamp(want):
            assert got.unit == want.unit and (got.tz is None) == (want.tz is None)
        else:
            assert got == want, (name, got, want)
