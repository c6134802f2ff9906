"""The ``mapdb`` command line (click): argument parsing and output formatting only."""

from __future__ import annotations

import os
import sys
import time

import click

from mapdb import __version__
from mapdb.storage.oscheck import run_checks


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mapdb")
def main() -> None:
    """mapdb: columnar tables in memory-mapped files."""


@main.command()
@click.option("--dir", "directory", default=".", show_default=True,
              help="Directory for the scratch file (use a disk-backed one, not tmpfs).")
def selfcheck(directory: str) -> None:
    """Check the OS layer (mmap, msync, fadvise, mincore/cachestat, mlock) on this kernel."""
    t0 = time.perf_counter()
    results = run_checks(os.path.abspath(directory))
    for r in results:
        click.echo(f"  {'ok  ' if r.ok else 'FAIL'} {r.name:<26} {r.detail}")
    click.echo(f"{sum(r.ok for r in results)}/{len(results)} checks passed "
               f"in {time.perf_counter() - t0:.2f}s")
    if not all(r.ok for r in results):
        sys.exit(1)


@main.command()
def demo() -> None:
    """Run the demo (for now: the OS-layer self-check)."""
    click.get_current_context().invoke(selfcheck, directory=".")
