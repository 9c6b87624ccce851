#include <gtest/gtest.h>

#include <array>
#include <thread>

#include "datasets/dataset_testing.h"

namespace lmc::test {
namespace {

TEST(RandomDataset, AnySplitOfTheChunksReadsTheSameBytes) {
  auto dataset = make_dataset("random", {{"seed", 7}});
  const auto whole = read_chunks(*dataset, 0, 12);
  ASSERT_EQ(whole.size(), 12u);
  for (std::uint64_t first : {1u, 5u, 11u}) {
    const auto part = read_chunks(*dataset, first, 12 - first);
    ASSERT_EQ(part.size(), 12 - first);
    for (std::size_t i = 0; i < part.size(); ++i) {
      EXPECT_EQ(part[i], whole[first + i]) << "chunk " << first + i << " read from " << first;
    }
  }
  EXPECT_NE(whole[0], whole[1]);
}

TEST(RandomDataset, ThreadsReadingRangesGetTheSameBytes) {
  // Bounded the way the harness bounds it (num_chunks), here to 12 chunks on 3 threads.
  auto dataset = make_dataset("random", {{"seed", 7}});
  std::vector<std::vector<Bytes>> parts(3);
  std::vector<std::thread> threads;
  for (std::uint64_t part = 0; part < 3; ++part) {
    threads.emplace_back([&, part] { parts[part] = read_chunks(*dataset, 4 * part, 4); });
  }
  for (auto& thread : threads) thread.join();
  const auto whole = read_chunks(*dataset, 0, 12);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(parts[i / 4][i % 4], whole[i]) << "chunk " << i;
}

TEST(RandomDataset, SeedNamesTheBytes) {
  const auto a = read_chunks(*make_dataset("random", {{"seed", 1}}), 3, 1);
  const auto b = read_chunks(*make_dataset("random", {{"seed", 1}}), 3, 1);
  const auto c = read_chunks(*make_dataset("random", {{"seed", 2}}), 3, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(RandomDataset, StreamIsPinned) {
  // The first words of the seed-0 stream: mix64(mix64(0) + n * 0x9e3779b97f4a7c15), n = 1, 2,
  // little-endian (computed independently in Python). A change here silently changes every
  // published Random result.
  const auto chunk = read_chunks(*make_dataset("random", nlohmann::json::object()), 0, 1).at(0);
  const std::array<std::uint8_t, 16> expected = {0xaf, 0xcd, 0x1d, 0x7b, 0x39, 0xa8, 0x20, 0xe2,
                                                 0xf4, 0x65, 0xb9, 0xa1, 0x6a, 0x9e, 0x78, 0x6e};
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), chunk.begin()));
}

TEST(RandomDataset, BytesAreUniform) {
  // 400 chunks = 819,200 bytes; chi-square over 256 byte values has 255 degrees of freedom
  // (mean 255, sd 22.6). The stream is fixed by the seed, so this cannot flake.
  const auto chunks = read_chunks(*make_dataset("random", {{"seed", 3}}), 0, 400);
  std::array<double, 256> counts{};
  for (const auto& chunk : chunks) {
    for (auto byte : chunk) counts[byte] += 1;
  }
  const double expected = 400.0 * 2048 / 256;
  double chi_square = 0;
  for (double count : counts) chi_square += (count - expected) * (count - expected) / expected;
  EXPECT_GT(chi_square, 150);
  EXPECT_LT(chi_square, 360);
}

TEST(RandomDataset, ChunkSizesThatAreNotWholeWordsSplitTheSame) {
  auto dataset = make_dataset("random", {{"seed", 9}}, 100);
  const auto whole = read_chunks(*dataset, 0, 4);
  const auto tail = read_chunks(*dataset, 2, 2);
  ASSERT_EQ(whole.at(0).size(), 100u);
  EXPECT_EQ(tail.at(0), whole.at(2));
  EXPECT_EQ(tail.at(1), whole.at(3));
}

TEST(RandomDataset, IsUnboundedAndDeclaresOnlyItsSeed) {
  auto dataset = make_dataset("random", nlohmann::json::object());
  EXPECT_GE(dataset->available_chunks(), std::uint64_t{1} << 40);
  EXPECT_EQ(dataset->provenance().at("seed"), 0);
  const auto error = input_error_of([] { make_dataset("random", {{"path", "x"}}); });
  EXPECT_EQ(error.rfind("datasets[0].path: unknown key", 0), 0u) << error;
  EXPECT_EQ(find_dataset_kind("random")->default_mapping, SevenBitMapping::ShiftRight);
}

}  // namespace
}  // namespace lmc::test
