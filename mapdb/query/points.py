"""Prepared point selects: ``SELECT <columns> FROM t WHERE k = <integer>`` on a
hash-indexed integer column skips binding and optimizing once one statement of its shape
has been planned.

The first statement is planned as usual. When its optimized plan is a projection of plain
columns over a scan whose only predicate is ``k = literal`` answered by a hash index, the
plan is remembered under the statement's template (its text with literals replaced, see
parsecache.normalize). A later statement with the same template gets a copy of that plan
with its own integer in the predicate, the zone range and the index keys: about 20 us
instead of 150 (sqlglot binding and the optimizer are pure Python). The copy is only made
while the table version the plan was made for is still the current one; anything else
takes the normal path.

>>> import tempfile, mapdb
>>> from mapdb.query.session import POINTS
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> t = db.create_table("t", {"k": [5, 7, 9], "v": ["a", "b", "c"]}).create_index("k")
>>> db.sql("SELECT v FROM t WHERE k = 7").fetchall()
[('b',)]
>>> before = POINTS.hits
>>> db.sql("SELECT v FROM t WHERE k = 9").fetchall(), POINTS.hits - before
([('c',)], 1)
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from mapdb.query.expr import Call, Col, Lit
from mapdb.query.plan import IndexAccess, Project, Query, Scan

MAX_TEMPLATES = 256


@dataclass(frozen=True)
class PointTemplate:
    source_ref: weakref.ref  # the TableSource the plan was made for (not kept alive:
    #                          it pins a table version)
    table: str
    columns: tuple[str, ...]
    exprs: tuple
    names: tuple[str, ...]
    call: Call  # the filter as planned (its literal is replaced)
    column: str
    index: str
    unique: bool
    sign: int  # -1 when the template reads "= -#"

    def plan(self, source, text: str) -> tuple[Query, Project]:
        """The plan for the statement whose literal is ``text``, over ``source`` (the one
        the template was made for: check ``source_ref() is source`` first)."""
        v = self.sign * int(text)
        a, b = self.call.args
        lit = Lit(v, (b if isinstance(b, Lit) else a).type)
        call = Call(self.call.op, (a, lit) if isinstance(b, Lit) else (lit, b), self.call.type,
                    self.call.param)
        scan = Scan(source, list(self.columns), call, {self.column: (v, v, False)},
                    IndexAccess("hash", self.column, self.index, (v,), unique=self.unique))
        plan = Project(scan, list(self.exprs))
        return Query(plan, list(self.names), None), plan


class PointTemplates:
    """An LRU of point-select plans by statement template."""

    def __init__(self, size: int = MAX_TEMPLATES):
        self._size = size
        self._entries: OrderedDict[str, PointTemplate] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: str) -> PointTemplate | None:
        with self._lock:
            t = self._entries.get(key)
            if t is not None:
                self._entries.move_to_end(key)
            return t

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def learn(self, key: str, lits: list, query: Query, plan) -> None:
        """Remember ``plan`` for ``key`` if it is a point select of one integer literal."""
        t = _template(key, lits, query, plan)
        if t is not None:
            with self._lock:
                self._entries[key] = t
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)


def _template(key: str, lits: list, query: Query, plan) -> PointTemplate | None:
    if query.explain is not None or len(lits) != 1 or plan.__dict__.get("inits"):
        return None  # (an init plan's value depends on tables the template does not check)
    is_string, text = lits[0]
    if is_string or not text.isdigit() or not isinstance(plan, Project):
        return None
    scan = plan.input
    if not isinstance(scan, Scan) or scan.index is None or scan.index.kind != "hash" or \
            scan.index.residual is not None or len(scan.index.keys) != 1:
        return None
    if not all(isinstance(e, Col) for _, e in plan.exprs):
        return None
    call, col = scan.filter, scan.index.column
    if not (isinstance(call, Call) and call.op == "eq" and len(call.args) == 2):
        return None
    a, b = call.args
    c, lit = (a, b) if isinstance(b, Lit) else (b, a)
    if not (isinstance(c, Col) and c.name == col and isinstance(lit, Lit)):
        return None
    t = scan.source.types()[col]
    if t.kind != "int" or str(t.arrow) == "uint64" or scan.source.is_dictionary(col):
        return None
    sign = -1 if key[:key.index("#")].rstrip().endswith("-") else 1
    v = scan.index.keys[0]
    if v != sign * int(text) or lit.value != v or scan.ranges != {col: (v, v, False)}:
        return None
    return PointTemplate(weakref.ref(scan.source), scan.source.name, tuple(scan.columns),
                         tuple(plan.exprs), tuple(query.names), call, col, scan.index.index,
                         scan.index.unique, sign)
