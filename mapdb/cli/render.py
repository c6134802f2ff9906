"""Text rendering for the command line."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click


def format_bytes(n: float) -> str:
    """
    >>> format_bytes(1536)
    '1.5 KiB'
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """
    >>> print_table(["a", "bb"], [["1", "2"]])
    a  bb
    -  --
    1  2
    """
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for line in [header, ["-" * w for w in widths], *rows]:
        click.echo("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True))
                   .rstrip())


@contextlib.contextmanager
def progress_bar(enabled: bool | None) -> Iterator:
    """Yields a (done, total, rows) callback drawing a bar on stderr when enabled (default:
    when stderr is a terminal)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    state = {"shown": False}

    def update(done: int, total: int, rows: int) -> None:
        frac = min(done / total, 1.0) if total else 0.0
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r[{bar:<30}] {frac:5.1%} {format_bytes(done)}/"
                         f"{format_bytes(total)} {rows:,} rows")
        sys.stderr.flush()
        state["shown"] = True

    try:
        yield update
    finally:
        if state["shown"]:
            sys.stderr.write("\n")


# --- query results (``mapdb query``): Arrow tables as text --------------------------------

def _is_numeric(t) -> bool:
    import pyarrow as pa
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def text_cell(v) -> str:
    """One value as table text: NULL for null, exact decimals, control characters escaped.

    >>> import decimal, datetime
    >>> [text_cell(x) for x in (None, 1.5, decimal.Decimal("1E-3"), "a\\nb",
    ...                          datetime.date(2024, 1, 2))]
    ['NULL', '1.5', '0.001', 'a\\\\nb', '2024-01-02']
    """
    import decimal
    if v is None:
        return "NULL"
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    s = str(v)
    if any(c in s for c in "\n\r\t"):
        s = s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return s


def values(col) -> list:
    """A column's Python values; TIME and INTERVAL as DuckDB's text ('10:00:01.5',
    '1 day 02:00:00': Python's time prints six fractional digits, and intervals have
    months Python's timedelta has not)."""
    import pyarrow as pa
    if pa.types.is_time(col.type) or pa.types.is_interval(col.type):
        from mapdb.query.evaluate import to_text
        return to_text(col).to_pylist()
    return col.to_pylist()


def _markdown_cell(v) -> str:
    if isinstance(v, str):
        return v.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "<br>") \
            .replace("\n", "<br>")
    return text_cell(v).replace("|", "\\|")


def _text_rows(t, max_rows: int | None, cell=text_cell
               ) -> tuple[list[str], list[bool], list[list[str]]]:
    head = t if max_rows is None else t.slice(0, max_rows)
    cols = [[cell(v) for v in values(head.column(i))] for i in range(head.num_columns)]
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else [[] for _ in range(len(head))]
    return head.column_names, [_is_numeric(f.type) for f in head.schema], rows


def row_count(n: int, shown: int) -> str:
    """The table's last line, as DuckDB's CLI counts.

    >>> row_count(1, 1), row_count(100, 40)
    ('(1 row)', '(100 rows, first 40 shown)')
    """
    more = f", first {shown:,} shown" if n > shown else ""
    return f"({n:,} row{'s' if n != 1 else ''}{more})"


def head(batches, max_rows: int | None):
    """(the first ``max_rows`` rows of a RecordBatchReader as a table, all when None;
    the number of rows it has): the rows past the shown ones are counted, not held."""
    import pyarrow as pa
    kept, have, n = [], 0, 0
    for batch in batches:
        n += batch.num_rows
        if max_rows is None or have < max_rows:
            piece = batch if max_rows is None else batch.slice(0, max_rows - have)
            kept.append(pa.concat_batches([piece]))  # a copy: the batch is not kept
            have += piece.num_rows
    return pa.Table.from_batches(kept, schema=batches.schema), n


def aligned_table(t, max_rows: int | None = None) -> Iterator[str]:
    """The lines of an aligned text table of Arrow table ``t``: every row unless
    ``max_rows``; numbers right-aligned, nulls as NULL, a row count last.

    >>> import pyarrow as pa
    >>> print("\\n".join(aligned_table(pa.table({"name": ["a", None], "n": [1, 200]}))))
    name |   n
    -----+----
    a    |   1
    NULL | 200
    (2 rows)
    """
    names, numeric, rows = _text_rows(t, max_rows)
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]

    def line(cells: list[str]) -> str:
        return " | ".join(c.rjust(w) if num else c.ljust(w)
                          for c, w, num in zip(cells, widths, numeric, strict=True)).rstrip()

    yield line(names)
    yield "-+-".join("-" * w for w in widths)
    for r in rows:
        yield line(r)
    yield row_count(t.num_rows, min(t.num_rows, max_rows) if max_rows is not None
                    else t.num_rows)


def markdown_table(t, max_rows: int | None = None) -> Iterator[str]:
    """The lines of a GitHub-flavoured Markdown table (numbers right-aligned).

    >>> import pyarrow as pa
    >>> print("\\n".join(markdown_table(pa.table({"s": ["a|b", None], "n": [1, 2]}))))
    | s | n |
    | --- | ---: |
    | a\\|b | 1 |
    | NULL | 2 |
    """
    names, numeric, rows = _text_rows(t, max_rows, _markdown_cell)
    yield "| " + " | ".join(_markdown_cell(n) for n in names) + " |"
    yield "| " + " | ".join("---:" if num else "---" for num in numeric) + " |"
    for r in rows:
        yield "| " + " | ".join(r) + " |"


def json_value(v):
    """A Python value from Arrow as a JSON-serialisable one: ISO strings for dates, times
    and timestamps, exact strings for decimals, base64 for binary, strings for NaN/inf.

    >>> import datetime, decimal
    >>> [json_value(x) for x in (decimal.Decimal("-4.50"), datetime.date(2024, 1, 2),
    ...                          datetime.datetime(2024, 1, 2, 3, 4, 5), float("nan"), b"hi")]
    ['-4.50', '2024-01-02', '2024-01-02T03:04:05', 'NaN', 'aGk=']
    """
    import base64
    import datetime
    import decimal
    import math
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, bytes):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, datetime.timedelta):
        return str(v)
    if hasattr(v, "isoformat"):  # date, time, datetime, pandas.Timestamp (nanoseconds)
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_value(x) for x in v]
    return str(v)


def json_objects(t) -> Iterator[str]:
    """One compact JSON object per row of Arrow table ``t`` (keys in column order; a
    repeated column name stays repeated).

    >>> import pyarrow as pa
    >>> list(json_objects(pa.table({"a": [1, None], "b": ["x", "y"]})))
    ['{"a": 1, "b": "x"}', '{"a": null, "b": "y"}']
    """
    import json
    keys = [json.dumps(n) + ": " for n in t.column_names]
    for batch in t.to_batches(max_chunksize=65536):
        cols = [values(batch.column(i)) for i in range(batch.num_columns)]
        for row in zip(*cols, strict=True):
            yield "{" + ", ".join(k + json.dumps(json_value(v), ensure_ascii=False)
                                  for k, v in zip(keys, row, strict=True)) + "}"
        if not cols:
            yield from ("{}" for _ in range(batch.num_rows))
