#!/usr/bin/env bash
# Installs the Debian 12 packages lmc-bench builds against, plus the sample corpora of the demo
# (GCIDE dictionary text, scikit-image photographs, pocketsphinx speech), then fetches the pinned
# llama.cpp release for GGUF models (scripts/fetch-llama-cpp.sh). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  g++ cmake make pkg-config git
  # libraries (the design card)
  libtorch-dev nlohmann-json3-dev libeigen3-dev libsndfile1-dev libstb-dev libjpeg62-turbo-dev
  zlib1g-dev libflac-dev libflac++-dev liblzma-dev libpng-dev libzstd-dev libbrotli-dev libbz2-dev
  libcli11-dev libgtest-dev libbenchmark-dev libsentencepiece-dev
  libavcodec-dev libavformat-dev libavutil-dev ffmpeg
  # the strongest lossless codecs beside the paper's (docs/PROTOCOL.md section 3.1), and the two
  # programs configs/strong.json runs through the command kind (PPMd also comes from libarchive)
  libjxl-dev libwebp-dev libcharls-dev libopenjp2-7-dev libwavpack-dev zpaq 7zip
  # bench data fetch: downloads, archives, checksums
  libcurl4-openssl-dev libarchive-dev libssl-dev
  # one run over several processes or machines (mpirun -n N bench run ...)
  libopenmpi-dev openmpi-bin
  # runtime speed-ups for libtorch (models/README.md, Training)
  libopenblas0-pthread libtcmalloc-minimal4
  # hostile input: libFuzzer targets and the ASan + UBSan test build (scripts/fuzz.sh, sanitize.sh)
  clang libclang-rt-14-dev llvm
  # a baseline x86-64 CPU (qemu64) for the test that bench runs without AVX (tests/harness)
  qemu-user
  # reports
  python3 python3-matplotlib jupyter-nbconvert python3-ipykernel
  # the TorchScript test traces a tiny model and trains a tokenizer (tests/models)
  python3-torch python3-sentencepiece
  # the JPEG tests compare the imagenet tiles with Pillow's, the paper's decoder (tests/datasets)
  python3-pil python3-numpy
  # sample corpora for the demo
  dict-gcide python3-skimage pocketsphinx-testdata
)
# The client that fetches llama.cpp's pinned release (scripts/fetch-llama-cpp.sh). Only when
# missing: a machine with NodeSource's nodejs already has npm, and Debian's npm conflicts with it.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# GGUF models (optional at build time; LMC_NO_LLAMA_CPP=1 skips the fetch).
if [ "${LMC_NO_LLAMA_CPP:-0}" != 1 ]; then
  scripts/fetch-llama-cpp.sh
fi
