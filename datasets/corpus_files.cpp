#include "datasets/corpus_files.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "common/error.h"

namespace lmc {

namespace fs = std::filesystem;

namespace {

std::string lower_case(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return s;
}

bool has_extension(const fs::path& path, std::span<const std::string_view> extensions) {
  const std::string extension = lower_case(path.extension().string());
  return std::find(extensions.begin(), extensions.end(), extension) != extensions.end();
}

std::string join(std::span<const std::string_view> extensions) {
  std::string joined;
  for (auto extension : extensions) joined += (joined.empty() ? "" : "/") + std::string(extension);
  return joined;
}

}  // namespace

std::vector<CorpusFile> list_corpus_files(const fs::path& root,
                                          std::span<const std::string_view> extensions) {
  std::vector<CorpusFile> files;
  // Dataset trees are often assembled from symlinked folders (a train/ split on another disk).
  for (const auto& entry :
       fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink)) {
    if (!entry.is_regular_file() || !has_extension(entry.path(), extensions)) continue;
    files.push_back({entry.path(), entry.path().lexically_relative(root).generic_string()});
  }
  // std::string compares as unsigned bytes, like memcmp: independent of locale and file system.
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.relative < b.relative; });
  return files;
}

std::vector<OptionSpec> folder_corpus_options(std::string_view what_the_folder_holds) {
  return {
      {"path", OptionType::Path, nullptr,
       "folder of " + std::string(what_the_folder_holds) + ", searched recursively"},
      {"include", OptionType::StringList, nlohmann::json::array(),
       "files to read instead of the whole folder, relative to path, in the order listed"},
  };
}

namespace {

std::vector<CorpusFile> included_files(const Options& options, const fs::path& root) {
  std::vector<CorpusFile> files;
  std::set<std::string> seen;
  const auto includes = options.strings("include");
  for (std::size_t i = 0; i < includes.size(); ++i) {
    const std::string where = options.key_path("include") + "[" + std::to_string(i) + "]";
    const fs::path path = root / includes[i];
    std::error_code error;
    if (!fs::is_regular_file(path, error)) {
      throw InputError(where + ": file not found: " + path.string());
    }
    std::string relative = fs::path(includes[i]).lexically_normal().generic_string();
    if (!seen.insert(relative).second) {
      throw InputError(where + ": " + relative + " is listed twice");
    }
    files.push_back({path, std::move(relative)});
  }
  return files;
}

}  // namespace

std::vector<CorpusFile> select_corpus_files(const Options& options,
                                            std::span<const std::string_view> extensions,
                                            std::string_view how_to_get) {
  const std::string key = options.key_path("path");
  const fs::path root = options.string("path");
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    const char* problem = fs::exists(root, error) ? "not a folder: " : "folder not found: ";
    throw InputError(key + ": " + problem + root.string() + " (" + std::string(how_to_get) + ")");
  }
  if (!options.strings("include").empty()) return included_files(options, root);

  std::vector<CorpusFile> files;
  try {
    files = list_corpus_files(root, extensions);
  } catch (const fs::filesystem_error& e) {
    throw InputError(key + ": cannot list " + root.string() + ": " + e.what());
  }
  if (files.empty()) {
    throw InputError(key + ": no " + join(extensions) + " files under " + root.string() + " (" +
                     std::string(how_to_get) + ")");
  }
  return files;
}

void FileChunkIndex::add_file(std::uint64_t chunks) {
  starts_.push_back(total_);
  counts_.push_back(chunks);
  total_ += chunks;
}

FileChunkIndex::Position FileChunkIndex::locate(std::uint64_t chunk) const {
  if (chunk > total_) {
    throw std::out_of_range("chunk " + std::to_string(chunk) + " is past the end (" +
                            std::to_string(total_) + " chunks)");
  }
  if (chunk == total_) return {files(), 0};
  // The last file starting at or before `chunk`; files without chunks share their successor's
  // start and are skipped this way.
  const auto after = std::upper_bound(starts_.begin(), starts_.end(), chunk);
  const auto file = static_cast<std::size_t>(after - starts_.begin()) - 1;
  return {file, chunk - starts_[file]};
}

PerFileChunkReader::PerFileChunkReader(std::shared_ptr<const FileChunkIndex> index,
                                       std::uint64_t first)
    : index_(std::move(index)), position_(index_->locate(first)) {}

bool PerFileChunkReader::next(std::span<std::uint8_t> chunk) {
  while (position_.file < index_->files() && position_.chunk == index_->chunks_in(position_.file)) {
    ++position_.file;
    position_.chunk = 0;
    file_open_ = false;
  }
  if (position_.file == index_->files()) return false;
  if (!file_open_) {
    open_file(position_.file, position_.chunk);
    file_open_ = true;
  }
  read_chunk(position_.chunk, chunk);
  ++position_.chunk;
  return true;
}

}  // namespace lmc
