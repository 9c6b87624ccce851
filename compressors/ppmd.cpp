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
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "compressors/compressor.h"

namespace lmc {

namespace {

// The header database compress() writes, byte for byte but for three fields: the packed size
// and the unpacked size (7z variable-length numbers) and the data's CRC-32. Between them: one pack
// stream at position 0; one folder of one coder, PPMd (method 03 04 01) with libarchive's five
// property bytes, order 6 and 2^24 bytes of model memory; one file "c" with attributes 0x81a48020.
// The decoder refuses any other header before libarchive parses it: a hostile one could declare
// billions of files or folders, or gigabytes of model memory, and libarchive would allocate them
// (the ppmd fuzzer found a 4.4 GB calloc from a 60-byte archive).
constexpr std::array<std::uint8_t, 6> kBeforePackedSize = {0x01, 0x04, 0x06, 0x00, 0x01, 0x09};
constexpr std::array<std::uint8_t, 17> kBeforeUnpackedSize = {0x00, 0x07, 0x0b, 0x01, 0x00, 0x01,
                                                              0x23, 0x03, 0x04, 0x01, 0x05, 0x06,
                                                              0x00, 0x00, 0x00, 0x01, 0x0c};
constexpr std::array<std::uint8_t, 4> kBeforeCrc = {0x00, 0x08, 0x0a, 0x01};
constexpr std::array<std::uint8_t, 21> kFileRecord = {0x00, 0x00, 0x05, 0x01, 0x11, 0x05, 0x00,
                                                      0x63, 0x00, 0x00, 0x00, 0x15, 0x06, 0x01,
                                                      0x00, 0x20, 0x80, 0xa4, 0x81, 0x00, 0x00};
// An empty file has no stream and no coder: the header is the file record alone.
constexpr std::array<std::uint8_t, 26> kEmptyFileHeader = {
    0x01, 0x05, 0x01, 0x0e, 0x01, 0x80, 0x0f, 0x01, 0x80, 0x11, 0x05, 0x00, 0x63,
    0x00, 0x00, 0x00, 0x15, 0x06, 0x01, 0x00, 0x20, 0x80, 0xa4, 0x81, 0x00, 0x00};
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

// Reads a 7z header database front to back; every step says whether the bytes matched.
class HeaderCursor {
 public:
  explicit HeaderCursor(ByteView bytes) : bytes_(bytes) {}

  template <std::size_t N>
  bool literal(const std::array<std::uint8_t, N>& expected) {
    if (bytes_.size() - at_ < N || !std::equal(expected.begin(), expected.end(), &bytes_[at_])) {
      return false;
    }
    at_ += N;
    return true;
  }

  // A 7z number: the first byte's leading one bits count the little-endian bytes that follow;
  // its remaining bits are the value's high bits.
  bool number(std::uint64_t& value) {
    if (at_ >= bytes_.size()) return false;
    const std::uint8_t first = bytes_[at_++];
    int extra = 0;
    while (extra < 8 && (first & (0x80 >> extra)) != 0) ++extra;
    if (bytes_.size() - at_ < static_cast<std::size_t>(extra)) return false;
    value = 0;
    for (int i = 0; i < extra; ++i) value |= std::uint64_t{bytes_[at_++]} << (8 * i);
    if (extra < 8) value |= std::uint64_t(first & ((0x80 >> extra) - 1)) << (8 * extra);
    return true;
  }

  bool skip(std::size_t n) {
    if (bytes_.size() - at_ < n) return false;
    at_ += n;
    return true;
  }

  bool at_end() const { return at_ == bytes_.size(); }

 private:
  ByteView bytes_;
  std::size_t at_ = 0;
};

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
    const std::uint64_t declared = check_container(compressed);
    if (declared > static_cast<std::uint64_t>(kMaxStreamBytes) ||
        (original_size != 0 && declared != original_size)) {
      throw CorruptDataError("ppmd: entry of " + std::to_string(declared) + " bytes, expected " +
                             std::to_string(original_size));
    }
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
    if (archive_entry_filetype(entry) != AE_IFREG || !archive_entry_size_is_set(entry) ||
        archive_entry_size(entry) != static_cast<la_int64_t>(declared)) {
      throw CorruptDataError("ppmd: the archive's entry is not the one regular file declared");
    }
    const la_int64_t size = archive_entry_size(entry);
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
  // The archive is what compress() writes: its size matches the start header's pointers, and its
  // header database is the template above (a coded file) or kEmptyFileHeader. Returns the file
  // size the header declares. Checked before libarchive sees the bytes.
  static std::uint64_t check_container(ByteView compressed) {
    if (compressed.size() < kStartHeader) throw CorruptDataError("ppmd: too short for 7z");
    const std::uint64_t offset = little_endian64(compressed, 12);
    const std::uint64_t length = little_endian64(compressed, 20);
    const std::uint64_t body = compressed.size() - kStartHeader;
    if (offset > body || length != body - offset) {
      throw CorruptDataError("ppmd: 7z start header does not span the " +
                             std::to_string(compressed.size()) + " bytes");
    }
    const ByteView header = compressed.subspan(kStartHeader + offset);
    HeaderCursor empty(header);
    if (offset == 0 && empty.literal(kEmptyFileHeader) && empty.at_end()) return 0;
    HeaderCursor cursor(header);
    std::uint64_t packed = 0, unpacked = 0;
    if (!cursor.literal(kBeforePackedSize) || !cursor.number(packed) ||
        !cursor.literal(kBeforeUnpackedSize) || !cursor.number(unpacked) ||
        !cursor.literal(kBeforeCrc) || !cursor.skip(4) || !cursor.literal(kFileRecord) ||
        !cursor.at_end()) {
      throw CorruptDataError(
          "ppmd: the 7z header is not the one file coded by PPMd (order 6, 16 MiB) that this "
          "codec writes");
    }
    if (packed != offset) {
      throw CorruptDataError("ppmd: the 7z header's packed size " + std::to_string(packed) +
                             " differs from the " + std::to_string(offset) + " bytes stored");
    }
    return unpacked;
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
