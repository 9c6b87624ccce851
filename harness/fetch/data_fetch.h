// `bench data`: the catalogue of the paper's corpora, and fetching (download, checksum, unpack,
// rename into place) and verifying them under a data folder (docs/RUNNING.md, "Getting the data").
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "harness/fetch/http_download.h"

namespace lmc {

enum class CorpusLayout {
  File,         // the archive holds one file (`member`), unpacked to <dir>/<target>
  AudioFolder,  // the files ending in `extension` under `member` (a prefix), to <dir>/<target>/
  Manual,       // cannot be downloaded by us (licence terms): `instructions` say how to get it
};

struct CorpusSource {
  std::string name;     // what `bench data fetch NAME` takes
  std::string summary;  // one line for `bench data list`
  CorpusLayout layout = CorpusLayout::File;
  std::string dataset_kind;         // the config kind that reads it (enwik, librispeech, imagenet)
  std::string url;                  // upstream archive
  std::string archive;              // its file name: what --from appends to a mirror or folder
  std::uint64_t archive_bytes = 0;  // 0: not pinned
  Checksum archive_checksum;
  std::string target;     // file or folder under --dir; the config's dataset path points here
  std::string member;     // File: the member's name; AudioFolder: the prefix stripped from members
  std::string extension;  // AudioFolder: the members kept
  std::uint64_t content_bytes = 0;  // File: size once unpacked (0: not pinned)
  Checksum content_checksum;        // File: checksum once unpacked (empty: not pinned)
  std::uint64_t content_files = 0;  // AudioFolder: files once unpacked (0: not pinned)
  std::string instructions;         // Manual
};

// The corpora the paper uses, with the sizes and checksums upstream publishes (sources in
// data_fetch.cpp). Tests replace it: $LMC_DATA_CATALOG names a JSON file in the same shape
// (parse_catalog), since fixture archives cannot match the real checksums.
const std::vector<CorpusSource>& builtin_catalog();
std::vector<CorpusSource> parse_catalog(const nlohmann::json& catalog);
std::vector<CorpusSource> active_catalog();
const CorpusSource& find_corpus(const std::vector<CorpusSource>& catalog, const std::string& name);

struct FetchOptions {
  std::filesystem::path dir = "data";
  // Empty: the upstream URL. A base URL (a mirror) or a local folder: the archive's file name is
  // appended. A local archive is checked and unpacked where it lies, never copied or removed.
  std::string from;
  bool keep_archive = false;  // keep <dir>/<archive> after unpacking
  DownloadOptions download;   // retries, progress; expected_bytes comes from the catalogue
  std::function<void(const std::string&)> log = [](const std::string&) {};
};

// Download (resuming <dir>/<archive>.part), check size and checksum, unpack into a hidden folder
// beside the target, check what came out, rename it into place. On a wrong checksum the bad file
// is removed and nothing appears at the target. A target that exists already is left alone.
// Manual corpora throw InputError carrying their instructions.
void fetch_corpus(const CorpusSource& source, const FetchOptions& options);

struct CorpusCheck {
  enum class Status { Absent, Partial, Ok, Bad };
  Status status = Status::Absent;
  std::filesystem::path path;
  std::string detail;
};

// Checks <dir>/<target> against the catalogue: size and checksum of a file; count of audio files
// and their headers (through the librispeech dataset kind); for ImageNet, images and layout
// through the imagenet dataset kind.
CorpusCheck verify_corpus(const CorpusSource& source, const std::filesystem::path& dir,
                          const std::function<void(const std::string&)>& log = {});

// The `bench data list` table, with what `dir` holds.
std::string describe_catalog(const std::vector<CorpusSource>& catalog,
                             const std::filesystem::path& dir);

}  // namespace lmc
