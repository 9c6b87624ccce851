#include "models/pretrained/gguf_model.h"

#include <dlfcn.h>
#include <ggml-backend.h>
#include <llama.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "common/error.h"
#include "models/kernels/pretrained_kernels.h"
#include "models/transformer/checkpoint.h"

#ifndef LMC_GGML_BACKEND_DIR
#define LMC_GGML_BACKEND_DIR ""
#endif

namespace lmc {

namespace {

// llama.cpp reports why a load failed only through its log. Keep the last error lines of the
// current thread for our exception, and print nothing (LMC_LLAMA_LOG=1 prints everything).
thread_local std::string last_llama_errors;

void log_to_errors(ggml_log_level level, const char* text, void* /*user*/) {
  static const bool verbose = [] {
    const char* value = std::getenv("LMC_LLAMA_LOG");
    return value != nullptr && std::string(value) == "1";
  }();
  if (verbose) std::fputs(text, stderr);
  if (level == GGML_LOG_LEVEL_ERROR) {
    last_llama_errors += text;
    if (last_llama_errors.size() > 2000)
      last_llama_errors.erase(0, last_llama_errors.size() - 2000);
  }
}

std::string take_llama_errors() {
  std::string errors = std::move(last_llama_errors);
  last_llama_errors.clear();
  while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) errors.pop_back();
  for (char& c : errors) {
    if (c == '\n') c = ';';
  }
  return errors.empty() ? "no reason given" : errors;
}

// The CPU backend, loaded once per process. A build against the fetched release loads one of
// its libggml-cpu-<variant>.so: the pinned one, or the one ggml itself would choose (highest
// ggml_backend_score on this CPU; ties: the first by name). Other builds use what they have.
struct CpuBackend {
  std::string variant;
  std::string cpu_name;
};

int variant_score(const std::filesystem::path& library) {
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return 0;
  using ScoreFunction = int (*)();
  const auto score = reinterpret_cast<ScoreFunction>(dlsym(handle, "ggml_backend_score"));
  const int result = score != nullptr ? score() : 0;
  dlclose(handle);
  return result;
}

std::string variant_of(const std::filesystem::path& library) {
  const std::string name = library.filename().string();  // libggml-cpu-<variant>.so
  return name.substr(12, name.size() - 12 - 3);
}

std::vector<std::filesystem::path> variant_libraries(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> libraries;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("libggml-cpu-") && name.ends_with(".so")) {
      libraries.push_back(entry.path());
    }
  }
  std::sort(libraries.begin(), libraries.end());
  return libraries;
}

std::string load_variant(const std::filesystem::path& dir, const std::string& pinned) {
  const auto libraries = variant_libraries(dir);
  if (libraries.empty()) {
    throw InputError("gguf: no libggml-cpu-<variant>.so in " + dir.string() +
                     " (run scripts/fetch-llama-cpp.sh)");
  }
  std::filesystem::path chosen;
  if (!pinned.empty()) {
    std::string known;
    for (const auto& library : libraries) {
      if (variant_of(library) == pinned) chosen = library;
      known += (known.empty() ? "" : ", ") + variant_of(library);
    }
    if (chosen.empty()) {
      throw InputError("gguf: cpu_variant \"" + pinned + "\" unknown; this build has " + known);
    }
    if (variant_score(chosen) == 0) {
      throw InputError("gguf: cpu_variant \"" + pinned +
                       "\" needs instructions this CPU lacks (ggml_backend_score 0)");
    }
  } else {
    int best = 0;
    for (const auto& library : libraries) {
      const int score = variant_score(library);
      if (score > best) best = score, chosen = library;
    }
    if (chosen.empty()) throw InputError("gguf: no CPU variant in " + dir.string() + " runs here");
  }
  if (ggml_backend_load(chosen.c_str()) == nullptr) {
    throw InputError("gguf: cannot load " + chosen.string() + ": " + take_llama_errors());
  }
  return variant_of(chosen);
}

const CpuBackend& cpu_backend(const std::string& pinned) {
  static std::mutex mutex;
  static std::unique_ptr<CpuBackend> backend;
  const std::lock_guard lock(mutex);
  if (!backend) {
    llama_log_set(log_to_errors, nullptr);
    auto loaded = std::make_unique<CpuBackend>();
    const char* override_dir = std::getenv("LMC_GGML_BACKEND_DIR");
    const std::filesystem::path dir =
        override_dir != nullptr && *override_dir ? override_dir : LMC_GGML_BACKEND_DIR;
    if (ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) != nullptr) {
      loaded->variant = "built in";  // a llama.cpp built without dynamic backends
    } else if (!dir.empty()) {
      loaded->variant = load_variant(dir, pinned);
    } else {
      ggml_backend_load_all();
      loaded->variant = "chosen by ggml_backend_load_all";
    }
    llama_backend_init();
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (cpu == nullptr) throw InputError("gguf: llama.cpp has no CPU backend");
    loaded->cpu_name = ggml_backend_dev_description(cpu);
    backend = std::move(loaded);
  }
  if (!pinned.empty() && pinned != backend->variant) {
    throw InputError("gguf: cpu_variant \"" + pinned + "\" requested, but this process runs \"" +
                     backend->variant + "\" already (one CPU variant per process)");
  }
  return *backend;
}

void require_gguf_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open model file");
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  if (in.gcount() != 4 || std::memcmp(magic, "GGUF", 4) != 0) {
    throw InputError(path.string() + ": not a GGUF file (no \"GGUF\" magic)");
  }
}

std::string meta_string(const llama_model* model, const char* key) {
  char value[256] = {};
  return llama_model_meta_val_str(model, key, value, sizeof(value)) >= 0 ? value : "";
}

// Every position is decoded into a logits row of its own; batch_logits() asks for all of them.
struct BatchDeleter {
  void operator()(llama_batch* batch) const {
    llama_batch_free(*batch);
    delete batch;
  }
};
using BatchHandle = std::unique_ptr<llama_batch, BatchDeleter>;

BatchHandle new_batch(int capacity) {
  return BatchHandle(new llama_batch(llama_batch_init(capacity, 0, 1)));
}

// Fills `batch` with `tokens`, the first at position `position`, one sequence; logits for the
// tokens at positions >= first_output.
void fill_batch(llama_batch& batch, std::span<const int> tokens, std::size_t position,
                std::size_t first_output) {
  batch.n_tokens = static_cast<int>(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = static_cast<llama_pos>(position + i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = position + i >= first_output ? 1 : 0;
  }
}

void decode(llama_context* context, const llama_batch& batch, std::size_t position) {
  const int status = llama_decode(context, batch);
  if (status != 0) {
    throw std::runtime_error("gguf: llama_decode failed at token " + std::to_string(position) +
                             " (status " + std::to_string(status) + "): " + take_llama_errors());
  }
}

class GgufSession final : public PredictorSession {
 public:
  explicit GgufSession(const GgufPredictor& model)
      : model_(model), context_(model.new_context(1)), batch_(new_batch(1)) {}

  void append(int token) override {
    if (token < 0 || token >= model_.vocab_size()) {
      throw std::out_of_range("gguf: token " + std::to_string(token) + " outside the vocab");
    }
    if (position_ >= static_cast<std::size_t>(model_.context())) {
      throw std::logic_error("gguf: context of " + std::to_string(model_.context()) +
                             " tokens is full");
    }
    const int tokens[1] = {token};
    fill_batch(*batch_, tokens, position_, 0);
    decode(context_.get(), *batch_, position_);
    ++position_;
  }

  void next_probabilities(std::span<float> probs) override {
    if (position_ == 0) throw std::logic_error("gguf: append a token (BOS) first");
    const float* logits = llama_get_logits_ith(context_.get(), -1);
    if (logits == nullptr) throw std::logic_error("gguf: llama.cpp returned no logits");
    const auto size = static_cast<std::size_t>(model_.vocab_size());
    std::copy_n(logits, size, probs.begin());
    kernels::softmax(probs.first(size));
  }

 private:
  const GgufPredictor& model_;
  GgufPredictor::ContextHandle context_;
  BatchHandle batch_;
  std::size_t position_ = 0;
};

}  // namespace

void GgufPredictor::ModelDeleter::operator()(llama_model* model) const { llama_model_free(model); }
void GgufPredictor::ContextDeleter::operator()(llama_context* context) const {
  llama_free(context);
}

GgufPredictor::~GgufPredictor() = default;

std::shared_ptr<const GgufPredictor> GgufPredictor::load(const std::filesystem::path& path,
                                                         const GgufOptions& options) {
  require_gguf_file(path);
  if (options.threads < 1 || options.threads > 512) {
    throw InputError("gguf: threads must be between 1 and 512, got " +
                     std::to_string(options.threads));
  }
  const CpuBackend& backend = cpu_backend(options.cpu_variant);
  std::shared_ptr<GgufPredictor> predictor(new GgufPredictor());
  predictor->path_ = path;
  predictor->threads_ = options.threads;
  predictor->cpu_variant_ = backend.variant;
  predictor->cpu_name_ = backend.cpu_name;

  llama_model_params params = llama_model_default_params();
  ggml_backend_dev_t no_devices[1] = {nullptr};  // weights and compute on the CPU only
  params.devices = no_devices;
  params.n_gpu_layers = 0;
  take_llama_errors();
  predictor->model_.reset(llama_model_load_from_file(path.c_str(), params));
  if (!predictor->model_) {
    throw InputError(path.string() + ": llama.cpp cannot load it as a model (" +
                     take_llama_errors() + ")");
  }
  const llama_model* model = predictor->model_.get();
  if (llama_model_has_encoder(model)) {
    throw InputError(path.string() + ": an encoder-decoder model; only decoder-only LMs code text");
  }
  if (llama_model_is_recurrent(model) || llama_model_is_hybrid(model)) {
    throw InputError(path.string() +
                     ": recurrent GGUF models (RWKV, Mamba) are not supported yet; "
                     "rwkv.cpp files work with \"format\": \"rwkv\"");
  }
  predictor->vocab_size_ = llama_vocab_n_tokens(llama_model_get_vocab(model));
  predictor->parameters_ = llama_model_n_params(model);
  predictor->training_context_ = llama_model_n_ctx_train(model);
  if (predictor->vocab_size_ <= 0 || predictor->training_context_ <= 0) {
    throw InputError(path.string() + ": no vocabulary or no training context in the metadata");
  }
  if (options.context < 0) {
    throw InputError("context must be >= 0 (0 = the model's own), got " +
                     std::to_string(options.context));
  }
  if (options.context > predictor->training_context_) {
    throw InputError(path.string() + ": context " + std::to_string(options.context) +
                     " exceeds the model's " + std::to_string(predictor->training_context_) +
                     " positions");
  }
  predictor->context_ = options.context == 0 ? predictor->training_context_ : options.context;
  char description[256] = {};
  llama_model_desc(model, description, sizeof(description));
  predictor->description_ = description;
  predictor->architecture_ = meta_string(model, "general.architecture");
  predictor->hash_ = fnv1a64_file_hash(path);
  return predictor;
}

GgufPredictor::ContextHandle GgufPredictor::new_context(int batch) const {
  llama_context_params params = llama_context_default_params();
  params.n_ctx = static_cast<std::uint32_t>(context_);
  params.n_batch = static_cast<std::uint32_t>(batch);
  params.n_ubatch = static_cast<std::uint32_t>(batch);
  params.n_seq_max = 1;
  params.n_threads = threads_;
  params.n_threads_batch = threads_;
  params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  params.type_k = GGML_TYPE_F32;  // an F16 cache would round keys and values
  params.type_v = GGML_TYPE_F32;
  params.offload_kqv = false;
  params.op_offload = false;
  params.swa_full = true;  // sliding-window-attention models keep every position
  params.no_perf = true;
  take_llama_errors();
  ContextHandle context(llama_init_from_model(model_.get(), params));
  if (!context) {
    throw std::runtime_error("gguf: " + path_.string() + ": cannot create a llama context (" +
                             take_llama_errors() + ")");
  }
  return context;
}

std::unique_ptr<PredictorSession> GgufPredictor::new_session() const {
  return std::make_unique<GgufSession>(*this);
}

std::vector<float> GgufPredictor::batch_logits(std::span<const int> tokens,
                                               std::size_t first_output, int batch) const {
  if (tokens.size() > static_cast<std::size_t>(context_) || first_output > tokens.size() ||
      batch < 1) {
    throw std::logic_error("gguf: batch of " + std::to_string(tokens.size()) +
                           " tokens (outputs from " + std::to_string(first_output) +
                           ") for a context of " + std::to_string(context_));
  }
  const ContextHandle context = new_context(batch);
  const BatchHandle handle = new_batch(batch);
  const auto vocab = static_cast<std::size_t>(vocab_size_);
  std::vector<float> logits((tokens.size() - first_output) * vocab);
  for (std::size_t first = 0; first < tokens.size(); first += static_cast<std::size_t>(batch)) {
    const std::size_t count = std::min<std::size_t>(batch, tokens.size() - first);
    fill_batch(*handle, tokens.subspan(first, count), first, first_output);
    decode(context.get(), *handle, first);
    for (std::size_t i = std::max(first, first_output); i < first + count; ++i) {
      const float* row = llama_get_logits_ith(context.get(), static_cast<std::int32_t>(i - first));
      if (row == nullptr) throw std::logic_error("gguf: llama.cpp returned no logits");
      std::copy_n(row, vocab,
                  logits.begin() + static_cast<std::ptrdiff_t>((i - first_output) * vocab));
    }
  }
  return logits;
}

nlohmann::json GgufPredictor::describe() const {
  return {{"model", "gguf"},
          {"description", description_},
          {"architecture", architecture_},
          {"parameters", parameters_},
          {"training_context", training_context_},
          {"checkpoint", path_.string()},
          {"checkpoint_fnv1a64", hash_},
          {"llama_cpp",
           {{"release", LMC_LLAMA_CPP_RELEASE},
            {"backend", "CPU only (no offload)"},
            {"cpu_variant", cpu_variant_},
            {"cpu", cpu_name_},
            {"threads", threads_},
            {"n_batch", 1},
            {"flash_attention", false},
            {"kv_cache", "f32"}}},
          {"inference",
           "llama.cpp, one token per llama_decode, fixed context parameters; probabilities are "
           "lmc's softmax of the logits (no llama.cpp sampler)"}};
}

GgufTokenizer::GgufTokenizer(std::shared_ptr<const GgufPredictor> model)
    : model_(std::move(model)) {
  const llama_vocab* vocab = llama_model_get_vocab(model_->model());
  const int size = llama_vocab_n_tokens(vocab);
  pieces_.resize(static_cast<std::size_t>(size));
  std::vector<char> buffer(256);
  for (int id = 0; id < size; ++id) {
    int length =
        llama_token_to_piece(vocab, id, buffer.data(), static_cast<int>(buffer.size()), 0, false);
    if (length < 0) {
      buffer.resize(static_cast<std::size_t>(-length));
      length =
          llama_token_to_piece(vocab, id, buffer.data(), static_cast<int>(buffer.size()), 0, false);
    }
    pieces_[static_cast<std::size_t>(id)].assign(buffer.data(), static_cast<std::size_t>(length));
  }
  // SentencePiece-style vocabularies put a space before the text; find out from "a".
  std::string a;
  for (int id : encode("a")) a += token_bytes(id);
  if (a.ends_with("a")) dummy_prefix_ = a.substr(0, a.size() - 1);

  const llama_token bos = llama_vocab_bos(vocab);
  if (llama_vocab_get_add_bos(vocab) && bos != LLAMA_TOKEN_NULL) {
    bos_ = bos;
    bos_rule_ = "the model's metadata adds BOS";
  } else if (bos != LLAMA_TOKEN_NULL) {
    bos_ = bos;
    bos_rule_ =
        "the model adds no BOS; its BOS token starts each context anyway (the first "
        "token needs a prediction)";
  } else {
    bos_rule_ = "none";
  }
}

std::vector<int> GgufTokenizer::encode(std::string_view text) const {
  if (text.empty()) return {};
  const llama_vocab* vocab = llama_model_get_vocab(model_->model());
  if (text.size() > static_cast<std::size_t>(INT32_MAX / 2)) {
    throw InputError("gguf: text of " + std::to_string(text.size()) + " bytes is too long");
  }
  // Special tokens are never parsed from the text: "<s>" in a chunk is text like any other.
  std::vector<llama_token> tokens(text.size() + 2);
  int count = llama_tokenize(vocab, text.data(), static_cast<int>(text.size()), tokens.data(),
                             static_cast<int>(tokens.size()), false, false);
  if (count < 0) {
    tokens.resize(static_cast<std::size_t>(-count));
    count = llama_tokenize(vocab, text.data(), static_cast<int>(text.size()), tokens.data(),
                           static_cast<int>(tokens.size()), false, false);
  }
  if (count < 0) throw std::runtime_error("gguf: llama_tokenize failed");
  return std::vector<int>(tokens.begin(), tokens.begin() + count);
}

std::string_view GgufTokenizer::token_bytes(int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw std::out_of_range("gguf: token " + std::to_string(id) + " outside the vocab");
  }
  return pieces_[static_cast<std::size_t>(id)];
}

nlohmann::json GgufTokenizer::describe() const {
  const llama_vocab* vocab = llama_model_get_vocab(model_->model());
  static const char* const kTypes[] = {"none", "spm", "bpe", "wpm", "ugm", "rwkv", "plamo2"};
  const int type = static_cast<int>(llama_vocab_type(vocab));
  return {{"kind", "gguf"},
          {"vocabulary", type >= 0 && type < 7 ? kTypes[type] : std::to_string(type)},
          {"file", model_->path().string()},
          {"vocab_size", vocab_size()},
          {"dummy_prefix", dummy_prefix_},
          {"bos", bos_ ? nlohmann::json(*bos_) : nlohmann::json(nullptr)},
          {"bos_rule", bos_rule_},
          {"tokenize", "llama_tokenize, no special tokens added or parsed"}};
}

}  // namespace lmc
