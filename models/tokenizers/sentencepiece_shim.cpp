// liblmc_sentencepiece.so: sentencepiece behind the C interface of sentencepiece_shim.h. Built as
// its own module and linked to nothing of lmc; see the header for why.
#include "models/tokenizers/sentencepiece_shim.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

struct lmc_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

void set_error(char* error, size_t error_size, const std::string& message) {
  if (error == nullptr || error_size == 0) return;
  const size_t length = std::min(message.size(), error_size - 1);
  std::memcpy(error, message.data(), length);
  error[length] = '\0';
}

}  // namespace

extern "C" {

int lmc_spm_abi_version(void) { return LMC_SPM_ABI_VERSION; }

lmc_spm* lmc_spm_load(const char* path, char* error, size_t error_size) {
  try {
    auto model = std::make_unique<lmc_spm>();
    const auto status = model->processor.Load(path);
    if (!status.ok()) {
      set_error(error, error_size, status.ToString());
      return nullptr;
    }
    return model.release();
  } catch (const std::exception& e) {
    set_error(error, error_size, e.what());
    return nullptr;
  }
}

void lmc_spm_free(lmc_spm* model) { delete model; }

// The accessors below do not throw in practice; the try blocks keep the promise that nothing
// C++ crosses this interface whatever the library does.
int lmc_spm_piece_count(const lmc_spm* model) {
  try {
    return model->processor.GetPieceSize();
  } catch (...) {
    return 0;
  }
}

const char* lmc_spm_piece(const lmc_spm* model, int id, size_t* size) {
  try {
    const std::string& piece = model->processor.IdToPiece(id);
    *size = piece.size();
    return piece.data();
  } catch (...) {
    *size = 0;
    return "";
  }
}

int lmc_spm_piece_kind(const lmc_spm* model, int id) {
  try {
    const auto& processor = model->processor;
    if (processor.IsUnknown(id)) return LMC_SPM_UNKNOWN;
    if (processor.IsControl(id)) return LMC_SPM_CONTROL;
    if (processor.IsByte(id)) return LMC_SPM_BYTE;
    if (processor.IsUnused(id)) return LMC_SPM_UNUSED;
    return LMC_SPM_NORMAL;
  } catch (...) {
    return LMC_SPM_UNUSED;
  }
}

int lmc_spm_bos_id(const lmc_spm* model) {
  try {
    return model->processor.bos_id();
  } catch (...) {
    return -1;
  }
}

long lmc_spm_encode(const lmc_spm* model, const char* text, size_t size, int* ids, size_t capacity,
                    char* error, size_t error_size) {
  try {
    std::vector<int> encoded;
    const auto status = model->processor.Encode(std::string_view(text, size), &encoded);
    if (!status.ok()) {
      set_error(error, error_size, status.ToString());
      return -1;
    }
    std::memcpy(ids, encoded.data(), std::min(capacity, encoded.size()) * sizeof(int));
    return static_cast<long>(encoded.size());
  } catch (const std::exception& e) {
    set_error(error, error_size, e.what());
    return -1;
  }
}

}  // extern "C"
