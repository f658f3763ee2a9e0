#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/fl/server_optimizer.h"
#include "core/fl/strategy_factory.h"

namespace nf {
namespace {

std::vector<float> step(ServerOptimizer& opt, const std::vector<float>& global,
                        const std::vector<double>& delta) {
  std::vector<float> out(global.size());
  REQUIRE(opt.step(global, delta, out).is_ok());
  return out;
}

TEST_CASE("sgd with server_lr scales the averaged delta") {
  ServerOptimizer opt({.rule = ServerRule::kSgd, .lr = 0.5});
  CHECK(step(opt, {1.0f, 2.0f}, {2.0, -4.0}) == std::vector<float>{2.0f, 0.0f});
  CHECK(opt.first_moment().empty());
}

TEST_CASE("momentum: m = 0.9 m + delta, x += m, over two rounds") {
  ServerOptimizer opt({.rule = ServerRule::kMomentum, .lr = 1.0, .momentum = 0.9});
  auto x = step(opt, {0.0f}, {1.0});  // m = 1
  CHECK(x[0] == doctest::Approx(1.0));
  x = step(opt, x, {1.0});  // m = 0.9 + 1 = 1.9
  CHECK(x[0] == doctest::Approx(2.9));
  CHECK(opt.first_moment()[0] == doctest::Approx(1.9));
}

TEST_CASE("adam: hand-computed first two steps (Reddi et al. Algorithm 2, no bias correction)") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.99, tau = 0.01;
  ServerOptimizer opt({.rule = ServerRule::kAdam, .lr = lr, .beta1 = b1, .beta2 = b2, .tau = tau});
  // Step 1: m = 0.1 * 2 = 0.2; v = 0.99 * 1e-4 + 0.01 * 4 = 0.040099
  auto x = step(opt, {1.0f}, {2.0});
  double m = (1 - b1) * 2.0, v = b2 * tau * tau + (1 - b2) * 4.0;
  CHECK(x[0] == doctest::Approx(1.0 + lr * m / (std::sqrt(v) + tau)));
  // Step 2 with delta -1.
  const double x1 = x[0];
  x = step(opt, x, {-1.0});
  m = b1 * m + (1 - b1) * -1.0;
  v = b2 * v + (1 - b2) * 1.0;
  CHECK(x[0] == doctest::Approx(x1 + lr * m / (std::sqrt(v) + tau)));
}

TEST_CASE("yogi: v moves by (1-b2) delta^2 towards delta^2, additively") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.99, tau = 0.01;
  ServerOptimizer opt({.rule = ServerRule::kYogi, .lr = lr, .beta1 = b1, .beta2 = b2, .tau = tau});
  // v0 = tau^2 < delta^2 = 4: sign(v - d^2) = -1, v = 1e-4 + 0.01 * 4.
  auto x = step(opt, {0.0f}, {2.0});
  const double v = tau * tau + (1 - b2) * 4.0;
  const double m = (1 - b1) * 2.0;
  CHECK(x[0] == doctest::Approx(lr * m / (std::sqrt(v) + tau)));
  CHECK(opt.second_moment()[0] == doctest::Approx(v));
  // A small delta with v > d^2: v shrinks by (1-b2) d^2.
  (void)step(opt, x, {0.1});
  CHECK(opt.second_moment()[0] == doctest::Approx(v - (1 - b2) * 0.01));
}

TEST_CASE("adagrad: v accumulates squares") {
  const double tau = 0.001;
  ServerOptimizer opt({.rule = ServerRule::kAdagrad, .lr = 1.0, .beta1 = 0.0, .tau = tau});
  auto x = step(opt, {0.0f}, {3.0});
  CHECK(x[0] == doctest::Approx(3.0 / (std::sqrt(tau * tau + 9.0) + tau)));
  (void)step(opt, x, {4.0});
  CHECK(opt.second_moment()[0] == doctest::Approx(tau * tau + 25.0));
}

TEST_CASE("a state of another length is refused without changing anything") {
  ServerOptimizer opt({.rule = ServerRule::kMomentum});
  (void)step(opt, {0.0f, 0.0f}, {1.0, 1.0});
  std::vector<float> out(3);
  const std::vector<float> g(3);
  const std::vector<double> d(3);
  Status s = opt.step(g, d, out);
  CHECK(s.message() == "server optimizer state has 2 values but the model has 3");
  CHECK(opt.first_moment().size() == 2u);
}

TEST_CASE("fedadam strategy: global + lr * m / (sqrt(v) + tau) over the weighted mean delta") {
  auto s = make_strategy("fedadam:lr=0.1,tau=0.01", {});
  REQUIRE(s.is_ok());
  const std::vector<float> global = {1.0f};
  const std::vector<float> a = {3.0f}, b = {0.0f};  // deltas 2 and -1, weights 2 and 1
  std::vector<FitResult> results = {{"a", 2, a, false}, {"b", 1, b, false}};
  auto out = (*s)->aggregate_fit(1, global, results, {});
  REQUIRE(out.is_ok());
  const double delta = 1.0;  // (2*2 - 1) / 3
  const double m = 0.1 * delta, v = 0.99 * 1e-4 + 0.01 * delta * delta;
  CHECK(out->values[0] == doctest::Approx(1.0 + 0.1 * m / (std::sqrt(v) + 0.01)));
}

}  // namespace
}  // namespace nf
