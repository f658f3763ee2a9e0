#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/fabric/scores.h"
#include "core/fabric/symmetric_eigen.h"
#include "core/util/rng.h"

namespace nf {
namespace {

Cascade build(const std::string& text, int32_t n_in, int32_t n_out) {
  auto spec = parse_fabric_spec(text);
  REQUIRE(spec.is_ok());
  auto c = build_cascade(*spec, n_in, n_out);
  REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
  return std::move(c).value();
}

TEST_CASE("Jacobi and subspace iteration agree on known spectra") {
  const std::vector<double> a = {2, 1, 0, 1, 2, 0, 0, 0, 5};
  const std::vector<double> eig = symmetric_eigenvalues(a, 3);
  CHECK(eig[0] == doctest::Approx(5));
  CHECK(eig[1] == doctest::Approx(3));
  CHECK(eig[2] == doctest::Approx(1));
  // Random PSD matrix B B^T, 40 x 40 with rank 30.
  const int n = 40, k = 30;
  Rng rng(9);
  std::vector<double> b(n * k), g(n * n, 0);
  for (double& x : b) x = rng.uniform01() - 0.5;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      for (int t = 0; t < k; ++t) g[i * n + j] += b[i * k + t] * b[j * k + t];
    }
  }
  const std::vector<double> all = symmetric_eigenvalues(g, n);
  CHECK(std::abs(all[k]) < 1e-9);  // rank k
  const std::vector<double> top = top_eigenvalues_psd(g, n, 3, 400);
  for (int i = 0; i < 3; ++i) CHECK(top[i] == doctest::Approx(all[i]).epsilon(1e-6));
}

TEST_CASE("path statistics and spectral spread") {
  const PathCounts clos = path_counts(build("clos:n=4,m=3,r=5", 20, 20));
  const PathStats s = path_stats(clos);
  CHECK(s.reachable);
  CHECK(s.min_paths == 3);
  CHECK(s.max_paths == 3);
  CHECK(s.cv == 0);
  const SpectralScore uniform = spectral_spread(clos);
  CHECK(uniform.sigma1 == doctest::Approx(1));
  CHECK(uniform.sigma2 < 1e-6);

  const PathCounts torus = path_counts(build("torus:depth=2", 49, 49));
  const PathStats t = path_stats(torus);
  CHECK_FALSE(t.reachable);
  CHECK(t.cv > 1);
  CHECK(spectral_spread(torus).ratio > 0.5);
  // Two disconnected halves: sigma2 == sigma1.
  const PathCounts split = path_counts(build("hypercube:depth=4,loopless=1", 16, 16));
  CHECK(spectral_spread(split).ratio == doctest::Approx(1));
}

TEST_CASE("path counts saturate instead of overflowing") {
  const PathStats s = path_stats(path_counts(build("hypercube:depth=40", 16, 16)));
  CHECK(s.saturated);
  CHECK(s.max_paths == kPathCountMax);
}

TEST_CASE("Jacobian rank: exact dimensions of known families") {
  // Dense: every matrix, rank n_in n_out.
  CHECK(jacobian_rank(build("dense", 5, 4), 1) == 20);
  // Rank-r matrices of size a x b form a variety of dimension r (a + b - r),
  // below the rescaling bound r (a + b) - r: the GL(r) symmetry is bigger.
  const Cascade lr = build("low_rank:rank=2", 5, 4);
  CHECK(expressivity_upper_bound(lr) == 2 * 9 - 2);
  CHECK(jacobian_rank(lr, 1) == 2 * (5 + 4 - 2));
  CHECK(jacobian_rank(lr, 2) == 2 * (5 + 4 - 2));
  // A 4 x 4 radix-2 butterfly: 16 weights, 4 hidden rescalings.
  const Cascade b = build("butterfly", 4, 4);
  CHECK(expressivity_upper_bound(b) == 12);
  CHECK(jacobian_rank(b, 1) == 12);
}

TEST_CASE("expressivity runs exactly when small and on a reduced instance when large") {
  ScoreOptions options;
  auto spec = parse_fabric_spec("clos:n=3,m=2,r=3");
  REQUIRE(spec.is_ok());
  auto small = expressivity(*spec, 9, 9, options);
  REQUIRE(small.is_ok());
  CHECK_FALSE(small->reduced);
  CHECK(small->rank <= small->upper_bound);

  options.max_jacobian_work = 1e6;
  auto clos = parse_fabric_spec("clos:m=12,r=28");
  REQUIRE(clos.is_ok());
  auto big = expressivity(*clos, 784, 300, options);
  REQUIRE_MESSAGE(big.is_ok(), big.status().to_string());
  CHECK(big->reduced);
  CHECK(big->n_in < 784);
  CHECK(big->spec.rfind("clos:", 0) == 0);
  CHECK(big->rank > 0);
  CHECK(big->rank <= big->upper_bound);
}

}  // namespace
}  // namespace nf
