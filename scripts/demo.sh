#!/usr/bin/env bash
# The README's first command: dependencies, build, and the demo run on sample corpora.
# Results go to out/quick (ignored by git), so the demo leaves the working tree as it was: the
# committed results/quick, the baseline of the CI regression gate, is never rewritten.
# Arguments go to `bench run`; an explicit --out DIR replaces the default folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=(--out out/quick)
for arg in "$@"; do
  case "$arg" in
    --out | --out=*) out=() ;;
  esac
done
build/harness/bench run configs/quick.json ${out[@]+"${out[@]}"} "$@"
