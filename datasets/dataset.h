// The one interface every corpus implements: a finite sequence of fixed-size byte chunks that can
// be read sequentially from any chunk index, so the harness can split the work into independent
// ranges (threads today; MPI ranks and resumed runs later).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mapping.h"
#include "common/options.h"

namespace lmc {

class ChunkReader {
 public:
  virtual ~ChunkReader() = default;
  // Fills `chunk` (exactly the dataset's chunk size) with the next chunk; false at the end.
  virtual bool next(std::span<std::uint8_t> chunk) = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::size_t chunk_size() const = 0;
  // Full chunks the corpus holds (partial trailing chunks are never counted).
  virtual std::uint64_t available_chunks() const = 0;
  // A sequential reader starting at chunk `first` (0 <= first <= available_chunks()).
  virtual std::unique_ptr<ChunkReader> open(std::uint64_t first) const = 0;
  // What was read: files, sizes, decoder, so a result can be traced back to its data.
  virtual nlohmann::json provenance() const = 0;
};

// A registry entry: how `{"name": ..., "kind": ..., options...}` becomes a Dataset. `make` checks
// that the data exists before any work starts and throws InputError naming the key path, the
// missing file or folder and where to get it.
struct DatasetKind {
  std::string name;
  std::string summary;
  std::vector<OptionSpec> options;
  SevenBitMapping default_mapping;  // for the LM compressor (docs/PROTOCOL.md section 4)
  std::function<std::unique_ptr<Dataset>(const Options&, std::size_t chunk_size)> make;
};

const std::vector<DatasetKind>& dataset_kinds();
const DatasetKind* find_dataset_kind(std::string_view name);

}  // namespace lmc
