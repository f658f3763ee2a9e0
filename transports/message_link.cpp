#include "transports/message_link.h"

#include <cassert>
#include <cstddef>
#include <string>
#include <vector>

namespace nf {

namespace {
using Clock = std::chrono::steady_clock;
constexpr uint64_t kPrefixBytes = 4;
constexpr size_t kKeptFrameBytes = 64 * 1024;
}  // namespace

MessageLink::MessageLink(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)), assembler_(connection_->options().max_message_bytes) {
  assert(connection_ != nullptr);
}

asio::awaitable<Status> MessageLink::send(const Message& message) {
  assert(!sending_ && "MessageLink allows one send in flight");
  Status s = encode_message(message, connection_->options().max_frame_bytes, &send_frames_);
  if (!s.is_ok()) co_return s;
  sending_ = true;
  for (const auto& frame : send_frames_) {
    s = co_await connection_->send(frame);
    if (!s.is_ok()) break;
    bytes_sent_ += frame.size() + kPrefixBytes;
  }
  send_frames_.clear();  // an update's frames are as large as the model: not kept
  sending_ = false;
  co_return s;
}

asio::awaitable<Result<Message>> MessageLink::receive(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    Status s = co_await connection_->receive(&receive_frame_,
                                             std::max(left, std::chrono::milliseconds(0)));
    if (s.code() == StatusCode::kCorrupt) {  // an oversized frame: tell the peer
      co_await fail(s);
      co_return s;
    }
    if (!s.is_ok()) {
      if (s.code() != StatusCode::kDeadlineExceeded) connection_->close();
      co_return s;
    }
    bytes_received_ += receive_frame_.size() + kPrefixBytes;
    Result<std::optional<Message>> r = assembler_.add_frame(&receive_frame_);
    // The assembler took over a one-chunk frame or copied what it needs: a
    // large frame's buffer is not kept for the small frames (heartbeats) that
    // usually follow.
    if (receive_frame_.capacity() > kKeptFrameBytes) std::vector<uint8_t>().swap(receive_frame_);
    if (!r.is_ok()) {
      const Status error = r.status().with_context("frame from " + connection_->peer_identity());
      co_await fail(error);
      co_return error;
    }
    if (r->has_value()) co_return std::move(**r);
  }
}

asio::awaitable<void> MessageLink::fail(const Status& status) {
  if (!sending_ && connection_->is_open()) {
    std::vector<std::vector<uint8_t>> frames;
    const Message error = ErrorMessage{status.code(), status.message()};
    if (encode_message(error, connection_->options().max_frame_bytes, &frames).is_ok()) {
      sending_ = true;
      (void)co_await connection_->send(frames.front());
      sending_ = false;
    }
  }
  connection_->close();
}

}  // namespace nf
