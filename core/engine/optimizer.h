// Optimizers over the flat parameter vector: one pass per step, elementwise,
// so the result does not depend on threads or on how the vector is split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/engine/float_buffer.h"
#include "core/engine/kernels.h"
#include "core/util/status.h"

namespace nf {

enum class OptimizerKind {
  kSgd,       // v = momentum v + g; w -= lr v   (plain SGD when momentum is 0)
  kNesterov,  // v = momentum v + g; w -= lr (g + momentum v)
  kAdam,      // weight decay as L2 (added to the gradient)
  kAdamW,     // weight decay decoupled: w -= lr (adam_step + weight_decay w)
};

// "sgd", "nesterov", "adam", "adamw".
std::string_view optimizer_name(OptimizerKind kind);
Result<OptimizerKind> parse_optimizer(std::string_view name);
// Floats of state per parameter: 0 (SGD without momentum), 1 or 2.
int optimizer_state_vectors(OptimizerKind kind, float momentum);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  float learning_rate = 0.01f;
  float momentum = 0.0f;      // SGD and Nesterov
  float weight_decay = 0.0f;  // applies to every parameter, biases included
  float clip_norm = 0.0f;     // > 0: scale the gradient to at most this L2 norm
  float prox_mu = 0.0f;       // > 0: adds the FedProx term mu/2 ||w - anchor||^2
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
};

// The per-step gradient g' the update rules above see:
//   g' = clip_scale * g + prox_mu (w - anchor) + [not AdamW] weight_decay w
// with clip_scale = min(1, clip_norm / ||g||_2) when clip_norm > 0.
class Optimizer {
 public:
  // Sizes and zeroes the state for `count` parameters (allocates).
  void reset(const OptimizerConfig& config, int64_t count);
  // One update. `anchor` is read only when prox_mu > 0 and then has the size
  // of `w`; `grad` has the size of `w`. Does not allocate.
  void step(std::span<float> w, std::span<const float> grad, std::span<const float> anchor);
  // The same update split for threads: counts the step, computes the
  // clipping scale over the whole gradient and returns the kernel call for
  // every element, which `slice` cuts into ranges; any split gives the same
  // values (the update is element-wise).
  engine::OptimizerStep plan_step(std::span<float> w, std::span<const float> grad,
                                  std::span<const float> anchor);
  // Elements [begin, end) of a planned step.
  static engine::OptimizerStep slice(const engine::OptimizerStep& step, size_t begin, size_t end);
  int64_t steps() const { return steps_; }
  // Whether an element's update needs the whole gradient (clipping by its
  // norm), not only the element's own.
  bool needs_whole_gradient() const { return config_.clip_norm > 0.0f; }
  int64_t state_bytes() const;

 private:
  OptimizerConfig config_;
  engine::FloatBuffer m_, v_;  // 64-byte aligned, as the parameters
  int64_t steps_ = 0;
};

}  // namespace nf
