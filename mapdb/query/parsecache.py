"""Parsed statements reused across queries that differ only in their literals.

Parsing is most of what a point query costs (sqlglot is pure Python: ~0.25 ms for
``SELECT * FROM t WHERE k = 5``, against ~0.1 ms for probing the index and reading the
row). Statements are keyed by their text with numbers and strings replaced by
placeholders; a hit puts this statement's literal texts into the cached tree's literal
nodes and binds that tree.

A template is cached only when it provably parses like the statement it came from: on a
miss both texts are parsed and, after substituting the real literals into the template's
tree, the two trees must be equal. Texts whose literals the tokenizer treats specially
(escapes, prefixes such as E'..', exponents, ``$``/``?`` parameters) are never cached.
Binding a cached tree happens under that entry's lock (the tree is shared); a caller that
finds it busy parses afresh. Only trees that pass ``syntax.check`` are cached: a hit needs
no check, and a refused statement is parsed afresh, so its error has its own positions.

>>> c = ParseCache()
>>> tree, release = c.checkout("SELECT * FROM t WHERE k = 5 AND s = 'a''b'")
>>> tree.sql()
"SELECT * FROM t WHERE k = 5 AND s = 'a''b'"
>>> release()
>>> tree, release = c.checkout("SELECT * FROM t WHERE k = 17 AND s = 'x'")
>>> tree.sql(), c.hits
("SELECT * FROM t WHERE k = 17 AND s = 'x'", 1)
>>> release()
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable

import sqlglot
from sqlglot import exp

from mapdb.query.syntax import check
from mapdb.query.types import QueryError

# The number's atomic group (?>...) and the digit runs of "other": a digit run followed by a
# letter (1e5, 99..9x) is then rejected in one pass instead of retried from each of its
# digits (that was quadratic: over 20 s for a statement with a million-digit literal).
_TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<string>'(?:[^']|'')*')
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<number>(?>\d+(?:\.\d*)?|\.\d+)(?![\dA-Za-z_.]))
  | (?P<other>\s+|[^\s'"A-Za-z_\d]+|\d+)
""", re.X | re.S)

_NUM_MARK = "918273645{:06d}"
_STR_MARK = "mapdb\x01{:06d}"
MAX_ENTRIES = 256
# a word touching a quote makes a prefixed literal (E'..', X'..'): not cached, except these
# typed constants (DATE'1994-01-01'); the template's tree is still checked either way
_TYPED = ("DATE", "INTERVAL", "TIMESTAMP", "TIME")
# Longer statements are not cached: they are not the short, repeated statements the cache
# is for, and a miss parses the text twice (a 1 MB IN list took seconds per parse).
MAX_TEMPLATE_CHARS = 1 << 16


def normalize(sql: str) -> tuple[str, str, list[tuple[bool, str]]] | None:
    """(key, template text, literals as (is_string, text)) or None when the statement
    should not be cached."""
    if len(sql) > MAX_TEMPLATE_CHARS:
        return None
    key, tmpl, lits = [], [], []
    pos = 0
    prev_text = last = None
    for m in _TOKEN.finditer(sql):
        if m.start() != pos:
            return None
        pos = m.end()
        kind, text = m.lastgroup, m.group()
        if kind == "string":
            if (last == "word" and prev_text.upper() not in _TYPED) or "\\" in text:
                return None  # E'..', X'..', escapes: leave uncached
            content = text[1:-1].replace("''", "'")
            key.append("'?'")
            tmpl.append("'" + _STR_MARK.format(len(lits)) + "'")
            lits.append((True, content))
        elif kind == "number":
            key.append("#")
            tmpl.append(_NUM_MARK.format(len(lits)))
            lits.append((False, text))
        else:
            if kind == "other" and ("$" in text or "?" in text):
                return None
            key.append(text)
            tmpl.append(text)
        if kind not in ("comment",) and not text.isspace():
            prev_text = text
        last = kind  # the token just before the next one (a prefix touches its quote)
    words = [k for k in key if k.strip() and not k.startswith(("--", "/*"))]
    if pos != len(sql) or not lits or not words or words[0].upper() not in ("SELECT", "WITH",
                                                                            "("):
        return None
    return "".join(key), "".join(tmpl), lits


def allowed(tree: exp.Expression, text: str) -> bool:
    """Whether the binder consumes all of ``tree``, parsed from ``text`` (syntax.check;
    literal values do not change that, so a template is checked once, when cached)."""
    try:
        check(tree, text)
    except QueryError:
        return False
    return True


class _Entry:
    def __init__(self, tree: exp.Expression, slots: list[exp.Literal]):
        self.tree = tree
        self.slots = slots
        self.lock = threading.Lock()


class ParseCache:
    """An LRU of statement templates (see the module docstring)."""

    def __init__(self, parse: Callable[[str], exp.Expression] | None = None,
                 size: int = MAX_ENTRIES):
        self._parse = parse or (lambda s: sqlglot.parse_one(s, read="duckdb"))
        self._size = size
        self._entries: OrderedDict[str, _Entry | None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def checkout(self, sql: str) -> tuple[exp.Expression, Callable[[], None]] | None:
        """The statement's tree from a template (``release()`` it after binding), or None:
        parse it the normal way (not cacheable, or the template is busy)."""
        norm = normalize(sql)
        if norm is None:
            return None
        key, tmpl, lits = norm
        with self._lock:
            known = key in self._entries
            entry = self._entries.get(key)
            if known:
                self._entries.move_to_end(key)
        if known and entry is None:
            return None
        if entry is None:
            entry = self._build(key, tmpl, sql, lits)
            if entry is None:
                return None
        if not entry.lock.acquire(blocking=False):
            return None
        if len(entry.slots) != len(lits):
            entry.lock.release()
            return None
        for node, (is_string, text) in zip(entry.slots, lits, strict=True):
            if node.is_string != is_string:
                entry.lock.release()
                return None
            node.set("this", text)
        if known:
            self.hits += 1
        return entry.tree, entry.lock.release

    def _build(self, key: str, tmpl: str, sql: str, lits) -> _Entry | None:
        try:
            tree = self._parse(tmpl)
            original = self._parse(sql)
        except Exception:
            tree = original = None
        entry = None
        if isinstance(tree, exp.Select | exp.Union):
            marks = {(True, _STR_MARK.format(i)) if s else (False, _NUM_MARK.format(i)): i
                     for i, (s, _) in enumerate(lits)}
            slots: list = [None] * len(lits)
            ok = True
            for node in tree.find_all(exp.Literal):
                i = marks.get((node.is_string, node.this))
                if i is None:
                    continue
                if slots[i] is not None:
                    ok = False
                slots[i] = node
            if ok and all(s is not None for s in slots):
                for node, (_, text) in zip(slots, lits, strict=True):
                    node.set("this", text)
                if tree == original and allowed(tree, tmpl):
                    # (the nodes' positions are the template's: names spelled from them
                    # read the template, query/colname.py)
                    tree.meta["template"] = tmpl
                    entry = _Entry(tree, slots)
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry
