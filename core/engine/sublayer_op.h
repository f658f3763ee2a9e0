// SublayerOp: the operator that runs one sparse sublayer with the microkernels.
//
// plan() validates a Sublayer (core/fabric/cascade.h) and builds its tables:
// for a structured sublayer, the per-block row/column tables and each row's
// weight offset (the weights stay in canonical CSR order, no repacking); for
// a generic mask, CSR plus its transpose (CSC with weight positions) so that
// the input gradient is a gather, never a scatter-add.
//
// Work is cut into fixed units (a block, or a range of a big block's rows or
// columns; a range of CSR rows or columns). A call with (part, parts) runs a
// contiguous slice of units; every output element is computed by exactly
// one unit in a fixed order, so results are bit-identical for any `parts`.
//
// Matrices are feature-major: feature f of example b at [f * stride + b].
// The op is immutable after plan() and may be used from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/engine/kernels.h"
#include "core/fabric/cascade.h"
#include "core/util/status.h"

namespace nf::engine {

// A batch-major copy of a sublayer's input: feature f of example b at
// rows[b * ld + f], with at least 16 readable, finite floats after the last
// example's row (the weight-gradient kernel reads whole vectors).
struct InputRows {
  const float* rows = nullptr;
  size_t ld = 0;
};

class SublayerOp {
 public:
  // Errors name the block or row whose structure disagrees with the mask.
  static Result<SublayerOp> plan(const Sublayer& sublayer);

  int32_t rows() const { return rows_; }
  int32_t cols() const { return cols_; }
  int64_t nnz() const { return nnz_; }
  bool structured() const { return structured_; }
  // Whether backward() can use a batch-major copy of the input (InputRows):
  // structured, every block's columns consecutive and ascending (a Clos
  // ingress stage, a dense layer), so that a block's transposed input is a
  // window of that copy, and blocks too wide for the run kernels (which
  // never transpose).
  bool reads_input_rows() const { return contiguous_blocks_ && run_units_.units.empty(); }
  // Widest block (structured) or row (CSR): sizes the kernels' scratch.
  int32_t max_k() const { return max_k_; }
  int64_t index_bytes() const;
  // Scratch weight_grad() needs for n examples: the widest block's input,
  // transposed, rows padded to the widest vector (16 lanes).
  size_t scratch_floats(int n) const { return padded_width(max_k_, 16) * static_cast<size_t>(n); }

  // y (rows x n) = W x (cols x n).
  void forward(const KernelTable& kt, const float* w, const float* x, float* y, int n,
               size_t stride, int part, int parts) const;
  // dw (nnz, canonical order) = (dy x^T) restricted to the mask, summed over
  // the first n examples, and, when dx is not null, dx (cols x lanes) =
  // W^T dy, columns no weight reads set to zero. `scratch` holds
  // scratch_floats(n) floats (per thread), all finite (zeroed once is
  // enough: only padding is left unwritten). The kernels depend on the
  // shapes, never on part/parts: runs of small blocks (k <= kRunMaxK) at
  // n >= 32 go through the run kernels, blocks of at most kUnitRows a side
  // block by block (the input gradient reads dy while it is in L1), others
  // weight gradient first, then input gradient. When `x_rows` holds the
  // input batch-major as well, blocks of consecutive columns whose weight
  // gradient takes the transposed input read it from there instead of
  // transposing x (same values, so the same bits).
  void backward(const KernelTable& kt, const float* w, const float* dy, const float* x, float* dw,
                float* dx, int n, int lanes, size_t stride, float* scratch, int part, int parts,
                InputRows x_rows = {}) const;

  // Batch 1 (stride 1, one thread). `scratch` holds 2 * max_k() floats.
  void forward_b1(const KernelTable& kt, const float* w, const float* x, float* y,
                  float* scratch) const;
  // dw and, when dx is not null, dx in one sweep over the weights.
  void backward_b1(const KernelTable& kt, const float* w, const float* x, const float* dy,
                   float* dw, float* dx, float* scratch) const;

 private:
  // dx (cols x n) = W^T dy; columns no weight reads are set to zero.
  void backward_input(const KernelTable& kt, const float* w, const float* dy, float* dx, int n,
                      size_t stride, int part, int parts) const;
  // dw (nnz, canonical order) = (dy x^T) restricted to the mask, summed over
  // the first n examples. `scratch` holds scratch_floats(n) floats (per
  // thread), all finite (zeroed once is enough: only padding is left unwritten).
  void weight_grad(const KernelTable& kt, const float* dy, const float* x, float* dw, int n,
                   size_t stride, float* scratch, int part, int parts, InputRows x_rows) const;
  // The input-gradient rows no weight reads (a mask's uncovered columns) set
  // to zero over n examples.
  void zero_uncovered_cols(float* dx, int n, size_t stride) const;

  struct BlockRef {
    int32_t m = 0, k = 0;
    bool contiguous = false;  // columns consecutive and ascending
    int64_t row_begin = 0;    // into rows_ and w_off_
    int64_t col_begin = 0;    // into cols_
  };
  struct Unit {
    int32_t index = 0;  // block (structured) or unused (CSR)
    int32_t lo = 0, hi = 0;
  };
  struct UnitList {
    std::vector<Unit> units;
    std::vector<int64_t> cost_prefix;  // size units + 1
    void add(Unit u, int64_t cost);
    // The slice [begin, end) of units for `part` of `parts`, balanced by cost.
    void slice(int part, int parts, size_t* begin, size_t* end) const;
  };

  int32_t rows_ = 0, cols_ = 0;
  int64_t nnz_ = 0;
  bool structured_ = false;
  bool contiguous_blocks_ = false;
  int32_t max_k_ = 0;

  // Structured.
  std::vector<BlockRef> blocks_;
  std::vector<int32_t> block_rows_, block_cols_;
  std::vector<int64_t> w_off_;
  std::vector<int32_t> uncovered_cols_;
  // CSR and its transpose.
  std::vector<int32_t> row_ptr_, col_idx_;
  std::vector<int32_t> col_ptr_, row_idx_, w_pos_;

  UnitList row_units_;  // forward and weight gradient
  UnitList col_units_;  // input gradient
  // Structured, every block 1..kUnitRows rows and at most kUnitRows
  // columns: row unit u is block u, and backward() runs whole blocks.
  bool paired_units_ = false;
  // Structured, every block 1..kUnitRows rows and at most kRunMaxK columns:
  // units of up to kRunBlocks consecutive blocks of one shape ([lo, hi) of
  // blocks_), run by the run kernels (block_forward_run, block_backward_run).
  UnitList run_units_;
};

}  // namespace nf::engine
