"""String group keys as integer codes: hash aggregates group by int32 codes, not strings.

Grouping 1M rows by three string columns spends most of its time hashing and comparing
strings; grouping by the columns' dictionary codes is several times cheaper. A mapdb string
column is usually stored dictionary-encoded with one dictionary per table version, so a
morsel's codes are free; other dictionaries (another table's, a union's) and plain strings
are mapped into one code space per key by the extension's string hash table (the one the
writer encodes dictionaries with: C over Arrow's offsets and bytes, without the GIL). The
merged result's codes are decoded once, on the (small) grouped table. (Before, each morsel
of a plain column ran ``pc.index_in`` against every value seen so far under the lock:
Arrow rebuilt a hash table of the whole space per morsel and the workers serialised.)

>>> import pyarrow as pa
>>> keys = StringCodes(["k"])
>>> d = pa.array(["x", "y", "x"]).dictionary_encode()
>>> codes = keys.encode("k", d)
>>> codes.to_pylist(), keys.encode("k", pa.array(["z", "y", None])).to_pylist()
([0, 1, 0], [2, 1, None])
>>> keys.decode(pa.table({"k": [2, 0], "n": [1, 2]})).to_pydict()
{'k': ['z', 'x'], 'n': [1, 2]}
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa

from mapdb.storage.dictionary import DictionaryEncoder


class _Space:
    """One key's code space: a string -> code hash table in the extension
    (``storage.dictionary.DictionaryEncoder``: codes in order of first appearance, encoding
    without the GIL), and each seen dictionary's codes in it (keyed by its buffers'
    addresses; the dictionary itself is held so the addresses stay its own)."""

    def __init__(self) -> None:
        self.encoder = DictionaryEncoder(pa.array([], pa.large_string()))
        self.maps: dict[tuple, tuple[pa.Array, pa.Array | None]] = {}

    @property
    def values(self) -> pa.Array | None:
        """The values in code order (None: nothing was coded)."""
        return self.encoder.pending() if len(self.encoder) else None

    def mapping(self, dictionary: pa.Array) -> pa.Array | None:
        """Codes of ``dictionary``'s entries (None: they are the codes already)."""
        key = (len(dictionary), *(b.address if b is not None else 0
                                  for b in dictionary.buffers()))
        hit = self.maps.get(key)
        if hit is None:
            codes = self.encoder.encode(dictionary)
            same = codes.null_count == 0 and np.array_equal(
                np.asarray(codes), np.arange(len(codes), dtype=np.int32))
            hit = (dictionary, None if same else codes)
            self.maps[key] = hit
        return hit[1]

    def codes(self, values: pa.Array) -> pa.Array:
        """Codes of a plain string column (new values join the space)."""
        return self.encoder.encode(values)


class StringCodes:
    """Encodes the string group keys named ``names`` (any other key passes through)."""

    def __init__(self, names) -> None:
        self.spaces = {n: _Space() for n in names}
        self.lock = threading.Lock()

    def encode(self, name: str, v: pa.Array | pa.ChunkedArray) -> pa.Array:
        space = self.spaces.get(name)
        if space is None:
            return v
        chunks = v.chunks if isinstance(v, pa.ChunkedArray) else [v]
        out = []
        for c in chunks:
            if isinstance(c, pa.DictionaryArray):
                with self.lock:
                    m = space.mapping(c.dictionary)
                idx = c.indices.cast(pa.int32())
                out.append(idx if m is None else m.take(idx))
            else:
                with self.lock:  # (the extension encodes without the GIL)
                    out.append(space.codes(c))
        if len(out) == 1:
            return out[0]
        return pa.concat_arrays(out) if out else pa.array([], pa.int32())

    def values(self, name: str) -> pa.Array:
        """Key ``name``'s values in code order."""
        v = self.spaces[name].values
        return v if v is not None else pa.array([], pa.large_string())

    def decode(self, table: pa.Table) -> pa.Table:
        """``table`` with each coded key column replaced by its values."""
        for name, space in self.spaces.items():
            if name not in table.column_names:
                continue
            col = table.column(name)
            if not pa.types.is_integer(col.type):
                continue
            # nothing coded (no rows, or only NULLs) still decodes: to strings, not codes
            values = space.values if space.values is not None else \
                pa.array([], pa.large_string())
            i = table.column_names.index(name)
            table = table.set_column(i, name, values.take(col))
        return table


def string_keys(keys) -> list[str]:
    """The names of ``keys`` (name, expression) whose values are strings."""
    return [n for n, e in keys if e.type.kind == "string"]
