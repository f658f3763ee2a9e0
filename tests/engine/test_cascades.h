// Hand-built cascades for engine tests, independent of core/fabric's builders.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/fabric/cascade.h"
#include "core/util/rng.h"

namespace nf::test {

using BlockList = std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>>;

// A structured sublayer from (rows, cols) blocks; entries touching a row >=
// n_rows or a column >= n_cols are dropped (the padding rule).
inline Sublayer block_sublayer(int32_t n_rows, int32_t n_cols, const BlockList& blocks) {
  Sublayer s;
  s.mask.rows = n_rows;
  s.mask.cols = n_cols;
  std::vector<std::vector<int32_t>> row_cols(static_cast<size_t>(n_rows));
  BlockStructure st;
  for (const auto& [rows, cols] : blocks) {
    Block b;
    for (int32_t c : cols) {
      if (c < n_cols) b.cols.push_back(c);
    }
    for (int32_t r : rows) {
      if (r < n_rows) b.rows.push_back(r);
    }
    std::sort(b.rows.begin(), b.rows.end());
    std::sort(b.cols.begin(), b.cols.end());
    if (b.rows.empty()) continue;
    for (int32_t r : b.rows) row_cols[r] = b.cols;
    st.blocks.push_back(std::move(b));
  }
  s.mask.row_ptr.push_back(0);
  for (const auto& cols : row_cols) {
    s.mask.col_idx.insert(s.mask.col_idx.end(), cols.begin(), cols.end());
    s.mask.row_ptr.push_back(static_cast<int32_t>(s.mask.col_idx.size()));
  }
  s.structure = std::move(st);
  return s;
}

inline Cascade dense_cascade(int32_t n_in, int32_t n_out) {
  std::vector<int32_t> rows(n_out), cols(n_in);
  for (int32_t i = 0; i < n_out; ++i) rows[i] = i;
  for (int32_t j = 0; j < n_in; ++j) cols[j] = j;
  Cascade c;
  c.n_in = n_in;
  c.n_out = n_out;
  c.sublayers.push_back(block_sublayer(n_out, n_in, {{rows, cols}}));
  return c;
}

// Clos C(n, m, r): r ingress blocks of n inputs, m middle blocks r x r, r
// egress blocks of ceil(n_out / r) outputs; strided rows play the permutations.
inline Cascade clos_cascade(int32_t n_in, int32_t n_out, int32_t n, int32_t m, int32_t r) {
  Cascade c;
  c.n_in = n_in;
  c.n_out = n_out;
  BlockList s1, s2, s3;
  for (int32_t i = 0; i < r; ++i) {
    std::vector<int32_t> rows, cols;
    for (int32_t t = 0; t < m; ++t) rows.push_back(i * m + t);
    for (int32_t j = 0; j < n; ++j) cols.push_back(i * n + j);
    s1.push_back({rows, cols});
  }
  for (int32_t t = 0; t < m; ++t) {
    std::vector<int32_t> rows, cols;
    for (int32_t i = 0; i < r; ++i) cols.push_back(i * m + t);
    for (int32_t o = 0; o < r; ++o) rows.push_back(t * r + o);
    s2.push_back({rows, cols});
  }
  const int32_t q = (n_out + r - 1) / r;
  for (int32_t o = 0; o < r; ++o) {
    std::vector<int32_t> rows, cols;
    for (int32_t t = 0; t < m; ++t) cols.push_back(t * r + o);
    for (int32_t u = 0; u < q; ++u) rows.push_back(o * q + u);
    s3.push_back({rows, cols});
  }
  c.sublayers.push_back(block_sublayer(r * m, n_in, s1));
  c.sublayers.push_back(block_sublayer(m * r, r * m, s2));
  c.sublayers.push_back(block_sublayer(n_out, m * r, s3));
  return c;
}

// Radix-k butterfly on n = k^depth units: every stage has n/k blocks k x k.
inline Cascade butterfly_cascade(int32_t k, int depth) {
  int32_t n = 1;
  for (int d = 0; d < depth; ++d) n *= k;
  Cascade c;
  c.n_in = n;
  c.n_out = n;
  int32_t stride = 1;
  for (int d = 0; d < depth; ++d) {
    BlockList blocks;
    for (int32_t base = 0; base < n; ++base) {
      if ((base / stride) % k != 0) continue;
      std::vector<int32_t> idx;
      for (int32_t t = 0; t < k; ++t) idx.push_back(base + t * stride);
      blocks.push_back({idx, idx});
    }
    c.sublayers.push_back(block_sublayer(n, n, blocks));
    stride *= k;
  }
  return c;
}

// Generic (unstructured) sublayer: every row picks `fan_in` random columns,
// except rows listed in `empty_rows`.
inline Sublayer random_sublayer(int32_t rows, int32_t cols, int32_t fan_in, uint64_t seed,
                                const std::vector<int32_t>& empty_rows = {}) {
  Sublayer s;
  s.mask.rows = rows;
  s.mask.cols = cols;
  s.mask.row_ptr.push_back(0);
  Rng rng(seed);
  for (int32_t r = 0; r < rows; ++r) {
    if (std::find(empty_rows.begin(), empty_rows.end(), r) == empty_rows.end()) {
      for (int64_t c : rng.sample_sorted(cols, std::min(fan_in, cols))) {
        s.mask.col_idx.push_back(static_cast<int32_t>(c));
      }
    }
    s.mask.row_ptr.push_back(static_cast<int32_t>(s.mask.col_idx.size()));
  }
  return s;
}

inline Cascade random_cascade(const std::vector<int32_t>& widths, int32_t fan_in, uint64_t seed) {
  Cascade c;
  c.n_in = widths.front();
  c.n_out = widths.back();
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    c.sublayers.push_back(random_sublayer(widths[i + 1], widths[i], fan_in, seed + i));
  }
  return c;
}

}  // namespace nf::test
