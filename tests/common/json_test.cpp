// The JSON reader every config, result, journal and checkpoint header goes through
// (common/json.h): what it makes of documents that are not plain JSON data.
#include "common/json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/error.h"
#include "test_support.h"

namespace lmc {
namespace {

// Found by the JSON fuzzer: nlohmann reports a number beyond a double as out_of_range, which no
// caller caught (`bench run` on a config holding 1e999 exited 1 without naming the file).
TEST(Json, NumberBeyondADoubleIsAnInputErrorNamingTheDocument) {
  try {
    parse_json(R"({"chunk_size": 1e999})", "configs/big.json");
    FAIL() << "parsed 1e999";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("configs/big.json: not valid JSON: "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("number overflow parsing '1e999'"), std::string::npos)
        << e.what();
  }
}

// The one reader of config files (runs, training, tokenizers): every failure is an InputError
// that names the file, and what kind of file was wanted when it cannot be opened.
TEST(Json, ReadJsonFileNamesTheFileAndWhatItShouldHaveBeen) {
  test::TempDir dir;
  const auto missing = dir.path() / "absent.json";
  try {
    read_json_file(missing, "training config");
    FAIL() << "read a missing file";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), missing.string() + ": cannot open training config");
  }
  const auto bad = dir.path() / "bad.json";
  std::ofstream(bad) << "{\"steps\": }";
  try {
    read_json_file(bad);
    FAIL() << "parsed bad syntax";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad.string() + ": not valid JSON: ", 0), 0u) << e.what();
  }
  const auto good = dir.path() / "good.json";
  std::ofstream(good) << "{\"steps\": 3}";
  EXPECT_EQ(read_json_file(good).at("steps"), 3);
}

TEST(Json, BadSyntaxStaysAParseError) {
  EXPECT_THROW(parse_json("{\"a\": }", "bad.json"), nlohmann::json::parse_error);
}

TEST(Json, IntegersAreExactOrNothing) {
  EXPECT_EQ(exact_integer<std::int64_t>(nlohmann::json(-5)), -5);
  EXPECT_EQ(exact_integer<std::uint64_t>(nlohmann::json(18446744073709551615ull)),
            18446744073709551615ull);
  EXPECT_FALSE(exact_integer<std::uint64_t>(nlohmann::json(-1)));
  EXPECT_FALSE(exact_integer<std::int64_t>(nlohmann::json(18446744073709551615ull)));
  EXPECT_FALSE(exact_integer<std::int32_t>(nlohmann::json(std::int64_t{1} << 40)));
  EXPECT_FALSE(exact_integer<std::uint64_t>(nlohmann::json(1e300)));
  EXPECT_FALSE(exact_integer<std::uint64_t>(nlohmann::json("4")));
}

}  // namespace
}  // namespace lmc
