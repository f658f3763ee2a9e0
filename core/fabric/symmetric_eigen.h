// Eigenvalues of small dense symmetric matrices, for the spectral scores.
// No dependency: cyclic Jacobi for the full spectrum, subspace iteration for
// the top few eigenvalues of larger matrices. Double precision; results are
// scores, never part of a model's identity.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nf {

// All eigenvalues of the n x n symmetric row-major matrix `a`, descending.
// Cost about 10 n^3 flops. Precondition: a.size() == n * n.
std::vector<double> symmetric_eigenvalues(std::span<const double> a, int n);

// The `k` largest eigenvalues (descending) of the n x n symmetric positive
// semi-definite matrix `a`, by subspace iteration from a seeded random start
// followed by Rayleigh-Ritz; `iterations` bounds the work to about
// iterations * 2 n^2 (k + 2) flops. Exact to rounding when n <= k + 2.
std::vector<double> top_eigenvalues_psd(std::span<const double> a, int n, int k,
                                        int iterations = 150);

}  // namespace nf
