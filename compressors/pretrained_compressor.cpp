#include "compressors/pretrained_compressor.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "compressors/arithmetic_coder.h"
#include "compressors/lm_compressor.h"

namespace lmc {

namespace {

// ESCAPE never weighs less than this share of the candidates' mass: a token outside the top k
// then costs at most 16 bits plus its uniform code, and the top k lose at most 2^-16 of theirs.
constexpr double kEscapeFloor = 0x1p-16;

// Tokens that can occur in the tokenisation of a chunk's image: some text, all of it ASCII for
// a 7-bit image; any text under the identity mapping (all 8 bits).
std::vector<int> candidate_tokens(const Tokenizer& tokenizer, SevenBitMapping mapping) {
  std::vector<int> candidates;
  for (int id = 0; id < tokenizer.vocab_size(); ++id) {
    const std::string_view text = tokenizer.token_bytes(id);
    const bool ascii = std::all_of(text.begin(), text.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!text.empty() && (ascii || mapping == SevenBitMapping::Identity)) {
      candidates.push_back(id);
    }
  }
  return candidates;
}

// Why `tokenizer` cannot code the images of `mapping` losslessly, in words; empty if it can.
std::string lossless_coding_problem(const Tokenizer& tokenizer, SevenBitMapping mapping) {
  if (mapping == SevenBitMapping::Identity) {
    const std::string problem = tokenizer.any_bytes_problem();
    return problem.empty()
               ? problem
               : "cannot code arbitrary bytes losslessly (the identity mapping codes "
                 "all 8 bits): " +
                     problem + " (no byte-fallback tokens, or a normalizer other than identity)";
  }
  const std::string problem = tokenizer.seven_bit_text_problem();
  return problem.empty() ? problem
                         : "cannot code 7-bit text losslessly: " + problem +
                               " (a normalizer other than identity, folded whitespace, or no "
                               "byte fallback)";
}

// The coded alphabet at one position: the k most probable candidates, then ESCAPE; and the
// uniform code over the other candidates that follows an ESCAPE. Encoder and decoder build it
// from the same floats in the same order, so they agree on every integer range.
class TopKAlphabet {
 public:
  TopKAlphabet(const std::vector<int>& candidates, int vocab_size, int k)
      : candidates_(candidates), ranked_(candidates), in_top_(vocab_size, 0), k_(k) {
    weights_.resize(static_cast<std::size_t>(k) + 1);
    rest_.assign(std::vector<float>(candidates.size() - static_cast<std::size_t>(k), 1.0f));
  }

  int escape() const { return k_; }
  const CodingDistribution& top() const { return top_; }
  const CodingDistribution& rest() const { return rest_; }

  void assign(std::span<const float> probabilities, std::size_t position) {
    for (int id : candidates_) {
      if (!(probabilities[id] >= 0) || !std::isfinite(probabilities[id])) {
        throw std::runtime_error("pretrained: model output for token " + std::to_string(position) +
                                 " is not a probability (" + std::to_string(probabilities[id]) +
                                 " for id " + std::to_string(id) + ")");
      }
    }
    for (int i = 0; i < k_; ++i) in_top_[ranked_[i]] = 0;
    // More probable first, lower id on ties: a strict total order, so the first k are the same
    // whatever order ranked_ was left in.
    std::partial_sort(ranked_.begin(), ranked_.begin() + k_, ranked_.end(), [&](int a, int b) {
      return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
    });
    for (int i = 0; i < k_; ++i) {
      in_top_[ranked_[i]] = 1;
      weights_[i] = probabilities[ranked_[i]];
    }
    double total = 0, outside = 0;
    for (int id : candidates_) {
      total += probabilities[id];
      if (!in_top_[id]) outside += probabilities[id];
    }
    if (!(total > 0)) {
      throw std::runtime_error(
          "pretrained: the model gives every candidate token probability 0 "
          "at token " +
          std::to_string(position));
    }
    weights_[k_] = static_cast<float>(std::max(outside, total * kEscapeFloor));
    top_.assign(weights_);
  }

  // The top-k symbol of `token`, or escape().
  int symbol_of(int token) const {
    if (!in_top_[token]) return k_;
    return static_cast<int>(std::find(ranked_.begin(), ranked_.begin() + k_, token) -
                            ranked_.begin());
  }
  int token_at(int symbol) const { return ranked_[symbol]; }

  // Position of `token` among the candidates outside the top k, in id order, and back.
  int rest_index_of(int token) const {
    int index = 0;
    for (int id : candidates_) {
      if (id == token) return index;
      if (!in_top_[id]) ++index;
    }
    throw std::logic_error("pretrained: token " + std::to_string(token) + " is no candidate");
  }
  int rest_token_at(int index) const {
    for (int id : candidates_) {
      if (!in_top_[id] && index-- == 0) return id;
    }
    throw std::logic_error("pretrained: rest index out of range");
  }

 private:
  const std::vector<int>& candidates_;
  std::vector<int> ranked_;
  std::vector<char> in_top_;
  std::vector<float> weights_;
  int k_;
  CodingDistribution top_, rest_;
};

std::string as_text(ByteView symbols) { return std::string(symbols.begin(), symbols.end()); }

// Bytes the decoder must reach: the text plus the dummy prefix the tokenizer put in front (an
// empty text has no tokens at all).
std::size_t coded_length(std::size_t text_size, const Tokenizer& tokenizer) {
  return text_size == 0 ? 0 : text_size + tokenizer.dummy_prefix().size();
}

}  // namespace

PretrainedCompressor::PretrainedCompressor(PretrainedModel model, int top_k,
                                           SevenBitMapping mapping, bool estimate)
    : model_(std::move(model)),
      top_k_(top_k),
      mapping_(mapping),
      estimate_(estimate),
      batched_(estimate && model_.window_logits && model_.tokenizer->bos()),
      candidates_(candidate_tokens(*model_.tokenizer, mapping)) {
  if (model_.predictor->vocab_size() != model_.tokenizer->vocab_size()) {
    throw InputError(
        "pretrained: the model predicts " + std::to_string(model_.predictor->vocab_size()) +
        " tokens, its tokenizer has " + std::to_string(model_.tokenizer->vocab_size()));
  }
  if (const std::string problem = lossless_coding_problem(*model_.tokenizer, mapping_);
      !problem.empty()) {
    throw InputError("pretrained: the tokenizer " + problem);
  }
  if (top_k < 1 || top_k >= static_cast<int>(candidates_.size())) {
    throw InputError(
        "pretrained: top_k must be between 1 and " + std::to_string(candidates_.size() - 1) +
        " (the " + (mapping_ == SevenBitMapping::Identity ? "tokens with bytes" : "7-bit tokens") +
        " minus one), got " + std::to_string(top_k));
  }
}

Bytes PretrainedCompressor::compress(ByteView data, Counters& counters) const {
  const SevenBitImage image = map_to_seven_bits(data, mapping_);
  const std::string text = as_text(image.symbols);
  const Tokenizer& tokenizer = *model_.tokenizer;
  const std::vector<int> tokens = tokenizer.encode(text);
  // The decoder stops at coded_length(): the tokens must spell the dummy prefix and the text.
  std::size_t spelled = 0;
  for (int token : tokens) spelled += tokenizer.token_bytes(token).size();
  if (tokenizer.decode(tokens) != text || spelled != coded_length(text.size(), tokenizer)) {
    throw std::logic_error("pretrained: the tokenizer does not decode its tokens back to the text");
  }

  SlidingContext context(model_);
  TopKAlphabet alphabet(candidates_, model_.predictor->vocab_size(), top_k_);
  const auto vocab = static_cast<std::size_t>(model_.predictor->vocab_size());
  std::vector<float> probabilities(vocab);
  // Estimate mode with a batched model: every token's distribution up front, one pass per
  // window of the same sliding policy.
  const std::vector<float> all =
      batched_ ? windowed_probabilities(model_, tokens) : std::vector<float>();
  ArithmeticEncoder encoder;
  double ideal_bits = 0, escape_bits = 0;
  std::uint64_t escapes = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (batched_) {
      std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(i * vocab), vocab,
                  probabilities.begin());
    } else {
      context.next_probabilities(probabilities);
    }
    alphabet.assign(probabilities, i);
    const int symbol = alphabet.symbol_of(tokens[i]);
    double bits = alphabet.top().ideal_bits(symbol);
    encoder.encode(alphabet.top(), symbol);
    if (symbol == alphabet.escape()) {
      const int index = alphabet.rest_index_of(tokens[i]);
      bits += alphabet.rest().ideal_bits(index);
      encoder.encode(alphabet.rest(), index);
      escape_bits += bits;
      ++escapes;
    }
    ideal_bits += bits;
    if (!batched_) context.append(tokens[i]);
  }
  Bytes stream = encoder.finish();
  counters[kMaskedBits] += static_cast<double>(image.masked_bits);
  counters["tokens"] += static_cast<double>(tokens.size());
  counters["escapes"] += static_cast<double>(escapes);
  counters["escape_bits"] += escape_bits;
  counters["ideal_bits"] += ideal_bits;
  counters["coded_bits"] += static_cast<double>(encoder.bit_count());
  counters["window_slides"] += static_cast<double>(
      batched_ ? sliding_windows(model_.context_limit, true, tokens.size()).size() - 1
               : context.slides());
  return stream;
}

Bytes PretrainedCompressor::decompress(ByteView compressed, std::size_t original_size) const {
  if (estimate_) {
    throw InputError("pretrained: estimate mode does not decode; use mode \"decode\"");
  }
  const Tokenizer& tokenizer = *model_.tokenizer;
  const std::size_t target = coded_length(original_size, tokenizer);
  SlidingContext context(model_);
  TopKAlphabet alphabet(candidates_, model_.predictor->vocab_size(), top_k_);
  std::vector<float> probabilities(model_.predictor->vocab_size());
  ArithmeticDecoder decoder(compressed);
  std::vector<int> tokens;
  std::size_t length = 0;
  while (length < target) {  // every token adds at least one byte
    context.next_probabilities(probabilities);
    alphabet.assign(probabilities, tokens.size());
    const int symbol = decoder.decode(alphabet.top());
    const int token = symbol == alphabet.escape()
                          ? alphabet.rest_token_at(decoder.decode(alphabet.rest()))
                          : alphabet.token_at(symbol);
    length += tokenizer.token_bytes(token).size();
    tokens.push_back(token);
    context.append(token);
  }
  if (length != target) {
    throw CorruptDataError("pretrained: tokens decode to " + std::to_string(length) +
                           " bytes, the chunk has " + std::to_string(target));
  }
  decoder.finish();
  const std::string text = tokenizer.decode(tokens);
  if (text.size() != original_size) {
    throw CorruptDataError("pretrained: the decoded text lacks the tokenizer's dummy prefix");
  }
  return Bytes(text.begin(), text.end());
}

Bytes PretrainedCompressor::expected_roundtrip(ByteView data) const {
  return map_to_seven_bits(data, mapping_).symbols;
}

nlohmann::json PretrainedCompressor::settings() const {
  return {
      {"format", model_.format},
      {"mode", !estimate_ ? "decode: every chunk decoded with one-token sessions"
               : batched_ ? "estimate: not decoded (batched whole-window evaluation: sizes "
                            "within rounding of the decode mode's)"
                          : "estimate: not decoded (the encoder of the decode mode: same sizes)"},
      {"model", model_.describe()},
      {"parameters", parameter_count()},
      {"mapping", to_string(mapping_)},
      {"top_k", top_k_},
      {"candidates",
       {{"count", candidates_.size()},
        {"rule", mapping_ == SevenBitMapping::Identity
                     ? "tokens with text (all 8 bits coded: any of them can occur)"
                     : "tokens with text, all bytes < 0x80 (those a 7-bit string can tokenise "
                       "to)"}}},
      {"escape",
       {{"weight", "candidate mass outside the top k, floored at 2^-16 of the candidates' mass"},
        {"after_escape", "uniform over the candidates outside the top k, in id order"}}},
      {"ranking", "probability descending, lower token id on ties"},
      {"length",
       "not stored: decoding stops when the tokens' bytes reach the chunk length "
       "(plus the dummy prefix)"},
      {"context", "each chunk from a fresh session"},
      {"window", SlidingContext::policy(model_.context_limit)},
      {"coder",
       {{"kind", "binary arithmetic coder, pending-bit carries"},
        {"state_bits", 32},
        {"cdf_bits", kFrequencyBits},
        {"floor", "p <- (1 - 2 V eps) p + eps over the k + 1 symbols"},
        {"eps", kProbabilityFloor},
        {"padding", "zero bits to a whole byte"}}},
  };
}

namespace {

std::unique_ptr<Compressor> make_pretrained(const Options& options, const CodecContext& context) {
  const std::string format = options.string("format");
  if (format != "llama2c" && format != "rwkv" && format != "torchscript" && format != "gguf" &&
      format != "lmct") {
    throw InputError(options.key_path("format") +
                     ": expected \"llama2c\", \"rwkv\", \"torchscript\", \"gguf\" or \"lmct\", "
                     "got \"" +
                     format + "\"");
  }
  const std::int64_t threads = options.integer("threads");
  if (threads < 1 || threads > 512) {
    throw InputError(options.key_path("threads") + ": expected 1 to 512, got " +
                     std::to_string(threads));
  }
  const PretrainedOptions format_options{static_cast<int>(threads), options.string("cpu_variant")};
  const std::int64_t window = options.integer("context");
  if (window < 0 || window > std::numeric_limits<int>::max()) {
    throw InputError(options.key_path("context") + ": expected 0 (the model's own) or a " +
                     "positive number of positions, got " + std::to_string(window));
  }
  if (format == "torchscript" && window == 0) {
    throw InputError(options.key_path("context") +
                     ": required for torchscript (the positions the model was trained with, "
                     "e.g. 4096 for Llama 2); a traced module does not record it");
  }
  PretrainedModel model;
  try {
    model = load_pretrained_model(format, options.string("checkpoint"), options.string("tokenizer"),
                                  static_cast<int>(window), format_options);
  } catch (const InputError& e) {
    throw InputError(options.key_path("checkpoint") + ": " + e.what());
  }
  // Values beyond int are out of range anyway: saturate them so the constructor rejects them.
  const auto top_k = static_cast<int>(std::clamp<std::int64_t>(
      options.integer("top_k"), std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
  if (const std::string problem = lossless_coding_problem(*model.tokenizer, context.mapping);
      !problem.empty()) {
    throw InputError(options.key_path("tokenizer") + ": " + problem + "; model " +
                     options.string("checkpoint"));
  }
  const std::string mode = options.string("mode");
  if (mode != "decode" && mode != "estimate") {
    throw InputError(options.key_path("mode") + ": expected \"decode\" or \"estimate\", got \"" +
                     mode + "\"");
  }
  try {
    return std::make_unique<PretrainedCompressor>(std::move(model), top_k, context.mapping,
                                                  mode == "estimate");
  } catch (const InputError& e) {
    throw InputError(options.key_path("top_k") + ": " + e.what());
  }
}

}  // namespace

CompressorKind pretrained_kind() {
  return {
      "pretrained",
      "Pretrained LM (llama2.c, rwkv.cpp, TorchScript, GGUF through llama.cpp, or a tokenized "
      "Transformer of lmc_train) as a "
      "compressor: the chunk's 7-bit image (all 8 bits under bench compress) is tokenised and "
      "coded over the top-k next tokens plus an escape (docs/PROTOCOL.md sections 4-5)",
      {
          {"format", OptionType::String, nullptr,
           std::string("\"llama2c\", \"rwkv\", \"torchscript\", \"lmct\" or \"gguf\" (") +
               (gguf_format_available() ? "this build has llama.cpp"
                                        : "not in this build: run scripts/fetch-llama-cpp.sh "
                                          "and configure again") +
               ")"},
          {"checkpoint", OptionType::Path, nullptr,
           "llama2.c .bin, rwkv.cpp .bin, TorchScript .pt, GGUF .gguf or tokenized .lmct model "
           "file"},
          {"tokenizer", OptionType::Path, "",
           "llama2.c tokenizer.bin (llama2c) or SentencePiece .model (torchscript; lmct: default "
           "the one its header names); none for rwkv and gguf"},
          {"context", OptionType::Integer, 0,
           "positions per window; 0 = the model's own (llama2c: seq_len; gguf: its training "
           "context; lmct: its training window; rwkv: unbounded); required for torchscript"},
          {"threads", OptionType::Integer, 1,
           "gguf: llama.cpp threads per session (recorded; encoder and decoder use the same)"},
          {"cpu_variant", OptionType::String, "",
           "gguf: ggml CPU variant to load (haswell, skylakex, zen4, ...); empty = the best this "
           "CPU runs; recorded in settings"},
          {"mode", OptionType::String, "decode",
           "decode: code with one-token sessions and verify by decoding; estimate: never "
           "decoded (gguf: each window in one batched pass, fast)"},
          {"top_k", OptionType::Integer, 100,
           "next-token probabilities kept per step (the rest is reached by an escape)"},
      },
      make_pretrained,
      /*default_repetitions=*/1,  // seconds per chunk
  };
}

}  // namespace lmc
