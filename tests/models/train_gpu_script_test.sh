#!/bin/sh
# scripts/train-gpu.sh on the CPU with a tiny config: the probe, the rescaling of steps,
# curriculum and warmup to the minutes given, the training, the summary and the files for $OUT;
# and its refusals of bad arguments.
# Usage: train_gpu_script_test.sh SOURCE_DIR LMC_TRAIN PYTHON
set -eu
source_dir=$1
trainer=$2
python=$3
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
head -c 400000 /usr/share/common-licenses/GPL-3 > "$work/text.txt" 2>/dev/null ||
  yes "the quick brown fox jumps over the lazy dog" | head -c 400000 > "$work/text.txt"
"$python" - "$source_dir/configs/train/gpu/transformer-200k.json" "$work" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
work = sys.argv[2]
config.update(data=f"{work}/text.txt", batch_size=1, sequence_length=256, steps=1000,
              curriculum=[{"sequence_length": 128, "steps": 400}], warmup_steps=100,
              eval_sequences=2, eval_sequence_length=256, eval_every=50, checkpoint_every=50,
              log_every=10, threads=1, checkpoint=f"{work}/weights/tiny.lmct",
              log=f"{work}/weights/tiny.train.csv")
json.dump(config, open(f"{work}/tiny.json", "w"))
PY
mkdir -p "$work/out"
cd "$source_dir"
export LMC_TRAINER="$trainer" LMC_PYTHON="$python" LMC_TRAIN_DEVICE=cpu LMC_PROBE_STEPS=2
export LMC_TRAINER_BUILD="$work/build"
OUT="$work/out" scripts/train-gpu.sh 0.25 "$work/tiny.json" > "$work/log" 2>&1 ||
  { cat "$work/log"; echo "train-gpu.sh failed"; exit 1; }
grep -q "tiny: .* tokens/s by window length -> [0-9]* steps" "$work/log" ||
  { cat "$work/log"; echo "no probe summary"; exit 1; }
grep -q "tiny: step [0-9]* of [0-9]*, .* held-out [0-9.]* bits/byte" "$work/log" ||
  { cat "$work/log"; echo "no held-out summary"; exit 1; }
[ -s "$work/out/tiny.lmct" ] || { echo "no weights in OUT"; exit 1; }
tar tzf "$work/out/gpu-logs.tar.gz" | grep -q "gpu-configs/run/tiny.json" ||
  { echo "the tarball lacks the config that ran"; exit 1; }
# The config that ran keeps the curriculum's 40 % and the warmup's 10 % of the new steps, on
# the device asked for, and stops by itself in 1.1 x 15 s.
"$python" - "$work/build/gpu-configs/run/tiny.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
steps = config["steps"]
assert steps >= 50 and steps != 1000, steps
assert abs(config["curriculum"][0]["steps"] - 0.4 * steps) <= 1, config["curriculum"]
assert abs(config["warmup_steps"] - 0.1 * steps) <= 1, config["warmup_steps"]
assert config["device"] == "cpu" and config["max_time_s"] == 16, config
PY
# Refusals: exit 2 and a message naming what is wrong.
for args in "x $work/tiny.json" "1 $work/missing.json" "1"; do
  # shellcheck disable=SC2086
  if scripts/train-gpu.sh $args > "$work/refusal" 2>&1; then
    echo "train-gpu.sh $args succeeded"; exit 1
  fi
  grep -q "train-gpu.sh\|usage" "$work/refusal" || { cat "$work/refusal"; exit 1; }
done
echo "train-gpu.sh: probe, rescale, train and OUT on the CPU"
