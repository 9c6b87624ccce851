#include <gtest/gtest.h>
#include <zlib.h>

#include "datasets/dataset_testing.h"
#include "test_support.h"

namespace lmc::test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunk = 2048;

// 10 full chunks and a 100-byte tail; every chunk distinct and every byte value present.
Bytes sample_bytes() {
  Bytes bytes(10 * kChunk + 100);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::uint8_t>((i * 7 + i / kChunk) % 256);
  }
  return bytes;
}

// gzip members written with zlib; several members concatenated read as one stream (gzip -c a b).
void write_gzip(const fs::path& path, ByteView bytes, std::size_t members = 1) {
  std::remove(path.c_str());
  const std::size_t per_member = bytes.size() / members + 1;
  for (std::size_t start = 0; start < bytes.size(); start += per_member) {
    gzFile file = gzopen(path.c_str(), "ab9");
    ASSERT_NE(file, nullptr);
    const auto size = std::min(per_member, bytes.size() - start);
    ASSERT_EQ(gzwrite(file, bytes.data() + start, static_cast<unsigned>(size)),
              static_cast<int>(size));
    ASSERT_EQ(gzclose(file), Z_OK);
  }
}

Bytes slice(const Bytes& bytes, std::size_t chunk) {
  return Bytes(bytes.begin() + chunk * kChunk, bytes.begin() + (chunk + 1) * kChunk);
}

void expect_chunks_of(const Dataset& dataset, const Bytes& bytes) {
  ASSERT_EQ(dataset.available_chunks(), bytes.size() / kChunk);
  for (std::uint64_t first : {0u, 1u, 4u, 9u}) {
    const auto chunks = read_chunks(dataset, first);
    ASSERT_EQ(chunks.size(), dataset.available_chunks() - first) << "from chunk " << first;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      EXPECT_EQ(chunks[i], slice(bytes, first + i)) << "chunk " << first + i;
    }
  }
  EXPECT_TRUE(read_chunks(dataset, dataset.available_chunks()).empty());
  EXPECT_EQ(read_chunks_in_parallel(dataset, 3), read_chunks(dataset));
}

TEST(EnwikDataset, PlainFileIsCutIntoChunksAndTheTailDropped) {
  TempDir dir;
  const Bytes bytes = sample_bytes();
  write_file(dir.path() / "enwik", bytes);
  auto dataset = make_dataset("enwik", {{"path", (dir.path() / "enwik").string()}});
  expect_chunks_of(*dataset, bytes);
  const auto provenance = dataset->provenance();
  EXPECT_EQ(provenance.at("compression"), "none");
  EXPECT_EQ(provenance.at("dropped_tail_bytes"), 100);
}

TEST(EnwikDataset, GzipFileReadsAsItsDecompressedBytes) {
  TempDir dir;
  const Bytes bytes = sample_bytes();
  write_gzip(dir.path() / "enwik.gz", bytes);
  auto dataset = make_dataset("enwik", {{"path", (dir.path() / "enwik.gz").string()}});
  expect_chunks_of(*dataset, bytes);
  EXPECT_EQ(dataset->provenance().at("compression"), "gzip");
  EXPECT_EQ(dataset->provenance().at("bytes"), bytes.size());
}

TEST(EnwikDataset, ConcatenatedGzipMembersReadAsOneStream) {
  TempDir dir;
  const Bytes bytes = sample_bytes();
  write_gzip(dir.path() / "enwik.gz", bytes, 3);
  expect_chunks_of(*make_dataset("enwik", {{"path", (dir.path() / "enwik.gz").string()}}), bytes);
}

TEST(EnwikDataset, OtherChunkSizes) {
  TempDir dir;
  const Bytes bytes = sample_bytes();  // 20,580 bytes
  write_gzip(dir.path() / "enwik.gz", bytes);
  auto dataset = make_dataset("enwik", {{"path", (dir.path() / "enwik.gz").string()}}, 1000);
  ASSERT_EQ(dataset->available_chunks(), 20u);
  const auto chunks = read_chunks(*dataset, 13, 1);
  EXPECT_EQ(chunks.at(0), Bytes(bytes.begin() + 13000, bytes.begin() + 14000));
}

// A byte range (offset, length) lets a config evaluate only text a model never trained on.
TEST(EnwikDataset, ByteRangeReadsOnlyThatRange) {
  TempDir dir;
  const Bytes bytes = sample_bytes();  // 20,580 bytes
  for (const auto& name : {"enwik", "enwik.gz"}) {
    const auto path = dir.path() / name;
    std::string(name) == "enwik" ? write_file(path, bytes) : write_gzip(path, bytes);
    auto tail = make_dataset("enwik", {{"path", path.string()}, {"offset", 5000}});
    const Bytes rest(bytes.begin() + 5000, bytes.end());
    ASSERT_EQ(tail->available_chunks(), rest.size() / kChunk) << name;
    const auto chunks = read_chunks(*tail, 2);
    ASSERT_EQ(chunks.size(), tail->available_chunks() - 2);
    EXPECT_EQ(chunks.front(), Bytes(rest.begin() + 2 * kChunk, rest.begin() + 3 * kChunk)) << name;
    EXPECT_EQ(tail->provenance().at("offset"), 5000);
    EXPECT_EQ(tail->provenance().at("dropped_tail_bytes"), rest.size() % kChunk);

    auto middle = make_dataset(
        "enwik", {{"path", path.string()}, {"offset", 100}, {"length", 3 * kChunk + 7}});
    EXPECT_EQ(middle->available_chunks(), 3u);
    const auto three = read_chunks(*middle);
    ASSERT_EQ(three.size(), 3u);
    EXPECT_EQ(three.back(),
              Bytes(bytes.begin() + 100 + 2 * kChunk, bytes.begin() + 100 + 3 * kChunk));
  }
}

TEST(EnwikDataset, ByteRangePastTheEndNamesTheKey) {
  TempDir dir;
  write_file(dir.path() / "enwik", sample_bytes());
  const auto path = (dir.path() / "enwik").string();
  auto error = input_error_of([&] { make_dataset("enwik", {{"path", path}, {"offset", 30000}}); });
  EXPECT_NE(error.find("datasets[0].offset"), std::string::npos) << error;
  error = input_error_of([&] {
    make_dataset("enwik", {{"path", path}, {"offset", 20000}, {"length", 1000}});
  });
  EXPECT_NE(error.find("datasets[0].length"), std::string::npos) << error;
  error = input_error_of([&] { make_dataset("enwik", {{"path", path}, {"offset", 20000}}); });
  EXPECT_NE(error.find("less than one chunk"), std::string::npos) << error;
  error = input_error_of([&] { make_dataset("enwik", {{"path", path}, {"length", -1}}); });
  EXPECT_NE(error.find("datasets[0].length"), std::string::npos) << error;
}

TEST(EnwikDataset, MissingFileNamesTheKeyAndWhereToGetEnwik) {
  const auto error = input_error_of([] {
    make_dataset("enwik", {{"path", "/nonexistent/data/enwik9"}});
  });
  EXPECT_EQ(error.rfind("datasets[0].path: file not found: /nonexistent/data/enwik9", 0), 0u)
      << error;
  EXPECT_NE(error.find("http://mattmahoney.net/dc/enwik9.zip"), std::string::npos) << error;
}

TEST(EnwikDataset, FolderOrTinyFileIsRejected) {
  TempDir dir;
  auto error = input_error_of([&] { make_dataset("enwik", {{"path", dir.path().string()}}); });
  EXPECT_EQ(error.rfind("datasets[0].path: not a file: ", 0), 0u) << error;

  write_file(dir.path() / "small", Bytes(2047, 'x'));
  error = input_error_of([&] {
    make_dataset("enwik", {{"path", (dir.path() / "small").string()}});
  });
  EXPECT_NE(error.find("holds 2047 bytes, less than one chunk of 2048"), std::string::npos)
      << error;
}

TEST(EnwikDataset, CorruptOrTruncatedGzipIsRejectedAtMake) {
  TempDir dir;
  const Bytes bytes = sample_bytes();
  write_gzip(dir.path() / "good.gz", bytes);
  Bytes compressed = read_file(dir.path() / "good.gz");

  Bytes truncated(compressed.begin(), compressed.begin() + compressed.size() / 2);
  write_file(dir.path() / "truncated.gz", truncated);
  auto error = input_error_of([&] {
    make_dataset("enwik", {{"path", (dir.path() / "truncated.gz").string()}});
  });
  EXPECT_EQ(error.rfind("datasets[0].path: cannot decompress ", 0), 0u) << error;
  EXPECT_NE(error.find("truncated.gz"), std::string::npos) << error;

  Bytes garbage = compressed;
  for (std::size_t i = 20; i < garbage.size(); i += 3) garbage[i] ^= 0x5a;
  write_file(dir.path() / "garbage.gz", garbage);
  error = input_error_of([&] {
    make_dataset("enwik", {{"path", (dir.path() / "garbage.gz").string()}});
  });
  EXPECT_NE(error.find("garbage.gz"), std::string::npos) << error;
}

TEST(EnwikDataset, FileThatShrinksAfterMakeFailsWithTheChunk) {
  TempDir dir;
  const Bytes bytes = sample_bytes();
  write_file(dir.path() / "enwik", bytes);
  auto dataset = make_dataset("enwik", {{"path", (dir.path() / "enwik").string()}});
  write_file(dir.path() / "enwik", Bytes(bytes.begin(), bytes.begin() + 5 * kChunk + 10));
  const auto error = input_error_of([&] { read_chunks(*dataset); });
  EXPECT_NE(error.find("ended inside chunk 5"), std::string::npos) << error;
}

TEST(EnwikDataset, DefaultMappingClearsTheTopBit) {
  EXPECT_EQ(find_dataset_kind("enwik")->default_mapping, SevenBitMapping::ClearTopBit);
}

TEST(EnwikDatasetGolden, EnwikiSample) {
  LMC_REQUIRE_SHARED_DATA("text/enwiki-2016-sample.xml");
  const auto path = shared_data() / "text/enwiki-2016-sample.xml";
  auto dataset = make_dataset("enwik", {{"path", path.string()}});
  EXPECT_EQ(dataset->available_chunks(), 2973u);  // 6,089,746 bytes / 2048
  const Bytes bytes = read_file(path);
  const auto first = read_chunks(*dataset, 0, 1);
  EXPECT_EQ(first.at(0), slice(bytes, 0));
  EXPECT_EQ(std::string(first.at(0).begin(), first.at(0).begin() + 10), "<mediawiki");
  const auto last = read_chunks(*dataset, 2972);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last.at(0), slice(bytes, 2972));
}

TEST(EnwikDatasetGolden, Enwik9Head) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  auto dataset =
      make_dataset("enwik", {{"path", (shared_data() / "text/enwik9-head-10000").string()}});
  EXPECT_EQ(dataset->available_chunks(), 4u);
}

// The demo's text: Debian's GCIDE dictionary (dictzip). Not shared data, so skipped where the
// dict-gcide package is not installed (failed under CI, which installs it).
TEST(EnwikDatasetDemo, GcideDictionary) {
  const fs::path gcide = "/usr/share/dictd/gcide.dict.dz";
  LMC_REQUIRE_INSTALLED(gcide, "the Debian package dict-gcide (scripts/install-deps.sh)");
  auto dataset = make_dataset("enwik", {{"path", gcide.string()}});
  EXPECT_EQ(dataset->provenance().at("compression"), "gzip");
  // Debian 12's dict-gcide 0.48.5: 39,952,321 bytes decompressed (zcat | wc -c).
  EXPECT_EQ(dataset->provenance().at("bytes"), 39952321);
  EXPECT_EQ(dataset->available_chunks(), 19507u);
  // Seeking by decompressing forward lands on the same bytes as reading through.
  const auto through = read_chunks(*dataset, 1000, 3);
  const auto sought = read_chunks(*dataset, 1002, 1);
  EXPECT_EQ(through.at(2), sought.at(0));
}

}  // namespace
}  // namespace lmc::test
