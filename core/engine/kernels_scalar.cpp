// Scalar reference kernels: one float per "vector", plain multiply-add.
#include <cmath>

#include "core/engine/kernels.h"

namespace nf::engine {
namespace {

struct V {
  using R = float;
  static constexpr int kLanes = 1;
  static constexpr int kRowTile = 4;
  static constexpr int kVecTile = 4;
  // No register transpose: gather_transpose uses its scalar loop.
  static constexpr int kTransposeTile = 1;
  static void transpose_tile(const float* const*, int, float*, size_t, int) {}
  static R zero() { return 0.0f; }
  static R set1(float v) { return v; }
  static R load(const float* p) { return *p; }
  static R bytes(const uint8_t* p) { return static_cast<float>(*p); }
  static R load_n(const float* p, int n) { return n > 0 ? *p : 0.0f; }
  static void store(float* p, R r) { *p = r; }
  static void store_n(float* p, R r, int n) {
    if (n > 0) *p = r;
  }
  static R fma(R a, R b, R c) { return a * b + c; }
  static R add(R a, R b) { return a + b; }
  static R sub(R a, R b) { return a - b; }
  static R mul(R a, R b) { return a * b; }
  static R relu(R t) { return t > 0.0f ? t : 0.0f; }
  static R select_positive(R a, R g) { return a > 0.0f ? g : 0.0f; }
  static float tree_sum(R r) { return r; }
  static void in_register(R&) {}
  static R reduce_lanes(const R* acc) { return acc[0]; }
  static R upper_half(R r) { return r; }
  static R tree_sums(const R* v) { return v[0]; }
  static float hsum(R r) { return r; }
};

#include "core/engine/kernels_impl.h"

constexpr KernelTable kTable = make_table("scalar");

}  // namespace

const KernelTable* scalar_kernel_table() {
  return &kTable;
}

}  // namespace nf::engine
