// Progress: the time-left estimate weighs each lane (compressor x mode) by its own speed, and the
// console sink reports what the runner tells it.
#include "harness/run/progress.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace lmc {
namespace {

TEST(Progress, EachLaneRemainingWorkAtItsOwnSpeed) {
  // gzip: 900 of 1000 chunks done at 1 ms each; an LM: 2 of 10 done at 5 s each. One thread
  // (10.9 CPU seconds in 10.9 wall seconds). Left: 100 x 1 ms + 8 x 5 s = 40.1 s. Counting
  // units alone would say 108 of 1010 left, about 1.3 s.
  const std::vector<LaneProgress> lanes = {{1000, 900, 0.9}, {10, 2, 10.0}};
  const auto left = estimate_time_left(lanes, 10.9);
  ASSERT_TRUE(left);
  EXPECT_NEAR(left->seconds, 40.1, 1e-9);
  EXPECT_TRUE(left->complete);
}

TEST(Progress, ParallelismSeenSoFarDividesTheCpuTimeLeft) {
  // 20 CPU seconds in 10 wall seconds: two cores busy. 10 units left at 1 s each: 5 s.
  const std::vector<LaneProgress> lanes = {{30, 20, 20.0}};
  EXPECT_NEAR(estimate_time_left(lanes, 10.0)->seconds, 5.0, 1e-9);
  // Less work done than wall time (threads waiting): never assumes less than one core.
  EXPECT_NEAR(estimate_time_left(lanes, 100.0)->seconds, 10.0, 1e-9);
}

TEST(Progress, AnUnstartedLaneMakesTheEstimateALowerBound) {
  // Lane 1 has not finished a unit: its cost is unknown, so only lane 0's 2 x 2 s is counted.
  const std::vector<LaneProgress> lanes = {{3, 1, 2.0}, {4, 0, 0.0}};
  const auto left = estimate_time_left(lanes, 2.0);
  ASSERT_TRUE(left);
  EXPECT_NEAR(left->seconds, 4.0, 1e-9);
  EXPECT_FALSE(left->complete);
  // An empty lane with nothing to do does not make it incomplete.
  const std::vector<LaneProgress> with_empty = {{3, 1, 2.0}, {0, 0, 0.0}};
  EXPECT_TRUE(estimate_time_left(with_empty, 2.0)->complete);
  const std::vector<LaneProgress> nothing = {{3, 0, 0.0}};
  EXPECT_FALSE(estimate_time_left(nothing, 5.0));
  const std::vector<LaneProgress> finished = {{3, 3, 1.0}};
  EXPECT_EQ(estimate_time_left(finished, 1.0)->seconds, 0.0);
}

TEST(Progress, ConsoleLinesCountUnitsAcrossLanes) {
  std::ostringstream out;
  {
    ConsoleProgress progress(out, /*interactive=*/false, std::chrono::hours(1));
    const std::vector<std::uint64_t> lanes = {3, 1};
    progress.start(lanes, 4 * 2048);
    progress.advance(0, 1, 2048, 0.01);
    progress.advance(1, 1, 2048, 0.5);
    progress.finish();
  }
  EXPECT_NE(out.str().find("progress:  50.0%  2/4 chunk evaluations"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("elapsed"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace lmc
