#include "models/pretrained_model.h"

#include <cstring>
#include <fstream>

#include "common/error.h"
#include "models/llama2c.h"
#include "models/llama2c_tokenizer.h"
#include "models/rwkv.h"

namespace lmc {

nlohmann::json PretrainedModel::describe() const {
  nlohmann::json description = predictor->describe();
  description["format"] = format;
  description["tokenizer"] = tokenizer->describe();
  description["context_limit"] = context_limit;
  return description;
}

PretrainedModel load_pretrained_model(std::string_view format,
                                      const std::filesystem::path& checkpoint,
                                      const std::filesystem::path& tokenizer) {
  PretrainedModel model;
  model.format = std::string(format);
  if (format == "llama2c") {
    if (tokenizer.empty()) {
      throw InputError("llama2c: " + checkpoint.string() + " needs its tokenizer.bin");
    }
    const auto predictor = Llama2cPredictor::load(checkpoint);
    model.tokenizer = std::make_shared<const Llama2cTokenizer>(
        Llama2cTokenizer::load(tokenizer, predictor->vocab_size()));
    model.context_limit = predictor->config().seq_len;
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
  } else {
    throw InputError("unknown model format \"" + std::string(format) +
                     "\"; expected \"llama2c\" or \"rwkv\"");
  }
  return model;
}

std::string detect_model_format(const std::filesystem::path& checkpoint) {
  std::ifstream in(checkpoint, std::ios::binary);
  if (!in) throw InputError(checkpoint.string() + ": cannot open model file");
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  constexpr char kRwkvMagic[4] = {0x66, 0x6d, 0x67, 0x67};  // 0x67676d66 little-endian
  return in.gcount() == 4 && std::memcmp(magic, kRwkvMagic, 4) == 0 ? "rwkv" : "llama2c";
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
