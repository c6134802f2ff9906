"""Evaluate bound expressions over Arrow arrays (one morsel at a time).

This is the general path: every expression the binder accepts runs here, on zero-copy Arrow
views of the mapped columns, with Arrow's compute kernels (which release the GIL, so morsels
run in parallel). The common scan shapes take the fused Cython kernels instead
(``mapdb.query.fused``); both paths are checked against DuckDB by the same tests.

An expression over one dictionary column is computed once per dictionary entry and then
gathered by code, so ``lower(carrier) = 'aa'`` costs a lookup per row, not a string op.

>>> import pyarrow as pa
>>> from mapdb.query.expr import Col, Lit
>>> from mapdb.query.functions import arith
>>> from mapdb.query.types import INT64
>>> evaluate(arith("div", Col("x", INT64), Lit(2, INT64)), {"x": pa.array([1, 4, None])},
...          3).to_pylist()
[0.5, 2.0, None]
"""

from __future__ import annotations

import datetime
import decimal
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mapdb.query import exact, intervals, timeofday, totext
from mapdb.query.arrays import from_numpy
from mapdb.query.expr import Agg, Call, Col, Expr, Lit
from mapdb.query.types import QueryError, SqlType

Value = pa.Array | pa.Scalar


def scalar(value: object, t: SqlType) -> pa.Scalar:
    if t.kind == "null" or value is None:
        return pa.scalar(None, t.arrow if t.kind != "null" else pa.null())
    if t.kind == "date":
        return pa.scalar(value, pa.int32()).cast(pa.date32())
    if t.kind in ("timestamp", "time"):
        return pa.scalar(value, pa.int64()).cast(t.arrow)
    if t.kind == "interval":
        return intervals.scalar(value)
    return pa.scalar(value, t.arrow)


def evaluate(e: Expr, batch: dict[str, pa.Array], n: int) -> pa.Array:
    """``e`` over the columns of ``batch`` (``n`` rows), as an array of ``e.type.arrow``."""
    try:
        v = _eval(e, batch)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError) as err:
        # overflow in checked arithmetic, an invalid cast, -x of an unsigned x, a constant
        # past int64 (a BIGINT scaled to meet a decimal) ...
        raise QueryError(f"cannot evaluate {e}: {err}") from None
    if isinstance(v, pa.Scalar):
        return pa.repeat(v, n) if v.is_valid or v.type != pa.null() else pa.nulls(n, e.type.arrow)
    return v


def _eval(e: Expr, batch: dict[str, pa.Array]) -> Value:
    if isinstance(e, Col):
        return batch[e.name]
    if isinstance(e, Lit):
        return scalar(e.value, e.type)
    if isinstance(e, Agg):
        raise QueryError(f"aggregate {e} is not allowed here")
    cols = e.columns()
    if len(cols) == 1:
        (name,) = cols
        arr = batch[name]
        if isinstance(arr, pa.DictionaryArray):
            return _over_dictionary(e, name, arr)
    return _call(e, [_eval(a, batch) for a in e.args])


def _over_dictionary(e: Expr, name: str, arr: pa.DictionaryArray) -> pa.Array:
    """Evaluate on the dictionary's values (plus a trailing null for null codes), gather."""
    values = pa.concat_arrays([arr.dictionary, pa.nulls(1, arr.dictionary.type)])
    out = _eval(e, {name: values})
    if isinstance(out, pa.Scalar):
        return pa.repeat(out, len(arr))
    idx = arr.indices
    if idx.null_count:
        idx = pc.fill_null(idx, len(values) - 1)
    return out.take(idx)


def decode(arr: pa.Array) -> pa.Array:
    """Dictionary arrays as plain values (other arrays unchanged)."""
    if isinstance(arr, pa.DictionaryArray):
        return arr.dictionary.take(arr.indices)
    if isinstance(arr, pa.ChunkedArray) and pa.types.is_dictionary(arr.type):
        return pa.chunked_array([decode(c) for c in arr.chunks], arr.type.value_type)
    return arr


def combine_dictionary(chunks: list[pa.DictionaryArray]) -> pa.DictionaryArray | None:
    """One dictionary array of ``chunks`` when they share one dictionary (the same
    buffers: a column's chunks from one table version), else None.

    >>> d = pa.array(["a", "b"])
    >>> one = pa.DictionaryArray.from_arrays(pa.array([1, 0], pa.int32()), d)
    >>> two = pa.DictionaryArray.from_arrays(pa.array([None, 1], pa.int32()), d)
    >>> combine_dictionary([one, two]).to_pylist()
    ['b', 'a', None, 'b']
    """
    if not chunks or not all(isinstance(c, pa.DictionaryArray) for c in chunks):
        return None  # (an outer join's padding is a plain NULL column)
    first = chunks[0].dictionary
    key = [b.address if b is not None else 0 for b in first.buffers()]
    for c in chunks[1:]:
        d = c.dictionary
        if len(d) != len(first) or [b.address if b is not None else 0
                                    for b in d.buffers()] != key:
            return None
    indices = pa.concat_arrays([c.indices for c in chunks]) if len(chunks) > 1 else \
        chunks[0].indices
    return pa.DictionaryArray.from_arrays(indices, first)


def _plain(v: Value) -> Value:
    return decode(v) if isinstance(v, pa.Array) else v


_CMP = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "le": pc.less_equal,
        "gt": pc.greater, "ge": pc.greater_equal}
_MAGNITUDE = np.int64(0x7FFF_FFFF_FFFF_FFFF)


# -- floats: DuckDB's total order -------------------------------------------------------
# DuckDB orders doubles totally: NaN equals NaN and sits above +inf, -0.0 equals 0.0.
# IEEE comparisons (Arrow's, numpy's) say NaN is unordered and unequal to itself; Arrow's
# hashing tells -0.0 from 0.0 and a NaN from a NaN with another sign or payload. So every
# comparison, sort key, group key and join key of a float goes through one of these.

def has_nan(v: Value) -> bool:
    """Whether a float array or scalar holds a NaN."""
    if isinstance(v, pa.Scalar):
        return v.is_valid and v.as_py() != v.as_py()
    if v.null_count == len(v):
        return False
    return bool(pc.any(pc.is_nan(v)).as_py())


def canonical_float(v: Value) -> Value:
    """A float array (or scalar) with -0.0 as 0.0 and every NaN as one positive NaN, so
    equal values (in SQL) have equal bits: for hashing, grouping, DISTINCT and join keys.
    Other types are returned as they are.

    >>> canonical_float(pa.array([-0.0, float("nan"), None, 1.5])).to_pylist()
    [0.0, nan, None, 1.5]
    """
    if not pa.types.is_floating(v.type):
        return v
    x = pc.add(v, pa.scalar(0.0, v.type))  # -0.0 + 0.0 is 0.0
    if has_nan(x):
        x = pc.if_else(pc.is_nan(x), pa.scalar(float("nan"), v.type), x)
    return x


def float_key(v: Value, zero: bool = True) -> Value:
    """int64 keys that order a float array (or scalar) as DuckDB orders it: -inf < ... <
    -0.0 <= 0.0 < ... < +inf < NaN, NULL kept NULL. With ``zero`` (comparisons, sorting)
    -0.0 and 0.0 have one key; without, -0.0 is just below 0.0 and ``from_float_key``
    gives the value back exactly (min/max).

    >>> float_key(pa.array([float("nan"), float("inf"), -1.0, 0.0, -0.0, None])).to_pylist()
    [9221120237041090560, 9218868437227405312, -4607182418800017409, 0, 0, None]
    """
    if isinstance(v, pa.Scalar):
        return float_key(pa.array([v.as_py()], v.type), zero)[0].cast(pa.int64())
    if isinstance(v, pa.ChunkedArray):
        return pa.chunked_array([float_key(c, zero) for c in v.chunks], pa.int64())
    x = v.cast(pa.float64()) if v.type != pa.float64() else v
    if zero:
        x = pc.add(x, 0.0)
    if has_nan(x):
        x = pc.if_else(pc.is_nan(x), float("nan"), x)
    nulls = None
    if x.null_count:
        nulls = np.asarray(x.is_null().to_numpy(zero_copy_only=False))
        x = x.fill_null(0.0)
    bits = np.asarray(x.to_numpy(zero_copy_only=False)).view(np.int64)
    return from_numpy(bits ^ ((bits >> 63) & _MAGNITUDE), nulls)


def from_float_key(k: pa.Array, t: pa.DataType) -> pa.Array:
    """The floats (of type ``t``) whose ``float_key(..., zero=False)`` is ``k``."""
    if isinstance(k, pa.ChunkedArray):
        return pa.chunked_array([from_float_key(c, t) for c in k.chunks], t)
    nulls = None
    if k.null_count:
        nulls = np.asarray(k.is_null().to_numpy(zero_copy_only=False))
        k = k.fill_null(0)
    key = np.asarray(k.to_numpy(zero_copy_only=False), np.int64)
    out = from_numpy((key ^ ((key >> 63) & _MAGNITUDE)).view(np.float64), nulls)
    return out if t == pa.float64() else out.cast(t)


def _compare(op: str, e: Call, a: Value, b: Value) -> Value:
    if e.args[0].type.kind == "interval":  # (Arrow has no comparison of intervals)
        return intervals.compare(_CMP[op], a, b)
    if e.args[0].type.kind == "float" and e.args[1].type.kind == "float" and (
            has_nan(a) or has_nan(b)):
        # NaN: IEEE says unordered, DuckDB says equal to NaN and above every number
        return _CMP[op](float_key(a), float_key(b))
    return _CMP[op](a, b)
_ARITH = {"add": pc.add_checked, "sub": pc.subtract_checked, "mul": pc.multiply_checked}


_OVERFLOW_OPS = {"add": "addition", "sub": "subtraction", "mul": "multiplication",
                 "intdiv": "division", "mod": "modulo", "neg": "negation", "abs": "abs"}


def _call(e: Call, a: list[Value]) -> Value:
    if e.op in _OVERFLOW_OPS and e.type.kind == "int":
        try:
            return _call_op(e, a)
        except pa.ArrowInvalid as err:
            if "overflow" not in str(err):
                raise
            name = str(e.type.arrow).upper()  # DuckDB: "Overflow in addition of INT8 (...)"
            raise QueryError(f"Overflow in {_OVERFLOW_OPS[e.op]} of {name}: {e}") from None
    return _call_op(e, a)


def _call_op(e: Call, a: list[Value]) -> Value:
    op, t = e.op, e.type
    a = [_plain(x) for x in a]
    if op in _CMP:
        return _compare(op, e, a[0], a[1])
    if op in _ARITH:
        if t.kind == "float":
            return getattr(pc, op if op != "sub" else "subtract")(*a) if op != "mul" \
                else pc.multiply(*a)
        return _ARITH[op](*a)
    if op == "div":
        return _float_divide(a[0], a[1])
    if op == "intdiv":
        _no_zero_divisor(a[0], a[1], e)
        if t.kind == "float":  # DuckDB: // on doubles (and decimals) is plain division
            return pc.divide(a[0], a[1])
        return pc.divide_checked(a[0], a[1])
    if op == "mod":
        if t.kind == "float":  # fmod: x % 0.0 is NaN
            return pc.remainder(a[0], a[1])
        _no_zero_divisor(a[0], a[1], e)
        d = a[1]
        if pa.types.is_signed_integer(d.type):  # MIN % -1 is 0, not an overflow (DuckDB)
            d = pc.if_else(pc.equal(d, -1), pa.scalar(1, d.type), d)
        return pc.remainder_checked(a[0], d)
    if op == "neg":
        if pa.types.is_unsigned_integer(a[0].type):  # DuckDB: -0 is 0, else an overflow
            nonzero = pc.not_equal(a[0], pa.scalar(0, a[0].type))
            hit = nonzero.as_py() if isinstance(nonzero, pa.Scalar) else \
                pc.any(nonzero).as_py()
            if hit:
                raise QueryError(f"Overflow in negation of {str(t.arrow).upper()}: {e}")
            return a[0]
        return pc.negate_checked(a[0]) if t.kind != "float" else pc.negate(a[0])
    if op == "abs":
        return pc.abs_checked(a[0]) if t.kind != "float" else pc.abs(a[0])
    if op == "and":
        return pc.and_kleene(a[0], a[1])
    if op == "or":
        return pc.or_kleene(a[0], a[1])
    if op == "not":
        return pc.invert(a[0])
    if op == "is_null":
        return pc.is_null(a[0])
    if op == "is_not_null":
        return pc.is_valid(a[0])
    if op == "in":
        params = e.param
        if pa.types.is_integer(e.args[0].type.arrow):  # 100000 can't be in a uint16 column
            info = np.iinfo(e.args[0].type.arrow.to_pandas_dtype())
            params = tuple(v for v in params if v is None or info.min <= v <= info.max)
        values = pa.array(params, type=e.args[0].type.arrow) if e.args[0].type.kind not in (
            "date", "timestamp") else pa.array(e.param, pa.int64()).cast(
                pa.int32() if e.args[0].type.kind == "date" else pa.int64()).cast(
                    e.args[0].type.arrow)
        x = a[0]
        if e.args[0].type.kind == "float":
            # is_in hashes the bits: -0.0 would not find 0.0, nor a NaN another NaN's
            # bits, though both pairs are equal in SQL
            x, values = canonical_float(x), canonical_float(values)
        out = pc.is_in(x, value_set=values, skip_nulls=True)
        # SQL: x IN (...) is NULL when x is NULL, or when no match and the list has a NULL
        out = pc.if_else(pc.is_valid(a[0]), out, pa.scalar(None, pa.bool_()))
        if e.param and None in e.param:
            out = pc.if_else(out, True, pa.scalar(None, pa.bool_()))
        return out
    if op in ("like", "ilike"):
        # SQL LIKE has no escape character unless ESCAPE is given; Arrow's has "\\"
        return pc.match_like(a[0], e.param.replace("\\", "\\\\"), ignore_case=op == "ilike")
    if op == "case":
        return _case(a, t)
    if op == "coalesce":
        return pc.coalesce(*a)
    if op == "nullif":
        # NULLIF(x, NULL) is x: an unknown comparison does not null the value
        return pc.if_else(pc.fill_null(_compare("eq", e, a[0], a[1]), False), scalar(None, t),
                          a[0])
    if op == "retype":
        return a[0]
    if op == "canonical":  # a float group/distinct/join key: -0.0 as 0.0, one NaN
        return canonical_float(a[0])
    if op.startswith("exact_"):  # DECIMAL(38, s) / HUGEINT, exactly (Python integers)
        fast = _narrow_exact(op[6:], e, a)
        if fast is not None:
            return fast
        return exact.compute(op[6:], a, [x.type for x in e.args], t, e.param)
    if op == "widen":  # scaled int64 decimal -> decimal128(38, s) (against a uint64)
        return to_decimal128(a[0], e.args[0].type.scale)
    if op == "rescale":  # decimal scale up by 10**param
        return pc.multiply_checked(a[0], 10 ** e.param)
    if op == "round_scaled":  # scaled int: drop param digits, rounding half away from zero
        return round_scaled(a[0], e.param)
    if op == "round_float":  # (a REAL in double, then back: DuckDB)
        x = a[0] if a[0].type == pa.float64() else pc.cast(a[0], pa.float64())
        out = round_double(x, e.param)
        return out if t.arrow == pa.float64() else pc.cast(out, t.arrow)
    if op == "decimal_to_float":  # (unsafe: int64 over 2**53 rounds to the nearest double)
        return pc.divide(pc.cast(a[0], pa.float64(), safe=False), float(10 ** e.param))
    if op == "float_to_decimal":  # CAST(double AS DECIMAL(p, s)): NaN, inf, p digits: error
        scale, digits, where = e.param
        x = pc.round(pc.multiply(a[0], float(10 ** scale)), ndigits=0,
                     round_mode="half_towards_infinity")
        _in_range(pc.less(pc.abs(x), float(10 ** digits)), t, where)
        return pc.cast(x, pa.int64())
    if op == "check_precision":  # CAST(x AS DECIMAL(p, s)): |scaled x| < 10**p
        digits, where = e.param
        _in_range(pc.less(pc.abs_checked(a[0]), 10 ** digits), t, where)
        return a[0]
    if op == "parse_decimal":  # CAST(string AS DECIMAL(p, s)): exact, half away from zero
        return _as_scaled(a[0], *e.param, t)
    if op == "float_to_int":
        # DuckDB casts double -> integer rounding half to even (nearbyint)
        return pc.cast(pc.round(a[0], ndigits=0, round_mode="half_to_even"), t.arrow)
    if op == "cast":
        # to a float, values round (Arrow's safe cast refuses ints over 2**53)
        return pc.cast(a[0], t.arrow, safe=t.kind != "float")
    if op == "parse_float":  # DuckDB trims spaces around the number
        return pc.cast(pc.utf8_trim_whitespace(a[0]), t.arrow)
    if op == "decimal_to_string":
        src = e.args[0].type
        return _as_text(a[0], lambda x: totext.decimal_text(x, src.precision, src.scale))
    if op == "to_string":
        return to_text(a[0])
    if op == "date_to_timestamp":
        return pc.cast(a[0], pa.timestamp("us"))
    if op == "parse_timestamptz":
        return _parse_timestamptz(a[0])
    if op == "add_interval":
        if pa.types.is_null(a[0].type):  # NULL + INTERVAL (DuckDB: an untyped NULL is
            return pc.cast(a[0], t.arrow)  # refused; here e.g. a rolled-up key)
        if t.kind == "time":
            return timeofday.add_micros(a[0], e.param[2])
        return intervals.add_interval(a[0], e.param)
    if op == "add_interval_col":
        if pa.types.is_null(a[0].type):
            return pc.cast(a[0], t.arrow)
        return intervals.add_to(a[0], a[1], t.kind)
    if op in ("interval_add", "interval_sub", "interval_neg"):
        return intervals.combine(op[9:], *a)
    if op == "interval_mul":
        return intervals.multiply(a[0], a[1])
    if op == "interval_total":  # GROUP BY, DISTINCT, COUNT(DISTINCT) of intervals
        return intervals.total(a[0])
    if op in ("interval_scale", "interval_div"):  # * double, / number
        return intervals.scale(a[0], a[1], op == "interval_div")
    if op == "interval_part":
        return intervals.part(a[0], e.param)
    if op == "timestamp_diff":
        return intervals.timestamp_diff(a[0], a[1])
    if op == "interval_age":
        return intervals.age(a[0], a[1])
    if op == "parse_time":
        return timeofday.parse_times(a[0])
    if op == "parse_interval":
        return _parse_intervals(a[0])
    if op == "date_plus_time":
        return pc.cast(pc.add(_micros(a[0]), pc.cast(a[1], pa.int64())), pa.timestamp("us"))
    if op == "date_diff":
        return pc.cast(pc.subtract(pc.cast(a[0], pa.int32()), pc.cast(a[1], pa.int32())),
                       pa.int64())
    if op == "extract":
        return extract(a[0], e.param)
    if op == "date_trunc":
        return date_trunc(a[0], e.param)
    if op == "lower":
        return pc.utf8_lower(a[0])
    if op == "upper":
        return pc.utf8_upper(a[0])
    if op == "length":
        return pc.cast(pc.utf8_length(a[0]), pa.int64())
    if op == "substring":
        return _substring(a[0], *e.param)
    if op in ("concat", "concat_op"):  # concat() reads NULL as ''; || gives NULL
        parts = [pc.cast(x, pa.large_string()) for x in a] + [pa.scalar("", pa.large_string())]
        if op == "concat":
            return pc.binary_join_element_wise(*parts, null_handling="replace",
                                               null_replacement="")
        return pc.binary_join_element_wise(*parts, null_handling="emit_null")
    if op == "concat_ws":
        return _concat_ws(*[pc.cast(x, pa.large_string()) for x in a])
    from mapdb.query import catalog  # (functions of the catalog: query/catalog/)
    if op in catalog.KERNELS:
        return catalog.run(e, a)
    raise QueryError(f"internal: no evaluator for {op}")


def round_double(x: Value, digits: int) -> Value:
    """DuckDB's round(DOUBLE, n): the double's exact value rounded half away from zero to
    n decimals (2.675 is 2.67499999... : 2.67; 0.125 is a tie: 0.13; a denormal to tens:
    0.0), the nearest double of that; a result past the largest double is x itself.
    Fast path x * 10**n in doubles; values near a tie, tiny or huge go exactly (Decimal)."""
    if isinstance(x, pa.Scalar):
        return round_double(pa.array([x.as_py()], pa.float64()), digits)[0]
    if isinstance(x, pa.ChunkedArray):
        return pa.chunked_array([round_double(c, digits) for c in x.chunks], pa.float64())
    nulls = np.asarray(x.is_null().to_numpy(zero_copy_only=False), bool) if x.null_count \
        else None
    v = np.asarray(x.fill_null(0.0).to_numpy(zero_copy_only=False), np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        m = 10.0 ** abs(digits)
        y = v * m if digits >= 0 else v / m
        t = np.trunc(y)
        frac = np.abs(y - t)
        r = np.where(frac >= 0.5, t + np.sign(y), t)  # (t keeps -0.0)
        out = r / m if digits >= 0 else r * m
        slow = (np.abs(frac - 0.5) < 1e-6) | ~np.isfinite(out) | (
            (np.abs(v) < 1e-250) & (v != 0)) | (abs(digits) > 15)
    slow &= np.isfinite(v)
    for i in np.flatnonzero(slow):
        out[i] = _round_exact(float(v[i]), digits)
    out = np.where(np.isfinite(v), out, v)  # inf, NaN as they are
    return from_numpy(out, nulls)


def _round_exact(x: float, digits: int) -> float:
    import decimal
    with decimal.localcontext() as ctx:
        ctx.prec = 1200
        q = decimal.Decimal(x).quantize(decimal.Decimal(1).scaleb(-digits),
                                        rounding=decimal.ROUND_HALF_UP)
    out = float(q)
    if out == 0.0:
        return math.copysign(0.0, x)
    return out if math.isfinite(out) else x


def _as_scaled(v: Value, scale: int, digits: int, where: tuple, t: SqlType) -> Value:
    """Strings as scaled int64 decimals (DuckDB: spaces and digit separators allowed,
    extra digits rounded half away from zero; anything else, or p digits, an error)."""
    import decimal
    scalar = isinstance(v, pa.Scalar)
    texts = [v.as_py()] if scalar else (v.to_pylist() if not isinstance(
        v, pa.ChunkedArray) else [x for c in v.chunks for x in c.to_pylist()])
    unit, limit, out = decimal.Decimal(1).scaleb(-scale), 10 ** digits, []
    with decimal.localcontext() as ctx:
        ctx.prec = 100
        for text in texts:
            if text is None:
                out.append(None)
                continue
            try:
                d = decimal.Decimal(text.strip())
                if not d.is_finite():
                    raise ValueError(text)
                n = int(d.quantize(unit, rounding=decimal.ROUND_HALF_UP).scaleb(scale))
            except (ValueError, ArithmeticError):
                err = QueryError(f"could not convert string {text!r} to {t} (DuckDB: "
                                 f"Conversion Error){where[1]}")
                err.position = where[0]
                raise err from None
            if not -limit < n < limit:
                _in_range(pa.scalar(False), t, where)
            out.append(n)
    arr = exact.array(out, t, "CAST", digits) if t.wide else pa.array(out, pa.int64())
    return arr[0] if scalar else arr


def _in_range(ok: Value, t: SqlType, where: tuple[int | None, str]) -> None:
    """A CAST to DECIMAL(p, s) whose values do not all fit (``ok`` false somewhere) is an
    error, as DuckDB's Conversion Error (NULLs fit)."""
    if isinstance(ok, pa.Scalar):
        bad = ok.is_valid and not ok.as_py()
    else:
        bad = pc.all(ok).as_py() is False  # (NULLs skipped; NULL for no rows)
    if bad:
        position, text = where
        err = QueryError(f"CAST to {t}: a value is out of range (DuckDB: Conversion "
                         f"Error){text}")
        err.position = position  # (located: the binder adds no second position)
        raise err


def _narrow_exact(op: str, e: Call, a: list[Value]) -> Value | None:
    """``+ - *`` of two int64 operands (integers, scaled decimals) whose DuckDB type is a
    decimal of 19 digits or more: in int64 with overflow checks, widened to decimal128 at
    the end; None (the exact path in Python integers) when a value overflows int64 or an
    operand is not int64."""
    if op == "rescale":
        return _fast_rescale(e, a[0])
    if op not in ("add", "sub", "mul") or not all(
            pa.types.is_integer(x.type) for x in a) or not all(
            x.type.kind == "int" or (x.type.kind == "decimal" and not x.type.wide)
            for x in e.args):
        return None
    scales = [x.type.scale if x.type.kind == "decimal" else 0 for x in e.args]
    try:
        a = [x if x.type == pa.int64() else pc.cast(x, pa.int64()) for x in a]  # (checked)
        if op == "mul":
            out = pc.multiply_checked(a[0], a[1])
        else:
            top = max(scales)
            x, y = (pc.multiply_checked(v, 10 ** (top - s)) if s < top else v
                    for v, s in zip(a, scales, strict=True))
            out = pc.add_checked(x, y) if op == "add" else pc.subtract_checked(x, y)
    except pa.ArrowInvalid:  # an int64 overflow: the exact path
        return None
    return to_decimal128(out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out,
                         e.type.scale)


def _fast_rescale(e: Call, x: Value) -> Value | None:
    """An integer or decimal column as DECIMAL(38, s) at a scale at least its own, with
    Arrow's checked cast (C++, not Python integers per value); None for the exact path
    (a scale going down rounds half away from zero; a CAST's precision is checked there)."""
    src = e.args[0].type
    scale = src.scale if src.kind == "decimal" else 0
    if e.param or e.type.kind != "decimal" or e.type.scale < scale or \
            isinstance(x, pa.Scalar) or not (pa.types.is_integer(x.type) or
                                             pa.types.is_decimal128(x.type)):
        return None
    try:
        if pa.types.is_integer(x.type):
            x = to_decimal128(x if x.type == pa.int64() else pc.cast(x, pa.int64()), scale)
        return pc.cast(x, pa.decimal128(38, e.type.scale))
    except (pa.ArrowInvalid, OverflowError):
        return None


def _as_text(v: Value, fmt) -> Value:
    """``fmt`` (an array -> text array) over an array or a scalar."""
    if isinstance(v, pa.Scalar):  # (not through as_py: a timestamp may pass year 9999)
        return fmt(pa.repeat(v, 1))[0]
    if isinstance(v, pa.ChunkedArray):
        return pa.chunked_array([fmt(c) for c in v.chunks], pa.large_string())
    return fmt(v)


def to_text(v: Value) -> Value:
    """CAST(v AS VARCHAR) as DuckDB writes each type (``totext``)."""
    t = v.type
    if pa.types.is_floating(t):
        return _as_text(v, totext.float_text)
    if pa.types.is_decimal(t):
        return _as_text(v, totext.wide_decimal_text)
    if pa.types.is_timestamp(t):
        return _as_text(v, totext.timestamp_text)
    if pa.types.is_date(t):
        return _as_text(v, totext.date_text)
    if pa.types.is_time(t):
        return _as_text(v, timeofday.time_text)
    if pa.types.is_interval(t):
        if isinstance(v, pa.Scalar):
            x = v.as_py()
            return pa.scalar(None if x is None else intervals.interval_text(
                x.months, x.days, x.nanoseconds // 1000), pa.large_string())
        return _as_text(v, _interval_texts)
    return pc.cast(v, pa.large_string())  # integers, booleans ('true'), strings


def _interval_texts(v: pa.Array) -> pa.Array:
    m, d, us, nulls = intervals.parts(v)
    return pa.array([None if nulls is not None and nulls[i] else intervals.interval_text(
        int(m[i]), int(d[i]), int(us[i])) for i in range(len(m))], pa.large_string())


def _parse_intervals(x: Value) -> Value:
    if isinstance(x, pa.Scalar):
        return intervals.scalar(intervals.interval_value(x.as_py()) if x.is_valid else None)
    vals = [None if v is None else intervals.interval_value(v) for v in x.to_pylist()]
    ok = np.array([v is not None for v in vals], bool)
    fill = [v if v is not None else (0, 0, 0) for v in vals]
    cols = np.array(fill, np.int64).reshape(-1, 3)
    return intervals.build(cols[:, 0], cols[:, 1], cols[:, 2], None if ok.all() else ~ok)


def _concat_ws(sep: Value, *values: Value) -> Value:
    """DuckDB's concat_ws: the non-NULL values joined by ``sep`` (NULLs are skipped with
    their separator, '' when all are NULL); NULL where ``sep`` is. (Arrow's
    ``null_handling="skip"`` drops the rows whose values are all NULL: pyarrow 26.)"""
    acc = None
    for v in values:
        if acc is None:
            acc = v
            continue
        joined = pc.binary_join_element_wise(acc, v, sep, null_handling="emit_null")
        acc = pc.if_else(pc.is_null(v), acc, pc.if_else(pc.is_null(acc), v, joined))
    acc = pc.coalesce(acc, pa.scalar("", pa.large_string()))
    return pc.if_else(pc.is_null(sep), pa.scalar(None, pa.large_string()), acc)


def _substring(x: Value, start: int, length: int | None) -> Value:
    """DuckDB's substring: 1-based; a negative start counts from the end; start 0 is the
    position before the first character; a negative length takes the characters before."""
    if start < 0:
        if length is None:
            return pc.utf8_slice_codeunits(x, start)
        if length < 0:
            raise QueryError("SUBSTRING with a negative start and length is not supported")
        stop = start + length
        return pc.utf8_slice_codeunits(x, start, stop) if stop < 0 else \
            pc.utf8_slice_codeunits(x, start)
    begin = max(start - 1, 0)
    if length is None:
        return pc.utf8_slice_codeunits(x, begin)
    lo, hi = (start - 1, start - 1 + length) if length >= 0 else \
        (start - 1 + length, start - 1)
    lo, hi = max(lo, 0), max(hi, 0)
    return pc.utf8_slice_codeunits(x, lo, hi) if hi > lo else pc.utf8_slice_codeunits(x, 0, 0)


def _float_divide(x: Value, y: Value) -> Value:
    """DuckDB (2.x): ``/`` on doubles is IEEE division: by zero +-inf by the signs of both
    (-0.5 / -0.0 is +inf), NaN for 0/0."""
    return pc.divide(x, y)


_OFFSET = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"


def _parse_timestamptz(x: Value) -> Value:
    """CAST(text AS TIMESTAMPTZ): a time with an offset (``+02``, ``-05:30``, ``Z``) is that
    instant; without one it is UTC's wall time (DuckDB's session zone here)."""
    s = pc.utf8_trim_whitespace(x)
    if isinstance(s, pa.Scalar):
        return _parse_timestamptz(pa.array([s.as_py()], pa.large_string()))[0]
    aware = pc.match_substring_regex(s, _OFFSET).fill_null(False)
    naive = pc.cast(pc.if_else(aware, pa.scalar("1970-01-01", s.type), s), pa.timestamp("us"))
    moved = pc.cast(pc.if_else(aware, s, pa.scalar("1970-01-01T00:00:00Z", s.type)),
                    pa.timestamp("us", "UTC"))
    return pc.if_else(aware, moved, pc.cast(naive, pa.timestamp("us", "UTC")))


def _no_zero_divisor(x: Value, y: Value, e: Call) -> None:
    """DuckDB: integer (and decimal) ``//`` and ``%``, and ``//`` on doubles, by zero are an
    error (a row whose dividend is NULL is NULL, no error)."""
    zero = pc.and_kleene(pc.equal(y, 0), pc.is_valid(x))
    hit = zero.as_py() if isinstance(zero, pa.Scalar) else pc.any(zero).as_py()
    if hit:
        raise QueryError(f"division by zero in {e}")


def _case(a: list[Value], t: SqlType) -> Value:
    *pairs, default = a
    out = default
    for i in range(len(pairs) - 2, -1, -2):
        cond = pc.fill_null(pairs[i], False) if isinstance(pairs[i], pa.Array) else (
            pairs[i] if pairs[i].is_valid else pa.scalar(False))
        out = pc.if_else(cond, pairs[i + 1], out)
    return out


def round_scaled(x: Value, digits: int) -> Value:
    if digits <= 0:
        return x
    q = 10 ** digits
    mag = pc.divide(pc.add_checked(pc.abs_checked(x), q // 2), q)
    return pc.if_else(pc.less(x, 0), pc.negate(mag), mag)


def to_decimal128(x: pa.Array, scale: int, precision: int = 38) -> pa.Array:
    """Scaled int64 -> decimal128(precision, scale) (no arithmetic: sign-extend the words).
    A computed DECIMAL(18, s) may hold 19 digits (int64 arithmetic is checked against
    2**63, not 10**18; DuckDB's type is wider there): then the type is decimal128(38, s).
    A scalar (a constant operand) gives a scalar."""
    if isinstance(x, pa.Scalar):
        v = x.as_py()
        if precision < 19 and v is not None and abs(v) >= 10 ** precision:
            precision = 38
        return pa.scalar(None if v is None else decimal.Decimal(v).scaleb(-scale),
                         pa.decimal128(precision, scale))
    if precision < 19 and len(x):
        lo, hi = pc.min_max(x).values()
        if hi.is_valid and max(hi.as_py(), -lo.as_py()) >= 10 ** precision:
            precision = 38
    if isinstance(x, pa.ChunkedArray):
        return pa.chunked_array([to_decimal128(c, scale, precision) for c in x.chunks],
                                pa.decimal128(precision, scale))
    if x.type != pa.int64():
        x = x.cast(pa.int64())
    n = len(x)
    low = np.frombuffer(x.buffers()[1], np.int64, count=n, offset=x.offset * 8) if n else \
        np.zeros(0, np.int64)
    wide = np.empty(2 * n, np.int64)
    wide[0::2], wide[1::2] = low, low >> 63
    validity = x.buffers()[0]
    if validity is not None and x.offset:
        x = pa.concat_arrays([x])  # re-base the bitmap
        validity = x.buffers()[0]
    return pa.Array.from_buffers(pa.decimal128(precision, scale), n,
                                 [validity, pa.py_buffer(wide)], x.null_count)


# -- dates and times --------------------------------------------------------------------

_EPOCH = datetime.date(1970, 1, 1)


_EXTRACT = {"year": pc.year, "month": pc.month, "day": pc.day, "quarter": pc.quarter,
            "hour": pc.hour, "minute": pc.minute, "doy": pc.day_of_year,
            "week": pc.iso_week, "isoyear": pc.iso_year}


def _micros(x: Value) -> Value:
    """A date or timestamp as int64 microseconds (a date32's days scaled: Arrow's calendar
    wraps for dates past year 9999 as for timestamps)."""
    if x.type == pa.date32():
        return pc.multiply(pc.cast(pc.cast(x, pa.int32()), pa.int64()), 86_400_000_000)
    return pc.cast(x, pa.int64())


def _far(x: Value) -> bool:
    """A timestamp past Arrow's calendar (year 10000 and beyond, or before -9999)."""
    us = _micros(x)
    lo, hi = (us, us) if isinstance(us, pa.Scalar) else pc.min_max(us).values()
    return hi.is_valid and (abs(lo.as_py()) >= _ARROW_CALENDAR_US or
                            abs(hi.as_py()) >= _ARROW_CALENDAR_US)


def _extract_far(x: Value, field: str) -> Value:
    """year / day of year / ISO week / ISO year of timestamps past year 9999."""
    us = _micros(x)
    arr = pa.array([us.as_py()], pa.int64()) if isinstance(us, pa.Scalar) else us
    if isinstance(arr, pa.ChunkedArray):
        arr = pa.concat_arrays(arr.chunks) if arr.num_chunks else pa.array([], pa.int64())
    days = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), np.int64) \
        // 86_400_000_000

    def year_of(d):
        return d.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970

    def jan1(y):
        return (y - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)

    if field in ("year", "doy"):
        y = year_of(days)
        out = y if field == "year" else days - jan1(y) + 1
    else:  # ISO: the week's Thursday decides the year
        thu = days - (days + 3) % 7 + 3
        y = year_of(thu)
        out = y if field == "isoyear" else (thu - jan1(y)) // 7 + 1
    res = from_numpy(out.astype(np.int64), np.asarray(
        arr.is_null().to_numpy(zero_copy_only=False), bool) if arr.null_count else None)
    return res[0] if isinstance(us, pa.Scalar) else res


def extract(x: Value, field: str) -> Value:
    out = _extract(x, field)
    if field == "year" and pa.types.is_timestamp(x.type) and x.type.tz is not None:
        # DuckDB's TIMESTAMPTZ parts come from ICU's calendar, whose years count eras:
        # year 0 is 1 (BC), -1 is 2 (BC); TIMESTAMP and DATE keep astronomical years
        out = pc.if_else(pc.less_equal(out, 0), pc.subtract(1, out), out)
    return out


def _extract(x: Value, field: str) -> Value:
    if pa.types.is_time(x.type):
        us = pc.cast(x, pa.int64())
        if field == "epoch":
            return pc.divide(pc.cast(us, pa.float64()), 1e6)
        if field in ("millisecond", "microsecond"):  # DuckDB: the seconds field included
            part = pc.subtract(us, pc.multiply(pc.divide(us, 60_000_000), 60_000_000))
            return part if field == "microsecond" else pc.divide(part, 1000)
    if field in ("year", "doy", "week", "isoyear") and _far(x):
        return _extract_far(x, field)  # numpy's calendar (Arrow's wraps in 16 bits)
    if field in _EXTRACT:
        return pc.cast(_EXTRACT[field](x), pa.int64())
    if field == "dow":
        return pc.cast(pc.day_of_week(x, count_from_zero=True, week_start=7), pa.int64())
    if field == "isodow":
        return pc.cast(pc.day_of_week(x, count_from_zero=False, week_start=1), pa.int64())
    if field == "second":
        return pc.cast(pc.second(x), pa.int64())
    if field in ("millisecond", "microsecond"):  # DuckDB: the seconds field included
        us = pc.add(pc.multiply(pc.cast(pc.second(x), pa.int64()), 1_000_000),
                    pc.add(pc.multiply(pc.cast(pc.millisecond(x), pa.int64()), 1000),
                           pc.cast(pc.microsecond(x), pa.int64())))
        return us if field == "microsecond" else pc.divide(us, 1000)
    if field == "epoch":
        us = pc.cast(pc.cast(x, pa.timestamp("us")), pa.int64())
        return pc.divide(pc.cast(us, pa.float64(), safe=False), 1e6)
    raise QueryError(f"EXTRACT({field.upper()}) is not supported")


_TRUNC = {"year": "year", "quarter": "quarter", "month": "month", "week": "week",
          "day": "day", "hour": "hour", "minute": "minute", "second": "second",
          "millisecond": "millisecond", "microsecond": "microsecond"}


_ARROW_CALENDAR_US = 253_402_300_800_000_000  # 10000-01-01: Arrow's calendar wraps beyond


def date_trunc(x: Value, unit: str) -> Value:
    ts = pc.cast(x, pa.timestamp("us")) if x.type == pa.date32() else x
    us = pc.cast(ts, pa.int64())
    lo, hi = (us, us) if isinstance(us, pa.Scalar) else pc.min_max(us).values()
    if not hi.is_valid or (abs(lo.as_py()) < _ARROW_CALENDAR_US and
                           abs(hi.as_py()) < _ARROW_CALENDAR_US):
        return pc.floor_temporal(ts, unit=_TRUNC[unit], week_starts_monday=True)
    return _date_trunc_far(ts, us, unit)  # (INTERVAL 100000 YEAR: DuckDB's years reach it)


def _date_trunc_far(ts: Value, us: Value, unit: str) -> Value:
    """date_trunc by numpy's proleptic calendar (any year a timestamp[us] holds)."""
    scalar = isinstance(us, pa.Scalar)
    arr = pa.array([us.as_py()], pa.int64()) if scalar else us
    if isinstance(arr, pa.ChunkedArray):
        arr = pa.concat_arrays(arr.chunks) if arr.num_chunks else pa.array([], pa.int64())
    nulls = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), bool) \
        if arr.null_count else None
    v = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    day = 86_400_000_000
    step = {"day": day, "hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000,
            "millisecond": 1000, "microsecond": 1}
    if unit in step:
        out = v // step[unit] * step[unit]
    elif unit == "week":  # weeks start on Monday; 1970-01-01 was a Thursday
        days = v // day
        out = (days - (days + 3) % 7) * day
    else:
        months = v.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
        if unit == "year":
            months -= months % 12
        elif unit == "quarter":
            months -= months % 3
        out = months.astype("datetime64[M]").astype("datetime64[us]").astype(np.int64)
    res = from_numpy(out, nulls).cast(ts.type)
    return res[0] if scalar else res
