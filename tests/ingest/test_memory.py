"""to_batches: every in-memory kind, overrides, and what is refused."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from mapdb.ingest import BatchStream, IngestError, to_batches

EXPECTED = {"id": [1, 2, 3], "name": ["a", None, "c"]}


def check(stream: BatchStream, *, total: bool = True) -> None:
    assert isinstance(stream, BatchStream)
    assert stream.schema.names == ["id", "name"]
    table = stream.read_all()
    assert table.to_pydict() == EXPECTED
    assert stream.rows_read == 3
    if total:
        assert stream.bytes_read == stream.total_bytes > 0
    else:
        assert stream.total_bytes is None


def test_table_batch_and_reader():
    table = pa.table(EXPECTED)
    check(to_batches(table))
    check(to_batches(table.to_batches()[0]))
    check(to_batches(pa.RecordBatchReader.from_batches(table.schema, table.to_batches())),
          total=False)


def test_pandas_dataframe_index_dropped():
    df = pd.DataFrame(EXPECTED, index=[10, 20, 30])
    stream = to_batches(df)
    assert stream.schema.names == ["id", "name"]
    assert stream.schema.field("id").type == pa.int64()
    check(to_batches(df))


def test_pandas_column_that_arrow_cannot_hold():
    df = pd.DataFrame({"ok": [1, 2], "mixed": [1, "x"]})
    with pytest.raises(IngestError) as info:
        to_batches(df)
    assert info.value.column == "mixed"
    assert info.value.reason.startswith("cannot convert pandas DataFrame (")


def test_polars_dataframe():
    stream = to_batches(pl.DataFrame(EXPECTED))
    assert stream.schema.field("id").type == pa.int64()
    check(to_batches(pl.DataFrame(EXPECTED)))


def test_dict_of_numpy_arrays_and_lists():
    check(to_batches({"id": np.array([1, 2, 3]), "name": ["a", None, "c"]}))
    with pytest.raises(IngestError, match=r"^cannot convert dict of columns \("):
        to_batches({"id": [1, 2], "name": ["a"]})


class CStream:
    """Only the Arrow PyCapsule stream protocol."""

    def __init__(self, table):
        self._table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)


class CArray:
    """Only the Arrow PyCapsule array protocol."""

    def __init__(self, array):
        self._array = array

    def __arrow_c_array__(self, requested_schema=None):
        return self._array.__arrow_c_array__(requested_schema)


def test_pycapsule_objects():
    table = pa.table(EXPECTED)
    check(to_batches(CStream(table)), total=False)
    check(to_batches(CArray(table.to_batches()[0])))
    with pytest.raises(TypeError, match=r"exports an Arrow array that is not a record batch"):
        to_batches(CArray(pa.array([1, 2, 3])))


def test_unsupported_objects_name_their_type():
    with pytest.raises(TypeError, match=r"^cannot ingest an object of type builtins\.list;"):
        to_batches([1, 2, 3])
    with pytest.raises(TypeError, match=r"of type numpy\.ndarray;"):
        to_batches(np.arange(3))


def test_overrides_and_batch_rows():
    stream = to_batches(pa.table({"a": np.arange(10), "b": [str(i) for i in range(10)]}),
                        {"a": pa.int8(), "b": "int64"}, batch_rows=4)
    assert stream.schema.types == [pa.int8(), pa.int64()]
    batches = list(stream)
    assert [b.num_rows for b in batches] == [4, 4, 2]
    assert all(b.schema == stream.schema for b in batches)
    assert pa.Table.from_batches(batches).column("b").to_pylist() == list(range(10))
    with pytest.raises(IngestError) as info:
        to_batches({"a": [1, 2, 1000]}, {"a": "int8"}, batch_rows=2).read_all()
    assert (info.value.file, info.value.column) == (None, "a")
    assert str(info.value).startswith("column 'a': row 2: cannot cast 1000 from int64 to int8")
    with pytest.raises(IngestError, match="schema override for unknown column"):
        to_batches({"a": [1]}, {"b": "int8"})


def test_close_early():
    table = pa.table({"a": np.arange(10)})
    stream = to_batches(table, batch_rows=3)
    assert next(stream).num_rows == 3
    stream.close()
    with pytest.raises(ValueError, match="closed BatchStream"):
        next(stream)
    assert stream.rows_read == 3
