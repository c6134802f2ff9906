"""Generated test data: one table with nulls and edge values in every supported type,
written in several segments (batches appended one commit each)."""

from __future__ import annotations

import datetime
import decimal
import random

import pyarrow as pa

BATCHES = 4
ROWS_PER_BATCH = 300

INT_COLS = {"i8": pa.int8(), "i16": pa.int16(), "i32": pa.int32(), "i64": pa.int64(),
            "u8": pa.uint8(), "u16": pa.uint16(), "u32": pa.uint32()}
# edge values; int64 kept below 2**53 so that sums of a few hundred stay in int64
INT_EDGES = {"i8": [-128, 127, 0, -1, 1], "i16": [-32768, 32767, 0, -1],
             "i32": [-2**31, 2**31 - 1, 0, -1], "i64": [-(2**53), 2**53, 0, -1, 1],
             "u8": [0, 255, 1], "u16": [0, 65535], "u32": [0, 2**32 - 1]}
FLOAT_EDGES = [0.0, -0.0, 1e300, -1e300, 1e-300, -1e-300, 0.5, -0.5, 2.5, 1.0 / 3, 123456.789]
FLOAT32_EDGES = [0.0, -0.0, 1e30, -1e30, 1e-30, 0.5, -2.5, 3.25]
DECIMALS = {"d92": (9, 2), "d184": (18, 4), "d50": (5, 0), "d183": (18, 3)}
STRINGS = ["", "a", "A", "abc", "ABC", "abcdef", "hello world", "Hello", "héllo", "日本語",
           "x_y", "x%y", "100%", "a'b", "  padded  ", "zzz", "ümlaut", "Ω", "nul"]
CATS = ["red", "green", "blue", "", "Ünïcode", "RED", "gray"]


def _value(rng: random.Random, col: str, null_rate: float = 0.1):
    if rng.random() < null_rate:
        return None
    if col in INT_COLS:
        if rng.random() < 0.15:
            return rng.choice(INT_EDGES[col])
        lo, hi = {"i8": (-100, 100), "i16": (-1000, 1000), "i32": (-100_000, 100_000),
                  "i64": (-10**12, 10**12), "u8": (0, 200), "u16": (0, 60000),
                  "u32": (0, 10**9)}[col]
        return rng.randint(lo, hi)
    if col == "f64":
        if rng.random() < 0.15:
            return rng.choice(FLOAT_EDGES)
        return round(rng.uniform(-1000, 1000), rng.choice([0, 1, 2, 6]))
    if col == "f32":
        if rng.random() < 0.15:
            return rng.choice(FLOAT32_EDGES)
        return float(rng.randint(-4000, 4000)) / 8  # exactly representable
    if col in DECIMALS:
        p, s = DECIMALS[col]
        limit = 10 ** min(p, 15) - 1  # d184/d183: sums of many rows must fit 38 digits
        if rng.random() < 0.1:
            v = rng.choice([limit, -limit, 0, 1, -1, 5, -5, 10**s // 2, -(10**s // 2)])
        else:
            v = rng.randint(-limit // 1000, limit // 1000)
        return decimal.Decimal(v).scaleb(-s)
    if col == "dt":
        if rng.random() < 0.2:
            return rng.choice([datetime.date(2024, 1, 31), datetime.date(2024, 2, 29),
                               datetime.date(2023, 12, 31), datetime.date(1970, 1, 1),
                               datetime.date(1969, 12, 31), datetime.date(2000, 3, 31),
                               datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)])
        return datetime.date(1990, 1, 1) + datetime.timedelta(days=rng.randint(0, 15000))
    if col == "ts":
        base = datetime.datetime(1995, 1, 1)
        if rng.random() < 0.15:
            return rng.choice([datetime.datetime(2024, 1, 31, 23, 59, 59, 999999),
                               datetime.datetime(1970, 1, 1), datetime.datetime(1969, 12, 31, 12),
                               datetime.datetime(2000, 2, 29, 0, 0, 0, 1)])
        return base + datetime.timedelta(seconds=rng.randint(0, 10**9),
                                         microseconds=rng.choice([0, 0, 123456, 500000]))
    if col == "b":
        return rng.random() < 0.5
    if col == "s":
        return rng.choice(STRINGS)
    if col == "cat":
        return rng.choice(CATS)
    if col == "g":
        return rng.randint(0, 4)
    raise AssertionError(col)


def schema() -> pa.Schema:
    fields = [pa.field("id", pa.int64())]
    fields += [pa.field(n, t) for n, t in INT_COLS.items()]
    fields += [pa.field("f32", pa.float32()), pa.field("f64", pa.float64())]
    fields += [pa.field(n, pa.decimal128(p, s)) for n, (p, s) in DECIMALS.items()]
    fields += [pa.field("dt", pa.date32()), pa.field("ts", pa.timestamp("us")),
               pa.field("b", pa.bool_()), pa.field("s", pa.large_string()),
               pa.field("cat", pa.large_string()), pa.field("g", pa.int32())]
    return pa.schema(fields)


def batches(seed: int = 20240229) -> list[pa.Table]:
    rng = random.Random(seed)
    sch = schema()
    out = []
    for b in range(BATCHES):
        cols = {f.name: [] for f in sch}
        for i in range(ROWS_PER_BATCH):
            cols["id"].append(b * ROWS_PER_BATCH + i)
            for f in sch:
                if f.name != "id":
                    cols[f.name].append(_value(rng, f.name, 0.02 if f.name == "g" else 0.1))
        out.append(pa.table(cols, schema=sch))
    return out
