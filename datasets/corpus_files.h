// Pieces shared by the corpora that are folders of media files (images, audio): which files they
// hold and in which order, and where a global chunk index falls among the files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/options.h"
#include "datasets/dataset.h"

namespace lmc {

struct CorpusFile {
  std::filesystem::path path;  // to open
  std::string relative;        // to the corpus folder, '/'-separated: the sort key and the name
                               // used in errors and provenance
};

// The regular files under `root` (recursively, following folder symlinks) whose extension matches
// one of `extensions` (".png", ...) case-insensitively, sorted byte-wise by relative path so the
// dataset order is the same on every machine and file system.
std::vector<CorpusFile> list_corpus_files(const std::filesystem::path& root,
                                          std::span<const std::string_view> extensions);

// The options every folder corpus declares: "path" (required) and "include" (optional list of
// relative file paths to read instead of the whole tree).
std::vector<OptionSpec> folder_corpus_options(std::string_view what_the_folder_holds);

// The files a folder corpus reads, from its "path" and "include" options. Included files keep
// the order the config lists them in; without "include", the whole tree in sorted order.
// Throws InputError naming the key path: a missing folder (`how_to_get` says where the data
// comes from), a missing included file, or a folder without any matching file.
std::vector<CorpusFile> select_corpus_files(const Options& options,
                                            std::span<const std::string_view> extensions,
                                            std::string_view how_to_get);

// Chunk counts of a sequence of files, so a global chunk index can be turned into (file, chunk
// within the file) without touching the files again.
class FileChunkIndex {
 public:
  struct Position {
    std::size_t file;
    std::uint64_t chunk;  // within the file
  };

  void add_file(std::uint64_t chunks);
  std::size_t files() const { return starts_.size(); }
  std::uint64_t chunks_in(std::size_t file) const { return counts_[file]; }
  std::uint64_t total() const { return total_; }
  // `chunk` == total() gives {files(), 0}: a reader that is already at its end.
  Position locate(std::uint64_t chunk) const;

 private:
  std::vector<std::uint64_t> starts_;  // global index of each file's first chunk
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
};

// A reader over a per-file corpus: chunks never span files, so it walks the files of the index
// from a start position and asks the concrete reader to open one file at a given chunk and to
// decode its chunks in turn. Files without a full chunk are never opened. The index is shared, so
// a reader stays valid after its Dataset is gone.
class PerFileChunkReader : public ChunkReader {
 public:
  PerFileChunkReader(std::shared_ptr<const FileChunkIndex> index, std::uint64_t first);
  bool next(std::span<std::uint8_t> chunk) final;

 protected:
  // Prepares file `file` so the next read_chunk() returns its chunk `first_chunk`.
  virtual void open_file(std::size_t file, std::uint64_t first_chunk) = 0;
  // Fills `chunk` with chunk `chunk_index` (within the current file); called in order.
  virtual void read_chunk(std::uint64_t chunk_index, std::span<std::uint8_t> chunk) = 0;

 private:
  std::shared_ptr<const FileChunkIndex> index_;
  FileChunkIndex::Position position_;
  bool file_open_ = false;
};

}  // namespace lmc
