// The golden streams of tests/golden/streams/ decoded by a second build (issue 29). GCC's
// RelWithDebInfo build for the x86-64 baseline wrote them and decodes them in GoldenStreams.*;
// this program is built by clang in tests/fuzz (scripts/sanitize.sh), at -O1 under ASan + UBSan,
// its model code for -march=x86-64-v3, and decodes them with the same rebuild_compressor and
// decode_container as `bench decode`. A coder or kernel whose arithmetic depends on the compiler
// or its flags (contraction into FMA, vectorised reductions) would fail here: the byte
// Transformer's kernels, and llama2.c's and rwkv.cpp's fixed-order dot products, which GCC
// vectorises for SSE2 and clang here for AVX2.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "compressors/classical_kinds.h"
#include "harness/run/saved_streams.h"
#include "test_support.h"

namespace lmc {
namespace {

TEST(GoldenStreamsSecondBuild, DecodeBitForBit) {
  // Recorded model paths are relative to the repository root.
  std::filesystem::current_path(test::source_dir());
  const auto folder = test::source_dir() / "tests/golden/streams";
  std::set<std::string> decoded;
  for (const auto& item : std::filesystem::directory_iterator(folder)) {
    if (item.path().extension() != ".lmcs") continue;
    const std::string name = item.path().stem().string();
    // The pretrained models are read from ../shared/data (not in a user's clone).
    const bool shared =
        name.find("stories") != std::string::npos || name.find("rwkv") != std::string::npos;
    if (shared && !std::filesystem::exists(test::shared_data() / "models")) {
      if (test::running_under_ci()) ADD_FAILURE() << name << ": ../shared/data/models missing";
      continue;
    }
    const auto container = StreamContainerReader::open_file(item.path());
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
  for (const CompressorKind& kind : classical_compressor_kinds()) {
    EXPECT_TRUE(decoded.count("protocol__" + kind.name)) << kind.name << " was not decoded";
  }
  for (const char* name : {"protocol__transformer-200k", "protocol__transformer-200k-int8",
                           "protocol__transformer-800k-int8", "protocol__transformer-3.2m",
                           "file__transformer-200k-identity", "file__gzip-identity"}) {
    EXPECT_TRUE(decoded.count(name)) << name << " was not decoded";
  }
  if (std::filesystem::exists(test::shared_data() / "models")) {
    for (const char* name :
         {"protocol__rwkv4-660k", "protocol__stories260k", "file__stories260k-identity"}) {
      EXPECT_TRUE(decoded.count(name)) << name << " was not decoded";
    }
  }
  std::printf("second build: %zu golden streams decoded bit for bit\n", decoded.size());
}

}  // namespace
}  // namespace lmc
