"""Indexes: hash-index files (build, open, probe) and sorted attributes.

``USE_COUNTS`` counts probes per (table directory, index name) in this process; the pin
manager (storage.cache) pins the most-used hash indexes first when its budget is short.
"""

from __future__ import annotations

from collections import Counter

USE_COUNTS: Counter[tuple[str, str]] = Counter()
