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
