// The golden streams of tests/golden/streams/ (scripts/golden-streams.sh wrote them once, on the
// CPU their README names) decode bit for bit with this build on this machine: `bench decode`
// rebuilds each compressor from its container's header and checks every chunk's CRC-32. The
// containers carry the checksums of their originals, so no data is needed; the pretrained models
// (stories260K, the tiny RWKV) are read from ../shared/data.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "compressors/classical_kinds.h"
#include "harness/bench_cli.h"
#include "test_support.h"

namespace lmc {
namespace {

std::set<std::filesystem::path> golden_streams() {
  std::set<std::filesystem::path> files;
  for (const auto& item :
       std::filesystem::directory_iterator(test::source_dir() / "tests/golden/streams")) {
    if (item.path().extension() == ".lmcs") files.insert(item.path());
  }
  return files;
}

TEST(GoldenStreams, CoverEveryKindOfCompressor) {
  const auto files = golden_streams();
  std::set<std::string> names;
  for (const auto& file : files) names.insert(file.stem().string());
  // Every classical codec of the registry: a new codec needs its golden stream
  // (scripts/golden-streams.sh --add writes it and touches no other).
  for (const CompressorKind& kind : classical_compressor_kinds()) {
    EXPECT_TRUE(names.count("protocol__" + kind.name))
        << "protocol__" << kind.name << ".lmcs missing: scripts/golden-streams.sh --add";
  }
  for (const char* name :
       {"protocol__transformer-200k", "protocol__transformer-200k-int8",
        "protocol__transformer-800k-int8", "protocol__transformer-3.2m", "protocol__stories260k",
        "protocol__rwkv4-660k", "file__transformer-200k-identity", "file__gzip-identity",
        "file__stories260k-identity"}) {
    EXPECT_TRUE(names.count(name)) << name << ".lmcs missing: scripts/golden-streams.sh";
  }
}

TEST(GoldenStreams, DecodeBitForBitHere) {
  for (const auto& file : golden_streams()) {
    const std::string name = file.stem().string();
    const bool shared =
        name.find("stories") != std::string::npos || name.find("rwkv") != std::string::npos;
    if (shared && !std::filesystem::exists(test::shared_data() / "models")) {
      if (test::running_under_ci()) ADD_FAILURE() << name << ": ../shared/data/models missing";
      continue;
    }
    // From the repository root, where the recorded model paths are relative to.
    const auto result = test::run_bench("decode " + file.string() + " --quiet",
                                        "cd " + test::source_dir().string() + " &&");
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.output;
    EXPECT_NE(result.output.find("every checksum matches"), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace lmc
