#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "examples/study/training_run.h"

namespace {

nf::study::RunOptions options(int epochs, nf::study::LrSchedule schedule, int warmup) {
  nf::study::RunOptions o;
  o.config.epochs = epochs;
  o.config.learning_rate = 0.004f;
  o.schedule = schedule;
  o.lr_decay = 0.5;
  o.warmup_epochs = warmup;
  return o;
}

}  // namespace

TEST_CASE("exponential schedule multiplies by the decay every epoch") {
  const auto o = options(4, nf::study::LrSchedule::kExponential, 0);
  CHECK(nf::study::epoch_learning_rate(o, 0) == doctest::Approx(0.004));
  CHECK(nf::study::epoch_learning_rate(o, 1) == doctest::Approx(0.002));
  CHECK(nf::study::epoch_learning_rate(o, 3) == doctest::Approx(0.0005));
}

TEST_CASE("cosine schedule starts at lr, halves mid-run and ends near zero") {
  const auto o = options(10, nf::study::LrSchedule::kCosine, 0);
  CHECK(nf::study::epoch_learning_rate(o, 0) == doctest::Approx(0.004));
  CHECK(nf::study::epoch_learning_rate(o, 5) == doctest::Approx(0.002));
  const double last = nf::study::epoch_learning_rate(o, 9);
  CHECK(last > 0);
  CHECK(last == doctest::Approx(0.004 * 0.5 * (1 + std::cos(std::numbers::pi * 0.9))));
  for (int e = 1; e < 10; ++e) {
    CHECK(nf::study::epoch_learning_rate(o, e) < nf::study::epoch_learning_rate(o, e - 1));
  }
}

TEST_CASE("warmup rises linearly, then the schedule starts at its epoch 0") {
  const auto o = options(7, nf::study::LrSchedule::kCosine, 3);
  CHECK(nf::study::epoch_learning_rate(o, 0) == doctest::Approx(0.001));
  CHECK(nf::study::epoch_learning_rate(o, 2) == doctest::Approx(0.003));
  CHECK(nf::study::epoch_learning_rate(o, 3) == doctest::Approx(0.004));
  CHECK(nf::study::epoch_learning_rate(o, 5) == doctest::Approx(0.002));  // cosine over 4 epochs
}

TEST_CASE("schedule names parse, unknown ones are named in the error") {
  CHECK(*nf::study::parse_lr_schedule("cosine") == nf::study::LrSchedule::kCosine);
  CHECK(*nf::study::parse_lr_schedule("exp") == nf::study::LrSchedule::kExponential);
  auto bad = nf::study::parse_lr_schedule("linear");
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().to_string().find("linear") != std::string::npos);
}
