// MessageLink: messages (core/fl/messages.h) over any Connection.
//
// send() encodes a message into frames (chunking value arrays under the
// frame limit) and sends them; receive() reassembles the next whole message.
// A frame that fails verification or reassembly is answered with an
// ErrorMessage (code kCorrupt) when the link still works, the link is closed,
// and receive() returns the error: a bad peer never crashes or blocks its
// server. An ErrorMessage from the peer is returned as a message.
//
// Threading: as Connection: one send and one receive in flight at most, all
// on the connection's executor.
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/fl/messages.h"
#include "transports/codec.h"
#include "transports/connection.h"

namespace nf {

class MessageLink {
 public:
  // Precondition: connection != nullptr.
  explicit MessageLink(std::unique_ptr<Connection> connection);

  // Errors: those of encode_message and Connection::send.
  asio::awaitable<Status> send(const Message& message);

  // Waits at most `timeout` in total for the next complete message. After a
  // kDeadlineExceeded the link is still usable; after any other error it is
  // closed.
  asio::awaitable<Result<Message>> receive(std::chrono::milliseconds timeout);

  // Tells the peer why (best effort: skipped while a send is in flight, and
  // bounded by send_timeout), then closes.
  asio::awaitable<void> fail(const Status& status);

  void close() { connection_->close(); }
  bool is_open() const { return connection_->is_open(); }
  const std::string& peer_identity() const { return connection_->peer_identity(); }
  Connection& connection() { return *connection_; }

  // Frame bytes moved so far, length prefixes included.
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  std::unique_ptr<Connection> connection_;
  MessageAssembler assembler_;
  std::vector<std::vector<uint8_t>> send_frames_;
  std::vector<uint8_t> receive_frame_;
  bool sending_ = false;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
};

}  // namespace nf
