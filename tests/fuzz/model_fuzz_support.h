// Shared by the model-file fuzz targets: a loaded predictor must also run, so a header whose
// offsets or cache sizes disagree with the weights shows up under ASan on the first step.
#pragma once

#include <algorithm>
#include <vector>

#include "models/predictor.h"

namespace lmc::fuzz {

// Feeds a few tokens (BOS first, as the pretrained compressor does) to a fresh session and reads
// the probabilities after each; `context` is how many positions a session holds.
inline void run_a_few_steps(const Predictor& predictor, int context = 3) {
  const auto session = predictor.new_session();
  std::vector<float> probabilities(static_cast<std::size_t>(predictor.vocab_size()));
  const int tokens[] = {1, 0, predictor.vocab_size() - 1};
  for (int i = 0; i < std::min(3, context); ++i) {
    const int token = tokens[i];
    session->append(std::clamp(token, 0, predictor.vocab_size() - 1));
    session->next_probabilities(probabilities);
  }
  predictor.describe();
}

}  // namespace lmc::fuzz
