#!/bin/sh
# `bench run` on a CPU with nothing beyond x86-64's baseline: qemu's "qemu64" model (SSE2, no AVX,
# no FMA) runs the binaries built here. Every file outside the LM kernels' vector paths is built
# for the baseline, so a classical codec and the shipped 200K Transformer (its scalar kernels,
# chosen at run time) run, decode every chunk, and give the same compressed bytes as the native
# run on this machine's vector kernels: one stream format whatever the CPU.
# Usage: baseline_cpu_test.sh BENCH QEMU_X86_64 SOURCE_DIR
set -eu
bench=$1
qemu=$2
source_dir=$3
if ! command -v "$qemu" > /dev/null; then
  echo "$qemu not found: apt-get install qemu-user (scripts/install-deps.sh)"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Short chunks: under emulation, without FMA, the scalar kernels' fused multiply-adds are glibc's
# software fmaf, a few hundred times slower than native.
head -c 2048 "$source_dir/docs/PROTOCOL.md" > "$work/text.txt"
cat > "$work/config.json" <<JSON
{"name": "baseline-cpu", "chunk_size": 256,
 "datasets": [{"name": "text", "kind": "enwik", "path": "$work/text.txt"}],
 "compressors": [{"name": "gzip"},
                 {"name": "transformer-200k", "kind": "lm", "num_chunks": 2,
                  "checkpoint": "$source_dir/models/checkpoints/transformer-200k.lmct"}],
 "modes": ["chunked"], "threads": 1}
JSON
# The lockstep width decides only the speed; measuring it under emulation would be slow.
LMC_LOCKSTEP_WIDTH=2 "$qemu" -cpu qemu64 "$bench" run "$work/config.json" --out "$work/baseline" --quiet --no-figures \
  > /dev/null
"$bench" run "$work/config.json" --out "$work/native" --quiet --no-figures > /dev/null
/usr/bin/python3 - "$work/baseline/results.json" "$work/native/results.json" <<'PY'
import json, sys
baseline, native = (json.load(open(path)) for path in sys.argv[1:3])
def row(results, compressor):
    return next(r for r in results["rows"] if r["compressor"] == compressor)
for compressor in ("gzip", "transformer-200k"):
    b, n = row(baseline, compressor), row(native, compressor)
    assert b["verified_chunks"] == b["chunks"] > 0, f"{compressor}: not every chunk decoded under qemu64"
    assert b["compressed_bytes"] == n["compressed_bytes"], (
        f"{compressor}: {b['compressed_bytes']} bytes under qemu64, {n['compressed_bytes']} native")
kernels = row(baseline, "transformer-200k")["settings"]["model"]["kernels"]
assert kernels == "scalar", f"qemu64 ran the {kernels} kernels"
print("qemu64: gzip and transformer-200k ran, decoded every chunk, and gave the native bytes "
      f"(native kernels: {row(native, 'transformer-200k')['settings']['model']['kernels']})")
PY
