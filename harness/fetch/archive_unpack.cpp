#include "harness/fetch/archive_unpack.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <memory>

#include "common/error.h"

namespace lmc {

namespace fs = std::filesystem;

namespace {

struct ArchiveReadFree {
  void operator()(archive* reader) const { archive_read_free(reader); }
};

struct FileClose {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// An output path inside the destination: relative, without "..", so a hostile archive cannot
// write elsewhere.
bool stays_inside(const fs::path& relative) {
  if (relative.is_absolute() || relative.has_root_name()) return false;
  for (const auto& part : relative) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

UnpackResult unpack_archive(const fs::path& archive_path, const fs::path& destination,
                            const MemberRule& rule,
                            const std::function<void(const UnpackResult&)>& progress) {
  std::unique_ptr<archive, ArchiveReadFree> reader(archive_read_new());
  if (!reader) throw std::runtime_error("libarchive: cannot create a reader");
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_all(reader.get());
  const auto fail = [&](const std::string& what) {
    const char* reason = archive_error_string(reader.get());
    throw InputError(archive_path.string() + ": " + what + ": " +
                     (reason != nullptr ? reason : "unknown libarchive error"));
  };
  if (archive_read_open_filename(reader.get(), archive_path.c_str(), std::size_t{1} << 20) !=
      ARCHIVE_OK) {
    fail("cannot open as an archive");
  }
  UnpackResult result;
  archive_entry* entry = nullptr;
  for (int status; (status = archive_read_next_header(reader.get(), &entry)) != ARCHIVE_EOF;) {
    if (status < ARCHIVE_WARN) fail("damaged archive");
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const std::string name = archive_entry_pathname(entry);
    const std::optional<std::string> relative = rule(name);
    if (!relative) continue;
    if (!stays_inside(*relative)) {
      throw InputError(archive_path.string() + ": member " + name + " would unpack outside " +
                       destination.string());
    }
    const fs::path output = relative->empty() ? destination : destination / *relative;
    fs::create_directories(output.parent_path());
    std::unique_ptr<std::FILE, FileClose> file(std::fopen(output.c_str(), "wb"));
    if (!file) throw InputError(output.string() + ": cannot create");
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    std::uint64_t written = 0;
    for (int read;
         (read = archive_read_data_block(reader.get(), &block, &size, &offset)) != ARCHIVE_EOF;) {
      if (read < ARCHIVE_WARN) fail("cannot read member " + name);
      // Sparse members come with offsets; the corpora have none, but honour them anyway.
      if (static_cast<std::uint64_t>(offset) != written) {
        if (std::fseek(file.get(), static_cast<long>(offset), SEEK_SET) != 0) {
          throw InputError(output.string() + ": cannot seek");
        }
        written = static_cast<std::uint64_t>(offset);
      }
      if (std::fwrite(block, 1, size, file.get()) != size) {
        throw InputError(output.string() + ": cannot write (disk full?)");
      }
      written += size;
      result.bytes += size;
    }
    if (std::fclose(file.release()) != 0) throw InputError(output.string() + ": cannot write");
    result.files += 1;
    if (progress) progress(result);
  }
  return result;
}

}  // namespace lmc
