#include "core/engine/optimizer.h"

#include <cassert>
#include <cmath>
#include <string>

namespace nf {

std::string_view optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd: return "sgd";
    case OptimizerKind::kNesterov: return "nesterov";
    case OptimizerKind::kAdam: return "adam";
    case OptimizerKind::kAdamW: return "adamw";
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
    case OptimizerKind::kSgd: return momentum != 0.0f ? 1 : 0;
    case OptimizerKind::kNesterov: return 1;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: return 2;
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
  const float mu = c.prox_mu;
  const float lr = c.learning_rate;
  float* pw = w.data();
  const float* pg = grad.data();
  const float* pa = prox ? anchor.data() : nullptr;
  auto g_of = [&](size_t i) {
    float g = pg[i] * scale + wd_l2 * pw[i];
    if (prox) g += mu * (pw[i] - pa[i]);
    return g;
  };

  switch (c.kind) {
    case OptimizerKind::kSgd:
      if (m_.empty()) {
        for (size_t i = 0; i < n; ++i) pw[i] -= lr * g_of(i);
      } else {
        for (size_t i = 0; i < n; ++i) {
          m_[i] = c.momentum * m_[i] + g_of(i);
          pw[i] -= lr * m_[i];
        }
      }
      break;
    case OptimizerKind::kNesterov:
      for (size_t i = 0; i < n; ++i) {
        const float g = g_of(i);
        m_[i] = c.momentum * m_[i] + g;
        pw[i] -= lr * (g + c.momentum * m_[i]);
      }
      break;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: {
      const auto t = static_cast<double>(steps_);
      const auto bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(c.beta1), t));
      const auto bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(c.beta2), t));
      const float decoupled = c.kind == OptimizerKind::kAdamW ? c.weight_decay : 0.0f;
      for (size_t i = 0; i < n; ++i) {
        const float g = g_of(i);
        m_[i] = c.beta1 * m_[i] + (1.0f - c.beta1) * g;
        v_[i] = c.beta2 * v_[i] + (1.0f - c.beta2) * g * g;
        const float mhat = m_[i] / bc1;
        const float vhat = v_[i] / bc2;
        pw[i] -= lr * (mhat / (std::sqrt(vhat) + c.epsilon) + decoupled * pw[i]);
      }
      break;
    }
  }
}

}  // namespace nf
