#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "core/fabric/budget.h"
#include "core/fabric/search.h"
#include "examples/study/budget_model.h"

namespace {

// Fitness that needs no scores: closeness to the budget, and an error when
// the budget model misses tolerance (as nf topo search does).
nf::Result<double> budget_fitness(const nf::FabricSpec& genome, double fraction) {
  auto m = nf::study::budget_mlp(genome, fraction, nf::InitRule::kSparseAware, 1);
  if (!m.is_ok()) return m.status();
  if (!m->within_tolerance) return nf::invalid_argument("misses the budget");
  return -std::fabs(m->weight_fraction - fraction);
}

}  // namespace

TEST_CASE("every genome the search returns keeps the budget in both hidden layers") {
  const double fraction = 0.1;
  nf::EvolutionOptions eo;
  eo.population = 6;
  eo.generations = 2;
  eo.survivors = 2;
  eo.seed = 3;
  auto ranked = nf::evolve_fabrics(nf::default_search_space(), eo, [&](const nf::FabricSpec& g) {
    return budget_fitness(g, fraction);
  });
  REQUIRE(ranked.is_ok());
  REQUIRE(!ranked->empty());
  for (const nf::ScoredGenome& s : *ranked) {
    auto m = nf::study::budget_mlp(s.genome, fraction, nf::InitRule::kSparseAware, 1);
    REQUIRE(m.is_ok());
    int32_t n_in = nf::study::kInputDim;
    for (int layer = 0; layer < 2; ++layer) {
      const int32_t n_out = m->spec.layers[static_cast<size_t>(layer)].width;
      auto c = nf::build_cascade(m->spec.layers[static_cast<size_t>(layer)].fabric, n_in, n_out);
      REQUIRE(c.is_ok());
      const double target = static_cast<double>(nf::params_for_density(fraction, n_in, n_out));
      CHECK(std::fabs(static_cast<double>(c->nnz()) / target - 1.0) <= nf::kBudgetTolerance);
      n_in = n_out;
    }
  }
  // Fittest first.
  for (size_t i = 1; i < ranked->size(); ++i)
    CHECK((*ranked)[i - 1].fitness >= (*ranked)[i].fitness);
}

TEST_CASE("the search is deterministic for a seed and memoises genomes") {
  nf::EvolutionOptions eo;
  eo.population = 4;
  eo.generations = 3;
  eo.survivors = 2;
  int calls = 0;
  auto fit = [&](const nf::FabricSpec& g) -> nf::Result<double> {
    ++calls;
    return static_cast<double>(nf::format_fabric_spec(g).size() % 7);
  };
  auto a = nf::evolve_fabrics(nf::default_search_space(), eo, fit);
  const int calls_a = calls;
  auto b = nf::evolve_fabrics(nf::default_search_space(), eo, fit);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  REQUIRE(a->size() == b->size());
  for (size_t i = 0; i < a->size(); ++i) CHECK((*a)[i].genome == (*b)[i].genome);
  CHECK(calls_a <= eo.population * eo.generations);
  CHECK(static_cast<int>(a->size()) == calls_a);  // each distinct genome scored once
}

TEST_CASE("the search rejects bad options and reports when nothing is feasible") {
  nf::EvolutionOptions eo;
  eo.survivors = eo.population + 1;
  auto bad = nf::evolve_fabrics(nf::default_search_space(), eo,
                                [](const nf::FabricSpec&) -> nf::Result<double> { return 1.0; });
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().message().find("survivors") != std::string::npos);

  nf::EvolutionOptions small;
  small.population = 3;
  small.generations = 1;
  small.survivors = 1;
  auto none = nf::evolve_fabrics(nf::default_search_space(), small,
                                 [](const nf::FabricSpec&) -> nf::Result<double> {
                                   return nf::invalid_argument("never fits");
                                 });
  REQUIRE(!none.is_ok());
  CHECK(none.status().message().find("never fits") != std::string::npos);

  nf::SearchSpace empty;
  CHECK(!nf::evolve_fabrics(empty, small, [](const nf::FabricSpec&) -> nf::Result<double> {
           return 1.0;
         }).is_ok());
}

TEST_CASE("mutation stays inside the search space") {
  nf::SearchSpace space = nf::default_search_space();
  nf::Rng rng(9);
  nf::FabricSpec g = nf::random_genome(space, rng);
  for (int i = 0; i < 200; ++i) {
    g = nf::mutate_genome(g, space, rng);
    CHECK(std::find(space.kinds.begin(), space.kinds.end(), g.kind) != space.kinds.end());
    if (g.kind == nf::FabricKind::kClos) CHECK((g.params.n >= 2 && g.params.n <= space.max_clos_n));
    if (g.kind == nf::FabricKind::kButterfly) {
      CHECK((g.params.radix >= 2 && g.params.radix <= space.max_radix));
    }
  }
}

TEST_CASE("bottleneck fraction: rank over the narrower side, 1 without a narrow hidden sublayer") {
  nf::FabricSpec low_rank;
  low_rank.kind = nf::FabricKind::kLowRank;
  low_rank.params.rank = 6;
  auto c = nf::build_cascade(low_rank, 300, 100);
  REQUIRE(c.is_ok());
  CHECK(nf::study::bottleneck_fraction(*c) == doctest::Approx(0.06));

  nf::FabricSpec clos;
  clos.kind = nf::FabricKind::kClos;
  clos.params.n = 17;  // hidden widths 72 and 68 for 100 outputs
  clos.params.m = 4;
  clos.params.r = 18;
  c = nf::build_cascade(clos, 300, 100);
  REQUIRE(c.is_ok());
  CHECK(nf::study::bottleneck_fraction(*c) == doctest::Approx(0.68));

  nf::FabricSpec dense;
  c = nf::build_cascade(dense, 300, 100);
  REQUIRE(c.is_ok());
  CHECK(nf::study::bottleneck_fraction(*c) == 1.0);
}

TEST_CASE("the fitted fitness prefers mixing and penalises a narrow bottleneck, not reachability") {
  nf::study::ModelScores s;
  s.spectral_ratio = 0.5;
  s.bottleneck = 0.1;
  s.reachable = 1;
  s.path_cv = 0;
  CHECK(nf::study::data_free_fitness(s) ==
        doctest::Approx(0.5 * nf::study::kFitnessMixing - nf::study::kFitnessBottleneck));
  nf::study::ModelScores unreachable = s;
  unreachable.reachable = 0;
  unreachable.path_cv = 3;
  CHECK(nf::study::data_free_fitness(unreachable) == nf::study::data_free_fitness(s));
  // Below 1% the bottleneck term stops falling (log of a floor).
  s.bottleneck = 0.001;
  nf::study::ModelScores floor = s;
  floor.bottleneck = 0.01;
  CHECK(nf::study::data_free_fitness(s) == nf::study::data_free_fitness(floor));

  // On real models at 10%: low-rank (a rank-25 bottleneck) and the torus
  // (poor mixing) rank below Clos, as they trained in the study.
  auto score = [](nf::FabricKind kind) {
    nf::FabricSpec f;
    f.kind = kind;
    auto m = nf::study::budget_mlp(f, 0.1, nf::InitRule::kSparseAware, 1);
    REQUIRE(m.is_ok());
    nf::ScoreOptions so;
    so.expressivity = false;
    auto sc = nf::study::model_scores(m->spec, so);
    REQUIRE(sc.is_ok());
    return nf::study::data_free_fitness(*sc);
  };
  const double clos = score(nf::FabricKind::kClos);
  CHECK(score(nf::FabricKind::kLowRank) < clos);
  CHECK(score(nf::FabricKind::kTorus) < clos);
}
