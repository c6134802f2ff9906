"""Planning a scan's morsels: zone-map pruning, an optional narrowing, and the page-cache
advice for the ranges the scan will read. Shared by the executor's pipelines and the fused
kernels (query.fused), so neither imports the other for it.
"""

from __future__ import annotations

from collections.abc import Callable

from mapdb.query.source import Morsel, PruneStats


def plan_morsels(scan, ctx, rows: int | None = None,
                 narrow: Callable | None = None) -> list[Morsel]:
    """The scan's morsels (``narrow(scan, morsels)`` may cut them to the rows it will
    read), the page cache advised for them."""
    st = ctx.op(scan)
    prune = PruneStats()
    pruned = getattr(scan.source, "pruned_morsels", None)  # files: by the filter itself
    if pruned is not None:
        morsels = pruned(scan.filter, prune)
    else:
        morsels = scan.source.morsels(scan.ranges, prune, rows) if rows else \
            scan.source.morsels(scan.ranges, prune)
    if narrow is not None:
        narrowed = narrow(scan, morsels)
        if narrowed is not morsels:
            return narrowed  # a few rows here and there: no read-ahead advice
    st.extra["blocks"] = prune.blocks
    st.extra["blocks_skipped"] = prune.skipped
    residency = getattr(scan.source, "residency", None)
    if residency is not None and "resident_before" not in st.extra:
        st.extra["resident_before"] = residency(scan.columns, morsels)
    prepare = getattr(scan.source, "prepare", None)
    if prepare is not None:
        prepare(scan.columns, morsels)
    return morsels
