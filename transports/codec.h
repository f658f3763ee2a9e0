// The message codec: nf::Message (core/fl/messages.h) <-> FlatBuffers frames.
//
// A frame is one verified nf.wire.Frame buffer (schema/neurofabric.fbs),
// without the 4-byte length prefix the stream transports add. A message whose
// value array would not fit in one frame is split into several frames, each
// carrying the message's small fields and one chunk of the array
// (docs/wire_format.md). Decoding runs the FlatBuffers Verifier, checks the
// file identifier, protocol version and every enum before any field is read,
// and reports failures as kCorrupt (or kFailedPrecondition for a version
// mismatch) Status values; it never asserts on received bytes.
//
// Thread safety: functions are pure; a MessageAssembler is not shared.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/fl/messages.h"
#include "core/fl/update_encoding.h"
#include "core/util/status.h"

namespace nf {

// The default frame limit of a link (LinkOptions::max_frame_bytes).
inline constexpr uint32_t kDefaultMaxFrameBytes = 1u << 20;
// Room left in each frame for a message's fields besides its value chunk.
inline constexpr uint32_t kFrameHeadroomBytes = 1024;
// The smallest frame limit a link may be configured with.
inline constexpr uint32_t kMinMaxFrameBytes = 4096;

// Encodes `message` into one or more frames, each at most `max_frame_bytes`
// (>= kMinMaxFrameBytes, a precondition). Errors: a field other than a value
// array too large for one frame (a model spec or message text), named with
// its size. `frames` is cleared first.
Status encode_message(const Message& message, uint32_t max_frame_bytes,
                      std::vector<std::vector<uint8_t>>* frames);

// One decoded frame. For messages that carry values (TrainTask, Update,
// EvaluateTask) `chunk` describes this frame's piece of the array and the
// message's EncodedValues is left empty; `chunk.data` borrows the frame.
struct DecodedFrame {
  Message message;
  std::optional<ValuesChunk> chunk;
};

// Verifies and decodes one frame.
Result<DecodedFrame> decode_frame(std::span<const uint8_t> frame);

// Reassembles messages from frames: one chunked message at a time, with
// Heartbeat and ErrorMessage frames allowed in between its chunks. A frame
// of another message arriving while chunks are missing is kCorrupt (missing
// chunks), as are duplicate, misplaced and inconsistent chunks. After an
// error the link should be closed; reset() makes the assembler usable again.
class MessageAssembler {
 public:
  // `max_message_bytes` bounds one reassembled value array.
  explicit MessageAssembler(uint64_t max_message_bytes) : values_(max_message_bytes) {}

  // Feeds one frame: returns the completed message, or nullopt when it was a
  // chunk and more are expected.
  Result<std::optional<Message>> add_frame(std::span<const uint8_t> frame);
  // The same, and when the frame is a value array's only chunk, the
  // message's array takes over the frame's memory (*frame is left empty)
  // instead of copying it; otherwise *frame is untouched.
  Result<std::optional<Message>> add_frame(std::vector<uint8_t>* frame);
  bool idle() const { return !pending_.has_value(); }
  void reset();

 private:
  Result<std::optional<Message>> add(std::span<const uint8_t> frame, std::vector<uint8_t>* storage);

  std::optional<Message> pending_;  // fields of the chunked message being assembled
  ValuesAssembler values_;
};

}  // namespace nf
