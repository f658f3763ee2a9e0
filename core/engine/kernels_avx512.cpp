// AVX-512F kernels (compiled with -mavx512f -mfma; chosen only when the CPU has AVX-512F).
// GCC 12 warns that the _mm512_undefined_* placeholders inside its own
// intrinsics "may be used uninitialized"; a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>

#include <cmath>

#include "core/engine/kernels.h"

namespace nf::engine {
namespace {

struct V {
  using R = __m512;
  static constexpr int kLanes = 16;
  static constexpr int kRowTile = 6;
  static constexpr int kVecTile = 4;
  // Weight-gradient tiles of blocks at most 2 vectors wide: 12 x 2
  // accumulators, 2 loads and a broadcast in 32 registers.
  static constexpr int kNarrowRowTile = 12;
  static constexpr int kTransposeTile = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static R load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, R r) { _mm512_storeu_ps(p, r); }
  static void store_n(float* p, R r, int n) { _mm512_mask_storeu_ps(p, mask(n), r); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  // max(t, 0), 0 for NaN (the second operand of MAXPS wins on NaN).
  static R relu(R t) { return _mm512_max_ps(t, _mm512_setzero_ps()); }
  // a > 0 ? g : 0 per lane.
  static R select_positive(R a, R g) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), g);
  }
  // Lanes summed l + 8, l + 4, l + 2, l + 1: hsum's order.
  static float tree_sum(R r) { return hsum(r); }
  // dst[c * ld + t] = src[t][b + c] for c < 16, t < rows.
  static void transpose_tile(const float* const* src, int b, float* dst, size_t ld, int rows) {
    R r[16], t[16], u[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src[i] + b);
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4i + e], 128-bit chunk c: rows 4i..4i+3 at column 4c + e.
    for (int i = 0; i < 4; ++i) {
      u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    const __mmask16 m = mask(rows);
    for (int e = 0; e < 4; ++e) {
      const R v88 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);
      const R vdd = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xDD);
      const R w88 = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);
      const R wdd = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xDD);
      _mm512_mask_storeu_ps(dst + e * ld, m, _mm512_shuffle_f32x4(v88, w88, 0x88));
      _mm512_mask_storeu_ps(dst + (4 + e) * ld, m, _mm512_shuffle_f32x4(vdd, wdd, 0x88));
      _mm512_mask_storeu_ps(dst + (8 + e) * ld, m, _mm512_shuffle_f32x4(v88, w88, 0xDD));
      _mm512_mask_storeu_ps(dst + (12 + e) * ld, m, _mm512_shuffle_f32x4(vdd, wdd, 0xDD));
    }
  }
  // Lane t of the result: the sum of a[t]'s lanes, t < 16. Pairs of
  // vectors fold into one per level (unpack, 4-lane shuffle, two 128-bit
  // shuffles): 45 instructions for 16 sums.
  static R sum_lanes(const R* a) {
    R t[8], c[4];
    for (int i = 0; i < 8; ++i) {
      t[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]),
                           _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    }
    // c[i], 128-bit chunk q: lanes of a[4i..4i+3] summed within chunk q.
    for (int i = 0; i < 4; ++i) {
      c[i] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * i], t[2 * i + 1], 0x44),
                           _mm512_shuffle_ps(t[2 * i], t[2 * i + 1], 0xEE));
    }
    const R d = _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88),
                              _mm512_shuffle_f32x4(c[0], c[1], 0xDD));
    const R e = _mm512_add_ps(_mm512_shuffle_f32x4(c[2], c[3], 0x88),
                              _mm512_shuffle_f32x4(c[2], c[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(d, e, 0x88), _mm512_shuffle_f32x4(d, e, 0xDD));
  }
  static float hsum(R r) {
    // In-register shuffles only (extract intrinsics trip a GCC 12 false warning).
    R t = _mm512_add_ps(r, _mm512_shuffle_f32x4(r, r, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
    t = _mm512_add_ps(t, _mm512_permute_ps(t, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm512_add_ps(t, _mm512_permute_ps(t, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtss_f32(_mm512_castps512_ps128(t));
  }
};

#include "core/engine/kernels_impl.h"

constexpr KernelTable kTable = make_table("avx512");

}  // namespace

const KernelTable* avx512_kernel_table() {
  return &kTable;
}

}  // namespace nf::engine
