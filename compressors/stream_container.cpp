#include "compressors/stream_container.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "common/error.h"

namespace lmc {

namespace {

constexpr std::size_t kFixedPrefix = 16;  // magic, version, header length

std::uint32_t read_u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

std::uint64_t read_u64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(read_u32(p)) | static_cast<std::uint64_t>(read_u32(p + 4))
                                                       << 32;
}

void put_u32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_u64(Bytes& out, std::uint64_t v) {
  put_u32(out, static_cast<std::uint32_t>(v));
  put_u32(out, static_cast<std::uint32_t>(v >> 32));
}

std::uint32_t crc32_update(std::uint32_t crc, ByteView data) {
  // zlib takes lengths as uInt: feed large buffers in pieces.
  while (!data.empty()) {
    const std::size_t n = std::min<std::size_t>(data.size(), 1u << 30);
    crc = static_cast<std::uint32_t>(::crc32(crc, data.data(), static_cast<uInt>(n)));
    data = data.subspan(n);
  }
  return crc;
}

// A file descriptor closed when the last reader copy goes.
struct FileHandle {
  int fd = -1;
  ~FileHandle() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::uint32_t crc32_of(ByteView data) { return crc32_update(0, data); }

StreamContainerReader::StreamContainerReader(Source source, std::uint64_t size, std::string name)
    : source_(std::move(source)), size_(size), name_(std::move(name)) {
  if (size_ < kFixedPrefix) {
    fail("truncated: " + std::to_string(size_) + " bytes, shorter than the fixed prefix");
  }
  std::array<std::uint8_t, kFixedPrefix> prefix{};
  read(0, prefix);
  if (std::memcmp(prefix.data(), kStreamMagic, sizeof kStreamMagic) != 0) {
    fail("not an lmc-bench stream container (bad magic)");
  }
  const std::uint32_t version = read_u32(&prefix[8]);
  if (version != kStreamFormatVersion) {
    fail("container format version " + std::to_string(version) + "; this build reads version " +
         std::to_string(kStreamFormatVersion));
  }
  const std::uint32_t header_size = read_u32(&prefix[12]);
  if (header_size > kMaxHeaderBytes || kFixedPrefix + header_size + 8 > size_) {
    fail("truncated or damaged: header length " + std::to_string(header_size) +
         " does not fit the file's " + std::to_string(size_) + " bytes");
  }
  Bytes index(kFixedPrefix + header_size + 8);
  read(0, index);
  const std::uint64_t count = read_u64(&index[kFixedPrefix + header_size]);
  const std::uint64_t index_end_limit = size_ - index.size();
  if (count > index_end_limit / kStreamRecordBytes ||
      count * kStreamRecordBytes + 4 > index_end_limit) {
    fail("truncated or damaged: a table of " + std::to_string(count) +
         " chunks does not fit the file's " + std::to_string(size_) + " bytes");
  }
  const std::size_t table_start = index.size();
  index.resize(table_start + count * kStreamRecordBytes + 4);
  read(table_start, std::span<std::uint8_t>(index).subspan(table_start));
  const std::uint32_t stored_crc = read_u32(&index[index.size() - 4]);
  if (crc32_of(ByteView(index).first(index.size() - 4)) != stored_crc) {
    fail("damaged: the header or the chunk table fails its CRC-32");
  }
  try {
    header_ = nlohmann::json::parse(index.begin() + kFixedPrefix,
                                    index.begin() + kFixedPrefix + header_size);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("damaged: the header is not JSON: ") + e.what());
  }
  if (!header_.is_object()) fail("damaged: the header is not a JSON object");

  std::uint64_t offset = index.size();
  records_.resize(count);
  offsets_.resize(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint8_t* p = &index[table_start + i * kStreamRecordBytes];
    ChunkRecord& r = records_[i];
    r.original_size = read_u32(p);
    r.compressed_size = read_u32(p + 4);
    r.original_crc = read_u32(p + 8);
    r.decoded_crc = read_u32(p + 12);
    r.stream_crc = read_u32(p + 16);
    if (r.compressed_size > size_ - offset) {
      fail("truncated or damaged: chunk " + std::to_string(i) + "'s stream of " +
           std::to_string(r.compressed_size) + " bytes passes the end of the file");
    }
    offsets_[i] = offset;
    offset += r.compressed_size;
  }
  if (offset != size_) {
    fail("damaged: the chunk table accounts for " + std::to_string(offset) +
         " bytes, the file holds " + std::to_string(size_));
  }
}

StreamContainerReader StreamContainerReader::open_file(const std::filesystem::path& path) {
  auto handle = std::make_shared<FileHandle>();
  handle->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (handle->fd < 0) {
    throw InputError(path.string() + ": cannot open: " + std::strerror(errno));
  }
  std::error_code error;
  const std::uint64_t size = std::filesystem::file_size(path, error);
  if (error) throw InputError(path.string() + ": cannot read its size: " + error.message());
  const std::string name = path.string();
  Source source = [handle, name](std::uint64_t offset, std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(handle->fd, out.data() + done, out.size() - done,
                                static_cast<off_t>(offset + done));
      if (n <= 0) throw InputError(name + ": read failed (the file changed while read?)");
      done += static_cast<std::size_t>(n);
    }
  };
  StreamContainerReader reader(std::move(source), size, name);
  reader.keep_alive_ = handle;
  return reader;
}

StreamContainerReader StreamContainerReader::from_memory(ByteView data, std::string name) {
  Source source = [data](std::uint64_t offset, std::span<std::uint8_t> out) {
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
  };
  return StreamContainerReader(std::move(source), data.size(), std::move(name));
}

void StreamContainerReader::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  if (offset > size_ || out.size() > size_ - offset) {
    fail("truncated: a read of " + std::to_string(out.size()) + " bytes at " +
         std::to_string(offset) + " passes the end");
  }
  source_(offset, out);
}

Bytes StreamContainerReader::stream(std::size_t i) const {
  if (i >= records_.size()) {
    fail("no chunk " + std::to_string(i) + " (the container holds " +
         std::to_string(records_.size()) + ")");
  }
  Bytes bytes(records_[i].compressed_size);
  read(offsets_[i], bytes);
  if (crc32_of(bytes) != records_[i].stream_crc) {
    fail("damaged: chunk " + std::to_string(i) + "'s compressed stream fails its CRC-32");
  }
  return bytes;
}

void StreamContainerReader::fail(const std::string& why) const {
  throw InputError(name_ + ": " + why);
}

StreamContainerWriter::StreamContainerWriter(std::filesystem::path spill, nlohmann::json header)
    : spill_path_(std::move(spill)), header_(std::move(header)) {
  spill_ = std::fopen(spill_path_.c_str(), "w+b");
  if (spill_ == nullptr) {
    throw InputError(spill_path_.string() + ": cannot create: " + std::strerror(errno));
  }
}

StreamContainerWriter::~StreamContainerWriter() {
  if (spill_ != nullptr) std::fclose(spill_);
  std::error_code ignored;
  std::filesystem::remove(spill_path_, ignored);
}

void StreamContainerWriter::add(std::uint64_t index, ByteView original, ByteView decoded,
                                ByteView compressed) {
  if (original.size() > UINT32_MAX || compressed.size() > UINT32_MAX) {
    throw std::invalid_argument("stream container: chunk " + std::to_string(index) +
                                " is over 4 GiB");
  }
  ChunkRecord record{static_cast<std::uint32_t>(original.size()),
                     static_cast<std::uint32_t>(compressed.size()), crc32_of(original),
                     crc32_of(decoded), crc32_of(compressed)};
  std::lock_guard lock(mutex_);
  if (index >= slots_.size()) slots_.resize(index + 1);
  if (slots_[index].present) {
    throw std::invalid_argument("stream container: chunk " + std::to_string(index) +
                                " added twice");
  }
  if (!compressed.empty() &&
      std::fwrite(compressed.data(), 1, compressed.size(), spill_) != compressed.size()) {
    throw std::runtime_error(spill_path_.string() + ": write failed: " + std::strerror(errno));
  }
  slots_[index] = {record, spill_size_, true};
  spill_size_ += compressed.size();
}

void StreamContainerWriter::set_header(nlohmann::json header) {
  std::lock_guard lock(mutex_);
  header_ = std::move(header);
}

void StreamContainerWriter::write(std::ostream& out, std::uint64_t count) {
  std::lock_guard lock(mutex_);
  const std::string header = header_.dump();
  Bytes index(kStreamMagic, kStreamMagic + sizeof kStreamMagic);
  put_u32(index, kStreamFormatVersion);
  put_u32(index, static_cast<std::uint32_t>(header.size()));
  append(index, as_bytes(header));
  put_u64(index, count);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (i >= slots_.size() || !slots_[i].present) {
      throw std::logic_error("stream container: chunk " + std::to_string(i) + " of " +
                             std::to_string(count) + " was never added");
    }
    const ChunkRecord& r = slots_[i].record;
    for (std::uint32_t v :
         {r.original_size, r.compressed_size, r.original_crc, r.decoded_crc, r.stream_crc}) {
      put_u32(index, v);
    }
  }
  put_u32(index, crc32_of(index));
  out.write(reinterpret_cast<const char*>(index.data()),
            static_cast<std::streamsize>(index.size()));
  if (std::fflush(spill_) != 0) {
    throw std::runtime_error(spill_path_.string() + ": write failed: " + std::strerror(errno));
  }
  Bytes buffer;
  for (std::uint64_t i = 0; i < count; ++i) {
    const Slot& slot = slots_[i];
    buffer.resize(slot.record.compressed_size);
    if (std::fseek(spill_, static_cast<long>(slot.offset), SEEK_SET) != 0 ||
        std::fread(buffer.data(), 1, buffer.size(), spill_) != buffer.size()) {
      throw std::runtime_error(spill_path_.string() + ": read back failed");
    }
    out.write(reinterpret_cast<const char*>(buffer.data()),
              static_cast<std::streamsize>(buffer.size()));
  }
  out.flush();
  if (!out) throw std::runtime_error("stream container: writing the output failed");
  std::fseek(spill_, 0, SEEK_END);
}

void StreamContainerWriter::write_file(const std::filesystem::path& path, std::uint64_t count) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(temporary.string() + ": cannot create");
    write(out, count);
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace lmc
