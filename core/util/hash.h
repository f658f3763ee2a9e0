// Hasher: a portable 64-bit hash for model identity (spec and masks).
//
// Values are fed as little-endian bytes whatever the host's byte order, so a
// Raspberry Pi and an x86 server compute the same hash. Not cryptographic.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace nf {

class Hasher {
 public:
  Hasher& bytes(std::span<const uint8_t> data);
  Hasher& str(std::string_view s);  // length-prefixed, so ("ab","c") != ("a","bc")
  Hasher& u64(uint64_t v);
  Hasher& i64(int64_t v) { return u64(static_cast<uint64_t>(v)); }
  Hasher& i32(int32_t v);
  Hasher& i32s(std::span<const int32_t> values);
  uint64_t digest() const;

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
};

// Formats a hash as 16 lower-case hex digits.
std::string hash_hex(uint64_t h);

}  // namespace nf
