// Training a SentencePiece tokenizer from a JSON config; the engine behind `lmc_train_tokenizer
// CONFIG`. Keys: the training text's (data, train_fraction, mapping: models/training_text.h, the
// same split the Transformer trainer uses), model_type, vocab_size, threads, output.
#pragma once

#include <filesystem>
#include <ostream>

namespace lmc {

// Writes `output` (the .model) and `output`.json: the config, how long it took, and what the
// tokenizer does to the held-out tail (bytes, tokens, bytes per token, and that decoding its
// tokens gives the text back byte for byte: InputError otherwise). Config errors throw
// InputError naming the key.
void run_tokenizer_training(const std::filesystem::path& config_path, std::ostream& progress);

}  // namespace lmc
