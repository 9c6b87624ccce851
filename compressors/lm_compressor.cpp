#include "compressors/lm_compressor.h"

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "compressors/arithmetic_coder.h"
#include "models/checkpoint.h"
#include "models/teacher_forced.h"
#include "models/transformer_predictor.h"

namespace lmc {

namespace {

// Symbols the mapping can produce: the compressor never codes anything else, so a decoder that
// meets another symbol has left the encoder's path.
constexpr int kSevenBitAlphabet = 128;

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

void require_seven_bit_vocab(int vocab_size) {
  if (vocab_size < kSevenBitAlphabet) {
    throw InputError("lm: the model predicts " + std::to_string(vocab_size) +
                     " symbols; the 7-bit image of the data needs at least 128");
  }
}

}  // namespace

SevenBitImage map_to_seven_bits(ByteView data, SevenBitMapping mapping) {
  SevenBitImage image;
  image.symbols.resize(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint8_t byte = data[i];
    if (mapping == SevenBitMapping::ClearTopBit) {
      image.symbols[i] = byte & 0x7F;
      image.masked_bits += byte >> 7;
    } else {
      image.symbols[i] = byte >> 1;
    }
  }
  if (mapping == SevenBitMapping::ShiftRight) image.masked_bits = data.size();
  return image;
}

LmCompressor::LmCompressor(std::shared_ptr<const Predictor> predictor, SevenBitMapping mapping)
    : predictor_(std::move(predictor)), mapping_(mapping) {
  model_.vocab_size = predictor_->vocab_size();
  model_.parameter_count = predictor_->parameter_count();
  model_.description = predictor_->describe();
  require_seven_bit_vocab(model_.vocab_size);
}

LmCompressor::LmCompressor(SequenceScorer scorer, LmModelInfo model, SevenBitMapping mapping)
    : scorer_(std::move(scorer)), model_(std::move(model)), mapping_(mapping) {
  require_seven_bit_vocab(model_.vocab_size);
}

Bytes LmCompressor::compress(ByteView data, Counters& counters) const {
  const SevenBitImage image = map_to_seven_bits(data, mapping_);
  CodedChunk coded =
      predictor_ ? encode_incrementally(image.symbols) : encode_teacher_forced(image.symbols);
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
    if (symbol >= kSevenBitAlphabet) {
      throw CorruptDataError("lm: byte " + std::to_string(i) + " decodes to symbol " +
                             std::to_string(symbol) + ", outside the 7-bit alphabet");
    }
    symbols.push_back(static_cast<std::uint8_t>(symbol));
    session->append(symbol);
  }
  decoder.finish();
  return symbols;
}

Bytes LmCompressor::expected_roundtrip(ByteView data) const {
  return map_to_seven_bits(data, mapping_).symbols;
}

nlohmann::json LmCompressor::settings() const {
  return {
      {"model", model_.description},
      {"parameters", model_.parameter_count},
      {"mapping", to_string(mapping_)},
      {"mode", predictor_ ? "decode: every chunk decoded with the incremental predictor"
                          : "estimate: not decoded (teacher-forced probabilities)"},
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

std::unique_ptr<Compressor> make_lm(const Options& options, const CodecContext& context) {
  const std::string mode = options.string("mode");
  const std::filesystem::path checkpoint = options.string("checkpoint");
  if (mode == "decode") {
    std::shared_ptr<const Predictor> predictor =
        load_checkpoint(options, [](const auto& path) { return load_transformer_predictor(path); });
    return std::make_unique<LmCompressor>(std::move(predictor), context.mapping);
  }
  if (mode == "estimate") {
    std::shared_ptr<const TeacherForcedModel> model =
        load_checkpoint(options, [](const auto& path) { return TeacherForcedModel::load(path); });
    LmModelInfo info;
    info.vocab_size = 256;  // TeacherForcedModel scores the 256 byte values
    info.parameter_count = model->parameter_count();
    info.description = {
        {"model", "byte_transformer"},
        {"architecture",
         checkpoint_architecture(read_checkpoint(checkpoint), checkpoint).to_json()},
        {"parameters", info.parameter_count},
        {"checkpoint", checkpoint.string()},
        {"checkpoint_fnv1a64", fnv1a64_file_hash(checkpoint)},
        {"inference", "libtorch teacher-forced forward, one per chunk"}};
    SequenceScorer scorer = [model](ByteView symbols) { return model->log_probs(symbols); };
    return std::make_unique<LmCompressor>(std::move(scorer), std::move(info), context.mapping);
  }
  throw InputError(options.key_path("mode") + ": expected \"decode\" or \"estimate\", got \"" +
                   mode + "\"");
}

}  // namespace

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
      },
      make_lm,
  };
}

}  // namespace lmc
