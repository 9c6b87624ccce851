#!/bin/sh
# `bench run` and `bench decode` on a CPU with nothing beyond x86-64's baseline: qemu's "qemu64"
# model (SSE2, no AVX, no FMA, no F16C) runs the binaries built here. Every file outside the LM
# kernels' vector paths is built for the baseline, so the LM compressors run their scalar kernels
# (chosen at run time), whose std::fma is glibc's software fmaf and whose binary16 conversions
# are libgcc's, on another (emulated) CPU. Two things are checked:
#  - a classical codec and the shipped 200K Transformer run, decode every chunk, and give the
#    same compressed bytes as the native run on this machine's vector kernels;
#  - saved golden streams (tests/golden/streams), written once on an AMD EPYC with its AVX-512
#    kernels, decode bit for bit: gzip (`bench run --save-compressed` and `bench compress`) and
#    the 200K Transformer with the binary16 KV cache (`bench compress`, all 8 bits coded).
# One stream format whatever the CPU. qemu's AVX2 models (-cpu Haswell, Broadwell, Skylake-Client,
# EPYC) cannot check the AVX2 kernels: qemu 7.2's TCG applies MXCSR's DAZ and FTZ, which the
# forward pass sets, to the F16C conversions, flushing the binary16 subnormals of the KV cache,
# which real CPUs convert exactly (Intel SDM: vcvtph2ps ignores DAZ, vcvtps2ph ignores FTZ).
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
decoder=
trap '[ -n "$decoder" ] && kill "$decoder" 2> /dev/null; rm -rf "$work"' EXIT
# The golden streams decode in the background while `bench run` below takes one core. From the
# repository root, where the recorded checkpoint and dataset paths are relative to. One chunk per
# decoding thread (no lockstep): under emulation each 512-byte LM chunk takes about half a minute
# of a core, so only the LM stream of two chunks (protocol__transformer-200k's three would add
# another half minute on two cores).
mkdir "$work/golden"
for stream in protocol__gzip file__gzip-identity file__transformer-200k-identity; do
  cp "$source_dir/tests/golden/streams/$stream.lmcs" "$work/golden/"
done
(cd "$source_dir" && LMC_LOCKSTEP_WIDTH=1 exec "$qemu" -cpu qemu64 "$bench" decode "$work/golden" \
  --quiet) > "$work/decode.log" 2>&1 &
decoder=$!
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
if ! wait "$decoder"; then
  decoder=
  cat "$work/decode.log"
  echo "qemu64: the golden streams did not decode"
  exit 1
fi
decoder=
grep -q '^3 of 3 containers decoded' "$work/decode.log"
echo "qemu64: golden streams written on the AMD EPYC's AVX-512 kernels decode bit for bit:"
grep '^ok ' "$work/decode.log"
