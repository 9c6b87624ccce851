// The saved-streams container (docs/PROTOCOL.md section 8): the compressed chunks of one row of a
// run, or of one file of `bench compress`, with everything a decoder on another machine needs to
// rebuild the compressor and to check what it decodes.
//
//   magic "LMCSTRM\0" | u32 version | u32 header length H | H bytes of JSON (the header)
//   | u64 chunk count N | N x 20-byte records | u32 CRC-32 of everything before it | the streams
//
// Integers are little-endian. A record is five u32: original length, compressed length, CRC-32
// of the original chunk, CRC-32 of what decoding must give back (the chunk's 7-bit image for a
// language model under a 7-bit mapping; the chunk itself otherwise), CRC-32 of the compressed
// stream. CRC-32 is zlib's crc32 (ISO-HDLC, the polynomial of gzip and PNG). The streams follow
// in chunk order; the file ends with the last one.
//
// Reading checks every length against the file before trusting it, and throws InputError naming
// the file for anything that is not a well-formed container (truncated, lying lengths, bad magic,
// unknown version, damaged index or stream): never a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace lmc {

inline constexpr char kStreamMagic[8] = {'L', 'M', 'C', 'S', 'T', 'R', 'M', '\0'};
inline constexpr std::uint32_t kStreamFormatVersion = 1;
// Limits that keep a damaged length from asking for absurd memory.
inline constexpr std::uint32_t kMaxHeaderBytes = 16u << 20;
inline constexpr std::size_t kStreamRecordBytes = 20;

std::uint32_t crc32_of(ByteView data);

struct ChunkRecord {
  std::uint32_t original_size = 0;
  std::uint32_t compressed_size = 0;
  std::uint32_t original_crc = 0;
  std::uint32_t decoded_crc = 0;  // of what decoding must give back
  std::uint32_t stream_crc = 0;
};

// Reads a container's header and index, and its streams on demand (thread-safe: positioned
// reads). `name` is what errors call it (a file name, "<stdin>").
class StreamContainerReader {
 public:
  // Reads `size` bytes at `offset` into `out`; throws when it cannot.
  using Source = std::function<void(std::uint64_t offset, std::span<std::uint8_t> out)>;

  StreamContainerReader(Source source, std::uint64_t size, std::string name);
  static StreamContainerReader open_file(const std::filesystem::path& path);
  // A container held in memory (the fuzz target, stdin); `data` must outlive the reader.
  static StreamContainerReader from_memory(ByteView data, std::string name);

  const std::string& name() const { return name_; }
  const nlohmann::json& header() const { return header_; }
  const std::vector<ChunkRecord>& chunks() const { return records_; }
  // Chunk i's stream, its CRC checked (InputError "damaged" otherwise).
  Bytes stream(std::size_t i) const;

 private:
  [[noreturn]] void fail(const std::string& why) const;
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const;

  Source source_;
  std::shared_ptr<void> keep_alive_;  // the open file behind source_
  std::uint64_t size_ = 0;
  std::string name_;
  nlohmann::json header_;
  std::vector<ChunkRecord> records_;
  std::vector<std::uint64_t> offsets_;  // of each stream in the file
};

// Collects the chunks of one container in any order (threads finish ranges out of order) in a
// spill file beside the target, keeping only their records in memory, then writes the container
// in chunk order. Thread-safe add(). The spill file is removed when the writer goes.
class StreamContainerWriter {
 public:
  StreamContainerWriter(std::filesystem::path spill, nlohmann::json header);
  ~StreamContainerWriter();
  StreamContainerWriter(const StreamContainerWriter&) = delete;
  StreamContainerWriter& operator=(const StreamContainerWriter&) = delete;

  void add(std::uint64_t index, ByteView original, ByteView decoded, ByteView compressed);
  // Replaces the header (one that depends on the whole input, known only at the end).
  void set_header(nlohmann::json header);
  // Chunks 0..count-1 must all have been added (InputError naming the first missing one).
  void write(std::ostream& out, std::uint64_t count);
  void write_file(const std::filesystem::path& path, std::uint64_t count);

 private:
  struct Slot {
    ChunkRecord record;
    std::uint64_t offset = 0;  // in the spill file
    bool present = false;
  };
  std::filesystem::path spill_path_;
  std::FILE* spill_ = nullptr;
  std::uint64_t spill_size_ = 0;
  nlohmann::json header_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
};

}  // namespace lmc
