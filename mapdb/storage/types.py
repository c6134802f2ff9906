"""Column types: what mapdb stores, how each maps to Arrow, and which buffers it has.

Every stored type has Arrow's memory layout (see docs/format.md):

=================  ===========================  ======================================
mapdb type          exported Arrow type          buffers (besides validity)
=================  ===========================  ======================================
bool                bool                         data: bitmap, Arrow bit order
int8..int64         int8..int64                  data: little-endian values
uint8..uint64       uint8..uint64                data
float32, float64    float32, float64             data
decimal(p,s) p<=18  decimal128(p, s)             data: int64 scaled by 10**s
decimal128(p,s)     decimal128(p, s)             data: 16 bytes a value, Arrow's layout
  19<=p<=38                                      (little-endian int128 scaled by 10**s)
date32              date32                       data: int32 days since 1970-01-01
timestamp[u, tz]    timestamp(u, tz)             data: int64 since the epoch
time64[us]          time64(us)                   data: int64 microseconds since midnight
interval            month_day_nano_interval      data: 16 bytes a value: int32 months,
                                                 int32 days, int64 nanoseconds
string              large_string                 offsets: int64 (n+1), data: UTF-8
dict                dictionary(int32, string)    data: int32 codes into the table-wide
                                                 dictionary (chunk files, append-only)
binary              large_binary                 offsets: int64 (n+1), data: bytes
list<T>             list(T)                      offsets: int32 (n+1); a child column of
                                                 type T (its own files, ``c<k>.0.*``)
map<struct<"key":   map(K, V)                    a list's: offsets, and one child column,
  K, "value": V>>                                the entries' struct (keys never NULL)
struct<"a": T,...>  struct(a: T, ...)            one child column per field (``c<k>.<i>.*``)
=================  ===========================  ======================================

A nested column's own ``.data`` file is empty; its children are columns of their own
files, lengths and null counts (segment.ColumnFiles.children), recursively.

>>> t = ColumnType.from_arrow(pa.decimal128(12, 2))
>>> t.name, t.arrow_type
('decimal(12,2)', Decimal128Type(decimal128(12, 2)))
>>> ColumnType.parse("timestamp[us, UTC]").arrow_type
TimestampType(timestamp[us, tz=UTC])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from mapdb.errors import SchemaError

_FIXED = {
    "bool": pa.bool_(), "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(),
    "int64": pa.int64(), "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(),
    "uint64": pa.uint64(), "float32": pa.float32(), "float64": pa.float64(),
    "date32": pa.date32(),
}
_VARIABLE = {"string": pa.large_string(), "binary": pa.large_binary()}
# fixed-width types added later: after the first codes, so stored codes keep their meaning
_LATER = {"time64": pa.time64("us"), "interval": pa.month_day_nano_interval()}
WIDE_DECIMAL_DTYPE = np.dtype([("lo", "<u8"), ("hi", "<i8")])
INTERVAL_DTYPE = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])
MAX_DECIMAL_PRECISION = 18  # fits a scaled int64
# DuckDB's type names (and common ones) -> mapdb's canonical names: one grammar for every
# place a user writes a type (ColumnType.parse). One clash: DuckDB's INT8 is BIGINT (8
# bytes), mapdb's int8 (manifests, numpy, Arrow) is 8 bits; mapdb's meaning stands.
TYPE_ALIASES = {
    "tinyint": "int8", "int1": "int8", "smallint": "int16", "int2": "int16",
    "short": "int16", "int": "int32", "integer": "int32", "int4": "int32", "signed": "int32",
    "bigint": "int64", "long": "int64", "utinyint": "uint8",
    "usmallint": "uint16", "uinteger": "uint32", "ubigint": "uint64",
    "float": "float32", "float4": "float32", "real": "float32", "double": "float64",
    "float8": "float64", "double precision": "float64", "boolean": "bool", "logical": "bool",
    "varchar": "string", "text": "string", "str": "string", "char": "string",
    "bpchar": "string", "character varying": "string", "utf8": "string",
    "blob": "binary", "bytea": "binary", "bytes": "binary", "varbinary": "binary",
    "date": "date32", "timestamp": "timestamp[us]", "datetime": "timestamp[us]",
    "timestamp_s": "timestamp[s]", "timestamp_ms": "timestamp[ms]",
    "timestamp_ns": "timestamp[ns]", "timestamp_us": "timestamp[us]",
    "timestamptz": "timestamp[us, UTC]", "timestamp with time zone": "timestamp[us, UTC]",
    "time": "time64", "time64[us]": "time64", "interval": "interval",
    "dictionary": "dict", "category": "dict",
}
TYPE_CODES = {name: i for i, name in enumerate(
    [*_FIXED, "decimal", "timestamp", "string", "dict", "binary", *_LATER, "decimal128",
     "list", "struct", "map"], start=1)}
# a map is stored as a list of its entries: one child, struct<"key": K, "value": V>
NESTED = ("list", "struct", "map")
MAX_NESTING = 64  # LIST/STRUCT levels: a child's files are c<k>.<i>.<j>..., within NAME_MAX


@dataclass(frozen=True)
class ColumnType:
    """A stored column type; ``name`` is its canonical text form (used in manifests)."""

    name: str

    @cached_property  # read on every lookup and plan: parse the name once
    def kind(self) -> str:
        return self.name.split("(")[0].split("[")[0].split("<")[0]

    @cached_property
    def is_nested(self) -> bool:
        return self.kind in NESTED

    @cached_property
    def depth(self) -> int:
        """Levels of LIST/STRUCT nesting (0 for other types): the deepest ``<`` of the name
        (field names, JSON strings, skipped)."""
        import json
        deepest = level = i = 0
        name = self.name
        while i < len(name):
            ch = name[i]
            if ch == '"':
                i = json.JSONDecoder().raw_decode(name, i)[1]
                continue
            level += 1 if ch == "<" else -1 if ch == ">" else 0
            deepest = max(deepest, level)
            i += 1
        return deepest

    @cached_property
    def children(self) -> tuple[tuple[str, ColumnType], ...]:
        """A list's element ``(("item", T),)``, a struct's fields; () for other types."""
        if not self.is_nested:
            return ()
        return tuple(_parse_fields(self.name[len(self.kind) + 1:-1], self.kind == "struct"))

    @property
    def code(self) -> int:
        return TYPE_CODES[self.kind]

    @cached_property
    def is_variable(self) -> bool:
        return self.kind in _VARIABLE

    @cached_property
    def is_dictionary(self) -> bool:
        return self.kind == "dict"

    @property
    def byte_width(self) -> int | None:
        """Bytes per value in the data buffer (None for bool bitmaps and variable types)."""
        k = self.kind
        if k in ("decimal", "timestamp"):
            return 8
        if k == "dict":
            return 4
        if k == "bool" or k in _VARIABLE or k in NESTED:
            return None
        if k in _LATER:
            return _LATER[k].bit_width // 8
        if k == "decimal128":
            return 16
        return _FIXED[k].bit_width // 8

    @property
    def storage_numpy_dtype(self) -> np.dtype | None:
        """numpy dtype of the data buffer (None for bool bitmaps and variable types)."""
        k = self.kind
        if k in ("decimal", "timestamp"):
            return np.dtype("<i8")
        if k == "dict":
            return np.dtype("<i4")
        if k == "date32":
            return np.dtype("<i4")
        if k == "time64":
            return np.dtype("<i8")
        if k == "interval":
            return INTERVAL_DTYPE
        if k == "decimal128":
            return WIDE_DECIMAL_DTYPE
        if k == "bool" or k in _VARIABLE or k in NESTED:
            return None
        return np.dtype(_FIXED[k].to_pandas_dtype()).newbyteorder("<")

    @cached_property
    def arrow_type(self) -> pa.DataType:
        k = self.kind
        if k == "list":
            return pa.list_(self.children[0][1].arrow_type)
        if k == "map":
            (_, key), (_, value) = self.children[0][1].children
            return pa.map_(key.arrow_type, value.arrow_type)
        if k == "struct":
            return pa.struct([(n, t.arrow_type) for n, t in self.children])
        if k in _FIXED:
            return _FIXED[k]
        if k in _LATER:
            return _LATER[k]
        if k in _VARIABLE:
            return _VARIABLE[k]
        if k == "dict":
            return pa.dictionary(pa.int32(), pa.large_string())
        if k in ("decimal", "decimal128"):
            p, s = self.decimal_params
            return pa.decimal128(p, s)
        unit, tz = self.timestamp_params
        return pa.timestamp(unit, tz)

    @property
    def decimal_params(self) -> tuple[int, int]:
        p, s = re.fullmatch(r"decimal(?:128)?\((\d+),(-?\d+)\)", self.name).groups()
        return int(p), int(s)

    @property
    def timestamp_params(self) -> tuple[str, str | None]:
        m = re.fullmatch(r"timestamp\[(s|ms|us|ns)(?:, (.+))?\]", self.name)
        return m.group(1), m.group(2)

    @classmethod
    def parse(cls, text: str) -> ColumnType:
        """Parse a type name: the one grammar of ``--schema``, ``schema=``, frame casts and
        manifests. DuckDB's names mean what they mean in DuckDB (INT and INTEGER are int32,
        BIGINT int64, FLOAT and REAL float32, DOUBLE float64, DECIMAL without arguments
        decimal(18,3), TIMESTAMPTZ a UTC timestamp), case-insensitive; mapdb's canonical
        names (manifests: int32, float64, date32, timestamp[us, UTC], dict, ...) too.

        >>> [ColumnType.parse(t).name for t in ("INT", "bigint", "float", "DOUBLE",
        ...                                     "decimal", "numeric(10)", "varchar(20)")]
        ['int32', 'int64', 'float32', 'float64', 'decimal(18,3)', 'decimal(10,0)', 'string']
        >>> ColumnType.parse("timestamp with time zone").name
        'timestamp[us, UTC]'
        """
        if text.startswith(NESTED) and text.endswith(">"):  # list<int32>, struct<"a": ...>
            return cls.nested(text)
        if text.rstrip().endswith("[]"):  # DuckDB's INTEGER[]: a list
            return cls.of("list", [("item", cls.parse(text.rstrip()[:-2]))])
        t = " ".join(text.split())
        low = t.lower()
        low = re.sub(r"^(varchar|char|bpchar|character varying|string|text)\s*\(\s*\d+\s*\)$",
                     r"\1", low)  # a length is accepted and ignored, as in DuckDB
        if low in TYPE_ALIASES:
            t = low = TYPE_ALIASES[low]
        if low in _FIXED or low in _VARIABLE or low in _LATER or low == "dict":
            return cls(low)
        m = re.fullmatch(r"(?:decimal|numeric|dec|decimal128)"
                         r"(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?", low)
        if m:
            p = int(m.group(1)) if m.group(1) else 18
            sc = int(m.group(2)) if m.group(2) else (0 if m.group(1) else 3)
            return cls.decimal(p, sc)
        m = re.fullmatch(r"timestamp\[\s*(s|ms|us|ns)\s*(?:,\s*(.+?)\s*)?\]", t, re.I)
        if m:
            unit, tz = m.group(1).lower(), m.group(2)
            return cls(f"timestamp[{unit}, {tz}]" if tz else f"timestamp[{unit}]")
        raise SchemaError(f"unknown type {text!r} (types: DuckDB's names such as INTEGER, "
                          f"BIGINT, DOUBLE, DECIMAL(p,s), VARCHAR, DATE, TIMESTAMP, "
                          f"TIMESTAMPTZ, BLOB, or int8..uint64, float32/64, string, dict)")

    @classmethod
    def nested(cls, text: str) -> ColumnType:
        """``list<T>`` or ``struct<"name": T, ...>`` (names as JSON strings), checked."""
        kind = text.split("<", 1)[0]
        fields = _parse_fields(text[len(kind) + 1:-1], kind == "struct")
        if kind == "list" and (len(fields) != 1 or fields[0][0] != "item"):
            raise SchemaError(f"{text!r}: a list has one element type")
        if kind == "map" and (len(fields) != 1 or fields[0][1].kind != "struct" or [
                n for n, _ in fields[0][1].children] != ["key", "value"]):
            raise SchemaError(f"{text!r}: a map has one entry type, "
                              f"struct<\"key\": K, \"value\": V>")
        if kind == "struct" and not fields:
            raise SchemaError(f"{text!r}: a struct needs a field")
        return cls.of(kind, fields)

    @classmethod
    def of(cls, kind: str, fields) -> ColumnType:
        """The nested type of ``kind`` over ``fields`` ((name, ColumnType) pairs)."""
        import json
        depth = 1 + max((t.depth for _, t in fields), default=0)  # (from the names)
        if depth > MAX_NESTING:  # (each level adds ".<i>" to its files' names)
            raise SchemaError(f"a type nested {depth} levels deep: mapdb stores up to "
                              f"{MAX_NESTING}")
        if kind in ("list", "map"):
            return cls(f"{kind}<{fields[0][1].name}>")
        return cls("struct<" + ", ".join(f"{json.dumps(n)}: {t.name}" for n, t in fields)
                   + ">")

    @classmethod
    def decimal(cls, precision: int, scale: int) -> ColumnType:
        """decimal(p,s) up to 18 digits (scaled int64, stored narrower where the values
        allow), decimal128(p,s) from 19 to 38 (Arrow's 16-byte layout, as DuckDB's)."""
        if not 1 <= precision <= 38:
            raise SchemaError(f"decimal({precision},{scale}): precision must be 1..38")
        if not 0 <= scale <= precision:
            raise SchemaError(f"decimal({precision},{scale}): scale must be 0..precision")
        if precision > MAX_DECIMAL_PRECISION:
            return cls(f"decimal128({precision},{scale})")
        return cls(f"decimal({precision},{scale})")

    @classmethod
    def from_arrow(cls, t: pa.DataType, dictionary: bool = False) -> ColumnType:
        """The stored type for an Arrow input type (conversions are lossless), or SchemaError."""
        if pa.types.is_dictionary(t):
            if pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type):
                return cls("dict")
            return cls.from_arrow(t.value_type)
        for name, at in _FIXED.items():
            if t == at:
                return cls(name)
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return cls("dict" if dictionary else "string")
        if (pa.types.is_binary(t) or pa.types.is_large_binary(t)
                or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t)):
            return cls("binary")
        if pa.types.is_decimal(t):
            return cls.decimal(t.precision, t.scale)
        if pa.types.is_timestamp(t):
            return cls(f"timestamp[{t.unit}, {t.tz}]" if t.tz else f"timestamp[{t.unit}]")
        if pa.types.is_date64(t):
            return cls("date32")
        if pa.types.is_time(t):  # (nanoseconds: stored if none has a fraction of a us)
            return cls("time64")
        if pa.types.is_interval(t) or pa.types.is_duration(t):
            # DuckDB reads a duration as an INTERVAL (of microseconds)
            if pa.types.is_interval(t) and t != pa.month_day_nano_interval():
                raise SchemaError(f"Arrow type {t} has no mapdb column type (intervals: "
                                  f"month_day_nano_interval or a duration)")
            return cls("interval")
        if pa.types.is_float16(t):
            return cls("float32")
        if pa.types.is_null(t):
            return cls("string")
        if pa.types.is_map(t):  # (before lists: a map is a list in Arrow's type tests)
            return cls.of("map", [("item", cls.of("struct", [
                ("key", cls.from_arrow(t.key_type)), ("value", cls.from_arrow(t.item_type))]))])
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return cls.of("list", [("item", cls.from_arrow(t.value_type))])
        if pa.types.is_struct(t):
            if t.num_fields == 0:
                raise SchemaError("a struct without fields cannot be stored")
            return cls.of("struct", [(t.field(i).name, cls.from_arrow(t.field(i).type))
                                     for i in range(t.num_fields)])
        raise SchemaError(f"Arrow type {t} has no mapdb column type (supported: bool, "
                          f"integers, floats, decimal(p<=18), date, timestamp, string, binary, and "
                          f"lists and structs of them)")


def _parse_fields(text: str, named: bool) -> list[tuple[str, ColumnType]]:
    """The fields of a nested type name's inside: ``T`` (a list's) or ``"a": T, ...``."""
    import json
    if not named:
        return [("item", ColumnType.parse(text))]
    out, i = [], 0
    while i < len(text):
        try:
            name, end = json.JSONDecoder().raw_decode(text, i)
        except ValueError:
            raise SchemaError(f"struct<{text}>: a field name must be a quoted string") from None
        if not isinstance(name, str) or text[end:end + 2] != ": ":
            raise SchemaError(f"struct<{text}>: expected \"name\": type")
        depth, j = 0, end + 2
        while j < len(text) and not (depth == 0 and text[j] == ","):
            if text[j] == '"':  # an inner struct's field name: skipped whole
                j = json.JSONDecoder().raw_decode(text, j)[1]
                continue
            depth += {"<": 1, ">": -1, "[": 1, "]": -1, "(": 1, ")": -1}.get(text[j], 0)
            j += 1
        out.append((name, ColumnType.parse(text[end + 2:j].strip())))
        i = j + 1
        while i < len(text) and text[i] == " ":
            i += 1
    return out


def convert_array(arr: pa.Array, ctype: ColumnType) -> pa.Array:
    """Cast an input array to the Arrow type the stored layout uses (lossless or SchemaError).

    Decimals stay decimal128 here; the writer narrows them to int64.
    """
    target = ctype.arrow_type
    if ctype.is_dictionary:
        target = pa.large_string()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
    if arr.type == target:
        return arr
    if ctype.kind == "interval" and pa.types.is_duration(arr.type):
        return _duration_interval(arr)
    try:
        return arr.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise SchemaError(f"cannot store {arr.type} as {ctype.name}: {e}") from None



def _duration_interval(arr: pa.Array) -> pa.Array:
    """A duration array as month_day_nano intervals of nanoseconds (no months nor days,
    as DuckDB reads durations); a fraction of a microsecond is refused (DuckDB's unit)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = pa.concat_arrays(arr.chunks) if arr.num_chunks else pa.array([], arr.type)
    try:
        us = arr.cast(pa.duration("us"), safe=True)
    except pa.ArrowInvalid as e:
        raise SchemaError(f"cannot store {arr.type} as interval: {e}") from None
    raw = np.zeros(len(us), INTERVAL_DTYPE)
    raw["nanos"] = np.asarray(us.cast(pa.int64()).fill_null(0).to_numpy(
        zero_copy_only=False), np.int64) * 1000
    valid = us.buffers()[0]
    if valid is not None and us.offset:
        valid = pa.py_buffer(np.packbits(np.asarray(us.is_valid().to_numpy(
            zero_copy_only=False)), bitorder="little"))
    return pa.Array.from_buffers(pa.month_day_nano_interval(), len(us),
                                 [valid, pa.py_buffer(raw.tobytes())], us.null_count)
