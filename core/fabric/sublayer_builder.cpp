#include "core/fabric/sublayer_builder.h"

#include <algorithm>
#include <cassert>

namespace nf::fabric_internal {

namespace {

void keep_below(std::vector<int32_t>& v, int32_t limit) {
  std::erase_if(v, [limit](int32_t x) { return x < 0 || x >= limit; });
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

Sublayer blocked_sublayer(int32_t rows, int32_t cols, std::vector<Block> blocks) {
  for (Block& b : blocks) {
    keep_below(b.rows, rows);
    keep_below(b.cols, cols);
  }
  std::erase_if(blocks, [](const Block& b) { return b.rows.empty(); });
  std::sort(blocks.begin(), blocks.end(),
            [](const Block& a, const Block& b) { return a.rows.front() < b.rows.front(); });

  std::vector<int32_t> block_of_row(static_cast<size_t>(rows), -1);
  for (size_t k = 0; k < blocks.size(); ++k) {
    for (int32_t r : blocks[k].rows) {
      assert(block_of_row[static_cast<size_t>(r)] == -1 && "row in two blocks");
      block_of_row[static_cast<size_t>(r)] = static_cast<int32_t>(k);
    }
  }
  Sublayer s;
  s.mask.rows = rows;
  s.mask.cols = cols;
  s.mask.row_ptr.assign(1, 0);
  s.mask.row_ptr.reserve(static_cast<size_t>(rows) + 1);
  for (int32_t r = 0; r < rows; ++r) {
    const int32_t k = block_of_row[static_cast<size_t>(r)];
    assert(k >= 0 && "row in no block");
    const auto& c = blocks[static_cast<size_t>(k)].cols;
    s.mask.col_idx.insert(s.mask.col_idx.end(), c.begin(), c.end());
    s.mask.row_ptr.push_back(static_cast<int32_t>(s.mask.col_idx.size()));
  }
  s.structure = BlockStructure{std::move(blocks)};
  return s;
}

Sublayer unstructured_sublayer(int32_t rows, int32_t cols,
                               std::vector<std::vector<int32_t>> row_cols) {
  Sublayer s;
  s.mask.rows = rows;
  s.mask.cols = cols;
  s.mask.row_ptr.assign(1, 0);
  s.mask.row_ptr.reserve(static_cast<size_t>(rows) + 1);
  row_cols.resize(static_cast<size_t>(rows));
  for (auto& c : row_cols) {
    keep_below(c, cols);
    s.mask.col_idx.insert(s.mask.col_idx.end(), c.begin(), c.end());
    s.mask.row_ptr.push_back(static_cast<int32_t>(s.mask.col_idx.size()));
  }
  return s;
}

}  // namespace nf::fabric_internal
