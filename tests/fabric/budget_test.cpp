#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "core/fabric/budget.h"

namespace nf {
namespace {

BudgetResult solve(const std::string& text, int32_t n_in, int32_t n_out, int64_t target) {
  auto spec = parse_fabric_spec(text);
  REQUIRE(spec.is_ok());
  auto r = solve_budget(*spec, n_in, n_out, target);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  // The reported count is the real one.
  auto c = build_cascade(r->spec, n_in, n_out);
  REQUIRE(c.is_ok());
  CHECK(c->nnz() == r->params);
  CHECK(r->relative_error ==
        doctest::Approx(static_cast<double>(r->params - target) / static_cast<double>(target)));
  return std::move(r).value();
}

TEST_CASE("budget solver lands within 5% for the fabrics with fine-grained sizes") {
  // 784 -> 300 at 5%, 10%, 20% and 50% of dense.
  for (double density : {0.05, 0.10, 0.20, 0.50}) {
    const int64_t target = params_for_density(density, 784, 300);
    for (const char* kind : {"clos", "low_rank", "random_fan_in", "erdos_renyi"}) {
      const BudgetResult r = solve(kind, 784, 300, target);
      CHECK_MESSAGE(r.within_tolerance, kind, " at ", density, ": ", format_fabric_spec(r.spec),
                    " has ", r.params);
      CHECK(std::abs(r.relative_error) <= kBudgetTolerance);
    }
  }
  // Stage-stepped and copy-stepped fabrics once the budget spans several steps.
  for (double density : {0.20, 0.50}) {
    const int64_t target = params_for_density(density, 784, 300);
    for (const char* kind : {"parallel_butterfly", "hypercube", "torus"}) {
      CHECK_MESSAGE(solve(kind, 784, 300, target).within_tolerance, kind, " at ", density);
    }
  }
  CHECK(solve("clos", 1024, 1024, params_for_density(0.1, 1024, 1024)).within_tolerance);
}

TEST_CASE("budget solver keeps the parameters the spec fixes") {
  const BudgetResult r = solve("clos:r=28", 784, 300, 23520);
  CHECK(r.spec.params.r == 28);
  CHECK(r.spec.params.n == 28);
  CHECK(r.within_tolerance);
  const BudgetResult b = solve("parallel_butterfly:radix=4", 784, 300, 5 * 16624);
  CHECK(b.spec.params.radix == 4);
  CHECK(b.spec.params.copies == 5);
  CHECK(b.relative_error == 0);
}

TEST_CASE("fabrics that cannot reach a budget say why") {
  const BudgetResult d = solve("dense", 784, 300, 23520);
  CHECK_FALSE(d.within_tolerance);
  CHECK(d.note == "dense has a single size, n_in * n_out");
  const BudgetResult b = solve("butterfly", 784, 300, params_for_density(0.5, 784, 300));
  CHECK_FALSE(b.within_tolerance);
  CHECK(b.note.find("radix") != std::string::npos);
  auto spec = parse_fabric_spec("clos");
  REQUIRE(spec.is_ok());
  CHECK(solve_budget(*spec, 784, 300, 0).status().message() ==
        "budget: target of 0 parameters must be at least 1");
}

}  // namespace
}  // namespace nf
