"""The tables of the random differential query generator (tests/query/differential.py).

Built once per session from a fixed seed, loaded into mapdb (appended in several commits,
so scans cross segments; ``c`` and ``nm`` dictionary-encoded) and, from the same Arrow
tables, into DuckDB. Every column is dense with the values engines get wrong: NULL, NaN,
+-inf, -0.0, empty and unicode strings (multi-byte, combining characters, 4-byte emoji),
integer extremes of every width, uint64 past 2**63, decimals at their limits, dates
before 1970 and far in the future, timestamps with and without a time zone.

``t``  the main table: every type, ``id`` unique (a total order), 4 segments
``u``  join partner of ``t``: keys with duplicates and NULLs (``k`` ~ t.g, ``ks`` ~ t.s,
       ``kd`` ~ t.dt, ``w`` ~ t.f64 with NaN and -0.0), 2 segments
``v``  a third table (``k`` ~ t.i8 and u.k, ``x`` decimal, ``uk`` uint64 ~ t.u64)
``e``  no rows, ``u``'s schema (aggregates and joins over nothing)
"""

from __future__ import annotations

import datetime as _dt
import decimal
import random

import pyarrow as pa

DATA_SEED = 16
T_BATCHES = 4
T_ROWS = 48  # per batch
UTC = _dt.UTC
D = decimal.Decimal

I_EDGES = {
    "i8": [-128, 127, 0, -1, 1],
    "i16": [-32768, 32767, 0, -1],
    "i32": [-2**31, 2**31 - 1, 0, -1],
    "i64": [-2**63, 2**63 - 1, 0, -1, 1],
    "u8": [0, 255, 1],
    "u32": [0, 2**32 - 1, 1],
    "u64": [0, 1, 2**63 - 1, 2**63, 2**64 - 1],
}
I_RANGE = {"i8": (-100, 100), "i16": (-1000, 1000), "i32": (-100_000, 100_000),
           "i64": (-10**12, 10**12), "u8": (0, 200), "u32": (0, 10**6),
           "u64": (0, 10**6)}
NAN, INF = float("nan"), float("inf")
F64_EDGES = [NAN, INF, -INF, -0.0, 0.0, 1e300, 1.7976931348623157e308, 5e-324, -1e-300,
             0.1, 2.5, -2.5, 1.0 / 3]
F32_EDGES = [NAN, INF, -INF, -0.0, 0.0, 3.25, -0.5, 1e30]
D182_EDGES = [D("9999999999999999.99"), D("-9999999999999999.99"), D("0.01"), D("-0.01"),
              D("0.00"), D("0.50"), D("-0.50")]
D42_EDGES = [D("99.99"), D("-99.99"), D("0.05"), D("-0.05"), D("0.00"), D("1.50"), D("-2.50")]
D103_EDGES = [D("9999999.999"), D("-9999999.999"), D("0.001"), D("0.500"), D("-0.500")]
DATE_EDGES = [_dt.date(1970, 1, 1), _dt.date(1969, 12, 31), _dt.date(1900, 1, 1),
              _dt.date(1900, 3, 1), _dt.date(2000, 2, 29), _dt.date(2024, 2, 29),
              _dt.date(1, 1, 1), _dt.date(1582, 10, 10), _dt.date(9999, 12, 31),
              _dt.date(2262, 4, 12), _dt.date(2038, 1, 19)]
TS_EDGES = [_dt.datetime(1970, 1, 1), _dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
            _dt.datetime(1900, 1, 1, 12, 30), _dt.datetime(2000, 2, 29, 0, 0, 0, 1),
            _dt.datetime(2262, 4, 11, 23, 47, 16, 854775), _dt.datetime(9999, 12, 31, 23, 59, 59),
            _dt.datetime(1, 1, 1), _dt.datetime(2024, 12, 31, 23, 59, 59, 500000)]
STRINGS = ["", "a", "A", "b", "abc", "ABC", "abcdef", "hello world", "Hello", "é",
           "e\u0301", "héllo", "日本語", "日本", "🦆", "🦆x", "ß", "İ", "Ω", "ǅ", "a%b", "a_b",
           "it's", " lead", "trail ", "NULL", "zzz", "0", "12", "-3.5", "2024-02-29", "\t",
           "a\nb", "ümlaut", "x" * 40]
CATS = ["red", "green", "blue", "", "Ünïcode", "RED", "日本", "🦆"]
NAMES = ["ann", "bob", "", "Émile", "日本", "zed", "bob "]


def _maybe(rng: random.Random, p_null: float, f):
    return None if rng.random() < p_null else f()


def _int(rng, col):
    if rng.random() < 0.25:
        return rng.choice(I_EDGES[col])
    return rng.randint(*I_RANGE[col])


def _pick(rng, edges, p_edge, normal):
    return rng.choice(edges) if rng.random() < p_edge else normal()


def _date(rng):
    return _pick(rng, DATE_EDGES, 0.3, lambda: _dt.date(1960, 1, 1)
                 + _dt.timedelta(days=rng.randint(0, 30000)))


def _ts(rng):
    return _pick(rng, TS_EDGES, 0.25, lambda: _dt.datetime(1960, 1, 1) + _dt.timedelta(
        seconds=rng.randint(0, 2 * 10**9), microseconds=rng.choice([0, 0, 1, 123456, 999999])))


T_SCHEMA = pa.schema([
    ("id", pa.int64()), ("g", pa.int32()), ("i8", pa.int8()), ("i16", pa.int16()),
    ("i32", pa.int32()), ("i64", pa.int64()), ("u8", pa.uint8()), ("u32", pa.uint32()),
    ("u64", pa.uint64()), ("f32", pa.float32()), ("f64", pa.float64()),
    ("d182", pa.decimal128(18, 2)), ("d42", pa.decimal128(4, 2)), ("d103", pa.decimal128(10, 3)),
    ("dt", pa.date32()), ("ts", pa.timestamp("us")), ("tz", pa.timestamp("us", "UTC")),
    ("b", pa.bool_()), ("s", pa.large_string()), ("c", pa.large_string())])
U_SCHEMA = pa.schema([
    ("uid", pa.int64()), ("k", pa.int32()), ("ks", pa.large_string()), ("kd", pa.date32()),
    ("v", pa.int64()), ("w", pa.float64()), ("nm", pa.large_string())])
V_SCHEMA = pa.schema([
    ("vid", pa.int64()), ("k", pa.int64()), ("x", pa.decimal128(9, 2)),
    ("uk", pa.uint64()), ("vs", pa.large_string())])


def _t_row(rng, i):
    r = {"id": i, "g": _maybe(rng, 0.05, lambda: rng.randint(0, 4))}
    for col in ("i8", "i16", "i32", "i64", "u8", "u32", "u64"):
        r[col] = _maybe(rng, 0.1, lambda col=col: _int(rng, col))
    r["f32"] = _maybe(rng, 0.1, lambda: _pick(rng, F32_EDGES, 0.25,
                                             lambda: rng.randint(-400, 400) / 8))
    r["f64"] = _maybe(rng, 0.1, lambda: _pick(
        rng, F64_EDGES, 0.3, lambda: round(rng.uniform(-1000, 1000), rng.choice([0, 1, 3]))))
    r["d182"] = _maybe(rng, 0.1, lambda: _pick(
        rng, D182_EDGES, 0.25, lambda: D(rng.randint(-10**9, 10**9)).scaleb(-2)))
    r["d42"] = _maybe(rng, 0.1, lambda: _pick(
        rng, D42_EDGES, 0.25, lambda: D(rng.randint(-9999, 9999)).scaleb(-2)))
    r["d103"] = _maybe(rng, 0.1, lambda: _pick(
        rng, D103_EDGES, 0.25, lambda: D(rng.randint(-10**7, 10**7)).scaleb(-3)))
    r["dt"] = _maybe(rng, 0.1, lambda: _date(rng))
    r["ts"] = _maybe(rng, 0.1, lambda: _ts(rng))
    r["tz"] = _maybe(rng, 0.1, lambda: _ts(rng).replace(tzinfo=UTC))
    r["b"] = _maybe(rng, 0.15, lambda: rng.random() < 0.5)
    r["s"] = _maybe(rng, 0.1, lambda: rng.choice(STRINGS))
    r["c"] = _maybe(rng, 0.1, lambda: rng.choice(CATS))
    return r


def _u_row(rng, i):
    return {"uid": i, "k": _maybe(rng, 0.12, lambda: rng.randint(0, 6)),
            "ks": _maybe(rng, 0.1, lambda: rng.choice(STRINGS[:20])),
            "kd": _maybe(rng, 0.1, lambda: _date(rng)),
            "v": _maybe(rng, 0.1, lambda: rng.randint(-5, 20)),
            "w": _maybe(rng, 0.1, lambda: rng.choice([NAN, -0.0, 0.0, 0.1, 2.5, -2.5, INF,
                                                      1.0, 1e300])),
            "nm": _maybe(rng, 0.1, lambda: rng.choice(NAMES))}


def _v_row(rng, i):
    return {"vid": i, "k": _maybe(rng, 0.1, lambda: rng.choice([-128, -1, 0, 1, 2, 3, 5, 127,
                                                                 2**40])),
            "x": _maybe(rng, 0.1, lambda: rng.choice([D("9999999.99"), D("-9999999.99"),
                                                      D("1.50"), D("0.05"), D("-2.50"),
                                                      D("0.00"), D("99.99")])),
            "uk": _maybe(rng, 0.1, lambda: rng.choice([0, 1, 2**63 - 1, 2**63, 2**64 - 1])),
            "vs": _maybe(rng, 0.1, lambda: rng.choice(["a", "", "é", "e\u0301", "🦆", "red",
                                                       "ann", "Ω"]))}


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.table({f.name: pa.array([r[f.name] for r in rows], f.type) for f in schema},
                    schema=schema)


# Variants of the same data with one kind of float value taken out: a failure that goes
# away on a variant is attributed to that value (tests/query/test_differential.py).
VARIANTS = {
    "nan": lambda x: None if x != x else x,  # NaN -> NULL
    "negzero": lambda x: 0.0 if x == 0 else x,  # -0.0 -> 0.0
    "nan-negzero": lambda x: None if x != x else 0.0 if x == 0 else x,
    "normal": lambda x: None if x != 0 and abs(x) < 1e-290 else x,  # denormals, 1e-300
    # NaN, +-inf, |x| >= 1e300, denormals, integers beyond +-2**53 and decimals of 12
    # integer digits or more -> NULL
    "small": lambda x: None if x != x or abs(x) >= (
        1e300 if isinstance(x, float) else 2**53 if isinstance(x, int) else 10**12)
    or (x != 0 and abs(x) < 1e-290) else x,
}


def tables(seed: int = DATA_SEED, variant: str | None = None) -> dict[str, list[pa.Table]]:
    """name -> batches (each one commit in mapdb)."""
    rng = random.Random(seed)
    t = [_table([_t_row(rng, b * T_ROWS + i) for i in range(T_ROWS)], T_SCHEMA)
         for b in range(T_BATCHES)]
    u = [_table([_u_row(rng, b * 16 + i) for i in range(16)], U_SCHEMA) for b in range(2)]
    v = [_table([_v_row(rng, i) for i in range(14)], V_SCHEMA)]
    out = {"t": t, "u": u, "v": v, "e": [u[0].slice(0, 0)]}
    if variant:
        f = VARIANTS[variant]
        ints = variant == "small"
        out = {name: [_map(b, f, ints) for b in batches] for name, batches in out.items()}
    return out


def _map(t: pa.Table, f, ints: bool) -> pa.Table:
    """``f`` applied to the float columns (and 64-bit integers and decimals when ``ints``)."""
    def mapped(c):
        if pa.types.is_floating(c.type) or (ints and (c.type in (pa.int64(), pa.uint64())
                                                      or pa.types.is_decimal(c.type))):
            return pa.array([None if v is None else f(v) for v in c.to_pylist()], c.type)
        return c
    return pa.table([mapped(c) for c in t.columns], schema=t.schema)


DICTIONARY = {"t": ["c"], "u": ["nm"], "v": None, "e": ["nm"]}


def load(db, con, seed: int = DATA_SEED, variant: str | None = None) -> dict[str, pa.Table]:
    """Create the tables in mapdb ``db`` and DuckDB ``con``; returns name -> whole table.
    Asserts mapdb reads back exactly what was written (NaN payloads and -0.0 included)."""
    out = {}
    for name, batches in tables(seed, variant).items():
        first, *rest = batches
        db.create_table(name, first, dictionary=DICTIONARY[name])
        h = db.table(name)
        for b in rest:
            h.append(b)
        whole = pa.concat_tables(batches)
        back = h.to_arrow()
        h.close()
        back = pa.table([c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
                         for c in back.columns], names=back.column_names)
        assert back.schema == whole.schema, (name, back.schema, whole.schema)
        for a, b in zip(back.columns, whole.columns, strict=True):
            assert _bits(a) == _bits(b), name
        con.register(f"_arrow_{name}", whole)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _arrow_{name}")
        con.unregister(f"_arrow_{name}")
        out[name] = whole
    return out


def _bits(col: pa.ChunkedArray) -> list:
    """Values with floats as their bit patterns (NaN and -0.0 compare as written)."""
    import struct
    vals = col.to_pylist()
    if pa.types.is_floating(col.type):
        fmt = "<f" if col.type == pa.float32() else "<d"
        return [None if v is None else struct.pack(fmt, v) for v in vals]
    return vals
