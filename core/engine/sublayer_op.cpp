#include "core/engine/sublayer_op.h"

#include <algorithm>
#include <string>

namespace nf::engine {

namespace {

// Rows (or columns) per unit when a big block is cut: a multiple of every
// kernel's row tile (6, 12), small enough to balance two to eight threads,
// and at least 28, so that blocks of up to 28 rows and columns (the middle
// stage of clos-10's first layer: 13 blocks of 28 x 28) run block by block,
// the input gradient reading dy while it is in L1 (backward 16.1 -> 15.2 us
// at batch 64 on AVX-512; at 24 each block was cut into units of 24 + 4).
constexpr int32_t kUnitRows = 36;
// Units of a generic mask: rows or columns per unit.
constexpr int32_t kCsrUnit = 32;
// Blocks at most this wide take the weight gradient with the batch in the
// lanes (block_weight_grad_lanes) from this batch on: their transposed input
// would be mostly padding. ENGINE.md measured 2x at batch 64 for 8-wide
// blocks and a loss at batch 16.
constexpr int32_t kLanesMaxK = 4;
constexpr int kLanesMinBatch = 32;
// From the same batch on, wider blocks take it with the batch in the lanes
// too, summed a group of weights at a time by one transposing reduction
// (block_weight_grad_reduce), when their transpose would be mostly padding
// or amortized over few rows. Measured per block at batch 32 and 64
// (AVX-512, blocks of 2-28 rows x 4-33 columns): up to 8 columns it beats
// the one-sum-per-weight kernel above from 5 columns on (8 x 8: 180 -> 87
// ns at batch 64, 133 -> 68 at 32; at 4 columns they tie) and the
// transpose at any row count; wider, from batch 32 for blocks of at most
// 4 rows (4 x 18: 202 -> 97 ns against the transpose, 135 with the lanes
// kernel), from batch 64 also up to 6 rows and at any row count when a
// transposed row would be over 40% padding (17 x 17: 428 -> 363 ns).
constexpr int32_t kReduceMaxK = 8;
constexpr int32_t kReduceFewRows = 4;
constexpr int32_t kReduceFewRows64 = 6;
constexpr int32_t kLanesFewRowsMaxK = 24;

enum class WeightGradPath { kTranspose, kLanes, kReduce };

WeightGradPath weight_grad_path(int32_t m, int32_t k, int n) {
  if (n < kLanesMinBatch) return WeightGradPath::kTranspose;
  if (k <= kLanesMaxK) return WeightGradPath::kLanes;
  if (k <= kReduceMaxK) return WeightGradPath::kReduce;
  if (m <= kReduceFewRows) {
    // Pairs of rows: an odd row count repeats one. There the one-sum-per-
    // weight kernel stays ahead up to 24 columns (butterfly-10's 3 x 11
    // blocks: 7.8 against 8.0 us), as it was for all few-row blocks.
    if (m % 2 == 0) return WeightGradPath::kReduce;
    if (k <= kLanesFewRowsMaxK) return WeightGradPath::kLanes;
  }
  if (n >= 64 && (m <= kReduceFewRows64 || 5 * static_cast<size_t>(k) < 3 * padded_width(k, 16))) {
    return WeightGradPath::kReduce;
  }
  return WeightGradPath::kTranspose;
}

// Blocks per unit of a run of small blocks: a few hundred weights, still
// 16 units for a 1024-wide butterfly stage.
constexpr int32_t kRunBlocks = 16;

// The weight gradient of `m` rows of a block (m x k; its rows, columns and
// weight offsets from `rows`, `cols`, `w_off`) by the path its shape takes.
// `*transposed` names the block whose input `scratch` holds (-1: none), so
// that the row units of one block transpose its input once. A block of
// consecutive columns reads its transposed input from `x_rows` when given.
void block_weight_grad(const KernelTable& kt, int32_t block, bool contiguous, int32_t m, int32_t k,
                       int n, const float* dy, const int32_t* rows, const float* x,
                       const int32_t* cols, size_t stride, float* dw, const int64_t* w_off,
                       float* scratch, int32_t* transposed, InputRows x_rows) {
  switch (weight_grad_path(m, k, n)) {
    case WeightGradPath::kLanes:
      kt.block_weight_grad_lanes(m, k, n, dy, rows, stride, x, cols, stride, dw, w_off);
      return;
    case WeightGradPath::kReduce:
      kt.block_weight_grad_reduce(m, k, n, dy, rows, stride, x, cols, stride, dw, w_off);
      return;
    case WeightGradPath::kTranspose:
      break;
  }
  if (contiguous && k > 0 && x_rows.rows != nullptr && x_rows.ld >= padded_width(k, kt.lanes)) {
    kt.block_weight_grad(m, k, n, dy, rows, stride, x_rows.rows + cols[0], x_rows.ld, dw, w_off);
    return;
  }
  const size_t ld = padded_width(k, kt.lanes);
  if (*transposed != block) {
    kt.gather_transpose(k, n, x, cols, stride, scratch, ld);
    *transposed = block;
  }
  kt.block_weight_grad(m, k, n, dy, rows, stride, scratch, ld, dw, w_off);
}

}  // namespace

void SublayerOp::UnitList::add(Unit u, int64_t cost) {
  if (cost_prefix.empty()) cost_prefix.push_back(0);
  units.push_back(u);
  cost_prefix.push_back(cost_prefix.back() + std::max<int64_t>(cost, 1));
}

void SublayerOp::UnitList::slice(int part, int parts, size_t* begin, size_t* end) const {
  if (units.empty()) {
    *begin = *end = 0;
    return;
  }
  const int64_t total = cost_prefix.back();
  auto bound = [&](int p) -> size_t {
    if (p <= 0) return 0;
    if (p >= parts) return units.size();
    const int64_t target = total * p / parts;
    return static_cast<size_t>(std::lower_bound(cost_prefix.begin(), cost_prefix.end(), target) -
                               cost_prefix.begin());
  };
  *begin = std::min(bound(part), units.size());
  *end = std::min(bound(part + 1), units.size());
}

Result<SublayerOp> SublayerOp::plan(const Sublayer& sublayer) {
  const Mask& mask = sublayer.mask;
  SublayerOp op;
  op.rows_ = mask.rows;
  op.cols_ = mask.cols;
  op.nnz_ = static_cast<int64_t>(mask.col_idx.size());
  if (mask.rows < 0 || mask.cols < 0 || mask.row_ptr.size() != static_cast<size_t>(mask.rows) + 1 ||
      mask.row_ptr[0] != 0 || mask.row_ptr.back() != op.nnz_) {
    return invalid_argument("mask of " + std::to_string(mask.rows) + " x " +
                            std::to_string(mask.cols) + " has malformed row pointers");
  }
  for (int32_t r = 0; r < mask.rows; ++r) {
    const int32_t a = mask.row_ptr[r], b = mask.row_ptr[r + 1];
    if (b < a) return invalid_argument("mask row " + std::to_string(r) + " has negative length");
    for (int32_t p = a; p < b; ++p) {
      const int32_t c = mask.col_idx[p];
      if (c < 0 || c >= mask.cols || (p > a && c <= mask.col_idx[p - 1])) {
        return invalid_argument("mask row " + std::to_string(r) + " has column " +
                                std::to_string(c) + " out of range or out of order");
      }
    }
    op.max_k_ = std::max(op.max_k_, b - a);
  }

  if (sublayer.structure.has_value()) {
    op.structured_ = true;
    op.max_k_ = 0;
    std::vector<char> row_seen(mask.rows, 0), col_seen(mask.cols, 0);
    int32_t index = 0;
    for (const Block& blk : sublayer.structure->blocks) {
      const std::string where = "block " + std::to_string(index);
      BlockRef ref;
      ref.m = static_cast<int32_t>(blk.rows.size());
      ref.k = static_cast<int32_t>(blk.cols.size());
      ref.row_begin = static_cast<int64_t>(op.block_rows_.size());
      ref.col_begin = static_cast<int64_t>(op.block_cols_.size());
      ref.contiguous =
          std::adjacent_find(blk.cols.begin(), blk.cols.end(),
                             [](int32_t a, int32_t b) { return b != a + 1; }) == blk.cols.end();
      for (int32_t c : blk.cols) {
        if (c < 0 || c >= mask.cols || col_seen[c]) {
          return invalid_argument(where + ": column " + std::to_string(c) +
                                  " out of range or in two blocks");
        }
        col_seen[c] = 1;
        op.block_cols_.push_back(c);
      }
      for (int32_t r : blk.rows) {
        if (r < 0 || r >= mask.rows || row_seen[r]) {
          return invalid_argument(where + ": row " + std::to_string(r) +
                                  " out of range or in two blocks");
        }
        row_seen[r] = 1;
        const int32_t a = mask.row_ptr[r];
        if (mask.row_ptr[r + 1] - a != ref.k ||
            !std::equal(blk.cols.begin(), blk.cols.end(), mask.col_idx.begin() + a)) {
          return invalid_argument(where + ": row " + std::to_string(r) +
                                  " of the mask does not connect exactly the block's columns");
        }
        op.block_rows_.push_back(r);
        op.w_off_.push_back(a);
      }
      op.max_k_ = std::max(op.max_k_, ref.k);
      op.blocks_.push_back(ref);
      for (int32_t i = 0; i < ref.m; i += kUnitRows) {
        const int32_t hi = std::min(ref.m, i + kUnitRows);
        op.row_units_.add({index, i, hi}, int64_t{hi - i} * ref.k);
      }
      for (int32_t j = 0; j < ref.k; j += kUnitRows) {
        const int32_t hi = std::min(ref.k, j + kUnitRows);
        op.col_units_.add({index, j, hi}, int64_t{hi - j} * ref.m);
      }
      ++index;
    }
    for (int32_t r = 0; r < mask.rows; ++r) {
      if (!row_seen[r]) {
        return invalid_argument("row " + std::to_string(r) + " of the mask is in no block");
      }
    }
    for (int32_t c = 0; c < mask.cols; ++c) {
      if (!col_seen[c]) op.uncovered_cols_.push_back(c);
    }
    op.contiguous_blocks_ = std::all_of(op.blocks_.begin(), op.blocks_.end(),
                                        [](const BlockRef& b) { return b.contiguous; });
    const bool runs = std::all_of(op.blocks_.begin(), op.blocks_.end(), [](const BlockRef& b) {
      return b.m >= 1 && b.m <= kUnitRows && b.k <= kRunMaxK;
    });
    for (int32_t lo = 0; runs && lo < index;) {
      const BlockRef& first = op.blocks_[lo];
      int32_t hi = lo + 1;
      while (hi < index && hi - lo < kRunBlocks && op.blocks_[hi].m == first.m &&
             op.blocks_[hi].k == first.k) {
        ++hi;
      }
      op.run_units_.add({lo, lo, hi}, int64_t{hi - lo} * first.m * std::max(first.k, 1));
      lo = hi;
    }
    op.paired_units_ = std::all_of(op.blocks_.begin(), op.blocks_.end(), [](const BlockRef& b) {
      return b.m >= 1 && b.m <= kUnitRows && b.k <= kUnitRows;
    });
    return op;
  }

  op.row_ptr_ = mask.row_ptr;
  op.col_idx_ = mask.col_idx;
  op.col_ptr_.assign(static_cast<size_t>(mask.cols) + 1, 0);
  for (int32_t c : mask.col_idx) ++op.col_ptr_[c + 1];
  for (int32_t c = 0; c < mask.cols; ++c) op.col_ptr_[c + 1] += op.col_ptr_[c];
  op.row_idx_.resize(mask.col_idx.size());
  op.w_pos_.resize(mask.col_idx.size());
  std::vector<int32_t> fill(op.col_ptr_.begin(), op.col_ptr_.end() - 1);
  for (int32_t r = 0; r < mask.rows; ++r) {
    for (int32_t p = mask.row_ptr[r]; p < mask.row_ptr[r + 1]; ++p) {
      const int32_t q = fill[mask.col_idx[p]]++;
      op.row_idx_[q] = r;
      op.w_pos_[q] = p;
    }
  }
  for (int32_t r = 0; r < mask.rows; r += kCsrUnit) {
    const int32_t hi = std::min(mask.rows, r + kCsrUnit);
    op.row_units_.add({0, r, hi}, mask.row_ptr[hi] - mask.row_ptr[r] + (hi - r));
  }
  for (int32_t c = 0; c < mask.cols; c += kCsrUnit) {
    const int32_t hi = std::min(mask.cols, c + kCsrUnit);
    op.col_units_.add({0, c, hi}, op.col_ptr_[hi] - op.col_ptr_[c] + (hi - c));
  }
  return op;
}

int64_t SublayerOp::index_bytes() const {
  auto bytes = [](const auto& v) { return static_cast<int64_t>(v.size() * sizeof(v[0])); };
  return bytes(blocks_) + bytes(block_rows_) + bytes(block_cols_) + bytes(w_off_) +
         bytes(uncovered_cols_) + bytes(row_ptr_) + bytes(col_idx_) + bytes(col_ptr_) +
         bytes(row_idx_) + bytes(w_pos_);
}

void SublayerOp::forward(const KernelTable& kt, const float* w, const float* x, float* y, int n,
                         size_t stride, int part, int parts) const {
  size_t begin = 0, end = 0;
  if (!run_units_.units.empty()) {
    run_units_.slice(part, parts, &begin, &end);
    for (size_t u = begin; u < end; ++u) {
      const Unit& unit = run_units_.units[u];
      const BlockRef& b = blocks_[unit.lo];
      kt.block_forward_run(unit.hi - unit.lo, b.m, b.k, n, w, w_off_.data() + b.row_begin, x,
                           block_cols_.data() + b.col_begin, stride, y,
                           block_rows_.data() + b.row_begin, stride);
    }
    return;
  }
  row_units_.slice(part, parts, &begin, &end);
  for (size_t u = begin; u < end; ++u) {
    const Unit& unit = row_units_.units[u];
    if (structured_) {
      const BlockRef& b = blocks_[unit.index];
      const int64_t r0 = b.row_begin + unit.lo;
      kt.block_forward(unit.hi - unit.lo, b.k, n, w, w_off_.data() + r0, x,
                       block_cols_.data() + b.col_begin, stride, y, block_rows_.data() + r0,
                       stride);
    } else {
      kt.csr_forward(unit.lo, unit.hi, n, row_ptr_.data(), col_idx_.data(), w, x, stride, y,
                     stride);
    }
  }
}

void SublayerOp::zero_uncovered_cols(float* dx, int n, size_t stride) const {
  for (int32_t c : uncovered_cols_) std::fill_n(dx + static_cast<size_t>(c) * stride, n, 0.0f);
}

void SublayerOp::backward_input(const KernelTable& kt, const float* w, const float* dy, float* dx,
                                int n, size_t stride, int part, int parts) const {
  size_t begin = 0, end = 0;
  col_units_.slice(part, parts, &begin, &end);
  for (size_t u = begin; u < end; ++u) {
    const Unit& unit = col_units_.units[u];
    if (structured_) {
      const BlockRef& b = blocks_[unit.index];
      kt.block_backward_input(b.m, unit.hi - unit.lo, n, w + unit.lo, w_off_.data() + b.row_begin,
                              dy, block_rows_.data() + b.row_begin, stride, dx,
                              block_cols_.data() + b.col_begin + unit.lo, stride);
    } else {
      kt.csr_backward_input(unit.lo, unit.hi, n, col_ptr_.data(), row_idx_.data(), w_pos_.data(), w,
                            dy, stride, dx, stride);
    }
  }
  if (part == 0) zero_uncovered_cols(dx, n, stride);
}

void SublayerOp::weight_grad(const KernelTable& kt, const float* dy, const float* x, float* dw,
                             int n, size_t stride, float* scratch, int part, int parts,
                             InputRows x_rows) const {
  size_t begin = 0, end = 0;
  row_units_.slice(part, parts, &begin, &end);
  int32_t transposed = -1;  // the block whose input `scratch` holds
  for (size_t u = begin; u < end; ++u) {
    const Unit& unit = row_units_.units[u];
    if (structured_) {
      const BlockRef& b = blocks_[unit.index];
      const int64_t r0 = b.row_begin + unit.lo;
      block_weight_grad(kt, unit.index, b.contiguous, unit.hi - unit.lo, b.k, n, dy,
                        block_rows_.data() + r0, x, block_cols_.data() + b.col_begin, stride, dw,
                        w_off_.data() + r0, scratch, &transposed, x_rows);
    } else {
      kt.csr_weight_grad(unit.lo, unit.hi, n, row_ptr_.data(), col_idx_.data(), dy, stride, x,
                         stride, dw);
    }
  }
}

void SublayerOp::backward(const KernelTable& kt, const float* w, const float* dy, const float* x,
                          float* dw, float* dx, int n, int lanes, size_t stride, float* scratch,
                          int part, int parts, InputRows x_rows) const {
  if (!run_units_.units.empty() && n >= kLanesMinBatch) {
    // Runs of small blocks (k <= kRunMaxK): block_backward_run takes their
    // weight gradient with the batch in the lanes at this batch.
    size_t begin = 0, end = 0;
    run_units_.slice(part, parts, &begin, &end);
    for (size_t u = begin; u < end; ++u) {
      const Unit& unit = run_units_.units[u];
      const BlockRef& b = blocks_[unit.lo];
      kt.block_backward_run(unit.hi - unit.lo, b.m, b.k, n, lanes, w, w_off_.data() + b.row_begin,
                            dy, block_rows_.data() + b.row_begin, x,
                            block_cols_.data() + b.col_begin, stride, dw, dx);
    }
    if (dx != nullptr && part == 0) zero_uncovered_cols(dx, lanes, stride);
    return;
  }
  if (!paired_units_ || dx == nullptr) {
    weight_grad(kt, dy, x, dw, n, stride, scratch, part, parts, x_rows);
    if (dx != nullptr) backward_input(kt, w, dy, dx, lanes, stride, part, parts);
    return;
  }
  // Block by block (row unit u is block u): the same kernel calls as
  // weight_grad and backward_input make, so the same results; each block's
  // weights and input-gradient rows are written by the part that owns it.
  size_t begin = 0, end = 0;
  row_units_.slice(part, parts, &begin, &end);
  for (size_t u = begin; u < end; ++u) {
    const BlockRef& b = blocks_[u];
    const int32_t* rows = block_rows_.data() + b.row_begin;
    const int32_t* cols = block_cols_.data() + b.col_begin;
    const int64_t* w_off = w_off_.data() + b.row_begin;
    if (b.m > 0 && b.k > 0) {
      int32_t transposed = -1;
      block_weight_grad(kt, static_cast<int32_t>(u), b.contiguous, b.m, b.k, n, dy, rows, x, cols,
                        stride, dw, w_off, scratch, &transposed, x_rows);
    }
    kt.block_backward_input(b.m, b.k, lanes, w, w_off, dy, rows, stride, dx, cols, stride);
  }
  if (part == 0) zero_uncovered_cols(dx, lanes, stride);
}

void SublayerOp::forward_b1(const KernelTable& kt, const float* w, const float* x, float* y,
                            float* scratch) const {
  if (!structured_) {
    kt.csr_forward(0, rows_, 1, row_ptr_.data(), col_idx_.data(), w, x, 1, y, 1);
    return;
  }
  for (const BlockRef& b : blocks_) {
    kt.block_forward_b1(b.m, b.k, w, w_off_.data() + b.row_begin, x,
                        block_cols_.data() + b.col_begin, y, block_rows_.data() + b.row_begin,
                        scratch);
  }
}

void SublayerOp::backward_b1(const KernelTable& kt, const float* w, const float* x, const float* dy,
                             float* dw, float* dx, float* scratch) const {
  if (!structured_) {
    kt.csr_weight_grad(0, rows_, 1, row_ptr_.data(), col_idx_.data(), dy, 1, x, 1, dw);
    if (dx != nullptr) {
      kt.csr_backward_input(0, cols_, 1, col_ptr_.data(), row_idx_.data(), w_pos_.data(), w, dy, 1,
                            dx, 1);
    }
    return;
  }
  for (const BlockRef& b : blocks_) {
    kt.block_backward_b1(b.m, b.k, w, w_off_.data() + b.row_begin, x,
                         block_cols_.data() + b.col_begin, dy, block_rows_.data() + b.row_begin, dw,
                         dx, scratch);
  }
  if (dx != nullptr) zero_uncovered_cols(dx, 1, 1);
}

}  // namespace nf::engine
