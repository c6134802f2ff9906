"""Query parameters: ``?``, ``$1`` and ``$name`` placeholders bound to typed constants.

Values never enter the SQL text: each placeholder of the parsed statement becomes a
``Param`` in the bound plan, a constant (``Lit``) that remembers which parameter it is.
The rules are DuckDB's (its Python API's ``execute(sql, params)``):

- ``?`` is numbered one more than the highest number seen before it in the text (``?, ?``
  are ``$1, $2``; ``$2, ?`` are ``$2, $3``), and may be mixed with ``$1``-style numbers;
  numbered parameters take a sequence (list, tuple, ...): value i is ``$i``, and every
  value must be used (``$1, $3`` with three values: the second is refused), or a dict
  with keys "1", "3", ... .
- ``$name`` takes a dict; names match case-insensitively. Named and numbered parameters
  in one statement are refused, as are values nothing uses and parameters without one.
- Types follow the Python value: int BIGINT (UBIGINT from 2**63), float DOUBLE, bool
  BOOLEAN, str VARCHAR, Decimal DECIMAL(p,s) (DOUBLE past 18 digits), datetime.date DATE,
  datetime.datetime TIMESTAMP (TIMESTAMPTZ when it has a time zone), datetime.time
  TIME, timedelta INTERVAL, bytes BLOB, None NULL; numpy scalars as their Python value.
  Anything else is refused with the parameter's name.

A bound plan whose parameters all survive binding as ``Param`` nodes does not depend on
their values beyond their types (see ``signature``): the session keeps it and binds a
later run of the same text with other values by ``substitute``, which copies the plan
with the new values, then optimizes the copy (the optimizer's ranges and index probes do
depend on the values). Where binding folded a parameter into something else (``? + 1``
is the constant 3, ``LIMIT ?`` an integer of the plan, ``x IN (?, ?)`` a value list),
the statement is bound afresh for each run.

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT $2, ?, $1", read="duckdb")
>>> b = bind_values(tree, [1, "a", 2.5], "SELECT $2, ?, $1")
>>> [(str(k), str(p), str(p.type)) for k, p in b.items()]
[('1', '1', 'int64'), ('2', "'a'", 'string'), ('3', '2.5', 'float')]
>>> [p.sql(dialect="duckdb") for p in tree.find_all(sqlglot.exp.Placeholder)]
['$2', '$3', '$1']
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from mapdb.query.expr import Expr, Lit
from mapdb.query.plan import IndexAccess, Plan, SortKey
from mapdb.query.syntax import locate
from mapdb.query.types import (
    BOOL,
    DATE,
    DECIMAL,
    FLOAT64,
    INT64,
    INTERVAL,
    NULL,
    STRING,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UINT64,
    QueryError,
    SqlType,
)

BINARY = SqlType("binary", arrow=pa.large_binary())
_EPOCH = datetime.datetime(1970, 1, 1)
_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Param(Lit):
    """A constant that came from parameter ``key`` (1-based number, or lower-case name).
    Equal only to the same parameter with the same value: ``x + $1`` and ``x + $2`` are
    different expressions whatever their values (as in DuckDB)."""
    key: int | str = 0


def name(key: int | str) -> str:
    return f"${key}"


def placeholders(tree: exp.Expression) -> list[tuple[exp.Placeholder, int | str]]:
    """The statement's placeholders in order, each with its key: ``?`` numbered as
    DuckDB numbers it (one past the highest number so far), ``$n`` its number, ``$name``
    its lower-cased name. ``?`` nodes are renamed ``$n`` in the tree (the column a bare
    ``SELECT ?`` makes is named ``$1``, as in DuckDB)."""
    out = []
    top = 0
    for node in tree.dfs():  # in the order of the text
        if not isinstance(node, exp.Placeholder):
            continue
        this = node.this
        if this is None or this == "":
            top += 1
            key: int | str = top
            node.set("this", str(top))
        elif str(this).isdigit():
            key = int(str(this))
            top = max(top, key)
        else:
            key = str(this).lower()
        out.append((node, key))
    return out


def placeholder_key(node: exp.Placeholder) -> int | str:
    """The key of a placeholder ``placeholders`` has numbered."""
    text = str(node.this)
    return int(text) if text.isdigit() else text.lower()


class Binding:
    """Values to bind (``bind_sql(..., params=Binding(values))``) that record what binding
    found: the statement's parameter keys and their Params."""

    def __init__(self, values):
        self.values = values
        self.keys: list[int | str] = []
        self.bound: dict[int | str, Param] = {}


def bind_values(tree: exp.Expression, params, sql: str = "") -> dict[int | str, Param]:
    """Each parameter key of ``tree`` -> its Param, from ``params`` (a sequence or a dict,
    or a Binding of one; None: the statement must have no placeholders). QueryError names
    the parameter that has no value, the value nothing uses, or the value that cannot be
    a constant."""
    binding = params if isinstance(params, Binding) else None
    nodes: dict = {}
    for node, key in placeholders(tree):
        nodes.setdefault(key, node)
    keys = list(nodes)
    try:
        bound = values_for(keys, binding.values if binding is not None else params)
    except QueryError as e:
        key = getattr(e, "key", None)
        if key in nodes and sql:  # where the parameter is
            raise QueryError(str(e), locate(nodes[key]), sql) from None
        raise
    if binding is not None:
        binding.keys, binding.bound = keys, bound
    return bound


def values_for(keys: list[int | str], params) -> dict[int | str, Param]:
    """``bind_values`` for a statement whose parameter keys are known."""
    numbered = [k for k in keys if isinstance(k, int)]
    named = [k for k in keys if isinstance(k, str)]
    if numbered and named:
        raise _error(f"mixing named ({name(named[0])}) and numbered ({name(numbered[0])}) "
                     "parameters in one statement is not supported", named[0])
    if params is None:
        if keys:
            raise _error(f"the statement has {len(keys)} parameter(s) "
                         f"({', '.join(name(k) for k in keys)}) but no values were given "
                         "(pass params=[...] or a dict)", keys[0])
        return {}
    values = _values(params)
    want = sorted(numbered) + named  # (named: in order of appearance)
    extra = [k for k in values if k not in want]
    if extra:
        what = (f"value #{extra[0]}" if isinstance(extra[0], int) and
                not isinstance(params, Mapping) else f"value {name(extra[0])}")
        raise QueryError(f"{what} is not used: the statement has no parameter "
                         f"{name(extra[0])}" + _counts(want, values))
    missing = [k for k in want if k not in values]
    if missing:
        raise _error(f"no value given for parameter {name(missing[0])}"
                     + _counts(want, values), missing[0])
    return {k: Param(*constant(values[k], k), key=k) for k in want}


def _error(message: str, key: int | str) -> QueryError:
    e = QueryError(message)
    e.key = key  # (bind_values adds where the parameter is)
    return e


def _counts(want: list, values: dict) -> str:
    return (f" (it has {len(want)} parameter{'s' if len(want) != 1 else ''}, "
            f"{len(values)} value{'s' if len(values) != 1 else ''} given)")


def _values(params) -> dict[int | str, object]:
    if isinstance(params, Mapping):
        out: dict[int | str, object] = {}
        for k, v in params.items():
            key = str(k).lstrip("$")
            out[int(key) if key.isdigit() else key.lower()] = v
        return out
    if isinstance(params, str | bytes | bytearray) or not isinstance(params, Sequence):
        raise QueryError("parameters are given as a sequence (list, tuple) or a dict, not "
                         f"a {type(params).__name__}")
    return {i + 1: v for i, v in enumerate(params)}


def constant(value, key: int | str) -> tuple[object, SqlType]:
    """(representation value, type) of a Python value, as a Lit holds it."""
    import numpy as np
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None, NULL
    if isinstance(value, bool):
        return value, BOOL
    if isinstance(value, int):
        if -(1 << 63) <= value < (1 << 63):
            return value, INT64
        if 0 <= value < (1 << 64):
            return value, UINT64
        raise _error(f"parameter {name(key)}: the integer {value} is out of the BIGINT "
                     "and UBIGINT ranges", key)
    if isinstance(value, float):
        return value, FLOAT64
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _error(f"parameter {name(key)}: the string is not valid Unicode "
                         "(a lone surrogate)", key) from None
        return value, STRING
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return float(value), FLOAT64
        _, digits, exponent = value.as_tuple()
        scale = max(-exponent, 0)
        digits = digits + (0,) * max(exponent, 0)
        if len(digits) > 18 or scale > 18:
            return float(value), FLOAT64
        return int(value.scaleb(scale)), DECIMAL(max(len(digits), scale + 1), scale)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return (value - _EPOCH_UTC) // datetime.timedelta(microseconds=1), TIMESTAMPTZ
        return (value - _EPOCH) // datetime.timedelta(microseconds=1), TIMESTAMP
    if isinstance(value, datetime.date):
        return (value - datetime.date(1970, 1, 1)).days, DATE
    if isinstance(value, datetime.timedelta):
        return (0, value.days, value.seconds * 1_000_000 + value.microseconds), INTERVAL
    if isinstance(value, datetime.time) and value.tzinfo is None:
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + \
            value.microsecond, TIME
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value), BINARY
    raise _error(f"parameter {name(key)}: a {type(value).__name__} value cannot be a "
                 "SQL constant (use None, bool, int, float, Decimal, str, bytes, date, "
                 "datetime, time or timedelta)", key)


def signature(bound: dict[int | str, Param]) -> tuple:
    """What a plan bound with these values may depend on: each parameter's type, and a
    boolean's value (``? AND x`` simplifies by it). Two runs with equal signatures bind
    to the same plan up to the Param values."""
    return tuple((k, p.type, p.value if p.type.kind == "bool" else None)
                 for k, p in sorted(bound.items(), key=lambda kv: str(kv[0])))


_NODES = (Plan, Expr, SortKey, IndexAccess)


def _fields(obj) -> list[str]:
    return [f.name for f in dataclasses.fields(obj) if f.init and f.name != "source"]


@dataclass
class Template:
    """A bound plan (not optimized) whose Params are the statement's parameters: ``hot``
    holds the ids of its expression nodes that contain one (only those are copied)."""
    plan: Plan
    names: list[str]
    explain: str | None
    keys: frozenset
    hot: frozenset

    @staticmethod
    def of(plan: Plan, names: list[str], explain: str | None) -> Template:
        keys: set = set()
        hot: set[int] = set()
        seen: set[int] = set()

        def visit(obj) -> bool:
            if isinstance(obj, Param):
                keys.add(obj.key)
                return True
            if isinstance(obj, _NODES) and dataclasses.is_dataclass(obj):
                if id(obj) in seen:
                    return id(obj) in hot
                seen.add(id(obj))
                found = False
                for f in _fields(obj):
                    found |= visit(getattr(obj, f))
                if found:
                    hot.add(id(obj))
                return found
            if isinstance(obj, list | tuple):
                return any([visit(x) for x in obj])
            if isinstance(obj, dict):
                return any([visit(x) for x in obj.values()])
            return False

        visit(plan)
        return Template(plan, names, explain, frozenset(keys), frozenset(hot))

    def substitute(self, bound: dict[int | str, Param]) -> Plan:
        """A copy of the plan (every plan node, list and dict its own: the optimizer
        rewrites in place; a CTE's plan shared by its readers stays shared; sources and
        expressions without parameters are not copied) with each Param taking its value
        from ``bound``."""
        hot, memo = self.hot, {}

        def copy(obj):
            if isinstance(obj, Param):
                return bound[obj.key]
            if isinstance(obj, Plan):
                if id(obj) not in memo:
                    memo[id(obj)] = dataclasses.replace(
                        obj, **{f: copy(getattr(obj, f)) for f in _fields(obj)})
                return memo[id(obj)]
            if isinstance(obj, _NODES):
                if id(obj) not in hot:
                    return obj
                return dataclasses.replace(obj, **{f: copy(getattr(obj, f))
                                                   for f in _fields(obj)})
            if isinstance(obj, list):
                return [copy(x) for x in obj]
            if isinstance(obj, tuple):
                return tuple(copy(x) for x in obj)
            if isinstance(obj, dict):
                return {k: copy(v) for k, v in obj.items()}
            return obj

        return copy(self.plan)


class Statements:
    """The parameter keys of recently bound statements with placeholders, by text (so
    a run finds its cached plan without parsing), and how often a bound plan was reused
    with new values."""

    def __init__(self, size: int = 256):
        self._size = size
        self._keys: OrderedDict[str, list] = OrderedDict()
        self._lock = threading.Lock()
        self.reused = 0

    def keys(self, sql: str) -> list | None:
        with self._lock:
            keys = self._keys.get(sql)
            if keys is not None:
                self._keys.move_to_end(sql)
            return keys

    def learn(self, sql: str, keys: list) -> None:
        with self._lock:
            self._keys[sql] = list(keys)
            self._keys.move_to_end(sql)
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
