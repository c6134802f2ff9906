"""The byte-level CSV helpers against a model, pyarrow, and hypothesis."""

import io

import pyarrow as pa
import pyarrow.csv as pacsv
from hypothesis import given, settings
from hypothesis import strategies as st

from mapdb.ingest import Source, open_source
from mapdb.ingest._text import csv_cut, iter_lines, iter_records, record_start_line, split_fields

PLAIN = st.text(alphabet='ab ,"x\n\r\t;é\x00', min_size=0, max_size=6)


@st.composite
def fields(draw):
    """(encoded field, value) with pyarrow's quoting rules."""
    value = draw(PLAIN)
    quoted = draw(st.booleans())
    safe_unquoted = not any(c in value for c in ",\n\r") and not value.startswith('"')
    if not quoted and safe_unquoted:
        return value, value  # may contain a literal quote mid-field
    return '"' + value.replace('"', '""') + '"', value


@st.composite
def documents(draw):
    """CSV text, the byte offsets where records end, the records, their first lines."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    recs = draw(st.lists(st.lists(fields(), min_size=2, max_size=4), min_size=1, max_size=8))
    text, ends, starts, line = "", [], [], 1
    for rec in recs:
        if draw(st.booleans()) and draw(st.booleans()):
            text += eol  # a blank line between records: also a place to cut
            line += 1
            ends.append(len(text.encode()))
        starts.append(line)
        body = ",".join(f for f, _ in rec)
        text += body + eol
        line += body.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
        ends.append(len(text.encode()))
    return text.encode(), ends, [[v for _, v in rec] for rec in recs], starts, eol.encode()


@settings(max_examples=200, deadline=None)
@given(documents(), st.data())
def test_csv_cut_finds_the_last_complete_record(doc, data):
    buf, ends, _, _, eol = doc
    k = data.draw(st.integers(0, len(buf)))
    want = max([e for e in ends if e <= k], default=0)
    got = csv_cut(buf[:k], b"\n", b",")
    # A cut just before the "\n" of a "\r\n" is not a record end; the "\n" after it is.
    assert got == want or (eol == b"\r\n" and got == 0 and want == 0)


@settings(max_examples=100, deadline=None)
@given(documents())
def test_records_fields_and_lines_match_the_model_and_pyarrow(doc):
    buf, _, records, starts, _ = doc
    got = list(iter_records(io.BytesIO(buf), b","))
    assert [line for line, _ in got] == starts
    assert [[f.decode() for f in split_fields(lines, b",")] for _, lines in got] == records
    for i, start in enumerate(starts, 1):
        assert record_start_line(io.BytesIO(buf), i, b",") == start
    # pyarrow agrees on the values (a model of its quoting rules, checked against it).
    width = max(len(r) for r in records)
    if all(len(r) == width for r in records):
        table = pacsv.read_csv(
            pa.BufferReader(buf),
            read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(width)]),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(width)},
                null_values=[], strings_can_be_null=False))
        assert [list(r.values()) for r in table.to_pylist()] == records


def test_iter_lines_handles_all_line_ends_and_chunk_borders():
    data = b"a\r\nb\rc\n\nd\r"
    for chunk in (1, 2, 3, 100):
        assert list(iter_lines(io.BytesIO(data), chunk)) == [b"a", b"b", b"c", b"", b"d"]
    assert list(iter_lines(io.BytesIO(b"x\ny"), 1)) == [b"x", b"y"]


def test_csv_cut_fallback_to_exact_scan_for_literal_quotes():
    # x"y has a literal quote (not at a field start): parity alone would think the
    # newline after it is quoted.
    buf = b'a,b\nx"y,1\n"p\nq",2\n3,'
    assert csv_cut(buf, b"\n", b",") == buf.index(b"3,")
    assert csv_cut(b'"abc\n', b"\n", b",") == 0
    assert csv_cut(b"no newline", b"\n", b",") == 0


def test_line_fallback_when_pyarrow_gives_no_row(tmp_path):
    """pyarrow names the row only in some messages; otherwise the chunk is searched."""
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,"x\ny"\n2,abc\n3,zz\n')
    with open_source(Source(path, "csv", ","), schema_overrides={"b": "string"}) as stream:
        data = path.read_bytes() + b"4\n"
        err = stream._translate(
            pa.ArrowInvalid("In CSV column #1: CSV conversion error to int64: invalid value "
                            "'zz'"), 1, data)
        assert (err.line, err.column) == (5, "b")
        err = stream._translate(
            pa.ArrowInvalid("CSV parse error: Expected 2 columns, got 1: 4"), 1, data)
        assert err.line == 6
        err = stream._translate(pa.ArrowInvalid("something new"), 1, data)
        assert str(err) == f"{path}:1: cannot read CSV: something new"
