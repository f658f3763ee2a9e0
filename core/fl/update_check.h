// Checks an update must pass before it may touch the global model.
#pragma once

#include <span>

#include "core/util/status.h"

namespace nf {

struct UpdateBounds {
  // Reject when ||delta|| > max_delta_norm; 0 = no absolute bound.
  double max_delta_norm = 0.0;
  // Reject when ||delta|| > max_delta_ratio * ||global|| (skipped while the
  // global model is all zeros); 0 = no relative bound. The default 10 lets
  // ordinary training through and catches an update scaled up 100 times.
  double max_delta_ratio = 10.0;
};

// Checks `update` against `global`: same length, every value finite, and the
// delta (update - global, or update itself when is_delta) within `bounds`.
// `global_norm` is ||global||, computed once per round by the caller.
// Returns the delta's L2 norm, or invalid_argument naming the reason and the
// value: "length 99 differs from the model's 100", "value[7] is nan",
// "delta norm 512.3 exceeds 10 x the global norm 4.1 (bound 41)".
Result<double> check_update(std::span<const float> global, double global_norm,
                            std::span<const float> update, bool is_delta,
                            const UpdateBounds& bounds);

// L2 norm accumulated in double.
double l2_norm(std::span<const float> values);

}  // namespace nf
