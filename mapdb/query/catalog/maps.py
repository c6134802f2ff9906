"""MAP values: ``MAP {'a': 1}``, ``map(keys, values)``, ``map_from_entries``, ``m[k]`` and
DuckDB's map_* functions, with DuckDB's types and errors (tests/query/test_maps.py).

A map is Arrow's map array of the output types (``types.MAP``): per row a run of
(key, value) entries, keys never NULL and unique in a row (DuckDB's errors otherwise).
The kernels work on the offsets with numpy and on the flattened keys and values with
Arrow's kernels, never a Python loop per row.

>>> from mapdb.query.types import MAP, STRING, INT64
>>> str(MAP(STRING, INT64)), MAP(STRING, INT64).arrow
('map(string, int64)', MapType(map<large_string, int64>))
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query.arrays import from_numpy
from mapdb.query.catalog import arity, kernel, node, register
from mapdb.query.catalog.nested import _coerce, _typed
from mapdb.query.expr import Call, Expr, Lit
from mapdb.query.nested import ListParts, from_output, make_list, to_output
from mapdb.query.types import (
    BOOL,
    LIST,
    MAP,
    NULL,
    STRUCT,
    UINT64,
    QueryError,
    SqlType,
)

_FAMILY = "nested"


class _Entries:
    """A map array's rows as numpy (``ListParts``' shape): ``length``, ``valid``, and each
    row's keys and values flattened in row order (``keys``, ``values``, ``parents``)."""

    def __init__(self, m: pa.Array):
        if isinstance(m, pa.ChunkedArray):
            m = m.combine_chunks()
        valid = m.is_valid()
        lists = pa.ListArray.from_arrays(m.offsets, m.values,
                                         mask=None if not m.null_count else pc.invert(valid))
        p = ListParts(lists)
        entries = p.elements()
        self.valid, self.length = p.valid, p.length
        self.keys, self.values = entries.field(0), entries.field(1)
        self.parents = p.parents()

    def __len__(self) -> int:
        return len(self.valid)


def _map_arg(name: str, x: Expr) -> None:
    if x.type.kind not in ("map", "null"):
        raise QueryError(f"{name}(): argument 1 must be a MAP, got {x.type}")


def _key_value(x: Expr) -> tuple[SqlType, SqlType]:
    return (x.type.fields[0][1], x.type.fields[1][1]) if x.type.kind == "map" else (NULL, NULL)


def _make_map(length: np.ndarray, keys: pa.Array, values: pa.Array, valid: np.ndarray,
              t: SqlType) -> pa.Array:
    offsets = np.zeros(len(length) + 1, np.int32)
    np.cumsum(length, out=offsets[1:])
    mask = None if valid.all() else pa.array(~valid)
    return pa.MapArray.from_arrays(pa.array(offsets), keys.cast(t.arrow.key_type),
                                   values.cast(t.arrow.item_type), type=t.arrow, mask=mask)


def _check_keys(keys: pa.Array, parents: np.ndarray) -> None:
    """DuckDB's errors: a NULL key, a key twice in one map."""
    if keys.null_count:
        raise QueryError("map keys can not be NULL")
    if len(keys):
        counts = pa.table({"r": parents, "k": keys}).group_by(["r", "k"]).aggregate(
            [("r", "count")]).column(2)
        if pc.max(counts).as_py() > 1:
            raise QueryError("map keys must be unique")


def _typed_map(k: SqlType, v: SqlType, name: str) -> SqlType:
    if k.kind == "null":
        raise QueryError(f"{name}: a map without a key type (no keys) is not supported "
                         "(DuckDB's MAP(\"NULL\", \"NULL\"))")
    if v.kind == "null":
        raise QueryError(f"{name}: a map whose values are all NULL has no value type "
                         "(CAST them)")
    return MAP(k, v)


# -- constructors -----------------------------------------------------------------------

def _map(name: str, args: list[Expr]) -> Expr:
    """map(keys, values) / MAP {k: v, ...} (the reading below gives two lists)."""
    if not args:
        raise QueryError("map() of no entries has no key type (DuckDB's MAP(\"NULL\", "
                         "\"NULL\")); it is not supported")
    arity(name, args, 2)
    for i, a in enumerate(args):
        if a.type.kind not in ("list", "null"):
            raise QueryError(f"{name}(): argument {i + 1} must be a list, got {a.type}")
    k = args[0].type.element if args[0].type.kind == "list" else NULL
    v = args[1].type.element if args[1].type.kind == "list" else NULL
    t = _typed_map(k, v, name)
    if any(isinstance(a, Lit) and a.value is None for a in args):
        return Lit(None, t)
    return Call("map_from_lists", tuple(args), t)


@kernel("map_from_lists")
def _map_from_lists(e: Call, keys: pa.Array, values: pa.Array) -> pa.Array:
    pk, pv = ListParts(keys), ListParts(values)
    valid = pk.valid & pv.valid
    if (pk.length[valid] != pv.length[valid]).any():
        raise QueryError("map(): the key list does not align with the value list")
    length = np.where(valid, pk.length, 0)
    p = ListParts(make_list(length, pk.values.take(pa.array(_gather(pk, valid))), valid))
    k = p.elements()
    _check_keys(k, p.parents())
    v = pv.values.take(pa.array(_gather(pv, valid)))
    return _make_map(length, k, v, valid, e.type)


def _gather(p: ListParts, valid: np.ndarray) -> np.ndarray:
    from mapdb.query.nested import gather
    return gather(p.start, np.where(valid, p.length, 0))


def _from_entries(name: str, args: list[Expr]) -> Expr:
    """map_from_entries([{k: .., v: ..}, ...]): each struct's first field the key, its
    second the value (names do not matter, as DuckDB's)."""
    arity(name, args, 1)
    x = args[0]
    if x.type.kind == "null":
        return Lit(None, NULL)
    if x.type.kind != "list" or x.type.element.kind not in ("struct", "null") or (
            x.type.element.kind == "struct" and len(x.type.element.fields) != 2):
        raise QueryError(f"{name}(): the argument must be a list of two-field structs, got "
                         f"{x.type}")
    if x.type.element.kind == "null":
        raise QueryError(f"{name}(): a map without a key type (no entries) is not supported")
    (_, k), (_, v) = x.type.element.fields
    return Call("map_from_entries", (x,), _typed_map(k, v, name))


@kernel("map_from_entries")
def _from_entries_kernel(e: Call, a: pa.Array) -> pa.Array:
    p = ListParts(a)
    entries = p.elements()
    if entries.null_count:
        raise QueryError("map keys can not be NULL")
    keys, values = entries.field(0), entries.field(1)
    _check_keys(keys, p.parents())
    return _make_map(p.length, keys, values, p.valid, e.type)


# -- access -----------------------------------------------------------------------------

def _key_arg(name: str, m: Expr, k: Expr) -> Expr:
    """The key brought to the map's key type (a number to a number, as DuckDB's)."""
    kt, _ = _key_value(m)
    k = _typed(k)
    if k.type.kind == "null" or kt.kind == "null" or k.type == kt:
        return k if k.type.kind != "null" else Lit(None, kt)
    if (k.type.numeric and kt.numeric) or k.type.kind == kt.kind:
        return _coerce(k, kt)
    raise QueryError(f"{name}(): a key of type {k.type} for a map of {kt} keys")


def _extract(name: str, args: list[Expr]) -> Expr:
    """m[k] / map_extract_value(m, k): the value (DuckDB 1.3+); map_extract / element_at:
    a list of it ([] for a missing key)."""
    arity(name, args, 2)
    m = args[0]
    _map_arg(name, m)
    _, vt = _key_value(m)
    as_list = name in ("map_extract", "element_at")
    t = LIST(vt) if as_list else vt
    if m.type.kind == "null":
        return Lit(None, t)
    k = _key_arg(name, m, args[1])
    return Call("map_extract", (m, k), t, as_list)


def _positions(m: _Entries, k: pa.Array) -> np.ndarray:
    """Each row's entry (an index into the flattened keys) whose key is k, -1 for none."""
    at = np.full(len(m), -1, np.int64)
    if len(m.keys) and len(k):
        eq = pc.equal(m.keys, k.take(pa.array(m.parents))).fill_null(False)
        hits = np.flatnonzero(np.asarray(eq, bool))
        at[m.parents[hits]] = hits  # (keys are unique in a row)
    return at


@kernel("map_extract")
def _extract_kernel(e: Call, a: pa.Array, k: pa.Array) -> pa.Array:
    m = _Entries(a)
    vt = e.args[0].type.fields[1][1]
    k = to_output(k, e.args[1].type).cast(m.keys.type) if len(k) else k
    at = _positions(m, k)
    found = at >= 0
    if not len(m.values):
        values = pa.nulls(len(m), m.values.type)
    else:
        values = m.values.take(pa.array(np.where(found, at, 0)))
    if e.param:  # a list: [value] where found, [] where not, NULL for a NULL map
        return make_list(found.astype(np.int64), values.filter(pa.array(found)), m.valid,
                         e.type.arrow)
    if not found.all():
        values = pc.if_else(pa.array(found), values, pa.scalar(None, values.type))
    return from_output(values, vt)


def _contains(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    m = args[0]
    _map_arg(name, m)
    if m.type.kind == "null" or (isinstance(args[1], Lit) and args[1].value is None):
        return Lit(None, BOOL)
    return Call("map_contains", (m, _key_arg(name, m, args[1])), BOOL)


@kernel("map_contains")
def _contains_kernel(e: Call, a: pa.Array, k: pa.Array) -> pa.Array:
    m = _Entries(a)
    kv = to_output(k, e.args[1].type).cast(m.keys.type) if len(k) else k
    found = _positions(m, kv) >= 0  # (a NULL key is in no map: false, as DuckDB's)
    return from_numpy(found, ~m.valid)


def _part(what: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 1)
        m = args[0]
        _map_arg(name, m)
        kt, vt = _key_value(m)
        t = {"keys": LIST(kt), "values": LIST(vt), "cardinality": UINT64,
             "entries": LIST(STRUCT([("key", kt), ("value", vt)]))}[what]
        if m.type.kind == "null":
            return Lit(None, t)
        return Call(f"map_{what}", (m,), t)
    return bind


@kernel("map_keys", "map_values", "map_entries", "map_cardinality")
def _part_kernel(e: Call, a: pa.Array) -> pa.Array:
    m = _Entries(a)
    if e.op == "map_cardinality":
        return from_numpy(m.length.astype(np.uint64), ~m.valid)
    if e.op == "map_entries":
        values = pa.StructArray.from_arrays([m.keys, m.values], names=["key", "value"])
    else:
        values = m.keys if e.op == "map_keys" else m.values
    return make_list(m.length, values, m.valid, e.type.arrow)


@kernel("map_cast")
def _map_cast_kernel(e: Call, a: pa.Array) -> pa.Array:
    from mapdb.query.catalog.nested import _cast_values
    m = _Entries(a)
    (_, sk), (_, sv) = e.args[0].type.fields
    (_, tk), (_, tv) = e.type.fields
    conv = [to_output(_cast_values(from_output(x, s_), s_, t_), t_) if s_ != t_ else x
            for x, s_, t_ in ((m.keys, sk, tk), (m.values, sv, tv))]
    return _make_map(m.length, conv[0], conv[1], m.valid, e.type)


register("map", _map, "(LIST keys, LIST values) -> MAP", family=_FAMILY,
         doc="also `MAP {k: v, ...}`; keys unique and not NULL (DuckDB's errors); "
             "`map()` of no entries refused (no key type)")
register("map_from_entries", _from_entries, "(LIST of STRUCT(k, v)) -> MAP", family=_FAMILY)
register("map_extract_value", _extract, "(MAP, key) -> value", family=_FAMILY,
         doc="also `m[k]`; NULL for a missing key")
register("map_extract", _extract, "(MAP, key) -> LIST of value", aliases=("element_at",),
         family=_FAMILY, doc="[] for a missing key")
register("map_contains", _contains, "(MAP, key) -> BOOLEAN", family=_FAMILY)
register("map_keys", _part("keys"), "(MAP) -> LIST", family=_FAMILY)
register("map_values", _part("values"), "(MAP) -> LIST", family=_FAMILY)
register("map_entries", _part("entries"), "(MAP) -> LIST of STRUCT(key, value)",
         family=_FAMILY)
register("cardinality", _part("cardinality"), "(MAP) -> UBIGINT", family=_FAMILY,
         doc="the number of entries")


@node(exp.ToMap, "this", "map", as_written=False)
def _to_map(n):
    """``MAP {k: v, ...}``: sqlglot reads a struct of the entries; map(keys, values).
    ``MAP {...}[k]`` comes as the map of a subscripted struct: map_extract_value."""
    if isinstance(n.this, exp.Bracket) and isinstance(n.this.this, exp.Struct) and \
            len(n.this.expressions) == 1 and not isinstance(n.this.expressions[0], exp.Slice):
        return "map_extract_value", [exp.ToMap(this=n.this.this.copy()),
                                     n.this.expressions[0].copy()]
    items = n.this.expressions if isinstance(n.this, exp.Struct) else []
    if not isinstance(n.this, exp.Struct) or not all(
            isinstance(i, exp.PropertyEQ) for i in items):
        raise QueryError("MAP {...} takes key: value entries")
    if not items:
        return "map", []
    return "map", [exp.Array(expressions=[i.this.copy() for i in items]),
                   exp.Array(expressions=[i.expression.copy() for i in items])]


node(exp.Map, "keys values", "map", as_written=False)(
    lambda n: ("map", [a for a in (n.args.get("keys"), n.args.get("values")) if a is not None]))
node(exp.MapFromEntries, "this", "map_from_entries")(
    lambda n: ("map_from_entries", [n.this]))
node(exp.MapKeys, "this", "map_keys")(lambda n: ("map_keys", [n.this]))
