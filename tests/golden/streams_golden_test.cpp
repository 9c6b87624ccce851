// The golden streams of tests/golden/streams/ (scripts/golden-streams.sh wrote them once, on the
// CPU their README names) decode bit for bit with this build on this machine: `bench decode`
// rebuilds each compressor from its container's header and checks every chunk's CRC-32. The
// containers carry the checksums of their originals, so no data is needed; the pretrained models
// (stories260K, the tiny RWKV) are read from ../shared/data.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "golden/golden_streams.h"
#include "harness/bench_cli.h"
#include "test_support.h"

namespace lmc {
namespace {

TEST(GoldenStreams, CoverEveryKindOfCompressor) {
  std::set<std::string> names;
  for (const auto& file : test::golden_stream_files()) names.insert(file.stem().string());
  for (const std::string& name : test::expected_golden_streams()) {
    EXPECT_TRUE(names.count(name)) << name << ".lmcs missing: scripts/golden-streams.sh --add";
  }
}

TEST(GoldenStreams, DecodeBitForBitHere) {
  for (const auto& file : test::golden_stream_files()) {
    const std::string name = file.stem().string();
    if (!test::golden_stream_decodable_here(name)) continue;
    // From the repository root, where the recorded model paths are relative to.
    const auto result = test::run_bench("decode " + file.string() + " --quiet",
                                        "cd " + test::source_dir().string() + " &&");
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.output;
    EXPECT_NE(result.output.find("every checksum matches"), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace lmc
