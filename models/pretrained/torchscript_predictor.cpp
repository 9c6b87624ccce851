#include "models/pretrained/torchscript_predictor.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <cmath>
#include <mutex>
#include <set>

#include "common/error.h"
#include "models/transformer/checkpoint.h"

namespace lmc {

struct TorchScriptPredictor::Module {
  torch::jit::Module module;
};

namespace {

// One intra-op thread and the graph run as traced: reductions then happen in one fixed order, so
// repeated calls agree bit for bit. Process-wide settings, made once. OpenBLAS (Debian's libtorch
// calls it for matrix products) keeps its own thread pool, which at::set_num_threads does not
// reach: unless limited, its idle workers spin in sched_yield and took a third of the CPU time.
void make_torch_deterministic() {
  static std::once_flag once;
  std::call_once(once, [] {
    at::set_num_threads(1);
    torch::jit::setGraphExecutorOptimize(false);
    using SetThreads = void(int);
    if (void* openblas = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
      reinterpret_cast<SetThreads*>(openblas)(1);
    }
  });
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  const auto newline = text.rfind('\n');
  return std::string(newline == std::string_view::npos ? text : text.substr(newline + 1));
}

// The logits tensor in whatever forward() returned: a tensor, a tuple/list whose first element
// is one, or a dict with "logits".
torch::Tensor logits_of(const c10::IValue& output) {
  if (output.isTensor()) return output.toTensor();
  if (output.isTuple()) {
    const auto& elements = output.toTupleRef().elements();
    if (!elements.empty() && elements[0].isTensor()) return elements[0].toTensor();
  }
  if (output.isList()) {
    const auto list = output.toList();
    if (list.size() > 0 && list.get(0).isTensor()) return list.get(0).toTensor();
  }
  if (output.isGenericDict()) {
    const auto dict = output.toGenericDict();
    const auto it = dict.find(c10::IValue("logits"));
    if (it != dict.end() && it->value().isTensor()) return it->value().toTensor();
  }
  throw InputError("forward() returned " + output.tagKind() +
                   "; expected logits, or a tuple or dict holding them");
}

class TorchScriptSession final : public PredictorSession {
 public:
  explicit TorchScriptSession(const TorchScriptPredictor& model) : model_(model) {}

  void next_probabilities(std::span<float> probabilities) override {
    if (tokens_.empty()) {  // no BOS and nothing seen yet: nothing to condition on
      std::fill(probabilities.begin(), probabilities.end(), 1.0f);
      return;
    }
    const std::vector<float> logits = model_.logits_after(tokens_);
    float top = logits[0];
    for (float v : logits) top = std::max(top, v);
    for (std::size_t i = 0; i < logits.size(); ++i) probabilities[i] = std::exp(logits[i] - top);
  }

  void append(int symbol) override { tokens_.push_back(symbol); }

 private:
  const TorchScriptPredictor& model_;
  std::vector<int> tokens_;
};

}  // namespace

TorchScriptPredictor::~TorchScriptPredictor() = default;

std::shared_ptr<const TorchScriptPredictor> TorchScriptPredictor::load(
    const std::filesystem::path& path, int vocab_size) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(path.string() + ": TorchScript module not found");
  }
  make_torch_deterministic();
  std::shared_ptr<TorchScriptPredictor> predictor(new TorchScriptPredictor());
  predictor->path_ = path;
  predictor->vocab_size_ = vocab_size;
  predictor->module_ = std::make_unique<Module>();
  try {
    predictor->module_->module = torch::jit::load(path.string(), torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError(path.string() + ": not a TorchScript module (" + e.what_without_backtrace() +
                     ")");
  }
  predictor->module_->module.eval();
  // Tied weights (an LM head sharing the embedding) appear once per attribute: count storage once.
  std::set<const void*> counted;
  for (const auto& parameter : predictor->module_->module.parameters()) {
    if (counted.insert(parameter.data_ptr()).second) {
      predictor->parameter_count_ += static_cast<std::uint64_t>(parameter.numel());
    }
  }

  // One probe of two tokens checks the calling convention and the logits' shape.
  torch::Tensor probe;
  try {
    torch::InferenceMode inference;
    const auto output = predictor->module_->module.forward(
        {torch::zeros({1, 2}, torch::TensorOptions().dtype(torch::kInt64))});
    probe = logits_of(output);
  } catch (const c10::Error& e) {
    throw InputError(path.string() +
                     ": forward(ids of shape (1, 2)) failed: " + e.what_without_backtrace());
  } catch (const InputError& e) {
    throw InputError(path.string() + ": " + e.what());
  }
  if (probe.dim() != 3 || probe.size(0) != 1 || probe.size(1) != 2 || probe.size(2) < vocab_size ||
      !probe.is_floating_point()) {
    std::string shape;
    for (auto size : probe.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(size);
    throw InputError(path.string() + ": forward(ids of shape (1, 2)) gave logits (" + shape +
                     "); expected (1, 2, V) with V >= the tokenizer's " +
                     std::to_string(vocab_size) + " tokens");
  }
  predictor->logit_columns_ = static_cast<int>(probe.size(2));
  predictor->hash_ = fnv1a64_file_hash(path);
  return predictor;
}

std::vector<float> TorchScriptPredictor::logits_after(std::span<const int> tokens) const {
  if (tokens.empty())
    throw std::invalid_argument("TorchScript predictor: no tokens to condition on");
  torch::InferenceMode inference;
  auto ids = torch::empty({1, static_cast<std::int64_t>(tokens.size())}, torch::kInt64);
  auto* data = ids.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < tokens.size(); ++i) data[i] = tokens[i];
  torch::Tensor logits;
  try {
    logits = logits_of(module_->module.forward({ids}))
                 .index({0, -1})
                 .slice(0, 0, vocab_size_)
                 .to(torch::kFloat32)
                 .contiguous();
  } catch (const std::exception& e) {
    // Typically a window longer than the model's positions. The interpreter's message is a
    // TorchScript traceback whose last line says what failed: keep that, with file and length.
    throw InputError(
        path_.string() + ": forward() failed on " + std::to_string(tokens.size()) +
        " tokens (is \"context\" larger than the model's positions?): " + last_line(e.what()));
  }
  const float* values = logits.data_ptr<float>();
  return std::vector<float>(values, values + vocab_size_);
}

std::unique_ptr<PredictorSession> TorchScriptPredictor::new_session() const {
  return std::make_unique<TorchScriptSession>(*this);
}

nlohmann::json TorchScriptPredictor::describe() const {
  return {{"model", "TorchScript module"},
          {"parameters", parameter_count_},
          {"logit_columns", logit_columns_},
          {"checkpoint", path_.string()},
          {"checkpoint_fnv1a64", hash_},
          {"inference",
           "whole window per prediction (no KV cache), 1 intra-op thread, graph optimiser off"}};
}

}  // namespace lmc
