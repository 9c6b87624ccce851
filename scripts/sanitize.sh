#!/usr/bin/env bash
# Part of the test suite (JSON, codecs, datasets, arithmetic coder, model-file limits, result
# files and journal, and every golden stream decoded by this second build) built under ASan +
# UBSan by clang, and run; any sanitizer report fails its test. They share build-fuzz/ with
# scripts/fuzz.sh: the same sanitized libraries, compiled once (their libFuzzer coverage hooks
# cost the tests little). The rest of the suite (the harness, training, TorchScript) is not part
# of this build (tests/fuzz/CMakeLists.txt, LMC_SANITIZED_TESTS).
#   scripts/sanitize.sh          LMC_SANITIZE_JOBS: build parallelism (default: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${LMC_SANITIZE_JOBS:-$(nproc)}"
cmake -S tests/fuzz -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DLMC_SANITIZED_TESTS=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target common_test codecs_test datasets_test coder_test \
  result_files_test golden_streams_test
# Leaks count as failures; libsndfile and libFLAC are not instrumented but their leaks would
# still show, so none is suppressed.
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  ctest --test-dir build-fuzz --output-on-failure -j"$jobs"
