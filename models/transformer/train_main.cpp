// lmc_train CONFIG [--resume]: trains a byte Transformer (the same engine as `bench train`),
// for running long trainings without the harness.
#include <cstring>
#include <iostream>

#include "common/error.h"
#include "models/transformer/training.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && std::strcmp(argv[2], "--resume") != 0)) {
    std::cerr << "usage: " << argv[0] << " CONFIG [--resume]\n";
    return 2;
  }
  try {
    lmc::run_training(argv[1], argc == 3, std::cout);
  } catch (const lmc::InputError& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
