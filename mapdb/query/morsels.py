"""Planning a scan's morsels: zone-map pruning, an optional narrowing, and the page-cache
advice for the ranges the scan will read. Shared by the executor's pipelines and the fused
kernels (query.fused), so neither imports the other for it.
"""

from __future__ import annotations

from collections.abc import Callable

from mapdb.query.source import Morsel, PruneStats

COLD_SHARE = 0.25  # a scan is cold when what it reads from disk exceeds this share of
#                    the memory available (query.memory.available_memory)


def cold_scan(resident: int, total: int) -> bool:
    """Whether a scan should drop its pages from the page cache behind itself (issue 20,
    DESIGN.md's "DONTNEED/COLD behind the cursor"): the bytes it must read from disk
    exceed a quarter of the memory the process may use, so caching them would push out
    other tables' working sets, and could not keep them warm for next time either. A
    warm or small scan keeps the kernel's caching as it is. (Every morsel is dropped,
    cached before or not: which pages were cached by whom cannot be told apart, and a
    header read at open already reads ahead up to the device's read_ahead_kb.)"""
    from mapdb.query.memory import available_memory
    avail = available_memory()
    return total > 0 and avail is not None and total - resident > COLD_SHARE * avail


def dropping(scan, ctx) -> Callable | None:
    """``drop(morsel)`` for a scan plan_morsels found cold (see cold_scan), else None."""
    if not ctx.op(scan).extra.get("drop_behind"):
        return None
    drop, columns = scan.source.drop_behind, scan.columns
    return lambda m: drop(columns, m)


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
    residency = getattr(scan.source, "residency_bytes", None)
    if residency is not None and "resident_before" not in st.extra:
        resident, total = residency(scan.columns, morsels)
        st.extra["resident_before"] = resident / total if total else None
        if cold_scan(resident, total):
            st.extra["drop_behind"] = True
    prepare = getattr(scan.source, "prepare", None)
    if prepare is not None:
        prepare(scan.columns, morsels)
    return morsels
