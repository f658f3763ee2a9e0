#include <doctest/doctest.h>

#include <vector>

#include "core/fl/proximal.h"

namespace nf {
namespace {

TEST_CASE("proximal term and its gradient, hand computed and by finite differences") {
  const std::vector<float> w = {1.0f, -2.0f, 0.5f};
  const std::vector<float> g = {0.0f, 1.0f, 0.5f};
  const float mu = 0.1f;
  CHECK(proximal_term(w, g, mu) == doctest::Approx(0.05 * (1.0 + 9.0)));
  std::vector<float> grad = {10.0f, 10.0f, 10.0f};
  add_proximal_gradient(w, g, mu, grad);
  CHECK(grad[0] == doctest::Approx(10.1));
  CHECK(grad[1] == doctest::Approx(9.7));
  CHECK(grad[2] == doctest::Approx(10.0));
  // d/dw_i of the term equals mu (w_i - g_i).
  for (size_t i = 0; i < w.size(); ++i) {
    std::vector<float> plus = w, minus = w;
    plus[i] += 1e-2f;
    minus[i] -= 1e-2f;
    const double numeric = (proximal_term(plus, g, mu) - proximal_term(minus, g, mu)) / 2e-2;
    CHECK(numeric == doctest::Approx(mu * (w[i] - g[i])).epsilon(1e-3));
  }
  std::vector<float> untouched = {1.0f, 1.0f, 1.0f};
  add_proximal_gradient(w, g, 0.0f, untouched);
  CHECK(untouched == std::vector<float>{1.0f, 1.0f, 1.0f});
}

}  // namespace
}  // namespace nf
