// Compiled with -ffp-contract=off (core/data/CMakeLists.txt): see the header.
#include "core/data/portable_random.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace nf {

namespace {
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2, top 32 bits
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi
constexpr double kLn2 = 0.69314718055994530942;
constexpr double kSqrtHalf = 0.70710678118654752440;
}  // namespace

double portable_log(double x) {
  assert(x > 0.0 && std::isfinite(x));
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < kSqrtHalf) {
    m *= 2.0;
    e -= 1;
  }
  // log(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), |s| <= 0.1716.
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double series = 1.0 / 27.0;
  for (int k = 25; k >= 1; k -= 2) series = series * s2 + 1.0 / k;
  return static_cast<double>(e) * kLn2Hi + (static_cast<double>(e) * kLn2Lo + 2.0 * s * series);
}

double portable_exp(double x) {
  if (x > 709.0) return HUGE_VAL;
  if (x < -745.0) return 0.0;
  const double n = std::floor(x / kLn2 + 0.5);
  const double r = (x - n * kLn2Hi) - n * kLn2Lo;  // |r| <= 0.35
  double sum = 1.0;
  for (int k = 18; k >= 1; --k) sum = 1.0 + sum * r / k;
  return std::ldexp(sum, static_cast<int>(n));
}

double uniform_open01(Rng& rng) {
  return (static_cast<double>(rng.next_u64() >> 11) + 0.5) * 0x1.0p-53;
}

double portable_normal(Rng& rng) {
  for (;;) {
    const double u = 2.0 * uniform_open01(rng) - 1.0;
    const double v = 2.0 * uniform_open01(rng) - 1.0;
    const double s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    return u * std::sqrt(-2.0 * portable_log(s) / s);
  }
}

double sample_log_gamma(Rng& rng, double shape) {
  assert(shape > 0.0);
  if (shape < 1.0) {
    return sample_log_gamma(rng, shape + 1.0) + portable_log(uniform_open01(rng)) / shape;
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = portable_normal(rng);
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = uniform_open01(rng);
    const double x2 = x * x;
    // Squeeze first: it accepts ~98% of draws without a logarithm.
    if (u < 1.0 - 0.0331 * x2 * x2) return portable_log(d) + portable_log(v);
    const double log_v = portable_log(v);
    if (portable_log(u) < 0.5 * x2 + d * (1.0 - v + log_v)) return portable_log(d) + log_v;
  }
}

std::vector<double> sample_symmetric_dirichlet(Rng& rng, double alpha, int64_t n) {
  assert(n >= 1 && alpha > 0.0);
  std::vector<double> p(static_cast<size_t>(n));
  for (auto& g : p) g = sample_log_gamma(rng, alpha);
  const double top = *std::max_element(p.begin(), p.end());
  double sum = 0.0;
  for (auto& g : p) {
    g = portable_exp(g - top);
    sum += g;
  }
  for (auto& g : p) g /= sum;
  return p;
}

}  // namespace nf
