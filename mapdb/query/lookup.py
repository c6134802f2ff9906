"""Point lookups without SQL: ``Table.lookup(column=value)``.

The fastest way to a few rows: no parsing, no plan. Values are converted to the column's
stored scale here (ints, scaled decimals, days for dates, units for timestamps, strings
for dictionary columns), a hash-indexed column is probed (storage.index), and only the
matching rows of the requested columns are read (storage.scan.take), in the table's own
Arrow types. A sorted column is binary-searched instead; any other column is a filtered
scan of that column. Further ``column=value`` pairs filter the rows found.

>>> import tempfile, datetime, decimal, mapdb
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> t = db.create_table("t", {"d": [datetime.date(2024, 1, 2), datetime.date(2024, 1, 3)],
...                           "m": [decimal.Decimal("1.50"), decimal.Decimal("2.25")]})
>>> t.lookup(d=datetime.date(2024, 1, 3)).column("m").to_pylist()   # sorted: binary search
[Decimal('2.25')]
>>> t.lookup(m=decimal.Decimal("1.5")).num_rows                       # no index: a scan
1
"""

from __future__ import annotations

import datetime
import decimal
import time
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.errors import CorruptionError, TruncatedFileError
from mapdb.query.types import QueryError
from mapdb.storage import guard

_EPOCH = datetime.date(1970, 1, 1)
# A probe slower than this waited for the disk (confirming a candidate reads the key's
# data page): the row's other columns are cold too, so their pages are prefetched together.
COLD_PROBE_SECONDS = 100e-6
MAX_PREFETCH_ROWS = 64


def _values(v) -> list:
    if isinstance(v, str | bytes) or not isinstance(v, Iterable):
        return [v]
    return list(v)


def stored_key(ctype, v):
    """``v`` on the column's stored scale, or None when no stored value can equal it."""
    k = ctype.kind
    if v is None:
        return None
    if ctype.is_dictionary or k == "string":
        if not isinstance(v, str):
            raise QueryError(f"a {k} column is looked up with str values, not "
                             f"{type(v).__name__}")
        return v
    if k == "binary":
        return bytes(v)
    if k == "decimal":
        _, scale = ctype.decimal_params
        try:
            scaled = decimal.Decimal(str(v) if isinstance(v, float) else v).scaleb(scale)
        except (decimal.InvalidOperation, TypeError):
            raise QueryError(f"cannot compare a decimal column with {v!r}") from None
        return int(scaled) if scaled == scaled.to_integral_value() else None
    if k == "date32":
        if isinstance(v, str):
            v = datetime.date.fromisoformat(v)
        if isinstance(v, datetime.datetime):
            v = v.date()
        if not isinstance(v, datetime.date):
            raise QueryError(f"a date column is looked up with dates, not {type(v).__name__}")
        return (v - _EPOCH).days
    if k == "timestamp":
        return pa.scalar(v, ctype.arrow_type).cast(pa.int64()).as_py()
    if k in ("float32", "float64"):
        return float(v)
    if k == "bool":
        return bool(v)
    if isinstance(v, float):
        return int(v) if v.is_integer() else None
    if not isinstance(v, int | np.integer):
        raise QueryError(f"an integer column is looked up with ints, not {type(v).__name__}")
    return int(v)


def _rows_by_scan(source, column: str, keys: list) -> dict[int, np.ndarray]:
    """Without an index: binary search on a sorted column, else compare every row."""
    from mapdb.storage.index import sorted_rows
    m = source.snapshot.manifest
    spec = m.column(column)
    out = {}
    if source.index_on(column, "sorted") is not None:
        for i, (p, seg) in enumerate(zip(source._physical(column, "none"), m.segments,
                                         strict=True)):
            parts = []
            for k in keys:
                a, b = sorted_rows(p, k, k) if seg.columns[spec.id].sorted else (0, 0)
                parts.append(np.arange(a, b, dtype=np.int64))
            rows = np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)
            if len(rows):
                out[i] = rows
        return out
    chunks = source.snapshot.column_chunks(column)
    value_set = pa.array(keys, type=spec.type.arrow_type.value_type
                         if spec.type.is_dictionary else None)
    for i, chunk in enumerate(chunks):
        if spec.type.kind == "decimal":
            from mapdb.query.source import scaled_ints
            chunk = scaled_ints(chunk)
        elif spec.type.kind in ("date32", "timestamp"):
            chunk = chunk.cast(pa.int32() if spec.type.kind == "date32" else pa.int64())
        mask = pc.is_in(chunk, value_set=value_set.cast(chunk.type)
                        if not spec.type.is_dictionary else value_set)
        rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        if len(rows):
            out[i] = rows.astype(np.int64)
    return out


class _Shape:
    """What a lookup with these columns needs, worked out once per table version."""

    def __init__(self, source, where: tuple[str, ...], names: tuple[str, ...]):
        m = source.snapshot.manifest
        self.specs = {c: m.column(c) for c in where + names}  # NotFoundError if unknown
        for c in where:
            if self.specs[c].type.is_nested:
                raise QueryError(f"lookup by column {c!r}, a {self.specs[c].type.name}, is "
                                 f"not supported")
        # LIST and STRUCT columns: the segment's array over the mapped files (checked when
        # opened), no page advice (storage.segment.open_column)
        self.nested = {c for c in names if self.specs[c].type.is_nested}
        self.schema = pa.schema([pa.field(c, self.specs[c].type.arrow_type) for c in names])
        self.names = names
        self.probe = next((c for c in where if source.index_on(c, "hash") is not None), None)
        self.first = self.probe or where[0]
        self.types = {c: s.type for c, s in self.specs.items()}
        self.bases: dict[int, tuple] = {}  # segment -> (table over the mappings, decimals)
        t = self.types[self.first]
        self.one = None  # the index's one-integer-key probe, when the column is an integer
        if self.probe and t.kind in ("int8", "int16", "int32", "int64", "uint8", "uint16",
                                     "uint32"):
            self.one = source.hash_index(self.probe)._lookup_one
        # a fault reads its own page only (no read-around of pages no lookup wants)
        for c in set(where + names) - self.nested:
            for p in source._physical(c, "none"):
                p.advise_all("random")

    def prefetch(self, source, seg: int, rows) -> None:
        """WILLNEED on the pages of ``rows`` in every column, so their reads run in
        parallel instead of one fault at a time (strings last: their data range is
        known once their offsets are in)."""
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        cols = sorted(set(self.names) - self.nested, key=lambda c: self.types[c].is_variable)
        for c in cols:
            source._physical(c, "none")[seg].advise(lo, hi, "willneed")

    def rows_of(self, source, seg: int, rows: np.ndarray) -> pa.Table:
        """The requested columns at ``rows`` of segment ``seg``. Every column but the
        decimals sits in one Arrow table over the mapped files, built once per segment:
        a run of consecutive rows (one row, usually) is a zero-copy slice of it (a few
        microseconds; touches no data), scattered rows an Arrow take (only their
        pages). Decimals, whose Arrow type is wider than their stored width, are gathered
        row by row and put in their places."""
        if seg not in self.bases:
            from mapdb.storage.scan import taker
            plain = [c for c in self.names if self.types[c].kind != "decimal"]
            arrays = []
            for c in plain:
                if c in self.nested:
                    arrays.append(source.snapshot.column_chunks(c)[seg])
                    continue
                d = source.dictionary(c) if self.types[c].is_dictionary else None
                # never handed out whole: its slices and takes are checked (_valid)
                arrays.append(source._physical(c, "rows")[seg].arrow(d, safe=False))
            base = pa.Table.from_arrays(arrays, names=plain) if plain else None
            decimals = [(i, self.schema.field(i),
                         taker(source._physical(c, "rows")[seg]))
                        for i, c in enumerate(self.names) if self.types[c].kind == "decimal"]
            self.bases[seg] = (base, decimals)
        base, decimals = self.bases[seg]
        r0, n = int(rows[0]), len(rows)
        if base is None:
            out = pa.table({})
        else:
            from mapdb.storage.scan import check_rows
            for c in base.column_names:  # Arrow's take trusts the offsets and codes
                if c in self.nested:
                    continue  # (its offsets were checked when the segment was opened)
                check_rows(source._physical(c, "rows")[seg], rows,
                           source.dictionary_size(c) if self.types[c].is_dictionary
                           else None)
            out = base.slice(r0, n) if int(rows[-1]) - r0 + 1 == n else \
                base.take(pa.array(rows))
        for i, field, gather in decimals:
            out = out.add_column(i, field, gather(rows)) if out.num_columns or i else \
                pa.Table.from_arrays([gather(rows)], schema=pa.schema([field]))
        return _valid(out, source)


def _valid(out: pa.Table, source) -> pa.Table:
    """The rows as found, once Arrow says they are well formed: the lookup read them from
    columns no one validated whole (a few rows cost a microsecond or so)."""
    try:
        out.validate(full=True)
    except pa.ArrowException as e:
        raise CorruptionError(f"table {source.name!r}: the rows found cannot be read "
                              f"({e}); a column file is damaged (mapdb verify names "
                              f"it)") from None
    return out


def lookup(source, where: dict, columns: list[str] | None = None) -> pa.Table:
    """The rows of ``source`` (a TableSource) where every ``where`` column equals one of
    its values; ``columns`` (default all) in the table's Arrow types. TruncatedFileError
    if a file shrank under the mappings (now or in an earlier lookup through ``source``)."""
    if source.damaged:
        raise TruncatedFileError(f"table {source.name!r}: a file shrank under an earlier "
                                 f"read; refresh() the table")
    faults = guard.events()
    try:
        out = _lookup(source, where, columns)
    finally:
        try:
            guard.check(faults, "the lookup")
        except TruncatedFileError:
            source.damaged = True
            raise
    return out


def _lookup(source, where: dict, columns: list[str] | None) -> pa.Table:
    from mapdb.storage.scan import check_rows, take
    if not where:
        raise QueryError("lookup needs at least one column=value")
    cache = source.__dict__.setdefault("_lookup_shapes", {})
    sk = (tuple(where), None if columns is None else tuple(columns))
    shape = cache.get(sk)
    if shape is None:
        names = tuple(columns) if columns is not None else tuple(
            c.name for c in source.snapshot.manifest.schema)
        shape = cache[sk] = _Shape(source, tuple(where), names)
    first = shape.first
    if shape.one is not None and len(where) == 1 and type(where[first]) is int:
        # one integer key of an integer column: straight to the index, no lists or dicts
        t0 = time.perf_counter()
        found = shape.one(where[first])
        cold = time.perf_counter() - t0 > COLD_PROBE_SECONDS
        for seg, rows in found.items():
            if cold:
                shape.prefetch(source, seg, rows)
            if len(found) == 1:
                return shape.rows_of(source, seg, rows)
        if not found:
            return shape.schema.empty_table()
        return pa.concat_tables([shape.rows_of(source, seg, rows)
                                 for seg, rows in sorted(found.items())])
    types = shape.types
    keys = {c: [k for k in (stored_key(types[c], v) for v in _values(where[c]))
                if k is not None] for c in where}
    t0 = time.perf_counter()
    found = (source.lookup_rows(first, keys[first]) if shape.probe else
             _rows_by_scan(source, first, keys[first])) if keys[first] else {}
    cold = shape.probe and time.perf_counter() - t0 > COLD_PROBE_SECONDS
    parts = []
    for seg, rows in sorted(found.items()):
        if cold and len(rows) <= MAX_PREFETCH_ROWS:
            shape.prefetch(source, seg, rows)
        for c in where:
            if c == first or not len(rows):
                continue
            p = source._physical(c, "rows")[seg]
            if types[c].is_dictionary:
                check_rows(p, rows, source.dictionary_size(c))
            have = take(p, rows, decimal_as_int64=True)
            if types[c].is_dictionary:
                have = pc.take(source.dictionary(c), have)
            elif types[c].kind in ("date32", "timestamp"):
                have = have.cast(pa.int32() if types[c].kind == "date32" else pa.int64())
            ok = pc.is_in(have, value_set=pa.array(keys[c], have.type)) if keys[c] else \
                pa.array(np.zeros(len(rows), bool))
            rows = rows[np.asarray(ok.to_numpy(zero_copy_only=False), bool)]
        if len(rows):
            parts.append(shape.rows_of(source, seg, rows))
    if not parts:
        return shape.schema.empty_table()
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts)
