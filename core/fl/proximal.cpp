#include "core/fl/proximal.h"

#include <cassert>

namespace nf {

void add_proximal_gradient(std::span<const float> weights, std::span<const float> global, float mu,
                           std::span<float> grad) {
  assert(weights.size() == global.size() && grad.size() == weights.size());
  if (mu == 0.0f) return;
  for (size_t i = 0; i < grad.size(); ++i) grad[i] += mu * (weights[i] - global[i]);
}

double proximal_term(std::span<const float> weights, std::span<const float> global, float mu) {
  assert(weights.size() == global.size());
  double sum = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double d = static_cast<double>(weights[i]) - static_cast<double>(global[i]);
    sum += d * d;
  }
  return 0.5 * static_cast<double>(mu) * sum;
}

}  // namespace nf
