"""Stored views as the binder meets them: a name the catalog resolves to a ``ViewDef``
(instead of a table's Source) is bound in place as a subquery of its SQL text.

The catalog (query.resolve) reads the definitions the storage layer keeps
(storage.views); binding happens at every use, so a view always reads the current
versions of its tables, and a view whose tables are gone fails with an error naming the
view. A view may read other views; one that reaches itself again is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_VIEW_DEPTH = 32  # views reading views: deeper than this is taken for a cycle


@dataclass(frozen=True)
class ViewDef:
    name: str
    sql: str
