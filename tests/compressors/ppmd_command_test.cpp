// PPMd through libarchive's 7-Zip writer, and the command kind (any program as a compressor):
// round trips, the header counted once, damage, and the command kind's failures (issue 30).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "codec_checks.h"
#include "test_support.h"

namespace lmc {
namespace {

using test::make_codec;
using test::text_like;

// --- ppmd ---

TEST(Ppmd, RoundTripsTheStandardInputs) {
  const auto c = make_codec(ppmd_kind());
  for (const auto& input : test::standard_inputs()) {
    SCOPED_TRACE(input.name);
    const Bytes compressed = c->compress(input.bytes);
    EXPECT_EQ(c->decompress(compressed, input.bytes.size()), input.bytes);
    EXPECT_EQ(c->decompress(compressed, 0), input.bytes);
  }
}

TEST(Ppmd, BeatsGzipOnText) {
  const auto ppmd = make_codec(ppmd_kind());
  const auto gzip = make_codec(gzip_kind());
  const Bytes text = text_like(1 << 20, 3);
  EXPECT_LT(ppmd->compress(text).size(), gzip->compress(text).size());
}

// Garbage, every truncation, trailing bytes and flipped bytes (the 7z start header, header
// database and data all carry CRC-32s).
TEST(Ppmd, DamageIsCorruptData) {
  test::expect_rejects_damage(*make_codec(ppmd_kind()), /*has_checksum=*/true);
  const auto c = make_codec(ppmd_kind());
  EXPECT_THROW(c->decompress(c->compress(text_like(2048, 5)), 2047), CorruptDataError);
}

// A 7z header other than the one file this codec writes is refused before libarchive parses it:
// the ppmd fuzzer's archive (tests/fuzz/crashes/ppmd/) declares 0x0fffffffe2 files, for which
// libarchive called calloc for 4.4 GB. The same holds for a header naming another coder.
TEST(Ppmd, ForeignHeadersAreRefusedBeforeLibarchiveAllocates) {
  const auto c = make_codec(ppmd_kind());
  const Bytes crash = test::read_file(test::source_dir() /
                                      "tests/fuzz/crashes/ppmd/"
                                      "ppmd-oom-99b7ef81747ea973bc78e0b55ed7e325cd6c0642");
  // The fuzz target gives the codec the input after its first three bytes (an original size).
  const Bytes archive(crash.begin() + 3, crash.end());
  try {
    c->decompress(archive, 0);
    ADD_FAILURE() << "a header declaring billions of files decoded";
  } catch (const CorruptDataError& error) {
    EXPECT_NE(std::string(error.what()).find("is not the one file coded by PPMd"),
              std::string::npos)
        << error.what();
  }
  // A real stream whose coder properties ask for 2^30 bytes of model memory instead of 2^24.
  Bytes stream = c->compress(text_like(4096, 7));
  const std::array<std::uint8_t, 6> props = {0x05, 0x06, 0x00, 0x00, 0x00, 0x01};
  auto at = std::search(stream.begin(), stream.end(), props.begin(), props.end());
  ASSERT_NE(at, stream.end());
  at[5] = 0x40;
  EXPECT_THROW(c->decompress(stream, 4096), CorruptDataError);
}

TEST(Ppmd, HeaderAndSettings) {
  const auto c = make_codec(ppmd_kind());
  const std::size_t header = c->compress(Bytes{0}).size();
  std::printf("ppmd: one zero byte -> %zu bytes\n", header);
  EXPECT_EQ(header, 92u);
  const nlohmann::json settings = c->settings();
  EXPECT_EQ(settings["model_order"], 6);
  EXPECT_FALSE(settings["library_version"].get<std::string>().empty());
  test::expect_thread_safe(*c);
}

TEST(Ppmd, EnwikiChunkedAndWholeRates) {
  LMC_REQUIRE_SHARED_DATA("text/enwiki-2016-sample.xml");
  const auto c = make_codec(ppmd_kind());
  const Bytes all = test::read_file(test::shared_data() / "text/enwiki-2016-sample.xml");
  const Bytes head(all.begin(), all.begin() + 256 * 2048);
  const auto file = test::TempDir();
  const auto path = file.path() / "head";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
  const test::Rates rates = test::measure_rates(*c, path);
  std::printf("ppmd enwiki first 256 chunks: chunked %.3f %%, whole %.3f %%\n",
              rates.chunked_percent, rates.whole_percent);
  // gzip on the same chunks: 49.9 % chunked (the whole sample), lzma2 51.7 %.
  EXPECT_NEAR(rates.chunked_percent, 44.894, 0.01);
  EXPECT_NEAR(rates.whole_percent, 24.391, 0.01);
}

// --- command ---

nlohmann::json cat_command() {
  return {{"program", "cat"}, {"compress", "{program}"}, {"decompress", "{program}"}};
}

TEST(Command, CatThroughStdinAndStdoutRoundTrips) {
  const auto c = make_codec(command_kind(), cat_command());
  for (const Bytes& input : {Bytes{}, Bytes{0}, text_like(2048, 1), text_like(300'000, 2)}) {
    const Bytes compressed = c->compress(input);
    EXPECT_EQ(compressed, input);
    EXPECT_EQ(c->decompress(compressed, input.size()), input);
  }
}

TEST(Command, FilePlaceholdersAndAShellPipeline) {
  const auto c = make_codec(command_kind(), {{"program", "gzip"},
                                             {"compress", "{program} -9 -n -c {in} > {out}"},
                                             {"decompress", "{program} -d -c < {in} > {out}"}});
  const Bytes input = text_like(2048, 3);
  const Bytes compressed = c->compress(input);
  EXPECT_LT(compressed.size(), input.size());
  EXPECT_EQ(c->decompress(compressed, input.size()), input);
  // gzip -9 -n is zlib level 9 in a gzip container with no name or time: the gzip kind's bytes
  // apart from the OS byte.
  const Bytes native = make_codec(gzip_kind())->compress(input);
  EXPECT_EQ(compressed.size(), native.size());
}

TEST(Command, SettingsRecordPathVersionAndHash) {
  const nlohmann::json settings = make_codec(command_kind(), cat_command())->settings();
  const std::string path = settings["program"];
  EXPECT_TRUE(std::filesystem::path(path).is_absolute()) << path;
  EXPECT_NE(settings["program_version"].get<std::string>().find("cat"), std::string::npos)
      << settings.dump();
  EXPECT_EQ(settings["program_sha256"].get<std::string>().size(), 64u);
  EXPECT_NE(settings["row_note"].get<std::string>().find("timings include"), std::string::npos);
}

TEST(Command, MissingProgramIsAnInputErrorNamingTheKey) {
  nlohmann::json options = cat_command();
  options["program"] = "no-such-compressor-lmc";
  try {
    make_codec(command_kind(), options);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("compressors[0].program"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(make_codec(command_kind(), {{"program", "cat"}}), InputError);  // no templates
}

TEST(Command, FailingCommandsAreClearErrors) {
  test::TempDir dir;
  const auto script = dir.path() / "fails.sh";
  std::ofstream(script) << "#!/bin/sh\necho 'broken codec' >&2\nexit 3\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  const auto c = make_codec(
      command_kind(),
      {{"program", script.string()}, {"compress", "{program}"}, {"decompress", "{program}"}});
  try {
    c->compress(Bytes{1, 2, 3});
    ADD_FAILURE() << "accepted";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("exit status 3"), std::string::npos) << message;
    EXPECT_NE(message.find("broken codec"), std::string::npos) << message;
  }
  EXPECT_THROW(c->decompress(Bytes{1, 2, 3}, 3), CorruptDataError);
  // A template that promises {out} but writes none.
  const auto silent = make_codec(
      command_kind(),
      {{"program", "true"}, {"compress", "{program} {in} {out}"}, {"decompress", "{program}"}});
  EXPECT_THROW(silent->compress(Bytes{1}), InputError);
}

TEST(Command, TimeoutKillsTheProgram) {
  const auto c = make_codec(command_kind(), {{"program", "sleep"},
                                             {"compress", "{program} 30"},
                                             {"decompress", "{program} 30"},
                                             {"timeout_s", 0.3}});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(c->compress(Bytes{1}), InputError);
  EXPECT_THROW(c->decompress(Bytes{1}, 1), CorruptDataError);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  EXPECT_THROW(make_codec(command_kind(), {{"program", "cat"},
                                           {"compress", "{program}"},
                                           {"decompress", "{program}"},
                                           {"timeout_s", -1}}),
               InputError);
}

TEST(Command, WrongOutputIsLeftToTheHarnessVerification) {
  // A "decompressor" that drops a byte decodes without error; the harness compares and stops
  // with exit 3 (tests/harness). Here: the bytes differ.
  const auto c = make_codec(
      command_kind(), {{"program", "head"}, {"compress", "cat"}, {"decompress", "{program} -c 2"}});
  EXPECT_NE(c->decompress(c->compress(Bytes{1, 2, 3}), 3), (Bytes{1, 2, 3}));
}

}  // namespace
}  // namespace lmc
