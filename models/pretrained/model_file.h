// Reading the little-endian binary files of pretrained models (llama2.c, rwkv.cpp): every read
// is bounds-checked, so a truncated or foreign file becomes an InputError naming the file and
// the offset instead of a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"

namespace lmc {

// The whole file; InputError if it cannot be read.
Bytes read_model_file(const std::filesystem::path& path);

// FNV-1a 64 of the bytes as 16 hex digits: the same value as fnv1a64_file_hash() of the file,
// for results' provenance.
std::string fnv1a64_hex(ByteView data);

class ModelFileReader {
 public:
  ModelFileReader(const std::filesystem::path& path, ByteView data) : path_(path), data_(data) {}

  std::int32_t int32() { return scalar<std::int32_t>(); }
  float float32() { return scalar<float>(); }
  std::string string(std::size_t length) {
    const ByteView bytes = take(length);
    return std::string(bytes.begin(), bytes.end());
  }
  void floats(float* out, std::size_t count) {
    const ByteView bytes = take(count * sizeof(float));
    std::memcpy(out, bytes.data(), bytes.size());
  }
  void skip(std::size_t length) { take(length); }

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return data_.size() - offset_; }
  bool at_end() const { return offset_ == data_.size(); }

  // InputError "<file>: <what> (at byte N)".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  ByteView take(std::size_t length);
  template <typename T>
  T scalar() {
    T value;
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }

  std::filesystem::path path_;
  ByteView data_;
  std::size_t offset_ = 0;
};

}  // namespace lmc
