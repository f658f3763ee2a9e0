#include "core/engine/optimizer.h"

#include <cassert>
#include <cmath>
#include <string>

#include "core/engine/kernels.h"

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
  // The update is a kernel so that it runs with the CPU's vector width
  // (this file is compiled for the baseline instruction set).
  engine::active_kernels().optimizer_step(plan_step(w, grad, anchor));
}

engine::OptimizerStep Optimizer::slice(const engine::OptimizerStep& step, size_t begin,
                                       size_t end) {
  assert(begin <= end && end <= step.n);
  engine::OptimizerStep part = step;
  part.n = end - begin;
  part.w += begin;
  part.g += begin;
  if (part.anchor != nullptr) part.anchor += begin;
  if (part.m != nullptr) part.m += begin;
  if (part.v != nullptr) part.v += begin;
  return part;
}

engine::OptimizerStep Optimizer::plan_step(std::span<float> w, std::span<const float> grad,
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
  engine::OptimizerStep st;
  st.n = n;
  st.w = w.data();
  st.g = grad.data();
  st.anchor = prox ? anchor.data() : nullptr;
  st.m = m_.empty() ? nullptr : m_.data();
  st.v = v_.empty() ? nullptr : v_.data();
  st.lr = c.learning_rate;
  st.momentum = c.momentum;
  st.scale = scale;
  st.wd_l2 = c.kind == OptimizerKind::kAdamW ? 0.0f : c.weight_decay;
  st.prox_mu = prox ? c.prox_mu : 0.0f;
  switch (c.kind) {
    case OptimizerKind::kSgd:
      st.kind = engine::kOptSgd;
      break;
    case OptimizerKind::kNesterov:
      st.kind = engine::kOptNesterov;
      break;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: {
      st.kind = engine::kOptAdam;
      const auto t = static_cast<double>(steps_);
      st.bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(c.beta1), t));
      st.bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(c.beta2), t));
      st.decoupled = c.kind == OptimizerKind::kAdamW ? c.weight_decay : 0.0f;
      st.beta1 = c.beta1;
      st.beta2 = c.beta2;
      st.epsilon = c.epsilon;
      break;
    }
  }
  return st;
}

}  // namespace nf
