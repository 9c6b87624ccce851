#!/usr/bin/python3
"""Writes the configs of the paper's other experiments (issue 14): their training configs and
their evaluation configs.

    /usr/bin/python3 scripts/experiment_configs.py [--check]

--check writes nothing and exits 1 if a committed config differs from what this script would
write (a test runs it, so an edit of the constants below cannot leave stale configs behind).

Table 2 (tokenization): configs/train/table2/<column>-<tokenizer>.json and configs/table2.json.
Rows: ASCII (bytes) and the SentencePiece BPE tokenizers of configs/tokenizers/ (1K ... 20K
pieces). Columns: the 200K (64 x 4) and 800K (128 x 4) architectures. Every model of a column
trains for the same compute, in FLOPs, as that column's ASCII model:

    FLOPs per token = 6 x (non-embedding parameters + d x V)   weights, forward + backward
                    + 6 x layers x T x d                       attention over windows of T tokens
                                                               (query-key scores and the weighted
                                                               sum, forward + backward)

(V: vocabulary, d: width; the embedding lookup costs no FLOPs). A larger vocabulary makes each
token dearer (the output layer), but each token spells more bytes. ASCII windows are 2048 bytes,
as in Table 1; tokenized windows are 1024 tokens (a 2048-byte chunk is 580-970 tokens). Both
keep 8192 tokens per step and the shipped recipe's learning rate, schedule and curriculum shape
(the first 45 % of the steps on 256-token windows, then 512, [1024,] the full window). Every
config trains on one thread: scripts/run_experiment.sh runs one per core, which trains these
small models faster than two threads each, one at a time.

Figure 2 (model size against data size): configs/train/figure2/<d>x<layers>.json and
configs/figure2.json. The paper's nine smaller architectures (64, 128, 256 wide; 4, 6, 8
layers), byte models, all on one recipe and one token budget: FIGURE2_STEPS steps of 8192
tokens (4 x 2048 bytes, or 32 x 256, ...), the curriculum shape above, cosine learning rate at
the shipped model's peak for that width times 4 / layers. The budget, 3.7 M tokens per model (the
shipped models saw 25-53 M), took 3.9 CPU-hours on an AMD Zen 5 (about half of the issue's 8 for
both experiments). Measured: at 4096 tokens per step and the
width's peak rate, the 256 x 6 and 256 x 8 models sat at the unigram rate (5.2 bits/byte) for
300 steps (1.2 M tokens), where the 256 x 4 of the shipped recipe was at 4.4; deeper post-LayerNorm
models want smaller steps.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKENIZERS = ["ascii", "bpe-1k", "bpe-2k", "bpe-5k", "bpe-10k", "bpe-20k"]
# Per column: architecture, the ASCII model's steps (its compute is the column's budget), and
# the learning rate of the shipped model of that size. The steps are sized from Figure 2's
# measured speeds on an AMD Zen 5: about 3.4 CPU-hours for the 12 models, so that both
# experiments together stay within the 8.
COLUMNS = {
    "200k": {"embedding_dim": 64, "layers": 4, "heads": 4, "ascii_steps": 1100,
             "learning_rate": 3e-3},
    "800k": {"embedding_dim": 128, "layers": 4, "heads": 4, "ascii_steps": 750,
             "learning_rate": 2e-3},
}
TOKENS_PER_STEP = 8192
FIGURE2_STEPS = 450
# Per width: heads and the peak learning rate of the shipped model of that width.
FIGURE2_WIDTHS = {64: (4, 3e-3), 128: (4, 2e-3), 256: (8, 1e-3)}
FIGURE2_LAYERS = (4, 6, 8)
HELDOUT_OFFSET = 5480771  # the training text's first held-out byte (train_fraction 0.9)

STALE: list = []  # with --check: the configs that differ from what would be written
CHECKING = False


def write_config(path: Path, config: dict) -> None:
    text = json.dumps(config, indent=2) + "\n"
    if CHECKING:
        if not path.is_file() or path.read_text() != text:
            STALE.append(path.relative_to(REPO))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def vocabulary(tokenizer: str) -> int:
    if tokenizer == "ascii":
        return 256
    return json.loads((REPO / f"configs/tokenizers/{tokenizer}.json").read_text())["vocab_size"]


def non_embedding_parameters(d: int, layers: int) -> int:
    # Per layer: q, k, v, o (d x d), two LayerNorms (2 x 2d), FFN d -> 4d -> d with biases.
    return layers * (4 * d * d + 4 * d + 8 * d * d + 4 * d + d)


def phases(window: int, steps: int) -> list:
    """The shipped recipe's curriculum shape: 45 % of the steps at 256, then 15 % at each doubling
    below the full window, then the full window."""
    lengths, length = [], 256
    while length < window:
        lengths.append(length)
        length *= 2
    shares = [0.45] + [0.15] * (len(lengths) - 1)
    result = [{"sequence_length": n, "steps": max(1, round(steps * share))}
              for n, share in zip(lengths, shares)]
    result.append({"sequence_length": window, "steps": steps - sum(p["steps"] for p in result)})
    return result


def flops_per_step(d: int, layers: int, vocab: int, schedule: list) -> float:
    """Training FLOPs of the mean step over `schedule` (a list of phases)."""
    weights = 6.0 * (non_embedding_parameters(d, layers) + d * vocab)
    steps = sum(p["steps"] for p in schedule)
    attention = sum(6.0 * layers * p["sequence_length"] * d * p["steps"] for p in schedule) / steps
    return TOKENS_PER_STEP * (weights + attention)


def steps_for(budget: float, d: int, layers: int, vocab: int, window: int) -> int:
    """The steps whose curriculum spends `budget` FLOPs (the shape scales with the steps)."""
    steps = 100
    for _ in range(50):  # fixed point: the mean step's cost barely depends on the count
        steps = max(100, round(budget / flops_per_step(d, layers, vocab, phases(window, steps))))
    return steps


def training_config(comment: str, architecture: dict, learning_rate: float, steps: int,
                    window: int, checkpoint: str) -> dict:
    """The shipped recipe (models/README.md) at `steps`, its curriculum scaled to them."""
    schedule = phases(window, steps)
    return {
        "comment": comment + " Written by scripts/experiment_configs.py.",
        "architecture": dict(architecture, positional="sinusoidal"),
        "data": "../shared/data/text/enwiki-2016-sample.xml",
        "train_fraction": 0.9,
        "mapping": "clear_top_bit",
        "seed": 0,
        "batch_size": TOKENS_PER_STEP // window,
        "sequence_length": window,
        "curriculum": schedule[:-1],
        "steps": steps,
        "learning_rate": learning_rate,
        "schedule": "cosine",
        "warmup_steps": min(200, max(1, steps // 4)),
        "final_learning_rate_fraction": 0.05,
        "gradient_clip_norm": 1.0,
        "threads": 1,
        "device": "cpu",
        "eval_sequences": 16,
        "eval_sequence_length": window,
        "log_every": 50 if steps >= 500 else 10,
        "eval_every": min(250, max(1, steps // 4)),
        # Short schedules are Figure 2's, whose big models take ~10 s a step: lose at most 20.
        "checkpoint_every": 100 if steps >= 500 else 20,
        "checkpoint": checkpoint,
    }


def table2_training_config(column: str, tokenizer: str, steps: int, window: int) -> dict:
    spec = COLUMNS[column]
    vocab = vocabulary(tokenizer)
    d, layers = spec["embedding_dim"], spec["layers"]
    flops = flops_per_step(d, layers, vocab, phases(window, steps)) * steps
    architecture = {"embedding_dim": d, "layers": layers, "heads": spec["heads"]}
    if tokenizer != "ascii":
        architecture["vocab_size"] = vocab
    config = training_config(
        f"Table 2 (tokenization): the {column.upper()} architecture on "
        f"{'bytes' if tokenizer == 'ascii' else tokenizer.upper() + ' tokens'}, at the compute "
        f"of the column's ASCII model ({flops:.3g} FLOPs).",
        architecture, spec["learning_rate"], steps, window,
        f"models/checkpoints/table2/{column}-{tokenizer}.lmct")
    if tokenizer != "ascii":
        config["tokenizer"] = f"models/checkpoints/{tokenizer}.model"
    return config


def heldout_dataset() -> dict:
    return {"name": "enwiki-2016-heldout", "kind": "enwik",
            "path": "../shared/data/text/enwiki-2016-sample.xml", "offset": HELDOUT_OFFSET,
            "num_chunks": 32}


def table2_evaluation_config(names: list) -> dict:
    compressors = [{"name": "gzip"}, {"name": "lzma2"}]
    for name in names:
        column, tokenizer = name.split("-", 1)
        checkpoint = f"models/checkpoints/table2/{name}.lmct"
        if tokenizer == "ascii":
            compressors.append({"name": f"t{name}", "kind": "lm", "checkpoint": checkpoint})
        else:
            # All but one of the tokens that can spell 7-bit text (every piece but <unk> and the
            # 128 byte pieces from 0x80): the model's whole distribution, escapes all but never.
            compressors.append({"name": f"t{name}", "kind": "pretrained", "format": "lmct",
                                "checkpoint": checkpoint, "top_k": vocabulary(tokenizer) - 130})
    return {
        "name": "table2",
        "description": (
            "The paper's Table 2 (tokenization): byte and BPE-tokenized Transformers of two "
            "sizes, each column at equal training compute (scripts/experiment_configs.py), on the "
            "held-out tail of ../shared/data/text/enwiki-2016-sample.xml (first 32 chunks), "
            "chunked (2048 bytes), every chunk decoded. notebooks/table2.py lays the results out "
            "as the paper does."),
        "chunk_size": 2048,
        "datasets": [heldout_dataset()],
        "compressors": compressors,
        "modes": ["chunked"],
    }


def figure2_configs() -> None:
    folder = REPO / "configs/train/figure2"
    compressors = [{"name": "gzip"}, {"name": "lzma2"}]
    for d, (heads, learning_rate) in FIGURE2_WIDTHS.items():
        for layers in FIGURE2_LAYERS:
            name = f"{d}x{layers}"
            checkpoint = f"models/checkpoints/figure2/{name}.lmct"
            config = training_config(
                f"Figure 2 (model size against data size): emb {d} x {layers} layers, byte "
                f"model, {FIGURE2_STEPS} steps of {TOKENS_PER_STEP} tokens like every "
                "model of the figure.",
                {"embedding_dim": d, "layers": layers, "heads": heads},
                learning_rate * 4 / layers, FIGURE2_STEPS, 2048, checkpoint)
            write_config(folder / f"{name}.json", config)
            compressors.append({"name": f"t{name}", "kind": "lm", "checkpoint": checkpoint})
            print(f"figure2 {name}: {FIGURE2_STEPS * TOKENS_PER_STEP / 1e6:.2f} M tokens")
    evaluation = {
        "name": "figure2",
        "description": (
            "The paper's Figure 2 (model size against data size): nine byte Transformers (64-256 "
            "wide, 4-8 layers) on one recipe and one token budget (scripts/experiment_configs.py), "
            "on the held-out tail of ../shared/data/text/enwiki-2016-sample.xml (first 32 "
            "chunks), chunked (2048 bytes), every chunk decoded. notebooks/figure2.py draws the "
            "adjusted rate against model size for data sizes 10^6 ... 10^9 bytes."),
        "chunk_size": 2048,
        "datasets": [heldout_dataset()],
        "compressors": compressors,
        "modes": ["chunked"],
    }
    write_config(REPO / "configs/figure2.json", evaluation)
    print("configs/figure2.json")


def table2_configs() -> None:
    folder = REPO / "configs/train/table2"
    names = []
    for column, spec in COLUMNS.items():
        d, layers = spec["embedding_dim"], spec["layers"]
        budget = spec["ascii_steps"] * flops_per_step(d, layers, 256, phases(2048, spec["ascii_steps"]))
        for tokenizer in TOKENIZERS:
            window = 2048 if tokenizer == "ascii" else 1024
            vocab = vocabulary(tokenizer)
            steps = (spec["ascii_steps"] if tokenizer == "ascii"
                     else steps_for(budget, d, layers, vocab, window))
            name = f"{column}-{tokenizer}"
            names.append(name)
            config = table2_training_config(column, tokenizer, steps, window)
            write_config(folder / f"{name}.json", config)
            print(f"table2 {name}: {steps} steps, {steps * TOKENS_PER_STEP / 1e6:.1f} M tokens")
    write_config(REPO / "configs/table2.json", table2_evaluation_config(names))
    print("configs/table2.json")


def main() -> int:
    global CHECKING
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed config is stale")
    CHECKING = parser.parse_args().check
    table2_configs()
    figure2_configs()
    if CHECKING and STALE:
        print("experiment_configs.py: stale (run scripts/experiment_configs.py to rewrite): "
              + ", ".join(map(str, STALE)))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
