// liblmc_sentencepiece.so: sentencepiece behind the C interface of sentencepiece_shim.h. Built as
// its own module and linked to nothing of lmc; see the header for why.
#include "models/tokenizers/sentencepiece_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
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

// The caller's sentences as SentencePiece's trainer reads them: through an iterator, not a
// file, so that a sentence may hold newlines (a text file would be split at them).
class SentenceList : public sentencepiece::SentenceIterator {
 public:
  SentenceList(const char* const* sentences, const size_t* sizes, size_t count)
      : sentences_(sentences), sizes_(sizes), count_(count) {
    load();
  }
  bool done() const override { return index_ >= count_; }
  void Next() override {
    ++index_;
    load();
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load() {
    if (!done()) value_.assign(sentences_[index_], sizes_[index_]);
  }
  const char* const* sentences_;
  const size_t* sizes_;
  size_t count_;
  size_t index_ = 0;
  std::string value_;
};

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
  } catch (...) {
    set_error(error, error_size, "unknown exception in libsentencepiece");
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
  } catch (...) {
    set_error(error, error_size, "unknown exception in libsentencepiece");
    return -1;
  }
}

int lmc_spm_train(const char* const* sentences, const size_t* sentence_sizes, size_t sentence_count,
                  const char* const* keys, const char* const* values, size_t flag_count,
                  const char* model_path, char* error, size_t error_size) {
  try {
    std::unordered_map<std::string, std::string> flags;
    for (size_t i = 0; i < flag_count; ++i) flags[keys[i]] = values[i];
    SentenceList list(sentences, sentence_sizes, sentence_count);
    std::string model;
    const auto status = sentencepiece::SentencePieceTrainer::Train(flags, &list, &model);
    if (!status.ok()) {
      set_error(error, error_size, status.ToString());
      return -1;
    }
    // Through a temporary file, so that a failed write never leaves half a model behind.
    const std::string temporary = std::string(model_path) + ".tmp";
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out.write(model.data(), static_cast<std::streamsize>(model.size()));
      if (!out.flush()) {
        set_error(error, error_size, "cannot write " + temporary);
        return -1;
      }
    }
    if (std::rename(temporary.c_str(), model_path) != 0) {
      set_error(error, error_size, "cannot rename " + temporary + " to " + model_path);
      return -1;
    }
    return 0;
  } catch (const std::exception& e) {
    set_error(error, error_size, e.what());
    return -1;
  } catch (...) {
    set_error(error, error_size, "unknown exception in libsentencepiece");
    return -1;
  }
}

}  // extern "C"
