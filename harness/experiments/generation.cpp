#include "harness/experiments/generation.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/hash.h"
#include "compressors/compressor.h"
#include "compressors/compressor_predictor.h"
#include "compressors/lm_compressor.h"
#include "datasets/dataset.h"
#include "harness/experiments/media_files.h"
#include "models/sampling.h"

namespace lmc {

namespace {

constexpr std::string_view kSchema = "lmc-bench/generation/1";
constexpr std::size_t kImageRows = kSampleChunkSize / kImageTileWidth;
constexpr int kFallbackSampleRate = 16000;  // LibriSpeech's

std::optional<Modality> modality_of_kind(std::string_view kind) {
  if (kind == "imagenet") return Modality::Image;
  if (kind == "librispeech") return Modality::Audio;
  if (kind == "enwik") return Modality::Text;
  return std::nullopt;
}

std::string_view extension(Modality modality) {
  switch (modality) {
    case Modality::Image:
      return "png";
    case Modality::Audio:
      return "wav";
    case Modality::Text:
      break;
  }
  return "txt";
}

// JSON from a file holds 7 as unsigned, JSON built in code as signed: both are fine.
bool is_non_negative_integer(const nlohmann::json& value) {
  return value.is_number_unsigned() ||
         (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

SampleInput parse_input(const nlohmann::json& object, const std::string& key_path) {
  if (!object.is_object() || !object.contains("chunk")) {
    throw InputError(key_path +
                     ".chunk: required key is missing (the chunk's index in the "
                     "dataset)");
  }
  const auto& chunk = object.at("chunk");
  if (!is_non_negative_integer(chunk)) {
    throw InputError(key_path + ".chunk: expected an integer >= 0, got " + chunk.dump());
  }
  // The modality first: a kind without one would otherwise fail on its options' names.
  const auto& kind = object.value("kind", nlohmann::json());
  const std::optional<Modality> modality =
      kind.is_string() ? modality_of_kind(kind.get<std::string>()) : std::nullopt;
  if (!modality && kind.is_string() && find_dataset_kind(kind.get<std::string>()) != nullptr) {
    throw InputError(key_path + ".kind: " + kind.get<std::string>() +
                     " has no layout to sample; use imagenet (image), librispeech (audio) or "
                     "enwik (text)");
  }
  nlohmann::json dataset = object;
  dataset.erase("chunk");
  SampleInput input;
  input.dataset = parse_dataset(dataset, key_path);  // names a missing or unknown kind
  input.chunk = chunk.get<std::uint64_t>();
  input.modality = *modality;
  return input;
}

template <typename Entry>
void check_unique_names(const std::vector<Entry>& entries, auto name_of, const std::string& list) {
  std::set<std::string> seen;
  for (const auto& entry : entries) {
    const std::string& name = name_of(entry);
    // Names become file names: INPUT-SAMPLER.png.
    if (name.find_first_of("/\\") != std::string::npos || name == "." || name == "..") {
      throw InputError(list + ": the name \"" + name + "\" cannot be part of a file name");
    }
    if (!seen.insert(name).second) throw InputError(list + ": duplicate name \"" + name + "\"");
  }
}

// ---- Running ----------------------------------------------------------------------------------

struct PreparedInput {
  const SampleInput* entry = nullptr;
  Bytes original;
  std::vector<bool> sampled;
  int sample_rate = kFallbackSampleRate;  // audio only
  nlohmann::json provenance;
};

struct PreparedSampler {
  const CompressorEntry* entry = nullptr;
  std::shared_ptr<const Predictor> predictor;
  bool language_model = false;  // sees the 7-bit image of the data
  nlohmann::json settings;
};

PreparedInput read_input(const SampleInput& input) {
  const DatasetKind* kind = find_dataset_kind(input.dataset.kind);
  const std::unique_ptr<Dataset> dataset = kind->make(input.dataset.options, kSampleChunkSize);
  const std::uint64_t available = dataset->available_chunks();
  if (input.chunk >= available) {
    throw InputError(input.dataset.key_path + ".chunk: " + std::to_string(input.chunk) +
                     " is past the last chunk; the dataset holds " + std::to_string(available) +
                     " chunks of " + std::to_string(kSampleChunkSize) + " bytes");
  }
  PreparedInput prepared;
  prepared.entry = &input;
  prepared.original.resize(kSampleChunkSize);
  prepared.sampled = sampled_positions(input.modality);
  if (!dataset->open(input.chunk)->next(prepared.original)) {
    throw InputError(input.dataset.key_path + ": chunk " + std::to_string(input.chunk) +
                     " could not be read");
  }
  prepared.provenance = dataset->provenance();
  // The WAV files play at the corpus's rate when it has one.
  const auto& rates = prepared.provenance.value("sample_rates", nlohmann::json::array());
  if (rates.is_array() && rates.size() == 1 && rates[0].is_number_integer()) {
    prepared.sample_rate = rates[0].get<int>();
  }
  return prepared;
}

PreparedSampler load_sampler(const CompressorEntry& entry) {
  PreparedSampler sampler;
  sampler.entry = &entry;
  if (entry.kind == "lm") {
    // The Transformer's own distribution: one forward step per byte, where the lm compressor
    // as a compressor would cost 256 LM passes per byte.
    sampler.predictor = load_byte_transformer(entry.options.string("checkpoint"));
    sampler.language_model = true;
    sampler.settings = sampler.predictor->describe();
    return sampler;
  }
  const CompressorKind* kind = find_compressor_kind(entry.kind);
  std::shared_ptr<const Compressor> compressor = kind->make(entry.options, CodecContext{});
  sampler.settings = compressor->settings();
  sampler.predictor = std::make_shared<const CompressorPredictor>(compressor, entry.name);
  return sampler;
}

// A generator seed per (input, sampler) pair, from names: adding a sampler or reordering the
// config changes no other sample.
std::uint64_t pair_seed(std::uint64_t seed, const std::string& input, const std::string& sampler) {
  std::uint64_t hash = fnv1a64(std::to_string(seed));
  hash = fnv1a64("/" + input, hash);
  return fnv1a64("/" + sampler, hash);
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

void write_chunk(const std::filesystem::path& path, const PreparedInput& input, ByteView bytes) {
  switch (input.entry->modality) {
    case Modality::Image:
      write_gray_png(path, bytes, kImageTileWidth);
      return;
    case Modality::Audio:
      write_u8_wav(path, bytes, input.sample_rate);
      return;
    case Modality::Text:
      write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
      return;
  }
}

std::string file_name(const PreparedInput& input, const std::string& suffix) {
  return input.entry->dataset.name + "-" + suffix + "." +
         std::string(extension(input.entry->modality));
}

// Completes one chunk with one sampler, with a progress line every interval.
nlohmann::json run_pair(const PreparedInput& input, const PreparedSampler& sampler,
                        const SamplesConfig& config, const std::filesystem::path& out,
                        const SamplesOptions& options) {
  const std::string label = input.entry->dataset.name + " / " + sampler.entry->name;
  const auto to_sample =
      static_cast<std::size_t>(std::count(input.sampled.begin(), input.sampled.end(), true));
  const auto say = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  say(label + ": sampling " + std::to_string(to_sample) + " bytes");
  const std::uint64_t seed = pair_seed(config.seed, input.entry->dataset.name, sampler.entry->name);
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = thread_cpu_seconds();
  auto next_report = started + options.progress_interval;
  std::size_t drawn = 0;
  const auto on_draw = [&] {
    ++drawn;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_report || drawn == to_sample) return;
    next_report = now + options.progress_interval;
    const double seconds = std::chrono::duration<double>(now - started).count();
    say(label + ": " + std::to_string(drawn) + "/" + std::to_string(to_sample) + " bytes, " +
        std::to_string(static_cast<int>(seconds)) + " s, about " +
        std::to_string(static_cast<int>(seconds * static_cast<double>(to_sample - drawn) /
                                        static_cast<double>(drawn))) +
        " s left");
  };
  const std::optional<SevenBitMapping> mapping =
      sampler.language_model ? std::optional(input.entry->dataset.mapping) : std::nullopt;
  const Bytes sample = fill_sampled_bytes(*sampler.predictor, input.original, input.sampled,
                                          mapping, {config.temperature, seed}, on_draw);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = thread_cpu_seconds() - cpu_started;
  const std::string file = file_name(input, sampler.entry->name);
  write_chunk(out / file, input, sample);
  char timing[96];
  std::snprintf(timing, sizeof timing, "%.1f s (%.1f CPU s)", wall, cpu);
  say(label + ": done in " + timing + " -> " + (out / file).string());
  return {{"sampler", sampler.entry->name},
          {"file", file},
          {"seed", seed},
          {"seconds", std::round(wall * 100) / 100},
          {"cpu_seconds", std::round(cpu * 100) / 100}};
}

}  // namespace

std::string_view to_string(Modality modality) {
  switch (modality) {
    case Modality::Image:
      return "image";
    case Modality::Audio:
      return "audio";
    case Modality::Text:
      break;
  }
  return "text";
}

std::vector<bool> sampled_positions(Modality modality) {
  std::vector<bool> sampled(kSampleChunkSize, false);
  switch (modality) {
    case Modality::Image:
      for (std::size_t i = 0; i < sampled.size(); ++i) {
        sampled[i] = i % kImageTileWidth >= kImageTileWidth / 2;
      }
      break;
    case Modality::Audio:
      std::fill(sampled.begin() + kSampleChunkSize / 2, sampled.end(), true);
      break;
    case Modality::Text:
      std::fill(sampled.end() - kTextSampledBytes, sampled.end(), true);
      break;
  }
  return sampled;
}

SamplesConfig parse_samples_config(const nlohmann::json& source) {
  if (!source.is_object()) throw InputError("config: expected a JSON object");
  check_known_keys(source, {"description", "inputs", "name", "samplers", "seed", "temperature"},
                   "");
  SamplesConfig config;
  config.source = source;
  const auto& name = source.value("name", nlohmann::json("samples"));
  if (!name.is_string() || name.get<std::string>().empty()) {
    throw InputError("name: expected a non-empty string, got " + name.dump());
  }
  config.name = name.get<std::string>();
  if (source.contains("description")) {
    if (!source["description"].is_string()) {
      throw InputError("description: expected a string, got " + source["description"].dump());
    }
    config.description = source["description"].get<std::string>();
  }
  if (source.contains("seed")) {
    if (!is_non_negative_integer(source["seed"])) {
      throw InputError("seed: expected an integer >= 0, got " + source["seed"].dump());
    }
    config.seed = source["seed"].get<std::uint64_t>();
  }
  if (source.contains("temperature")) {
    const auto& t = source["temperature"];
    if (!t.is_number() || t.get<double>() < 0 || !std::isfinite(t.get<double>())) {
      throw InputError(
          "temperature: expected a number >= 0 (0: greedy, 1: the sampler's own "
          "distribution), got " +
          t.dump());
    }
    config.temperature = t.get<double>();
  }
  const auto& inputs = require_array(source, "inputs");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    config.inputs.push_back(parse_input(inputs[i], "inputs[" + std::to_string(i) + "]"));
  }
  const auto& samplers = require_array(source, "samplers");
  for (std::size_t i = 0; i < samplers.size(); ++i) {
    config.samplers.push_back(parse_compressor(samplers[i], "samplers[" + std::to_string(i) + "]"));
  }
  check_unique_names(
      config.inputs, [](const SampleInput& e) -> const std::string& { return e.dataset.name; },
      "inputs");
  check_unique_names(
      config.samplers, [](const CompressorEntry& e) -> const std::string& { return e.name; },
      "samplers");
  for (const auto& sampler : config.samplers) {
    if (sampler.name == "original") {
      throw InputError(sampler.key_path + ".name: \"original\" names the given chunk's files");
    }
  }
  return config;
}

nlohmann::json generate_samples(const SamplesConfig& config, const std::filesystem::path& out,
                                const SamplesOptions& options) {
  std::vector<PreparedInput> inputs;
  for (const auto& input : config.inputs) inputs.push_back(read_input(input));
  std::vector<PreparedSampler> samplers;
  for (const auto& sampler : config.samplers) samplers.push_back(load_sampler(sampler));

  std::filesystem::create_directories(out);
  nlohmann::json result = {{"schema", kSchema},
                           {"run", options.provenance},
                           {"config", config.source},
                           {"chunk_size", kSampleChunkSize},
                           {"temperature", config.temperature},
                           {"samplers", nlohmann::json::array()},
                           {"inputs", nlohmann::json::array()}};
  for (const auto& sampler : samplers) {
    result["samplers"].push_back({{"name", sampler.entry->name},
                                  {"kind", sampler.entry->kind},
                                  {"language_model", sampler.language_model},
                                  {"parameters", sampler.predictor->parameter_count()},
                                  {"settings", sampler.settings}});
  }
  for (const auto& input : inputs) {
    const std::string original = file_name(input, "original");
    write_chunk(out / original, input, input.original);
    nlohmann::json entry = {
        {"name", input.entry->dataset.name},
        {"modality", to_string(input.entry->modality)},
        {"kind", input.entry->dataset.kind},
        {"chunk", input.entry->chunk},
        {"lm_mapping", to_string(input.entry->dataset.mapping)},
        {"dataset", input.provenance},
        {"given_bytes", std::count(input.sampled.begin(), input.sampled.end(), false)},
        {"sampled_bytes", std::count(input.sampled.begin(), input.sampled.end(), true)},
        {"original", original},
        {"samples", nlohmann::json::array()}};
    if (input.entry->modality == Modality::Image) {
      entry["width"] = kImageTileWidth;
      entry["height"] = kImageRows;
    }
    if (input.entry->modality == Modality::Audio) entry["sample_rate"] = input.sample_rate;
    for (const auto& sampler : samplers) {
      entry["samples"].push_back(run_pair(input, sampler, config, out, options));
    }
    result["inputs"].push_back(std::move(entry));
  }
  write_file_atomically(out / "generation.json", result.dump(1) + "\n");
  return result;
}

}  // namespace lmc
