// The saved-streams container reader (compressors/stream_container.h) that `bench decode` and
// `bench decompress` use, on arbitrary bytes. The index carries a CRC-32, which random mutations
// almost never satisfy; so when the input's first byte is odd, the CRC is recomputed over the
// mutated header and table first, and the reader's checks behind it (lying lengths, truncated
// tables, counts that overflow) meet the fuzzer's inputs too.
#include <algorithm>

#include "compressors/stream_container.h"
#include "fuzz_support.h"

namespace {

std::uint64_t little_endian(const lmc::Bytes& bytes, std::size_t at, int width) {
  std::uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = value << 8 | bytes[at + i];
  return value;
}

void reseal(lmc::Bytes& bytes) {
  if (bytes.size() < 16) return;
  const std::uint64_t header = little_endian(bytes, 12, 4);
  if (header > bytes.size() || 24 + header > bytes.size()) return;
  const std::uint64_t count = little_endian(bytes, 16 + header, 8);
  if (count > bytes.size() / lmc::kStreamRecordBytes) return;
  const std::uint64_t end = 24 + header + count * lmc::kStreamRecordBytes;
  if (end + 4 > bytes.size()) return;
  const std::uint32_t crc = lmc::crc32_of(lmc::ByteView(bytes).first(end));
  for (int i = 0; i < 4; ++i) bytes[end + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool fix_crc = (data[0] & 1) != 0;
  lmc::Bytes bytes(data + 1, data + size);
  if (fix_crc) reseal(bytes);
  lmc::fuzz::accept_documented_errors([&] {
    const auto reader = lmc::StreamContainerReader::from_memory(bytes, "fuzz.lmcs");
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < reader.chunks().size(); ++i) total += reader.stream(i).size();
    if (total > bytes.size()) __builtin_trap();  // streams are never longer than the file
    (void)reader.header().dump();
  });
  return 0;
}
