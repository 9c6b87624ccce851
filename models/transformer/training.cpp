// Training loop of the byte Transformer. Everything that decides the weights (initialisation,
// the chunks of each step, the Adam state) is a function of the config, the seed and the step
// number, so a run resumed from its last state file continues exactly as if never stopped.
#include "models/transformer/training.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>

#include "common/error.h"
#include "common/json.h"
#include "common/options.h"
#include "models/kernels/blas_kernels.h"
#include "models/tokenizers/sentencepiece_tokenizer.h"
#include "models/training_text.h"
#include "models/transformer/checkpoint.h"
#include "models/transformer/torch_transformer.h"

namespace lmc {

namespace {

struct CurriculumPhase {
  std::int64_t sequence_length = 0, steps = 0;
};

struct TrainingConfig {
  TransformerShape shape;
  TrainingTextSource text;
  std::filesystem::path tokenizer;  // empty: a byte model (the paper's Table 1)
  std::uint64_t seed = 0;
  std::int64_t batch_size = 32;
  std::int64_t sequence_length = 2048;
  // Optional first phases on shorter windows (attention cost grows with the square of the
  // length), in order; the steps after them use full sequences.
  std::vector<CurriculumPhase> curriculum;
  std::int64_t steps = 1'000'000;
  double learning_rate = 1e-4;
  std::string schedule;  // "constant" or "cosine"
  std::int64_t warmup_steps = 0;
  double final_learning_rate_fraction = 0.1;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double gradient_clip_norm = 0;  // 0: none, as in the paper
  double dropout = 0;             // 0: none, as in the paper
  int threads = 2;
  std::string device = "cpu";
  std::int64_t log_every = 50, eval_every = 500, checkpoint_every = 1000;
  std::int64_t eval_sequences = 16, eval_sequence_length = 2048;
  double max_time_s = 0;          // 0: no limit
  std::int64_t stop_at_step = 0;  // 0: run to `steps`
  std::filesystem::path checkpoint_path, log_path;
  std::filesystem::path init_checkpoint;  // start from these weights (fresh Adam), if set
  nlohmann::json source;  // the config as validated, for the checkpoint's provenance

  // The same at every step: a curriculum phase trains more, shorter windows.
  std::int64_t tokens_per_step() const { return batch_size * sequence_length; }
};

// The keys after those of the training text (models/training_text.h).
std::vector<OptionSpec> after_training_text(const std::vector<OptionSpec>& rest) {
  std::vector<OptionSpec> specs = training_text_specs();
  specs.insert(specs.end(), rest.begin(), rest.end());
  return specs;
}

const std::vector<OptionSpec>& training_specs() {
  static const std::vector<OptionSpec> specs = after_training_text({
      {"seed", OptionType::Integer, 0, "initialisation and chunk sampling seed"},
      {"batch_size", OptionType::Integer, 32, "sequences per step"},
      {"sequence_length", OptionType::Integer, 2048,
       "symbols per training sequence (bytes; tokens with a tokenizer)"},
      {"tokenizer", OptionType::Path, "",
       "SentencePiece .model (lmc_train_tokenizer): the model reads and predicts its tokens, "
       "and architecture.vocab_size must be its size; empty = bytes (the paper's Table 1)"},
      {"short_sequence_length", OptionType::Integer, 0,
       "first phase: windows of this many bytes, placed at random positions of a "
       "sequence_length sequence, batch scaled to keep tokens per step; 0 = off (paper)"},
      {"short_sequence_steps", OptionType::Integer, 0, "steps of the short-window phase"},
      {"device", OptionType::String, "cpu",
       "cpu, cuda or cuda:N (needs a CUDA-enabled libtorch at build time)"},
      {"steps", OptionType::Integer, 1000000, "optimiser steps; 0 writes the initialised model"},
      {"learning_rate", OptionType::Number, 1e-4, "Adam learning rate (peak, with a schedule)"},
      {"schedule", OptionType::String, "constant",
       "constant or cosine (decay to final_learning_rate_fraction)"},
      {"warmup_steps", OptionType::Integer, 0, "linear warm-up steps"},
      {"final_learning_rate_fraction", OptionType::Number, 0.1,
       "cosine schedule end, as a fraction of the peak"},
      {"adam_beta1", OptionType::Number, 0.9, "Adam beta1"},
      {"adam_beta2", OptionType::Number, 0.999, "Adam beta2"},
      {"adam_epsilon", OptionType::Number, 1e-8, "Adam epsilon"},
      {"gradient_clip_norm", OptionType::Number, 0.0,
       "clip the global gradient norm; 0 = off (paper)"},
      {"dropout", OptionType::Number, 0.0,
       "while training, drop this fraction of the embedding and of each residual branch's "
       "output (masks drawn from the seed and the step); 0 = off (paper)"},
      {"threads", OptionType::Integer, 2, "libtorch intra-op threads"},
      {"log_every", OptionType::Integer, 50, "steps between progress lines / log rows"},
      {"eval_every", OptionType::Integer, 500, "steps between held-out evaluations"},
      {"checkpoint_every", OptionType::Integer, 1000, "steps between checkpoints"},
      {"eval_sequences", OptionType::Integer, 16,
       "held-out sequences in the fixed evaluation sample"},
      {"eval_sequence_length", OptionType::Integer, 2048, "bytes per held-out sequence"},
      {"max_time_s", OptionType::Number, 0.0,
       "stop (with a checkpoint) after this many seconds of training; 0 = no limit"},
      {"stop_at_step", OptionType::Integer, 0,
       "stop (with a checkpoint and resume state) after this step, as if interrupted there; "
       "0 = run to steps. The first part of a run whose config changes at a known step"},
      {"init_checkpoint", OptionType::Path, "",
       "start from this checkpoint's weights (a second training stage); Adam starts fresh"},
      {"checkpoint", OptionType::Path, nullptr, "output checkpoint path (.lmct)"},
      {"log", OptionType::Path, "",
       "training log CSV; default: the checkpoint path with .train.csv"},
  });
  return specs;
}

// "curriculum": [{"sequence_length": S, "steps": N}, ...], or its one-phase shorthand
// short_sequence_length / short_sequence_steps. Each S divides the full sequence length, so a
// short window can stand at any of the full sequence's slots.
std::vector<CurriculumPhase> parse_curriculum(const nlohmann::json& json, const Options& options,
                                              std::int64_t full_length) {
  std::vector<CurriculumPhase> phases;
  const auto short_length = options.integer("short_sequence_length");
  const auto short_steps = options.integer("short_sequence_steps");
  if (short_length < 0) throw InputError("short_sequence_length: must be >= 0");
  if (short_steps < 0) throw InputError("short_sequence_steps: must be >= 0");
  if (short_length > 0 && short_steps > 0) phases.push_back({short_length, short_steps});
  if (json.contains("curriculum")) {
    if (!phases.empty()) {
      throw InputError("curriculum: give either curriculum or short_sequence_length/steps");
    }
    const auto& list = json["curriculum"];
    if (!list.is_array()) throw InputError("curriculum: expected an array of phases");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto key = "curriculum[" + std::to_string(i) + "]";
      const auto& phase = list[i];
      if (!phase.is_object() || phase.size() != 2 || !phase.contains("sequence_length") ||
          !phase.contains("steps") || !phase["sequence_length"].is_number_integer() ||
          !phase["steps"].is_number_integer()) {
        throw InputError(key + ": expected {\"sequence_length\": integer, \"steps\": integer}");
      }
      phases.push_back(
          {phase["sequence_length"].get<std::int64_t>(), phase["steps"].get<std::int64_t>()});
      if (phases.back().steps <= 0) throw InputError(key + ".steps: must be positive");
    }
  }
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const auto s = phases[i].sequence_length;
    if (s <= 0 || s > full_length || full_length % s != 0) {
      throw InputError((json.contains("curriculum")
                            ? "curriculum[" + std::to_string(i) + "].sequence_length"
                            : std::string("short_sequence_length")) +
                       ": must divide sequence_length (" + std::to_string(full_length) + ")");
    }
  }
  return phases;
}

void check_device(const std::string& device, const std::string& key) {
  if (device == "cpu") return;
  if (device != "cuda" && device.rfind("cuda:", 0) != 0) {
    throw InputError(key + ": expected cpu, cuda or cuda:N, not \"" + device + "\"");
  }
  std::optional<torch::Device> parsed;
  try {
    parsed.emplace(device);
  } catch (const std::exception&) {
    throw InputError(key + ": \"" + device + "\" is not a device name (cpu, cuda or cuda:N)");
  }
  if (!torch::cuda::is_available()) {
    throw InputError(key + ": \"" + device +
                     "\" needs a CUDA-enabled libtorch and a visible GPU; this build's libtorch "
                     "sees none. Build against a CUDA libtorch: cmake -S . -B build-cuda "
                     "-DCMAKE_PREFIX_PATH=\"$(python3 -c 'import torch; "
                     "print(torch.utils.cmake_prefix_path)')\" (models/README.md)");
  }
  if (parsed->has_index() && parsed->index() >= static_cast<int>(torch::cuda::device_count())) {
    throw InputError(key + ": \"" + device + "\" but only " +
                     std::to_string(torch::cuda::device_count()) + " CUDA device(s) are visible");
  }
}

TrainingConfig parse_config_json(const nlohmann::json& json) {
  if (!json.is_object()) throw InputError("expected a JSON object");
  if (!json.contains("architecture")) throw InputError("architecture: required key is missing");
  // "architecture" is an object, validated by TransformerShape.
  const auto options =
      Options::validate(json, training_specs(), "", {"architecture", "comment", "curriculum"});

  TrainingConfig c;
  c.shape = TransformerShape::from_json(json["architecture"], "architecture");
  auto positive = [&](const char* key) {
    const auto value = options.integer(key);
    if (value <= 0) throw InputError(options.key_path(key) + ": must be positive");
    return value;
  };
  c.text = TrainingTextSource::from_options(options);
  c.tokenizer = options.string("tokenizer");
  if (!c.tokenizer.empty() && !std::filesystem::is_regular_file(c.tokenizer)) {
    throw InputError(options.key_path("tokenizer") + ": " + c.tokenizer.string() +
                     ": not found (train it with lmc_train_tokenizer)");
  }
  c.seed = static_cast<std::uint64_t>(options.integer("seed"));
  c.batch_size = positive("batch_size");
  c.sequence_length = positive("sequence_length");
  c.curriculum = parse_curriculum(json, options, c.sequence_length);
  c.steps = options.integer("steps");
  if (c.steps < 0) throw InputError(options.key_path("steps") + ": must be >= 0");
  c.learning_rate = options.number("learning_rate");
  if (!(c.learning_rate > 0)) throw InputError(options.key_path("learning_rate") + ": must be > 0");
  c.schedule = options.string("schedule");
  if (c.schedule != "constant" && c.schedule != "cosine") {
    throw InputError(options.key_path("schedule") + ": expected constant or cosine");
  }
  c.warmup_steps = options.integer("warmup_steps");
  if (c.warmup_steps < 0) throw InputError(options.key_path("warmup_steps") + ": must be >= 0");
  c.final_learning_rate_fraction = options.number("final_learning_rate_fraction");
  c.adam_beta1 = options.number("adam_beta1");
  c.adam_beta2 = options.number("adam_beta2");
  c.adam_epsilon = options.number("adam_epsilon");
  c.gradient_clip_norm = options.number("gradient_clip_norm");
  c.dropout = options.number("dropout");
  if (!(c.dropout >= 0 && c.dropout < 1))
    throw InputError(options.key_path("dropout") + ": must be at least 0 and below 1");
  c.threads = static_cast<int>(positive("threads"));
  c.device = options.string("device");
  check_device(c.device, options.key_path("device"));
  c.log_every = positive("log_every");
  c.eval_every = positive("eval_every");
  c.checkpoint_every = positive("checkpoint_every");
  c.eval_sequences = positive("eval_sequences");
  c.eval_sequence_length = positive("eval_sequence_length");
  c.max_time_s = options.number("max_time_s");
  c.stop_at_step = options.integer("stop_at_step");
  if (c.stop_at_step < 0 || c.stop_at_step > c.steps) {
    throw InputError(options.key_path("stop_at_step") + ": must be between 0 and steps (" +
                     std::to_string(c.steps) + ")");
  }
  c.init_checkpoint = options.string("init_checkpoint");
  c.checkpoint_path = options.string("checkpoint");
  c.log_path = options.string("log");
  if (c.log_path.empty())
    c.log_path = std::filesystem::path(c.checkpoint_path).replace_extension(".train.csv");
  c.source = options.json();
  if (!c.init_checkpoint.empty()) {
    c.source["init_checkpoint_fnv1a64"] = fnv1a64_file_hash(c.init_checkpoint);
  }
  // Provenance stays what it was before these keys existed (same checkpoint bytes).
  if (c.dropout == 0) c.source.erase("dropout");
  if (c.tokenizer.empty()) {
    c.source.erase("tokenizer");
  } else {
    c.source["tokenizer_fnv1a64"] = fnv1a64_file_hash(c.tokenizer);
  }
  c.source["architecture"] = c.shape.to_json();
  if (json.contains("curriculum")) c.source["curriculum"] = json["curriculum"];
  return c;
}

TrainingConfig parse_config(const std::filesystem::path& path) {
  const nlohmann::json json = read_json_file(path, "training config");
  try {
    return parse_config_json(json);
  } catch (const InputError& e) {
    throw InputError(path.string() + ": " + e.what());
  }
}

// The training file, 7-bit mapped like the LM compressor's input, split into train / held-out,
// as symbols: its bytes, or its tokens with a tokenizer. Rates stay bits per byte of text.
struct Corpus {
  std::vector<std::int64_t> train, heldout;
  std::vector<double> bytes_of;  // per symbol id: the bytes it spells (1 for a byte model)
  nlohmann::json tokenizer;      // what the checkpoints record of the tokenizer; null for bytes

  double bytes_in(const torch::Tensor& symbols) const {
    const auto flat = symbols.to(torch::kCPU).contiguous();
    const auto* ids = flat.data_ptr<std::int64_t>();
    double bytes = 0;
    for (std::int64_t i = 0; i < flat.numel(); ++i) bytes += bytes_of[ids[i]];
    return bytes;
  }
};

std::vector<std::int64_t> symbols_of(const std::string& text, const Tokenizer* tokenizer) {
  if (tokenizer == nullptr) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    return {bytes, bytes + text.size()};
  }
  const std::vector<int> ids = tokenizer->encode(text);
  return {ids.begin(), ids.end()};
}

Corpus load_corpus(const TrainingConfig& c) {
  const TrainingText text = load_training_text(c.text);
  Corpus corpus;
  std::shared_ptr<const SentencePieceTokenizer> tokenizer;
  if (!c.tokenizer.empty()) {
    tokenizer = SentencePieceTokenizer::load(c.tokenizer);
    if (tokenizer->vocab_size() != c.shape.vocab_size) {
      throw InputError("architecture.vocab_size: " + std::to_string(c.shape.vocab_size) +
                       ", but the tokenizer " + c.tokenizer.string() + " has " +
                       std::to_string(tokenizer->vocab_size()) + " pieces");
    }
    if (tokenizer->bos() || !tokenizer->dummy_prefix().empty()) {
      throw InputError("tokenizer: " + c.tokenizer.string() +
                       " adds a BOS piece or a dummy-prefix space; the Transformer begins every "
                       "window with its own start symbol, and the rate counts the text's own "
                       "bytes (train it with lmc_train_tokenizer)");
    }
    if (const std::string problem = tokenizer->seven_bit_text_problem(); !problem.empty()) {
      throw InputError("tokenizer: " + c.tokenizer.string() +
                       " cannot spell 7-bit text exactly: " + problem);
    }
    for (int id = 0; id < tokenizer->vocab_size(); ++id) {
      corpus.bytes_of.push_back(static_cast<double>(tokenizer->token_bytes(id).size()));
    }
  } else {
    if (c.shape.vocab_size != 256) {
      throw InputError("architecture.vocab_size: " + std::to_string(c.shape.vocab_size) +
                       " needs a tokenizer (key \"tokenizer\"); a byte model has 256");
    }
    corpus.bytes_of.assign(256, 1.0);
  }
  corpus.train = symbols_of(text.train, tokenizer.get());
  corpus.heldout = symbols_of(text.heldout, tokenizer.get());
  if (tokenizer) {
    corpus.tokenizer = {
        {"path", c.tokenizer.string()},
        {"fnv1a64", tokenizer->file_hash()},
        {"vocab_size", tokenizer->vocab_size()},
        {"heldout_bytes_per_token",
         static_cast<double>(text.heldout.size()) / static_cast<double>(corpus.heldout.size())}};
  }
  const auto need = static_cast<std::size_t>(std::max(c.sequence_length, c.eval_sequence_length));
  if (corpus.train.size() < need ||
      corpus.heldout.size() < static_cast<std::size_t>(c.eval_sequence_length)) {
    throw InputError(c.text.path.string() +
                     ": too small for sequence_length / eval_sequence_length and train_fraction");
  }
  return corpus;
}

// The tokenizer a checkpoint header (or Corpus::tokenizer) records, by its hash; "" for bytes.
std::string tokenizer_hash(const nlohmann::json& header_or_tokenizer) {
  const nlohmann::json* tokenizer = &header_or_tokenizer;
  if (header_or_tokenizer.is_object() && header_or_tokenizer.contains("tokenizer")) {
    tokenizer = &header_or_tokenizer["tokenizer"];
  }
  if (!tokenizer->is_object() || !tokenizer->contains("fnv1a64") ||
      !(*tokenizer)["fnv1a64"].is_string()) {
    return "";
  }
  return (*tokenizer)["fnv1a64"].get<std::string>();
}

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The key of step `step`'s random draws (its batch windows, its dropout masks): a function of the
// seed and the step alone, so that a resumed run replays them.
std::uint64_t step_key(std::uint64_t seed, std::int64_t step) {
  return mix64(mix64(seed ^ 0x5eed) + static_cast<std::uint64_t>(step) * 0x9e3779b97f4a7c15ull);
}

// One step's training batch: `targets` [batch, time] and the position of their first byte.
struct Batch {
  torch::Tensor targets;
  std::int64_t first_position = 0;
};

// The window length of step `step`: the curriculum's phase, or the full length after it.
std::int64_t window_length_at(const TrainingConfig& c, std::int64_t step) {
  std::int64_t phase_end = 0;
  for (const auto& phase : c.curriculum) {
    phase_end += phase.steps;
    if (step < phase_end) return phase.sequence_length;
  }
  return c.sequence_length;
}

// Step `step`'s batch: uniformly random windows of the training part, with replacement, drawn
// from (seed, step) alone so that resuming replays the same batches. In a curriculum phase the
// tokens per step stay the same (more, shorter windows), and the windows stand at a random
// slot of a full-length sequence, so that every position's encoding is trained.
Batch sample_batch(const TrainingConfig& c, const Corpus& corpus, std::int64_t step) {
  const std::int64_t length = window_length_at(c, step);
  const std::int64_t count = c.batch_size * (c.sequence_length / length);
  const std::uint64_t starts = corpus.train.size() - length + 1;
  const auto key = step_key(c.seed, step);
  Batch batch;
  batch.targets = torch::empty({count, length}, torch::kInt64);
  auto* out = batch.targets.data_ptr<std::int64_t>();
  for (std::int64_t b = 0; b < count; ++b) {
    const auto start = mix64(key + static_cast<std::uint64_t>(b)) % starts;
    std::copy_n(corpus.train.begin() + static_cast<std::ptrdiff_t>(start), length,
                out + b * length);
  }
  if (length < c.sequence_length) {
    const auto slots = static_cast<std::uint64_t>(c.sequence_length / length);
    batch.first_position = static_cast<std::int64_t>(mix64(key ^ 0x0ff5e7) % slots) * length;
  }
  return batch;
}

// The fixed held-out sample: eval_sequences windows spread evenly over the held-out part.
torch::Tensor heldout_sample(const TrainingConfig& c, const Corpus& corpus) {
  const std::int64_t count = c.eval_sequences, length = c.eval_sequence_length;
  const auto span = static_cast<std::int64_t>(corpus.heldout.size()) - length;
  auto sample = torch::empty({count, length}, torch::kInt64);
  auto* out = sample.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto start = count == 1 ? 0 : span * i / (count - 1);
    std::copy_n(corpus.heldout.begin() + start, length, out + i * length);
  }
  return sample;
}

// Bits per byte of text over `sample`, which spells `bytes` bytes.
double bits_per_byte(const TorchTransformer& model, const torch::Tensor& sample, double bytes) {
  torch::NoGradGuard no_grad;
  double nats = 0;
  for (std::int64_t i = 0; i < sample.size(0); ++i) {
    auto targets = sample.narrow(0, i, 1);
    auto log_probs = model.forward(shifted_inputs(targets));
    nats -= log_probs.gather(-1, targets.unsqueeze(-1)).sum().item<double>();
  }
  return nats / (bytes * std::log(2.0));
}

double learning_rate_at(const TrainingConfig& c, std::int64_t step) {
  if (step < c.warmup_steps)
    return c.learning_rate * static_cast<double>(step + 1) / c.warmup_steps;
  if (c.schedule == "constant") return c.learning_rate;
  const double span = std::max<std::int64_t>(1, c.steps - c.warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / span);
  const double floor = c.final_learning_rate_fraction;
  return c.learning_rate * (floor + (1 - floor) * 0.5 * (1 + std::cos(M_PI * progress)));
}

// Adam as torch::optim::Adam computes it, with its moments in plain tensors so the resume state
// is an ordinary checkpoint file.
struct AdamState {
  std::vector<torch::Tensor> first_moment, second_moment;
};

void adam_step(const TrainingConfig& c, std::vector<torch::Tensor>& parameters, AdamState& state,
               std::int64_t step_number, double lr) {
  torch::NoGradGuard no_grad;
  const double bias1 = 1 - std::pow(c.adam_beta1, static_cast<double>(step_number));
  const double bias2 = 1 - std::pow(c.adam_beta2, static_cast<double>(step_number));
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    auto& p = parameters[i];
    const auto& g = p.grad();
    state.first_moment[i].mul_(c.adam_beta1).add_(g, 1 - c.adam_beta1);
    state.second_moment[i].mul_(c.adam_beta2).addcmul_(g, g, 1 - c.adam_beta2);
    auto denominator = (state.second_moment[i].sqrt() / std::sqrt(bias2)).add_(c.adam_epsilon);
    p.addcdiv_(state.first_moment[i], denominator, -lr / bias1);
  }
}

std::filesystem::path state_path(const TrainingConfig& c) {
  auto p = c.checkpoint_path;
  p += ".state";
  return p;
}

// What produced the weights. No wall-clock times: the same config gives the same bytes.
nlohmann::json provenance(const TrainingConfig& c, std::int64_t step, double heldout_bpb) {
  return {{"config", c.source},
          {"step", step},
          {"tokens_seen", step * c.tokens_per_step()},
          {"heldout_bits_per_byte", heldout_bpb},
          {"heldout_sample", {{"sequences", c.eval_sequences}, {"length", c.eval_sequence_length}}},
          {"torch_threads", c.threads},
          {"libtorch", TORCH_VERSION},
          {"openblas_core", openblas_core()}};
}

void save(const TrainingConfig& c, const Corpus& corpus, const TorchTransformer& model,
          const AdamState& adam, std::int64_t step, double elapsed_s, double heldout_bpb) {
  Checkpoint state;
  state.header = {{"architecture", c.shape.to_json()},
                  {"training", provenance(c, step, heldout_bpb)},
                  {"resume", {{"step", step}, {"elapsed_s", elapsed_s}}}};
  state.tensors = model.export_tensors();
  for (std::size_t i = 0; i < model.specs().size(); ++i) {
    state.tensors.push_back(from_torch("adam.m." + model.specs()[i].name, adam.first_moment[i]));
    state.tensors.push_back(from_torch("adam.v." + model.specs()[i].name, adam.second_moment[i]));
  }
  Checkpoint weights;
  weights.header = {{"architecture", c.shape.to_json()},
                    {"training", provenance(c, step, heldout_bpb)}};
  // What the "lmct" pretrained format loads the tokenizer from (and checks it against).
  if (!corpus.tokenizer.is_null()) {
    weights.header["tokenizer"] = corpus.tokenizer;
    state.header["tokenizer"] = corpus.tokenizer;
  }
  weights.tensors = model.export_tensors();
  // State first: a kill between the two renames leaves a state at least as new as the weights.
  write_checkpoint(state_path(c), state);
  write_checkpoint(c.checkpoint_path, weights);
}

constexpr const char* kLogHeader = "step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s,tokens";
constexpr const char* kLogHeaderWithoutTokens = "step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s";

// Keeps the log's header and the rows up to `step`: rows a killed run wrote after its last
// state file are replayed by the resumed run. A log from before the tokens column gets it (the
// tokens per step are the same at every step, curriculum or not).
void truncate_log(const std::filesystem::path& path, std::int64_t step,
                  std::int64_t tokens_per_step) {
  std::ifstream in(path);
  std::vector<std::string> kept;
  bool add_tokens = false;
  for (std::string line; std::getline(in, line);) {
    if (kept.empty()) {
      add_tokens = line == kLogHeaderWithoutTokens;
      kept.push_back(add_tokens ? kLogHeader : line);
      continue;
    }
    const std::int64_t row_step = std::stoll(line.substr(0, line.find(',')));
    if (row_step > step) continue;
    kept.push_back(add_tokens ? line + ',' + std::to_string(row_step * tokens_per_step) : line);
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : kept) out << line << '\n';
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(seconds);
  std::ostringstream out;
  out << s / 3600 << 'h' << std::setw(2) << std::setfill('0') << (s / 60) % 60 << 'm'
      << std::setw(2) << s % 60 << 's';
  return out.str();
}

}  // namespace

bool cuda_available() { return torch::cuda::is_available(); }

void run_training(const std::filesystem::path& config_path, bool resume, std::ostream& progress) {
  const auto c = parse_config(config_path);
  torch::set_num_threads(c.threads);
  const auto corpus = [&] {
    try {
      return load_corpus(c);
    } catch (const InputError& e) {
      throw InputError(config_path.string() + ": " + e.what());
    }
  }();
  const torch::Device device(c.device);
  const auto heldout = heldout_sample(c, corpus).to(device);
  const double heldout_bytes = corpus.bytes_in(heldout);
  if (c.checkpoint_path.has_parent_path())
    std::filesystem::create_directories(c.checkpoint_path.parent_path());

  TorchTransformer model(c.shape, c.seed);
  AdamState adam;
  for (const auto& p : model.parameters()) {
    adam.first_moment.push_back(torch::zeros_like(p));
    adam.second_moment.push_back(torch::zeros_like(p));
  }
  std::int64_t step = 0;
  double elapsed_before = 0;
  double heldout_before = std::nan("");  // the last held-out value a resumed run has measured
  if (resume && std::filesystem::exists(state_path(c))) {
    const auto state = read_checkpoint(state_path(c));
    if (checkpoint_architecture(state, state_path(c)).to_json() != c.shape.to_json()) {
      throw InputError(state_path(c).string() + ": resume state has another architecture than " +
                       config_path.string());
    }
    if (tokenizer_hash(state.header) != tokenizer_hash(corpus.tokenizer)) {
      throw InputError(state_path(c).string() +
                       ": resume state was trained on another tokenizer "
                       "than " +
                       config_path.string() + "'s (or on bytes)");
    }
    for (std::size_t i = 0; i < model.specs().size(); ++i) {
      const auto& spec = model.specs()[i];
      model.parameters()[i] = to_torch(state.tensor(spec.name, spec.shape, state_path(c)));
      adam.first_moment[i] =
          to_torch(state.tensor("adam.m." + spec.name, spec.shape, state_path(c)));
      adam.second_moment[i] =
          to_torch(state.tensor("adam.v." + spec.name, spec.shape, state_path(c)));
    }
    step = state.header.at("resume").at("step").get<std::int64_t>();
    elapsed_before = state.header.at("resume").at("elapsed_s").get<double>();
    const auto& saved_heldout = state.header.at("training").at("heldout_bits_per_byte");
    if (saved_heldout.is_number()) heldout_before = saved_heldout.get<double>();
    truncate_log(c.log_path, step, c.tokens_per_step());
    progress << "resuming " << c.checkpoint_path.string() << " at step " << step << '\n';
  } else {
    if (!c.init_checkpoint.empty()) {
      const auto init = read_checkpoint(c.init_checkpoint);
      if (checkpoint_architecture(init, c.init_checkpoint).to_json() != c.shape.to_json()) {
        throw InputError("init_checkpoint: " + c.init_checkpoint.string() +
                         " has another architecture than the config");
      }
      if (tokenizer_hash(init.header) != tokenizer_hash(corpus.tokenizer)) {
        throw InputError("init_checkpoint: " + c.init_checkpoint.string() +
                         " was trained on another tokenizer than the config's (or on bytes)");
      }
      for (std::size_t i = 0; i < model.specs().size(); ++i) {
        const auto& spec = model.specs()[i];
        model.parameters()[i] = to_torch(init.tensor(spec.name, spec.shape, c.init_checkpoint));
      }
      progress << "starting from " << c.init_checkpoint.string() << '\n';
    }
    std::ofstream(c.log_path, std::ios::trunc) << kLogHeader << '\n';
  }
  model.to(device);
  for (auto* moments : {&adam.first_moment, &adam.second_moment}) {
    for (auto& m : *moments) m = m.to(device);
  }
  for (auto& p : model.parameters()) p.set_requires_grad(true);

  for (const auto& phase : c.curriculum) {
    progress << "curriculum: " << phase.steps << " steps on windows of " << phase.sequence_length
             << (c.tokenizer.empty() ? " bytes\n" : " tokens\n");
  }
  if (!corpus.tokenizer.is_null()) {
    progress << "tokenizer " << c.tokenizer.string() << ": " << corpus.train.size()
             << " training tokens, held-out "
             << corpus.tokenizer["heldout_bytes_per_token"].get<double>() << " bytes per token\n";
  }
  progress << "training " << c.shape.to_json().dump() << ", " << c.shape.parameter_count()
           << " parameters, " << corpus.train.size()
           << (corpus.tokenizer.is_null() ? " training bytes, " : " training tokens, ") << c.steps
           << " steps of " << c.batch_size << " x " << c.sequence_length << ", " << c.threads
           << " threads, device " << c.device << "\n";
  if (const auto core = openblas_core(); !core.empty())
    progress << "OpenBLAS kernels: " << core << '\n';
  if (const auto warning = blas_kernel_warning(); !warning.empty()) {
    progress << "warning: " << warning << '\n';
  }
  std::ofstream log(c.log_path, std::ios::app);
  log << std::setprecision(6);

  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  double heldout_bpb = step == 0 ? bits_per_byte(model, heldout, heldout_bytes) : heldout_before;
  double window_nats = 0;           // per symbol
  double window_nats_per_byte = 0;  // the same per byte of text (equal for a byte model)
  std::int64_t window_steps = 0, first_step = step;
  auto window_start = Clock::now();

  if (c.stop_at_step > 0 && step >= c.stop_at_step) {
    progress << "already at step " << step << " (stop_at_step " << c.stop_at_step
             << "): nothing to do\n";
    return;
  }
  while (step < c.steps) {
    const auto [batch_targets, first_position] = sample_batch(c, corpus, step);
    const auto targets = batch_targets.to(device);
    if (c.dropout > 0) torch::manual_seed(mix64(step_key(c.seed, step) ^ 0xd209));
    const auto log_probs = model.forward(shifted_inputs(targets), first_position, c.dropout);
    // Mean over the batch of each sequence's summed NLL, divided by the sequence length.
    const auto loss = -log_probs.gather(-1, targets.unsqueeze(-1)).mean();
    for (auto& p : model.parameters()) p.mutable_grad() = torch::Tensor();
    loss.backward();
    if (c.gradient_clip_norm > 0) {
      torch::nn::utils::clip_grad_norm_(model.parameters(), c.gradient_clip_norm);
    }
    ++step;
    adam_step(c, model.parameters(), adam, step, learning_rate_at(c, step - 1));
    const double step_nats = loss.item<double>();
    window_nats += step_nats;
    window_nats_per_byte +=
        step_nats * (static_cast<double>(targets.numel()) / corpus.bytes_in(batch_targets));
    ++window_steps;

    const bool last = step == c.steps;
    const double elapsed = elapsed_before + seconds_since(started);
    const bool stopping_early = (c.max_time_s > 0 && elapsed >= c.max_time_s) ||
                                (c.stop_at_step > 0 && step == c.stop_at_step);
    if (step % c.eval_every == 0 || last || stopping_early)
      heldout_bpb = bits_per_byte(model, heldout, heldout_bytes);
    if (step % c.log_every == 0 || last || stopping_early) {
      const double window_s = seconds_since(window_start);
      const double tokens_per_s = window_steps * c.tokens_per_step() / window_s;
      const double train_bpb = window_nats_per_byte / window_steps / std::log(2.0);
      const double eta = (c.steps - step) * seconds_since(started) / (step - first_step);
      log << step << ',' << train_bpb << ',' << heldout_bpb << ',' << tokens_per_s << ',' << elapsed
          << ',' << step * c.tokens_per_step() << '\n'
          << std::flush;
      progress << "step " << step << '/' << c.steps << "  loss " << std::fixed
               << std::setprecision(4) << window_nats / window_steps << "  train "
               << std::setprecision(3) << train_bpb << " bpb  held-out " << heldout_bpb << " bpb  "
               << std::setprecision(0) << tokens_per_s << " tok/s  ETA " << format_duration(eta)
               << std::defaultfloat << std::setprecision(6) << '\n'
               << std::flush;
      window_nats = 0;
      window_nats_per_byte = 0;
      window_steps = 0;
      window_start = Clock::now();
    }
    if (step % c.checkpoint_every == 0 || last || stopping_early) {
      save(c, corpus, model, adam, step, elapsed, heldout_bpb);
    }
    if (stopping_early) {
      progress << "stopped at step " << step << ": "
               << (step == c.stop_at_step ? "stop_at_step" : "max_time_s reached") << '\n';
      return;
    }
  }
  if (c.steps == 0 || first_step == c.steps) {
    save(c, corpus, model, adam, step, elapsed_before, heldout_bpb);
    progress << "wrote " << c.checkpoint_path.string() << " at step " << step << '\n';
  }
}

}  // namespace lmc
