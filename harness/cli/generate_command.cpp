// `bench generate`: continue a prompt with a pretrained model or, as the paper's section 3.4 does,
// sample bytes from a compressor's code lengths.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/options.h"
#include "compressors/compressor.h"
#include "compressors/compressor_predictor.h"
#include "harness/cli/command.h"
#include "models/sampling.h"

namespace lmc {
namespace {

// The options that are not GenerateArgs' own: where the prompt and the predictor come from.
struct GenerateSource {
  std::string compressor;
  std::string prompt_file;
  std::size_t prompt_bytes = 0;
};

std::string read_prompt(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open prompt file");
  std::string prompt((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (max_bytes > 0 && prompt.size() > max_bytes) prompt.resize(max_bytes);
  return prompt;
}

// `bench generate --compressor KIND`: bytes sampled from a compressor's code lengths.
int generate_with_compressor(const std::string& kind_name, const GenerateArgs& args) {
  const CompressorKind* kind = find_compressor_kind(kind_name);
  if (kind == nullptr) {
    throw InputError("--compressor: unknown compressor \"" + kind_name + "\" (see bench list)");
  }
  if (args.tokens < 0) throw InputError("--tokens must be >= 0");
  std::shared_ptr<const Compressor> compressor = kind->make(
      Options::validate(nlohmann::json::object(), kind->options, "--compressor"), CodecContext{});
  PretrainedModel model;
  model.format = "compressor";
  model.predictor = std::make_shared<const CompressorPredictor>(compressor, kind_name);
  model.tokenizer = std::make_shared<const ByteTokenizer>();
  std::cout << generate_text(model, args.prompt, args.tokens, {args.temperature, args.seed})
            << "\n";
  return kExitOk;
}

}  // namespace

Command add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto source = std::make_shared<GenerateSource>();
  auto* generate = app.add_subcommand("generate",
                                      "Continue a prompt with a pretrained model (llama2.c, "
                                      "rwkv.cpp, TorchScript, GGUF) or a compressor");
  auto* model_option =
      generate->add_option("--model", args->model,
                           "Model file (llama2.c or rwkv.cpp .bin, TorchScript .pt, GGUF .gguf)");
  generate
      ->add_option("--compressor", source->compressor,
                   "Sample from a compressor (paper section 3.4): gzip, lzma2, ... (see list)")
      ->excludes(model_option);
  generate->add_option("--prompt-file", source->prompt_file, "Continue the bytes of this file");
  generate->add_option("--prompt-bytes", source->prompt_bytes,
                       "With --prompt-file: only its first N bytes (the paper: 1948)");
  generate
      ->add_option("--format", args->format,
                   "auto (by magic), llama2c, rwkv, torchscript or gguf (builds with llama.cpp)")
      ->check(CLI::IsMember({"auto", "llama2c", "rwkv", "torchscript", "gguf"}));
  generate->add_option("--tokenizer", args->tokenizer,
                       "llama2.c tokenizer.bin, or SentencePiece .model (torchscript)");
  generate->add_option("--context", args->context,
                       "Positions per window (required for torchscript; default: the model's)");
  generate->add_option("--prompt", args->prompt, "Text to continue");
  generate->add_option("--tokens", args->tokens,
                       "Tokens (bytes, for a compressor) to generate (default 256)");
  generate->add_option("--temperature", args->temperature, "0 = greedy (default)");
  generate->add_option("--seed", args->seed, "Sampling seed (default 1)");

  return {generate, [args, source](const Invocation&) {
            if (!source->prompt_file.empty()) {
              args->prompt = read_prompt(source->prompt_file, source->prompt_bytes);
            }
            if (!source->compressor.empty()) {
              return generate_with_compressor(source->compressor, *args);
            }
            if (args->model.empty()) throw InputError("generate: give --model or --compressor");
            return generate_command(*args);
          }};
}

}  // namespace lmc
