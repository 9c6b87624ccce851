// The C interface of libsentencepiece that lmc loads at run time (sentencepiece_tokenizer.cpp).
//
// Why a shim: libsentencepiece bundles and exports its own protobuf (3.14), libtorch uses the
// system's (3.21); linking both into one executable crashes before main (measured). So
// sentencepiece lives in its own small shared library, `liblmc_sentencepiece.so`, that only this
// interface crosses, and the loader opens it with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) so its
// protobuf symbols never meet libtorch's. Nothing C++ (no exceptions, no std types) crosses it.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a signature below changes; the loader refuses a shim of another version.
#define LMC_SPM_ABI_VERSION 2

typedef struct lmc_spm lmc_spm;

enum lmc_spm_piece_kind {
  LMC_SPM_NORMAL = 0,
  LMC_SPM_UNKNOWN = 1,
  LMC_SPM_CONTROL = 2,  // <s>, </s>, and user control symbols
  LMC_SPM_BYTE = 3,     // byte-fallback pieces <0x00>..<0xFF>
  LMC_SPM_UNUSED = 4,
};

int lmc_spm_abi_version(void);

// NULL on failure, with a message in `error` (always NUL-terminated).
lmc_spm* lmc_spm_load(const char* path, char* error, size_t error_size);
void lmc_spm_free(lmc_spm* model);

int lmc_spm_piece_count(const lmc_spm* model);
// The piece's spelling (SentencePiece's, with U+2581 for a space); valid while `model` lives.
const char* lmc_spm_piece(const lmc_spm* model, int id, size_t* size);
int lmc_spm_piece_kind(const lmc_spm* model, int id);
int lmc_spm_bos_id(const lmc_spm* model);  // -1 when the model has none

// Tokenises `text`. Writes at most `capacity` ids and returns how many the text has (call again
// with more room if that is larger), or -1 with a message in `error`.
long lmc_spm_encode(const lmc_spm* model, const char* text, size_t size, int* ids, size_t capacity,
                    char* error, size_t error_size);

// Trains a model on `sentence_count` sentences (sentences[i], sentence_sizes[i] bytes: any bytes,
// newlines included) with the trainer flags keys[i] = values[i] (SentencePiece's names:
// "model_type", "vocab_size", ...) and writes its .model to `model_path`. 0 on success, -1 with
// a message in `error`.
int lmc_spm_train(const char* const* sentences, const size_t* sentence_sizes,
                  size_t sentence_count, const char* const* keys, const char* const* values,
                  size_t flag_count, const char* model_path, char* error, size_t error_size);

#ifdef __cplusplus
}
#endif
