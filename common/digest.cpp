#include "common/digest.h"

#include <openssl/evp.h>

#include <cstdio>
#include <vector>

#include "common/error.h"

namespace lmc {

namespace {

struct EvpContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

struct FileClose {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

struct Digest::Context {
  std::unique_ptr<EVP_MD_CTX, EvpContextFree> evp;
};

Digest::Digest(const std::string& algorithm) : context_(std::make_unique<Context>()) {
  // Only the two the catalogue pins: upstream publishes MD5 (OpenSLR, torchtext) or SHA-256
  // (Hugging Face).
  const EVP_MD* md = algorithm == "md5"      ? EVP_md5()
                     : algorithm == "sha256" ? EVP_sha256()
                                             : nullptr;
  if (md == nullptr) {
    throw InputError("checksum algorithm '" + algorithm + "' is not supported (md5, sha256)");
  }
  context_->evp.reset(EVP_MD_CTX_new());
  if (!context_->evp || EVP_DigestInit_ex(context_->evp.get(), md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot start a " + algorithm + " digest");
  }
}

Digest::~Digest() = default;

void Digest::update(std::span<const std::uint8_t> bytes) {
  if (EVP_DigestUpdate(context_->evp.get(), bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("OpenSSL: digest update failed");
  }
}

std::string Digest::hex() {
  unsigned char value[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->evp.get(), value, &length) != 1) {
    throw std::runtime_error("OpenSSL: digest final failed");
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += kDigits[value[i] >> 4];
    text += kDigits[value[i] & 15];
  }
  return text;
}

std::string file_digest(const std::filesystem::path& path, const std::string& algorithm,
                        const std::function<void(std::uint64_t)>& progress) {
  Digest digest(algorithm);
  std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw InputError(path.string() + ": cannot open to check its " + algorithm);
  std::vector<std::uint8_t> buffer(std::size_t{1} << 20);
  std::uint64_t done = 0;
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0;) {
    digest.update({buffer.data(), n});
    done += n;
    if (progress) progress(done);
  }
  if (std::ferror(file.get())) throw InputError(path.string() + ": read error while hashing");
  return digest.hex();
}

}  // namespace lmc
