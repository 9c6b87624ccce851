// The golden streams of tests/golden/streams/ decoded by a second build (issue 29). GCC's
// RelWithDebInfo build for the x86-64 baseline wrote them and decodes them in GoldenStreams.*;
// this program is built by clang in tests/fuzz (scripts/sanitize.sh), at -O1 under ASan + UBSan,
// its model code for -march=x86-64-v3, and decodes them with the same rebuild_compressor and
// decode_container as `bench decode`. A coder or kernel whose arithmetic depends on the compiler
// or its flags (contraction into FMA, vectorised reductions) would fail here: the byte
// Transformer's kernels, and llama2.c's and rwkv.cpp's fixed-order dot products, which GCC
// vectorises for SSE2 and clang here for AVX2.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

#include "golden/golden_streams.h"
#include "harness/run/saved_streams.h"
#include "test_support.h"

namespace lmc {
namespace {

TEST(GoldenStreamsSecondBuild, DecodeBitForBit) {
  // Recorded model paths are relative to the repository root.
  std::filesystem::current_path(test::source_dir());
  std::set<std::string> decoded;
  for (const auto& file : test::golden_stream_files()) {
    const std::string name = file.stem().string();
    if (!test::golden_stream_decodable_here(name)) continue;
    const auto container = StreamContainerReader::open_file(file);
    SCOPED_TRACE(name);
    const RebuiltCompressor rebuilt = rebuild_compressor(container, {});
    std::size_t chunks = 0;
    EXPECT_NO_THROW(decode_container(container, *rebuilt.compressor, 2, nullptr,
                                     [&](std::uint64_t, const Bytes&) { ++chunks; }));
    EXPECT_EQ(chunks, container.chunks().size());
    EXPECT_GT(chunks, 0u);
    decoded.insert(name);
  }
  // Every classical codec, every byte Transformer and every pretrained model's stream.
  for (const std::string& name : test::expected_golden_streams()) {
    if (!test::golden_stream_needs_shared_models(name) || test::shared_models_at_hand()) {
      EXPECT_TRUE(decoded.count(name)) << name << " was not decoded";
    }
  }
  std::printf("second build: %zu golden streams decoded bit for bit\n", decoded.size());
}

}  // namespace
}  // namespace lmc
