"""Ingest sources: user inputs in, streams of pyarrow record batches with one schema out.

This layer only reads; converting types for storage is the storage layer's job. It imports
nothing from mapdb but itself (numpy, pyarrow and the standard library only).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_text("x,y\\n1,foo\\n2,\\n")
>>> [src] = expand_sources([d / "*.csv"], None)
>>> with open_source(src) as stream:
...     print(stream.schema.types, stream.read_all().to_pydict())
[DataType(int64), DataType(string)] {'x': [1, 2], 'y': ['foo', None]}
>>> import shutil; shutil.rmtree(d)
"""

from ._sniff import CsvOptions
from ._stream import MAX_COLUMNS, BatchStream, parse_type
from .errors import IngestError
from .readers import open_source, to_batches
from .sources import FORMATS, KNOWN_EXTENSIONS, Source, expand_sources

__all__ = [
    "FORMATS",
    "KNOWN_EXTENSIONS",
    "MAX_COLUMNS",
    "BatchStream",
    "CsvOptions",
    "IngestError",
    "Source",
    "expand_sources",
    "open_source",
    "parse_type",
    "to_batches",
]
