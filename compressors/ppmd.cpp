// PPMd (variant H, as 7-Zip runs it) through libarchive's 7-Zip writer: the bytes become the one
// file of a .7z archive compressed with PPMd, libarchive's fixed model order 6 and 16 MiB of
// model memory. The archive's headers (start header, the header database at the end, CRCs) are
// the container; chunked totals count it once like gzip's header: size(compress(one zero
// byte)) (docs/PROTOCOL.md section 3).
//
// libarchive's 7-Zip writer spools compressed data through a temporary file; the reader checks
// the header and data CRC-32s. The decoder accepts only what the encoder writes: one regular
// file coded by PPMd with these properties, so a hostile archive cannot ask for gigabytes of
// model memory.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"

namespace lmc {

namespace {

// The PPMd coder record of the 7z header as libarchive writes it: method id 03 04 01, five
// property bytes: order 6, memory 2^24 (little endian).
constexpr std::array<std::uint8_t, 9> kPpmdCoder = {0x03, 0x04, 0x01, 0x05, 0x06,
                                                    0x00, 0x00, 0x00, 0x01};
constexpr std::size_t kStartHeader = 32;
constexpr la_int64_t kMaxStreamBytes = la_int64_t{1} << 30;

struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string error_of(archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

la_ssize_t append_output(archive*, void* client, const void* buffer, size_t length) {
  auto* out = static_cast<Bytes*>(client);
  try {
    const auto* bytes = static_cast<const std::uint8_t*>(buffer);
    out->insert(out->end(), bytes, bytes + length);
  } catch (...) {
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

std::uint64_t little_endian64(ByteView bytes, std::size_t at) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | bytes[at + static_cast<std::size_t>(i)];
  return value;
}

class PpmdCompressor final : public Compressor {
 public:
  Bytes compress(ByteView data, Counters&) const override {
    const std::unique_ptr<archive, WriteDeleter> writer(archive_write_new());
    if (!writer) throw std::bad_alloc();
    archive* a = writer.get();
    Bytes out;
    out.reserve(data.size() / 2 + 256);
    if (archive_write_set_format_7zip(a) != ARCHIVE_OK ||
        archive_write_set_format_option(a, "7zip", "compression", "ppmd") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &out, nullptr, append_output, nullptr) != ARCHIVE_OK) {
      throw std::runtime_error("ppmd: cannot set up libarchive's 7-Zip writer: " + error_of(a));
    }
    const std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    if (!entry) throw std::bad_alloc();
    archive_entry_set_pathname(entry.get(), "c");
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK) {
      throw std::runtime_error("ppmd: cannot write the 7z entry: " + error_of(a));
    }
    std::size_t written = 0;
    while (written < data.size()) {
      const la_ssize_t n = archive_write_data(a, data.data() + written, data.size() - written);
      if (n <= 0) throw std::runtime_error("ppmd: compressing failed: " + error_of(a));
      written += static_cast<std::size_t>(n);
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
      throw std::runtime_error("ppmd: finishing the 7z archive failed: " + error_of(a));
    }
    return out;
  }

  Bytes decompress(ByteView compressed, std::size_t original_size) const override {
    const bool coded = check_container(compressed);
    const std::unique_ptr<archive, ReadDeleter> reader(archive_read_new());
    if (!reader) throw std::bad_alloc();
    archive* a = reader.get();
    if (archive_read_support_format_7zip(a) != ARCHIVE_OK ||
        archive_read_open_memory(a, compressed.data(), compressed.size()) != ARCHIVE_OK) {
      throw CorruptDataError("ppmd: not a 7z archive: " + error_of(a));
    }
    archive_entry* entry = nullptr;
    if (archive_read_next_header(a, &entry) != ARCHIVE_OK) {
      throw CorruptDataError("ppmd: unreadable 7z header: " + error_of(a));
    }
    if (archive_entry_filetype(entry) != AE_IFREG || !archive_entry_size_is_set(entry)) {
      throw CorruptDataError("ppmd: the archive's entry is not one regular file");
    }
    const la_int64_t size = archive_entry_size(entry);
    if (!coded && size != 0)
      throw CorruptDataError("ppmd: a non-empty file without the PPMd coder");
    if (size < 0 || size > kMaxStreamBytes ||
        (original_size != 0 && static_cast<std::size_t>(size) != original_size)) {
      throw CorruptDataError("ppmd: entry of " + std::to_string(size) + " bytes, expected " +
                             std::to_string(original_size));
    }
    Bytes out(static_cast<std::size_t>(size));
    std::size_t done = 0;
    while (done < out.size()) {
      const la_ssize_t n = archive_read_data(a, out.data() + done, out.size() - done);
      if (n < 0) throw CorruptDataError("ppmd: corrupt data: " + error_of(a));
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    std::uint8_t extra = 0;
    if (done != out.size() || archive_read_data(a, &extra, 1) != 0) {
      throw CorruptDataError("ppmd: entry holds " + std::to_string(done) + " bytes, header says " +
                             std::to_string(out.size()));
    }
    if (archive_read_next_header(a, &entry) != ARCHIVE_EOF) {
      throw CorruptDataError("ppmd: more than one entry in the archive");
    }
    return out;
  }

  nlohmann::json settings() const override {
    return {{"library", "libarchive"},
            {"library_version", archive_version_details()},
            {"container", "7z (one file named \"c\", no times), libarchive's 7-Zip writer"},
            {"method", "PPMd variant H (7-Zip's PPMd)"},
            {"model_order", 6},
            {"model_memory_bytes", 1 << 24},
            {"header_discount", "size(compress(one zero byte)), once per run (as gzip)"}};
  }

 private:
  // The archive is what compress() writes: its size matches the start header's pointers, and
  // its header names the PPMd coder with libarchive's properties (false: no coder, which only
  // an empty file may lack). Checked before libarchive sees the bytes, so trailing bytes are
  // corrupt data and no other coder or model size runs.
  static bool check_container(ByteView compressed) {
    if (compressed.size() < kStartHeader) throw CorruptDataError("ppmd: too short for 7z");
    const std::uint64_t offset = little_endian64(compressed, 12);
    const std::uint64_t length = little_endian64(compressed, 20);
    const std::uint64_t body = compressed.size() - kStartHeader;
    if (offset > body || length != body - offset) {
      throw CorruptDataError("ppmd: 7z start header does not span the " +
                             std::to_string(compressed.size()) + " bytes");
    }
    const ByteView header = compressed.subspan(kStartHeader + offset);
    return std::search(header.begin(), header.end(), kPpmdCoder.begin(), kPpmdCoder.end()) !=
           header.end();
  }
};

}  // namespace

CompressorKind ppmd_kind() {
  return {
      .name = "ppmd",
      .summary =
          "libarchive's 7-Zip writer: PPMd (order 6, 16 MiB) in a .7z archive, the "
          "archive header counted once",
      .options = {},
      .make = [](const Options&, const CodecContext&) -> std::unique_ptr<Compressor> {
        return std::make_unique<PpmdCompressor>();
      },
  };
}

}  // namespace lmc
