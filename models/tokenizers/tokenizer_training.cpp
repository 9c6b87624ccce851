#include "models/tokenizers/tokenizer_training.h"

#include <chrono>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "common/json.h"
#include "common/options.h"
#include "models/tokenizers/sentencepiece_tokenizer.h"
#include "models/training_text.h"

namespace lmc {

namespace {

std::vector<OptionSpec> tokenizer_specs() {
  std::vector<OptionSpec> specs = training_text_specs();
  specs.insert(specs.end(),
               {
                   {"model_type", OptionType::String, "bpe", "bpe or unigram (SentencePiece)"},
                   {"vocab_size", OptionType::Integer, nullptr,
                    "pieces, the 256 byte-fallback pieces and <unk> included"},
                   {"threads", OptionType::Integer, 1, "SentencePiece trainer threads"},
                   {"output", OptionType::Path, nullptr, "the .model file written"},
               });
  return specs;
}

// The held-out tail through the tokenizer: its size in tokens, and the proof that the tokens
// spell the text.
nlohmann::json heldout_statistics(const Tokenizer& tokenizer, const std::string& heldout,
                                  const std::filesystem::path& model) {
  const std::vector<int> tokens = tokenizer.encode(heldout);
  std::string decoded;
  decoded.reserve(heldout.size());
  for (const int id : tokens) decoded += tokenizer.token_bytes(id);
  if (decoded != heldout) {
    std::size_t at = 0;
    while (at < decoded.size() && at < heldout.size() && decoded[at] == heldout[at]) ++at;
    throw InputError(
        model.string() + ": does not spell the held-out text back (first difference at byte " +
        std::to_string(at) + "); train it with byte fallback and the identity normaliser");
  }
  return {
      {"bytes", heldout.size()},
      {"tokens", tokens.size()},
      {"bytes_per_token", static_cast<double>(heldout.size()) / static_cast<double>(tokens.size())},
      {"spells_the_text_exactly", true}};
}

}  // namespace

void run_tokenizer_training(const std::filesystem::path& config_path, std::ostream& progress) {
  const nlohmann::json json = read_json_file(config_path, "tokenizer config");
  Options options;
  SentencePieceTraining training;
  std::filesystem::path output;
  TrainingTextSource source;
  try {
    if (!json.is_object()) throw InputError("expected a JSON object");
    options = Options::validate(json, tokenizer_specs(), "", {"comment"});
    source = TrainingTextSource::from_options(options);
    training.model_type = options.string("model_type");
    if (training.model_type != "bpe" && training.model_type != "unigram") {
      throw InputError(options.key_path("model_type") + ": expected bpe or unigram");
    }
    const auto vocab_size = options.integer("vocab_size");
    // 256 byte pieces and <unk>, plus at least one piece learnt; beyond 2^20 the output layer
    // alone would outgrow any model here.
    if (vocab_size < 258 || vocab_size > (1 << 20)) {
      throw InputError(options.key_path("vocab_size") +
                       ": must be in 258..1048576 (256 byte pieces, <unk>, learnt pieces)");
    }
    training.vocab_size = static_cast<int>(vocab_size);
    const auto threads = options.integer("threads");
    if (threads <= 0 || threads > 256)
      throw InputError(options.key_path("threads") + ": must be in 1..256");
    training.threads = static_cast<int>(threads);
    output = options.string("output");
  } catch (const InputError& e) {
    throw InputError(config_path.string() + ": " + e.what());
  }

  const TrainingText text = load_training_text(source);
  progress << "training a SentencePiece " << training.model_type << " tokenizer of "
           << training.vocab_size << " pieces on " << text.train.size() << " bytes of "
           << source.path.string() << '\n'
           << std::flush;
  if (output.has_parent_path()) std::filesystem::create_directories(output.parent_path());
  const auto started = std::chrono::steady_clock::now();
  train_sentencepiece(text.train, training, output);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const auto tokenizer = SentencePieceTokenizer::load(output);
  nlohmann::json described = tokenizer->describe();
  described.erase("library");  // where this machine's shim is: not a property of the tokenizer
  nlohmann::json report = {{"config", options.json()},
                           {"tokenizer", described},
                           {"training_bytes", text.train.size()},
                           {"training_seconds", seconds},
                           {"heldout", heldout_statistics(*tokenizer, text.heldout, output)}};
  auto report_path = output;
  report_path += ".json";
  std::ofstream(report_path) << std::setw(2) << report << '\n';
  progress << "wrote " << output.string() << " (" << tokenizer->vocab_size() << " pieces, "
           << std::fixed << std::setprecision(1) << seconds << " s): held-out "
           << std::setprecision(3) << report["heldout"]["bytes_per_token"].get<double>()
           << " bytes per token; " << report_path.string() << '\n';
}

}  // namespace lmc
