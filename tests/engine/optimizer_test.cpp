// Optimizer steps against values computed by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/engine/optimizer.h"

namespace nf {
namespace {

struct Run {
  std::vector<float> w;
  Optimizer opt;
  Run(const OptimizerConfig& c, std::vector<float> init) : w(std::move(init)) {
    opt.reset(c, static_cast<int64_t>(w.size()));
  }
  void step(const std::vector<float>& g, const std::vector<float>& anchor = {}) {
    opt.step(w, g, anchor);
  }
};

TEST_CASE("plain SGD and weight decay") {
  OptimizerConfig c;
  c.learning_rate = 0.5f;
  c.weight_decay = 0.1f;
  Run r(c, {1.0f, -2.0f});
  r.step({0.2f, 0.4f});
  // w - lr (g + wd w): 1 - 0.5 (0.2 + 0.1) = 0.85; -2 - 0.5 (0.4 - 0.2) = -2.1
  CHECK(r.w[0] == doctest::Approx(0.85));
  CHECK(r.w[1] == doctest::Approx(-2.1));
  CHECK(r.opt.state_bytes() == 0);
}

TEST_CASE("SGD with momentum and Nesterov") {
  OptimizerConfig c;
  c.learning_rate = 0.1f;
  c.momentum = 0.9f;
  Run heavy(c, {1.0f});
  heavy.step({1.0f});  // v = 1, w = 0.9
  heavy.step({1.0f});  // v = 1.9, w = 0.71
  CHECK(heavy.w[0] == doctest::Approx(0.71));
  c.kind = OptimizerKind::kNesterov;
  Run nag(c, {1.0f});
  nag.step({1.0f});  // v = 1, w = 1 - 0.1 (1 + 0.9) = 0.81
  CHECK(nag.w[0] == doctest::Approx(0.81));
  nag.step({1.0f});  // v = 1.9, w = 0.81 - 0.1 (1 + 1.71) = 0.539
  CHECK(nag.w[0] == doctest::Approx(0.539));
}

TEST_CASE("Adam and AdamW") {
  OptimizerConfig c;
  c.kind = OptimizerKind::kAdam;
  c.learning_rate = 0.01f;
  Run adam(c, {1.0f, 1.0f});
  adam.step({0.5f, -2.0f});
  // First step: mhat = g, vhat = g^2, update = lr * sign(g) (up to epsilon).
  CHECK(adam.w[0] == doctest::Approx(0.99).epsilon(1e-6));
  CHECK(adam.w[1] == doctest::Approx(1.01).epsilon(1e-6));
  adam.step({0.5f, -2.0f});
  CHECK(adam.w[0] == doctest::Approx(0.98).epsilon(1e-6));
  // Second step with a different gradient: m = 0.9*0.05 + 0.1*g, v = 0.999*0.00025 + 0.001 g^2.
  Run adam2(c, {0.0f});
  adam2.step({1.0f});
  adam2.step({3.0f});
  const double m = 0.9 * 0.1 + 0.1 * 3.0, v = 0.999 * 0.001 + 0.001 * 9.0;
  const double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
  CHECK(adam2.w[0] ==
        doctest::Approx(-0.01 - 0.01 * mhat / (std::sqrt(vhat) + 1e-8)).epsilon(1e-5));

  c.kind = OptimizerKind::kAdamW;
  c.weight_decay = 0.5f;
  Run adamw(c, {2.0f});
  adamw.step({0.5f});
  // w - lr (1 + wd w) = 2 - 0.01 (1 + 1) = 1.98
  CHECK(adamw.w[0] == doctest::Approx(1.98).epsilon(1e-6));
  CHECK(adamw.opt.state_bytes() == 2 * 4);
}

TEST_CASE("gradient clipping scales by the global norm") {
  OptimizerConfig c;
  c.learning_rate = 1.0f;
  c.clip_norm = 1.0f;
  Run r(c, {0.0f, 0.0f});
  r.step({3.0f, 4.0f});  // norm 5 -> scaled to (0.6, 0.8)
  CHECK(r.w[0] == doctest::Approx(-0.6));
  CHECK(r.w[1] == doctest::Approx(-0.8));
  Run small(c, {0.0f});
  small.step({0.5f});  // below the norm: untouched
  CHECK(small.w[0] == doctest::Approx(-0.5));
}

TEST_CASE("FedProx term pulls toward the anchor") {
  OptimizerConfig c;
  c.learning_rate = 0.1f;
  c.prox_mu = 2.0f;
  Run r(c, {1.0f});
  r.step({0.0f}, {0.5f});  // g = mu (w - anchor) = 1 -> w = 0.9
  CHECK(r.w[0] == doctest::Approx(0.9));
}

TEST_CASE("a planned step cut into slices gives the values of one step") {
  // How ModelImpl::update splits the update between threads.
  for (OptimizerKind kind : {OptimizerKind::kNesterov, OptimizerKind::kAdamW}) {
    CAPTURE(optimizer_name(kind));
    OptimizerConfig c;
    c.kind = kind;
    c.learning_rate = 0.05f;
    c.momentum = 0.9f;
    c.weight_decay = 0.01f;
    c.clip_norm = 0.5f;  // the scale is computed over the whole gradient
    c.prox_mu = 0.1f;
    const size_t n = 37;
    std::vector<float> g(n), anchor(n), init(n);
    for (size_t i = 0; i < n; ++i) {
      g[i] = std::sin(static_cast<float>(i)) * 0.3f;
      anchor[i] = 0.01f * static_cast<float>(i);
      init[i] = std::cos(static_cast<float>(i));
    }
    Run whole(c, init), sliced(c, init);
    for (int step = 0; step < 3; ++step) {
      whole.step(g, anchor);
      const engine::OptimizerStep plan = sliced.opt.plan_step(sliced.w, g, anchor);
      for (size_t b : {size_t{0}, size_t{16}, size_t{17}, size_t{32}}) {
        const size_t e = b == 32 ? n : (b == 0 ? 16 : (b == 16 ? 17 : 32));
        engine::active_kernels().optimizer_step(Optimizer::slice(plan, b, e));
      }
    }
    CHECK(sliced.opt.steps() == 3);
    for (size_t i = 0; i < n; ++i) CHECK(sliced.w[i] == whole.w[i]);
  }
}

TEST_CASE("optimizer names round-trip") {
  for (OptimizerKind k : {OptimizerKind::kSgd, OptimizerKind::kNesterov, OptimizerKind::kAdam,
                          OptimizerKind::kAdamW}) {
    auto parsed = parse_optimizer(optimizer_name(k));
    REQUIRE(parsed.is_ok());
    CHECK(*parsed == k);
  }
  CHECK(parse_optimizer("lion").status().message().find("lion") != std::string::npos);
}

}  // namespace
}  // namespace nf
