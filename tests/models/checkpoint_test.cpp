#include "models/transformer/checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "model_test_support.h"
#include "models/transformer/teacher_forced.h"
#include "models/transformer/transformer_predictor.h"

namespace lmc {
namespace {

Checkpoint small_checkpoint() {
  Checkpoint checkpoint;
  checkpoint.header = {{"architecture", {{"embedding_dim", 8}, {"layers", 1}, {"heads", 2}}},
                       {"note", "test"}};
  checkpoint.tensors.push_back({"a", {2, 3}, {1, 2, 3, 4, 5, -6.5f}});
  checkpoint.tensors.push_back({"b", {1}, {0.25f}});
  return checkpoint;
}

// Every reader of checkpoints rejects `path`, naming it; `first_reader` 1 skips the raw reader
// (for files that are valid checkpoints but not of a Transformer).
void expect_input_error(const std::filesystem::path& path, const std::string& fragment,
                        int first_reader = 0) {
  for (int reader = first_reader; reader < 3; ++reader) {
    try {
      if (reader == 0) read_checkpoint(path);
      if (reader == 1) load_transformer_predictor(path);
      if (reader == 2) TeacherForcedModel::load(path);
      ADD_FAILURE() << "reader " << reader << " accepted " << path;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path.string()), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
  }
}

TEST(Checkpoint, RoundTrip) {
  test::TempDir dir;
  const auto path = dir.path() / "c.lmct";
  write_checkpoint(path, small_checkpoint());
  const auto back = read_checkpoint(path);
  EXPECT_EQ(back.header, small_checkpoint().header);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].name, "a");
  EXPECT_EQ(back.tensors[0].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(back.tensors[0].values, small_checkpoint().tensors[0].values);
  EXPECT_EQ(back.tensors[1].values, std::vector<float>{0.25f});
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "c.lmct.tmp"));
  EXPECT_THROW(back.tensor("a", {3, 2}, path), InputError);
  EXPECT_THROW(back.tensor("c", {1}, path), InputError);
}

TEST(Checkpoint, HashIsFnv1a64OfTheFile) {
  test::TempDir dir;
  const auto path = dir.path() / "abc";
  std::ofstream(path) << "a";
  EXPECT_EQ(fnv1a64_file_hash(path), "af63dc4c8601ec8c");  // published FNV-1a 64 of "a"
}

TEST(Checkpoint, MissingFileIsAnInputError) {
  test::TempDir dir;
  expect_input_error(dir.path() / "absent.lmct", "not found");
}

TEST(Checkpoint, GarbageIsAnInputError) {
  test::TempDir dir;
  const auto path = dir.path() / "garbage.lmct";
  std::ofstream(path) << std::string(4096, 'x');
  expect_input_error(path, "wrong magic");
}

TEST(Checkpoint, TruncatedFileIsAnInputError) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto trained =
      test::train(test::tiny_training_config(dir.path() / "t.lmct", {{"steps", 0}}));
  auto bytes = test::read_bytes(trained);
  for (std::size_t keep : {std::size_t{10}, std::size_t{200}, bytes.size() - 1}) {
    const auto path = dir.path() / ("cut-" + std::to_string(keep) + ".lmct");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(keep));
    expect_input_error(path, keep == 10 ? "too short" : "truncated");
  }
}

TEST(Checkpoint, ArchitectureMismatchIsAnInputError) {
  test::TempDir dir;
  const auto path = dir.path() / "mismatch.lmct";
  write_checkpoint(path, small_checkpoint());  // declares a model but holds other tensors
  expect_input_error(path, "no tensor token_embedding", /*first_reader=*/1);
}

}  // namespace
}  // namespace lmc
