// What every fuzz target shares: the errors a reader of untrusted bytes documents are expected
// outcomes; anything else (another exception, a sanitizer report, a hang) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/error.h"

namespace lmc::fuzz {

// Runs `body`, swallowing InputError and CorruptDataError only: any other exception escapes
// LLVMFuzzerTestOneInput, and libFuzzer reports it as a crash with the input that caused it.
template <typename Body>
void accept_documented_errors(Body&& body) {
  try {
    body();
  } catch (const InputError&) {
  } catch (const CorruptDataError&) {
  }
}

// Reads control bytes off the front of an input, then hands out the rest: lets one input choose
// both the bytes and how a target drives its reader (sizes, piece lengths). Reads past the end
// give zeros, so every input is usable.
class InputCursor {
 public:
  InputCursor(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return offset_ < size_ ? data_[offset_++] : 0; }
  std::uint16_t uint16() {
    const std::uint16_t low = byte();
    return static_cast<std::uint16_t>(low | byte() << 8);
  }
  ByteView rest() const { return ByteView(data_ + offset_, size_ - std::min(offset_, size_)); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

}  // namespace lmc::fuzz
