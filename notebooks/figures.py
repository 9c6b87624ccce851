#!/usr/bin/python3
"""Figures from a `bench run` results folder (results.json) and/or a `bench incontext` output
folder (in_context.json).

    /usr/bin/python3 notebooks/figures.py RESULTS_DIR [--training-logs GLOB ...] [--out DIR]

Writes PNG and PDF into DIR (default RESULTS_DIR/figures):
  rates              raw and adjusted compression rate per dataset, compressor and mode
  rate_vs_throughput raw rate against throughput
  lm_model_size      adjusted rate against model bytes (only when language-model rows exist)
  training_curves    bits per byte against training tokens (only when training logs exist; against
                     steps when a log has no tokens column); a model trained in stages
                     (X-stage1.train.csv, X-stage2.train.csv ... beside X.train.csv) is one curve,
                     with a log-linear extrapolation through the held-out values its last stages
                     end at, and a second panel zoomed on the held-out curves near the best
  in_context         rate of a chunk's first k bytes against k, the paper's Figure 4 (only when
                     RESULTS_DIR/in_context.json exists; a folder holding in_context.json but no
                     results.json gets this figure alone, plus training_curves for --training-logs)
  generation         the paper's Figure 3: an image tile and an audio chunk, original and as each
                     sampler completed them (a `bench samples` folder: generation.json and the
                     PNG and WAV files it names; this figure alone)

Exit codes: 0 written (or matplotlib missing: the harness runs this after every run and must not
fail on machines without it), 2 bad input. The functions are shared with table1.ipynb.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import sys
import wave
from pathlib import Path

try:
    import matplotlib
    import matplotlib.image
    import matplotlib.ticker
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D
except ImportError:  # checked in main(); the table helpers below work without it
    matplotlib = None

SCHEMA_PREFIX = "lmc-bench/results/"
IN_CONTEXT_FILE = "in_context.json"
IN_CONTEXT_SCHEMA_PREFIX = "lmc-bench/in-context/"
GENERATION_FILE = "generation.json"
GENERATION_SCHEMA_PREFIX = "lmc-bench/generation/"
REQUIRED_CURVE_KEYS = {
    "dataset": str,
    "compressor": str,
    "chunks": (int, float),
    "parameters": (int, float),
    "points": list,
}
REQUIRED_POINT_KEYS = {"bytes": (int, float), "rate": (int, float)}
REQUIRED_ROW_KEYS = {
    "dataset": str,
    "compressor": str,
    "mode": str,
    "raw_rate": (int, float),
    "adjusted_rate": (int, float),
    "mb_per_s": (int, float),
    "parameters": (int, float),
}
TRAINING_LOG_COLUMNS = ("step", "train_bpb", "heldout_bpb")
TRAINING_LOG_SUFFIX = ".train.csv"
# Naming convention of the shipped models: the last stage (X.lmct, log X.train.csv) continues from
# the weights of the stage before it, X-stageK.lmct with its log X-stageK.train.csv beside it, and
# so on down to X-stage1.
STAGE_SUFFIX = "-stage"
# How far past its last point the extrapolation of a staged model's held-out curve is drawn.
EXTRAPOLATION_SPAN = 4.0
# The extrapolation follows the recent trend: a fit through the first stage ends, where the
# curve falls fastest, would promise a model that has started to run out of data far more.
FIT_STAGE_ENDS = 2
# The zoomed panel of the training curves: held-out values up to this far above the best final.
ZOOM_SPAN_BPB = 0.35

# Above this adjusted rate (%) a linear axis squeezes every classical bar into the bottom tenth.
LOG_SCALE_ABOVE_PERCENT = 300.0

MODE_COLORS = {"chunked": "#1f77b4", "unchunked": "#ff7f0e"}
MODE_MARKERS = {"chunked": "o", "unchunked": "s"}
PAPER_COLUMN_STYLE = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "pdf.fonttype": 42,  # embed TrueType so the PDF text stays selectable and editable
    "savefig.dpi": 200,
}
BETTER_RATE = "compression rate, %\n(lower is better)"


class ResultsError(Exception):
    """The input is not what `bench run` writes; the message says which file and why."""


# ---------------------------------------------------------------------------------------------
# Reading


def _read_json_object(path, schema_prefix, writer) -> dict:
    """The JSON object in `path`, whose "schema" starts with `schema_prefix`; ResultsError naming
    the file otherwise (`writer`: the command that writes such files, for the message)."""
    if not path.is_file():
        raise ResultsError(f"{path}: not found (expected the folder written by `{writer}`)")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object at the top level")
    schema = data.get("schema")
    if not isinstance(schema, str) or not schema.startswith(schema_prefix):
        raise ResultsError(f"{path}: schema is {schema!r}, expected '{schema_prefix}<version>'")
    return data


def load_results(results_dir) -> dict:
    """Reads RESULTS_DIR/results.json and checks the parts the figures rely on."""
    path = Path(results_dir) / "results.json"
    results = _read_json_object(path, SCHEMA_PREFIX, "bench run")
    rows = results.get("rows")
    if not isinstance(rows, list):
        raise ResultsError(f"{path}: 'rows' must be a list")
    for index, row in enumerate(rows):
        for key, kind in REQUIRED_ROW_KEYS.items():
            if not isinstance(row, dict) or not isinstance(row.get(key), kind):
                raise ResultsError(
                    f"{path}: rows[{index}].{key} is missing or not {_kind_name(kind)}")
        if row["mode"] not in MODE_COLORS:
            raise ResultsError(
                f"{path}: rows[{index}].mode is {row['mode']!r}, expected 'chunked' or 'unchunked'"
            )
    return results


def load_in_context(results_dir) -> dict:
    """Reads RESULTS_DIR/in_context.json (written by `bench incontext`) and checks the parts the
    in_context figure relies on: the schema, chunk_size, and per curve dataset, compressor,
    chunks, parameters and points, each point a prefix length `bytes` (>= 1) and a `rate` (%)."""
    path = Path(results_dir) / IN_CONTEXT_FILE
    data = _read_json_object(path, IN_CONTEXT_SCHEMA_PREFIX, "bench incontext")
    if not _is_kind(data.get("chunk_size"), (int, float)) or data["chunk_size"] < 1:
        raise ResultsError(f"{path}: chunk_size is missing or not a positive number")
    curves = data.get("curves")
    if not isinstance(curves, list):
        raise ResultsError(f"{path}: 'curves' must be a list")
    for index, curve in enumerate(curves):
        for key, kind in REQUIRED_CURVE_KEYS.items():
            if not isinstance(curve, dict) or not _is_kind(curve.get(key), kind):
                raise ResultsError(
                    f"{path}: curves[{index}].{key} is missing or not {_kind_name(kind)}")
        if not curve["points"]:
            raise ResultsError(f"{path}: curves[{index}].points is empty")
        for number, point in enumerate(curve["points"]):
            where = f"curves[{index}].points[{number}]"
            for key, kind in REQUIRED_POINT_KEYS.items():
                if not isinstance(point, dict) or not _is_kind(point.get(key), kind):
                    raise ResultsError(f"{path}: {where}.{key} is missing or not a number")
            if point["bytes"] < 1:
                raise ResultsError(f"{path}: {where}.bytes is {point['bytes']!r}, expected >= 1")
    return data


def load_generation(folder) -> dict:
    """Reads FOLDER/generation.json (written by `bench samples`) and checks what the generation
    figure relies on: per input a name, modality and original file, per sample a sampler and a
    file, every file present beside generation.json."""
    folder = Path(folder)
    path = folder / GENERATION_FILE
    data = _read_json_object(path, GENERATION_SCHEMA_PREFIX, "bench samples")
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ResultsError(f"{path}: 'inputs' must be a non-empty list")
    for index, entry in enumerate(inputs):
        where = f"inputs[{index}]"
        for key in ("name", "modality", "original"):
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
                raise ResultsError(f"{path}: {where}.{key} is missing or not a string")
        samples = entry.get("samples")
        if not isinstance(samples, list):
            raise ResultsError(f"{path}: {where}.samples must be a list")
        files = [entry["original"]]
        for number, sample in enumerate(samples):
            for key in ("sampler", "file"):
                if not isinstance(sample, dict) or not isinstance(sample.get(key), str):
                    raise ResultsError(
                        f"{path}: {where}.samples[{number}].{key} is missing or not a string")
            files.append(sample["file"])
        for name in files:
            if not (folder / name).is_file():
                raise ResultsError(f"{path}: {where} names {name}, which is not in {folder}")
    return data


def read_u8_wav(path) -> list:
    """The samples of an 8-bit unsigned mono WAV file (what `bench samples` writes), 0 to 255."""
    with wave.open(str(path), "rb") as sound:
        if sound.getsampwidth() != 1 or sound.getnchannels() != 1:
            raise ResultsError(f"{path}: expected 8-bit mono PCM")
        return list(sound.readframes(sound.getnframes()))


def _first_input(data, modality):
    return next((i for i in data["inputs"] if i["modality"] == modality), None)


def _sample_columns(data) -> list:
    """Column titles and file names: the original, then each sampler in the config's order."""
    samplers = []
    for entry in data["inputs"]:
        for sample in entry["samples"]:
            if sample["sampler"] not in samplers:
                samplers.append(sample["sampler"])
    return ["original"] + samplers


def _file_of(entry, column):
    if column == "original":
        return entry["original"]
    return next((s["file"] for s in entry["samples"] if s["sampler"] == column), None)


def generation_figure(data, folder):
    """The paper's Figure 3: one column per sampler (the original first); the top row an image
    tile (left half of each row given, right half sampled: the dashed line), the bottom row an
    audio chunk (first half given), the sample drawn over the original in grey. None when
    generation.json holds neither an image nor an audio input."""
    folder = Path(folder)
    image, audio = _first_input(data, "image"), _first_input(data, "audio")
    rows = [entry for entry in (image, audio) if entry is not None]
    if not rows:
        return None
    columns = _sample_columns(data)
    fig = _new_figure(7.0, 0.4 + 1.55 * len(rows))
    axes = fig.subplots(len(rows), len(columns), squeeze=False)
    original_audio = read_u8_wav(folder / audio["original"]) if audio else None
    for row, entry in zip(axes, rows):
        for ax, column in zip(row, columns):
            name = _file_of(entry, column)
            ax.set_title(column)
            if name is None:
                ax.set_axis_off()
                continue
            if entry is image:
                pixels = matplotlib.image.imread(folder / name)
                ax.imshow(pixels, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
                ax.axvline(pixels.shape[1] / 2 - 0.5, color="#d62728", linestyle="--",
                           linewidth=0.8)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                samples = read_u8_wav(folder / name)
                half = len(samples) // 2
                if column != "original":
                    ax.plot(range(len(original_audio)), original_audio, color="0.75",
                            linewidth=0.5)
                ax.plot(range(len(samples)), samples, color="#1f77b4", linewidth=0.5)
                ax.axvline(half, color="#d62728", linestyle="--", linewidth=0.8)
                ax.set_ylim(0, 255)
                ax.set_xticks([0, half, len(samples)])
                ax.set_yticks([0, 128, 255] if column == "original" else [])
        label = f"{entry['name']}, chunk {entry.get('chunk', '?')}"
        row[0].set_ylabel(label if entry is image else f"{label}\n8-bit sample")
    fig.suptitle("Compressors as generative models (the paper's Figure 3)\n"
                 "left of the dashed line given, right of it sampled")
    return fig


def _is_kind(value, kind) -> bool:
    """isinstance, except that JSON true/false do not count as numbers."""
    return isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)


def _kind_name(kind) -> str:
    if kind is list:
        return "a list"
    return "a string" if kind is str else "a number"


def read_training_log(path) -> dict:
    """One model's training log (`bench train` CSV). The held-out value is repeated on every row
    between evaluations, so only the rows where it changes are kept as held-out points. A file
    without a single line (`bench train` stopped before writing its header) reads as an empty log.

    Returns name (file name without .train.csv), path, train and heldout [(step, bits per byte)],
    last_step (the highest logged step, None when empty), stage_starts (steps where a later
    training stage begins: empty here, see join_training_stages) and tokens_per_step (from the
    tokens column, which the trainer writes as step x batch x window; None without it)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        by_step = {}
        if reader.fieldnames is not None:  # None: not even a header line
            missing = [c for c in TRAINING_LOG_COLUMNS if c not in reader.fieldnames]
            if missing:
                raise ResultsError(f"{path}: training log lacks column(s) {', '.join(missing)}")
            for line, record in enumerate(reader, start=2):
                try:
                    step = int(float(record["step"]))
                except (TypeError, ValueError) as e:
                    raise ResultsError(
                        f"{path}:{line}: step {record['step']!r} is not a number") from e
                by_step[step] = record  # a resumed run may log a step twice; the later line wins
        has_tokens = "tokens" in (reader.fieldnames or [])
    steps = sorted(by_step)
    tokens_per_step = _tokens_per_step(path, by_step) if has_tokens else None
    train = [(s, _number(by_step[s]["train_bpb"])) for s in steps]
    heldout = []
    for s in steps:
        value = _number(by_step[s]["heldout_bpb"])
        if value is not None and (not heldout or heldout[-1][1] != value):
            heldout.append((s, value))
    return {
        "name": _log_name(path),
        "path": str(path),
        "train": [(s, v) for s, v in train if v is not None],
        "heldout": heldout,
        "last_step": steps[-1] if steps else None,
        "stage_starts": [],
        "tokens_per_step": tokens_per_step,
    }


def _tokens_per_step(path, by_step):
    """The one tokens-per-step ratio of a log's tokens column (the trainer keeps it constant over
    a run, curriculum or not); ResultsError when rows disagree. A cell that is not a number (the
    half-written last line of a live log) is skipped, like the other columns' cells."""
    ratios = set()
    for step, record in by_step.items():
        tokens = _number(record.get("tokens"))
        if tokens is not None and step > 0:
            ratios.add(tokens / step)
    if len(ratios) > 1:
        raise ResultsError(f"{path}: the tokens column is not steps times one batch size "
                           f"({', '.join(f'{r:g}' for r in sorted(ratios))} tokens per step)")
    return ratios.pop() if ratios else None


def in_tokens(log) -> dict:
    """The log with training tokens instead of steps on its x axis (steps x tokens_per_step)."""
    per_step = log["tokens_per_step"]

    def scale(points):
        return [(s * per_step, v) for s, v in points]

    last = _last_step(log)
    return dict(log, train=scale(log["train"]), heldout=scale(log["heldout"]),
                last_step=None if last is None else last * per_step,
                stage_starts=[s * per_step for s in log.get("stage_starts", [])],
                tokens_per_step=1)


def _log_name(path) -> str:
    path = Path(path)
    name = path.name
    return name[: -len(TRAINING_LOG_SUFFIX)] if name.endswith(TRAINING_LOG_SUFFIX) else path.stem


def stage_log_path(path, stage):
    """Where the log of stage `stage` (1, 2, ...) of the model logged at `path` would be:
    X.train.csv -> X-stageK.train.csv in the same folder (None for a path not ending in
    .train.csv)."""
    path = Path(path)
    if not path.name.endswith(TRAINING_LOG_SUFFIX):
        return None
    return path.with_name(f"{_log_name(path)}{STAGE_SUFFIX}{stage}{TRAINING_LOG_SUFFIX}")


def earlier_stage_log_paths(path, exists) -> list:
    """The logs of the stages before the one logged at `path`, stage 1 first: X-stage1, X-stage2
    ... for as long as `exists(candidate)` holds."""
    found = []
    while True:
        candidate = stage_log_path(path, len(found) + 1)
        if candidate is None or not exists(candidate):
            return found
        found.append(candidate)


def join_training_stages(stage1, stage2) -> dict:
    """One log for a model trained in two stages: stage 1 at its own steps, then stage 2 shifted
    by stage 1's last step, which goes into stage_starts; the name and path are stage 2's (the
    shipped model). Stage 2 starts from the stage-1 weights, so its first held-out value is the
    last one of stage 1 again: it is not repeated. An empty stage 1 leaves stage 2 unshifted; an
    empty stage 2 leaves stage 1 without a marker."""
    offset = _last_step(stage1)
    if offset is None:
        return dict(stage2)
    last = _last_step(stage2)

    def shift(points):
        return [(s + offset, v) for s, v in points]

    heldout = list(stage1["heldout"])
    for point in shift(stage2["heldout"]):
        if not heldout or heldout[-1][1] != point[1]:
            heldout.append(point)
    return {
        "name": stage2["name"],
        "path": stage2["path"],
        "stage_paths": stage1.get("stage_paths", [stage1["path"]]) + [stage2["path"]],
        "tokens_per_step": (stage1.get("tokens_per_step")
                            if stage1.get("tokens_per_step") == stage2.get("tokens_per_step")
                            else None),
        "train": list(stage1["train"]) + shift(stage2["train"]),
        "heldout": heldout,
        "last_step": offset if last is None else offset + last,
        "stage_starts": list(stage1.get("stage_starts", [])) + ([] if last is None else [offset]),
    }


def _last_step(log):
    """The log's last step; computed from its points for a log built by hand without one."""
    if "last_step" in log:
        return log["last_step"]
    steps = [s for s, _ in log["train"]] + [s for s, _ in log["heldout"]]
    return max(steps) if steps else None


def combine_training_stages(logs) -> list:
    """Replaces each run of logs X-stage1.train.csv, X-stage2.train.csv ... and X.train.csv (same
    folder; the stages from 1 up to the first one missing) by their join_training_stages, in the
    place of the last stage's log; other logs pass unchanged, so stage logs without X.train.csv
    stay models of their own (named X-stage1 ...)."""
    by_path = {Path(log["path"]).resolve(): log for log in logs if log.get("path")}
    earlier_of = {}
    for log in logs:
        if not log.get("path") or "stage_paths" in log:
            continue
        earlier = [by_path[p.resolve()] for p in earlier_stage_log_paths(
            log["path"], lambda p: p.resolve() in by_path)]
        earlier = [e for e in earlier if e is not log]
        if earlier:
            earlier_of[id(log)] = earlier
    absorbed = {id(e) for earlier in earlier_of.values() for e in earlier}
    combined = []
    for log in logs:
        if id(log) in absorbed:
            continue
        if id(log) in earlier_of:
            joined = earlier_of[id(log)][0]
            for stage in earlier_of[id(log)][1:] + [log]:
                joined = join_training_stages(joined, stage)
            combined.append(joined)
        else:
            combined.append(log)
    return combined


def stage_end_points(log) -> list:
    """The held-out (x, bits per byte) at the end of each stage of a joined log, the last stage's
    last value included: each stage ends at full window length, so these are the points a
    curriculum's short-window phases do not distort."""
    ends = list(log.get("stage_starts", [])) + [_last_step(log)]
    points = []
    for end in ends:
        before = [p for p in log["heldout"] if end is not None and p[0] <= end]
        if before and (not points or points[-1] != before[-1]):
            points.append(before[-1])
    return points


def log_linear_fit(points):
    """Least squares of y = a + b ln(x) through (x, y) points with x > 0: (a, b), or None for
    fewer than two distinct x. A straight line in ln(tokens) is what the held-out curves look like
    over a decade; over several decades they flatten, so where it reaches a target is an
    optimistic (low) estimate of the tokens needed."""
    points = [(math.log(x), y) for x, y in points if x > 0]
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in points) /
             sum((x - mean_x) ** 2 for x, _ in points))
    return mean_y - slope * mean_x, slope


def x_to_reach(fit, target):
    """Where y = a + b ln(x) comes down to `target`: None when the fit does not fall."""
    a, b = fit
    if b >= 0:
        return None
    try:
        return math.exp((target - a) / b)
    except OverflowError:  # a fit that falls, but too slowly to get there in floats
        return math.inf


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def is_lm_row(row) -> bool:
    """Language-model rows carry a parameter count (classical compressors have none)."""
    settings = row.get("settings") or {}
    return row["parameters"] > 0 or "model" in settings or "checkpoint" in settings


def model_bytes(row) -> int:
    """Model size as the paper counts it: 16-bit weights."""
    return 2 * int(row["parameters"])


def datasets_in_order(results) -> list:
    seen = []
    for row in results["rows"]:
        if row["dataset"] not in seen:
            seen.append(row["dataset"])
    return seen


def compressors_in_order(rows) -> list:
    """Classical compressors first, then language models by size, each in order of appearance."""
    seen = []
    for row in rows:
        if row["compressor"] not in seen:
            seen.append(row["compressor"])
    size = {row["compressor"]: model_bytes(row) for row in rows}
    return sorted(seen, key=lambda name: (size[name] > 0, size[name], seen.index(name)))


def chunk_label(row) -> str:
    """'whole' for unchunked rows, else the chunk size: the first column of the paper's Table 1."""
    return "whole" if row["mode"] == "unchunked" else str(row.get("chunk_size", "chunked"))


def table_rows(results, value_key="raw_rate") -> list:
    """Table 1 layout like the harness's table.md: unchunked rows first, then chunked ones; each
    entry is (chunk label, compressor, {dataset: value})."""
    cells = {}
    for row in results["rows"]:
        cells.setdefault((chunk_label(row), row["compressor"]), {})[row["dataset"]] = row[value_key]
    order = compressors_in_order(results["rows"])
    keys = sorted(cells, key=lambda k: (k[0] != "whole", order.index(k[1])))
    return [(chunk, compressor, cells[(chunk, compressor)]) for chunk, compressor in keys]


def markdown_table(header, rows, number_format="{:.1f}") -> str:
    """A GitHub-flavoured Markdown table; floats printed with number_format (one decimal, as the
    paper prints rates), None as '-'."""

    def cell(value):
        if value is None:
            return "-"
        return number_format.format(value) if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def training_logs_from_results(results, search_roots=()) -> list:
    """Training logs next to the checkpoints the LM rows used (`bench train` writes
    <checkpoint stem>.train.csv). Relative checkpoint paths are tried against each search root.
    When X-stage1.train.csv (X-stage2.train.csv ...) lies beside a log X.train.csv they are listed
    just before it, and training_curves_figure draws them as one curve (combine_training_stages)."""
    found = []
    for row in results["rows"]:
        settings = row.get("settings") or {}
        model = settings.get("model") if isinstance(settings.get("model"), dict) else settings
        checkpoint = model.get("checkpoint") if isinstance(model, dict) else None
        if not isinstance(checkpoint, str):
            continue
        log = Path(checkpoint).with_suffix(TRAINING_LOG_SUFFIX)
        candidates = [log] if log.is_absolute() else [Path(root) / log for root in search_roots]
        for candidate in candidates:
            if candidate.is_file():
                earlier = earlier_stage_log_paths(candidate, Path.is_file)
                for path in earlier + [candidate]:
                    if path.resolve() not in found:
                        found.append(path.resolve())
                break
    return found


# ---------------------------------------------------------------------------------------------
# Figures (matplotlib's object interface: no pyplot state, so the notebook can call these too)


def _new_figure(width, height) -> "Figure":
    matplotlib.rcParams.update(PAPER_COLUMN_STYLE)
    return Figure(figsize=(width, height), layout="constrained")


def _panels_with_legend(count, panel_height, legend_height, sharey=True):
    """A 7-inch figure (two paper columns) with one panel per dataset, two per row, and a strip
    below them for the shared legend (matplotlib 3.6 cannot place a legend outside the axes under
    constrained layout, so the strip is a subfigure of its own)."""
    columns = 1 if count == 1 else 2
    rows = math.ceil(count / columns)
    fig = _new_figure(7.0, panel_height * rows + legend_height)
    panels, legend_strip = fig.subfigures(
        2, 1, height_ratios=[panel_height * rows, legend_height])
    axes = panels.subplots(rows, columns, squeeze=False, sharey=sharey).ravel()
    for extra in axes[count:]:
        extra.set_visible(False)
    return fig, list(axes[:count]), legend_strip


def _needs_log_scale(values) -> bool:
    return any(v > LOG_SCALE_ABOVE_PERCENT for v in values)


def _rate_axis(ax, log_scale, label=BETTER_RATE):
    ax.axhline(100.0, color="0.3", linestyle="--", linewidth=0.9, zorder=1)
    if log_scale:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylabel(label)
    ax.grid(axis="y", linewidth=0.4, color="0.85", which="both")
    ax.set_axisbelow(True)


def rates_figure(results) -> "Figure":
    """Per dataset: one bar group per compressor, chunked and unchunked side by side; the solid bar
    is the raw rate, the hatched outline behind it the adjusted rate (model bytes included)."""
    rows = results["rows"]
    datasets = datasets_in_order(results)
    compressors = compressors_in_order(rows)
    log_scale = _needs_log_scale(r["adjusted_rate"] for r in rows)
    # Rotated compressor names eat into the panel; grow it with the longest name.
    panel_height = 1.9 + 0.055 * max(len(c) for c in compressors)
    fig, axes, legend_strip = _panels_with_legend(len(datasets), panel_height, 0.5)
    width = 0.4
    for ax, dataset in zip(axes, datasets):
        by_key = {(r["compressor"], r["mode"]): r for r in rows if r["dataset"] == dataset}
        for x, compressor in enumerate(compressors):
            modes = [m for m in MODE_COLORS if (compressor, m) in by_key]
            for i, mode in enumerate(modes):
                row = by_key[(compressor, mode)]
                offset = 0.0 if len(modes) == 1 else (i - 0.5) * width
                color = MODE_COLORS[mode]
                ax.bar(x + offset, row["adjusted_rate"], width, facecolor="white",
                       edgecolor=color, hatch="////", linewidth=0.8, zorder=2)
                ax.bar(x + offset, row["raw_rate"], width, color=color, zorder=3)
        ax.set_xticks(range(len(compressors)))
        ax.set_xticklabels(compressors, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.6, len(compressors) - 0.4)
        ax.set_title(dataset)
        _rate_axis(ax, log_scale)
        if not ax.get_subplotspec().is_first_col():
            ax.set_ylabel("")
    if log_scale:  # bars start at zero; the axis starts at the decade below the lowest rate
        lowest = min(r["raw_rate"] for r in rows if r["raw_rate"] > 0)
        axes[0].set_ylim(10 ** math.floor(math.log10(lowest)), None)
    else:
        axes[0].set_ylim(0, max(110.0, 1.08 * max(r["adjusted_rate"] for r in rows)))
    handles = [Patch(color=MODE_COLORS[m], label=f"{_mode_label(rows, m)}: raw")
               for m in MODE_COLORS]
    handles.append(Patch(facecolor="white", edgecolor="0.3", hatch="////",
                         label="adjusted (+2 bytes per model parameter)"))
    handles.append(Line2D([], [], color="0.3", linestyle="--", label="100 %: no compression"))
    legend_strip.legend(handles=handles, loc="center", ncols=2, frameon=False)
    return fig


def _mode_label(rows, mode) -> str:
    if mode == "unchunked":
        return "unchunked (whole dataset)"
    sizes = sorted({r.get("chunk_size") for r in rows if r["mode"] == mode} - {None})
    return f"chunked ({', '.join(map(str, sizes))}-byte chunks)" if sizes else "chunked"


def rate_vs_throughput_figure(results) -> "Figure":
    """Raw rate against speed: colour = compressor, marker = mode; a thin line joins the two modes
    of one compressor so the cost of chunking reads as a slope."""
    rows = [r for r in results["rows"] if r["mb_per_s"] > 0]
    if not rows:
        raise ResultsError("no row has a positive throughput (mb_per_s)")
    datasets = [d for d in datasets_in_order(results) if any(r["dataset"] == d for r in rows)]
    compressors = compressors_in_order(rows)
    colors = _compressor_colors(compressors, rows)
    log_scale = _needs_log_scale(r["raw_rate"] for r in rows)
    legend_rows = math.ceil((len(compressors) + 3) / 6)
    fig, axes, legend_strip = _panels_with_legend(len(datasets), 2.4, 0.2 + 0.18 * legend_rows)
    for ax, dataset in zip(axes, datasets):
        for compressor in compressors:
            points = [r for r in rows if r["dataset"] == dataset and r["compressor"] == compressor]
            points.sort(key=lambda r: r["mode"])
            if len(points) > 1:
                ax.plot([r["mb_per_s"] for r in points], [r["raw_rate"] for r in points],
                        color=colors[compressor], linewidth=0.6, zorder=2)
            for r in points:
                ax.scatter(r["mb_per_s"], r["raw_rate"], color=colors[compressor],
                           marker=MODE_MARKERS[r["mode"]], s=22, zorder=3,
                           edgecolors="black", linewidths=0.3)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("throughput, MB/s (log; right is faster)")
        ax.set_title(dataset)
        _rate_axis(ax, log_scale)
        ax.grid(axis="x", linewidth=0.4, color="0.85", which="major")
        if not ax.get_subplotspec().is_first_col():
            ax.set_ylabel("")
    handles = [Line2D([], [], color=colors[c], marker="o", linestyle="", label=c)
               for c in compressors]
    handles += [Line2D([], [], marker=MODE_MARKERS[m], linestyle="", markerfacecolor="white",
                       markeredgecolor="black", markeredgewidth=0.6, label=m) for m in MODE_MARKERS]
    handles.append(Line2D([], [], color="0.3", linestyle="--", label="no compression"))
    legend_strip.legend(handles=handles, loc="center", ncols=min(6, len(handles)),
               frameon=False, columnspacing=1.2, handletextpad=0.3)
    return fig


def _compressor_colors(compressors, rows=()) -> dict:
    """Classical compressors take tab10 without its red; language models take reds, darker for
    larger models, so the two families separate at a glance."""
    size = {r["compressor"]: model_bytes(r) for r in rows}
    classical = [c for c in compressors if size.get(c, 0) == 0]
    models = sorted((c for c in compressors if size.get(c, 0) > 0), key=lambda c: size[c])
    palette = [c for i, c in enumerate(matplotlib.colormaps["tab10"].colors) if i != 3]
    colors = {c: palette[i % len(palette)] for i, c in enumerate(classical)}
    reds = matplotlib.colormaps["Reds"]
    for i, c in enumerate(models):
        colors[c] = reds(0.5 + 0.45 * i / max(1, len(models) - 1))
    return colors


def lm_model_size_figure(results):
    """The paper's Figure 2 axes: adjusted rate against model bytes, per dataset, with the raw rate
    (model free) and the best classical chunked rate for reference. None when no LM rows exist."""
    lm_rows = [r for r in results["rows"] if is_lm_row(r) and r["mode"] == "chunked"]
    if not lm_rows:
        return None
    datasets = [d for d in datasets_in_order(results) if any(r["dataset"] == d for r in lm_rows)]
    log_scale = _needs_log_scale(r["adjusted_rate"] for r in lm_rows)
    fig, axes, legend_strip = _panels_with_legend(len(datasets), 2.4, 0.5)
    for ax, dataset in zip(axes, datasets):
        points = sorted((r for r in lm_rows if r["dataset"] == dataset), key=model_bytes)
        sizes = [model_bytes(r) for r in points]
        ax.plot(sizes, [r["adjusted_rate"] for r in points], "o-", color="#d62728", zorder=3)
        ax.plot(sizes, [r["raw_rate"] for r in points], "o--", color="#d62728",
                markerfacecolor="white", linewidth=0.9, zorder=3)
        for size, r in zip(sizes, points):
            ax.annotate(r["compressor"], (size, r["adjusted_rate"]), textcoords="offset points",
                        xytext=(0, 5), ha="center", va="bottom")
        classical = [r for r in results["rows"] if r["dataset"] == dataset
                     and r["mode"] == "chunked" and not is_lm_row(r)]
        if classical:
            best = min(classical, key=lambda r: r["raw_rate"])
            ax.axhline(best["raw_rate"], color="0.4", linestyle=":", linewidth=1.0)
            ax.annotate(f"best classical: {best['compressor']}", (0.98, best["raw_rate"]),
                        xycoords=("axes fraction", "data"), textcoords="offset points",
                        xytext=(0, -2), ha="right", va="top", color="0.3")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_si_bytes))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("model size, bytes (2 x parameters, log)")
        ax.set_title(dataset)
        _rate_axis(ax, log_scale, label="adjusted rate, % (lower is better)")
        ax.margins(x=0.3, y=0.15)  # room for the model names centred over the end points
        if not ax.get_subplotspec().is_first_col():
            ax.set_ylabel("")
    handles = [
        Line2D([], [], color="#d62728", marker="o", label="adjusted rate (model bytes counted)"),
        Line2D([], [], color="#d62728", marker="o", markerfacecolor="white", linestyle="--",
               label="raw rate (model free)"),
        Line2D([], [], color="0.4", linestyle=":", label="best classical compressor, chunked"),
        Line2D([], [], color="0.3", linestyle="--", label="100 %: no compression"),
    ]
    legend_strip.legend(handles=handles, loc="center", ncols=2, frameon=False)
    return fig


def _si_bytes(value, _position=None) -> str:
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


def training_curves_figure(logs):
    """Held-out (solid, at each evaluation) and train (thin dashed) bits per byte against training
    tokens (against steps when a log has no tokens column), one colour per model. A model trained
    in stages (X-stage1.train.csv ... and X.train.csv among the logs) is one curve over all of
    them, each stage shifted past the one before, with a thin vertical line where a stage starts
    (combine_training_stages), and a dotted log-linear extrapolation through the held-out values
    its last stages end at (stage_end_points, FIT_STAGE_ENDS), drawn on to where it would reach
    the best final held-out value of the other models (at most EXTRAPOLATION_SPAN times its last
    x). A second panel zooms on the held-out curves near the best final value (ZOOM_SPAN_BPB),
    where the sizes' order is decided; the first panel's short-window phases span several bits.
    None when there is nothing to draw."""
    drawn = [log for log in logs if log["train"] or log["heldout"]]
    in_token_units = bool(drawn) and all(log.get("tokens_per_step") for log in drawn)
    if in_token_units:  # an empty log (a stage just begun) has no ratio and nothing to scale
        logs = [in_tokens(log) if log.get("tokens_per_step") else log for log in logs]
    # Empty logs still link their neighbours' stages; they are dropped after joining.
    logs = [log for log in combine_training_stages(logs) if log["train"] or log["heldout"]]
    if not logs:
        return None
    scale = 1e-6 if in_token_units else 1.0  # tokens in millions
    finals = {log["name"]: log["heldout"][-1][1] for log in logs if log["heldout"]}
    zoomed = bool(finals)
    fig = _new_figure(7.0 if zoomed else 4.5, 3.4)  # two paper columns with the zoom
    axes = (fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.3, 1)}) if zoomed
            else [fig.subplots()])
    ax = axes[0]
    colors = _compressor_colors([log["name"] for log in logs])
    for log in logs:
        color = colors[log["name"]]
        if log["train"]:
            steps, values = zip(*log["train"])
            ax.plot([x * scale for x in steps], values, "--", color=color, linewidth=0.8,
                    alpha=0.8)
        _plot_heldout(ax, log, color, scale)
        for stage, start in enumerate(log.get("stage_starts", []), start=2):
            ax.axvline(start * scale, color=color, linestyle=(0, (2, 2)), linewidth=0.7,
                       zorder=1)
            ax.annotate(f"stage {stage}", (start * scale, 1.0),
                        xycoords=("data", "axes fraction"), textcoords="offset points",
                        xytext=(-1.5, -3), rotation=90, ha="right", va="top", color=color,
                        fontsize=6.5)
        _draw_extrapolation(ax, log, finals, color, scale)
    ax.axhline(8.0, color="0.3", linestyle=":", linewidth=0.9)
    ax.set_xlabel("training tokens (millions)" if in_token_units else "training step")
    ax.set_ylabel("bits per byte (lower is better)")
    ax.set_title("Training curves")
    ax.grid(linewidth=0.4, color="0.85")
    model_handles = [Line2D([], [], color=colors[log["name"]], linewidth=1.4, label=log["name"])
                     for log in logs]
    handles = [
        Line2D([], [], color="0.3", marker="o", markersize=3.5, label="held-out"),
        Line2D([], [], color="0.3", linestyle="--", linewidth=0.8, label="train"),
        Line2D([], [], color="0.3", linestyle=":", label="8 bits: raw bytes"),
    ]
    if any(len(stage_end_points(log)) >= 2 for log in logs):
        handles.append(Line2D([], [], color="0.3", linestyle=(0, (1, 1.5)), linewidth=1.2,
                              label=f"log-linear fit of the last {FIT_STAGE_ENDS} stage ends"))
    if zoomed:
        _draw_heldout_zoom(axes[1], logs, finals, colors, scale, ax.get_xlabel())
        # The line styles under the stage labels, where every curve is already far below; the
        # models' colours in the zoom, right of centre, above where the final values sit.
        ax.legend(handles=handles, loc="upper right", bbox_to_anchor=(1.0, 0.84), frameon=True,
                  framealpha=0.9)
        axes[1].legend(handles=model_handles, loc="center right", frameon=True, framealpha=0.9)
    else:
        ax.legend(handles=model_handles + handles, loc="best", frameon=True, framealpha=0.9)
    return fig


def _plot_heldout(ax, log, color, scale):
    """A log's held-out curve, a marker at each evaluation (nothing for a log without one)."""
    if log["heldout"]:
        steps, values = zip(*log["heldout"])
        ax.plot([x * scale for x in steps], values, "o-", color=color, markersize=3.5,
                linewidth=1.4)


def _draw_heldout_zoom(ax, logs, finals, colors, scale, xlabel):
    """Held-out curves and extrapolations only, within ZOOM_SPAN_BPB of the best final value,
    each model's final value labelled."""
    best = min(finals.values())
    top = best + ZOOM_SPAN_BPB
    near = [x for log in logs for x, y in log["heldout"] if y <= top]
    for log in logs:
        if not log["heldout"]:
            continue
        color = colors[log["name"]]
        _plot_heldout(ax, log, color, scale)
        _draw_extrapolation(ax, log, finals, color, scale)
        x, y = log["heldout"][-1]
        ax.annotate(f"{y:.3f}", (x * scale, y), textcoords="offset points", xytext=(3, -2),
                    ha="left", va="top", color=color, fontsize=6.5)
    ax.set_ylim(best - 0.1 * ZOOM_SPAN_BPB, top)
    if near:
        ax.set_xlim(min(near) * scale * 0.97, None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("held-out bits per byte (lower is better)")
    ax.set_title("Held-out, near the best")
    ax.grid(linewidth=0.4, color="0.85")


def extrapolation(log, finals):
    """For a staged log: (fit, target, x where the fit reaches target or None), the fit through
    its last FIT_STAGE_ENDS stage ends, where target is the best final held-out value among the
    other models in `finals` (name -> value; None without others). None when the log has fewer
    than two stage ends."""
    fit = log_linear_fit(stage_end_points(log)[-FIT_STAGE_ENDS:])
    if fit is None:
        return None
    others = [v for name, v in finals.items() if name != log["name"]]
    target = min(others) if others else None
    return fit, target, (x_to_reach(fit, target) if target is not None else None)


def _draw_extrapolation(ax, log, finals, color, scale):
    found = extrapolation(log, finals)
    if found is None:
        return
    (a, b), target, reach = found
    last_x = stage_end_points(log)[-1][0]
    end = last_x * EXTRAPOLATION_SPAN
    if reach is not None and reach > last_x:
        end = min(end, reach)
    xs = [last_x * (end / last_x) ** (i / 24) for i in range(25)]
    ax.plot([x * scale for x in xs], [a + b * math.log(x) for x in xs], linestyle=(0, (1, 1.5)),
            color=color, linewidth=1.2)
    if reach is not None and last_x < reach <= end * 1.0001:
        unit = "M tokens" if scale != 1 else " steps"
        ax.annotate(f"{target:.2f} at {reach * scale:.3g}{unit}", (reach * scale, target),
                    textcoords="offset points", xytext=(0, 5), ha="right", va="bottom",
                    color=color, fontsize=6.5)


def in_context_datasets(data) -> list:
    """Datasets of in_context.json in the order their first curve appears."""
    seen = []
    for curve in data["curves"]:
        if curve["dataset"] not in seen:
            seen.append(curve["dataset"])
    return seen


def in_context_figure(data):
    """The paper's Figure 4: per dataset, the rate of a chunk's first k bytes (summed over the
    chunks) against k, one colour per compressor across the panels; language models solid and
    thick, classical codecs dashed and thin (their container headers put them far above 100 %
    for short prefixes, hence the log axis). None when in_context.json holds no curves."""
    curves = data["curves"]
    if not curves:
        return None
    datasets = in_context_datasets(data)
    compressors = compressors_in_order(curves)
    colors = _compressor_colors(compressors, curves)
    chunk_size = data.get("chunk_size") or max(p["bytes"] for c in curves for p in c["points"])
    legend_columns = min(6, len(compressors))
    legend_rows = math.ceil(len(compressors) / legend_columns) + 1  # + the line-style key
    # Each panel gets its own rate axis: a FLAC or PNG container header can push one dataset's
    # curves to 1,000,000 % and would squeeze where the others cross 100 %.
    fig, axes, legend_strip = _panels_with_legend(len(datasets), 2.6, 0.15 + 0.2 * legend_rows,
                                                  sharey=False)
    for ax, dataset in zip(axes, datasets):
        for curve in sorted((c for c in curves if c["dataset"] == dataset),
                            key=lambda c: compressors.index(c["compressor"])):
            points = sorted(curve["points"], key=lambda p: p["bytes"])
            model = curve["parameters"] > 0
            ax.plot([p["bytes"] for p in points], [p["rate"] for p in points],
                    color=colors[curve["compressor"]], label=curve["compressor"],
                    linestyle="-" if model else "--", linewidth=1.8 if model else 1.0,
                    zorder=4 if model else 3)
        ax.axhline(100.0, color="0.3", linestyle=":", linewidth=1.0, zorder=2)
        ax.annotate("raw size", (1.0, 100.0), xycoords=("axes fraction", "data"),
                    textcoords="offset points", xytext=(-2, 2), ha="right", va="bottom",
                    color="0.3", fontsize=7)
        ax.set_xscale("log", base=2)
        ax.set_xticks(_in_context_ticks(chunk_size))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(matplotlib.ticker.LogLocator(base=2, subs=(1.0,)))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlim(0.8, chunk_size * 1.25)
        ax.set_xlabel("prefix length (bytes)")
        ax.set_yscale("log")
        rates = [p["rate"] for c in curves if c["dataset"] == dataset for p in c["points"]
                 if p["rate"] > 0]
        if rates and math.log10(max(rates) / min(rates)) <= 3:  # few decades: label 2 and 5 too
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_percent_tick))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylabel("compression rate (%, lower is better)")
        ax.grid(which="major", linewidth=0.4, color="0.85")
        ax.set_axisbelow(True)
        ax.set_title(f"{dataset} ({_chunk_count(curves, dataset)})")
        if not ax.get_subplotspec().is_first_col():
            ax.set_ylabel("")
    fig.suptitle("In-context compression (the paper's Figure 4)")
    handles = [Line2D([], [], color=colors[c], linewidth=1.8 if _is_model(curves, c) else 1.0,
                      linestyle="-" if _is_model(curves, c) else "--", label=c)
               for c in compressors]
    # Two legends in the strip: the compressors, and below them what the line styles mean.
    legend_strip.legend(handles=handles, loc="upper center", ncols=legend_columns,
                        frameon=False, columnspacing=1.5, handlelength=2.5)
    styles = [
        Line2D([], [], color="0.45", linewidth=1.8, label="language model"),
        Line2D([], [], color="0.45", linewidth=1.0, linestyle="--",
               label="classical codec (container headers counted)"),
    ]
    legend_strip.legend(handles=styles, loc="lower center", ncols=2, frameon=False,
                        columnspacing=1.5, handlelength=2.5)
    return fig


def _in_context_ticks(chunk_size) -> list:
    """1, 4, 16, ... up to the chunk size, which is always a tick; a power of 4 less than two
    octaves below it is dropped so their labels do not collide (2048: 1, 4, 16, 64, 256, 2048)."""
    ticks = [1]
    while ticks[-1] * 4 <= chunk_size:
        ticks.append(ticks[-1] * 4)
    if ticks[-1] != chunk_size:
        if ticks[-1] * 4 > chunk_size and len(ticks) > 1:
            ticks.pop()
        ticks.append(chunk_size)
    return ticks


def _percent_tick(value, _position=None) -> str:
    """100, 1000, 10,000: rates up to about a million percent stay readable."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _is_model(curves, compressor) -> bool:
    return any(c["parameters"] > 0 for c in curves if c["compressor"] == compressor)


def _chunk_count(curves, dataset) -> str:
    counts = sorted({int(c["chunks"]) for c in curves if c["dataset"] == dataset})
    if len(counts) == 1:
        return f"{counts[0]:,} chunk" + ("" if counts[0] == 1 else "s")
    return f"{counts[0]:,}-{counts[-1]:,} chunks"


def save(fig, out_dir, stem) -> list:
    """Writes stem.png and stem.pdf; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for extension in ("png", "pdf"):
        path = out_dir / f"{stem}.{extension}"
        fig.savefig(path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# Command line


def _parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Figures (PNG and PDF) from a `bench run` results folder and/or a "
                    "`bench incontext` output folder.")
    parser.add_argument("results_dir",
                        help="folder holding results.json, in_context.json, or both")
    parser.add_argument("--training-logs", nargs="+", metavar="GLOB", default=None,
                        help="training log CSVs (bench train); default: the logs next to the "
                             "checkpoints the LM rows name")
    parser.add_argument("--out", help="output folder (default: RESULTS_DIR/figures)")
    return parser.parse_args(argv)


def _training_logs(arguments, results) -> list:
    if arguments.training_logs is None:
        roots = [Path.cwd(), Path(__file__).resolve().parent.parent, Path(arguments.results_dir)]
        paths = training_logs_from_results(results, roots)
    else:
        paths = []
        for pattern in arguments.training_logs:
            matches = sorted(glob.glob(pattern))
            if not matches:
                print(f"figures: no training log matches {pattern}")
            paths += [Path(m) for m in matches if Path(m) not in paths]
    return [read_training_log(p) for p in paths]


def _figures(arguments) -> dict:
    """The figures to write, by file stem (None: skipped). Raises ResultsError or OSError."""
    folder = Path(arguments.results_dir)
    if (folder / GENERATION_FILE).is_file() and not (folder / "results.json").is_file():
        return {"generation": generation_figure(load_generation(folder), folder)}
    in_context_path = folder / IN_CONTEXT_FILE
    in_context = load_in_context(folder) if in_context_path.is_file() else None
    if in_context is not None and not (folder / "results.json").is_file():
        # A `bench incontext` folder: in_context.json (and .csv) only.
        if not in_context["curves"]:
            raise ResultsError(f"{in_context_path}: no curves")
        figures = {"in_context": in_context_figure(in_context)}
        if arguments.training_logs is not None:
            figures["training_curves"] = training_curves_figure(
                _training_logs(arguments, {"rows": []}))
        return figures
    if in_context is None and not (folder / "results.json").is_file():
        raise ResultsError(f"{folder / 'results.json'}: not found (expected the folder written by "
                           f"`bench run`, or {IN_CONTEXT_FILE} from `bench incontext`)")
    results = load_results(folder)
    logs = _training_logs(arguments, results)
    if not results["rows"]:
        raise ResultsError(f"{folder / 'results.json'}: no rows")
    figures = {
        "rates": rates_figure(results),
        "rate_vs_throughput": rate_vs_throughput_figure(results),
        "lm_model_size": lm_model_size_figure(results),
        "training_curves": training_curves_figure(logs),
    }
    if in_context is not None:
        figures["in_context"] = in_context_figure(in_context)
    return figures


def main(argv=None) -> int:
    arguments = _parse_arguments(argv)
    if matplotlib is None:
        print("figures: matplotlib is not installed; no figures written")
        return 0
    matplotlib.use("Agg")
    try:
        figures = _figures(arguments)
        out_dir = Path(arguments.out) if arguments.out else Path(arguments.results_dir) / "figures"
    except (ResultsError, OSError) as e:
        print(f"figures: {e}", file=sys.stderr)
        return 2
    skipped = {
        "lm_model_size": "no language-model rows in results.json",
        "training_curves": "no training logs given or found",
        "in_context": f"no curves in {IN_CONTEXT_FILE}",
        "generation": f"no image or audio input in {GENERATION_FILE}",
    }
    for stem, fig in figures.items():
        if fig is None:
            print(f"figures: {stem} skipped ({skipped[stem]})")
            continue
        for path in save(fig, out_dir, stem):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
