"""CSV options and dialect sniffing, after DuckDB's ``read_csv`` sniffer.

DuckDB tries every combination of delimiter (``,`` ``|`` ``;`` tab) and quoting (none;
``"`` or ``'`` with ``\\`` escapes; ``"`` doubled as in RFC 4180) on the first rows of the
file, counts the fields of each row, and keeps the combination whose rows agree best
(``sniffer/dialect_detection.cpp``). :func:`sniff_dialect` ports that choice, field counts
coming from Python's ``csv`` module:

>>> d = sniff_dialect('a;b;c\\n1;"x;y";3\\n4;5;6\\n', at_eof=True)
>>> d.delimiter, d.quote, d.columns, d.skip
(';', '"', 3, 0)
>>> sniff_dialect("My report\\na,b\\n1,2\\n", at_eof=True).skip   # a title line is skipped
1

Whether the first row is a header, and the types, are decided by the reader
(:mod:`._csv`); column names follow DuckDB's rules:

>>> header_names([" id ", "", "x", "X", "x"])
['id', 'column1', 'x', 'X_1', 'x_2']
>>> generated_names(11)[:2], generated_names(11)[-1]
(['column00', 'column01'], 'column10')
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import IngestError

__all__ = ["CsvOptions", "Dialect", "generated_names", "header_names", "sniff_dialect"]

DELIMITERS = (",", "|", ";", "\t")
#: Rows the dialect is sniffed on (DuckDB's default ``sample_size``), and the first part of
#: them on which candidates are ranked before the rest can only eliminate them.
SAMPLE_ROWS = 20480
FIRST_ROWS = 2048
_END = "\x01\x02\x03"  # a sentinel row: swallowed by a quote left open


@dataclass(frozen=True)
class CsvOptions:
    """What the user said about a CSV file; ``None`` everywhere means "sniff".

    ``delimiter``: one character; ``quote``: one character, or ``""`` for no quoting;
    ``header``: whether the first row names the columns; ``null``: the unquoted spellings
    of NULL (replacing the defaults); ``date_format`` / ``timestamp_format``: strptime
    formats for the columns that are dates/timestamps written otherwise than ISO 8601.

    >>> o = CsvOptions.make(delimiter="\\\\t", null="NA", header=False)
    >>> o.delimiter, o.null, o.given()
    ('\\t', ('NA',), ['delimiter', 'header', 'null'])
    >>> CsvOptions.make(delimiter=";;")
    Traceback (most recent call last):
    ...
    mapdb.errors.IngestError: delimiter must be one character, got ';;'
    """

    delimiter: str | None = None
    quote: str | None = None
    header: bool | None = None
    null: tuple[str, ...] | None = None
    date_format: str | None = None
    timestamp_format: str | None = None

    @classmethod
    def make(cls, *, delimiter: str | None = None, quote: str | None = None,
             header: bool | None = None, null: str | Sequence[str] | None = None,
             date_format: str | None = None,
             timestamp_format: str | None = None) -> CsvOptions:
        """Checked options (an IngestError names the bad one)."""
        if delimiter is not None:
            delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
            if not isinstance(delimiter, str) or len(delimiter) != 1:
                raise IngestError(f"delimiter must be one character, got {delimiter!r}")
            if delimiter in "\r\n":
                raise IngestError("delimiter cannot be a line end")
        if quote is not None:
            if not isinstance(quote, str) or len(quote) > 1 or quote in ("\r", "\n"):
                raise IngestError(f"quote must be one character (or '' for no quoting), "
                                  f"got {quote!r}")
            if quote and quote == delimiter:
                raise IngestError(f"quote and delimiter are the same character {quote!r}")
        if header is not None and not isinstance(header, bool):
            raise IngestError(f"header must be True or False, got {header!r}")
        nulls: tuple[str, ...] | None = None
        if null is not None:
            nulls = (null,) if isinstance(null, str) else tuple(null)
            if not all(isinstance(v, str) for v in nulls):
                raise IngestError(f"null must be a string or a list of strings, got {null!r}")
        from ._dates import DateFormat
        for name, fmt in (("date_format", date_format), ("timestamp_format", timestamp_format)):
            if fmt is not None:
                if not isinstance(fmt, str):
                    raise IngestError(f"{name} must be a string, got {fmt!r}")
                DateFormat.compile(fmt)  # a bad directive fails here, before any reading
        return cls(delimiter, quote, header, nulls, date_format, timestamp_format)

    def given(self) -> list[str]:
        """Names of the options that were set."""
        return [f for f in ("delimiter", "quote", "header", "null", "date_format",
                            "timestamp_format") if getattr(self, f) is not None]


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is split: ``quote`` None means no quoting; ``escape`` is the quote
    itself (a doubled quote is a literal one, RFC 4180) or ``"\\\\"``. ``skip``: records
    before the first one with all the columns (title lines); ``columns``: fields per
    record."""

    delimiter: str
    quote: str | None
    escape: str | None
    skip: int
    columns: int
    trailing: bool = False  # data records end with one more, empty, field (``1|2|``)


@dataclass
class _Candidate:
    delimiter: str
    quote: str | None
    escape: str | None
    counts: list[int] = field(default_factory=list)
    last_empty: bool = False  # every record after the first ends with an empty field
    error: bool = False
    ever_quoted: bool = False
    ever_escaped: bool = False
    skip: int = 0
    columns: int = 0
    trailing: bool = False


def sniff_dialect(text: str, *, at_eof: bool, delimiter: str | None = None,
                  quote: str | None = None) -> Dialect:
    """The dialect of a CSV sample ``text`` (whole lines; ``at_eof``: it is the whole
    file). ``delimiter``/``quote`` given by the user restrict the candidates (``quote=""``:
    no quoting)."""
    if "\x00" in text:
        text = text.replace("\x00", " ")  # data, never a delimiter or quote
    candidates = [_Candidate(d, q, e) for d, q, e in _search_space(delimiter, quote)]
    cache: dict[tuple, tuple[list[int], bool, bool]] = {}
    for c in candidates:
        q = c.quote if c.quote is not None and c.quote in text else None
        e = c.escape if q is not None and c.escape is not None and c.escape in text else None
        key = (c.delimiter, q, e)
        if key not in cache:
            cache[key] = _count_fields(text, c.delimiter, q, e, at_eof)
        c.counts, c.last_empty, c.error = cache[key]
        if q is not None:
            c.ever_quoted = _quoted(text, c.delimiter, q)
            c.ever_escaped = e is not None and _escaped(text, c.delimiter, q, e)
    best = _choose(candidates)
    if best is None or best.columns < 2:
        # DuckDB reads a ragged file as one column of whole lines; we prefer to read it
        # with the delimiter that splits its first row, so that the parser reports the
        # line whose field count differs.
        best = _ragged_fallback(candidates) or best
    if best is None:  # nothing parses (a quote left open, say): let the reader report it
        d = delimiter or ","
        q = '"' if quote is None else (quote or None)
        return Dialect(d, q, q, 0, 1)
    q = best.quote
    if q is None and quote is None and not _quoted(text, best.delimiter, '"'):
        # No field of the sample is quoted: quoting with '"' reads the sample the same way
        # and a quoted value further on as meant (DuckDB would keep its quotes).
        q = '"'
    escape = "\\" if best.escape == "\\" and best.ever_escaped and \
        not _rfc_reads_alike(best, candidates) else q
    return Dialect(best.delimiter, q, escape, best.skip, best.columns, best.trailing)


def _rfc_reads_alike(best: _Candidate, candidates: list[_Candidate]) -> bool:
    """A backslash before a quote that RFC 4180 quoting also reads without error and into
    the same records (``"g\\\\"``: a value ending in two backslashes, as pyarrow writes
    it) is data, as DuckDB's sniffer takes it; only where RFC quoting fails (``"a\\"b"``)
    is the backslash an escape."""
    return any(c.delimiter == best.delimiter and c.quote == best.quote and
               c.escape == best.quote and not c.error and c.counts == best.counts
               for c in candidates)


def _search_space(delimiter: str | None, quote: str | None) -> list[tuple]:
    """(delimiter, quote, escape) in DuckDB's order: no quotes, then ``"`` and ``'`` with
    backslash escapes, then RFC 4180 ``"``; delimiters innermost."""
    delims = [delimiter] if delimiter is not None else list(DELIMITERS)
    if quote == "":
        rules = [(None, None)]
    elif quote is not None:
        rules = [(quote, None), (quote, "\\"), (quote, quote)]
    else:
        rules = [(None, None), ('"', "\\"), ("'", "\\"), ('"', '"')]
    return [(d, q, e) for q, e in rules for d in delims]


def _count_fields(text: str, delimiter: str, quote: str | None, escape: str | None,
                  at_eof: bool) -> tuple[list[int], bool, bool]:
    """(fields per record, whether every record after the first ends with an empty field,
    error): blank lines are skipped (as DuckDB and pyarrow do). An error rules the
    candidate out, as in DuckDB: a quote still open at the end of the file, or text right
    after a closing quote (``"a"b``)."""
    kw: dict = {"delimiter": delimiter, "strict": True}
    if quote is None:
        kw.update(quoting=csv.QUOTE_NONE, quotechar=None, escapechar=None)
    else:
        # (doubled quotes are accepted whatever the escape: Python's reader checks for text
        # after a closing quote only in that mode)
        kw.update(quotechar=quote, doublequote=True,
                  escapechar=escape if escape is not None and escape != quote else None)
    counts: list[int] = []
    last_empty = True
    try:
        for row in csv.reader(io.StringIO(text + "\n" + _END + "\n", newline=""), **kw):
            if row == [_END] or len(counts) >= SAMPLE_ROWS:
                return counts, last_empty and len(counts) > 1, False
            if row:
                if counts and row[-1]:
                    last_empty = False
                counts.append(len(row))
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc) or at_eof:
            return counts, False, True
        # the sample ends inside a quoted value: the records before it are whole
        return counts, last_empty and len(counts) > 1, False
    return counts, False, at_eof  # the sentinel was swallowed by a quote left open


def _quoted(text: str, delimiter: str, quote: str) -> bool:
    d, q = re.escape(delimiter), re.escape(quote)
    return re.search(rf"(?:^|[{d}\r\n]){q}", text) is not None


def _escaped(text: str, delimiter: str, quote: str, escape: str) -> bool:
    d, q = re.escape(delimiter), re.escape(quote)
    if escape == quote:  # a doubled quote inside a value (not an empty quoted value)
        return re.search(rf"[^{d}\r\n{q}]{q}{q}|(?:^|[{d}\r\n]){q}{q}{q}", text) is not None
    return re.search(re.escape(escape) + q, text) is not None


def _choose(candidates: list[_Candidate]) -> _Candidate | None:
    """DuckDB's AnalyzeDialectCandidate over the first rows, then RefineCandidates over
    the rest of the sample (without comments, null padding or user-given columns)."""
    best_consistent = prev_padding = max_columns = 0
    chosen: list[_Candidate] = []
    for c in candidates:
        if c.error:
            continue
        counts = c.counts[:FIRST_ROWS]
        num_cols = counts[0] if counts else 1
        consistent = padding = dirty = header = 0
        first_valid = False
        for row, n in enumerate(counts):
            if c.last_empty and n == counts[header] + 1:
                # ``1|2|`` under ``a|b``: a trailing delimiter on the data rows (DuckDB)
                consistent += 1
                c.trailing = True
            elif num_cols < n:  # all rows so far are notes above the real table
                first_valid = True
                padding, num_cols, dirty, consistent, header = 0, n, row, 1, row
            elif n == num_cols:
                if not first_valid:
                    first_valid, dirty = True, row
                consistent += 1
            else:
                padding += 1
        consistent += padding
        more_values = consistent > best_consistent and num_cols >= max_columns
        more_columns = consistent == best_consistent and num_cols > max_columns
        require_more_padding = padding > prev_padding
        require_less_padding = padding < prev_padding
        single_column_before = max_columns < 2 and num_cols > max_columns * len(chosen)
        rows_consistent = consistent + dirty == len(counts)
        start_good = bool(chosen) and dirty <= chosen[0].skip
        quoted = c.ever_quoted and c.quote is not None
        if rows_consistent and padding == 0 and (
                single_column_before or ((more_values or more_columns)
                                         and not require_more_padding)
                or (num_cols > 1 and require_less_padding) or quoted):
            if chosen and chosen[0].ever_quoted:
                if not c.ever_quoted:
                    continue  # preference to candidates that quote
                if not c.ever_escaped and chosen[0].ever_escaped:
                    continue
                if best_consistent == consistent and num_cols >= max_columns:
                    c.skip, c.columns = dirty, num_cols
                    chosen.append(c)
                    max_columns = num_cols
                    continue
            if quoted and num_cols < max_columns and any(x.ever_quoted for x in chosen):
                continue
            best_consistent, max_columns, prev_padding = consistent, num_cols, padding
            c.skip, c.columns = dirty, num_cols
            chosen = [c]
            continue
        if (consistent > 1 and num_cols > 1 and start_good and rows_consistent
                and not require_more_padding and padding == 0 and num_cols == max_columns):
            c.skip, c.columns = dirty, num_cols
            chosen.append(c)
    if len(chosen) <= 1 or len(chosen[0].counts) <= FIRST_ROWS:
        return chosen[0] if chosen else None
    survivors = [c for c in chosen
                 if all(n == max_columns or (c.trailing and n == max_columns + 1)
                        for n in c.counts[FIRST_ROWS:])]
    for i, c in enumerate(survivors):
        if c.quote is not None and c.ever_quoted:
            for other in survivors[i + 1:]:
                if other.escape == other.quote:
                    return other
            return c
    return survivors[0] if survivors else chosen[0]


def _ragged_fallback(candidates: list[_Candidate]) -> _Candidate | None:
    """Among the candidates splitting the first record in more than one field, the one
    whose records most often have as many (the first in DuckDB's order on a tie)."""
    best: _Candidate | None = None
    best_share = -1.0
    for c in candidates:
        if c.error or not c.counts or c.counts[0] < 2:
            continue
        share = c.counts.count(c.counts[0]) / len(c.counts)
        if share > best_share:
            best, best_share = c, share
    if best is not None:
        best.skip, best.columns = 0, best.counts[0]
    return best


# -- column names -------------------------------------------------------------------------------

def generated_names(n: int) -> list[str]:
    """DuckDB's names for the columns of a file without a header: ``column0`` ... with the
    numbers zero-padded to the width of the largest (``column00`` ... ``column10``)."""
    width = len(str(max(n - 1, 0)))
    return [f"column{i:0{width}d}" for i in range(n)]


def _trim(name: str) -> str:
    """Strip Unicode space separators (category Zs), as DuckDB's TrimWhitespace."""
    start, end = 0, len(name)
    while start < end and unicodedata.category(name[start]) == "Zs":
        start += 1
    while end > start and unicodedata.category(name[end - 1]) == "Zs":
        end -= 1
    return name[start:end]


def header_names(fields: list[str | None]) -> list[str]:
    """Column names from a header row, as DuckDB makes them: an empty (or all-blank, or
    NULL) name becomes ``columnN``; names are trimmed; a name already taken (ignoring case)
    gets ``_1``, ``_2``, ..."""
    generated = generated_names(len(fields))
    names: list[str] = []
    taken: dict[str, int] = {}
    for i, raw in enumerate(fields):
        name = generated[i] if raw is None or not raw.strip() else raw
        name = _trim(name)
        while name.lower() in taken:
            taken[name.lower()] += 1
            name = f"{name}_{taken[name.lower()]}"
        taken[name.lower()] = 0
        names.append(name)
    return names
