// `bench data`: downloads from a local HTTP server (tests/harness/data_server.py on 127.0.0.1)
// serving fixture archives made here, with a catalogue of their own checksums.
#include "harness/fetch/data_fetch.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sndfile.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "common/digest.h"
#include "common/error.h"
#include "harness/bench_cli.h"
#include "test_support.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct ArchiveWriteFree {
  void operator()(archive* writer) const { archive_write_free(writer); }
};
struct EntryFree {
  void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};

// Writes `members` (name -> bytes) as a zip, or a gzipped tar.
void write_archive(const fs::path& path,
                   const std::vector<std::pair<std::string, std::string>>& members, bool zip) {
  std::unique_ptr<archive, ArchiveWriteFree> writer(archive_write_new());
  if (zip) {
    archive_write_set_format_zip(writer.get());
  } else {
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_add_filter_gzip(writer.get());
  }
  ASSERT_EQ(archive_write_open_filename(writer.get(), path.c_str()), ARCHIVE_OK);
  for (const auto& [name, bytes] : members) {
    std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    ASSERT_EQ(archive_write_header(writer.get(), entry.get()), ARCHIVE_OK);
    ASSERT_EQ(archive_write_data(writer.get(), bytes.data(), bytes.size()),
              static_cast<la_ssize_t>(bytes.size()));
  }
  ASSERT_EQ(archive_write_close(writer.get()), ARCHIVE_OK);
}

// A 16 kHz mono FLAC of `samples` samples of a tone.
std::string flac_bytes(const fs::path& scratch, int samples, double frequency) {
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(scratch.c_str(), SFM_WRITE, &info);
  if (file == nullptr) throw std::runtime_error(sf_strerror(nullptr));
  std::vector<short> pcm(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    pcm[i] = static_cast<short>(8000 * std::sin(2 * M_PI * frequency * i / 16000.0));
  }
  sf_write_short(file, pcm.data(), samples);
  sf_close(file);
  return read_text(scratch);
}

// data_server.py in a child process, stopped when the test ends.
class TestServer {
 public:
  explicit TestServer(const fs::path& root) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      const std::string script = (test::source_dir() / "tests/harness/data_server.py").string();
      execl("/usr/bin/python3", "python3", script.c_str(), root.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    FILE* reader = fdopen(out[0], "r");
    char line[64] = {};
    const bool got = std::fgets(line, sizeof line, reader) != nullptr;
    std::fclose(reader);
    if (!got) throw std::runtime_error("data_server.py did not start");
    base_ = "http://127.0.0.1:" + std::string(line, std::strlen(line) - 1);
  }
  ~TestServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& base() const { return base_; }

  // The requests so far: (path, Range header or "").
  std::vector<std::pair<std::string, std::string>> requests() const {
    // No libcurl here on purpose.
    const std::string text = test::run_command("curl -s " + base_ + "/_log").output;
    std::vector<std::pair<std::string, std::string>> list;
    for (const auto& r : nlohmann::json::parse(text)) {
      list.emplace_back(r[0].get<std::string>(), r[1].is_null() ? "" : r[1].get<std::string>());
    }
    return list;
  }

 private:
  pid_t pid_ = -1;
  std::string base_;
};

class DataFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    served_ = dir_.path() / "served";
    data_ = dir_.path() / "data";
    fs::create_directories(served_);
    for (int i = 0; text_.size() < 100'000; ++i) {
      text_ += "<page><title>Entry " + std::to_string(i) + "</title></page>\n";
    }
    write_archive(served_ / "tiny.zip", {{"tiny", text_}, {"README", "not this one"}}, true);
    const fs::path scratch = dir_.path() / "scratch.flac";
    write_archive(served_ / "speech.tar.gz",
                  {{"LibriSpeech/README.TXT", "readme"},
                   {"LibriSpeech/split/19/198/19-198-0000.flac", flac_bytes(scratch, 5000, 440)},
                   {"LibriSpeech/split/19/198/19-198-0001.flac", flac_bytes(scratch, 4100, 220)},
                   {"LibriSpeech/split/19/198/19-198.trans.txt", "19-198-0000 HELLO\n"},
                   {"LibriSpeech/split/26/495/26-495-0000.flac", flac_bytes(scratch, 2048, 330)}},
                  false);
    server_ = std::make_unique<TestServer>(served_);
    tiny_ = {{"name", "tiny"},
             {"dataset_kind", "enwik"},
             {"url", server_->base() + "/tiny.zip"},
             {"archive", "tiny.zip"},
             {"archive_bytes", fs::file_size(served_ / "tiny.zip")},
             {"archive_checksum", "md5:" + file_digest(served_ / "tiny.zip", "md5")},
             {"target", "tiny"},
             {"member", "tiny"},
             {"content_bytes", text_.size()},
             {"content_checksum", "sha256:" + file_digest_of_text(text_)}};
    speech_ = {{"name", "speech"},
               {"layout", "audio-folder"},
               {"dataset_kind", "librispeech"},
               {"url", server_->base() + "/speech.tar.gz"},
               {"archive", "speech.tar.gz"},
               {"archive_bytes", fs::file_size(served_ / "speech.tar.gz")},
               {"archive_checksum", "md5:" + file_digest(served_ / "speech.tar.gz", "md5")},
               {"target", "speech"},
               {"member", "LibriSpeech/split/"},
               {"extension", ".flac"},
               {"content_files", 3}};
  }

  std::string file_digest_of_text(const std::string& text) {
    Digest digest("sha256");
    digest.update({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    return digest.hex();
  }

  CorpusSource source(nlohmann::json entry) {
    return parse_catalog({{"corpora", {std::move(entry)}}}).at(0);
  }

  FetchOptions options() {
    FetchOptions options;
    options.dir = data_;
    options.download.retry_delay = std::chrono::milliseconds(10);
    options.download.progress = &progress_;
    options.download.line_interval = std::chrono::milliseconds(0);
    options.download.log = [this](const std::string& line) { log_ += line + "\n"; };
    options.log = options.download.log;
    return options;
  }

  // Nothing but `expected` in the data folder: no partial download, no staging folder.
  void expect_data_folder_holds(const std::set<std::string>& expected) {
    std::set<std::string> names;
    if (fs::exists(data_)) {
      for (const auto& entry : fs::directory_iterator(data_)) {
        names.insert(entry.path().filename().string());
      }
    }
    EXPECT_EQ(names, expected);
  }

  test::TempDir dir_;
  fs::path served_, data_;
  std::string text_;
  std::unique_ptr<TestServer> server_;
  nlohmann::json tiny_, speech_;
  std::ostringstream progress_;
  std::string log_;
};

TEST(DataDigestTest, KnownVectors) {
  const auto hex = [](const std::string& algorithm, const std::string& text) {
    Digest digest(algorithm);
    digest.update({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    return digest.hex();
  };
  EXPECT_EQ(hex("md5", ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex("md5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex("sha256", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(Digest("crc32"), InputError);
}

TEST(DataCatalogTest, BuiltinCatalogNamesThePaperCorpora) {
  std::set<std::string> names;
  for (const auto& source : builtin_catalog()) {
    names.insert(source.name);
    if (source.layout == CorpusLayout::Manual) continue;
    EXPECT_GT(source.archive_bytes, 0u) << source.name;
    EXPECT_FALSE(source.archive_checksum.empty()) << source.name;
    EXPECT_TRUE(source.url.ends_with("/" + source.archive)) << source.name;
  }
  for (const char* name : {"enwik8", "enwik9", "librispeech", "librispeech-dev-clean",
                           "librispeech-test-clean", "imagenet"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
  EXPECT_EQ(find_corpus(builtin_catalog(), "enwik9").archive_checksum.hex,
            "3e773f8a1577fda2e27f871ca17f31fd");
  EXPECT_THROW(find_corpus(builtin_catalog(), "enwik10"), InputError);
}

TEST_F(DataFetchTest, DownloadsChecksAndUnpacksOneFile) {
  fetch_corpus(source(tiny_), options());
  EXPECT_EQ(read_text(data_ / "tiny"), text_);
  expect_data_folder_holds({"tiny"});  // archive removed, nothing half-made
  EXPECT_NE(progress_.str().find("100.0%"), std::string::npos) << progress_.str();
  const CorpusCheck check = verify_corpus(source(tiny_), data_);
  EXPECT_EQ(check.status, CorpusCheck::Status::Ok) << check.detail;
  // A second fetch leaves the target alone.
  fetch_corpus(source(tiny_), options());
  EXPECT_NE(log_.find("exists already"), std::string::npos);
}

TEST_F(DataFetchTest, WrongChecksumRemovesTheFileAndLeavesNothing) {
  tiny_["archive_checksum"] = "md5:00000000000000000000000000000000";
  try {
    fetch_corpus(source(tiny_), options());
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("expected 00000000000000000000000000000000, got " +
                           file_digest(served_ / "tiny.zip", "md5")),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("removed"), std::string::npos) << message;
  }
  expect_data_folder_holds({});
  EXPECT_EQ(verify_corpus(source(tiny_), data_).status, CorpusCheck::Status::Absent);
}

TEST_F(DataFetchTest, WrongSizeIsRejected) {
  tiny_["archive_bytes"] = 12345;
  EXPECT_THROW(fetch_corpus(source(tiny_), options()), InputError);
  expect_data_folder_holds({});
}

TEST_F(DataFetchTest, ACutConnectionIsResumedWithARangeRequest) {
  tiny_["url"] = server_->base() + "/cut/tiny.zip";
  fetch_corpus(source(tiny_), options());
  EXPECT_EQ(read_text(data_ / "tiny"), text_);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].second, "");
  const auto half = fs::file_size(served_ / "tiny.zip") / 2;
  EXPECT_EQ(requests[1].second, "bytes=" + std::to_string(half) + "-");
  EXPECT_NE(log_.find("resuming at"), std::string::npos) << log_;
}

TEST_F(DataFetchTest, AnEarlierPartialDownloadIsResumed) {
  const std::string archive = read_text(served_ / "tiny.zip");
  fs::create_directories(data_);
  std::ofstream(data_ / "tiny.zip.part", std::ios::binary) << archive.substr(0, 1000);
  EXPECT_EQ(verify_corpus(source(tiny_), data_).status, CorpusCheck::Status::Partial);
  fetch_corpus(source(tiny_), options());
  EXPECT_EQ(read_text(data_ / "tiny"), text_);
  const auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].second, "bytes=1000-");
}

TEST_F(DataFetchTest, AServerThatIgnoresRangesMakesTheFileStartOver) {
  fs::create_directories(data_);
  std::ofstream(data_ / "tiny.zip.part", std::ios::binary) << "garbage that is no prefix";
  tiny_["url"] = server_->base() + "/norange/tiny.zip";
  fetch_corpus(source(tiny_), options());
  EXPECT_EQ(read_text(data_ / "tiny"), text_);
}

TEST_F(DataFetchTest, NotFoundFailsAtOnce) {
  tiny_["url"] = server_->base() + "/nothing.zip";
  try {
    fetch_corpus(source(tiny_), options());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server_->requests().size(), 1u);
  expect_data_folder_holds({});
}

TEST_F(DataFetchTest, ServerErrorsAreRetriedThenReported) {
  tiny_["url"] = server_->base() + "/status500/tiny.zip";
  FetchOptions fetch = options();
  fetch.download.attempts = 3;
  try {
    fetch_corpus(source(tiny_), fetch);
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("HTTP 500"), std::string::npos) << message;
    EXPECT_NE(message.find("after 3 attempts"), std::string::npos) << message;
  }
  EXPECT_EQ(server_->requests().size(), 3u);
  EXPECT_FALSE(fs::exists(data_ / "tiny"));
}

TEST_F(DataFetchTest, AudioArchivesUnpackToTheLibrispeechLayout) {
  fetch_corpus(source(speech_), options());
  EXPECT_TRUE(fs::exists(data_ / "speech/19/198/19-198-0000.flac"));
  EXPECT_TRUE(fs::exists(data_ / "speech/26/495/26-495-0000.flac"));
  EXPECT_FALSE(fs::exists(data_ / "speech/19/198/19-198.trans.txt"));
  EXPECT_FALSE(fs::exists(data_ / "speech/README.TXT"));
  expect_data_folder_holds({"speech"});
  const CorpusCheck check = verify_corpus(source(speech_), data_);
  EXPECT_EQ(check.status, CorpusCheck::Status::Ok) << check.detail;
  // 5000 / 2048 + 4100 / 2048 + 2048 / 2048 chunks, read by the librispeech dataset kind.
  EXPECT_NE(check.detail.find("3 .flac files, 5 chunks"), std::string::npos) << check.detail;
}

TEST_F(DataFetchTest, AFileCountOtherThanPinnedIsRejectedAndNothingIsLeft) {
  speech_["content_files"] = 4;
  EXPECT_THROW(fetch_corpus(source(speech_), options()), InputError);
  EXPECT_FALSE(fs::exists(data_ / "speech"));
  EXPECT_FALSE(fs::exists(data_ / ".speech.unpacking"));
}

TEST_F(DataFetchTest, FromALocalFolderUsesTheArchiveWhereItLies) {
  FetchOptions fetch = options();
  fetch.from = served_.string();
  tiny_["url"] = "http://127.0.0.1:1/unreachable/tiny.zip";
  fetch_corpus(source(tiny_), fetch);
  EXPECT_EQ(read_text(data_ / "tiny"), text_);
  EXPECT_TRUE(fs::exists(served_ / "tiny.zip"));  // the user's copy stays
  expect_data_folder_holds({"tiny"});
}

TEST_F(DataFetchTest, FromAMirrorAppendsTheArchiveName) {
  FetchOptions fetch = options();
  fetch.from = server_->base() + "/";
  tiny_["url"] = "http://127.0.0.1:1/unreachable/tiny.zip";
  fetch_corpus(source(tiny_), fetch);
  EXPECT_EQ(read_text(data_ / "tiny"), text_);
  EXPECT_EQ(server_->requests().at(0).first, "/tiny.zip");
}

TEST_F(DataFetchTest, AChangedFileFailsVerification) {
  fetch_corpus(source(tiny_), options());
  std::ofstream(data_ / "tiny", std::ios::binary | std::ios::app) << "x";
  const CorpusCheck check = verify_corpus(source(tiny_), data_);
  EXPECT_EQ(check.status, CorpusCheck::Status::Bad);
  EXPECT_NE(check.detail.find("expected " + std::to_string(text_.size())), std::string::npos)
      << check.detail;
}

TEST(DataManualTest, ImageNetIsNotDownloadedButExplained) {
  const CorpusSource& imagenet = find_corpus(builtin_catalog(), "imagenet");
  try {
    fetch_corpus(imagenet, FetchOptions{});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("image-net.org"), std::string::npos) << e.what();
  }
  test::TempDir dir;
  EXPECT_EQ(verify_corpus(imagenet, dir.path()).status, CorpusCheck::Status::Absent);
}

using test::CommandResult;
using test::run_bench;

TEST(DataCliTest, ListNamesTheCorpora) {
  const auto result = run_bench("data list --dir /nonexistent");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* name : {"enwik8", "enwik9", "librispeech", "librispeech-dev-clean",
                           "librispeech-test-clean", "imagenet", "manual", "absent"}) {
    EXPECT_NE(result.output.find(name), std::string::npos) << name << "\n" << result.output;
  }
}

TEST(DataCliTest, ImageNetFetchExplainsAndFails) {
  const auto result = run_bench("data fetch imagenet");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("image-net.org"), std::string::npos) << result.output;
  EXPECT_EQ(run_bench("data fetch enwik10").exit_code, 2);
}

TEST_F(DataFetchTest, CliFetchesAndVerifiesWithATestCatalogue) {
  nlohmann::json bad = tiny_;
  bad["name"] = "tiny-bad";
  bad["target"] = "tiny-bad";
  bad["archive_checksum"] = "md5:0123456789abcdef0123456789abcdef";
  const fs::path catalogue = dir_.path() / "catalogue.json";
  std::ofstream(catalogue) << nlohmann::json{{"corpora", {tiny_, speech_, bad}}}.dump(1);
  const std::string env = "LMC_DATA_CATALOG=" + catalogue.string();
  const std::string dir = " --dir " + data_.string();

  auto result = run_bench("data fetch tiny" + dir, env);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("ready"), std::string::npos) << result.output;
  EXPECT_EQ(read_text(data_ / "tiny"), text_);

  result = run_bench("data fetch tiny-bad --retry-delay 0" + dir, env);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("expected 0123456789abcdef0123456789abcdef, got "),
            std::string::npos)
      << result.output;

  result = run_bench("data verify" + dir, env);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("1 ok, 0 bad"), std::string::npos) << result.output;
  std::ofstream(data_ / "tiny", std::ios::binary | std::ios::app) << "x";
  result = run_bench("data verify tiny" + dir, env);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("BAD"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace lmc
