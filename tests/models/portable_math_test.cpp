// Our own sin, cos and power for the positional tables: as accurate as libm, the float tables
// equal libm's rounding on this machine, and their bits are pinned by a digest that every machine
// must reproduce (the cross-machine half of the coder's determinism contract).
#include "models/kernels/portable_math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "models/transformer/transformer_shape.h"

namespace lmc {
namespace {

// |a - b| in units of the last place of b (doubles).
double ulps(double a, double b) {
  if (a == b) return 0;
  const double ulp = std::nextafter(std::fabs(b), INFINITY) - std::fabs(b);
  return std::fabs(a - b) / ulp;
}

TEST(PortableMath, SinCosAgreeWithLibmToAboutAnUlp) {
  std::vector<double> arguments = {0.0,
                                   1e-300,
                                   1e-9,
                                   0.5,
                                   0.785398163397448,
                                   1.0,
                                   2.0,
                                   3.0,
                                   3.141592653589793,
                                   4.71238898038469,
                                   100.0,
                                   2047.0,
                                   65535.0,
                                   1e6,
                                   1647099.0,
                                   -1.0,
                                   -3.0,
                                   -2047.5};
  // Every angle the tables use up to position 4096 (the frequencies of a 64-wide encoding), and
  // the integers, whose multiples of pi / 2 come closest to cancelling.
  for (int position = 0; position < 4096; position += 7) {
    for (int i = 0; i < 32; ++i) arguments.push_back(position * std::pow(1e4, -2.0 * i / 64));
  }
  for (int n = 1; n < 200000; n += 13) arguments.push_back(n);
  double worst_sin = 0, worst_cos = 0;
  for (double x : arguments) {
    double sine = 0, cosine = 0;
    portable::sin_cos(x, sine, cosine);
    // Relative to the value, or absolute near a zero (where an ulp of the value is meaningless).
    const auto error = [](double ours, double libm) {
      return std::fabs(libm) < 1e-3 ? std::fabs(ours - libm) / 2.2e-16 : ulps(ours, libm);
    };
    worst_sin = std::max(worst_sin, error(sine, std::sin(x)));
    worst_cos = std::max(worst_cos, error(cosine, std::cos(x)));
  }
  EXPECT_LE(worst_sin, 1.0);
  EXPECT_LE(worst_cos, 1.0);
  double sine = 1, cosine = 0;
  portable::sin_cos(0.0, sine, cosine);
  EXPECT_EQ(sine, 0.0);
  EXPECT_EQ(cosine, 1.0);
}

TEST(PortableMath, PowerAgreesWithLibmToAboutAnUlp) {
  double worst = 0;
  for (int dim = 2; dim <= 1024; dim += 2) {
    for (int i = 0; i < dim / 2; ++i) {
      const double exponent = -2.0 * i / dim;
      worst = std::max(worst, ulps(portable::power_of_10000(exponent), std::pow(1e4, exponent)));
    }
  }
  EXPECT_LE(worst, 1.0);
  EXPECT_EQ(portable::power_of_10000(0.0), 1.0);
  EXPECT_EQ(portable::power_of_10000(1.0), 1e4);
}

TEST(PortableMath, OutOfRangeArgumentsThrow) {
  double sine = 0, cosine = 0;
  EXPECT_THROW(portable::sin_cos(2e6, sine, cosine), std::domain_error);
  EXPECT_THROW(portable::sin_cos(NAN, sine, cosine), std::domain_error);
  EXPECT_THROW(portable::power_of_10000(100.0), std::domain_error);
}

// The float tables of positions 0..4095 for the paper's widths (sinusoidal) and head sizes
// (rotary), in the order they are computed.
std::vector<float> all_tables() {
  std::vector<float> out;
  std::vector<float> row(256), cosines(32), sines(32);
  for (int position = 0; position < 4096; ++position) {
    for (int dim : {64, 128, 256}) {
      sinusoidal_position(position, dim, row.data());
      out.insert(out.end(), row.begin(), row.begin() + dim);
    }
    for (int head_dim : {16, 32}) {
      rotary_angles(position, head_dim, cosines.data(), sines.data());
      out.insert(out.end(), cosines.begin(), cosines.begin() + head_dim / 2);
      out.insert(out.end(), sines.begin(), sines.begin() + head_dim / 2);
    }
  }
  return out;
}

// The same tables from libm, as the code computed them before it had its own functions.
std::vector<float> libm_tables() {
  std::vector<float> out;
  for (int position = 0; position < 4096; ++position) {
    for (int dim : {64, 128, 256}) {
      const int frequencies = dim / 2;
      std::vector<float> row(dim);
      for (int i = 0; i < frequencies; ++i) {
        const double angle = position * std::pow(1e4, -2.0 * i / dim);
        row[i] = static_cast<float>(std::sin(angle));
        row[frequencies + i] = static_cast<float>(std::cos(angle));
      }
      out.insert(out.end(), row.begin(), row.end());
    }
    for (int head_dim : {16, 32}) {
      const int half = head_dim / 2;
      std::vector<float> cosines(half), sines(half);
      for (int i = 0; i < half; ++i) {
        const double angle = position * std::pow(1e4, -2.0 * i / head_dim);
        cosines[i] = static_cast<float>(std::cos(angle));
        sines[i] = static_cast<float>(std::sin(angle));
      }
      out.insert(out.end(), cosines.begin(), cosines.end());
      out.insert(out.end(), sines.begin(), sines.end());
    }
  }
  return out;
}

TEST(PortableMath, TablesEqualLibmsRoundingHere) {
  // So that the models' probabilities, and every committed stream and result, are unchanged.
  const auto ours = all_tables(), libm = libm_tables();
  ASSERT_EQ(ours.size(), libm.size());
  int differing = 0;
  for (std::size_t k = 0; k < ours.size(); ++k) {
    if (ours[k] != libm[k]) {
      ++differing;
      EXPECT_EQ(std::nextafter(libm[k], ours[k]), ours[k]) << "entry " << k << " beyond one ulp";
    }
  }
  EXPECT_EQ(differing, 0) << "of " << ours.size() << " entries";
}

TEST(PortableMath, TablesHaveTheSameBitsOnEveryMachine) {
  // FNV-1a of the tables' bits, computed once; a machine that gets another digest would code
  // different probabilities than this one.
  std::uint64_t digest = 14695981039346656037ull;
  for (float value : all_tables()) {
    digest = (digest ^ std::bit_cast<std::uint32_t>(value)) * 1099511628211ull;
  }
  EXPECT_EQ(digest, 8210680130445137860ull);
}

}  // namespace
}  // namespace lmc
