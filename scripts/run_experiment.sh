#!/usr/bin/env bash
# One command per experiment of the paper beyond Table 1 (issue 14):
#   scripts/run_experiment.sh table2     tokenization: bytes against BPE 1K-20K, two model sizes
#   scripts/run_experiment.sh figure2    model size against data size: nine byte models
# Trains every config of configs/train/EXPERIMENT/, as many at once as the cores hold at the
# configs' "threads" (Figure 2's: one thread, so two at a time on two cores), each continued where
# it stopped (`lmc_train --resume`; a finished one returns at once), then evaluates them with
# `bench run configs/EXPERIMENT.json --out results/EXPERIMENT` and lays the results out with
# notebooks/EXPERIMENT.py. Stop it any time and run it again to go on. Hours of CPU:
# docs/EXPERIMENTS.md, "Tokenization and model size". The weights stay local
# (models/checkpoints/EXPERIMENT/*.lmct are ignored); their training logs and the results are
# what gets committed.
set -euo pipefail
cd "$(dirname "$0")/.."
experiment="${1:?usage: scripts/run_experiment.sh table2|figure2}"
case "$experiment" in
  table2 | figure2) ;;
  *) echo "run_experiment.sh: unknown experiment \"$experiment\" (table2 or figure2)" >&2; exit 2 ;;
esac
for binary in build/models/lmc_train build/models/lmc_train_tokenizer build/harness/bench; do
  [ -x "$binary" ] || { echo "run_experiment.sh: $binary missing: build first (scripts/test.sh)" >&2; exit 2; }
done
python=/usr/bin/python3

source scripts/training_env.sh

# The tokenizers are committed; trained again only when one is missing.
if [ "$experiment" = table2 ]; then
  for config in configs/tokenizers/*.json; do
    output="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["output"])' "$config")"
    [ -f "$output" ] || build/models/lmc_train_tokenizer "$config"
  done
fi

# As many trainings side by side as the cores hold at each config's "threads", largest models
# first so that the last to finish is a small one; each line of a training's output starts with
# its config's name.
read -r jobs configs < <("$python" - "$experiment" "$(nproc)" <<'PY'
import json, sys
from pathlib import Path
folder, cores = Path("configs/train") / sys.argv[1], int(sys.argv[2])
configs = {path: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
threads = max(config.get("threads", 2) for config in configs.values())
def cost(path):
    architecture = configs[path]["architecture"]
    return architecture["embedding_dim"] ** 2 * architecture["layers"] * configs[path]["steps"]
print(max(1, cores // threads), " ".join(map(str, sorted(configs, key=cost, reverse=True))))
PY
)
echo "run_experiment.sh: training $(wc -w <<<"$configs") configs, $jobs at a time"
train() {
  build/models/lmc_train "$1" --resume 2>&1 | sed -u "s|^|[$(basename "$1" .json)] |"
  return "${PIPESTATUS[0]}"
}
export -f train
xargs -n 1 -P "$jobs" bash -c 'train "$0"' <<<"$configs"

build/harness/bench run configs/"$experiment".json --out results/"$experiment" --quiet
"$python" notebooks/"$experiment".py results/"$experiment"
