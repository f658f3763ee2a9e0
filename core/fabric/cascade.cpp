#include "core/fabric/cascade.h"

#include <algorithm>
#include <cassert>

namespace nf {

bool Mask::contains(int32_t row, int32_t col) const {
  assert(row >= 0 && row < rows);
  const auto begin = col_idx.begin() + row_ptr[static_cast<size_t>(row)];
  const auto end = col_idx.begin() + row_ptr[static_cast<size_t>(row) + 1];
  return std::binary_search(begin, end, col);
}

std::vector<int32_t> Mask::column_counts() const {
  std::vector<int32_t> counts(static_cast<size_t>(cols), 0);
  for (int32_t c : col_idx) ++counts[static_cast<size_t>(c)];
  return counts;
}

int64_t Cascade::nnz() const {
  int64_t total = 0;
  for (const Sublayer& s : sublayers) total += s.mask.nnz();
  return total;
}

std::vector<int32_t> Cascade::widths() const {
  std::vector<int32_t> w;
  w.reserve(sublayers.size() + 1);
  w.push_back(n_in);
  for (const Sublayer& s : sublayers) w.push_back(s.mask.rows);
  return w;
}

}  // namespace nf
