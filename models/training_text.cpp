#include "models/training_text.h"

#include <fstream>
#include <iterator>

#include "common/error.h"

namespace lmc {

std::vector<OptionSpec> training_text_specs() {
  return {
      {"data", OptionType::Path, "../shared/data/text/enwiki-2016-sample.xml",
       "raw training file (plain bytes, enwik kind)"},
      {"train_fraction", OptionType::Number, 0.9,
       "leading fraction of the file used for training; the rest is held out"},
      {"mapping", OptionType::String, "clear_top_bit",
       "clear_top_bit (bytes >= 128 lose bit 7, as the LM compressor maps enwik) or none"},
  };
}

TrainingTextSource TrainingTextSource::from_options(const Options& options) {
  TrainingTextSource source;
  source.path = options.string("data");
  source.train_fraction = options.number("train_fraction");
  if (!(source.train_fraction > 0 && source.train_fraction < 1)) {
    throw InputError(options.key_path("train_fraction") + ": must be in (0, 1)");
  }
  const auto mapping = options.string("mapping");
  if (mapping != "clear_top_bit" && mapping != "none") {
    throw InputError(options.key_path("mapping") + ": expected clear_top_bit or none");
  }
  source.clear_top_bit = mapping == "clear_top_bit";
  return source;
}

TrainingText load_training_text(const TrainingTextSource& source) {
  std::ifstream in(source.path, std::ios::binary);
  if (!in) throw InputError(source.path.string() + ": cannot open training data (key \"data\")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (source.clear_top_bit) {
    for (char& byte : bytes) byte = static_cast<char>(static_cast<unsigned char>(byte) & 0x7f);
  }
  const auto split =
      static_cast<std::size_t>(static_cast<double>(bytes.size()) * source.train_fraction);
  TrainingText text;
  text.heldout = bytes.substr(split);
  bytes.resize(split);
  text.train = std::move(bytes);
  return text;
}

}  // namespace lmc
