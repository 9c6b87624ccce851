// lmc_train_tokenizer CONFIG: trains a SentencePiece tokenizer on the training part of a text
// (models/tokenizers/tokenizer_training.h), for the tokenized Transformers of the paper's Table 2.
#include <iostream>

#include "common/error.h"
#include "models/tokenizers/tokenizer_training.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CONFIG\n";
    return 2;
  }
  try {
    lmc::run_tokenizer_training(argv[1], std::cout);
  } catch (const lmc::InputError& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
