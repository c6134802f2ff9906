"""``mapdb query DB "SQL"``: run SQL statements and write the last one's result.

The database is opened read-only unless a statement changes it (CREATE, INSERT, UPDATE,
DELETE, ALTER, DROP, COPY ... FROM), so a query never takes locks or creates a database.

Formats: an aligned text table (default: the first 40 rows and the row count, as the
DuckDB CLI shows; ``--max-rows`` to change), csv, json, jsonl, markdown, parquet and Arrow
IPC. The result is written batch by batch as the query computes it: a large scan's rows
are never all in memory (a sort, aggregate or join still computes its result first).
Errors are raised as MapdbError and printed on one line by the group's handler.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator

import click

from mapdb.cli.render import aligned_table, json_objects, markdown_table, row_count
from mapdb.cli.render import head as render_head
from mapdb.errors import MapdbError

FORMATS = ["table", "csv", "json", "jsonl", "markdown", "parquet", "arrow"]
BINARY = {"parquet", "arrow"}
DISPLAY = {"table", "markdown"}  # the formats --max-rows applies to
TABLE_ROWS = 40  # the table format's default --max-rows (as the DuckDB CLI's)
BATCH_ROWS = 122_880  # rows written at a time (a Parquet row group, as DuckDB's)


@click.command()
@click.argument("db")
@click.argument("sql", required=False)
@click.option("-f", "--file", "sql_file", metavar="FILE",
              help="Read the SQL from FILE ('-' for stdin) instead of the argument.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True, help="Output format (parquet and arrow are binary).")
@click.option("-o", "--output", "output", metavar="FILE",
              help="Write to FILE (atomically: a temporary file renamed into place).")
@click.option("--max-rows", type=click.IntRange(min=0), metavar="N",
              help=f"table/markdown: show only the first N rows and the row count "
                   f"(default: {TABLE_ROWS} for table, all for markdown).")
@click.option("--explain", is_flag=True, help="Print the optimized plan; do not run.")
@click.option("--analyze", is_flag=True,
              help="Run, then print the plan with rows, times, bytes touched, blocks "
                   "skipped and page faults per operator, and the result's row count.")
@click.option("--timing", is_flag=True, help="Print the elapsed time on stderr.")
@click.option("--memory-limit", metavar="SIZE",
              help="Memory one query's operators may hold, e.g. 4GB or 512MiB (default: "
                   "80% of the cgroup's limit or of RAM); over it, a clear error.")
def query(db, sql, sql_file, fmt, output, max_rows, explain, analyze, timing,
          memory_limit) -> None:
    """Run SQL (DuckDB dialect) against DB: queries, or statements that change it.

    \b
    mapdb query flights.mapdb "SELECT carrier, count(*) FROM flights GROUP BY 1"
    mapdb query flights.mapdb -f report.sql --format csv -o report.csv
    mapdb query flights.mapdb "DELETE FROM flights WHERE dep_delay IS NULL"
    mapdb query :memory: "SELECT * FROM 'data.parquet' LIMIT 5"
    """
    text = _read_sql(sql, sql_file)
    if max_rows is not None and fmt not in DISPLAY:
        raise MapdbError(f"--max-rows applies to table and markdown output, not {fmt}; "
                         "use LIMIT in the SQL")
    if fmt in BINARY and output is None and not (explain or analyze) \
            and sys.stdout.isatty():
        raise MapdbError(f"refusing to write {fmt} (binary) to a terminal; "
                         "use -o FILE or redirect stdout")
    import mapdb
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its parser warnings are not ours
    t0 = time.perf_counter()
    with _arrow_errors():
        from mapdb.api.statements import writes
        database = mapdb.connect(memory_limit=memory_limit) if db == ":memory:" else \
            mapdb.connect(db, readonly=not writes(text), memory_limit=memory_limit)
        result = database.sql(text)
        if explain and not analyze:
            report, rows = result.explain(), None
        elif analyze:
            rows = len(result)
            report = result.explain(analyze=True)
        else:
            report = None
            if max_rows is None and fmt == "table":
                max_rows = TABLE_ROWS
            # batch by batch as the query computes them: bounded memory for a scan's rows
            batches = result.fetch_record_batch(BATCH_ROWS)
        t1 = time.perf_counter()
        with _smart_open(output, binary=report is None and fmt in BINARY) as out:
            if report is not None:
                out.write(report + "\n")
                if rows is not None:
                    out.write(f"({rows:,} row{'s' if rows != 1 else ''})\n")
            else:
                _write(batches, fmt, out, max_rows)
        result.close()
    if timing:
        t2 = time.perf_counter()
        click.echo(f"Time: {(t2 - t0) * 1000:.1f} ms (first rows {(t1 - t0) * 1000:.1f} "
                   f"ms, the rest and output {(t2 - t1) * 1000:.1f} ms)", err=True)


def _read_sql(sql: str | None, sql_file: str | None) -> str:
    if sql is None and sql_file is None:
        raise MapdbError("no SQL: give it as an argument or with -f FILE ('-' for stdin)")
    if sql is not None and sql_file is not None:
        raise MapdbError("give the SQL as an argument or with -f FILE, not both")
    if sql_file is not None:
        if sql_file == "-":
            sql = sys.stdin.read()
        else:
            with open(sql_file, encoding="utf-8") as f:
                sql = f.read()
    if not sql.strip():
        raise MapdbError("empty SQL" + (f" in {sql_file}" if sql_file else ""))
    return sql


def _write(batches, fmt: str, out, max_rows: int | None) -> None:
    """Write the result (a pyarrow.RecordBatchReader) batch by batch as it is read: only
    the shown rows of table/markdown output are held (the rest are counted)."""
    import pyarrow as pa
    schema = batches.schema
    if fmt in DISPLAY:
        head, n = render_head(batches, max_rows)
        if fmt == "table":
            lines = list(aligned_table(head))
            lines[-1] = row_count(n, head.num_rows)
            _lines(out, iter(lines))
        else:
            _lines(out, markdown_table(head))
    elif fmt == "jsonl":
        for batch in batches:
            _lines(out, json_objects(pa.Table.from_batches([batch])))
    elif fmt == "json":
        out.write("[")
        first = True
        for batch in batches:
            for obj in json_objects(pa.Table.from_batches([batch])):
                out.write(("\n" if first else ",\n") + obj)
                first = False
        out.write("]\n" if first else "\n]\n")
    elif fmt == "csv":
        import pyarrow.csv as pcsv
        header = True
        for batch in _nonempty(batches, schema):
            buf = io.BytesIO()
            pcsv.write_csv(batch, buf, pcsv.WriteOptions(include_header=header))
            out.write(buf.getvalue().decode("utf-8"))
            header = False
    elif fmt == "parquet":
        import pyarrow.parquet as pq
        with pq.ParquetWriter(out, schema) as w:
            for batch in _nonempty(batches, schema):
                w.write_batch(batch)
    elif fmt == "arrow":
        with pa.ipc.new_file(out, schema) as w:
            for batch in batches:
                w.write_batch(batch)
    else:  # pragma: no cover - click.Choice guards this
        raise AssertionError(fmt)


def _nonempty(batches, schema):
    """The batches; one empty batch when there are none (a CSV header, a Parquet file
    with its schema)."""
    import pyarrow as pa
    empty = True
    for batch in batches:
        empty = False
        yield batch
    if empty:
        yield pa.RecordBatch.from_pylist([], schema=schema)


def _lines(out, lines: Iterator[str]) -> None:
    for line in lines:
        out.write(line + "\n")


@contextlib.contextmanager
def _arrow_errors() -> Iterator[None]:
    """pyarrow errors that are not ValueErrors (e.g. a type CSV cannot hold) become one-line
    MapdbErrors; the original stays chained for --debug."""
    import pyarrow as pa
    try:
        yield
    except MapdbError:
        raise
    except (pa.ArrowException, NotImplementedError) as e:
        raise MapdbError(str(e).splitlines()[0] if str(e) else type(e).__name__) from e


@contextlib.contextmanager
def _smart_open(path: str | None, binary: bool) -> Iterator:
    """stdout, or ``path`` written atomically: a temporary file in the same directory,
    flushed, fsynced and renamed over ``path`` only when writing succeeded. An existing
    file keeps its permission bits (a 0400 report stays 0400); a new one gets 0666 less
    the umask, as ``> FILE`` would."""
    if path is None or path == "-":
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()  # a reader gone early (`| head`): the CLI's group ends quietly
        return
    # through a symlink to the file it names (as `> FILE` would write it)
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode) & 0o777  # an existing file keeps it
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask  # as open() would have made it, not mkstemp's 0600
    except OSError as e:
        raise MapdbError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp",
                                   dir=directory)
    except OSError as e:
        raise MapdbError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        os.fchmod(fd, mode)
        with (os.fdopen(fd, "wb") if binary
              else open(fd, "w", encoding="utf-8", newline="")) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
