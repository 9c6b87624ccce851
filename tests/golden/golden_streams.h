// The golden streams of tests/golden/streams/, as the tests of both builds see them: the files,
// the names the folder must hold, and which of them can be decoded here (the pretrained models
// are read from ../shared/data, which a user's clone lacks; under CI its absence fails).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "compressors/classical_kinds.h"
#include "test_support.h"

namespace lmc::test {

inline std::set<std::filesystem::path> golden_stream_files() {
  std::set<std::filesystem::path> files;
  for (const auto& item :
       std::filesystem::directory_iterator(source_dir() / "tests/golden/streams")) {
    if (item.path().extension() == ".lmcs") files.insert(item.path());
  }
  return files;
}

// Whether the stream's model is read from ../shared/data (stories260K, the tiny RWKV).
inline bool golden_stream_needs_shared_models(const std::string& name) {
  return name.find("stories") != std::string::npos || name.find("rwkv") != std::string::npos;
}

inline bool shared_models_at_hand() { return std::filesystem::exists(shared_data() / "models"); }

// False, after a test failure under CI, for a stream whose models are not at hand.
inline bool golden_stream_decodable_here(const std::string& name) {
  if (!golden_stream_needs_shared_models(name) || shared_models_at_hand()) return true;
  if (running_under_ci()) ADD_FAILURE() << name << ": ../shared/data/models missing";
  return false;
}

// Every name the folder must hold: one protocol__ stream per classical codec of the registry
// (scripts/golden-streams.sh --add writes a new codec's), and the language models' streams.
inline std::vector<std::string> expected_golden_streams() {
  std::vector<std::string> names;
  for (const CompressorKind& kind : classical_compressor_kinds()) {
    names.push_back("protocol__" + kind.name);
  }
  for (const char* name :
       {"protocol__transformer-200k", "protocol__transformer-200k-int8",
        "protocol__transformer-800k-int8", "protocol__transformer-3.2m", "protocol__stories260k",
        "protocol__rwkv4-660k", "file__transformer-200k-identity", "file__gzip-identity",
        "file__stories260k-identity"}) {
    names.emplace_back(name);
  }
  return names;
}

}  // namespace lmc::test
