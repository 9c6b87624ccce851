// The classical codecs, one file each (gzip.cpp ...). None of them needs libtorch, so a tool
// that must not link the language models (the fuzz targets' seed writer) can list them too;
// the registry (registry.cpp) adds the LM kinds after them. A codec added here needs a fuzz
// target too: the `codecs` list of tests/fuzz/CMakeLists.txt (the seed writer links them all).
#pragma once

#include <vector>

#include "compressors/compressor.h"

namespace lmc {

CompressorKind gzip_kind();
CompressorKind lzma2_kind();
CompressorKind png_kind();
CompressorKind flac_kind();
CompressorKind flac_paper_kind();
CompressorKind zstd_kind();
CompressorKind brotli_kind();
CompressorKind bzip2_kind();

inline std::vector<CompressorKind> classical_compressor_kinds() {
  return {gzip_kind(),       lzma2_kind(), png_kind(),    flac_kind(),
          flac_paper_kind(), zstd_kind(),  brotli_kind(), bzip2_kind()};
}

}  // namespace lmc
