// Path counts of a cascade: P = M_d ... M_1 in integers.
//
// P[j][i] is the number of input-to-output paths from input i to output j.
// Counts saturate at kPathCountMax instead of overflowing (a hypercube of
// depth 64 has more than 2^63 paths per pair), so comparisons stay sound:
// a saturated entry means "at least kPathCountMax".
#pragma once

#include <cstdint>
#include <vector>

#include "core/fabric/cascade.h"

namespace nf {

inline constexpr uint64_t kPathCountMax = UINT64_MAX;

// Row-major n_out x n_in matrix of path counts.
struct PathCounts {
  int32_t rows = 0;  // n_out
  int32_t cols = 0;  // n_in
  std::vector<uint64_t> counts;

  uint64_t at(int32_t row, int32_t col) const {
    return counts[static_cast<size_t>(row) * static_cast<size_t>(cols) + static_cast<size_t>(col)];
  }
};

// Cost: sum over sublayers of nnz(M_l) * n_in operations, memory
// max width * n_in counts. Precondition: the cascade's widths chain.
PathCounts path_counts(const Cascade& cascade);

}  // namespace nf
