// AVX2 + FMA kernels (compiled with -mavx2 -mfma; chosen only when the CPU has both).
#include <immintrin.h>

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
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static __m256i mask(int n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n));
  }
  static R load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, R r) { _mm256_storeu_ps(p, r); }
  static void store_n(float* p, R r, int n) { _mm256_maskstore_ps(p, mask(n), r); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
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

const KernelTable* avx2_kernel_table() { return &kTable; }

}  // namespace nf::engine
