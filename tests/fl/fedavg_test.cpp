#include <doctest/doctest.h>

#include <limits>
#include <vector>

#include "core/fl/strategy_factory.h"
#include "core/fl/weighted_sum.h"
#include "core/util/rng.h"

namespace nf {
namespace {

std::unique_ptr<Strategy> make(const char* spec, StrategyOptions options = {}) {
  auto s = make_strategy(spec, options);
  REQUIRE_MESSAGE(s.is_ok(), s.status().to_string());
  return std::move(s).value();
}

TEST_CASE("fedavg: example-weighted mean of values, hand computed") {
  auto s = make("fedavg");
  const std::vector<float> global = {0.0f, 0.0f};
  const std::vector<float> a = {1.0f, 2.0f};  // 1 example
  const std::vector<float> b = {4.0f, 8.0f};  // 2 examples
  std::vector<FitResult> results = {{"a", 1, a, false}, {"b", 2, b, false}};
  auto outcome = s->aggregate_fit(1, global, results, {});
  REQUIRE(outcome.is_ok());
  CHECK(outcome->values[0] == doctest::Approx(3.0));  // (1 + 8) / 3
  CHECK(outcome->values[1] == doctest::Approx(6.0));  // (2 + 16) / 3
  CHECK(outcome->num_results == 2);
  CHECK(outcome->num_examples == 3);
  CHECK(s->last_round() == 1);
}

TEST_CASE("fedavg: deltas and values mix, relative to the global model") {
  auto s = make("fedavg");
  const std::vector<float> global = {1.0f, -1.0f};
  const std::vector<float> full = {2.0f, 1.0f};    // delta (1, 2)
  const std::vector<float> delta = {3.0f, -2.0f};  // delta (3, -2)
  std::vector<FitResult> results = {{"a", 3, full, false}, {"b", 1, delta, true}};
  auto outcome = s->aggregate_fit(1, global, results, {});
  REQUIRE(outcome.is_ok());
  // mean delta = (3*(1,2) + (3,-2)) / 4 = (1.5, 1)
  CHECK(outcome->values[0] == doctest::Approx(2.5));
  CHECK(outcome->values[1] == doctest::Approx(0.0));
}

TEST_CASE("fedavg: streaming equals the batch weighted mean computed in double") {
  const size_t n = 257;
  const int clients = 40;
  Rng rng(7);
  std::vector<float> global(n);
  for (auto& v : global) v = rng.normal();
  std::vector<std::vector<float>> updates(clients, std::vector<float>(n));
  std::vector<int64_t> counts(clients);
  for (int c = 0; c < clients; ++c) {
    for (size_t i = 0; i < n; ++i) updates[c][i] = global[i] + 0.1f * rng.normal();
    counts[c] = 1 + static_cast<int64_t>(rng.uniform(500));
  }
  auto s = make("fedavg");
  s->begin_fit(4, global);
  for (int c = 0; c < clients; ++c) {
    const std::string id = std::to_string(c);
    REQUIRE(s->accept_fit({id, counts[c], updates[c], false}).is_ok());
  }
  auto outcome = s->finish_fit();
  REQUIRE(outcome.is_ok());
  double total = 0;
  for (auto k : counts) total += static_cast<double>(k);
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int c = 0; c < clients; ++c) sum += static_cast<double>(counts[c]) * updates[c][i];
    // One float rounding of the exact mean: within half an ulp plus double noise.
    CHECK(outcome->values[i] == doctest::Approx(sum / total).epsilon(1e-6));
  }
}

TEST_CASE("WeightedSum: merging partial sums gives the same mean as one sum") {
  Rng rng(3);
  const size_t n = 64;
  WeightedSum whole(n), left(n), right(n);
  for (int c = 0; c < 10; ++c) {
    std::vector<float> v(n);
    for (auto& x : v) x = rng.normal();
    const double w = 1 + static_cast<double>(rng.uniform(100));
    whole.add(v, w);
    (c % 2 ? left : right).add(v, w);
  }
  left.merge(right);
  CHECK(left.total_weight() == whole.total_weight());
  CHECK(left.count() == 10);
  std::vector<float> a(n), b(n);
  whole.mean(a);
  left.mean(b);
  for (size_t i = 0; i < n; ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-7));
}

TEST_CASE("WeightedSum: a fold resumed from a partial sum is bit-identical to one fold") {
  Rng rng(4);
  const size_t n = 33;
  std::vector<float> base(n);
  for (auto& x : base) x = rng.normal();
  WeightedSum whole(n), first(n), second(n);
  for (int c = 0; c < 9; ++c) {
    std::vector<float> v(n);
    for (auto& x : v) x = rng.normal() * 1e3f;  // large values: rounding order shows
    const double w = 1 + static_cast<double>(rng.uniform(1000));
    const double scale = c % 3 == 0 ? 0.5 : 1.0;
    whole.add_difference(v, base, w, scale);
    if (c == 4) second.resume(first.sum(), first.total_weight(), first.count());
    (c < 4 ? first : second).add_difference(v, base, w, scale);
  }
  CHECK(second.count() == whole.count());
  CHECK(second.total_weight() == whole.total_weight());
  for (size_t i = 0; i < n; ++i) CHECK(second.sum()[i] == whole.sum()[i]);
}

TEST_CASE("fedavg: failures pass through and too few results fail the round") {
  StrategyOptions options;
  options.min_fit_results = 2;
  auto s = make("fedavg", options);
  const std::vector<float> global = {0.0f};
  const std::vector<float> a = {1.0f};
  std::vector<FitResult> results = {{"a", 1, a, false}};
  std::vector<ClientFailure> failures = {{"b", "timeout after 30 s"}};
  auto outcome = s->aggregate_fit(3, global, results, failures);
  REQUIRE(!outcome.is_ok());
  CHECK(outcome.status().message().find("1 updates accepted, at least 2 required") !=
        std::string::npos);
  CHECK(s->last_round() == 0);

  options.min_fit_results = 1;
  auto t = make("fedavg", options);
  auto ok = t->aggregate_fit(3, global, results, failures);
  REQUIRE(ok.is_ok());
  REQUIRE(ok->failures.size() == 1);
  CHECK(ok->failures[0].client_id == "b");
}

TEST_CASE("fedavg: a rejected update is a failure and does not count") {
  auto s = make("fedavg");
  const std::vector<float> global = {1.0f, 1.0f};
  const std::vector<float> good = {2.0f, 2.0f};
  const std::vector<float> bad = {std::numeric_limits<float>::quiet_NaN(), 1.0f};
  s->begin_fit(1, global);
  CHECK(s->accept_fit({"good", 5, good, false}).is_ok());
  Status st = s->accept_fit({"evil", 5, bad, false});
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message().find("evil") != std::string::npos);
  CHECK(st.message().find("value[0] is nan") != std::string::npos);
  CHECK(s->accept_fit({"good", 5, good, false}).message().find("second update") !=
        std::string::npos);
  auto outcome = s->finish_fit();
  REQUIRE(outcome.is_ok());
  CHECK(outcome->values[0] == 2.0f);
  CHECK(outcome->num_results == 1);
  REQUIRE(outcome->failures.size() == 2);
  CHECK(outcome->failures[0].client_id == "evil");
}

TEST_CASE("fedprox sends mu to clients and averages like fedavg") {
  StrategyOptions options;
  options.clients_per_round = 10;
  options.over_selection = 0.3;
  auto s = make("fedprox:mu=0.05", options);
  const FitConfig c = s->configure_fit(2);
  CHECK(c.round == 2);
  CHECK(c.proximal_mu == doctest::Approx(0.05));
  CHECK(c.clients_per_round == 10);
  CHECK(c.clients_to_sample == 13);
  CHECK(make("fedavg")->configure_fit(1).proximal_mu == 0.0f);
}

}  // namespace
}  // namespace nf
