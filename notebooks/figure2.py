#!/usr/bin/python3
"""The paper's Figure 2 (model size against data size) from a `bench run` results folder of byte
Transformers of several sizes trained with one recipe and one token budget (configs/figure2.json).

    /usr/bin/python3 notebooks/figure2.py RESULTS_DIR [--dataset NAME] [--out DIR]

For a dataset of D bytes a model's adjusted rate is its raw rate plus its own size, 2 bytes per
parameter, as a share of D: raw + 100 x 2 x parameters / D. One curve per D (10^6 ... 10^9 bytes)
against model bytes, each curve's optimum marked. The raw rates are the models' chunked rates on
the dataset (default: the first in the results): every D reuses them, where the paper measured
each D (enwik7, enwik8, enwik9) directly. Writes DIR/figure2.png, .pdf and DIR/figure2.md, a
table of the same numbers (default DIR: RESULTS_DIR/figures).

Exit codes: 0 written, 2 bad input (the message names the file).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import figures  # noqa: E402

DATA_SIZES = (1e6, 1e7, 1e8, 1e9)
BYTES_PER_PARAMETER = 2  # float16, as the paper counts a model's size


def model_points(results: dict, dataset: str | None = None) -> tuple[str, list]:
    """(dataset, [(compressor, parameters, raw rate %)]) of the chunked LM rows, by size."""
    if dataset is None:
        names = figures.datasets_in_order(results)
        if not names:
            raise figures.ResultsError("the results have no rows")
        dataset = names[0]
    points = sorted(((r["compressor"], r["parameters"], r["raw_rate"])
                     for r in results["rows"] if r["dataset"] == dataset
                     and r["mode"] == "chunked" and figures.is_lm_row(r)),
                    key=lambda p: p[1])
    if len(points) < 2:
        raise figures.ResultsError(f"dataset {dataset!r} has {len(points)} language-model rows; "
                                   "Figure 2 needs models of at least two sizes")
    return dataset, points


def adjusted_rate(raw_rate: float, parameters: float, data_bytes: float) -> float:
    return raw_rate + 100.0 * BYTES_PER_PARAMETER * parameters / data_bytes


def optimum(points: list, data_bytes: float) -> tuple:
    """The point whose adjusted rate at `data_bytes` is lowest."""
    return min(points, key=lambda p: adjusted_rate(p[2], p[1], data_bytes))


def _bytes_label(data_bytes: float) -> str:
    return f"D = 10^{round(math.log10(data_bytes))} bytes"


def figure2(points: list, dataset: str, data_sizes=DATA_SIZES) -> "figures.Figure":
    fig = figures._new_figure(3.3, 2.8)
    ax = fig.subplots()
    sizes = [BYTES_PER_PARAMETER * p[1] for p in points]
    colors = figures.matplotlib.colormaps["viridis"]
    for i, data_bytes in enumerate(data_sizes):
        color = colors(i / max(1, len(data_sizes) - 1) * 0.85)
        rates = [adjusted_rate(p[2], p[1], data_bytes) for p in points]
        ax.plot(sizes, rates, "o-", color=color, markersize=3, label=_bytes_label(data_bytes))
        best = optimum(points, data_bytes)
        ax.plot([BYTES_PER_PARAMETER * best[1]], [adjusted_rate(best[2], best[1], data_bytes)],
                marker="*", markersize=11, color=color, markeredgecolor="black",
                markeredgewidth=0.5, linestyle="none", zorder=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(figures.matplotlib.ticker.FuncFormatter(figures._si_bytes))
    ax.yaxis.set_major_formatter(figures.matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("model size, bytes (2 x parameters)")
    ax.set_ylabel("adjusted rate, % (lower is better)")
    ax.set_title(dataset)
    ax.grid(linewidth=0.4, color="0.85", which="both")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(figures.Line2D([], [], marker="*", markersize=9, color="0.6",
                                  markeredgecolor="black", markeredgewidth=0.5, linestyle="none",
                                  label="best model size for that D"))
    ax.legend(handles=handles, frameon=False)
    return fig


def figure2_markdown(points: list, dataset: str, data_sizes=DATA_SIZES) -> str:
    header = (["model", "parameters", "raw rate"] +
              [f"adjusted, D = 1e{round(math.log10(d))}" for d in data_sizes])
    best = {d: optimum(points, d) for d in data_sizes}
    rows = []
    for point in points:
        name, parameters, raw = point
        cells = []
        for d in data_sizes:
            text = f"{adjusted_rate(raw, parameters, d):.1f}"
            cells.append(f"**{text}**" if best[d] == point else text)
        rows.append([name, f"{parameters:,}", f"{raw:.1f}"] + cells)
    return (f"Adjusted rate (%) = raw rate on {dataset} + 100 x 2 x parameters / D; the best "
            "model of each D in bold. Every D reuses the raw rates measured here.\n\n" +
            figures.markdown_table(header, rows) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir")
    parser.add_argument("--dataset", help="dataset name (default: the first in the results)")
    parser.add_argument("--out", help="output folder (default: RESULTS_DIR/figures)")
    arguments = parser.parse_args(argv)
    try:
        results = figures.load_results(arguments.results_dir)
        dataset, points = model_points(results, arguments.dataset)
    except figures.ResultsError as error:
        print(f"figure2.py: {error}", file=sys.stderr)
        return 2
    out = Path(arguments.out) if arguments.out else Path(arguments.results_dir) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    text = figure2_markdown(points, dataset)
    (out / "figure2.md").write_text(text)
    print(text, end="")
    if figures.matplotlib is None:
        print("figure2.py: matplotlib missing, figure not drawn", file=sys.stderr)
        return 0
    for path in figures.save(figure2(points, dataset), out, "figure2"):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
