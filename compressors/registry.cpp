// Every codec the harness knows. A new classical codec is one file defining
// `CompressorKind xxx_kind()` plus one line in each list of classical_kinds.h; the language-model
// kinds are declared by their own headers.
#include "compressors/classical_kinds.h"
#include "compressors/compressor.h"
#include "compressors/lm_compressor.h"
#include "compressors/pretrained_compressor.h"

namespace lmc {

const std::vector<CompressorKind>& compressor_kinds() {
  static const std::vector<CompressorKind> kinds = [] {
    std::vector<CompressorKind> all = classical_compressor_kinds();
    all.push_back(copy_kind());
    all.push_back(command_kind());
    all.push_back(lm_kind());
    all.push_back(pretrained_kind());
    return all;
  }();
  return kinds;
}

}  // namespace lmc
