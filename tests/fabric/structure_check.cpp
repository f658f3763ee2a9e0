#include "tests/fabric/structure_check.h"

#include <set>
#include <vector>

namespace nf::test {

namespace {

std::string check_mask(const Mask& m) {
  if (m.row_ptr.size() != static_cast<size_t>(m.rows) + 1 || m.row_ptr[0] != 0 ||
      m.row_ptr.back() != static_cast<int32_t>(m.col_idx.size())) {
    return "bad row_ptr";
  }
  for (int32_t r = 0; r < m.rows; ++r) {
    for (int32_t e = m.row_ptr[r]; e < m.row_ptr[r + 1]; ++e) {
      const int32_t c = m.col_idx[e];
      if (c < 0 || c >= m.cols) return "column out of range in row " + std::to_string(r);
      if (e > m.row_ptr[r] && m.col_idx[e - 1] >= c) {
        return "columns not strictly ascending in row " + std::to_string(r);
      }
    }
  }
  return "";
}

std::string check_blocks(const Mask& m, const BlockStructure& s) {
  std::vector<int> row_seen(m.rows, 0), col_seen(m.cols, 0);
  int64_t covered = 0;
  for (const Block& b : s.blocks) {
    if (b.rows.empty()) return "empty block";
    for (size_t i = 0; i < b.rows.size(); ++i) {
      if (b.rows[i] < 0 || b.rows[i] >= m.rows) return "block row out of range";
      if (i > 0 && b.rows[i - 1] >= b.rows[i]) return "block rows not ascending";
      ++row_seen[b.rows[i]];
    }
    for (size_t j = 0; j < b.cols.size(); ++j) {
      if (b.cols[j] < 0 || b.cols[j] >= m.cols) return "block column out of range";
      if (j > 0 && b.cols[j - 1] >= b.cols[j]) return "block columns not ascending";
      ++col_seen[b.cols[j]];
    }
    for (int32_t r : b.rows) {
      // The row of the mask must be exactly the block's columns.
      const auto begin = m.col_idx.begin() + m.row_ptr[r];
      const auto end = m.col_idx.begin() + m.row_ptr[r + 1];
      if (!std::equal(begin, end, b.cols.begin(), b.cols.end())) {
        return "mask row " + std::to_string(r) + " differs from its block";
      }
      covered += static_cast<int64_t>(b.cols.size());
    }
  }
  for (int32_t r = 0; r < m.rows; ++r) {
    if (row_seen[r] != 1)
      return "row " + std::to_string(r) + " in " + std::to_string(row_seen[r]) + " blocks";
  }
  for (int32_t c = 0; c < m.cols; ++c) {
    if (col_seen[c] > 1) return "column " + std::to_string(c) + " in several blocks";
  }
  if (covered != m.nnz()) return "blocks do not cover the mask";
  return "";
}

}  // namespace

std::string check_cascade(const Cascade& c) {
  if (c.sublayers.empty()) return "no sublayers";
  int32_t width = c.n_in;
  for (size_t l = 0; l < c.sublayers.size(); ++l) {
    const Sublayer& s = c.sublayers[l];
    const std::string where = "sublayer " + std::to_string(l) + ": ";
    if (s.mask.cols != width) return where + "width does not chain";
    if (std::string e = check_mask(s.mask); !e.empty()) return where + e;
    if (s.structure) {
      if (std::string e = check_blocks(s.mask, *s.structure); !e.empty()) return where + e;
    }
    width = s.mask.rows;
  }
  if (width != c.n_out) return "last width differs from n_out";
  return "";
}

}  // namespace nf::test
