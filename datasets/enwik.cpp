// enwik: a file read as consecutive chunks (docs/PROTOCOL.md section 2): enwik9, enwik8 or another
// file. gzip and dictzip files (Debian's dictionaries, /usr/share/dictd/*.dict.dz) are read
// decompressed, so a demo can run on text that ships with the system.
#include <zlib.h>

#include <cstdio>  // SEEK_SET
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "datasets/dataset.h"

namespace lmc {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHowToGet =
    "get http://mattmahoney.net/dc/enwik9.zip (or enwik8.zip) and unzip it, or name any file";

struct GzFileCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzFileCloser>;

// zlib's gzFile decodes gzip members (dictzip is one gzip member whose header carries a seek
// table) and reads any other file as it is, so one reader serves both.
GzFile open_gz(const fs::path& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw InputError("cannot open " + path.string());
  gzbuffer(file.get(), 256 * 1024);  // 8 KiB by default: a read call per 4 chunks
  // Makes zlib look at the header now: a plain file is then in copy mode and gzseek() becomes
  // an lseek() instead of reading forward to the offset.
  gzdirect(file.get());
  return file;
}

std::string gz_error(gzFile file) {
  int code = Z_OK;
  const char* message = gzerror(file, &code);
  // zlib reports a truncated stream as the end of the data; it is corrupt input here.
  return code == Z_OK ? std::string() : std::string(message);
}

// A compressed file has no size field usable for many members or above 4 GiB: count by
// decompressing once (0.12 s for the 40 MB GCIDE dictionary).
std::uint64_t decompressed_size(const fs::path& path) {
  GzFile file = open_gz(path);
  std::vector<char> buffer(1 << 20);
  std::uint64_t size = 0;
  for (;;) {
    const int got = gzread(file.get(), buffer.data(), static_cast<unsigned>(buffer.size()));
    if (got < 0)
      throw InputError("cannot decompress " + path.string() + ": " + gz_error(file.get()));
    if (got == 0) break;
    size += static_cast<std::uint64_t>(got);
  }
  if (const auto error = gz_error(file.get()); !error.empty()) {
    throw InputError("cannot decompress " + path.string() + ": " + error);
  }
  return size;
}

struct EnwikFile {
  fs::path path;
  std::string key;  // "datasets[0].path", for errors while reading
  bool gzip = false;
  std::uint64_t file_bytes = 0;
  std::uint64_t bytes = 0;        // decompressed
  std::uint64_t offset = 0;       // first byte of the range read (decompressed)
  std::uint64_t range_bytes = 0;  // bytes of the range, from offset
  std::size_t chunk_size = 0;
  std::uint64_t chunks = 0;
};

class EnwikReader : public ChunkReader {
 public:
  EnwikReader(std::shared_ptr<const EnwikFile> file, std::uint64_t first)
      : file_(std::move(file)), gz_(open_gz(file_->path)), next_chunk_(first) {
    // On a plain file this is an lseek; on a compressed one zlib decompresses forward to it.
    const auto offset = static_cast<z_off_t>(file_->offset + first * file_->chunk_size);
    if (offset > 0 && gzseek(gz_.get(), offset, SEEK_SET) != offset) {
      throw InputError(file_->key + ": cannot seek to chunk " + std::to_string(first) + " of " +
                       file_->path.string() + ": " + gz_error(gz_.get()));
    }
  }

  bool next(std::span<std::uint8_t> chunk) override {
    if (next_chunk_ == file_->chunks) return false;
    std::size_t filled = 0;
    while (filled < chunk.size()) {
      const int got =
          gzread(gz_.get(), chunk.data() + filled, static_cast<unsigned>(chunk.size() - filled));
      if (got <= 0) throw_short_read();
      filled += static_cast<std::size_t>(got);
    }
    ++next_chunk_;
    return true;
  }

 private:
  [[noreturn]] void throw_short_read() const {
    const std::string reason = gz_error(gz_.get());
    throw InputError(file_->key + ": " + file_->path.string() + " ended inside chunk " +
                     std::to_string(next_chunk_) + " (" +
                     (reason.empty() ? "the file shrank after the dataset was opened" : reason) +
                     ")");
  }

  std::shared_ptr<const EnwikFile> file_;
  GzFile gz_;
  std::uint64_t next_chunk_;
};

class EnwikDataset : public Dataset {
 public:
  explicit EnwikDataset(std::shared_ptr<const EnwikFile> file) : file_(std::move(file)) {}

  std::size_t chunk_size() const override { return file_->chunk_size; }
  std::uint64_t available_chunks() const override { return file_->chunks; }

  std::unique_ptr<ChunkReader> open(std::uint64_t first) const override {
    if (first > file_->chunks) throw std::out_of_range("enwik: chunk past the end");
    return std::make_unique<EnwikReader>(file_, first);
  }

  nlohmann::json provenance() const override {
    return {
        {"file", file_->path.string()},
        {"file_bytes", file_->file_bytes},
        {"compression", file_->gzip ? "gzip" : "none"},
        {"bytes", file_->bytes},
        {"offset", file_->offset},
        {"length", file_->range_bytes},
        {"chunks", file_->chunks},
        {"dropped_tail_bytes", file_->range_bytes - file_->chunks * file_->chunk_size},
        {"reader", std::string("zlib ") + zlibVersion()},
    };
  }

 private:
  std::shared_ptr<const EnwikFile> file_;
};

std::unique_ptr<Dataset> make_enwik(const Options& options, std::size_t chunk_size) {
  if (chunk_size == 0) throw std::invalid_argument("enwik: chunk size must be positive");
  auto file = std::make_shared<EnwikFile>();
  file->key = options.key_path("path");
  file->path = options.string("path");
  file->chunk_size = chunk_size;

  std::error_code error;
  if (!fs::is_regular_file(file->path, error)) {
    const char* problem = fs::exists(file->path, error) ? "not a file: " : "file not found: ";
    throw InputError(file->key + ": " + problem + file->path.string() + " (" +
                     std::string(kHowToGet) + ")");
  }
  try {
    file->file_bytes = fs::file_size(file->path);
    file->gzip = gzdirect(open_gz(file->path).get()) == 0;
    file->bytes = file->gzip ? decompressed_size(file->path) : file->file_bytes;
  } catch (const InputError& e) {
    throw InputError(file->key + ": " + e.what());
  } catch (const fs::filesystem_error& e) {
    throw InputError(file->key + ": " + e.what());
  }
  const auto offset = options.integer("offset");
  const auto length = options.integer("length");
  if (offset < 0) throw InputError(options.key_path("offset") + ": must be >= 0");
  if (length < 0) throw InputError(options.key_path("length") + ": must be >= 0 (0: to the end)");
  file->offset = static_cast<std::uint64_t>(offset);
  if (file->offset > file->bytes) {
    throw InputError(options.key_path("offset") + ": " + std::to_string(offset) +
                     " is past the end of " + file->path.string() + " (" +
                     std::to_string(file->bytes) + " bytes)");
  }
  file->range_bytes = file->bytes - file->offset;
  if (length > 0) {
    if (static_cast<std::uint64_t>(length) > file->range_bytes) {
      throw InputError(options.key_path("length") + ": " + std::to_string(length) +
                       " bytes from offset " + std::to_string(offset) + " run past the end of " +
                       file->path.string() + " (" + std::to_string(file->bytes) + " bytes)");
    }
    file->range_bytes = static_cast<std::uint64_t>(length);
  }
  file->chunks = file->range_bytes / chunk_size;
  if (file->chunks == 0) {
    throw InputError(file->key + ": " + file->path.string() + " holds " +
                     std::to_string(file->range_bytes) + " bytes" +
                     (file->range_bytes != file->bytes ? " in the range offset/length" : "") +
                     ", less than one chunk of " + std::to_string(chunk_size));
  }
  return std::make_unique<EnwikDataset>(std::move(file));
}

}  // namespace

DatasetKind enwik_kind() {
  return {
      .name = "enwik",
      .summary =
          "consecutive chunks of one file (enwik9, enwik8, any file; gzip/dictzip "
          "files are decompressed); the trailing partial chunk is dropped",
      .options = {{"path", OptionType::Path, nullptr,
                   "the file, e.g. data/enwik9 (" + std::string(kHowToGet) + ")"},
                  {"offset", OptionType::Integer, 0,
                   "first byte read (of the decompressed file): e.g. skip the part a model "
                   "trained on"},
                  {"length", OptionType::Integer, 0, "bytes read from offset; 0 = to the end"}},
      .default_mapping = SevenBitMapping::ClearTopBit,
      .make = make_enwik,
  };
}

}  // namespace lmc
