// AVX2 + FMA kernels (compiled with -mavx2 -mfma; chosen only when the CPU has both).
#include <immintrin.h>

#include <cmath>

#include "core/engine/kernels.h"

namespace nf::engine {
namespace {

alignas(32) constexpr int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};

struct V {
  using R = __m256;
  static constexpr int kLanes = 8;
  static constexpr int kRowTile = 6;
  static constexpr int kVecTile = 2;
  static constexpr int kTransposeTile = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  // 8 bytes at p, each as a float (exact).
  static R bytes(const uint8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static __m256i mask(int n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n));
  }
  static R load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, R r) { _mm256_storeu_ps(p, r); }
  static void store_n(float* p, R r, int n) { _mm256_maskstore_ps(p, mask(n), r); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  // max(t, 0), 0 for NaN (the second operand of MAXPS wins on NaN).
  static R relu(R t) { return _mm256_max_ps(t, _mm256_setzero_ps()); }
  // a > 0 ? g : 0 per lane.
  static R select_positive(R a, R g) {
    return _mm256_and_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GT_OQ), g);
  }
  // Lanes summed l + 4, l + 2, l + 1: hsum's order.
  static float tree_sum(R r) { return hsum(r); }
  // Lane t = tree_sum(v[t]) for t < 8, with the same additions in the same
  // order (lanes l and l + 4, l + 2, l + 1), 8 rows at once.
  static R tree_sums(const R* v) {
    R s4[4], s2[2];
    for (int i = 0; i < 4; ++i) {  // rows 2i, 2i + 1 in the low and high halves
      s4[i] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x20),
                            _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x31));
    }
    for (int i = 0; i < 2; ++i) {  // half c: rows 4i + c, 4i + 2 + c
      s2[i] = _mm256_add_ps(_mm256_shuffle_ps(s4[2 * i], s4[2 * i + 1], 0x44),
                            _mm256_shuffle_ps(s4[2 * i], s4[2 * i + 1], 0xEE));
    }
    // Lane 4c + e: row c + 2e.
    const R s1 =
        _mm256_add_ps(_mm256_shuffle_ps(s2[0], s2[1], 0x88), _mm256_shuffle_ps(s2[0], s2[1], 0xDD));
    return _mm256_permutevar8x32_ps(s1, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  }
  // dst[c * ld + t] = src[t][b + c] for c < 8, t < rows.
  static void transpose_tile(const float* const* src, int b, float* dst, size_t ld, int rows) {
    R r[8], t[8], u[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src[i] + b);
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
      u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    const __m256i m = mask(rows);
    for (int e = 0; e < 4; ++e) {
      _mm256_maskstore_ps(dst + e * ld, m, _mm256_permute2f128_ps(u[e], u[4 + e], 0x20));
      _mm256_maskstore_ps(dst + (4 + e) * ld, m, _mm256_permute2f128_ps(u[e], u[4 + e], 0x31));
    }
  }
  // Keeps r in a register: one load feeding several FMAs, rather than the
  // same load folded into each of them.
  static void in_register(R& r) { asm("" : "+x"(r)); }
  // Lane t = the sum of every lane of acc[t], t < 8 (a transposing
  // reduction: 14 shuffles and 7 adds for 8 sums).
  static R reduce_lanes(const R* acc) {
    R t[4], u[2];
    for (int i = 0; i < 4; ++i) {
      t[i] = _mm256_add_ps(_mm256_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
                           _mm256_unpackhi_ps(acc[2 * i], acc[2 * i + 1]));
    }
    for (int i = 0; i < 2; ++i) {
      u[i] = _mm256_add_ps(_mm256_shuffle_ps(t[2 * i], t[2 * i + 1], 0x44),
                           _mm256_shuffle_ps(t[2 * i], t[2 * i + 1], 0xEE));
    }
    return _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20),
                         _mm256_permute2f128_ps(u[0], u[1], 0x31));
  }
  // Lanes 4..7 moved to 0..3.
  static R upper_half(R r) { return _mm256_permute2f128_ps(r, r, 0x01); }
  static float hsum(R r) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "core/engine/kernels_impl.h"

constexpr KernelTable kTable = make_table("avx2");

}  // namespace

const KernelTable* avx2_kernel_table() {
  return &kTable;
}

}  // namespace nf::engine
