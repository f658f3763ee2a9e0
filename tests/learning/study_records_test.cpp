#include <doctest/doctest.h>

#include "examples/study/budget_model.h"
#include "examples/study/study_records.h"

TEST_CASE("study records survive a CSV round trip, quoted spec included") {
  nf::study::RunRecord r;
  r.experiment = "budget";
  r.fabric = "clos";
  r.budget = 0.1;
  r.weight_fraction = 0.1004;
  r.weights = 26726;
  r.init = "sparse";
  r.depth = 3;
  r.batch = 32;
  r.seed = 2;
  r.epochs = 3;
  r.train_examples = 60000;
  r.test_accuracy = 0.8712;
  r.epoch_accuracies = {0.81, 0.85, 0.8712};
  r.spec = "784|300:relu:clos:n=28,m=3,r=28|100:relu:dense|10:linear:dense;init=sparse;seed=2";
  const std::string csv = nf::study::records_to_csv({r, r});
  auto back = nf::study::records_from_csv(csv);
  REQUIRE(back.is_ok());
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].spec == r.spec);
  CHECK((*back)[0].key() == r.key());
  CHECK((*back)[0].epoch_accuracies.size() == 3);
  CHECK((*back)[1].test_accuracy == doctest::Approx(0.8712));

  auto bad = nf::study::records_from_csv("not,a,header\n");
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().message().find("line 1") != std::string::npos);
}

TEST_CASE("budget models land near the requested fraction of the dense MLP") {
  nf::FabricSpec clos;
  clos.kind = nf::FabricKind::kClos;
  auto m = nf::study::budget_mlp(clos, 0.1, nf::InitRule::kSparseAware, 1);
  REQUIRE(m.is_ok());
  CHECK(m->within_tolerance);
  // Hidden layers at 10%, the 1000-weight classifier dense: about 10.3% overall.
  CHECK(m->weight_fraction == doctest::Approx(0.1 + 0.9 * 1000.0 / 266200).epsilon(0.05));
  auto bad = nf::study::budget_mlp(clos, 1.5, nf::InitRule::kSparseAware, 1);
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().message().find("1.5") != std::string::npos);
}
