// The fast way to score a whole sequence: one batched libtorch forward pass (what the paper's
// authors measured). Its floats differ from the incremental step in the last bits, so it can
// estimate code lengths but cannot drive a decoder; results from it are labelled as not decoded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

namespace lmc {

class TeacherForcedModel {
 public:
  // Throws InputError naming the file when it is missing, not a checkpoint, or truncated.
  static std::unique_ptr<TeacherForcedModel> load(const std::filesystem::path& checkpoint);
  virtual ~TeacherForcedModel();

  // n x 256 natural-log probabilities, row-major: row t is the distribution of symbols[t] given
  // symbols[0..t-1] (the model's inputs are the symbols shifted right behind a 0 token).
  virtual std::vector<float> log_probs(std::span<const std::uint8_t> symbols) const = 0;
  virtual std::uint64_t parameter_count() const = 0;
};

}  // namespace lmc
