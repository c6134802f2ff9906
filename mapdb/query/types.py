"""SQL types as the engine computes with them.

Every value inside the engine is an Arrow array of the type's *representation*: decimals are
scaled int64 (exact arithmetic with the scale tracked here, widened to decimal128 only at
the output), dictionary strings stay codes until a string function needs their text.
Semantics follow DuckDB's (the reference for differential tests): integer ``/`` is floating
division, ``//`` and ``%`` truncate toward zero, decimals round half away from zero.

>>> DECIMAL(15, 2).output_type
Decimal128Type(decimal128(15, 2))
>>> common_numeric(INT64, DECIMAL(15, 2))
SqlType(kind='decimal', precision=18, scale=2, arrow=DataType(int64), fields=())
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from mapdb.errors import QueryError

__all__ = ["QueryError", "SqlType"]  # QueryError: mapdb.errors, re-exported for the engine


@dataclass(frozen=True)
class SqlType:
    kind: str  # bool int float decimal date time timestamp string interval null list struct map
    precision: int = 0
    scale: int = 0
    arrow: pa.DataType = None  # type: ignore[assignment] - every constant below sets it
    # list: (("item", element type),); struct: ((field name, type), ...). A nested value's
    # ``arrow`` is its output type all the way down (decimals as decimal128, strings as
    # large_string): the scalar representations are taken out only where an element or a
    # field leaves the value (query/nested.py); map: (("key", type), ("value", type))
    fields: tuple = ()

    @property
    def nested(self) -> bool:
        return self.kind in ("list", "struct", "map")

    @property
    def element(self) -> SqlType:
        """A list's element type."""
        return self.fields[0][1]

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float", "decimal")

    @property
    def wide(self) -> bool:
        """A decimal held as decimal128 (sums), not as a scaled int64."""
        return self.kind == "decimal" and self.precision > MAX_DECIMAL_PRECISION

    @property
    def output_type(self) -> pa.DataType:
        """The Arrow type results carry (decimals widened back to decimal128)."""
        if self.kind == "decimal":
            return pa.decimal128(self.precision, self.scale)
        if self.kind == "string":
            return pa.large_string()
        return self.arrow

    def __str__(self) -> str:
        if self.kind == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.kind == "int":
            return str(self.arrow)
        if self.kind == "list":
            return f"{self.element}[]"
        if self.kind == "struct":
            return "struct(" + ", ".join(f"{n} {t}" for n, t in self.fields) + ")"
        if self.kind == "map":
            return f"map({self.fields[0][1]}, {self.fields[1][1]})"
        return self.kind


BOOL = SqlType("bool", arrow=pa.bool_())
INT64 = SqlType("int", arrow=pa.int64())
UINT64 = SqlType("int", arrow=pa.uint64())  # columns, and integer literals 2**63..2**64-1
FLOAT64 = SqlType("float", arrow=pa.float64())
FLOAT32 = SqlType("float", arrow=pa.float32())  # REAL
DATE = SqlType("date", arrow=pa.date32())
TIMESTAMP = SqlType("timestamp", arrow=pa.timestamp("us"))
# instants in UTC: DuckDB's TIMESTAMP WITH TIME ZONE with its session zone UTC (docs/query.md)
TIMESTAMPTZ = SqlType("timestamp", arrow=pa.timestamp("us", "UTC"))
STRING = SqlType("string", arrow=pa.large_string())
TIME = SqlType("time", arrow=pa.time64("us"))  # microseconds since midnight
# (months, days, microseconds) as DuckDB; Arrow's month_day_nano in arrays (nanoseconds)
INTERVAL = SqlType("interval", arrow=pa.month_day_nano_interval())
NULL = SqlType("null", arrow=pa.null())
MAX_DECIMAL_PRECISION = 18


def DECIMAL(precision: int, scale: int) -> SqlType:
    """Up to 18 digits: a scaled int64; more (to 38, sums): a decimal128(38, scale) inside
    the engine (``query/exact.py``), decimal128(precision, scale) in results."""
    if scale > 38:
        raise QueryError(f"decimal scale {scale} is over 38")
    if precision > 38:
        raise QueryError(f"DECIMAL({precision},{scale}): precision over 38 (DuckDB's "
                         f"largest)")
    if precision > MAX_DECIMAL_PRECISION or scale > MAX_DECIMAL_PRECISION:
        return SqlType("decimal", max(precision, scale), scale, pa.decimal128(38, scale))
    return SqlType("decimal", precision, scale, pa.int64())


def LIST(element: SqlType) -> SqlType:
    """DuckDB's ``element[]``: an Arrow list of the element's output type."""
    if element.kind == "interval":
        raise QueryError("lists of INTERVAL are not supported")
    return SqlType("list", arrow=pa.list_(element.output_type), fields=(("item", element),))


def STRUCT(fields: list[tuple[str, SqlType]]) -> SqlType:
    """DuckDB's ``STRUCT(name type, ...)``: an Arrow struct of the fields' output types."""
    if any(t.kind == "interval" for _, t in fields):
        raise QueryError("structs with an INTERVAL field are not supported")
    return SqlType("struct", arrow=pa.struct([(n, t.output_type) for n, t in fields]),
                   fields=tuple(fields))


def MAP(key: SqlType, value: SqlType) -> SqlType:
    """DuckDB's ``MAP(key, value)``: Arrow's map (a list of key/value entries; keys never
    NULL), of the output types."""
    if "interval" in (key.kind, value.kind):
        raise QueryError("maps of INTERVAL are not supported")
    return SqlType("map", arrow=pa.map_(key.output_type, value.output_type),
                   fields=(("key", key), ("value", value)))


def from_arrow(t: pa.DataType) -> SqlType:
    """The SQL type of a stored or in-memory Arrow column."""
    if pa.types.is_map(t):
        return MAP(from_arrow(t.key_type), from_arrow(t.item_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return LIST(from_arrow(t.value_type))
    if pa.types.is_struct(t):
        return STRUCT([(t.field(i).name, from_arrow(t.field(i).type))
                       for i in range(t.num_fields)])
    if pa.types.is_dictionary(t):
        return from_arrow(t.value_type)
    if pa.types.is_boolean(t):
        return BOOL
    if pa.types.is_integer(t):
        return SqlType("int", arrow=t)
    if pa.types.is_floating(t):
        return SqlType("float", arrow=t)
    if pa.types.is_decimal(t):
        return DECIMAL(t.precision, t.scale)
    if pa.types.is_date(t):
        return DATE
    if pa.types.is_timestamp(t):
        return SqlType("timestamp", arrow=pa.timestamp("us", t.tz))
    if pa.types.is_time(t):
        return TIME
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return INTERVAL
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return STRING
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return SqlType("binary", arrow=pa.large_binary())
    if pa.types.is_null(t):
        return NULL
    raise QueryError(f"columns of type {t} are not supported by the query engine")


def is_uint64(t: SqlType) -> bool:
    """uint64 values reach 2**64-1: Arrow's kernels bring uint64 and int64 to int64, which
    cannot hold 2**63 and more, so comparisons and sums of uint64 take their own paths."""
    return t.kind == "int" and t.arrow == pa.uint64()


def common_numeric(a: SqlType, b: SqlType) -> SqlType:
    """The type two numeric operands are brought to (DuckDB's promotion, simplified)."""
    if a.kind == "null":
        return b
    if b.kind == "null":
        return a
    if "float" in (a.kind, b.kind):
        # DuckDB: REAL beside REAL, an integer or a decimal stays REAL (float32 arithmetic)
        return FLOAT64 if FLOAT64 in (a, b) else FLOAT32
    if "decimal" in (a.kind, b.kind):
        scale = max(a.scale, b.scale)
        if a.wide or b.wide:  # beside a SUM of decimals: DECIMAL(38, s)
            return DECIMAL(38, scale)
        return DECIMAL(MAX_DECIMAL_PRECISION, scale)
    return INT64


def _integer_digits(t: SqlType) -> int:
    """The digits before the point a decimal or integer type holds (UBIGINT: 20)."""
    if t.kind == "decimal":
        return t.precision - t.scale
    return {8: 3, 16: 5, 32: 10}.get(t.arrow.bit_width, 20 if is_uint64(t) else 19)


def _wide_common(known: list[SqlType], what: str) -> SqlType:
    """DuckDB's common type of decimals beside one past 18 digits: the most integer digits,
    then the largest scale that still fits 38 digits (a SUM of DECIMAL(38, 2) beside 0.125
    is a DECIMAL(38, 2): 0.13). A HUGEINT is a DECIMAL(38, 0) here, and DuckDB combines
    it with a decimal differently from a DECIMAL(38, 0): refused."""
    scales = [t.scale if t.kind == "decimal" else 0 for t in known]
    if any(t.wide and t.scale == 0 for t in known) and max(scales) > 0:
        raise QueryError(f"{what}: a HUGEINT or DECIMAL(38, 0) beside a decimal with a "
                         f"scale is not supported; CAST one side")
    extra = max(_integer_digits(t) for t in known)
    scale = min(max(scales), 38 - extra)
    return DECIMAL(min(extra + scale, 38), scale)


def common_type(types: list[SqlType], what: str) -> SqlType:
    """The type of CASE / COALESCE / IN branches."""
    known = [t for t in types if t.kind != "null"]
    if not known:
        return NULL
    kinds = {t.kind for t in known}
    if kinds == {"int"} and any(is_uint64(t) for t in known):
        # DuckDB: UBIGINT beside unsigned integers; beside signed ones HUGEINT, here
        # decimal128(38, 0) (int64 cannot hold 2**63 and more)
        signed = any(pa.types.is_signed_integer(t.arrow) for t in known)
        return DECIMAL(38, 0) if signed else UINT64
    if kinds <= {"int", "decimal"} and any(t.wide for t in known):
        return _wide_common(known, what)
    if kinds == {"decimal"}:
        # DuckDB: the most integer digits and the largest scale; past 18 digits a 128-bit
        # decimal (COALESCE(DECIMAL(10, 3), DECIMAL(18, 2)) is a DECIMAL(19, 3))
        scale = max(t.scale for t in known)
        digits = max(t.precision - t.scale for t in known)
        if digits + scale > MAX_DECIMAL_PRECISION:
            return DECIMAL(min(digits + scale, 38), min(scale, 38 - digits))
    if kinds <= {"int", "float", "decimal"}:
        out = known[0]
        for t in known[1:]:
            out = common_numeric(out, t)
        return INT64 if out.kind == "int" else out
    if kinds <= {"date", "timestamp"} and "timestamp" in kinds:
        # DuckDB: TIMESTAMPTZ beside a TIMESTAMP or a DATE (taken in the session's zone)
        return next((t for t in known if t.kind == "timestamp" and t.arrow.tz is not None),
                    TIMESTAMP)
    if kinds == {"list"}:  # [1] beside [2.5]: DuckDB's common element type
        return LIST(common_type([t.element for t in known], what))
    if len(kinds) == 1 and len(set(known)) > 1 and kinds <= {"struct"}:
        raise QueryError(f"{what}: cannot mix types {', '.join(sorted(str(t) for t in known))}")
    if len(kinds) == 1:
        return known[0]
    raise QueryError(f"{what}: cannot mix types {', '.join(sorted(str(t) for t in known))}")
