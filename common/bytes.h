// The one currency between datasets, compressors and the harness: a chunk of bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace lmc {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline void append(Bytes& out, ByteView in) { out.insert(out.end(), in.begin(), in.end()); }

}  // namespace lmc
