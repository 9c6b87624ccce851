// A run's configuration: one JSON object (docs/RUNNING.md, "Commands and the config"),
// overridden by `--set key=value`, validated completely before any work starts so a bad key fails
// fast with its key path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/mapping.h"
#include "common/options.h"

namespace lmc {

enum class Mode { Chunked, Unchunked };
std::string_view to_string(Mode mode);

struct DatasetEntry {
  std::string name;
  std::string kind;
  std::optional<std::uint64_t> num_chunks;  // cap; absent = every chunk the corpus holds
  SevenBitMapping mapping;                  // for LM compressors
  Options options;                          // the kind's own options (path, seed, ...)
  std::string key_path;                     // "datasets[1]"
};

struct CompressorEntry {
  std::string name;
  std::string kind;
  // Evaluate this compressor on the first num_chunks chunks of each dataset only (slow
  // language models in a demo); the row says so.
  std::optional<std::uint64_t> num_chunks;
  // Times each chunk is coded (docs/PROTOCOL.md section 9); absent: the config's, else the kind's.
  std::optional<unsigned> repetitions;
  Options options;
  std::string key_path;  // "compressors[0]"
};

struct RunConfig {
  std::string name;
  std::string description;
  std::size_t chunk_size = 2048;
  std::vector<DatasetEntry> datasets;
  std::vector<CompressorEntry> compressors;
  std::vector<Mode> modes;
  unsigned threads = 1;
  std::optional<unsigned> repetitions;  // every compressor without its own
  // Measure each row's peak memory: its first window of work runs alone (docs/PROTOCOL.md
  // section 9), which costs parallelism while an unchunked stream's first pass runs.
  bool peak_memory = true;
  bool verify = true;
  nlohmann::json source;  // the JSON after overrides, for provenance
};

// Applies `key=value` overrides: key is a path like `datasets[0].num_chunks`, value is parsed
// as JSON and taken as a plain string when it is not JSON (`--set name=quick2`).
void apply_override(nlohmann::json& config, const std::string& assignment);

// Validates every key (types, ranges, unknown keys, registry kinds and their options).
RunConfig parse_run_config(const nlohmann::json& config);

// How many times the rows of `entry` code each chunk: its own `repetitions`, else the config's,
// else its kind's default (1 for the slow kinds: language models, programs, libFLAC).
unsigned repetitions_of(const RunConfig& config, const CompressorEntry& entry);

// The config JSON less the keys that decide no byte and no count (`repetitions`,
// `peak_memory`): what a run journal's fingerprint covers, so a run resumes with other ones.
nlohmann::json byte_deciding_config(const nlohmann::json& source);

// The checks every config reader shares. `where` ("datasets[1].") prefixes the key in messages;
// an unknown key's message lists `known` in the order given.
void check_known_keys(const nlohmann::json& object, const std::vector<std::string>& known,
                      const std::string& where);
// config[key], which must be a non-empty array (errors name the key).
const nlohmann::json& require_array(const nlohmann::json& config, const std::string& key);

// One entry of "datasets" or "compressors", validated the same way; `key_path` ("datasets[1]")
// starts every error message. `bench samples` reads its inputs and samplers with them too.
DatasetEntry parse_dataset(const nlohmann::json& object, const std::string& key_path);
CompressorEntry parse_compressor(const nlohmann::json& object, const std::string& key_path);

}  // namespace lmc
