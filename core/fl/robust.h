// Byzantine-robust combination rules, as pure functions on update arrays.
//
// Each takes n updates of equal length (usually deltas from the global
// model) and writes one array. They are unweighted: an attacker could claim
// any example count, so robust rules count clients, not examples. (The
// multikrum strategy then averages the updates krum_select keeps by example
// count, as Flower does: an outlier has been removed by then.) Thread-safe
// (no shared state).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/util/status.h"

namespace nf {

using UpdateList = std::span<const std::span<const float>>;

// Coordinate-wise median (Yin et al. 2018); with an even count the mean of
// the two middle values. Preconditions: updates non-empty, all of out.size().
void coordinate_median(UpdateList updates, std::span<float> out);

// Coordinate-wise trimmed mean: drops floor(beta * n) smallest and largest
// values of every coordinate and averages the rest. Fails with
// invalid_argument if beta is outside [0, 0.5) or nothing would remain.
Status trimmed_mean(UpdateList updates, double beta, std::span<float> out);

// Krum scores (Blanchard et al. 2017): for each update, the sum of squared
// distances to its n - f - 2 nearest other updates. Precondition: n >= f + 3.
std::vector<double> krum_scores(UpdateList updates, int32_t f);

// Indices of the m updates with the lowest Krum scores, best first (ties to
// the lower index). Krum is m = 1; Multi-Krum averages the selected ones.
// Fails with failed_precondition unless n >= 2f + 3 and 1 <= m <= n - f.
Result<std::vector<int32_t>> krum_select(UpdateList updates, int32_t f, int32_t m);

// Factor that brings a vector of L2 norm `norm` within `bound`: min(1, bound / norm).
// A bound <= 0 means no clipping (returns 1).
double clip_factor(double norm, double bound);

}  // namespace nf
