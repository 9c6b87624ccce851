#!/bin/sh
# Writes the golden streams of tests/golden/streams/ (issue 29), once, on one machine: the streams
# of tests/golden/streams/config.json (bench run --save-compressed: every classical codec, the
# shipped byte Transformers, stories260K and a tiny RWKV on three 512-byte chunks of
# tests/golden/streams/protocol-excerpt.md, the first 1536 bytes of docs/PROTOCOL.md), plus three files of `bench compress` under the identity mapping (all 8 bits):
# 1 KiB of seeded random bytes through the 200K Transformer, gzip and stories260K. Every container
# records the CPU that wrote it (header "writer"); tests/golden/streams/README.md names it. The
# test GoldenStreams.* decodes them with `bench decode` on whatever machine runs the suite.
#
# --add writes only the streams that are not there yet (a codec or model added to config.json),
# and leaves every committed stream as its first writer made it: regenerating them all would
# hide exactly the drift they exist to catch.
#
# Usage: scripts/golden-streams.sh [--add] [BENCH]   (default build/harness/bench; from the
# repository root)
set -eu
cd "$(dirname "$0")/.."
add=false
if [ "${1:-}" = "--add" ]; then add=true; shift; fi
bench=${1:-build/harness/bench}
golden=tests/golden/streams
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if $add; then
  "$bench" run "$golden/config.json" --out "$out/run" --quiet --no-figures --save-compressed "$out/streams"
  for stream in "$out"/streams/*.lmcs; do
    [ -e "$golden/$(basename "$stream")" ] && continue
    cp "$stream" "$golden/" && echo "added $golden/$(basename "$stream")"
  done
  "$bench" decode "$golden" --quiet
  exit 0
fi
rm -f "$golden"/*.lmcs
"$bench" run "$golden/config.json" --out "$out/run" --quiet --no-figures --save-compressed "$golden"
python3 -c 'import random, sys; r = random.Random(29); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(1024)))' > "$out/random.bin"
"$bench" compress "$out/random.bin" -o "$golden/file__transformer-200k-identity.lmcs" --quiet \
  --chunk-size 512 --with '{"kind": "lm", "checkpoint": "models/checkpoints/transformer-200k.lmct"}'
"$bench" compress "$out/random.bin" -o "$golden/file__gzip-identity.lmcs" --quiet --chunk-size 512 --with gzip
stories=../shared/data/models/llama2c-stories260K
"$bench" compress "$out/random.bin" -o "$golden/file__stories260k-identity.lmcs" --quiet --chunk-size 512 \
  --with "{\"kind\": \"pretrained\", \"format\": \"llama2c\", \"checkpoint\": \"$stories/stories260K.bin\", \"tokenizer\": \"$stories/tok512.bin\"}"
"$bench" decode "$golden" --quiet
du -cb "$golden"/*.lmcs | tail -1
