#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "core/fl/client_sampling.h"
#include "core/fl/strategy_factory.h"
#include "core/util/rng.h"

namespace nf {
namespace {

std::string error_of(const char* spec) {
  return parse_strategy_spec(spec).status().message();
}

TEST_CASE("factory: every documented spec parses and prints canonically") {
  for (const char* spec : {"fedavg", "fedprox:mu=0.1", "fedavgm:momentum=0.9", "fedadam:lr=0.01",
                           "fedyogi", "fedadagrad:tau=0.01", "median", "trimmed_mean:beta=0.1",
                           "krum:f=2", "multikrum:f=2,m=5", "fedavg:clip=10,server_lr=0.5"}) {
    CAPTURE(spec);
    auto p = parse_strategy_spec(spec);
    REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
    auto again = parse_strategy_spec(p->to_string());
    REQUIRE(again.is_ok());
    CHECK(again->to_string() == p->to_string());
  }
  CHECK(parse_strategy_spec("fedavgm:momentum=0.5")->to_string() ==
        "fedavgm:momentum=0.5,server_lr=1,clip=0");
  CHECK(parse_strategy_spec("fedadam")->to_string() ==
        "fedadam:lr=0.01,beta1=0.9,beta2=0.99,tau=0.001,clip=0");
  CHECK(parse_strategy_spec("multikrum:f=2,m=5")->krum_m == 5);
}

TEST_CASE("factory: clear errors") {
  CHECK(error_of("fedsgd") ==
        "unknown strategy 'fedsgd' (known: fedavg, fedprox, fedavgm, fedadam, fedyogi, "
        "fedadagrad, median, trimmed_mean, krum, multikrum)");
  CHECK(error_of("fedavgm:lr=1") ==
        "strategy 'fedavgm:lr=1': unknown key 'lr' for fedavgm (keys: clip, momentum, server_lr)");
  CHECK(error_of("fedadam:lr=abc") == "strategy 'fedadam:lr=abc': lr='abc' is not a number");
  CHECK(error_of("fedavgm:momentum=1") ==
        "strategy 'fedavgm:momentum=1': momentum=1 is outside [0, 1)");
  CHECK(error_of("krum:f=1.5") == "strategy 'krum:f=1.5': f=1.5 is outside the integers >= 0");
  CHECK(error_of("trimmed_mean:beta=0.5") ==
        "strategy 'trimmed_mean:beta=0.5': beta=0.5 is outside [0, 0.5)");
  CHECK(error_of("multikrum:f=1") ==
        "strategy 'multikrum:f=1': multikrum needs m (updates to average)");
  CHECK(error_of("fedavg:clip") == "strategy 'fedavg:clip': 'clip' is not key=value");
  CHECK(error_of("fedavg:clip=-1") == "strategy 'fedavg:clip=-1': clip=-1 is outside [0, inf)");
}

TEST_CASE("state round trip: a restored strategy continues exactly like the original") {
  const std::vector<float> global0 = {0.5f, -0.25f, 2.0f};
  const std::vector<float> u1 = {1.0f, 0.0f, 1.5f}, u2 = {0.0f, 0.5f, 2.5f};
  std::vector<FitResult> results = {{"a", 3, u1, false}, {"b", 5, u2, false}};
  for (const char* spec : {"fedadam:lr=0.1", "fedyogi", "fedadagrad", "fedavgm", "fedavg"}) {
    CAPTURE(spec);
    auto original = std::move(make_strategy(spec, {})).value();
    auto round1 = original->aggregate_fit(1, global0, results, {});
    REQUIRE(round1.is_ok());
    const std::vector<uint8_t> state = original->save_state();

    auto restored = std::move(make_strategy(spec, {})).value();
    REQUIRE(restored->load_state(state).is_ok());
    CHECK(restored->last_round() == 1);
    CHECK(restored->save_state() == state);

    auto a = original->aggregate_fit(2, round1->values, results, {});
    auto b = restored->aggregate_fit(2, round1->values, results, {});
    REQUIRE((a.is_ok() && b.is_ok()));
    CHECK(a->values == b->values);  // bit-identical
  }
}

TEST_CASE("state: corrupt bytes and another strategy's state are refused") {
  auto adam = std::move(make_strategy("fedadam", {})).value();
  const std::vector<float> g = {1.0f};
  const std::vector<float> v = {2.0f};
  std::vector<FitResult> results = {{"a", 1, v, false}};
  REQUIRE(adam->aggregate_fit(1, g, results, {}).is_ok());
  std::vector<uint8_t> state = adam->save_state();

  auto yogi = std::move(make_strategy("fedyogi", {})).value();
  CHECK(yogi->load_state(state).message() ==
        "strategy state was saved by 'fedadam', not 'fedyogi'");
  CHECK(yogi->last_round() == 0);

  std::vector<uint8_t> flipped = state;
  flipped[10] ^= 1;
  CHECK(adam->load_state(flipped).message() == "strategy state checksum mismatch");
  CHECK(adam->load_state(std::span(state).first(5)).code() == StatusCode::kCorrupt);
  CHECK(adam->last_round() == 1);
}

TEST_CASE("aggregate_evaluate: example-weighted loss and accuracy, failures counted") {
  auto s = std::move(make_strategy("fedavg", {})).value();
  std::vector<ClientEvaluateResult> results = {
      {"a", 100, 0.5, 0.8}, {"b", 300, 1.0, 0.6}, {"c", 0, 9.0, 0.0}};
  std::vector<ClientFailure> failures = {{"d", "disconnected"}};
  auto summary = s->aggregate_evaluate(2, results, failures);
  REQUIRE(summary.is_ok());
  CHECK(summary->loss == doctest::Approx(0.875));
  CHECK(summary->accuracy == doctest::Approx(0.65));
  CHECK(summary->num_examples == 400);
  CHECK(summary->num_results == 2);
  CHECK(summary->num_failures == 2);
  CHECK(s->aggregate_evaluate(2, {}, failures).status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("configure_evaluate: every N rounds, a count or a fraction of the available clients") {
  StrategyOptions o;
  auto none = std::move(make_strategy("fedavg", o)).value();
  CHECK(none->configure_evaluate(1).clients_to_sample(10) == 0);
  o.evaluate_every = 2;
  o.evaluate_clients_per_round = 3;
  o.evaluate_batch_size = 64;
  auto s = std::move(make_strategy("fedavg", o)).value();
  CHECK(s->configure_evaluate(1).clients_to_sample(10) == 0);
  const EvaluateConfig c = s->configure_evaluate(4);
  CHECK(c.round == 4);
  CHECK(c.batch_size == 64);
  CHECK(c.clients_to_sample(10) == 3);
  CHECK(c.clients_to_sample(2) == 2);  // never more than are available
  CHECK(c.clients_to_sample(0) == 0);
  EvaluateConfig f;
  f.fraction = 0.5;
  CHECK(f.clients_to_sample(7) == 4);  // ceil
  f.clients_per_round = 5;
  CHECK(f.clients_to_sample(7) == 5);  // the larger of the two
  f.fraction = 1.0;
  CHECK(f.clients_to_sample(7) == 7);
}

TEST_CASE("centralized evaluation hook") {
  auto s = std::move(make_strategy("fedavg", {})).value();
  const std::vector<float> g = {1.0f};
  CHECK(!s->has_centralized_evaluator());
  CHECK(s->evaluate(1, g).status().code() == StatusCode::kFailedPrecondition);
  s->set_centralized_evaluator([](int64_t round, std::span<const float> global) {
    EvaluateSummary e;
    e.loss = static_cast<double>(round) + global[0];
    return Result<EvaluateSummary>(e);
  });
  CHECK(s->evaluate(3, g)->loss == 4.0);
}

TEST_CASE("client sampling is deterministic per (seed, round) and ignores input order") {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back("device-" + std::to_string(i));
  std::vector<std::string> reversed(ids.rbegin(), ids.rend());
  const auto a = sample_clients(ids, 10, 7, 3);
  CHECK(a.size() == 10u);
  CHECK(std::set<std::string>(a.begin(), a.end()).size() == 10u);
  CHECK(sample_clients(reversed, 10, 7, 3) == a);
  CHECK(sample_clients(ids, 10, 7, 4) != a);
  CHECK(sample_clients(ids, 10, 8, 3) != a);
  CHECK(sample_clients(ids, 80, 7, 3).size() == 50u);
  // Over-selection: 10 clients with 30% spare.
  CHECK(with_over_selection(10, 0.3) == 13);
  CHECK(with_over_selection(10, 0.0) == 10);
  const auto indices = sample_client_indices(1000, 20, 1, 1);
  CHECK(indices == sample_client_indices(1000, 20, 1, 1));
  CHECK(std::set<int64_t>(indices.begin(), indices.end()).size() == 20u);
  // Every client gets picked eventually: 200 rounds of 5 out of 20.
  std::set<int64_t> seen;
  for (int64_t round = 1; round <= 200; ++round) {
    for (int64_t i : sample_client_indices(20, 5, 9, round)) seen.insert(i);
  }
  CHECK(seen.size() == 20u);
}

}  // namespace
}  // namespace nf

namespace nf {
namespace {

TEST_CASE("load_state survives every truncation and random bytes without changing state") {
  auto s = std::move(make_strategy("fedyogi", {})).value();
  const std::vector<float> g = {1.0f, 2.0f};
  const std::vector<float> v = {1.5f, 2.5f};
  std::vector<FitResult> results = {{"a", 1, v, false}};
  REQUIRE(s->aggregate_fit(1, g, results, {}).is_ok());
  const std::vector<uint8_t> state = s->save_state();
  for (size_t n = 0; n < state.size(); ++n) {
    CHECK(!s->load_state(std::span(state).first(n)).is_ok());
  }
  Rng rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint8_t> noise(rng.uniform(100));
    for (auto& b : noise) b = static_cast<uint8_t>(rng.next_u64());
    CHECK(!s->load_state(noise).is_ok());
  }
  CHECK(s->save_state() == state);
}

}  // namespace
}  // namespace nf
