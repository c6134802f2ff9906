"""Optimized plans reused for a statement run again on the same table versions.

Binding and optimizing are pure Python: 5-15 ms for a TPC-H query, as much as some of
them take to run (Q2 at scale factor 10: about 100 ms in all). A statement's plan is
remembered under its exact text with the table sources it was made for. The next
statement with that text gets the same plan only while the database's source cache still
hands out those very sources, i.e. while no table it reads has a newer version (a commit,
an index, a compaction) and none was damaged; else it is planned afresh. A plan holds its
sources, so the source cache drops the plans over a source when it replaces or closes it
(``forget``): a cached plan never keeps an old table version open. Plans are read-only
during execution (each execution keeps its state in its own Context), so one plan serves
any number of runs, also at once. No SQL function is volatile (there is no now() or
random()), so the same text on the same versions always plans the same.

>>> import tempfile, mapdb
>>> from mapdb.query.session import PLANS
>>> db = mapdb.connect(tempfile.mkdtemp() + "/db")
>>> t = db.create_table("t", {"k": [5, 7, 9]})
>>> q = "SELECT count(*) FROM t WHERE k > 6"
>>> db.sql(q).fetchall(), db.sql(q).fetchall(), PLANS.hits > 0
([(2,)], [(2,)], True)
>>> _ = t.append({"k": [11]})  # a new version: planned afresh
>>> db.sql(q).fetchall()
[(3,)]
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

MAX_PLANS = 128
MAX_TEXT = 1 << 16


class PlanCache:
    """An LRU of (query, optimized plan, [(table, weak source)]) by statement text."""

    def __init__(self, size: int = MAX_PLANS):
        self._size = size
        self._entries: OrderedDict[str, tuple] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, sql: str, current) -> tuple | None:
        """(query, plan) for ``sql`` when ``current(table)`` still returns every source
        it was planned over, else None."""
        with self._lock:
            entry = self._entries.get(sql)
            if entry is not None:
                self._entries.move_to_end(sql)
        if entry is None:
            return None
        q, plan, sources = entry
        for table, ref in sources:
            src = ref()
            if src is None or src.damaged or current(table) is not src:
                with self._lock:
                    self._entries.pop(sql, None)
                return None
        self.hits += 1
        return q, plan

    def forget(self, source) -> None:
        """Drop the plans over ``source`` (the source cache replaced or closed it: its plans
        must not keep that table version open)."""
        with self._lock:
            for sql in [k for k, (_, _, refs) in self._entries.items()
                        if any(ref() is source for _, ref in refs)]:
                del self._entries[sql]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def put(self, sql: str, q, plan, sources: dict) -> None:
        if len(sql) > MAX_TEXT:
            return
        refs = [(table, weakref.ref(src)) for table, src in sources.items()]
        with self._lock:
            self._entries[sql] = (q, plan, refs)
            self._entries.move_to_end(sql)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
