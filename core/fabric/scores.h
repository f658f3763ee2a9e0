// Data-free scores of a cascade: computed from the masks alone, before any
// training. Definitions are in docs/fabrics.md; whether they predict trained
// accuracy is what the project measures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/fabric/cascade.h"
#include "core/fabric/fabric_spec.h"
#include "core/fabric/path_counts.h"
#include "core/util/status.h"

namespace nf {

// Statistics of the path-count matrix P over all (output, input) pairs.
struct PathStats {
  uint64_t min_paths = 0;
  uint64_t max_paths = 0;
  double mean_paths = 0;
  double cv = 0;           // std(P) / mean(P), population std; 0 when mean is 0
  bool reachable = false;  // min P > 0: every input reaches every output
  bool saturated = false;  // some count hit kPathCountMax (stats are then lower bounds)
};
PathStats path_stats(const PathCounts& p);

// Singular values of the degree-normalised path matrix
//   Q = D_out^{-1/2} P D_in^{-1/2}   (D = row and column sums of P),
// whose largest singular value is 1 when P > 0. sigma2 is the second largest:
// 0 when P is rank one (perfectly uniform paths), near 1 when the cascade
// splits into weakly linked parts (expander-mixing view: smaller mixes better).
struct SpectralScore {
  double sigma1 = 0;
  double sigma2 = 0;
  double ratio = 0;  // sigma2 / sigma1 (0 when sigma1 is 0)
};
SpectralScore spectral_spread(const PathCounts& p);

// Upper bound on the Jacobian rank: min(n_in n_out, nnz - h), h = hidden
// nodes with both inputs and outputs (each gives a rescaling symmetry).
int64_t expressivity_upper_bound(const Cascade& c);

// Exact rank, over the prime field GF(2^31 - 1), of the Jacobian of
// (W_1..W_d) -> prod(M_l . W_l) at weights drawn from Rng(seed). Equals the
// generic rank over the reals except with probability at most
// nnz * depth / (2^31 - 1) (Schwartz-Zippel). Cost about
// n_in n_out * nnz * rank multiply-adds: only for small cascades.
int64_t jacobian_rank(const Cascade& c, uint64_t seed);

// Work estimate for jacobian_rank: n_in n_out * nnz * min(n_in n_out, nnz).
double jacobian_rank_work(const Cascade& c);

struct ExpressivityScore {
  int64_t rank = 0;
  int64_t upper_bound = 0;
  double fraction = 0;  // rank / upper_bound
  // Whether the rank was computed on a size-reduced instance (same kind,
  // same non-size parameters and about the same density; see
  // docs/fabrics.md) because the full Jacobian exceeds the work bound.
  bool reduced = false;
  int32_t n_in = 0;  // sizes of the instance measured
  int32_t n_out = 0;
  std::string spec;  // canonical spec of the instance measured
};

struct ScoreOptions {
  bool expressivity = true;
  // Largest jacobian_rank_work allowed (about one second per 3e8).
  double max_jacobian_work = 3e8;
  uint64_t seed = 1;
};

Result<ExpressivityScore> expressivity(const FabricSpec& spec, int32_t n_in, int32_t n_out,
                                       const ScoreOptions& options);

struct FabricScores {
  int depth = 0;
  int64_t params = 0;        // stored weights (nnz), biases excluded
  int64_t dense_params = 0;  // n_in n_out
  double density = 0;        // params / dense_params
  PathStats paths;
  SpectralScore spectral;
  std::optional<ExpressivityScore> expressivity;
};

// All scores of `cascade`, which must be build_cascade(spec, n_in, n_out).
Result<FabricScores> score_fabric(const FabricSpec& spec, const Cascade& cascade,
                                  const ScoreOptions& options);

}  // namespace nf
