"""Property: tables written by pyarrow.csv.write_csv read back equal."""

import io
import math
import string

import pyarrow as pa
import pyarrow.csv as pacsv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapdb.ingest import Source, open_source

INT64 = st.integers(-(2**63), 2**63 - 1)
FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64)
# Text that cannot be mistaken for a number, bool, date or time: starts with a letter
# that is not the start of true/false/nan/inf.
TEXT = st.builds(lambda a, b: a + b, st.sampled_from("gjkmqwxyz"),
                 st.text(alphabet=string.printable + "é€\u2028", max_size=12))


@st.composite
def tables(draw, *, with_nulls: bool):
    n = draw(st.integers(1, 40))
    cols = {}
    # A one-column row holding NULL is a blank line, which CSV readers (pyarrow, pandas)
    # skip: that NULL is ambiguous, so tables with NULLs get two columns or more.
    for i in range(draw(st.integers(2 if with_nulls else 1, 4))):
        kind = draw(st.sampled_from(["int", "float", "text"]))
        values = st.one_of(st.none(), _VALUES[kind]) if with_nulls else _VALUES[kind]
        cols[f"{kind}{i}"] = pa.array(draw(st.lists(values, min_size=n, max_size=n)),
                                      _TYPES[kind])
    return pa.table(cols)


_VALUES = {"int": INT64, "float": FLOAT, "text": TEXT}
_TYPES = {"int": pa.int64(), "float": pa.float64(), "text": pa.string()}


def _write_and_read(tmp_path, table: pa.Table, **kw) -> pa.Table:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    path = tmp_path / "t.csv"
    path.write_bytes(buf.getvalue())
    with open_source(Source(path, "csv", ","), **kw) as stream:
        return stream.read_all()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables(with_nulls=True))
def test_round_trip_with_the_schema_given(tmp_path, table):
    """With the types given, NULLs and empty strings survive too (pyarrow quotes strings,
    so "" is an empty string and an empty field is NULL)."""
    got = _write_and_read(tmp_path, table, schema_overrides=dict(
        zip(table.column_names, table.schema.types, strict=True)))
    assert got.equals(table)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables(with_nulls=False))
def test_round_trip_with_inferred_types(tmp_path, table):
    # A float column whose values are all integral is written as integers and reads back
    # as int64: compare such columns by value.
    got = _write_and_read(tmp_path, table)
    assert got.column_names == table.column_names
    for name in table.column_names:
        want, have = table.column(name), got.column(name)
        if name.startswith("float") and have.type == pa.int64():
            assert all(math.isclose(a, b) for a, b in
                       zip(want.to_pylist(), have.to_pylist(), strict=True))
            assert all(float(v).is_integer() for v in want.to_pylist())
        else:
            assert have.type == want.type, name
            assert have.equals(want), name
