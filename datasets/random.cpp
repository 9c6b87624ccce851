// random: uniformly random bytes (docs/PROTOCOL.md section 2). The paper gives no seed; here
// the corpus is one splitmix64 stream keyed by the config's seed, and chunk i is the window of
// that stream starting at word i * ceil(chunk_size / 8). Every byte is a pure function of
// (seed, position), so any split of the chunks into ranges reads the same bytes.
#include <algorithm>
#include <stdexcept>

#include "datasets/dataset.h"

namespace lmc {

namespace {

// Effectively unbounded: the harness caps the count with the config's num_chunks.
constexpr std::uint64_t kAvailableChunks = std::uint64_t{1} << 40;

constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15;

// splitmix64's output function (Steele, Lea, Flood 2014): a bijective mixer, so word n of the
// stream is mix(key + (n + 1) * gamma) and can be computed at any n without the words before it.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

class RandomReader : public ChunkReader {
 public:
  RandomReader(std::uint64_t key, std::size_t chunk_size, std::uint64_t first)
      : chunk_size_(chunk_size),
        words_per_chunk_((chunk_size + 7) / 8),
        key_(key),
        next_chunk_(first) {}

  bool next(std::span<std::uint8_t> chunk) override {
    if (next_chunk_ == kAvailableChunks) return false;
    if (chunk.size() != chunk_size_) throw std::invalid_argument("random: wrong chunk size");
    std::uint64_t state = key_ + next_chunk_ * words_per_chunk_ * kGoldenGamma;
    for (std::size_t offset = 0; offset < chunk.size(); offset += 8) {
      state += kGoldenGamma;
      const std::uint64_t word = mix64(state);
      // Little-endian byte order whatever the machine, so a seed names the same bytes everywhere.
      const std::size_t bytes = std::min<std::size_t>(8, chunk.size() - offset);
      for (std::size_t b = 0; b < bytes; ++b) {
        chunk[offset + b] = static_cast<std::uint8_t>(word >> (8 * b));
      }
    }
    ++next_chunk_;
    return true;
  }

 private:
  std::size_t chunk_size_;
  std::uint64_t words_per_chunk_;
  std::uint64_t key_;
  std::uint64_t next_chunk_;
};

class RandomDataset : public Dataset {
 public:
  RandomDataset(std::int64_t seed, std::size_t chunk_size)
      : seed_(seed), key_(mix64(static_cast<std::uint64_t>(seed))), chunk_size_(chunk_size) {}

  std::size_t chunk_size() const override { return chunk_size_; }
  std::uint64_t available_chunks() const override { return kAvailableChunks; }

  std::unique_ptr<ChunkReader> open(std::uint64_t first) const override {
    if (first > kAvailableChunks) throw std::out_of_range("random: chunk past the end");
    return std::make_unique<RandomReader>(key_, chunk_size_, first);
  }

  nlohmann::json provenance() const override {
    return {{"generator", "splitmix64, one stream, chunk i at word i*ceil(chunk_size/8)"},
            {"seed", seed_},
            {"byte_order", "little-endian words"}};
  }

 private:
  std::int64_t seed_;
  std::uint64_t key_;
  std::size_t chunk_size_;
};

}  // namespace

DatasetKind random_kind() {
  return {
      .name = "random",
      .summary =
          "uniformly random bytes from a seeded splitmix64 stream; unbounded, so the "
          "config must set num_chunks",
      .options = {{"seed", OptionType::Integer, 0,
                   "generator seed; chunk i depends only on (seed, i)"}},
      .default_mapping = SevenBitMapping::ShiftRight,
      .make = [](const Options& options, std::size_t chunk_size) -> std::unique_ptr<Dataset> {
        if (chunk_size == 0) throw std::invalid_argument("random: chunk size must be positive");
        return std::make_unique<RandomDataset>(options.integer("seed"), chunk_size);
      },
  };
}

}  // namespace lmc
