// The compressor registry of the torch-free builds of this folder (fuzzing, sanitized tests), in
// place of compressors/registry.cpp: every classical codec, `copy`, the byte Transformer's `lm`
// kind, whose forward pass is hand-written, and the `pretrained` kind (llama2.c, rwkv.cpp and the
// tokenized Transformers are plain C++; TorchScript would load liblmc_torch.so, which this build
// has not made). `command` is left out (it runs programs); a stream of its is "not in this build".
#include "compressors/classical_kinds.h"
#include "compressors/compressor.h"
#include "compressors/lm_compressor.h"
#include "compressors/pretrained_compressor.h"

namespace lmc {

const std::vector<CompressorKind>& compressor_kinds() {
  static const std::vector<CompressorKind> kinds = [] {
    std::vector<CompressorKind> all = classical_compressor_kinds();
    all.push_back(copy_kind());
    all.push_back(lm_kind());
    all.push_back(pretrained_kind());
    return all;
  }();
  return kinds;
}

}  // namespace lmc
