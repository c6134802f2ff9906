"""List and struct functions: constructors (``[1, 2]`` is list_value, ``{'a': 1}``
struct_pack), element access (``l[i]``, ``l[a:b]``, ``s.a``, ``s['a']``), and DuckDB's
list_* family, with DuckDB's types and NULL rules (tests/query/test_nested.py).

Values are Arrow list and struct arrays of the output types (query/nested.py); the kernels
work on the list's offsets with numpy and on its flattened elements with Arrow's kernels,
never a Python loop per row (but string_split with a separator that is not a constant).

>>> from mapdb.query.catalog import bind
>>> from mapdb.query.expr import IntLit
>>> from mapdb.query.types import INT64
>>> e = bind("list_value", [IntLit(1, INT64), IntLit(2, INT64)])
>>> str(e.type), e.type.arrow
('int32[]', ListType(list<item: int32>))
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query import exact
from mapdb.query import functions as fn
from mapdb.query.arrays import from_numpy
from mapdb.query.catalog import arity, constant, kernel, node, null_result, register
from mapdb.query.expr import Call, Expr, IntLit, Lit
from mapdb.query.nested import ListParts, from_output, gather, make_list, to_output
from mapdb.query.types import (
    BOOL,
    DECIMAL,
    INT64,
    LIST,
    MAP,
    NULL,
    STRING,
    STRUCT,
    QueryError,
    SqlType,
    _integer_digits,
    common_type,
    is_uint64,
)

INT32 = SqlType("int", arrow=pa.int32())
BINARY = SqlType("binary", arrow=pa.large_binary())
_FAMILY = "nested"


def _typed(e: Expr) -> Expr:
    """An element as DuckDB types it: an integer literal that fits 32 bits is an INTEGER."""
    if isinstance(e, IntLit) and e.value is not None and -2**31 <= e.value < 2**31 \
            and e.type == INT64:
        return Lit(e.value, INT32)
    return e


def element_type(types: list[SqlType], what: str) -> SqlType:
    """The common type of list elements (integers: the widest, as DuckDB's)."""
    known = [t for t in types if t.kind != "null"]
    if not known:
        return NULL
    if len(set(known)) == 1:
        return known[0]
    if all(t.kind == "int" for t in known):
        out = known[0]
        for t in known[1:]:
            out = fn._int_common(out, t) or INT64
        return out
    kinds = {t.kind for t in known}
    if kinds == {"list"}:  # [[1], []]: INTEGER[][], element by element
        return LIST(element_type([t.element for t in known], what))
    if kinds <= {"int", "decimal"} and not any(t.wide or is_uint64(t) for t in known):
        # DuckDB: the most integer digits and the largest scale ([1::INT, 0.5] is a
        # DECIMAL(11, 1)), not the 18 digits of arithmetic's common type
        scale = max(t.scale for t in known)
        return DECIMAL(min(max(_integer_digits(t) for t in known) + scale, 38), scale)
    return common_type(known, what)


def _coerce(e: Expr, t: SqlType) -> Expr:
    if e.type == t or t.kind == "null":
        return e
    if isinstance(e, Lit) and e.value is None:
        return Lit(None, t)
    if e.type.nested or t.nested:
        if e.type.kind == t.kind == "list":
            return Call("list_cast", (e,), t)
        raise QueryError(f"cannot convert {e.type} to {t}")
    return fn.cast(e, t)


def _list(name: str, a: Expr, i: int = 1) -> None:
    if a.type.kind not in ("list", "null"):
        raise QueryError(f"{name}(): argument {i} must be a list, got {a.type}")


def _elem(a: Expr) -> SqlType:
    return a.type.element if a.type.kind == "list" else NULL


# -- constructors -----------------------------------------------------------------------

def _list_value(name: str, args: list[Expr]) -> Expr:
    args = [_typed(a) for a in args]
    t = element_type([a.type for a in args], "list_value")
    return Call("list_value", tuple(_coerce(a, t) for a in args), LIST(t))


@kernel("list_value")
def _list_value_kernel(e: Call, *cols: pa.Array) -> pa.Array:
    t = e.type.element
    n = len(cols[0]) if cols else 1
    if not cols:
        return make_list(np.zeros(n, np.int64), pa.array([], t.output_type), None)
    k = len(cols)
    stacked = pa.concat_arrays([to_output(c, t) for c in cols])
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()  # row-major
    return make_list(np.full(n, k, np.int64), stacked.take(pa.array(order)), None, e.type.arrow)


@kernel("list_cast")
def _list_cast(e: Call, a: pa.Array) -> pa.Array:
    src, t = e.args[0].type, e.type
    p = ListParts(a)
    values = from_output(p.elements(), src.element)
    conv = to_output(_cast_values(values, src.element, t.element), t.element)
    return make_list(p.length, conv, p.valid, t.arrow)


def _cast_values(v: pa.Array, src: SqlType, t: SqlType) -> pa.Array:
    """Elements of type ``src`` (the engine's representation) as ``t``, through the
    evaluator's CAST."""
    from mapdb.query.evaluate import evaluate
    from mapdb.query.expr import Col
    return evaluate(fn.cast(Col("v", src), t), {"v": v}, len(v))


def _struct_pack(name: str, args: list) -> Expr:
    if not args:
        raise QueryError(f"{name}() needs at least one field")
    names = [n for n, _ in args]
    if len({n.lower() for n in names}) != len(names):
        raise QueryError(f"{name}(): duplicate field names")
    vals = [_typed(v) for _, v in args]
    vals = [Lit(None, INT32) if v.type.kind == "null" else v for v in vals]
    t = STRUCT([(n, v.type) for n, v in zip(names, vals, strict=True)])
    return Call("struct_pack", tuple(vals), t)


@kernel("struct_pack")
def _struct_pack_kernel(e: Call, *cols: pa.Array) -> pa.Array:
    return pa.StructArray.from_arrays([to_output(c, t) for c, (_, t) in
                                       zip(cols, e.type.fields, strict=True)],
                                      fields=list(e.type.arrow))


def struct_cast(e: Expr, t: SqlType, where: tuple = (None, "")) -> Expr:
    """CAST(s AS STRUCT(...)) as DuckDB's: the target's fields by name (case-insensitively;
    a field the source lacks is NULL, one the target lacks dropped), each cast; a row()'s
    (unnamed) fields by position. A NULL struct stays NULL."""
    src = {n.lower(): i for i, (n, _) in enumerate(e.type.fields)}
    by_name = [src.get(n.lower()) for n, _ in t.fields]
    if _unnamed(e.type) and len(e.type.fields) == len(t.fields):
        by_name = list(range(len(t.fields)))
    elif all(i is None for i in by_name):
        raise QueryError(f"CAST of {e.type} to {t}: no field names in common")
    vals = []
    for i, (_, ft) in zip(by_name, t.fields, strict=True):
        if i is None:
            vals.append(Lit(None, ft))
            continue
        f = Call("struct_extract", (e,), e.type.fields[i][1], i)
        vals.append(fn.cast(f, ft, where))
    return Call("struct_cast", (e, *vals), t)


def _unnamed(t: SqlType) -> bool:
    """A row(...) value's type: DuckDB's unnamed struct, fields element1, element2..."""
    return all(n == f"element{i + 1}" for i, (n, _) in enumerate(t.fields))


@kernel("struct_cast")
def _struct_cast_kernel(e: Call, s: pa.Array, *cols: pa.Array) -> pa.Array:
    valid = np.asarray(s.is_valid(), bool)
    return pa.StructArray.from_arrays(
        [to_output(c, ft) for c, (_, ft) in zip(cols, e.type.fields, strict=True)],
        fields=list(e.type.arrow), mask=None if valid.all() else pa.array(~valid))


def _row(name: str, args: list[Expr]) -> Expr:
    """row(a, b) / (a, b): DuckDB's unnamed struct, as Arrow's struct<element1, ...>."""
    if not args:
        raise QueryError(f"{name}() needs at least one value")
    vals = [_typed(a) for a in args]  # (a NULL stays a NULL field, unlike struct_pack's)
    return Call("struct_pack", tuple(vals),
                STRUCT([(f"element{i + 1}", v.type) for i, v in enumerate(vals)]))


def struct_pack(items: list[tuple[str, Expr]]) -> Expr:
    """``{'a': 1, 'b': x}`` / ``struct_pack(a := 1, b := x)`` (the binder reads the names)."""
    return _struct_pack("struct_pack", items)


# -- access -----------------------------------------------------------------------------

def _extract(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    x, i = args
    if x.type.kind == "struct":
        return struct_extract(x, constant(name, args, 1, "field name"))
    _list(name, x)
    out = null_result(args, _elem(x))
    if out is not None:
        return out
    if i.type.kind != "int":
        raise QueryError(f"{name}(): the index must be an integer, got {i.type}")
    return Call("list_extract", (x, fn.cast(i, INT64) if i.type != INT64 else i), _elem(x))


@kernel("list_extract")
def _list_extract_kernel(e: Call, a: pa.Array, i: pa.Array) -> pa.Array:
    p = ListParts(a)
    idx = np.asarray(i.fill_null(0), dtype=np.int64)
    pos = np.where(idx > 0, idx - 1, p.length + idx)  # 1-based; -1 the last
    ok = p.valid & (idx != 0) & (pos >= 0) & (pos < p.length)
    at = np.where(ok, p.start + pos, 0)
    if not len(p.values):
        return pa.nulls(len(p), e.type.arrow)
    out = p.values.take(pa.array(at))
    out = pc.if_else(pa.array(ok), out, pa.scalar(None, out.type)) if not ok.all() else out
    return from_output(out, e.type)


def list_slice(x: Expr, begin: Expr | None, end: Expr | None) -> Expr:
    """``l[begin:end]``: 1-based, both ends included, negative from the end, clamped."""
    _list("list_slice", x)
    if x.type.kind == "null":
        return Lit(None, NULL)
    args = [x]
    for b in (begin, end):
        if b is None:
            args.append(Lit(None, INT64))
        elif b.type.kind == "null" or (isinstance(b, Lit) and b.value is None):
            return Lit(None, x.type)  # an explicit NULL bound: NULL, as DuckDB
        elif b.type.kind != "int":
            raise QueryError(f"list_slice(): the bounds must be integers, got {b.type}")
        else:
            args.append(fn.cast(b, INT64) if b.type.kind == "int" and b.type != INT64 else b)
    return Call("list_slice", tuple(args), x.type, (begin is None, end is None))


@kernel("list_slice")
def _list_slice_kernel(e: Call, a: pa.Array, b: pa.Array, f: pa.Array) -> pa.Array:
    p = ListParts(a)
    no_begin, no_end = e.param
    valid = p.valid.copy()
    if not no_begin:
        valid &= np.asarray(b.is_valid(), bool)
    if not no_end:
        valid &= np.asarray(f.is_valid(), bool)
    lo = np.ones(len(p), np.int64) if no_begin else np.asarray(b.fill_null(1), np.int64)
    hi = p.length.copy() if no_end else np.asarray(f.fill_null(0), np.int64)
    lo = np.where(lo < 0, p.length + lo + 1, lo)
    hi = np.where(hi < 0, p.length + hi + 1, hi)
    lo, hi = np.maximum(lo, 1), np.minimum(hi, p.length)
    length = np.where(valid, np.maximum(hi - lo + 1, 0), 0)
    values = p.values.take(pa.array(gather(p.start + lo - 1, length)))
    return make_list(length, values, valid, e.type.arrow)


def struct_extract(x: Expr, field: object) -> Expr:
    """``s.a`` / ``s['a']`` / struct_extract(s, 'a'): the field, matched as DuckDB matches
    names (case-insensitively)."""
    if x.type.kind != "struct":
        raise QueryError(f"struct_extract(): argument 1 must be a struct, got {x.type}")
    if not isinstance(field, str):
        raise QueryError("struct_extract(): the field name must be a VARCHAR constant")
    hits = [i for i, (n, _) in enumerate(x.type.fields) if n.lower() == field.lower()]
    if not hits:
        names = ", ".join(n for n, _ in x.type.fields)
        raise QueryError(f'struct has no field "{field}"; its fields are: {names}')
    return Call("struct_extract", (x,), x.type.fields[hits[0]][1], hits[0])


@kernel("struct_extract")
def _struct_extract_kernel(e: Call, s: pa.Array) -> pa.Array:
    return from_output(pc.struct_field(s, [e.param]), e.type)


# -- list functions ---------------------------------------------------------------------

def _length(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1, 2)
    if len(args) == 2 and not (isinstance(args[1], Lit) and args[1].value == 1):
        raise QueryError(f"{name}(): only dimension 1 is supported")
    return list_length(args[0])


def list_length(x: Expr) -> Expr:
    _list("array_length", x)
    return null_result([x], INT64) or Call("array_length", (x,), INT64)


@kernel("array_length")
def _length_kernel(e: Call, a: pa.Array) -> pa.Array:
    return pc.list_value_length(a).cast(pa.int64())


def _contains(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    _list(name, args[0])
    out = null_result(args, BOOL)
    if out is not None:
        return out
    x, v = args
    t = element_type([_elem(x), _typed(v).type], name)
    if t != _elem(x):
        x = _coerce(x, LIST(t))
    return Call("list_contains", (x, _coerce(_typed(v), t)), BOOL)


@kernel("list_contains")
def _contains_kernel(e: Call, a: pa.Array, v: pa.Array) -> pa.Array:
    p = ListParts(a)
    values = from_output(p.elements(), e.args[0].type.element)
    parents = p.parents()
    eq = pc.equal(values, v.take(pa.array(parents))).fill_null(False)
    hit = np.bincount(parents[np.asarray(eq, bool)], minlength=len(p)) > 0
    return from_numpy(hit, ~(p.valid & np.asarray(v.is_valid(), bool)))


def _sort_fn(desc: bool):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 1, 3)
        _list(name, args[0])
        order = "DESC" if desc else "ASC"
        nulls = "NULLS LAST"
        if len(args) > 1:
            if desc:
                raise QueryError(f"{name}() takes no sort order")
            order = str(constant(name, args, 1, "sort order")).upper()
        if len(args) > 2:
            nulls = str(constant(name, args, 2, "NULL order")).upper()
        if order not in ("ASC", "DESC") or nulls not in ("NULLS FIRST", "NULLS LAST"):
            raise QueryError(f"{name}(): unknown order {order!r} {nulls!r}")
        if args[0].type.kind == "null":
            return Lit(None, NULL)
        _orderable(name, args[0].type.element)
        return Call("list_sort", (args[0],), args[0].type,
                    (order == "DESC", nulls == "NULLS FIRST"))
    return bind


def _orderable(name: str, t: SqlType) -> None:
    _keyable(t)  # (nested elements: by their order keys)


def _element_key(values: pa.Array, t: SqlType) -> pa.Array:
    """What orders elements as DuckDB does (floats: NaN above every number)."""
    from mapdb.query.evaluate import float_key
    if t.nested:
        from mapdb.query.nested import sort_key
        return sort_key(values, t)
    v = from_output(values, t)
    return float_key(v) if t.kind == "float" else v


def _sorted_positions(p: ListParts, t: SqlType, desc: bool, nulls_first: bool) -> np.ndarray:
    """Positions into ``p.values``: each row's elements in order, rows in order."""
    pos = gather(p.start, p.length)
    values = p.values.take(pa.array(pos))
    key = _element_key(values, t)
    table = pa.table({"r": p.parents(), "n": pc.is_null(key), "k": key})
    order = pc.sort_indices(table, sort_keys=[
        ("r", "ascending"), ("n", "descending" if nulls_first else "ascending"),
        ("k", "descending" if desc else "ascending")])
    return pos[np.asarray(order)]


@kernel("list_sort")
def _list_sort_kernel(e: Call, a: pa.Array) -> pa.Array:
    p = ListParts(a)
    desc, nulls_first = e.param
    pos = _sorted_positions(p, e.type.element, desc, nulls_first)
    return make_list(p.length, p.values.take(pa.array(pos)), p.valid, e.type.arrow)


def _distinct(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    _list(name, args[0])
    if args[0].type.kind == "null":
        return Lit(None, NULL)
    _orderable(name, args[0].type.element)
    return Call("list_distinct", (args[0],), args[0].type)


@kernel("list_distinct")
def _list_distinct_kernel(e: Call, a: pa.Array) -> pa.Array:
    """Each row's distinct non-NULL elements, in ascending order (DuckDB's order is its
    hash table's: equal as a set)."""
    p = ListParts(a)
    t = e.type.element
    pos = _sorted_positions(p, t, False, False)
    key = _element_key(p.values.take(pa.array(pos)), t)
    rows = np.repeat(np.arange(len(p)), p.length)
    keep = np.asarray(key.is_valid(), bool)
    if len(pos) > 1:
        same = np.asarray(pc.equal(key[1:], key[:-1]).fill_null(False), bool) & \
            (rows[1:] == rows[:-1])
        keep[1:] &= ~same
    length = np.bincount(rows[keep], minlength=len(p))
    return make_list(length, p.values.take(pa.array(pos[keep])), p.valid, e.type.arrow)


_REDUCE = {"list_sum": "sum", "list_min": "min", "list_max": "max", "list_avg": "avg"}


def _reduce(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    _list(name, args[0])
    what = _REDUCE[name]
    elem = _elem(args[0])
    if elem.nested:
        raise QueryError(f"{name}() of a list of {elem} is not supported")
    from mapdb.query.expr import Col
    t = fn.aggregate(what, Col("x", elem)).type if elem.kind != "null" else \
        (INT64 if what == "sum" else NULL)
    if args[0].type.kind == "null":
        return Lit(None, t)
    return Call("list_reduce", (args[0],), t, what)


@kernel("list_reduce")
def _reduce_kernel(e: Call, a: pa.Array) -> pa.Array:
    """sum/min/max/avg of each row's non-NULL elements (NULL for none), through Arrow's
    hash aggregation grouped by row."""
    p = ListParts(a)
    elem = e.args[0].type.element
    values = from_output(p.elements(), elem)
    if elem.kind == "float" and e.param in ("min", "max"):
        from mapdb.query.evaluate import float_key, from_float_key
        keyed = float_key(values)
        raw = _grouped(keyed, p, e.param)
        return from_float_key(raw, values.type) if raw.type != values.type else raw
    if (elem.kind == "decimal" and e.param in ("sum", "avg")) or \
            (elem.kind == "int" and e.param == "avg"):
        # exact sums; an average divided once from them, as the grouped avg (exact.py)
        dec = to_output(values, elem) if elem.kind == "decimal" and not elem.wide else values
        out = _grouped(dec.cast(pa.decimal128(38, elem.scale if elem.kind == "decimal"
                                              else 0)), p, "sum")
        if e.param == "avg":
            return exact.average_of(out, _grouped(values, p, "count"), elem)
        return out
    if e.param == "avg":
        values = values.cast(pa.float64())
    out = _grouped(values, p, e.param)
    if e.param == "sum" and e.type.kind == "int":
        # (DuckDB sums into a HUGEINT; an int64 sum past 2**63 would wrap: refused)
        approx = _grouped(values.cast(pa.float64(), safe=False), p, "sum")
        if len(approx) and (pc.max(pc.abs(approx)).as_py() or 0) >= 2.0 ** 63:
            raise QueryError("list_sum(): a sum is out of BIGINT's range (DuckDB's is a "
                             "HUGEINT)")
        return out.cast(pa.int64())
    return out


def _grouped(values: pa.Array, p: ListParts, what: str) -> pa.Array:
    """``what`` of the non-NULL values of each row (NULL where a row has none)."""
    rows = p.parents()
    if pa.types.is_null(values.type):
        return pa.nulls(len(p))
    if not values.null_count and what in ("sum", "min", "max") and (
            pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        return _reduced(values.to_numpy(), p, what, values.type)
    t = pa.table({"r": rows, "v": values})
    what = "mean" if what == "avg" else what  # (Arrow's name)
    opts = pc.ScalarAggregateOptions(min_count=1) if what in ("sum", "mean") else None
    agg = t.group_by("r").aggregate([("v", what, opts)] if opts else [("v", what)])
    at = np.full(len(p), -1, np.int64)
    at[np.asarray(agg.column("r"))] = np.arange(agg.num_rows)
    col = agg.column(1).combine_chunks()
    ok = at >= 0
    if not len(col):
        return pa.nulls(len(p), col.type)
    out = col.take(pa.array(np.where(ok, at, 0)))
    return pc.if_else(pa.array(ok), out, pa.scalar(None, out.type)) if not ok.all() else out


def _reduced(v: np.ndarray, p: ListParts, what: str, t: pa.DataType) -> pa.Array:
    """sum/min/max of each row's elements without NULLs: numpy's reduceat over the rows'
    runs (rows are in order), NULL where a row has no element (a float's min/max
    arrives here as its order key, so NaN is the largest)."""
    has = p.length > 0
    out = np.zeros(len(p), v.dtype)
    if has.any():
        starts = (np.cumsum(p.length) - p.length)[has]
        ufunc = {"sum": np.add, "min": np.minimum, "max": np.maximum}[what]
        out[has] = ufunc.reduceat(v, starts)
    return pa.array(out, t, mask=~has)


def _list_aggregate(name: str, args: list[Expr]) -> Expr:
    """list_aggregate(l, 'sum' | 'min' | 'max' | 'avg'): list_sum and its siblings."""
    arity(name, args, 2)
    what = constant(name, args, 1, "aggregate name")
    if not isinstance(what, str) or f"list_{what.lower()}" not in _REDUCE:
        raise QueryError(f"{name}(): aggregate {what!r} is not supported (sum, min, max, "
                         f"avg)")
    return _reduce(f"list_{what.lower()}", args[:1])


def list_concat(name: str, args: list[Expr]) -> Expr:
    """list_concat(a, b): NULL reads as an empty list (DuckDB; ``||`` is NULL instead)."""
    arity(name, args, 2)
    for i, a in enumerate(args):
        _list(name, a, i + 1)
    kinds = [a.type.kind for a in args]
    if kinds == ["null", "null"]:
        return Lit(None, NULL)
    t = LIST(element_type([_elem(a) for a in args], name))
    conv = [Lit(None, t) if a.type.kind == "null" else _coerce(a, t) for a in args]
    return Call("list_concat", tuple(conv), t, name == "||")


@kernel("list_concat")
def _list_concat_kernel(e: Call, a: pa.Array, b: pa.Array) -> pa.Array:
    pa_, pb = ListParts(a), ListParts(b)
    values = pa.concat_arrays([pa_.values, pb.values.cast(pa_.values.type)])
    both = np.stack([pa_.length, pb.length], axis=1).ravel()
    starts = np.stack([pa_.start, pb.start + len(pa_.values)], axis=1).ravel()
    length = pa_.length + pb.length
    valid = (pa_.valid & pb.valid) if e.param else (pa_.valid | pb.valid)
    if not e.param:  # list_concat(NULL, NULL) is NULL, and of typed NULLs an empty list
        valid = np.ones(len(pa_), bool)
    return make_list(length, values.take(pa.array(gather(starts, both))), valid,
                     e.type.arrow)


def _string_split(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    for a in args:
        if a.type.kind not in ("string", "null"):
            raise QueryError(f"{name}(): arguments must be VARCHAR, got {a.type}")
    out = null_result(args, LIST(STRING))
    if out is not None:
        return out
    sep = args[1].value if isinstance(args[1], Lit) else None
    return Call("string_split", tuple(args), LIST(STRING), sep)


@kernel("string_split")
def _string_split_kernel(e: Call, s: pa.Array, sep: pa.Array) -> pa.Array:
    from mapdb.query.evaluate import decode
    s = decode(s).cast(pa.large_string())
    if e.param:  # a constant separator: Arrow's kernel
        return pc.split_pattern(s, e.param)
    rows = [None if x is None or p is None else _split(x, p)
            for x, p in zip(s.to_pylist(), decode(sep).to_pylist(), strict=True)]
    return pa.array(rows, e.type.arrow)


def _split(s: str, sep: str) -> list[str]:
    if sep == "":  # DuckDB: the characters ('' gives an empty list)
        return list(s)
    return s.split(sep)


def _array_to_string(name: str, args: list[Expr]) -> Expr:
    """array_to_string(l, sep): the non-NULL elements as VARCHAR (as CAST writes them),
    joined by a constant ``sep`` (a NULL one joins with '', as DuckDB)."""
    arity(name, args, 2)
    _list(name, args[0])
    sep = constant(name, args, 1, "separator")
    if sep is not None and not isinstance(sep, str):
        raise QueryError(f"{name}(): the separator must be a VARCHAR constant")
    if args[0].type.kind == "null":
        return Lit(None, STRING)
    if args[0].type.element.nested:
        raise QueryError(f"{name}() of a list of {args[0].type.element} is not supported")
    return Call("array_to_string", (args[0],), STRING, sep or "")


@kernel("array_to_string")
def _array_to_string_kernel(e: Call, a: pa.Array) -> pa.Array:
    p = ListParts(a)
    elem = e.args[0].type.element
    values = from_output(p.elements(), elem)
    text = _cast_values(values, elem, STRING) if elem.kind != "null" else \
        pa.nulls(len(values), pa.large_string())
    keep = np.asarray(text.is_valid(), bool)
    length = np.bincount(p.parents()[keep], minlength=len(p))
    lists = make_list(length, text.filter(pa.array(keep)).cast(pa.large_string()), p.valid)
    return pc.binary_join(lists, pa.scalar(e.param, pa.large_string()))


# -- order: comparisons, ORDER BY, GROUP BY, DISTINCT ----------------------------------

def order_key(x: Expr) -> Expr:
    """A binary key whose byte order is DuckDB's order of the LIST, STRUCT or MAP ``x``
    (``nested.sort_key``): what =, <, ORDER BY, GROUP BY and DISTINCT use for it."""
    _keyable(x.type)
    return Call("nested_key", (x,), BINARY)


def _keyable(t: SqlType) -> None:
    if t.kind == "decimal" and t.wide:
        raise QueryError(f"ordering or comparing values of {t} is not supported")
    for _, ft in t.fields:
        _keyable(ft)


@kernel("nested_key")
def _nested_key_kernel(e: Call, a: pa.Array) -> pa.Array:
    from mapdb.query.nested import sort_key
    return sort_key(a, e.args[0].type)


def compare(op: str, a: Expr, b: Expr) -> Expr:
    """``a op b`` of two lists or two structs: brought to a common type (lists: their
    elements'; structs: the same field names), then their order keys compared."""
    for x in (a, b):
        if (isinstance(x, Lit) and x.value is None) or x.type.kind == "null":
            return Lit(None, BOOL)
    ta, tb = a.type, b.type
    if ta.kind != tb.kind:
        raise QueryError(f"cannot compare {ta} with {tb}")
    if ta != tb:
        if ta.kind == "list":
            t = LIST(element_type([ta.element, tb.element], "a comparison"))
            a, b = _coerce(a, t), _coerce(b, t)
        elif ta.kind == "struct" and [n.lower() for n, _ in ta.fields] == \
                [n.lower() for n, _ in tb.fields]:
            t = STRUCT([(n, element_type([x, y], "a comparison")) for (n, x), (_, y) in
                        zip(ta.fields, tb.fields, strict=True)])
            a, b = fn.cast(a, t), fn.cast(b, t)
        elif ta.kind == "map":
            t = MAP(*(element_type([x, y], "a comparison") for (_, x), (_, y) in
                      zip(ta.fields, tb.fields, strict=True)))
            a, b = fn.cast(a, t), fn.cast(b, t)
        else:
            raise QueryError(f"cannot compare {ta} with {tb}")
    return fn.compare(op, order_key(a), order_key(b))


def _struct_pack_positional(name: str, args: list[Expr]) -> Expr:
    raise QueryError(f"{name}() takes named arguments: struct_pack(a := 1)")


register("list_value", _list_value, "(any, ...) -> LIST", aliases=("list_pack",),
         family=_FAMILY, doc="`[a, b]`; elements brought to their common type")
register("struct_pack", _struct_pack_positional, "(name := any, ...) -> STRUCT",
         family=_FAMILY, doc="`{'a': 1}`; the binder reads the names")
register("row", _row, "(any, ...) -> STRUCT", family=_FAMILY,
         doc="an unnamed struct: fields element1, element2... (Arrow's names for it)")
register("list_extract", _extract, "(LIST, BIGINT index) -> element",
         "(STRUCT, VARCHAR name) -> field", aliases=("list_element", "array_extract"),
         family=_FAMILY, doc="`l[i]`: 1-based, negative from the end, out of range NULL")
register("list_slice", lambda name, args: (arity(name, args, 3) or
                                           list_slice(args[0], args[1], args[2])),
         "(LIST, BIGINT begin, BIGINT end) -> LIST", aliases=("array_slice",),
         family=_FAMILY, doc="`l[a:b]`: both ends included, clamped")
register("struct_extract", lambda name, args: (
    arity(name, args, 2) or struct_extract(args[0], constant(name, args, 1, "field name"))),
    "(STRUCT, VARCHAR name) -> field", family=_FAMILY, doc="`s.a`, `s['a']`")
register("array_length", _length, "(LIST) -> BIGINT", family=_FAMILY,
         doc="also `len(l)`, `length(l)`")
register("list_contains", _contains, "(LIST, any) -> BOOLEAN",
         aliases=("array_contains", "list_has", "array_has"), family=_FAMILY)
register("list_sort", _sort_fn(False), "(LIST[, VARCHAR order[, VARCHAR nulls]]) -> LIST",
         aliases=("array_sort",), family=_FAMILY, doc="ASC NULLS LAST by default")
register("list_reverse_sort", _sort_fn(True), "(LIST) -> LIST",
         aliases=("array_reverse_sort",), family=_FAMILY)
register("list_distinct", _distinct, "(LIST) -> LIST", aliases=("array_distinct",),
         family=_FAMILY, doc="NULLs dropped; in ascending order")
for _name in _REDUCE:
    register(_name, _reduce, "(LIST) -> the aggregate's type", family=_FAMILY)
register("list_aggregate", _list_aggregate, "(LIST, VARCHAR name) -> the aggregate's type",
         aliases=("array_aggregate", "list_aggr", "array_aggr"), family=_FAMILY,
         doc="name: sum, min, max or avg (a constant)")
register("list_concat", list_concat, "(LIST, LIST) -> LIST",
         aliases=("list_cat", "array_concat", "array_cat"), family=_FAMILY,
         doc="NULL reads as []; `a || b` NULL if either is")
register("array_to_string", _array_to_string, "(LIST, VARCHAR separator) -> VARCHAR",
         family=_FAMILY,
         doc="NULL elements skipped; separator constant")
register("string_split", _string_split, "(VARCHAR, VARCHAR separator) -> VARCHAR[]",
         aliases=("str_split", "string_to_array"), family=_FAMILY)

# sqlglot's nodes for them
node(exp.ArraySize, "this", "array_length len")(lambda n: ("array_length", [n.this]))
node(exp.ArrayContains, "this expression",
     "list_contains array_contains list_has array_has")(
    lambda n: ("list_contains", [n.this, n.expression]))
node(exp.ArrayConcat, "this expressions", "list_concat list_cat array_concat array_cat",
     fixed={"null_propagation": (False, None)})(
    lambda n: ("list_concat", [n.this, *n.expressions]))
node(exp.ArrayToString, "this expression", "array_to_string")(
    lambda n: ("array_to_string", [n.this, n.expression]))
node(exp.Split, "this expression", "string_split str_split string_to_array")(
    lambda n: ("string_split", [n.this, n.expression]))
node(exp.ArrayDistinct, "this", "list_distinct array_distinct",
     fixed={"check_null": (False, None)})(lambda n: ("list_distinct", [n.this]))
node(exp.ArrayMin, "this", "list_min")(lambda n: ("list_min", [n.this]))
node(exp.ArrayMax, "this", "list_max")(lambda n: ("list_max", [n.this]))
node(exp.ArraySum, "this", "list_sum")(lambda n: ("list_sum", [n.this]))
node(exp.ArraySlice, "this start end", "list_slice array_slice",
     fixed={"step": (None,), "is_length": (False, None)})(
    lambda n: ("list_slice", [n.this, n.args.get("start"), n.args.get("end")]))
node(exp.StructExtract, "this expression", "struct_extract")(
    lambda n: ("struct_extract", [n.this, n.expression]))


@node(exp.ArraySort, "this asc nulls_first", "list_sort array_sort list_reverse_sort "
      "array_reverse_sort", as_written=False)
def _array_sort(n):
    """sqlglot reads the order words: ``asc`` FALSE is DESC, ``nulls_first`` TRUE is NULLS
    FIRST (list_reverse_sort is list_sort DESC)."""
    asc, first = n.args.get("asc"), n.args.get("nulls_first")
    desc = isinstance(asc, exp.Boolean) and not asc.this
    nulls = "NULLS FIRST" if isinstance(first, exp.Boolean) and first.this else "NULLS LAST"
    return "list_sort", [n.this, exp.Literal.string("DESC" if desc else "ASC"),
                         exp.Literal.string(nulls)]
