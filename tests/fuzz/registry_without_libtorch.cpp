// The compressor registry of the torch-free builds of this folder (fuzzing, sanitized tests), in
// place of compressors/registry.cpp: every classical codec, `copy`, and the byte Transformer's `lm`
// kind, whose forward pass is hand-written and needs no libtorch. The `pretrained` kind is left out
// (its TorchScript loader links libtorch), and so is `command` (it runs programs); a stream of
// theirs is "not in this build" here.
#include "compressors/classical_kinds.h"
#include "compressors/compressor.h"
#include "compressors/lm_compressor.h"

namespace lmc {

const std::vector<CompressorKind>& compressor_kinds() {
  static const std::vector<CompressorKind> kinds = [] {
    std::vector<CompressorKind> all = classical_compressor_kinds();
    all.push_back(copy_kind());
    all.push_back(lm_kind());
    return all;
  }();
  return kinds;
}

const CompressorKind* find_compressor_kind(std::string_view name) {
  for (const CompressorKind& kind : compressor_kinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

}  // namespace lmc
