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
  // 16 bytes at p, each as a float (exact).
  static R bytes(const uint8_t* p) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
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
  // Lane t = tree_sum(v[t]) for t < 16, with the same additions in the
  // same order (lanes l and l + 8, l + 4, l + 2, l + 1), 16 rows at once.
  static R tree_sums(const R* v) {
    R s8[8], s4[4], s2[2];
    for (int i = 0; i < 8; ++i) {  // rows 2i, 2i + 1 in the low and high halves
      s8[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                            _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
    }
    for (int i = 0; i < 4; ++i) {  // rows 4i .. 4i + 3 in chunks 0 .. 3
      s4[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s8[2 * i], s8[2 * i + 1], 0x88),
                            _mm512_shuffle_f32x4(s8[2 * i], s8[2 * i + 1], 0xDD));
    }
    for (int i = 0; i < 2; ++i) {  // chunk c: rows 8i + c, 8i + 4 + c
      s2[i] = _mm512_add_ps(_mm512_shuffle_ps(s4[2 * i], s4[2 * i + 1], 0x44),
                            _mm512_shuffle_ps(s4[2 * i], s4[2 * i + 1], 0xEE));
    }
    // Lane 4c + e: row c + 4e.
    const R s1 =
        _mm512_add_ps(_mm512_shuffle_ps(s2[0], s2[1], 0x88), _mm512_shuffle_ps(s2[0], s2[1], 0xDD));
    return _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), s1);
  }
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
  // Keeps r in a register: one load feeding several FMAs, rather than the
  // same load folded into each of them.
  static void in_register(R& r) { asm("" : "+v"(r)); }
  // Lane t = the sum of every lane of acc[t], t < 16 (a transposing
  // reduction: 30 shuffles and 15 adds for 16 sums).
  static R reduce_lanes(const R* acc) {
    R t[8], u[4];
    for (int i = 0; i < 8; ++i) {
      t[i] = _mm512_add_ps(_mm512_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
                           _mm512_unpackhi_ps(acc[2 * i], acc[2 * i + 1]));
    }
    // u[i], 128-bit chunk c: sums of acc[4i..4i+3] over chunk c's lanes.
    for (int i = 0; i < 4; ++i) {
      u[i] = _mm512_add_ps(_mm512_shuffle_ps(t[2 * i], t[2 * i + 1], 0x44),
                           _mm512_shuffle_ps(t[2 * i], t[2 * i + 1], 0xEE));
    }
    const R v0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88),
                               _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
    const R v1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88),
                               _mm512_shuffle_f32x4(u[2], u[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(v0, v1, 0x88), _mm512_shuffle_f32x4(v0, v1, 0xDD));
  }
  // Lanes 8..15 moved to 0..7.
  static R upper_half(R r) { return _mm512_shuffle_f32x4(r, r, 0x4E); }
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
