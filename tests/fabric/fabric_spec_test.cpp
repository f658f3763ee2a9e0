#include <doctest/doctest.h>

#include <string>

#include "core/fabric/fabric_spec.h"

namespace nf {
namespace {

TEST_CASE("fabric kinds round-trip through their names") {
  for (const char* name : {"dense", "low_rank", "clos", "butterfly", "benes", "parallel_butterfly",
                           "hypercube", "torus", "radix_net", "random_fan_in", "erdos_renyi"}) {
    auto kind = parse_fabric_kind(name);
    REQUIRE(kind.is_ok());
    CHECK(fabric_kind_name(*kind) == name);
  }
}

TEST_CASE("spec text round-trips in canonical form") {
  for (const char* text :
       {"dense", "clos:n=28,m=24,r=28", "butterfly:radix=4", "parallel_butterfly:radix=2,copies=3",
        "hypercube:depth=5,loopless=1", "radix_net:radices=4x7x28",
        "random_fan_in:fan_in=16,depth=3,seed=7", "erdos_renyi:epsilon_milli=20000,seed=1"}) {
    auto spec = parse_fabric_spec(text);
    REQUIRE_MESSAGE(spec.is_ok(), spec.status().to_string());
    CHECK(format_fabric_spec(*spec) == text);
  }
  auto shuffled = parse_fabric_spec(" clos: r=28 , n=28,m=24 ");
  REQUIRE(shuffled.is_ok());
  CHECK(format_fabric_spec(*shuffled) == "clos:n=28,m=24,r=28");
  CHECK(shuffled->params.m == 24);
}

std::string parse_error(const std::string& text) {
  auto spec = parse_fabric_spec(text);
  return spec.is_ok() ? "" : spec.status().message();
}

std::string build_error(const std::string& text, int32_t n_in, int32_t n_out) {
  auto spec = parse_fabric_spec(text);
  REQUIRE(spec.is_ok());
  auto c = build_cascade(*spec, n_in, n_out);
  return c.is_ok() ? "" : c.status().message();
}

TEST_CASE("bad specs are rejected with messages naming the bad thing") {
  CHECK(parse_error("").find("empty fabric spec") != std::string::npos);
  CHECK(parse_error("closs:n=2").find("unknown fabric kind 'closs'") != std::string::npos);
  CHECK(parse_error("clos:radix=2") == "clos: unknown parameter 'radix' (clos takes n, m, r)");
  CHECK(parse_error("clos:n=x") == "clos: n='x' is not a non-negative integer");
  CHECK(parse_error("clos:n=-3") == "clos: n='-3' is not a non-negative integer");
  CHECK(parse_error("clos:n=2,n=3") == "clos: parameter 'n' given twice");
  CHECK(parse_error("clos:n") == "clos: 'n' is not key=value");
  CHECK(parse_error("dense:seed=1").find("dense takes no parameters") != std::string::npos);
  CHECK(parse_error("radix_net:radices=4xx7") != "");

  CHECK(build_error("butterfly:radix=1", 16, 16) == "butterfly: radix=1 must be at least 2");
  CHECK(build_error("clos:n=10,r=10", 50, 50).find("empty ingress switch") != std::string::npos);
  CHECK(build_error("radix_net:radices=2x3", 10, 10) ==
        "radix_net: the product of the radices, 6, must be at least max(n_in, n_out) = 10");
  CHECK(build_error("hypercube:loopless=2", 8, 8) == "hypercube: loopless=2 must be 0 or 1");
  CHECK(build_error("dense", 0, 3).find("n_in=0") != std::string::npos);
  CHECK(build_error("hypercube", 1 << 30, 3).find("at most") != std::string::npos);
  CHECK(build_error("parallel_butterfly:radix=16", 10, 10).find("one stage") != std::string::npos);
  FabricSpec wrong;
  wrong.kind = FabricKind::kClos;
  wrong.params.radix = 4;
  CHECK(build_cascade(wrong, 8, 8).status().message() ==
        "clos does not take radix (it takes n, m, r)");
}

TEST_CASE("resolve fills the automatic parameters") {
  auto spec = parse_fabric_spec("clos");
  REQUIRE(spec.is_ok());
  auto resolved = resolve_fabric_spec(*spec, 784, 300);
  REQUIRE(resolved.is_ok());
  CHECK(format_fabric_spec(*resolved) == "clos:n=28,m=28,r=28");
  auto a = build_cascade(*spec, 784, 300), b = build_cascade(*resolved, 784, 300);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(mask_hash(*a) == mask_hash(*b));
}

}  // namespace
}  // namespace nf
