#include "harness/run/config.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json.h"

namespace lmc {
namespace {

nlohmann::json minimal_config() {
  return nlohmann::json::parse(R"({
    "name": "t",
    "datasets": [{"name": "random", "kind": "random", "num_chunks": 10, "seed": 1}],
    "compressors": [{"name": "gzip"}]
  })");
}

// The message of the InputError that parsing `config` throws.
std::string config_error(const nlohmann::json& config) {
  try {
    parse_run_config(config);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, DefaultsMatchThePaper) {
  const RunConfig config = parse_run_config(minimal_config());
  EXPECT_EQ(config.chunk_size, 2048u);
  EXPECT_EQ(config.modes, (std::vector<Mode>{Mode::Chunked, Mode::Unchunked}));
  EXPECT_TRUE(config.verify);
  ASSERT_EQ(config.compressors.size(), 1u);
  EXPECT_EQ(config.compressors[0].kind, "gzip");  // kind defaults to name
  EXPECT_EQ(config.datasets[0].mapping, SevenBitMapping::ShiftRight);
  EXPECT_EQ(config.datasets[0].num_chunks, 10u);
}

// An entry's own repetitions, else the config's, else its kind's: three passes for a classical
// codec, one for the kinds that take seconds per chunk.
TEST(Config, RepetitionsComeFromTheEntryTheConfigOrTheKind) {
  nlohmann::json source = minimal_config();
  source["compressors"] = nlohmann::json::parse(
      R"([{"name": "gzip"}, {"name": "flac"}, {"name": "copy"}, {"name": "zstd", "repetitions": 5}])");
  RunConfig config = parse_run_config(source);
  EXPECT_EQ(repetitions_of(config, config.compressors[0]), 3u);
  EXPECT_EQ(repetitions_of(config, config.compressors[1]), 1u);  // libFLAC: ~50 kB/s
  EXPECT_EQ(repetitions_of(config, config.compressors[2]), 3u);
  EXPECT_EQ(repetitions_of(config, config.compressors[3]), 5u);
  EXPECT_TRUE(config.peak_memory);
  source["repetitions"] = 2;
  source["peak_memory"] = false;
  config = parse_run_config(source);
  EXPECT_EQ(repetitions_of(config, config.compressors[1]), 2u);
  EXPECT_EQ(repetitions_of(config, config.compressors[3]), 5u);
  EXPECT_FALSE(config.peak_memory);
  // Neither decides a byte: the journal's fingerprint leaves them out.
  const nlohmann::json decisive = byte_deciding_config(source);
  EXPECT_FALSE(decisive.contains("repetitions"));
  EXPECT_FALSE(decisive.contains("peak_memory"));
  EXPECT_FALSE(decisive["compressors"][3].contains("repetitions"));
  EXPECT_EQ(decisive["compressors"][3]["name"], "zstd");

  source["repetitions"] = 0;
  EXPECT_EQ(config_error(source), "repetitions: expected a positive integer, got 0");
  source["repetitions"] = 101;
  EXPECT_EQ(config_error(source), "repetitions: at most 100, got 101");
  source["repetitions"] = 3;
  source["compressors"][0]["repetitions"] = "3";
  EXPECT_EQ(config_error(source),
            "compressors[0].repetitions: expected a positive integer, got \"3\"");
  source["compressors"][0]["repetitions"] = 3;
  source["peak_memory"] = "yes";
  EXPECT_EQ(config_error(source), "peak_memory: expected true or false");
}

TEST(Config, ErrorsNameTheKeyPath) {
  auto config = minimal_config();
  config["chunk_size"] = 0;
  EXPECT_EQ(config_error(config), "chunk_size: expected a positive integer, got 0");

  config = minimal_config();
  config["datasets"][0]["num_chunk"] = 5;
  EXPECT_NE(config_error(config).find("datasets[0].num_chunk: unknown key"), std::string::npos);

  config = minimal_config();
  config["datasets"][0]["seed"] = "zero";
  EXPECT_NE(config_error(config).find("datasets[0].seed: expected integer"), std::string::npos);

  config = minimal_config();
  config["compressors"].push_back({{"name", "lzma3"}});
  EXPECT_NE(config_error(config).find("compressors[1].name: unknown compressor 'lzma3'"),
            std::string::npos);

  config = minimal_config();
  config["compressors"].push_back({{"name", "gzip"}});
  EXPECT_NE(config_error(config).find("compressors[1].name: duplicate name"), std::string::npos);

  config = minimal_config();
  config["modes"] = {"chunked", "streamed"};
  EXPECT_NE(config_error(config).find("modes[1]"), std::string::npos);

  config = minimal_config();
  config["datasets"][0]["lm_mapping"] = "clear";
  EXPECT_NE(config_error(config).find("datasets[0].lm_mapping"), std::string::npos);

  config = minimal_config();
  config["colour"] = "blue";
  EXPECT_NE(config_error(config).find("colour: unknown key"), std::string::npos);

  config = minimal_config();
  config.erase("datasets");
  EXPECT_EQ(config_error(config), "datasets: required key is missing");
}

TEST(Config, OverridesApplyByKeyPath) {
  auto config = minimal_config();
  apply_override(config, "datasets[0].num_chunks=100");
  apply_override(config, "name=quick2");
  apply_override(config, "modes=[\"chunked\"]");
  apply_override(config, "datasets[0].lm_mapping=clear_top_bit");
  EXPECT_EQ(config["datasets"][0]["num_chunks"], 100);
  EXPECT_EQ(config["name"], "quick2");
  const RunConfig run = parse_run_config(config);
  EXPECT_EQ(run.modes, std::vector<Mode>{Mode::Chunked});
  EXPECT_EQ(run.datasets[0].mapping, SevenBitMapping::ClearTopBit);

  apply_override(config, "compressors[0].num_chunks=7");
  EXPECT_EQ(parse_run_config(config).compressors[0].num_chunks, 7u);
  apply_override(config, "compressors[0].num_chunks=0");
  EXPECT_THROW(parse_run_config(config), InputError);

  EXPECT_THROW(apply_override(config, "datasets[3].num_chunks=1"), InputError);
  EXPECT_THROW(apply_override(config, "no-equals-sign"), InputError);
  EXPECT_THROW(apply_override(config, "datasets[x]=1"), InputError);
}

TEST(Json, NestingLimitIgnoresBracketsInStrings) {
  EXPECT_NO_THROW(check_json_nesting(std::string(256, '[') + std::string(256, ']'), "x"));
  EXPECT_THROW(check_json_nesting(std::string(257, '[') + std::string(257, ']'), "x"), InputError);
  // Brackets inside strings, escaped quotes included, are text.
  EXPECT_NO_THROW(check_json_nesting("[\"" + std::string(1000, '[') + "\\\"\"]", "x"));
  EXPECT_EQ(parse_json(R"({"a": [1, {"b": "]]"}]})", "x")["a"][1]["b"], "]]");
  try {
    parse_json(std::string(300, '{'), "configs/deep.json");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "configs/deep.json: JSON nested deeper than 256 levels (the limit)");
  }
}

}  // namespace
}  // namespace lmc
