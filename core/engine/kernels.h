// Engine microkernels: the table of one instruction set's variants, and the
// run-time choice between them.
//
// Layout (docs/engine.md): activations are feature-major, row f of a matrix
// holds feature f for every example of the batch, `stride` floats apart.
// Weights stay in the canonical CSR order of their mask, so a block row's
// weights are contiguous and a block is described by tables only:
//   rows[i]  output feature of block row i (i < m)
//   cols[j]  input feature of block column j (j < k)
//   w_off[i] offset of row i's k weights from `w`
// A sub-block (rows i0.., or columns j0..) is the same call with shifted
// pointers (`w + j0` for columns), which is how operators split work.
//
// Microkernels take pointers, sizes and strides and never allocate; scratch
// comes from the caller. Every kernel exists as a scalar reference and as
// AVX2, AVX-512 and NEON variants built from one source (kernels_impl.h).
// Results differ between variants only by rounding (FMA vs mul+add, dot
// product association); within a variant they do not depend on how an
// operator splits the work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nf::engine {

// One optimizer update over a flat vector (core/engine/optimizer.h gives
// the rules), element by element: g' = scale g + prox_mu (w - anchor) +
// wd_l2 w, then the rule of `kind`. Pointers not used by the rule may be
// null; anchor is read only when prox_mu > 0.
constexpr int kOptSgd = 0;       // m = momentum m + g'; w -= lr m  (no m: w -= lr g')
constexpr int kOptNesterov = 1;  // m = momentum m + g'; w -= lr (g' + momentum m)
constexpr int kOptAdam = 2;      // Adam with bias corrections bc1, bc2; decoupled decay
struct OptimizerStep {
  int kind = kOptSgd;
  size_t n = 0;
  float* w = nullptr;
  const float* g = nullptr;
  const float* anchor = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  float lr = 0.0f, momentum = 0.0f, scale = 1.0f, wd_l2 = 0.0f, prox_mu = 0.0f;
  float beta1 = 0.0f, beta2 = 0.0f, epsilon = 0.0f, bc1 = 1.0f, bc2 = 1.0f, decoupled = 0.0f;
};

struct KernelTable {
  const char* name = "";  // "scalar", "avx2", "avx512", "neon"
  int lanes = 1;          // floats per vector

  // y[rows[i]][b] = sum_j w[w_off[i] + j] * x[cols[j]][b], for b < n.
  void (*block_forward)(int m, int k, int n, const float* w, const int64_t* w_off, const float* x,
                        const int32_t* cols, size_t x_stride, float* y, const int32_t* rows,
                        size_t y_stride) = nullptr;
  // dx[cols[j]][b] = sum_i w[w_off[i] + j] * dy[rows[i]][b], for b < n.
  void (*block_backward_input)(int m, int k, int n, const float* w, const int64_t* w_off,
                               const float* dy, const int32_t* rows, size_t dy_stride, float* dx,
                               const int32_t* cols, size_t dx_stride) = nullptr;
  // xt[b * xt_ld + j] = x[cols[j]][b] for b < n, j < k: the block's input,
  // transposed so that the weight gradient runs as outer products. Writes
  // nothing else (xt_ld >= k).
  void (*gather_transpose)(int k, int n, const float* x, const int32_t* cols, size_t x_stride,
                           float* xt, size_t xt_ld) = nullptr;
  // dw[w_off[i] + j] = sum_{b < n} dy[rows[i]][b] * xt[b * xt_ld + j].
  // Precondition: xt_ld >= padded_width(k, lanes) and every float of the rows
  // up to that width is readable and finite: the kernel reads whole vectors
  // (a masked load in the inner loop costs GCC 12 a spill per iteration) and
  // stores only j < k.
  void (*block_weight_grad)(int m, int k, int n, const float* dy, const int32_t* rows,
                            size_t dy_stride, const float* xt, size_t xt_ld, float* dw,
                            const int64_t* w_off) = nullptr;
  // Same result as gather_transpose + block_weight_grad, with the batch in
  // the vector lanes and one horizontal sum per weight: for narrow blocks,
  // whose transposed input would be mostly padding.
  void (*block_weight_grad_lanes)(int m, int k, int n, const float* dy, const int32_t* rows,
                                  size_t dy_stride, const float* x, const int32_t* cols,
                                  size_t x_stride, float* dw, const int64_t* w_off) = nullptr;
  // Same result again, with the batch in the lanes: groups of weights (two
  // rows x lanes / 2 columns) summed by one transposing reduction instead of
  // a horizontal sum each. For blocks of few rows, over which the transpose
  // of block_weight_grad's input would be amortized badly.
  void (*block_weight_grad_reduce)(int m, int k, int n, const float* dy, const int32_t* rows,
                                   size_t dy_stride, const float* x, const int32_t* cols,
                                   size_t x_stride, float* dw, const int64_t* w_off) = nullptr;

  // Runs of nb blocks of one shape m x k (small blocks: k <= kRunMaxK), tables
  // back to back: block b's rows at rows[b * m], its columns at cols[b * k],
  // its weight offsets at w_off[b * m]. Same results as block_forward on
  // each block.
  void (*block_forward_run)(int nb, int m, int k, int n, const float* w, const int64_t* w_off,
                            const float* x, const int32_t* cols, size_t x_stride, float* y,
                            const int32_t* rows, size_t y_stride) = nullptr;
  // Block by block: block_weight_grad_lanes over n examples, then, when dx is
  // not null, block_backward_input over `lanes` examples (same results).
  // x, dy and dx share `stride`.
  void (*block_backward_run)(int nb, int m, int k, int n, int lanes, const float* w,
                             const int64_t* w_off, const float* dy, const int32_t* rows,
                             const float* x, const int32_t* cols, size_t stride, float* dw,
                             float* dx) = nullptr;

  // Batch 1 (stride 1). `scratch` holds at least 2 * k floats.
  // y[rows[i]] = sum_j w[w_off[i] + j] * x[cols[j]].
  void (*block_forward_b1)(int m, int k, const float* w, const int64_t* w_off, const float* x,
                           const int32_t* cols, float* y, const int32_t* rows,
                           float* scratch) = nullptr;
  // One sweep over the weights: dw[w_off[i] + j] = dy[rows[i]] * x[cols[j]] and,
  // when dx is not null, dx[cols[j]] = sum_i w[w_off[i] + j] * dy[rows[i]].
  void (*block_backward_b1)(int m, int k, const float* w, const int64_t* w_off, const float* x,
                            const int32_t* cols, const float* dy, const int32_t* rows, float* dw,
                            float* dx, float* scratch) = nullptr;

  // out[i] = p[i] * (1 / 255) in float for i < n: pixel bytes to the
  // features nf::pixel_value (core/data/dataset.h) gives, bit for bit (the
  // conversion is exact and the product rounds once). A plain loop that the
  // compiler vectorizes with each file's instruction set.
  void (*pixels_to_floats)(size_t n, const uint8_t* p, float* out) = nullptr;

  // Element-wise passes over rows [r0, r1) of a feature-major matrix, for
  // b < lanes (the stride in use: padding lanes are processed too).
  // act is kActLinear, kActRelu or kActTanh.
  // y[r][b] = act(y[r][b] + bias[r]).
  void (*bias_activation)(int32_t r0, int32_t r1, int lanes, float* y, size_t stride,
                          const float* bias, int act) = nullptr;
  // g[r][b] *= act'(a[r][b]) (a: the activation's output), then
  // gbias[r] = sum_{b < n} g[r][b] summed in 16 partial sums (example b into
  // sum b % 16) and a pairwise tree, a fixed order that is the same in every
  // variant (below 16 examples, left to right).
  void (*activation_backward)(int32_t r0, int32_t r1, int n, int lanes, float* g, const float* a,
                              size_t stride, float* gbias, int act) = nullptr;

  // The optimizer update: plain element-wise loops that the compiler
  // vectorizes for each instruction set (and contracts into FMAs where the
  // set has them, so variants differ by rounding, as the other kernels).
  void (*optimizer_step)(const OptimizerStep& step) = nullptr;

  // Softmax cross-entropy of n examples over `classes` logits (rows of z,
  // feature-major): returns loss_before plus the summed loss, added in one
  // fixed chain per 16 examples (so batches of any multiple of 16 give the
  // same sum over a data set). e receives exp(z - max) and,
  // when `grad`, d(mean loss)/dz instead (lanes n..lanes-1 set to 0); zmax
  // (floats) and sum (doubles) are n values of scratch. When correct is
  // not null, adds the number of examples whose first largest logit is the
  // label's. Plain loops over the batch, vectorized by each file's flags.
  double (*softmax_xent)(int classes, int n, int lanes, const float* z, size_t stride,
                         const int32_t* labels, float* e, float* zmax, double* sum, bool grad,
                         int64_t* correct, double loss_before) = nullptr;

  // Generic masks in CSR, rows [r0, r1):
  // y[r][b] = sum_{p in row r} w[p] * x[col_idx[p]][b].
  void (*csr_forward)(int32_t r0, int32_t r1, int n, const int32_t* row_ptr, const int32_t* col_idx,
                      const float* w, const float* x, size_t x_stride, float* y,
                      size_t y_stride) = nullptr;
  // Columns [c0, c1) through the transposed index (CSC with weight positions):
  // dx[c][b] = sum_{q in column c} w[w_pos[q]] * dy[row_idx[q]][b].
  void (*csr_backward_input)(int32_t c0, int32_t c1, int n, const int32_t* col_ptr,
                             const int32_t* row_idx, const int32_t* w_pos, const float* w,
                             const float* dy, size_t dy_stride, float* dx,
                             size_t dx_stride) = nullptr;
  // dw[p] = sum_{b < n} dy[r][b] * x[col_idx[p]][b] for every p of rows [r0, r1).
  void (*csr_weight_grad)(int32_t r0, int32_t r1, int n, const int32_t* row_ptr,
                          const int32_t* col_idx, const float* dy, size_t dy_stride, const float* x,
                          size_t x_stride, float* dw) = nullptr;
};

// Activation codes of bias_activation and activation_backward (the values
// of nf::Activation).
constexpr int kActLinear = 0;
constexpr int kActRelu = 1;
constexpr int kActTanh = 2;

// Widest block the run kernels take (block_forward_run, block_backward_run).
constexpr int kRunMaxK = 8;

// k rounded up to a multiple of `lanes`: the row pitch block_weight_grad
// needs for a block of width k.
inline size_t padded_width(int k, int lanes) {
  return (static_cast<size_t>(k) + lanes - 1) / lanes * lanes;
}

enum class Isa { kScalar, kAvx2, kAvx512, kNeon };

std::string_view isa_name(Isa isa);

// The variant of `isa`, or null when this build or this CPU lacks it.
const KernelTable* kernels_for(Isa isa);

// The variant every operator uses: the best the CPU supports, chosen once,
// unless the environment sets NF_FORCE_SCALAR=1 or force_scalar(true) was
// called. Thread-safe.
const KernelTable& active_kernels();
// Forces (or stops forcing) the scalar reference for every later call.
void force_scalar(bool on);

// Per-ISA tables (defined in kernels_<isa>.cpp; absent ones return null).
const KernelTable* scalar_kernel_table();
const KernelTable* avx2_kernel_table();
const KernelTable* avx512_kernel_table();
const KernelTable* neon_kernel_table();

}  // namespace nf::engine
