// The checkpoint file of a byte Transformer, read by the libtorch model and the hand-written
// incremental step alike. Layout (all integers and floats little-endian):
//
//   8 bytes   magic "LMCTRNSF"
//   u32       format version (1)
//   u32       header length N
//   N bytes   JSON header: {"architecture": {...}, "training": {...provenance...},
//                           "tensors": [{"name": ..., "shape": [...]}, ...]}
//   then      every tensor of the header's list in order, float32 row-major, no padding
//
// The file size must match the header exactly, so a truncated file is always detected. The
// training state for resuming (Adam moments, step) uses the same layout in a separate file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/transformer/transformer_shape.h"

namespace lmc {

struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

struct Checkpoint {
  nlohmann::json header = nlohmann::json::object();  // without "tensors": derived on write
  std::vector<NamedTensor> tensors;

  // Throws InputError naming `source` when the tensor is missing or has another shape.
  const NamedTensor& tensor(const std::string& name, const std::vector<std::int64_t>& shape,
                            const std::filesystem::path& source) const;
};

// Writes to a temporary file next to `path` and renames it into place, so a reader (or a
// resumed run after a kill) never sees a half-written checkpoint.
void write_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

// Throws InputError naming the file when it is missing, not a checkpoint, or truncated.
Checkpoint read_checkpoint(const std::filesystem::path& path);
// The same from a stream of `size` bytes; `path` only names it in errors (the seam the fuzzer
// feeds).
Checkpoint read_checkpoint(std::istream& in, std::uint64_t size, const std::filesystem::path& path);

// The checkpoint's "architecture" header; throws InputError naming `source` when it is absent or
// invalid.
TransformerShape checkpoint_architecture(const Checkpoint& checkpoint,
                                         const std::filesystem::path& source);

// FNV-1a 64 of the file's bytes, as 16 hex digits: identifies the weights in provenance.
std::string fnv1a64_file_hash(const std::filesystem::path& path);

}  // namespace lmc
