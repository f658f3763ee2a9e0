// AVX-512F kernels (compiled with -mavx512f -mfma; chosen only when the CPU has AVX-512F).
// GCC 12 warns that the _mm512_undefined_* placeholders inside its own
// intrinsics "may be used uninitialized"; a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include "core/engine/kernels.h"

namespace nf::engine {
namespace {

struct V {
  using R = __m512;
  static constexpr int kLanes = 16;
  static constexpr int kRowTile = 6;
  static constexpr int kVecTile = 4;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static R load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, R r) { _mm512_storeu_ps(p, r); }
  static void store_n(float* p, R r, int n) { _mm512_mask_storeu_ps(p, mask(n), r); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
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

const KernelTable* avx512_kernel_table() { return &kTable; }

}  // namespace nf::engine
