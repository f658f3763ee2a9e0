#include "core/util/rng.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>
#include <unordered_set>

namespace nf {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {
uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

Rng::Rng(uint64_t seed) : Rng(seed, 0) {}

Rng::Rng(uint64_t seed, uint64_t stream) : seed_(seed) {
  uint64_t x = mix64(seed) ^ mix64(stream + 0x632be59bd9b4e019ULL);
  for (auto& s : s_) {
    x += 0x9e3779b97f4a7c15ULL;
    s = mix64(x);
  }
  // An all-zero state would be a fixed point; mix64 of distinct inputs makes it
  // practically impossible, but keep the generator valid regardless.
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::uniform(uint64_t bound) {
  assert(bound > 0);
  // Reject the top partial interval so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return x % bound;
}

float Rng::uniform01() {
  return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f;
}

float Rng::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u1;
  do {
    u1 = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  } while (u1 <= 0.0);
  const double u2 = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = static_cast<float>(radius * std::sin(angle));
  has_spare_normal_ = true;
  return static_cast<float>(radius * std::cos(angle));
}

Rng Rng::derive(uint64_t stream) const {
  return Rng(mix64(seed_ ^ 0xa0761d6478bd642fULL), stream);
}

std::vector<int64_t> Rng::sample_sorted(int64_t n, int64_t k) {
  assert(k >= 0 && k <= n);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(k));
  if (k * 4 >= n) {
    // Dense case: selection sampling (Knuth's algorithm S), already sorted.
    int64_t needed = k;
    for (int64_t i = 0; i < n && needed > 0; ++i) {
      if (static_cast<int64_t>(uniform(static_cast<uint64_t>(n - i))) < needed) {
        out.push_back(i);
        --needed;
      }
    }
    return out;
  }
  // Sparse case: Floyd's algorithm, then sort.
  std::unordered_set<int64_t> chosen;
  for (int64_t j = n - k; j < n; ++j) {
    const auto t = static_cast<int64_t>(uniform(static_cast<uint64_t>(j + 1)));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  out.assign(chosen.begin(), chosen.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace nf
