// Budget solver: choose a fabric's free parameters so that its cascade for
// n_in -> n_out has a parameter count (nnz, biases excluded) as close as
// possible to a target, so fabrics can be compared at matched size.
//
// Parameters set (non-zero) in the given spec are kept; the automatic (zero)
// ones are searched. Which parameters each kind searches, and which kinds
// cannot land within 5% of every budget, is documented in docs/fabrics.md.
#pragma once

#include <cstdint>
#include <string>

#include "core/fabric/fabric_spec.h"
#include "core/util/status.h"

namespace nf {

inline constexpr double kBudgetTolerance = 0.05;

struct BudgetResult {
  FabricSpec spec;     // resolved: every parameter explicit
  int64_t params = 0;  // nnz of build_cascade(spec, n_in, n_out)
  int64_t target = 0;
  double relative_error = 0;      // (params - target) / target
  bool within_tolerance = false;  // |relative_error| <= kBudgetTolerance
  // Why the fabric cannot land closer, when it cannot (e.g. "dense has one size").
  std::string note;
};

// Errors: target < 1, sizes not positive, or no parameter choice that builds.
// Deterministic; cost at most a few hundred cascade builds.
Result<BudgetResult> solve_budget(const FabricSpec& spec, int32_t n_in, int32_t n_out,
                                  int64_t target_params);

// round(density * n_in * n_out), at least 1. Precondition: density > 0.
int64_t params_for_density(double density, int32_t n_in, int32_t n_out);

}  // namespace nf
