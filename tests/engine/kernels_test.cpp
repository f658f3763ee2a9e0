// Every SIMD kernel against the scalar reference (and the reference against
// a plain double computation) at odd sizes, tile edges, empty rows and batch 1.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/data/dataset.h"
#include "core/engine/kernels.h"
#include "core/util/rng.h"

namespace nf::engine {
namespace {

std::vector<const KernelTable*> simd_variants() {
  std::vector<const KernelTable*> out;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (const KernelTable* t = kernels_for(isa)) out.push_back(t);
  }
  return out;
}

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& f : v) f = 2.0f * rng.uniform01() - 1.0f;
  return v;
}

void check_close(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(std::fabs(a[i] - b[i]) <= 1e-4f * (1.0f + std::fabs(b[i])))) {
      FAIL(what << ": element " << i << " is " << a[i] << ", reference " << b[i]);
    }
  }
}

// A block of an n_rows x n_cols sublayer: rows and columns strided so that
// the tables matter, weights stored row-wise at w_off with a gap between rows.
struct BlockCase {
  int m, k;
  std::vector<int32_t> rows, cols;
  std::vector<int64_t> w_off;
  std::vector<float> w;
  int32_t n_rows, n_cols;
};

BlockCase make_block(int m, int k, uint64_t seed) {
  BlockCase c;
  c.m = m;
  c.k = k;
  c.n_rows = 2 * m + 1;
  c.n_cols = 3 * k + 2;
  for (int i = 0; i < m; ++i) c.rows.push_back(2 * (m - 1 - i) + 1);  // any order works
  for (int j = 0; j < k; ++j) c.cols.push_back(3 * j + 1);
  for (int i = 0; i < m; ++i) c.w_off.push_back(static_cast<int64_t>(i) * (k + 3));
  c.w = random_vec(static_cast<size_t>(m) * (k + 3) + 1, seed);
  return c;
}

const int kSizes[] = {1, 2, 3, 5, 7, 13, 17, 29};
const int kBatches[] = {1, 3, 8, 15, 16, 17, 33, 64};

TEST_CASE("scalar block kernels agree with a double-precision reference") {
  const KernelTable& s = *scalar_kernel_table();
  for (int m : {1, 7}) {
    for (int k : {3, 17}) {
      for (int n : {1, 5, 16}) {
        BlockCase c = make_block(m, k, 11);
        const size_t stride = n + 2;
        auto x = random_vec(c.n_cols * stride, 1);
        std::vector<float> y(c.n_rows * stride, 0.0f);
        s.block_forward(m, k, n, c.w.data(), c.w_off.data(), x.data(), c.cols.data(), stride,
                        y.data(), c.rows.data(), stride);
        for (int i = 0; i < m; ++i) {
          for (int b = 0; b < n; ++b) {
            double ref = 0.0;
            for (int j = 0; j < k; ++j) {
              ref += static_cast<double>(c.w[c.w_off[i] + j]) * x[c.cols[j] * stride + b];
            }
            CHECK(y[c.rows[i] * stride + b] == doctest::Approx(ref).epsilon(1e-5));
          }
        }
        // Weight gradient through the transpose.
        auto dy = random_vec(c.n_rows * stride, 2);
        std::vector<float> xt(static_cast<size_t>(k) * n), dw(c.w.size(), 0.0f);
        s.gather_transpose(k, n, x.data(), c.cols.data(), stride, xt.data(), k);
        s.block_weight_grad(m, k, n, dy.data(), c.rows.data(), stride, xt.data(), k, dw.data(),
                            c.w_off.data());
        for (int i = 0; i < m; ++i) {
          for (int j = 0; j < k; ++j) {
            double ref = 0.0;
            for (int b = 0; b < n; ++b) {
              ref += static_cast<double>(dy[c.rows[i] * stride + b]) * x[c.cols[j] * stride + b];
            }
            CHECK(dw[c.w_off[i] + j] == doctest::Approx(ref).epsilon(1e-5));
          }
        }
        // The batch-in-lanes weight gradient computes the same sums (up to
        // rounding: the compiler may fuse a * b + c in one kernel and not in
        // the other, as GCC does on aarch64).
        std::vector<float> dw_lanes(c.w.size(), 0.0f);
        s.block_weight_grad_lanes(m, k, n, dy.data(), c.rows.data(), stride, x.data(),
                                  c.cols.data(), stride, dw_lanes.data(), c.w_off.data());
        check_close(dw_lanes, dw, "scalar block_weight_grad_lanes");
        std::vector<float> dw_reduce(c.w.size(), 0.0f);
        s.block_weight_grad_reduce(m, k, n, dy.data(), c.rows.data(), stride, x.data(),
                                   c.cols.data(), stride, dw_reduce.data(), c.w_off.data());
        check_close(dw_reduce, dw, "scalar block_weight_grad_reduce");
      }
    }
  }
}

TEST_CASE("SIMD block kernels match the scalar reference") {
  const KernelTable& s = *scalar_kernel_table();
  for (const KernelTable* t : simd_variants()) {
    CAPTURE(t->name);
    for (int m : kSizes) {
      for (int k : kSizes) {
        BlockCase c = make_block(m, k, m * 100 + k);
        for (int n : kBatches) {
          CAPTURE(m);
          CAPTURE(k);
          CAPTURE(n);
          const size_t stride = n + 5;
          auto x = random_vec(c.n_cols * stride, 7);
          auto dy = random_vec(c.n_rows * stride, 8);
          // Forward.
          std::vector<float> y_ref(c.n_rows * stride, 9.0f), y(c.n_rows * stride, 9.0f);
          s.block_forward(m, k, n, c.w.data(), c.w_off.data(), x.data(), c.cols.data(), stride,
                          y_ref.data(), c.rows.data(), stride);
          t->block_forward(m, k, n, c.w.data(), c.w_off.data(), x.data(), c.cols.data(), stride,
                           y.data(), c.rows.data(), stride);
          check_close(y, y_ref, "block_forward");
          // Input gradient.
          std::vector<float> dx_ref(c.n_cols * stride, 9.0f), dx(c.n_cols * stride, 9.0f);
          s.block_backward_input(m, k, n, c.w.data(), c.w_off.data(), dy.data(), c.rows.data(),
                                 stride, dx_ref.data(), c.cols.data(), stride);
          t->block_backward_input(m, k, n, c.w.data(), c.w_off.data(), dy.data(), c.rows.data(),
                                  stride, dx.data(), c.cols.data(), stride);
          check_close(dx, dx_ref, "block_backward_input");
          // Weight gradient.
          // Rows padded to 16 lanes plus one, as operators pad them (>= any
          // variant's vector); the padding holds finite junk that must not leak.
          const size_t ld = padded_width(k, 16) + 1;
          std::vector<float> xt_ref(ld * n, 7.0f), xt(xt_ref.size(), 7.0f);
          s.gather_transpose(k, n, x.data(), c.cols.data(), stride, xt_ref.data(), ld);
          t->gather_transpose(k, n, x.data(), c.cols.data(), stride, xt.data(), ld);
          CHECK(xt == xt_ref);
          std::vector<float> dw_ref(c.w.size(), 9.0f), dw(c.w.size(), 9.0f);
          s.block_weight_grad(m, k, n, dy.data(), c.rows.data(), stride, xt_ref.data(), ld,
                              dw_ref.data(), c.w_off.data());
          t->block_weight_grad(m, k, n, dy.data(), c.rows.data(), stride, xt.data(), ld, dw.data(),
                               c.w_off.data());
          check_close(dw, dw_ref, "block_weight_grad");
          std::vector<float> dwl_ref(c.w.size(), 9.0f), dwl(c.w.size(), 9.0f);
          s.block_weight_grad_lanes(m, k, n, dy.data(), c.rows.data(), stride, x.data(),
                                    c.cols.data(), stride, dwl_ref.data(), c.w_off.data());
          t->block_weight_grad_lanes(m, k, n, dy.data(), c.rows.data(), stride, x.data(),
                                     c.cols.data(), stride, dwl.data(), c.w_off.data());
          check_close(dwl, dwl_ref, "block_weight_grad_lanes");
          check_close(dwl_ref, dw_ref, "block_weight_grad_lanes vs block_weight_grad");
          // The grouped reduction: stores only its block's weights (the 9s
          // between rows stay), odd row and column counts repeat the last one.
          std::vector<float> dwr_ref(c.w.size(), 9.0f), dwr(c.w.size(), 9.0f);
          s.block_weight_grad_reduce(m, k, n, dy.data(), c.rows.data(), stride, x.data(),
                                     c.cols.data(), stride, dwr_ref.data(), c.w_off.data());
          t->block_weight_grad_reduce(m, k, n, dy.data(), c.rows.data(), stride, x.data(),
                                      c.cols.data(), stride, dwr.data(), c.w_off.data());
          check_close(dwr, dwr_ref, "block_weight_grad_reduce");
          check_close(dwr_ref, dw_ref, "block_weight_grad_reduce vs block_weight_grad");
        }
        // Batch 1, gathered columns and contiguous columns.
        for (bool contiguous : {false, true}) {
          BlockCase b = c;
          if (contiguous) {
            for (int j = 0; j < k; ++j) b.cols[j] = j + 2;
          }
          auto x = random_vec(b.n_cols, 3);
          auto dy = random_vec(b.n_rows, 4);
          std::vector<float> scratch(2 * k + 16);
          std::vector<float> y_ref(b.n_rows, 9.0f), y(b.n_rows, 9.0f);
          s.block_forward_b1(m, k, b.w.data(), b.w_off.data(), x.data(), b.cols.data(),
                             y_ref.data(), b.rows.data(), scratch.data());
          t->block_forward_b1(m, k, b.w.data(), b.w_off.data(), x.data(), b.cols.data(), y.data(),
                              b.rows.data(), scratch.data());
          check_close(y, y_ref, "block_forward_b1");
          std::vector<float> dw_ref(b.w.size(), 9.0f), dw(b.w.size(), 9.0f);
          std::vector<float> dx_ref(b.n_cols, 9.0f), dx(b.n_cols, 9.0f);
          s.block_backward_b1(m, k, b.w.data(), b.w_off.data(), x.data(), b.cols.data(), dy.data(),
                              b.rows.data(), dw_ref.data(), dx_ref.data(), scratch.data());
          t->block_backward_b1(m, k, b.w.data(), b.w_off.data(), x.data(), b.cols.data(), dy.data(),
                               b.rows.data(), dw.data(), dx.data(), scratch.data());
          check_close(dw, dw_ref, "block_backward_b1 dw");
          check_close(dx, dx_ref, "block_backward_b1 dx");
          // The batch-1 path agrees with the batched kernels at n = 1.
          std::vector<float> y_batched(b.n_rows, 9.0f);
          s.block_forward(m, k, 1, b.w.data(), b.w_off.data(), x.data(), b.cols.data(), 1,
                          y_batched.data(), b.rows.data(), 1);
          check_close(y_ref, y_batched, "block_forward_b1 vs block_forward");
        }
      }
    }
  }
}

// A run of nb blocks of m x k (kernels.h: tables back to back): block b's
// rows and columns interleaved with the other blocks' (as butterfly stages
// permute them), weights either packed row after row (as in a cascade) or
// with a gap after every row.
struct RunCase {
  int nb, m, k;
  std::vector<int32_t> rows, cols;
  std::vector<int64_t> w_off;
  std::vector<float> w;
  int32_t n_rows, n_cols;
};

RunCase make_run(int nb, int m, int k, bool packed, uint64_t seed) {
  RunCase c{nb, m, k, {}, {}, {}, {}, nb * m + 1, nb * k + 2};
  for (int b = 0; b < nb; ++b) {
    for (int i = 0; i < m; ++i) c.rows.push_back(i * nb + (nb - 1 - b));
    for (int j = 0; j < k; ++j) c.cols.push_back(j * nb + b + 1);
    for (int i = 0; i < m; ++i) {
      c.w_off.push_back(static_cast<int64_t>(b * m + i) * (packed ? k : k + 3));
    }
  }
  c.w = random_vec(static_cast<size_t>(nb) * m * (k + 3) + 1, seed);
  return c;
}

TEST_CASE("run kernels of small blocks match the block kernels, every variant") {
  std::vector<const KernelTable*> tables = simd_variants();
  tables.insert(tables.begin(), scalar_kernel_table());
  const KernelTable& s = *scalar_kernel_table();
  for (const KernelTable* t : tables) {
    CAPTURE(t->name);
    for (int m : {1, 2, 3, 4, 7, 8, 13}) {
      for (int k : {1, 2, 3, 4, 5, 7, 8}) {
        for (int nb : {1, 3}) {
          for (bool packed : {false, true}) {
            const RunCase c = make_run(nb, m, k, packed, m * 100 + k * 10 + nb);
            for (int n : {1, 3, 15, 16, 17, 33, 64}) {
              CAPTURE(m);
              CAPTURE(k);
              CAPTURE(nb);
              CAPTURE(packed);
              CAPTURE(n);
              const int lanes = n == 1 ? 1 : (n + 15) / 16 * 16;
              const size_t stride = lanes + 3;
              const auto x = random_vec(c.n_cols * stride, 5);
              const auto dy = random_vec(c.n_rows * stride, 6);
              // Forward: the variant's block_forward on each block, and scalar.
              std::vector<float> y(c.n_rows * stride, 9.0f), y_blocks(y), y_ref(y);
              t->block_forward_run(nb, m, k, lanes, c.w.data(), c.w_off.data(), x.data(),
                                   c.cols.data(), stride, y.data(), c.rows.data(), stride);
              for (int b = 0; b < nb; ++b) {
                t->block_forward(m, k, lanes, c.w.data(), c.w_off.data() + b * m, x.data(),
                                 c.cols.data() + b * k, stride, y_blocks.data(),
                                 c.rows.data() + b * m, stride);
                s.block_forward(m, k, lanes, c.w.data(), c.w_off.data() + b * m, x.data(),
                                c.cols.data() + b * k, stride, y_ref.data(), c.rows.data() + b * m,
                                stride);
              }
              check_close(y, y_blocks, "block_forward_run vs block_forward");
              check_close(y, y_ref, "block_forward_run vs scalar");
              // Backward: weight gradient over n examples, input gradient over lanes.
              std::vector<float> dw(c.w.size(), 9.0f), dw_blocks(dw), dw_ref(dw);
              std::vector<float> dx(c.n_cols * stride, 9.0f), dx_blocks(dx), dx_ref(dx);
              t->block_backward_run(nb, m, k, n, lanes, c.w.data(), c.w_off.data(), dy.data(),
                                    c.rows.data(), x.data(), c.cols.data(), stride, dw.data(),
                                    dx.data());
              for (int b = 0; b < nb; ++b) {
                for (int pass = 0; pass < 2; ++pass) {
                  const KernelTable* u = pass == 0 ? t : &s;
                  std::vector<float>& dwo = pass == 0 ? dw_blocks : dw_ref;
                  std::vector<float>& dxo = pass == 0 ? dx_blocks : dx_ref;
                  u->block_weight_grad_lanes(m, k, n, dy.data(), c.rows.data() + b * m, stride,
                                             x.data(), c.cols.data() + b * k, stride, dwo.data(),
                                             c.w_off.data() + b * m);
                  u->block_backward_input(m, k, lanes, c.w.data(), c.w_off.data() + b * m,
                                          dy.data(), c.rows.data() + b * m, stride, dxo.data(),
                                          c.cols.data() + b * k, stride);
                }
              }
              check_close(dw, dw_blocks, "block_backward_run dw vs block_weight_grad_lanes");
              check_close(dw, dw_ref, "block_backward_run dw vs scalar");
              check_close(dx, dx_blocks, "block_backward_run dx vs block_backward_input");
              check_close(dx, dx_ref, "block_backward_run dx vs scalar");
              // Without dx: the same weight gradient, dx untouched.
              std::vector<float> dw2(c.w.size(), 9.0f);
              t->block_backward_run(nb, m, k, n, lanes, c.w.data(), c.w_off.data(), dy.data(),
                                    c.rows.data(), x.data(), c.cols.data(), stride, dw2.data(),
                                    nullptr);
              CHECK(dw2 == dw);
            }
          }
        }
      }
    }
  }
}

struct CsrCase {
  int32_t rows, cols;
  std::vector<int32_t> row_ptr, col_idx, col_ptr, row_idx, w_pos;
  std::vector<float> w;
};

CsrCase make_csr(int32_t rows, int32_t cols, uint64_t seed) {
  CsrCase c;
  c.rows = rows;
  c.cols = cols;
  Rng rng(seed);
  c.row_ptr.push_back(0);
  for (int32_t r = 0; r < rows; ++r) {
    if (r % 5 != 2) {  // every fifth row empty
      const auto fan = static_cast<int64_t>(1 + rng.uniform(static_cast<uint64_t>(cols)));
      for (int64_t col : rng.sample_sorted(cols, fan))
        c.col_idx.push_back(static_cast<int32_t>(col));
    }
    c.row_ptr.push_back(static_cast<int32_t>(c.col_idx.size()));
  }
  c.col_ptr.assign(cols + 1, 0);
  for (int32_t col : c.col_idx) ++c.col_ptr[col + 1];
  for (int32_t j = 0; j < cols; ++j) c.col_ptr[j + 1] += c.col_ptr[j];
  c.row_idx.resize(c.col_idx.size());
  c.w_pos.resize(c.col_idx.size());
  std::vector<int32_t> fill(c.col_ptr.begin(), c.col_ptr.end() - 1);
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t p = c.row_ptr[r]; p < c.row_ptr[r + 1]; ++p) {
      const int32_t q = fill[c.col_idx[p]]++;
      c.row_idx[q] = r;
      c.w_pos[q] = p;
    }
  }
  c.w = random_vec(c.col_idx.size(), seed + 1);
  return c;
}

TEST_CASE("CSR kernels: scalar against double, SIMD against scalar") {
  const KernelTable& s = *scalar_kernel_table();
  for (int32_t rows : {1, 6, 19}) {
    for (int32_t cols : {1, 4, 23}) {
      CsrCase c = make_csr(rows, cols, rows * 31 + cols);
      for (int n : kBatches) {
        CAPTURE(rows);
        CAPTURE(cols);
        CAPTURE(n);
        const size_t stride = n == 1 ? 1 : n + 3;
        auto x = random_vec(cols * stride, 5);
        auto dy = random_vec(rows * stride, 6);
        std::vector<float> y_ref(rows * stride, 0.0f), dx_ref(cols * stride, 0.0f);
        std::vector<float> dw_ref(c.w.size(), 0.0f);
        s.csr_forward(0, rows, n, c.row_ptr.data(), c.col_idx.data(), c.w.data(), x.data(), stride,
                      y_ref.data(), stride);
        s.csr_backward_input(0, cols, n, c.col_ptr.data(), c.row_idx.data(), c.w_pos.data(),
                             c.w.data(), dy.data(), stride, dx_ref.data(), stride);
        s.csr_weight_grad(0, rows, n, c.row_ptr.data(), c.col_idx.data(), dy.data(), stride,
                          x.data(), stride, dw_ref.data());
        for (int32_t r = 0; r < rows; ++r) {
          for (int b = 0; b < n; ++b) {
            double ref = 0.0;
            for (int32_t p = c.row_ptr[r]; p < c.row_ptr[r + 1]; ++p) {
              ref += static_cast<double>(c.w[p]) * x[c.col_idx[p] * stride + b];
            }
            CHECK(y_ref[r * stride + b] == doctest::Approx(ref).epsilon(1e-5));
          }
          for (int32_t p = c.row_ptr[r]; p < c.row_ptr[r + 1]; ++p) {
            double ref = 0.0;
            for (int b = 0; b < n; ++b) {
              ref += static_cast<double>(dy[r * stride + b]) * x[c.col_idx[p] * stride + b];
            }
            CHECK(dw_ref[p] == doctest::Approx(ref).epsilon(1e-5));
          }
        }
        for (int32_t j = 0; j < cols; ++j) {
          for (int b = 0; b < n; ++b) {
            double ref = 0.0;
            for (int32_t r = 0; r < rows; ++r) {
              for (int32_t p = c.row_ptr[r]; p < c.row_ptr[r + 1]; ++p) {
                if (c.col_idx[p] == j) ref += static_cast<double>(c.w[p]) * dy[r * stride + b];
              }
            }
            CHECK(dx_ref[j * stride + b] == doctest::Approx(ref).epsilon(1e-5));
          }
        }
        for (const KernelTable* t : simd_variants()) {
          CAPTURE(t->name);
          std::vector<float> y(rows * stride, 0.0f), dx(cols * stride, 0.0f), dw(c.w.size(), 0.0f);
          t->csr_forward(0, rows, n, c.row_ptr.data(), c.col_idx.data(), c.w.data(), x.data(),
                         stride, y.data(), stride);
          t->csr_backward_input(0, cols, n, c.col_ptr.data(), c.row_idx.data(), c.w_pos.data(),
                                c.w.data(), dy.data(), stride, dx.data(), stride);
          t->csr_weight_grad(0, rows, n, c.row_ptr.data(), c.col_idx.data(), dy.data(), stride,
                             x.data(), stride, dw.data());
          check_close(y, y_ref, "csr_forward");
          check_close(dx, dx_ref, "csr_backward_input");
          check_close(dw, dw_ref, "csr_weight_grad");
        }
      }
    }
  }
}

TEST_CASE("bias, activation and their gradients: scalar against double, SIMD against scalar") {
  const KernelTable& s = *scalar_kernel_table();
  for (int act : {kActLinear, kActRelu, kActTanh}) {
    for (int n : {1, 5, 15, 16, 17, 37, 64, 100}) {
      CAPTURE(act);
      CAPTURE(n);
      const int lanes = n == 1 ? 1 : (n + 15) / 16 * 16;
      const size_t stride = lanes;
      // Rows 1..20: a group of 16, 8 or 4 rows (the SIMD bias sums run a
      // vector's worth of rows at a time) and leftover rows.
      const int32_t rows = 21;
      auto y0 = random_vec(rows * stride, 7 + n);
      auto bias = random_vec(rows, 8);
      auto g0 = random_vec(rows * stride, 9 + n);
      y0[3] = -bias[0];  // exactly zero before the ReLU
      std::vector<float> y_ref = y0, g_ref = g0, gb_ref(rows, 0.0f);
      // Rows 1..4 only: row 0 must stay untouched.
      s.bias_activation(1, rows, lanes, y_ref.data(), stride, bias.data(), act);
      s.activation_backward(1, rows, n, lanes, g_ref.data(), y_ref.data(), stride, gb_ref.data(),
                            act);
      for (size_t i = 0; i < stride; ++i) {
        CHECK(y_ref[i] == y0[i]);
        CHECK(g_ref[i] == g0[i]);
      }
      CHECK(gb_ref[0] == 0.0f);
      for (int32_t r = 1; r < rows; ++r) {
        double sum = 0.0;
        for (int b = 0; b < lanes; ++b) {
          const size_t at = r * stride + b;
          const double t = static_cast<double>(y0[at]) + bias[r];
          const double a = act == kActRelu ? std::max(t, 0.0) : act == kActTanh ? std::tanh(t) : t;
          CHECK(y_ref[at] == doctest::Approx(a).epsilon(1e-6));
          const double da = act == kActRelu   ? (y_ref[at] > 0.0f ? 1.0 : 0.0)
                            : act == kActTanh ? 1.0 - static_cast<double>(y_ref[at]) * y_ref[at]
                                              : 1.0;
          CHECK(g_ref[at] == doctest::Approx(g0[at] * da).epsilon(1e-6));
          if (b < n) sum += g_ref[at];
        }
        CHECK(gb_ref[r] == doctest::Approx(sum).epsilon(1e-5));
      }
      for (const KernelTable* t : simd_variants()) {
        CAPTURE(t->name);
        std::vector<float> y = y0, g = g0, gb(rows, 0.0f);
        t->bias_activation(1, rows, lanes, y.data(), stride, bias.data(), act);
        t->activation_backward(1, rows, n, lanes, g.data(), y.data(), stride, gb.data(), act);
        check_close(y, y_ref, "bias_activation");
        check_close(g, g_ref, "activation_backward");
        if (act != kActTanh) {
          // Same additions in the same order: the bias sums agree exactly.
          for (int32_t r = 0; r < rows; ++r) CHECK(gb[r] == gb_ref[r]);
        } else {
          check_close(gb, gb_ref, "bias gradient");
        }
      }
    }
  }
}

TEST_CASE("softmax cross-entropy: scalar against double, SIMD against scalar") {
  const KernelTable& s = *scalar_kernel_table();
  for (int classes : {1, 3, 10}) {
    for (int n : {1, 5, 16, 17, 64}) {
      CAPTURE(classes);
      CAPTURE(n);
      const int lanes = n == 1 ? 1 : (n + 15) / 16 * 16;
      const size_t stride = lanes;
      auto z = random_vec(classes * stride, 3 + n);
      for (float& v : z) v *= 30.0f;  // terms down to exp(-60)
      std::vector<int32_t> labels(n);
      for (int b = 0; b < n; ++b) labels[b] = (b * 7 + 3) % classes;
      // Reference loss and gradient in double.
      double ref_loss = 0.0;
      std::vector<double> ref_g(classes * stride, 0.0);
      for (int b = 0; b < n; ++b) {
        double mx = z[b];
        for (int c = 1; c < classes; ++c) mx = std::max<double>(mx, z[c * stride + b]);
        double sum = 0.0;
        for (int c = 0; c < classes; ++c) sum += std::exp(z[c * stride + b] - mx);
        ref_loss += std::log(sum) - (z[labels[b] * stride + b] - mx);
        for (int c = 0; c < classes; ++c) {
          const double p = std::exp(z[c * stride + b] - mx) / sum;
          ref_g[c * stride + b] = (p - (c == labels[b] ? 1.0 : 0.0)) / n;
        }
      }
      std::vector<float> e_ref(classes * stride, 7.0f), mx_ref(n);
      std::vector<double> sum_ref(n);
      int64_t right_ref = 0;
      const double loss_ref =
          s.softmax_xent(classes, n, lanes, z.data(), stride, labels.data(), e_ref.data(),
                         mx_ref.data(), sum_ref.data(), true, &right_ref, 0.0);
      CHECK(loss_ref == doctest::Approx(ref_loss).epsilon(1e-5));
      for (size_t i = 0; i < e_ref.size(); ++i) {
        CHECK(e_ref[i] == doctest::Approx(ref_g[i]).epsilon(1e-5).scale(1e-6));
      }
      for (const KernelTable* t : simd_variants()) {
        CAPTURE(t->name);
        std::vector<float> e(classes * stride, 7.0f), mx(n);
        std::vector<double> sum(n);
        int64_t right = 0;
        const double loss = t->softmax_xent(classes, n, lanes, z.data(), stride, labels.data(),
                                            e.data(), mx.data(), sum.data(), true, &right, 0.0);
        CHECK(loss == doctest::Approx(loss_ref).epsilon(1e-6));
        CHECK(right == right_ref);
        check_close(e, e_ref, "softmax_xent gradient");
      }
    }
  }
  // A NaN logit makes the loss NaN in every variant (the exp's clamp keeps it).
  for (const KernelTable* t :
       {&s, kernels_for(Isa::kAvx2), kernels_for(Isa::kAvx512), kernels_for(Isa::kNeon)}) {
    if (t == nullptr) continue;
    CAPTURE(t->name);
    std::vector<float> z(3 * 16, 0.5f), e(z.size()), mx(16);
    std::vector<double> sum(16);
    std::vector<int32_t> labels(16, 0);
    z[16 + 5] = std::nanf("");
    const double loss = t->softmax_xent(3, 16, 16, z.data(), 16, labels.data(), e.data(), mx.data(),
                                        sum.data(), false, nullptr, 0.0);
    CHECK(std::isnan(loss));
  }
}

TEST_CASE("optimizer update: SIMD variants match the scalar reference") {
  for (int kind : {kOptSgd, kOptNesterov, kOptAdam}) {
    for (bool prox : {false, true}) {
      for (size_t n : {size_t{1}, size_t{37}, size_t{1000}}) {
        CAPTURE(kind);
        CAPTURE(prox);
        CAPTURE(n);
        const auto w0 = random_vec(n, 11), g = random_vec(n, 12), anchor = random_vec(n, 13);
        const auto m0 = random_vec(n, 14);
        auto v0 = random_vec(n, 15);
        for (float& x : v0) x = std::fabs(x);
        auto run = [&](const KernelTable& t, std::vector<float>& w, std::vector<float>& m,
                       std::vector<float>& v) {
          w = w0;
          m = m0;
          v = v0;
          OptimizerStep st;
          st.kind = kind;
          st.n = n;
          st.w = w.data();
          st.g = g.data();
          st.anchor = prox ? anchor.data() : nullptr;
          st.m = m.data();
          st.v = v.data();
          st.lr = 0.1f;
          st.momentum = 0.9f;
          st.scale = 0.5f;
          st.wd_l2 = 0.01f;
          st.prox_mu = prox ? 0.2f : 0.0f;
          st.beta1 = 0.9f;
          st.beta2 = 0.999f;
          st.epsilon = 1e-8f;
          st.bc1 = 0.1f;
          st.bc2 = 0.001f;
          st.decoupled = 0.01f;
          t.optimizer_step(st);
        };
        std::vector<float> w_ref, m_ref, v_ref;
        run(*scalar_kernel_table(), w_ref, m_ref, v_ref);
        // Element 0 by hand (SGD with momentum).
        if (kind == kOptSgd) {
          const float g0 = g[0] * 0.5f + 0.01f * w0[0] + (prox ? 0.2f * (w0[0] - anchor[0]) : 0.0f);
          CHECK(m_ref[0] == doctest::Approx(0.9f * m0[0] + g0).epsilon(1e-6));
          CHECK(w_ref[0] == doctest::Approx(w0[0] - 0.1f * (0.9f * m0[0] + g0)).epsilon(1e-6));
        }
        for (const KernelTable* t : simd_variants()) {
          CAPTURE(t->name);
          std::vector<float> w, m, v;
          run(*t, w, m, v);
          check_close(w, w_ref, "optimizer w");
          check_close(m, m_ref, "optimizer m");
          check_close(v, v_ref, "optimizer v");
        }
      }
    }
  }
}

TEST_CASE("pixel bytes become the floats pixel_value gives, in every variant") {
  // Every byte value, at lengths around the vector widths and unaligned.
  std::vector<uint8_t> bytes(300 + 7);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i * 89 + 3) % 256);
  std::vector<const KernelTable*> variants = simd_variants();
  variants.push_back(scalar_kernel_table());
  for (const KernelTable* kt : variants) {
    CAPTURE(kt->name);
    for (size_t n :
         {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{64}, size_t{300}}) {
      for (size_t offset : {size_t{0}, size_t{3}}) {
        CAPTURE(n);
        CAPTURE(offset);
        std::vector<float> out(n + 1, -1.0f);
        kt->pixels_to_floats(n, bytes.data() + offset, out.data());
        for (size_t i = 0; i < n; ++i) {
          const float want = pixel_value(bytes[offset + i]);
          REQUIRE(std::memcmp(&out[i], &want, sizeof(float)) == 0);
        }
        CHECK(out[n] == -1.0f);  // nothing written past n
      }
    }
  }
}

TEST_CASE("dispatch: forcing the scalar path and naming variants") {
  CHECK(isa_name(Isa::kAvx512) == "avx512");
  force_scalar(true);
  CHECK(std::string_view(active_kernels().name) == "scalar");
  force_scalar(false);
  const KernelTable& best = active_kernels();
  const bool has_forward = best.block_forward != nullptr;
  CHECK(has_forward);
  CHECK(kernels_for(Isa::kScalar) == scalar_kernel_table());
}

}  // namespace
}  // namespace nf::engine
