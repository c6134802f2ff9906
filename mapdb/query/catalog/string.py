"""Text functions. Positions and lengths count Unicode code points, as DuckDB's do; NULL in,
NULL out. Arrow's kernels where an argument that shapes the work (characters to trim, a
count, a pattern) is a constant; otherwise row by row in Python."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query import functions as fn
from mapdb.query.catalog import arity, integers, kernel, kinds, node, null_result, register
from mapdb.query.expr import Call, Expr, Lit
from mapdb.query.types import BOOL, FLOAT64, INT64, STRING, QueryError, SqlType

INT32 = SqlType("int", arrow=pa.int32())


def rowwise(f, arrays: list[pa.Array], t: pa.DataType) -> pa.Array:
    """``f`` over the rows of ``arrays`` (NULL where any argument is NULL)."""
    cols = [a.to_pylist() for a in arrays]
    return pa.array([None if any(v is None for v in row) else f(*row)
                     for row in zip(*cols, strict=True)], t)


def _int(x: Expr) -> Expr:
    """An integer argument as BIGINT."""
    if x.type.kind == "int" and x.type.arrow != INT64.arrow:
        return Call("cast", (x,), INT64)
    return x


def simple(op: str, arg_kinds: tuple, result: SqlType, *signatures: str,
           aliases=(), doc: str = "", n_min: int | None = None):
    """Register ``op`` whose arguments are checked by kind, integers made BIGINT, and a
    NULL constant argument gives NULL. The call's param holds the constant arguments'
    values (None for the others), for kernels with a fast path on constants."""
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, len(arg_kinds) if n_min is None else n_min, len(arg_kinds))
        kinds(name, args, *["int" if k == I32 else k for k in arg_kinds])
        integers(name, args, *[32 if k == I32 else 64 if k == N else None
                               for k in arg_kinds])
        out = null_result(args, result)
        if out is not None:
            return out
        consts = tuple(a.value if isinstance(a, Lit) else None for a in args)
        return Call(op, tuple(_int(a) for a in args), result,
                    consts if any(c is not None for c in consts[1:]) else None)
    register(op, bind, *signatures, aliases=aliases, doc=doc, family="string")
    return bind


def _const(e: Call, i: int):
    """The value of argument ``i`` when it is a constant (else None)."""
    return e.param[i] if e.param is not None else None


S, N, I32 = "string", "int", "int32"  # (N: a BIGINT argument, I32: an INTEGER one)


# -- trim ------------------------------------------------------------------------------

def _trim(op: str):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 1, 2)
        kinds(name, args, S, S)
        out = null_result(args, STRING)
        if out is not None:
            return out
        if len(args) == 1:
            return Call(op, (args[0],), STRING, " ")  # DuckDB trims spaces only
        if isinstance(args[1], Lit):
            return Call(op, (args[0],), STRING, args[1].value)
        return Call(op + "_chars", tuple(args), STRING)
    register(op, bind, "(VARCHAR) -> VARCHAR", "(VARCHAR, VARCHAR characters) -> VARCHAR",
             doc="without characters: spaces", family="string")


for _op in ("trim", "ltrim", "rtrim"):
    _trim(_op)


@node(exp.Trim, "this expression position", "trim ltrim rtrim", as_written=False)
def _trim_node(n):
    pos = (n.args.get("position") or "").upper()
    name = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(pos, "trim")
    return name, [n.this] + ([n.expression] if n.expression is not None else [])


_ARROW_TRIM = {"trim": pc.utf8_trim, "ltrim": pc.utf8_ltrim, "rtrim": pc.utf8_rtrim}
_PY_TRIM = {"trim": str.strip, "ltrim": str.lstrip, "rtrim": str.rstrip}


@kernel("trim", "ltrim", "rtrim")
def _trim_kernel(e, s):
    if e.param == "":
        return s
    return _ARROW_TRIM[e.op](s, characters=e.param)


@kernel("trim_chars", "ltrim_chars", "rtrim_chars")
def _trim_chars(e, s, chars):
    f = _PY_TRIM[e.op[:-6]]
    return rowwise(lambda a, c: f(a, c) if c else a, [s, chars], pa.large_string())


# -- replace, split_part, positions ---------------------------------------------------

def _replace(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 3)
    kinds(name, args, S, S, S)
    out = null_result(args, STRING)
    if out is not None:
        return out
    if isinstance(args[1], Lit) and isinstance(args[2], Lit):
        return Call("replace", (args[0],), STRING, (args[1].value, args[2].value))
    return Call("replace_rows", tuple(args), STRING)


register("replace", _replace, "(VARCHAR, VARCHAR from, VARCHAR to) -> VARCHAR",
         doc="every occurrence; an empty `from` changes nothing", family="string")
node(exp.Replace, "this expression replacement", "replace")(
    lambda n: ("replace", [n.this, n.expression, n.args["replacement"]]))


@kernel("replace")
def _replace_kernel(e, s):
    old, new = e.param
    if old == "":
        return s
    return pc.replace_substring(s, old, new)


@kernel("replace_rows")
def _replace_rows(e, s, old, new):
    return rowwise(lambda a, o, n: a.replace(o, n) if o else a, [s, old, new],
                   pa.large_string())


def _split_part(s: str, sep: str, i: int) -> str:
    parts = s.split(sep) if sep else list(s)
    if i == 0:
        return ""
    if i < 0:
        i = len(parts) + i + 1
        if i <= 0:
            return ""
    return parts[i - 1] if i <= len(parts) else ""


simple("split_part", (S, S, N), STRING, "(VARCHAR, VARCHAR separator, BIGINT index) -> "
       "VARCHAR", doc="1-based; negative counts from the end; '' out of range")
node(exp.SplitPart, "this delimiter part_index", "split_part")(
    lambda n: ("split_part", [n.this, n.args["delimiter"],
                                              n.args["part_index"]]))
@kernel("split_part")
def _split_part_kernel(e, s, sep, i):
    c_sep, c_i = _const(e, 1), _const(e, 2)
    if c_sep and c_i is not None and c_i > 0:  # Arrow: split, the i-th part or ''
        parts = pc.split_pattern(s, c_sep)
        return pc.binary_join(pc.list_slice(parts, c_i - 1, c_i),
                              pa.scalar("", pa.large_string()))
    return rowwise(_split_part, [s, sep, i], pa.large_string())

simple("strpos", (S, S), INT64, "(VARCHAR, VARCHAR needle) -> BIGINT",
       aliases=("instr", "position"), doc="1-based, 0 when absent")


@node(exp.StrPosition, "this substr position occurrence", "strpos instr position")
def _strpos_node(n):
    if n.args.get("position") is not None or n.args.get("occurrence") is not None:
        raise QueryError("strpos() with a start position is not supported")
    return "strpos", [n.this, n.args["substr"]]


@kernel("strpos")
def _strpos_kernel(e, s, sub):
    needle = _const(e, 1)
    if needle is not None and needle.isascii() and pc.all(pc.string_is_ascii(s)).as_py() \
            is not False:  # (ASCII: byte offsets are character offsets)
        return pc.cast(pc.add(pc.find_substring(s, needle), 1), pa.int64())
    return rowwise(lambda a, b: a.find(b) + 1, [s, sub], pa.int64())


def _predicate(op: str, aliases=()):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 2)
        kinds(name, args, S, S)
        out = null_result(args, BOOL)
        if out is not None:
            return out
        if isinstance(args[1], Lit):
            return Call(op, (args[0],), BOOL, args[1].value)
        return Call(op + "_rows", tuple(args), BOOL)
    register(op, bind, "(VARCHAR, VARCHAR) -> BOOLEAN", aliases=aliases, family="string")


_PREDICATES = {"starts_with": (pc.starts_with, str.startswith, ("prefix",), exp.StartsWith),
               "ends_with": (pc.ends_with, str.endswith, ("suffix",), exp.EndsWith),
               "contains": (pc.match_substring, str.__contains__, (), exp.Contains)}
for _op, (_arrow, _py, _aliases, _cls) in _PREDICATES.items():
    _predicate(_op, _aliases)
    kernel(_op)(lambda e, s, _arrow=_arrow: _arrow(s, pattern=e.param))
    kernel(_op + "_rows")(lambda e, s, p, _py=_py: rowwise(_py, [s, p], pa.bool_()))
    node(_cls, "this expression", _op)(lambda n, _op=_op: (_op, [n.this, n.expression]))


# -- left, right, pad, repeat, reverse -----------------------------------------------

_MAX_LENGTH = 4294967295  # DuckDB: a longer count is an Out of Range Error


def _count(k: int) -> int:
    if abs(k) > _MAX_LENGTH:
        raise QueryError(f"Substring length {k} outside of supported range (DuckDB: Out "
                         "of Range Error)")
    return k


def _left(s: str, k: int) -> str:
    return s[:_count(k)]


def _right(s: str, k: int) -> str:
    k = _count(k)
    return s[-k:] if k != 0 else ""


simple("left", (S, N), STRING, "(VARCHAR, BIGINT count) -> VARCHAR",
       doc="a negative count drops that many from the end")
simple("right", (S, N), STRING, "(VARCHAR, BIGINT count) -> VARCHAR",
       doc="a negative count drops that many from the start")
node(exp.Left, "this expression", "left")(lambda n: ("left", [n.this, n.expression]))
node(exp.Right, "this expression", "right")(lambda n: ("right", [n.this, n.expression]))
@kernel("left", "right")
def _left_right(e, s, k):
    c = _const(e, 1)
    if c is None:
        return rowwise(_left if e.op == "left" else _right, [s, k], pa.large_string())
    c = _count(c)
    if e.op == "left":
        return pc.utf8_slice_codeunits(s, 0, c)
    return pc.utf8_slice_codeunits(s, -c) if c != 0 else pc.utf8_slice_codeunits(s, 0, 0)


def _pad(left: bool):
    def pad(s: str, k: int, fill: str) -> str:
        _count(k)
        if k <= len(s):
            return s[:max(k, 0)]
        if not fill:
            raise QueryError(f"Insufficient padding in {'LPAD' if left else 'RPAD'} "
                             "(DuckDB: Invalid Input Error)")
        need = k - len(s)
        p = (fill * (need // len(fill) + 1))[:need]
        return p + s if left else s + p
    return pad


simple("lpad", (S, I32, S), STRING, "(VARCHAR, INTEGER length, VARCHAR fill) -> VARCHAR",
       doc="longer strings are cut to length")
simple("rpad", (S, I32, S), STRING, "(VARCHAR, INTEGER length, VARCHAR fill) -> VARCHAR",
       doc="longer strings are cut to length")
node(exp.Pad, "this expression fill_pattern is_left", "lpad rpad")(
    lambda n: ("lpad" if n.args.get("is_left") else "rpad",
                         [n.this, n.expression, n.args.get("fill_pattern")]))
@kernel("lpad", "rpad")
def _pad_kernel(e, s, k, f):
    width, fill = _const(e, 1), _const(e, 2)
    if width is not None and fill is not None and len(fill) == 1 and width >= 0:
        _count(width)
        pad = pc.utf8_lpad if e.op == "lpad" else pc.utf8_rpad
        return pc.utf8_slice_codeunits(pad(s, width=width, padding=fill), 0, width)
    return rowwise(_pad(e.op == "lpad"), [s, k, f], pa.large_string())

simple("repeat", (S, N), STRING, "(VARCHAR, BIGINT count) -> VARCHAR")
node(exp.Repeat, "this times", "repeat")(lambda n: ("repeat", [n.this, n.args["times"]]))
def _repeat(s: str, k: int) -> str:
    if k > 0 and len(s) * k > _MAX_LENGTH:
        raise QueryError(f"repeat(): {len(s) * k} characters is more than mapdb makes")
    return s * max(k, 0)


kernel("repeat")(lambda e, s, k: rowwise(_repeat, [s, k], pa.large_string()))

simple("reverse", (S,), STRING, "(VARCHAR) -> VARCHAR", doc="by code point")
node(exp.Reverse, "this", "reverse")(lambda n: ("reverse", [n.this]))
kernel("reverse")(lambda e, s: pc.utf8_reverse(s))


# -- characters and codes ----------------------------------------------------------------

simple("ascii", (S,), INT32, "(VARCHAR) -> INTEGER", doc="the first code point; 0 for ''")
node(exp.Ascii, "this", "ascii")(lambda n: ("ascii", [n.this]))
kernel("ascii")(lambda e, s: rowwise(lambda a: ord(a[0]) if a else 0, [s], pa.int32()))


def _chr(c: int) -> str:
    if not 0 <= c <= 0x10FFFF or 0xD800 <= c <= 0xDFFF:
        raise QueryError(f"Invalid UTF8 Codepoint {c} (DuckDB: Invalid Input Error)")
    return chr(c)


simple("chr", (I32,), STRING, "(INTEGER) -> VARCHAR", doc="an invalid code point is an error")
node(exp.Chr, "expressions charset", "chr")(lambda n: ("chr", list(n.expressions)))
kernel("chr")(lambda e, c: rowwise(_chr, [c], pa.large_string()))

simple("md5", (S,), STRING, "(VARCHAR) -> VARCHAR", doc="hex digest of the UTF-8 bytes")
node(exp.MD5, "this", "md5")(lambda n: ("md5", [n.this]))
kernel("md5")(lambda e, s: rowwise(lambda a: hashlib.md5(a.encode()).hexdigest(), [s],
                                   pa.large_string()))

simple("strlen", (S,), INT64, "(VARCHAR) -> BIGINT", doc="bytes of the UTF-8 text")
kernel("strlen")(lambda e, s: pc.cast(pc.binary_length(s), pa.int64()))


# -- functions the binder binds itself (here too: their other spellings arrive here) ---

def _builtin(name: str, bind, *signatures: str, aliases=(), doc: str = ""):
    register(name, bind, *signatures, aliases=aliases, doc=doc, builtin=True,
             family="string")


def _one(f):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 1)
        return f(args[0])
    return bind


def _substring(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2, 3)
    return fn.substring(args[0], args[1], args[2] if len(args) > 2 else None)


_builtin("lower", _one(lambda x: fn.string_fn("lower", x)), "(VARCHAR) -> VARCHAR",
         aliases=("lcase",))
_builtin("upper", _one(lambda x: fn.string_fn("upper", x)), "(VARCHAR) -> VARCHAR",
         aliases=("ucase",))
_builtin("length", _one(fn.length), "(VARCHAR) -> BIGINT",
         aliases=("len", "char_length", "character_length"), doc="code points")
_builtin("substring", _substring, "(VARCHAR, BIGINT start[, BIGINT length]) -> VARCHAR",
         aliases=("substr",), doc="start and length constant")
_builtin("concat", lambda name, args: fn.concat(args, "concat"), "(any, ...) -> VARCHAR",
         doc="NULL reads as ''")
_builtin("concat_ws", lambda name, args: fn.concat_ws(args),
         "(VARCHAR separator, any, ...) -> VARCHAR", doc="NULLs skipped")


# -- more of DuckDB's text functions -------------------------------------------------------

simple("unicode", (S,), INT32, "(VARCHAR) -> INTEGER", aliases=("ord",),
       doc="the first code point; -1 for ''")
node(exp.Unicode, "this", "unicode")(lambda n: ("unicode", [n.this]))
kernel("unicode")(lambda e, s: rowwise(lambda a: ord(a[0]) if a else -1, [s], pa.int32()))

simple("bit_length", (S,), INT64, "(VARCHAR) -> BIGINT", doc="bits of the UTF-8 text")
node(exp.BitLength, "this", "bit_length")(lambda n: ("bit_length", [n.this]))
kernel("bit_length")(lambda e, s: pc.multiply(pc.cast(pc.binary_length(s), pa.int64()), 8))


def _translate(s: str, src: str, dst: str) -> str:
    table: dict[str, str | None] = {}
    for i, c in enumerate(src):
        if c not in table:
            table[c] = dst[i] if i < len(dst) else None
    return "".join(c if c not in table else (table[c] or "") for c in s)


simple("translate", (S, S, S), STRING, "(VARCHAR, VARCHAR from, VARCHAR to) -> VARCHAR",
       doc="each character of `from` becomes the one at its place in `to` (none: dropped)")
node(exp.Translate, "this from_ to", "translate")(
    lambda n: ("translate", [n.this, n.args["from_"], n.args["to"]]))
kernel("translate")(lambda e, s, a, b: rowwise(_translate, [s, a, b], pa.large_string()))


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _hamming(a: str, b: str) -> int:
    if not a or not b:
        raise QueryError("hamming(): strings must not be empty (DuckDB: Invalid Input "
                         "Error)")
    if len(a) != len(b):
        raise QueryError("hamming(): strings must be of equal length (DuckDB: Invalid "
                         "Input Error)")
    return sum(x != y for x, y in zip(a, b, strict=True))


simple("levenshtein", (S, S), INT64, "(VARCHAR, VARCHAR) -> BIGINT",
       aliases=("editdist3",), doc="edits by code point")
node(exp.Levenshtein, "this expression", "levenshtein editdist3")(
    lambda n: ("levenshtein", [n.this, n.expression]))
kernel("levenshtein")(lambda e, a, b: rowwise(_levenshtein, [a, b], pa.int64()))
simple("hamming", (S, S), INT64, "(VARCHAR, VARCHAR) -> BIGINT", aliases=("mismatches",),
       doc="unequal lengths or '' are an error")
kernel("hamming")(lambda e, a, b: rowwise(_hamming, [a, b], pa.int64()))

for _algo in ("sha256", "sha1"):
    simple(_algo, (S,), STRING, "(VARCHAR) -> VARCHAR", doc="hex digest of the UTF-8 bytes")
    kernel(_algo)(lambda e, s, _algo=_algo: rowwise(
        lambda a: hashlib.new(_algo, a.encode()).hexdigest(), [s], pa.large_string()))
@node(exp.SHA2, "this length", "sha256")
def _sha2_node(n):
    if n.args.get("length") is not None and n.args["length"].name != "256":
        raise QueryError(f"sha2 with {n.args['length'].name} bits is not supported")
    return "sha256", [n.this]

node(exp.SHA, "this", "sha1")(lambda n: ("sha1", [n.this]))


def _hex(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 1)
    kinds(name, args, (S, N))
    out = null_result(args, STRING)
    if out is not None:
        return out
    return Call("to_hex", (args[0],), STRING)


register("to_hex", _hex, "(VARCHAR) -> VARCHAR", "(BIGINT) -> VARCHAR", aliases=("hex",),
         doc="uppercase; a string's UTF-8 bytes, a negative integer's 64-bit two's "
             "complement", family="string")
node(exp.Hex, "this", "to_hex hex")(lambda n: ("to_hex", [n.this]))


@kernel("to_hex")
def _hex_kernel(e, x):
    if pa.types.is_integer(x.type):
        return rowwise(lambda v: format(v & 0xFFFF_FFFF_FFFF_FFFF, "X"), [x],
                       pa.large_string())
    return rowwise(lambda v: v.encode().hex().upper(), [x], pa.large_string())


def _jaccard(a: str, b: str) -> float:
    if not a or not b:
        raise QueryError("jaccard(): an argument is empty (DuckDB: Invalid Input Error)")
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb)


simple("jaccard", (S, S), FLOAT64, "(VARCHAR, VARCHAR) -> DOUBLE",
       doc="of the two sets of characters; '' is an error")
kernel("jaccard")(lambda e, a, b: rowwise(_jaccard, [a, b], pa.float64()))


def _url_decode(s: str) -> str:
    import urllib.parse
    try:
        return urllib.parse.unquote(s, errors="strict")
    except UnicodeDecodeError:
        raise QueryError(f'Failed to decode string "{s}" using URL decoding (DuckDB: '
                         "Invalid Input Error)") from None


simple("url_encode", (S,), STRING, "(VARCHAR) -> VARCHAR",
       doc="percent-encodes all but letters, digits and -_.~")
simple("url_decode", (S,), STRING, "(VARCHAR) -> VARCHAR",
       doc="invalid UTF-8 after decoding is an error; + stays +")
kernel("url_encode")(lambda e, s: rowwise(_url_encode, [s], pa.large_string()))
kernel("url_decode")(lambda e, s: rowwise(_url_decode, [s], pa.large_string()))


def _url_encode(s: str) -> str:
    import urllib.parse
    return urllib.parse.quote(s, safe="~")


def _strip_accents(s: str) -> str:
    import unicodedata
    d = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFC", "".join(c for c in d
                                                if unicodedata.category(c) != "Mn"))


simple("strip_accents", (S,), STRING, "(VARCHAR) -> VARCHAR",
       doc="canonical decomposition without its combining marks")
kernel("strip_accents")(lambda e, s: rowwise(_strip_accents, [s], pa.large_string()))
