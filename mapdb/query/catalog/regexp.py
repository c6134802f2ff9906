"""Regular expressions. DuckDB and Arrow both use RE2, so patterns mean the same: a search
(not a full match) for regexp_matches and ``~``, ``.`` not matching a newline, ``^``/``$``
at the ends of the text. Patterns and options must be constants. Options: ``i``
(case-insensitive), ``c`` (case-sensitive), ``g`` (regexp_replace: every match, not the
first only); others are refused. regexp_replace's replacement is RE2's rewrite (``\\1``,
``\\0``), as DuckDB's."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from mapdb.query.catalog import arity, constant, kernel, kinds, node, null_result, register
from mapdb.query.expr import Call, Expr
from mapdb.query.types import BOOL, STRING, QueryError

S = "string"


def _options(name: str, text: str | None, allow_g: bool) -> tuple[str, bool]:
    """RE2 inline flags for DuckDB's options string, and whether 'g' was given."""
    flags, glob = "", False
    for ch in text or "":
        if ch == "i":
            flags = "(?i)"
        elif ch == "c":
            flags = ""
        elif ch == "g" and allow_g:
            glob = True
        elif ch == "s":
            pass  # (RE2's default here)
        else:
            raise QueryError(f"{name}(): regex option {ch!r} is not supported "
                             "(mapdb has i, c" + (", g)" if allow_g else ")"))
    return flags, glob


def _pattern(name: str, args: list[Expr], i: int, options: str | None,
             allow_g: bool = False) -> tuple[str, bool]:
    p = constant(name, args, i, "pattern")
    flags, glob = _options(name, options, allow_g)
    return flags + p, glob


def _matches(full: bool):
    def bind(name: str, args: list[Expr]) -> Expr:
        arity(name, args, 2, 3)
        kinds(name, args, S, S, S)
        out = null_result(args, BOOL)
        if out is not None:
            return out
        opts = constant(name, args, 2, "options") if len(args) > 2 else None
        p, _ = _pattern(name, args, 1, opts)
        if full:
            p = f"^(?:{p})$"
        return Call("regexp_matches", (args[0],), BOOL, p)
    return bind


register("regexp_matches", _matches(False),
         "(VARCHAR, VARCHAR pattern[, VARCHAR options]) -> BOOLEAN",
         doc="a search; also `s ~ pattern`", family="regexp")
register("regexp_full_match", _matches(True),
         "(VARCHAR, VARCHAR pattern[, VARCHAR options]) -> BOOLEAN", family="regexp")


@node(exp.RegexpLike, "this expression flag", "regexp_matches")
def _like_node(n):
    return "regexp_matches", [n.this, n.expression] + (
        [n.args["flag"]] if n.args.get("flag") is not None else [])


node(exp.RegexpFullMatch, "this expression options", "regexp_full_match")(
    lambda n: ("regexp_full_match", [n.this, n.expression] + (
        [n.args["options"]] if n.args.get("options") is not None else [])))


@kernel("regexp_matches")
def _matches_kernel(e, s):
    return pc.match_substring_regex(s, e.param)


def _replace(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 3, 4)
    kinds(name, args, S, S, S, S)
    out = null_result(args, STRING)
    if out is not None:
        return out
    opts = constant(name, args, 3, "options") if len(args) > 3 else None
    p, glob = _pattern(name, args, 1, opts, allow_g=True)
    rewrite = constant(name, args, 2, "replacement")
    return Call("regexp_replace", (args[0],), STRING, (p, rewrite, glob))


register("regexp_replace", _replace,
         "(VARCHAR, VARCHAR pattern, VARCHAR replacement[, VARCHAR options]) -> VARCHAR",
         doc="the first match; every one with option g", family="regexp")


@node(exp.RegexpReplace, "this expression replacement modifiers single_replace "
      "position occurrence", "regexp_replace")
def _replace_node(n):
    args = [n.this, n.expression, n.args["replacement"]]
    if n.args.get("modifiers") is not None:
        args.append(n.args["modifiers"])
    for k in ("position", "occurrence"):
        if n.args.get(k) is not None:
            raise QueryError(f"regexp_replace() with a {k} is not supported")
    return "regexp_replace", args


@kernel("regexp_replace")
def _replace_kernel(e, s):
    p, rewrite, glob = e.param
    return pc.replace_substring_regex(s, p, rewrite, max_replacements=None if glob else 1)


def _extract(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2, 4)
    kinds(name, args, S, S, "int", S)
    out = null_result(args, STRING)
    if out is not None:
        return out
    group = constant(name, args, 2, "group") if len(args) > 2 else 0
    opts = constant(name, args, 3, "options") if len(args) > 3 else None
    p, _ = _pattern(name, args, 1, opts)
    if group is None:
        raise QueryError(f"{name}(): a NULL group is not supported")
    if not 0 <= group <= 8:
        raise QueryError(f"{name}(): group {group} is not supported (0 to 8)")
    return Call("regexp_extract", (args[0],), STRING, (p, group))


register("regexp_extract", _extract,
         "(VARCHAR, VARCHAR pattern[, INTEGER group[, VARCHAR options]]) -> VARCHAR",
         doc="'' without a match; group constant", family="regexp")


@node(exp.RegexpExtract, "this expression group parameters null_if_pos_overflow "
      "position occurrence", "regexp_extract", as_written=False)
def _extract_node(n):
    args = [n.this, n.expression]
    if n.args.get("group") is not None:
        args.append(n.args["group"])
    if n.args.get("parameters") is not None:
        if len(args) == 2:
            args.append(exp.Literal.number(0))
        args.append(n.args["parameters"])
    for k in ("position", "occurrence"):
        if n.args.get(k) is not None:
            raise QueryError(f"regexp_extract() with a {k} is not supported")
    return "regexp_extract", args


@kernel("regexp_extract")
def _extract_kernel(e, s):
    """The first match's group: the whole text rewritten to the group by a pattern that
    matches all of it (a lazy prefix finds the leftmost match, as a search does); '' where
    the pattern does not match."""
    p, group = e.param
    hit = pc.match_substring_regex(s, p)
    try:
        out = pc.replace_substring_regex(s, f"(?s:.*?)({p})(?s:.*)", f"\\{group + 1}",
                                         max_replacements=1)
    except pa.ArrowInvalid as err:
        if "Rewrite schema" not in str(err):  # a group past the pattern's: '' (DuckDB)
            raise
        out = pc.if_else(pc.is_valid(s), pa.scalar("", pa.large_string()),
                         pa.scalar(None, pa.large_string()))
    return pc.if_else(pc.fill_null(hit, True), out, pa.scalar("", pa.large_string()))


# -- SIMILAR TO, GLOB, LIKE ... ESCAPE: patterns as regular expressions --------------------

node(exp.SimilarTo, "this expression", "regexp_full_match", as_written=False)(
    lambda n: ("regexp_full_match", [n.this, n.expression]))


def _glob_regex(p: str) -> str:
    """A GLOB pattern as RE2: * any text, ? one character, [...] / [!...] a class, \\x x."""
    import re
    out, i = ["(?s)^"], 0
    while i < len(p):
        c = p[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < len(p):
            i += 1
            out.append(re.escape(p[i]))
        elif c == "[":
            j = p.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = p[i + 1:j]
                neg = body.startswith("!")
                body = body[1:] if neg else body
                if not body:  # [] matches nothing
                    out.append(r"[^\x00-\x{10FFFF}]" if not neg else ".")
                else:
                    esc = "".join("\\" + ch if ch in "\\^[]" else ch for ch in body)
                    out.append(f"[{'^' if neg else ''}{esc}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out) + "$"


def _glob(name: str, args: list[Expr]) -> Expr:
    arity(name, args, 2)
    kinds(name, args, S, S)
    out = null_result(args, BOOL)
    if out is not None:
        return out
    return Call("regexp_matches", (args[0],), BOOL,
                _glob_regex(constant("GLOB", args, 1, "pattern")))


register("~~~", _glob, "(VARCHAR) GLOB (VARCHAR pattern) -> BOOLEAN",
         doc="`s GLOB p`: * ? [...] [!...] and \\\\ escapes, case-sensitive; pattern constant",
         family="regexp")
node(exp.Glob, "this expression", "glob", as_written=False)(
    lambda n: ("~~~", [n.this, n.expression]))


def _like_regex(name: str, p: str, escape: str | None) -> str:
    import re
    if escape is not None and len(escape) > 1:
        raise QueryError(f"{name}(): the escape must be empty or one character (DuckDB: "
                         "Syntax Error)")
    out, i = ["(?s)^"], 0
    while i < len(p):
        c = p[i]
        if escape and c == escape:
            if i + 1 == len(p):
                raise QueryError(f"{name}(): the pattern must not end with the escape "
                                 "character (DuckDB: Syntax Error)")
            i += 1
            out.append(re.escape(p[i]))
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out) + "$"


def _like_escape(name: str, args: list[Expr]) -> Expr:
    from mapdb.query import functions as fn
    arity(name, args, 3)
    kinds(name, args, S, S, S)
    out = null_result(args, BOOL)
    if out is not None:
        return out
    regex = _like_regex(name, constant(name, args, 1, "pattern"),
                        constant(name, args, 2, "escape"))
    if "ilike" in name:
        regex = "(?i)" + regex
    call = Call("regexp_matches", (args[0],), BOOL, regex)
    return fn.logic_not(call) if name.startswith("not_") else call


for _name in ("like_escape", "ilike_escape", "not_like_escape", "not_ilike_escape"):
    register(_name, _like_escape, "(VARCHAR, VARCHAR pattern, VARCHAR escape) -> BOOLEAN",
             doc="`s [NOT] [I]LIKE p ESCAPE e`; pattern and escape constant",
             family="regexp")


@node(exp.Escape, "this expression", "like_escape ilike_escape not_like_escape "
      "not_ilike_escape", as_written=False)
def _escape_node(n):
    like = n.this
    if not isinstance(like, (exp.Like, exp.ILike)):
        raise QueryError("ESCAPE is supported after LIKE and ILIKE")
    name = ("not_" if like.args.get("negate") else "") + (
        "ilike" if isinstance(like, exp.ILike) else "like") + "_escape"
    return name, [like.this, like.expression, n.expression]
