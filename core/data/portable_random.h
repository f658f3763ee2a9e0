// Random draws for data partitions that are bit-identical on every device.
//
// An agent computes its own shard from the partition spec, so the aggregator
// (x86-64) and a Raspberry Pi (aarch64, armhf) must draw exactly the same
// Dirichlet proportions. libm's log/exp are not guaranteed to round alike
// across libraries and CPUs, so these functions use only IEEE-exact
// operations (+ - * /, sqrt, floor, frexp, ldexp) on double, and the file is
// compiled with -ffp-contract=off so no compiler fuses a*b+c differently.
// Nothing here uses std::*_distribution (see core/util/rng.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/util/rng.h"

namespace nf {

// Natural logarithm and exponential, accurate to about 1 ulp, deterministic.
// Preconditions: portable_log: x > 0 and finite.
double portable_log(double x);
double portable_exp(double x);

// Uniform in (0, 1) with 53 random bits, never 0 or 1.
double uniform_open01(Rng& rng);
// Standard normal by Marsaglia's polar method on portable_log.
double portable_normal(Rng& rng);
// log of a Gamma(shape, 1) draw, Marsaglia-Tsang (2000); for shape < 1 uses
// Gamma(shape) = Gamma(shape + 1) * U^(1/shape) in log space, so tiny shapes
// do not underflow to 0. Precondition: shape > 0.
double sample_log_gamma(Rng& rng, double shape);
// Dirichlet(alpha, ..., alpha) proportions over n categories (sum 1).
// Preconditions: n >= 1, alpha > 0.
std::vector<double> sample_symmetric_dirichlet(Rng& rng, double alpha, int64_t n);

}  // namespace nf
