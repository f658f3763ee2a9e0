// FloatBuffer: a float vector whose storage starts on a 64-byte boundary.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace nf::engine {

// Allocates on 64-byte boundaries: with a stride of 16 floats every
// activation row then starts a cache line, and no vector load of a kernel
// straddles two lines (malloc's 16-byte alignment made every AVX-512 load a
// split load; in the optimizer's pass over a dense model's 5 MB of
// parameters, gradients and momenta, the split loads and stores made
// 512-bit vectors 40% slower than 128-bit ones).
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheLineAllocator() = default;
  template <typename U>
  explicit CacheLineAllocator(const CacheLineAllocator<U>& /*other*/) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t /*n*/) { ::operator delete(p, kAlign); }
  bool operator==(const CacheLineAllocator& /*other*/) const { return true; }
};
using FloatBuffer = std::vector<float, CacheLineAllocator<float>>;

}  // namespace nf::engine
