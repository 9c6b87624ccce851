#!/usr/bin/env python3
"""The numbers of README.md and docs/*.md, generated from the committed results/ (issue 28).

Every table (and every number in prose) that quotes a run sits between two markers,

    <!-- generated: NAME -->...<!-- end generated -->

and is rewritten from results/ by the generator NAME below; nothing else in the documents is
touched. A block's text ends with a line naming the results file it came from.

    scripts/doc_tables.py            rewrite every generated section in place
    scripts/doc_tables.py --check    exit 1, naming each section that differs from what the
                                     results give (CI runs this through ctest: doc_tables_current)
    scripts/doc_tables.py --check --root DIR FILE...   check other copies (the tests do)

Reference values that are not runs of ours (the paper's cells, the authors' toolchain on the
shared data) come from tests/golden/reference_values.json, which the golden tests read too.
Standard library only: it runs wherever python3 does.
"""

import argparse
import json
import pathlib
import re
import sys

DOCUMENTS = ["README.md", "docs/EXPERIMENTS.md", "docs/MODELS.md"]
MARKER = re.compile(r"<!-- generated: ([\w.-]+) -->(.*?)<!-- end generated -->", re.S)

# How the documents name rows of results/.
COMPRESSOR_LABELS = {
    "gzip": "gzip", "lzma2": "LZMA2", "png": "PNG", "flac-paper": "FLAC (ffmpeg)",
    "flac": "libFLAC", "zstd": "zstd", "brotli": "brotli", "bzip2": "bzip2", "jxl": "JPEG XL",
    "webp": "WebP", "jpegls": "JPEG-LS", "jpeg2000": "JPEG 2000", "wavpack": "WavPack",
    "ppmd": "PPMd", "zpaq-m5": "zpaq -m5", "7z-ppmd": "7-Zip PPMd", "tta": "TTA",
    "alac": "ALAC", "transformer-200k": "Transformer 200K", "transformer-800k": "Transformer 800K",
    "transformer-3.2m": "Transformer 3.2M", "stories260k": "stories260K",
    "rwkv4-660k": "RWKV-4 660K", "rwkv5.2-730k": "RWKV-5.2 730K", "copy": "copy",
}
DATASET_LABELS = {
    "enwiki-2016-heldout": "held-out enwiki", "imagenet-sample": "ImageNet tiles",
    "librispeech": "LibriSpeech", "random": "random", "prose-gpl3": "GPL-3 prose",
}
PAPER_CODECS = {"gzip", "lzma2", "png", "flac-paper"}  # the paper's Table 1 classical rows
LANGUAGE_MODEL_KINDS = {"lm", "pretrained"}


class Results:
    """results/<name>/results.json (or another file of that folder), read once."""

    def __init__(self, root):
        self.root = root
        self.cache = {}

    def load(self, relative):
        if relative not in self.cache:
            path = self.root / relative
            try:
                self.cache[relative] = json.loads(path.read_text())
            except FileNotFoundError:
                raise SystemExit(f"doc_tables: {path} is missing (a generated section needs it)")
        return self.cache[relative]

    def rows(self, run):
        return self.load(f"results/{run}/results.json")["rows"]

    def reference(self):
        return self.load("tests/golden/reference_values.json")


def label(name):
    return COMPRESSOR_LABELS.get(name, name)


def pick(rows, **where):
    found = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
    if len(found) != 1:
        raise SystemExit(f"doc_tables: expected one row with {where}, found {len(found)}")
    return found[0]


def source_line(*files):
    names = ", ".join(f"`{f}`" for f in files)
    return f"\n<sub>Generated from {names} by `scripts/doc_tables.py`; do not edit.</sub>\n"


def table(header, rows, align=None):
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def run_minutes(run):
    """NAME.minutes: the wall time of results/NAME's run, in whole minutes."""
    def generate(results):
        seconds = results.load(f"results/{run}/results.json")["run"]["wall_seconds"]
        return f"{max(1, round(seconds / 60))}"

    return generate


def at_data_size(row, data_bytes):
    """The row's adjusted rate had the model coded data_bytes instead of the row's bytes."""
    model_bytes = (row["adjusted_rate"] - row["raw_rate"]) / 100 * row["raw_bytes"]
    return row["raw_rate"] + 100 * model_bytes / data_bytes


# ---- Table 1 -------------------------------------------------------------------------------------

TABLE1_DATASETS = [("enwiki-sample", "enwiki 2016 sample"), ("imagenet-sample", "ImageNet sample"),
                   ("librispeech", "LibriSpeech"), ("librivox", "LibriVox"), ("random", "Random")]
TABLE1_CODECS = ["gzip", "lzma2", "png", "flac-paper"]


def table1(results):
    rows = results.rows("table1")
    reference = results.reference()
    toolchain = reference["authors_toolchain"]["rates"]
    paper = reference["paper"]["table1_random_chunked"]
    out = []
    for name, title in TABLE1_DATASETS:
        for mode in ("chunked", "unchunked"):
            cells = []
            for codec in TABLE1_CODECS:
                row = pick(rows, dataset=name, compressor=codec, mode=mode)
                cells.append(f"{row['raw_rate']:.3f}")
                if name in toolchain:
                    cells.append(f"{toolchain[name][codec][0 if mode == 'chunked' else 1]:.3f}")
                elif mode == "chunked":
                    cells.append(f"{paper[codec]:.1f}*")
                else:
                    cells.append("")
            if name == "random" and mode == "unchunked":
                continue  # the paper has no whole-stream random column
            chunks = pick(rows, dataset=name, compressor="gzip", mode="chunked")["chunks"]
            unit = "tiles" if name == "imagenet-sample" else "chunks"
            first = f"{title} ({chunks:,} {unit})" if mode == "chunked" else ""
            out.append([first, "2048" if mode == "chunked" else "whole"] + cells)
    header = ["data", "chunk", "gzip", "ref", "LZMA2", "ref", "PNG", "ref", "FLAC (ffmpeg)", "ref"]
    return "\n" + table(header, out, ["---"] * 2 + ["---:"] * 8) + source_line(
        "results/table1/results.json", "tests/golden/reference_values.json")


# ---- Against the strongest codecs ------------------------------------------------------------------

STRONG_DATASETS = ["enwiki-2016-heldout", "imagenet-sample", "librispeech", "random"]


def ranked(rows, dataset, mode, keep):
    chosen = [r for r in rows if r["dataset"] == dataset and r["mode"] == mode and keep(r)]
    return sorted(chosen, key=lambda r: (r["raw_rate"], r["compressor"]))


def strong(results):
    rows = results.rows("strong")
    classical = lambda r: r["compressor_kind"] not in LANGUAGE_MODEL_KINDS | {"copy"}
    out = []
    for dataset in STRONG_DATASETS:
        chunked = ranked(rows, dataset, "chunked", classical)
        paper = ranked(rows, dataset, "chunked", lambda r: r["compressor"] in PAPER_CODECS)
        whole = ranked(rows, dataset, "unchunked", classical)
        models = ranked(rows, dataset, "chunked",
                        lambda r: r["compressor_kind"] in LANGUAGE_MODEL_KINDS)
        best, model = chunked[0], models[0]
        out.append([
            DATASET_LABELS.get(dataset, dataset),
            ", ".join(f"{label(r['compressor'])} {r['raw_rate']:.1f}" for r in chunked[:3]),
            f"{label(paper[0]['compressor'])} {paper[0]['raw_rate']:.1f}",
            f"{label(whole[0]['compressor'])} {whole[0]['raw_rate']:.1f}",
            f"{label(model['compressor'])} {model['raw_rate']:.1f}",
            f"{model['raw_rate'] - best['raw_rate']:+.1f}",
            f"{model['adjusted_rate']:,.0f} % / {at_data_size(model, 1e9):.1f} %",
        ])
    header = ["data", "best classical, chunked (three best)", "best of the paper's codecs, chunked",
              "best classical, whole", "best LM, chunked", "LM minus best classical (points)",
              "LM adjusted: here / at 1 GB"]
    return "\n" + table(header, out) + source_line("results/strong/results.json")


def strong_rows(results):
    return f"{len(results.rows('strong'))}"


# ---- Held-out text -------------------------------------------------------------------------------

HELDOUT_MODELS = ["transformer-200k", "transformer-800k", "transformer-3.2m"]


def heldout(results):
    rows = results.rows("heldout")
    paper = results.reference()["paper"]["table1_enwik9_chunked"]
    out = []
    for name in HELDOUT_MODELS:
        text = pick(rows, dataset="enwiki-2016-heldout", compressor=name, mode="chunked")
        prose = pick(rows, dataset="prose-gpl3", compressor=name, mode="chunked")
        model = text["settings"].get("model", {})
        cache = model.get("kv_cache", "float32")
        out.append([label(name).removeprefix("Transformer "), f"{text['parameters']:,}", cache,
                    f"{text['raw_rate']:.2f} %", f"{text['bits_per_byte']:.2f}",
                    f"{prose['raw_rate']:.2f} %", f"{paper[name]:.1f} %"])
    for name in ("gzip", "lzma2"):
        text = pick(rows, dataset="enwiki-2016-heldout", compressor=name, mode="chunked")
        prose = pick(rows, dataset="prose-gpl3", compressor=name, mode="chunked")
        out.append([label(name), "", "", f"{text['raw_rate']:.2f} %",
                    f"{text['bits_per_byte']:.2f}", f"{prose['raw_rate']:.2f} %",
                    f"{paper[name]:.1f} %"])
    header = ["model", "parameters", "KV cache", "held-out enwiki, rate", "bits/byte",
              "GPL-3 prose, rate", "paper, enwik9"]
    return "\n" + table(header, out) + source_line("results/heldout/results.json",
                                                   "tests/golden/reference_values.json")


# ---- Table 2 -------------------------------------------------------------------------------------

TABLE2_TOKENIZERS = [("ascii", "ASCII"), ("bpe-1k", "BPE1K"), ("bpe-2k", "BPE2K"),
                     ("bpe-5k", "BPE5K"), ("bpe-10k", "BPE10K"), ("bpe-20k", "BPE20K")]


def table2_rates(results):
    rows = results.rows("table2")
    return {(size, tok): pick(rows, compressor=f"t{size}-{tok}", mode="chunked")
            for size in ("200k", "800k") for tok, _ in TABLE2_TOKENIZERS}


def table2(results):
    rates = table2_rates(results)
    paper = results.reference()["paper"]["table2_200k"]
    out = [[title, f"{rates[('200k', tok)]['raw_rate']:.1f} ({paper[tok]:.1f})",
            f"{rates[('800k', tok)]['raw_rate']:.1f}"] for tok, title in TABLE2_TOKENIZERS]
    return "\n" + table(["tokenizer", "64x4 (paper 200K)", "128x4"], out) + source_line(
        "results/table2/results.json", "tests/golden/reference_values.json")


def table2_shape(results):
    """Parameters and tokens per chunk of each Table 2 model."""
    rates = table2_rates(results)

    def cell(row):
        tokens = row["counters"].get("tokens")
        per_chunk = f", {tokens / row['chunks']:.0f}" if tokens else ", 2048"
        params = row["parameters"]
        size = f"{params / 1e6:.2f}M" if params >= 1e6 else f"{params / 1e3:.0f}K"
        return size + per_chunk

    out = [[title, cell(rates[("200k", tok)]), cell(rates[("800k", tok)])]
           for tok, title in TABLE2_TOKENIZERS]
    return "\n" + table(["tokenizer", "64x4 (paper 200K)", "128x4"], out) + source_line(
        "results/table2/results.json")


def table2_reading(results):
    """Where Table 2 agrees with the paper and where not, in numbers of the table above."""
    rates = table2_rates(results)
    paper = results.reference()["paper"]["table2_200k"]
    ours = {tok: rates[("200k", tok)]["raw_rate"] for tok, _ in TABLE2_TOKENIZERS}
    bpe = [tok for tok, _ in TABLE2_TOKENIZERS if tok != "ascii"]
    title = dict(TABLE2_TOKENIZERS)
    paper_better = [title[t] for t in bpe if paper[t] < paper["ascii"]]
    paper_worse = [title[t] for t in bpe if paper[t] >= paper["ascii"]]
    gaps = [ours["ascii"] - ours[t] for t in bpe]
    ours_better = [title[t] for t in bpe if ours[t] < ours["ascii"]]
    best = min(bpe, key=lambda t: ours[t])
    paper_best = min(bpe, key=lambda t: paper[t])
    return (
        f"In the paper's 200K column, bytes (ASCII, {paper['ascii']:.1f}) beat "
        f"{', '.join(paper_worse) or 'no tokenizer'}, and only {', '.join(paper_better)} beat "
        f"bytes; its best is {title[paper_best]}. Here {len(ours_better)} of {len(bpe)} "
        f"tokenizers beat bytes, by {min(gaps):.1f} to {max(gaps):.1f} points, and the best is "
        f"{title[best]}: a disagreement in shape, not only in level.")


# ---- Figure 2 ------------------------------------------------------------------------------------

FIGURE2_SIZES = [1e6, 1e7, 1e8, 1e9]


def figure2_models(results):
    rows = [r for r in results.rows("figure2") if r["mode"] == "chunked"]
    return sorted((r for r in rows if r["compressor_kind"] == "lm"),
                  key=lambda r: r["parameters"]), rows


def figure2(results):
    models, _ = figure2_models(results)
    adjusted = {r["compressor"]: [r["raw_rate"] + 100 * 2 * r["parameters"] / d
                                  for d in FIGURE2_SIZES] for r in models}
    best = [min(models, key=lambda r: adjusted[r["compressor"]][i])["compressor"]
            for i in range(len(FIGURE2_SIZES))]
    out = []
    for r in models:
        cells = []
        for i, value in enumerate(adjusted[r["compressor"]]):
            text = f"{value:.1f}"
            cells.append(f"**{text}**" if best[i] == r["compressor"] else text)
        out.append([r["compressor"], f"{r['parameters']:,}", f"{r['raw_rate']:.1f}"] + cells)
    header = ["model", "parameters", "raw rate"] + [f"adjusted, D = 1e{len(str(int(d))) - 1}"
                                                    for d in FIGURE2_SIZES]
    return "\n" + table(header, out) + source_line("results/figure2/results.json")


def figure2_reading(results):
    models, rows = figure2_models(results)
    gzip = pick(rows, compressor="gzip")["raw_rate"]
    beat = [r["compressor"].removeprefix("t").replace("x", " x ") for r in models
            if r["raw_rate"] < gzip]
    return (f"On raw rate, {len(beat)} of the {len(models)} models beat gzip ({gzip:.2f} % on "
            f"the same chunks): {', '.join(beat)}.")


# ---- Pretrained models, in-context, generation, file compressor ---------------------------------

PRETRAINED_DATASETS = ["enwiki-2016-heldout", "imagenet-sample", "librispeech"]


def pretrained(results):
    rows = [r for r in results.rows("pretrained") if r["mode"] == "chunked"]
    titles = {"enwiki-2016-heldout": "enwiki 2016 sample, held-out tail",
              "imagenet-sample": "ImageNet sample", "librispeech": "LibriSpeech"}
    out = []
    for dataset in PRETRAINED_DATASETS:
        rate = lambda name: f"{pick(rows, dataset=dataset, compressor=name)['raw_rate']:.1f}"
        out.append([titles[dataset], rate("gzip"), rate("lzma2"), rate("png"),
                    " / ".join(rate(m) for m in HELDOUT_MODELS), rate("stories260k"),
                    rate("rwkv4-660k"), rate("rwkv5.2-730k")])
    header = ["data", "gzip", "LZMA2", "PNG", "Transformer 200K / 800K / 3.2M", "stories260K",
              "RWKV-4 660K", "RWKV-5.2 730K"]
    return "\n" + table(header, out, ["---"] + ["---:"] * 7) + source_line(
        "results/pretrained/results.json")


IN_CONTEXT_PREFIXES = [16, 128, 2048]


def in_context(results):
    curves = results.load("results/in-context/in_context.json")["curves"]
    out = []
    for curve in curves:
        points = {p["bytes"]: p["rate"] for p in curve["points"]}
        out.append([DATASET_LABELS.get(curve["dataset"], curve["dataset"]),
                    label(curve["compressor"]), f"{curve['chunks']}"] +
                   [f"{points[k]:.0f}" for k in IN_CONTEXT_PREFIXES])
    header = ["data", "compressor", "chunks"] + [f"k = {k}" for k in IN_CONTEXT_PREFIXES]
    return "\n" + table(header, out, ["---"] * 2 + ["---:"] * 4) + source_line(
        "results/in-context/in_context.json")


def generation(results):
    inputs = results.load("results/generation/generation.json")["inputs"]
    samplers = [s["sampler"] for s in inputs[0]["samples"]]
    out = []
    for given in inputs:
        seconds = {s["sampler"]: s["cpu_seconds"] for s in given["samples"]}
        out.append([f"{given['name']} ({given['sampled_bytes']:,} sampled bytes)"] +
                   [f"{seconds[s]:.2f}" for s in samplers])
    header = ["input"] + [f"{label(s)}, CPU s" for s in samplers]
    return "\n" + table(header, out, ["---"] + ["---:"] * len(samplers)) + source_line(
        "results/generation/generation.json")


def file_compressor(results):
    data = results.load("results/file-compressor/file_compressor.json")
    out = []
    for row in data["rows"]:
        decompress = f"{row['decompress_seconds']:.2f} s" if row.get("decompress_seconds") else ""
        container = f"{row['container_bytes']:,}" if row.get("container_bytes") else ""
        out.append([row["label"], f"{row['output_bytes']:,}", container, f"{row['rate']:.1f} %",
                    f"{row['compress_seconds']:.2f} s", decompress])
    header = ["compressor", "streams", "file (container)", "rate", "compress", "decompress"]
    note = (f"\n{data['input']['description']} ({data['input']['bytes']:,} bytes), on "
            f"{data['cpu']}, {data['threads']} threads.\n")
    return "\n" + table(header, out, ["---"] + ["---:"] * 5) + note + source_line(
        "results/file-compressor/file_compressor.json")


GENERATORS = {
    "table1": table1, "table1.minutes": run_minutes("table1"), "strong": strong,
    "strong.minutes": run_minutes("strong"), "strong.rows": strong_rows,
    "quick.minutes": run_minutes("quick"), "heldout": heldout,
    "table2": table2, "table2.shape": table2_shape, "table2.reading": table2_reading,
    "figure2": figure2, "figure2.reading": figure2_reading, "pretrained": pretrained,
    "pretrained.minutes": run_minutes("pretrained"), "in-context": in_context,
    "generation": generation, "file-compressor": file_compressor,
}


def regenerate(text, results, where):
    def replace(match):
        name = match.group(1)
        if name not in GENERATORS:
            raise SystemExit(f"doc_tables: {where}: unknown generated section '{name}'")
        return f"<!-- generated: {name} -->{GENERATORS[name](results)}<!-- end generated -->"

    return MARKER.sub(replace, text)


def differing_sections(old, new):
    old_sections = MARKER.findall(old)
    new_sections = MARKER.findall(new)
    return [name for (name, a), (_, b) in zip(old_sections, new_sections) if a != b]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a generated section is out of date")
    parser.add_argument("--root", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent,
                        help="the repository (results/ and tests/golden/ are read from it)")
    parser.add_argument("files", nargs="*", type=pathlib.Path,
                        help="documents (default: README.md and the docs that quote results)")
    args = parser.parse_args()
    results = Results(args.root)
    files = args.files or [args.root / name for name in DOCUMENTS]
    stale = []
    for path in files:
        text = path.read_text()
        if text.count("<!-- generated:") != len(MARKER.findall(text)):
            raise SystemExit(f"doc_tables: {path}: a '<!-- generated: NAME -->' marker has no "
                             "'<!-- end generated -->'")
        updated = regenerate(text, results, path)
        if updated == text:
            continue
        if args.check:
            for name in differing_sections(text, updated):
                stale.append(f"{path}: section '{name}' differs from what results/ gives")
        else:
            path.write_text(updated)
            print(f"doc_tables: rewrote {path}")
    if stale:
        print("\n".join(stale), file=sys.stderr)
        print("doc_tables: run scripts/doc_tables.py and commit the result (numbers in the docs "
              "come from results/ only)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
