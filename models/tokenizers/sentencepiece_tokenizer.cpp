#include "models/tokenizers/sentencepiece_tokenizer.h"

#include <dlfcn.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "common/error.h"
#include "common/runtime_module.h"
#include "models/tokenizers/sentencepiece_shim.h"
#include "models/transformer/checkpoint.h"

namespace lmc {

namespace {

constexpr std::string_view kMetaSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

std::string piece_to_bytes(std::string_view piece) {
  std::string bytes;
  for (std::size_t i = 0; i < piece.size();) {
    if (piece.substr(i, kMetaSpace.size()) == kMetaSpace) {
      bytes += ' ';
      i += kMetaSpace.size();
    } else {
      bytes += piece[i++];
    }
  }
  return bytes;
}

// "<0x41>" -> 0x41; -1 for any other spelling.
int byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int value = 0;
  for (char c : piece.substr(3, 2)) {
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// The length of the character at the start of `text` if SentencePiece codes it as itself, else
// 0: for a byte of no valid UTF-8 character (RFC 3629: no overlong form, no surrogate, nothing
// past U+10FFFF), which SentencePiece replaces with U+FFFD, and for U+2581, which it cannot tell
// from the space it stands for.
std::size_t codable_character(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  return text.substr(0, length) == kMetaSpace ? 0 : length;
}

}  // namespace

// The shim, opened once per process and kept open until exit: models hold handles into it, and
// unloading a library that carries its own protobuf is not worth the teardown-order risk.
class SentencePieceLibrary {
 public:
  decltype(&lmc_spm_load) load = nullptr;
  decltype(&lmc_spm_free) free = nullptr;
  decltype(&lmc_spm_piece_count) piece_count = nullptr;
  decltype(&lmc_spm_piece) piece = nullptr;
  decltype(&lmc_spm_piece_kind) piece_kind = nullptr;
  decltype(&lmc_spm_bos_id) bos_id = nullptr;
  decltype(&lmc_spm_encode) encode = nullptr;
  decltype(&lmc_spm_train) train = nullptr;
  std::filesystem::path path;

  static std::shared_ptr<const SentencePieceLibrary> instance() {
    static std::mutex mutex;
    static std::shared_ptr<const SentencePieceLibrary> library;
    const std::lock_guard lock(mutex);
    if (!library) library = open();
    return library;
  }

 private:
  static std::shared_ptr<const SentencePieceLibrary> open() {
    auto library = std::make_shared<SentencePieceLibrary>();
    const RuntimeModuleSpec spec{
        .file_name = "liblmc_sentencepiece.so",
        .environment_variable = "LMC_SENTENCEPIECE_LIBRARY",
#ifdef LMC_SENTENCEPIECE_BUILD_LIBRARY
        .build_path = LMC_SENTENCEPIECE_BUILD_LIBRARY,
#endif
        .needed_by =
            "SentencePiece tokenizers (built with lmc when libsentencepiece-dev is "
            "installed)",
        // DEEPBIND: its protobuf symbols must never meet libtorch's (sentencepiece_shim.h).
        .dlopen_flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND,
    };
    library->path =
        open_runtime_module(spec, [&](void* h, const std::filesystem::path& path) {
          const int version = runtime_module_function<int()>(h, "lmc_spm_abi_version", path)();
          if (version != LMC_SPM_ABI_VERSION) {
            throw InputError(path.string() + ": SentencePiece library of interface version " +
                             std::to_string(version) + ", this build needs " +
                             std::to_string(LMC_SPM_ABI_VERSION) + "; rebuild lmc");
          }
          library->bind(h, path);
        }).path;
    return library;
  }

  void bind(void* h, const std::filesystem::path& path) {
    const auto symbol = [&](auto*& function, const char* name) {
      using Function = std::remove_reference_t<decltype(*function)>;
      function = runtime_module_function<Function>(h, name, path);
    };
    symbol(load, "lmc_spm_load");
    symbol(free, "lmc_spm_free");
    symbol(piece_count, "lmc_spm_piece_count");
    symbol(piece, "lmc_spm_piece");
    symbol(piece_kind, "lmc_spm_piece_kind");
    symbol(bos_id, "lmc_spm_bos_id");
    symbol(encode, "lmc_spm_encode");
    symbol(train, "lmc_spm_train");
  }
};

struct SentencePieceTokenizer::Model {
  std::shared_ptr<const SentencePieceLibrary> library;
  lmc_spm* handle = nullptr;
  ~Model() {
    if (handle != nullptr) library->free(handle);
  }
};

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::filesystem::path SentencePieceTokenizer::library_path() {
  return SentencePieceLibrary::instance()->path;
}

std::shared_ptr<const SentencePieceTokenizer> SentencePieceTokenizer::load(
    const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(path.string() + ": SentencePiece model not found");
  }
  auto library = SentencePieceLibrary::instance();
  std::shared_ptr<SentencePieceTokenizer> tokenizer(new SentencePieceTokenizer());
  tokenizer->library_ = library;
  tokenizer->path_ = path;
  tokenizer->hash_ = fnv1a64_file_hash(path);
  tokenizer->model_ = std::make_unique<Model>();
  tokenizer->model_->library = library;
  char error[512] = {};
  tokenizer->model_->handle = library->load(path.c_str(), error, sizeof(error));
  if (tokenizer->model_->handle == nullptr) {
    throw InputError(path.string() + ": not a SentencePiece model (" + error + ")");
  }
  const lmc_spm* handle = tokenizer->model_->handle;

  const int count = library->piece_count(handle);
  tokenizer->byte_piece_ids_.fill(-1);
  for (int id = 0; id < count; ++id) {
    std::size_t size = 0;
    const char* data = library->piece(handle, id, &size);
    const std::string_view spelling(data, size);
    switch (library->piece_kind(handle, id)) {
      case LMC_SPM_NORMAL:
        tokenizer->bytes_.push_back(piece_to_bytes(spelling));
        break;
      case LMC_SPM_BYTE: {
        const int value = byte_piece_value(spelling);
        if (value < 0) {
          throw InputError(path.string() + ": byte piece " + std::to_string(id) + " is \"" +
                           std::string(spelling) + "\", expected <0xNN>");
        }
        tokenizer->bytes_.emplace_back(1, static_cast<char>(value));
        tokenizer->byte_piece_ids_[value] = id;
        ++tokenizer->byte_pieces_;
        break;
      }
      default:  // unknown, control, unused: no text
        tokenizer->bytes_.emplace_back();
    }
  }
  if (const int bos = library->bos_id(handle); bos >= 0 && bos < count) tokenizer->bos_ = bos;

  // Models trained with add_dummy_prefix (the default, and Llama 2's) encode "a" as " a".
  std::string probe;
  for (int id : tokenizer->encode("a")) probe += tokenizer->token_bytes(id);
  if (probe == " a") {
    tokenizer->dummy_prefix_ = " ";
  } else if (probe != "a") {
    throw InputError(path.string() + ": encodes \"a\" as \"" + probe +
                     "\"; only a leading space (dummy prefix) or nothing may be added");
  }
  return tokenizer;
}

std::vector<int> SentencePieceTokenizer::encode(std::string_view text) const {
  // Runs of characters SentencePiece codes as themselves go to it, each on its own; every other
  // byte is its byte piece. SentencePiece puts its dummy prefix before every run, so a run that
  // does not start the text has it taken off again, and a text that starts with a byte piece
  // gets it as byte pieces. Text that is all one run (any 7-bit text) is SentencePiece's alone.
  std::vector<int> ids;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = start;
    while (end < text.size()) {
      const std::size_t length = codable_character(text.substr(end));
      if (length == 0) break;
      end += length;
    }
    if (end > start) {
      std::vector<int> run = encode_codable(text.substr(start, end - start));
      if (start > 0) remove_dummy_prefix(run);
      ids.insert(ids.end(), run.begin(), run.end());
      start = end;
    } else {
      if (start == 0) {
        for (char c : dummy_prefix_) ids.push_back(byte_piece(c));
      }
      ids.push_back(byte_piece(text[start++]));
    }
  }
  return ids;
}

int SentencePieceTokenizer::byte_piece(char byte) const {
  const int id = byte_piece_ids_[static_cast<unsigned char>(byte)];
  if (id < 0) {
    throw InputError(path_.string() + ": no byte piece for byte " +
                     std::to_string(static_cast<unsigned char>(byte)) +
                     " (trained without byte fallback): cannot tokenize bytes that are not UTF-8 "
                     "text");
  }
  return id;
}

void SentencePieceTokenizer::remove_dummy_prefix(std::vector<int>& run) const {
  if (dummy_prefix_.empty() || run.empty()) return;
  const std::string_view first = bytes_[run.front()];
  if (!first.starts_with(dummy_prefix_)) return;  // not there: the round-trip checks say so
  std::vector<int> rest;
  for (char c : first.substr(dummy_prefix_.size())) rest.push_back(byte_piece(c));
  run.erase(run.begin());
  run.insert(run.begin(), rest.begin(), rest.end());
}

std::vector<int> SentencePieceTokenizer::encode_codable(std::string_view text) const {
  // Every piece holds at least one byte, plus one for the dummy prefix: text.size() + 1 ids at
  // most; the second call is only for a model that breaks that rule.
  std::vector<int> ids(text.size() + 2);
  char error[512] = {};
  for (int attempt = 0; attempt < 2; ++attempt) {
    const long count = library_->encode(model_->handle, text.data(), text.size(), ids.data(),
                                        ids.size(), error, sizeof(error));
    if (count < 0) throw InputError(path_.string() + ": cannot tokenize: " + error);
    const auto needed = static_cast<std::size_t>(count);
    if (needed <= ids.size()) {
      ids.resize(needed);
      return ids;
    }
    ids.resize(needed);
  }
  throw std::logic_error("SentencePiece returned a different token count for the same text");
}

std::string_view SentencePieceTokenizer::token_bytes(int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("SentencePiece tokenizer: no token " + std::to_string(id));
  }
  return bytes_[id];
}

nlohmann::json SentencePieceTokenizer::describe() const {
  return {{"kind", "SentencePiece (.model)"},
          {"path", path_.string()},
          {"fnv1a64", hash_},
          {"vocab_size", vocab_size()},
          {"dummy_prefix", dummy_prefix_},
          {"bos", bos_ ? nlohmann::json(*bos_) : nlohmann::json()},
          {"byte_fallback_pieces", byte_pieces_},
          {"library", library_->path.string()}};
}

void train_sentencepiece(std::string_view text, const SentencePieceTraining& training,
                         const std::filesystem::path& model_path) {
  constexpr std::size_t kMaxSentence = 8192;
  std::vector<const char*> sentences;
  std::vector<size_t> sizes;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = std::min({newline == std::string_view::npos ? text.size() : newline + 1,
                                      start + kMaxSentence, text.size()});
    sentences.push_back(text.data() + start);
    sizes.push_back(end - start);
    start = end;
  }
  const std::vector<std::pair<std::string, std::string>> flags = {
      {"model_type", training.model_type},
      {"vocab_size", std::to_string(training.vocab_size)},
      {"byte_fallback", "true"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", training.dummy_prefix ? "true" : "false"},
      {"remove_extra_whitespaces", "false"},
      {"split_digits", "false"},
      {"character_coverage", "1.0"},
      {"max_sentence_length", std::to_string(kMaxSentence)},
      {"input_sentence_size", "0"},  // every sentence, in order: no sampling
      {"shuffle_input_sentence", "false"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"unk_id", "0"},
      {"num_threads", std::to_string(training.threads)},
      // Its log goes to std::cerr, which a library opened with RTLD_DEEPBIND cannot write to
      // (it binds an uninitialised copy of the stream): errors come back as the status instead.
      {"minloglevel", "3"},
  };
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : flags) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  const auto library = SentencePieceLibrary::instance();
  char error[1024] = {};
  if (library->train(sentences.data(), sizes.data(), sentences.size(), keys.data(), values.data(),
                     keys.size(), model_path.c_str(), error, sizeof(error)) != 0) {
    throw InputError(model_path.string() + ": SentencePiece training failed: " + error);
  }
}

}  // namespace lmc
