// `bench samples`: the paper's Figure 3 (section 3.4, docs/PROTOCOL.md section 6.5). Compressors
// and a language model used as generative models complete a 2048-byte chunk of an image, of audio
// and of text, part of it given and part sampled, as the paper does:
//  - image: a 32 x 64 gray tile; the left half of every row given, the right half sampled, row
//    by row, each draw conditioned on everything before it in raster order (so each row's given
//    left half comes after the rows sampled above it);
//  - audio: the first 1024 samples given, the last 1024 sampled;
//  - text: the first 1948 bytes given, the last 100 sampled.
// The samples are written as PNG, WAV and text files beside the original, and generation.json
// says what was done, for the panel figure of notebooks/figures.py.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "harness/run/config.h"

namespace lmc {

enum class Modality { Image, Audio, Text };
std::string_view to_string(Modality modality);

// The paper's chunk, and the width of an image tile's rows (datasets/imagenet.cpp).
constexpr std::size_t kSampleChunkSize = 2048;
constexpr std::size_t kImageTileWidth = 64;
constexpr std::size_t kTextSampledBytes = 100;

// Which of the chunk's bytes a modality samples (true) and which it gives.
std::vector<bool> sampled_positions(Modality modality);

// A chunk to complete: a dataset entry (as in a run config) and the chunk's index in it. The
// dataset kind decides the modality: imagenet -> image, librispeech -> audio, enwik -> text.
struct SampleInput {
  DatasetEntry dataset;
  Modality modality = Modality::Text;
  std::uint64_t chunk = 0;
};

// A sampler: a compressor entry (p(b) ~ 2^-bits(c(x b)), compressors/compressor_predictor.h), or
// {"kind": "lm", "checkpoint": ...}: a byte Transformer's own next-byte distribution, over the
// 7-bit image of the data (docs/PROTOCOL.md section 4) with the dataset's lm_mapping.
struct SamplesConfig {
  std::string name;
  std::string description;
  std::uint64_t seed = 1;
  double temperature = 1;  // 1: the sampler's own distribution
  std::vector<SampleInput> inputs;
  std::vector<CompressorEntry> samplers;
  nlohmann::json source;  // after overrides, for provenance
};

// Validates every key before anything runs; InputError naming the key otherwise.
SamplesConfig parse_samples_config(const nlohmann::json& source);

struct SamplesOptions {
  std::function<void(const std::string&)> log;  // progress lines (stderr); may be empty
  std::chrono::milliseconds progress_interval{std::chrono::seconds(10)};
  nlohmann::json provenance;  // the command line, host, revision (harness/report/provenance.h)
};

// Reads every input chunk and loads every sampler (so a bad path fails before the minutes of
// sampling), then completes each chunk with each sampler. Writes into `out`: INPUT-original.EXT
// and INPUT-SAMPLER.EXT (EXT: png, wav or txt) and generation.json, which it also returns.
// Each (input, sampler) pair draws from a generator seeded by the config's seed and the two
// names, so a sample does not depend on which others run before it.
nlohmann::json generate_samples(const SamplesConfig& config, const std::filesystem::path& out,
                                const SamplesOptions& options);

}  // namespace lmc
