"""``mapdb cache status|warm|evict|pin|unpin``: the page cache per table and column.

Pins (mlock) die with their process, so ``pin`` starts a detached holder process (the
hidden ``mapdb cache _hold`` command, double-forked into its own session) that maps and
locks the files, records itself in ``DB/.pins/<table>.json`` and waits; it follows new
versions of the table (checked every second) and exits when the table is dropped or its pid
file is removed. ``unpin`` stops it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import click

from mapdb.cli.render import format_bytes
from mapdb.errors import MapdbError, NotFoundError, PinWarning

READY_TIMEOUT = 600.0  # seconds a holder may take to read and lock its files
POLL = 1.0  # seconds between a holder's checks for a new version


class _Lazy:
    """mapdb.storage.cache, imported on first use (the CLI's --help stays light)."""

    def __getattr__(self, name):
        from mapdb.storage import cache
        return getattr(cache, name)


_cache = _Lazy()


def _connect(db: str):
    import mapdb
    from mapdb.cli import _check_path
    _check_path(db)
    if not os.path.exists(os.path.join(db, "mapdb.json")):
        raise MapdbError(f"{db}: no mapdb database here")
    return mapdb.connect(db, readonly=True, pin_budget=0)


def _columns(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]


@click.group()
def cache() -> None:
    """Page-cache residency, warm/evict and pinning per table and column."""


@cache.command()
@click.argument("db")
@click.argument("table", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(db, table, as_json) -> None:
    """Resident and pinned bytes per table, column and index, with a picture of each
    column's pages (# resident, o partly, . not)."""
    st = _connect(db).cache.status(table)
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    for line in st.lines():  # the table db.cache.status() prints as
        click.echo(line)


def _page_cache_command(name: str, done: str, doc: str) -> None:
    """``mapdb cache warm|evict DB TABLE [--columns]``: the same shape, another verb."""
    @cache.command(name, help=doc)
    @click.argument("db")
    @click.argument("table")
    @click.option("--columns", metavar="A,B", help="Only these columns (default: all).")
    def command(db, table, columns) -> None:
        r = getattr(_connect(db).cache, name)(table, _columns(columns))
        click.echo(f"{done} {table}: {r['files']} file(s), {format_bytes(r['bytes'])} "
                   f"in {r['seconds']:.2f}s")


_page_cache_command("warm", "warmed",
                    "Read TABLE's files into the page cache (resident when it returns).")
_page_cache_command("evict", "evicted", "Drop TABLE's files from the page cache (pinned "
                                        "pages stay).")


@cache.command()
@click.argument("db")
@click.argument("table")
@click.option("--columns", metavar="A,B", help="Only these columns (default: all).")
@click.option("--budget", metavar="SIZE",
              help="Lock at most this much, e.g. 512MB (index-like files first).")
@click.option("--indexes", "indexes_only", is_flag=True,
              help="Only the index files (zone maps, dictionaries, hash indexes by use), "
                   "as mapdb.connect(pin_budget=...) pins them; --budget defaults to 256MB.")
def pin(db, table, columns, budget, indexes_only) -> None:
    """Lock TABLE's files in RAM, held by a background process until `unpin`."""
    db = os.path.abspath(db)
    cols = _columns(columns)
    if indexes_only and cols:
        raise MapdbError("--indexes pins index files only; it takes no --columns")
    if budget is not None:
        _cache.parse_size(budget)  # a bad size fails here, not in the holder
    _connect(db).cache.check(table, cols)  # the table and columns exist
    old = _cache.read_holders(db, table)
    cmd = [sys.executable, "-m", "mapdb.cli", "cache", "_hold", db, table]
    if cols:
        cmd += ["--columns", ",".join(cols)]
    if budget is not None:
        cmd += ["--budget", budget]
    if indexes_only:
        cmd += ["--indexes"]
    r, w = os.pipe()
    try:
        proc = subprocess.Popen([*cmd, "--ready-fd", str(w)], pass_fds=(w,),
                                start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(w)
        w = -1
        line = _read_line(r, READY_TIMEOUT)
        _, err = proc.communicate()  # the launcher exits once the holder is forked
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    try:
        msg = json.loads(line) if line else None
    except ValueError:
        msg = None
    if not msg or not msg.get("ok"):
        why = (msg or {}).get("error") or err.decode(errors="replace").strip().splitlines()
        raise MapdbError(f"pin holder failed: {why if isinstance(why, str) else why[-1:]}")
    for h in old:
        if h["pid"] != msg["pid"]:
            _cache.stop_holder(h)
    what = ",".join(cols) if cols else "index files" if indexes_only else "all columns"
    click.echo(f"pinned {format_bytes(msg['pinned'])} of {table} ({what}, {msg['files']} "
               f"file(s)) in holder pid {msg['pid']}; `mapdb cache unpin` releases it")
    if msg.get("skipped"):
        click.echo(f"mapdb: warning: {msg['skipped']} file(s) did not fit the budget",
                   err=True)
    if msg.get("refused"):
        click.echo(f"mapdb: warning: {msg['refused']}", err=True)


def _read_line(fd: int, timeout: float) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n", 1)[0]


@cache.command()
@click.argument("db")
@click.argument("table")
def unpin(db, table) -> None:
    """Stop TABLE's pin holder (its pages become evictable again)."""
    db = os.path.abspath(db)
    d = _connect(db)
    holders = _cache.read_holders(db, table)
    if not holders:
        if table not in d:
            raise NotFoundError(f"no table {table!r}")
        click.echo(f"{table}: nothing pinned")
        return
    for h in holders:
        _cache.stop_holder(h)
        click.echo(f"unpinned {table}: stopped holder pid {h['pid']} "
                   f"({format_bytes(h.get('pinned') or 0)})")


@cache.command("_hold", hidden=True)
@click.argument("db")
@click.argument("table")
@click.option("--columns")
@click.option("--budget")
@click.option("--indexes", "indexes_only", is_flag=True)
@click.option("--ready-fd", type=int, required=True)
def hold(db, table, columns, budget, indexes_only, ready_fd) -> None:
    """The holder: fork into the background, pin, report on --ready-fd, wait."""
    if os.fork():  # the launcher exits at once; the holder is re-parented, never a zombie
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # let go of the launcher's pipes
        os.dup2(null, fd)
    os.close(null)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    import warnings
    warnings.simplefilter("ignore", PinWarning)  # refusals are reported on the pipe
    info = None
    database = None
    try:
        try:
            database = _connect(db)
            cols = _columns(columns)
            if indexes_only:  # automatic pinning, as a Database with a pin budget does it
                database.cache.budget = budget or "256MB"
                database.cache.check(table)
                database.cache.ensure_pinned(table)
                rep = database.cache.pinned(table)
            else:
                rep = database.cache.pin(table, cols, budget)
            if rep["refused"] and not rep["files"]:
                raise MapdbError(rep["refused"])
            info = _holder_info(db, table, cols, budget, rep)
            _cache.write_holder(db, table, info)
        except BaseException as e:
            _report(ready_fd, {"ok": False, "error": str(e) or type(e).__name__})
            raise
        _report(ready_fd, {"ok": True, **info})
        info["pid_file"] = _cache.holder_path(db, table)
        while True:
            time.sleep(POLL)
            mine = _cache.read_holders(db, table, clean=False)
            if not any(h["pid"] == info["pid"] for h in mine) or table not in database:
                break
            if database.cache.ensure_pinned(table):  # a new version: re-pinned
                rep = database.cache.pinned(table)
                info.update(_holder_info(db, table, cols, budget, rep))
                _cache.write_holder(db, table, info)
    finally:
        if info is not None:
            _cache.remove_holder({**info, "pid_file": _cache.holder_path(db, table)})
        if database is not None:
            database.close()


def _holder_info(db, table, cols, budget, rep) -> dict:
    pid = os.getpid()
    return {"pid": pid, "start": _cache.process_start(pid), "db": db, "table": table,
            "columns": cols, "budget": budget, "version": rep["version"],
            "pinned": rep["pinned"], "locked": rep["locked"], "files": rep["files"],
            "skipped": rep["skipped"], "refused": rep["refused"], "started": time.time()}


def _report(fd: int, msg: dict) -> None:
    try:
        os.write(fd, (json.dumps(msg) + "\n").encode())
        os.close(fd)
    except OSError:
        pass
