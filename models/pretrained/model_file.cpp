#include "models/pretrained/model_file.h"

#include <fstream>
#include <iterator>

#include "common/hash.h"

namespace lmc {

Bytes read_model_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open model file");
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path.string() + ": read error");
  return data;
}

std::string fnv1a64_hex(ByteView data) { return hex64(fnv1a64(data)); }

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
