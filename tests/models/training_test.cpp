#include "models/transformer/training.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "model_test_support.h"
#include "models/transformer/checkpoint.h"

namespace lmc {
namespace {

struct LogRow {
  long step;
  double train_bpb, heldout_bpb, tokens_per_s, elapsed_s;
  long tokens;
};

std::vector<LogRow> read_log(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s,tokens");
  std::vector<LogRow> rows;
  while (std::getline(in, line)) {
    LogRow row{};
    char comma;
    std::istringstream fields(line);
    fields >> row.step >> comma >> row.train_bpb >> comma >> row.heldout_bpb >> comma >>
        row.tokens_per_s >> comma >> row.elapsed_s >> comma >> row.tokens;
    EXPECT_TRUE(fields && fields.eof()) << path << ": " << line;
    rows.push_back(row);
  }
  return rows;
}

TEST(Training, ReducesLossAndLogsProgress) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto checkpoint = test::train(test::tiny_training_config(dir.path() / "t.lmct"));
  const auto rows = read_log(dir.path() / "t.train.csv");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows.back().step, 30);
  EXPECT_LT(rows.back().train_bpb, rows.front().train_bpb - 1.0);
  EXPECT_LT(rows.back().heldout_bpb, 6.0);
  EXPECT_EQ(rows.back().tokens, 30 * 4 * 128);  // steps x batch x window
  const auto header = read_checkpoint(checkpoint).header;
  EXPECT_EQ(header["training"]["step"], 30);
  EXPECT_EQ(header["training"]["config"]["batch_size"], 4);
  EXPECT_NEAR(header["training"]["heldout_bits_per_byte"].get<double>(), rows.back().heldout_bpb,
              1e-4);
}

TEST(Training, SameSeedGivesIdenticalCheckpointBytes) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto config = test::tiny_training_config(
      dir.path() / "m.lmct",
      {{"steps", 8}, {"short_sequence_length", 32}, {"short_sequence_steps", 4}});
  const auto first = test::read_bytes(test::train(config));
  const auto second = test::read_bytes(test::train(config));
  EXPECT_EQ(first, second);
  const auto other_seed = test::tiny_training_config(
      dir.path() / "m.lmct",
      {{"steps", 8}, {"short_sequence_length", 32}, {"short_sequence_steps", 4}, {"seed", 1}});
  EXPECT_NE(test::read_bytes(test::train(other_seed)), first);
}

// short_sequence_length / short_sequence_steps is the one-phase form of "curriculum".
TEST(Training, CurriculumOfOnePhaseEqualsTheShortPhaseShorthand) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto shorthand = test::train(test::tiny_training_config(
      dir.path() / "a.lmct",
      {{"steps", 8}, {"short_sequence_length", 32}, {"short_sequence_steps", 4}}));
  const auto curriculum = test::train(test::tiny_training_config(
      dir.path() / "b.lmct",
      {{"steps", 8}, {"curriculum", {{{"sequence_length", 32}, {"steps", 4}}}}}));
  const auto a = read_checkpoint(shorthand), b = read_checkpoint(curriculum);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].values, b.tensors[i].values) << a.tensors[i].name;
  }
  EXPECT_EQ(b.header["training"]["config"]["curriculum"][0]["sequence_length"], 32);
}

// A resume in the middle of a curriculum phase continues with the same window lengths.
TEST(Training, ResumeInsideACurriculumEqualsUninterruptedRun) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const nlohmann::json curriculum = {{{"sequence_length", 32}, {"steps", 3}},
                                     {{"sequence_length", 64}, {"steps", 3}}};
  const auto whole = read_checkpoint(test::train(test::tiny_training_config(
      dir.path() / "whole.lmct", {{"steps", 9}, {"curriculum", curriculum}})));
  test::train(test::tiny_training_config(dir.path() / "split.lmct",
                                         {{"steps", 4}, {"curriculum", curriculum}}));
  const auto split = read_checkpoint(
      test::train(test::tiny_training_config(dir.path() / "split.lmct",
                                             {{"steps", 9}, {"curriculum", curriculum}}),
                  /*resume=*/true));
  ASSERT_EQ(whole.tensors.size(), split.tensors.size());
  for (std::size_t i = 0; i < whole.tensors.size(); ++i) {
    EXPECT_EQ(whole.tensors[i].values, split.tensors[i].values) << whole.tensors[i].name;
  }
}

TEST(Training, ResumedRunEqualsUninterruptedRun) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto whole = read_checkpoint(
      test::train(test::tiny_training_config(dir.path() / "whole.lmct", {{"steps", 12}})));
  // Stop after 6 steps, then continue to 12 from the resume state.
  test::train(test::tiny_training_config(dir.path() / "split.lmct", {{"steps", 6}}));
  const auto split = read_checkpoint(test::train(
      test::tiny_training_config(dir.path() / "split.lmct", {{"steps", 12}}), /*resume=*/true));
  EXPECT_EQ(split.header["training"]["step"], 12);
  ASSERT_EQ(whole.tensors.size(), split.tensors.size());
  for (std::size_t i = 0; i < whole.tensors.size(); ++i) {
    EXPECT_EQ(whole.tensors[i].values, split.tensors[i].values) << whole.tensors[i].name;
  }
  const auto rows = read_log(dir.path() / "split.train.csv");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().step, 12);
}

// Dropout masks are a function of the seed and the step: a resumed run draws the same ones, and
// the weights differ from a run without dropout.
TEST(Training, DropoutIsDeterministicAcrossResume) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const nlohmann::json dropout = {{"steps", 8}, {"dropout", 0.1}};
  const auto whole =
      read_checkpoint(test::train(test::tiny_training_config(dir.path() / "whole.lmct", dropout)));
  test::train(
      test::tiny_training_config(dir.path() / "split.lmct", {{"steps", 3}, {"dropout", 0.1}}));
  const auto split = read_checkpoint(
      test::train(test::tiny_training_config(dir.path() / "split.lmct", dropout), /*resume=*/true));
  const auto plain = read_checkpoint(
      test::train(test::tiny_training_config(dir.path() / "plain.lmct", {{"steps", 8}})));
  ASSERT_EQ(whole.tensors.size(), split.tensors.size());
  for (std::size_t i = 0; i < whole.tensors.size(); ++i) {
    EXPECT_EQ(whole.tensors[i].values, split.tensors[i].values) << whole.tensors[i].name;
  }
  EXPECT_NE(whole.tensors[1].values, plain.tensors[1].values);
  EXPECT_EQ(whole.header["training"]["config"]["dropout"], 0.1);
  EXPECT_FALSE(plain.header["training"]["config"].contains("dropout"));
}

// The first part of a run whose config changes later: stopped at a step as if killed there, and a
// resume with the rest of the config continues it bit for bit.
TEST(Training, StopAtStepThenResumeEqualsUninterruptedRun) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const nlohmann::json cosine = {{"steps", 10}, {"schedule", "cosine"}, {"warmup_steps", 2}};
  const auto whole =
      read_checkpoint(test::train(test::tiny_training_config(dir.path() / "whole.lmct", cosine)));
  auto first = cosine;
  first["stop_at_step"] = 4;
  const auto stopped =
      read_checkpoint(test::train(test::tiny_training_config(dir.path() / "split.lmct", first)));
  EXPECT_EQ(stopped.header["training"]["step"], 4);
  // Resuming with the same config has nothing left to do.
  test::train(test::tiny_training_config(dir.path() / "split.lmct", first), /*resume=*/true);
  EXPECT_EQ(read_checkpoint(dir.path() / "split.lmct").header["training"]["step"], 4);
  const auto split = read_checkpoint(
      test::train(test::tiny_training_config(dir.path() / "split.lmct", cosine), /*resume=*/true));
  EXPECT_EQ(split.header["training"]["step"], 10);
  // The resumed run logs the held-out value measured before the stop until it measures again.
  const auto rows = read_log(dir.path() / "split.train.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].step, 4);
  EXPECT_EQ(rows[1].step, 5);
  EXPECT_EQ(rows[1].heldout_bpb, rows[0].heldout_bpb);
  ASSERT_EQ(whole.tensors.size(), split.tensors.size());
  for (std::size_t i = 0; i < whole.tensors.size(); ++i) {
    EXPECT_EQ(whole.tensors[i].values, split.tensors[i].values) << whole.tensors[i].name;
  }
}

// Logs written before the tokens column existed: resuming one rewrites it in the new format.
TEST(Training, ResumingALogWithoutTokensAddsTheColumn) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto log = dir.path() / "old.train.csv";
  const nlohmann::json first = {{"steps", 10}, {"stop_at_step", 5}};
  test::train(test::tiny_training_config(dir.path() / "old.lmct", first));
  std::vector<std::string> lines;
  {
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);)
      lines.push_back(line.substr(0, line.rfind(',')));
  }
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_EQ(lines[0], "step,train_bpb,heldout_bpb,tokens_per_s,elapsed_s");
  {
    std::ofstream out(log, std::ios::trunc);
    for (const auto& line : lines) out << line << '\n';
  }
  test::train(test::tiny_training_config(dir.path() / "old.lmct", {{"steps", 10}}),
              /*resume=*/true);
  const auto rows = read_log(log);  // checks the header and six fields on every row
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].step, 5);
  EXPECT_EQ(rows[0].tokens, 5 * 4 * 128);
  EXPECT_EQ(rows[1].step, 10);
  EXPECT_EQ(rows[1].tokens, 10 * 4 * 128);
}

TEST(Training, SecondStageStartsFromInitCheckpoint) {
  LMC_REQUIRE_SHARED_DATA("text/enwik9-head-10000");
  test::TempDir dir;
  const auto first =
      test::train(test::tiny_training_config(dir.path() / "first.lmct", {{"steps", 5}}));
  const auto second = read_checkpoint(test::train(test::tiny_training_config(
      dir.path() / "second.lmct", {{"steps", 0}, {"init_checkpoint", first.string()}})));
  const auto initial = read_checkpoint(first);
  ASSERT_EQ(second.tensors.size(), initial.tensors.size());
  for (std::size_t i = 0; i < initial.tensors.size(); ++i) {
    EXPECT_EQ(second.tensors[i].values, initial.tensors[i].values) << initial.tensors[i].name;
  }
  EXPECT_EQ(second.header["training"]["config"]["init_checkpoint_fnv1a64"],
            fnv1a64_file_hash(first));
}

TEST(Training, ConfigErrorsNameTheKey) {
  test::TempDir dir;
  auto expect_error = [&](const nlohmann::json& overrides, const std::string& key) {
    auto config = test::tiny_training_config(dir.path() / "e.lmct", overrides);
    const auto path = test::write_config(dir.path() / "e.json", config);
    std::ostringstream progress;
    try {
      run_training(path, false, progress);
      ADD_FAILURE() << "no error for " << overrides.dump();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      const bool names_a_file =
          std::string(e.what()).find(dir.path().string()) != std::string::npos;
      EXPECT_TRUE(names_a_file) << e.what();
    }
  };
  expect_error({{"batch_sise", 4}}, "batch_sise");
  expect_error({{"batch_size", 0}}, "batch_size");
  expect_error({{"learning_rate", "fast"}}, "learning_rate");
  expect_error({{"schedule", "linear"}}, "schedule");
  expect_error({{"architecture", {{"embedding_dim", 30}, {"heads", 4}}}}, "architecture.heads");
  expect_error({{"data", (dir.path() / "absent").string()}}, "data");
  expect_error({{"init_checkpoint", (dir.path() / "absent.lmct").string()}}, "absent.lmct");
  expect_error({{"curriculum", {{{"sequence_length", 48}, {"steps", 2}}}}},
               "curriculum[0].sequence_length");
  expect_error({{"curriculum", {{{"sequence_length", 32}}}}}, "curriculum[0]");
  expect_error({{"curriculum", {{{"sequence_length", 32}, {"steps", 2}}}},
                {"short_sequence_length", 32},
                {"short_sequence_steps", 2}},
               "curriculum");
  expect_error({{"device", "tpu"}}, "device");
  expect_error({{"dropout", 1.0}}, "dropout");
  expect_error({{"dropout", -0.1}}, "dropout");
  expect_error({{"steps", 4}, {"stop_at_step", 5}}, "stop_at_step");
  if (!cuda_available()) {
    // A CPU-only libtorch: the error says how to build against a CUDA one.
    expect_error({{"device", "cuda"}}, "CMAKE_PREFIX_PATH");
    expect_error({{"device", "cuda:1"}}, "device");
  }
}

}  // namespace
}  // namespace lmc
