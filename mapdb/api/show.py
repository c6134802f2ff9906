"""Readable text and HTML renderings of Arrow tables (terminal and notebook repr)."""

from __future__ import annotations

import html

import pyarrow as pa

MAX_ROWS = 20


def _cells(t: pa.Table, limit: int) -> tuple[list[str], list[list[str]]]:
    head = t.slice(0, limit)
    names = head.column_names
    cols = [[_fmt(v) for v in head.column(i).to_pylist()] for i in range(head.num_columns)]
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    return names, rows


def _fmt(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e15 else f"{v:.6e}"
    return str(v)


def text_table(t: pa.Table, limit: int = MAX_ROWS) -> str:
    """
    >>> print(text_table(pa.table({"a": [1, None], "b": ["x", "y"]})))
    a    | b
    -----+--
    1    | x
    NULL | y
    (2 rows)
    """
    names, rows = _cells(t, limit)
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    out = [" | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip(),
           "-+-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]
    more = f", first {limit} shown" if t.num_rows > limit else ""
    out.append(f"({t.num_rows:,} row{'s' if t.num_rows != 1 else ''}{more})")
    return "\n".join(out)


def html_table(t: pa.Table, limit: int = MAX_ROWS) -> str:
    names, rows = _cells(t, limit)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<p>{t.num_rows:,} rows</p>")
