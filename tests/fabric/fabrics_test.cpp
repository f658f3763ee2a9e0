#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "core/fabric/fabric_spec.h"
#include "core/fabric/path_counts.h"
#include "tests/fabric/structure_check.h"

namespace nf {
namespace {

Cascade build(const std::string& text, int32_t n_in, int32_t n_out) {
  auto spec = parse_fabric_spec(text);
  REQUIRE_MESSAGE(spec.is_ok(), spec.status().to_string());
  auto c = build_cascade(*spec, n_in, n_out);
  REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
  CHECK_MESSAGE(test::check_cascade(*c) == "", text, " ", n_in, "->", n_out);
  return std::move(c).value();
}

uint64_t min_paths(const PathCounts& p) {
  return *std::min_element(p.counts.begin(), p.counts.end());
}
uint64_t max_paths(const PathCounts& p) {
  return *std::max_element(p.counts.begin(), p.counts.end());
}

TEST_CASE("dense and low-rank") {
  const Cascade d = build("dense", 7, 5);
  CHECK(d.depth() == 1);
  CHECK(d.nnz() == 35);
  CHECK(d.sublayers[0].structure.has_value());
  const Cascade lr = build("low_rank:rank=3", 7, 5);
  CHECK(lr.widths() == std::vector<int32_t>{7, 3, 5});
  CHECK(lr.nnz() == 3 * (7 + 5));
  CHECK(min_paths(path_counts(lr)) == 3);
}

TEST_CASE("Clos C(n, m, r) has m r (2n + r) weights and exactly m paths per pair") {
  for (auto [n, m, r] : {std::tuple{4, 3, 5}, std::tuple{2, 2, 2}, std::tuple{3, 5, 4}}) {
    const std::string text =
        "clos:n=" + std::to_string(n) + ",m=" + std::to_string(m) + ",r=" + std::to_string(r);
    const Cascade c = build(text, n * r, n * r);
    CHECK(c.depth() == 3);
    CHECK(c.nnz() == int64_t{m} * r * (2 * n + r));
    const PathCounts p = path_counts(c);
    CHECK(min_paths(p) == static_cast<uint64_t>(m));
    CHECK(max_paths(p) == static_cast<uint64_t>(m));
  }
}

TEST_CASE("Clos with unequal and non-factoring sizes") {
  // 50 inputs on r = 7 switches of n = 8 (56, 6 padded); 23 outputs on
  // egress switches of 4 (6 switches, 24, 1 cropped).
  const Cascade c = build("clos:m=5,r=7", 50, 23);
  CHECK(c.widths() == std::vector<int32_t>{50, 35, 30, 23});
  CHECK(c.nnz() == 50 * 5 + 5 * 7 * 6 + 23 * 5);
  const PathCounts p = path_counts(c);
  CHECK(min_paths(p) == 5);
  CHECK(max_paths(p) == 5);
  // Default 784 -> 300: r = n = m = 28.
  const Cascade big = build("clos", 784, 300);
  CHECK(big.nnz() == 784 * 28 + 28 * 28 * 28 + 300 * 28);
}

TEST_CASE("Clos CSR order equals block-major row-major order") {
  const Cascade c = build("clos:m=5,r=7", 50, 23);
  for (const Sublayer& s : c.sublayers) {
    std::vector<std::pair<int32_t, int32_t>> csr, blocked;
    for (int32_t r = 0; r < s.mask.rows; ++r) {
      for (int32_t e = s.mask.row_ptr[r]; e < s.mask.row_ptr[r + 1]; ++e) {
        csr.emplace_back(r, s.mask.col_idx[e]);
      }
    }
    for (const Block& b : s.structure->blocks) {
      for (int32_t r : b.rows) {
        for (int32_t col : b.cols) blocked.emplace_back(r, col);
      }
    }
    CHECK(csr == blocked);
  }
}

TEST_CASE("butterfly: one path per pair, k N log_k N weights") {
  const Cascade b2 = build("butterfly:radix=2", 16, 16);
  CHECK(b2.depth() == 4);
  CHECK(b2.nnz() == 2 * 16 * 4);
  CHECK(min_paths(path_counts(b2)) == 1);
  CHECK(max_paths(path_counts(b2)) == 1);
  const Cascade b3 = build("butterfly:radix=3", 27, 27);
  CHECK(b3.nnz() == 3 * 27 * 3);
  // Padded 20 -> 10 on 27 nodes: still exactly one path per real pair.
  const Cascade padded = build("butterfly:radix=3", 20, 10);
  CHECK(padded.depth() == 3);
  CHECK(min_paths(path_counts(padded)) == 1);
  CHECK(max_paths(path_counts(padded)) == 1);
  const Cascade big = build("butterfly:radix=4", 200, 77);
  CHECK(big.depth() == 4);
  CHECK(min_paths(path_counts(big)) == 1);
  CHECK(max_paths(path_counts(big)) == 1);
}

TEST_CASE("parallel butterflies: p paths per pair; Benes: k^(L-1) paths") {
  const Cascade p = build("parallel_butterfly:radix=2,copies=3", 16, 16);
  CHECK(p.widths() == std::vector<int32_t>{16, 48, 48, 48, 16});
  CHECK(p.nnz() == 3 * 2 * 16 * 4);
  CHECK(min_paths(path_counts(p)) == 3);
  CHECK(max_paths(path_counts(p)) == 3);
  const Cascade pb = build("parallel_butterfly:radix=3,copies=2", 20, 10);
  CHECK(min_paths(path_counts(pb)) == 2);
  CHECK(max_paths(path_counts(pb)) == 2);

  const Cascade b = build("benes:radix=2", 8, 8);
  CHECK(b.depth() == 5);
  CHECK(b.nnz() == 2 * 8 * 5);
  CHECK(min_paths(path_counts(b)) == 4);
  CHECK(max_paths(path_counts(b)) == 4);
  const Cascade b3 = build("benes:radix=3", 9, 9);
  CHECK(min_paths(path_counts(b3)) == 3);
  CHECK(max_paths(path_counts(b3)) == 3);
}

TEST_CASE("hypercube: self-loops connect every pair, loopless is caught") {
  const Cascade h = build("hypercube", 16, 16);
  CHECK(h.depth() == 4);
  CHECK(h.nnz() == 4 * 16 * 5);
  CHECK(min_paths(path_counts(h)) > 0);
  CHECK(min_paths(path_counts(build("hypercube:depth=3", 16, 16))) == 0);
  // Without self-loops the graph is bipartite: only pairs whose Hamming
  // distance has the parity of the depth are connected, at any depth.
  for (int depth : {4, 5, 8}) {
    const Cascade loopless =
        build("hypercube:depth=" + std::to_string(depth) + ",loopless=1", 16, 16);
    CHECK(loopless.nnz() == depth * 16 * 4);
    const PathCounts p = path_counts(loopless);
    CHECK(min_paths(p) == 0);
    CHECK(p.at(0, 0) == (depth % 2 == 0 ? p.at(0, 0) : 0));
    CHECK(p.at(1, 0) == (depth % 2 == 1 ? p.at(1, 0) : 0));
  }
}

TEST_CASE("torus needs 2 floor(k/2) stages") {
  for (int k : {3, 4, 5, 6}) {
    const int n = k * k;
    const int needed = 2 * (k / 2);
    const Cascade full = build("torus", n, n);
    CHECK(full.depth() == needed);
    CHECK(min_paths(path_counts(full)) > 0);
    if (needed > 1) {
      const Cascade shallow = build("torus:depth=" + std::to_string(needed - 1), n, n);
      CHECK(min_paths(path_counts(shallow)) == 0);
    }
    if (k >= 3) CHECK(full.nnz() == int64_t{needed} * n * 5);
  }
  CHECK(build("torus:depth=1", 4, 4).nnz() == 4 * 3);  // k = 2: left == right neighbour
}

TEST_CASE("RadiX-Net: one path per pair with a full radix list") {
  const Cascade r = build("radix_net:radices=2x3x4", 24, 24);
  CHECK(r.nnz() == (2 + 3 + 4) * 24);
  CHECK(min_paths(path_counts(r)) == 1);
  CHECK(max_paths(path_counts(r)) == 1);
  const Cascade padded = build("radix_net", 200, 77);  // radices 15x14
  CHECK(min_paths(path_counts(padded)) == 1);
  CHECK(max_paths(path_counts(padded)) == 1);
}

TEST_CASE("random fabrics: exact counts, seeded") {
  const Cascade f = build("random_fan_in:fan_in=5,depth=2,seed=3", 40, 12);
  CHECK(f.widths() == std::vector<int32_t>{40, 40, 12});
  CHECK(f.nnz() == 40 * 5 + 12 * 5);
  for (const Sublayer& s : f.sublayers) {
    for (int32_t r = 0; r < s.mask.rows; ++r) CHECK(s.mask.row_ptr[r + 1] - s.mask.row_ptr[r] == 5);
  }
  CHECK(mask_hash(f) != mask_hash(build("random_fan_in:fan_in=5,depth=2,seed=4", 40, 12)));
  CHECK(mask_hash(f) == mask_hash(build("random_fan_in:fan_in=5,depth=2,seed=3", 40, 12)));
  const Cascade er = build("erdos_renyi:epsilon_milli=2500", 40, 12);
  CHECK(er.nnz() == (2500 * (40 + 12) + 500) / 1000);
}

TEST_CASE("structure blocks match the CSR masks of every structured fabric") {
  const char* structured[] = {"dense",
                              "low_rank:rank=7",
                              "clos",
                              "clos:m=3,r=5",
                              "clos:n=13",
                              "butterfly",
                              "butterfly:radix=5",
                              "benes:radix=3",
                              "parallel_butterfly",
                              "parallel_butterfly:radix=4,copies=3"};
  for (const char* text : structured) {
    for (auto [n_in, n_out] : {std::pair{784, 300}, std::pair{37, 61}, std::pair{64, 64}}) {
      const Cascade c = build(text, n_in, n_out);  // build() runs check_cascade
      for (const Sublayer& s : c.sublayers) CHECK_MESSAGE(s.structure.has_value(), text);
    }
  }
}

}  // namespace
}  // namespace nf
