// Checksums of downloaded archives and unpacked corpora (MD5, SHA-256) through OpenSSL's EVP
// interface, streamed so a 6 GB archive never sits in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace lmc {

// A pinned checksum: the algorithm ("md5" or "sha256") and its lowercase hex digest.
struct Checksum {
  std::string algorithm;
  std::string hex;
  bool empty() const { return hex.empty(); }
};

// Incremental digest; throws InputError for an algorithm OpenSSL does not know.
class Digest {
 public:
  explicit Digest(const std::string& algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::span<const std::uint8_t> bytes);
  std::string hex();  // finishes the digest; call once

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// Digest of a whole file. `progress` (optional) is called with the bytes hashed so far.
std::string file_digest(const std::filesystem::path& path, const std::string& algorithm,
                        const std::function<void(std::uint64_t)>& progress = {});

}  // namespace lmc
