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
