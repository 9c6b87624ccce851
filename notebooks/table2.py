#!/usr/bin/python3
"""The paper's Table 2 (tokenization) from a `bench run` results folder of byte and tokenized
Transformers, in the paper's layout: one row per tokenizer, one column per architecture.

    /usr/bin/python3 notebooks/table2.py RESULTS_DIR [--dataset NAME] [--out FILE]

A row of the results is a cell when its compressor is a Transformer: kind "lm" (a byte model, the
row ASCII) or kind "pretrained" with format "lmct" (a tokenized one, the row BPE<pieces>). Its
column is the architecture (embedding_dim x layers); its row the tokenizer's vocabulary. Each cell
gives the raw rate (%) on the dataset (default: the first in the results), with the paper's
value beside it where the paper has that cell, and a second table gives each cell's parameters
and tokens per chunk. Writes Markdown to FILE (default RESULTS_DIR/table2.md) and prints it.

Exit codes: 0 written, 2 bad input (the message names the file and the row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import figures  # noqa: E402  (load_results, markdown_table, ResultsError)

# Table 2 of the paper: raw rate (%) of Transformers trained on enwik8, evaluated on enwik8
# (docs/PROTOCOL.md section 6.2). Columns: 200K (64 x 4), 6.4M (256 x 8), 38M (512 x 12).
PAPER_COLUMNS = {(64, 4): "200K", (256, 8): "6.4M", (512, 12): "38M"}
PAPER_TABLE2 = {
    "ASCII": {(64, 4): 22.9, (256, 8): 13.6, (512, 12): 6.4},
    "BPE1K": {(64, 4): 25.4, (256, 8): 14.8, (512, 12): 6.9},
    "BPE2K": {(64, 4): 25.6, (256, 8): 15.7, (512, 12): 7.4},
    "BPE5K": {(64, 4): 23.1, (256, 8): 17.1, (512, 12): 8.7},
    "BPE10K": {(64, 4): 21.3, (256, 8): 17.0, (512, 12): 8.9},
    "BPE20K": {(64, 4): 19.3, (256, 8): 16.4, (512, 12): 9.0},
}


def tokenizer_label(vocab_size: int) -> str:
    """ASCII for the 256 bytes, BPE<n>K for a vocabulary of n thousand pieces (BPE<n> otherwise)."""
    if vocab_size == 256:
        return "ASCII"
    if vocab_size % 1000 == 0:
        return f"BPE{vocab_size // 1000}K"
    return f"BPE{vocab_size}"


def _row_order(label: str) -> tuple:
    if label == "ASCII":
        return (0, 0)
    digits = "".join(c for c in label if c.isdigit())
    return (1, int(digits) * (1000 if label.endswith("K") else 1))


def transformer_cell(row: dict):
    """(tokenizer label, (embedding_dim, layers)) of a Transformer row, or None for other rows."""
    settings = row.get("settings") or {}
    model = settings.get("model") if isinstance(settings, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("architecture"), dict):
        return None
    architecture = model["architecture"]
    if row.get("compressor_kind") == "lm":
        vocab = 256
    elif row.get("compressor_kind") == "pretrained" and model.get("format") == "lmct":
        vocab = architecture.get("vocab_size")
    else:
        return None
    try:
        shape = (int(architecture["embedding_dim"]), int(architecture["layers"]))
        return tokenizer_label(int(vocab)), shape
    except (KeyError, TypeError, ValueError):
        raise figures.ResultsError(f"row {row.get('compressor')!r}: architecture without "
                                   f"embedding_dim / layers / vocab_size: {architecture}")


def table2_cells(results: dict, dataset: str | None = None) -> dict:
    """{(tokenizer, (embedding_dim, layers)): {raw_rate, parameters, tokens_per_chunk, chunks,
    verified, compressor}} for the chunked rows of `dataset` (default: the first dataset)."""
    rows = [r for r in results["rows"] if r.get("mode") == "chunked"]
    if dataset is None:
        names = figures.datasets_in_order(results)
        if not names:
            raise figures.ResultsError("the results have no rows")
        dataset = names[0]
    cells = {}
    for row in rows:
        if row["dataset"] != dataset:
            continue
        key = transformer_cell(row)
        if key is None:
            continue
        if key in cells:
            raise figures.ResultsError(f"{cells[key]['compressor']} and {row['compressor']} are "
                                       f"both the cell {key[0]} x {key[1][0]}x{key[1][1]}")
        chunks = row.get("chunks") or 0
        tokens = (row.get("counters") or {}).get("tokens")
        cells[key] = {
            "compressor": row["compressor"],
            "raw_rate": row["raw_rate"],
            "parameters": row["parameters"],
            "chunks": chunks,
            "verified": row.get("verified_chunks", 0) == chunks and chunks > 0,
            "tokens_per_chunk": (tokens / chunks if tokens is not None and chunks
                                 else float(row.get("chunk_size", 0))),
        }
    if not cells:
        raise figures.ResultsError(f"no Transformer rows (kind lm, or pretrained with format lmct) "
                                   f"on dataset {dataset!r}")
    return cells


def _column_label(shape) -> str:
    paper = PAPER_COLUMNS.get(shape)
    return f"{shape[0]}x{shape[1]}" + (f" (paper {paper})" if paper else "")


def _si(count: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if count >= limit:
            return f"{count / limit:.3g}{suffix}"
    return f"{count:.0f}"


def table2_markdown(cells: dict) -> str:
    labels = sorted({label for label, _ in cells}, key=_row_order)
    shapes = sorted({shape for _, shape in cells})
    header = ["tokenizer"] + [_column_label(s) for s in shapes]

    def rate(label, shape):
        cell = cells.get((label, shape))
        if cell is None:
            return ""
        text = f"{cell['raw_rate']:.1f}" + ("" if cell["verified"] else " (not all decoded)")
        paper = PAPER_TABLE2.get(label, {}).get(shape)
        return text + (f" ({paper})" if paper is not None else "")

    def size(label, shape):
        cell = cells.get((label, shape))
        if cell is None:
            return ""
        return f"{_si(cell['parameters'])}, {cell['tokens_per_chunk']:.0f}"

    rates = [[label] + [rate(label, s) for s in shapes] for label in labels]
    sizes = [[label] + [size(label, s) for s in shapes] for label in labels]
    return ("Raw compression rate (%), ours on the dataset above; in parentheses the paper's, "
            "where it has the cell (its models were trained and measured on enwik8):\n\n" + figures.markdown_table(header, rates) +
            "\n\nParameters, tokens per chunk:\n\n" + figures.markdown_table(header, sizes) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir")
    parser.add_argument("--dataset", help="dataset name (default: the first in the results)")
    parser.add_argument("--out", help="Markdown file (default: RESULTS_DIR/table2.md)")
    arguments = parser.parse_args(argv)
    try:
        results = figures.load_results(arguments.results_dir)
        text = table2_markdown(table2_cells(results, arguments.dataset))
    except figures.ResultsError as error:
        print(f"table2.py: {error}", file=sys.stderr)
        return 2
    out = Path(arguments.out) if arguments.out else Path(arguments.results_dir) / "table2.md"
    out.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
