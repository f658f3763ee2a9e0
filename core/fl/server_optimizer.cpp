#include "core/fl/server_optimizer.h"

#include <cassert>
#include <cmath>

namespace nf {

Status ServerOptimizer::step(std::span<const float> global, std::span<const double> delta,
                             std::span<float> out) {
  assert(global.size() == delta.size() && out.size() == delta.size());
  const size_t n = delta.size();
  const ServerOptimizerParams& p = params_;
  const bool uses_m = p.rule != ServerRule::kSgd;
  const bool uses_v =
      p.rule == ServerRule::kAdagrad || p.rule == ServerRule::kAdam || p.rule == ServerRule::kYogi;
  if ((uses_m && !m_.empty() && m_.size() != n) || (uses_v && !v_.empty() && v_.size() != n)) {
    return invalid_argument("server optimizer state has " + std::to_string(m_.size()) +
                            " values but the model has " + std::to_string(n));
  }
  if (uses_m && m_.empty()) m_.assign(n, 0.0f);
  if (uses_v && v_.empty()) v_.assign(n, static_cast<float>(p.tau * p.tau));

  for (size_t i = 0; i < n; ++i) {
    const double d = delta[i];
    const double x = global[i];
    double step = 0.0;
    switch (p.rule) {
      case ServerRule::kSgd:
        step = d;
        break;
      case ServerRule::kMomentum: {
        const double m = p.momentum * m_[i] + d;
        m_[i] = static_cast<float>(m);
        step = m;
        break;
      }
      case ServerRule::kAdagrad:
      case ServerRule::kAdam:
      case ServerRule::kYogi: {
        const double m = p.beta1 * m_[i] + (1.0 - p.beta1) * d;
        const double d2 = d * d;
        double v = v_[i];
        if (p.rule == ServerRule::kAdagrad) {
          v = v + d2;
        } else if (p.rule == ServerRule::kAdam) {
          v = p.beta2 * v + (1.0 - p.beta2) * d2;
        } else {
          const double sign = v > d2 ? 1.0 : (v < d2 ? -1.0 : 0.0);
          v = v - (1.0 - p.beta2) * d2 * sign;
        }
        m_[i] = static_cast<float>(m);
        v_[i] = static_cast<float>(v);
        step = m / (std::sqrt(v) + p.tau);
        break;
      }
    }
    out[i] = static_cast<float>(x + p.lr * step);
  }
  return Status::ok();
}

}  // namespace nf
