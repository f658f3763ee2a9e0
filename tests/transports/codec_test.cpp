#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/transports/test_messages.h"
#include "transports/codec.h"

namespace nf {
namespace {

std::vector<std::vector<uint8_t>> encode(const Message& m, uint32_t max_frame) {
  std::vector<std::vector<uint8_t>> frames;
  REQUIRE(encode_message(m, max_frame, &frames).is_ok());
  return frames;
}

Message assemble(const std::vector<std::vector<uint8_t>>& frames) {
  MessageAssembler a(1 << 24);
  std::optional<Message> out;
  for (size_t i = 0; i < frames.size(); ++i) {
    Result<std::optional<Message>> r = a.add_frame(frames[i]);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    CHECK(r->has_value() == (i + 1 == frames.size()));
    if (r->has_value()) out = std::move(**r);
  }
  REQUIRE(out.has_value());
  return std::move(*out);
}

TEST_CASE("every message round-trips, in one frame and in chunks") {
  for (uint32_t max_frame : {kDefaultMaxFrameBytes, kMinMaxFrameBytes}) {
    for (const Message& m : testing::every_message(5000)) {
      CAPTURE(message_name(m));
      CAPTURE(max_frame);
      const auto frames = encode(m, max_frame);
      for (const auto& f : frames) CHECK(f.size() <= max_frame);
      CHECK(assemble(frames) == m);
    }
  }
  // 5000 f32 values = 20000 bytes: six chunks of at most 4096 - 1024 bytes.
  CHECK(encode(testing::every_message(5000)[2], kMinMaxFrameBytes).size() == 7);
}

TEST_CASE("an Update with unencoded values gives the frames of the encoded one") {
  std::vector<float> values(5000), reference(5000);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = std::sin(0.1f * static_cast<float>(i)) + 0.5f;
    reference[i] = 0.5f;
  }
  for (uint32_t max_frame : {kDefaultMaxFrameBytes, kMinMaxFrameBytes}) {
    for (Encoding e : all_encodings()) {
      CAPTURE(encoding_name(e));
      CAPTURE(max_frame);
      Update encoded;
      encoded.round = 3;
      encoded.task_id = 41;
      encoded.example_count = 600;
      encoded.values = encode_values(values, reference, e).value();
      encoded.metrics = TrainMetrics{0.25f, 1.5, 12345678, 999};
      Update unencoded = encoded;
      unencoded.values.bytes.clear();
      unencoded.unencoded = BorrowedValues{
          values, e.delta ? std::span<const float>(reference) : std::span<const float>()};
      const auto frames = encode(unencoded, max_frame);
      CHECK(frames == encode(encoded, max_frame));  // byte for byte, chunked or not
      CHECK(assemble(frames) == Message(encoded));
    }
  }
  // Errors of the encoding are the send's, and leave no frame behind.
  Update u;
  u.values.encoding = {ValueType::kF32, false};
  u.values.count = 4999;
  u.unencoded = BorrowedValues{values, {}};
  std::vector<std::vector<uint8_t>> frames;
  const Status count = encode_message(u, kDefaultMaxFrameBytes, &frames);
  CHECK(count.code() == StatusCode::kInvalidArgument);
  CHECK_MESSAGE(count.message().find("5000 values announced as 4999") != std::string::npos,
                count.message());
  values[7] = std::nanf("");
  u.values = EncodedValues{{ValueType::kInt8, false}, 5000, {}};
  CHECK(encode_message(u, kDefaultMaxFrameBytes, &frames).code() == StatusCode::kInvalidArgument);
  CHECK(frames.empty());
}

TEST_CASE("the assembler adopts a one-chunk frame and leaves the frames of a chunked one") {
  const Message task = testing::every_message(5000)[2];
  std::vector<std::vector<uint8_t>> frames = encode(task, kDefaultMaxFrameBytes);
  REQUIRE(frames.size() == 1);
  const uint8_t* const memory = frames[0].data();
  MessageAssembler a(1 << 24);
  Result<std::optional<Message>> r = a.add_frame(&frames[0]);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  REQUIRE(r->has_value());
  CHECK(**r == task);
  CHECK(frames[0].empty());
  CHECK(std::get<TrainTask>(**r).global_values.bytes.data() == memory);

  frames = encode(task, kMinMaxFrameBytes);
  REQUIRE(frames.size() == 7);
  const auto sent = frames;
  std::optional<Message> out;
  for (auto& f : frames) {
    r = a.add_frame(&f);
    REQUIRE(r.is_ok());
    if (r->has_value()) out = std::move(**r);
  }
  CHECK(frames == sent);
  REQUIRE(out.has_value());
  CHECK(*out == task);

  // A frame without values is left as it was.
  frames = encode(Heartbeat{7, 1}, kDefaultMaxFrameBytes);
  const auto heartbeat = frames;
  REQUIRE(a.add_frame(&frames[0]).is_ok());
  CHECK(frames == heartbeat);
}

TEST_CASE("a frame that outgrows the codec's size estimate is still built whole") {
  // Frames are built in the vector that is sent; a Hello of many short
  // capabilities needs more room than its estimate (12 bytes each, not 9),
  // so the buffer grows while the frame is built. Its last_round and
  // model_hash keep their defaults, so the frame lacks them as an older
  // agent's Hello does, and they decode as -1 and 0.
  Hello hello;
  hello.device_id = "pi-7";
  hello.encodings = {Encoding{ValueType::kF32, false}, Encoding{ValueType::kInt8, true}};
  for (int i = 0; i < 2000; ++i) hello.capabilities.push_back(std::to_string(i % 10));
  const auto frames = encode(hello, kDefaultMaxFrameBytes);
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].size() > 2000 * 12);
  CHECK(assemble(frames) == Message(hello));
}

TEST_CASE("a heartbeat may arrive between chunks; another message may not") {
  const auto msgs = testing::every_message(5000);
  const auto update = encode(msgs[3], kMinMaxFrameBytes);
  const auto heartbeat = encode(Heartbeat{1, 2}, kMinMaxFrameBytes);
  const auto result = encode(EvaluateResult{}, kMinMaxFrameBytes);
  MessageAssembler a(1 << 24);
  REQUIRE(a.add_frame(update[0]).is_ok());
  Result<std::optional<Message>> r = a.add_frame(heartbeat[0]);
  REQUIRE(r.is_ok());
  CHECK(std::holds_alternative<Heartbeat>(r->value()));
  r = a.add_frame(result[0]);
  CHECK(r.status().code() == StatusCode::kCorrupt);
  CHECK(r.status().message().find("missing") != std::string::npos);

  a.reset();
  const auto other = encode(msgs[4], kMinMaxFrameBytes);  // another update, other encoding
  REQUIRE(a.add_frame(update[0]).is_ok());
  r = a.add_frame(other[1]);
  CHECK(r.status().code() == StatusCode::kCorrupt);
}

TEST_CASE("the verifier refuses every truncation that cuts a byte in use") {
  // FlatBuffers may end a buffer with alignment padding: a cut that removes
  // only padding must decode to the very same message, any other must fail.
  for (const Message& m : testing::every_message(100)) {
    CAPTURE(message_name(m));
    const auto frame = encode(m, kDefaultMaxFrameBytes).at(0);
    for (size_t len = 0; len < frame.size(); ++len) {
      const std::vector<uint8_t> cut(frame.begin(), frame.begin() + static_cast<long>(len));
      MessageAssembler a(1 << 20);
      Result<std::optional<Message>> r = a.add_frame(cut);
      if (r.is_ok()) {
        CHECK_MESSAGE(frame.size() - len < 8, "truncated to ", len, " of ", frame.size());
        CHECK(r->value() == m);
      } else {
        CHECK(r.status().code() == StatusCode::kCorrupt);
      }
    }
  }
}

TEST_CASE("bit flips are refused or decoded safely, never read out of bounds") {
  // Under ASan this walks every single-bit corruption of each frame: some
  // flips land in a value and still decode (that is what checksums above
  // TLS are for); none may crash, and flips of the header must be refused.
  size_t refused = 0, total = 0;
  for (const Message& m : testing::every_message(40)) {
    const auto frame = encode(m, kDefaultMaxFrameBytes).at(0);
    for (size_t bit = 0; bit < frame.size() * 8; ++bit) {
      std::vector<uint8_t> flipped = frame;
      flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      MessageAssembler a(1 << 20);
      Result<std::optional<Message>> r = a.add_frame(flipped);
      ++total;
      if (!r.is_ok()) {
        ++refused;
        CHECK(r.status().code() != StatusCode::kOk);
      }
      if (bit / 8 >= 4 && bit / 8 < 8) CHECK_MESSAGE(!r.is_ok(), "identifier bit ", bit);
    }
  }
  MESSAGE("refused ", refused, " of ", total, " single-bit flips");
  CHECK(refused > total / 10);
}

TEST_CASE("a wrong protocol version or identifier is refused with a clear error") {
  auto frame = encode(Heartbeat{1, 2}, kDefaultMaxFrameBytes).at(0);
  auto bad_id = frame;
  bad_id[4] = 'X';
  CHECK(decode_frame(bad_id).status().message().find("file identifier") != std::string::npos);
  CHECK(decode_frame(std::vector<uint8_t>(3)).status().message() ==
        "frame of 3 bytes is too short");
  // Find the version (1) and make it 2: the only 0x01 0 0 0 after the header.
  bool changed = false;
  for (size_t i = 8; i + 4 <= frame.size(); i += 4) {
    auto copy = frame;
    if (copy[i] == 1 && copy[i + 1] == 0 && copy[i + 2] == 0 && copy[i + 3] == 0) {
      copy[i] = 2;
      Result<DecodedFrame> r = decode_frame(copy);
      if (!r.is_ok() && r.status().code() == StatusCode::kFailedPrecondition) {
        CHECK(r.status().message() == "peer speaks protocol version 2, this build speaks 1");
        changed = true;
      }
    }
  }
  CHECK(changed);
}

TEST_CASE("fields too large for a frame are refused when encoding") {
  Welcome w;
  w.model_spec.assign(10000, 'x');
  std::vector<std::vector<uint8_t>> frames;
  Status s = encode_message(w, kMinMaxFrameBytes, &frames);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message().find("model spec of 10000 bytes") != std::string::npos);
  // An error message is cut to fit rather than refused.
  CHECK(encode_message(ErrorMessage{StatusCode::kInternal, std::string(10000, 'e')},
                       kMinMaxFrameBytes, &frames)
            .is_ok());
  TrainTask t;
  t.global_values = testing::sample_values(10, {ValueType::kF32, true});
  CHECK(encode_message(t, kMinMaxFrameBytes, &frames).code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nf
