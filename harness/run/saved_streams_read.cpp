// The reading side of saved streams: a compressor rebuilt from a container's header, and every
// stream decoded and checked. Apart from the writing side (saved_streams.cpp, which stamps
// provenance), so that the torch-free builds of tests/fuzz decode the golden streams with this
// same code under another compiler and other flags.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>

#include "common/error.h"
#include "harness/run/saved_streams.h"
#include "harness/run/task_pool.h"
#include "models/kernels/step_kernels.h"

namespace lmc {

namespace {

// Every "...fnv1a64" value in a settings object, by its key path ("model.checkpoint_fnv1a64"):
// the hashes of the model files (checkpoint, tokenizer) that decide the probabilities.
void collect_hashes(const nlohmann::json& value, const std::string& path,
                    std::map<std::string, std::string>& hashes) {
  if (!value.is_object()) return;
  for (const auto& [key, item] : value.items()) {
    const std::string where = path.empty() ? key : path + "." + key;
    if (item.is_string() && key.ends_with("fnv1a64")) hashes[where] = item.get<std::string>();
    collect_hashes(item, where, hashes);
  }
}

const nlohmann::json& require(const nlohmann::json& object, const std::string& key,
                              nlohmann::json::value_t type, const std::string& container) {
  const auto it = object.find(key);
  if (it == object.end() || it->type() != type) {
    throw InputError(container + ": damaged header: no " + key + " of the expected type");
  }
  return *it;
}

// A recorded model file that is not where it was: the one the user named with the same file
// name, or the only one named.
std::filesystem::path relocate(const std::filesystem::path& recorded,
                               const std::vector<std::filesystem::path>& models,
                               std::size_t model_options) {
  if (std::filesystem::exists(recorded) && models.empty()) return recorded;
  for (const auto& model : models) {
    if (model.filename() == recorded.filename()) return model;
  }
  if (models.size() == 1 && model_options == 1) return models.front();
  return recorded;
}

}  // namespace

std::map<std::string, std::string> model_file_hashes(const nlohmann::json& settings) {
  std::map<std::string, std::string> hashes;
  collect_hashes(settings, "", hashes);
  return hashes;
}

// The model files among a compressor's options: its non-empty Path options.
std::vector<std::string> model_path_options(const CompressorKind& kind,
                                            const nlohmann::json& options) {
  std::vector<std::string> names;
  for (const OptionSpec& spec : kind.options) {
    if (spec.type != OptionType::Path || !options.contains(spec.name)) continue;
    const auto& value = options.at(spec.name);
    if (value.is_string() && !value.get<std::string>().empty()) names.push_back(spec.name);
  }
  return names;
}

RebuiltCompressor rebuild_compressor(const StreamContainerReader& container,
                                     const std::vector<std::filesystem::path>& models) {
  const std::string& where = container.name();
  const nlohmann::json& header = container.header();
  const auto& entry = require(header, "compressor", nlohmann::json::value_t::object, where);
  const std::string kind_name =
      require(entry, "kind", nlohmann::json::value_t::string, where).get<std::string>();
  const std::string name =
      require(entry, "name", nlohmann::json::value_t::string, where).get<std::string>();
  nlohmann::json options = require(entry, "options", nlohmann::json::value_t::object, where);
  const nlohmann::json recorded_settings = entry.value("settings", nlohmann::json::object());
  const std::string mapping_name =
      require(header, "mapping", nlohmann::json::value_t::string, where).get<std::string>();
  const auto chunk_size = header.value("chunk_size", nlohmann::json()).is_number_unsigned()
                              ? header.at("chunk_size").get<std::uint64_t>()
                              : 0;

  const CompressorKind* kind = find_compressor_kind(kind_name);
  if (kind == nullptr) {
    throw InputError(where + ": compressor kind '" + kind_name + "' is not in this build");
  }
  const auto mapping = parse_mapping(mapping_name);
  if (!mapping) throw InputError(where + ": unknown mapping '" + mapping_name + "'");
  if (chunk_size == 0) throw InputError(where + ": damaged header: no chunk_size");

  const std::vector<std::string> files = model_path_options(*kind, options);
  for (const std::string& option : files) {
    const std::filesystem::path recorded = options.at(option).get<std::string>();
    const std::filesystem::path found = relocate(recorded, models, files.size());
    if (!std::filesystem::exists(found)) {
      throw InputError(where + ": model file " + recorded.string() + " (compressor " + name +
                       ", option " + option +
                       ") not found: name its new place with --model PATH (its hash must match)");
    }
    options[option] = found.string();
  }
  const std::map<std::string, std::string> expected = model_file_hashes(recorded_settings);
  if (!expected.empty()) {
    const int contract = header.value("kernel_contract", -1);
    if (contract != step_kernels::kContractVersion) {
      throw InputError(where + ": coded under kernel contract " + std::to_string(contract) +
                       "; this build implements contract " +
                       std::to_string(step_kernels::kContractVersion) +
                       " (docs/LM_SPEED.md): its probabilities differ, the streams cannot decode");
    }
  }

  RebuiltCompressor rebuilt;
  rebuilt.name = name;
  rebuilt.chunk_size = chunk_size;
  rebuilt.mapping = *mapping;
  const Options validated =
      Options::validate(options, kind->options, where + ": compressor.options", {});
  rebuilt.compressor = kind->make(validated, {chunk_size, *mapping});
  const std::map<std::string, std::string> actual =
      model_file_hashes(rebuilt.compressor->settings());
  for (const auto& [key, hash] : expected) {
    const auto it = actual.find(key);
    const std::string found = it == actual.end() ? "none" : it->second;
    if (found != hash) {
      throw InputError(where + ": wrong model for compressor " + name + ": " + key + " is " +
                       found + ", the streams were coded with " + hash);
    }
  }
  return rebuilt;
}

void decode_container(const StreamContainerReader& container, const Compressor& compressor,
                      unsigned threads, ProgressSink* progress, const DecodedChunkCheck& check) {
  const auto& records = container.chunks();
  const std::size_t batch = std::max<std::size_t>(1, compressor.decode_batch_size());
  std::uint64_t total_bytes = 0;
  for (const ChunkRecord& r : records) total_bytes += r.original_size;
  const std::uint64_t units = records.size();
  if (progress != nullptr) progress->start(std::span<const std::uint64_t>(&units, 1), total_bytes);

  TaskPool pool;
  for (std::size_t first = 0; first < records.size(); first += batch) {
    pool.add([&, first] {
      const std::size_t count = std::min(batch, records.size() - first);
      std::vector<Bytes> streams;
      std::vector<ByteView> views;
      std::vector<std::size_t> sizes;
      std::uint64_t bytes = 0;
      for (std::size_t i = first; i < first + count; ++i) {
        streams.push_back(container.stream(i));
        sizes.push_back(records[i].original_size);
        bytes += records[i].original_size;
      }
      views.assign(streams.begin(), streams.end());
      const auto started = std::chrono::steady_clock::now();
      const auto decoded = compressor.decompress_batch(views, sizes);
      for (std::size_t g = 0; g < count; ++g) {
        const std::uint64_t i = first + g;
        const std::string what = container.name() + ": chunk " + std::to_string(i);
        if (!decoded[g].error.empty()) {
          throw RoundTripError("decode failed: " + what + ": " + decoded[g].error);
        }
        if (crc32_of(decoded[g].bytes) != records[i].decoded_crc) {
          throw RoundTripError("decode failed: " + what + ": " +
                               std::to_string(decoded[g].bytes.size()) +
                               " bytes decoded whose CRC-32 differs from the coded chunk's");
        }
        if (check) check(i, decoded[g].bytes);
      }
      if (progress != nullptr) {
        progress->advance(
            0, count, bytes,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
    });
  }
  std::atomic<bool> stop{false};
  try {
    pool.run(std::max(1u, threads), stop);
  } catch (...) {
    if (progress != nullptr) progress->finish();
    throw;
  }
  if (progress != nullptr) progress->finish();
}

}  // namespace lmc
