// The text a model or a tokenizer trains on: one file, 7-bit mapped as the LM compressor maps
// enwik, split into a leading training part and a held-out tail. The Transformer trainer and the
// tokenizer trainer read it the same way, so a tokenizer never sees the held-out tail either.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/options.h"

namespace lmc {

struct TrainingText {
  std::string train, heldout;
};

// The config keys "data", "train_fraction" and "mapping", with their defaults.
std::vector<OptionSpec> training_text_specs();

struct TrainingTextSource {
  std::filesystem::path path;
  double train_fraction = 0.9;
  bool clear_top_bit = true;

  // Reads the keys of training_text_specs(); InputError naming the key.
  static TrainingTextSource from_options(const Options& options);
};

// InputError naming the file (key "data") when it cannot be read.
TrainingText load_training_text(const TrainingTextSource& source);

}  // namespace lmc
