#!/usr/bin/env bash
# Fetches llama.cpp for the "gguf" pretrained format into third_party/llama.cpp (git-ignored),
# pinned to one release: the npm package node-llama-cpp@3.21.1 carries llama.cpp v0.4.0's source
# as a git bundle, and @node-llama-cpp/linux-x64@3.21.1 the prebuilt CPU libraries of the same
# release (libllama, libggml, libggml-base, one libggml-cpu-<variant> per x86-64 level; glibc
# >= 2.34). Linking the prebuilt libraries with the bundle's headers takes seconds; building
# llama.cpp from source takes tens of minutes on 2 cores. `npm pack` only downloads the tarballs
# (no Node code runs); their SHA-1 is checked against the pins below. Idempotent.
#
#   third_party/llama.cpp/source/  the release's source (headers, examples/convert-llama2c-to-ggml)
#   third_party/llama.cpp/lib/     the prebuilt shared libraries
set -euo pipefail
cd "$(dirname "$0")/.."

version=3.21.1
release=v0.4.0
source_sha1=f7579ace3d45c8e93856cebbd8671fa43c2eef1b  # node-llama-cpp-3.21.1.tgz
libs_sha1=5bb457bc7e58828cc26d06eb8f83c42f8cb66932    # node-llama-cpp-linux-x64-3.21.1.tgz

dest=third_party/llama.cpp
stamp="$dest/.fetched-$version"
if [ -f "$stamp" ]; then
  echo "fetch-llama-cpp: llama.cpp $release (node-llama-cpp $version) present in $dest"
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "fetch-llama-cpp: prebuilt libraries exist for Linux x86-64 only; build llama.cpp yourself" \
       "and configure with -DLMC_LLAMA_CPP_DIR=<its install prefix>" >&2
  exit 1
fi
command -v npm >/dev/null || { echo "fetch-llama-cpp: npm missing (apt-get install npm)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version" >/dev/null)
check() {
  local actual
  actual=$(sha1sum "$1" | cut -d' ' -f1)
  [ "$actual" = "$2" ] || { echo "fetch-llama-cpp: $1: SHA-1 $actual, expected $2" >&2; exit 1; }
}
check "$work/node-llama-cpp-$version.tgz" "$source_sha1"
check "$work/node-llama-cpp-linux-x64-$version.tgz" "$libs_sha1"
tar -xzf "$work/node-llama-cpp-$version.tgz" -C "$work" package/llama/gitRelease.bundle
mkdir -p "$work/libs"
tar -xzf "$work/node-llama-cpp-linux-x64-$version.tgz" -C "$work/libs" --strip-components=3 \
    package/bins/linux-x64

rm -rf "$dest"
mkdir -p "$dest/lib"
git -c advice.detachedHead=false clone --quiet "$work/package/llama/gitRelease.bundle" "$dest/source"
# The Node addon and its build metadata are not needed; the libraries find each other by $ORIGIN.
cp "$work"/libs/*.so "$dest/lib/"
echo "$release" >"$dest/release"
touch "$stamp"
echo "fetch-llama-cpp: llama.cpp $release in $dest ($(ls "$dest/lib" | wc -l) libraries)"
