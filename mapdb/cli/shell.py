"""``mapdb shell DB``: an interactive SQL shell, in the manner of the ``duckdb`` and
``sqlite3`` shells.

A statement runs when its text ends with ``;`` outside strings and comments, so a
statement may span lines (a semicolon inside ``'a;b'`` or ``-- x;`` does not end it).
Statements run through ``db.sql`` on the database opened writable (created if missing,
as ``duckdb FILE`` does): queries and CREATE / INSERT / UPDATE / DELETE / DROP / ALTER /
COPY / DESCRIBE / SHOW / SUMMARIZE alike. Lines starting with ``.`` (outside a
statement) are shell commands: ``.help`` lists them.

Interactive when stdin is a terminal: a prompt, readline editing and history (in
``~/.mapdb_history``, or ``$MAPDB_HISTORY``; an empty ``$MAPDB_HISTORY`` keeps none).
Ctrl-C while a statement runs cancels it and returns to the prompt (the query's worker
threads finish the morsels they hold and stop); Ctrl-C at the prompt drops the line
typed so far; Ctrl-D (or ``.quit``) leaves.

Otherwise (``echo "SELECT 1;" | mapdb shell DB``) it reads stdin without a prompt, runs
everything, and exits 1 if any statement or command failed; Ctrl-C then ends the whole
run with status 130, as every mapdb command does.

Errors print one line ``Error: ...`` on stderr and the shell goes on.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import shlex
import sys
import time
from collections.abc import Iterable, Iterator

import click

from mapdb.cli.render import aligned_table, head, json_objects, markdown_table, row_count
from mapdb.errors import MapdbError

MODES = ("table", "csv", "json", "markdown")
MAX_ROWS = 40  # the table mode's rows shown, as the DuckDB CLI's default .maxrows
PROMPT = "mapdb> "
CONTINUE = "  ...> "
CLEAR = "\x00"  # a line of its own from the terminal: Ctrl-C at the prompt

HELP = """\
.help                   this list
.tables                 the tables and views
.schema [NAME]          CREATE statements of every table and view, or of NAME
.mode [MODE]            output mode: table (default), csv, json, markdown
.maxrows [N]            rows shown in table mode (default 40; 0: all)
.timer on|off           print the time each statement takes
.quit, .exit            leave (Ctrl-D too)
SQL statements end with ';' and may span lines. Ctrl-C cancels a running statement."""


# -- statements in the typed text -----------------------------------------------------------
class Incomplete(Exception):
    """The text ends inside a string, quoted name or block comment."""


def _tokens(text: str):
    import sqlglot
    try:
        return sqlglot.Dialect.get_or_raise("duckdb").tokenize(text)
    except sqlglot.errors.TokenError as e:
        raise Incomplete from e


def statements(text: str) -> tuple[list[str], bool]:
    """The statements of ``text`` (each without its ``;``, comment-only pieces dropped)
    and whether ``text`` is complete: it ends with a ``;`` outside any string or comment,
    or holds nothing but whitespace and comments.

    >>> statements("SELECT 1; SELECT ';' -- x;\\n ;")
    (['SELECT 1', "SELECT ';'"], True)
    >>> statements("SELECT 1;\\nSELECT 2")
    (['SELECT 1', 'SELECT 2'], False)
    >>> statements("SELECT 'a;")[1], statements("-- only a comment")
    (False, ([], True))
    """
    from sqlglot.tokens import TokenType
    try:
        tokens = _tokens(text)
    except Incomplete:
        return [], False
    out, start, end = [], 0, None  # end: past the last token of the current statement
    for t in tokens:
        if t.token_type == TokenType.SEMICOLON:
            if end is not None:
                out.append(text[start:end].strip())
            start, end = t.end + 1, None
        else:
            end = t.end + 1
    if end is not None:
        out.append(text[start:end].strip())
    return out, end is None


# -- the shell ----------------------------------------------------------------------------
class Shell:
    def __init__(self, db, interactive: bool):
        self.db = db
        self.interactive = interactive
        self.mode = "table"
        self.max_rows: int | None = MAX_ROWS
        self.timer = False
        self.failed = False
        self.done = False
        self.buffer: list[str] = []  # the lines of the statement being typed

    # output
    def error(self, message: str) -> None:
        lines = str(message).strip().splitlines()
        click.echo(f"Error: {lines[0] if lines else message}", err=True)
        self.failed = True

    def show(self, table, rows: int) -> None:
        """Print ``table`` (in table mode the first rows of a result of ``rows``)."""
        if table.column_names == ["Success"] or (table.column_names == ["Count"]
                                                 and rows == 0):
            return  # DROP, ALTER, CREATE TABLE, CREATE VIEW: nothing to show
        lines = list(render(table, self.mode, self.max_rows))
        if self.mode == "table":
            lines[-1] = row_count(rows, table.num_rows)
        for line in lines:
            click.echo(line)

    # input
    def feed(self, lines: Iterable[str]) -> None:
        """Run what ``lines`` (one line each, no newline) hold, until they end or .quit.
        A ``CLEAR`` line (Ctrl-C at the prompt) drops the statement typed so far."""
        for line in lines:
            if line is CLEAR:
                self.buffer.clear()
                continue
            if not self.buffer and line.lstrip().startswith("."):
                try:
                    self.command(line.strip())
                except KeyboardInterrupt:
                    if not self.interactive:
                        raise
                    click.echo("Interrupted", err=True)
                if self.done:
                    return
                continue
            self.buffer.append(line)
            pieces, complete = statements("\n".join(self.buffer))
            if complete:
                self.buffer.clear()
                for sql in pieces:
                    self.execute(sql)
        text = "\n".join(self.buffer)
        self.buffer.clear()
        if text.strip():  # the input ended inside a statement: run what is there
            for sql in statements(text)[0] or [text]:
                self.execute(sql)

    def execute(self, sql: str) -> None:
        """Run one statement and show its result; errors are one line. Ctrl-C cancels the
        statement (interactive) or the whole run (not interactive: status 130)."""
        t0, c0 = time.perf_counter(), os.times()
        try:
            with _one_line_errors():
                result = self.db.sql(sql)
                try:
                    if self.mode == "table":  # the shown rows held, the rest counted
                        table, rows = head(result.fetch_record_batch(), self.max_rows)
                    else:
                        table = result.to_arrow()
                        rows = table.num_rows
                finally:  # after Ctrl-C too: stops the scan, unmaps what it held
                    result.close()
                self.show(table, rows)
        except KeyboardInterrupt:
            if not self.interactive:
                raise
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            click.echo("Interrupted", err=True)
        except MapdbError as e:
            self.error(str(e) or type(e).__name__)
        if self.timer:
            c1 = os.times()
            click.echo(f"Run Time (s): real {time.perf_counter() - t0:.3f} "
                       f"user {c1.user - c0.user:.3f} sys {c1.system - c0.system:.3f}")

    def command(self, line: str) -> None:
        try:
            name, *args = shlex.split(line)
        except ValueError as e:  # an unbalanced quote
            self.error(f"{line.split()[0]}: {e}")
            return
        if name in (".quit", ".exit", ".q"):
            self.done = True
        elif name == ".help":
            click.echo(HELP)
        elif name == ".tables":
            self._tables(args)
        elif name == ".schema":
            self._schema(args)
        elif name == ".mode":
            if not args:
                click.echo(self.mode)
            elif len(args) == 1 and args[0] in MODES:
                self.mode = args[0]
            else:
                self.error(f".mode takes one of {', '.join(MODES)}; got {' '.join(args)}")
        elif name == ".timer":
            if len(args) == 1 and args[0] in ("on", "off"):
                self.timer = args[0] == "on"
            else:
                self.error(".timer takes on or off")
        elif name == ".maxrows":
            if not args:
                click.echo(str(self.max_rows or 0))
            elif len(args) == 1 and args[0].isdigit():
                self.max_rows = int(args[0]) or None
            else:
                self.error(".maxrows takes a number of rows (0: all)")
        else:
            self.error(f"unknown command {name!r}; .help lists the commands")

    def _names(self) -> list[str]:
        return [r["name"] for r in self.db.sql("SHOW TABLES").to_arrow().to_pylist()]

    def _tables(self, args: list[str]) -> None:
        if args:
            self.error(".tables takes no argument")
            return
        try:
            names = self._names()
        except MapdbError as e:
            self.error(str(e))
            return
        if names:
            click.echo("\n".join(names))

    def _schema(self, args: list[str]) -> None:
        if len(args) > 1:
            self.error(".schema takes at most one table or view name")
            return
        try:
            with _one_line_errors():
                views = self.db.views()
                names = args or self._names()
                for name in names:
                    click.echo(create_statement(self.db, name, views))
        except MapdbError as e:
            self.error(str(e))


def create_statement(db, name: str, views: dict[str, str]) -> str:
    """``CREATE TABLE name(col TYPE [NOT NULL] [PRIMARY KEY|UNIQUE] [DEFAULT v], ...);``
    from DESCRIBE's rows, or the stored text of a view."""
    if name in views:
        return f"CREATE VIEW {quote(name)} AS {views[name].strip().rstrip(';')};"
    rows = db.sql(f"DESCRIBE {quote(name)}").to_arrow().to_pylist()
    cols = []
    for r in rows:
        c = f"{quote(r['column_name'])} {r['column_type']}"
        if r["null"] == "NO" and r["key"] != "PRI":
            c += " NOT NULL"
        if r["key"] == "PRI":
            c += " PRIMARY KEY"
        elif r["key"] == "UNI":
            c += " UNIQUE"
        if r["default"] is not None:
            c += f" DEFAULT {r['default']}"
        cols.append(c)
    return f"CREATE TABLE {quote(name)}({', '.join(cols)});"


def quote(name: str) -> str:
    """``name`` as an SQL identifier, in double quotes only where it needs them.

    >>> quote("flights"), quote("Arr Delay"), quote("select")
    ('flights', '"Arr Delay"', '"select"')
    """
    from sqlglot.tokens import Tokenizer
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name.upper() not in Tokenizer.KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def render(table, mode: str, max_rows: int | None) -> Iterator[str]:
    """The lines of ``table`` in an output mode (the table mode shows ``max_rows`` rows
    and the row count; the others every row)."""
    if mode == "table":
        yield from aligned_table(table, max_rows)
    elif mode == "markdown":
        yield from markdown_table(table)
    elif mode == "json":
        objs = list(json_objects(table))
        yield "[" + ",\n".join(objs) + "]"
    elif mode == "csv":
        import pyarrow.csv as pcsv
        buf = io.BytesIO()
        pcsv.write_csv(table, buf)
        yield from buf.getvalue().decode("utf-8").splitlines()
    else:  # pragma: no cover - .mode checks
        raise AssertionError(mode)


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Whatever a statement raises besides MapdbError (pyarrow's errors, OS errors, a bug)
    becomes a MapdbError, so the shell shows one line and goes on."""
    try:
        yield
    except (MapdbError, KeyboardInterrupt, BrokenPipeError):
        raise  # a reader of stdout gone (| head): the CLI's group ends quietly, status 0
    except (OSError, ValueError, NotImplementedError) as e:
        if (isinstance(e, OSError) and e.errno == errno.EPIPE) or \
                isinstance(e.__cause__, BrokenPipeError):
            raise
        raise MapdbError(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
    except Exception as e:
        import pyarrow as pa
        if isinstance(e, pa.ArrowException):
            raise MapdbError(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
        raise MapdbError(f"internal error: {type(e).__name__}: {e}") from e


# -- interactive input --------------------------------------------------------------------
def history_path() -> str | None:
    env = os.environ.get("MAPDB_HISTORY")
    if env is not None:
        return env or None
    return os.path.join(os.path.expanduser("~"), ".mapdb_history")


class _Terminal:
    """Lines typed at a prompt, with readline editing and history. A statement typed over
    several lines is kept in the history as one entry."""

    def __init__(self, shell: Shell):
        self.shell = shell
        self.path = history_path()
        self.readline = None
        self.start = 0
        self.pending: list[str] = []
        with contextlib.suppress(ImportError):
            import readline
            self.readline = readline
            readline.set_auto_history(False)
            readline.set_history_length(10000)
            if self.path:
                with contextlib.suppress(OSError):
                    readline.read_history_file(self.path)
            self.start = readline.get_current_history_length()

    def lines(self) -> Iterator[str]:
        while True:
            try:
                line = input(CONTINUE if self.shell.buffer else PROMPT)
            except EOFError:
                click.echo()
                return
            except KeyboardInterrupt:  # at the prompt: drop what was typed
                click.echo()
                self.pending = []
                yield CLEAR
                continue
            self._remember(line)
            yield line

    def _remember(self, line: str) -> None:
        if self.readline is None or not line.strip():
            return
        self.pending.append(line)
        text = "\n".join(self.pending)
        if (line.lstrip().startswith(".") and len(self.pending) == 1) or statements(text)[1]:
            joiner = "\n" if any("--" in x for x in self.pending) else " "
            self.readline.add_history(joiner.join(x.strip() for x in self.pending))
            self.pending = []

    def save(self) -> None:
        if self.readline is None or not self.path:
            return
        new = self.readline.get_current_history_length() - self.start
        if new <= 0:
            return
        try:
            if not os.path.exists(self.path):
                with open(self.path, "a"):
                    pass
            self.readline.append_history_file(new, self.path)
        except AttributeError:  # a readline without it (libedit): the whole list
            with contextlib.suppress(OSError):
                self.readline.write_history_file(self.path)
        except OSError as e:
            click.echo(f"mapdb: cannot write the history to {self.path}: "
                       f"{e.strerror or e}", err=True)


def run(db, stdin=None) -> int:
    """Run the shell over ``db`` reading ``stdin``; the exit status."""
    stdin = stdin if stdin is not None else sys.stdin
    interactive = stdin.isatty()
    if not interactive:
        shell = Shell(db, interactive=False)
        shell.feed(line.rstrip("\r\n") for line in stdin)
        return 1 if shell.failed else 0
    from mapdb import __version__
    shell = Shell(db, interactive=True)
    terminal = _Terminal(shell)
    click.echo(f"mapdb {__version__} shell on {db.path}\n"
               f"Enter \".help\" for the commands; statements end with ';'.")
    try:
        shell.feed(terminal.lines())
    finally:
        terminal.save()
    return 0


@click.command()
@click.argument("db")
def shell(db) -> None:
    """An interactive SQL shell on DB (created if missing).

    \b
    Statements end with ';' and may span lines; .help lists the dot commands
    (.tables, .schema, .mode table|csv|json|markdown, .timer on|off, .quit).
    Ctrl-C cancels a running statement, Ctrl-D leaves. Reads stdin without a
    prompt when it is not a terminal, exiting 1 if any statement failed:

    \b
    echo "SELECT count(*) FROM flights;" | mapdb shell demo.mapdb
    """
    import logging

    from mapdb.cli import _connect
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its parser warnings are not ours
    status = run(_connect(db, readonly=False, create=True))
    sys.exit(status)
