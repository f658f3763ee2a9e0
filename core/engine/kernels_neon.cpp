// NEON kernels (aarch64, where NEON is baseline).
#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/engine/kernels.h"

namespace nf::engine {
namespace {

struct V {
  using R = float32x4_t;
  static constexpr int kLanes = 4;
  static constexpr int kRowTile = 6;
  static constexpr int kVecTile = 4;
  // No register transpose: gather_transpose uses its scalar loop.
  static constexpr int kTransposeTile = 1;
  static void transpose_tile(const float* const*, int, float*, size_t, int) {}
  static R zero() { return vdupq_n_f32(0.0f); }
  static R set1(float v) { return vdupq_n_f32(v); }
  static R load(const float* p) { return vld1q_f32(p); }
  // 4 bytes at p, each as a float (exact).
  static R bytes(const uint8_t* p) {
    uint32_t four;
    std::memcpy(&four, p, sizeof four);
    const uint16x8_t wide = vmovl_u8(vcreate_u8(four));
    return vcvtq_f32_u32(vmovl_u16(vget_low_u16(wide)));
  }
  static R load_n(const float* p, int n) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return vld1q_f32(t);
  }
  static void store(float* p, R r) { vst1q_f32(p, r); }
  static void store_n(float* p, R r, int n) {
    float t[4];
    vst1q_f32(t, r);
    for (int i = 0; i < n; ++i) p[i] = t[i];
  }
  static R fma(R a, R b, R c) { return vfmaq_f32(c, a, b); }
  static R add(R a, R b) { return vaddq_f32(a, b); }
  static R sub(R a, R b) { return vsubq_f32(a, b); }
  static R mul(R a, R b) { return vmulq_f32(a, b); }
  // t > 0 ? t : 0, so 0 for NaN as on x86 (FMAX would return NaN).
  static R relu(R t) { return select_positive(t, t); }
  static R select_positive(R a, R g) {
    return vreinterpretq_f32_u32(
        vandq_u32(vcgtq_f32(a, vdupq_n_f32(0.0f)), vreinterpretq_u32_f32(g)));
  }
  // Lanes summed l + 2, then l + 1 (vaddvq_f32 pairs l + 1 first).
  static float tree_sum(R r) {
    const float32x2_t t = vadd_f32(vget_low_f32(r), vget_high_f32(r));
    return vget_lane_f32(t, 0) + vget_lane_f32(t, 1);
  }
  // Keeps r in a register: one load feeding several FMAs, rather than the
  // same load folded into each of them.
  static void in_register(R& r) { asm("" : "+w"(r)); }
  // Lane t = the sum of every lane of acc[t], t < 4 (pairwise adds).
  static R reduce_lanes(const R* acc) {
    return vpaddq_f32(vpaddq_f32(acc[0], acc[1]), vpaddq_f32(acc[2], acc[3]));
  }
  // Lanes 2..3 moved to 0..1.
  static R upper_half(R r) { return vextq_f32(r, r, 2); }
  // Lane t = tree_sum(v[t]) for t < 4, with the same additions in the same
  // order (lanes l and l + 2, then l + 1), 4 rows at once.
  static R tree_sums(const R* v) {
    const R ab = vaddq_f32(vcombine_f32(vget_low_f32(v[0]), vget_low_f32(v[1])),
                           vcombine_f32(vget_high_f32(v[0]), vget_high_f32(v[1])));
    const R cd = vaddq_f32(vcombine_f32(vget_low_f32(v[2]), vget_low_f32(v[3])),
                           vcombine_f32(vget_high_f32(v[2]), vget_high_f32(v[3])));
    return vpaddq_f32(ab, cd);
  }
  static float hsum(R r) { return vaddvq_f32(r); }
};

#include "core/engine/kernels_impl.h"

constexpr KernelTable kTable = make_table("neon");

}  // namespace

const KernelTable* neon_kernel_table() {
  return &kTable;
}

}  // namespace nf::engine
