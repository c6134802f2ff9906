"""CSV sniffing and options, compared with DuckDB's ``read_csv`` on the same files.

Every case of the table is read by mapdb and by ``duckdb.read_csv`` with the same options;
column names, types and values must be equal. DuckDB's rule for NULL (only the empty
field) is used on both sides unless the case gives ``null``: mapdb's default adds pandas'
spellings (NA, NULL, ...; see ``test_default_null_spellings``). The differences mapdb keeps
come after the table, each test stating DuckDB's answer and mapdb's.
"""

from __future__ import annotations

import datetime as dt
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import mapdb
from mapdb.cli import main as cli
from mapdb.ingest import IngestError, expand_sources, open_source

from .conftest import read_error

_DUCKDB_NAMES = {"delimiter": "delimiter", "quote": "quotechar", "header": "header",
                 "null": "na_values", "date_format": "date_format",
                 "timestamp_format": "timestamp_format"}


def duckdb_read(path, **options) -> pa.Table:
    con = duckdb.connect()
    try:
        out = con.read_csv(str(path), **{_DUCKDB_NAMES[k]: v for k, v in options.items()})
        out = out.arrow()
        return out.read_all() if isinstance(out, pa.RecordBatchReader) else out
    finally:
        con.close()


def mapdb_read(path, *, null_values=("",), **options) -> pa.Table:
    """``options`` as ``db.ingest`` takes them; ``null_values``: the spellings of NULL
    unless ``null`` is given (DuckDB's: the empty field)."""
    [src] = expand_sources([path], None)
    kw = {}
    if options:
        from mapdb.ingest import CsvOptions
        kw["csv"] = CsvOptions.make(**options)
    with open_source(src, null_values=list(null_values), **kw) as stream:
        return stream.read_all()


def _same_zone(table: pa.Table) -> pa.Table:
    # DuckDB names UTC "Etc/UTC", pyarrow "UTC": the same instants
    fields = [f.with_type(pa.timestamp(f.type.unit, "UTC"))
              if pa.types.is_timestamp(f.type) and f.type.tz else f for f in table.schema]
    return table.cast(pa.schema(fields))


def _rows(n: int, line) -> str:
    return "".join(line(i) for i in range(n))


CASES = {
    # -- delimiters
    "comma": ("a,b,c\n1,2,3\n4,5,6\n", {}),
    "semicolon": ("a;b;c\n1;x;3\n4;y;6\n", {}),
    "tab": ("a\tb\n1\tx y\n2\tz\n", {}),
    "pipe": ("a|b\n1|x\n2|y\n", {}),
    "semicolon_decimal_commas": ("a;b\n1,5;2,5\n3,5;4\n", {}),
    "comma_first_on_a_tie": ("a,b;c\n1,2;3\n4,5;6\n", {}),
    "comma_first_on_a_tie_2": ("a;b,c\n1;2,3\n4;5,6\n", {}),
    "pipe_with_commas": ("a|b\nx,y|1\nz|2\n", {}),
    "crlf": ("a;b\r\n1;2\r\n3;4\r\n", {}),
    "cr_only": ("a;b\r1;2\r3;4\r", {}),
    "no_final_newline": ("a;b\n1;2", {}),
    "many_rows": ("a;b\n" + _rows(5000, lambda i: f"{i};{i % 7}\n"), {}),
    "over_a_mib": ("id;name;score\n" + _rows(60000, lambda i: f"{i};name {i};{i * 0.5}\n"),
                   {}),
    "trailing_delimiter": ("a|b\n1|2|\n3|4|\n", {}),
    "trailing_delimiter_everywhere": ("a;b;\n1;2;\n3;4;\n", {}),
    "trailing_delimiter_no_header": ("1;2;\n3;4;\n", {}),
    # -- quotes
    "double_quotes": ('a,b\n"x,y",1\n"z",2\n', {}),
    "single_quotes": ("a,b\n'x,y',1\n'z',2\n", {}),
    "single_quotes_semicolon": ("a;b\n'x;y';1\n'z';2\n", {}),
    "doubled_quotes": ('a,b\n"say ""hi""",1\n"x",2\n', {}),
    "quoted_newline": ('a,b\n"two\nlines",1\n"x",2\n', {}),
    "apostrophes": ("a,b\ndon't,1\nisn't,2\n", {}),
    "backslash_escape": ("a,b\n'it\\'s',1\n'x',2\n", {}),
    "mixed_quotes": ('a,b\n"x,y",1\n\'z\',2\n', {}),
    "all_quoted": ('"a","b"\n"x","y"\n', {}),
    "quoted_header": ('"a","b"\n"x",1\n"y",2\n', {}),
    "quoted_numbers": ('a,b\n"1","2"\n"3","4"\n', {}),
    "backslash_in_a_quoted_value": ('a,b\n1,"C:\\dir\\"\n2,"x"\n', {}),
    "written_by_pyarrow": ('"text0"\n"g\\"\n"g"\n', {}),
    "two_backslashes_before_a_quote": ('"a","b"\n,\n,"g\\\\"\n', {}),
    "backslash_escaped_double_quote": ('a,b\n"x\\"y",1\n"z",2\n', {}),
    "quoted_delimiter_after_2048_rows": (
        "a,b\n" + _rows(3000, lambda i: f"{i},x{i}\n") + '3000,"y,z"\n', {}),
    # -- header, names
    "no_header": ("1,2,3\n4,5,6\n", {}),
    "header": ("a,b\n1,2\n", {}),
    "all_text": ("a,b\nc,d\n", {}),
    "all_text_without_a_header_look": ("x,y\nfoo,bar\nbaz,qux\n", {}),
    "one_line_of_numbers": ("1,2,3\n", {}),
    "one_line_of_text": ("a,b,c\n", {}),
    "one_line_mixed": ("a,1\n", {}),
    "one_line_no_newline": ("1,2,3", {}),
    "first_row_null": (",\n1,2\n", {}),
    "number_as_name": ("1,b\n2,3\n", {}),
    "float_as_name": ("1.5,2\n3,4\n", {}),
    "text_and_numbers_no_header": ("x,1\ny,2\n", {}),
    "bools_no_header": ("true,false\ntrue,true\n", {}),
    "name_over_text": ("name,v\n1,2\nx,3\n", {}),
    "one_column": ("a\n1\n2\n", {}),
    "one_column_of_text": ("a\nb\nc\n", {}),
    "one_column_no_header": ("1\n2\n3\n", {}),
    "blank_lines": ("a,b\n\n1,2\n\n3,4\n", {}),
    "blank_lines_one_column": ("a\n1\n\n2\n", {}),  # a NULL row each
    "blank_lines_one_column_at_the_end": ("a\n1\n2\n\n\n", {}),
    "blank_lines_one_column_first": ("a\n\n1\n2\n", {}),
    "blank_lines_one_column_only": ("a\n\n\n", {}),
    "title_line": ("My report\na,b\n1,2\n3,4\n", {}),
    "title_lines": ("title\n\nsub title\na,b\n1,2\n", {}),
    "title_with_a_delimiter": ("My report, 2024\na,b,c\n1,2,3\n3,4,5\n", {}),
    "title_then_many_rows": ("Exported 2024-01-02\na;b\n" + _rows(3000, lambda i: f"{i};{i}\n"),
                             {}),
    "comment_line": ("# comment\na,b\n1,2\n", {}),
    "duplicate_names": ("a,a,b,A\n1,2,3,4\n", {}),
    "renamed_twice": ("a,a_1,a\n1,2,3\n", {}),
    "empty_name": ("a,,c\n1,2,3\n", {}),
    "blank_name": ('"\t",b\n1,2\n', {}),
    "spaces_around_names": (" a , b \n1,2\n", {}),
    "spaces_around_text": (" a , b \n x , y \n", {}),
    "null_column_after_a_header": ("a,b\n,1\n", {}),
    "null_column_first_row_numbers": ("1,2\n,3\n", {}),
    "all_null_data": ("a,b\n,\n", {}),
    "ten_columns_no_header": (",".join(str(i) for i in range(10)) + "\n", {}),
    "eleven_columns_no_header": ((",".join(str(i) for i in range(11)) + "\n") * 2, {}),
    "101_columns_no_header": (",".join(str(i) for i in range(101)) + "\n", {}),
    "header_only": ("a,b\n", {}),
    "header_only_no_newline": ("a,b", {}),
    "unicode": ("nom,ville\nÉlodie,Zürich\n", {}),
    # -- types and values
    "iso_dates": ("d,n\n2024-01-02,1\n2024-02-03,2\n", {}),
    "dmy_dates": ("d,n\n25/12/2024,1\n01/02/2024,2\n", {}),
    "mdy_dates": ("d,n\n12/25/2024,1\n01/02/2024,2\n", {}),
    "ambiguous_dates": ("d\n01/02/2024\n03/04/2024\n", {}),
    "dash_dates": ("d,n\n25-12-2024,1\n01-02-2024,2\n", {}),
    "dot_dates": ("d,n\n25.12.2024,1\n", {}),
    "space_dates": ("d\n25 12 2024\n", {}),
    "year_first_slash": ("d,n\n2024/12/25,1\n", {}),
    "unpadded_dates": ("d\n1/2/2024\n", {}),
    "two_digit_years": ("d\n01/02/69\n01/02/68\n", {}),
    "no_such_day": ("d,n\n30/02/2024,1\n01/02/2024,2\n", {}),
    "iso_then_another_format": ("a,b\n2024-01-02,25/12/2024\n2024-01-03,26/12/2024\n", {}),
    "iso_after_another_format": ("a,b\n25/12/2024,2024-01-02\n26/12/2024,2024-01-03\n", {}),
    "iso_with_a_date_format": ("a,b\n2024-01-02,2024-01-02 10:00:00\n",
                               {"date_format": "%d/%m/%Y"}),
    "date_and_iso_timestamp": ("a,b\n25/12/2024,2024-01-02 10:00:00\n", {}),
    "two_date_formats": ("a,b\n25/12/2024,12/25/2024\n", {}),
    "date_then_text": ("a\n25/12/2024\nfoo\n", {}),
    "leading_space_date": ("a,b\n 25/12/2024,1\n", {}),
    "dates_no_header": ("25/12/2024,1\n01/02/2024,2\n", {}),
    "version_numbers": ("v,n\n1.2.3,1\n1.10.2,2\n", {}),
    "iso_timestamps": ("t,n\n2024-12-25 10:30:00,1\n2024-12-25 11:00:00,2\n", {}),
    "timestamp_minutes": ("t\n2024-12-25 10:30\n", {}),
    "timestamp_T": ("t\n2024-12-25T10:30:00\n", {}),
    "timestamp_fraction": ("t\n2024-12-25 10:30:00.5\n", {}),
    "timestamp_utc": ("t\n2024-12-25T10:30:00Z\n", {}),
    "dmy_timestamps": ("t\n25/12/2024 10:30:00\n", {}),
    "am_pm_timestamps": ("t\n12/25/2024 10:30:00 PM\n01/05/2024 1:05:09 AM\n", {}),
    "slash_timestamp_fraction": ("t\n2024/12/25 10:30:00.123\n", {}),
    "dmy_date_and_timestamp": ("a,b\n25/12/2024,25/12/2024 10:00:00\n", {}),
    "dmy_without_seconds": ("t\n25/12/2024 10:30\n", {}),
    "bools": ("a,b\ntrue,1\nfalse,0\n", {}),
    "bool_letters": ("a\nt\nf\n", {}),
    "bool_capitals": ("a\nT\nF\n", {}),
    "bool_yes_no": ("a\nYES\nNo\n", {}),
    "bool_y_n": ("a\ny\nn\n", {}),
    "bool_digits_and_words": ("a\n1\n0\ntrue\n", {}),
    "floats": ("a,b\n1.5,-2\n1e3,3\n", {}),
    "int64_limits": ("a\n9223372036854775807\n-9223372036854775808\n", {}),
    "zero_padded_codes": ("a,b\n1,02134\n2,90210\n", {}),
    "zero_padded_no_header": ("02134\n90210\n", {}),
    "zero_padded_float": ("a\n007.5\n1\n", {}),
    "zero_padded_after_a_sign": ("a\n-07\n1\n", {}),
    "zero_padded_quoted": ('a,b\n"007",1\n"042",2\n', {}),
    "zero_padded_after_a_space": ("a,b\n 07,1\n42,2\n", {}),
    "zeros_not_padded": ("a,b\n0,0.5\n10,0e5\n", {}),
    # -- NULL
    "null_NA": ("a,b\nNA,1\nx,NA\n,\n", {"null": "NA"}),
    "null_NA_and_empty": ("a,b\nNA,1\nx,NA\n,\n", {"null": ["NA", ""]}),
    "null_dash": ("a,b\n-,1\nx,-\n", {"null": "-"}),
    # -- options
    "delimiter_comma_on_semicolons": ("a;b\n1;2\n", {"delimiter": ","}),
    "delimiter_semicolon": ("a;b\n1,5;2\n", {"delimiter": ";"}),
    "delimiter_tab": ("a\tb,c\n1\t2\n", {"delimiter": "\t"}),
    "header_false": ("a,b\nc,d\n", {"header": False}),
    "header_true": ("1,2\n3,4\n", {"header": True}),
    "header_false_over_numbers": ("a,b\n1,2\n", {"header": False}),
    "quote_double_on_single_quotes": ("a,b\n'x,y',1\n", {"quote": '"'}),
    "quote_single": ("a,b\n'x,y',1\n'z',2\n", {"quote": "'"}),
    "date_format": ("d,n\n25/12/2024,1\n01/02/2024,2\n", {"date_format": "%d/%m/%Y"}),
    "date_format_us": ("d,n\n01/02/2024,1\n", {"date_format": "%m/%d/%Y"}),
    "date_format_not_matching": ("d,n\n25/12/2024,1\n2024-02-01,2\n",
                                 {"date_format": "%d/%m/%Y"}),
    "date_format_month_names": ("d\n25 Dec 2024\n01 Jan 2024\n", {"date_format": "%d %b %Y"}),
    "timestamp_format": ("d,n\n25/12/2024 10:30,1\n01/02/2024 11:00,2\n",
                         {"timestamp_format": "%d/%m/%Y %H:%M"}),
    "all_options": ("1|'a|b'|25.12.2024|NA\n2|'c'|01.02.2024|3\n",
                    {"delimiter": "|", "quote": "'", "header": False, "null": "NA",
                     "date_format": "%d.%m.%Y"}),
}


@pytest.mark.parametrize("content,options", list(CASES.values()), ids=list(CASES))
def test_same_answer_as_duckdb(write, content, options):
    path = write("in.csv", content)
    want = _same_zone(duckdb_read(path, **options))
    got = _same_zone(mapdb_read(path, **options))
    assert got.column_names == want.column_names
    assert got.schema.types == want.schema.types
    assert got.to_pylist() == want.to_pylist()


def test_the_table_covers_what_the_brief_lists():
    kinds = {"delimiter": ["comma", "semicolon", "tab", "pipe"],
             "quote": ["double_quotes", "single_quotes"],
             "header": ["header", "no_header", "all_text"],
             "one line": ["one_line_of_numbers", "one_line_of_text"],
             "null": ["null_NA"], "dates": ["dmy_dates", "date_format"]}
    assert all(case in CASES for cases in kinds.values() for case in cases)


# -- through the API and the command line ---------------------------------------------------

SEMICOLONS = "id;city;day\n1;Zürich;25/12/2024\n2;NA;01/02/2024\n"
NO_HEADER = "1|'a|b'|25.12.2024|-\n2|'c'|01.02.2024|3\n"


def test_sniffed_through_db_ingest(tmp_path, write):
    path = write("in.csv", SEMICOLONS)
    db = mapdb.connect(tmp_path / "db")
    db.ingest("t", path, null=["", "NA"])
    got = db.table("t").to_arrow()
    assert got.column_names == ["id", "city", "day"]
    assert got.column("day").type == pa.date32()
    assert got.to_pylist() == [{"id": 1, "city": "Zürich", "day": dt.date(2024, 12, 25)},
                               {"id": 2, "city": None, "day": dt.date(2024, 2, 1)}]
    want = duckdb_read(path, null=["", "NA"])
    assert got.to_pylist() == want.to_pylist()


def test_options_through_db_ingest(tmp_path, write):
    path = write("in.csv", NO_HEADER)
    db = mapdb.connect(tmp_path / "db")
    options = {"delimiter": "|", "header": False, "null": "-", "quote": "'",
               "date_format": "%d.%m.%Y"}
    db.ingest("t", path, **options)
    got = db.table("t").to_arrow()
    assert got.to_pylist() == duckdb_read(path, **options).to_pylist()
    assert got.to_pylist() == [
        {"column0": 1, "column1": "a|b", "column2": dt.date(2024, 12, 25), "column3": None},
        {"column0": 2, "column1": "c", "column2": dt.date(2024, 2, 1), "column3": 3}]


def test_options_through_the_command_line(tmp_path, write):
    path = write("in.csv", NO_HEADER)
    db = tmp_path / "db"
    r = CliRunner().invoke(cli, [
        "ingest", str(db), "t", str(path), "--delimiter", "|", "--no-header", "--null", "-",
        "--quote", "'", "--date-format", "%d.%m.%Y"])
    assert r.exit_code == 0, r.output
    got = mapdb.connect(db, readonly=True).table("t").to_arrow()
    assert got.column_names == ["column0", "column1", "column2", "column3"]
    assert got.column("column2").to_pylist() == [dt.date(2024, 12, 25), dt.date(2024, 2, 1)]
    # --header on a file DuckDB would read without one; a tab given as \t
    path = write("tabs.csv", "1\t2\n3\t4\n")
    r = CliRunner().invoke(cli, ["ingest", str(db), "u", str(path), "--header",
                                            "--delimiter", "\\t"])
    assert r.exit_code == 0, r.output
    got = mapdb.connect(db, readonly=True).table("u").to_arrow()
    assert got.to_pylist() == [{"1": 3, "2": 4}]


def test_bad_options_fail_before_the_database_is_created(tmp_path, write):
    path = write("in.csv", "a\n1\n")
    for args, message in [
            (["--delimiter", ";;"], "delimiter must be one character, got ';;'"),
            (["--quote", "ab"], "quote must be one character (or '' for no quoting), got 'ab'"),
            (["--date-format", "%d/%q"], "format '%d/%q': directive %q is not supported"),
            (["--delimiter", ";", "--quote", ";"], "quote and delimiter are the same")]:
        r = CliRunner().invoke(cli, ["ingest", str(tmp_path / "db"), "t", str(path),
                                                *args])
        assert r.exit_code == 1, r.output
        assert message in r.output
        assert not (tmp_path / "db").exists()


def test_csv_options_for_another_format_are_refused(tmp_path, write):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1]}), path)
    db = mapdb.connect(tmp_path / "db")
    with pytest.raises(IngestError) as info:
        db.ingest("t", [write("a.csv", "a\n1\n"), path], delimiter=";", header=True)
    assert str(info.value) == (f"{path}: delimiter, header: CSV options, and this is a "
                               "parquet source")
    assert db.tables() == []
    db.ingest("t", path)  # without them it reads


def test_forced_tsv_format_is_a_tab_delimiter(tmp_path, write):
    path = write("in.txt", "a\tb,c\n1\t2\n")
    db = mapdb.connect(tmp_path / "db")
    db.ingest("t", path, format="tsv")
    assert db.table("t").to_arrow().column_names == ["a", "b,c"]


def test_sniffed_date_format_on_append(tmp_path, write):
    """Appending reads the file with the table's types; a date column in another layout
    than ISO gets its format sniffed, as it did when the table was made."""
    db = mapdb.connect(tmp_path / "db")
    db.ingest("t", write("a.csv", "d;n\n25/12/2024;1\n"))
    db.ingest("t", write("b.csv", "d;n\n31/01/2025;2\n"))
    db.ingest("t", write("c.csv", "d;n\n2025-03-01;3\n"))
    assert db.table("t").to_arrow().column("d").to_pylist() == [
        dt.date(2024, 12, 25), dt.date(2025, 1, 31), dt.date(2025, 3, 1)]


def test_a_value_that_does_not_fit_the_date_format_names_the_line(write):
    path = write("d.csv", "d,n\n" + "25/12/2024,1\n" * 200 + "2024-13-45,2\n")
    err = read_error(path, block_size=256)  # the bad value is after the sample
    assert str(err) == (f"{path}:202: column 'd': cannot parse '2024-13-45' as date32[day] "
                        "with format '%d/%m/%Y' (type inferred from the first 251 bytes; "
                        "override with --schema d=TYPE)")
    err = read_error(path, block_size=256, csv=_options(date_format="%d/%m/%Y"))
    assert (err.line, err.column) == (202, "d")
    # in the sample, a value that does not fit makes the column text (as DuckDB does)
    assert read(path, csv=_options(date_format="%d/%m/%Y")).schema.field("d").type == \
        pa.string()


def _options(**kw):
    from mapdb.ingest import CsvOptions
    return CsvOptions.make(**kw)


# -- differences from DuckDB that mapdb keeps -----------------------------------------------

def test_empty_file_is_refused(write):
    """DuckDB reads an empty file as one VARCHAR column0 without rows (a file of blank
    lines: one NULL row); mapdb refuses it, as it did before sniffing."""
    for content in ["", "\n\n"]:
        path = write("e.csv", content)
        assert duckdb_read(path).column_names == ["column0"]
        assert str(read_error(path)) == f"{path}: empty file, no header"


def test_ragged_file_is_an_error_at_its_line(write):
    """DuckDB reads a file whose rows disagree as one column of whole lines; mapdb reads it
    with the delimiter that splits the first row and names the line that does not fit."""
    path = write("r.csv", "a,b,c\n1,2,3\n3,4\n")
    assert duckdb_read(path).column_names == ["a,b,c"]
    assert str(read_error(path)) == f"{path}:3: expected 3 fields (as in the header), got 2: '3,4'"


def test_default_null_spellings(write):
    """mapdb's default NULL adds pandas' spellings to the empty field (R exports such as
    nycflights13 write NA); DuckDB's is the empty field only, which null=[""] gives."""
    path = write("n.csv", "a,b\nNA,1\nNULL,2\n")
    assert duckdb_read(path).column("a").to_pylist() == ["NA", "NULL"]
    [src] = expand_sources([path], None)
    with open_source(src) as stream:
        assert stream.read_all().column("a").to_pylist() == [None, None]
    assert mapdb_read(path, null="").column("a").to_pylist() == ["NA", "NULL"]


def test_quoted_empty_string_is_not_null(write):
    """DuckDB reads "" as NULL; mapdb as the empty string (so that files pyarrow writes,
    quoting every string, read back exactly)."""
    path = write("q.csv", 'a,b\n"",1\n,2\n')
    assert duckdb_read(path).column("a").to_pylist() == [None, None]
    assert mapdb_read(path).column("a").to_pylist() == ["", None]


def test_times_are_time_as_duckdb_sniffs_them(write):
    """HH:MM[:SS[.f]] columns are TIME (time64[us]) in both; a value that is no time keeps
    the column text in both."""
    path = write("t.csv", "t,u,v\n10:30:00,1:02,10:30:00.25\n,23:59,x\n")
    want, got = duckdb_read(path), mapdb_read(path)
    assert want.schema.types == got.schema.types == [pa.time64("us"), pa.time64("us"),
                                                     pa.string()]
    assert [c.to_pylist() for c in got.columns] == [c.to_pylist() for c in want.columns]


@pytest.mark.parametrize("content,options,duckdb_type,mapdb_type", [
    # pyarrow reads +2 as a float; DuckDB keeps the column as text
    ("a\n-1\n+2\n", {}, pa.string(), pa.float64()),
    # nanoseconds are kept (DuckDB's timestamps are microseconds)
    ("t\n2024-12-25 10:30:00.123456789\n", {}, pa.timestamp("us"), pa.timestamp("ns")),
    # after a sniffed non-ISO timestamp format, DuckDB reads ISO timestamps WITH TIME ZONE
    ("a,b\n25/12/2024 10:00:00,2024-01-02 10:00:00\n", {}, pa.timestamp("us", "Etc/UTC"),
     pa.timestamp("us")),
], ids=["plus_sign", "nanoseconds", "iso_timestamp_after_a_format"])
def test_small_type_differences(write, content, options, duckdb_type, mapdb_type):
    path = write("t.csv", content)
    assert duckdb_read(path, **options).schema.types[-1] == duckdb_type
    assert mapdb_read(path, **options).schema.types[-1] == mapdb_type


# -- integers wider than 64 bits --------------------------------------------------------------

def test_an_integer_wider_than_64_bits_is_refused(write):
    """pyarrow would read the column as float64 (123456789012345678901234 becomes
    1.2345678901234568e+23); DuckDB reads it as HUGEINT, which mapdb does not have."""
    path = write("w.csv", 'a,b\n1,"x\ny"\n123456789012345678901234,2\n')
    assert duckdb_read(path).schema.field("a").type == pa.decimal128(38, 0)
    err = read_error(path)
    assert str(err) == (
        f"{path}:4: column 'a': integer 123456789012345678901234 is wider than 64 bits "
        "(mapdb has no 128-bit integers); read the column with --schema a=float64 "
        "(approximate) or --schema a=string")
    assert (err.file, err.line, err.column) == (str(path), 4, "a")
    as_float = read(path, schema_overrides={"a": "float64"}).column("a")
    assert as_float.to_pylist() == [1.0, 1.2345678901234568e+23]
    as_text = read(path, schema_overrides={"a": "string"}).column("a")
    assert as_text.to_pylist() == ["1", "123456789012345678901234"]
    path = write("neg.csv", "1\n-99999999999999999999\n")
    assert str(read_error(path)).startswith(f"{path}:2: column 'column0': integer "
                                            "-99999999999999999999 is wider than 64 bits")


def test_an_integer_of_uint64_range_suggests_uint64(tmp_path, write):
    path = write("u.csv", "id\n1\n18446744073709551615\n")
    err = read_error(path)
    assert str(err) == (f"{path}:3: column 'id': integer 18446744073709551615 does not fit in "
                        "int64; read the column with --schema id=uint64, --schema id=float64 "
                        "(approximate) or --schema id=string")
    db = mapdb.connect(tmp_path / "db")
    with pytest.raises(IngestError, match="does not fit in int64"):
        db.ingest("t", path)
    assert db.tables() == []
    db.ingest("t", path, schema={"id": "uint64"})
    assert db.table("t").to_arrow().column("id").to_pylist() == [1, 2**64 - 1]


def test_a_float_column_with_a_huge_integer_is_a_float_column(write):
    path = write("f.csv", "a\n1.5\n123456789012345678901234\n")
    assert duckdb_read(path).schema.types == [pa.float64()]
    assert mapdb_read(path).column("a").to_pylist() == [1.5, 1.2345678901234568e+23]


def read(path, **kw):
    [src] = expand_sources([path], None)
    with open_source(src, **kw) as stream:
        return stream.read_all()


# -- width -----------------------------------------------------------------------------------

def test_a_100000_column_csv_fails_fast(tmp_path, write):
    n = 100_000
    path = write("wide.csv", ",".join(f"c{i}" for i in range(n)) + "\n" +
                 ",".join(str(i) for i in range(n)) + "\n")
    db = mapdb.connect(tmp_path / "db")
    t0 = time.perf_counter()
    with pytest.raises(IngestError) as info:
        db.ingest("t", path)
    assert time.perf_counter() - t0 < 10  # was 204 s
    assert str(info.value) == (f"{path}:1: 100000 columns; a table holds at most 4096 (a file "
                               "per column: split the source, or select the columns you need)")
    assert db.tables() == []


def test_column_limit_is_inclusive_and_holds_for_every_format(tmp_path, write):
    from mapdb.ingest import MAX_COLUMNS
    path = write("w.csv", ",".join(str(i) for i in range(MAX_COLUMNS)) + "\n")
    assert read(path).num_columns == MAX_COLUMNS
    path = write("w.csv", ",".join(str(i) for i in range(MAX_COLUMNS + 1)) + "\n")
    assert read_error(path).reason.startswith(f"{MAX_COLUMNS + 1} columns; a table holds at "
                                              f"most {MAX_COLUMNS}")
    wide = pa.table({f"c{i}": [i] for i in range(MAX_COLUMNS + 1)})
    pq.write_table(wide, tmp_path / "w.parquet")
    assert read_error(tmp_path / "w.parquet").reason.startswith(f"{MAX_COLUMNS + 1} columns")
