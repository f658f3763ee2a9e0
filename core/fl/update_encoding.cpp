#include "core/fl/update_encoding.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

namespace nf {

namespace {

// Little-endian stores and loads, whatever the host's byte order.
void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
void store_f32(uint8_t* p, float v) {
  store_u32(p, std::bit_cast<uint32_t>(v));
}
float load_f32(const uint8_t* p) {
  return std::bit_cast<float>(load_u32(p));
}

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kF32:
      return "f32";
    case ValueType::kF16:
      return "f16";
    case ValueType::kInt8:
      return "int8";
  }
  return "unknown";
}

uint64_t int8_blocks(uint64_t count) {
  return (count + kInt8BlockSize - 1) / kInt8BlockSize;
}

Status check_encodable(std::span<const float> values, std::span<const float> reference,
                       Encoding encoding) {
  if (values.size() > std::numeric_limits<uint32_t>::max()) {
    return invalid_argument("cannot encode " + std::to_string(values.size()) +
                            " values: at most 2^32-1 per array");
  }
  if (encoding.delta && reference.size() != values.size()) {
    return invalid_argument("delta encoding needs a reference of " + std::to_string(values.size()) +
                            " values, got " + std::to_string(reference.size()));
  }
  return Status::ok();
}

}  // namespace

std::string encoding_name(Encoding encoding) {
  std::string name = value_type_name(encoding.type);
  if (encoding.delta) name += "-delta";
  return name;
}

Result<Encoding> parse_encoding(std::string_view name) {
  for (Encoding e : all_encodings()) {
    if (encoding_name(e) == name) return e;
  }
  return invalid_argument("unknown update encoding '" + std::string(name) +
                          "' (expected f32, f16, int8, optionally with -delta)");
}

std::vector<Encoding> all_encodings() {
  std::vector<Encoding> all;
  for (bool delta : {false, true}) {
    for (ValueType t : {ValueType::kF32, ValueType::kF16, ValueType::kInt8}) {
      all.push_back({t, delta});
    }
  }
  return all;
}

std::optional<Encoding> choose_encoding(std::span<const Encoding> preferred,
                                        std::span<const Encoding> offered) {
  for (Encoding p : preferred) {
    if (std::find(offered.begin(), offered.end(), p) != offered.end()) return p;
  }
  return std::nullopt;
}

uint64_t encoded_size(Encoding encoding, uint64_t count) {
  switch (encoding.type) {
    case ValueType::kF32:
      return 4 * count;
    case ValueType::kF16:
      return 2 * count;
    case ValueType::kInt8:
      return count + 4 * int8_blocks(count);
  }
  return 0;
}

uint16_t float_to_half(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // infinity or NaN (NaN keeps a quiet bit and its top payload)
    const uint32_t nan_bits = abs > 0x7f800000u ? (0x200u | ((abs >> 13) & 0x3ffu)) : 0u;
    return static_cast<uint16_t>(sign | 0x7c00u | nan_bits);
  }
  // 65520 is halfway between 65504 (largest half) and 65536; ties go to the
  // even neighbour, which is infinity.
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (abs < 0x38800000u) {                // below 2^-14: a half subnormal or zero
    if (abs < 0x33000000u) return sign;   // below 2^-25: rounds to zero
    const uint32_t exponent = abs >> 23;  // 102..112
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;  // to units of 2^-24
    uint32_t q = mantissa >> shift;
    const uint32_t rem = mantissa & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  // Normal: rebias the exponent (127 -> 15) and round away 13 mantissa bits; a
  // carry into the exponent is the correct result.
  uint32_t h = (abs - 0x38000000u) >> 13;
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    // Subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(magnitude));
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

Status encode_values(std::span<const float> values, std::span<const float> reference,
                     Encoding encoding, EncodedValues* out) {
  NF_RETURN_IF_ERROR(check_encodable(values, reference, encoding));
  out->encoding = encoding;
  out->count = static_cast<uint32_t>(values.size());
  out->bytes.resize(encoded_size(encoding, values.size()));
  return encode_values(values, reference, encoding, std::span<uint8_t>(out->bytes));
}

Status encode_values(std::span<const float> values, std::span<const float> reference,
                     Encoding encoding, std::span<uint8_t> out) {
  NF_RETURN_IF_ERROR(check_encodable(values, reference, encoding));
  const size_t n = values.size();
  if (out.size() != encoded_size(encoding, n)) {
    return invalid_argument(encoding_name(encoding) + " array of " + std::to_string(n) +
                            " values needs " + std::to_string(encoded_size(encoding, n)) +
                            " bytes, the destination holds " + std::to_string(out.size()));
  }
  uint8_t* p = out.data();
  auto value_at = [&](size_t i) { return encoding.delta ? values[i] - reference[i] : values[i]; };
  switch (encoding.type) {
    case ValueType::kF32:
      if (std::endian::native == std::endian::little && !encoding.delta) {
        if (n > 0) std::memcpy(p, values.data(), 4 * n);  // already the wire layout
      } else {
        for (size_t i = 0; i < n; ++i) store_f32(p + 4 * i, value_at(i));
      }
      break;
    case ValueType::kF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = float_to_half(value_at(i));
        p[2 * i] = static_cast<uint8_t>(h);
        p[2 * i + 1] = static_cast<uint8_t>(h >> 8);
      }
      break;
    case ValueType::kInt8:
      for (size_t begin = 0; begin < n; begin += kInt8BlockSize) {
        const size_t end = std::min<size_t>(n, begin + kInt8BlockSize);
        float max_abs = 0.0f;
        for (size_t i = begin; i < end; ++i) {
          const float v = value_at(i);
          if (!std::isfinite(v)) {
            return invalid_argument("value " + std::to_string(i) + " is " + std::to_string(v) +
                                    ": int8 encoding needs finite values");
          }
          max_abs = std::max(max_abs, std::fabs(v));
        }
        const float scale = max_abs / 127.0f;
        store_f32(p, scale);
        p += 4;
        const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
        for (size_t i = begin; i < end; ++i) {
          float q = std::round(value_at(i) * inverse);
          q = std::clamp(q, -127.0f, 127.0f);
          *p++ = static_cast<uint8_t>(static_cast<int8_t>(q));
        }
      }
      break;
  }
  return Status::ok();
}

Result<EncodedValues> encode_values(std::span<const float> values, std::span<const float> reference,
                                    Encoding encoding) {
  EncodedValues out;
  NF_RETURN_IF_ERROR(encode_values(values, reference, encoding, &out));
  return out;
}

Status decode_values(const EncodedValues& encoded, std::span<const float> reference,
                     std::span<float> out) {
  const size_t n = encoded.count;
  if (out.size() != n) {
    return invalid_argument("encoded array has " + std::to_string(n) +
                            " values, the destination holds " + std::to_string(out.size()));
  }
  if (encoded.encoding.delta && reference.size() != n) {
    return invalid_argument("delta-encoded array has " + std::to_string(n) +
                            " values, the reference holds " + std::to_string(reference.size()));
  }
  const uint64_t expected = encoded_size(encoded.encoding, n);
  if (encoded.bytes.size() != expected) {
    return corrupt(encoding_name(encoded.encoding) + " array of " + std::to_string(n) +
                   " values must be " + std::to_string(expected) + " bytes, got " +
                   std::to_string(encoded.bytes.size()));
  }
  const uint8_t* p = encoded.bytes.data();
  switch (encoded.encoding.type) {
    case ValueType::kF32:
      if (std::endian::native == std::endian::little) {
        if (n > 0) std::memcpy(out.data(), p, 4 * n);
      } else {
        for (size_t i = 0; i < n; ++i) out[i] = load_f32(p + 4 * i);
      }
      break;
    case ValueType::kF16:
      for (size_t i = 0; i < n; ++i) {
        out[i] = half_to_float(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
      }
      break;
    case ValueType::kInt8:
      for (size_t begin = 0; begin < n; begin += kInt8BlockSize) {
        const size_t end = std::min<size_t>(n, begin + kInt8BlockSize);
        const float scale = load_f32(p);
        p += 4;
        if (!std::isfinite(scale) || scale < 0.0f) {
          return corrupt("int8 block " + std::to_string(begin / kInt8BlockSize) + " has scale " +
                         std::to_string(scale) + ": must be finite and non-negative");
        }
        for (size_t i = begin; i < end; ++i) {
          out[i] = static_cast<float>(static_cast<int8_t>(*p++)) * scale;
        }
      }
      break;
  }
  if (encoded.encoding.delta) {
    for (size_t i = 0; i < n; ++i) out[i] += reference[i];
  }
  return Status::ok();
}

std::vector<ValuesChunk> split_values(const EncodedValues& values, uint64_t max_chunk_bytes) {
  assert(max_chunk_bytes > 0);
  const uint64_t total = values.bytes.size();
  const uint64_t count = std::max<uint64_t>(1, (total + max_chunk_bytes - 1) / max_chunk_bytes);
  const uint64_t stride = std::max<uint64_t>(1, (total + count - 1) / count);
  std::vector<ValuesChunk> chunks;
  chunks.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t offset = std::min(total, i * stride);
    const uint64_t size = std::min(stride, total - offset);
    ValuesChunk c;
    c.encoding = values.encoding;
    c.value_count = values.count;
    c.chunk_index = static_cast<uint32_t>(i);
    c.chunk_count = static_cast<uint32_t>(count);
    c.byte_offset = offset;
    c.total_bytes = total;
    c.data = std::span<const uint8_t>(values.bytes).subspan(offset, size);
    chunks.push_back(c);
  }
  return chunks;
}

Status ValuesAssembler::add(const ValuesChunk& chunk) {
  return add(chunk, nullptr);
}

Status ValuesAssembler::add(const ValuesChunk& chunk, std::vector<uint8_t>* storage) {
  if (!started_) {
    const uint64_t expected = encoded_size(chunk.encoding, chunk.value_count);
    if (chunk.total_bytes != expected) {
      return corrupt("chunked " + encoding_name(chunk.encoding) + " array of " +
                     std::to_string(chunk.value_count) + " values announces " +
                     std::to_string(chunk.total_bytes) + " bytes, expected " +
                     std::to_string(expected));
    }
    if (chunk.total_bytes > max_total_bytes_) {
      return corrupt("chunked array of " + std::to_string(chunk.total_bytes) +
                     " bytes exceeds the limit of " + std::to_string(max_total_bytes_));
    }
    const uint64_t max_count = std::max<uint64_t>(1, chunk.total_bytes);
    if (chunk.chunk_count == 0 || chunk.chunk_count > max_count) {
      return corrupt("chunk count " + std::to_string(chunk.chunk_count) + " for " +
                     std::to_string(chunk.total_bytes) + " bytes is out of range");
    }
    started_ = true;
    values_.encoding = chunk.encoding;
    values_.count = chunk.value_count;
    total_bytes_ = chunk.total_bytes;
    chunk_count_ = chunk.chunk_count;
    stride_ = std::max<uint64_t>(1, (total_bytes_ + chunk_count_ - 1) / chunk_count_);
    received_ = 0;
    seen_.assign(chunk_count_, false);
  } else if (chunk.encoding != values_.encoding || chunk.value_count != values_.count ||
             chunk.total_bytes != total_bytes_ || chunk.chunk_count != chunk_count_) {
    return corrupt(
        "chunk " + std::to_string(chunk.chunk_index) + " (" + encoding_name(chunk.encoding) + ", " +
        std::to_string(chunk.value_count) + " values, " + std::to_string(chunk.chunk_count) +
        " chunks) does not match its array (" + encoding_name(values_.encoding) + ", " +
        std::to_string(values_.count) + " values, " + std::to_string(chunk_count_) + " chunks)");
  }
  if (chunk.chunk_index >= chunk_count_) {
    return corrupt("chunk index " + std::to_string(chunk.chunk_index) + " out of range (" +
                   std::to_string(chunk_count_) + " chunks)");
  }
  if (seen_[chunk.chunk_index]) {
    return corrupt("duplicate chunk " + std::to_string(chunk.chunk_index) + " of " +
                   std::to_string(chunk_count_));
  }
  const uint64_t offset = std::min(total_bytes_, chunk.chunk_index * stride_);
  const uint64_t size = std::min(stride_, total_bytes_ - offset);
  if (chunk.byte_offset != offset || chunk.data.size() != size) {
    return corrupt("chunk " + std::to_string(chunk.chunk_index) + " at byte offset " +
                   std::to_string(chunk.byte_offset) + " with " +
                   std::to_string(chunk.data.size()) + " bytes, expected offset " +
                   std::to_string(offset) + " with " + std::to_string(size) + " bytes");
  }
  const std::less_equal<const uint8_t*> before_or_at;
  const bool in_storage = storage != nullptr && size > 0 &&
                          before_or_at(storage->data(), chunk.data.data()) &&
                          before_or_at(chunk.data.data() + size, storage->data() + storage->size());
  if (chunk_count_ == 1 && in_storage) {
    // The frame is as large as the array: taking it over spares a copy.
    std::memmove(storage->data(), chunk.data.data(), size);
    storage->resize(size);
    values_.bytes = std::move(*storage);
    storage->clear();
  } else {
    if (values_.bytes.size() != total_bytes_) values_.bytes.assign(total_bytes_, 0);
    if (size > 0) std::memcpy(values_.bytes.data() + offset, chunk.data.data(), size);
  }
  seen_[chunk.chunk_index] = true;
  ++received_;
  return Status::ok();
}

EncodedValues ValuesAssembler::take() {
  assert(complete());
  EncodedValues out = std::move(values_);
  reset();
  return out;
}

void ValuesAssembler::reset() {
  started_ = false;
  values_ = EncodedValues{};
  total_bytes_ = 0;
  chunk_count_ = 0;
  stride_ = 0;
  received_ = 0;
  seen_.clear();
}

}  // namespace nf
