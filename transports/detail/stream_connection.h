// Framing over a byte stream (internal to transports): the Connection of
// both TCP and TLS. A frame is a 4-byte little-endian length followed by that
// many bytes; a length above max_frame_bytes closes the connection before any
// of it is buffered.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "transports/connection.h"

namespace nf::detail {

// An ordered, reliable byte stream: a TCP socket, or TLS over one. Calls
// follow Connection's threading rule (one read and one write in flight).
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads at least one byte into `buffer`. kUnavailable when the peer closed
  // or the link broke. Safe to cancel: bytes are never lost, only not read yet.
  virtual asio::awaitable<Result<size_t>> read_some(std::span<uint8_t> buffer) = 0;
  // Writes `head` then `body` entirely. A cancelled write may have sent part.
  virtual asio::awaitable<Status> write_all(std::span<const uint8_t> head,
                                            std::span<const uint8_t> body) = 0;
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  virtual asio::any_io_executor executor() const = 0;
};

class StreamConnection final : public Connection {
 public:
  StreamConnection(std::unique_ptr<ByteStream> stream, const LinkOptions& options,
                   std::string peer);
  ~StreamConnection() override;

  asio::awaitable<Status> send(std::span<const uint8_t> frame) override;
  asio::awaitable<Status> receive(std::vector<uint8_t>* frame,
                                  std::chrono::milliseconds timeout) override;
  void close() override;
  bool is_open() const override;
  const std::string& peer_identity() const override { return peer_; }
  const LinkOptions& options() const override { return options_; }
  asio::any_io_executor executor() const override { return stream_->executor(); }

 private:
  std::unique_ptr<ByteStream> stream_;
  LinkOptions options_;
  std::string peer_;
  std::vector<uint8_t> in_;  // received bytes not yet returned: in_[in_begin_, in_end_)
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  bool broken_ = false;       // a write cut short: no further use
  bool read_broken_ = false;  // an oversized length: framing lost, reads refused
};

}  // namespace nf::detail
