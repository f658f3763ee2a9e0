#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "core/fl/update_encoding.h"
#include "core/util/rng.h"

namespace nf {
namespace {

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = scale * std::sin(0.37f * static_cast<float>(i)) * (1.0f + static_cast<float>(i % 7));
  }
  return v;
}

TEST_CASE("half conversion: every half survives half -> float -> half") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    const uint16_t back = float_to_half(f);
    if (std::isnan(f)) {
      CHECK((back & 0x7c00) == 0x7c00);
      CHECK((back & 0x3ff) != 0);
    } else {
      CHECK(back == h);
    }
  }
}

TEST_CASE("half conversion: golden values and round to nearest even") {
  CHECK(float_to_half(1.0f) == 0x3c00);
  CHECK(float_to_half(-2.0f) == 0xc000);
  CHECK(float_to_half(65504.0f) == 0x7bff);
  CHECK(float_to_half(65519.0f) == 0x7bff);  // below the halfway point
  CHECK(float_to_half(65520.0f) == 0x7c00);  // tie to even: infinity
  CHECK(float_to_half(1e9f) == 0x7c00);
  CHECK(float_to_half(-std::numeric_limits<float>::infinity()) == 0xfc00);
  CHECK(float_to_half(5.9604645e-8f) == 0x0001);  // smallest subnormal
  CHECK(float_to_half(2.9802322e-8f) == 0x0000);  // exactly half of it: tie to even zero
  CHECK(float_to_half(4.4703484e-8f) == 0x0001);  // 0.75 of it rounds up
  CHECK(float_to_half(6.1035156e-5f) == 0x0400);  // smallest normal
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0).
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9: up.
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
  CHECK(std::signbit(half_to_float(float_to_half(-0.0f))));
  CHECK(std::isnan(half_to_float(float_to_half(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("half conversion: the nearest half for random floats (compared to a brute search)") {
  Rng rng(7);
  for (int k = 0; k < 20000; ++k) {
    const float f = std::ldexp(static_cast<float>(rng.next_u64() % 2000001) / 1e6f - 1.0f,
                               static_cast<int>(rng.next_u64() % 40) - 25);
    const uint16_t h = float_to_half(f);
    const double err = std::fabs(static_cast<double>(half_to_float(h)) - f);
    // Neighbours of h must be no closer.
    for (int d : {-1, 1}) {
      const uint16_t n = static_cast<uint16_t>(h + d);
      if ((n & 0x7fff) >= 0x7c00 || ((n ^ h) & 0x8000)) continue;
      CHECK(std::fabs(static_cast<double>(half_to_float(n)) - f) >= err);
    }
  }
}

TEST_CASE("encodings round-trip within their error bounds, as values and as deltas") {
  const size_t n = 1000;  // not a multiple of the int8 block
  const std::vector<float> reference = ramp(n, 0.5f);
  std::vector<float> values = reference;
  for (size_t i = 0; i < n; ++i) values[i] += 0.01f * std::cos(static_cast<float>(i));
  for (Encoding e : all_encodings()) {
    CAPTURE(encoding_name(e));
    Result<EncodedValues> enc = encode_values(values, reference, e);
    REQUIRE(enc.is_ok());
    CHECK(enc->count == n);
    CHECK(enc->bytes.size() == encoded_size(e, n));
    std::vector<float> out(n);
    REQUIRE(decode_values(*enc, reference, out).is_ok());
    for (size_t begin = 0; begin < n; begin += kInt8BlockSize) {
      const size_t end = std::min(n, begin + kInt8BlockSize);
      float max_abs = 0;
      for (size_t i = begin; i < end; ++i) {
        max_abs = std::max(max_abs, std::fabs(e.delta ? values[i] - reference[i] : values[i]));
      }
      for (size_t i = begin; i < end; ++i) {
        const float target = e.delta ? values[i] - reference[i] : values[i];
        const float err = std::fabs(out[i] - values[i]);
        switch (e.type) {
          case ValueType::kF32:
            if (e.delta) {
              CHECK(err <= 1e-6f * (std::fabs(values[i]) + 1e-3f));
            } else {
              CHECK(out[i] == values[i]);
            }
            break;
          case ValueType::kF16:
            // Relative rounding error 2^-11 of the encoded quantity, plus the
            // subnormal step, plus the float rounding of reference + delta.
            CHECK(err <= std::fabs(target) * 0x1p-11f + 0x1p-25f + 1e-7f * std::fabs(values[i]));
            break;
          case ValueType::kInt8:
            CHECK(err <= max_abs / 254.0f * 1.0001f + 1e-7f * std::fabs(values[i]));
            break;
        }
      }
    }
  }
}

TEST_CASE("encoded sizes and layout: f32 is little-endian IEEE, int8 has a scale per block") {
  CHECK(encoded_size({ValueType::kF32, false}, 266610) == 1066440);
  CHECK(encoded_size({ValueType::kF16, true}, 266610) == 533220);
  CHECK(encoded_size({ValueType::kInt8, false}, 266610) == 266610 + 4 * 1042);
  const std::vector<float> v = {1.0f, -2.0f};
  EncodedValues e = encode_values(v, {}, {ValueType::kF32, false}).value();
  CHECK(e.bytes == std::vector<uint8_t>{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0});
  e = encode_values(v, {}, {ValueType::kInt8, false}).value();
  REQUIRE(e.bytes.size() == 6);
  float scale;
  std::memcpy(&scale, e.bytes.data(), 4);
  CHECK(scale == doctest::Approx(2.0f / 127.0f));
  CHECK(static_cast<int8_t>(e.bytes[4]) == 64);  // round(1 / (2/127)) = round(63.5) = 64
  CHECK(static_cast<int8_t>(e.bytes[5]) == -127);
}

TEST_CASE("encode and decode refuse what they cannot handle, naming it") {
  const std::vector<float> v = {1.0f, std::numeric_limits<float>::infinity()};
  Result<EncodedValues> r = encode_values(v, {}, {ValueType::kInt8, false});
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find("value 1") != std::string::npos);
  r = encode_values(v, std::vector<float>(3), {ValueType::kF32, true});
  CHECK(r.status().message().find("reference of 2 values, got 3") != std::string::npos);

  EncodedValues e =
      encode_values(std::vector<float>{1, 2, 3}, {}, {ValueType::kF16, false}).value();
  std::vector<float> out(2);
  CHECK(decode_values(e, {}, out).code() == StatusCode::kInvalidArgument);
  out.resize(3);
  e.bytes.pop_back();
  Status s = decode_values(e, {}, out);
  CHECK(s.code() == StatusCode::kCorrupt);
  CHECK(s.message() == "f16 array of 3 values must be 6 bytes, got 5");

  e = encode_values(std::vector<float>{1, 2, 3}, {}, {ValueType::kInt8, false}).value();
  const float bad = -1.0f;
  std::memcpy(e.bytes.data(), &bad, 4);
  CHECK(decode_values(e, {}, out).code() == StatusCode::kCorrupt);
}

TEST_CASE("encoding names parse back and the server's preference wins") {
  for (Encoding e : all_encodings()) CHECK(parse_encoding(encoding_name(e)).value() == e);
  CHECK(!parse_encoding("f8").is_ok());
  const std::vector<Encoding> server = {{ValueType::kInt8, true}, {ValueType::kF16, false}};
  const std::vector<Encoding> client = {{ValueType::kF32, false}, {ValueType::kF16, false}};
  CHECK(choose_encoding(server, client).value() == Encoding{ValueType::kF16, false});
  CHECK(!choose_encoding(server, std::vector<Encoding>{}).has_value());
}

EncodedValues sample_array(uint32_t n) {
  return encode_values(ramp(n, 1.0f), {}, {ValueType::kF16, false}).value();
}

TEST_CASE("chunks reassemble in any order, and an empty array is one chunk") {
  const EncodedValues values = sample_array(1001);  // 2002 bytes
  std::vector<ValuesChunk> chunks = split_values(values, 300);
  REQUIRE(chunks.size() == 7);
  for (const auto& c : chunks) CHECK(c.data.size() <= 300);
  ValuesAssembler a(1 << 20);
  for (size_t k = chunks.size(); k-- > 0;) {
    REQUIRE(a.add(chunks[k]).is_ok());
    CHECK(a.complete() == (k == 0));
  }
  CHECK(a.take() == values);

  const EncodedValues empty = sample_array(0);
  chunks = split_values(empty, 300);
  REQUIRE(chunks.size() == 1);
  REQUIRE(a.add(chunks[0]).is_ok());
  CHECK(a.take() == empty);
}

TEST_CASE("chunk reassembly refuses duplicates, bad offsets, bad indices and mismatches") {
  const EncodedValues values = sample_array(1000);
  const std::vector<ValuesChunk> chunks = split_values(values, 500);
  REQUIRE(chunks.size() == 4);
  auto fails_with = [&](std::vector<ValuesChunk> seq, const std::string& text) {
    ValuesAssembler a(1 << 20);
    Status last;
    for (const auto& c : seq) {
      last = a.add(c);
      if (!last.is_ok()) break;
    }
    CHECK(last.code() == StatusCode::kCorrupt);
    CHECK_MESSAGE(last.message().find(text) != std::string::npos, last.message());
  };
  fails_with({chunks[0], chunks[0]}, "duplicate chunk 0 of 4");
  ValuesChunk c = chunks[1];
  c.byte_offset += 2;
  fails_with({chunks[0], c}, "expected offset 500");
  c = chunks[1];
  c.chunk_index = 9;
  fails_with({chunks[0], c}, "chunk index 9 out of range");
  c = chunks[1];
  c.value_count = 999;
  fails_with({chunks[0], c}, "does not match its array");
  c = chunks[0];
  c.total_bytes = 5000;
  fails_with({c}, "announces 5000 bytes, expected 2000");
  c = chunks[0];
  c.chunk_count = 0;
  fails_with({c}, "chunk count 0");
  ValuesAssembler small(100);
  CHECK(small.add(chunks[0]).message().find("exceeds the limit of 100") != std::string::npos);
}

TEST_CASE("encoding into a caller's span writes the bytes of an EncodedValues, nothing else") {
  const std::vector<float> values = ramp(1001, 1.0f), reference = ramp(1001, 0.5f);
  for (Encoding e : all_encodings()) {
    CAPTURE(encoding_name(e));
    const EncodedValues expected = encode_values(values, reference, e).value();
    // Guard bytes on both sides: the encoder writes its span and only that.
    std::vector<uint8_t> buffer(expected.bytes.size() + 8, 0xA5);
    const std::span<uint8_t> out(buffer.data() + 4, expected.bytes.size());
    REQUIRE(encode_values(values, reference, e, out).is_ok());
    CHECK(std::equal(out.begin(), out.end(), expected.bytes.begin(), expected.bytes.end()));
    for (size_t i : {size_t{0}, size_t{3}, buffer.size() - 4, buffer.size() - 1}) {
      CHECK(buffer[i] == 0xA5);
    }
    const Status short_span = encode_values(values, reference, e, out.first(out.size() - 1));
    CHECK(short_span.code() == StatusCode::kInvalidArgument);
    CHECK_MESSAGE(short_span.message().find("the destination holds " +
                                            std::to_string(out.size() - 1)) != std::string::npos,
                  short_span.message());
  }
  const std::vector<float> nan = {1.0f, std::nanf("")};
  std::vector<uint8_t> out(encoded_size({ValueType::kInt8, false}, 2));
  CHECK(encode_values(nan, {}, {ValueType::kInt8, false}, out).code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("a one-chunk array adopts the storage its chunk lies in; chunks of several are copied") {
  const EncodedValues values = sample_array(1001);
  // A frame-like buffer: 37 bytes before the array, 3 after.
  std::vector<uint8_t> frame(37 + values.bytes.size() + 3, 1);
  std::copy(values.bytes.begin(), values.bytes.end(), frame.begin() + 37);
  const uint8_t* const memory = frame.data();
  ValuesChunk whole = split_values(values, 1 << 20).at(0);
  whole.data = std::span<const uint8_t>(frame).subspan(37, values.bytes.size());
  ValuesAssembler a(1 << 20);
  REQUIRE(a.add(whole, &frame).is_ok());
  CHECK(frame.empty());
  REQUIRE(a.complete());
  const EncodedValues adopted = a.take();
  CHECK(adopted == values);
  CHECK(adopted.bytes.data() == memory);  // taken over, not copied

  // A chunk that does not lie in the storage given is copied; so is one of several.
  std::vector<uint8_t> elsewhere(10, 7);
  REQUIRE(a.add(split_values(values, 1 << 20)[0], &elsewhere).is_ok());
  CHECK(elsewhere.size() == 10);
  CHECK(a.take() == values);
  std::vector<ValuesChunk> chunks = split_values(values, 700);
  REQUIRE(chunks.size() == 3);
  for (ValuesChunk& c : chunks) {
    std::vector<uint8_t> storage(c.data.begin(), c.data.end());
    c.data = storage;
    REQUIRE(a.add(c, &storage).is_ok());
    CHECK(storage.size() == c.data.size());
  }
  CHECK(a.take() == values);

  // The checks still come first: a one-chunk array of the wrong length is refused, storage kept.
  std::vector<uint8_t> frame2(values.bytes.begin(), values.bytes.end());
  ValuesChunk bad = whole;
  bad.data = std::span<const uint8_t>(frame2).first(frame2.size() - 2);
  ValuesAssembler b(1 << 20);
  CHECK(b.add(bad, &frame2).code() == StatusCode::kCorrupt);
  CHECK(frame2.size() == values.bytes.size());
}

}  // namespace
}  // namespace nf
