#include "harness/fetch/data_fetch.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>

#include "common/error.h"
#include "common/human_format.h"
#include "common/json.h"
#include "datasets/corpus_files.h"
#include "datasets/dataset.h"
#include "harness/fetch/archive_unpack.h"

namespace lmc {

namespace fs = std::filesystem;

namespace {

Checksum md5(std::string hex) { return {"md5", std::move(hex)}; }
Checksum sha256(std::string hex) { return {"sha256", std::move(hex)}; }

constexpr std::string_view kImageNetInstructions =
    "ImageNet (ILSVRC2012) is not downloaded by bench: its terms of access require each user to "
    "register and accept them at https://image-net.org/download.php. Then download "
    "ILSVRC2012_img_val.tar (6.3 GB, 50,000 images) or ILSVRC2012_img_train.tar (138 GB), "
    "extract it under data/imagenet (the train archive holds one tar per class: extract each into "
    "data/imagenet/<wnid>/), and run `bench data verify` to check the folder.";

// LibriSpeech (https://www.openslr.org/12, CC BY 4.0), one split of the corpus: the archive
// unpacks to LibriSpeech/<split>/<speaker>/<chapter>/*.flac; we keep the FLAC files under
// <target>/<speaker>/<chapter>/, the layout the librispeech dataset kind scans.
CorpusSource librispeech(std::string name, std::string split, std::string target,
                         std::uint64_t archive_bytes, std::string archive_md5, std::uint64_t files,
                         std::string what) {
  CorpusSource source;
  source.name = std::move(name);
  source.summary = "LibriSpeech " + split + ": " + what;
  source.layout = CorpusLayout::AudioFolder;
  source.dataset_kind = "librispeech";
  source.archive = split + ".tar.gz";
  source.url = "https://www.openslr.org/resources/12/" + source.archive;
  source.archive_bytes = archive_bytes;
  source.archive_checksum = md5(std::move(archive_md5));
  source.target = std::move(target);
  source.member = "LibriSpeech/" + split + "/";
  source.extension = ".flac";
  source.content_files = files;
  return source;
}

}  // namespace

// Where every pinned number comes from. Archive sizes are what the servers send; checksums are
// what upstream (or a widely used loader) publishes, never computed here:
// - enwik8.zip: 36,445,475 bytes and SHA-256 547994d9... from Hugging Face datasets
//   (datasets/enwik8/dataset_infos.json, "download_checksums"). No MD5 of the zip is published
//   that we could confirm, so this one is pinned by SHA-256.
// - enwik9.zip: MD5 3e773f8a... as torchtext pins it (torchtext/datasets/enwik9.py); 322,592,222
//   bytes (the server's Content-Length, as several download scripts pin it).
// - enwik8 / enwik9 unpacked: 10^8 / 10^9 bytes, MD5 a1fa5ffd... / e206c345..., from Matt
//   Mahoney's table at http://mattmahoney.net/dc/textdata.html.
// - LibriSpeech archives: MD5s from https://www.openslr.org/resources/12/md5sum.txt (torchaudio
//   pins the same files by SHA-256); sizes from Kaldi's egs/librispeech/s5/local/
//   download_and_untar.sh ("sizes_new"). Utterance (FLAC file) counts from the LibriSpeech paper
//   (Panayotov et al., ICASSP 2015, table 1): train-clean-100 28,539, dev-clean 2,703,
//   test-clean 2,620.
const std::vector<CorpusSource>& builtin_catalog() {
  static const std::vector<CorpusSource> catalog = [] {
    std::vector<CorpusSource> list;
    CorpusSource enwik8;
    enwik8.name = "enwik8";
    enwik8.summary = "first 10^8 bytes of English Wikipedia (2006), Hutter Prize";
    enwik8.dataset_kind = "enwik";
    enwik8.url = "http://mattmahoney.net/dc/enwik8.zip";
    enwik8.archive = "enwik8.zip";
    enwik8.archive_bytes = 36'445'475;
    enwik8.archive_checksum =
        sha256("547994d9980ebed1288380d652999f38a14fe291a6247c157c3d33d4932534bc");
    enwik8.target = "enwik8";
    enwik8.member = "enwik8";
    enwik8.content_bytes = 100'000'000;
    enwik8.content_checksum = md5("a1fa5ffddb56f4953e226637dabbb36a");
    list.push_back(enwik8);

    CorpusSource enwik9 = enwik8;
    enwik9.name = "enwik9";
    enwik9.summary = "first 10^9 bytes of English Wikipedia (2006): the paper's text corpus";
    enwik9.url = "http://mattmahoney.net/dc/enwik9.zip";
    enwik9.archive = "enwik9.zip";
    enwik9.archive_bytes = 322'592'222;
    enwik9.archive_checksum = md5("3e773f8a1577fda2e27f871ca17f31fd");
    enwik9.target = "enwik9";
    enwik9.member = "enwik9";
    enwik9.content_bytes = 1'000'000'000;
    enwik9.content_checksum = md5("e206c3450ac99950df65bf70ef61a12d");
    list.push_back(enwik9);

    list.push_back(librispeech("librispeech", "train-clean-100", "librispeech", 6'387'309'499,
                               "2a93770f6d5c6c964bc36631d331a522", 28'539,
                               "100 h of read speech, the paper's audio corpus"));
    list.push_back(librispeech("librispeech-dev-clean", "dev-clean", "librispeech-dev-clean",
                               337'926'286, "42e2234ba48799c1f50f24a7926300a1", 2'703,
                               "5.4 h, small, for trying things out"));
    list.push_back(librispeech("librispeech-test-clean", "test-clean", "librispeech-test-clean",
                               346'663'984, "32fa31d27d2e1cad72775fee3f4849a9", 2'620,
                               "5.4 h, small, for trying things out"));

    CorpusSource imagenet;
    imagenet.name = "imagenet";
    imagenet.summary = "ILSVRC2012 images: the paper's image corpus (get it by hand)";
    imagenet.layout = CorpusLayout::Manual;
    imagenet.dataset_kind = "imagenet";
    imagenet.target = "imagenet";
    imagenet.instructions = kImageNetInstructions;
    list.push_back(imagenet);
    return list;
  }();
  return catalog;
}

namespace {

Checksum parse_checksum(const nlohmann::json& value, const std::string& where) {
  const std::string text = value.is_string() ? value.get<std::string>() : "";
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw InputError(where + ": expected \"md5:<hex>\" or \"sha256:<hex>\", got " + value.dump());
  }
  return {text.substr(0, colon), text.substr(colon + 1)};
}

std::string layout_name(CorpusLayout layout) {
  switch (layout) {
    case CorpusLayout::File:
      return "file";
    case CorpusLayout::AudioFolder:
      return "audio-folder";
    case CorpusLayout::Manual:
      return "manual";
  }
  return "?";
}

}  // namespace

std::vector<CorpusSource> parse_catalog(const nlohmann::json& catalog) {
  if (!catalog.is_object() || !catalog.contains("corpora") || !catalog["corpora"].is_array()) {
    throw InputError("data catalogue: expected {\"corpora\": [...]}");
  }
  std::vector<CorpusSource> list;
  for (std::size_t i = 0; i < catalog["corpora"].size(); ++i) {
    const nlohmann::json& entry = catalog["corpora"][i];
    const std::string where = "data catalogue corpora[" + std::to_string(i) + "]";
    CorpusSource source;
    try {
      source.name = entry.at("name").get<std::string>();
      source.summary = entry.value("summary", "");
      const std::string layout = entry.value("layout", "file");
      source.layout = layout == "file"           ? CorpusLayout::File
                      : layout == "audio-folder" ? CorpusLayout::AudioFolder
                      : layout == "manual"       ? CorpusLayout::Manual
                                                 : throw InputError(where + ".layout: " + layout);
      source.dataset_kind = entry.value("dataset_kind", "");
      source.url = entry.value("url", "");
      source.archive = entry.value("archive", "");
      source.archive_bytes = entry.value("archive_bytes", std::uint64_t{0});
      if (entry.contains("archive_checksum")) {
        source.archive_checksum = parse_checksum(entry["archive_checksum"], where);
      }
      source.target = entry.at("target").get<std::string>();
      source.member = entry.value("member", "");
      source.extension = entry.value("extension", "");
      source.content_bytes = entry.value("content_bytes", std::uint64_t{0});
      if (entry.contains("content_checksum")) {
        source.content_checksum = parse_checksum(entry["content_checksum"], where);
      }
      source.content_files = entry.value("content_files", std::uint64_t{0});
      source.instructions = entry.value("instructions", "");
    } catch (const nlohmann::json::exception& e) {
      throw InputError(where + ": " + e.what());
    }
    list.push_back(std::move(source));
  }
  return list;
}

std::vector<CorpusSource> active_catalog() {
  const char* path = std::getenv("LMC_DATA_CATALOG");
  if (path == nullptr || *path == '\0') return builtin_catalog();
  std::ifstream in(path);
  if (!in) throw InputError(std::string("LMC_DATA_CATALOG: cannot open ") + path);
  try {
    return parse_catalog(parse_json(in, std::string("LMC_DATA_CATALOG: ") + path));
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(std::string("LMC_DATA_CATALOG ") + path + ": not valid JSON: " + e.what());
  }
}

const CorpusSource& find_corpus(const std::vector<CorpusSource>& catalog, const std::string& name) {
  for (const auto& source : catalog) {
    if (source.name == name) return source;
  }
  std::string names;
  for (const auto& source : catalog) names += (names.empty() ? "" : ", ") + source.name;
  throw InputError("data: no corpus named '" + name + "' (known: " + names + ")");
}

namespace {

// Removes a path on scope exit unless released: a failed unpack leaves nothing behind.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(fs::path path) : path_(std::move(path)) {}
  ~RemoveOnExit() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

// At most one line every few seconds for a long step (hashing 6 GB, unpacking 28,539 files).
class Throttle {
 public:
  bool due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(5)) return false;
    last_ = now;
    return true;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

std::uint64_t size_or_zero(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? 0 : size;
}

std::string hash_with_progress(const fs::path& path, const std::string& algorithm,
                               const std::function<void(const std::string&)>& log) {
  const std::uint64_t total = size_or_zero(path);
  Throttle throttle;
  return file_digest(path, algorithm, [&](std::uint64_t done) {
    if (log && throttle.due()) {
      log("  checking " + algorithm + " of " + path.filename().string() + ": " +
          std::to_string(total > 0 ? 100 * done / total : 100) + "%");
    }
  });
}

// Size, then checksum; a bad file is removed when `remove_if_bad` (a download of ours, never a
// user's own archive given with --from).
void check_archive(const CorpusSource& source, const fs::path& path, bool remove_if_bad,
                   const std::function<void(const std::string&)>& log) {
  const auto reject = [&](const std::string& why) {
    std::string message = path.string() + ": " + why;
    if (remove_if_bad) {
      std::error_code ignored;
      fs::remove(path, ignored);
      message += "; the file was removed";
    }
    throw InputError(message + ". Nothing was unpacked; try `bench data fetch " + source.name +
                     "` again, or another mirror with --from");
  };
  const std::uint64_t size = size_or_zero(path);
  if (source.archive_bytes > 0 && size != source.archive_bytes) {
    reject("size " + std::to_string(size) + " bytes, expected " +
           std::to_string(source.archive_bytes));
  }
  if (source.archive_checksum.empty()) {
    log("  " + source.archive + ": no checksum pinned; size " + std::to_string(size) + " bytes");
    return;
  }
  const std::string actual = hash_with_progress(path, source.archive_checksum.algorithm, log);
  if (actual != source.archive_checksum.hex) {
    reject("wrong " + source.archive_checksum.algorithm + " checksum: expected " +
           source.archive_checksum.hex + ", got " + actual);
  }
  log("  " + source.archive + ": " + format_bytes(size) + ", " + source.archive_checksum.algorithm +
      " " + actual + " as pinned");
}

// What the catalogue expects of an unpacked file or folder; "" when it matches.
std::string check_content(const CorpusSource& source, const fs::path& path, std::uint64_t files,
                          const std::function<void(const std::string&)>& log) {
  if (source.layout == CorpusLayout::File) {
    const std::uint64_t size = size_or_zero(path);
    if (source.content_bytes > 0 && size != source.content_bytes) {
      return "size " + std::to_string(size) + " bytes, expected " +
             std::to_string(source.content_bytes);
    }
    if (!source.content_checksum.empty()) {
      const std::string actual = hash_with_progress(path, source.content_checksum.algorithm, log);
      if (actual != source.content_checksum.hex) {
        return "wrong " + source.content_checksum.algorithm + " checksum: expected " +
               source.content_checksum.hex + ", got " + actual;
      }
    }
    return "";
  }
  if (source.content_files > 0 && files != source.content_files) {
    return std::to_string(files) + " " + source.extension + " files, expected " +
           std::to_string(source.content_files);
  }
  return "";
}

void unpack_into_place(const CorpusSource& source, const fs::path& archive, const fs::path& target,
                       const std::function<void(const std::string&)>& log) {
  const fs::path staging = target.parent_path() / ("." + target.filename().string() + ".unpacking");
  fs::remove_all(staging);  // left by a crash: unpacking starts over
  RemoveOnExit cleanup(staging);
  MemberRule rule;
  if (source.layout == CorpusLayout::File) {
    rule = [&](const std::string& name) -> std::optional<std::string> {
      if (name == source.member) return std::string();
      return std::nullopt;
    };
  } else {
    fs::create_directories(staging);
    rule = [&](const std::string& name) -> std::optional<std::string> {
      if (!name.starts_with(source.member) || !name.ends_with(source.extension)) {
        return std::nullopt;
      }
      return name.substr(source.member.size());
    };
  }
  log("  unpacking " + archive.filename().string() + " into " + target.string());
  Throttle throttle;
  const UnpackResult result = unpack_archive(archive, staging, rule, [&](const UnpackResult& r) {
    if (throttle.due()) {
      log("  unpacked " + std::to_string(r.files) + " files, " + format_bytes(r.bytes));
    }
  });
  if (result.files == 0) {
    throw InputError(archive.string() + ": holds no " +
                     (source.layout == CorpusLayout::File
                          ? "member named " + source.member
                          : source.extension + " file under " + source.member) +
                     "; is it the right archive?");
  }
  const std::string problem = check_content(source, staging, result.files, log);
  if (!problem.empty()) {
    throw InputError(archive.string() + " unpacked to " + problem + "; nothing was put at " +
                     target.string());
  }
  fs::rename(staging, target);
  cleanup.release();
  log(source.name + ": " + target.string() + " ready (" + std::to_string(result.files) +
      (result.files == 1 ? " file, " : " files, ") + format_bytes(result.bytes) + ")");
}

bool is_url(const std::string& text) { return text.find("://") != std::string::npos; }

}  // namespace

void fetch_corpus(const CorpusSource& source, const FetchOptions& options) {
  if (source.layout == CorpusLayout::Manual) {
    throw InputError(source.name + ": " + source.instructions);
  }
  const fs::path target = options.dir / source.target;
  if (fs::exists(target)) {
    options.log(source.name + ": " + target.string() +
                " exists already; left alone (`bench data verify` checks it)");
    return;
  }
  fs::create_directories(options.dir);
  if (!options.from.empty() && !is_url(options.from)) {
    // An offline machine: the archive lies in a local folder and is used where it lies.
    const fs::path archive = fs::path(options.from) / source.archive;
    if (!fs::is_regular_file(archive)) {
      throw InputError("--from " + options.from + ": " + archive.string() +
                       " not found (the folder must hold " + source.archive + ", from " +
                       source.url + ")");
    }
    options.log(source.name + ": checking " + archive.string());
    check_archive(source, archive, /*remove_if_bad=*/false, options.log);
    unpack_into_place(source, archive, target, options.log);
    return;
  }
  const fs::path archive = options.dir / source.archive;
  if (fs::exists(archive)) {
    options.log(source.name + ": using " + archive.string() + ", downloaded before");
    check_archive(source, archive, /*remove_if_bad=*/true, options.log);
  } else {
    std::string url = source.url;
    if (!options.from.empty()) {
      url = options.from + (options.from.ends_with('/') ? "" : "/") + source.archive;
    }
    const fs::path part = archive.string() + ".part";
    options.log(source.name + ": downloading " + url +
                (source.archive_bytes > 0 ? " (" + format_bytes(source.archive_bytes) + ")" : "") +
                (fs::exists(part) ? ", resuming " + part.string() : ""));
    DownloadOptions download = options.download;
    download.expected_bytes = source.archive_bytes;
    download_file(url, part, download);
    check_archive(source, part, /*remove_if_bad=*/true, options.log);
    fs::rename(part, archive);
  }
  unpack_into_place(source, archive, target, options.log);
  if (!options.keep_archive) fs::remove(archive);
}

namespace {

// The dataset kind's own scan: the files it would read and the chunks they hold.
std::unique_ptr<Dataset> open_as_dataset(const CorpusSource& source, const fs::path& path) {
  const DatasetKind* kind = find_dataset_kind(source.dataset_kind);
  if (kind == nullptr) return nullptr;
  const nlohmann::json object = {{"path", path.string()}};
  const Options options = Options::validate(object, kind->options, source.name);
  return kind->make(options, 2048);
}

CorpusCheck check_images(const CorpusSource& source, const fs::path& path) {
  static constexpr std::string_view kExtensions[] = {".jpeg", ".jpg", ".png"};
  const auto files = list_corpus_files(path, kExtensions);
  if (files.empty()) {
    return {CorpusCheck::Status::Bad, path, "no .JPEG/.jpg/.png image under it"};
  }
  // ILSVRC layout: <wnid>/<image>, the synset folders being n + 8 digits (the train archive);
  // the validation archive unpacks flat. The dataset kind reads both (it scans recursively).
  static const std::regex kWnid("n[0-9]{8}");
  std::set<std::string> classes;
  std::uint64_t flat = 0, other = 0;
  for (const auto& file : files) {
    const auto slash = file.relative.find('/');
    if (slash == std::string::npos) {
      ++flat;
    } else if (file.relative.find('/', slash + 1) == std::string::npos &&
               std::regex_match(file.relative.substr(0, slash), kWnid)) {
      classes.insert(file.relative.substr(0, slash));
    } else {
      ++other;
    }
  }
  std::string detail = format_count(files.size()) + " images (" +
                       format_count(files.size() - flat - other) + " in " +
                       format_count(classes.size()) + " <wnid>/ folders, " + format_count(flat) +
                       " flat, " + format_count(other) + " elsewhere)";
  if (const auto dataset = open_as_dataset(source, path)) {
    detail += ", " + format_count(dataset->available_chunks()) + " tiles of 32x64";
  }
  if (files.size() != 50'000 && files.size() != 1'281'167) {
    detail += "; ILSVRC2012 has 50,000 validation and 1,281,167 training images";
  }
  return {CorpusCheck::Status::Ok, path, detail};
}

}  // namespace

CorpusCheck verify_corpus(const CorpusSource& source, const fs::path& dir,
                          const std::function<void(const std::string&)>& log) {
  const fs::path path = dir / source.target;
  if (!fs::exists(path)) {
    for (const fs::path& partial : {dir / (source.archive + ".part"), dir / source.archive}) {
      if (!source.archive.empty() && fs::exists(partial)) {
        return {CorpusCheck::Status::Partial, path,
                "not unpacked yet; " + partial.string() + " holds " +
                    format_bytes(size_or_zero(partial)) + " (`bench data fetch " + source.name +
                    "` continues)"};
      }
    }
    return {CorpusCheck::Status::Absent, path,
            source.layout == CorpusLayout::Manual
                ? "absent (`bench data fetch " + source.name + "` says how to get it)"
                : "absent"};
  }
  try {
    if (source.layout == CorpusLayout::Manual) return check_images(source, path);
    if (source.layout == CorpusLayout::File) {
      if (!fs::is_regular_file(path)) return {CorpusCheck::Status::Bad, path, "not a file"};
      const std::string problem = check_content(source, path, 1, log);
      if (!problem.empty()) return {CorpusCheck::Status::Bad, path, problem};
      return {CorpusCheck::Status::Ok, path,
              format_bytes(size_or_zero(path)) +
                  (source.content_checksum.empty()
                       ? ", no checksum pinned"
                       : ", " + source.content_checksum.algorithm + " as published")};
    }
    const std::string_view extensions[] = {source.extension};
    const auto files = list_corpus_files(path, extensions);
    const std::string problem = check_content(source, path, files.size(), log);
    if (!problem.empty()) return {CorpusCheck::Status::Bad, path, problem};
    std::string detail = format_count(files.size()) + " " + source.extension + " files";
    if (const auto dataset = open_as_dataset(source, path)) {
      detail += ", " + format_count(dataset->available_chunks()) + " chunks of 2048 bytes";
    }
    return {CorpusCheck::Status::Ok, path, detail};
  } catch (const InputError& e) {
    return {CorpusCheck::Status::Bad, path, e.what()};
  }
}

std::string describe_catalog(const std::vector<CorpusSource>& catalog, const fs::path& dir) {
  std::string text;
  for (const auto& source : catalog) {
    const fs::path target = dir / source.target;
    std::string line = "  " + source.name;
    line.resize(std::max<std::size_t>(line.size() + 1, 26), ' ');
    line += source.summary + "\n      ";
    if (source.layout == CorpusLayout::Manual) {
      line += "manual: `bench data fetch " + source.name + "` says how to get it";
    } else {
      line += source.url;
      if (source.archive_bytes > 0) line += " (" + format_bytes(source.archive_bytes) + ")";
    }
    line += "\n      -> " + target.string() + " (dataset kind " + source.dataset_kind + ", " +
            layout_name(source.layout) + ")" + (fs::exists(target) ? ", present" : ", absent") +
            "\n";
    text += line;
  }
  return text;
}

}  // namespace lmc
