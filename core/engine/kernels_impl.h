// The engine's microkernels, written once over a thin SIMD mapping.
//
// Included by each kernels_<isa>.cpp inside `namespace nf::engine { namespace {`
// after it defines `struct V` (vector type R, kLanes, kRowTile, kVecTile and
// zero/set1/load/load_n/store/store_n/fma/hsum/add/sub/mul/relu/
// select_positive/tree_sum/tree_sums/reduce_lanes/upper_half/in_register).
// Everything here has internal
// linkage and uses no standard-library templates, so code compiled with
// -mavx512f can never be picked by the linker for a caller on another CPU.
//
// No include guard on purpose: one inclusion per translation unit.

constexpr int kL = V::kLanes;
constexpr int kMR = V::kRowTile;
constexpr int kNV = V::kVecTile;
// NF_RANGE_TILES spells out leftover tiles of 1 to 4 vectors.
static_assert(kNV >= 1 && kNV <= 4, "leftover tiles are written out for up to 4 vectors");
using R = typename V::R;

inline int min_int(int a, int b) {
  return a < b ? a : b;
}

// Rows of the next tile when `left` rows remain: tiles as even as possible
// (13 rows -> 5, 4, 4 rather than 6, 6, 1; a one-row tile is load-bound).
inline int tile_rows(int left) {
  const int tiles = (left + kMR - 1) / kMR;
  return (left + tiles - 1) / tiles;
}

// Loads vector v of a tile whose last vector may be partial.
template <bool kPartial>
inline R load_tile(const float* p, int v, int nv, int tail) {
  if (kPartial && v == nv - 1) return V::load_n(p + v * kL, tail);
  return V::load(p + v * kL);
}
template <bool kPartial>
inline void store_tile(float* p, R r, int v, int nv, int tail) {
  if (kPartial && v == nv - 1) {
    V::store_n(p + v * kL, r, tail);
  } else {
    V::store(p + v * kL, r);
  }
}

// Runs `Tile<MR, NV, kPartial>` over the batch (or column) range [0, n):
// kNV-vector tiles, then one tile of the 1..kNV vectors left, whose last
// vector may be partial (28 columns run as one 2-vector tile, not two).
#define NF_RANGE_TILES(MR, n, CALL)                                            \
  do {                                                                         \
    int b_ = 0;                                                                \
    for (; b_ + kNV * kL <= (n); b_ += kNV * kL) CALL(MR, kNV, false, b_, kL); \
    const int left_ = (n)-b_;                                                  \
    if (left_ > 0) {                                                           \
      const int nv_ = (left_ + kL - 1) / kL;                                   \
      const int tail_ = left_ - (nv_ - 1) * kL;                                \
      const bool part_ = tail_ != kL;                                          \
      switch (nv_) {                                                           \
        case 1:                                                                \
          if (part_)                                                           \
            CALL(MR, 1, true, b_, tail_);                                      \
          else                                                                 \
            CALL(MR, 1, false, b_, kL);                                        \
          break;                                                               \
        case 2:                                                                \
          if (part_)                                                           \
            CALL(MR, 2, true, b_, tail_);                                      \
          else                                                                 \
            CALL(MR, 2, false, b_, kL);                                        \
          break;                                                               \
        case 3:                                                                \
          if (part_)                                                           \
            CALL(MR, 3, true, b_, tail_);                                      \
          else                                                                 \
            CALL(MR, 3, false, b_, kL);                                        \
          break;                                                               \
        default:                                                               \
          if (part_)                                                           \
            CALL(MR, 4, true, b_, tail_);                                      \
          else                                                                 \
            CALL(MR, 4, false, b_, kL);                                        \
          break;                                                               \
      }                                                                        \
    }                                                                          \
  } while (0)

// Dispatches a runtime row count 1..kMR (kMR <= 6) to a template argument.
#define NF_SWITCH_ROWS(mr, BODY) \
  switch (mr) {                  \
    case 1:                      \
      BODY(1);                   \
      break;                     \
    case 2:                      \
      BODY(2);                   \
      break;                     \
    case 3:                      \
      BODY(3);                   \
      break;                     \
    case 4:                      \
      BODY(4);                   \
      break;                     \
    case 5:                      \
      BODY(5);                   \
      break;                     \
    default:                     \
      BODY(6);                   \
      break;                     \
  }

// ---- structured blocks, feature-major ----

inline void zero_row(float* p, int n) {
  for (int b = 0; b < n; ++b) p[b] = 0.0f;
}

template <int MR, int NV, bool kPartial>
void forward_tile(int k, const float* w, const int64_t* w_off, const float* x, const int32_t* cols,
                  size_t x_stride, float* y, const int32_t* rows, size_t y_stride, int b0,
                  int tail) {
  R acc[MR][NV];
  const float* wr[MR];
  for (int i = 0; i < MR; ++i) {
    wr[i] = w + w_off[i];
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  }
  // A do-while (k >= 1): with a loop that may run zero times, GCC 12 keeps
  // the accumulators in a stack array for the path that skips it, and
  // copies all of them through memory before and after the loop.
  int j = 0;
  do {
    const float* xr = x + static_cast<size_t>(cols[j]) * x_stride + b0;
    R xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = load_tile<kPartial>(xr, v, NV, tail);
    for (int i = 0; i < MR; ++i) {
      const R wv = V::set1(wr[i][j]);
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(wv, xv[v], acc[i][v]);
    }
  } while (++j < k);
  for (int i = 0; i < MR; ++i) {
    float* yr = y + static_cast<size_t>(rows[i]) * y_stride + b0;
    for (int v = 0; v < NV; ++v) store_tile<kPartial>(yr, acc[i][v], v, NV, tail);
  }
}

template <int MR>
void forward_rows(int k, int n, const float* w, const int64_t* w_off, const float* x,
                  const int32_t* cols, size_t x_stride, float* y, const int32_t* rows,
                  size_t y_stride) {
#define NF_CALL(MR_, NV_, P_, B_, T_) \
  forward_tile<MR_, NV_, P_>(k, w, w_off, x, cols, x_stride, y, rows, y_stride, B_, T_)
  NF_RANGE_TILES(MR, n, NF_CALL);
#undef NF_CALL
}

void block_forward(int m, int k, int n, const float* w, const int64_t* w_off, const float* x,
                   const int32_t* cols, size_t x_stride, float* y, const int32_t* rows,
                   size_t y_stride) {
  if (k <= 0) {  // the tiles need k >= 1
    for (int i = 0; i < m; ++i) zero_row(y + static_cast<size_t>(rows[i]) * y_stride, n);
    return;
  }
  for (int i0 = 0, mr = 0; i0 < m; i0 += mr) {
    mr = tile_rows(m - i0);
#define NF_BODY(MR_) \
  forward_rows<MR_>(k, n, w, w_off + i0, x, cols, x_stride, y, rows + i0, y_stride)
    NF_SWITCH_ROWS(mr, NF_BODY)
#undef NF_BODY
  }
}

template <int MJ, int NV, bool kPartial>
void backward_input_tile(int m, const float* w, const int64_t* w_off, const float* dy,
                         const int32_t* rows, size_t dy_stride, float* dx, const int32_t* cols,
                         size_t dx_stride, int b0, int tail) {
  R acc[MJ][NV];
  for (int j = 0; j < MJ; ++j) {
    for (int v = 0; v < NV; ++v) acc[j][v] = V::zero();
  }
  int i = 0;  // m >= 1: a do-while, as in forward_tile
  do {
    const float* dyr = dy + static_cast<size_t>(rows[i]) * dy_stride + b0;
    const float* wr = w + w_off[i];
    R gv[NV];
    for (int v = 0; v < NV; ++v) gv[v] = load_tile<kPartial>(dyr, v, NV, tail);
    for (int j = 0; j < MJ; ++j) {
      const R wv = V::set1(wr[j]);
      for (int v = 0; v < NV; ++v) acc[j][v] = V::fma(wv, gv[v], acc[j][v]);
    }
  } while (++i < m);
  for (int j = 0; j < MJ; ++j) {
    float* dxr = dx + static_cast<size_t>(cols[j]) * dx_stride + b0;
    for (int v = 0; v < NV; ++v) store_tile<kPartial>(dxr, acc[j][v], v, NV, tail);
  }
}

template <int MJ>
void backward_input_cols(int m, int n, const float* w, const int64_t* w_off, const float* dy,
                         const int32_t* rows, size_t dy_stride, float* dx, const int32_t* cols,
                         size_t dx_stride) {
#define NF_CALL(MJ_, NV_, P_, B_, T_) \
  backward_input_tile<MJ_, NV_, P_>(m, w, w_off, dy, rows, dy_stride, dx, cols, dx_stride, B_, T_)
  NF_RANGE_TILES(MJ, n, NF_CALL);
#undef NF_CALL
}

void block_backward_input(int m, int k, int n, const float* w, const int64_t* w_off,
                          const float* dy, const int32_t* rows, size_t dy_stride, float* dx,
                          const int32_t* cols, size_t dx_stride) {
  if (m <= 0) {  // the tiles need m >= 1
    for (int j = 0; j < k; ++j) zero_row(dx + static_cast<size_t>(cols[j]) * dx_stride, n);
    return;
  }
  for (int j0 = 0, mj = 0; j0 < k; j0 += mj) {
    mj = tile_rows(k - j0);
#define NF_BODY(MJ_) \
  backward_input_cols<MJ_>(m, n, w + j0, w_off, dy, rows, dy_stride, dx, cols + j0, dx_stride)
    NF_SWITCH_ROWS(mj, NF_BODY)
#undef NF_BODY
  }
}

// Whether a block's k columns are consecutive and ascending (the operators'
// tables hold distinct columns in order, so the ends tell).
inline bool contiguous(int k, const int32_t* cols) {
  return k > 0 && cols[k - 1] - cols[0] == k - 1;
}

void gather_transpose(int k, int n, const float* x, const int32_t* cols, size_t x_stride, float* xt,
                      size_t xt_ld) {
  constexpr int T = V::kTransposeTile;
  if (T > 1) {
    // Register transposes of T rows x T examples; a short last group of rows
    // repeats row 0 and stores only its valid lanes.
    for (int j0 = 0; j0 < k; j0 += T) {
      const int rows = min_int(T, k - j0);
      if (rows <= T / 4) {
        // A few leftover columns (18 = 16 + 2): copies beat a full transpose.
        for (int b = 0; b < n; ++b) {
          float* dst = xt + static_cast<size_t>(b) * xt_ld + j0;
          for (int t = 0; t < rows; ++t) {
            dst[t] = x[static_cast<size_t>(cols[j0 + t]) * x_stride + b];
          }
        }
        continue;
      }
      const float* src[T > 1 ? T : 1];
      for (int t = 0; t < T; ++t) {
        src[t] = x + static_cast<size_t>(cols[j0 + (t < rows ? t : 0)]) * x_stride;
      }
      // Long rows (a batch's examples in a data set, beyond the caches):
      // besides a few lines ahead in these rows, fetch the same line of the
      // next group's rows, so that only the first group waits on memory.
      // Consecutive rows (a batch-major copy just written) are in the caches
      // or one stream for the hardware prefetcher: no software prefetches,
      // which cost 0.2-0.4 us of the 3.5 us transpose of a batch of 64.
      const bool far = n > 4 * T && !contiguous(rows, cols + j0);
      const float* next[T > 1 ? T : 1];
      const int next_rows = far ? min_int(T, k - j0 - T) : 0;
      for (int t = 0; t < next_rows; ++t) {
        next[t] = x + static_cast<size_t>(cols[j0 + T + t]) * x_stride;
      }
      int b = 0;
      for (; b + T <= n; b += T) {
        if (far && b + 4 * T < n) {
          for (int t = 0; t < rows; ++t) __builtin_prefetch(src[t] + b + 4 * T);
        }
        for (int t = 0; t < next_rows; ++t) __builtin_prefetch(next[t] + b);
        V::transpose_tile(src, b, xt + static_cast<size_t>(b) * xt_ld + j0, xt_ld, rows);
      }
      for (; b < n; ++b) {
        for (int t = 0; t < rows; ++t) xt[static_cast<size_t>(b) * xt_ld + j0 + t] = src[t][b];
      }
    }
    return;
  }
  // Blocks of 8 columns keep the strided writes within a few cache lines.
  for (int j0 = 0; j0 < k; j0 += 8) {
    const int jn = min_int(8, k - j0);
    for (int b = 0; b < n; ++b) {
      float* dst = xt + static_cast<size_t>(b) * xt_ld + j0;
      for (int j = 0; j < jn; ++j) dst[j] = x[static_cast<size_t>(cols[j0 + j]) * x_stride + b];
    }
  }
}

// Loads whole vectors even for a partial tile (the rows are padded, see
// kernels.h); only the stores are masked.
template <int MR, int NV, bool kPartial>
void weight_grad_tile(int n, size_t xt_ld, const float* dy, const int32_t* rows, size_t dy_stride,
                      const float* xt, float* dw, const int64_t* w_off, int j0, int tail) {
  R acc[MR][NV];
  const float* dyr[MR];
  for (int i = 0; i < MR; ++i) {
    dyr[i] = dy + static_cast<size_t>(rows[i]) * dy_stride;
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  }
  int b = 0;  // n >= 1: a do-while, as in forward_tile
  do {
    const float* xr = xt + static_cast<size_t>(b) * xt_ld + j0;
    R xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = V::load(xr + v * kL);
    for (int i = 0; i < MR; ++i) {
      const R g = V::set1(dyr[i][b]);
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(g, xv[v], acc[i][v]);
    }
  } while (++b < n);
  for (int i = 0; i < MR; ++i) {
    float* dwr = dw + w_off[i] + j0;
    for (int v = 0; v < NV; ++v) store_tile<kPartial>(dwr, acc[i][v], v, NV, tail);
  }
}

template <int MR>
void weight_grad_rows(int k, int n, const float* dy, const int32_t* rows, size_t dy_stride,
                      const float* xt, size_t xt_ld, float* dw, const int64_t* w_off) {
#define NF_CALL(MR_, NV_, P_, J_, T_) \
  weight_grad_tile<MR_, NV_, P_>(n, xt_ld, dy, rows, dy_stride, xt, dw, w_off, J_, T_)
  NF_RANGE_TILES(MR, k, NF_CALL);
#undef NF_CALL
}

// Rows of a weight-gradient tile for blocks at most two vectors wide: the
// ISA's kNarrowRowTile when it defines one (AVX-512: 12 rows x 2 vectors
// fit its 32 registers), else kMR.
template <typename T>
constexpr int narrow_row_tile(...) {
  return kMR;
}
template <typename T>
constexpr int narrow_row_tile(decltype(T::kNarrowRowTile)*) {
  return T::kNarrowRowTile;
}
constexpr int kNarrowMR = narrow_row_tile<V>(nullptr);

// A tile of mr <= MR rows and nv <= 2 vectors, the last one `tail` lanes.
template <int MR>
void weight_grad_narrow(int mr, int nv, int tail, int n, size_t xt_ld, const float* dy,
                        const int32_t* rows, size_t dy_stride, const float* xt, float* dw,
                        const int64_t* w_off) {
  if constexpr (MR > 1) {
    if (mr < MR) {
      weight_grad_narrow<MR - 1>(mr, nv, tail, n, xt_ld, dy, rows, dy_stride, xt, dw, w_off);
      return;
    }
  }
  if (nv == 1) {
    if (tail == kL) {
      weight_grad_tile<MR, 1, false>(n, xt_ld, dy, rows, dy_stride, xt, dw, w_off, 0, kL);
    } else {
      weight_grad_tile<MR, 1, true>(n, xt_ld, dy, rows, dy_stride, xt, dw, w_off, 0, tail);
    }
  } else if (tail == kL) {
    weight_grad_tile<MR, 2, false>(n, xt_ld, dy, rows, dy_stride, xt, dw, w_off, 0, kL);
  } else {
    weight_grad_tile<MR, 2, true>(n, xt_ld, dy, rows, dy_stride, xt, dw, w_off, 0, tail);
  }
}

void block_weight_grad(int m, int k, int n, const float* dy, const int32_t* rows, size_t dy_stride,
                       const float* xt, size_t xt_ld, float* dw, const int64_t* w_off) {
  if (n <= 0) {  // the tiles need n >= 1
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < k; ++j) dw[w_off[i] + j] = 0.0f;
    }
    return;
  }
  if (kNarrowMR > kMR && k <= 2 * kL) {
    // Blocks at most two vectors wide: tiles of up to kNarrowMR rows, so
    // that fewer tiles re-read the transposed input and each broadcast of
    // dy feeds a row of the tile (13 rows: 7 + 6 instead of 5 + 4 + 4).
    const int nv = (k + kL - 1) / kL;
    const int tail = k - (nv - 1) * kL;
    for (int i0 = 0, mr = 0; i0 < m; i0 += mr) {
      const int tiles = (m - i0 + kNarrowMR - 1) / kNarrowMR;
      mr = (m - i0 + tiles - 1) / tiles;
      weight_grad_narrow<kNarrowMR>(mr, nv, tail, n, xt_ld, dy, rows + i0, dy_stride, xt, dw,
                                    w_off + i0);
    }
    return;
  }
  for (int i0 = 0, mr = 0; i0 < m; i0 += mr) {
    mr = tile_rows(m - i0);
#define NF_BODY(MR_) \
  weight_grad_rows<MR_>(k, n, dy, rows + i0, dy_stride, xt, xt_ld, dw, w_off + i0)
    NF_SWITCH_ROWS(mr, NF_BODY)
#undef NF_BODY
  }
}

// Accumulators of a narrow block's batch-in-lanes weight-gradient tile: 16
// where the tiles above hold 24 (AVX-512, NEON: 16 + K loads of x + one of
// dy fit 32 registers), else 8.
constexpr int kLanesAcc = kMR * kNV >= 24 ? 16 : 8;

// GCC 12 vectorizes the tile's set-up of its row pointers (rows[i] *
// stride in 64 bits: two dozen vector instructions on the ports the FMAs
// need); scalar multiplies made the 4 x 4 tile about a fifth faster.
// Clang has no such attribute (and does not do this).
#if defined(__GNUC__) && !defined(__clang__)
#define NF_NO_SLP __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define NF_NO_SLP
#endif

// Rows MR x columns K of a block (K <= 8), the batch in the lanes: MR * K
// accumulators, each vector of x and dy loaded once per tile, then the
// accumulators' lanes summed kL at a time by V::reduce_lanes (a tree of
// shuffles: 45 instructions for 16 weights on AVX-512, where one horizontal
// sum per weight took 8). Rows whose weights follow each other (a block
// stored row after row, as butterfly and Clos blocks are) are stored as
// whole vectors.
template <int K, int MR>
NF_NO_SLP void weight_grad_lanes_tile(int n, const float* dy, const int32_t* rows, size_t dy_stride,
                                      const float* x, const int32_t* cols, size_t x_stride,
                                      float* dw, const int64_t* w_off) {
  constexpr int kAcc = MR * K;
  constexpr int kGroups = (kAcc + kL - 1) / kL;
  const float* g[MR];
  const float* xr[K];
  for (int i = 0; i < MR; ++i) g[i] = dy + static_cast<size_t>(rows[i]) * dy_stride;
  for (int j = 0; j < K; ++j) xr[j] = x + static_cast<size_t>(cols[j]) * x_stride;
  // n >= 1: a do-while, as in forward_tile, whose last vector may be
  // partial (peeling the first vector to set the accumulators made GCC 12
  // keep them in a stack array, as a loop that may run zero times does).
  // Unrolled before GCC 12's loop distribution can turn the zeroing into a
  // memset of a stack array (rep stos, then loads: a tenth of the tile).
  R acc[kGroups * kL];
#pragma GCC unroll 64
  for (int a = 0; a < kGroups * kL; ++a) acc[a] = V::zero();
  int b = 0;
  do {
    const int t = n - b;
    R xv[K];
    if (t >= kL) {
      for (int j = 0; j < K; ++j) xv[j] = V::load(xr[j] + b);
      for (int i = 0; i < MR; ++i) {
        const R gv = V::load(g[i] + b);
        for (int j = 0; j < K; ++j) acc[i * K + j] = V::fma(gv, xv[j], acc[i * K + j]);
      }
    } else {
      for (int j = 0; j < K; ++j) xv[j] = V::load_n(xr[j] + b, t);
      for (int i = 0; i < MR; ++i) {
        const R gv = V::load_n(g[i] + b, t);
        for (int j = 0; j < K; ++j) acc[i * K + j] = V::fma(gv, xv[j], acc[i * K + j]);
      }
    }
  } while ((b += kL) < n);
  bool packed = true;  // row i's weights at w_off[0] + i * K
  for (int i = 1; i < MR; ++i) packed = packed && w_off[i] == w_off[0] + i * K;
  if (packed) {
    float* d = dw + w_off[0];
    for (int q = 0; q < kGroups; ++q) {
      const R s = V::reduce_lanes(acc + q * kL);
      if ((q + 1) * kL <= kAcc) {
        V::store(d + q * kL, s);
      } else {
        V::store_n(d + q * kL, s, kAcc - q * kL);
      }
    }
    return;
  }
  float out[kGroups * kL];
  for (int q = 0; q < kGroups; ++q) V::store(out + q * kL, V::reduce_lanes(acc + q * kL));
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < K; ++j) dw[w_off[i] + j] = out[i * K + j];
  }
}

// Tiles of up to MR rows (the last one shorter) of a block K wide.
template <int K, int MR>
void weight_grad_lanes_rows(int mr, int n, const float* dy, const int32_t* rows, size_t dy_stride,
                            const float* x, const int32_t* cols, size_t x_stride, float* dw,
                            const int64_t* w_off) {
  if constexpr (MR > 1) {
    if (mr < MR) {
      weight_grad_lanes_rows<K, MR - 1>(mr, n, dy, rows, dy_stride, x, cols, x_stride, dw, w_off);
      return;
    }
  }
  weight_grad_lanes_tile<K, MR>(n, dy, rows, dy_stride, x, cols, x_stride, dw, w_off);
}

// Calls f(SmallK<k>{}) for k in 1..kRunMaxK (the widths the lanes and run
// kernels unroll) and returns true; returns false for any other k.
template <int K>
struct SmallK {
  static constexpr int value = K;
};
template <int K = 1, typename F>
inline bool with_small_k(int k, F&& f) {
  if (k == K) {
    f(SmallK<K>{});
    return true;
  }
  if constexpr (K < kRunMaxK) {
    return with_small_k<K + 1>(k, f);
  } else {
    return false;
  }
}

template <int K>
void weight_grad_lanes_narrow(int m, int n, const float* dy, const int32_t* rows, size_t dy_stride,
                              const float* x, const int32_t* cols, size_t x_stride, float* dw,
                              const int64_t* w_off) {
  constexpr int kRows = kLanesAcc / K > 0 ? kLanesAcc / K : 1;
  for (int i0 = 0; i0 < m; i0 += kRows) {
    weight_grad_lanes_rows<K, kRows>(min_int(kRows, m - i0), n, dy, rows + i0, dy_stride, x, cols,
                                     x_stride, dw, w_off + i0);
  }
}

// Blocks at most 8 wide: register tiles above. Wider ones: four weights of
// a row at a time share the loads of dy; the batch tail is one masked step
// after the loop.
void block_weight_grad_lanes(int m, int k, int n, const float* dy, const int32_t* rows,
                             size_t dy_stride, const float* x, const int32_t* cols, size_t x_stride,
                             float* dw, const int64_t* w_off) {
  if (n <= 0) {  // the tiles need n >= 1
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < k; ++j) dw[w_off[i] + j] = 0.0f;
    }
    return;
  }
  if (with_small_k(k, [&](auto kc) {
        weight_grad_lanes_narrow<decltype(kc)::value>(m, n, dy, rows, dy_stride, x, cols, x_stride,
                                                      dw, w_off);
      })) {
    return;
  }
  const int nv = n - n % kL;
  for (int i = 0; i < m; ++i) {
    const float* g = dy + static_cast<size_t>(rows[i]) * dy_stride;
    float* dwr = dw + w_off[i];
    int j = 0;
    for (; j + 4 <= k; j += 4) {
      const float* x0 = x + static_cast<size_t>(cols[j]) * x_stride;
      const float* x1 = x + static_cast<size_t>(cols[j + 1]) * x_stride;
      const float* x2 = x + static_cast<size_t>(cols[j + 2]) * x_stride;
      const float* x3 = x + static_cast<size_t>(cols[j + 3]) * x_stride;
      R a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
      int b = 0;
      for (; b < nv; b += kL) {
        const R gv = V::load(g + b);
        a0 = V::fma(gv, V::load(x0 + b), a0);
        a1 = V::fma(gv, V::load(x1 + b), a1);
        a2 = V::fma(gv, V::load(x2 + b), a2);
        a3 = V::fma(gv, V::load(x3 + b), a3);
      }
      if (b < n) {
        const R gv = V::load_n(g + b, n - b);
        a0 = V::fma(gv, V::load_n(x0 + b, n - b), a0);
        a1 = V::fma(gv, V::load_n(x1 + b, n - b), a1);
        a2 = V::fma(gv, V::load_n(x2 + b, n - b), a2);
        a3 = V::fma(gv, V::load_n(x3 + b, n - b), a3);
      }
      dwr[j] = V::hsum(a0);
      dwr[j + 1] = V::hsum(a1);
      dwr[j + 2] = V::hsum(a2);
      dwr[j + 3] = V::hsum(a3);
    }
    for (; j < k; ++j) {
      const float* x0 = x + static_cast<size_t>(cols[j]) * x_stride;
      R a0 = V::zero();
      int b = 0;
      for (; b < nv; b += kL) a0 = V::fma(V::load(g + b), V::load(x0 + b), a0);
      if (b < n) a0 = V::fma(V::load_n(g + b, n - b), V::load_n(x0 + b, n - b), a0);
      dwr[j] = V::hsum(a0);
    }
  }
}

// Same sums as block_weight_grad_lanes, a group of kL weights at a time:
// two rows x kL / 2 columns (kL columns of one row in the scalar build)
// accumulate with the batch in the lanes, then one transposing reduction
// (V::reduce_lanes: about 2 shuffles and one add per weight) replaces kL
// horizontal sums (4 and 4 each on AVX-512). The two rows share the loads of
// x. A short group repeats its last column and an odd row count its last
// row, and only the valid lanes are stored; columns left after the groups,
// at most a quarter of one, go through block_weight_grad_lanes.
constexpr int kRedRows = kL >= 2 ? 2 : 1;
constexpr int kRedCols = kL / kRedRows;

// n >= kL. kTail: a masked step for the n % kL examples left.
template <bool kTail>
[[gnu::always_inline]] inline R reduce_group(int n, int nv, const float* const* g,
                                             const float* const* xc) {
  R acc[kRedRows][kRedCols];
  for (int r = 0; r < kRedRows; ++r) {
    for (int c = 0; c < kRedCols; ++c) acc[r][c] = V::zero();
  }
  int b = 0;
  do {  // a do-while, as in forward_tile
    R gv[kRedRows];
    for (int r = 0; r < kRedRows; ++r) gv[r] = V::load(g[r] + b);
    for (int c = 0; c < kRedCols; ++c) {
      R xv = V::load(xc[c] + b);
      V::in_register(xv);
      for (int r = 0; r < kRedRows; ++r) acc[r][c] = V::fma(gv[r], xv, acc[r][c]);
    }
    b += kL;
  } while (b < nv);
  if (kTail) {
    const int t = n - b;
    R gv[kRedRows];
    for (int r = 0; r < kRedRows; ++r) gv[r] = V::load_n(g[r] + b, t);
    for (int c = 0; c < kRedCols; ++c) {
      const R xv = V::load_n(xc[c] + b, t);
      for (int r = 0; r < kRedRows; ++r) acc[r][c] = V::fma(gv[r], xv, acc[r][c]);
    }
  }
  return V::reduce_lanes(&acc[0][0]);
}

template <bool kTail>
int weight_grad_reduce_groups(int m, int k, int n, const float* dy, const int32_t* rows,
                              size_t dy_stride, const float* x, const int32_t* cols,
                              size_t x_stride, float* dw, const int64_t* w_off) {
  const int nv = n - n % kL;
  int j0 = 0;
  for (; j0 < k; j0 += kRedCols) {
    const int jn = min_int(kRedCols, k - j0);
    if (4 * jn <= kRedCols) break;
    const float* xc[kRedCols];
    for (int c = 0; c < kRedCols; ++c) {
      xc[c] = x + static_cast<size_t>(cols[j0 + min_int(c, jn - 1)]) * x_stride;
    }
    for (int i = 0; i < m; i += kRedRows) {
      const float* g[kRedRows];
      for (int r = 0; r < kRedRows; ++r) {
        g[r] = dy + static_cast<size_t>(rows[min_int(i + r, m - 1)]) * dy_stride;
      }
      R s = reduce_group<kTail>(n, nv, g, xc);
      for (int r = 0; r < kRedRows && i + r < m; ++r) {
        float* d = dw + w_off[i + r] + j0;
        if (jn == kL) {
          V::store(d, s);
        } else {
          V::store_n(d, s, jn);
        }
        if (kRedRows > 1) s = V::upper_half(s);
      }
    }
  }
  return j0;
}

void block_weight_grad_reduce(int m, int k, int n, const float* dy, const int32_t* rows,
                              size_t dy_stride, const float* x, const int32_t* cols,
                              size_t x_stride, float* dw, const int64_t* w_off) {
  int j0 = 0;  // columns done by groups; fewer than kL examples: none
  if (n >= kL && n % kL != 0) {
    j0 =
        weight_grad_reduce_groups<true>(m, k, n, dy, rows, dy_stride, x, cols, x_stride, dw, w_off);
  } else if (n >= kL) {
    j0 = weight_grad_reduce_groups<false>(m, k, n, dy, rows, dy_stride, x, cols, x_stride, dw,
                                          w_off);
  }
  if (j0 < k) {
    block_weight_grad_lanes(m, k - j0, n, dy, rows, dy_stride, x, cols + j0, x_stride, dw + j0,
                            w_off);
  }
}

// ---- runs of small blocks (butterfly radix <= 8, narrow Clos blocks) ----
//
// A run is nb blocks of the same shape m x k (k <= kRunMaxK) whose tables
// follow each other: block b's rows at rows[b * m], columns at cols[b * k],
// weight offsets at w_off[b * m]. The block loop runs inside one call, with
// k a template argument, instead of one call per block through the row and
// batch tilings above: a 4 x 4 block at batch 64 is 64 FMAs, and that
// tiling's calls, switches and index setup cost about as much again.

// Vectors of the batch per tile for a block k wide: x (k x NV) stays in
// registers while the block's rows are computed.
constexpr int run_vec_tile(int k) {
  const int nv = kMR * kNV / k;
  return nv < 1 ? 1 : nv > kNV ? kNV : nv;
}

// Calls f.template operator()<NV, kPartial>() for the tile of nv (1..NVM)
// vectors, the last one partial when `partial`.
template <int NV, int NVM, typename F>
inline void dispatch_vec_tile(int nv, bool partial, F& f) {
  if (nv == NV || NV == NVM) {
    if (partial) {
      f.template operator()<NV, true>();
    } else {
      f.template operator()<NV, false>();
    }
    return;
  }
  if constexpr (NV < NVM) dispatch_vec_tile<NV + 1, NVM>(nv, partial, f);
}

// Runs f over [0, n) in tiles of NVM vectors, then one tile of the rest.
template <int NVM, typename F>
inline void run_vec_tiles(int n, F&& f) {
  int b = 0;
  for (; b + NVM * kL <= n; b += NVM * kL) f.template operator()<NVM, false>(b, kL);
  const int left = n - b;
  if (left <= 0) return;
  const int nv = (left + kL - 1) / kL;
  const int tail = left - (nv - 1) * kL;
  auto g = [&]<int NV, bool kPartial>() { f.template operator()<NV, kPartial>(b, tail); };
  dispatch_vec_tile<1, NVM>(nv, tail != kL, g);
}

// Forward of one block (m >= 1), batch lanes [b0, b0 + NV vectors): the
// same operations in the same order as forward_tile.
template <int K, int NV, bool kPartial>
inline void run_forward_block(int m, const float* w, const int64_t* w_off, const float* x,
                              const int32_t* cols, size_t x_stride, float* y, const int32_t* rows,
                              size_t y_stride, int b0, int tail) {
  R xv[K][NV];
  for (int j = 0; j < K; ++j) {
    const float* xr = x + static_cast<size_t>(cols[j]) * x_stride + b0;
    for (int v = 0; v < NV; ++v) xv[j][v] = load_tile<kPartial>(xr, v, NV, tail);
  }
  int i = 0;
  do {
    const float* wr = w + w_off[i];
    R acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = V::zero();
    for (int j = 0; j < K; ++j) {
      const R wv = V::set1(wr[j]);
      for (int v = 0; v < NV; ++v) acc[v] = V::fma(wv, xv[j][v], acc[v]);
    }
    float* yr = y + static_cast<size_t>(rows[i]) * y_stride + b0;
    for (int v = 0; v < NV; ++v) store_tile<kPartial>(yr, acc[v], v, NV, tail);
  } while (++i < m);
}

template <int K>
void run_forward_k(int nb, int m, int n, const float* w, const int64_t* w_off, const float* x,
                   const int32_t* cols, size_t x_stride, float* y, const int32_t* rows,
                   size_t y_stride) {
  run_vec_tiles<run_vec_tile(K)>(n, [&]<int NV, bool kPartial>(int b0, int tail) {
    for (int blk = 0; blk < nb; ++blk) {
      run_forward_block<K, NV, kPartial>(m, w, w_off + blk * m, x, cols + blk * K, x_stride, y,
                                         rows + blk * m, y_stride, b0, tail);
    }
  });
}

// Block by block: the weight gradient (batch in the lanes, n examples),
// then, when dx is not null, the input gradient (`lanes` examples) while
// the block's dy is in L1.
template <int K>
void run_backward_k(int nb, int m, int n, int lanes, const float* w, const int64_t* w_off,
                    const float* dy, const int32_t* rows, const float* x, const int32_t* cols,
                    size_t stride, float* dw, float* dx) {
  constexpr int NVM = run_vec_tile(K);
  for (int blk = 0; blk < nb; ++blk) {
    const int32_t* br = rows + blk * m;
    const int32_t* bc = cols + blk * K;
    const int64_t* bo = w_off + blk * m;
    weight_grad_lanes_narrow<K>(m, n, dy, br, stride, x, bc, stride, dw, bo);
    if (dx == nullptr) continue;
    run_vec_tiles<NVM>(lanes, [&]<int NV, bool kPartial>(int b0, int tail) {
      backward_input_tile<K, NV, kPartial>(m, w, bo, dy, br, stride, dx, bc, stride, b0, tail);
    });
  }
}

void block_forward_run(int nb, int m, int k, int n, const float* w, const int64_t* w_off,
                       const float* x, const int32_t* cols, size_t x_stride, float* y,
                       const int32_t* rows, size_t y_stride) {
  if (nb <= 0 || m <= 0) return;
  const bool unrolled = with_small_k(k, [&](auto kc) {
    run_forward_k<decltype(kc)::value>(nb, m, n, w, w_off, x, cols, x_stride, y, rows, y_stride);
  });
  if (!unrolled) {  // not a run's width: block by block
    for (int blk = 0; blk < nb; ++blk) {
      block_forward(m, k, n, w, w_off + blk * m, x, cols + static_cast<size_t>(blk) * k, x_stride,
                    y, rows + blk * m, y_stride);
    }
  }
}

void block_backward_run(int nb, int m, int k, int n, int lanes, const float* w,
                        const int64_t* w_off, const float* dy, const int32_t* rows, const float* x,
                        const int32_t* cols, size_t stride, float* dw, float* dx) {
  if (nb <= 0 || m <= 0) return;
  const bool unrolled = n > 0 && with_small_k(k, [&](auto kc) {
                          run_backward_k<decltype(kc)::value>(nb, m, n, lanes, w, w_off, dy, rows,
                                                              x, cols, stride, dw, dx);
                        });
  if (!unrolled) {  // not a run's width, or no examples: block by block
    for (int blk = 0; blk < nb; ++blk) {
      const int32_t* bc = cols + static_cast<size_t>(blk) * k;
      block_weight_grad_lanes(m, k, n, dy, rows + blk * m, stride, x, bc, stride, dw,
                              w_off + blk * m);
      if (dx != nullptr) {
        block_backward_input(m, k, lanes, w, w_off + blk * m, dy, rows + blk * m, stride, dx, bc,
                             stride);
      }
    }
  }
}

// ---- structured blocks, batch 1 ----

// Four rows at a time share the loads of the gathered input.
void block_forward_b1(int m, int k, const float* w, const int64_t* w_off, const float* x,
                      const int32_t* cols, float* y, const int32_t* rows, float* scratch) {
  const float* xg = x + (k > 0 ? cols[0] : 0);
  if (!contiguous(k, cols)) {
    for (int j = 0; j < k; ++j) scratch[j] = x[cols[j]];
    xg = scratch;
  }
  const int kv = k - k % kL;
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const float* w0 = w + w_off[i];
    const float* w1 = w + w_off[i + 1];
    const float* w2 = w + w_off[i + 2];
    const float* w3 = w + w_off[i + 3];
    R a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
    int j = 0;
    for (; j < kv; j += kL) {
      const R xv = V::load(xg + j);
      a0 = V::fma(V::load(w0 + j), xv, a0);
      a1 = V::fma(V::load(w1 + j), xv, a1);
      a2 = V::fma(V::load(w2 + j), xv, a2);
      a3 = V::fma(V::load(w3 + j), xv, a3);
    }
    if (j < k) {
      const int t = k - j;
      const R xv = V::load_n(xg + j, t);
      a0 = V::fma(V::load_n(w0 + j, t), xv, a0);
      a1 = V::fma(V::load_n(w1 + j, t), xv, a1);
      a2 = V::fma(V::load_n(w2 + j, t), xv, a2);
      a3 = V::fma(V::load_n(w3 + j, t), xv, a3);
    }
    y[rows[i]] = V::hsum(a0);
    y[rows[i + 1]] = V::hsum(a1);
    y[rows[i + 2]] = V::hsum(a2);
    y[rows[i + 3]] = V::hsum(a3);
  }
  for (; i < m; ++i) {
    const float* w0 = w + w_off[i];
    R a0 = V::zero();
    int j = 0;
    for (; j < kv; j += kL) a0 = V::fma(V::load(w0 + j), V::load(xg + j), a0);
    if (j < k) a0 = V::fma(V::load_n(w0 + j, k - j), V::load_n(xg + j, k - j), a0);
    y[rows[i]] = V::hsum(a0);
  }
}

void block_backward_b1(int m, int k, const float* w, const int64_t* w_off, const float* x,
                       const int32_t* cols, const float* dy, const int32_t* rows, float* dw,
                       float* dx, float* scratch) {
  const bool contig = contiguous(k, cols);
  const float* xg = x + (k > 0 ? cols[0] : 0);
  if (!contig) {
    for (int j = 0; j < k; ++j) scratch[j] = x[cols[j]];
    xg = scratch;
  }
  float* dxg = nullptr;
  if (dx != nullptr) dxg = contig ? dx + cols[0] : scratch + k;
  if (k <= 2 * kL && k > 0) {
    // At most two vectors: the input gradient stays in registers for the
    // whole block instead of a load and a store per group of rows (a chain
    // through memory). Same operations in the same order as below.
    const bool two = k > kL;
    const int t0 = two ? kL : k;
    const int t1 = two ? k - kL : 0;
    const R x0 = t0 == kL ? V::load(xg) : V::load_n(xg, t0);
    const R x1 = !two ? V::zero() : t1 == kL ? V::load(xg + kL) : V::load_n(xg + kL, t1);
    R d0 = V::zero(), d1 = V::zero();
    for (int i = 0; i < m; ++i) {
      const R g = V::set1(dy[rows[i]]);
      const float* wr = w + w_off[i];
      float* dwr = dw + w_off[i];
      if (t0 == kL) {
        V::store(dwr, V::fma(g, x0, V::zero()));
        if (dxg != nullptr) d0 = V::fma(g, V::load(wr), d0);
      } else {
        V::store_n(dwr, V::fma(g, x0, V::zero()), t0);
        if (dxg != nullptr) d0 = V::fma(g, V::load_n(wr, t0), d0);
      }
      if (two) {
        if (t1 == kL) {
          V::store(dwr + kL, V::fma(g, x1, V::zero()));
          if (dxg != nullptr) d1 = V::fma(g, V::load(wr + kL), d1);
        } else {
          V::store_n(dwr + kL, V::fma(g, x1, V::zero()), t1);
          if (dxg != nullptr) d1 = V::fma(g, V::load_n(wr + kL, t1), d1);
        }
      }
    }
    if (dxg != nullptr) {
      if (t0 == kL) {
        V::store(dxg, d0);
      } else {
        V::store_n(dxg, d0, t0);
      }
      if (two) {
        if (t1 == kL) {
          V::store(dxg + kL, d1);
        } else {
          V::store_n(dxg + kL, d1, t1);
        }
      }
      if (!contig) {
        for (int j = 0; j < k; ++j) dx[cols[j]] = dxg[j];
      }
    }
    return;
  }
  if (dxg != nullptr) {
    for (int j = 0; j < k; ++j) dxg[j] = 0.0f;
  }
  const int kv = k - k % kL;
  const int t = k - kv;
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const R g0 = V::set1(dy[rows[i]]), g1 = V::set1(dy[rows[i + 1]]);
    const R g2 = V::set1(dy[rows[i + 2]]), g3 = V::set1(dy[rows[i + 3]]);
    const int64_t o0 = w_off[i], o1 = w_off[i + 1], o2 = w_off[i + 2], o3 = w_off[i + 3];
    for (int j = 0; j < k; j += kL) {
      const bool part = j >= kv;
      const R xv = part ? V::load_n(xg + j, t) : V::load(xg + j);
      if (part) {
        V::store_n(dw + o0 + j, V::fma(g0, xv, V::zero()), t);
        V::store_n(dw + o1 + j, V::fma(g1, xv, V::zero()), t);
        V::store_n(dw + o2 + j, V::fma(g2, xv, V::zero()), t);
        V::store_n(dw + o3 + j, V::fma(g3, xv, V::zero()), t);
      } else {
        V::store(dw + o0 + j, V::fma(g0, xv, V::zero()));
        V::store(dw + o1 + j, V::fma(g1, xv, V::zero()));
        V::store(dw + o2 + j, V::fma(g2, xv, V::zero()));
        V::store(dw + o3 + j, V::fma(g3, xv, V::zero()));
      }
      if (dxg != nullptr) {
        if (part) {
          R acc = V::load_n(dxg + j, t);
          acc = V::fma(g0, V::load_n(w + o0 + j, t), acc);
          acc = V::fma(g1, V::load_n(w + o1 + j, t), acc);
          acc = V::fma(g2, V::load_n(w + o2 + j, t), acc);
          acc = V::fma(g3, V::load_n(w + o3 + j, t), acc);
          V::store_n(dxg + j, acc, t);
        } else {
          R acc = V::load(dxg + j);
          acc = V::fma(g0, V::load(w + o0 + j), acc);
          acc = V::fma(g1, V::load(w + o1 + j), acc);
          acc = V::fma(g2, V::load(w + o2 + j), acc);
          acc = V::fma(g3, V::load(w + o3 + j), acc);
          V::store(dxg + j, acc);
        }
      }
    }
  }
  for (; i < m; ++i) {
    const R g0 = V::set1(dy[rows[i]]);
    const int64_t o0 = w_off[i];
    for (int j = 0; j < k; j += kL) {
      const bool part = j >= kv;
      const R xv = part ? V::load_n(xg + j, t) : V::load(xg + j);
      if (part) {
        V::store_n(dw + o0 + j, V::fma(g0, xv, V::zero()), t);
      } else {
        V::store(dw + o0 + j, V::fma(g0, xv, V::zero()));
      }
      if (dxg != nullptr) {
        if (part) {
          V::store_n(dxg + j, V::fma(g0, V::load_n(w + o0 + j, t), V::load_n(dxg + j, t)), t);
        } else {
          V::store(dxg + j, V::fma(g0, V::load(w + o0 + j), V::load(dxg + j)));
        }
      }
    }
  }
  if (dxg != nullptr && !contig) {
    for (int j = 0; j < k; ++j) dx[cols[j]] = dxg[j];
  }
}

// ---- generic masks (CSR), batch vectorized ----

template <int NV, bool kPartial>
void csr_forward_tile(int32_t r, const int32_t* row_ptr, const int32_t* col_idx, const float* w,
                      const float* x, size_t x_stride, float* y, size_t y_stride, int b0,
                      int tail) {
  R acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = V::zero();
  for (int32_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
    const float* xr = x + static_cast<size_t>(col_idx[p]) * x_stride + b0;
    const R wv = V::set1(w[p]);
    for (int v = 0; v < NV; ++v) acc[v] = V::fma(wv, load_tile<kPartial>(xr, v, NV, tail), acc[v]);
  }
  float* yr = y + static_cast<size_t>(r) * y_stride + b0;
  for (int v = 0; v < NV; ++v) store_tile<kPartial>(yr, acc[v], v, NV, tail);
}

void csr_forward(int32_t r0, int32_t r1, int n, const int32_t* row_ptr, const int32_t* col_idx,
                 const float* w, const float* x, size_t x_stride, float* y, size_t y_stride) {
  for (int32_t r = r0; r < r1; ++r) {
    if (n == 1) {
      float s = 0.0f;
      for (int32_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) s += w[p] * x[col_idx[p]];
      y[r] = s;
      continue;
    }
#define NF_CALL(MR_, NV_, P_, B_, T_) \
  csr_forward_tile<NV_, P_>(r, row_ptr, col_idx, w, x, x_stride, y, y_stride, B_, T_)
    NF_RANGE_TILES(1, n, NF_CALL);
#undef NF_CALL
  }
}

template <int NV, bool kPartial>
void csr_backward_input_tile(int32_t c, const int32_t* col_ptr, const int32_t* row_idx,
                             const int32_t* w_pos, const float* w, const float* dy,
                             size_t dy_stride, float* dx, size_t dx_stride, int b0, int tail) {
  R acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = V::zero();
  for (int32_t q = col_ptr[c]; q < col_ptr[c + 1]; ++q) {
    const float* gr = dy + static_cast<size_t>(row_idx[q]) * dy_stride + b0;
    const R wv = V::set1(w[w_pos[q]]);
    for (int v = 0; v < NV; ++v) acc[v] = V::fma(wv, load_tile<kPartial>(gr, v, NV, tail), acc[v]);
  }
  float* dxr = dx + static_cast<size_t>(c) * dx_stride + b0;
  for (int v = 0; v < NV; ++v) store_tile<kPartial>(dxr, acc[v], v, NV, tail);
}

void csr_backward_input(int32_t c0, int32_t c1, int n, const int32_t* col_ptr,
                        const int32_t* row_idx, const int32_t* w_pos, const float* w,
                        const float* dy, size_t dy_stride, float* dx, size_t dx_stride) {
  for (int32_t c = c0; c < c1; ++c) {
    if (n == 1) {
      float s = 0.0f;
      for (int32_t q = col_ptr[c]; q < col_ptr[c + 1]; ++q) s += w[w_pos[q]] * dy[row_idx[q]];
      dx[c] = s;
      continue;
    }
#define NF_CALL(MR_, NV_, P_, B_, T_)                                                           \
  csr_backward_input_tile<NV_, P_>(c, col_ptr, row_idx, w_pos, w, dy, dy_stride, dx, dx_stride, \
                                   B_, T_)
    NF_RANGE_TILES(1, n, NF_CALL);
#undef NF_CALL
  }
}

void csr_weight_grad(int32_t r0, int32_t r1, int n, const int32_t* row_ptr, const int32_t* col_idx,
                     const float* dy, size_t dy_stride, const float* x, size_t x_stride,
                     float* dw) {
  const int nv = n - n % kL;
  for (int32_t r = r0; r < r1; ++r) {
    const float* gr = dy + static_cast<size_t>(r) * dy_stride;
    for (int32_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
      const float* xr = x + static_cast<size_t>(col_idx[p]) * x_stride;
      if (n == 1) {
        dw[p] = gr[0] * xr[0];
        continue;
      }
      R acc = V::zero();
      int b = 0;
      for (; b < nv; b += kL) acc = V::fma(V::load(gr + b), V::load(xr + b), acc);
      if (b < n) acc = V::fma(V::load_n(gr + b, n - b), V::load_n(xr + b, n - b), acc);
      dw[p] = V::hsum(acc);
    }
  }
}

// ---- element-wise passes: bias and activation, and their gradients ----

void bias_activation(int32_t r0, int32_t r1, int lanes, float* y, size_t stride, const float* bias,
                     int act) {
  if (stride == 1 && lanes == 1 && act != kActTanh) {
    // Batch 1: the rows are consecutive floats, so the vectors run over
    // rows (the same operation per element as below).
    int32_t r = r0;
    for (; r + kL <= r1; r += kL) {
      const R t = V::add(V::load(y + r), V::load(bias + r));
      V::store(y + r, act == kActRelu ? V::relu(t) : t);
    }
    if (r < r1) {
      const R t = V::add(V::load_n(y + r, r1 - r), V::load_n(bias + r, r1 - r));
      V::store_n(y + r, act == kActRelu ? V::relu(t) : t, r1 - r);
    }
    return;
  }
  for (int32_t r = r0; r < r1; ++r) {
    float* yr = y + static_cast<size_t>(r) * stride;
    const float bv = bias[r];
    if (act == kActTanh) {
      for (int b = 0; b < lanes; ++b) yr[b] = std::tanh(yr[b] + bv);
      continue;
    }
    const R bias_v = V::set1(bv);
    int b = 0;
    for (; b + kL <= lanes; b += kL) {
      const R t = V::add(V::load(yr + b), bias_v);
      V::store(yr + b, act == kActRelu ? V::relu(t) : t);
    }
    for (; b < lanes; ++b) {
      const float t = yr[b] + bv;
      yr[b] = act == kActRelu ? (t > 0.0f ? t : 0.0f) : t;
    }
  }
}

// The sum of p[0..n) in the order kernels.h gives: 16 partial sums, then
// lanes l and l + 8, l and l + 4, l and l + 2, l and l + 1.
inline float sum16(const float* p, int n) {
  if (n < 16) {
    float sum = 0.0f;
    for (int b = 0; b < n; ++b) sum += p[b];
    return sum;
  }
  constexpr int kParts = 16 / kL;
  R part[kParts];
  for (int v = 0; v < kParts; ++v) part[v] = V::load(p + v * kL);
  int b = 16;
  for (; b + 16 <= n; b += 16) {
    for (int v = 0; v < kParts; ++v) part[v] = V::add(part[v], V::load(p + b + v * kL));
  }
  for (int v = 0; v < kParts && b + v * kL < n; ++v) {
    const int left = n - b - v * kL;
    part[v] =
        V::add(part[v], left >= kL ? V::load(p + b + v * kL) : V::load_n(p + b + v * kL, left));
  }
  // Vectors of the same 16 partial sums: fold whole vectors first (widths
  // 8, 4, ... while a vector holds fewer lanes than the width), then in lanes.
  for (int width = kParts / 2; width >= 1; width /= 2) {
    for (int v = 0; v < width; ++v) part[v] = V::add(part[v], part[v + width]);
  }
  return V::tree_sum(part[0]);
}

// One row of activation_backward for n >= 16 and lanes a multiple of 16:
// applies the derivative and returns sum16's 16 partial sums of the row,
// folded to one vector (before its tree_sum).
[[gnu::always_inline]] inline R activation_backward_row(int n, int lanes, float* gr,
                                                        const float* ar, int act) {
  constexpr int kParts = 16 / kL;
  R part[kParts];
  for (int v = 0; v < kParts; ++v) part[v] = V::zero();  // set below (lanes >= 16)
  for (int b0 = 0; b0 < lanes; b0 += 16) {
    for (int v = 0; v < kParts; ++v) {
      const int b = b0 + v * kL;
      R gv = V::load(gr + b);
      if (act != kActLinear) {
        const R av = V::load(ar + b);
        gv = act == kActRelu ? V::select_positive(av, gv)
                             : V::mul(gv, V::sub(V::set1(1.0f), V::mul(av, av)));
        V::store(gr + b, gv);
      }
      if (b0 == 0) {
        part[v] = gv;  // the first 16 examples (n >= 16)
      } else if (b + kL <= n) {
        part[v] = V::add(part[v], gv);
      } else if (b < n) {
        part[v] = V::add(part[v], V::load_n(gr + b, n - b));
      }
    }
  }
  for (int width = kParts / 2; width >= 1; width /= 2) {
    for (int v = 0; v < width; ++v) part[v] = V::add(part[v], part[v + width]);
  }
  return part[0];
}

void activation_backward(int32_t r0, int32_t r1, int n, int lanes, float* g, const float* a,
                         size_t stride, float* gbias, int act) {
  if (stride == 1 && lanes == 1 && n == 1) {
    // Batch 1: vectors over consecutive rows; a row's bias gradient is its
    // one gradient (0 + g, as sum16 adds it).
    auto one = [&](R gv, R av) {
      if (act == kActRelu) return V::select_positive(av, gv);
      if (act == kActTanh) return V::mul(gv, V::sub(V::set1(1.0f), V::mul(av, av)));
      return gv;
    };
    int32_t r = r0;
    for (; r + kL <= r1; r += kL) {
      const R gv = one(V::load(g + r), V::load(a + r));
      V::store(g + r, gv);
      V::store(gbias + r, V::add(V::zero(), gv));
    }
    if (r < r1) {
      const int t = r1 - r;
      const R gv = one(V::load_n(g + r, t), V::load_n(a + r, t));
      V::store_n(g + r, gv, t);
      V::store_n(gbias + r, V::add(V::zero(), gv), t);
    }
    return;
  }
  int32_t r = r0;
  if (n >= 16 && lanes % 16 == 0) {
    // kL rows at a time: each row's 16 partial sums are taken from the
    // gradient vectors as they are computed (sum16's order), and one
    // transposing reduction in tree_sum's order gives the kL sums.
    for (; r + kL <= r1; r += kL) {
      R part[kL];
      for (int t = 0; t < kL; ++t) {
        part[t] = activation_backward_row(n, lanes, g + static_cast<size_t>(r + t) * stride,
                                          a + static_cast<size_t>(r + t) * stride, act);
      }
      V::store(gbias + r, V::tree_sums(part));
    }
  }
  for (; r < r1; ++r) {
    float* gr = g + static_cast<size_t>(r) * stride;
    const float* ar = a + static_cast<size_t>(r) * stride;
    if (act != kActLinear) {
      int b = 0;
      for (; b + kL <= lanes; b += kL) {
        const R av = V::load(ar + b);
        const R gv = V::load(gr + b);
        if (act == kActRelu) {
          V::store(gr + b, V::select_positive(av, gv));
        } else {
          V::store(gr + b, V::mul(gv, V::sub(V::set1(1.0f), V::mul(av, av))));
        }
      }
      for (; b < lanes; ++b) {
        gr[b] = act == kActRelu ? (ar[b] > 0.0f ? gr[b] : 0.0f) : gr[b] * (1.0f - ar[b] * ar[b]);
      }
    }
    gbias[r] = sum16(gr, n);
  }
}

// ---- pixel bytes ----

void pixels_to_floats(size_t n, const uint8_t* __restrict p, float* __restrict out) {
  // Whole vectors through V::bytes: GCC 12 vectorizes the plain loop with
  // two widenings and an extract per 8 floats (ymm only), which made the
  // conversion of a batch of 64 take 2.6 us on AVX-512 (1.5 us now).
  const R scale = V::set1(1.0f / 255.0f);
  size_t i = 0;
  for (; i + kL <= n; i += kL) V::store(out + i, V::mul(V::bytes(p + i), scale));
  for (; i < n; ++i) out[i] = static_cast<float>(p[i]) * (1.0f / 255.0f);
}

// ---- optimizer update ----

// Plain loops over restrict pointers with a compile-time FedProx switch:
// the compiler vectorizes them with this file's instruction set.
template <bool kProx>
void optimizer_step_impl(const OptimizerStep& st) {
  float* __restrict pw = st.w;
  const float* __restrict pg = st.g;
  const float* __restrict pa = st.anchor;
  float* __restrict pm = st.m;
  float* __restrict pv = st.v;
  const size_t n = st.n;
  const float scale = st.scale, wd = st.wd_l2, mu = st.prox_mu, lr = st.lr, mom = st.momentum;
  auto g_of = [&](size_t i) {
    float g = pg[i] * scale + wd * pw[i];
    if constexpr (kProx) g += mu * (pw[i] - pa[i]);
    return g;
  };
  switch (st.kind) {
    case kOptSgd:
      if (pm == nullptr) {
        for (size_t i = 0; i < n; ++i) pw[i] -= lr * g_of(i);
      } else {
        for (size_t i = 0; i < n; ++i) {
          pm[i] = mom * pm[i] + g_of(i);
          pw[i] -= lr * pm[i];
        }
      }
      break;
    case kOptNesterov:
      for (size_t i = 0; i < n; ++i) {
        const float g = g_of(i);
        pm[i] = mom * pm[i] + g;
        pw[i] -= lr * (g + mom * pm[i]);
      }
      break;
    default: {
      const float b1 = st.beta1, b2 = st.beta2, eps = st.epsilon;
      const float bc1 = st.bc1, bc2 = st.bc2, decoupled = st.decoupled;
      for (size_t i = 0; i < n; ++i) {
        const float g = g_of(i);
        pm[i] = b1 * pm[i] + (1.0f - b1) * g;
        pv[i] = b2 * pv[i] + (1.0f - b2) * g * g;
        const float mhat = pm[i] / bc1;
        const float vhat = pv[i] / bc2;
        pw[i] -= lr * (mhat / (std::sqrt(vhat) + eps) + decoupled * pw[i]);
      }
      break;
    }
  }
}

void optimizer_step(const OptimizerStep& st) {
  if (st.prox_mu > 0.0f) {
    optimizer_step_impl<true>(st);
  } else {
    optimizer_step_impl<false>(st);
  }
}

// ---- softmax cross-entropy ----

// exp(x) for x <= 0 (a logit minus the largest one), within 2 ulp of
// std::exp down to x = -87 and about 1e-38 below (a softmax term that
// small changes nothing). Plain arithmetic and bit moves, so the loss pass's
// loops over the batch vectorize instead of calling expf per element.
inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;  // std::max(x, -87.0f): NaN stays NaN
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (no float-to-int conversion).
  constexpr float kShift = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  // 2^n from n's bits in t (n in [-126, 0]); unsigned, so any input is defined.
  const uint32_t e = (__builtin_bit_cast(uint32_t, t) - 0x4B400000u + 127u) << 23;
  return y * __builtin_bit_cast(float, e);
}

// Each pass runs over the batch in its inner loop, along the feature-major
// rows, so that the max and the sums vectorize and no pass waits on one
// example's chain of additions. exp in float (as exact as the float
// logits), sums in double.
double softmax_xent(int classes, int n, int lanes, const float* z, size_t stride,
                    const int32_t* labels, float* e, float* zmax, double* sum, bool grad,
                    int64_t* correct, double loss_before) {
  const size_t s = stride;
  for (int b = 0; b < n; ++b) zmax[b] = z[b];
  for (int32_t c = 1; c < classes; ++c) {
    const float* zc = z + c * s;
    for (int b = 0; b < n; ++b) zmax[b] = zc[b] > zmax[b] ? zc[b] : zmax[b];
  }
  for (int b = 0; b < n; ++b) sum[b] = 0.0;
  for (int32_t c = 0; c < classes; ++c) {
    const float* zc = z + c * s;
    float* ec = e + c * s;
    for (int b = 0; b < n; ++b) ec[b] = exp_nonpositive(zc[b] - zmax[b]);
    for (int b = 0; b < n; ++b) sum[b] += ec[b];
  }
  // The prediction: the first class that reaches the max. Only when asked
  // for (evaluation): a training step does not use it, and this loop over
  // examples and classes does not vectorize.
  if (correct != nullptr) {
    int64_t right = 0;
    for (int b = 0; b < n; ++b) {
      int32_t arg = 0;
      for (int32_t c = classes - 1; c > 0; --c) arg = z[c * s + b] == zmax[b] ? c : arg;
      right += arg == labels[b] ? 1 : 0;
    }
    *correct += right;
  }
  // sum log(sum_b) as the log of products: each sum is in [1, classes], so
  // a product of up to 16 stays far inside double's range (one log per 16
  // examples instead of one per example).
  double loss = loss_before;
  for (int b0 = 0; b0 < n; b0 += 16) {
    double prod = 1.0;
    for (int b = b0; b < n && b < b0 + 16; ++b) {
      prod *= sum[b];
      loss -= static_cast<double>(z[labels[b] * s + b] - zmax[b]);
    }
    loss += std::log(prod);
  }
  if (grad) {
    const float inv_n = 1.0f / static_cast<float>(n);
    for (int b = 0; b < n; ++b) sum[b] = 1.0 / sum[b];
    // The label's entries first (into zmax, no longer needed), so that the
    // loop over every class has no branch and vectorizes.
    for (int b = 0; b < n; ++b) {
      const double p = e[labels[b] * s + b] * sum[b];
      zmax[b] = static_cast<float>(p - 1.0) * inv_n;
    }
    for (int32_t c = 0; c < classes; ++c) {
      float* ec = e + c * s;
      for (int b = 0; b < n; ++b) ec[b] = static_cast<float>(ec[b] * sum[b]) * inv_n;
      for (int b = n; b < lanes; ++b) ec[b] = 0.0f;
    }
    for (int b = 0; b < n; ++b) e[labels[b] * s + b] = zmax[b];
  }
  return loss;
}

#undef NF_RANGE_TILES
#undef NF_SWITCH_ROWS
#undef NF_NO_SLP

constexpr KernelTable make_table(const char* name) {
  KernelTable t;
  t.name = name;
  t.lanes = kL;
  t.block_forward = &block_forward;
  t.block_backward_input = &block_backward_input;
  t.gather_transpose = &gather_transpose;
  t.block_weight_grad = &block_weight_grad;
  t.block_weight_grad_lanes = &block_weight_grad_lanes;
  t.block_weight_grad_reduce = &block_weight_grad_reduce;
  t.block_forward_run = &block_forward_run;
  t.block_backward_run = &block_backward_run;
  t.block_forward_b1 = &block_forward_b1;
  t.block_backward_b1 = &block_backward_b1;
  t.bias_activation = &bias_activation;
  t.activation_backward = &activation_backward;
  t.pixels_to_floats = &pixels_to_floats;
  t.optimizer_step = &optimizer_step;
  t.softmax_xent = &softmax_xent;
  t.csr_forward = &csr_forward;
  t.csr_backward_input = &csr_backward_input;
  t.csr_weight_grad = &csr_weight_grad;
  return t;
}
