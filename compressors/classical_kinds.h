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
CompressorKind jxl_kind();
CompressorKind webp_kind();
CompressorKind jpegls_kind();
CompressorKind jpeg2000_kind();
CompressorKind wavpack_kind();
CompressorKind alac_kind();

// PPMd in libarchive's 7-Zip writer (a text codec; listed with the others).
CompressorKind ppmd_kind();
// Any program as a compressor (command.cpp). Not in the list below: it has required options and
// runs programs, so the fuzz targets and their seed writer leave it out; registry.cpp adds it.
CompressorKind command_kind();
// The harness's ceiling (copy.cpp): output = input. Not in the list below: it codes nothing, so
// there is no decoder to fuzz (a length check and a memcpy); registry.cpp adds it.
CompressorKind copy_kind();

inline std::vector<CompressorKind> classical_compressor_kinds() {
  return {gzip_kind(),   lzma2_kind(),    png_kind(),     flac_kind(), flac_paper_kind(),
          zstd_kind(),   brotli_kind(),   bzip2_kind(),   jxl_kind(),  webp_kind(),
          jpegls_kind(), jpeg2000_kind(), wavpack_kind(), alac_kind(), ppmd_kind()};
}

}  // namespace lmc
