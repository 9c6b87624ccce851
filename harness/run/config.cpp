#include "harness/run/config.h"

#include <algorithm>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/json.h"
#include "compressors/compressor.h"
#include "datasets/dataset.h"

namespace lmc {

std::string_view to_string(Mode mode) { return mode == Mode::Chunked ? "chunked" : "unchunked"; }

namespace {

// One step of an override path: an object key or an array index.
struct PathStep {
  std::string key;
  std::optional<std::size_t> index;
};

std::vector<PathStep> parse_key_path(const std::string& path) {
  std::vector<PathStep> steps;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      const auto close = path.find(']', i);
      const std::string digits = path.substr(i + 1, close - i - 1);
      if (close == std::string::npos || digits.empty() ||
          !std::all_of(digits.begin(), digits.end(), ::isdigit)) {
        throw InputError("--set " + path + ": bad array index");
      }
      steps.push_back({"", std::stoul(digits)});
      i = close + 1;
    } else {
      if (path[i] == '.') ++i;
      const auto end = path.find_first_of(".[", i);
      const std::string key = path.substr(i, end == std::string::npos ? end : end - i);
      if (key.empty()) throw InputError("--set " + path + ": empty key");
      steps.push_back({key, std::nullopt});
      i = end == std::string::npos ? path.size() : end;
    }
  }
  if (steps.empty()) throw InputError("--set: empty key path");
  return steps;
}

}  // namespace

void apply_override(nlohmann::json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) {
    throw InputError("--set " + assignment + ": expected key=value");
  }
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  check_json_nesting(text, "--set " + path);
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;

  nlohmann::json* node = &config;
  std::string walked;
  for (const auto& step : parse_key_path(path)) {
    if (step.index) {
      walked += "[" + std::to_string(*step.index) + "]";
      if (!node->is_array() || *step.index >= node->size()) {
        throw InputError("--set " + path + ": " + walked + " does not exist");
      }
      node = &(*node)[*step.index];
    } else {
      walked += (walked.empty() ? "" : ".") + step.key;
      if (!node->is_object())
        throw InputError("--set " + path + ": " + walked + " is not an object");
      node = &(*node)[step.key];
    }
  }
  *node = std::move(value);
}

namespace {

const nlohmann::json& require(const nlohmann::json& object, const std::string& key,
                              const std::string& where) {
  if (!object.contains(key)) throw InputError(where + key + ": required key is missing");
  return object.at(key);
}

std::string require_string(const nlohmann::json& object, const std::string& key,
                           const std::string& where) {
  const auto& value = require(object, key, where);
  if (!value.is_string() || value.get<std::string>().empty()) {
    throw InputError(where + key + ": expected a non-empty string, got " + value.dump());
  }
  return value.get<std::string>();
}

std::int64_t positive_integer(const nlohmann::json& value, const std::string& path) {
  if (!value.is_number_integer() || value.get<std::int64_t>() <= 0) {
    throw InputError(path + ": expected a positive integer, got " + value.dump());
  }
  return value.get<std::int64_t>();
}

// Enough to see the spread of a fast codec; more only multiplies the run time.
constexpr std::int64_t kMaxRepetitions = 100;

unsigned repetitions_at(const nlohmann::json& object, const std::string& where) {
  const std::string path = where + "repetitions";
  const std::int64_t value = positive_integer(object.at("repetitions"), path);
  if (value > kMaxRepetitions) {
    throw InputError(path + ": at most " + std::to_string(kMaxRepetitions) + ", got " +
                     std::to_string(value));
  }
  return static_cast<unsigned>(value);
}

std::string kind_names(const auto& kinds) {
  std::string names;
  for (const auto& k : kinds) names += (names.empty() ? "" : ", ") + k.name;
  return names;
}

}  // namespace

void check_known_keys(const nlohmann::json& object, const std::vector<std::string>& known,
                      const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw InputError(where + key + ": unknown key (known keys: " + list + ")");
    }
  }
}

const nlohmann::json& require_array(const nlohmann::json& config, const std::string& key) {
  const auto& array = require(config, key, "");
  if (!array.is_array() || array.empty()) {
    throw InputError(key + ": expected a non-empty array, got " + array.dump());
  }
  return array;
}

DatasetEntry parse_dataset(const nlohmann::json& object, const std::string& key_path) {
  const std::string where = key_path + ".";
  if (!object.is_object())
    throw InputError(key_path + ": expected an object, got " + object.dump());
  DatasetEntry entry;
  entry.key_path = key_path;
  entry.name = require_string(object, "name", where);
  entry.kind = require_string(object, "kind", where);
  const DatasetKind* kind = find_dataset_kind(entry.kind);
  if (kind == nullptr) {
    throw InputError(where + "kind: unknown dataset kind '" + entry.kind +
                     "' (known: " + kind_names(dataset_kinds()) + ")");
  }
  if (object.contains("num_chunks")) {
    entry.num_chunks = positive_integer(object.at("num_chunks"), where + "num_chunks");
  }
  entry.mapping = kind->default_mapping;
  if (object.contains("lm_mapping")) {
    const auto& value = object.at("lm_mapping");
    auto mapping = value.is_string() ? parse_mapping(value.get<std::string>()) : std::nullopt;
    if (!mapping) {
      throw InputError(where +
                       "lm_mapping: expected \"clear_top_bit\", \"shift_right\" or "
                       "\"identity\", got " +
                       value.dump());
    }
    entry.mapping = *mapping;
  }
  entry.options = Options::validate(object, kind->options, key_path,
                                    {"name", "kind", "num_chunks", "lm_mapping"});
  return entry;
}

CompressorEntry parse_compressor(const nlohmann::json& object, const std::string& key_path) {
  const std::string where = key_path + ".";
  if (!object.is_object())
    throw InputError(key_path + ": expected an object, got " + object.dump());
  CompressorEntry entry;
  entry.key_path = key_path;
  entry.name = require_string(object, "name", where);
  entry.kind = object.contains("kind") ? require_string(object, "kind", where) : entry.name;
  const CompressorKind* kind = find_compressor_kind(entry.kind);
  if (kind == nullptr) {
    throw InputError(where + (object.contains("kind") ? "kind" : "name") +
                     ": unknown compressor '" + entry.kind +
                     "' (known: " + kind_names(compressor_kinds()) + ")");
  }
  if (object.contains("num_chunks")) {
    entry.num_chunks = positive_integer(object.at("num_chunks"), where + "num_chunks");
  }
  if (object.contains("repetitions")) entry.repetitions = repetitions_at(object, where);
  entry.options = Options::validate(object, kind->options, key_path,
                                    {"name", "kind", "num_chunks", "repetitions"});
  return entry;
}

unsigned repetitions_of(const RunConfig& config, const CompressorEntry& entry) {
  if (entry.repetitions) return *entry.repetitions;
  if (config.repetitions) return *config.repetitions;
  const CompressorKind* kind = find_compressor_kind(entry.kind);
  return kind != nullptr ? kind->default_repetitions : 1;  // a compressor made outside the registry
}

nlohmann::json byte_deciding_config(const nlohmann::json& source) {
  nlohmann::json config = source;
  if (!config.is_object()) return config;
  config.erase("repetitions");
  config.erase("peak_memory");
  if (config.contains("compressors") && config["compressors"].is_array()) {
    for (auto& entry : config["compressors"]) {
      if (entry.is_object()) entry.erase("repetitions");
    }
  }
  return config;
}

namespace {

template <typename Entry>
void check_unique_names(const std::vector<Entry>& entries, const std::string& list) {
  std::set<std::string> seen;
  for (const auto& e : entries) {
    if (!seen.insert(e.name).second) {
      throw InputError(e.key_path + ".name: duplicate name '" + e.name + "' in " + list);
    }
  }
}

}  // namespace

RunConfig parse_run_config(const nlohmann::json& config) {
  if (!config.is_object()) throw InputError("config: expected a JSON object");
  check_known_keys(config,
                   {"name", "description", "chunk_size", "datasets", "compressors", "modes",
                    "threads", "repetitions", "peak_memory", "verify"},
                   "");
  RunConfig run;
  run.source = config;
  run.name = require_string(config, "name", "");
  if (run.name.find_first_of("/\\") != std::string::npos || run.name == "." || run.name == "..") {
    throw InputError("name: must be usable as a folder name, got \"" + run.name + "\"");
  }
  if (config.contains("description")) {
    if (!config["description"].is_string()) throw InputError("description: expected a string");
    run.description = config["description"].get<std::string>();
  }
  if (config.contains("chunk_size")) {
    run.chunk_size = static_cast<std::size_t>(positive_integer(config["chunk_size"], "chunk_size"));
  }
  const auto& datasets = require_array(config, "datasets");
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    run.datasets.push_back(parse_dataset(datasets[i], "datasets[" + std::to_string(i) + "]"));
  }
  check_unique_names(run.datasets, "datasets");
  const auto& compressors = require_array(config, "compressors");
  for (std::size_t i = 0; i < compressors.size(); ++i) {
    run.compressors.push_back(
        parse_compressor(compressors[i], "compressors[" + std::to_string(i) + "]"));
  }
  check_unique_names(run.compressors, "compressors");

  if (config.contains("modes")) {
    const auto& modes = config["modes"];
    if (!modes.is_array() || modes.empty()) {
      throw InputError("modes: expected a non-empty array of \"chunked\" / \"unchunked\"");
    }
    for (std::size_t i = 0; i < modes.size(); ++i) {
      const std::string mode = modes[i].is_string() ? modes[i].get<std::string>() : "";
      if (mode == "chunked") {
        run.modes.push_back(Mode::Chunked);
      } else if (mode == "unchunked") {
        run.modes.push_back(Mode::Unchunked);
      } else {
        throw InputError("modes[" + std::to_string(i) +
                         "]: expected \"chunked\" or \"unchunked\", got " + modes[i].dump());
      }
    }
  } else {
    run.modes = {Mode::Chunked, Mode::Unchunked};
  }

  run.threads = std::max(1u, std::thread::hardware_concurrency());
  if (config.contains("threads")) {
    run.threads = static_cast<unsigned>(positive_integer(config["threads"], "threads"));
  }
  if (config.contains("repetitions")) run.repetitions = repetitions_at(config, "");
  if (config.contains("peak_memory")) {
    if (!config["peak_memory"].is_boolean()) {
      throw InputError("peak_memory: expected true or false");
    }
    run.peak_memory = config["peak_memory"].get<bool>();
  }
  if (config.contains("verify")) {
    if (!config["verify"].is_boolean()) throw InputError("verify: expected true or false");
    run.verify = config["verify"].get<bool>();
  }
  return run;
}

}  // namespace lmc
