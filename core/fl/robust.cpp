#include "core/fl/robust.h"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <string>

namespace nf {

void coordinate_median(UpdateList updates, std::span<float> out) {
  assert(!updates.empty());
  const size_t n = updates.size();
  std::vector<float> column(n);
  for (size_t j = 0; j < out.size(); ++j) {
    for (size_t i = 0; i < n; ++i) column[i] = updates[i][j];
    const size_t mid = n / 2;
    std::nth_element(column.begin(), column.begin() + static_cast<ptrdiff_t>(mid), column.end());
    const double upper = column[mid];
    if (n % 2 == 1) {
      out[j] = static_cast<float>(upper);
    } else {
      const double lower =
          *std::max_element(column.begin(), column.begin() + static_cast<ptrdiff_t>(mid));
      out[j] = static_cast<float>((lower + upper) / 2.0);
    }
  }
}

Status trimmed_mean(UpdateList updates, double beta, std::span<float> out) {
  if (!(beta >= 0.0 && beta < 0.5)) {
    return invalid_argument("trimmed mean beta " + std::to_string(beta) + " is outside [0, 0.5)");
  }
  const size_t n = updates.size();
  const size_t trim = static_cast<size_t>(beta * static_cast<double>(n));
  if (n == 0 || n <= 2 * trim) {
    return invalid_argument("trimmed mean with beta " + std::to_string(beta) + " over " +
                            std::to_string(n) + " updates leaves nothing to average");
  }
  std::vector<float> column(n);
  for (size_t j = 0; j < out.size(); ++j) {
    for (size_t i = 0; i < n; ++i) column[i] = updates[i][j];
    std::sort(column.begin(), column.end());
    double sum = 0.0;
    for (size_t i = trim; i < n - trim; ++i) sum += column[i];
    out[j] = static_cast<float>(sum / static_cast<double>(n - 2 * trim));
  }
  return Status::ok();
}

std::vector<double> krum_scores(UpdateList updates, int32_t f) {
  const size_t n = updates.size();
  assert(f >= 0 && n >= static_cast<size_t>(f) + 3);
  std::vector<double> dist(n * n, 0.0);
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = a + 1; b < n; ++b) {
      double d = 0.0;
      for (size_t j = 0; j < updates[a].size(); ++j) {
        const double x = static_cast<double>(updates[a][j]) - static_cast<double>(updates[b][j]);
        d += x * x;
      }
      dist[a * n + b] = d;
      dist[b * n + a] = d;
    }
  }
  const size_t neighbours = n - static_cast<size_t>(f) - 2;
  std::vector<double> scores(n);
  std::vector<double> row;
  for (size_t a = 0; a < n; ++a) {
    row.clear();
    for (size_t b = 0; b < n; ++b) {
      if (b != a) row.push_back(dist[a * n + b]);
    }
    std::partial_sort(row.begin(), row.begin() + static_cast<ptrdiff_t>(neighbours), row.end());
    scores[a] = std::accumulate(row.begin(), row.begin() + static_cast<ptrdiff_t>(neighbours), 0.0);
  }
  return scores;
}

Result<std::vector<int32_t>> krum_select(UpdateList updates, int32_t f, int32_t m) {
  const int64_t n = static_cast<int64_t>(updates.size());
  if (f < 0) return invalid_argument("krum f " + std::to_string(f) + " is negative");
  if (n < 2 * static_cast<int64_t>(f) + 3) {
    return failed_precondition("krum with f=" + std::to_string(f) + " needs at least " +
                               std::to_string(2 * f + 3) + " updates, got " + std::to_string(n));
  }
  if (m < 1 || m > n - f) {
    return failed_precondition("multi-krum m=" + std::to_string(m) +
                               " must be in [1, n - f = " + std::to_string(n - f) + "]");
  }
  const std::vector<double> scores = krum_scores(updates, f);
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return scores[a] < scores[b]; });
  order.resize(static_cast<size_t>(m));
  return order;
}

double clip_factor(double norm, double bound) {
  if (bound <= 0.0 || norm <= bound) return 1.0;
  return bound / norm;
}

}  // namespace nf
