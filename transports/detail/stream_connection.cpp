#include "transports/detail/stream_connection.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "transports/detail/await.h"

namespace nf::detail {

namespace {
using Clock = std::chrono::steady_clock;
constexpr size_t kPrefixBytes = 4;
constexpr size_t kReadChunk = 16 * 1024;  // idle links keep this much: 1000s of them
}  // namespace

StreamConnection::StreamConnection(std::unique_ptr<ByteStream> stream, const LinkOptions& options,
                                   std::string peer)
    : stream_(std::move(stream)), options_(options), peer_(std::move(peer)) {}

StreamConnection::~StreamConnection() {
  close();
}

void StreamConnection::close() {
  stream_->close();
}

bool StreamConnection::is_open() const {
  return !broken_ && stream_->is_open();
}

asio::awaitable<Status> StreamConnection::send(std::span<const uint8_t> frame) {
  if (frame.size() > options_.max_frame_bytes) {
    co_return invalid_argument("frame of " + std::to_string(frame.size()) +
                               " bytes exceeds the limit of " +
                               std::to_string(options_.max_frame_bytes));
  }
  if (!is_open()) co_return unavailable("connection to " + peer_ + " is closed");
  const auto n = static_cast<uint32_t>(frame.size());
  const uint8_t prefix[kPrefixBytes] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                                        static_cast<uint8_t>(n >> 16),
                                        static_cast<uint8_t>(n >> 24)};
  std::optional<Status> s =
      co_await with_timeout(stream_->write_all(prefix, frame), options_.send_timeout);
  if (!s.has_value()) {
    broken_ = true;
    close();
    co_return deadline_exceeded("sending " + std::to_string(frame.size()) + " bytes to " + peer_ +
                                " took over " + std::to_string(options_.send_timeout.count()) +
                                " ms");
  }
  if (!s->is_ok()) {
    broken_ = true;
    close();
    co_return s->with_context("sending to " + peer_);
  }
  co_return Status::ok();
}

asio::awaitable<Status> StreamConnection::receive(std::vector<uint8_t>* frame,
                                                  std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!is_open() || read_broken_) co_return unavailable("connection to " + peer_ + " is closed");
    const size_t have = in_end_ - in_begin_;
    size_t need = kPrefixBytes;
    if (have >= kPrefixBytes) {
      const uint8_t* p = in_.data() + in_begin_;
      const uint32_t length = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                              static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
      if (length > options_.max_frame_bytes) {
        // Framing is lost: nothing more can be read, but the way back still
        // works, so the caller may tell the peer why before closing.
        read_broken_ = true;
        co_return corrupt("frame length " + std::to_string(length) + " from " + peer_ +
                          " exceeds the limit of " + std::to_string(options_.max_frame_bytes));
      }
      need = kPrefixBytes + length;
      if (have >= need) {
        if (have == need && in_.size() > kReadChunk) {
          // A frame that grew the buffer and nothing behind it: hand the
          // buffer itself over (the frame moved to its front) rather than copy
          // the frame and keep a buffer of its size for the life of the link.
          std::memmove(in_.data(), p + kPrefixBytes, length);
          in_.resize(length);
          frame->swap(in_);
          std::vector<uint8_t>().swap(in_);
          in_begin_ = in_end_ = 0;
          co_return Status::ok();
        }
        frame->assign(p + kPrefixBytes, p + need);
        in_begin_ += need;
        if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
        co_return Status::ok();
      }
    }
    // Make room for the rest of this frame (and a little more, to batch small frames).
    if (in_.size() - in_begin_ < std::max(need, kReadChunk)) {
      if (have > 0) std::memmove(in_.data(), in_.data() + in_begin_, have);
      in_end_ = have;
      in_begin_ = 0;
      if (in_.size() < std::max(need, kReadChunk)) in_.resize(std::max(need, kReadChunk));
    }
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      co_return deadline_exceeded("no frame from " + peer_ + " within " +
                                  std::to_string(timeout.count()) + " ms");
    }
    std::optional<Result<size_t>> r =
        co_await with_timeout(stream_->read_some(std::span<uint8_t>(in_).subspan(in_end_)), left);
    if (!r.has_value()) {
      co_return deadline_exceeded("no frame from " + peer_ + " within " +
                                  std::to_string(timeout.count()) + " ms");
    }
    if (!r->is_ok()) {
      broken_ = true;
      close();
      co_return r->status().with_context("receiving from " + peer_);
    }
    in_end_ += r->value();
  }
}

}  // namespace nf::detail
