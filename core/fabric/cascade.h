// Cascade: the sparse sublayers that replace one dense layer.
//
// This header is the contract between core/fabric (which derives masks from a
// FabricSpec) and core/engine (which trains the weights behind them).
//
// A dense layer y = phi(W x + b), W of size n_out x n_in, becomes
//   y = phi((M_d . W_d) ... (M_1 . W_1) x + b)
// with binary masks M_l. sublayers[0] reads the layer input; hidden sublayers
// are linear (no bias, no activation). Widths chain:
//   sublayers[0].mask.cols == n_in, sublayers[l].mask.cols == sublayers[l-1].mask.rows,
//   sublayers.back().mask.rows == n_out.
//
// Padding rule: a fabric built on padded sizes (n_in rounded up, n_out cropped)
// simply omits every edge that touches a padded input or a cropped output, so
// padding costs no stored weight and masks always have the layer's true sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace nf {

// A binary mask in CSR form: row r (an output of the sublayer) connects to the
// inputs col_idx[row_ptr[r] .. row_ptr[r+1]), sorted ascending, no duplicates.
struct Mask {
  int32_t rows = 0;
  int32_t cols = 0;
  std::vector<int32_t> row_ptr;  // size rows + 1, row_ptr[0] == 0
  std::vector<int32_t> col_idx;  // size nnz

  int64_t nnz() const { return static_cast<int64_t>(col_idx.size()); }
  bool contains(int32_t row, int32_t col) const;
  // Number of set entries in column c, for every c (fan-out of each input).
  std::vector<int32_t> column_counts() const;
};

// One dense block of a block-diagonal stage: every (rows[i], cols[j]) is in the
// mask. `rows` are output indices of the sublayer, `cols` input indices, both
// sorted ascending.
struct Block {
  std::vector<int32_t> rows;
  std::vector<int32_t> cols;
};

// A structured stage: a fixed permutation followed by a block-diagonal matrix.
// Every mask entry lies in exactly one block, every row of the mask in exactly
// one block and every column in at most one. Blocks may differ in size (the
// last ingress or egress block of a padded fabric is smaller).
struct BlockStructure {
  std::vector<Block> blocks;
};

struct Sublayer {
  Mask mask;
  // Present for structured fabrics (Clos, butterfly, Benes, parallel
  // butterflies, dense, low-rank), absent for unstructured ones.
  std::optional<BlockStructure> structure;
};

struct Cascade {
  int32_t n_in = 0;
  int32_t n_out = 0;
  std::vector<Sublayer> sublayers;

  int depth() const { return static_cast<int>(sublayers.size()); }
  int64_t nnz() const;  // stored weights, biases not included
  // Widths of the activations between sublayers: n_in, hidden..., n_out.
  std::vector<int32_t> widths() const;
};

// Canonical order of a sublayer's weights inside the model's flat parameter
// vector: the CSR order of its mask (row by row, columns ascending). Both the
// aggregator and every agent use this order, so an update is values only.

}  // namespace nf
