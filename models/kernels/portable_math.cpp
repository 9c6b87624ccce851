// fdlibm's argument reduction and polynomials (FreeBSD msun: e_rem_pio2.c, k_sin.c, k_cos.c,
// e_exp.c), written out with the same operations in the same order. Compiled with
// -ffp-contract=off (models/CMakeLists.txt): every step is one correctly rounded IEEE operation.
#include "models/kernels/portable_math.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lmc::portable {
namespace {

int binary_exponent(double x) {
  return static_cast<int>((std::bit_cast<std::uint64_t>(x) >> 52) & 0x7ff);
}

// Round to the nearest integer, ties to even, for |x| < 2^51 (the 1.5 * 2^52 trick).
double round_to_integer(double x) {
  constexpr double kShift = 6755399441055744.0;
  const volatile double shifted = x + kShift;  // volatile: the sum must be rounded, not folded
  return shifted - kShift;
}

// sin(x + y) for |x + y| <= pi / 4, y the tail of a reduced argument.
double kernel_sin(double x, double y) {
  constexpr double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                   S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                   S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
  const double z = x * x, w = z * z;
  const double r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
  const double v = z * x;
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

// cos(x + y) for |x + y| <= pi / 4.
double kernel_cos(double x, double y) {
  constexpr double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                   C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                   C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
  const double z = x * x, w = z * z;
  const double r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const double hz = 0.5 * z;
  const double one_minus = 1.0 - hz;
  return one_minus + (((1.0 - one_minus) - hz) + (z * r - x * y));
}

// x = n pi / 2 + (y0 + y1), |y0 + y1| <= ~pi / 4; returns n. Cody-Waite with pi / 2 in three
// 33-bit parts, each product with n exact for |n| < 2^20.
int reduce(double x, double& y0, double& y1) {
  constexpr double kTwoOverPi = 6.36619772367581382433e-01;
  constexpr double P1 = 1.57079632673412561417e+00, P1t = 6.07710050650619224932e-11;
  constexpr double P2 = 6.07710050630396597660e-11, P2t = 2.02226624879595063154e-21;
  constexpr double P3 = 2.02226624871116645580e-21, P3t = 8.47842766036889956997e-32;
  const double n = round_to_integer(x * kTwoOverPi);
  double r = x - n * P1;
  double w = n * P1t;
  y0 = r - w;
  const int exponent = binary_exponent(x);
  if (exponent - binary_exponent(y0) > 16) {  // cancellation: a second part of pi / 2
    double t = r;
    w = n * P2;
    r = t - w;
    w = n * P2t - ((t - r) - w);
    y0 = r - w;
    if (exponent - binary_exponent(y0) > 49) {  // and a third
      t = r;
      w = n * P3;
      r = t - w;
      w = n * P3t - ((t - r) - w);
      y0 = r - w;
    }
  }
  y1 = (r - y0) - w;
  return static_cast<int>(n);
}

// The error of a * b's rounding, by Dekker's splitting (no fused multiply-add).
double product_error(double a, double b, double product) {
  constexpr double kSplit = 134217729.0;  // 2^27 + 1
  const double ca = kSplit * a, cb = kSplit * b;
  const double a_high = ca - (ca - a), a_low = a - a_high;
  const double b_high = cb - (cb - b), b_low = b - b_high;
  return ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low;
}

// exp(high + low), |low| <= ulp(high), |high| < 700.
double exp_double_double(double high, double low) {
  constexpr double kLn2High = 6.93147180369123816490e-01, kLn2Low = 1.90821492927058770002e-10;
  constexpr double kInverseLn2 = 1.44269504088896338700e+00;
  constexpr double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03,
                   P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06,
                   P5 = 4.13813679705723846039e-08;
  const double k = round_to_integer(high * kInverseLn2);
  const double hi = high - k * kLn2High;  // exact: kLn2High has 32 bits, |k| < 2^11
  const double lo = k * kLn2Low - low;
  const double r = hi - lo;
  const double t = r * r;
  const double c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  return std::ldexp(y, static_cast<int>(k));  // exact: a power of two times a normal result
}

}  // namespace

void sin_cos(double x, double& sine, double& cosine) {
  if (!(std::fabs(x) <= kMaxTrigArgument)) {
    throw std::domain_error("sin/cos of " + std::to_string(x) +
                            ": the positional tables support angles up to " +
                            std::to_string(kMaxTrigArgument) + " (positions up to ~1.6 million)");
  }
  constexpr double kQuarterPi = 7.85398163397448278999e-01;
  if (std::fabs(x) <= kQuarterPi) {
    sine = kernel_sin(x, 0.0);
    cosine = kernel_cos(x, 0.0);
    return;
  }
  double y0 = 0, y1 = 0;
  const int n = reduce(x, y0, y1);
  const double s = kernel_sin(y0, y1), c = kernel_cos(y0, y1);
  switch (n & 3) {
    case 0:
      sine = s, cosine = c;
      break;
    case 1:
      sine = c, cosine = -s;
      break;
    case 2:
      sine = -s, cosine = -c;
      break;
    default:
      sine = -c, cosine = s;
      break;
  }
}

double power_of_10000(double exponent) {
  if (!(std::fabs(exponent) < 75.0)) {
    throw std::domain_error("10^4 to the power " + std::to_string(exponent) + ": out of range");
  }
  constexpr double kLn1e4High = 9.210340371976184, kLn1e4Low = -8.683024893528997e-16;
  const double high = exponent * kLn1e4High;
  const double low = product_error(exponent, kLn1e4High, high) + exponent * kLn1e4Low;
  return exp_double_double(high, low);
}

}  // namespace lmc::portable
