"""Typing rules: each SQL operator or function as a bound Call with DuckDB's result type.

Coercions are explicit nodes (``rescale``, ``decimal_to_float``, ``cast`` ...), so the
evaluator and the fused kernels never guess. Decimals add and subtract at the larger scale
and multiply by adding scales, exactly, in int64 (overflow is an error, never a wrap).

>>> from mapdb.query.expr import Col, Lit
>>> from mapdb.query.types import DECIMAL, INT64
>>> e = arith("sub", Lit(1, INT64), Col("d", DECIMAL(15, 2)))
>>> str(e), str(e.type)
('(1.00 - d)', 'decimal(16,2)')
"""

from __future__ import annotations

import datetime

import pyarrow as pa

from mapdb.query import intervals, timeofday
from mapdb.query.expr import Agg, Call, Expr, IntLit, Lit
from mapdb.query.types import (
    BOOL,
    DATE,
    DECIMAL,
    FLOAT64,
    INT64,
    INTERVAL,
    MAX_DECIMAL_PRECISION,
    NULL,
    STRING,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UINT64,
    QueryError,
    SqlType,
    common_numeric,
    common_type,
    is_uint64,
)


def to_float(e: Expr, to: SqlType = FLOAT64) -> Expr:
    """A number as a DOUBLE (or as a REAL, ``to`` FLOAT32: integers round to float32
    directly, as DuckDB casts them)."""
    t = e.type
    if t.kind == "float" or t.kind == "null":
        return e if t.kind == "null" or t.arrow == to.arrow else Call("cast", (e,), to)
    if to.arrow != FLOAT64.arrow:
        if t.kind in ("int", "bool"):
            return Call("cast", (e,), to)
        return Call("cast", (to_float(e),), to)
    if t.kind == "decimal":
        if t.wide:
            return Call("cast", (e,), FLOAT64)
        return Call("decimal_to_float", (e,), FLOAT64, t.scale)
    if t.kind in ("int", "bool"):
        return Call("cast", (e,), FLOAT64)
    raise QueryError(f"cannot use {t} as a number")


def to_decimal(e: Expr, scale: int) -> Expr:
    """An int or decimal as a scaled int64 at ``scale``."""
    t = e.type
    if t.kind == "null":
        return Lit(None, DECIMAL(MAX_DECIMAL_PRECISION, scale))
    if t.kind == "int":
        src = Call("cast", (e,), INT64) if t.arrow != INT64.arrow else e
        out_t = DECIMAL(MAX_DECIMAL_PRECISION, scale)
        if isinstance(src, Lit):
            return Lit(None if src.value is None else src.value * 10 ** scale, out_t)
        return Call("rescale", (src,), out_t, scale) if scale else _retype(src, out_t)
    if t.kind == "decimal":
        if t.wide:
            raise QueryError("arithmetic on a SUM of decimals is done in double; cast it")
        if t.scale == scale:
            return e
        if t.scale > scale:
            raise QueryError("internal: decimal scale can only go up")
        out_t = DECIMAL(MAX_DECIMAL_PRECISION, scale)
        if isinstance(e, Lit):
            return Lit(None if e.value is None else e.value * 10 ** (scale - t.scale), out_t)
        return Call("rescale", (e,), out_t, scale - t.scale)
    raise QueryError(f"cannot use {t} as a decimal")


def _retype(e: Expr, t: SqlType) -> Expr:
    """Same representation, new type (an int64 read as a scale-0 decimal)."""
    if isinstance(e, Lit):
        return Lit(e.value, t)
    return Call("retype", (e,), t)


def _is_wide(e: Expr) -> bool:
    return e.type.kind == "decimal" and e.type.wide


def _scale(t: SqlType) -> int:
    return t.scale if t.kind == "decimal" else 0


def to_wide(e: Expr, scale: int) -> Expr:
    """An integer or decimal as DECIMAL(38, scale): a decimal128, computed exactly
    (``mapdb.query.exact``)."""
    t = DECIMAL(38, scale)
    if e.type == t:
        return e
    if e.type.kind == "null" or (isinstance(e, Lit) and e.value is None):
        return Lit(None, t)
    if e.type.kind not in ("int", "decimal"):
        raise QueryError(f"cannot use {e.type} as a decimal")
    return Call("exact_rescale", (e,), t)


def _exact_arith(op: str, a: Expr, b: Expr) -> Expr:
    """DECIMAL(38, s) / HUGEINT arithmetic with an integer or decimal, exactly as DuckDB
    (in int128): + - % at the larger scale, * at the sum of the scales."""
    sa, sb = _scale(a.type), _scale(b.type)
    if op == "intdiv":
        if max(sa, sb) == 0:  # HUGEINT // is integer division, DECIMAL(38, 0) // DOUBLE's:
            raise QueryError("// on a HUGEINT or DECIMAL(38, 0) (a SUM) is not supported; "
                             "use / or CAST")  # (mapdb types both as DECIMAL(38, 0))
        return Call("intdiv", (to_float(a), to_float(b)), FLOAT64)
    s = sa + sb if op == "mul" else max(sa, sb)
    if s > 38:
        raise QueryError(f"multiplication of decimals needs scale {s}, over 38 (DuckDB: "
                         f"Out of Range Error)")
    p = _decimal_result(op, a, b)[0]
    return Call("exact_" + op, (a, b), DECIMAL(max(p, s, MAX_DECIMAL_PRECISION + 1), s))


_INT_PRECISION = {8: 3, 16: 5, 32: 10, 64: 19}  # DuckDB: an integer as a DECIMAL(p, 0)


def _decimal_shape(e: Expr) -> tuple[int, int]:
    """(precision, scale) of an operand as DuckDB sees it beside a decimal: an integer
    column as DECIMAL(3/5/10/19, 0) by its width (UBIGINT 20), an integer literal as an
    INTEGER (10 digits) or BIGINT (19)."""
    t = e.type
    if t.kind == "decimal":
        return t.precision, t.scale
    if isinstance(e, Lit) and t.kind == "int":
        v = e.value or 0
        return (10 if -(1 << 31) <= v < (1 << 31) else 19 if -(1 << 63) <= v < (1 << 63)
                else 20), 0
    if t.kind == "int":
        if is_uint64(t):
            return 20, 0
        return _INT_PRECISION[t.arrow.bit_width], 0
    return 1, 0  # NULL


def _decimal_result(op: str, a: Expr, b: Expr) -> tuple[int, int]:
    """DuckDB's DECIMAL(p, s) of ``a op b`` (checked with the duckdb module): + and - one
    integer digit more than the larger operand's, * the sum of the precisions (at most 18
    when both fit 18, else 38), % the larger precision; the scale the larger one (* their
    sum)."""
    (pa_, sa), (pb, sb) = _decimal_shape(a), _decimal_shape(b)
    if op in ("add", "sub"):
        s = max(sa, sb)
        p = max(pa_ - sa, pb - sb) + s + 1
    elif op == "mul":
        s = sa + sb
        p = pa_ + pb
        if pa_ <= MAX_DECIMAL_PRECISION and pb <= MAX_DECIMAL_PRECISION:
            p = min(p, MAX_DECIMAL_PRECISION)  # (in int64, an overflow an error: DuckDB's)
    else:
        s, p = max(sa, sb), max(pa_, pb)
    return min(max(p, s), 38), s


def arith(op: str, a: Expr, b: Expr) -> Expr:
    ta, tb = a.type, b.type
    if "interval" in (ta.kind, tb.kind):
        return _interval_arith(op, a, b)
    if ta.kind == "date" and tb.kind == "date" and op == "sub":
        return Call("date_diff", (a, b), INT64)
    if op == "add" and {ta.kind, tb.kind} == {"date", "time"}:  # DuckDB: a TIMESTAMP
        d, t = (a, b) if ta.kind == "date" else (b, a)
        return Call("date_plus_time", (d, t), TIMESTAMP)
    if op == "sub" and ta.kind == tb.kind == "timestamp":  # DuckDB: an INTERVAL
        a, b = unify(a, b, "-")
        return Call("timestamp_diff", (a, b), INTERVAL)
    if ta.kind in ("date", "timestamp", "time") or tb.kind in ("date", "timestamp", "time"):
        raise QueryError(f"cannot apply {op} to {ta} and {tb}")
    for t in (ta, tb):
        if t.kind not in ("int", "float", "decimal", "null"):
            raise QueryError(f"cannot apply {op} to {t}")
    if op == "div":  # DOUBLE (REAL / REAL, or a REAL and an integer or decimal: REAL)
        ft = common_numeric(ta, tb) if "float" in (ta.kind, tb.kind) else FLOAT64
        return Call("div", (to_float(a, ft), to_float(b, ft)), ft)
    if (_is_wide(a) or _is_wide(b)) and "float" not in (ta.kind, tb.kind):
        return _exact_arith(op, a, b)
    t = common_numeric(ta, tb)
    if op == "intdiv" and t.kind == "decimal":
        t = FLOAT64  # as DuckDB; % on decimals stays exact (on the common scale)
    if t.kind == "float":
        return Call(op, (to_float(a, t), to_float(b, t)), t)
    if t.kind == "int":
        return _int_arith(op, a, b)
    if ta.kind == "null" and tb.kind == "null":
        return Call(op, (a, b), INT64)
    p, s = _decimal_result(op, a, b)
    if p > MAX_DECIMAL_PRECISION or s > MAX_DECIMAL_PRECISION:
        # DuckDB computes it in int128: exactly here, as a decimal128 (query/exact.py)
        return _exact_arith(op, a, b)
    if op == "mul":
        sa = ta.scale if ta.kind == "decimal" else 0
        sb = tb.scale if tb.kind == "decimal" else 0
        return Call("mul", (to_decimal(a, sa), to_decimal(b, sb)), DECIMAL(p, s))
    return Call(op, (to_decimal(a, t.scale), to_decimal(b, t.scale)), DECIMAL(p, s))


def _int_bits(t: SqlType) -> tuple[int, bool]:
    return t.arrow.bit_width, pa.types.is_signed_integer(t.arrow)


def _int_type(bits: int, signed: bool) -> SqlType:
    return SqlType("int", arrow=getattr(pa, f"{'' if signed else 'u'}int{bits}")())


def _int_common(ta: SqlType, tb: SqlType) -> SqlType | None:
    """DuckDB's type of ``+ - * // %`` on two integer types (None: HUGEINT). The wider of
    one signedness; unsigned beside a wider signed type that signed type, beside a signed
    one as wide or narrower BIGINT (UTINYINT + TINYINT too), UBIGINT beside any signed
    type HUGEINT (checked against DuckDB 2.0's typeof in tests/query/test_int_widths.py)."""
    (wa, sa), (wb, sb) = _int_bits(ta), _int_bits(tb)
    if sa == sb:
        return ta if wa >= wb else tb
    (ws, wu) = (wa, wb) if sa else (wb, wa)
    if wu < ws:
        return ta if sa else tb
    return None if wu == 64 else INT64


def _literal_type(v: int) -> SqlType | None:
    """An integer literal's own type: INTEGER, BIGINT, or (None) HUGEINT."""
    if -(1 << 31) <= v < (1 << 31):
        return _int_type(32, True)
    return INT64 if -(1 << 63) <= v < (1 << 63) else None


def _fits(v: int, t: SqlType) -> bool:
    bits, signed = _int_bits(t)
    return (-(1 << (bits - 1)) <= v < (1 << (bits - 1))) if signed else 0 <= v < (1 << bits)


def _int_result(a: Expr, b: Expr) -> SqlType | None:
    """The integer type DuckDB computes ``a <op> b`` in (None: HUGEINT); a literal takes
    the other operand's type where its value fits (``i8 + 1``: TINYINT)."""
    lit_a = isinstance(a, IntLit) and a.value is not None
    lit_b = isinstance(b, IntLit) and b.value is not None
    ta = _literal_type(a.value) if lit_a else a.type
    tb = _literal_type(b.value) if lit_b else b.type
    if ta is None or tb is None:  # a literal past BIGINT: in a UBIGINT, else a HUGEINT
        if ta is None and tb is None:
            return None
        v, t, lit = (a.value, tb, lit_b) if ta is None else (b.value, ta, lit_a)
        return t if not lit and _fits(v, t) else None
    if lit_a and not lit_b and _fits(a.value, tb):
        return tb
    if lit_b and not lit_a and _fits(b.value, ta):
        return ta
    return _int_common(ta, tb)


def _as_int(e: Expr, t: SqlType) -> Expr:
    if isinstance(e, Lit):
        return Lit(e.value, t)
    return e if e.type == t else Call("cast", (e,), t)


def _int_arith(op: str, a: Expr, b: Expr) -> Expr:
    """``+ - * // %`` on integers in DuckDB's type, so an overflow is an error where
    DuckDB's is (``i8 * 2`` past 127, ``2147483647 + 1``); past UBIGINT with a signed
    type, exactly as a HUGEINT (here DECIMAL(38, 0))."""
    if a.type.kind == "null" or b.type.kind == "null":  # NULL of the other's type
        other = b if a.type.kind == "null" else a
        t = (_literal_type(other.value) or other.type) if isinstance(other, IntLit) \
            else other.type
        return Call(op, (_as_int(a, t), _as_int(b, t)), t)
    t = _int_result(a, b)
    if t is None:
        if op == "intdiv":
            return Call("exact_intdiv", (to_wide(a, 0), to_wide(b, 0)), DECIMAL(38, 0))
        return _exact_arith(op, to_wide(a, 0), to_wide(b, 0))
    return Call(op, (_as_int(a, t), _as_int(b, t)), t)


def _interval_arith(op: str, a: Expr, b: Expr) -> Expr:
    ta, tb = a.type, b.type
    if tb.kind == "interval" and ta.kind in ("date", "timestamp", "time", "null") and \
            op in ("add", "sub"):
        out = TIME if ta.kind == "time" else TIMESTAMP if ta.kind != "timestamp" else ta
        if isinstance(b, Lit) and b.value is not None:
            m, d, us = b.value
            sign = 1 if op == "add" else -1
            return Call("add_interval", (a,), out, (sign * m, sign * d, sign * us))
        if op == "sub":
            b = Call("interval_neg", (b,), INTERVAL)
        return Call("add_interval_col", (a, b), out)
    if ta.kind == "interval" and tb.kind != "interval" and op == "add" and \
            tb.kind != "int" and tb.kind != "float" and tb.kind != "decimal":
        return _interval_arith(op, b, a)
    if ta.kind == tb.kind == "interval" and op in ("add", "sub"):
        return Call("interval_" + op, (a, b), INTERVAL)
    if op == "mul" and {ta.kind, tb.kind} & {"int", "float", "decimal", "null"} and \
            "interval" in (ta.kind, tb.kind):
        iv, k = (a, b) if ta.kind == "interval" else (b, a)
        if k.type.kind not in ("int", "null"):  # in doubles, fractions carried down
            return Call("interval_scale", (iv, cast(k, FLOAT64)), INTERVAL)
        return Call("interval_mul", (iv, k), INTERVAL)
    if op == "div" and ta.kind == "interval" and tb.kind in ("int", "float", "decimal",
                                                             "null"):
        return Call("interval_div", (a, cast(b, FLOAT64)), INTERVAL)  # (DuckDB: a double)
    raise QueryError(f"cannot apply {op} to {ta} and {tb}")


def _sign_op(op: str, a: Expr, what: str) -> Expr:
    """-x and abs(x): the same type (an overflow of it an error)."""
    if not a.type.numeric and a.type.kind != "null":
        raise QueryError(f"{what} needs a number, got {a.type}")
    if _is_wide(a):
        return Call("exact_" + op, (a,), a.type)
    if isinstance(a, IntLit):
        a = Lit(a.value, _literal_type(a.value) or a.type)
    return Call(op, (a,), a.type)


def negate(a: Expr) -> Expr:
    if a.type.kind == "interval":
        return Call("interval_neg", (a,), INTERVAL)
    return _sign_op("neg", a, "unary minus")


def _coerce_literal(e: Expr, t: SqlType) -> Expr:
    """A string literal compared with a date/timestamp/number becomes that type."""
    if not isinstance(e, Lit) or e.type.kind != "string" or e.value is None:
        return e
    if t.kind == "date":
        return Lit(date_value(e.value), DATE)
    if t.kind == "timestamp":
        return Lit(_timestamp_value(e.value), t)
    if t.kind == "time":
        return Lit(timeofday.time_value(e.value), TIME)
    if t.kind == "interval":
        return Lit(intervals.interval_value(e.value), INTERVAL)
    if t.kind == "float":  # x = 'NaN', x < 'inf'
        return Lit(float_value(e.value), FLOAT64)
    return e


def float_value(text: str) -> float:
    """A string as DuckDB casts it to DOUBLE ('NaN', 'inf', '-Infinity', ' 1.5 ', '1e400'
    (inf), '1_000')."""
    try:
        return float(text.strip())
    except ValueError:
        raise QueryError(f"could not convert string {text!r} to DOUBLE") from None


def _timestamp_value(text: str) -> int:
    import datetime
    try:
        ts = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"invalid timestamp {text!r}") from None
    if ts.tzinfo is not None:
        ts = ts.astimezone(datetime.UTC).replace(tzinfo=None)
    return (ts - datetime.datetime(1970, 1, 1)) // datetime.timedelta(microseconds=1)


def unify(a: Expr, b: Expr, what: str) -> tuple[Expr, Expr]:
    """Bring two operands of a comparison (or branches) to one representation."""
    a, b = _coerce_literal(a, b.type), _coerce_literal(b, a.type)
    ta, tb = a.type, b.type
    if ta.kind == "null" or tb.kind == "null":
        return a, b
    if ta.numeric and tb.numeric:
        if "float" in (ta.kind, tb.kind):  # a REAL beside a non-DOUBLE compares as REAL
            ft = common_numeric(ta, tb)
            return to_float(a, ft), to_float(b, ft)
        if _is_wide(a) or _is_wide(b):  # exactly, as decimal128 at one scale
            s = max(_scale(ta), _scale(tb))
            return to_wide(a, s), to_wide(b, s)
        if "decimal" in (ta.kind, tb.kind):
            s = max(ta.scale, tb.scale)
            a2, b2 = to_decimal(a, s), to_decimal(b, s)
            if any(isinstance(x, Lit) and x.value is not None and
                   not -(1 << 63) <= x.value < (1 << 63) for x in (a2, b2)):
                return to_wide(a, s), to_wide(b, s)  # (a BIGINT constant at a decimal's scale)
            return a2, b2
        return a, b
    if {ta.kind, tb.kind} == {"date", "timestamp"}:
        conv = lambda x: Call("date_to_timestamp", (x,), TIMESTAMP) \
            if x.type.kind == "date" else x  # noqa: E731
        a, b = conv(a), conv(b)
        ta, tb = a.type, b.type
    if ta.kind == tb.kind == "timestamp" and ta.arrow != tb.arrow:
        # a TIMESTAMP beside a TIMESTAMPTZ is taken in the session's zone (UTC), as DuckDB
        return (cast(a, TIMESTAMPTZ), b) if tb == TIMESTAMPTZ else (a, cast(b, TIMESTAMPTZ))
    if ta.kind != tb.kind:
        raise QueryError(f"{what}: cannot compare {ta} with {tb}")
    return a, b


_DAY_US = 86_400_000_000
_MIRROR = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


def compare(op: str, a: Expr, b: Expr) -> Expr:
    if a.type.nested or b.type.nested:  # element by element (catalog/nested.py)
        from mapdb.query.catalog import nested
        return nested.compare(op, a, b)
    if a.type.kind == "null" and b.type.kind == "null":
        return Lit(None, BOOL)  # NULL = NULL: Arrow has no kernel for two null arrays
    if isinstance(a, Lit) and not isinstance(b, Lit):
        out = _date_vs_timestamp(_MIRROR[op], b, a)
    else:
        out = _date_vs_timestamp(op, a, b)
    if out is not None:
        return out
    out = _uint64_compare(op, a, b)
    if out is not None:
        return out
    out = _constant_compare(op, a, b)
    if out is not None:
        return out
    a, b = unify(a, b, "comparison")
    return Call(op, (a, b), BOOL)


def _constant_compare(op: str, a: Expr, b: Expr) -> Expr | None:
    """Two numeric constants compared exactly (a BIGINT near 2**63 scaled to meet a
    decimal constant would pass int64); a double among them compares as doubles, NaN
    above every number (DuckDB)."""
    if not (isinstance(a, Lit) and isinstance(b, Lit)) or a.value is None or \
            b.value is None or not (a.type.numeric and b.type.numeric) or \
            a.type.wide or b.type.wide:
        return None
    import fractions

    def value(x: Lit):
        if x.type.kind == "decimal":
            return fractions.Fraction(x.value, 10 ** x.type.scale)
        return x.value

    x, y = value(a), value(b)
    if "float" in (a.type.kind, b.type.kind):
        x, y = float(x), float(y)
        x, y = (x != x, 0.0 if x != x else x), (y != y, 0.0 if y != y else y)
    result = {"eq": x == y, "ne": x != y, "lt": x < y, "le": x <= y, "gt": x > y,
              "ge": x >= y}[op]
    return Lit(result, BOOL)


def _uint64_compare(op: str, a: Expr, b: Expr) -> Expr | None:
    """uint64 against a signed integer or a decimal, exactly (DuckDB's answers): a constant
    becomes a uint64 bound (``u > -1`` is ``u >= 0``, ``u > 1.5`` is ``u > 1``); anything
    else compares as decimal128(38, s). None when no uint64 meets a signed number (Arrow
    would bring both to int64, which cannot hold 2**63 and more)."""
    if is_uint64(b.type) and not is_uint64(a.type):
        return _uint64_compare(_MIRROR[op], b, a)
    tb = b.type
    if not is_uint64(a.type) or tb.kind not in ("int", "decimal") or _is_wide(b) or \
            (tb.kind == "int" and not pa.types.is_signed_integer(tb.arrow)):
        return None  # floats compare as doubles (as DuckDB), narrower unsigned as uint64
    if isinstance(b, Lit):
        if b.value is None:
            return Call(op, (a, Lit(None, UINT64)), BOOL)
        import fractions
        import math
        v = fractions.Fraction(b.value, 10 ** tb.scale if tb.kind == "decimal" else 1)
        if op in ("eq", "ne") and v.denominator != 1:
            op, bound = ("lt" if op == "eq" else "ge"), 0  # never equal: FALSE (or NULL)
        else:
            bound = math.floor(v) if op in ("gt", "le", "eq", "ne") else math.ceil(v)
        if bound < 0:  # every uint64 is above: x >= 0 is TRUE, x < 0 FALSE (NULL stays)
            op, bound = ("ge" if op in ("gt", "ge", "ne") else "lt"), 0
        return Call(op, (a, Lit(bound, UINT64)), BOOL)
    wide = DECIMAL(38, tb.scale if tb.kind == "decimal" else 0)  # decimal128(38, s)
    bb = Call("widen", (b,), wide) if tb.kind == "decimal" else Call("cast", (b,), wide)
    return Call(op, (Call("cast", (a,), wide), bb), BOOL)


def _date_vs_timestamp(op: str, d: Expr, ts: Expr) -> Expr | None:
    """``date_col < TIMESTAMP c`` as a comparison of days, so it stays a range on the
    column (zone maps, fused kernels) instead of converting every row to a timestamp."""
    if d.type.kind != "date" or ts.type.kind != "timestamp" or not isinstance(ts, Lit) \
            or ts.value is None or ts.type.arrow.tz is not None:
        return None
    floor, rem = divmod(ts.value, _DAY_US)
    ceil = floor + (1 if rem else 0)
    if op in ("eq", "ne") and rem:  # a date is never at a time of day: FALSE / TRUE,
        if isinstance(d, Lit):      # and NULL for a NULL date
            return None
        if op == "eq":
            return Call("and", (Call("is_null", (d,), BOOL), Lit(None, BOOL)), BOOL)
        return Call("or", (Call("is_not_null", (d,), BOOL), Lit(None, BOOL)), BOOL)
    day = {"lt": ceil, "ge": ceil, "le": floor, "gt": floor, "eq": floor, "ne": floor}[op]
    return Call(op, (d, Lit(day, DATE)), BOOL)


def _as_bool(x: Expr) -> Expr:
    """An untyped NULL as a boolean NULL (Arrow's Kleene kernels take no null-type input)."""
    if x.type.kind != "null":
        return x
    return Lit(None, BOOL) if isinstance(x, Lit) else Call("cast", (x,), BOOL)


def logic(op: str, a: Expr, b: Expr) -> Expr:
    for x in (a, b):
        if x.type.kind not in ("bool", "null"):
            raise QueryError(f"{op.upper()} needs boolean operands, got {x.type}")
    return Call(op, (_as_bool(a), _as_bool(b)), BOOL)


def logic_not(a: Expr) -> Expr:
    if a.type.kind not in ("bool", "null"):
        raise QueryError(f"NOT needs a boolean operand, got {a.type}")
    a = _as_bool(a)
    if isinstance(a, Call) and a.op == "is_null":
        return Call("is_not_null", a.args, BOOL)
    return Call("not", (a,), BOOL)


def in_list(x: Expr, values: list[Expr]) -> Expr:
    from mapdb.query.optimizer import fold
    types = [x.type] + [v.type for v in values]
    if any(t.kind == "float" for t in types) and all(
            t.kind in ("int", "decimal", "float", "null") for t in types):
        # DuckDB brings x and the whole list to one type: with a DOUBLE among them all
        # compare as DOUBLE (2**63 - 1 IN (2**63, 0e0) is true)
        ft = FLOAT64 if any(t == FLOAT64 for t in types) else common_type(types, "IN")
        x = to_float(x, ft)
        values = [fold(to_float(v, ft)) for v in values]
    if not all(isinstance(v, Lit) for v in values) or x.type.kind == "interval":
        return _or_eq(x, values)  # (intervals: equal on their 30-day total, as DuckDB)
    if is_uint64(x.type) and all(v.type.kind in ("int", "null") for v in values):
        # the integers as they are: the evaluator drops those no uint64 can equal
        return Call("in", (x,), BOOL, tuple(v.value for v in values))
    conv = []
    for v in values:
        xx, vv = unify(x, v, "IN")
        vv = fold(vv)  # a converted constant (0.5 as a double, 1 as a scaled decimal)
        if (xx != x and not isinstance(xx, Lit)) or not isinstance(vv, Lit):
            # the column needs converting: fall back to ORed comparisons
            return _or_eq(x, values)
        conv.append(vv.value)
    if x.type.kind == "null":
        return Lit(None, BOOL)
    return Call("in", (x,), BOOL, tuple(conv))


def _or_eq(x: Expr, values: list[Expr]) -> Expr:
    out = None
    for v in values:
        c = compare("eq", x, v)
        out = c if out is None else logic("or", out, c)
    return out


def like(op: str, x: Expr, pattern: Expr) -> Expr:
    if not isinstance(pattern, Lit) or pattern.type.kind not in ("string", "null"):
        raise QueryError(f"{op.upper()} needs a constant string pattern")
    if x.type.kind not in ("string", "null"):
        raise QueryError(f"{op.upper()} needs a string, got {x.type}")
    if pattern.value is None:
        return Lit(None, BOOL)
    return Call(op, (x,), BOOL, pattern.value)


def case(branches: list[tuple[Expr, Expr]], default: Expr) -> Expr:
    for c, _ in branches:
        if c.type.kind not in ("bool", "null"):
            raise QueryError(f"CASE WHEN needs a boolean condition, got {c.type}")
    values = _beside_uint64([v for _, v in branches] + [default])
    t = common_type([v.type for v in values], "CASE")
    values = [convert(v, t) for v in values]
    args = []
    for (c, _), v in zip(branches, values, strict=False):
        args += [c, v]
    return Call("case", (*args, values[-1]), t)


def convert(e: Expr, t: SqlType) -> Expr:
    """``e`` in the representation of ``t`` (for CASE/COALESCE branches)."""
    if e.type == t or t.kind == "null":
        return e
    if e.type.kind == "null":
        return Lit(None, t)
    if t.kind == "list" and e.type.kind == "list":  # [] beside [1]: the elements converted
        return Call("list_cast", (e,), t)
    if t.kind == "float":
        return to_float(e, t)
    if t.kind == "decimal" and t.wide:  # beside a SUM of decimals, or a uint64
        out = to_wide(e, t.scale)
        return out if out.type == t else _retype(out, t)  # (DuckDB's precision: results)
    if t.kind == "decimal":  # (a DECIMAL(9, 2) beside a DECIMAL(18, 2) is one)
        out = to_decimal(e, t.scale)
        return out if out.type == t else _retype(out, t)
    if t.kind == "int":
        return Call("cast", (e,), t) if e.type.arrow != t.arrow else e
    if t.kind == "timestamp" and e.type.kind == "date":
        e = Call("date_to_timestamp", (e,), TIMESTAMP)
    if t.kind == "timestamp" and e.type.arrow != t.arrow:  # TIMESTAMP -> TIMESTAMPTZ (UTC)
        return Call("cast", (e,), t)
    if e.type.kind == t.kind:
        return e
    raise QueryError(f"cannot convert {e.type} to {t}")


def _beside_uint64(values: list[Expr]) -> list[Expr]:
    """Non-negative integer constants beside a uint64 as uint64 (DuckDB: ``coalesce(u, 0)``
    is a UBIGINT)."""
    if not any(is_uint64(v.type) for v in values):
        return values
    return [Lit(v.value, UINT64) if isinstance(v, Lit) and v.type.kind == "int" and
            v.value is not None and v.value >= 0 else v for v in values]


def coalesce(args: list[Expr]) -> Expr:
    args = _beside_uint64(args)
    t = common_type([a.type for a in args], "COALESCE")
    return Call("coalesce", tuple(convert(a, t) for a in args), t)


def nullif(a: Expr, b: Expr) -> Expr:
    """NULLIF(a, b): a's type (DuckDB: NULLIF(REAL, DOUBLE) is a REAL)."""
    if a.type.kind == "null":  # NULLIF(NULL, b) is NULL
        return Lit(None, b.type if b.type.kind != "null" else a.type)
    aa, bb = unify(a, b, "NULLIF")
    if aa.type != a.type or is_uint64(aa.type) or is_uint64(bb.type):
        # compared as the common type (a UBIGINT beside a signed value by compare's own
        # rules), a as it is
        return case([(compare("eq", a, b), Lit(None, a.type))], a)
    return Call("nullif", (aa, bb), aa.type)


def _placeholder(t: SqlType) -> Expr:
    from mapdb.query.expr import Col
    return Col("element", t)


def cast(e: Expr, t: SqlType, where: tuple[int | None, str] = (None, "")) -> Expr:
    """CAST(e AS t); ``where`` (offset, " (line 1, column 8)") locates a runtime error."""
    s = e.type
    if s.kind == "null" or (isinstance(e, Lit) and e.value is None):  # a typed NULL too
        return Lit(None, t)
    if isinstance(e, Lit) and s.kind == "string":
        if t.kind == "date":
            return _coerce_literal(e, t)
        if t.kind in ("timestamp", "time", "interval"):
            return _coerce_literal(e, t)
    if s == t:  # (a literal cast is a typed constant: CAST(1 AS BIGINT) + i8 is a BIGINT)
        return Lit(e.value, t) if isinstance(e, IntLit) else e
    if s.nested or t.nested:  # INTEGER[] to BIGINT[]: each element cast (catalog/nested.py)
        if s.kind == t.kind == "list":
            cast(Lit(None, NULL) if s.element.kind == "null" else _placeholder(s.element),
                 t.element)  # (refused here if the elements cannot be cast)
            return Call("list_cast", (e,), t)
        if s.kind == t.kind == "map":  # keys and values cast (catalog/maps.py)
            for (_, a), (_, b) in zip(s.fields, t.fields, strict=True):
                if a.kind != "null":
                    cast(_placeholder(a), b)  # (refused here if they cannot be cast)
            return Call("map_cast", (e,), t)
        if s.kind == t.kind == "struct":  # field by field (catalog/nested.py)
            from mapdb.query.catalog import nested
            return nested.struct_cast(e, t, where)
        raise QueryError(f"CAST of {s} to {t} is not supported")
    if t.kind == "string":
        if s.kind == "decimal" and not s.wide:
            return Call("decimal_to_string", (e,), STRING)
        return Call("to_string", (e,), STRING)
    if t.kind == "float":
        if s.kind == "string":
            if isinstance(e, Lit):
                return fold_cast(Lit(float_value(e.value), FLOAT64), t)
            return Call("parse_float", (e,), t)
        return to_float(e, t)
    if t.kind == "decimal":
        return _fits_precision(_cast_decimal(e, t, where), t, where)
    if t.kind == "int":
        if s.kind == "float":
            return Call("float_to_int", (e,), t)
        if s.kind == "decimal" and s.wide:
            r = Call("exact_rescale", (e,), DECIMAL(38, 0)) if s.scale else e
            return Call("cast", (r,), t)
        if s.kind == "decimal":
            r = Call("round_scaled", (e,), DECIMAL(18, 0), s.scale) if s.scale else e
            return Call("cast", (r,), t)
        if s.kind in ("int", "bool", "string"):
            return Call("cast", (e,), t)
    if t.kind == "date" and s.kind in ("timestamp", "string"):
        return Call("cast", (e,), DATE)
    if t == TIMESTAMPTZ:  # DuckDB with its session zone UTC: a TIMESTAMP or DATE is UTC's
        if s.kind == "string":  # (an offset in the text moves the instant to UTC)
            return Call("parse_timestamptz", (e,), t)
        if s.kind == "date":
            e = Call("date_to_timestamp", (e,), TIMESTAMP)
        if e.type.kind == "timestamp":
            return Call("cast", (e,), t)
    if t.kind == "timestamp" and s.kind in ("date", "string", "timestamp"):
        return Call("cast", (e,), TIMESTAMP)  # (a TIMESTAMPTZ: its UTC wall time)
    if t.kind == "bool" and s.kind in ("int", "string"):
        return Call("cast", (e,), BOOL)
    if t.kind == "time" and s.kind == "string":
        return Call("parse_time", (e,), TIME)
    if t.kind == "time" and s.kind == "timestamp":  # (a TIMESTAMPTZ: its UTC wall time)
        return Call("cast", (e,), TIME)
    if t.kind == "interval" and s.kind == "string":
        return Call("parse_interval", (e,), INTERVAL)
    raise QueryError(f"CAST from {s} to {t} is not supported")


def _cast_decimal(e: Expr, t: SqlType, where: tuple) -> Expr:
    s = e.type
    if _is_wide(e) or (t.wide and s.kind in ("int", "decimal")):
        # exactly, rounded half away from zero, checked against t's precision
        return Call("exact_rescale", (e,), t, t.precision)
    if t.wide and s.kind == "string":  # digit by digit, exactly
        return Call("parse_decimal", (e,), t, (t.scale, t.precision, where))
    if t.wide:  # (a DOUBLE: DuckDB's rounding of the double's product not reproduced)
        raise QueryError(f"CAST from {s} to DECIMAL({t.precision},{t.scale}) is not "
                         f"supported (precision over 18: CAST to VARCHAR first)")
    if s.kind == "float":
        return Call("float_to_decimal", (e,), t, (t.scale, t.precision, where))
    if s.kind == "decimal" and s.scale > t.scale:
        return Call("round_scaled", (e,), t, s.scale - t.scale)
    if s.kind in ("int", "decimal"):
        out = to_decimal(e, t.scale)
        return Lit(out.value, t) if isinstance(out, Lit) else Call("retype", (out,), t)
    if s.kind == "string":  # exactly, digit by digit (not through a double)
        return Call("parse_decimal", (e,), t, (t.scale, t.precision, where))
    raise QueryError(f"CAST from {s} to {t} is not supported")


_INT_DIGITS = {8: 3, 16: 5, 32: 10, 64: 20}  # (int64 has 19: 20 for uint64)


def _fits_precision(e: Expr, t: SqlType, where: tuple) -> Expr:
    """CAST(x AS DECIMAL(p, s)): a value of p digits or more is an error, as DuckDB's
    Conversion Error (a decimal128(p, s) cannot hold it). Checked at bind time for a
    constant, else by a ``check_precision`` node (skipped where the source always fits)."""
    limit = 10 ** t.precision
    if isinstance(e, Call) and e.op in ("float_to_decimal", "exact_rescale", "parse_decimal"):
        return e  # (checked as it converts)
    if isinstance(e, Lit):
        if e.value is not None and abs(e.value) >= limit:
            raise QueryError(f"CAST to {t}: value {e.value / 10 ** t.scale:g} is out of range "
                             f"(DuckDB: Conversion Error)")
        return e
    src = e.args[0].type if isinstance(e, Call) else e.type
    digits = None  # the most integer digits a source value has
    if src.kind == "int" and src.arrow.bit_width in _INT_DIGITS:
        digits = _INT_DIGITS[src.arrow.bit_width]
    elif src.kind == "decimal" and src.precision < MAX_DECIMAL_PRECISION and \
            not (isinstance(e, Call) and e.op == "round_scaled"):
        digits = src.precision - src.scale
    if digits is not None and digits <= t.precision - t.scale:
        return e
    return Call("check_precision", (e,), t, (t.precision, where))


def fold_cast(e: Lit, t: SqlType) -> Expr:
    """A float constant as type ``t`` (a float32 rounds)."""
    if t.arrow == FLOAT64.arrow:
        return e
    import numpy as np
    return Lit(float(np.float32(e.value)), t)


def round_(x: Expr, digits: Expr) -> Expr:
    if not isinstance(digits, Lit) or digits.type.kind != "int":
        raise QueryError("ROUND needs a constant integer number of digits")
    n = digits.value
    t = x.type
    if t.kind == "int":  # round(15, -1) is 20
        if n >= 0:
            return x
        out_t = t if pa.types.is_signed_integer(t.arrow) else (   # DuckDB: unsigned BIGINT
            DECIMAL(38, 0) if is_uint64(t) else INT64)
        return Call("exact_round", (x,), out_t, n)
    if t.kind == "float":  # (a REAL stays REAL)
        return Call("round_float", (x,), t, n)
    if t.kind == "decimal":
        if n >= t.scale:
            return x
        if t.wide or n < 0:  # exactly; to tens, hundreds ... at scale 0 (DuckDB)
            return Call("exact_round", (x,), DECIMAL(t.precision, max(n, 0)), n)
        return Call("round_scaled", (x,), DECIMAL(t.precision, n), t.scale - n)
    if t.kind == "null":
        return x
    raise QueryError(f"ROUND needs a number, got {t}")


def abs_(x: Expr) -> Expr:
    return _sign_op("abs", x, "ABS")


_FIELDS = {"year", "month", "day", "quarter", "dow", "isodow", "doy", "week", "hour",
           "minute", "second", "epoch", "isoyear", "millisecond", "microsecond"}
_FIELD_ALIASES = {"dayofweek": "dow", "weekday": "dow", "dayofyear": "doy", "days": "day",
                  "years": "year", "months": "month", "y": "year", "m": "month", "d": "day",
                  "weekofyear": "week", "dayofmonth": "day"}


_TIME_FIELDS = {"hour", "minute", "second", "millisecond", "microsecond", "epoch"}
_INTERVAL_FIELDS = {"year", "month", "day", "hour", "minute", "second", "millisecond",
                    "microsecond", "epoch", "quarter"}


def extract(field: str, x: Expr) -> Expr:
    field = _FIELD_ALIASES.get(field, field)
    if field not in _FIELDS:
        raise QueryError(f"EXTRACT({field.upper()}) is not supported")
    if x.type.kind == "time":
        if field not in _TIME_FIELDS:
            raise QueryError(f"EXTRACT({field.upper()}) of a TIME is not supported "
                             f"(DuckDB has no such part of a time of day)")
        return Call("extract", (x,), FLOAT64 if field == "epoch" else INT64, field)
    if x.type.kind == "interval":
        if field not in _INTERVAL_FIELDS:
            raise QueryError(f"EXTRACT({field.upper()}) of an INTERVAL is not supported")
        return Call("interval_part", (x,), FLOAT64 if field == "epoch" else INT64, field)
    if x.type.kind not in ("date", "timestamp", "null"):
        raise QueryError(f"EXTRACT needs a date, time, timestamp or interval, got {x.type}")
    if x.type.kind == "date" and field in ("hour", "minute", "second", "millisecond",
                                           "microsecond", "epoch"):
        x = Call("date_to_timestamp", (x,), TIMESTAMP)
    return Call("extract", (x,), FLOAT64 if field == "epoch" else INT64, field)


def date_trunc(unit: str, x: Expr) -> Expr:
    unit = unit.lower()
    if unit not in ("year", "quarter", "month", "week", "day", "hour", "minute", "second"):
        raise QueryError(f"date_trunc unit {unit!r} is not supported")
    if x.type.kind not in ("date", "timestamp", "null"):
        raise QueryError(f"date_trunc needs a date or timestamp, got {x.type}")
    return Call("date_trunc", (x,), TIMESTAMP if x.type.kind != "timestamp" else x.type, unit)


def _string(x: Expr, what: str) -> Expr:
    if x.type.kind not in ("string", "null"):
        raise QueryError(f"{what} needs a string, got {x.type}")
    # (a NULL typed NULL, e.g. a key rolled up by ROLLUP: Arrow has no string kernel for it)
    return Lit(None, STRING) if x.type.kind == "null" else x


def string_fn(op: str, x: Expr) -> Expr:
    return Call(op, (_string(x, op.upper()),), STRING)


def length(x: Expr) -> Expr:
    if x.type.kind == "list":  # len(l) / length(l): the list's (catalog/nested.py)
        from mapdb.query.catalog import nested
        return nested.list_length(x)
    return Call("length", (_string(x, "LENGTH"),), INT64)


def substring(x: Expr, start: Expr, count: Expr | None) -> Expr:
    if not isinstance(start, Lit) or (count is not None and not isinstance(count, Lit)):
        raise QueryError("SUBSTRING needs constant start and length")
    return Call("substring", (_string(x, "SUBSTRING"),), STRING,
                (start.value, None if count is None else count.value))


def concat(args: list[Expr], op: str) -> Expr:
    """``concat(...)`` (NULLs read as '') or ``||`` (NULL if any is); other types are cast
    to VARCHAR as CAST does."""
    conv = [a if a.type.kind in ("string", "null") else cast(a, STRING) for a in args]
    conv = [Lit(None, STRING) if a.type.kind == "null" else a for a in conv]
    return Call(op, tuple(conv), STRING)


def concat_ws(args: list[Expr]) -> Expr:
    """``concat_ws(sep, a, b, ...)``: the non-NULL arguments joined by ``sep`` (DuckDB:
    NULLs are skipped with their separator, empty strings kept; a NULL separator gives
    NULL)."""
    if len(args) < 2:
        raise QueryError("concat_ws needs a separator and at least one value")
    return Call("concat_ws", concat(args, "concat_ws").args, STRING)


def canonical_zero(e: Expr) -> Expr:
    """-0.0 and 0.0 are equal in SQL, and so are all NaNs (DuckDB), but Arrow's grouping
    hashes their bits: ``canonical(x)`` is x with -0.0 as 0.0 and one NaN. Applied to float
    GROUP BY keys, DISTINCT columns and COUNT(DISTINCT) arguments."""
    if e.type.kind != "float" or (isinstance(e, Call) and e.op == "canonical"):
        return e
    return Call("canonical", (e,), e.type)


def interval_total(e: Expr) -> Expr:
    """An INTERVAL's 30-day total (DECIMAL(38, 0)): equal for the intervals DuckDB groups
    together."""
    return Call("interval_total", (e,), DECIMAL(38, 0))


def aggregate(fn: str, arg: Expr) -> Agg:
    t = arg.type
    if t.kind == "interval" and fn == "count_distinct":
        # (DuckDB groups intervals by their 30-day total: '1 month' = '30 days')
        return Agg(fn, interval_total(arg), INT64)
    if t.kind == "interval" and fn in ("min", "max"):  # (intervals.extreme)
        return Agg("interval_" + fn, arg, t)
    if t.nested and fn in ("min", "max", "count_distinct"):  # by the order keys
        from mapdb.query.catalog import aggregate as aggregate_functions
        from mapdb.query.catalog import nested
        if fn == "count_distinct":
            return Agg(fn, nested.order_key(arg), INT64)
        return aggregate_functions.extreme_of(fn, arg, nested.order_key(arg))
    if t.nested and fn != "count":
        raise QueryError(f"{fn.upper()} of a {t.kind.upper()} value ({t}) is not supported")
    if fn == "count_distinct":
        return Agg(fn, canonical_zero(arg), INT64)
    if fn == "count":
        return Agg(fn, arg, INT64)
    if fn in ("min", "max"):
        return Agg(fn, arg, t)
    if t.kind not in ("int", "float", "decimal", "null", "bool") or \
            (t.kind == "bool" and fn != "sum"):  # (DuckDB sums booleans, averages none)
        raise QueryError(f"{fn.upper()} needs a number, got {t}")
    if fn == "sum":
        if is_uint64(t):  # DuckDB: HUGEINT; two values can pass 2**64
            return Agg(fn, arg, DECIMAL(38, 0))
        if t.kind == "decimal":
            return Agg(fn, arg, DECIMAL(38, t.scale))
        return Agg(fn, arg, INT64 if t.kind in ("int", "bool") else FLOAT64)
    return Agg(fn, arg, FLOAT64)  # avg, var_*, stddev_*


def date_value(text: str) -> int:
    """Days since 1970-01-01 of an ISO date literal (QueryError if it is not one)."""
    try:
        d = datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"invalid date {text!r}") from None
    return (d - datetime.date(1970, 1, 1)).days
