// NEON kernels (aarch64, where NEON is baseline).
#include <arm_neon.h>

#include "core/engine/kernels.h"

namespace nf::engine {
namespace {

struct V {
  using R = float32x4_t;
  static constexpr int kLanes = 4;
  static constexpr int kRowTile = 6;
  static constexpr int kVecTile = 4;
  static R zero() { return vdupq_n_f32(0.0f); }
  static R set1(float v) { return vdupq_n_f32(v); }
  static R load(const float* p) { return vld1q_f32(p); }
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
  static float hsum(R r) { return vaddvq_f32(r); }
};

#include "core/engine/kernels_impl.h"

constexpr KernelTable kTable = make_table("neon");

}  // namespace

const KernelTable* neon_kernel_table() { return &kTable; }

}  // namespace nf::engine
