#include "models/model_file.h"

#include <cstdio>
#include <fstream>
#include <iterator>

namespace lmc {

Bytes read_model_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open model file");
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path.string() + ": read error");
  return data;
}

std::string fnv1a64_hex(ByteView data) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (std::uint8_t byte : data) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

void ModelFileReader::fail(const std::string& what) const {
  throw InputError(path_.string() + ": " + what + " (at byte " + std::to_string(offset_) + ")");
}

ByteView ModelFileReader::take(std::size_t length) {
  if (length > remaining()) {
    fail("truncated: " + std::to_string(length) + " more bytes needed, " +
         std::to_string(remaining()) + " left");
  }
  const ByteView bytes = data_.subspan(offset_, length);
  offset_ += length;
  return bytes;
}

}  // namespace lmc
