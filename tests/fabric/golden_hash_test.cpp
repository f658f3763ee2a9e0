#include <doctest/doctest.h>

#include <cstdint>

#include "core/fabric/fabric_spec.h"
#include "core/util/hash.h"

namespace nf {
namespace {

// Golden mask hashes of a 784 -> 300 layer. The masks are derived with
// integer arithmetic and nf::Rng only, so these values must be the same on
// every host (the aarch64 cross build runs this test under qemu). A change
// here changes the identity of every model built on that fabric.
TEST_CASE("mask hashes are golden and host-independent") {
  struct Golden {
    const char* spec;
    uint64_t hash;
    int64_t nnz;
  };
  const Golden golden[] = {
      {"dense", 0x1e73f253cdda5e64ULL, 235200},
      {"low_rank:rank=16", 0x8f875c5d253e59d3ULL, 17344},
      {"clos", 0xb9affa3448b36c65ULL, 52304},
      {"clos:m=12,r=28", 0xecb58328650891efULL, 22416},
      {"butterfly:radix=4", 0x52b00b242a6dec9cULL, 16624},
      {"benes:radix=2", 0x3c10f7601bbc1ca6ULL, 36984},
      {"parallel_butterfly:radix=3,copies=2", 0x43e6754bd1a0f8b7ULL, 72114},
      {"hypercube", 0xf3ca1b7977f3aa9eULL, 102036},
      {"hypercube:loopless=1", 0x3a2fc891e9b28715ULL, 92760},
      {"torus:depth=4", 0x38209271621697f7ULL, 13260},
      {"radix_net", 0xcfa5c686e72a3085ULL, 30352},
      {"random_fan_in:fan_in=16,depth=2,seed=7", 0xb1494297b729c4ceULL, 17344},
      {"erdos_renyi:epsilon_milli=20000,seed=1", 0xe61c9beb39b82098ULL, 21680},
  };
  for (const Golden& g : golden) {
    auto spec = parse_fabric_spec(g.spec);
    REQUIRE(spec.is_ok());
    auto c = build_cascade(*spec, 784, 300);
    REQUIRE(c.is_ok());
    CHECK_MESSAGE(c->nnz() == g.nnz, g.spec);
    CHECK_MESSAGE(hash_hex(mask_hash(*c)) == hash_hex(g.hash), g.spec);
  }
}

// A widening layer, 37 -> 100: padding on both sides, the random fan-in's
// per-input widening stage, a multi-stage Erdos-Renyi.
TEST_CASE("mask hashes of a widening layer are golden") {
  struct Golden {
    const char* spec;
    uint64_t hash;
    int64_t nnz;
  };
  const Golden golden[] = {
      {"clos", 0xa806c3a7bcde52e7ULL, 1211},
      {"butterfly:radix=3", 0x4db276e6f03dabb1ULL, 2598},
      {"parallel_butterfly:radix=2,copies=3", 0x258c7194c6d4d418ULL, 4662},
      {"torus", 0x50725a6f3bffc2cbULL, 4685},
      {"radix_net:radices=3x4x9", 0x71760c382179d051ULL, 1443},
      {"random_fan_in:fan_in=5,seed=3", 0x26bd3dcd1c60f7e2ULL, 1185},
      {"erdos_renyi:epsilon_milli=5000,depth=2,seed=9", 0x78b6313d302b43d4ULL, 1685},
  };
  for (const Golden& g : golden) {
    auto spec = parse_fabric_spec(g.spec);
    REQUIRE(spec.is_ok());
    auto c = build_cascade(*spec, 37, 100);
    REQUIRE(c.is_ok());
    CHECK_MESSAGE(c->nnz() == g.nnz, g.spec);
    CHECK_MESSAGE(hash_hex(mask_hash(*c)) == hash_hex(g.hash), g.spec);
  }
}

}  // namespace
}  // namespace nf
