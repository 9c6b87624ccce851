#!/bin/sh
# Converts stories260K (a llama2.c checkpoint with its tok512.bin vocabulary) to GGUF with
# llama.cpp's converter: make_gguf_fixture.sh CONVERTER MODEL_DIR OUT_DIR.
# Without the shared data there is nothing to convert; the tests then skip (or fail under CI).
set -eu
converter=$1 model_dir=$2 out=$3
if [ ! -f "$model_dir/stories260K.bin" ]; then
  echo "make_gguf_fixture: $model_dir/stories260K.bin missing; nothing converted"
  exit 0
fi
mkdir -p "$out"
"$converter" --copy-vocab-from-model "$model_dir/tok512.bin" \
  --llama2c-model "$model_dir/stories260K.bin" --llama2c-output-model "$out/stories260K.gguf.tmp"
mv "$out/stories260K.gguf.tmp" "$out/stories260K.gguf"
