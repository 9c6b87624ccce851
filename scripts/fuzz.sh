#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) into build-fuzz/ and runs each
# for SECONDS on a copy of its committed seed corpus, then replays the committed crash files
# (tests/fuzz/crashes/TARGET/). One line per target; exits non-zero on any crash, leak, timeout
# or out-of-memory.
#   scripts/fuzz.sh SECONDS [TARGET...]     e.g. scripts/fuzz.sh 20, scripts/fuzz.sh 600 gzip
# LMC_FUZZ_JOBS: build parallelism (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}"
shift
jobs="${LMC_FUZZ_JOBS:-$(nproc)}"

# The sanitized tests (scripts/sanitize.sh) share this build; not built here.
cmake -S tests/fuzz -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DLMC_SANITIZED_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for binary in build-fuzz/*_fuzzer; do
    name="$(basename "$binary")"
    targets+=("${name%_fuzzer}")
  done
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Limits: the largest seed (a flac-paper stream of a 512-byte chunk, 8 KiB of it padding) fits in
# max_len; one input may take 10 s (an LM decode of 160 positions takes milliseconds); 2 GiB of
# memory is far above what any reader needs for these sizes, so reaching it is a finding.
options=(-max_len=16384 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1)
failed=0
printf '%-20s %12s  %s\n' target executions result
for target in "${targets[@]}"; do
  binary="build-fuzz/${target}_fuzzer"
  [ -x "$binary" ] || { echo "fuzz.sh: no target $target" >&2; exit 2; }
  corpus="$work/$target"
  mkdir -p "$corpus"
  cp -r "tests/fuzz/corpus/$target/." "$corpus/" 2>/dev/null || true
  log="$work/$target.log"
  result=ok
  # Crash files found earlier must stay fixed: replayed first, each must run clean.
  if [ -d "tests/fuzz/crashes/$target" ]; then
    if ! "$binary" "${options[@]}" tests/fuzz/crashes/"$target"/* >"$log.replay" 2>&1; then
      result="REPLAYED CRASH FAILS (see below)"
      cat "$log.replay"
    fi
  fi
  if ! (cd "$work" && "$OLDPWD/$binary" "${options[@]}" -max_total_time="$seconds" \
          -artifact_prefix="$work/$target-" "$corpus") >"$log" 2>&1; then
    result="FAILED: $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+( [^ ]+)?|ERROR: libFuzzer: [a-z-]+|runtime error: .*' "$log" || echo 'see log')"
    tail -n 40 "$log"
    for artifact in "$work/$target"-*; do
      [ -e "$artifact" ] && cp "$artifact" "build-fuzz/" && echo "input kept: build-fuzz/$(basename "$artifact")"
    done
  fi
  runs="$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')"
  printf '%-20s %12s  %s\n' "$target" "$runs" "$result"
  [ "$result" = ok ] || failed=1
done
exit "$failed"
