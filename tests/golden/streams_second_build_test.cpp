// The golden streams of tests/golden/streams/ decoded by a second build (issue 29). GCC's
// RelWithDebInfo build for the x86-64 baseline wrote them and decodes them in GoldenStreams.*;
// this program is built by clang in tests/fuzz (scripts/sanitize.sh), at -O1 under ASan + UBSan,
// its model code for -march=x86-64-v3, and decodes them with the same rebuild_compressor and
// decode_container as `bench decode`. A coder or kernel whose arithmetic depends on the compiler
// or its flags (contraction into FMA, vectorised reductions) would fail here. That build has no
// libtorch, so no `pretrained` kind: the stories260K and RWKV streams are decoded by the first
// build only.
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
  std::set<std::string> decoded, not_in_this_build;
  for (const auto& item : std::filesystem::directory_iterator(folder)) {
    if (item.path().extension() != ".lmcs") continue;
    const std::string name = item.path().stem().string();
    const auto container = StreamContainerReader::open_file(item.path());
    const std::string kind = container.header().at("compressor").at("kind").get<std::string>();
    if (kind == "pretrained") {
      not_in_this_build.insert(name);
      continue;
    }
    SCOPED_TRACE(name);
    const RebuiltCompressor rebuilt = rebuild_compressor(container, {});
    std::size_t chunks = 0;
    EXPECT_NO_THROW(decode_container(container, *rebuilt.compressor, 2, nullptr,
                                     [&](std::uint64_t, const Bytes&) { ++chunks; }));
    EXPECT_EQ(chunks, container.chunks().size());
    EXPECT_GT(chunks, 0u);
    decoded.insert(name);
  }
  // Every classical codec and every byte Transformer stream; only the pretrained ones left over.
  for (const CompressorKind& kind : classical_compressor_kinds()) {
    EXPECT_TRUE(decoded.count("protocol__" + kind.name)) << kind.name << " was not decoded";
  }
  for (const char* name : {"protocol__transformer-200k", "protocol__transformer-200k-int8",
                           "protocol__transformer-800k-int8", "protocol__transformer-3.2m",
                           "file__transformer-200k-identity", "file__gzip-identity"}) {
    EXPECT_TRUE(decoded.count(name)) << name << " was not decoded";
  }
  EXPECT_EQ(not_in_this_build,
            (std::set<std::string>{"protocol__rwkv4-660k", "protocol__stories260k",
                                   "file__stories260k-identity"}));
  std::printf("second build: %zu golden streams decoded bit for bit, %zu need libtorch\n",
              decoded.size(), not_in_this_build.size());
}

}  // namespace
}  // namespace lmc
