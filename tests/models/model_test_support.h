// Small trained checkpoints for the model tests, made once per test program with the real
// training engine on the first 10,000 bytes of enwik8.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "models/predictor.h"
#include "models/transformer/training.h"
#include "test_support.h"

namespace lmc::test {

inline std::filesystem::path enwik_head() { return shared_data() / "text/enwik9-head-10000"; }

// A training config for a tiny model on enwik_head(); `overrides` replace keys.
inline nlohmann::json tiny_training_config(const std::filesystem::path& checkpoint,
                                           const nlohmann::json& overrides = {}) {
  nlohmann::json config = {
      {"architecture", {{"embedding_dim", 32}, {"layers", 2}, {"heads", 4}}},
      {"data", enwik_head().string()},
      {"train_fraction", 0.8},
      {"batch_size", 4},
      {"sequence_length", 128},
      {"steps", 30},
      {"learning_rate", 3e-3},
      {"threads", 1},
      {"log_every", 5},
      {"eval_every", 10},
      {"checkpoint_every", 10},
      {"eval_sequences", 2},
      {"eval_sequence_length", 256},
      {"checkpoint", checkpoint.string()},
  };
  if (overrides.is_object()) config.update(overrides);
  return config;
}

inline std::filesystem::path write_config(const std::filesystem::path& path,
                                          const nlohmann::json& config) {
  std::ofstream(path) << config.dump(2);
  return path;
}

// Trains per `config` (written next to its checkpoint) and returns the checkpoint path.
inline std::filesystem::path train(const nlohmann::json& config, bool resume = false) {
  const std::filesystem::path checkpoint = config["checkpoint"].get<std::string>();
  auto config_path = checkpoint;
  config_path += ".json";
  std::ostringstream progress;
  run_training(write_config(config_path, config), resume, progress);
  return checkpoint;
}

inline Bytes read_bytes(const std::filesystem::path& path, std::size_t limit = SIZE_MAX) {
  std::ifstream in(path, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > limit) bytes.resize(limit);
  return bytes;
}

// The first `n` bytes of enwik8, 7-bit mapped as the LM compressor maps enwik.
inline Bytes enwik_chunk(std::size_t n) {
  auto bytes = read_bytes(enwik_head(), n);
  for (auto& b : bytes) b &= 0x7f;
  return bytes;
}

// Probabilities of every symbol of `symbols` (n x 256) from one session of `predictor`, one
// position at a time: the reference the other ways of computing them are compared with.
inline std::vector<float> incremental_probabilities(const Predictor& predictor, ByteView symbols) {
  auto session = predictor.new_session();
  std::vector<float> all(symbols.size() * 256);
  for (std::size_t t = 0; t < symbols.size(); ++t) {
    session->next_probabilities(std::span<float>(&all[t * 256], 256));
    session->append(symbols[t]);
  }
  return all;
}

}  // namespace lmc::test
