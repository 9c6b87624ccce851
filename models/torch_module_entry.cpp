// liblmc_torch.so's one export (models/torch_module.h): the libtorch code, for processes that do
// not link libtorch.
#include "models/pretrained/torchscript_predictor.h"
#include "models/torch_module.h"
#include "models/transformer/training.h"

namespace {

std::shared_ptr<const lmc::Predictor> load_torchscript(const std::filesystem::path& path,
                                                       int vocab_size) {
  return lmc::TorchScriptPredictor::load(path, vocab_size);
}

constexpr lmc::TorchEntryPoints kEntryPoints{
    .interface_version = lmc::kTorchInterfaceVersion,
    .compiler = __VERSION__,
    .run_training = &lmc::run_training,
    .cuda_available = &lmc::cuda_available,
    .load_torchscript = &load_torchscript,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const lmc::TorchEntryPoints*
lmc_torch_entry_points() {
  return &kEntryPoints;
}
