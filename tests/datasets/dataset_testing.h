// Helpers for the dataset tests: build a dataset the way the harness does (options validated
// against the kind's specs, key path "datasets[0]") and read its chunks.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "common/options.h"
#include "datasets/dataset.h"

namespace lmc::test {

inline std::unique_ptr<Dataset> make_dataset(std::string_view kind, const nlohmann::json& entry,
                                             std::size_t chunk_size = 2048) {
  const DatasetKind* dataset_kind = find_dataset_kind(kind);
  if (dataset_kind == nullptr) throw std::logic_error("no dataset kind " + std::string(kind));
  return dataset_kind->make(Options::validate(entry, dataset_kind->options, "datasets[0]"),
                            chunk_size);
}

// Up to `limit` chunks starting at `first`.
inline std::vector<Bytes> read_chunks(const Dataset& dataset, std::uint64_t first = 0,
                                      std::uint64_t limit = UINT64_MAX) {
  std::vector<Bytes> chunks;
  auto reader = dataset.open(first);
  Bytes chunk(dataset.chunk_size());
  while (chunks.size() < limit && reader->next(chunk)) chunks.push_back(chunk);
  return chunks;
}

// All chunks, read as the harness splits work: `parts` consecutive ranges, each read by its own
// reader on its own thread, then concatenated in order.
inline std::vector<Bytes> read_chunks_in_parallel(const Dataset& dataset, std::uint64_t parts) {
  const std::uint64_t total = dataset.available_chunks();
  std::vector<std::vector<Bytes>> ranges(parts);
  std::vector<std::thread> threads;
  for (std::uint64_t part = 0; part < parts; ++part) {
    threads.emplace_back([&, part] {
      const std::uint64_t first = total * part / parts;
      ranges[part] = read_chunks(dataset, first, total * (part + 1) / parts - first);
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<Bytes> chunks;
  for (auto& range : ranges) chunks.insert(chunks.end(), range.begin(), range.end());
  return chunks;
}

// The message of the InputError that `make` throws, or "" when it does not throw.
template <typename Make>
std::string input_error_of(Make make) {
  try {
    make();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

inline void write_file(const std::filesystem::path& path, ByteView bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace lmc::test
