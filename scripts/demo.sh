#!/usr/bin/env bash
# The README's first command: dependencies, build, and the demo run on sample corpora.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/harness/bench run configs/quick.json "$@"
