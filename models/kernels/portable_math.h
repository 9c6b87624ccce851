// sin, cos and the positional frequencies in double precision from IEEE additions,
// multiplications and divisions alone, so that the Transformer's positional tables have the same
// bits on every x86-64 machine. The C library cannot promise that: glibc picks FMA or non-FMA
// variants of sin, cos and pow by CPU, and they may differ in the last bit of a double, which
// now and then flips the rounding to float. The coder's determinism contract (docs/LM_SPEED.md)
// needs every input of the forward pass to be our own arithmetic. Accurate to about one unit in
// the last place of a double (fdlibm's polynomials), so the float tables equal libm's rounding
// except where the exact value lies within ~1e-16 of a float rounding boundary.
#pragma once

namespace lmc::portable {

// The largest |x| that sin and cos reduce exactly (Cody-Waite in three parts): 2^20 * pi / 2.
inline constexpr double kMaxTrigArgument = 1647099.0;

// sin(x) and cos(x) for |x| <= kMaxTrigArgument; throws std::domain_error beyond it.
void sin_cos(double x, double& sine, double& cosine);

// 10^4 to the power `exponent` (the positional encodings' timescale), |exponent| < 75: exp of
// exponent * ln(10^4), the product carried in double-double so that the result is as close as
// libm's pow(1e4, exponent).
double power_of_10000(double exponent);

}  // namespace lmc::portable
