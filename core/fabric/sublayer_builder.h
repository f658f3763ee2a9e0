// Internal to core/fabric: turns the blocks or edge lists a fabric generator
// produces into a Sublayer (CSR mask, plus its BlockStructure when blocked).
//
// Both builders apply the pad-and-crop rule of cascade.h: indices at or beyond
// the sublayer's true `rows` / `cols` are padded nodes and are dropped with
// every edge that touches them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/fabric/cascade.h"

namespace nf::fabric_internal {

// `blocks` hold row and column indices in any order, possibly beyond the
// true sizes (padding). Blocks left with no rows are dropped; a block left
// with rows but no columns is kept (its rows are empty mask rows). Blocks are
// ordered by their first row. Precondition: after cropping, every row in
// [0, rows) lies in exactly one block and every column in at most one.
Sublayer blocked_sublayer(int32_t rows, int32_t cols, std::vector<Block> blocks);

// `row_cols[r]` lists the inputs of row r in any order, duplicates allowed,
// possibly beyond `cols` (padding); rows beyond `rows` are ignored.
Sublayer unstructured_sublayer(int32_t rows, int32_t cols,
                               std::vector<std::vector<int32_t>> row_cols);

// ceil(a / b) for positive b.
inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace nf::fabric_internal
