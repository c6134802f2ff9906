"""``python -m mapdb.query.catalog [docs/query.md]``: rewrite the function table between the
markers in docs/query.md from the catalog (tests/query/test_functions.py checks it)."""

from __future__ import annotations

import pathlib
import sys

from mapdb.query.catalog import docs_table

BEGIN, END = "<!-- catalog table: begin -->\n", "<!-- catalog table: end -->"


def main(path: str = "docs/query.md") -> None:
    p = pathlib.Path(path)
    text = p.read_text()
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    p.write_text(text[:start] + docs_table() + text[end:])


if __name__ == "__main__":
    main(*sys.argv[1:])
