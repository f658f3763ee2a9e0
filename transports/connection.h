// Connection and Listener: the one interface behind which every transport
// (in-process, TCP, mutual TLS) moves frames.
//
// A frame is a byte string of at most LinkOptions::max_frame_bytes; stream
// transports put a 4-byte little-endian length before it (docs/wire_format.md).
// Round logic (aggregator, agent) never names a concrete transport: main() or
// a test picks one and hands over Connections, a Listener or a Connector.
// Most code should talk messages through MessageLink (message_link.h) rather
// than frames.
//
// Threading: every object here lives on one Asio executor, and all calls are
// made from coroutines running on it (one io_context thread, or a strand). A
// Connection allows one send and one receive in flight at the same time (a
// reader coroutine and a writer coroutine), never two of either. One thread
// can serve thousands of connections: no call blocks the thread, every wait
// is an asynchronous operation with a timeout.
//
// Failures are Status values, never exceptions: kDeadlineExceeded for a
// timeout, kUnavailable for a closed or lost peer, kCorrupt for a frame over
// the size limit (framing is lost: later receives fail, but a last send,
// say an error message, may still go out before close()),
// kPermissionDenied for a refused TLS peer.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/util/status.h"
#include "transports/codec.h"  // frame limits

namespace nf {

struct LinkOptions {
  // Largest frame accepted or sent, excluding the length prefix. A larger
  // announced length closes the connection before any byte is buffered.
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Largest value array MessageLink reassembles from chunks.
  uint64_t max_message_bytes = 256ull << 20;
  // Bound on one send(): a peer that stops reading cannot hold us forever.
  std::chrono::milliseconds send_timeout{30'000};
  // Bound on establishing a link: TCP connect plus TLS handshake.
  std::chrono::milliseconds connect_timeout{10'000};
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Sends one frame. `frame` must stay valid until the returned awaitable
  // completes. Errors: frame larger than max_frame_bytes (invalid_argument),
  // send_timeout expired (deadline_exceeded; the connection is then closed,
  // since part of the frame may be gone), peer gone (unavailable).
  virtual asio::awaitable<Status> send(std::span<const uint8_t> frame) = 0;

  // Waits at most `timeout` for the next frame and stores it in *frame (its
  // capacity is reused, or the vector replaced by the transport's own buffer
  // when that saves copying a large frame). On kDeadlineExceeded the
  // connection stays usable: bytes already read are kept for the next call.
  virtual asio::awaitable<Status> receive(std::vector<uint8_t>* frame,
                                          std::chrono::milliseconds timeout) = 0;

  // Closes both directions at once; pending and later operations fail with
  // kUnavailable. Idempotent. The destructor closes too.
  virtual void close() = 0;
  virtual bool is_open() const = 0;

  // Who the peer is: for TLS the subject CN of its verified certificate; for
  // TCP its "address:port"; for in-process the name given when connecting.
  virtual const std::string& peer_identity() const = 0;
  virtual const LinkOptions& options() const = 0;
  virtual asio::any_io_executor executor() const = 0;
};

class Listener {
 public:
  virtual ~Listener() = default;

  // Waits at most `timeout` for the next peer (for TLS: one whose handshake
  // and certificate check succeeded; failed handshakes never reach here and
  // never stall other peers). kDeadlineExceeded when nobody came;
  // kUnavailable after close().
  virtual asio::awaitable<Result<std::unique_ptr<Connection>>> accept(
      std::chrono::milliseconds timeout) = 0;

  // Stops accepting; connections already returned stay open. Idempotent.
  virtual void close() = 0;

  // Where peers reach this listener: "127.0.0.1:40123", or an in-process name.
  virtual std::string address() const = 0;
};

// How an agent (re)opens its link, whatever the transport: built in main()
// from connect_tcp, connect_tls or InprocNetwork::connect.
using Connector = std::function<asio::awaitable<Result<std::unique_ptr<Connection>>>()>;

}  // namespace nf
