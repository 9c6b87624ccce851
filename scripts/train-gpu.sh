#!/usr/bin/env bash
# Trains byte Transformers on a GPU in a fixed number of minutes, all configs at once:
#   scripts/train-gpu.sh MINUTES CONFIG...      e.g. scripts/train-gpu.sh 6 configs/train/gpu/*.json
# 1. builds lmc_train alone (-DLMC_TRAINER_ONLY=ON) against the libtorch of python3's PyTorch
#    (a CUDA one on a GPU machine), in build-cuda/;
# 2. probes how fast each config trains while all of them share the device (a few steps at each
#    window length of its curriculum);
# 3. rescales each config's steps, curriculum phases and warmup so that its whole cosine schedule
#    ends inside MINUTES, writes the configs it runs to build-cuda/gpu-configs/, and trains them
#    side by side;
# 4. prints each model's held-out bits per byte, and copies the weights and a tarball of the
#    logs and configs to $OUT when that is set (a device machine's output folder).
# The weights are float32 checkpoints like any other: they load, code and decode on the CPU.
#
# Environment: LMC_TRAIN_DEVICE (default cuda; cpu tries the script where there is no GPU),
# LMC_JSON_INCLUDE_DIR (a folder holding nlohmann/json.hpp, where no package provides it),
# LMC_TRAINER_BUILD (default build-cuda), LMC_PROBE_STEPS (per window length, default 12),
# LMC_PYTHON (default python3: the Python whose PyTorch lends its libtorch), LMC_TRAINER (an
# lmc_train already built: no build).
# The configs read their text from "data" (../shared/data/text/enwiki-2016-sample.xml for those
# of configs/train/gpu/): put the file there first.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/train-gpu.sh MINUTES CONFIG..."
minutes="${1:?$usage}"
shift
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "train-gpu.sh: MINUTES must be a number, got \"$minutes\"" >&2; exit 2; }
for config in "$@"; do
  [ -f "$config" ] || { echo "train-gpu.sh: $config: no such config" >&2; exit 2; }
done
python="${LMC_PYTHON:-python3}"  # the one with PyTorch
build="${LMC_TRAINER_BUILD:-build-cuda}"
device="${LMC_TRAIN_DEVICE:-cuda}"
probe_steps="${LMC_PROBE_STEPS:-12}"

if [ -n "${LMC_TRAINER:-}" ]; then
  trainer="$LMC_TRAINER"  # one already built (the test of this script)
else
  prefix="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
  echo "train-gpu.sh: building lmc_train against $prefix"
  mkdir -p "$build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLMC_TRAINER_ONLY=ON \
    -DCMAKE_PREFIX_PATH="$prefix" ${LMC_JSON_INCLUDE_DIR:+-DLMC_JSON_INCLUDE_DIR="$LMC_JSON_INCLUDE_DIR"} \
    >"$build/cmake.log" 2>&1 || { cat "$build/cmake.log" >&2; exit 1; }
  cmake --build "$build" -j"$(nproc)" --target lmc_train
  trainer="$build/models/lmc_train"
fi
work="$build/gpu-configs"
source scripts/training_env.sh  # the host side of a GPU run needs it too
rm -rf "$work"
mkdir -p "$work"

# Runs lmc_train on each config of the folder $1 side by side, each output line prefixed with
# its config's name; $2: seconds after which each is stopped (its last checkpoint stays).
train_one() {
  timeout "$2" "$trainer" "$1" 2>&1 | sed -u "s|^|[$(basename "$1" .json)] |"
  return "${PIPESTATUS[0]}"
}
train_all() {
  local pids=() config status=0
  for config in "$1"/*.json; do
    train_one "$config" "$2" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  return $status
}

# Probe: the same model, data and tokens per step, $probe_steps steps at each window length,
# after as many to warm the device up and before as many more that end with the held-out
# evaluation (the first and the last logged rows are not used).
"$python" - "$work" "$device" "$probe_steps" "$@" <<'PY'
import json, sys
from pathlib import Path
work, device, probe = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
probe_dir = work / "probe"
probe_dir.mkdir(parents=True)
for path in map(Path, sys.argv[4:]):
    config = json.loads(path.read_text())
    lengths = [phase["sequence_length"] for phase in config.get("curriculum", [])]
    lengths.append(config["sequence_length"])
    lengths = lengths[:1] + lengths + lengths[-1:]
    steps = probe * len(lengths)
    config.update({
        "device": device,
        "curriculum": [{"sequence_length": n, "steps": probe} for n in lengths[:-1]],
        "steps": steps, "warmup_steps": 1, "log_every": probe,
        "eval_every": steps + 1, "checkpoint_every": steps + 1, "max_time_s": 0,
        "checkpoint": str(probe_dir / (path.stem + ".lmct")),
        "log": str(probe_dir / (path.stem + ".train.csv")),
    })
    (probe_dir / (path.stem + ".json")).write_text(json.dumps(config, indent=2))
PY
echo "train-gpu.sh: probing the speed of $# configs side by side"
train_all "$work/probe" 600 >"$work/probe.log" || { cat "$work/probe.log" >&2; exit 1; }

# Rescale: steps such that the whole schedule, at the probed speed of each window length, takes
# the minutes given (less 15 % for the held-out evaluations and checkpoints).
"$python" - "$work" "$device" "$minutes" "$@" <<'PY'
import csv, json, sys
from pathlib import Path
work, device, minutes = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
run = work / "run"
run.mkdir(exist_ok=True)
for path in map(Path, sys.argv[4:]):
    config = json.loads(path.read_text())
    rows = list(csv.DictReader(open(work / "probe" / (path.stem + ".train.csv"))))
    phases = config.get("curriculum", [])
    if len(rows) != len(phases) + 3:
        sys.exit(f"train-gpu.sh: {path}: the probe logged {len(rows)} rows, expected {len(phases) + 3}")
    rows = rows[1:-1]
    tokens_per_step = config["batch_size"] * config["sequence_length"]
    seconds_per_step = [tokens_per_step / float(row["tokens_per_s"]) for row in rows]
    steps = config["steps"]
    fractions = [phase["steps"] / steps for phase in phases]
    fractions.append(1 - sum(fractions))
    mean_seconds = sum(f * s for f, s in zip(fractions, seconds_per_step))
    new_steps = int(0.85 * minutes * 60 / mean_seconds)
    if new_steps < 50:
        sys.exit(f"train-gpu.sh: {path}: only {new_steps} steps fit in {minutes} minutes")
    scale = new_steps / steps
    config["steps"] = new_steps
    config["curriculum"] = [dict(phase, steps=max(1, round(phase["steps"] * scale))) for phase in phases]
    config["warmup_steps"] = max(1, round(config.get("warmup_steps", 0) * scale))
    config["device"] = device
    config["max_time_s"] = round(minutes * 60 * 1.1)  # the trainer stops, checkpointed, by then
    Path(config["checkpoint"]).parent.mkdir(parents=True, exist_ok=True)
    (run / path.name).write_text(json.dumps(config, indent=2) + "\n")
    rates = ", ".join(f"{float(r['tokens_per_s']):,.0f}" for r in rows)
    print(f"train-gpu.sh: {path.stem}: {rates} tokens/s by window length -> {new_steps} steps "
          f"({new_steps * tokens_per_step / 1e6:.1f} M tokens) in {minutes:g} minutes")
PY

seconds="$("$python" -c "print(int(float('$minutes') * 60 * 1.1) + 120)")"
echo "train-gpu.sh: training; each stops by itself at 1.1 x the minutes given (max_time_s), or is killed after $seconds s"
status=0
train_all "$work/run" "$seconds" | tee "$work/train.log" || status=1

"$python" - "$work" "${OUT:-}" <<'PY'
import csv, json, shutil, sys, tarfile
from pathlib import Path
work, out = Path(sys.argv[1]), sys.argv[2]
files = []
for path in sorted((work / "run").glob("*.json")):
    config = json.loads(path.read_text())
    log = Path(config["log"])
    rows = list(csv.DictReader(open(log))) if log.exists() else []
    last = rows[-1] if rows else {}
    print(f"train-gpu.sh: {path.stem}: step {last.get('step', 0)} of {config['steps']}, "
          f"{float(last.get('tokens', 0)) / 1e6:.1f} M tokens, held-out {last.get('heldout_bpb', '?')} bits/byte, "
          f"{float(last.get('elapsed_s', 0)):.0f} s")
    checkpoint = Path(config["checkpoint"])
    files += [p for p in (checkpoint, log) if p.exists()]
if out:
    with tarfile.open(Path(out) / "gpu-logs.tar.gz", "w:gz") as tar:
        for p in files:
            if p.suffix != ".lmct":
                tar.add(p)
        tar.add(work, arcname="gpu-configs", filter=lambda t: None if t.name.endswith((".lmct", ".state")) else t)
    for p in files:
        if p.suffix == ".lmct":
            shutil.copy(p, Path(out) / p.name)
    print(f"train-gpu.sh: weights and gpu-logs.tar.gz in {out}")
PY
exit $status
