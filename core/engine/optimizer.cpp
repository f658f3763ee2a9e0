#include "core/engine/optimizer.h"

#include <cassert>
#include <cmath>
#include <string>

namespace nf {

std::string_view optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kNesterov:
      return "nesterov";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kAdamW:
      return "adamw";
  }
  return "unknown";
}

Result<OptimizerKind> parse_optimizer(std::string_view name) {
  for (OptimizerKind k : {OptimizerKind::kSgd, OptimizerKind::kNesterov, OptimizerKind::kAdam,
                          OptimizerKind::kAdamW}) {
    if (name == optimizer_name(k)) return k;
  }
  return invalid_argument("unknown optimizer '" + std::string(name) +
                          "' (expected sgd, nesterov, adam or adamw)");
}

int optimizer_state_vectors(OptimizerKind kind, float momentum) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return momentum != 0.0f ? 1 : 0;
    case OptimizerKind::kNesterov:
      return 1;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      return 2;
  }
  return 0;
}

void Optimizer::reset(const OptimizerConfig& config, int64_t count) {
  config_ = config;
  steps_ = 0;
  const int vectors = optimizer_state_vectors(config.kind, config.momentum);
  m_.assign(vectors >= 1 ? static_cast<size_t>(count) : 0, 0.0f);
  v_.assign(vectors >= 2 ? static_cast<size_t>(count) : 0, 0.0f);
}

int64_t Optimizer::state_bytes() const {
  return static_cast<int64_t>((m_.size() + v_.size()) * sizeof(float));
}

void Optimizer::step(std::span<float> w, std::span<const float> grad,
                     std::span<const float> anchor) {
  const size_t n = w.size();
  assert(grad.size() == n);
  const OptimizerConfig& c = config_;
  const bool prox = c.prox_mu > 0.0f;
  assert(!prox || anchor.size() == n);
  ++steps_;

  float scale = 1.0f;
  if (c.clip_norm > 0.0f) {
    // Sequential double sum: the same value whatever the thread count.
    double sq = 0.0;
    for (size_t i = 0; i < n; ++i) sq += static_cast<double>(grad[i]) * grad[i];
    const double norm = std::sqrt(sq);
    if (norm > c.clip_norm) scale = static_cast<float>(c.clip_norm / norm);
  }
  const float wd_l2 = c.kind == OptimizerKind::kAdamW ? 0.0f : c.weight_decay;
  if (prox) {
    update<true>(w.data(), grad.data(), anchor.data(), n, scale, wd_l2);
  } else {
    update<false>(w.data(), grad.data(), nullptr, n, scale, wd_l2);
  }
}

// One pass over the vectors; restrict pointers and a compile-time FedProx
// switch let the compiler vectorize every loop.
template <bool kProx>
void Optimizer::update(float* __restrict pw, const float* __restrict pg, const float* __restrict pa,
                       size_t n, float scale, float wd_l2) {
  const OptimizerConfig& c = config_;
  const float mu = c.prox_mu;
  const float lr = c.learning_rate;
  float* __restrict pm = m_.data();
  float* __restrict pv = v_.data();
  auto g_of = [&](size_t i) {
    float g = pg[i] * scale + wd_l2 * pw[i];
    if constexpr (kProx) g += mu * (pw[i] - pa[i]);
    return g;
  };
  switch (c.kind) {
    case OptimizerKind::kSgd:
      if (m_.empty()) {
        for (size_t i = 0; i < n; ++i) pw[i] -= lr * g_of(i);
      } else {
        for (size_t i = 0; i < n; ++i) {
          pm[i] = c.momentum * pm[i] + g_of(i);
          pw[i] -= lr * pm[i];
        }
      }
      break;
    case OptimizerKind::kNesterov:
      for (size_t i = 0; i < n; ++i) {
        const float g = g_of(i);
        pm[i] = c.momentum * pm[i] + g;
        pw[i] -= lr * (g + c.momentum * pm[i]);
      }
      break;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: {
      const auto t = static_cast<double>(steps_);
      const auto bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(c.beta1), t));
      const auto bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(c.beta2), t));
      const float decoupled = c.kind == OptimizerKind::kAdamW ? c.weight_decay : 0.0f;
      const float b1 = c.beta1, b2 = c.beta2, eps = c.epsilon;
      for (size_t i = 0; i < n; ++i) {
        const float g = g_of(i);
        pm[i] = b1 * pm[i] + (1.0f - b1) * g;
        pv[i] = b2 * pv[i] + (1.0f - b2) * g * g;
        const float mhat = pm[i] / bc1;
        const float vhat = pv[i] / bc2;
        pw[i] -= lr * (mhat / (std::sqrt(vhat) + eps) + decoupled * pw[i]);
      }
      break;
    }
  }
}

}  // namespace nf
