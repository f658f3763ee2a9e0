#include "core/util/hash.h"

#include <cstdio>

#include "core/util/rng.h"

namespace nf {

namespace {
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
}

Hasher& Hasher::bytes(std::span<const uint8_t> data) {
  uint64_t h = state_;
  for (uint8_t b : data) {
    h ^= b;
    h *= kFnvPrime;
  }
  state_ = h;
  return *this;
}

Hasher& Hasher::u64(uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  return bytes(le);
}

Hasher& Hasher::i32(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  uint8_t le[4];
  for (int i = 0; i < 4; ++i) le[i] = static_cast<uint8_t>(u >> (8 * i));
  return bytes(le);
}

Hasher& Hasher::i32s(std::span<const int32_t> values) {
  u64(values.size());
  for (int32_t v : values) i32(v);
  return *this;
}

Hasher& Hasher::str(std::string_view s) {
  u64(s.size());
  return bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

uint64_t Hasher::digest() const {
  return mix64(state_);
}

std::string hash_hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace nf
