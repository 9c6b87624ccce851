#include "compressors/lm_compressor.h"

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "compressors/arithmetic_coder.h"
#include "models/transformer/transformer_predictor.h"

namespace lmc {

namespace {

// Turns a model's output into the coder's distribution, naming the position when the model
// misbehaves (a NaN from a broken checkpoint should say where it appeared).
void assign_or_explain(CodingDistribution& distribution, std::span<const float> probabilities,
                       std::size_t position) {
  try {
    distribution.assign(probabilities);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("lm: model output for byte " + std::to_string(position) + ": " +
                             e.what());
  }
}

// The symbols the mapping can produce (mapped_alphabet): the compressor never codes anything
// else, so a decoder that meets another symbol has left the encoder's path.
void require_alphabet(int vocab_size, SevenBitMapping mapping) {
  if (vocab_size < mapped_alphabet(mapping)) {
    throw InputError("lm: the model predicts " + std::to_string(vocab_size) + " symbols; the " +
                     std::string(to_string(mapping)) + " image of the data needs at least " +
                     std::to_string(mapped_alphabet(mapping)));
  }
}

}  // namespace

SevenBitImage map_to_seven_bits(ByteView data, SevenBitMapping mapping) {
  SevenBitImage image;
  image.symbols.resize(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    image.symbols[i] = to_seven_bits(data[i], mapping);
    if (mapping == SevenBitMapping::ClearTopBit) image.masked_bits += data[i] >> 7;
  }
  if (mapping == SevenBitMapping::ShiftRight) image.masked_bits = data.size();
  return image;
}

LmCompressor::LmCompressor(std::shared_ptr<const Predictor> predictor, SevenBitMapping mapping,
                           bool verify)
    : predictor_(std::move(predictor)), verify_(verify), mapping_(mapping) {
  batch_ = dynamic_cast<const BatchPredictor*>(predictor_.get());
  model_.vocab_size = predictor_->vocab_size();
  model_.parameter_count = predictor_->parameter_count();
  model_.description = predictor_->describe();
  require_alphabet(model_.vocab_size, mapping_);
}

LmCompressor::LmCompressor(SequenceScorer scorer, LmModelInfo model, SevenBitMapping mapping)
    : scorer_(std::move(scorer)), model_(std::move(model)), mapping_(mapping) {
  require_alphabet(model_.vocab_size, mapping_);
}

Bytes LmCompressor::compress(ByteView data, Counters& counters) const {
  const SevenBitImage image = map_to_seven_bits(data, mapping_);
  CodedChunk coded = batch_       ? encode_blocked(image.symbols)
                     : predictor_ ? encode_incrementally(image.symbols)
                                  : encode_teacher_forced(image.symbols);
  counters[kMaskedBits] += static_cast<double>(image.masked_bits);
  counters["ideal_bits"] += coded.ideal_bits;
  counters["coded_bits"] += static_cast<double>(coded.coded_bits);
  return std::move(coded.stream);
}

LmCompressor::CodedChunk LmCompressor::encode_incrementally(ByteView symbols) const {
  const auto session = predictor_->new_session();
  std::vector<float> probabilities(model_.vocab_size);
  CodingDistribution distribution;
  ArithmeticEncoder encoder;
  CodedChunk coded;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    session->next_probabilities(probabilities);
    assign_or_explain(distribution, probabilities, i);
    coded.ideal_bits += distribution.ideal_bits(symbols[i]);
    encoder.encode(distribution, symbols[i]);
    session->append(symbols[i]);
  }
  coded.stream = encoder.finish();
  coded.coded_bits = encoder.bit_count();
  return coded;
}

// The encoder knows the whole chunk: all its distributions in one blocked pass, then the coder.
LmCompressor::CodedChunk LmCompressor::encode_blocked(ByteView symbols) const {
  const auto vocab = static_cast<std::size_t>(model_.vocab_size);
  std::vector<float> probabilities(symbols.size() * vocab);
  batch_->sequence_probabilities(symbols, probabilities);
  CodingDistribution distribution;
  ArithmeticEncoder encoder;
  CodedChunk coded;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    assign_or_explain(distribution, std::span<const float>(&probabilities[i * vocab], vocab), i);
    coded.ideal_bits += distribution.ideal_bits(symbols[i]);
    encoder.encode(distribution, symbols[i]);
  }
  coded.stream = encoder.finish();
  coded.coded_bits = encoder.bit_count();
  return coded;
}

LmCompressor::CodedChunk LmCompressor::encode_teacher_forced(ByteView symbols) const {
  const std::vector<float> log_probs = scorer_(symbols);
  const auto vocab = static_cast<std::size_t>(model_.vocab_size);
  if (log_probs.size() != symbols.size() * vocab) {
    throw std::runtime_error(
        "lm: teacher-forced scorer returned " + std::to_string(log_probs.size()) + " values for " +
        std::to_string(symbols.size()) + " symbols x " + std::to_string(vocab));
  }
  std::vector<float> probabilities(vocab);
  CodingDistribution distribution;
  ArithmeticEncoder encoder;
  CodedChunk coded;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    for (std::size_t s = 0; s < vocab; ++s) probabilities[s] = std::exp(log_probs[i * vocab + s]);
    assign_or_explain(distribution, probabilities, i);
    coded.ideal_bits += distribution.ideal_bits(symbols[i]);
    encoder.encode(distribution, symbols[i]);
  }
  coded.stream = encoder.finish();
  coded.coded_bits = encoder.bit_count();
  return coded;
}

Bytes LmCompressor::decompress(ByteView compressed, std::size_t original_size) const {
  if (!predictor_) {
    throw InputError(
        "lm: estimate mode sizes streams from teacher-forced scores and cannot "
        "decode them; use mode \"decode\"");
  }
  const auto session = predictor_->new_session();
  std::vector<float> probabilities(model_.vocab_size);
  CodingDistribution distribution;
  ArithmeticDecoder decoder(compressed);
  Bytes symbols;
  symbols.reserve(original_size);
  for (std::size_t i = 0; i < original_size; ++i) {
    session->next_probabilities(probabilities);
    assign_or_explain(distribution, probabilities, i);
    const int symbol = decoder.decode(distribution);
    if (symbol >= mapped_alphabet(mapping_)) {
      throw CorruptDataError("lm: byte " + std::to_string(i) + " decodes to symbol " +
                             std::to_string(symbol) + ", outside the mapping's alphabet");
    }
    symbols.push_back(static_cast<std::uint8_t>(symbol));
    session->append(symbol);
  }
  decoder.finish();
  return symbols;
}

std::vector<Compressor::Decoded> LmCompressor::decompress_batch(
    std::span<const ByteView> compressed, std::span<const std::size_t> original_sizes) const {
  if (batch_ == nullptr || compressed.size() < 2) {
    return Compressor::decompress_batch(compressed, original_sizes);
  }
  if (compressed.size() != original_sizes.size()) {
    throw std::invalid_argument("decompress_batch: one original size per stream");
  }
  // One coding state per stream; every step asks the model for the next distribution of all
  // streams still decoding, in one forward pass. A stream that goes wrong stops there with its
  // error; the others go on.
  const int count = static_cast<int>(compressed.size());
  const auto vocab = static_cast<std::size_t>(model_.vocab_size);
  const auto lockstep = batch_->new_lockstep(count);
  std::vector<ArithmeticDecoder> decoders(compressed.begin(), compressed.end());
  std::vector<Decoded> decoded(compressed.size());
  std::vector<int> active;
  for (int k = 0; k < count; ++k) {
    decoded[k].bytes.reserve(original_sizes[k]);
    if (original_sizes[k] > 0) active.push_back(k);
  }
  std::vector<float> probabilities;
  CodingDistribution distribution;
  while (!active.empty()) {
    probabilities.resize(active.size() * vocab);
    lockstep->next_probabilities(active, probabilities);
    std::vector<int> still_active;
    for (std::size_t a = 0; a < active.size(); ++a) {
      const int k = active[a];
      Bytes& symbols = decoded[k].bytes;
      const std::size_t i = symbols.size();
      assign_or_explain(distribution, std::span<const float>(&probabilities[a * vocab], vocab), i);
      const int symbol = decoders[k].decode(distribution);
      if (symbol >= mapped_alphabet(mapping_)) {
        decoded[k].error = "lm: byte " + std::to_string(i) + " decodes to symbol " +
                           std::to_string(symbol) + ", outside the mapping's alphabet";
        continue;
      }
      symbols.push_back(static_cast<std::uint8_t>(symbol));
      lockstep->append(k, symbol);
      if (symbols.size() < original_sizes[k]) still_active.push_back(k);
    }
    active.swap(still_active);
  }
  for (int k = 0; k < count; ++k) {
    if (!decoded[k].error.empty()) continue;
    try {
      decoders[k].finish();
    } catch (const CorruptDataError& e) {
      decoded[k].error = e.what();
    }
  }
  return decoded;
}

Bytes LmCompressor::expected_roundtrip(ByteView data) const {
  return map_to_seven_bits(data, mapping_).symbols;
}

nlohmann::json LmCompressor::settings() const {
  return {
      {"model", model_.description},
      {"parameters", model_.parameter_count},
      {"mapping", to_string(mapping_)},
      {"mode", !predictor_ ? "estimate: not decoded (teacher-forced probabilities)"
               : !verify_  ? "estimate: not decoded (the encoder of the decode mode: same sizes)"
               : batch_    ? "decode: blocked encoder, chunks decoded in lockstep, bit-identical"
                             " to the one-position step"
                           : "decode: every chunk decoded with the incremental predictor"},
      {"context", "each chunk from an empty context"},
      {"coder",
       {{"kind", "binary arithmetic coder, pending-bit carries"},
        {"state_bits", 32},
        {"cdf_bits", kFrequencyBits},
        {"floor", "p <- (1 - 2 V eps) p + eps"},
        {"eps", kProbabilityFloor},
        {"padding", "zero bits to a whole byte"}}},
  };
}

namespace {

// Adds the option's key path to a model loader's error ("compressors[3].checkpoint: ...").
template <typename Load>
auto load_checkpoint(const Options& options, Load load) {
  try {
    return load(std::filesystem::path(options.string("checkpoint")));
  } catch (const InputError& e) {
    throw InputError(options.key_path("checkpoint") + ": " + e.what());
  }
}

KvCachePrecision kv_cache_option(const Options& options) {
  const std::string name = options.string("kv_cache");
  if (const auto precision = parse_kv_cache_precision(name)) return *precision;
  throw InputError(options.key_path("kv_cache") + ": expected \"binary16\" or \"int8\", got \"" +
                   name + "\"");
}

std::unique_ptr<Compressor> make_lm(const Options& options, const CodecContext& context) {
  const std::string mode = options.string("mode");
  const KvCachePrecision precision = kv_cache_option(options);
  const auto load = [precision](const std::filesystem::path& checkpoint) {
    return load_byte_transformer(checkpoint, precision);
  };
  if (mode == "decode") {
    std::shared_ptr<const Predictor> predictor = load_checkpoint(options, load);
    return std::make_unique<LmCompressor>(std::move(predictor), context.mapping);
  }
  if (mode == "estimate") {
    // The decode mode's encoder without verification: its sizes are the decoded ones. (The
    // libtorch teacher-forced forward pass stays a cross-check of the model in the tests.)
    std::shared_ptr<const Predictor> predictor = load_checkpoint(options, load);
    return std::make_unique<LmCompressor>(std::move(predictor), context.mapping,
                                          /*verify=*/false);
  }
  throw InputError(options.key_path("mode") + ": expected \"decode\" or \"estimate\", got \"" +
                   mode + "\"");
}

}  // namespace

std::unique_ptr<const Predictor> load_byte_transformer(const std::filesystem::path& checkpoint,
                                                       KvCachePrecision precision) {
  auto predictor = load_transformer_predictor(checkpoint, precision);
  if (predictor->vocab_size() != 256 || predictor->describe().contains("tokenizer")) {
    throw InputError(checkpoint.string() + ": a tokenized Transformer (" +
                     std::to_string(predictor->vocab_size()) +
                     " tokens); code it with the \"pretrained\" compressor, \"format\": \"lmct\"");
  }
  return predictor;
}

CompressorKind lm_kind() {
  return {
      "lm",
      "Language-model compressor: a byte Transformer's predictions drive an arithmetic coder, "
      "each chunk from an empty context, on a 7-bit image of the data (docs/PROTOCOL.md section 4)",
      {
          {"checkpoint", OptionType::Path, nullptr, "Transformer checkpoint (bench train)"},
          {"mode", OptionType::String, "decode",
           "decode: code with the incremental predictor and verify by decoding; estimate: size "
           "from one teacher-forced forward pass per chunk, never decoded"},
          {"kv_cache", OptionType::String, "binary16",
           "binary16, or int8: 8-bit keys and values with a scale per position and head (faster "
           "decoding; a stream decodes only with the setting that coded it; rate cost per model "
           "in docs/LM_SPEED.md)"},
      },
      make_lm,
      /*default_repetitions=*/1,  // seconds per chunk
  };
}

}  // namespace lmc
