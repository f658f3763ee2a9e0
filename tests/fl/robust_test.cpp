#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/fl/robust.h"
#include "core/fl/strategy_factory.h"
#include "core/fl/update_check.h"

namespace nf {
namespace {

std::vector<std::span<const float>> views(const std::vector<std::vector<float>>& updates) {
  return {updates.begin(), updates.end()};
}

TEST_CASE("coordinate median: odd and even counts, hand computed") {
  const std::vector<std::vector<float>> odd = {{1, 10}, {3, -5}, {2, 100}};
  std::vector<float> out(2);
  coordinate_median(views(odd), out);
  CHECK(out == std::vector<float>{2, 10});
  const std::vector<std::vector<float>> even = {{1, 0}, {4, 8}, {2, 2}, {100, -1}};
  coordinate_median(views(even), out);
  CHECK(out == std::vector<float>{3, 1});  // (2+4)/2, (0+2)/2
}

TEST_CASE("trimmed mean drops floor(beta n) from each end") {
  const std::vector<std::vector<float>> u = {{1}, {2}, {3}, {4}, {1000}};
  std::vector<float> out(1);
  REQUIRE(trimmed_mean(views(u), 0.2, out).is_ok());  // drop 1 and 1000
  CHECK(out[0] == 3.0f);
  REQUIRE(trimmed_mean(views(u), 0.0, out).is_ok());
  CHECK(out[0] == doctest::Approx(202.0));
  CHECK(trimmed_mean(views(u), 0.5, out).message() ==
        "trimmed mean beta 0.500000 is outside [0, 0.5)");
  const std::vector<std::vector<float>> two = {{1}, {2}};
  CHECK(trimmed_mean(views(two), 0.49, out).is_ok());  // floor(0.98) = 0
}

TEST_CASE("krum scores and selection, hand computed") {
  // Points on a line: 0, 1, 2, 10. f = 1: n - f - 2 = 1 nearest neighbour.
  const std::vector<std::vector<float>> u = {{0}, {1}, {2}, {10}, {1.5f}};
  const auto scores = krum_scores(views(u), 1);      // 2 nearest neighbours each
  CHECK(scores[0] == doctest::Approx(1.0 + 2.25));   // 1, 1.5
  CHECK(scores[1] == doctest::Approx(0.25 + 1.0));   // 1.5, 0 or 2
  CHECK(scores[4] == doctest::Approx(0.25 + 0.25));  // 1, 2
  CHECK(scores[3] == doctest::Approx(64.0 + 72.25));
  auto best = krum_select(views(u), 1, 1);
  REQUIRE(best.is_ok());
  CHECK(*best == std::vector<int32_t>{4});
  auto three = krum_select(views(u), 1, 3);
  REQUIRE(three.is_ok());
  CHECK((*three)[0] == 4);
  CHECK(std::find(three->begin(), three->end(), 3) == three->end());
  CHECK(krum_select(views(u), 2, 1).status().message() ==
        "krum with f=2 needs at least 7 updates, got 5");
  CHECK(krum_select(views(u), 1, 5).status().message() ==
        "multi-krum m=5 must be in [1, n - f = 4]");
}

TEST_CASE("median, trimmed mean and krum strategies ignore one huge outlier") {
  const std::vector<float> global = {0.0f, 0.0f};
  std::vector<std::vector<float>> updates = {{1.0f, 1.0f},     {1.1f, 0.9f},  {0.9f, 1.1f},
                                             {1.0f, 1.05f},    {1.05f, 1.0f}, {1.0f, 0.95f},
                                             {-500.0f, 900.0f}};
  for (const char* spec : {"median", "trimmed_mean:beta=0.2", "krum:f=2", "multikrum:f=2,m=3"}) {
    CAPTURE(spec);
    StrategyOptions options;
    options.bounds.max_delta_ratio = 0;  // global is zero: the ratio check would not apply anyway
    auto s = make_strategy(spec, options);
    REQUIRE(s.is_ok());
    std::vector<FitResult> results;
    for (size_t i = 0; i < updates.size(); ++i) {
      // The attacker also claims a huge example count: robust rules count clients.
      results.push_back({std::to_string(i), i == 6 ? 1000000 : 10, updates[i], false});
    }
    auto out = (*s)->aggregate_fit(1, global, results, {});
    REQUIRE_MESSAGE(out.is_ok(), out.status().to_string());
    CHECK(out->values[0] == doctest::Approx(1.0).epsilon(0.1));
    CHECK(out->values[1] == doctest::Approx(1.0).epsilon(0.1));
  }
  // FedAvg, for contrast, is dragged away.
  auto fedavg = make_strategy("fedavg", {});
  std::vector<FitResult> results;
  for (size_t i = 0; i < updates.size(); ++i) {
    results.push_back({std::to_string(i), 10, updates[i], false});
  }
  auto out = (*fedavg)->aggregate_fit(1, global, results, {});
  CHECK(out->values[0] < -50.0f);
}

TEST_CASE("krum strategy with too few updates fails the round and keeps state") {
  auto s = make_strategy("krum:f=2", {});
  const std::vector<float> global = {0.0f};
  const std::vector<float> v = {1.0f};
  std::vector<FitResult> results = {{"a", 1, v, false}, {"b", 1, v, false}};
  auto out = (*s)->aggregate_fit(4, global, results, {});
  CHECK(out.status().message() == "round 4: krum with f=2 needs at least 7 updates, got 2");
  CHECK((*s)->last_round() == 0);
}

TEST_CASE("clipping bounds each update's delta norm before averaging") {
  CHECK(clip_factor(10.0, 5.0) == 0.5);
  CHECK(clip_factor(3.0, 5.0) == 1.0);
  CHECK(clip_factor(3.0, 0.0) == 1.0);
  const std::vector<float> global = {1.0f, 1.0f};
  const std::vector<float> big = {4.0f, 5.0f};    // delta (3, 4), norm 5
  const std::vector<float> small = {1.3f, 1.4f};  // delta (0.3, 0.4), norm 0.5
  for (const char* spec : {"fedavg:clip=1", "median:clip=1"}) {
    CAPTURE(spec);
    auto s = make_strategy(spec, {});
    REQUIRE(s.is_ok());
    std::vector<FitResult> one = {{"big", 1, big, false}};
    auto out = (*s)->aggregate_fit(1, global, one, {});
    REQUIRE(out.is_ok());
    CHECK(out->num_clipped == 1);
    CHECK(out->values[0] == doctest::Approx(1.6));  // delta clipped to (0.6, 0.8)
    CHECK(out->values[1] == doctest::Approx(1.8));
    std::vector<FitResult> two = {{"small", 1, small, false}};
    out = (*s)->aggregate_fit(2, global, two, {});
    CHECK(out->num_clipped == 0);
    CHECK(out->values[0] == doctest::Approx(1.3));
  }
  // Averaged deltas of clipped updates never exceed the bound. (These deltas
  // are far beyond 10 x the global norm, so the ratio check is turned off:
  // validation runs before clipping.)
  StrategyOptions options;
  options.bounds.max_delta_ratio = 0;
  auto s = make_strategy("fedavg:clip=2", options);
  std::vector<std::vector<float>> updates = {{100, 0}, {0, -70}, {30, 30}};
  std::vector<FitResult> results;
  for (size_t i = 0; i < updates.size(); ++i) {
    results.push_back({std::to_string(i), 1 + static_cast<int64_t>(i), updates[i], true});
  }
  auto out = (*s)->aggregate_fit(1, global, results, {});
  REQUIRE(out.is_ok());
  const std::vector<float> delta = {out->values[0] - 1.0f, out->values[1] - 1.0f};
  CHECK(l2_norm(delta) <= 2.0 + 1e-5);
  CHECK(out->num_clipped == 3);
}

TEST_CASE("update validation names the problem and the value") {
  const std::vector<float> global = {3.0f, 4.0f};  // norm 5
  const double norm = l2_norm(global);
  CHECK(norm == 5.0);
  UpdateBounds bounds;  // ratio 10 by default
  const float nan = std::nanf("");
  const float inf = std::numeric_limits<float>::infinity();

  const std::vector<float> short_update = {1.0f};
  CHECK(check_update(global, norm, short_update, false, bounds).status().message() ==
        "length 1 differs from the model's 2");
  const std::vector<float> with_nan = {1.0f, nan};
  CHECK(check_update(global, norm, with_nan, false, bounds).status().message() ==
        "value[1] is nan");
  const std::vector<float> with_inf = {-inf, 1.0f};
  CHECK(check_update(global, norm, with_inf, true, bounds).status().message() ==
        "value[0] is -inf");

  // A trained model scaled 100x: delta = 99 * global, norm 495 > 10 * 5.
  const std::vector<float> scaled = {300.0f, 400.0f};
  CHECK(check_update(global, norm, scaled, false, bounds).status().message() ==
        "delta norm 495 exceeds 10 x the global norm 5 (bound 50)");
  // An honest update passes and reports its delta norm.
  const std::vector<float> honest = {3.3f, 4.4f};
  auto ok = check_update(global, norm, honest, false, bounds);
  REQUIRE(ok.is_ok());
  CHECK(*ok == doctest::Approx(0.5));

  UpdateBounds absolute{.max_delta_norm = 0.1, .max_delta_ratio = 0};
  CHECK(check_update(global, norm, honest, false, absolute).status().message() ==
        "delta norm 0.5 exceeds the bound 0.1");
}

}  // namespace
}  // namespace nf
