// Every codec the harness knows. A new codec is one file defining `CompressorKind xxx_kind()`
// plus one line in each list below.
#include <algorithm>

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
CompressorKind lm_kind();
CompressorKind pretrained_kind();

const std::vector<CompressorKind>& compressor_kinds() {
  static const std::vector<CompressorKind> kinds = {
      gzip_kind(), lzma2_kind(), png_kind(),    flac_kind(),
      flac_paper_kind(), zstd_kind(), brotli_kind(), bzip2_kind(),
      lm_kind(), pretrained_kind(),
  };
  return kinds;
}

const CompressorKind* find_compressor_kind(std::string_view name) {
  const auto& kinds = compressor_kinds();
  auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.name == name; });
  return it == kinds.end() ? nullptr : &*it;
}

}  // namespace lmc
