"""Charts of the benchmark results: benchmarks/results/*.json -> benchmarks/results/*.png.

    python -m benchmarks.plot            # every results file that has a chart
    python -m benchmarks.plot tpch-sf10  # one

The TPC-H and lookup runners call this after writing their JSON, so a run leaves its
chart next to its table; this entry point redraws them from the JSON without rerunning
anything. Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.common import RESULTS

COLORS = {"mapdb": "#d62728", "duckdb": "#1f77b4", "polars": "#2ca02c",
          "polars-ipc": "#98df8a", "mapdb_sql": "#d62728", "mapdb_lookup": "#ff9896"}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    return plt


def plot_tpch(path: Path) -> Path:
    """Warm and cold times per query and engine (log scale), from tpch-sf{N}.json."""
    plt = _pyplot()
    res = json.loads(path.read_text())
    rows = res["results"]
    queries = list(dict.fromkeys(r["query"] for r in rows))
    engines = list(dict.fromkeys(r["engine"] for r in rows))
    by = {(r["query"], r["engine"]): r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=False)
    width = 0.8 / len(engines)
    for ax, key, title in ((axes[0], "warm_s", "warm (data in the page cache)"),
                           (axes[1], "cold_s", "cold (files evicted, engine reopened)")):
        for i, e in enumerate(engines):
            xs, ys = [], []
            for j, q in enumerate(queries):
                v = by.get((q, e), {}).get(key)
                if v:
                    xs.append(j + (i - (len(engines) - 1) / 2) * width)
                    ys.append(v * 1000)
            if ys:
                ax.bar(xs, ys, width, label=e, color=COLORS.get(e))
        ax.set_xticks(range(len(queries)), queries, rotation=30, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel("ms (median, log scale)")
        ax.set_title(title)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    m = res.get("machine", {})
    fig.suptitle(f"TPC-H SF{res['scale']:g} lineitem, median of {res['runs']}: mapdb vs "
                 f"DuckDB {m.get('duckdb', '')} and Polars {m.get('polars', '')} "
                 f"({m.get('cpu_count', '?')} CPUs; lower is better)", fontsize=10)
    fig.tight_layout()
    out = path.with_suffix(".png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_lookup(path: Path) -> Path:
    """Point-lookup latency p50/p99 per engine, from lookup-sf{N}.json."""
    plt = _pyplot()
    res = json.loads(path.read_text())
    series = dict(res["warm"])
    if res.get("cold_lookup"):
        series["t.lookup after evict"] = res["cold_lookup"]
    names = list(series)
    labels = {"duckdb": "DuckDB\n(UNIQUE index)", "mapdb_sql": "mapdb SQL\n(hash index)",
              "mapdb_lookup": "mapdb t.lookup", "polars": "Polars\n(filter, no index)",
              "t.lookup after evict": "mapdb t.lookup\ncold (evicted)"}
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for i, n in enumerate(names):
        color = COLORS.get(n, "#9467bd")
        ax.bar(i - 0.2, series[n]["p50_us"], 0.4, color=color, label="p50" if i == 0 else None)
        ax.bar(i + 0.2, series[n]["p99_us"], 0.4, color=color, alpha=0.5,
               label="p99" if i == 0 else None)
    ax.set_xticks(range(len(names)), [labels.get(n, n) for n in names], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("microseconds per lookup (log scale)")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"Point lookups: TPC-H orders SF{res['scale']:g} ({res['rows']:,} rows, "
                 f"random key order), {res['keys']:,} random keys; lower is better",
                 fontsize=10)
    fig.tight_layout()
    out = path.with_suffix(".png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot(path: Path) -> Path | None:
    """The chart of one results file (None: no chart for that benchmark)."""
    if path.name.startswith("tpch-"):
        return plot_tpch(path)
    if path.name.startswith("lookup-"):
        return plot_lookup(path)
    return None


def chart(path: Path) -> None:
    """What the runners call after writing ``path``: its chart, or a note saying why not."""
    try:
        out = plot(path)
    except ImportError as e:
        print(f"no chart ({e}): pip install matplotlib, then python -m benchmarks.plot")
        return
    if out is not None:
        print(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    names = sys.argv[1:] if argv is None else argv
    paths = [RESULTS / f"{n}.json" for n in names] if names else sorted(RESULTS.glob("*.json"))
    for p in paths:
        out = plot(p)
        if out is not None:
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
