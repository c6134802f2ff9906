"""IngestError: attributes, message format, pickling, and the layer rule."""

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import mapdb.ingest
from mapdb.errors import MapdbError
from mapdb.ingest import IngestError


@pytest.mark.parametrize(
    ("kw", "text"),
    [
        ({"file": "flights.csv", "line": 1234, "column": "dep_time"},
         "flights.csv:1234: column 'dep_time': cannot parse 'abc' as int64"),
        ({"file": "flights.csv", "line": 7}, "flights.csv:7: cannot parse 'abc' as int64"),
        ({"file": "flights.csv", "column": "x"},
         "flights.csv: column 'x': cannot parse 'abc' as int64"),
        ({"column": "x"}, "column 'x': cannot parse 'abc' as int64"),
        ({"line": 3}, "line 3: cannot parse 'abc' as int64"),
        ({}, "cannot parse 'abc' as int64"),
    ],
)
def test_message_format(kw, text):
    err = IngestError("cannot parse 'abc' as int64", **kw)
    assert str(err) == text
    assert err.reason == "cannot parse 'abc' as int64"
    assert (err.file, err.line, err.column) == (kw.get("file"), kw.get("line"), kw.get("column"))
    assert isinstance(err, MapdbError)


def test_pickle_keeps_attributes():
    err = IngestError("bad", file="a.csv", line=2, column="c")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is IngestError
    assert (back.reason, back.file, back.line, back.column) == ("bad", "a.csv", 2, "c")
    assert str(back) == str(err)


ALLOWED = {"__future__", "mapdb.errors", "numpy", "pyarrow"}
# The source layer; mapdb/ingest/job.py (writing through storage) sits above it.
SOURCE_LAYER = ["__init__", "errors", "sources", "readers", "_stream", "_text", "_csv",
                "_ndjson"]


def test_ingest_imports_only_allowed_modules():
    """Layer rule: mapdb.ingest imports mapdb.errors, numpy, pyarrow and the stdlib only."""
    root = Path(mapdb.ingest.__file__).parent
    seen = set()
    for path in (root / f"{name}.py" for name in SOURCE_LAYER):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    continue  # relative: inside mapdb.ingest
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if name == "mapdb.errors" or top in ALLOWED or top in sys.stdlib_module_names:
                    seen.add(top)
                    continue
                pytest.fail(f"{path.name} imports {name}")
    assert {"pyarrow", "numpy"} <= seen


def test_importing_ingest_loads_no_storage_pandas_or_polars():
    code = ("import sys, mapdb.ingest.readers, mapdb.ingest.sources;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('pandas', 'polars')"
            " or m.startswith('mapdb.storage')];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
