"""``mapdb index create|drop|list``: a table's hash indexes and sorted attributes."""

from __future__ import annotations

import json
import time

import click

from mapdb.cli import wait_option  # (mapdb.cli imports this module after defining it)
from mapdb.cli.render import format_bytes, print_table


@click.group()
def index() -> None:
    """Create, drop and list a table's indexes."""


def _db(path: str, readonly: bool):
    from mapdb.cli import _connect
    return _connect(path, readonly=readonly, create=False)


@index.command("create")
@click.argument("db")
@click.argument("table")
@click.argument("column")
@click.option("--kind", type=click.Choice(["hash", "sorted"]), default="hash",
              show_default=True, help="hash: equality/IN lookups; sorted: declare the column "
                                      "sorted (ranges binary-search).")
@click.option("--unique", is_flag=True, help="hash: refuse repeated values (now and later).")
@click.option("--name", help="Index name (default COLUMN_KIND).")
@wait_option
def create(db, table, column, kind, unique, name, wait) -> None:
    """Index COLUMN of TABLE (one commit; files for every segment)."""
    t0 = time.perf_counter()
    t = _db(db, readonly=False).table(table).create_index(column, kind, unique, name,
                                                          lock_timeout=wait)
    ix = next(i for i in t.indexes() if i["name"] == (name or f"{column}_{kind}"))
    click.echo(f"{table}: created {kind}{' unique' if unique else ''} index {ix['name']} on "
               f"{column} ({format_bytes(ix['bytes'])}) in {time.perf_counter() - t0:.2f}s")


@index.command("drop")
@click.argument("db")
@click.argument("table")
@click.argument("name")
@wait_option
def drop(db, table, name, wait) -> None:
    """Drop index NAME (or the index of column NAME) of TABLE."""
    _db(db, readonly=False).table(table).drop_index(name, lock_timeout=wait)
    click.echo(f"{table}: dropped index {name}")


@index.command("list")
@click.argument("db")
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(db, table, as_json) -> None:
    """The indexes of TABLE (sorted attributes mapdb detected say 'detected')."""
    ixs = _db(db, readonly=True).table(table).indexes()
    if as_json:
        click.echo(json.dumps(ixs, indent=2))
        return
    if not ixs:
        click.echo(f"{table}: no indexes")
        return
    print_table(["name", "column", "kind", "", "bytes"],
                [[i["name"], i["column"], i["kind"],
                  "unique" if i["unique"] else ("" if i["declared"] else "detected"),
                  format_bytes(i["bytes"])] for i in ixs])
