"""Dates and timestamps written in other formats than ISO 8601 (``25/12/2024``).

pyarrow's CSV reader recognises ISO 8601 only (``2024-12-25``, ``2024-12-25 10:30:00``).
DuckDB's ``read_csv`` also sniffs a few day-month-year layouts; so do we, with the same
templates and preference, and the user can name a format (``date_format=``,
``timestamp_format=``, strptime directives). Such columns are read as text by pyarrow and
converted here, strictly: ``30/02/2024`` is not a date (pyarrow's own ``strptime`` would
roll it over to March 1st).

>>> fmt = DateFormat.compile("%d/%m/%Y")
>>> values, bad = fmt.parse(pa.array(["25/12/2024", None, " 1/2/2024"]), pa.date32())
>>> values.to_pylist(), bad
([datetime.date(2024, 12, 25), None, datetime.date(2024, 2, 1)], None)
>>> fmt.parse(pa.array(["25/12/2024", "30/02/2024"]), pa.date32())[1]   # the first bad row
1
>>> ts = DateFormat.compile("%m/%d/%Y %I:%M:%S %p")
>>> ts.parse(pa.array(["12/25/2024 10:30:00 PM"]), pa.timestamp("us"))[0].to_pylist()
[datetime.datetime(2024, 12, 25, 22, 30)]
>>> [f.text for f in sniff_candidates("25.12.2024", "date")]
['%y.%m.%d', '%Y.%m.%d', '%d.%m.%y', '%d.%m.%Y', '%m.%d.%y', '%m.%d.%Y']
>>> DateFormat.compile("%d/%m/%Y %z")
Traceback (most recent call last):
...
mapdb.errors.IngestError: format '%d/%m/%Y %z': directive %z is not supported ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import IngestError

__all__ = ["DateFormat", "sniff_candidates"]

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

# strptime directive -> regex (named group = the field it sets; None: matched, ignored)
_DIRECTIVES: dict[str, tuple[str | None, str]] = {
    "Y": ("Y", r"\d{4}"),
    "y": ("y", r"\d{2}"),
    "m": ("m", r"\d{1,2}"),
    "d": ("d", r"\d{1,2}"),
    "H": ("H", r"\d{1,2}"),
    "I": ("I", r"\d{1,2}"),
    "M": ("M", r"\d{1,2}"),
    "S": ("S", r"\d{1,2}"),
    "f": ("f", r"\d{1,6}"),
    "p": ("p", r"[AaPp][Mm]"),
    "b": ("b", "|".join(m[:3] for m in _MONTHS)),
    "B": ("B", "|".join(_MONTHS)),
    "a": (None, "|".join(d[:3] for d in _DAYS)),
    "A": (None, "|".join(_DAYS)),
}
_DIRECTIVES["h"] = _DIRECTIVES["b"]
_TIME_FIELDS = frozenset("HIMSfp")

# DuckDB's templates (csv_sniffer.hpp), "-" standing for the separator the data uses. DuckDB
# tries them from the last to the first and keeps the first one that reads every value.
_DATE_TEMPLATES = ("%m-%d-%Y", "%m-%d-%y", "%d-%m-%Y", "%d-%m-%y", "%Y-%m-%d", "%y-%m-%d")
_TIMESTAMP_TEMPLATES = ("%Y-%m-%d %H:%M:%S.%f", "%m-%d-%Y %I:%M:%S %p",
                        "%m-%d-%y %I:%M:%S %p", "%d-%m-%Y %H:%M:%S", "%d-%m-%y %H:%M:%S",
                        "%Y-%m-%d %H:%M:%S", "%y-%m-%d %H:%M:%S")
_SEPARATORS = ("-", ".", "/", " ")
_NUMERIC_DATE = re.compile(r"\s*\d+(\D+)\d+(\D+)\d")

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class DateFormat:
    """A compiled strptime format: ``text`` as given, the RE2 pattern, the fields set."""

    text: str
    pattern: str
    fields: tuple[str, ...]

    @staticmethod
    @lru_cache(maxsize=256)
    def compile(text: str) -> DateFormat:
        out, fields = [], []
        i = 0
        while i < len(text):
            c = text[i]
            if c != "%":
                out.append(r"\s+" if c == " " else re.escape(c))
                i += 1
                continue
            j = i + 1
            if j < len(text) and text[j] == "-":  # %-d: not zero-padded (we accept both)
                j += 1
            if j >= len(text):
                raise IngestError(f"format {text!r}: a lone '%' at the end")
            d = text[j]
            i = j + 1
            if d == "%":
                out.append("%")
                continue
            if d not in _DIRECTIVES:
                raise IngestError(f"format {text!r}: directive %{d} is not supported "
                                  f"(supported: {' '.join('%' + k for k in _DIRECTIVES)} %%)")
            field, regex = _DIRECTIVES[d]
            if field is None:
                out.append(f"(?:{regex})")
                continue
            if field in fields or (field in "yY" and ("Y" in fields or "y" in fields)) or \
                    (field in "mbB" and set(fields) & set("mbB")):
                raise IngestError(f"format {text!r}: directive %{d} repeats a field")
            fields.append(field)
            out.append(f"(?P<{field}>{regex})")
        if not fields:
            raise IngestError(f"format {text!r} has no date or time directives")
        pattern = r"(?i)^\s*" + "".join(out) + r"\s*$"
        return DateFormat(text, pattern, tuple(fields))

    @property
    def has_time(self) -> bool:
        return bool(_TIME_FIELDS & set(self.fields))

    def parse(self, values: pa.Array | pa.ChunkedArray,
              target: pa.DataType) -> tuple[pa.Array, int | None]:
        """(``values`` as ``target`` -- date32 or a timestamp --, index of the first
        non-null value that does not read, or None). Unreadable values come back null."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            values = values.cast(pa.string())
        n = len(values)
        matched = pc.extract_regex(values, self.pattern)
        ok = matched.is_valid().to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(ok)
        got = matched.filter(pa.array(ok))
        k = len(idx)

        def num(field: str, default: int) -> np.ndarray:
            if field not in self.fields:
                return np.full(k, default, dtype=np.int64)
            return pc.cast(pc.struct_field(got, field), pa.int64()).to_numpy(
                zero_copy_only=False)

        def name_index(field: str, names: list[str]) -> np.ndarray:
            text = pc.utf8_lower(pc.struct_field(got, field))
            pos = pc.index_in(text, value_set=pa.array(names)).fill_null(-1)
            return pos.to_numpy(zero_copy_only=False).astype(np.int64) + 1

        if "Y" in self.fields:
            year = num("Y", 1900)
        elif "y" in self.fields:
            yy = num("y", 0)
            year = np.where(yy < 69, 2000 + yy, 1900 + yy)  # as DuckDB (and POSIX)
        else:
            year = np.full(k, 1900, dtype=np.int64)
        if "b" in self.fields:
            month = name_index("b", [m[:3] for m in _MONTHS])
        elif "B" in self.fields:
            month = name_index("B", _MONTHS)
        else:
            month = num("m", 1)
        day = num("d", 1)
        good = (month >= 1) & (month <= 12) & (day >= 1)
        start = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
        first = start.astype("datetime64[D]").astype(np.int64)
        month_days = (start + 1).astype("datetime64[D]").astype(np.int64) - first
        good &= day <= month_days
        days = first + day - 1
        if pa.types.is_date(target):
            result_values = days
        else:
            if "I" in self.fields:
                hour12 = num("I", 12)
                good &= (hour12 >= 1) & (hour12 <= 12)
                pm = np.zeros(k, dtype=bool)
                if "p" in self.fields:
                    pm = pc.equal(pc.utf8_lower(pc.struct_field(got, "p")), "pm").to_numpy(
                        zero_copy_only=False)
                hour = hour12 % 12 + np.where(pm, 12, 0)
            else:
                hour = num("H", 0)
            minute, second = num("M", 0), num("S", 0)
            good &= (hour <= 23) & (minute <= 59) & (second <= 59)
            micros = np.zeros(k, dtype=np.int64)
            if "f" in self.fields:
                frac = pc.struct_field(got, "f")
                width = pc.utf8_length(frac).to_numpy(zero_copy_only=False).astype(np.int64)
                micros = num("f", 0) * 10 ** (6 - width)
            result_values = (days * _US_PER_DAY + hour * 3_600_000_000 + minute * 60_000_000
                             + second * 1_000_000 + micros)
        out = np.zeros(n, dtype=np.int64)
        out[idx] = result_values
        valid = np.zeros(n, dtype=bool)
        valid[idx[good]] = True
        present = values.is_valid().to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(present & ~valid)
        storage = pa.int32() if pa.types.is_date(target) else pa.int64()
        arr = pa.array(out.astype(storage.to_pandas_dtype()), type=storage, mask=~valid)
        return arr.view(target) if storage != target else arr, \
            (int(bad[0]) if len(bad) else None)


def sniff_candidates(value: str, kind: str) -> list[DateFormat]:
    """DuckDB's candidate formats for a column whose first value is ``value``, in the order
    they are tried: none unless it starts like a numeric date (digits, a separator among
    ``- . / space``, digits, the same separator, a digit). ``kind``: "date" or
    "timestamp"."""
    m = _NUMERIC_DATE.match(value)
    if not m or m.group(1) != m.group(2) or m.group(1) not in _SEPARATORS:
        return []
    sep = m.group(1)
    templates = _DATE_TEMPLATES if kind == "date" else _TIMESTAMP_TEMPLATES
    return [DateFormat.compile(t.replace("-", sep)) for t in reversed(templates)]


class TimeText:
    """Times of day written ``HH:MM[:SS[.ffffff]]`` (DuckDB's CSV sniffer reads such a
    column as TIME; pyarrow reads ``HH:MM:SS`` as time32[s] but a fraction as text): the
    same interface as DateFormat (``text``, ``parse``)."""

    text = "HH:MM:SS[.ffffff]"
    PATTERN = r"^\s*(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?\s*$"

    def fits(self, values: pa.ChunkedArray) -> bool:
        """Whether every value is a time of day (and there is one)."""
        present = pc.drop_null(values)
        return len(present) > 0 and self.parse(present, pa.time64("us"))[1] is None

    def parse(self, values, target: pa.DataType) -> tuple[pa.Array, int | None]:
        """(``values`` as time64[us], index of the first value that is no time or None)."""
        if isinstance(values, pa.ChunkedArray):
            values = pa.concat_arrays(values.chunks) if values.num_chunks else \
                pa.array([], pa.string())
        ok = pc.match_substring_regex(values, self.PATTERN)
        parts = pc.extract_regex(pc.if_else(ok, values, "0:00"), self.PATTERN)

        def num(name, scale=1):
            return pc.multiply(pc.cast(pc.if_else(pc.equal(parts.field(name), ""), "0",
                                                  parts.field(name)), pa.int64()), scale)
        h, m, s = num("h"), num("m"), num("s")
        frac = pc.utf8_slice_codeunits(pc.binary_join_element_wise(
            parts.field("f"), "000000", ""), 0, 6)
        bad = pc.or_(pc.invert(ok), pc.or_(pc.greater(h, 23), pc.or_(
            pc.greater(m, 59), pc.greater(s, 59))))
        bad = pc.and_(bad, pc.is_valid(values))
        first = pc.index(bad, True).as_py()
        if first >= 0:
            return values, first
        us = pc.add(pc.multiply(pc.add(pc.multiply(pc.add(pc.multiply(h, 60), m), 60), s),
                                1_000_000), pc.cast(frac, pa.int64()))
        return pc.if_else(pc.is_valid(values), us, None).cast(target), None

