// Rng: the project's own portable pseudo-random generator.
//
// Masks and data partitions must be bit-identical on every device (x86-64,
// aarch64, armhf) and with every standard library, so nothing here uses
// std::*_distribution. The integer functions (next_u64, uniform, shuffle,
// sample) depend only on 64-bit integer arithmetic and are portable; the
// floating-point ones (uniform01, normal) use IEEE arithmetic and libm and are
// meant for weight initialization and noise, never for anything that is part
// of a model's identity.
//
// Algorithm: xoshiro256** seeded through SplitMix64. Not thread-safe; give
// each thread or client its own Rng (see Rng::derive).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace nf {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  // An independent stream for (seed, stream), e.g. per client or per layer.
  Rng(uint64_t seed, uint64_t stream);

  uint64_t next_u64();
  // Uniform in [0, bound), exact (rejection sampling, no modulo bias).
  // Precondition: bound > 0.
  uint64_t uniform(uint64_t bound);
  // Uniform in [0, 1) with 24 random bits (exactly representable as float).
  float uniform01();
  // Standard normal via Box-Muller (libm; not bit-portable across libms).
  float normal();
  // Returns a new generator whose stream is derived from this one's seed and `stream`.
  Rng derive(uint64_t stream) const;

  // Fisher-Yates shuffle using uniform().
  template <typename T>
  void shuffle(std::span<T> values) {
    for (size_t i = values.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(uniform(i));
      std::swap(values[i - 1], values[j]);
    }
  }
  // `k` distinct values from [0, n), in increasing order. Precondition: k <= n.
  std::vector<int64_t> sample_sorted(int64_t n, int64_t k);

 private:
  uint64_t seed_;
  uint64_t s_[4];
  bool has_spare_normal_ = false;
  float spare_normal_ = 0.0f;
};

// SplitMix64 finalizer: a good 64-bit mixing function.
uint64_t mix64(uint64_t x);

}  // namespace nf
