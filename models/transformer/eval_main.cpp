// lmc_eval CHECKPOINT DATA [CHUNKS]: bits per byte of a checkpoint on the held-out part of a
// raw training file (its last 10 %, 7-bit mapped as in training), in consecutive 2048-byte
// chunks each scored from an empty context, as the LM compressor codes them. Uses the
// teacher-forced libtorch path (fast; within ~1e-5 of the incremental step). Prints the total
// and the mean by position inside the chunk, which shows how well long contexts are used.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.h"
#include "models/transformer/checkpoint.h"
#include "models/transformer/teacher_forced.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: " << argv[0] << " CHECKPOINT DATA [CHUNKS]\n";
    return 2;
  }
  try {
    if (lmc::checkpoint_architecture(lmc::read_checkpoint(argv[1]), argv[1]).vocab_size != 256) {
      throw lmc::InputError(std::string(argv[1]) +
                            ": a tokenized Transformer; lmc_eval scores byte models (code a "
                            "tokenized one with bench run, compressor \"pretrained\", format "
                            "\"lmct\")");
    }
    const auto model = lmc::TeacherForcedModel::load(argv[1]);
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) throw lmc::InputError(std::string(argv[2]) + ": cannot open");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t first = static_cast<std::size_t>(bytes.size() * 0.9);
    constexpr std::size_t kChunk = 2048;
    std::size_t chunks = (bytes.size() - first) / kChunk;
    if (argc == 4) chunks = std::min<std::size_t>(chunks, std::stoul(argv[3]));

    const std::vector<std::size_t> bucket_ends = {64, 256, 512, 1024, 2048};
    std::vector<double> bucket_bits(bucket_ends.size());
    double total_bits = 0;
    for (std::size_t c = 0; c < chunks; ++c) {
      std::vector<std::uint8_t> chunk(kChunk);
      for (std::size_t i = 0; i < kChunk; ++i) chunk[i] = bytes[first + c * kChunk + i] & 0x7f;
      const auto log_probs = model->log_probs(chunk);
      for (std::size_t t = 0; t < kChunk; ++t) {
        const double bits = -log_probs[t * 256 + chunk[t]] / std::log(2.0);
        total_bits += bits;
        std::size_t b = 0;
        while (t >= bucket_ends[b]) ++b;
        bucket_bits[b] += bits;
      }
    }
    std::printf("%s: %zu held-out chunks, %.4f bits per byte; by position:", argv[1], chunks,
                total_bits / (chunks * kChunk));
    std::size_t begin = 0;
    for (std::size_t b = 0; b < bucket_ends.size(); ++b) {
      std::printf(" %zu-%zu %.3f", begin, bucket_ends[b] - 1,
                  bucket_bits[b] / (chunks * (bucket_ends[b] - begin)));
      begin = bucket_ends[b];
    }
    std::printf("\n");
  } catch (const lmc::InputError& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  }
}
