"""Files as tables: ``FROM 'x.parquet'``, ``read_parquet('dir/*.parquet')``,
``read_csv('x.csv')``, ``read_json('x.json')``, as DuckDB reads them.

A quoted table name that no table has and that ends in a known extension is a file, its
format from the extension (DuckDB's replacement scans); a glob reads every match, sorted.
Parquet is read through ``pyarrow.dataset``: one morsel per row group, only the columns
the query uses, and the row groups whose statistics rule out a simple conjunct of the
scan's filter (``col <op> constant``, IN, IS [NOT] NULL on integers, strings, dates,
timestamps, booleans) are never read. The filter itself still runs on every row read, so
the dataset expression only has to be implied by it. CSV and JSON need the ingest layer's
sniffer (DuckDB's types), which this layer may not import: the API registers their
readers in ``READERS`` and they come back as whole in-memory tables.

>>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
>>> path = tempfile.mkdtemp() + "/x.parquet"
>>> pq.write_table(pa.table({"k": list(range(10))}), path, row_group_size=4)
>>> src = open_file(FileRef("parquet", (path,)))
>>> src.row_count, len(src.groups)
(10, 3)
>>> from mapdb.query.binder import bind_sql
>>> q = bind_sql("SELECT k FROM t WHERE k >= 8", {"t": src}.__getitem__)
>>> from mapdb.query.optimizer import optimize, scan_of
>>> [(m.segment, m.rows) for m in src.pruned_morsels(scan_of(optimize(q.plan)).filter)]
[(2, 2)]
>>> open_file(FileRef("parquet", (path + ".missing",)))
Traceback (most recent call last):
...
mapdb.errors.QueryError: No files found that match the pattern ".../x.parquet.missing"
"""

from __future__ import annotations

import functools
import glob
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from mapdb.query.expr import Call, Col, Expr, Lit, conjuncts
from mapdb.query.source import Morsel, PruneStats, Source, engine_array, engine_values
from mapdb.query.types import QueryError, SqlType, from_arrow

# table function -> format (DuckDB's names; read_json reads NDJSON only here)
FUNCTIONS = {"read_parquet": "parquet", "parquet_scan": "parquet",
             "read_csv": "csv", "read_csv_auto": "csv",
             "read_json": "json", "read_json_auto": "json",
             "read_ndjson": "json", "read_ndjson_auto": "json"}

# what DuckDB's replacement scans read a quoted table name ending in these as
_EXTENSIONS = {".parquet": "parquet", ".csv": "csv", ".tsv": "csv",
               ".json": "json", ".jsonl": "json", ".ndjson": "json"}
_COMPRESSED = (".gz", ".zst")  # x.csv.gz: a text format, decompressed

# format -> reader(paths) -> pa.Table in DuckDB's types; the API registers csv and json
READERS: dict[str, Callable[[list[str]], pa.Table]] = {}

_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class FileRef:
    """The files a FROM item names: ``format`` and the paths or glob patterns given."""
    format: str
    patterns: tuple[str, ...]

    @property
    def name(self) -> str:
        return ", ".join(self.patterns)


def format_of(name: str) -> str | None:
    """The format DuckDB reads a table name as, by its extension (None: not a file).

    >>> format_of("data/x.parquet"), format_of("y.csv.gz"), format_of("t")
    ('parquet', 'csv', None)
    """
    lower = name.lower()
    for c in _COMPRESSED:
        if lower.endswith(c):
            lower = lower[:-len(c)]
            fmt = _EXTENSIONS.get(os.path.splitext(lower)[1])
            return fmt if fmt != "parquet" else None
    return _EXTENSIONS.get(os.path.splitext(lower)[1])


def alias_of(path: str) -> str:
    """The name DuckDB gives ``FROM 'dir/x.parquet'``: the file name without extensions.

    >>> alias_of("dir/x.parquet"), alias_of("y.csv.gz")
    ('x', 'y')
    """
    return os.path.basename(path).split(".")[0]


def expand(ref: FileRef) -> list[str]:
    """The files ``ref`` reads, in order (a glob's matches sorted, as DuckDB)."""
    out = []
    for p in ref.patterns:
        path = os.path.expanduser(p)
        if os.path.isfile(path):
            out.append(path)
            continue
        if os.path.isdir(path):
            raise QueryError(f'"{p}" is a directory; read its files with a glob such as '
                             f"'{p.rstrip('/')}/*.{ref.format}'")
        found = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f)) \
            if _GLOB & set(path) else []
        if not found:
            raise QueryError(f'No files found that match the pattern "{p}"')
        out.extend(found)
    return out


def open_file(ref: FileRef) -> Source:
    """A Source over the files of ``ref``; a QueryError naming the path if they cannot be
    read (missing, not of the format, files whose columns differ)."""
    paths = expand(ref)
    if ref.format == "parquet":
        return ParquetSource(ref.name, paths)
    reader = READERS.get(ref.format)
    if reader is None:  # the API registers them (mapdb.api.filetables)
        raise QueryError(f"reading {ref.format.upper()} files needs mapdb.api (import "
                         "mapdb first)")
    from mapdb.query.source import ArrowSource
    table = reader(paths)
    return ArrowSource(ref.name, pa.table({n: engine_array(c.combine_chunks()) for n, c in
                                           zip(table.column_names, table.columns,
                                               strict=True)}))


class ParquetSource(Source):
    """Parquet files (pyarrow.dataset): a morsel per row group, read column by column as
    the scan asks (``arrays``), row groups pruned by the scan's filter
    (``pruned_morsels``)."""

    def __init__(self, name: str, paths: list[str]):
        import pyarrow.dataset as ds
        self.name = name
        self.groups: list = []  # one fragment per row group, in file order
        try:
            self.dataset = ds.dataset(paths, format="parquet")
            schema = None
            for frag, path in zip(self.dataset.get_fragments(), paths, strict=True):
                if schema is None:
                    schema = frag.physical_schema
                elif not frag.physical_schema.equals(schema):
                    raise QueryError(f'"{path}" does not have the columns of "{paths[0]}" '
                                     "(files of different schemas are not supported)")
                self.groups.extend(frag.split_by_row_group())
        except (OSError, pa.ArrowException) as e:
            raise QueryError(f'cannot read "{name}" as Parquet: {e}') from None
        self.schema = self.dataset.schema
        self._types: dict[str, SqlType] = {}
        for f in self.schema:
            try:
                # DuckDB reads a Parquet duration (pyarrow writes an int64 and the Arrow
                # type in metadata) as the BIGINT it stores; an Arrow one as an INTERVAL
                self._types[f.name] = from_arrow(pa.int64()) if pa.types.is_duration(
                    f.type) else from_arrow(engine_array(pa.array([], f.type)).type)
            except QueryError as e:
                raise QueryError(f'"{name}", column "{f.name}": {e}') from None
        self._rows = [g.row_groups[0].num_rows for g in self.groups]

    def types(self) -> dict[str, SqlType]:
        return self._types

    @property
    def row_count(self) -> int:
        return sum(self._rows)

    def morsels(self, ranges: dict, stats: PruneStats | None = None,
                rows: int | None = None) -> list[Morsel]:
        return self.pruned_morsels(None, stats)

    def pruned_morsels(self, predicate: Expr | None, stats: PruneStats | None = None
                       ) -> list[Morsel]:
        """The row groups the conjuncts of ``predicate`` that pyarrow can test against
        the row-group statistics do not rule out (``stats``: row groups, and skipped)."""
        keep = range(len(self.groups))
        expr = dataset_filter(predicate, self._types)
        if expr is not None:
            try:
                keep = [i for i, g in enumerate(self.groups)
                        if g.subset(filter=expr, schema=self.schema).row_groups]
            except (pa.ArrowException, TypeError, ValueError):
                pass  # a conjunct pyarrow cannot bind here: no pruning
        out = [Morsel(i, 0, self._rows[i]) for i in keep if self._rows[i]]
        if stats is not None:
            stats.blocks += len(self.groups)
            stats.skipped += len(self.groups) - len(keep)
        return out

    def arrays(self, m: Morsel, columns: list[str]) -> dict[str, pa.Array]:
        try:
            t = self.groups[m.segment].to_table(columns=columns, schema=self.schema)
        except (OSError, pa.ArrowException) as e:
            raise QueryError(f'cannot read "{self.name}": {e}') from None
        out = {}
        for c in columns:
            a = t.column(c).combine_chunks()
            a = a.cast(pa.int64()) if pa.types.is_duration(a.type) else engine_array(a)
            if m.start or m.stop < len(a):
                a = a.slice(m.start, m.rows)
            out[c] = engine_values(a, self._types[c])
        return out


# -- the scan's filter as a dataset expression (for row-group statistics only) -------------
_OPS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
        "gt": operator.gt, "ge": operator.ge}
_FLIP = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
# kinds whose Parquet statistics order values as SQL does (floats: NaN is left out of
# the statistics but is above every number in DuckDB; decimals: scales would have to meet)
_PUSHED = ("int", "string", "date", "timestamp", "bool")


def dataset_filter(predicate: Expr | None, types: dict[str, SqlType]):
    """The conjuncts of ``predicate`` that map to pyarrow.dataset expressions, ANDed
    (None if none does); each is implied by its conjunct, so pruning by it is safe.

    >>> from mapdb.query.types import INT64, BOOL
    >>> p = Call("gt", (Col("k", INT64), Lit(5, INT64)), BOOL)
    >>> str(dataset_filter(p, {"k": INT64}))
    '(k > 5)'
    """
    parts = [e for e in (_conjunct(p, types) for p in conjuncts(predicate)) if e is not None]
    return functools.reduce(operator.and_, parts) if parts else None


def _conjunct(p: Expr, types: dict[str, SqlType]):
    import pyarrow.dataset as ds
    if not isinstance(p, Call):
        return None
    if p.op in ("is_null", "is_not_null") and isinstance(p.args[0], Col) and \
            p.args[0].name in types:
        f = ds.field(p.args[0].name)
        return f.is_null() if p.op == "is_null" else f.is_valid()
    if p.op == "in" and len(p.args) == 1 and _pushed(p.args[0], types):
        col = p.args[0]
        values = [v for v in p.param if v is not None]
        scalars = [_scalar(v, col.type) for v in values]
        if not values or any(s is None for s in scalars):
            return None
        if len({s.type for s in scalars}) != 1:
            return None
        return ds.field(col.name).isin(pa.array(values, scalars[0].type))
    if p.op not in _OPS or len(p.args) != 2:
        return None
    a, b, op = p.args[0], p.args[1], p.op
    if isinstance(a, Lit):
        a, b, op = b, a, _FLIP[op]
    if not _pushed(a, types) or not isinstance(b, Lit) or b.value is None or \
            b.type.kind != a.type.kind:
        return None
    s = _scalar(b.value, a.type)
    return None if s is None else _OPS[op](ds.field(a.name), s)


def _pushed(e: Expr, types: dict[str, SqlType]) -> bool:
    return isinstance(e, Col) and e.name in types and types[e.name].kind in _PUSHED and \
        not (e.type.kind == "timestamp" and e.type.arrow.tz is not None)


def _scalar(v, t: SqlType) -> pa.Scalar | None:
    """A literal's representation value (see expr.Lit) as an Arrow scalar."""
    if t.kind == "int":
        return pa.scalar(v, pa.uint64() if v >= 1 << 63 else pa.int64())
    if t.kind == "date":
        return pa.scalar(v, pa.date32())
    if t.kind == "timestamp":
        return pa.scalar(v, pa.timestamp("us"))
    if t.kind in ("string", "bool") and isinstance(v, str | bool):
        return pa.scalar(v)
    return None
