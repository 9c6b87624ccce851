#include "models/pretrained/pretrained_model.h"

#include <cstring>
#include <fstream>

#include "common/error.h"
#include "models/kernels/pretrained_kernels.h"
#include "models/pretrained/llama2c.h"
#include "models/pretrained/rwkv.h"
#include "models/tokenizers/llama2c_tokenizer.h"
#include "models/tokenizers/sentencepiece_tokenizer.h"
#include "models/torch_module.h"
#include "models/transformer/checkpoint.h"
#include "models/transformer/transformer_predictor.h"
#ifdef LMC_WITH_LLAMA_CPP
#include "models/pretrained/gguf_model.h"
#endif

namespace lmc {

nlohmann::json PretrainedModel::describe() const {
  nlohmann::json description = predictor->describe();
  description["format"] = format;
  description["tokenizer"] = tokenizer->describe();
  description["context_limit"] = context_limit;
  return description;
}

namespace {

// The window a session may use: the model's own limit unless `context` asks for less; a model
// without a limit (0) takes any positive `context`.
int choose_context(const std::filesystem::path& checkpoint, int model_limit, int context) {
  if (context < 0)
    throw InputError("context must be >= 0 (0 = the model's own), got " + std::to_string(context));
  if (context == 0) return model_limit;
  if (model_limit != 0 && context > model_limit) {
    throw InputError(checkpoint.string() + ": context " + std::to_string(context) +
                     " exceeds the model's " + std::to_string(model_limit) + " positions");
  }
  return context;
}

}  // namespace

bool gguf_format_available() {
#ifdef LMC_WITH_LLAMA_CPP
  return true;
#else
  return false;
#endif
}

namespace {

// A tokenized Transformer trained by lmc_train (the paper's Table 2): the .lmct checkpoint names
// its SentencePiece tokenizer and hash; `tokenizer` may point elsewhere, to the same file.
void load_lmct(PretrainedModel& model, const std::filesystem::path& checkpoint,
               const std::filesystem::path& tokenizer, int context) {
  const Checkpoint file = read_checkpoint(checkpoint);
  if (!file.header.contains("tokenizer")) {
    throw InputError("lmct: " + checkpoint.string() +
                     " is a byte Transformer (its header names no tokenizer); code it with the "
                     "\"lm\" compressor");
  }
  const nlohmann::json& trained_with = file.header["tokenizer"];
  std::filesystem::path path = tokenizer;
  std::string expected_hash;
  try {
    expected_hash = trained_with.at("fnv1a64").get<std::string>();
    if (path.empty()) {
      // As the training config wrote it: relative to where lmc_train ran (the repository root),
      // else beside the checkpoint.
      const std::filesystem::path named = trained_with.at("path").get<std::string>();
      path = named;
      if (named.is_relative() && !std::filesystem::exists(named) &&
          std::filesystem::exists(checkpoint.parent_path() / named.filename())) {
        path = checkpoint.parent_path() / named.filename();
      }
      if (!std::filesystem::exists(path)) {
        throw InputError("lmct: " + checkpoint.string() + " was trained with the tokenizer " +
                         named.string() +
                         " (its header's tokenizer.path), which is neither there nor beside the "
                         "checkpoint; give it as \"tokenizer\"");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError("lmct: " + checkpoint.string() + ": bad tokenizer header: " + e.what());
  }
  const auto sentencepiece = SentencePieceTokenizer::load(path);
  if (const std::string& hash = sentencepiece->file_hash(); hash != expected_hash) {
    throw InputError("lmct: " + path.string() + " is not the tokenizer " + checkpoint.string() +
                     " was trained with (FNV-1a 64 " + hash + ", the checkpoint says " +
                     expected_hash + ")");
  }
  model.predictor = make_transformer_predictor(checkpoint, file);
  if (model.predictor->vocab_size() != sentencepiece->vocab_size()) {
    throw InputError("lmct: " + checkpoint.string() + " predicts " +
                     std::to_string(model.predictor->vocab_size()) + " tokens, " + path.string() +
                     " has " + std::to_string(sentencepiece->vocab_size()));
  }
  model.tokenizer = sentencepiece;
  // The window it was trained on, whose first position holds the start symbol as a BOS would:
  // sequence_length - 1 tokens, so that no prediction lies beyond a trained position.
  std::int64_t trained_window = 0;
  if (const auto training = file.header.find("training");
      training != file.header.end() && training->is_object()) {
    const auto config = training->find("config");
    if (config != training->end() && config->is_object()) {
      const auto length = config->find("sequence_length");
      if (length != config->end() && length->is_number_integer()) {
        trained_window = length->get<std::int64_t>();
      }
    }
  }
  const int model_limit =
      trained_window > 4 && trained_window <= (1 << 24) ? static_cast<int>(trained_window) - 1 : 0;
  model.context_limit = choose_context(checkpoint, model_limit, context);
}

#ifdef LMC_WITH_LLAMA_CPP
// Tokens per llama_decode in estimate mode: llama.cpp's default batch.
constexpr int kGgufEstimateBatch = 512;
#endif

void load_gguf(PretrainedModel& model, const std::filesystem::path& checkpoint,
               const std::filesystem::path& tokenizer, int context,
               const PretrainedOptions& options) {
  if (!tokenizer.empty()) {
    throw InputError(
        "gguf: the vocabulary comes from the model file; no tokenizer file expected "
        "(got " +
        tokenizer.string() + ")");
  }
#ifdef LMC_WITH_LLAMA_CPP
  const auto predictor =
      GgufPredictor::load(checkpoint, {context, options.threads, options.cpu_variant});
  model.tokenizer = std::make_shared<const GgufTokenizer>(predictor);
  model.context_limit = predictor->context();
  model.predictor = predictor;
  model.window_logits = [predictor](std::span<const int> window, std::size_t first_output) {
    return predictor->batch_logits(window, first_output, kGgufEstimateBatch);
  };
#else
  (void)model, (void)context, (void)options;
  throw InputError("gguf: " + checkpoint.string() +
                   ": this build has no llama.cpp; run scripts/fetch-llama-cpp.sh (the pinned "
                   "release, also part of scripts/install-deps.sh) and configure again, or "
                   "configure with -DLMC_LLAMA_CPP_DIR=<your llama.cpp install prefix>");
#endif
}

}  // namespace

PretrainedModel load_pretrained_model(std::string_view format,
                                      const std::filesystem::path& checkpoint,
                                      const std::filesystem::path& tokenizer, int context,
                                      const PretrainedOptions& options) {
  PretrainedModel model;
  model.format = std::string(format);
  if (format == "llama2c") {
    if (tokenizer.empty()) {
      throw InputError("llama2c: " + checkpoint.string() + " needs its tokenizer.bin");
    }
    const auto predictor = Llama2cPredictor::load(checkpoint);
    model.tokenizer = std::make_shared<const Llama2cTokenizer>(
        Llama2cTokenizer::load(tokenizer, predictor->vocab_size()));
    model.context_limit = choose_context(checkpoint, predictor->config().seq_len, context);
    model.predictor = predictor;
  } else if (format == "rwkv") {
    if (!tokenizer.empty()) {
      throw InputError("rwkv: the models are byte-level; no tokenizer file expected (got " +
                       tokenizer.string() + ")");
    }
    model.predictor = RwkvPredictor::load(checkpoint);
    model.tokenizer = std::make_shared<const ByteTokenizer>();
    if (model.predictor->vocab_size() != model.tokenizer->vocab_size()) {
      throw InputError(checkpoint.string() + ": vocab of " +
                       std::to_string(model.predictor->vocab_size()) +
                       "; only byte-level (256) rwkv models are supported");
    }
    model.context_limit = choose_context(checkpoint, 0, context);
  } else if (format == "torchscript") {
    if (tokenizer.empty()) {
      throw InputError("torchscript: " + checkpoint.string() +
                       " needs its SentencePiece tokenizer (.model)");
    }
    if (context == 0) {
      throw InputError("torchscript: " + checkpoint.string() +
                       " needs a context (the positions the model was trained with, e.g. "
                       "4096 for Llama 2); a traced module does not record it");
    }
    model.tokenizer = SentencePieceTokenizer::load(tokenizer);
    model.predictor =
        torch_entry_points().load_torchscript(checkpoint, model.tokenizer->vocab_size());
    model.context_limit = choose_context(checkpoint, 0, context);
  } else if (format == "gguf") {
    load_gguf(model, checkpoint, tokenizer, context, options);
  } else if (format == "lmct") {
    load_lmct(model, checkpoint, tokenizer, context);
  } else {
    throw InputError("unknown model format \"" + std::string(format) +
                     "\"; expected \"llama2c\", \"rwkv\", \"torchscript\", \"gguf\" or "
                     "\"lmct\"");
  }
  return model;
}

std::string detect_model_format(const std::filesystem::path& checkpoint) {
  std::ifstream in(checkpoint, std::ios::binary);
  if (!in) throw InputError(checkpoint.string() + ": cannot open model file");
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  constexpr char kRwkvMagic[4] = {0x66, 0x6d, 0x67, 0x67};  // 0x67676d66 little-endian
  constexpr char kZipMagic[4] = {0x50, 0x4b, 0x03, 0x04};   // TorchScript archives are zip files
  if (in.gcount() != 4) return "llama2c";
  if (std::memcmp(magic, "GGUF", 4) == 0) return "gguf";
  if (std::memcmp(magic, "LMCT", 4) == 0) return "lmct";  // LMCTRNSF: lmc_train's checkpoints
  if (std::memcmp(magic, kRwkvMagic, 4) == 0) return "rwkv";
  if (std::memcmp(magic, kZipMagic, 4) == 0) return "torchscript";
  return "llama2c";
}

std::vector<SlidingWindow> sliding_windows(int context_limit, bool bos, std::size_t count) {
  const std::size_t reserved = bos ? 1 : 0;
  std::vector<SlidingWindow> windows(1);
  std::size_t held = 0;  // tokens in the session, BOS excluded
  for (std::size_t i = 0; i < count; ++i) {
    if (context_limit != 0 && reserved + held == static_cast<std::size_t>(context_limit)) {
      const std::size_t keep = static_cast<std::size_t>(context_limit / 2) - reserved;
      windows.back().end = i;
      windows.push_back({i - keep, i, 0});
      held = keep;
    }
    ++held;
  }
  windows.back().end = count;
  return windows;
}

std::vector<float> windowed_probabilities(const PretrainedModel& model,
                                          std::span<const int> tokens) {
  const auto bos = model.tokenizer->bos();
  if (!bos || !model.window_logits) {
    throw std::logic_error("windowed_probabilities: the model needs a BOS and window_logits");
  }
  const auto vocab = static_cast<std::size_t>(model.predictor->vocab_size());
  std::vector<float> probabilities(tokens.size() * vocab);
  const auto windows = sliding_windows(model.context_limit, true, tokens.size());
  std::vector<int> window;
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const SlidingWindow& w = windows[k];
    // A token is predicted before it is appended, and the window slides when the token that
    // no longer fits is appended: the full window predicts that token, the next one the tokens
    // after it.
    const std::size_t first = k == 0 ? 0 : w.first_new + 1;
    const std::size_t last = k + 1 == windows.size() ? w.end : w.end + 1;
    if (first >= last) continue;
    // BOS and tokens[kept_from, last - 1): the logits after tokens[j - 1] predict tokens[j],
    // at row j - kept_from.
    window.assign(1, *bos);
    window.insert(window.end(), tokens.begin() + static_cast<std::ptrdiff_t>(w.kept_from),
                  tokens.begin() + static_cast<std::ptrdiff_t>(last - 1));
    const std::vector<float> logits = model.window_logits(window, first - w.kept_from);
    for (std::size_t j = first; j < last; ++j) {
      const auto row = std::span<float>(probabilities).subspan(j * vocab, vocab);
      std::copy_n(logits.begin() + static_cast<std::ptrdiff_t>((j - first) * vocab), vocab,
                  row.begin());
      kernels::softmax(row);
    }
  }
  return probabilities;
}

SlidingContext::SlidingContext(const PretrainedModel& model)
    : model_(model), reserved_(model.tokenizer->bos() ? 1 : 0) {
  if (model.context_limit != 0 && model.context_limit < 4) {
    throw InputError("a context of " + std::to_string(model.context_limit) +
                     " positions is too short to slide");
  }
  restart();
}

void SlidingContext::restart() {
  session_ = model_.predictor->new_session();
  if (const auto bos = model_.tokenizer->bos()) session_->append(*bos);
  for (int token : window_) session_->append(token);
  recomputed_tokens_ += window_.size();
}

void SlidingContext::append(int token) {
  const int limit = model_.context_limit;
  if (limit != 0 && reserved_ + static_cast<int>(window_.size()) == limit) {
    const std::size_t keep = static_cast<std::size_t>(limit / 2 - reserved_);
    window_.erase(window_.begin(), window_.end() - static_cast<std::ptrdiff_t>(keep));
    ++slides_;
    restart();
  }
  session_->append(token);
  if (limit != 0) window_.push_back(token);
}

std::string SlidingContext::policy(int context_limit) {
  if (context_limit == 0) return "unbounded (recurrent state), no window";
  const std::string half = std::to_string(context_limit / 2);
  return "sliding window: when all " + std::to_string(context_limit) +
         " positions are used, restart from BOS and the last " + half +
         " - 1 tokens (recomputed), then continue; stride " + half + " tokens";
}

}  // namespace lmc
