// Small statistics for the study: mean, sample standard deviation, ranks with
// ties averaged, and Spearman's rank correlation.
#pragma once

#include <span>
#include <vector>

namespace nf::study {

double mean(std::span<const double> v);  // 0 for an empty span
// Sample standard deviation (n - 1 in the denominator); 0 when n < 2.
double sample_stddev(std::span<const double> v);

// 1-based ranks; tied values share the average of the ranks they span
// (fractional ranking), e.g. {10, 20, 20, 30} -> {1, 2.5, 2.5, 4}.
std::vector<double> average_ranks(std::span<const double> v);

// Pearson correlation of the average ranks of x and y: ties handled, in
// [-1, 1]. Returns NaN when the sizes differ, n < 2, or either side is
// constant (no ranking to correlate).
double spearman(std::span<const double> x, std::span<const double> y);

// Pearson correlation, NaN under the same conditions as spearman.
double pearson(std::span<const double> x, std::span<const double> y);

}  // namespace nf::study
